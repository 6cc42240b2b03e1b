/*
 * config.h - subgated's configuration: a YAML file (libyaml) loaded into one
 * immutable struct config that every worker reads and nobody writes after
 * start. Every key is documented in docs/configuration.md; an embedded default
 * (config_default_yaml) runs the gateway with no file and no Redis.
 *
 * Errors carry their location: "subgate.yaml:12:5: listeners[0].mode: expected
 * one of smtp, passthrough".
 */
#ifndef SUBGATE_CONFIG_H
#define SUBGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

enum listener_mode {
	LISTEN_SMTP,		/* port 25: SMTP-aware relay */
	LISTEN_PASSTHROUGH	/* 587/465 and others: opaque splice tunnel */
};

enum intercept_mode {
	INTERCEPT_REDIRECT,	/* nft redirect: SO_ORIGINAL_DST */
	INTERCEPT_TPROXY,	/* nft tproxy: IP_TRANSPARENT, getsockname */
	INTERCEPT_NONE		/* plain listener relaying to a fixed upstream */
};

enum upstream_source {
	SOURCE_GATEWAY,		/* connect from the gateway's own address */
	SOURCE_SUBSCRIBER	/* tproxy only: bind the subscriber's address */
};

enum bare_newline {
	BARE_NORMALIZE,		/* bare CR or LF in DATA becomes CRLF */
	BARE_REJECT		/* bare CR or LF in DATA: 5xx and close */
};

struct listener_conf {
	union sockaddr_any addr;
	enum listener_mode mode;
	enum intercept_mode intercept;
	union sockaddr_any upstream;	/* INTERCEPT_NONE only */
	int backlog;
};

/* Times are milliseconds. */
struct smtp_timeouts {
	uint32_t greeting;	/* upstream 220, RFC 5321 4.5.3.2.1: 5 min */
	uint32_t command;	/* upstream reply to other commands: 5 min */
	uint32_t data_init;	/* upstream 354: 2 min (4.5.3.2.4) */
	uint32_t data_block;	/* client silent inside DATA/BDAT: 3 min (4.5.3.2.5) */
	uint32_t data_end;	/* upstream reply to "." or BDAT LAST: 10 min (4.5.3.2.6) */
	uint32_t client_idle;	/* client's next command: 5 min (4.5.3.2.7) */
};

struct smtp_conf {
	size_t max_line;		/* command / reply line, octets incl. CRLF */
	size_t max_auth_line;		/* AUTH exchange lines (RFC 4954: 12288) */
	size_t max_reply;		/* one multi-line reply, octets */
	size_t max_pipeline;		/* commands awaiting a reply */
	size_t max_held;		/* client bytes held while waiting (DATA/AUTH/STARTTLS/decision) */
	size_t max_errors;		/* error replies before the session is closed */
	size_t max_recipients_kept;	/* recipients kept per transaction for the record */
	enum bare_newline bare_newline;
	struct smtp_timeouts timeouts;
};

struct config {
	char *path;			/* file it was loaded from, or "(default)" */
	char *node;			/* this gateway's name in records */
	int workers;			/* 0: one per core */
	struct listener_conf *listeners;
	size_t nlisteners;

	uint32_t connect_timeout;	/* upstream TCP connect, ms */
	enum upstream_source upstream_source;
	size_t buffer_limit;		/* bytes queued toward one peer before reading the other stops */
	size_t max_sessions;		/* per worker; 0 = unlimited. Never applies to passthrough. */
	uint32_t session_max_time;	/* ms, 0 = none: hard cap on one SMTP session */

	struct smtp_conf smtp;

	char *audit_path;		/* JSON lines; "-" = stdout */
	int log_level;			/* enum log_level */
	uint32_t drain_timeout;		/* SIGTERM: ms to let sessions finish */
};

extern const char config_default_yaml[];

/* config_load - parse the YAML file at path (NULL: the embedded default).
 * On error returns NULL and writes "file:line:col: message" to err. */
struct config *config_load(const char *path, char *err, size_t errlen);
/* config_load_string - the same from memory; name is used in messages. */
struct config *config_load_string(const char *yaml, size_t len, const char *name,
    char *err, size_t errlen);
void config_free(struct config *c);

/* config_dump - the effective configuration as YAML that config_load reads
 * back to the same struct config. */
void config_dump(const struct config *c, FILE *out);

#endif
