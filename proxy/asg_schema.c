/*
 * asg_schema.c - the assignment history's keys, record and script
 * (asg_schema.h).
 */
#include "asg_schema.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "err.h"
#include "jsonw.h"
#include "util.h"

/* Keys ------------------------------------------------------------------- */

size_t
asg_history_key(char *out, const struct cidr_prefix *p)
{
	char pbuf[CIDR_STRLEN];

	return fmt_trunc(out, ASG_KEY_MAX, "sg:{asg:%s}:h",
	    cidr_fmt(p, pbuf, sizeof(pbuf)));
}

size_t
asg_plen_tag(char *out, int family, unsigned plen)
{
	return fmt_trunc(out, ASG_PLEN_TAG_MAX, "%d/%u",
	    family == AF_INET ? 4 : 6, plen);
}

int
asg_plen_parse(const char *tag, int *family, unsigned *plen)
{
	unsigned long v;
	char *end;

	if ((tag[0] != '4' && tag[0] != '6') || tag[1] != '/' ||
	    tag[2] < '0' || tag[2] > '9')
		return -1;
	v = strtoul(tag + 2, &end, 10);
	if (*end != '\0' || v > (tag[0] == '4' ? 32u : 128u))
		return -1;
	*family = tag[0] == '4' ? AF_INET : AF_INET6;
	*plen = (unsigned)v;
	return 0;
}

/* The record --------------------------------------------------------------- */

/* ktime - "key":"<RFC 3339 time>". */
static void
ktime(struct jw *w, const char *key, int64_t ms)
{
	char buf[40];

	jw_kstr(w, key, fmt_time(buf, sizeof(buf), ms));
}

/* The record is made for every accounting request (tens of thousands a
 * second) with jsonw, not jansson; its strings are escaped ASCII already
 * (identity_escape). The field order is part of the format: the script
 * below finds "start" + "start_ms" (+ "start_unknown") next to each other
 * and "end_ms" by pattern, and asg_json_from_node looks for "node" in the
 * first bytes. */
char *
asg_to_json(const struct asg *a, size_t *len)
{
	struct jw w;
	char pbuf[CIDR_STRLEN];

	jw_init(&w, NULL, 0);
	jw_obj_open(&w);
	jw_kint(&w, "v", 1);
	jw_kstr(&w, "type", "assignment");
	jw_kstr(&w, "node", a->node);
	jw_kstr(&w, "event", asg_event_name(a->event));
	ktime(&w, "time", a->time_ms);
	jw_kstr(&w, "subscriber", a->subscriber);
	jw_kstr(&w, "class", a->cls);
	if (a->cls_radius)
		jw_kstr(&w, "class_source", "radius");
	jw_kstr(&w, "prefix", cidr_fmt(&a->prefix, pbuf, sizeof(pbuf)));
	ktime(&w, "start", a->start_ms);
	jw_kint(&w, "start_ms", a->start_ms);
	if (a->start_unknown) {
		jw_key(&w, "start_unknown");
		jw_bool(&w, 1);
	}
	if (a->end_ms != 0) {
		ktime(&w, "end", a->end_ms);
		jw_kint(&w, "end_ms", a->end_ms);
	}
	jw_kstr(&w, "nas", a->nas);
	jw_kstr(&w, "nas_name", a->nas_name);
	jw_kstr(&w, "acct_session_id", a->session_id);
	jw_kstr(&w, "calling_station_id", a->calling_station_id);
	jw_kstr(&w, "source", "radius");
	jw_obj_close(&w);
	*jw_reserve(&w, 1) = '\0';
	*len = w.len;
	return w.p;
}

/* dup_str - the string at k as identity.h stores strings: printable, no
 * space, bounded; "" when absent. */
static char *
dup_str(json_t *o, const char *k)
{
	json_t *j = json_object_get(o, k);
	const char *s = json_is_string(j) ? json_string_value(j) : "";
	size_t n = json_is_string(j) ? json_string_length(j) : 0;
	char esc[IDENTITY_STR_MAX];

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    n >= IDENTITY_STR_MAX)
			return xstrdup(identity_escape(esc, sizeof(esc), s, n));
	return xstrdup(s);
}

static const char *
jget_str(json_t *o, const char *k)
{
	json_t *j = json_object_get(o, k);

	return json_is_string(j) ? json_string_value(j) : NULL;
}

static int
jget_int(json_t *o, const char *k, int64_t *v)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return 0;
}

int
asg_from_json(const char *json, size_t len, struct asg *out)
{
	json_t *o = json != NULL && len <= ASG_JSON_MAX ? json_loadb(json, len,
	    JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	const char *type, *ev, *prefix, *cs;
	struct asg a;
	int64_t v = 0, ver = 0;
	int rc = SG_EINVAL, e;

	memset(&a, 0, sizeof(a));
	if (len > ASG_JSON_MAX || !json_is_object(o))
		goto out;
	type = jget_str(o, "type");
	ev = jget_str(o, "event");
	prefix = jget_str(o, "prefix");
	if (jget_int(o, "v", &ver) < 0 || ver != 1 || type == NULL ||
	    strcmp(type, "assignment") != 0 || ev == NULL || prefix == NULL ||
	    (e = asg_event_parse(ev)) < 0 ||
	    cidr_parse(&a.prefix, prefix, NULL, 0) < 0 ||
	    jget_int(o, "start_ms", &a.start_ms) < 0)
		goto out;
	a.event = (enum asg_event)e;
	if (jget_int(o, "end_ms", &v) == 0)
		a.end_ms = v;
	a.time_ms = a.end_ms != 0 ? a.end_ms : a.start_ms;
	if (jget_int(o, "time_ms", &v) == 0)
		a.time_ms = v;
	a.start_unknown = json_is_true(json_object_get(o, "start_unknown"));
	a.node = dup_str(o, "node");
	a.subscriber = dup_str(o, "subscriber");
	a.cls = dup_str(o, "class");
	cs = jget_str(o, "class_source");
	a.cls_radius = cs != NULL && strcmp(cs, "radius") == 0;
	a.nas = dup_str(o, "nas");
	a.nas_name = dup_str(o, "nas_name");
	a.session_id = dup_str(o, "acct_session_id");
	a.calling_station_id = dup_str(o, "calling_station_id");
	*out = a;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
asg_json_field(const char *json, size_t len, const char *key, size_t *off,
    size_t *n)
{
	char pat[40];
	const char *p, *end = json + len;
	int k = snprintf(pat, sizeof(pat), ",\"%s\":\"", key);

	if (k < 0 || (size_t)k >= sizeof(pat) ||
	    (p = memmem(json, len, pat, (size_t)k)) == NULL)
		return -1;
	*off = (size_t)(p + 1 - json);
	for (p += k; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	if (p >= end)
		return -1;
	*n = (size_t)(p + 1 - (json + *off));
	return 0;
}

int
asg_json_from_node(const char *json, size_t len, const char *node)
{
	char own[300];
	int n = snprintf(own, sizeof(own), "\"node\":\"%s\",", node);

	/* "node" comes right after "v" and "type": within the first bytes,
	 * however long the name (up to 253) */
	return n > 0 && (size_t)n < sizeof(own) &&
	    memmem(json, MIN(len, 40 + (size_t)n), own, (size_t)n) != NULL;
}

/* The script ------------------------------------------------------------- */

/* The session's open member is replaced by the record; an open record for
 * a session Redis already has closed is stale (a replay, a late write) and
 * changes nothing; a Stop whose start this node did not know takes the
 * start of the open member it closes, and adds nothing if there is none.
 * Closed members that ended before the cutoff go. Members are matched as
 * text (asg_to_json writes every field the same way), not decoded: this
 * runs for every accounting request. Published only when it changed. */
const char asg_history_script[] =
"local key, rec, score = KEYS[1], ARGV[1], tonumber(ARGV[2])\n"
"local open, unknown = ARGV[6] == '1', ARGV[7] == '1'\n"
"local cutoff = tonumber(ARGV[9])\n"
"local matched = false\n"
"local m = redis.call('ZRANGE', key, 0, -1)\n"
"for i = 1, #m do\n"
"  local s = m[i]\n"
"  local e = string.match(s, '\"end_ms\":(%d+)')\n"
"  if e and tonumber(e) < cutoff then\n"
"    redis.call('ZREM', key, s)\n"
"  elseif string.find(s, ARGV[5], 1, true) and\n"
"      string.find(s, ARGV[4], 1, true) then\n"
"    if not e then\n"
"      if unknown then\n"
"        local st = string.match(s, '\"start\":\"[^\"]*\",\"start_ms\":%d+')\n"
"        if st then\n"
"          rec = string.gsub(rec, '\"start\":\"[^\"]*\",\"start_ms\":%d+,\"start_unknown\":true', st, 1)\n"
"          score = tonumber(string.match(st, '(%d+)$'))\n"
"        end\n"
"      end\n"
"      if s ~= rec then redis.call('ZREM', key, s) end\n"
"      matched = true\n"
"    elseif open and score <= tonumber(e) then\n"
"      return 0\n"
"    end\n"
"  end\n"
"end\n"
"if unknown and not matched then return 0 end\n"
"redis.call('ZADD', key, score, rec)\n"
"redis.call('PEXPIRE', key, ARGV[3])\n"
"redis.call('PUBLISH', ARGV[8], rec)\n"
"return 1\n";
