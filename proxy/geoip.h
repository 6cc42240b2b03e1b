/*
 * geoip.h - the destination's autonomous system and country for the audit
 * record, from MaxMind DB files (libmaxminddb): an ASN database (GeoLite2-ASN
 * layout: autonomous_system_number, autonomous_system_organization) and a
 * country database (GeoIP2/GeoLite2 Country or City: country.iso_code).
 *
 * The databases are opened once by the main thread (memory-mapped) and only
 * read afterwards, which libmaxminddb allows from any number of threads.
 * Either may be absent: its fields are then left out of the record.
 */
#ifndef SUBGATE_GEOIP_H
#define SUBGATE_GEOIP_H

#include <stdint.h>

#include "addr.h"

struct geoip_result {
	uint32_t asn;		/* 0: not found */
	char as_org[128];	/* "" if none */
	char country[4];	/* ISO 3166-1 alpha-2, "" if none */
};

/* geoip_open - open the databases whose path is set (NULL or "" = none);
 * a database that cannot be opened is an error: 0 or SG_ECONFIG with a
 * message in err. */
int geoip_open(const char *asn_path, const char *country_path, char *err,
    size_t errlen);
void geoip_close(void);

/* geoip_enabled - 1 if a database is open. */
int geoip_enabled(void);

/* geoip_lookup - fill res for a (port ignored); fields not found stay
 * empty. Thread-safe. */
void geoip_lookup(const union sockaddr_any *a, struct geoip_result *res);

#endif
