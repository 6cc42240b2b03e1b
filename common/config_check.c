/*
 * config_check.c - the rules that involve more than one value: a list
 * element against its list (no sentinel or interface twice, a NAS with a
 * secret), a listener against the others, and the cross-section rules run
 * after the whole document is applied (classes resolved, what redirect,
 * hmac, the Redis index, nftables and upstream.source need). Errors point
 * where the document set the offending value (config__xerr).
 */
#include "config_int.h"
#include "cidr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void
config__radius_client_check(struct ctx *x, const yaml_node_t *item, void *arr,
    size_t i)
{
	struct radius_client *rc = (struct radius_client *)arr + i;

	if (rc->secret.value == NULL)
		config__err(x, &item->start_mark, "missing required key secret_file "
		    "(or secret): the NAS's shared secret");
}

void
config__sentinel_check(struct ctx *x, const yaml_node_t *item, void *arr,
    size_t i)
{
	union sockaddr_any *s = arr;
	char a[ADDRPORT_STRLEN];
	size_t j;

	for (j = 0; j < i; j++)
		if (addr_eq(&s[j], &s[i])) {
			config__err(x, &item->start_mark, "%s is listed twice",
			    addr_fmt(&s[i], a, sizeof(a)));
			return;
		}
}

/* config__iface_check - an interface name as nftables' iifname takes it: 1..15
 * octets of letters, digits, '.', '-', '_', ':' or '@', a '*' only last. */
void
config__iface_check(struct ctx *x, const yaml_node_t *item, void *arr, size_t i)
{
	const char *n = ((char **)arr)[i];
	char got[64];
	size_t len = strlen(n), j;

	for (j = 0; j < len; j++)
		if (!isalnum((unsigned char)n[j]) && strchr(".-_:@", n[j]) == NULL &&
		    !(n[j] == '*' && j == len - 1 && j > 0))
			break;
	if (len > 15 || j < len)
		config__err(x, &item->start_mark, "expected an interface name (at "
		    "most 15 of A-Z a-z 0-9 . - _ : @, a trailing * matches "
		    "any suffix), got %s", config__show(got, sizeof(got), n, len));
	for (j = 0; j < i && !x->failed; j++)
		if (strcmp(((char **)arr)[j], n) == 0)
			config__err(x, &item->start_mark, "%s is listed twice", n);
}

/* config__check_listener - listener i of ls, parsed from mapping n. */
void
config__check_listener(struct ctx *x, const yaml_node_t *n,
    struct listener_conf *ls, size_t i)
{
	struct listener_conf *l = &ls[i];
	const yaml_node_t *v;
	char a[ADDRPORT_STRLEN];
	size_t j, old;

	if (l->addr.sa.sa_family == AF_UNSPEC) {
		config__err(x, &n->start_mark, "missing required key listen");
		return;
	}
	if (l->intercept == INTERCEPT_NONE &&
	    l->upstream.sa.sa_family == AF_UNSPEC) {
		v = config__map_get(x->doc, n, "intercept");
		old = config__path_push(x, ".upstream");
		config__err(x, &v->start_mark, "required with intercept: none");
		config__path_pop(x, old);
		return;
	}
	if (l->intercept != INTERCEPT_NONE &&
	    l->upstream.sa.sa_family != AF_UNSPEC) {
		v = config__map_get(x->doc, n, "upstream");
		old = config__path_push(x, ".upstream");
		config__err(x, &v->start_mark, "only allowed with intercept: none "
		    "(intercept is %s)", config__intercept_names[l->intercept]);
		config__path_pop(x, old);
		return;
	}
	for (j = 0; j < i; j++)
		if (addr_eq(&ls[j].addr, &l->addr)) {
			v = config__map_get(x->doc, n, "listen");
			old = config__path_push(x, ".listen");
			config__err(x, &v->start_mark, "%s is already used by "
			    "listeners[%zu]", addr_fmt(&l->addr, a, sizeof(a)), j);
			config__path_pop(x, old);
			return;
		}
}

/* class_list_str - "a, b, c" for messages. */
static void
class_list_str(const struct config *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < c->policy.nclasses && off < len; i++)
		off += fmt_trunc(buf + off, len - off, "%s%s",
		    i ? ", " : "", c->policy.classes[i].name);
	if (c->policy.nclasses == 0)
		snprintf(buf, len, "none");
}

/* resolve - the class named name, or a located error. */
static const struct policy_class *
resolve(struct ctx *x, struct config *c, char *const *name, const char *path)
{
	const struct policy_class *cls = config_class(c, *name);
	char list[256];

	if (cls == NULL && !x->failed) {
		class_list_str(c, list, sizeof(list));
		config__xerr(x, name, &c->policy.classes, path, "no class %s in "
		    "policy.classes (defined: %s)", *name, list);
	}
	return cls;
}

static void
check_policy(struct ctx *x, struct config *c)
{
	struct policy_conf *p = &c->policy;
	struct policy_class *cls;
	struct limit_set *l;
	char path[300];
	size_t i;
	int t;

	p->default_class = resolve(x, c, &p->default_class_name,
	    "policy.default_class");
	for (i = 0; i < p->nprefixes && !x->failed; i++) {
		struct policy_prefix *pp = &p->prefixes[i];

		snprintf(path, sizeof(path), "policy.prefixes[%zu].class", i);
		pp->cls = resolve(x, c, &pp->class_name, path);
		if (pp->ipv6_aggregate == 0 || x->failed)
			continue;
		snprintf(path, sizeof(path), "policy.prefixes[%zu]."
		    "ipv6_aggregate", i);
		/* shorter than the prefix would count sources outside it
		 * together with those inside */
		if (pp->prefix.family != AF_INET6 ||
		    pp->ipv6_aggregate < pp->prefix.plen)
			config__xerr(x, &pp->ipv6_aggregate, &pp->prefix, path,
			    "needs an IPv6 prefix no longer than %u",
			    pp->ipv6_aggregate);
	}
	for (i = 0; i < c->identity.nstatics && !x->failed; i++) {
		c->identity.statics[i].cls = NULL;
		if (c->identity.statics[i].class_name == NULL)
			continue;
		snprintf(path, sizeof(path), "identity.static[%zu].class", i);
		c->identity.statics[i].cls = resolve(x, c,
		    &c->identity.statics[i].class_name, path);
	}
	for (i = 0; i < p->nclasses && !x->failed; i++) {
		cls = &p->classes[i];
		if (cls->action == ACTION_REDIRECT &&
		    c->smarthost.address.sa.sa_family == AF_UNSPEC) {
			snprintf(path, sizeof(path), "policy.classes.%s.action",
			    cls->name);
			config__xerr(x, &cls->action, &c->smarthost.address, path,
			    "redirect requires smarthost.address");
		}
		for (t = 0; t < TRAFFIC_COUNT && !x->failed; t++) {
			l = &cls->traffic[t];
			if (!l->has_action || l->action != ACTION_REDIRECT)
				continue;
			snprintf(path, sizeof(path), "policy.classes.%s.%s."
			    "action", cls->name, config__traffic_names[t]);
			if (t != TRAFFIC_MX)
				config__xerr(x, &l->action, NULL, path, "redirect "
				    "applies to mx traffic only");
			else if (c->smarthost.address.sa.sa_family == AF_UNSPEC)
				config__xerr(x, &l->action, &c->smarthost.address, path,
				    "redirect requires smarthost.address");
		}
	}
}

/* check_radius_classes - every class a NAS may name is configured. */
static void
check_radius_classes(struct ctx *x, struct config *c)
{
	const struct radius_conf *rc = &c->identity.radius;
	char path[300];

	for (size_t i = 0; i < rc->nclients && !x->failed; i++)
		for (size_t j = 0; j < rc->clients[i].nclasses && !x->failed;
		    j++) {
			snprintf(path, sizeof(path),
			    "identity.radius.clients[%zu].classes[%zu]", i, j);
			(void)resolve(x, c, &rc->clients[i].classes[j], path);
		}
}

static void
check_others(struct ctx *x, struct config *c)
{
	struct smarthost_conf *sh = &c->smarthost;
	const char *ca;

	if (c->audit.recipients == AUDIT_RCPT_HMAC &&
	    c->audit.hmac_key.value == NULL)
		config__xerr(x, &c->audit.recipients, NULL, "audit.recipients",
		    "hmac requires audit.hmac_key_file");
	if (c->audit.index == AUDIT_INDEX_REDIS && !c->redis.enabled)
		config__xerr(x, &c->audit.index, NULL, "audit.index",
		    "redis requires a redis section");
	c->audit.index_redis = c->audit.index == AUDIT_INDEX_REDIS ||
	    (c->audit.index == AUDIT_INDEX_AUTO && c->redis.enabled);
	if (sh->auth_user != NULL && sh->auth_password.value == NULL)
		config__xerr(x, &sh->auth_user, NULL, "smarthost.auth_user",
		    "requires smarthost.auth_password_file");
	if (sh->auth_user == NULL && sh->auth_password.value != NULL)
		config__xerr(x, &sh->auth_password, NULL, "smarthost.auth_password_file",
		    "requires smarthost.auth_user");
	/* the credentials go only to a peer whose certificate names it:
	 * a CA-valid certificate of any other host is not the smarthost */
	if (sh->auth_user != NULL && sh->verify_name == NULL)
		config__xerr(x, &sh->auth_user, NULL, "smarthost.auth_user",
		    "requires smarthost.verify_name (the name the smarthost's "
		    "certificate must carry)");
	if (c->privileges.user == NULL && c->privileges.group != NULL)
		config__xerr(x, &c->privileges.group, NULL, "privileges.group",
		    "requires privileges.user (without a user subgated stays "
		    "root)");
	if (c->identity.radius.enabled && c->identity.radius.nclients == 0)
		config__xerr(x, &c->identity.radius.clients, &c->identity.radius,
		    "identity.radius.clients", "at least one NAS is required");
	ca = c->identity.radius.class_attribute;
	if (ca != NULL && strcmp(ca, "Class") != 0 &&
	    strcmp(ca, "Filter-Id") != 0) {
		char got[64];

		config__xerr(x, &c->identity.radius.class_attribute, NULL,
		    "identity.radius.class_attribute", "expected one of \"\" "
		    "(off), Class (RFC 2865 attribute 25), Filter-Id (attribute "
		    "11), got %s", config__show(got, sizeof(got), ca, strlen(ca)));
	}
	check_radius_classes(x, c);
}

/* check_intercept - what the generated nftables rules need (proxy/nft.c). */
static void
check_intercept(struct ctx *x, struct config *c)
{
	const struct intercept_conf *ic = &c->intercept;
	int smtp = 0;
	size_t i, j;

	for (i = 0; i < ic->nsmtp_ports; i++)
		for (j = 0; j < ic->nsubmission_ports; j++)
			if (ic->smtp_ports[i] == ic->submission_ports[j])
				config__xerr(x, &ic->submission_ports[j], NULL,
				    "intercept.submission_ports", "port %u is "
				    "also in intercept.smtp_ports",
				    ic->submission_ports[j]);
	if (!ic->nftables)
		return;
	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].mode == LISTEN_SMTP &&
		    c->listeners[i].intercept != INTERCEPT_NONE)
			smtp = 1;
	if (!smtp)
		config__xerr(x, &ic->nftables, NULL, "intercept.nftables", "needs a "
		    "listener with mode: smtp and intercept: redirect or tproxy");
	if (ic->ninterfaces == 0)
		config__xerr(x, &ic->interfaces, &ic->nftables, "intercept.interfaces",
		    "at least one subscriber-facing interface is required with "
		    "nftables: true");
	if (ic->nsubscribers == 0)
		config__xerr(x, &ic->subscribers, &ic->nftables, "intercept.subscribers",
		    "at least one subscriber prefix is required with "
		    "nftables: true");
	if (ic->nsmtp_ports == 0)
		config__xerr(x, &ic->smtp_ports, &ic->nftables, "intercept.smtp_ports",
		    "at least one port is required with nftables: true");
}

/* check_admin - the admin endpoint answers without a token only on
 * loopback (issue 9 item 5; docs/operator-guide.md "Metrics"). */
static void
check_admin(struct ctx *x, struct config *c)
{
	const union sockaddr_any *a = &c->admin.listen;
	union sockaddr_any u = *a;
	char s[ADDRPORT_STRLEN];
	int loopback = 0;

	if (a->sa.sa_family == AF_UNSPEC || c->admin.token.value != NULL)
		return;
	addr_unmap(&u);
	if (u.sa.sa_family == AF_INET)
		loopback = (ntohl(u.sin.sin_addr.s_addr) >> 24) == 127;
	else if (u.sa.sa_family == AF_INET6)
		loopback = IN6_IS_ADDR_LOOPBACK(&u.sin6.sin6_addr);
	if (!loopback)
		config__xerr(x, &c->admin.listen, NULL, "admin.listen", "%s is "
		    "not a loopback address: admin.token_file is required",
		    addr_fmt(a, s, sizeof(s)));
	else if (c->admin.token_for_reads)
		config__xerr(x, &c->admin.token_for_reads, NULL,
		    "admin.token_required_for_reads", "requires "
		    "admin.token_file");
}

/* config__check_config - cross-section rules, after the whole document
 * applied. */
void
config__check_config(struct ctx *x, struct config *c)
{
	char a[ADDRPORT_STRLEN];
	size_t i;

	check_policy(x, c);
	check_others(x, c);
	check_intercept(x, c);
	check_admin(x, c);
	if (x->failed || c->upstream_source != SOURCE_SUBSCRIBER)
		return;
	for (i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].mode != LISTEN_SMTP ||
		    c->listeners[i].intercept == INTERCEPT_TPROXY)
			continue;
		config__path_push(x, "upstream.source");
		config__err(x, x->source_set ? &x->source_mark : &(yaml_mark_t){ 0 },
		    "subscriber requires intercept: tproxy on every smtp "
		    "listener, but listeners[%zu] (%s) uses %s", i,
		    addr_fmt(&c->listeners[i].addr, a, sizeof(a)),
		    config__intercept_names[c->listeners[i].intercept]);
		config__path_pop(x, 0);
		return;
	}
}
