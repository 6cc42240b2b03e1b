/*
 * config_doc.c - config_doc: the configuration reference written from the
 * key tables the parser walks, so that it cannot drift from them. Every key
 * carries its meaning (struct key doc, Markdown); its type, range and
 * default come from the table and from the embedded default configuration
 * as config_load applies it. One generator writes both forms:
 *
 *   Markdown (docs/configuration.md): a table per marker
 *     <!-- BEGIN GENERATED NOTATION -->         the value notations
 *     <!-- BEGIN GENERATED KEYS: PATH -->       the keys of one mapping
 *     <!-- END GENERATED -->
 *   roff (subgate.yaml(5)):
 *     .\" BEGIN GENERATED NOTATION
 *     .\" BEGIN GENERATED KEYS                  every mapping, in order
 *     .\" END GENERATED
 *
 * PATH names a mapping as the reference does: "top", "smtp.timeouts",
 * "listeners[]", "policy.classes.NAME". A Markdown file with KEYS markers
 * must have one for every mapping (one per table: policy.global shares
 * policy.destination's), so that a new section cannot go undocumented.
 */
#include "config_int.h"
#include "buf.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_DOC	128

/* What each type is called in the reference and how it is written. */
static const struct tdoc {
	enum ktype	 type;
	const char	*name, *plural;
	const char	*written;	/* NULL: no notation row of its own */
	const char	*notes;
} tdocs[] = {
	{ K_DURATION, "duration", "durations",
	    "`500ms`, `30s`, `5m`, `2h`, `8d`, or a bare whole number of "
	    "**seconds** (`90` = 90 s)",
	    "Units `ms`, `s`, `m`, `h`, `d`, lower case, no space, no "
	    "fractions. Held in milliseconds." },
	{ K_RATE, "rate", "rates",
	    "`COUNT/PERIOD`: `30/1m`, `20/1h`, `100/1d`; or `unlimited`",
	    "At most COUNT per PERIOD (a duration, 1s–30d; a bare number is "
	    "seconds). COUNT 1–2^50; `0/1h` is an error: write `unlimited` or "
	    "leave the key out for no limit, `deny: true` to refuse every "
	    "session." },
	{ K_BYTERATE, "byte rate", "byte rates",
	    "`SIZE/PERIOD`: `50m/1h`, `2g/1d`; or `unlimited`",
	    "As a rate, with a size before the slash." },
	{ K_PREFIX, "prefix", "prefixes",
	    "`\"100.64.0.0/10\"`, `\"2001:db8::/32\"`, or a bare address "
	    "(= /32, /128)",
	    "No host bits after the length (`100.64.0.1/10` is an error that "
	    "names the network), no names." },
	{ K_SECRET_FILE, "secret", "secrets",
	    "a `*_file` key: path of a file whose **first line** is the secret",
	    "See [Secrets](#secrets)." },
	{ K_TEXT, "reply", "replies", "`\"NNN X.Y.Z text\"`",
	    "See [`policy.replies`](#policyreplies)." },
	{ K_SIZE, "size", "sizes",
	    "`512`, `64k`, `1m`, `1g` (also `K`, `M`, `G`)",
	    "Octets; `k` = 1024, `m` = 1024², `g` = 1024³. No `kb`, no "
	    "fractions." },
	{ K_UINT, "number", "numbers", "a whole number: `100`",
	    "No sign, no unit." },
	{ K_ADDR, "address", "addresses",
	    "`\"192.0.2.25:25\"`, `\"[2001:db8::25]:25\"`, `\"[::]:10025\"`",
	    "Numeric only (a gateway must not need DNS to start); the port is "
	    "required, 1–65535. Quote IPv6 addresses in YAML." },
	{ K_ENUM, "enum", "enums", "one of the listed words",
	    "Lower case, exact." },
	{ K_OPTENUM, "enum", "enums", NULL, NULL },
	{ K_NAME, "name", "names", "`gw1.example.net`, `residential`",
	    "1–253 characters from `A-Z a-z 0-9 . - _`." },
	{ K_PATH, "string", "strings", "`/var/log/subgate/audit.jsonl`",
	    "Any text, not empty unless the default is `\"\"`; quote it in "
	    "YAML when it holds `: ` or ` #` or starts with a special "
	    "character." },
	{ K_IDENT, "identifier", "identifiers", "`biz-0001`",
	    "1–253 printable ASCII characters, no space." },
	{ K_BOOL, "bool", "bools", "`true` or `false`", "" },
	{ K_SECRET, "inline secret", "inline secrets", "the secret itself",
	    "Accepted but discouraged: the configuration file is then itself "
	    "a secret. See [Secrets](#secrets)." },
	{ K_SECTION, "section", "sections", NULL, NULL },
	{ K_STRUCT, "section", "sections", NULL, NULL },
	{ K_LISTENERS, "list", "lists", NULL, NULL },
	{ K_LIST, "list", "lists", NULL, NULL },
	{ K_MAP, "map", "maps", NULL, NULL },
};

/* One mapping of the reference: the keys of a table at a path. */
struct tbl {
	char			 path[PATH_MAX_DOC];
	const struct key	*keys;
	const void		*base;	/* the default's values, an element's */
	const struct key	*owner;	/* the key holding it; NULL: top */
	const void		*obase;	/* where owner is */
	size_t			 first;	/* the first tbl with the same keys */
	int			 done;
};

struct doc {
	struct config	*c;
	struct tbl	*t;
	size_t		 n, cap;
	void		**elems;	/* element bases made up for defaults */
	size_t		 nelems, elemcap;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void fail(struct doc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(struct doc *d, const char *fmt, ...)
{
	va_list ap;

	if (d->failed)
		return;
	d->failed = 1;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
}

static const struct tdoc *
tdoc(enum ktype t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tdocs); i++)
		if (tdocs[i].type == t)
			return &tdocs[i];
	abort();	/* a type without a name: add it to tdocs */
}

/* child_path - the path of k's own mapping under path, or NULL when k has
 * none (a scalar, a list of scalars). */
static const char *
child_path(char *buf, size_t len, const char *path, const struct key *k)
{
	const char *suffix;

	switch (k->type) {
	case K_SECTION:
	case K_STRUCT:
		suffix = "";
		break;
	case K_LISTENERS:
		suffix = "[]";
		break;
	case K_LIST:
		if (k->list->scalar)
			return NULL;
		suffix = "[]";
		break;
	case K_MAP:
		suffix = ".NAME";
		break;
	default:
		return NULL;
	}
	snprintf(buf, len, "%s%s%s%s", path, path[0] != '\0' ? "." : "",
	    k->name, suffix);
	return buf;
}

static struct tbl *
find(struct doc *d, const char *path)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->t[i].path, path) == 0)
			return &d->t[i];
	return NULL;
}

static void *
elem(struct doc *d, size_t size)
{
	GROW(d->elems, d->elemcap, d->nelems + 1);
	return d->elems[d->nelems++] = xcalloc(1, size);
}

/* walk - every mapping under keys, depth first, as the reference lists
 * them. Elements of lists and maps get a base of their own holding what an
 * element starts with before its keys apply. */
static void
walk(struct doc *d, const char *path, const struct key *keys,
    const void *base, const struct key *owner, const void *obase)
{
	const struct key *k;
	struct tbl *t;
	char sub[PATH_MAX_DOC];
	void *e;
	size_t i;

	GROW(d->t, d->cap, d->n + 1);
	t = &d->t[d->n];
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->keys = keys;
	t->base = base;
	t->owner = owner;
	t->obase = obase;
	for (i = 0; i < d->n && d->t[i].keys != keys; i++)
		;
	t->first = i;
	d->n++;
	for (k = keys; k->name != NULL; k++) {
		if (child_path(sub, sizeof(sub), path, k) == NULL)
			continue;
		switch (k->type) {
		case K_SECTION:
			walk(d, sub, k->sub, base, k, base);
			break;
		case K_STRUCT:
			walk(d, sub, k->sub, (const char *)base + k->off, k,
			    base);
			break;
		case K_LISTENERS:
			e = elem(d, sizeof(struct listener_conf));
			config__listener_init(e);
			walk(d, sub, k->sub, e, k, base);
			break;
		default:	/* K_LIST of mappings, K_MAP */
			e = elem(d, k->list->esize);
			if (k->list->init != NULL)
				k->list->init(e);
			walk(d, sub, k->list->keys, e, k, base);
			break;
		}
	}
}

/* Cells --------------------------------------------------------------- */

/* value - key k of base as YAML, appended to b. */
static void
value(struct buf *b, const struct key *k, const void *base)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (f == NULL)
		abort();
	config__dump_scalar(f, k, base);
	fclose(f);
	buf_add(b, s, n);
	free(s);
}

static size_t
count(const struct key *k, const void *base, const struct config *c)
{
	if (k->type == K_LISTENERS)
		return c->nlisteners;
	return *(const size_t *)(const void *)((const char *)base + k->aux);
}

static int
required(const struct tbl *t, const struct key *k)
{
	const char *const *r;
	size_t n = strlen(k->name);

	if (t->owner == NULL || (t->owner->type != K_LIST &&
	    t->owner->type != K_MAP) || t->owner->list->required == NULL)
		return 0;
	for (r = t->owner->list->required; *r != NULL; r++)
		if (strncmp(*r, k->name, n) == 0 && ((*r)[n] == '\0' ||
		    (*r)[n] == '|'))
			return 1;
	return 0;
}

/* type_cell - "duration", "list of prefixes", "section, keys as `X`". */
static void
type_cell(struct doc *d, struct buf *b, const struct tbl *t,
    const struct key *k)
{
	char sub[PATH_MAX_DOC];
	const struct tbl *s;

	if (k->type == K_LIST && k->list->scalar) {
		buf_printf(b, "list of %s", tdoc(k->list->keys->type)->plural);
		return;
	}
	buf_printf(b, "%s", tdoc(k->type)->name);
	if (child_path(sub, sizeof(sub), t->path, k) != NULL &&
	    (s = find(d, sub)) != NULL && &d->t[s->first] != s)
		buf_printf(b, ", keys as `%s`", d->t[s->first].path);
}

/* default_cell - the default: a YAML value in backticks, or words. */
static void
default_cell(struct doc *d, struct buf *b, const struct tbl *t,
    const struct key *k)
{
	const void *base = t->base;
	char sub[PATH_MAX_DOC];
	const char *e;
	size_t i, n;

	if (k->dflt != NULL) {
		buf_printf(b, "%s", k->dflt);
		return;
	}
	if (required(t, k)) {
		buf_printf(b, "required");
		return;
	}
	switch (k->type) {
	case K_SECTION:
		return;
	case K_STRUCT:
		if (k->flags & KF_PRESENCE)
			buf_printf(b, "absent");
		return;
	case K_SECRET:
		buf_printf(b, "—");
		return;
	case K_OPTENUM:
		if (!*(const int *)(const void *)((const char *)base +
		    k->aux)) {
			buf_printf(b, "—");
			return;
		}
		break;
	case K_LISTENERS:
	case K_LIST:
	case K_MAP:
		n = count(k, base, d->c);
		if (n > 0 && child_path(sub, sizeof(sub), t->path, k) != NULL) {
			buf_printf(b, "see `%s`", sub);
			return;
		}
		buf_printf(b, "`%s", k->type == K_MAP ? "{" : "[");
		for (i = 0; i < n; i++) {
			e = *(char *const *)(const void *)((const char *)base +
			    k->off) + i * k->list->esize;
			if (i > 0)
				buf_printf(b, ", ");
			value(b, k->list->keys, e);
		}
		buf_printf(b, "%s`", k->type == K_MAP ? "}" : "]");
		return;
	default:
		break;
	}
	buf_printf(b, "`");
	value(b, k, base);
	buf_printf(b, "`");
}

/* range_cell - the bounds the parser enforces. */
static void
range_cell(struct buf *b, const struct key *k)
{
	const struct key *e = k;
	const char *const *nm;
	char lo[32], hi[32];

	switch (k->type) {
	case K_ENUM:
	case K_OPTENUM:
		for (nm = k->names; *nm != NULL; nm++)
			buf_printf(b, "%s`%s`", nm == k->names ? "" : ", ",
			    *nm);
		return;
	case K_LISTENERS:
		buf_printf(b, "1–%d entries", CONFIG_MAX_LISTENERS);
		return;
	case K_LIST:
		if (k->list->scalar)
			e = k->list->keys;
		/* FALLTHROUGH */
	case K_MAP:
	case K_UINT:
	case K_SIZE:
	case K_DURATION:
		if (e->max > 0 && (e->type == K_UINT || e->type == K_SIZE ||
		    e->type == K_DURATION))
			buf_printf(b, "%s–%s", config__fmt_value(lo, sizeof(lo),
			    e->type, e->min), config__fmt_value(hi, sizeof(hi),
			    e->type, e->max));
		if ((k->type == K_LIST || k->type == K_MAP) &&
		    k->list->max != SIZE_MAX)
			buf_printf(b, "%sat most %zu", b->len > 0 ? "; " : "",
			    k->list->max);
		return;
	default:
		return;
	}
}

/* Markdown ------------------------------------------------------------ */

/* md_cell - s in a table cell: a '|' would end the cell. */
static void
md_cell(FILE *o, const char *s)
{
	fputs("| ", o);
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputc('\\', o);
		fputc(*s, o);
	}
	fputc(' ', o);
}

static int
has_doc(struct doc *d, const struct tbl *t, const struct key *k)
{
	if (k->doc == NULL)
		fail(d, "%s%s%s: no doc (the key's meaning, in "
		    "common/config_schema.c)", t->path, t->path[0] ? "." : "",
		    k->name);
	return k->doc != NULL;
}

static void
clear(struct buf *b)
{
	b->len = 0;
	buf_printf(b, "%s", "");
}

/* rows - the type, default and range cells of every key of t, each
 * handed to out with the key. */
static void
rows(struct doc *d, FILE *o, const struct tbl *t,
    void (*out)(struct doc *, FILE *, const struct key *, const char *,
    const char *, const char *))
{
	const struct key *k;
	struct buf ty = { 0 }, df = { 0 }, rg = { 0 };

	for (k = t->keys; k->name != NULL && has_doc(d, t, k); k++) {
		clear(&ty);
		clear(&df);
		clear(&rg);
		type_cell(d, &ty, t, k);
		default_cell(d, &df, t, k);
		range_cell(&rg, k);
		out(d, o, k, ty.p, df.p, rg.p);
	}
	buf_free(&ty);
	buf_free(&df);
	buf_free(&rg);
}

static void
md_row(struct doc *d, FILE *o, const struct key *k, const char *ty,
    const char *df, const char *rg)
{
	fprintf(o, "| `%s` ", k->name);
	md_cell(o, ty);
	md_cell(o, df);
	md_cell(o, rg);
	md_cell(o, k->doc);
	fputs("|\n", o);
}

/* default_block - the default of a list or map that holds mappings, as
 * YAML, or NULL when it is empty. */
static char *
default_block(struct doc *d, const struct tbl *t)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	if (t->owner == NULL || (t->owner->type != K_LISTENERS &&
	    t->owner->type != K_LIST && t->owner->type != K_MAP) ||
	    count(t->owner, t->obase, d->c) == 0)
		return NULL;
	if ((f = open_memstream(&s, &n)) == NULL)
		abort();
	config__dump_key(f, t->owner, t->obase, d->c);
	fclose(f);
	return s;
}

static void
md_keys(struct doc *d, FILE *o, struct tbl *t)
{
	char *block;

	fputs("| Key | Type | Default | Range | Meaning |\n"
	    "|---|---|---|---|---|\n", o);
	rows(d, o, t, md_row);
	if ((block = default_block(d, t)) != NULL) {
		fprintf(o, "\nDefault of `%s`:\n\n```yaml\n%s```\n",
		    t->owner->name, block);
		free(block);
	}
	d->t[t->first].done = 1;
}

static void
md_notation(FILE *o)
{
	size_t i;

	fputs("| Type | Written as | Notes |\n|---|---|---|\n", o);
	for (i = 0; i < ARRAY_SIZE(tdocs); i++) {
		if (tdocs[i].written == NULL)
			continue;
		md_cell(o, tdocs[i].name);
		md_cell(o, tdocs[i].written);
		md_cell(o, tdocs[i].notes);
		fputs("|\n", o);
	}
}

/* roff ---------------------------------------------------------------- */

/* Characters the reference uses beyond ASCII, as roff escapes. */
static const struct {
	const char *utf8, *roff;
} glyphs[] = {
	{ "§", "\\(sc" }, { "–", "\\(en" }, { "—", "\\(em" },
	{ "→", "\\(->" }, { "…", "..." }, { "²", "\\(S2" },
	{ "³", "\\(S3" },
};

/* roff_fill - text as lines of at most 80 octets where it can be broken
 * at a space; no line starts with a control character. */
static void
roff_fill(FILE *o, const char *s)
{
	const char *q, *brk;

	while (strlen(s) > 80) {
		brk = NULL;
		for (q = s; *q != '\0' && (q - s <= 80 || brk == NULL); q++)
			if (*q == ' ' && q[1] != '.' && q[1] != '\'' &&
			    q[1] != ' ' && q > s)
				brk = q;
		if (brk == NULL)
			break;
		fprintf(o, "%.*s\n", (int)(brk - s), s);
		s = brk + 1;
	}
	fprintf(o, "%s\n", s);
}

/* roff_line - one line of Markdown text (code spans, bold, links) as roff
 * text: code and bold in bold, a link's text without its target. */
static void
roff_line(struct doc *d, FILE *o, const char *s)
{
	struct buf b = { 0 };
	int code = 0, bold = 0, link = 0;
	const char *p;
	size_t i;

	if (*s == '.' || *s == '\'')
		buf_printf(&b, "\\&");
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80) {
			for (i = 0; i < ARRAY_SIZE(glyphs); i++)
				if (strncmp(p, glyphs[i].utf8,
				    strlen(glyphs[i].utf8)) == 0)
					break;
			if (i == ARRAY_SIZE(glyphs)) {
				fail(d, "no roff for the character at "
				    "\"%.20s\": add it to glyphs[] in "
				    "common/config_doc.c", p);
				break;
			}
			buf_printf(&b, "%s", glyphs[i].roff);
			p += strlen(glyphs[i].utf8) - 1;
		} else if (*p == '`') {
			code = !code;
			buf_printf(&b, code || bold ? "\\fB" : "\\fR");
		} else if (*p == '\\') {
			buf_printf(&b, "\\e");
		} else if (code) {
			buf_printf(&b, "%s%c", *p == '-' ? "\\" : "", *p);
		} else if (p[0] == '*' && p[1] == '*') {
			bold = !bold;
			buf_printf(&b, bold ? "\\fB" : "\\fR");
			p++;
		} else if (*p == '[') {
			link = 1;
		} else if (*p == ']' && link && p[1] == '(' &&
		    strchr(p, ')') != NULL) {
			link = 0;
			p = strchr(p, ')');
		} else {
			buf_printf(&b, "%c", *p);
		}
	}
	roff_fill(o, b.p != NULL ? b.p : "");
	buf_free(&b);
}

/* roff_literal - lines of text in a no-fill display. */
static void
roff_literal(FILE *o, const char *s)
{
	int bol = 1;

	fputs(".PP\n.RS 4\n.EX\n", o);
	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", o);
		if (*s == '\\')
			fputs("\\e", o);
		else if (*s == '-')
			fputs("\\-", o);
		else
			fputc(*s, o);
		bol = *s == '\n';
	}
	fputs(".EE\n.RE\n", o);
}

/* roff_row - a key as a tagged paragraph: its name; type, default and
 * range; its meaning. */
static void
roff_row(struct doc *d, FILE *o, const struct key *k, const char *ty,
    const char *df, const char *rg)
{
	struct buf s = { 0 };

	buf_printf(&s, "%s%s%s%s%s.", ty, df[0] != '\0' ? ", default " : "",
	    df, rg[0] == '\0' ? "" : k->type == K_ENUM || k->type == K_OPTENUM
	    ? ", one of " : ", range ", rg);
	fprintf(o, ".TP\n.B %s\n", k->name);
	roff_line(d, o, s.p);
	fputs(".br\n", o);
	roff_line(d, o, k->doc);
	buf_free(&s);
}

static void
roff_keys(struct doc *d, FILE *o)
{
	struct tbl *t;
	char *block;
	size_t i;

	for (i = 0; i < d->n && !d->failed; i++) {
		t = &d->t[i];
		if (t->first != i)
			continue;
		fprintf(o, ".SS \"%s\"\n", t->path[0] ? t->path : "Top level");
		rows(d, o, t, roff_row);
		if ((block = default_block(d, t)) != NULL) {
			fprintf(o, ".PP\nDefault of \\fB%s\\fR:\n",
			    t->owner->name);
			roff_literal(o, block);
			free(block);
		}
		t->done = 1;
	}
}

static void
roff_notation(struct doc *d, FILE *o)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tdocs); i++) {
		if (tdocs[i].written == NULL)
			continue;
		fprintf(o, ".TP\n.B %s\n", tdocs[i].name);
		roff_line(d, o, tdocs[i].written);
		if (tdocs[i].notes[0] != '\0') {
			fputs(".br\n", o);
			roff_line(d, o, tdocs[i].notes);
		}
	}
}

/* Markers ------------------------------------------------------------- */

#define MD_BEGIN	"<!-- BEGIN GENERATED "
#define MD_END		"<!-- END GENERATED -->"
#define ROFF_BEGIN	".\\\" BEGIN GENERATED "
#define ROFF_END	".\\\" END GENERATED"

/* region - the text of the region a BEGIN line (after its prefix) asks
 * for; 0, or -1 for an unknown marker. */
static int
region(struct doc *d, FILE *o, const char *what, size_t n, int roff)
{
	char path[PATH_MAX_DOC];
	struct tbl *t;

	if (roff) {
		if (n == 8 && strncmp(what, "NOTATION", n) == 0)
			roff_notation(d, o);
		else if (n == 4 && strncmp(what, "KEYS", n) == 0)
			roff_keys(d, o);
		else
			return -1;
		return 0;
	}
	if (n == 12 && strncmp(what, "NOTATION -->", n) == 0) {
		fputc('\n', o);
		md_notation(o);
		fputc('\n', o);
		return 0;
	}
	if (n < 10 || strncmp(what, "KEYS: ", 6) != 0 ||
	    strncmp(what + n - 4, " -->", 4) != 0 || n - 10 >= sizeof(path))
		return -1;
	snprintf(path, sizeof(path), "%.*s", (int)(n - 10), what + 6);
	if ((t = find(d, strcmp(path, "top") == 0 ? "" : path)) == NULL) {
		fail(d, "no mapping %s", path);
		return 0;
	}
	fputc('\n', o);
	md_keys(d, o, t);
	fputc('\n', o);
	return 0;
}

char *
config_doc(const char *text, size_t len, char *err, size_t errlen)
{
	struct doc d;
	const char *p = text, *end = text + len, *nl, *begin = NULL;
	char *out = NULL;
	size_t outlen = 0, i, lineno = 0, beginno = 0, n;
	int md_keys_seen = 0, roff;
	FILE *o;

	memset(&d, 0, sizeof(d));
	d.err = err;
	d.errlen = errlen;
	if ((d.c = config_load(NULL, err, errlen)) == NULL)
		return NULL;
	walk(&d, "", config__top_keys, d.c, NULL, NULL);
	if ((o = open_memstream(&out, &outlen)) == NULL)
		abort();
	for (; p < end && !d.failed; p = nl) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl + 1 : end;
		n = (size_t)(nl - p) - (nl[-1] == '\n');
		lineno++;
		if (begin != NULL) {
			if ((n == strlen(MD_END) &&
			    memcmp(p, MD_END, n) == 0) ||
			    (n == strlen(ROFF_END) &&
			    memcmp(p, ROFF_END, n) == 0)) {
				fwrite(p, 1, (size_t)(nl - p), o);
				begin = NULL;
			}
			continue;
		}
		fwrite(p, 1, (size_t)(nl - p), o);
		roff = n > strlen(ROFF_BEGIN) && memcmp(p, ROFF_BEGIN,
		    strlen(ROFF_BEGIN)) == 0;
		if (!roff && (n <= strlen(MD_BEGIN) || memcmp(p, MD_BEGIN,
		    strlen(MD_BEGIN)) != 0))
			continue;
		begin = p + strlen(roff ? ROFF_BEGIN : MD_BEGIN);
		beginno = lineno;
		if (!roff && strncmp(begin, "KEYS", 4) == 0)
			md_keys_seen = 1;
		if (region(&d, o, begin, (size_t)(p + n - begin), roff) < 0)
			fail(&d, "line %zu: unknown marker %.*s", lineno,
			    (int)n, p);
	}
	if (begin != NULL)
		fail(&d, "line %zu: no END GENERATED after this BEGIN",
		    beginno);
	for (i = 0; i < d.n && md_keys_seen && !d.failed; i++)
		if (d.t[i].first == i && !d.t[i].done)
			fail(&d, "no table for %s: add <!-- BEGIN GENERATED "
			    "KEYS: %s --> and <!-- END GENERATED -->",
			    d.t[i].path[0] ? d.t[i].path : "top",
			    d.t[i].path[0] ? d.t[i].path : "top");
	fclose(o);
	for (i = 0; i < d.nelems; i++)
		free(d.elems[i]);
	free(d.elems);
	free(d.t);
	config_free(d.c);
	if (d.failed) {
		free(out);
		return NULL;
	}
	return out;
}
