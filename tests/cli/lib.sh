# lib.sh - what the CLI tests (tests/cli/t_*.sh, run by ctest) share: a
# temp dir and background processes removed on exit, PASS/FAIL lines, and
# free loopback ports. Source it after setting NAME (the script's name).
set -u
TMP=$(mktemp -d "/tmp/sg-$NAME.XXXXXX")
PIDS=()
FAILS=0

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
expect() {	# name, want, got
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want [$2] got [$3]"; fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# finish - the summary line and the exit status: 0 only if nothing failed.
finish() {
	[ "$FAILS" -eq 0 ] && echo "$NAME: all passed" || echo "$NAME: $FAILS failed"
	exit $((FAILS > 0))
}
