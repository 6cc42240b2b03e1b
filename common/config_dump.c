/*
 * config_dump.c - config_dump: the effective configuration as YAML that
 * loads back to the same configuration, walked through the key tables.
 * Never a secret: a secret from a file is written as its *_file path, one
 * given inline as a comment.
 */
#include "config_int.h"
#include "cidr.h"
#include "util.h"

#include <stdio.h>

static int
dump_string(FILE *out, const char *s)
{
	int w = 2;

	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			w += fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			w += fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			w += fputc(*s, out) != EOF;
	}
	fputc('"', out);
	return w;
}

static const void *
field(const void *base, const struct key *k)
{
	return (const char *)base + k->off;
}

/* fmt_rate - "30/1m", "50m/1h" or "unlimited". */
static char *
fmt_rate(char *buf, size_t len, enum ktype t, const struct rate *r)
{
	char n[32], p[32];

	if (r->n == 0) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	config__fmt_value(n, sizeof(n), t == K_BYTERATE ? K_SIZE : K_UINT, r->n);
	config__fmt_value(p, sizeof(p), K_DURATION, r->period_ms);
	snprintf(buf, len, "%s/%s", n, p);
	return buf;
}

int
config__dump_scalar(FILE *out, const struct key *k, const void *base)
{
	const void *f = field(base, k);
	const union sockaddr_any *sa = f;
	const struct secret *sec = f;
	char v[ADDRPORT_STRLEN + CIDR_STRLEN];
	const char *s;

	switch (k->type) {
	case K_NAME:
	case K_PATH:
	case K_IDENT:
	case K_TEXT:
		s = *(char *const *)f;
		return dump_string(out, s != NULL ? s : "");
	case K_SECRET_FILE:
		return dump_string(out, sec->file != NULL ? sec->file : "");
	case K_ADDR:
		if (sa->sa.sa_family == AF_UNSPEC)
			return fprintf(out, "\"\"");
		return fprintf(out, "\"%s\"", addr_fmt(sa, v, sizeof(v)));
	case K_PREFIX:
		return fprintf(out, "\"%s\"", cidr_fmt(f, v, sizeof(v)));
	case K_ENUM:
	case K_OPTENUM:
		return fprintf(out, "%s", k->names[config__fetch(base, k)]);
	case K_BOOL:
		return fprintf(out, "%s", *(const int *)f ? "true" : "false");
	case K_RATE:
	case K_BYTERATE:
		return fprintf(out, "%s", fmt_rate(v, sizeof(v), k->type, f));
	default:
		return fprintf(out, "%s", config__fmt_value(v, sizeof(v), k->type,
		    config__fetch(base, k)));
	}
}

/* terse_empty - config_dump leaves out key k of base. */
static int
terse_empty(const struct key *k, const void *base)
{
	const struct key *s;
	const void *f = field(base, k);

	if (k->type == K_OPTENUM)
		return !*(const int *)(const void *)((const char *)base + k->aux);
	if (!(k->flags & KF_TERSE))
		return 0;
	switch (k->type) {
	case K_STRUCT:
		for (s = k->sub; s->name != NULL; s++)
			if (!terse_empty(s, f))
				return 0;
		return 1;
	case K_RATE:
	case K_BYTERATE:
		return ((const struct rate *)f)->n == 0;
	case K_BOOL:
		return *(const int *)f == 0;
	default:
		return config__fetch(base, k) == 0;
	}
}

/* dump_map - one key per line at indent; the first line of a sequence item
 * starts with "- " inside the indent. A section whose presence is a setting
 * is left out when absent, an optional action when not given, and a secret
 * given inline becomes a comment: config_dump never prints a secret. */
static void
dump_map(FILE *out, const struct key *keys, const void *base,
    const struct config *c, int indent, int item)
{
	const struct key *k;
	const struct listener_conf *l = base;
	const struct list_def *d;
	const struct secret *sec;
	const char *e;
	size_t i, n;
	int w;

	for (k = keys; k->name != NULL; k++) {
		if (keys == config__listener_keys && field(base, k) == &l->upstream &&
		    l->intercept != INTERCEPT_NONE)
			continue;
		if (k->type == K_STRUCT && (k->flags & KF_PRESENCE) &&
		    !*(const int *)(const void *)((const char *)base + k->aux))
			continue;
		if (terse_empty(k, base))
			continue;
		if (k->type == K_SECRET) {
			sec = field(base, k);
			if (sec->value != NULL && sec->file == NULL)
				fprintf(out, "%*s# %s: <redacted>  (given inline, "
				    "not dumped: use %s_file)\n", indent, "",
				    k->name, k->name);
			continue;
		}
		if (k == keys && item)
			w = fprintf(out, "%*s- %s:", indent - 2, "", k->name);
		else
			w = fprintf(out, "%*s%s:", indent, "", k->name);
		switch (k->type) {
		case K_SECTION:
			fputc('\n', out);
			dump_map(out, k->sub, base, c, indent + 2, 0);
			continue;
		case K_STRUCT:
			fputc('\n', out);
			dump_map(out, k->sub, field(base, k), c, indent + 2, 0);
			continue;
		case K_LISTENERS:
			fputc('\n', out);
			for (i = 0; i < c->nlisteners; i++)
				dump_map(out, k->sub, &c->listeners[i], c,
				    indent + 4, 1);
			continue;
		case K_LIST:
		case K_MAP:
			d = k->list;
			n = *(const size_t *)(const void *)((const char *)base +
			    k->aux);
			if (n == 0) {
				w += fprintf(out, k->type == K_MAP ? " {}" : " []");
				break;
			}
			fputc('\n', out);
			for (i = 0; i < n; i++) {
				e = *(char *const *)field(base, k) + i * d->esize;
				if (k->type == K_MAP) {
					fprintf(out, "%*s%s:\n", indent + 2, "",
					    *(char *const *)(const void *)
					    (e + d->name_off));
					dump_map(out, d->keys, e, c, indent + 4, 0);
				} else if (d->scalar) {
					fprintf(out, "%*s- ", indent + 2, "");
					config__dump_scalar(out, d->keys, e);
					fputc('\n', out);
				} else {
					dump_map(out, d->keys, e, c, indent + 4, 1);
				}
			}
			continue;
		default:
			fputc(' ', out);
			w += 1 + config__dump_scalar(out, k, base);
			break;
		}
		if (k->help != NULL)
			fprintf(out, "%*s# %s", MAX(1, 34 - w), "", k->help);
		fputc('\n', out);
	}
}

void
config__dump_key(FILE *out, const struct key *k, const void *base,
    const struct config *c)
{
	const struct key one[2] = { *k, { .name = NULL } };

	dump_map(out, one, base, c, 0, 0);
}

void
config_dump(const struct config *c, FILE *out)
{
	fprintf(out, "# subgate effective configuration (from %s)\n", c->path);
	dump_map(out, config__top_keys, c, c, 0, 0);
	fflush(out);
}
