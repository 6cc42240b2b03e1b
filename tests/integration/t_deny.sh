#!/bin/bash
# t_deny.sh - destinations a subscriber must not reach through the gateway
# (issue 9 item 6, docs/operator-guide.md "Denied destinations"), in the
# namespace topology of lib.sh:
#
#   deny_prefix        upstream.deny holds the MX's documentation address:
#                      554 5.7.1 from subgate, nothing reaches the MX, a
#                      record with class blocked and decision upstream.deny;
#                      an MX outside the list is still reached
#   own_address_added  an address added to the gateway namespace while
#                      subgated runs (203.0.113.77, with a listener of the
#                      gateway's own on port 25 behind it) is refused from
#                      the next connection on, without a restart
#
#   sudo tests/integration/t_deny.sh
set -euo pipefail

# shellcheck source=./lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
OWN4=203.0.113.77

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
jqe() { jq -e "$2" "$1" >/dev/null 2>&1; }

if [ "$(id -u)" != 0 ] || ! sg_netns_possible; then
	echo "SKIP: needs root and network namespaces"
	exit 0
fi
for t in jq smtp-sink nft ss; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
done
sg_init
find_subgated || { echo "FAIL build: no subgated (set SUBGATED)"; exit 1; }
topo_up
peers_up

# --- deny_prefix -------------------------------------------------------
cfg=$(gw_config deny redirect "upstream: { connect_timeout: 3s, deny: [127.0.0.0/8, $MX4/32] }")
if ! gw_start "$cfg"; then
	fail deny_prefix "subgated did not start: $(tail -n 3 "$GW_LOG")"
else
	before=$(mx_count .)
	chat "$SG_TMP/deny.json" "$MX4" -- r s:'EHLO sub.example\r\n' eof:5
	if ! jqe "$SG_TMP/deny.json" '.replies[0].code == 554 and (.replies[0].text | test("^554 5\\.7\\.1"))'; then
		fail deny_prefix "want 554 5.7.1 at connect, got: $(cat "$SG_TMP/deny.json")"
	elif [ "$(mx_count .)" != "$before" ] || grep -q "$SUB4" "$SG_TMP/mx4.log"; then
		fail deny_prefix "the MX was reached"
	elif ! wait_until 5 audit_has '.type == "session" and .dst == "'"$MX4"'" and .class == "blocked" and .end_reason == "upstream_denied" and .decisions[0].limit == "upstream.deny" and (.decisions[0].verdict | test("^554 5\\.7\\.1")) and .bytes_to_upstream == 0'; then
		fail deny_prefix "no record of the refusal: $(tail -n 2 "$GW_AUDIT")"
	elif ! grep -q "event=destination_denied .*dst=$MX4:25 prefix=$MX4/32" "$GW_LOG"; then
		fail deny_prefix "no destination_denied log line"
	else
		chat "$SG_TMP/qmx.json" "$QMX4" -- r s:'QUIT\r\n' r
		if jqe "$SG_TMP/qmx.json" '.replies[0].code == 220'; then
			pass deny_prefix
		else
			fail deny_prefix "an MX outside the list was refused: $(cat "$SG_TMP/qmx.json")"
		fi
	fi
	gw_stop
fi

# --- own_address_added -------------------------------------------------
# The gateway's own MTA: something in the gateway namespace answering on
# port 25 of every address, which a subscriber must never reach.
in_gw "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 25)); s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(b"220 internal.gw ESMTP the gateway itself\r\n"); c.close()
' >/dev/null 2>&1 &
cfg=$(gw_config own redirect)
if ! wait_until 5 listening "$NS_GW" 25 || ! gw_start "$cfg"; then
	fail own_address_added "set-up failed: $(tail -n 3 "${GW_LOG:-/dev/null}")"
else
	pid=$GW_PID
	n0=$(grep -c "event=own_addresses " "$GW_LOG" || true)
	ip -n "$NS_GW" addr add "$OWN4/32" dev lo
	wait_until 5 bash -c "[ \$(grep -c 'event=own_addresses ' '$GW_LOG') -gt $n0 ]" || true
	chat "$SG_TMP/own.json" "$OWN4" -- r eof:5
	if jqe "$SG_TMP/own.json" '[.replies[].text] | any(test("internal\\.gw"))'; then
		fail own_address_added "the subscriber reached the gateway's own port 25 at $OWN4: $(cat "$SG_TMP/own.json")"
	elif ! jqe "$SG_TMP/own.json" '.replies[0].code == 554 and (.replies[0].text | test("^554 5\\.4\\.6"))'; then
		fail own_address_added "want 554 5.4.6 for $OWN4, got: $(cat "$SG_TMP/own.json")"
	elif [ "$GW_PID" != "$pid" ] || ! gw_alive; then
		fail own_address_added "subgated restarted"
	elif ! grep -q "event=loop_refused .*dst=$OWN4:25" "$GW_LOG"; then
		fail own_address_added "no loop_refused log line for $OWN4"
	else
		pass own_address_added
	fi
	gw_stop
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
