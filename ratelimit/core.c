/*
 * core.c - key escaping, GCRA arithmetic, plan compilation and the Lua
 * decision script. Pure: no I/O, no clock (callers pass the time).
 */
#include "core.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "util.h"

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

int
rl_lock_subscriber(const char *key, size_t klen, char *out, size_t outlen)
{
	static const char pre[] = "sg:{sub:", suf[] = "}:lock:l";
	const size_t lp = sizeof(pre) - 1, ls = sizeof(suf) - 1;
	const char *s, *e;
	size_t o = 0;
	int hi, lo;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (klen < lp + ls || memcmp(key, pre, lp) != 0 ||
	    memcmp(key + klen - ls, suf, ls) != 0)
		return -1;
	for (s = key + lp, e = key + klen - ls; s < e && o + 1 < outlen; s++) {
		if (*s == '%' && e - s >= 3 && (hi = hex_value(s[1])) >= 0 &&
		    (lo = hex_value(s[2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			s += 2;
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
	return 0;
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
	const char *sc = l->scope ? l->scope : "";
	const char *nm = l->name ? l->name : "";
	size_t o = 4;

	/* "sg:{" scope ":" id "}:" name ":" k: at most 4 + 3 * 64 + 6 bytes;
	 * memcpy, not snprintf: this runs for every limit of every decision */
	memcpy(out, "sg:{", 4);
	o += rl_escape(out + o, sc, strlen(sc));
	out[o++] = ':';
	if (l->eid != NULL && l->eidlen <= RL_ID_MAX) {
		memcpy(out + o, l->eid, l->eidlen);
		o += l->eidlen;
	} else
		o += rl_escape(out + o, l->id ? l->id : "", l->id ? l->idlen :
		    0);
	out[o++] = '}';
	out[o++] = ':';
	o += rl_escape(out + o, nm, strlen(nm));
	out[o++] = ':';
	out[o++] = kind_char[l->kind];
	out[o] = '\0';
	return o;
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

/* fmt_i64 - v in decimal at out (room for 21 bytes); its length. */
static size_t
fmt_i64(char *out, int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, o = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[o++] = '-';
	while (n > 0)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
}

static void
push_num(struct rl_argv *o, int64_t v)
{
	push(o, o->num[o->argc], fmt_i64(o->num[o->argc], v));
}

size_t
rl_give_keys(const struct rl_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->item[i].kind == RL_CONC)
			n++;
	return n;
}

size_t
rl_plan_argv(const struct rl_plan *p, const struct rl_plan *const *give,
    size_t ngive, const char *sha, const char *mode, struct rl_argv *o)
{
	static const char *const kinds[] = { "r", "c", "d", "l" };
	size_t nkeys, ng = 0, nk = 0, carried = 0;

	if (mode[0] == 'p')
		p = NULL, ngive = 0;
	/* how many of give[] fit: whole leases only */
	for (; carried < ngive; carried++) {
		size_t k = rl_give_keys(give[carried]);

		if (nk + k > RL_GIVE_MAX)
			break;
		nk += k;
	}
	ngive = carried;
	nkeys = nk + (p != NULL ? p->n : 0);
	o->argc = 0;
	push(o, "EVALSHA", 7);
	push(o, sha, strlen(sha));
	push_num(o, (int64_t)nkeys);
	for (size_t g = 0; g < ngive; g++)
		for (size_t i = 0; i < give[g]->n; i++)
			if (give[g]->item[i].kind == RL_CONC)
				push(o, give[g]->item[i].key,
				    give[g]->item[i].keylen);
	if (p != NULL)
		for (size_t i = 0; i < p->n; i++)
			push(o, p->item[i].key, p->item[i].keylen);
	if (nkeys == 0) {
		push(o, "p", 1);
		return 0;
	}
	push(o, "d", 1);
	if (p != NULL)
		push(o, p->lease, p->lease_len);
	else
		push(o, "", 0);
	push_num(o, (int64_t)nk);
	for (size_t g = 0; g < ngive; g++)
		for (size_t i = 0; i < give[g]->n; i++)
			if (give[g]->item[i].kind == RL_CONC) {
				push(o, give[g]->lease, give[g]->lease_len);
				ng++;
			}
	if (p == NULL)
		return ngive;
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
	return ngive;
}

size_t
rl_resp(int argc, const char *const *argv, const size_t *len, char *buf,
    size_t cap)
{
	char num[24];
	size_t need = 1 + fmt_i64(num, argc) + 2, o = 0, n;

	for (int i = 0; i < argc; i++)
		need += 1 + fmt_i64(num, (int64_t)len[i]) + 2 + len[i] + 2;
	if (need > cap)
		return need;
	buf[o++] = '*';
	o += fmt_i64(buf + o, argc);
	buf[o++] = '\r';
	buf[o++] = '\n';
	for (int i = 0; i < argc; i++) {
		buf[o++] = '$';
		o += fmt_i64(buf + o, (int64_t)len[i]);
		buf[o++] = '\r';
		buf[o++] = '\n';
		n = len[i];
		memcpy(buf + o, argv[i], n);
		o += n;
		buf[o++] = '\r';
		buf[o++] = '\n';
	}
	return o;
}

/*
 * The decision script. KEYS: first the ng lease keys given back, then one
 * per limit. ARGV[1] is the mode ('d' decide, 'p' probe), ARGV[2] the lease
 * member of this decision, ARGV[3] ng, ARGV[4 .. 3+ng] the holder to remove
 * from each key given back, then per limit its kind letter and arguments
 * (see rl_plan_argv). The leases are given back first, so a limit of the
 * same key counts without them. Phase one checks every limit and writes
 * nothing but the removal of expired leases; phase two runs only when all
 * allow. Time is Redis TIME, read once; Redis 7 replicates a script's
 * effects, never its source, so TIME is safe to use.
 *
 * redis.call()s per limit: rate GET + SET PX (the SET sets the TTL: the key
 * lives until its TAT); lease set ZREMRANGEBYSCORE + ZCARD (+ ZSCORE only
 * at the limit) + ZADD + PEXPIRE (a new key: its TTL; an existing one:
 * PEXPIRE GT, which only ever lengthens it, so one call instead of PTTL and
 * PEXPIRE); distinct set SISMEMBER, and for a new member SCARD + SADD (+
 * PEXPIRE when that member created the key: the window is anchored at the
 * first member and every key this script writes has had its TTL since it
 * was created, in this same atomic call); lock PTTL. Numbers handed to
 * redis.call are formatted as integers ('%d'), never as floats.
 * Reply: {allowed, 1-based index of the first denying limit, retry ms}.
 */
const char rl_script[] =
"local mode = ARGV[1]\n"
"if mode == 'p' then return {1, 0, 0} end\n"
"local ng = tonumber(ARGV[3])\n"
"for i = 1, ng do redis.call('ZREM', KEYS[i], ARGV[3 + i]) end\n"
"local n = #KEYS\n"
"if n == ng then return {1, 0, 0} end\n"
"local lease, fmt = ARGV[2], string.format\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local nowms = math.floor(now / 1000)\n"
"local snowms = fmt('%d', nowms)\n"
"local a, deny, retry = 4 + ng, 0, 0\n"
"local kind, va, vb, vm = {}, {}, {}, {}\n"
"for i = ng + 1, n do\n"
"  local k, kd, r = KEYS[i], ARGV[a], -2\n"
"  kind[i] = kd\n"
"  if kd == 'r' then\n"
"    local ti, tau, cost = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])\n"
"    a = a + 4\n"
"    local inc = cost * ti\n"
"    local tat = tonumber(redis.call('GET', k) or '0') or 0\n"
"    if tat < now then tat = now end\n"
"    local nt = tat + inc\n"
"    if inc > tau then r = -1\n"
"    elseif nt - tau > now then r = math.ceil((nt - tau - now) / 1000) end\n"
"    va[i] = nt; vb[i] = inc\n"
"  elseif kd == 'c' then\n"
"    local lim = tonumber(ARGV[a+1])\n"
"    va[i] = ARGV[a+2]\n"
"    a = a + 3\n"
"    redis.call('ZREMRANGEBYSCORE', k, '-inf', snowms)\n"
"    local card = redis.call('ZCARD', k)\n"
"    if card >= lim and not redis.call('ZSCORE', k, lease) then\n"
"      local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
"      r = math.max(1, tonumber(f[2]) - nowms)\n"
"    end\n"
"    vb[i] = card\n"
"  elseif kd == 'd' then\n"
"    local m = ARGV[a+3]\n"
"    va[i] = ARGV[a+2]; vm[i] = m\n"
"    vb[i] = -1\n"
"    if redis.call('SISMEMBER', k, m) == 0 then\n"
"      local card = redis.call('SCARD', k)\n"
"      if card >= tonumber(ARGV[a+1]) then r = math.max(1, redis.call('PTTL', k)) end\n"
"      vb[i] = card\n"
"    end\n"
"    a = a + 4\n"
"  else\n"
"    a = a + 1\n"
"    local ttl = redis.call('PTTL', k)\n"
"    if ttl == -1 then r = -1 elseif ttl > 0 then r = ttl end\n"
"  end\n"
"  if r ~= -2 then\n"
"    if deny == 0 then deny = i - ng end\n"
"    if r == -1 or retry == -1 then retry = -1 elseif r > retry then retry = r end\n"
"  end\n"
"end\n"
"if deny ~= 0 then return {0, deny, retry} end\n"
"for i = ng + 1, n do\n"
"  local k, kd = KEYS[i], kind[i]\n"
"  if kd == 'r' then\n"
"    if vb[i] > 0 then\n"
"      redis.call('SET', k, fmt('%d', va[i]), 'PX', fmt('%d', math.max(1, math.ceil((va[i] - now) / 1000))))\n"
"    end\n"
"  elseif kd == 'c' then\n"
"    redis.call('ZADD', k, fmt('%d', nowms + tonumber(va[i])), lease)\n"
"    if vb[i] == 0 then redis.call('PEXPIRE', k, va[i])\n"
"    else redis.call('PEXPIRE', k, va[i], 'GT') end\n"
"  elseif kd == 'd' then\n"
"    if vb[i] >= 0 then\n"
"      redis.call('SADD', k, vm[i])\n"
"      if vb[i] == 0 then redis.call('PEXPIRE', k, va[i]) end\n"
"    end\n"
"  end\n"
"end\n"
"return {1, 0, 0}\n";
