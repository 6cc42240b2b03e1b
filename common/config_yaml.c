/*
 * config_yaml.c - applying one YAML document to a struct config through the
 * key tables (config_schema.c): the walker, the notations of scalar values
 * (sizes, durations, rates, names, reply texts), and located errors. Every
 * value's location is recorded (struct mark_rec) and the libyaml document
 * is kept until the cross-field checks (config_check.c) have run, so every
 * error points at a line and column of the file that caused it.
 */
#include "buf.h"
#include "config_int.h"
#include "cidr.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
config__err(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->err == NULL || x->errlen == 0)
		return;
	snprintf(x->err, x->errlen, "%s:%zu:%zu: %s%s%s", x->name,
	    m->line + 1, m->column + 1, x->path, x->plen ? ": " : "", msg);
}

/* config__path_push - append a path component; returns the length to
 * restore. */
size_t
config__path_push(struct ctx *x, const char *fmt, ...)
{
	size_t old = x->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->path + x->plen, sizeof(x->path) - x->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		x->plen = MIN(x->plen + (size_t)n, sizeof(x->path) - 1);
	return old;
}

void
config__path_pop(struct ctx *x, size_t old)
{
	x->plen = old;
	x->path[old] = '\0';
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static int
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static void
store(void *base, const struct key *k, uint64_t v)
{
	uint8_t *p = (uint8_t *)base + k->off;

	if (k->size == sizeof(uint64_t)) {
		uint64_t w = v;
		memcpy(p, &w, sizeof(w));
	} else if (k->size == sizeof(uint32_t)) {
		uint32_t w = (uint32_t)v;
		memcpy(p, &w, sizeof(w));
	} else if (k->size == sizeof(uint16_t)) {
		uint16_t w = (uint16_t)v;
		memcpy(p, &w, sizeof(w));
	} else {
		abort();
	}
}

uint64_t
config__fetch(const void *base, const struct key *k)
{
	const uint8_t *p = (const uint8_t *)base + k->off;
	uint64_t w8;
	uint32_t w4;
	uint16_t w2;

	if (k->size == sizeof(w8)) {
		memcpy(&w8, p, sizeof(w8));
		return w8;
	}
	if (k->size == sizeof(w4)) {
		memcpy(&w4, p, sizeof(w4));
		return w4;
	}
	if (k->size == sizeof(w2)) {
		memcpy(&w2, p, sizeof(w2));
		return w2;
	}
	abort();
}

/* parse_number - decimal digits then an optional unit from units[] (NULL
 * name: no unit); 0, -1 syntax, -2 negative, -3 overflow. */
struct unit {
	const char	*name;
	uint64_t	 mult;
};

static const struct unit size_units[] = {
	{ "", 1 }, { "k", KIB }, { "K", KIB }, { "m", MIB }, { "M", MIB },
	{ "g", 1024 * MIB }, { "G", 1024 * MIB }, { NULL, 0 }
};
static const struct unit duration_units[] = {
	{ "", SEC }, { "ms", 1 }, { "s", SEC }, { "m", MIN_ }, { "h", HOUR },
	{ "d", 24 * HOUR }, { NULL, 0 }
};
static const struct unit plain_units[] = { { "", 1 }, { NULL, 0 } };

static int
parse_number(const char *s, const struct unit *u, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '-' && p[1] >= '0' && p[1] <= '9')
		return -2;
	if (*p < '0' || *p > '9')
		return -1;
	/* 0x...: plain numbers only (packet and connection marks) */
	if (p[0] == '0' && p[1] == 'x' && u == plain_units) {
		for (p += 2; isxdigit((unsigned char)*p); p++) {
			if (v > UINT64_MAX >> 4)
				return -3;
			v = v << 4 | (uint64_t)(isdigit((unsigned char)*p) ?
			    *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		}
		if (*p != '\0' || p == s + 2)
			return -1;
		*out = v;
		return 0;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -3;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (; u->name != NULL; u++) {
		if (strcmp(p, u->name) != 0)
			continue;
		if (v != 0 && u->mult > UINT64_MAX / v)
			return -3;
		*out = v * u->mult;
		return 0;
	}
	return -1;
}

/* config__fmt_value - v in the key's own notation (largest exact unit). */
char *
config__fmt_value(char *buf, size_t len, enum ktype t, uint64_t v)
{
	static const struct unit dur[] = {
		{ "d", 24 * HOUR }, { "h", HOUR }, { "m", MIN_ }, { "s", SEC },
		{ "ms", 1 }
	};
	static const struct unit sz[] = {
		{ "g", 1024 * MIB }, { "m", MIB }, { "k", KIB }
	};
	size_t i;

	if (v != 0 && t == K_DURATION) {
		for (i = 0; i < ARRAY_SIZE(dur); i++)
			if (v % dur[i].mult == 0) {
				snprintf(buf, len, "%" PRIu64 "%s",
				    v / dur[i].mult, dur[i].name);
				return buf;
			}
	}
	if (v >= 64 * KIB && t == K_SIZE) {
		for (i = 0; i < ARRAY_SIZE(sz); i++)
			if (v % sz[i].mult == 0) {
				snprintf(buf, len, "%" PRIu64 "%s",
				    v / sz[i].mult, sz[i].name);
				return buf;
			}
	}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

int
config__valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NODE_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		    *s == '_'))
			return 0;
	return 1;
}

/* config__show - s as given when it is one printable token, else quoted and
 * escaped; either way at most len - 1 characters. */
const char *
config__show(char *buf, size_t len, const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= len || strlen(s) != n)
		return log_esc(buf, len, s, n);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return log_esc(buf, len, s, n);
	return s;
}

static void
parse_scalar_number(struct ctx *x, const struct key *k, const yaml_node_t *n,
    const char *s, void *base)
{
	const struct unit *u;
	const char *what;
	char got[64], lo[32], hi[32];
	uint64_t v;
	int rc;

	switch (k->type) {
	case K_SIZE:
		u = size_units;
		what = "a size such as 512, 64k or 1m (k = 1024 octets)";
		break;
	case K_DURATION:
		u = duration_units;
		what = "a duration such as 500ms, 30s, 5m, 2h "
		    "or a number of seconds";
		break;
	default:
		u = plain_units;
		what = "a whole number";
		break;
	}
	rc = parse_number(s, u, &v);
	if (rc == -2) {
		config__err(x, &n->start_mark, "must not be negative, got %s",
		    config__show(got, sizeof(got), s, strlen(s)));
		return;
	}
	if (rc == 0 && (v < k->min || v > k->max))
		rc = -3;
	if (rc == -3) {
		config__err(x, &n->start_mark, "%s is out of range %s..%s",
		    config__show(got, sizeof(got), s, strlen(s)),
		    config__fmt_value(lo, sizeof(lo), k->type, k->min),
		    config__fmt_value(hi, sizeof(hi), k->type, k->max));
		return;
	}
	if (rc < 0) {
		config__err(x, &n->start_mark, "expected %s, got %s", what,
		    config__show(got, sizeof(got), s, strlen(s)));
		return;
	}
	store(base, k, v);
}

static void parse_map(struct ctx *, const yaml_node_t *, const struct key *,
    void *);
static void parse_listeners(struct ctx *, const yaml_node_t *,
    struct config *);
static void parse_value(struct ctx *, const struct key *, const yaml_node_t *,
    void *);

#define TEXT_MAX	400
#define IDENT_MAX	253
#define RATE_MAX_N	(1ULL << 50)	/* exact in a Lua double */

/* mark_add - remember where the value at field came from (current path). */
static void
mark_add(struct ctx *x, const void *field, const yaml_mark_t *m)
{
	struct mark_rec *r;

	x->marks = xgrow(x->marks, &x->amarks, x->nmarks + 1,
	    sizeof(*x->marks), 64);
	r = &x->marks[x->nmarks++];
	r->field = field;
	r->mark = *m;
	r->path = xstrdup(x->path);
}

static const struct mark_rec *
mark_find(const struct ctx *x, const void *field)
{
	size_t i;

	for (i = x->nmarks; i-- > 0;)
		if (x->marks[i].field == field)
			return &x->marks[i];
	return NULL;
}

/* config__xerr - a cross-field error about the value at field, located
 * where this document set it; if it did not (the value is a default), where
 * it set alt (the value that made field wrong), under the key path path. */
void
config__xerr(struct ctx *x, const void *field, const void *alt,
    const char *path, const char *fmt, ...)
{
	const struct mark_rec *r = mark_find(x, field);
	yaml_mark_t zero = { 0, 0, 0 };
	const yaml_mark_t *m = &zero;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r != NULL) {
		path = r->path;
		m = &r->mark;
	} else if (alt != NULL && (r = mark_find(x, alt)) != NULL) {
		m = &r->mark;
	}
	snprintf(x->path, sizeof(x->path), "%s", path);
	x->plen = strlen(x->path);
	config__err(x, m, "%s", msg);
	config__path_pop(x, 0);
}

static int
valid_ident(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > IDENT_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* reply_problem - why s is not a usable reply text, or NULL. */
static const char *
reply_problem(const char *s, size_t len)
{
	size_t i;

	if (len > TEXT_MAX)
		return "longer than 400 characters";
	if (len < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' ||
	    s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (len > 3 && s[3] != ' '))
		return "must start with a 4xx or 5xx reply code and a space";
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			return "only printable ASCII is allowed in a reply";
		if (s[i] == '%') {
			if (s[i + 1] != 'l' && s[i + 1] != 'r' &&
			    s[i + 1] != '%')
				return "unknown placeholder; use %l (limit), "
				    "%r (seconds until retry) or %% ('%')";
			i++;
		}
	}
	/* an RFC 3463 enhanced code must be of the reply's class */
	if (len > 5 && s[4] >= '0' && s[4] <= '9' && s[5] == '.' &&
	    s[4] != s[0])
		return "enhanced status code class differs from the reply code";
	return NULL;
}

/* parse_rate - "N/PERIOD" or "unlimited"; NULL or a message. */
static const char *
parse_rate(const char *s, int bytes, struct rate *r)
{
	char num[32];
	const char *slash = strchr(s, '/');
	uint64_t n, p;
	size_t nl;

	if (strcmp(s, "unlimited") == 0) {
		r->n = 0;
		r->period_ms = 0;
		return NULL;
	}
	if (slash == NULL || (nl = (size_t)(slash - s)) >= sizeof(num))
		return bytes ? "expected a size per period such as 50m/1h, "
		    "or unlimited" : "expected a count per period such as "
		    "30/1m, or unlimited";
	memcpy(num, s, nl);
	num[nl] = '\0';
	switch (parse_number(num, bytes ? size_units : plain_units, &n)) {
	case 0:
		break;
	case -2:
		return "must not be negative";
	case -3:
		return "count out of range";
	default:
		return bytes ? "expected a size per period such as 50m/1h, "
		    "or unlimited" : "expected a count per period such as "
		    "30/1m, or unlimited";
	}
	if (n == 0)
		return "the count must be at least 1 (write unlimited or leave "
		    "the key out for no limit, deny: true to refuse every "
		    "session)";
	if (n > RATE_MAX_N)
		return "count out of range 1..2^50";
	if (parse_number(slash + 1, duration_units, &p) < 0)
		return "expected a period such as 1m, 1h or 1d after '/'";
	if (p < SEC || p > 30 * DAY)
		return "the period must be 1s..30d";
	r->n = n;
	r->period_ms = (uint32_t)p;
	return NULL;
}

/* read_secret - the first line of file into s; 0, or -1 after config__err. */
static int
read_secret(struct ctx *x, const yaml_node_t *n, const char *file,
    struct secret *s)
{
	char esc[256], why[128];

	if (secret_read(file, &s->value, &s->len, why, sizeof(why)) < 0) {
		config__err(x, &n->start_mark, "%s: %s",
		    config__show(esc, sizeof(esc), file, strlen(file)), why);
		return -1;
	}
	s->file = xstrdup(file);
	return 0;
}

/* list_required - every key of d->required ("a|b": either) is in item. */
static void
list_required(struct ctx *x, const struct list_def *d, const yaml_node_t *item)
{
	const char *const *r;
	char alt[64], *p, *save;
	int found;

	if (d->required == NULL || item->type != YAML_MAPPING_NODE)
		return;
	for (r = d->required; *r != NULL && !x->failed; r++) {
		snprintf(alt, sizeof(alt), "%s", *r);
		found = 0;
		for (p = strtok_r(alt, "|", &save); p != NULL && !found;
		    p = strtok_r(NULL, "|", &save))
			found = config__map_get(x->doc, item, p) != NULL;
		if (!found)
			config__err(x, &item->start_mark, "missing required key %s",
			    *r);
	}
}

/* list_no_duplicates - no prefix twice in one list. */
static void
list_no_duplicates(struct ctx *x, const struct list_def *d, char *arr,
    size_t n)
{
	struct cidr *t = cidr_new();
	const struct cidr_prefix *p;
	char a[CIDR_STRLEN], where[300];
	const struct mark_rec *r;
	void *prev;
	size_t i;

	for (i = 0; i < n && !x->failed; i++) {
		p = (const void *)(arr + i * d->esize + d->prefix_off);
		if ((prev = cidr_get(t, p)) != NULL) {
			r = mark_find(x, (const char *)prev - 1 + d->prefix_off);
			/* prev - 1: element addresses are stored plus one */
			snprintf(where, sizeof(where), "%s", r ? r->path : "?");
			config__xerr(x, p, NULL, "?", "%s is listed twice (also at %s)",
			    cidr_fmt(p, a, sizeof(a)), where);
			break;
		}
		cidr_insert(t, p, arr + i * d->esize + 1, NULL);
	}
	cidr_free(t, NULL);
}

static void
parse_list(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	const struct list_def *d = k->list;
	void **pp = (void **)((char *)base + k->off);
	size_t *np = (size_t *)((char *)base + k->aux);
	const yaml_node_t *item;
	yaml_node_item_t *it;
	size_t cnt = 0, i, old;
	char *arr = NULL, *e;

	if (!is_null(n) && n->type != YAML_SEQUENCE_NODE) {
		config__err(x, &n->start_mark, "expected a sequence, found %s",
		    node_kind(n));
		return;
	}
	if (!is_null(n))
		cnt = (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
	if (cnt > d->max) {
		config__err(x, &n->start_mark, "at most %zu entries", d->max);
		return;
	}
	if (cnt > 0)
		arr = xcalloc(cnt, d->esize);
	for (i = 0; i < cnt && !x->failed; i++) {
		it = n->data.sequence.items.start + i;
		item = yaml_document_get_node(x->doc, *it);
		e = arr + i * d->esize;
		if (d->init != NULL)
			d->init(e);
		old = config__path_push(x, "[%zu]", i);
		if (d->scalar) {
			mark_add(x, e, &item->start_mark);
			parse_value(x, d->keys, item, e);
		} else {
			parse_map(x, item, d->keys, e);
			list_required(x, d, item);
		}
		if (!x->failed && d->check != NULL)
			d->check(x, item, arr, i);
		config__path_pop(x, old);
	}
	if (!x->failed && d->prefix_off >= 0)
		list_no_duplicates(x, d, arr, cnt);
	if (x->failed) {
		config__free_elems(d, 0, arr, cnt);
		return;
	}
	config__free_elems(d, 0, *pp, *np);
	*pp = arr;
	*np = cnt;
}

/* parse_named - K_MAP: a mapping of element name -> element mapping. */
static void
parse_named(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	const struct list_def *d = k->list;
	void **pp = (void **)((char *)base + k->off);
	size_t *np = (size_t *)((char *)base + k->aux);
	yaml_node_pair_t *pair;
	const yaml_node_t *kn, *vn;
	size_t cnt = 0, i, j, old;
	char *arr = NULL, *e, got[64];
	const char *name;

	if (!is_null(n) && n->type != YAML_MAPPING_NODE) {
		config__err(x, &n->start_mark, "expected a mapping of names, "
		    "found %s", node_kind(n));
		return;
	}
	if (!is_null(n))
		cnt = (size_t)(n->data.mapping.pairs.top -
		    n->data.mapping.pairs.start);
	if (cnt > d->max) {
		config__err(x, &n->start_mark, "at most %zu entries", d->max);
		return;
	}
	if (cnt > 0)
		arr = xcalloc(cnt, d->esize);
	for (i = 0; i < cnt && !x->failed; i++) {
		pair = n->data.mapping.pairs.start + i;
		kn = yaml_document_get_node(x->doc, pair->key);
		vn = yaml_document_get_node(x->doc, pair->value);
		e = arr + i * d->esize;
		if (d->init != NULL)
			d->init(e);
		if (kn->type != YAML_SCALAR_NODE) {
			config__err(x, &kn->start_mark, "expected a name, found %s",
			    node_kind(kn));
			break;
		}
		name = (const char *)kn->data.scalar.value;
		old = config__path_push(x, ".%s", config__show(got, sizeof(got), name,
		    kn->data.scalar.length));
		if (strlen(name) != kn->data.scalar.length ||
		    !config__valid_name(name)) {
			config__err(x, &kn->start_mark, "a name is 1 to %d letters, "
			    "digits, '.', '-' or '_'", NODE_MAX);
		} else {
			for (j = 0; j < i; j++)
				if (strcmp(*(char **)(arr + j * d->esize +
				    d->name_off), name) == 0)
					break;
			if (j < i)
				config__err(x, &kn->start_mark, "defined twice");
		}
		if (!x->failed) {
			*(char **)(e + d->name_off) = xstrdup(name);
			mark_add(x, e + d->name_off, &kn->start_mark);
			if (!is_null(vn))
				parse_map(x, vn, d->keys, e);
		}
		config__path_pop(x, old);
	}
	if (x->failed) {
		config__free_elems(d, 1, arr, cnt);
		return;
	}
	config__free_elems(d, 1, *pp, *np);
	*pp = arr;
	*np = cnt;
}

static void
enum_err(struct ctx *x, const struct key *k, const yaml_node_t *n)
{
	char list[160];
	size_t i, off;

	for (i = 0, off = 0; k->names[i] != NULL; i++)
		off += (size_t)snprintf(list + off,
		    off < sizeof(list) ? sizeof(list) - off : 0,
		    "%s%s", i ? ", " : "", k->names[i]);
	config__err(x, &n->start_mark, "expected one of %s", list);
}

static void
parse_value(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	char got[64], perr[128];
	const char *s, *why;
	size_t len, i;
	union sockaddr_any *sa;
	struct secret *sec;
	void *f = (char *)base + k->off;
	char **sp = f;

	switch (k->type) {
	case K_SECTION:
		if (!is_null(n))
			parse_map(x, n, k->sub, base);
		return;
	case K_STRUCT:
		if (k->flags & KF_PRESENCE)
			*(int *)(void *)((char *)base + k->aux) = 1;
		if (!is_null(n))
			parse_map(x, n, k->sub, f);
		return;
	case K_LISTENERS:
		parse_listeners(x, n, base);
		return;
	case K_LIST:
		parse_list(x, k, n, base);
		return;
	case K_MAP:
		parse_named(x, k, n, base);
		return;
	default:
		break;
	}
	if (n->type != YAML_SCALAR_NODE) {
		config__err(x, &n->start_mark, "expected a single value, found %s",
		    node_kind(n));
		return;
	}
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (strlen(s) != len) {
		config__err(x, &n->start_mark, "contains a NUL character");
		return;
	}
	switch (k->type) {
	case K_NAME:
	case K_PATH:
	case K_IDENT:
	case K_TEXT:
		if (len == 0 && (k->flags & KF_OPT)) {
			free(*sp);
			*sp = NULL;
			return;
		}
		if (k->type == K_NAME && !config__valid_name(s)) {
			config__err(x, &n->start_mark, "expected 1 to %d letters, "
			    "digits, '.', '-' or '_', got %s", NODE_MAX,
			    config__show(got, sizeof(got), s, len));
			return;
		}
		if (k->type == K_IDENT && !valid_ident(s, len)) {
			config__err(x, &n->start_mark, "expected 1 to %d printable "
			    "characters without spaces, got %s", IDENT_MAX,
			    config__show(got, sizeof(got), s, len));
			return;
		}
		if (len == 0) {
			config__err(x, &n->start_mark, "must not be empty");
			return;
		}
		if (k->type == K_TEXT && (why = reply_problem(s, len)) != NULL) {
			config__err(x, &n->start_mark, "%s", why);
			return;
		}
		free(*sp);
		*sp = xstrdup(s);
		return;
	case K_UINT:
	case K_SIZE:
	case K_DURATION:
		parse_scalar_number(x, k, n, s, base);
		return;
	case K_ENUM:
	case K_OPTENUM:
		for (i = 0; k->names[i] != NULL; i++)
			if (strcmp(s, k->names[i]) == 0) {
				store(base, k, i);
				if (k->type == K_OPTENUM)
					*(int *)(void *)((char *)base +
					    k->aux) = 1;
				return;
			}
		enum_err(x, k, n);
		return;
	case K_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*(int *)f = s[0] == 't';
			return;
		}
		config__err(x, &n->start_mark, "expected true or false, got %s",
		    config__show(got, sizeof(got), s, len));
		return;
	case K_ADDR:
		sa = f;
		if (len == 0 && (k->flags & KF_OPT)) {
			memset(sa, 0, sizeof(*sa));
			return;
		}
		if (addr_parse(sa, s, -1) < 0 || addr_port(sa) == 0) {
			memset(sa, 0, sizeof(*sa));
			config__err(x, &n->start_mark, "expected a numeric address "
			    "and port such as 192.0.2.25:25 or [2001:db8::25]:25, "
			    "got %s", config__show(got, sizeof(got), s, len));
		}
		return;
	case K_RATE:
	case K_BYTERATE:
		if ((why = parse_rate(s, k->type == K_BYTERATE, f)) != NULL)
			config__err(x, &n->start_mark, "%s, got %s", why,
			    config__show(got, sizeof(got), s, len));
		return;
	case K_PREFIX:
		if (cidr_parse(f, s, perr, sizeof(perr)) < 0) {
			memset(f, 0, sizeof(struct cidr_prefix));
			config__err(x, &n->start_mark, "expected a prefix such as "
			    "100.64.0.0/10 or 2001:db8::/32, got %s: %s",
			    config__show(got, sizeof(got), s, len), perr);
		}
		return;
	case K_SECRET_FILE:
	case K_SECRET:
		sec = f;
		if (len == 0 && k->type == K_SECRET_FILE)
			return;		/* "": not from a file */
		if (sec->value != NULL) {
			config__err(x, &n->start_mark, "the secret is already given; "
			    "use either the _file key or the inline one");
			return;
		}
		if (k->type == K_SECRET_FILE) {
			read_secret(x, n, s, sec);
			return;
		}
		if (len == 0 || len > SECRET_MAX) {
			config__err(x, &n->start_mark, "an inline secret is 1 to %d "
			    "octets", SECRET_MAX);
			return;
		}
		sec->value = xstrdup(s);
		sec->len = len;
		return;
	default:
		abort();
	}
}

static void
unknown_key(struct ctx *x, const yaml_node_t *kn, const struct key *keys)
{
	char list[512];
	size_t off = 0;
	const struct key *k;

	list[0] = '\0';
	for (k = keys; k->name != NULL && off < sizeof(list); k++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    k == keys ? "" : ", ", k->name);
	config__err(x, &kn->start_mark, "unknown key; expected one of %s", list);
}

/* parse_map - apply a mapping node to base through its key table. */
static void
parse_map(struct ctx *x, const yaml_node_t *n, const struct key *keys,
    void *base)
{
	yaml_node_pair_t *pair;
	yaml_node_t *kn, *vn;
	const struct key *k;
	uint64_t seen = 0;
	size_t old, i;
	char esc[64];
	const char *name;

	if (n->type != YAML_MAPPING_NODE) {
		config__err(x, &n->start_mark, "expected a mapping, found %s",
		    node_kind(n));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top && !x->failed; pair++) {
		kn = yaml_document_get_node(x->doc, pair->key);
		vn = yaml_document_get_node(x->doc, pair->value);
		if (kn->type != YAML_SCALAR_NODE) {
			config__err(x, &kn->start_mark, "expected a key name, "
			    "found %s", node_kind(kn));
			return;
		}
		name = (const char *)kn->data.scalar.value;
		for (k = keys, i = 0; k->name != NULL; k++, i++)
			if (strcmp(k->name, name) == 0)
				break;
		old = config__path_push(x, "%s%s", x->plen ? "." : "",
		    config__show(esc, sizeof(esc), name, kn->data.scalar.length));
		if (k->name == NULL)
			unknown_key(x, kn, keys);
		else if (seen & (1ULL << i))
			config__err(x, &kn->start_mark, "duplicate key");
		else {
			seen |= 1ULL << i;
			if (k->names == config__source_names) {
				x->source_set = 1;
				x->source_mark = vn->start_mark;
			}
			if (k->type != K_SECTION)
				mark_add(x, (char *)base + k->off,
				    &vn->start_mark);
			parse_value(x, k, vn, base);
		}
		config__path_pop(x, old);
	}
}

const yaml_node_t *
config__map_get(yaml_document_t *doc, const yaml_node_t *n, const char *name)
{
	yaml_node_pair_t *pair;
	yaml_node_t *kn;

	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		kn = yaml_document_get_node(doc, pair->key);
		if (kn->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kn->data.scalar.value, name) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

void
config__listener_init(struct listener_conf *l)
{
	l->mode = LISTEN_SMTP;
	l->intercept = INTERCEPT_REDIRECT;
	l->backlog = 1024;
}

static void
parse_listeners(struct ctx *x, const yaml_node_t *n, struct config *c)
{
	struct listener_conf *ls;
	const yaml_node_t *item;
	yaml_node_item_t *it;
	size_t cnt, i, old;

	if (is_null(n) || (n->type == YAML_SEQUENCE_NODE &&
	    n->data.sequence.items.top == n->data.sequence.items.start)) {
		config__err(x, &n->start_mark, "at least one listener is required");
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		config__err(x, &n->start_mark, "expected a sequence of listeners, "
		    "found %s", node_kind(n));
		return;
	}
	cnt = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (cnt > CONFIG_MAX_LISTENERS) {
		config__err(x, &n->start_mark, "at most %d listeners",
		    CONFIG_MAX_LISTENERS);
		return;
	}
	ls = xcalloc(cnt, sizeof(*ls));
	for (i = 0, it = n->data.sequence.items.start; i < cnt && !x->failed;
	    i++, it++) {
		item = yaml_document_get_node(x->doc, *it);
		config__listener_init(&ls[i]);
		old = config__path_push(x, "[%zu]", i);
		parse_map(x, item, config__listener_keys, &ls[i]);
		if (!x->failed)
			config__check_listener(x, item, ls, i);
		config__path_pop(x, old);
	}
	if (x->failed) {
		free(ls);
		return;
	}
	free(c->listeners);
	c->listeners = ls;
	c->nlisteners = cnt;
}

/* offset_mark - line and column of byte off in buf (reader errors). */
static yaml_mark_t
offset_mark(const char *buf, size_t len, size_t off)
{
	yaml_mark_t m = { 0, 0, 0 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	m.index = off;
	return m;
}

static void
yaml_error(struct ctx *x, const yaml_parser_t *p, const char *buf, size_t len)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		m = offset_mark(buf, len, p->problem_offset);
		config__err(x, &m, "unreadable input: %s", p->problem ?
		    p->problem : "unknown problem");
	} else if (p->error == YAML_MEMORY_ERROR) {
		config__err(x, &m, "out of memory");
	} else if (p->context != NULL) {
		config__err(x, &m, "YAML syntax error: %s, %s at line %zu column %zu",
		    p->problem ? p->problem : "unknown problem", p->context,
		    p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		config__err(x, &m, "YAML syntax error: %s",
		    p->problem ? p->problem : "unknown problem");
	}
}

int
config__apply_yaml(struct config *c, const char *buf, size_t len,
    const char *name, char *err, size_t errlen)
{
	struct ctx x;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root, *more;

	memset(&x, 0, sizeof(x));
	x.doc = &doc;
	x.name = name;
	x.err = err;
	x.errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot initialize the YAML parser",
		    name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&x, &parser, buf, len);
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_error(&x, &parser, buf, len);
		} else {
			more = yaml_document_get_root_node(&extra);
			if (more != NULL)
				config__err(&x, &more->start_mark, "a configuration "
				    "file holds a single YAML document");
			yaml_document_delete(&extra);
		}
		if (!x.failed && root->type != YAML_MAPPING_NODE &&
		    !is_null(root))
			config__err(&x, &root->start_mark, "expected a mapping of "
			    "configuration sections at the top level, found %s",
			    node_kind(root));
		if (!x.failed && !is_null(root))
			parse_map(&x, root, config__top_keys, c);
	}
	if (!x.failed)
		config__check_config(&x, c);
	for (size_t i = 0; i < x.nmarks; i++)
		free(x.marks[i].path);
	free(x.marks);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return x.failed ? -1 : 0;
}
