/*
 * fuzz_asg.c - libFuzzer harness for the assignment record
 * (proxy/asg_schema.c): the input is a record as Redis or a peer gateway's
 * PUBLISH hands it to asg_from_json.
 *
 * Checked, for a record that parses: what asg_to_json writes parses back to
 * the same assignment (time_ms aside: the record carries no "time_ms", the
 * reader takes it from end or start); one more write and parse change
 * nothing, byte for byte (parse -> write -> parse is stable); the script's
 * needles (asg_json_field "nas", "acct_session_id") are found in what was
 * written and are exactly the written "key":"value"; a record names its own
 * node (asg_json_from_node) for every valid node name. A prefix length tag
 * made from the prefix parses back (asg_plen_parse). The input is copied
 * into a buffer of exactly its size. Invariants abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "asg_schema.h"
#include "identity.h"
#include "jsonw.h"
#include "fuzz.h"

static void
same_strings(const struct asg *a, const struct asg *b)
{
	CHECK(strcmp(a->node, b->node) == 0);
	CHECK(strcmp(a->subscriber, b->subscriber) == 0);
	CHECK(strcmp(a->cls, b->cls) == 0);
	CHECK(strcmp(a->nas, b->nas) == 0);
	CHECK(strcmp(a->nas_name, b->nas_name) == 0);
	CHECK(strcmp(a->session_id, b->session_id) == 0);
	CHECK(strcmp(a->calling_station_id, b->calling_station_id) == 0);
}

static void
same(const struct asg *a, const struct asg *b, int with_time)
{
	CHECK(a->prefix.family == b->prefix.family);
	CHECK(a->prefix.plen == b->prefix.plen);
	CHECK(memcmp(a->prefix.addr, b->prefix.addr, 16) == 0);
	CHECK(a->event == b->event);
	CHECK(a->start_ms == b->start_ms);
	CHECK(a->end_ms == b->end_ms);
	CHECK(!a->start_unknown == !b->start_unknown);
	CHECK(!a->cls_radius == !b->cls_radius);
	if (with_time)
		CHECK(a->time_ms == b->time_ms);
	same_strings(a, b);
}

/* needle - asg_json_field of key is the written "key":"<value escaped>". */
static void
needle(const char *json, size_t len, const char *key, const char *value)
{
	struct jw w;
	size_t off, n;

	jw_init(&w, NULL, 0);
	jw_obj_open(&w);
	jw_kstr(&w, key, value);
	CHECK(asg_json_field(json, len, key, &off, &n) == 0);
	CHECK(off + n <= len);
	CHECK(n == w.len - 1 && memcmp(json + off, w.p + 1, n) == 0);
	jw_free(&w);
}

static int
valid_node(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		    *s == '_'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asg a1, a2, a3;
	char *in = malloc(size ? size : 1), *j1, *j2, *j3, key[ASG_KEY_MAX],
	    tag[ASG_PLEN_TAG_MAX];
	size_t n1, n2, n3;
	unsigned plen;
	int family;

	CHECK(in != NULL);
	memcpy(in, data, size);
	if (asg_from_json(in, size, &a1) != 0) {
		free(in);
		return 0;
	}
	free(in);
	CHECK(a1.node && a1.subscriber && a1.cls && a1.nas && a1.nas_name &&
	    a1.session_id && a1.calling_station_id);
	CHECK(asg_history_key(key, &a1.prefix) < sizeof(key));
	CHECK(asg_plen_tag(tag, a1.prefix.family, a1.prefix.plen) <
	    sizeof(tag));
	CHECK(asg_plen_parse(tag, &family, &plen) == 0);
	CHECK(family == a1.prefix.family && plen == a1.prefix.plen);

	j1 = asg_to_json(&a1, &n1);
	CHECK(strlen(j1) == n1);
	if (asg_from_json(j1, n1, &a2) != 0) {
		fprintf(stderr, "written record does not parse: %s\n", j1);
		CHECK(0);
	}
	same(&a1, &a2, 0);
	needle(j1, n1, "nas", a1.nas);
	needle(j1, n1, "acct_session_id", a1.session_id);
	if (valid_node(a1.node))
		CHECK(asg_json_from_node(j1, n1, a1.node) == 1);

	j2 = asg_to_json(&a2, &n2);
	CHECK(asg_from_json(j2, n2, &a3) == 0);
	same(&a2, &a3, 1);
	j3 = asg_to_json(&a3, &n3);
	if (n2 != n3 || memcmp(j2, j3, n2) != 0) {
		fprintf(stderr, "not stable:\n%s\n%s\n", j2, j3);
		CHECK(0);
	}
	free(j1);
	free(j2);
	free(j3);
	asg_free(&a1);
	asg_free(&a2);
	asg_free(&a3);
	return 0;
}
