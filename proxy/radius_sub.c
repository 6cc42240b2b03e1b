/*
 * radius_sub.c - the subscriber thread of the RADIUS listener
 * (radius_sub.h): SUBSCRIBE to the assignment channel, then load the
 * history, then apply what is published until stopped or disconnected;
 * reconnect with backoff.
 */
#include "util.h"
#include "radius_sub.h"

#include <errno.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "asg_schema.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "redis_sync.h"

#define SUB_TIMEOUT_MS 5000		/* a command of the subscriber thread */
#define SUB_SCAN_MAX 100000		/* keys in one SCAN answer (COUNT 1000) */

/* The subscriber thread's state: written by radius_sub_start/stop on the
 * listener's owner thread, read by the subscriber. */
static struct {
	const struct config *conf;
	const struct rl_conn_conf *redis;
	uv_thread_t thread;
	int running;
	atomic_int stopping;
	atomic_ullong applied;		/* other nodes' records applied */
} sub;

static redisContext *
sub_connect(void)
{
	char err[256];
	redisContext *c = rl_sync_connect(sub.redis, SUB_TIMEOUT_MS, err,
	    sizeof(err));

	if (c == NULL)
		log_debug("event=radius_subscriber_connect error=\"%s\"", err);
	return c;
}

/* sub_apply - a record from Redis; load: from the startup load, where
 * this node's own records count too (it may have restarted). */
static void
sub_apply(const char *json, size_t len, int load)
{
	struct asg a;

	/* our own PUBLISH comes back: skip it before parsing */
	if (!load && asg_json_from_node(json, len, sub.conf->node))
		return;
	if (asg_from_json(json, len, &a) < 0)
		return;
	if ((load || strcmp(a.node, sub.conf->node) != 0) &&
	    identity_apply_record(&a))
		atomic_fetch_add(&sub.applied, 1);
	asg_free(&a);
}

/* sub_load - every open assignment in Redis into the live table (SCAN of
 * the history keys; each key's members in start order). Every reply is
 * checked for its type and size before use: a SCAN that is not [cursor,
 * keys] ends the load, a key or member of another type or too long is
 * skipped (asg_from_json bounds a member). */
static void
sub_load(void)
{
	redisContext *c = sub_connect();
	char cursor[32] = "0";
	size_t keys = 0;

	if (c == NULL)
		return;
	do {
		redisReply *r = rl_sync_cmd(c, "SCAN %s MATCH %s COUNT 1000",
		    cursor, ASG_HISTORY_MATCH);

		if (!rl_sync_array(r, 2) || r->elements != 2 ||
		    !rl_sync_str(r->element[0], sizeof(cursor) - 1) ||
		    !rl_sync_array(r->element[1], SUB_SCAN_MAX)) {
			char why[160];

			log_warn("event=radius_history_load_failed error=%s",
			    rl_sync_why(why, sizeof(why), c, r));
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];
			redisReply *z;

			if (!rl_sync_str(k, ASG_KEY_MAX))
				continue;
			z = rl_sync_cmd(c, "ZRANGE %b 0 -1", k->str, k->len);
			if (z == NULL)	/* the context is gone: SCAN says so */
				break;
			keys++;
			if (rl_sync_array(z, SIZE_MAX))
				for (size_t m = 0; m < z->elements; m++)
					if (rl_sync_str(z->element[m],
					    ASG_JSON_MAX))
						sub_apply(z->element[m]->str,
						    z->element[m]->len, 1);
			freeReplyObject(z);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && !atomic_load(&sub.stopping));
	redisFree(c);
	log_info("event=radius_history_loaded keys=%zu live=%zu", keys,
	    identity_live_count());
}

static void
sub_main(void *arg)
{
	int backoff = 0;

	while (!atomic_load(&sub.stopping)) {
		redisContext *c;
		redisReply *r;
		void *rp;

		if (backoff > 0) {
			for (int i = 0; i < backoff / 100 &&
			    !atomic_load(&sub.stopping); i++)
				usleep(100000);
			if (atomic_load(&sub.stopping))
				break;
		}
		backoff = backoff == 0 ? 500 : MIN(backoff * 2, 5000);
		if ((c = sub_connect()) == NULL)
			continue;
		r = rl_sync_cmd(c, "SUBSCRIBE %s", ASG_CHANNEL);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			redisFree(c);
			continue;
		}
		freeReplyObject(r);
		/* subscribed first, then loaded: no update falls in between */
		sub_load();
		backoff = 0;
		while (!atomic_load(&sub.stopping)) {
			struct pollfd pfd = { c->fd, POLLIN, 0 };

			if (redisGetReplyFromReader(c, &rp) != REDIS_OK)
				break;
			if (rp != NULL) {
				r = rp;
				if (rl_sync_array(r, 3) && r->elements == 3 &&
				    rl_sync_str(r->element[2], ASG_JSON_MAX))
					sub_apply(r->element[2]->str,
					    r->element[2]->len, 0);
				freeReplyObject(r);
				continue;
			}
			if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
				break;
			if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
			    redisBufferRead(c) != REDIS_OK)
				break;
			if (rl_reader_over(c->reader, RL_REPLY_MAX_BYTES)) {
				log_warn("event=redis_reply_too_large what=subscription "
				    "max=%u", RL_REPLY_MAX_BYTES);
				break;
			}
		}
		if (!atomic_load(&sub.stopping))
			log_warn("event=radius_subscriber_lost");
		redisFree(c);
	}
}

int
radius_sub_start(const struct config *c, const struct rl_conn_conf *redis)
{
	int rc;

	sub.conf = c;
	sub.redis = redis;
	atomic_store(&sub.stopping, 0);
	if ((rc = uv_thread_create(&sub.thread, sub_main, NULL)) < 0)
		return rc;
	sub.running = 1;
	return 0;
}

void
radius_sub_stop(void)
{
	atomic_store(&sub.stopping, 1);
	if (sub.running)
		uv_thread_join(&sub.thread);
	sub.running = 0;
}

uint64_t
radius_sub_applied(void)
{
	return atomic_load(&sub.applied);
}
