/*
 * trace.c - `subgate trace`: options, the query, the record set, and the
 * output (an aligned table, or --json lines). See trace.h and
 * docs/abuse-desk.md. One function, ask(), runs a question: the one the
 * options name, or each fact of a complaint (--report, report.h).
 *
 * By address the question is "who was it at that moment", so the index is
 * read from --lookback (default 1 h, the longest SMTP session) before the
 * window on, and only records whose [start, end] overlaps the window with
 * the address (and --port, if given) on one side are kept: the subscriber's
 * ("src") or the upstream side, the gateway's own connection that the
 * receiving MX logged ("upstream_src"), which a complaint quotes.
 */
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "cidr.h"
#include "config.h"
#include "err.h"
#include "htab.h"
#include "util.h"
#include "assignments.h"
#include "report.h"
#include "term.h"

#define COL_MAX 48		/* widest table column, octets */
#define DEFAULT_WINDOW_MS (5 * 60 * 1000)
#define DEFAULT_LOOKBACK_MS (60 * 60 * 1000)
#define TRACE_LIMIT_MAX 10000000	/* --limit: records held in memory */

/* Record set ----------------------------------------------------------- */

static size_t
hash_id(const char *s)
{
	return (size_t)htab_fnv(HTAB_FNV_INIT, s, strlen(s));
}

static void
rehash(struct tset *s)
{
	size_t ncap = s->hcap ? s->hcap * 2 : 256;

	free(s->hash);
	s->hash = xcalloc(ncap, sizeof(size_t));
	s->hcap = ncap;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = hash_id(s->v[i].id) & (ncap - 1);

		while (s->hash[h] != 0)
			h = (h + 1) & (ncap - 1);
		s->hash[h] = i + 1;
	}
}

int
tset_has(const struct tset *s, const char *id)
{
	if (s->hcap == 0)
		return 0;
	for (size_t h = hash_id(id) & (s->hcap - 1); s->hash[h] != 0;
	    h = (h + 1) & (s->hcap - 1))
		if (strcmp(s->v[s->hash[h] - 1].id, id) == 0)
			return 1;
	return 0;
}

void
tset_add(struct tset *s, json_t *rec, int ctx)
{
	struct audit_facts f;
	struct trec *t;
	size_t h;

	s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v), 64);
	t = &s->v[s->n];
	if (audit_facts_from_json(&f, rec) < 0 || audit_rec_id(t->id, &f) < 0 ||
	    tset_has(s, t->id)) {
		json_decref(rec);
		return;
	}
	t->rec = rec;
	t->ctx = ctx;
	t->start = f.start_known ? f.start_ms : 0;
	s->n++;
	if (s->n * 2 > s->hcap) {
		rehash(s);
		return;
	}
	for (h = hash_id(t->id) & (s->hcap - 1); s->hash[h] != 0;
	    h = (h + 1) & (s->hcap - 1))
		;
	s->hash[h] = s->n;
}

static int
cmp_trec(const void *a, const void *b)
{
	const struct trec *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->id, y->id);
}

void
tset_finish(struct tset *s)
{
	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_trec);
	rehash(s);
}

void
tset_free(struct tset *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i].rec);
	free(s->v);
	free(s->hash);
	memset(s, 0, sizeof(*s));
}

static const struct trec *
tset_get(const struct tset *s, const char *id)
{
	if (s->hcap == 0)
		return NULL;
	for (size_t h = hash_id(id) & (s->hcap - 1); s->hash[h] != 0;
	    h = (h + 1) & (s->hcap - 1))
		if (strcmp(s->v[s->hash[h] - 1].id, id) == 0)
			return &s->v[s->hash[h] - 1];
	return NULL;
}

/* Options -------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: subgate trace [source] [--json] [--limit N] QUESTION\n"
	    "questions:\n"
	    "  --addr A [--port P] --at T [--window D] [--lookback D]\n"
	    "                          who used address A (source port P) at T:\n"
	    "                          the subscriber's side, or the gateway's side\n"
	    "                          that the receiving MX saw\n"
	    "  --subscriber S [--from T] [--to T]\n"
	    "  --message-id ID         with or without <>\n"
	    "  --queue-id X            the receiving MX's \"queued as X\"\n"
	    "  --rcpt ADDR [--hmac-key-file F]\n"
	    "  --dst A [--from T] [--to T]\n"
	    "  --report FILE           a complaint as it arrives (ARF, DSN, X-ARF or a\n"
	    "                          message; - = stdin): each Message-ID, queue id\n"
	    "                          and address+port+time in it, asked in turn\n"
	    "sources (default: the configuration's Redis, else its audit.path):\n"
	    "  -c, --config FILE       subgated's configuration\n"
	    "  --redis HOST:PORT       the Redis index\n"
	    "  --file F                JSON-lines audit file (plain or .gz, - = stdin),\n"
	    "                          repeat for rotated generations\n"
	    "times: 2026-11-20T10:03:12Z (RFC 3339, zone optional = UTC), a date,\n"
	    "  now, or now-7d / -7d; durations: 90 (s), 500ms, 30s, 5m, 2h, 8d\n"
	    "exit: 0 found, 1 nothing found (--report: by any fact; the facts tried\n"
	    "  are listed), 2 error (usage, source, an unreadable or malformed report)\n");
}

/* DUR_MAX_MS - the longest duration taken: far past any retention, and
 * small enough that a time minus three of them cannot overflow. */
#define DUR_MAX_MS (100LL * 366 * 86400000)

/* parse_dur - "90" (seconds), "500ms", "30s", "5m", "2h", "8d"; at most
 * DUR_MAX_MS (a value that overflows is refused, not wrapped). */
static int
parse_dur(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 }, { "", 1000 }, { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;		/* no sign, no space */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > DUR_MAX_MS / units[i].ms)
				return -1;
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

/* parse_when - an RFC 3339 time, "now", "now-D" or "-D". */
static int
parse_when(const char *s, int64_t *ms)
{
	int64_t d;

	if (strcmp(s, "now") == 0) {
		*ms = now_ms();
		return 0;
	}
	if (strncmp(s, "now-", 4) == 0)
		s += 3;
	if (s[0] == '-' && parse_dur(s + 1, &d) == 0) {
		*ms = now_ms() - d;
		return 0;
	}
	return audit_parse_time(s, ms) == 0 ? 0 : -1;
}

/* split_hostport - "host:port" / "[v6]:port" for the Redis options. */
static int
split_hostport(const char *s, char *host, size_t hlen, int *port)
{
	union sockaddr_any a;

	if (addr_parse(&a, s, 6379) < 0)
		return -1;
	addr_ntop(&a, host, hlen);
	*port = addr_port(&a);
	return 0;
}

/* Output --------------------------------------------------------------- */

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* cell - s for the table: as it is when it is printable ASCII, else
 * escaped (term_safe), and cut at COL_MAX with "...". */
static void
cell(char *out, const char *s)
{
	char esc[TERM_SAFE_MAX(COL_MAX + 1)];
	size_t n;

	s = term_safe(esc, sizeof(esc), s);
	n = strlen(s);
	if (n > COL_MAX) {
		memcpy(out, s, COL_MAX - 3);
		memcpy(out + COL_MAX - 3, "...", 4);
	} else
		memcpy(out, s, n + 1);
}

enum { C_TIME, C_SESSION, C_SUB, C_SRC, C_DST, C_CLASS, C_FROM, C_RCPTS, C_MID,
	C_QID, NCOL };
static const char *const col_names[NCOL] = { "TIME", "SESSION", "SUBSCRIBER",
	"SOURCE", "DESTINATION", "CLASS", "MAIL FROM", "RCPTS", "MESSAGE-ID",
	"QUEUE ID" };

struct row {
	char c[NCOL][COL_MAX + 1];
};

static void
hostport(char *out, size_t len, const json_t *r, const char *a, const char *p)
{
	const char *h = jstr(r, a);
	long long port = json_integer_value(json_object_get(r, p));

	if (strchr(h, ':') != NULL)
		snprintf(out, len, "[%s]:%lld", h, port);
	else
		snprintf(out, len, "%s:%lld", h, port);
}

/* Which side of a session an --addr query matched (match_side). */
enum side { SIDE_NONE, SIDE_SUB, SIDE_UP };

/* match_side - does addr (canonical text) with port (<= 0: any) name the
 * subscriber side of r ("src") or the upstream side, the gateway's own
 * connection the MX saw ("upstream_src")? */
static enum side
match_side(const json_t *r, const char *addr, int port)
{
	if (strcmp(jstr(r, "src"), addr) == 0 && (port <= 0 ||
	    json_integer_value(json_object_get(r, "src_port")) == port))
		return SIDE_SUB;
	if (strcmp(jstr(r, "upstream_src"), addr) == 0 && (port <= 0 ||
	    json_integer_value(json_object_get(r, "upstream_src_port")) == port))
		return SIDE_UP;
	return SIDE_NONE;
}

/* only_side - 1 if some kept record matched and all on side want. */
static int
only_side(const struct tset *s, const unsigned char *keep,
    const unsigned char *side, enum side want)
{
	int any = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!keep[i] || side[i] == SIDE_NONE)
			continue;
		if (side[i] != want)
			return 0;
		any = 1;
	}
	return any;
}

static void
fill_row(struct row *w, const struct trec *t, const struct tset *s,
    enum side side)
{
	const json_t *r = t->rec, *ses = r, *a;
	char buf[1024], sid[AUDIT_RECID_MAX];
	/* by type, as audit_facts_from_json tells them apart: a session
	 * record may carry a "session" key too */
	int is_txn = strcmp(jstr(r, "type"), "txn") == 0;

	if (is_txn) {
		const struct trec *st = tset_get(s, jstr(r, "session"));

		ses = st != NULL ? st->rec : NULL;
		snprintf(sid, sizeof(sid), "%s#%lld", jstr(r, "session"),
		    (long long)json_integer_value(json_object_get(r, "seq")));
	} else
		snprintf(sid, sizeof(sid), "%s", jstr(r, "id"));
	/* seconds are enough on screen; --json has the milliseconds */
	snprintf(buf, sizeof(buf), "%.19sZ", jstr(r, "start"));
	cell(w->c[C_TIME], buf);
	cell(w->c[C_SESSION], sid);
	cell(w->c[C_SUB], jstr(r, "subscriber"));
	hostport(buf, sizeof(buf), r, "src", "src_port");
	if (side == SIDE_UP) {
		/* the query named the gateway's side: show it too */
		size_t n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, " via ");
		n = strlen(buf);
		hostport(buf + n, sizeof(buf) - n, r, "upstream_src",
		    "upstream_src_port");
	}
	cell(w->c[C_SRC], buf);
	hostport(buf, sizeof(buf), r, "dst", "dst_port");
	cell(w->c[C_DST], buf);
	cell(w->c[C_CLASS], ses != NULL ? jstr(ses, "class") : "?");
	if (!is_txn) {
		long long n = json_integer_value(json_object_get(r,
		    "transactions"));

		snprintf(buf, sizeof(buf), n ? "(%lld txn)" : "-", n);
		cell(w->c[C_FROM], buf);
		cell(w->c[C_RCPTS], "");
		cell(w->c[C_MID], "");
		cell(w->c[C_QID], "");
		return;
	}
	snprintf(buf, sizeof(buf), "<%s>", jstr(r, "mail_from"));
	cell(w->c[C_FROM], buf);
	if ((a = json_object_get(r, "rcpts")) != NULL && json_array_size(a) > 0) {
		size_t off = 0;

		buf[0] = '\0';
		for (size_t i = 0; i < json_array_size(a) && off < 200; i++) {
			/* a file's record is anybody's JSON: not all strings */
			const char *v = json_string_value(json_array_get(a, i));

			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
			    i ? "," : "", v != NULL ? v : "?");
		}
	} else if ((a = json_object_get(r, "rcpts_hmac")) != NULL)
		snprintf(buf, sizeof(buf), "%zu (hmac)", json_array_size(a));
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(
		    json_object_get(r, "rcpt_count")));
	cell(w->c[C_RCPTS], buf);
	cell(w->c[C_MID], jstr(r, "message_id"));
	cell(w->c[C_QID], jstr(r, "queue_id"));
}

/* covered - mark the sessions that have a kept transaction in s (the
 * transactions get the rows). */
static unsigned char *
covered(const struct tset *s, const unsigned char *keep)
{
	unsigned char *cov = xcalloc(s->n + 1, 1);

	for (size_t i = 0; i < s->n; i++) {
		const struct trec *st;

		if (!keep[i] || strcmp(jstr(s->v[i].rec, "type"), "txn") != 0)
			continue;
		if ((st = tset_get(s, jstr(s->v[i].rec, "session"))) != NULL)
			cov[st - s->v] = 1;
	}
	return cov;
}

static size_t
print_table(const struct tset *s, const unsigned char *keep,
    const unsigned char *side)
{
	struct row *rows = xcalloc(s->n + 1, sizeof(*rows));
	unsigned char *cov = covered(s, keep);
	size_t nrows = 0, width[NCOL];

	for (int c = 0; c < NCOL; c++)
		width[c] = strlen(col_names[c]);
	for (size_t i = 0; i < s->n; i++) {
		const struct trec *t = &s->v[i];

		if (!keep[i])
			continue;
		if (cov[i])
			continue;
		fill_row(&rows[nrows], t, s, (enum side)side[i]);
		for (int c = 0; c < NCOL; c++)
			width[c] = MAX(width[c], strlen(rows[nrows].c[c]));
		nrows++;
	}
	if (nrows > 0) {
		for (int c = 0; c < NCOL; c++)
			printf("%-*s%s", c == NCOL - 1 ? 0 : (int)width[c],
			    col_names[c], c == NCOL - 1 ? "\n" : "  ");
		for (size_t i = 0; i < nrows; i++)
			for (int c = 0; c < NCOL; c++)
				printf("%-*s%s", c == NCOL - 1 ? 0 : (int)width[c],
				    rows[i].c[c], c == NCOL - 1 ? "\n" : "  ");
	}
	free(rows);
	free(cov);
	return nrows;
}

/* print_json - the kept records, one line each, or into arr (--report
 * --json) when arr is not NULL. */
static size_t
print_json(const struct tset *s, const unsigned char *keep,
    const unsigned char *side, json_t *arr)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		char *line;

		if (!keep[i])
			continue;
		if (side[i] != SIDE_NONE)	/* which field --addr matched */
			json_object_set_new(s->v[i].rec, "matched",
			    json_string(side[i] == SIDE_UP ? "upstream_src"
			    : "src"));
		if (!s->v[i].ctx)
			n++;
		if (arr != NULL) {
			json_array_append(arr, s->v[i].rec);
			continue;
		}
		line = json_dumps(s->v[i].rec, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENSURE_ASCII);	/* no C1 control reaches a terminal */
		if (line != NULL) {
			puts(line);
			free(line);
		}
	}
	return n;
}

/* Main ----------------------------------------------------------------- */

struct topts {
	const char *config, *redis, *hmac_key_file, *report;
	char **files;
	size_t nfiles, filecap;
	int json;
	int have_q;
	enum audit_ix kind;
	const char *value;
	int port;
	int64_t at, from, to, window, lookback;
	int have_at;
	size_t limit;
};

/* What every query of one command shares: the options, the source and,
 * for --rcpt, the HMAC key. */
struct tctx {
	struct topts o;
	struct redis_target rt;
	unsigned char *key;
	size_t keylen;
	const char *srcdesc;
};

/* overlaps - a by-address record whose life touches [lo, hi]. */
static int
overlaps(const json_t *r, int64_t start, int64_t lo, int64_t hi)
{
	const char *e = json_string_value(json_object_get(r, "end"));
	int64_t end = start;

	if (e != NULL)
		(void)audit_parse_time(e, &end);
	return start <= hi && end >= lo;
}

/* print_holder - who held the address at `at`, from the assignment
 * history (RADIUS; assignments.h); into arr when not NULL. Returns how
 * many, or -1 on error. */
static int
print_holder(const struct tctx *c, const union sockaddr_any *a, int port,
    int64_t at, json_t *arr, char *err, size_t errlen)
{
	const struct topts *o = &c->o;
	struct asg_vec v = { NULL, 0, 0 };
	struct redisContext *redis;
	char when[40], pfx[CIDR_STRLEN], s[40], e[40];
	char f[6][TERM_SAFE_MAX(IDENTITY_STR_MAX)];
	size_t bad = 0;
	int rc;

	if (o->nfiles > 0)
		rc = asg_query_files(o->files, o->nfiles, a, port, at, &v,
		    &bad, err, errlen);
	else {
		if ((redis = trace_redis_connect(&c->rt, err, errlen)) == NULL)
			return -1;
		rc = asg_query_redis(redis, a, port, at, &v, err, errlen);
		trace_redis_close(redis);
	}
	if (rc < 0) {
		asg_vec_free(&v);
		return -1;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct asg *g = &v.v[i];

		if (o->json) {
			size_t n;
			char *j = asg_to_json(g, &n);

			if (arr != NULL)
				json_array_append_new(arr, json_loadb(j, n, 0,
				    NULL));
			else
				printf("%.*s\n", (int)n, j);
			free(j);
			continue;
		}
		if (i == 0)
			printf("Held at %s by:\n", fmt_time(when, sizeof(when),
			    at));
		/* a file or Redis is anybody's: every string escaped */
		printf("  subscriber %s  class %s  prefix %s  from %s  to %s  "
		    "nas %s%s%s%s  acct-session %s  calling-station %s\n",
		    term_safe(f[0], sizeof(f[0]), g->subscriber),
		    g->cls[0] ? term_safe(f[1], sizeof(f[1]), g->cls) : "-",
		    cidr_fmt(&g->prefix, pfx, sizeof(pfx)),
		    g->start_unknown ? "?" : fmt_time(s, sizeof(s), g->start_ms),
		    g->end_ms ? fmt_time(e, sizeof(e), g->end_ms) : "(open)",
		    term_safe(f[2], sizeof(f[2]), g->nas),
		    g->nas_name[0] ? " (" : "",
		    term_safe(f[3], sizeof(f[3]), g->nas_name),
		    g->nas_name[0] ? ")" : "", g->session_id[0] ?
		    term_safe(f[4], sizeof(f[4]), g->session_id) : "-",
		    g->calling_station_id[0] ? term_safe(f[5], sizeof(f[5]),
		    g->calling_station_id) : "-");
	}
	if (v.n == 0 && !o->json)
		printf("No RADIUS assignment on record for that moment; the "
		    "SUBSCRIBER column is the static map or the address.\n");
	if (!o->json)
		printf("\n");
	rc = (int)v.n;
	asg_vec_free(&v);
	return rc;
}

/* ask - one question (kind, raw value; for --addr the port, -1 any, and
 * the time) against the source, printed: the one path of the options and
 * of --report. fact, when not NULL, heads the table ("Fact: ... -> N
 * records"); arr, when not NULL, takes the --json records instead of
 * standard output. Adds what it found to *found; 0, or -1 after saying
 * why on standard error. */
static int
ask(struct tctx *c, enum audit_ix kind, const char *raw, int port, int64_t at,
    const char *fact, json_t *arr, size_t *found)
{
	const struct topts *o = &c->o;
	struct tquery q;
	struct tset set;
	char err[512], canon[ADDR_STRLEN], value[AUDIT_RCPT_MAX];
	unsigned char *keep = NULL, *side = NULL;
	size_t n = 0;
	int rc, ret = -1;
	int64_t t0 = now_ms();

	memset(&q, 0, sizeof(q));
	memset(&set, 0, sizeof(set));
	q.limit = o->limit;

	/* The value as subgated wrote it. */
	snprintf(value, sizeof(value), "%s", raw);
	if (kind == AUDIT_IX_SRC || kind == AUDIT_IX_DST) {
		union sockaddr_any a;

		if (addr_parse(&a, raw, 0) < 0) {
			fprintf(stderr, "subgate trace: not a numeric address: %s\n",
			    raw);
			goto out;
		}
		addr_unmap(&a);
		snprintf(value, sizeof(value), "%s", addr_ntop(&a, canon,
		    sizeof(canon)));
	}
	if (kind == AUDIT_IX_RCPT && c->key != NULL) {
		char h[AUDIT_HMAC_HEX + 1];

		if (audit_rcpt_hmac(h, c->key, c->keylen, raw) < 0) {
			fprintf(stderr, "subgate trace: recipient too long\n");
			goto out;
		}
		snprintf(value, sizeof(value), "%s", h);
	}
	q.kind = kind;
	if (audit_ix_key(q.key, kind, value) < 0) {
		fprintf(stderr, "subgate trace: empty value\n");
		goto out;
	}
	/* Pre-filter for files: the value as it appears in the JSON text. */
	if (kind == AUDIT_IX_SRC || kind == AUDIT_IX_DST ||
	    (kind == AUDIT_IX_RCPT && c->key != NULL))
		snprintf(q.needle, sizeof(q.needle), "\"%.*s\"", 128, value);
	else if (kind == AUDIT_IX_MID || kind == AUDIT_IX_QID ||
	    kind == AUDIT_IX_SUB) {
		size_t len;
		const char *m = kind == AUDIT_IX_MID ?
		    audit_msgid_normalize(raw, &len) : raw;
		int plain = 1;

		if (kind != AUDIT_IX_MID)
			len = strlen(m);
		for (size_t i = 0; i < len; i++)
			if (m[i] < 0x20 || m[i] >= 0x7f || m[i] == '"' ||
			    m[i] == '\\' || m[i] == '/')
				plain = 0;
		if (plain && len < sizeof(q.needle))
			snprintf(q.needle, sizeof(q.needle), "%.*s", (int)len, m);
	}
	if (kind == AUDIT_IX_SRC) {
		q.from = at - o->window - o->lookback;
		q.to = at + o->window;
	} else {
		q.from = o->from;
		q.to = o->to;
	}

	rc = o->nfiles > 0 ? trace_files(o->files, o->nfiles, &q, &set, err,
	    sizeof(err)) : trace_redis(&c->rt, &q, &set, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "subgate trace: %s\n", err);
		goto out;
	}
	tset_finish(&set);

	/* Keep: by address, what overlaps the window with that address (and
	 * port) on one of its sides, the subscriber's or the upstream's; the
	 * sessions of kept transactions come along. */
	keep = xcalloc(set.n + 1, 1);
	side = xcalloc(set.n + 1, 1);
	for (size_t i = 0; i < set.n; i++) {
		const struct trec *t = &set.v[i];

		keep[i] = 1;
		if (kind != AUDIT_IX_SRC || t->ctx)
			continue;
		side[i] = (unsigned char)match_side(t->rec, value, port);
		if (!overlaps(t->rec, t->start, at - o->window, at + o->window) ||
		    side[i] == SIDE_NONE)
			keep[i] = 0;
	}
	if (kind == AUDIT_IX_SRC) {
		/* a context session whose transactions were all dropped */
		unsigned char *cov = covered(&set, keep);

		for (size_t i = 0; i < set.n; i++)
			if (set.v[i].ctx && !cov[i])
				keep[i] = 0;
		free(cov);
	}
	if (fact != NULL && !o->json) {
		unsigned char *cov = covered(&set, keep);
		size_t rows = 0;

		for (size_t i = 0; i < set.n; i++)
			rows += keep[i] && !cov[i];
		free(cov);
		printf("Fact: %s  -> %zu record%s\n", fact, rows,
		    rows == 1 ? "" : "s");
	}
	if (kind == AUDIT_IX_SRC && !only_side(&set, keep, side, SIDE_UP)) {
		union sockaddr_any a;
		int held;

		(void)addr_parse(&a, value, 0);
		if ((held = print_holder(c, &a, port, at, arr, err,
		    sizeof(err))) < 0) {
			fprintf(stderr, "subgate trace: assignments: %s\n", err);
			goto out;
		}
		n += (size_t)held;
	} else if (kind == AUDIT_IX_SRC && !o->json)
		/* no subscriber holds the gateway's address: the rows say who */
		printf("%s is the gateway's side of these sessions, as the "
		    "receiving MX saw it; SOURCE shows the subscriber's side "
		    "after \"via\".\n\n", value);
	n += o->json ? print_json(&set, keep, side, arr) : print_table(&set,
	    keep, side);
	fprintf(stderr, "subgate trace: %zu record%s from %s (%s), %lld ms%s",
	    n, n == 1 ? "" : "s", c->srcdesc, q.key,
	    (long long)(now_ms() - t0), set.truncated ? ", limit reached" : "");
	if (set.bad_lines > 0)
		fprintf(stderr, ", %zu unreadable line%s skipped", set.bad_lines,
		    set.bad_lines == 1 ? "" : "s");
	fputc('\n', stderr);
	*found += n;
	ret = 0;
out:
	free(keep);
	free(side);
	tset_free(&set);
	return ret;
}

/* read_report - the whole report (path, or "-" for standard input), at
 * most REPORT_MAX octets. NULL after saying why. */
static char *
read_report(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n = 0, k;

	if (f == NULL) {
		fprintf(stderr, "subgate trace: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(REPORT_MAX + 1);
	while (n <= REPORT_MAX &&
	    (k = fread(buf + n, 1, REPORT_MAX + 1 - n, f)) > 0)
		n += k;
	if (ferror(f) || n > REPORT_MAX) {
		if (n > REPORT_MAX)
			fprintf(stderr, "subgate trace: %s: report larger than "
			    "%d octets\n", path, REPORT_MAX);
		else
			fprintf(stderr, "subgate trace: %s: %s\n", path,
			    strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* fact_text - a fact as the desk reads it, escaped for the terminal. */
static void
fact_text(char *out, size_t len, const struct rfact *f)
{
	char buf[TERM_SAFE_MAX(REPORT_VALUE_MAX)], when[40], port[24] = "";
	const char *esc = term_safe(buf, sizeof(buf), f->value);

	switch (f->kind) {
	case RF_MID:
		snprintf(out, len, "Message-ID %s", esc);
		break;
	case RF_QID:
		snprintf(out, len, "queue id %s", esc);
		break;
	case RF_ADDR:
		if (f->port > 0)
			snprintf(port, sizeof(port), " port %d", f->port);
		snprintf(out, len, "address %s%s at %s", esc, port,
		    f->at != 0 ? fmt_time(when, sizeof(when), f->at) : "?");
		break;
	}
	snprintf(out + strlen(out), len - strlen(out), " (%s)", f->origin);
}

/* ask_report - --report: every usable fact of the complaint, each asked
 * through ask(). The exit status. */
static int
ask_report(struct tctx *c)
{
	static const char *const kname[] = { "message-id", "queue-id",
		"addr" };
	struct report *r = xcalloc(1, sizeof(*r));
	char err[256], text[TERM_SAFE_MAX(REPORT_VALUE_MAX) + 128];
	char esc[TERM_SAFE_MAX(sizeof(r->mail_from))];
	size_t len, total = 0;
	int status = 2;
	char *buf, *tried = NULL;
	size_t tlen = 0, tcap = 0;

	if ((buf = read_report(c->o.report, &len)) == NULL)
		goto out;
	if (report_parse(r, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "subgate trace: %s: %s\n", c->o.report, err);
		goto out;
	}
	if (!c->o.json) {
		printf("Report: %s, %zu fact%s%s\n", report_format_name(r->format),
		    r->nfacts, r->nfacts == 1 ? "" : "s", r->dropped > 0 ?
		    " (more left out)" : "");
		if (r->mail_from[0] != '\0')
			printf("Original-Mail-From: %s (not indexed)\n",
			    term_safe(esc, sizeof(esc), r->mail_from));
		if (r->reported_domain[0] != '\0')
			printf("Reported-Domain: %s (not indexed)\n",
			    term_safe(esc, sizeof(esc), r->reported_domain));
		printf("\n");
	}
	for (size_t i = 0; i < r->nfacts; i++) {
		const struct rfact *f = &r->fact[i];
		enum audit_ix kind = f->kind == RF_MID ? AUDIT_IX_MID :
		    f->kind == RF_QID ? AUDIT_IX_QID : AUDIT_IX_SRC;
		json_t *arr = c->o.json ? json_array() : NULL;
		size_t n = 0, k;

		fact_text(text, sizeof(text), f);
		k = strlen(text);
		tried = xgrow(tried, &tcap, tlen + k + 3, 1, 256);
		snprintf(tried + tlen, tcap - tlen, "%s%s", tlen ? "; " : "",
		    text);
		tlen = strlen(tried);
		if (f->kind == RF_ADDR && f->at == 0) {
			if (!c->o.json)
				printf("Fact: %s  -> not asked: no time in the "
				    "report\n\n", text);
			json_decref(arr);
			continue;
		}
		if (ask(c, kind, f->value, f->port > 0 ? f->port : -1, f->at,
		    text, arr, &n) < 0) {
			json_decref(arr);
			goto out;
		}
		if (arr != NULL) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:o}", "fact",
			    kname[f->kind], "value", f->value, "origin", f->origin,
			    "found", (json_int_t)n, "records", arr);
			char *line, when[40];

			if (o != NULL && f->kind == RF_ADDR) {
				if (f->port > 0)
					json_object_set_new(o, "port",
					    json_integer(f->port));
				json_object_set_new(o, "at", json_string(fmt_time(
				    when, sizeof(when), f->at)));
			}
			if (o != NULL && (line = json_dumps(o, JSON_COMPACT |
			    JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)) != NULL) {
				puts(line);
				free(line);
			}
			json_decref(o);
		} else
			printf("\n");
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "subgate trace: %s: the report's facts matched "
		    "nothing; tried: %s\n", c->o.report, r->nfacts > 0 ? tried :
		    "none (no Message-ID, queue id or address in it)");
		status = 1;
	} else
		status = 0;
out:
	free(tried);
	free(buf);
	free(r);
	return status;
}

int
trace_main(int argc, char **argv)
{
	enum { O_ADDR = 256, O_PORT, O_AT, O_WINDOW, O_LOOKBACK, O_SUB, O_FROM,
		O_TO, O_MID, O_QID, O_RCPT, O_DST, O_REDIS, O_FILE, O_JSON,
		O_HMAC, O_LIMIT, O_REPORT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "port", required_argument, NULL, O_PORT },
		{ "at", required_argument, NULL, O_AT },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "lookback", required_argument, NULL, O_LOOKBACK },
		{ "subscriber", required_argument, NULL, O_SUB },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "message-id", required_argument, NULL, O_MID },
		{ "queue-id", required_argument, NULL, O_QID },
		{ "rcpt", required_argument, NULL, O_RCPT },
		{ "dst", required_argument, NULL, O_DST },
		{ "report", required_argument, NULL, O_REPORT },
		{ "redis", required_argument, NULL, O_REDIS },
		{ "file", required_argument, NULL, O_FILE },
		{ "json", no_argument, NULL, O_JSON },
		{ "hmac-key-file", required_argument, NULL, O_HMAC },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tctx c;
	struct topts *o = &c.o;
	struct config *conf = NULL;
	char err[512];
	size_t found = 0;
	int ch, rc, status = 2;

	memset(&c, 0, sizeof(c));
	o->port = -1;
	o->from = INT64_MIN / 2;
	o->to = INT64_MAX / 2;
	o->window = DEFAULT_WINDOW_MS;
	o->lookback = -1;
	o->limit = TRACE_LIMIT_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		int64_t *tp = NULL, *dp = NULL;

		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case O_ADDR: case O_SUB: case O_MID: case O_QID: case O_RCPT:
		case O_DST: case O_REPORT:
			if (o->have_q) {
				fprintf(stderr, "subgate trace: one question at a time\n");
				goto out;
			}
			o->have_q = 1;
			if (ch == O_REPORT) {
				o->report = optarg;
				break;
			}
			o->value = optarg;
			o->kind = ch == O_ADDR ? AUDIT_IX_SRC : ch == O_SUB ?
			    AUDIT_IX_SUB : ch == O_MID ? AUDIT_IX_MID : ch == O_QID ?
			    AUDIT_IX_QID : ch == O_RCPT ? AUDIT_IX_RCPT : AUDIT_IX_DST;
			break;
		case O_PORT:
			o->port = atoi(optarg);
			if (o->port <= 0 || o->port > 65535) {
				fprintf(stderr, "subgate trace: bad --port %s\n", optarg);
				goto out;
			}
			break;
		case O_AT:
			tp = &o->at;
			o->have_at = 1;
			break;
		case O_FROM:
			tp = &o->from;
			break;
		case O_TO:
			tp = &o->to;
			break;
		case O_WINDOW:
			dp = &o->window;
			break;
		case O_LOOKBACK:
			dp = &o->lookback;
			break;
		case O_REDIS:
			o->redis = optarg;
			break;
		case O_FILE:
			GROW(o->files, o->filecap, o->nfiles + 1);
			o->files[o->nfiles++] = optarg;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_HMAC:
			o->hmac_key_file = optarg;
			break;
		case O_LIMIT: {
			char *end;

			errno = 0;
			o->limit = (size_t)strtoull(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
			    errno != 0 || o->limit > TRACE_LIMIT_MAX) {
				fprintf(stderr, "subgate trace: bad --limit %s "
				    "(0..%d)\n", optarg, TRACE_LIMIT_MAX);
				goto out;
			}
			if (o->limit == 0)
				o->limit = TRACE_LIMIT_DEFAULT;
			break;
		}
		case 'h':
			usage(stdout);
			status = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
		if (tp != NULL && parse_when(optarg, tp) < 0) {
			fprintf(stderr, "subgate trace: bad time %s\n", optarg);
			goto out;
		}
		if (dp != NULL && parse_dur(optarg, dp) < 0) {
			fprintf(stderr, "subgate trace: bad duration %s\n", optarg);
			goto out;
		}
	}
	if (!o->have_q || optind < argc) {
		usage(stderr);
		goto out;
	}
	if (o->report != NULL && (o->port > 0 || o->have_at)) {
		fprintf(stderr, "subgate trace: --report takes ports and times "
		    "from the report, not --port or --at\n");
		goto out;
	}
	if (o->report == NULL && o->kind == AUDIT_IX_SRC && !o->have_at) {
		fprintf(stderr, "subgate trace: --addr needs --at\n");
		goto out;
	}
	if (o->config != NULL &&
	    (conf = config_load(o->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "subgate trace: %s\n", err);
		goto out;
	}
	if (o->report == NULL && o->kind == AUDIT_IX_RCPT) {
		if (o->hmac_key_file != NULL) {
			if ((rc = audit_key_load(o->hmac_key_file, &c.key,
			    &c.keylen)) < 0) {
				fprintf(stderr, "subgate trace: %s: %s\n",
				    o->hmac_key_file, sg_strerror(rc));
				goto out;
			}
		} else if (conf != NULL && conf->audit.recipients == AUDIT_RCPT_HMAC) {
			c.keylen = conf->audit.hmac_key.len;
			c.key = xmalloc(c.keylen);
			memcpy(c.key, conf->audit.hmac_key.value, c.keylen);
		}
	}
	if (o->lookback < 0)
		o->lookback = conf != NULL && conf->session_max_time > 0 ?
		    (int64_t)conf->session_max_time : DEFAULT_LOOKBACK_MS;

	/* The source. */
	if (o->nfiles == 0 && o->redis == NULL && conf != NULL) {
		if (conf->redis.enabled && conf->audit.index_redis) {
			rl_redis_conf_init(&c.rt.rc, &conf->redis);
			c.rt.timeout_ms = (int)MAX(conf->redis.connect_timeout_ms,
			    1000);
			o->redis = "(config)";
		} else if (strcmp(conf->audit_path, "-") != 0) {
			GROW(o->files, o->filecap, o->nfiles + 1);
			o->files[o->nfiles++] = conf->audit_path;
		}
	} else if (o->redis != NULL) {
		if (split_hostport(o->redis, c.rt.rc.host, sizeof(c.rt.rc.host),
		    &c.rt.rc.conn.port) < 0) {
			fprintf(stderr, "subgate trace: bad --redis %s\n", o->redis);
			goto out;
		}
		c.rt.rc.conn.host = c.rt.rc.host;
		c.rt.timeout_ms = 2000;
		if (conf != NULL) {
			c.rt.rc.conn.password = conf->redis.password.value;
			c.rt.rc.conn.database = conf->redis.database;
		}
	}
	if (o->nfiles > 0 && o->redis != NULL && strcmp(o->redis, "(config)") != 0) {
		fprintf(stderr, "subgate trace: --redis or --file, not both\n");
		goto out;
	}
	if (o->nfiles == 0 && o->redis == NULL) {
		fprintf(stderr, "subgate trace: no source: give --redis, --file "
		    "or -c with a redis section or an audit.path\n");
		goto out;
	}
	c.srcdesc = o->nfiles > 0 ? "files" : "redis";
	if (o->report != NULL) {
		if (o->report[0] == '-' && o->report[1] == '\0') {
			for (size_t i = 0; i < o->nfiles; i++)
				if (strcmp(o->files[i], "-") == 0) {
					fprintf(stderr, "subgate trace: --report - "
					    "and --file - both read standard "
					    "input\n");
					goto out;
				}
		}
		status = ask_report(&c);
	} else if (ask(&c, o->kind, o->value, o->port, o->at, NULL, NULL,
	    &found) == 0)
		status = found > 0 ? 0 : 1;
out:
	free(o->files);
	rl_redis_conf_free(&c.rt.rc);
	if (c.key != NULL) {
		explicit_bzero(c.key, c.keylen);
		free(c.key);
	}
	if (conf != NULL)
		config_free(conf);
	return status;
}
