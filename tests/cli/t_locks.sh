#!/bin/bash
# t_locks.sh - `subgate locks` asks the Redis of the configuration: the
# primary named by Sentinel (the first sentinel listed is down) and the
# configured database, not redis.address and database 0. With --redis it
# asks that address, database 0. Needs redis-server and redis-cli; starts
# its own on free loopback ports and removes everything when it ends.
#
#   tests/cli/t_locks.sh path/to/subgate
SUBGATE=${1:?usage: t_locks.sh SUBGATE}
NAME=t_locks
. "$(dirname "$0")/lib.sh"

wait_ping() {
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

for t in redis-server redis-cli python3; do
	command -v $t >/dev/null || { echo "FAIL setup: no $t"; exit 1; }
done
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$TMP" >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
wait_ping "$RPORT" || { echo "FAIL setup: redis-server"; exit 1; }
SPORT=$(free_port)
cat >"$TMP/sentinel.conf" <<SENT
port $SPORT
bind 127.0.0.1
dir $TMP
sentinel monitor mymaster 127.0.0.1 $RPORT 1
SENT
redis-server "$TMP/sentinel.conf" --sentinel >"$TMP/sentinel.log" 2>&1 &
PIDS+=($!)
wait_ping "$SPORT" || { echo "FAIL setup: sentinel"; exit 1; }

# One lock in the configured database 7, another in database 0; the
# configuration's address points at nothing (only Sentinel knows).
redis-cli -p "$RPORT" -n 7 set 'sg:{sub:alice}:lock:l' 1 px 600000 >/dev/null
redis-cli -p "$RPORT" -n 0 set 'sg:{sub:mallory}:lock:l' 1 px 600000 >/dev/null
cat >"$TMP/subgate.yaml" <<CONF
node: t-locks
redis:
  address: "127.0.0.1:$(free_port)"
  sentinels: ["127.0.0.1:1", "127.0.0.1:$SPORT"]
  master_name: mymaster
  database: 7
  connect_timeout: 500ms
CONF

out=$("$SUBGATE" locks -c "$TMP/subgate.yaml" list 2>&1); rc=$?
expect list_status 0 "$rc"
case "$out" in
*alice*mallory* | *mallory*) fail list_database "$out" ;;
*alice*) pass list_database ;;
*) fail list_database "$out" ;;
esac
out=$("$SUBGATE" locks -c "$TMP/subgate.yaml" list --json 2>&1)
case "$out" in
'{"subscriber":"alice","ttl_ms":'*'}') pass list_json ;;
*) fail list_json "$out" ;;
esac
out=$("$SUBGATE" locks -c "$TMP/subgate.yaml" lift alice 2>&1)
expect lift "alice lifted" "$out"
expect lift_in_database 0 "$(redis-cli -p "$RPORT" -n 7 exists 'sg:{sub:alice}:lock:l')"
out=$("$SUBGATE" locks -c "$TMP/subgate.yaml" lift mallory 2>&1); rc=$?
expect lift_other_database "mallory not locked 1" "$out $rc"
expect other_database_kept 1 "$(redis-cli -p "$RPORT" -n 0 exists 'sg:{sub:mallory}:lock:l')"
"$SUBGATE" locks -c "$TMP/subgate.yaml" list >/dev/null 2>&1; rc=$?
expect list_none 1 "$rc"

# --redis: that address, database 0.
out=$("$SUBGATE" locks --redis "127.0.0.1:$RPORT" list 2>&1)
case "$out" in
*mallory*) pass redis_option ;;
*) fail redis_option "$out" ;;
esac

# A stray word after list is a usage error, not ignored.
out=$("$SUBGATE" locks --redis "127.0.0.1:$RPORT" list mallory 2>&1); rc=$?
expect list_extra_word_usage 2 "$rc"

# A configuration whose sentinels are all down: an error, status 2.
sed -i "s/127.0.0.1:$SPORT/127.0.0.1:2/" "$TMP/subgate.yaml"
out=$("$SUBGATE" locks -c "$TMP/subgate.yaml" list 2>&1); rc=$?
expect no_sentinel_status 2 "$rc"

finish
