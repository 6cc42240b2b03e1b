#!/bin/bash
# t_deb.sh - the Debian package (issue 10 item 4): dpkg-buildpackage builds
# subgate_*.deb from the working tree, lintian reports no error, and on
# this machine the package installs (the user subgate, /var/log/subgate,
# the unit, the conffiles), the installed subgated checks the installed
# configuration, the man pages are found, a second install over the first
# (the upgrade path of the maintainer scripts) works, and a purge leaves
# nothing behind but what Debian policy keeps (the system user).
#
#   tests/pkg/t_deb.sh        (as root; refuses to touch an installed subgate)
#
# Prints "PASS name" / "FAIL name: why" and "t_deb: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
TOP=$(pwd)
PASSED=0 FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
finish() {
	echo "t_deb: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

[ "$(id -u)" -eq 0 ] || { fail setup "run as root (dpkg -i)"; finish; }
if dpkg-query -W -f='${Status}' subgate 2>/dev/null | grep -q "installed"; then
	fail setup "a subgate package is installed here; not touching it"
	finish
fi
for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v $t >/dev/null || { fail setup "$t missing (deploy/install-deps.sh)"; finish; }
done

TMP=$(mktemp -d /tmp/sg_deb.XXXXXX)
installed=0
cleanup() {
	[ "$installed" -eq 1 ] && dpkg --purge subgate >/dev/null 2>&1
	[ -n "${SG_KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

# ------------------------------------------------------------ build

# The tracked files as they are in the working tree, not a build dir.
mkdir -p "$TMP/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$TMP/src"
if (cd "$TMP/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$TMP/build.log" 2>&1; then
	pass build
else
	fail build "$(tail -15 "$TMP/build.log")"
	finish
fi
DEB=$(ls "$TMP"/subgate_*_*.deb 2>/dev/null | head -1)
[ -f "$DEB" ] || { fail build "no subgate_*.deb"; finish; }
echo "built $(basename "$DEB")"

lintian --fail-on error "$TMP"/subgate_*.changes >"$TMP/lintian.log" 2>&1
if grep -q '^E: ' "$TMP/lintian.log"; then
	fail lintian_no_error "$(grep '^E: ' "$TMP/lintian.log")"
else
	pass lintian_no_error
fi
grep '^W: ' "$TMP/lintian.log" | sed 's/^/  lintian: /'

# ------------------------------------------------------------ install

if dpkg -i "$DEB" >"$TMP/install.log" 2>&1; then
	installed=1
	pass install
else
	installed=1
	fail install "$(tail -10 "$TMP/install.log")"
	finish
fi
getent passwd subgate >/dev/null && pass user_created || fail user_created "no user subgate"
if [ "$(stat -c '%U:%G %a' /var/log/subgate 2>/dev/null)" = "subgate:subgate 750" ]; then
	pass log_dir
else
	fail log_dir "/var/log/subgate: $(stat -c '%U:%G %a' /var/log/subgate 2>&1)"
fi
if out=$(/usr/sbin/subgated --check-config -c /etc/subgate/subgate.yaml 2>&1); then
	pass check_config
else
	fail check_config "$out"
fi
/usr/bin/subgate --help >/dev/null 2>&1 && pass cli_runs || fail cli_runs "$(/usr/bin/subgate --help 2>&1 | head -3)"
for m in subgated subgate subgate.yaml; do
	if man -w "$m" >/dev/null 2>&1; then pass "man_$m"; else fail "man_$m" "man -w $m finds nothing"; fi
done
if grep -q '^ExecStart=/usr/sbin/subgated ' /lib/systemd/system/subgated.service; then
	pass unit_paths
else
	fail unit_paths "$(grep ^Exec /lib/systemd/system/subgated.service)"
fi
conf=$(dpkg-query -W -f='${Conffiles}' subgate)
for f in /etc/subgate/subgate.yaml /etc/subgate/nftables/subgate-redirect.nft \
    /etc/logrotate.d/subgate; do
	if grep -q " $f " <<<"$conf"; then pass "conffile $f"; else fail "conffile $f" "not a conffile"; fi
done
if logrotate -d /etc/logrotate.d/subgate >"$TMP/logrotate.log" 2>&1 &&
	! grep -qi 'error' "$TMP/logrotate.log"; then
	pass logrotate_valid
else
	fail logrotate_valid "$(grep -i error "$TMP/logrotate.log" | head -3)"
fi

# ------------------------------------------------------------ upgrade

# The same package over itself runs the upgrade path of every maintainer
# script (postinst configure with the old version); a local change to a
# conffile must survive it.
echo "# local change" >>/etc/subgate/subgate.yaml
if dpkg -i --force-confold "$DEB" >"$TMP/upgrade.log" 2>&1; then
	pass upgrade
else
	fail upgrade "$(tail -10 "$TMP/upgrade.log")"
fi
grep -q '^# local change' /etc/subgate/subgate.yaml && pass conffile_kept ||
	fail conffile_kept "the local change is gone"

# ------------------------------------------------------------ purge

touch /var/log/subgate/audit.jsonl
if dpkg --purge subgate >"$TMP/purge.log" 2>&1; then
	installed=0
	pass purge
else
	fail purge "$(tail -10 "$TMP/purge.log")"
fi
left=""
for f in /usr/sbin/subgated /usr/bin/subgate /etc/subgate /etc/logrotate.d/subgate \
    /lib/systemd/system/subgated.service /usr/lib/sysusers.d/subgate.conf \
    /usr/lib/tmpfiles.d/subgate.conf /usr/share/doc/subgate /var/log/subgate; do
	[ -e "$f" ] && left="$left $f"
done
for m in subgated subgate subgate.yaml; do
	man -w "$m" >/dev/null 2>&1 && left="$left man:$m"
done
[ -z "$left" ] && pass purge_leaves_nothing || fail purge_leaves_nothing "left:$left"
# Debian policy 9.2.2: a package's system user stays after purge.
getent passwd subgate >/dev/null && pass user_kept || fail user_kept "user removed"

finish
