#!/usr/bin/perl
# mkmmdb.pl - write two small MaxMind DB files for the tests, covering ONLY
# documentation / shared / ULA ranges (RFC 5737, RFC 3849, RFC 4193) with
# documentation AS numbers (RFC 5398: 64496-64511):
#
#   DIR/test-asn.mmdb      database_type "GeoLite2-ASN"
#                          { autonomous_system_number, autonomous_system_organization }
#   DIR/test-country.mmdb  database_type "GeoLite2-Country"
#                          { country: { iso_code, names: { en } } }
#
# Both are IPv6 trees (ip_version 6) with IPv4 in ::/96 and the usual
# aliases (::ffff:0:0/96 and 6to4 point at it), so IPv4 and v4-mapped
# lookups both work. Reserved networks are NOT removed (the writer's
# default drops them silently, and every network here is reserved).
#
# usage: mkmmdb.pl DIR        (needs libmaxmind-db-writer-perl)
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $dir = shift @ARGV or die "usage: $0 DIR\n";
-d $dir or die "$0: $dir: not a directory\n";

# network => [ asn, organisation, iso_code, country name ]
my @nets = (
	[ '203.0.113.0/24',  64500, 'Example Transit (documentation)',  'DE', 'Germany' ],
	[ '198.51.100.0/24', 64501, 'Example Hosting (documentation)',  'NL', 'Netherlands' ],
	[ '192.0.2.0/24',    64502, 'Example Access (documentation)',   'FR', 'France' ],
	[ '2001:db8::/32',   64503, 'Example IPv6 Net (documentation)', 'SE', 'Sweden' ],
	[ 'fd00::/8',        64504, 'Example ULA Net (documentation)',  'CH', 'Switzerland' ],
);

my %types = (
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
	country                        => 'map',
	iso_code                       => 'utf8_string',
	names                          => 'map',
	en                             => 'utf8_string',
);

sub tree {
	my ($type, $desc) = @_;
	return MaxMind::DB::Writer::Tree->new(
		ip_version               => 6,
		record_size              => 24,
		database_type            => $type,
		languages                => ['en'],
		description              => { en => $desc },
		alias_ipv6_to_ipv4       => 1,
		remove_reserved_networks => 0,
		map_key_type_callback    => sub { $types{ $_[0] } // die "no type for $_[0]\n" },
	);
}

my $asn = tree('GeoLite2-ASN', 'subgate test ASN data (documentation ranges only)');
my $cc  = tree('GeoLite2-Country', 'subgate test country data (documentation ranges only)');
for my $n (@nets) {
	my ($net, $as, $org, $iso, $name) = @$n;
	$asn->insert_network($net, {
		autonomous_system_number       => $as,
		autonomous_system_organization => $org,
	});
	$cc->insert_network($net, { country => { iso_code => $iso, names => { en => $name } } });
}

for ([ $asn, 'test-asn.mmdb' ], [ $cc, 'test-country.mmdb' ]) {
	my ($t, $f) = @$_;
	open(my $fh, '>:raw', "$dir/$f.tmp") or die "$0: $dir/$f.tmp: $!\n";
	$t->write_tree($fh);
	close($fh) or die "$0: $dir/$f.tmp: $!\n";
	rename("$dir/$f.tmp", "$dir/$f") or die "$0: $dir/$f: $!\n";
}
