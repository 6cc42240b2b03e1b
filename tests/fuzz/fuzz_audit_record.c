/*
 * fuzz_audit_record.c - libFuzzer harness for the CLI's audit-record reader:
 * audit_facts_from_json, audit_record_id and audit_record_keys
 * (proxy/audit_key.c) on every line, then `subgate trace --file` itself
 * (proxy/cli/trace*.c, through trace_main) over the same records.
 *
 * Input: one option byte, then a JSON-lines file. Option bits 0-2 pick the
 * question (subscriber, message-id, queue-id, rcpt, dst, addr), asked with
 * the value of the first line that is a record; bit 3 asks for --json.
 *
 * Checked, per line: the id is the same whichever entry point gives it, is
 * refused exactly when the facts are, and is a safe key part; every index
 * key is "sg:ix:...", bounded, printable without space, and given once.
 * Then trace reads the file as subgated writes it (every parsed line
 * re-dumped compactly, as jsonw does, with the raw lines before them): the
 * exit status is 0, 1 or 2, a record with a readable start is found by its
 * own value, and nothing printed on standard output holds a C0 control
 * byte but the newline (an analyst's terminal; DEL does nothing there). Standard output and error are
 * captured for the call; sanitizer reports still reach the real stderr.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "audit_key.h"
#include "trace.h"
#include "fuzz.h"

#define MAX_LINES 64

void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static int file_fd = -1, out_fd = -1, err_fd = -1, real_err = -1;

static void
setup(void)
{
	if (file_fd >= 0)
		return;
	file_fd = memfd_create("audit.jsonl", 0);
	out_fd = memfd_create("stdout", 0);
	err_fd = memfd_create("stderr", 0);
	real_err = dup(2);
	CHECK(file_fd >= 0 && out_fd >= 0 && err_fd >= 0 && real_err >= 0);
	if (__sanitizer_set_report_fd != NULL)
		__sanitizer_set_report_fd((void *)(intptr_t)real_err);
}

static void
rewind_fd(int fd)
{
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
}

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("._@:+=-", c) != NULL;
}

/* check_line - the reader's per-record invariants; the facts in *f. */
static int
check_line(json_t *rec, struct audit_facts *f)
{
	static char keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];
	char id[AUDIT_RECID_MAX], id2[AUDIT_RECID_MAX], id3[AUDIT_RECID_MAX],
	    rk[AUDIT_KEY_MAX];
	int rf, ri, rr, nk;

	rf = audit_facts_from_json(f, rec);
	ri = audit_record_id(rec, id);
	nk = audit_record_keys(rec, id2, keys, AUDIT_IX_MAX);
	if (rf < 0) {
		CHECK(ri < 0 && nk < 0 && id[0] == '\0');
		return -1;
	}
	CHECK(f->type == AUDIT_REC_SESSION || f->type == AUDIT_REC_TXN);
	CHECK(f->nrcpts <= AUDIT_FACTS_RCPTS);
	rr = audit_rec_id(id3, f);
	CHECK(ri == rr && strcmp(id, id3) == 0);
	if (ri < 0) {
		CHECK(nk < 0 && id[0] == '\0');
		return -1;
	}
	CHECK(strcmp(id, id2) == 0);
	CHECK(id[0] != '\0' && strlen(id) < AUDIT_RECID_MAX);
	for (const char *p = id; *p; p++)
		CHECK(key_char(*p));
	CHECK(audit_rec_key(rk, id) == 0);
	CHECK(nk >= 0 && nk <= AUDIT_IX_MAX);
	for (int i = 0; i < nk; i++) {
		size_t n = strnlen(keys[i], AUDIT_KEY_MAX);

		CHECK(n < AUDIT_KEY_MAX && strncmp(keys[i], "sg:ix:", 6) == 0);
		for (size_t k = 0; k < n; k++)
			CHECK(key_char(keys[i][k]) || keys[i][k] == '~');
		for (int j = 0; j < i; j++)
			CHECK(strcmp(keys[i], keys[j]) != 0);
	}
	return 0;
}

/* trace - run `subgate trace --file <file> args...`: its exit status; what
 * it printed on standard output checked. */
static int
trace(char **args, int nargs)
{
	char path[64], *argv[16], buf[4096];
	int argc = 0, status;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	argv[argc++] = "trace";
	argv[argc++] = "--file";
	argv[argc++] = path;
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	rewind_fd(out_fd);
	rewind_fd(err_fd);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);

	CHECK(so >= 0 && se >= 0);
	CHECK(dup2(out_fd, 1) == 1 && dup2(err_fd, 2) == 2);
	status = trace_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	CHECK(dup2(so, 1) == 1 && dup2(se, 2) == 2);
	close(so);
	close(se);

	CHECK(lseek(out_fd, 0, SEEK_SET) == 0);
	while ((r = read(out_fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			if ((unsigned char)buf[i] < 0x20 && buf[i] != '\n') {
				fprintf(stderr, "control byte 0x%02x on stdout\n",
				    (unsigned char)buf[i]);
				CHECK(0);
			}
	CHECK(status >= 0 && status <= 2);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const opt[] = { "--subscriber", "--message-id",
		"--queue-id", "--rcpt", "--dst", "--addr", "--subscriber",
		"--message-id" };
	const char *p, *end, *nl;
	char *value = NULL, *at = NULL, *args[8];
	int nargs = 0, start_known = 0, ends_before = 0, kind, status;
	unsigned nlines = 0;
	FILE *canon;
	uint8_t o;

	if (size < 1)
		return 0;
	setup();
	o = data[0];
	kind = o & 7;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	rewind_fd(file_fd);
	CHECK(write(file_fd, p, (size_t)(end - p)) == end - p);
	CHECK(write(file_fd, "\n", 1) == 1);
	canon = fdopen(dup(file_fd), "w");
	CHECK(canon != NULL);

	for (; p < end && nlines < MAX_LINES; p = nl + 1, nlines++) {
		struct audit_facts f;
		json_t *rec;
		char *line;
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		n = (size_t)(nl - p);
		line = malloc(n ? n : 1);
		memcpy(line, p, n);
		rec = json_loadb(line, n, 0, NULL);
		free(line);
		if (rec == NULL)
			continue;
		if (check_line(rec, &f) == 0 && value == NULL) {
			const char *v[] = { f.subscriber, f.message_id,
				f.queue_id, f.nrcpts ? f.rcpts[0] : NULL, f.dst,
				f.src, f.subscriber, f.message_id };

			if (v[kind] != NULL && strlen(v[kind]) < 1000) {
				const char *e = json_string_value(
				    json_object_get(rec, "end"));
				int64_t end_ms;

				value = strdup(v[kind]);
				start_known = f.start_known;
				ends_before = e != NULL && (audit_parse_time(e,
				    &end_ms) != 0 || end_ms < f.start_ms);
				at = strdup(json_string_value(json_object_get(rec,
				    "start")) ?: "");
			}
		}
		/* as subgated writes it: compact, in order, one line */
		char *dump = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);

		if (dump != NULL) {
			fprintf(canon, "%s\n", dump);
			free(dump);
		}
		json_decref(rec);
	}
	CHECK(fclose(canon) == 0);
	if (value == NULL)
		return 0;

	args[nargs++] = (char *)opt[kind];
	args[nargs++] = value;
	if (kind == 5) {
		args[nargs++] = "--at";
		args[nargs++] = at;
	}
	if (o & 8)
		args[nargs++] = "--json";
	status = trace(args, nargs);
	/* a record is found by its own value (an address only when it is
	 * one, and overlaps the moment asked about) */
	if (start_known && status == 2) {
		union sockaddr_any a;

		CHECK((kind == 4 || kind == 5) && addr_parse(&a, value, 0) < 0);
	} else if (start_known && !(kind == 5 && ends_before)) {
		CHECK(status == 0);
	}
	free(value);
	free(at);
	return 0;
}
