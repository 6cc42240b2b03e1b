#!/bin/bash
# run-all.sh - build subgate and run every test: unit tests under ASan+UBSan,
# fuzz corpus replay, a short libFuzzer run, and the network-namespace
# integration tests with real peers. Installs what it needs (as root on
# Debian 12), cleans up after itself. The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 skipped=0
failures=()

stage() { printf '\n=== %s ===\n' "$*"; }
ok() { passed=$((passed + ${2:-1})); echo "PASS $1"; }
ko() { failed=$((failed + ${2:-1})); failures+=("$1"); echo "FAIL $1"; }
# count_suite LABEL LOG RC: a suite's "PASS name" / "FAIL name" lines into
# the totals; a failed run without FAIL lines, or no lines at all, fails.
count_suite() {
	local p f
	p=$(grep -c '^PASS ' "$2")
	f=$(grep -c '^FAIL ' "$2")
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$1 ($f)")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		ko "$1 (rc=$3)"
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		ko "$1 (ran nothing)"
	fi
}

stage "dependencies"
deploy/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

stage "release build (-Wall -Wextra, warnings are errors)"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-Werror >/dev/null &&
	cmake --build build -j"$jobs"; then
	ok build
else
	ko build
	echo "$passed passed, $failed failed"
	exit 1
fi

stage "unit tests and corpus replay under ASan+UBSan"
if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSUBGATE_SANITIZE=ON >/dev/null &&
	cmake --build build-asan -j"$jobs"; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
	log=$(mktemp)
	# CUnit's own count: "tests  116  116  116  0  0"
	build-asan/tests/sg_unit 2>&1 | tee "$log" | grep -E '^  Test:.*(passed|FAILED)|Run Summary|tests|asserts'
	read -r tot ran good bad _ < <(awk '$1=="tests"{print $2, $3, $4, $5}' "$log" | tail -1)
	if [ -n "${tot:-}" ] && [ "$ran" -gt 0 ]; then
		[ "$good" -gt 0 ] && ok "unit tests (CUnit)" "$good"
		[ "$bad" -gt 0 ] && ko "unit tests: $bad failed" "$bad"
	else
		grep -E 'ERROR|Sanitizer|runtime error' "$log" | head -20
		ko "unit tests (no CUnit summary: crashed?)"
	fi
	# The other CTest tests: corpus replays, the limiter against redis-server.
	ctest --test-dir build-asan -E '^unit$' --output-on-failure 2>&1 | tee "$log"
	tot=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
	bad=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
	if [ -n "$tot" ] && [ "$tot" -gt 0 ]; then
		[ "$((tot - bad))" -gt 0 ] && ok "ctest" "$((tot - bad))"
		[ "$bad" -gt 0 ] && ko "ctest ($bad of $tot)" "$bad"
	else
		ko "ctest (no result)"
	fi
	rm -f "$log"
else
	ko "asan build"
fi

stage "libFuzzer smoke run (60 s per harness)"
if command -v clang >/dev/null &&
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DSUBGATE_FUZZ=ON -DSUBGATE_TESTS=ON >/dev/null &&
	cmake --build build-fuzz -j"$jobs" >/dev/null; then
	for h in build-fuzz/tests/fuzz_*; do
		case "$h" in *_replay) continue ;; esac
		[ -x "$h" ] || continue
		name=$(basename "$h")
		work=$(mktemp -d)
		cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null
		dict=""
		[ -f "tests/fuzz/${name#fuzz_}.dict" ] && dict="-dict=tests/fuzz/${name#fuzz_}.dict"
		if "$h" $dict -max_total_time=60 -timeout=10 -print_final_stats=1 -rss_limit_mb=2048 \
			-artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
			ok "$name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') execs)"
		else
			tail -40 "$work.log"
			ko "$name"
		fi
		rm -rf "$work" "$work.log"
	done
else
	echo "SKIP: clang/libFuzzer unavailable"
	skipped=$((skipped + 1))
fi

stage "integration tests (network namespaces, real peers)"
log=$(mktemp)
SUBGATED="$top/build/proxy/subgated" tests/integration/run.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
if [ -n "$line" ]; then
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	s=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p')
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
	[ "$f" -gt 0 ] && failures+=("integration ($f)")
	[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "${s:-0}" -eq 0 ] && ko "integration (ran nothing)"
elif [ "$rc" -ne 0 ]; then
	ko "integration (rc=$rc, no summary)"
fi
rm -f "$log"

# Feature suites that bring their own peers (redis-server, radclient, ...):
# each prints "PASS name" / "FAIL name" lines.
for t in tests/integration/t_*.sh; do
	[ -x "$t" ] || continue
	stage "integration: $(basename "$t")"
	log=$(mktemp)
	SUBGATED="$top/build/proxy/subgated" timeout 900 "$t" 2>&1 | tee "$log"
	count_suite "$(basename "$t")" "$log" "${PIPESTATUS[0]}"
	rm -f "$log"
done

# The Debian package: built from the working tree, installed here, purged.
stage "package: tests/pkg/t_deb.sh"
log=$(mktemp)
timeout 900 tests/pkg/t_deb.sh 2>&1 | tee "$log"
count_suite t_deb.sh "$log" "${PIPESTATUS[0]}"
rm -f "$log"

# The glue (relay, tunnel, smarthost, listener) runs only under real peers:
# the core suites again against the ASan+UBSan subgated. lib.sh exports
# ASAN_OPTIONS=abort_on_error=1 (a report kills the daemon, so the check in
# progress fails) and fails the script on any report left in a log.
for t in tests/integration/run.sh tests/integration/t_policy.sh tests/integration/t_smarthost.sh \
	tests/integration/t_hostile_redis.sh; do
	stage "integration under ASan+UBSan: $(basename "$t")"
	if [ ! -x build-asan/proxy/subgated ]; then
		ko "$(basename "$t") under ASan (no build-asan/proxy/subgated)"
		continue
	fi
	log=$(mktemp)
	t0=$SECONDS
	SUBGATED="$top/build-asan/proxy/subgated" SUBGATE="$top/build-asan/proxy/cli/subgate" \
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		timeout 1200 "$t" 2>&1 | tee "$log"
	count_suite "$(basename "$t") under ASan" "$log" "${PIPESTATUS[0]}"
	echo "$(basename "$t") under ASan: $((SECONDS - t0)) s"
	rm -f "$log"
done

stage "summary"
for f in "${failures[@]}"; do echo "failed: $f"; done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
