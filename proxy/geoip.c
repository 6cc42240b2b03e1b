/*
 * geoip.c - libmaxminddb lookups for the audit record (see geoip.h).
 * MMDB_lookup_sockaddr and MMDB_get_value only read the mapped file, so the
 * workers share the two MMDB_s without locks.
 */
#include "geoip.h"

#include <maxminddb.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "util.h"

static MMDB_s asn_db, country_db;
static int asn_open, country_open;

static int
open_one(MMDB_s *db, int *isopen, const char *path, const char *what,
    char *err, size_t errlen)
{
	int rc;

	if (path == NULL || *path == '\0')
		return 0;
	if ((rc = MMDB_open(path, MMDB_MODE_MMAP, db)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "geoip.%s: %s: %s", what, path,
		    MMDB_strerror(rc));
		return SG_ECONFIG;
	}
	*isopen = 1;
	return 0;
}

int
geoip_open(const char *asn_path, const char *country_path, char *err,
    size_t errlen)
{
	int rc;

	geoip_close();
	if ((rc = open_one(&asn_db, &asn_open, asn_path, "asn_db", err,
	    errlen)) < 0)
		return rc;
	if ((rc = open_one(&country_db, &country_open, country_path,
	    "country_db", err, errlen)) < 0) {
		geoip_close();
		return rc;
	}
	return 0;
}

void
geoip_close(void)
{
	if (asn_open)
		MMDB_close(&asn_db);
	if (country_open)
		MMDB_close(&country_db);
	asn_open = country_open = 0;
}

int
geoip_enabled(void)
{
	return asn_open || country_open;
}

/* find - the entry for a in db, or 0. */
static int
find(const MMDB_s *db, const union sockaddr_any *a, MMDB_entry_s *e)
{
	MMDB_lookup_result_s r;
	int mmdb = 0;

	r = MMDB_lookup_sockaddr(db, &a->sa, &mmdb);
	if (mmdb != MMDB_SUCCESS || !r.found_entry)
		return 0;
	*e = r.entry;
	return 1;
}

/* get_str - a UTF-8 string at the path, copied into out; a long one is cut
 * before a whole character, so that the audit writer does not take the cut
 * for invalid UTF-8 and blank every non-ASCII byte of it (jsonw.h). */
static void
get_str(MMDB_entry_s *e, char *out, size_t len, const char *const *path)
{
	MMDB_entry_data_s d;
	size_t n;

	out[0] = '\0';
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	n = MIN((size_t)d.data_size, len - 1);
	if (n < d.data_size)
		while (n > 0 && ((unsigned char)d.utf8_string[n] & 0xc0) == 0x80)
			n--;
	snprintf(out, len, "%.*s", (int)n, d.utf8_string);
}

void
geoip_lookup(const union sockaddr_any *a, struct geoip_result *res)
{
	static const char *const asn_path[] = { "autonomous_system_number", NULL };
	static const char *const org_path[] = { "autonomous_system_organization",
		NULL };
	static const char *const cc_path[] = { "country", "iso_code", NULL };
	MMDB_entry_s e;
	MMDB_entry_data_s d;

	memset(res, 0, sizeof(*res));
	if (asn_open && find(&asn_db, a, &e)) {
		if (MMDB_aget_value(&e, &d, asn_path) == MMDB_SUCCESS &&
		    d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
			res->asn = d.uint32;
		get_str(&e, res->as_org, sizeof(res->as_org), org_path);
	}
	if (country_open && find(&country_db, a, &e))
		get_str(&e, res->country, sizeof(res->country), cc_path);
}
