/*
 * core.c - key escaping, GCRA arithmetic, plan compilation and the Lua
 * decision script. Pure: no I/O, no clock (callers pass the time).
 */
#include "core.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static const char hexdig[] = "0123456789abcdef";

static size_t
hash_hex(char *out, const void *in, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(in, n, md);
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hexdig[md[i] >> 4];
		out[2 * i + 1] = hexdig[md[i] & 15];
	}
	return 32;
}

static int
keep_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '@';
}

size_t
rl_escape(char *out, const void *in, size_t n)
{
	const unsigned char *s = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		size_t need = keep_byte(s[i]) ? 1 : 3;

		if (o + need > RL_ID_MAX) {
			out[0] = '#';
			o = 1 + hash_hex(out + 1, in, n);
			out[o] = '\0';
			return o;
		}
		if (need == 1)
			out[o++] = (char)s[i];
		else {
			out[o++] = '%';
			out[o++] = hexdig[s[i] >> 4];
			out[o++] = hexdig[s[i] & 15];
		}
	}
	out[o] = '\0';
	return o;
}

size_t
rl_member(char *out, const void *in, size_t n)
{
	size_t o;

	if (n <= RL_ID_MAX) {
		out[0] = '=';
		memcpy(out + 1, in, n);
		o = n + 1;
	} else {
		out[0] = '#';
		o = 1 + hash_hex(out + 1, in, n);
	}
	out[o] = '\0';
	return o;
}

static const char kind_char[] = { 'r', 'c', 'd', 'l' };

size_t
rl_key(char *out, const struct rl_limit *l)
{
	char scope[RL_ID_MAX + 1], id[RL_ID_MAX + 1], name[RL_ID_MAX + 1];
	const char *sc = l->scope ? l->scope : "";
	const char *nm = l->name ? l->name : "";
	int n;

	rl_escape(scope, sc, strlen(sc));
	rl_escape(id, l->id ? l->id : "", l->id ? l->idlen : 0);
	rl_escape(name, nm, strlen(nm));
	n = snprintf(out, RL_KEY_MAX, "sg:{%s:%s}:%s:%c", scope, id, name,
	    kind_char[l->kind]);
	return (size_t)n;
}

int
rl_gcra_params(int64_t limit, int64_t period_ms, int64_t burst,
    struct rl_gcra *g)
{
	if (limit <= 0 || period_ms <= 0 || burst < 0 ||
	    period_ms > RL_MAX_US / 1000)
		return SG_EINVAL;
	if (burst == 0)
		burst = limit;
	g->t_us = period_ms * 1000 / limit;
	if (g->t_us < 1)
		g->t_us = 1;
	if (burst > RL_MAX_US / g->t_us)
		return SG_EINVAL;
	g->tau_us = g->t_us * burst;
	return 0;
}

int
rl_gcra_step(const struct rl_gcra *g, int64_t tat, int64_t now, int64_t cost,
    int64_t *new_tat, int64_t *retry_ms)
{
	int64_t inc = cost * g->t_us, nt;

	if (tat < now)
		tat = now;
	nt = tat + inc;
	if (inc > g->tau_us) {
		*retry_ms = -1;
		return 0;
	}
	if (nt - g->tau_us > now) {
		*retry_ms = (nt - g->tau_us - now + 999) / 1000;
		return 0;
	}
	*new_tat = nt;
	return 1;
}

int
rl_plan_build(struct rl_plan *p, const struct rl_limit *limits, size_t n,
    const char *node, const void *session, size_t session_len)
{
	char en[RL_ID_MAX + 1], es[RL_ID_MAX + 1];
	size_t a, b;

	if (n == 0 || n > RL_MAX_LIMITS)
		return SG_EINVAL;
	p->n = n;
	p->nconc = 0;
	a = rl_escape(en, node ? node : "", node ? strlen(node) : 0);
	b = rl_escape(es, session ? session : "", session ? session_len : 0);
	memcpy(p->lease, en, a);
	p->lease[a] = ':';
	memcpy(p->lease + a + 1, es, b);
	p->lease_len = a + 1 + b;
	p->lease[p->lease_len] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct rl_limit *l = &limits[i];
		struct rl_item *it = &p->item[i];
		struct rl_gcra g;

		if ((unsigned)l->kind > RL_LOCK)
			return SG_EINVAL;
		it->kind = l->kind;
		it->keylen = rl_key(it->key, l);
		it->a = it->b = it->c = 0;
		it->member_len = 0;
		it->member[0] = '\0';
		switch (l->kind) {
		case RL_RATE:
			if (rl_gcra_params(l->limit, l->period_ms, l->burst,
			    &g) != 0 || l->cost < 0 ||
			    l->cost > RL_MAX_US / g.t_us)
				return SG_EINVAL;
			it->a = g.t_us;
			it->b = g.tau_us;
			it->c = l->cost;
			break;
		case RL_CONC:
		case RL_DISTINCT:
			if (l->limit <= 0 || l->period_ms <= 0 ||
			    l->period_ms > RL_MAX_US / 1000)
				return SG_EINVAL;
			it->a = l->limit;
			it->b = l->period_ms;
			if (l->kind == RL_CONC)
				p->nconc++;
			else
				it->member_len = rl_member(it->member,
				    l->member ? l->member : "",
				    l->member ? l->member_len : 0);
			break;
		case RL_LOCK:
			break;
		}
	}
	return 0;
}

static void
push(struct rl_argv *o, const char *s, size_t len)
{
	o->argv[o->argc] = s;
	o->len[o->argc] = len;
	o->argc++;
}

static void
push_num(struct rl_argv *o, int64_t v)
{
	int n = snprintf(o->num[o->argc], sizeof(o->num[0]), "%lld",
	    (long long)v);

	push(o, o->num[o->argc], (size_t)n);
}

void
rl_plan_argv(const struct rl_plan *p, const char *sha, const char *mode,
    struct rl_argv *o)
{
	static const char *const kinds[] = { "r", "c", "d", "l" };
	int probe = mode[0] == 'p', release = mode[0] == 'x';
	size_t nkeys = 0;

	if (!probe)
		for (size_t i = 0; i < p->n; i++)
			if (!release || p->item[i].kind == RL_CONC)
				nkeys++;
	o->argc = 0;
	push(o, "EVALSHA", 7);
	push(o, sha, strlen(sha));
	push_num(o, (int64_t)nkeys);
	if (!probe)
		for (size_t i = 0; i < p->n; i++)
			if (!release || p->item[i].kind == RL_CONC)
				push(o, p->item[i].key, p->item[i].keylen);
	push(o, mode, strlen(mode));
	if (probe)
		return;
	push(o, p->lease, p->lease_len);
	if (release)
		return;
	for (size_t i = 0; i < p->n; i++) {
		const struct rl_item *it = &p->item[i];

		push(o, kinds[it->kind], 1);
		switch (it->kind) {
		case RL_RATE:
			push_num(o, it->a);
			push_num(o, it->b);
			push_num(o, it->c);
			break;
		case RL_CONC:
			push_num(o, it->a);
			push_num(o, it->b);
			break;
		case RL_DISTINCT:
			push_num(o, it->a);
			push_num(o, it->b);
			push(o, it->member, it->member_len);
			break;
		case RL_LOCK:
			break;
		}
	}
}

/*
 * The decision script. ARGV[1] is the mode, ARGV[2] the lease member, then
 * per key: its kind letter and arguments (see rl_plan_argv). Phase one checks
 * every limit and writes nothing but the removal of expired leases; phase two
 * runs only when all allow. Time is Redis TIME, so every node agrees; Redis 7
 * replicates a script's effects, never its source, so TIME is safe to use.
 * Reply: {allowed, 1-based index of the first denying limit, retry ms}.
 */
const char rl_script[] =
"local mode = ARGV[1]\n"
"if mode == 'p' then return {1, 0, 0} end\n"
"local lease = ARGV[2]\n"
"if mode == 'x' then\n"
"  for i = 1, #KEYS do redis.call('ZREM', KEYS[i], lease) end\n"
"  return {1, 0, 0}\n"
"end\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local nowms = math.floor(now / 1000)\n"
"local a, deny, retry, plan = 3, 0, 0, {}\n"
"for i = 1, #KEYS do\n"
"  local k, kind, r = KEYS[i], ARGV[a], -2\n"
"  local p = {kind}\n"
"  if kind == 'r' then\n"
"    local ti, tau, cost = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])\n"
"    a = a + 4\n"
"    local inc = cost * ti\n"
"    local tat = tonumber(redis.call('GET', k) or '0') or 0\n"
"    if tat < now then tat = now end\n"
"    local nt = tat + inc\n"
"    if inc > tau then r = -1\n"
"    elseif nt - tau > now then r = math.ceil((nt - tau - now) / 1000) end\n"
"    p[2] = nt; p[3] = inc\n"
"  elseif kind == 'c' then\n"
"    local lim, ttl = tonumber(ARGV[a+1]), tonumber(ARGV[a+2])\n"
"    a = a + 3\n"
"    redis.call('ZREMRANGEBYSCORE', k, '-inf', nowms)\n"
"    if not redis.call('ZSCORE', k, lease) and redis.call('ZCARD', k) >= lim then\n"
"      local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
"      r = math.max(1, tonumber(f[2]) - nowms)\n"
"    end\n"
"    p[2] = ttl\n"
"  elseif kind == 'd' then\n"
"    local lim, per, m = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), ARGV[a+3]\n"
"    a = a + 4\n"
"    if redis.call('SISMEMBER', k, m) == 0 and redis.call('SCARD', k) >= lim then\n"
"      r = math.max(1, redis.call('PTTL', k))\n"
"    end\n"
"    p[2] = per; p[3] = m\n"
"  else\n"
"    a = a + 1\n"
"    local ttl = redis.call('PTTL', k)\n"
"    if ttl == -1 then r = -1 elseif ttl > 0 then r = ttl end\n"
"  end\n"
"  if r ~= -2 then\n"
"    if deny == 0 then deny = i end\n"
"    if r == -1 or retry == -1 then retry = -1 elseif r > retry then retry = r end\n"
"  end\n"
"  plan[i] = p\n"
"end\n"
"if deny ~= 0 then return {0, deny, retry} end\n"
"for i = 1, #KEYS do\n"
"  local k, p = KEYS[i], plan[i]\n"
"  if p[1] == 'r' then\n"
"    if p[3] > 0 then\n"
"      redis.call('SET', k, string.format('%.0f', p[2]), 'PX', math.max(1, math.ceil((p[2] - now) / 1000)))\n"
"    end\n"
"  elseif p[1] == 'c' then\n"
"    redis.call('ZADD', k, nowms + p[2], lease)\n"
"    if redis.call('PTTL', k) < p[2] then redis.call('PEXPIRE', k, p[2]) end\n"
"  elseif p[1] == 'd' then\n"
"    redis.call('SADD', k, p[3])\n"
"    if redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, p[2]) end\n"
"  end\n"
"end\n"
"return {1, 0, 0}\n";
