#!/bin/bash
# t_priv.sh - least privilege in subgated itself (docs/operator-guide.md
# "Privileges"): what /proc/PID/status of every thread says after start,
# in a network namespace of its own (sg<PID>-gw), all peers on its
# loopback:
#
#   priv_root_default       started as root, listener on port 25, RADIUS on
#                           813, admin on 99: uid/gid of $SG_USER, no
#                           supplementary group, no capability in any set,
#                           NoNewPrivs 1, in every thread
#   priv_root_not_dumpable  /proc/PID/status is root's (not dumpable)
#   priv_root_sockets       the listener, RADIUS and admin sockets (bound
#                           before the switch) answer
#   priv_audit_chowned      the audit file root created is $SG_USER's
#   priv_sighup_rotation    mv + SIGHUP: a new file, $SG_USER's, and
#                           records go on into it
#   priv_root_tproxy        upstream.source subscriber on tproxy listeners:
#                           CAP_NET_ADMIN (bit 12) permitted and effective
#                           in every thread, nothing else, bounding set empty
#   priv_root_nftables      intercept.nftables: CAP_NET_ADMIN only, and with
#                           it the keeper refreshes the set, conntrack
#                           starts, SIGTERM empties the set
#   priv_dumpable           privileges.dumpable: true: /proc/PID/status is
#                           the user's
#   priv_user_root          privileges.user: root stays root with a warning,
#                           without capabilities
#   priv_missing_user       a user or group that does not exist stops the
#                           start, named
#   priv_systemd            as deploy/systemd/subgated.service starts it
#                           (User=, ambient capabilities, no_new_privs):
#                           port 25 and the table bound and loaded, then
#                           CAP_NET_ADMIN only, the unit's bounding set
#   priv_file_caps          as the Dockerfile's image starts it (USER,
#                           file capabilities "+p"): the same
#
#   tests/integration/t_priv.sh     (root)
set -uo pipefail

# shellcheck source=./lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"

loc_init t_priv
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root"
	exit 1
fi
loc_need_subgated setup
loc_need setup ip nft setpriv setcap swaks smtp-sink jq curl ss
sg_netns_possible || { echo "FAIL setup: cannot create network namespaces"; exit 1; }
sg_ns_add "$NS_GW"

U=$(id -u "$SG_USER")
G=$(id -g "$SG_USER")
UG="$SG_USER:$(id -gn "$SG_USER")"
Z=0000000000000000
NET_ADMIN=0000000000001000			# bit 12
UNIT_BND=0000000000001400			# CAP_NET_ADMIN, CAP_NET_BIND_SERVICE
# the user's directory, as /var/log/subgate; $TMP (root's, 0700) passable
chmod 711 "$TMP"
LOGDIR=$TMP/log
install -d -o "$SG_USER" -g "$G" -m 0750 "$LOGDIR"
loc_secret "$TMP/nas.secret" "nas-Secret-81f3"
SINK=2525
loc_bg ip netns exec "$NS_GW" smtp-sink -u nobody "127.0.0.1:$SINK" 100
wait_until 5 listening "$NS_GW" "$SINK" || { echo "FAIL setup: smtp-sink"; exit 1; }

# creds DIR: the fields of DIR/status that privileges decide, "Name=v"
# (Uid and Gid: real/effective/saved/fs; Groups: - for none).
FIELDS="Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs"
creds() {
	local f out=""
	for f in $FIELDS; do
		out="$out $f=$(awk -v f="$f:" '$1 == f { $1 = ""; v = $0
			gsub(/^[ \t]+|[ \t]+$/, "", v); gsub(/[ \t]+/, "/", v)
			print (v == "" ? "-" : v); exit }' "$1/status")"
	done
	echo "${out# }"
}
# want UID GID GROUPS CAPS BOUNDING: creds after start (CAPS permitted and
# effective, nothing inheritable or ambient, no_new_privs set).
want() {
	echo "Uid=$1/$1/$1/$1 Gid=$2/$2/$2/$2 Groups=$3 CapInh=$Z CapPrm=$4" \
		"CapEff=$4 CapBnd=$5 CapAmb=$Z NoNewPrivs=1"
}
# expect_creds NAME WANT: every thread of GW_PID has the creds WANT.
expect_creds() {
	local t got n=0 why=""
	for t in /proc/"$GW_PID"/task/*; do
		got=$(creds "$t")
		n=$((n + 1))
		[ "$got" = "$2" ] || why="$why thread ${t##*/}: $got;"
	done
	if [ -n "$why" ] || [ "$n" -lt 3 ]; then
		fail "$1" "want $2 in every thread ($n);$why"
	else
		pass "$1 ($2; $n threads)"
	fi
}

# start NAME CONFIG [COMMAND...]: subgated -c CONFIG in the namespace,
# after COMMAND (setpriv ...) if given, log in TMP/NAME.log; true once it
# is ready. Sets GW_PID, GW_LOG.
start() {
	local name=$1 cfg=$2
	shift 2
	GW_LOG=$TMP/$name.log
	ip netns exec "$NS_GW" "$@" "$SUBGATED" -c "$cfg" >"$GW_LOG" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_until 10 grep -q 'event=ready' "$GW_LOG"
}
# stop: SIGTERM; the exit status in GW_RC ("" if it had to be killed).
stop() { gw_stop; }
logline() { grep -m1 "event=$1 " "$GW_LOG" | sed 's/^[^ ]* //'; }

# mail TAG: one message through the listener on port 25.
mail() {
	ip netns exec "$NS_GW" swaks --server 127.0.0.1 --port 25 --timeout 10 \
		--from a@sub.example --to b@mx.example --helo c.sub.example \
		--header "Message-Id: <$1@priv.test>" >"$TMP/swaks-$1" 2>&1
}
# has_txn FILE TAG: FILE holds the transaction record of mail TAG.
has_txn() {
	[ -s "$1" ] && jq -e -s --arg m "<$2@priv.test>" \
		'any(.[]; .type == "txn" and .message_id == $m)' "$1" >/dev/null 2>&1
}

# ------------------------------------------- as root, nothing to keep
cat >"$TMP/default.yaml" <<EOF
node: priv-default
workers: 2
listeners:
  - { listen: "127.0.0.1:25", mode: smtp, intercept: none, upstream: "127.0.0.1:$SINK" }
identity:
  radius:
    listen: "127.0.0.1:813"
    clients: [ { address: 127.0.0.1, secret_file: "$TMP/nas.secret" } ]
admin: { listen: "127.0.0.1:99" }
audit: { path: "$LOGDIR/audit.jsonl" }
EOF
if start root_default "$TMP/default.yaml"; then
	expect_creds priv_root_default "$(want "$U" "$G" - "$Z" "$Z")"
	line=$(logline privileges)
	if [ "$line" = "level=info event=privileges user=$SG_USER uid=$U gid=$G caps=none dumpable=0 no_new_privs=1" ]; then
		pass "priv_root_default_logged ($line)"
	else
		fail priv_root_default_logged "got: $line"
	fi
	o=$(stat -c %U:%G "/proc/$GW_PID/status")
	if [ "$o" = root:root ]; then
		pass "priv_root_not_dumpable (/proc/PID/status $o)"
	else
		fail priv_root_not_dumpable "/proc/PID/status is $o"
	fi
	h=$(ip netns exec "$NS_GW" curl -s -m 5 http://127.0.0.1:99/healthz)
	if mail one && wait_until 5 has_txn "$LOGDIR/audit.jsonl" one && [ "$h" = ok ] &&
		ip netns exec "$NS_GW" ss -Hlun 'sport = :813' | grep -q 127.0.0.1; then
		pass priv_root_sockets
	else
		fail priv_root_sockets "healthz [$h], mail: $(tail -n 2 "$TMP/swaks-one" | tr '\n' ' ')"
	fi
	o=$(stat -c %U:%G "$LOGDIR/audit.jsonl")
	if [ "$o" = "$UG" ]; then
		pass "priv_audit_chowned ($o)"
	else
		fail priv_audit_chowned "owner $o"
	fi
	mv "$LOGDIR/audit.jsonl" "$LOGDIR/audit.jsonl.1"
	kill -HUP "$GW_PID"
	if wait_until 5 test -e "$LOGDIR/audit.jsonl" && mail two &&
		wait_until 5 has_txn "$LOGDIR/audit.jsonl" two &&
		! has_txn "$LOGDIR/audit.jsonl.1" two && grep -q 'event=audit_reopen$' "$GW_LOG"; then
		o=$(stat -c %U:%G "$LOGDIR/audit.jsonl")
		if [ "$o" = "$UG" ]; then
			pass "priv_sighup_rotation (new file $o, records in it)"
		else
			fail priv_sighup_rotation "new file owned by $o"
		fi
	else
		fail priv_sighup_rotation "$(grep -E 'audit_reopen' "$GW_LOG" | tail -n 1)"
	fi
	stop
	[ "$GW_RC" = 0 ] || fail priv_root_default_exit "exit status [$GW_RC]: $(tail -n 3 "$GW_LOG")"
else
	fail priv_root_default "did not start: $(tail -n 3 "$GW_LOG")"
fi

# ------------------------------------------- as root, TPROXY upstream
cat >"$TMP/tproxy.yaml" <<EOF
workers: 2
listeners:
  - { listen: "[::]:10025", mode: smtp, intercept: tproxy }
  - { listen: "[::]:10587", mode: passthrough, intercept: tproxy }
upstream: { source: subscriber }
audit: { path: "$LOGDIR/audit-tproxy.jsonl" }
EOF
if start root_tproxy "$TMP/tproxy.yaml"; then
	expect_creds priv_root_tproxy "$(want "$U" "$G" - "$NET_ADMIN" "$Z")"
	grep -q "event=privileges user=$SG_USER uid=$U gid=$G caps=cap_net_admin " "$GW_LOG" ||
		fail priv_root_tproxy_logged "$(logline privileges)"
	stop
else
	fail priv_root_tproxy "did not start: $(tail -n 3 "$GW_LOG")"
fi

# ------------------------------------------- as root, nftables
# nft_cfg NAME PORT: an nftables configuration (hold 2s: the set lapses
# within 2 s unless the keeper, as the user, refreshes it).
nft_cfg() {
	cat >"$TMP/$1.yaml" <<EOF
workers: 2
listeners:
  - { listen: "[::]:$2", mode: smtp, intercept: redirect }
intercept: { nftables: true, table: sgpriv, interfaces: [lo], subscribers: [192.0.2.0/24], hold: 2s }
audit: { path: "$LOGDIR/audit-$1.jsonl" }
EOF
	echo "$TMP/$1.yaml"
}
# serving: the set has elements (a listing that meets one of the keeper's
# transactions may fail: wait_until retries)
serving() { ip netns exec "$NS_GW" nft list set inet sgpriv serving 2>&1 | grep -q 'elements = '; }
# expect_table NAME: 3 s after start the set is still refreshed, conntrack
# runs; after SIGTERM the set is empty and the exit clean.
expect_table() {
	local why=""
	sleep 3
	wait_until 2 serving || why="$why set not refreshed: $(logline worker_stalled);"
	grep -q 'event=nft_failed' "$GW_LOG" && why="$why $(logline nft_failed);"
	grep -q 'event=conntrack_start' "$GW_LOG" || why="$why $(logline conntrack_unavailable);"
	stop
	serving && why="$why set not emptied at SIGTERM;"
	grep -q 'event=nft_release' "$GW_LOG" || why="$why no nft_release;"
	[ "$GW_RC" = 0 ] || why="$why exit status [$GW_RC];"
	if [ -z "$why" ]; then
		pass "$1 (set refreshed, conntrack, emptied at SIGTERM)"
	else
		fail "$1" "$why"
	fi
}
if start root_nftables "$(nft_cfg root_nftables 10025)"; then
	expect_creds priv_root_nftables "$(want "$U" "$G" - "$NET_ADMIN" "$Z")"
	expect_table priv_root_nftables_table
else
	fail priv_root_nftables "did not start: $(tail -n 3 "$GW_LOG")"
fi

# ------------------------------------------- dumpable, user root
printf 'listeners: [ { listen: "127.0.0.1:10025", intercept: none, upstream: "127.0.0.1:%s" } ]\naudit: { path: "%s" }\nprivileges: { dumpable: true }\n' \
	"$SINK" "$LOGDIR/audit-dumpable.jsonl" >"$TMP/dumpable.yaml"
if start dumpable "$TMP/dumpable.yaml"; then
	o=$(stat -c %U:%G "/proc/$GW_PID/status")
	if [ "$o" = "$UG" ] && grep -q "event=privileges .* dumpable=1 " "$GW_LOG"; then
		pass "priv_dumpable (/proc/PID/status $o)"
	else
		fail priv_dumpable "/proc/PID/status is $o: $(logline privileges)"
	fi
	stop
else
	fail priv_dumpable "did not start: $(tail -n 3 "$GW_LOG")"
fi

printf 'listeners: [ { listen: "127.0.0.1:10025", intercept: none, upstream: "127.0.0.1:%s" } ]\naudit: { path: "%s" }\nprivileges: { user: root }\n' \
	"$SINK" "$TMP/audit-root.jsonl" >"$TMP/root.yaml"
if start user_root "$TMP/root.yaml"; then
	expect_creds priv_user_root "$(want 0 0 "$(creds /proc/self | sed -n 's/.*Groups=\([^ ]*\).*/\1/p')" "$Z" "$Z")"
	if grep -q 'level=warn event=privileges user=root uid=0 gid=0 caps=none dumpable=0 no_new_privs=1 note="running as root: set privileges.user"' "$GW_LOG"; then
		pass priv_user_root_warned
	else
		fail priv_user_root_warned "$(logline privileges)"
	fi
	stop
else
	fail priv_user_root "did not start: $(tail -n 3 "$GW_LOG")"
fi

# ------------------------------------------- a user that does not exist
nouser=sgnouser$$
printf 'privileges: { user: %s }\n' "$nouser" >"$TMP/nouser.yaml"
printf 'privileges: { group: %s }\n' "$nouser" >"$TMP/nogroup.yaml"
ip netns exec "$NS_GW" "$SUBGATED" -c "$TMP/nouser.yaml" >"$TMP/nouser.log" 2>&1
rc1=$?
ip netns exec "$NS_GW" "$SUBGATED" -c "$TMP/nogroup.yaml" >"$TMP/nogroup.log" 2>&1
rc2=$?
if [ "$rc1/$rc2" = 1/1 ] &&
	grep -q "level=error event=privileges_failed error=\"user $nouser does not exist\" note=\"create it (deploy/install-user.sh $nouser) or set privileges.user\"" "$TMP/nouser.log" &&
	grep -q "level=error event=privileges_failed error=\"group $nouser does not exist\"" "$TMP/nogroup.log" &&
	! grep -q 'event=ready' "$TMP/nouser.log" "$TMP/nogroup.log"; then
	pass "priv_missing_user ($(grep -o 'error="[^"]*"' "$TMP/nouser.log"))"
else
	fail priv_missing_user "exit $rc1/$rc2: $(tail -n 1 "$TMP/nouser.log" "$TMP/nogroup.log" | tr '\n' ' ')"
fi

# ------------------------------------------- as the systemd unit starts it
if start systemd "$(nft_cfg systemd 25)" setpriv --reuid="$SG_USER" --regid="$G" --clear-groups \
	--inh-caps=-all,+net_admin,+net_bind_service --ambient-caps=+net_admin,+net_bind_service \
	--bounding-set=-all,+net_admin,+net_bind_service --no-new-privs; then
	expect_creds priv_systemd "$(want "$U" "$G" - "$NET_ADMIN" "$UNIT_BND")"
	expect_table priv_systemd_table
else
	fail priv_systemd "did not start: $(tail -n 3 "$GW_LOG")"
fi

# ------------------------------------------- as the container image starts it
install -d -m 0755 "$TMP/bin"
cp "$SUBGATED" "$TMP/bin/subgated"
setcap cap_net_admin,cap_net_bind_service+p "$TMP/bin/subgated"
bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
if SUBGATED=$TMP/bin/subgated start file_caps "$(nft_cfg file_caps 25)" \
	setpriv --reuid="$SG_USER" --regid="$G" --clear-groups; then
	# setpriv leaves no_new_privs unset; subgated sets it
	expect_creds priv_file_caps "$(want "$U" "$G" - "$NET_ADMIN" "$bnd")"
	expect_table priv_file_caps_table
else
	fail priv_file_caps "did not start: $(tail -n 3 "$GW_LOG")"
fi

loc_summary t_priv
