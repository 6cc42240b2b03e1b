/*
 * priv.c - switching user and dropping capabilities (see priv.h), with
 * libcap-ng. Main thread only, before any other thread exists.
 */
#include "priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "priv_core.h"

/* permitted - this thread's permitted set. */
static uint64_t
permitted(void)
{
	uint64_t caps = 0;

	if (capng_get_caps_process() < 0)
		return 0;
	for (unsigned i = 0; i <= CAP_LAST_CAP; i++)
		if (capng_have_capability(CAPNG_PERMITTED, i))
			caps |= PRIV_CAP(i);
	return caps;
}

/* caps_text - "cap_net_admin,..." for the set caps, "none" for none. */
static const char *
caps_text(uint64_t caps, char *buf, size_t len)
{
	const char *name;
	size_t n = 0;

	for (unsigned i = 0; i <= CAP_LAST_CAP && n < len; i++) {
		if (!(caps & PRIV_CAP(i)))
			continue;
		if ((name = capng_capability_to_name(i)) == NULL)
			name = "unknown";
		n += (size_t)snprintf(buf + n, len - n, "%scap_%s",
		    n > 0 ? "," : "", name);
	}
	return n > 0 ? buf : "none";
}

/* lookup - the uid and gid of privileges.user and .group; -1 logged. */
static int
lookup(const struct priv_conf *p, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	if ((pw = getpwnam(p->user)) == NULL) {
		if (errno != 0)
			log_err("event=privileges_failed error=\"cannot look up "
			    "user %s: %s\"", p->user, strerror(errno));
		else
			log_err("event=privileges_failed error=\"user %s does "
			    "not exist\" note=\"create it (deploy/install-user.sh "
			    "%s) or set privileges.user\"", p->user, p->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (p->group == NULL)
		return 0;
	errno = 0;
	if ((gr = getgrnam(p->group)) == NULL) {
		log_err("event=privileges_failed error=\"group %s %s\"", p->group,
		    errno != 0 ? strerror(errno) : "does not exist");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

void
priv_raise(void)
{
	uint64_t caps;

	if (geteuid() == 0 || (caps = permitted()) == 0)
		return;
	for (unsigned i = 0; i <= CAP_LAST_CAP; i++)
		if (caps & PRIV_CAP(i))
			(void)capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, i);
	(void)capng_apply(CAPNG_SELECT_CAPS);
}

int
priv_drop(const struct config *c)
{
	const struct priv_conf *p = &c->privileges;
	/* a capability not permitted cannot be kept; whatever needed it at
	 * start has failed already (nft_install, IP_TRANSPARENT listeners) */
	uint64_t keep = priv_caps_needed(c) & permitted();
	const int root = geteuid() == 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct passwd *pw;
	char caps[256], name[64];
	int rc;

	if (root && p->user != NULL && lookup(p, &uid, &gid) < 0)
		return -1;
	capng_clear(CAPNG_SELECT_ALL);
	for (unsigned i = 0; i <= CAP_LAST_CAP; i++)
		if (keep & PRIV_CAP(i))
			(void)capng_update(CAPNG_ADD, CAPNG_EFFECTIVE |
			    CAPNG_PERMITTED, i);
	if (root && uid != 0) {
		if ((rc = audit_chown(uid, gid)) < 0)
			log_warn("event=audit_chown_failed path=%s error=\"%s\" "
			    "note=\"SIGHUP cannot reopen it\"", c->audit_path,
			    strerror(-rc));
		rc = capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP |
		    CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	} else {
		/* the bounding set needs CAP_SETPCAP: root has it; a service
		 * manager that started us with a few capabilities set it */
		rc = capng_apply(root ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS |
		    CAPNG_SELECT_AMBIENT);
	}
	if (rc < 0) {
		log_err("event=privileges_failed error=\"%s (libcap-ng %d): %s\"",
		    root && uid != 0 ? "switching user" : "dropping capabilities",
		    rc, strerror(errno));
		return -1;
	}
	/* the switch reset the dumpable flag to fs.suid_dumpable */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, p->dumpable ? 1 : 0, 0, 0, 0) < 0) {
		log_err("event=privileges_failed error=\"prctl: %s\"",
		    strerror(errno));
		return -1;
	}
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "%u", (unsigned)geteuid());
	log_msg(geteuid() == 0 ? LOG_WARN : LOG_INFO, "event=privileges user=%s "
	    "uid=%u gid=%u caps=%s dumpable=%d no_new_privs=1%s", name,
	    (unsigned)geteuid(), (unsigned)getegid(),
	    caps_text(keep, caps, sizeof(caps)), p->dumpable ? 1 : 0,
	    geteuid() == 0 ? " note=\"running as root: set privileges.user\"" :
	    "");
	return 0;
}
