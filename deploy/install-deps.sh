#!/bin/sh
# install-deps.sh - install every Debian package that subgate's build, tests,
# benchmarks and demo need, and (as root) the system user subgated switches
# to (install-user.sh). Idempotent: installs only what is missing.
set -eu
here=$(dirname "$0")

PKGS="build-essential cmake pkg-config clang llvm
libuv1-dev libssl-dev libhiredis-dev libmaxminddb-dev libcunit1-dev
libyaml-dev libjansson-dev libmicrohttpd-dev libnftables-dev libnetfilter-conntrack-dev
libcap-ng-dev
redis-server redis-tools postfix swaks python3 python3-aiosmtpd
freeradius-utils haproxy nftables conntrack iproute2 procps psmisc openssl
netcat-openbsd libnet-ssleay-perl libio-socket-inet6-perl libio-socket-ssl-perl
libmaxmind-db-writer-perl zlib1g-dev jq curl mandoc groff-base
debhelper lintian fakeroot logrotate"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing:$missing (run as root to install)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix is installed for its tools (smtp-sink, smtp-source, smtpd as a
	# test MX); never let it configure itself as this machine's mail system.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# Debian starts these on install; the tests start their own instances.
	for s in redis-server haproxy postfix; do
		systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
	done
fi

# Started as root, subgated switches to this user (docs/operator-guide.md
# "Privileges"); started as anyone else it does not switch.
[ "$(id -u)" -ne 0 ] || "$here/install-user.sh"
