/*
 * config_int.h - what the files of the configuration module share, and
 * nobody else: the key tables' types, the state of one document being
 * applied, and the module's internal functions (double underscore).
 *
 *   config.c         the public entry points (load, free, class lookups)
 *                    and the embedded default document
 *   config_schema.c  the key tables
 *   config_yaml.c    the YAML walker, value notations, located errors
 *   config_check.c   list-element and cross-section rules
 *   config_dump.c    config_dump
 *   config_doc.c     config_doc: the key reference generated from the
 *                    tables (docs/configuration.md, subgate.yaml(5))
 */
#ifndef SUBGATE_CONFIG_INT_H
#define SUBGATE_CONFIG_INT_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <yaml.h>

#define CONFIG_MAX_LISTENERS	64
#define NODE_MAX		253

enum ktype {
	K_SECTION,	/* nested mapping; offsets stay relative to the same base */
	K_LISTENERS,	/* sequence of listener mappings */
	K_NAME,		/* node name: letters, digits, '.', '-', '_' */
	K_PATH,		/* any non-empty string */
	K_UINT,		/* plain non-negative integer */
	K_SIZE,		/* octets: 512, 64k, 1m, 1g (k = 1024) */
	K_DURATION,	/* milliseconds: 500ms, 30s, 5m, 2h, 8d; bare = seconds */
	K_ENUM,		/* one of names[], stored as its index */
	K_ADDR,		/* numeric "host:port" / "[v6]:port" */
	K_STRUCT,	/* nested mapping of the struct at off (sub relative to it);
			 * KF_PRESENCE: int at aux set to 1 when the key appears */
	K_LIST,		/* sequence: pointer at off, size_t count at aux, list */
	K_MAP,		/* mapping name -> element: like K_LIST */
	K_RATE,		/* struct rate: "30/1m", "unlimited" */
	K_BYTERATE,	/* struct rate of octets: "50m/1h" */
	K_OPTENUM,	/* K_ENUM, and int at aux set to 1 when given */
	K_BOOL,		/* int: true | false */
	K_SECRET_FILE,	/* struct secret from the first line of a file */
	K_SECRET,	/* struct secret given inline (same field as _FILE) */
	K_PREFIX,	/* struct cidr_prefix, no host bits */
	K_TEXT,		/* SMTP reply text with %l, %r placeholders */
	K_IDENT		/* 1..253 printable octets, no space */
};

#define KF_OPT		0x1	/* "" allowed: unset (NULL, AF_UNSPEC) */
#define KF_PRESENCE	0x2	/* K_STRUCT: the section's presence is a setting */
#define KF_TERSE	0x4	/* dump leaves it out when 0 / unlimited / false
				 * (K_STRUCT: when all it holds is left out);
				 * only where absent means exactly that */

struct ctx;
struct list_def;

struct key {
	const char		*name;
	enum ktype		 type;
	size_t			 off;
	size_t			 size;
	uint64_t		 min, max;
	const char *const	*names;		/* K_ENUM, NULL-terminated */
	const struct key	*sub;		/* K_SECTION, K_LISTENERS, K_STRUCT */
	const char		*help;
	const struct list_def	*list;		/* K_LIST, K_MAP */
	size_t			 aux;		/* see enum ktype */
	unsigned		 flags;		/* KF_* */
	/* config_doc: what the key means, in Markdown (every key of a
	 * mapping has one), and the default in words where the embedded
	 * default's value is not it (node: the host name) */
	const char		*doc;
	const char		*dflt;
};

/* list_def - the elements of a K_LIST or K_MAP. */
struct list_def {
	size_t			 esize;
	const struct key	*keys;		/* element's keys; scalar: keys[0] */
	int			 scalar;	/* K_LIST of scalars */
	size_t			 name_off;	/* K_MAP: char * of the map key */
	size_t			 max;
	const char *const	*required;	/* keys, "a|b" = either */
	ssize_t			 prefix_off;	/* >= 0: no duplicate prefixes */
	void	(*init)(void *e);
	/* check - element i of arr (all parsed), item its node */
	void	(*check)(struct ctx *x, const yaml_node_t *item, void *arr,
		    size_t i);
};

#define SEC		(1000ULL)
#define MIN_		(60 * SEC)
#define HOUR		(60 * MIN_)
#define KIB		(1024ULL)
#define MIB		(1024 * KIB)
#define DAY		(24 * HOUR)

/* mark_rec - the value stored at field came from mark, key path path. The
 * cross-field checks find their error locations here. */
struct mark_rec {
	const void	*field;
	yaml_mark_t	 mark;
	char		*path;
};

/* One document being applied to a config; the first error wins. */
struct ctx {
	yaml_document_t	*doc;
	const char	*name;
	char		*err;
	size_t		 errlen;
	int		 failed;
	char		 path[256];
	size_t		 plen;
	int		 source_set;
	yaml_mark_t	 source_mark;
	struct mark_rec	*marks;		/* where each value of this document was */
	size_t		 nmarks, amarks;
};

/* config_schema.c */
extern const struct key config__top_keys[];
extern const struct key config__listener_keys[];
extern const char *const config__intercept_names[];
extern const char *const config__source_names[];
/* sized: config.c takes their ARRAY_SIZE (names and the NULL) */
extern const char *const config__action_names[5];
extern const char *const config__traffic_names[4];

/* config_yaml.c */
/* config__apply_yaml - parse one YAML text over c; 0 or -1 with the
 * message in err. */
int config__apply_yaml(struct config *c, const char *buf, size_t len,
    const char *name, char *err, size_t errlen);
void config__err(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void config__xerr(struct ctx *x, const void *field, const void *alt,
    const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
size_t config__path_push(struct ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void config__path_pop(struct ctx *x, size_t old);
const yaml_node_t *config__map_get(yaml_document_t *doc, const yaml_node_t *n,
    const char *name);
const char *config__show(char *buf, size_t len, const char *s, size_t n);
int config__valid_name(const char *s);
uint64_t config__fetch(const void *base, const struct key *k);
/* config__listener_init - a listener's values before its keys apply. */
void config__listener_init(struct listener_conf *l);
char *config__fmt_value(char *buf, size_t len, enum ktype t, uint64_t v);

/* config_check.c */
void config__check_config(struct ctx *x, struct config *c);
void config__check_listener(struct ctx *x, const yaml_node_t *n,
    struct listener_conf *ls, size_t i);
void config__radius_client_check(struct ctx *x, const yaml_node_t *item,
    void *arr, size_t i);
void config__sentinel_check(struct ctx *x, const yaml_node_t *item,
    void *arr, size_t i);
void config__iface_check(struct ctx *x, const yaml_node_t *item, void *arr,
    size_t i);

/* config_dump.c */
/* config__dump_scalar - the value of scalar key k of base, as YAML; returns
 * the columns written. */
int config__dump_scalar(FILE *out, const struct key *k, const void *base);
/* config__dump_key - key k of base (of configuration c) as a YAML block. */
void config__dump_key(FILE *out, const struct key *k, const void *base,
    const struct config *c);

/* config.c */
/* config__free_elems - the n elements of arr (of list d) and arr itself. */
void config__free_elems(const struct list_def *d, int map, void *arr,
    size_t n);

#endif
