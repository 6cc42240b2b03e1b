#!/bin/bash
# t_admin.sh - access control of the admin endpoint (issue 9 item 5,
# docs/operator-guide.md "Metrics") against a running subgated on loopback,
# with curl:
#
#   admin_token_for_changes  DELETE /locks/... is 401 without or with a wrong
#                            bearer token, answered with the right one
#   admin_token_for_reads    token_required_for_reads: /metrics and /locks
#                            401 without the token, /healthz open
#   admin_host_checked       a Host that is not the listen address,
#                            localhost or admin.hosts gets 403 (DNS rebinding)
#   admin_config_refused     a non-loopback admin.listen without token_file
#                            is refused by --check-config, with its location
#
#   tests/integration/t_admin.sh   (needs curl and redis-server; no root)

# shellcheck source=./lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"

loc_init sg-admin
loc_need admin curl redis-server redis-cli
loc_need_subgated admin

PADM=$(loc_free_port)
PSMTP=$(loc_free_port)
PRED=$(loc_free_port)
TOKEN=adm-Tk-4f9a1c0e77
loc_secret "$TMP/admin.token" "$TOKEN"
loc_redis_start "$PRED" || { fail admin "redis-server did not start"; exit 1; }

cat >"$TMP/subgate.yaml" <<EOF2
node: admin-gw
workers: 1
listeners:
  - { listen: "127.0.0.1:$PSMTP", mode: smtp, intercept: none, upstream: "127.0.0.1:9" }
redis:
  address: "127.0.0.1:$PRED"
audit: { path: "$TMP/audit.jsonl" }
admin:
  listen: "127.0.0.1:$PADM"
  token_file: $TMP/admin.token
  token_required_for_reads: true
  hosts: [metrics.gw.example]
EOF2

# code METHOD PATH [CURL_ARGS...]: the HTTP status only.
code() {
	local m=$1 p=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "http://127.0.0.1:$PADM$p"
}

if ! loc_gw_start "$TMP/subgate.yaml" "$TMP/subgated.log" loc_port_open 127.0.0.1 "$PADM"; then
	fail admin "subgated did not start: $(tail -n 3 "$TMP/subgated.log")"
	exit 1
fi

# the lift itself (200 lifted / 404 not locked) is policy.c's; here only
# who may ask
a=$(code DELETE /locks/100.64.0.7)
b=$(code DELETE /locks/100.64.0.7 -H "Authorization: Bearer wrong-$TOKEN")
c=$(code DELETE /locks/100.64.0.7 -H "Authorization: Bearer $TOKEN")
if [ "$a/$b" = 401/401 ] && { [ "$c" = 200 ] || [ "$c" = 404 ]; }; then
	pass admin_token_for_changes
else
	fail admin_token_for_changes "no token $a, wrong token $b, right token $c (want 401, 401, 200 or 404)"
fi

m0=$(code GET /metrics)
m1=$(code GET /metrics -H "Authorization: Bearer $TOKEN")
l0=$(code GET /locks)
h0=$(code GET /healthz)
if [ "$m0/$m1/$l0/$h0" = 401/200/401/200 ]; then
	pass admin_token_for_reads
else
	fail admin_token_for_reads "/metrics $m0 without, $m1 with the token; /locks $l0; /healthz $h0 (want 401/200/401/200)"
fi

e0=$(code GET /healthz -H 'Host: rebound.attacker.example')
e1=$(code DELETE /locks/x -H 'Host: rebound.attacker.example' -H "Authorization: Bearer $TOKEN")
e2=$(code GET /healthz -H "Host: localhost:$PADM")
e3=$(code GET /healthz -H "Host: metrics.gw.example:$PADM")
if [ "$e0/$e1/$e2/$e3" = 403/403/200/200 ]; then
	pass admin_host_checked
else
	fail admin_host_checked "rebound $e0, rebound DELETE $e1, localhost $e2, admin.hosts $e3 (want 403/403/200/200)"
fi
gw_stop

printf 'admin:\n  listen: "0.0.0.0:%s"\n' "$PADM" >"$TMP/open.yaml"
if "$SUBGATED" --check-config -c "$TMP/open.yaml" >"$TMP/open.out" 2>&1; then
	fail admin_config_refused "a wildcard admin.listen without a token was accepted"
elif grep -q 'open.yaml:2:.*admin.listen.*admin.token_file is required' "$TMP/open.out"; then
	pass admin_config_refused
else
	fail admin_config_refused "unexpected message: $(head -c 300 "$TMP/open.out")"
fi

loc_summary t_admin
