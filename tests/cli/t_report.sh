#!/bin/bash
# t_report.sh - `subgate trace --file F --report FIXTURE`: each complaint in
# tests/data/reports (ARF, Postfix DSN, X-ARF, a forwarded .eml) finds its
# subscriber in an audit file whose records carry the fixtures' facts, and
# names the fact that matched (table and --json, file and standard input);
# a report whose facts match nothing exits 1 and lists them; garbage, a
# 50 MB report, malformed MIME and usage errors exit 2 with a message,
# never a crash or a sanitizer report.
#
#   tests/cli/t_report.sh path/to/subgate
SUBGATE=${1:?usage: t_report.sh SUBGATE}
NAME=t_report
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/../data/reports

command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 0; }

# run NAME OUT ARGS... - subgate ARGS (standard input from IN, if set);
# stdout to OUT, stderr to OUT.err; fails on a signal or a sanitizer
# report. Exit status in RC.
run() {
	local name=$1 out=$2
	shift 2
	RC=0
	timeout 60 "$SUBGATE" "$@" <"${IN:-/dev/null}" >"$out" 2>"$out.err" || RC=$?
	if [ "$RC" -ge 124 ] || grep -q 'Sanitizer\|runtime error' "$out.err"; then
		fail "$name" "status $RC: $(head -c 400 "$out.err")"
		return 1
	fi
	return 0
}

# want NAME FILE TEXT - FILE holds the fixed string TEXT.
want() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else
		fail "$1" "no [$3] in: $(head -c 1500 "$2")"; fi
}

# The audit records the fixtures point at, as subgated writes them
# (docs/audit.md): one session and its transaction each; the gateway's side
# (upstream_src 203.0.113.1) is what the receiving MXs logged.
python3 - "$TMP/audit.jsonl" <<'PY'
import json, sys
def sess(sid, sub, src, sport, uport, start, end, mid, qid, mf):
    side = {"subscriber": sub, "subscriber_source": "radius", "src": src,
            "src_port": sport, "dst": "198.51.100.25", "dst_port": 25,
            "upstream_src": "203.0.113.1", "upstream_src_port": uport}
    t = {"v": 1, "type": "txn", "session": sid, "node": "gw-fra-1", "seq": 1,
         "start": start, "end": end, **side, "mail_from": mf,
         "rcpt_count": 1, "rcpt_refused": 0, "message_id": mid, "size": 249,
         "reply": "250 2.0.0 Ok: queued as " + qid, "reply_code": 250,
         "queue_id": qid, "outcome": "accepted"}
    s = {"v": 1, "type": "session", "id": sid, "node": "gw-fra-1",
         "worker": 0, "start": start, "end": end, "duration_ms": 6,
         "mode": "smtp", "class": "mx", **side, "transactions": 1,
         "end_reason": "quit"}
    return [t, s]
recs = []
recs += sess("006b0b5a1100fee63ad90c95", "cust-4711", "100.64.3.7", 41234,
             41134, "2026-11-28T22:47:45.286Z", "2026-11-28T22:47:45.292Z",
             "<20261128.4711.spam@shop.example>", "QT0001",
             "newsletter@shop.example")
recs += sess("006b0b5a120117ee39d90c95", "cust-0815", "100.64.3.7", 41235,
             41135, "2026-11-28T22:47:46.286Z", "2026-11-28T22:47:46.292Z",
             "<hello.0815@home.example>", "QT0002", "bob@home.example")
recs += sess("006b0b5a4d0217ee39d90c95", "cust-0042", "100.64.3.9", 41300,
             41136, "2026-11-28T23:09:59.500Z", "2026-11-28T23:10:00.400Z",
             "<x3@example.net>", "QT0003", "winner@example.net")
recs += sess("006b0b80a60317ee39d90c95", "cust-9001", "100.64.5.20", 52000,
             41500, "2026-11-29T08:15:01.900Z", "2026-11-29T08:15:02.300Z",
             "<fwd.9001@parcel.example>", "QT0004", "tracking@parcel.example")
with open(sys.argv[1], "w") as f:
    for r in recs:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
A=(trace --file "$TMP/audit.jsonl")

# fixture SUBSCRIBER FACT-LINE: found (exit 0), the subscriber in the
# table, the fact that matched named; --json names it too, with the records.
fixture() {
	local f=$1 sub=$2 fact=$3 kind=$4 value=$5
	run "$f" "$TMP/$f" "${A[@]}" --report "$DATA/$f.eml" || return
	expect "${f}_exit" 0 "$RC"
	want "${f}_fact" "$TMP/$f" "$fact"
	# the rows under that fact name the subscriber
	if awk -v fact="$fact" -v who="$sub" '
	    index($0, "Fact: ") == 1 { on = index($0, fact) > 0 }
	    on && index($0, who) { ok = 1 } END { exit !ok }' "$TMP/$f"; then
		pass "${f}_subscriber"
	else
		fail "${f}_subscriber" "$sub not under [$fact]: $(cat "$TMP/$f")"
	fi
	run "$f json" "$TMP/$f.json" "${A[@]}" --json --report "$DATA/$f.eml" || return
	expect "${f}_json_exit" 0 "$RC"
	if python3 - "$TMP/$f.json" "$kind" "$value" "$sub" <<'PY'; then
import json, sys
path, kind, value, sub = sys.argv[1:]
ok = False
for line in open(path):
    o = json.loads(line)
    assert set(o) >= {"fact", "value", "origin", "found", "records"}, o
    if o["fact"] == kind and o["value"] == value and o["found"] > 0 and \
       any(r.get("subscriber") == sub for r in o["records"]):
        ok = True
sys.exit(0 if ok else 1)
PY
		pass "${f}_json"
	else
		fail "${f}_json" "no $kind $value -> $sub in: $(head -c 1500 "$TMP/$f.json")"
	fi
}

fixture arf cust-4711 "address 203.0.113.1 port 41134 at 2026-11-28T22:47:45.000Z (Source-IP)  -> 1 record" addr 203.0.113.1
fixture arf cust-4711 "Message-ID <20261128.4711.spam@shop.example> (Message-ID)  -> 1 record" message-id "<20261128.4711.spam@shop.example>"
fixture dsn-postfix cust-0815 "queue id QT0002 (X-Postfix-Queue-ID)  -> 1 record" queue-id QT0002
fixture dsn-postfix cust-0815 "address 203.0.113.1 port 41135" addr 203.0.113.1
fixture xarf cust-0042 "address 100.64.3.9 port 41300 at 2026-11-28T23:10:00.000Z (X-ARF Source)  -> 1 record" addr 100.64.3.9
fixture forwarded cust-9001 "address 203.0.113.1 port 41500 at 2026-11-29T08:15:02.000Z (Received)  -> 1 record" addr 203.0.113.1
fixture forwarded cust-9001 "queue id QT0004 (Received (with ... id))  -> 1 record" queue-id QT0004
# the gateway's side, port by port: not the neighbour's session
grep -q cust-0815 "$TMP/arf" && fail arf_only_its_session "$(cat "$TMP/arf")" ||
	pass arf_only_its_session

# Standard input.
IN=$DATA/xarf.eml run stdin "$TMP/stdin" "${A[@]}" --report - &&
	expect stdin_exit 0 "$RC" && want stdin_found "$TMP/stdin" cust-0042

# Facts that match nothing: exit 1, the facts tried listed.
head -n 2 "$TMP/audit.jsonl" >"$TMP/other.jsonl"
run nomatch "$TMP/nm" trace --file "$TMP/other.jsonl" --report "$DATA/xarf.eml" &&
	expect nomatch_exit 1 "$RC"
want nomatch_says "$TMP/nm.err" "the report's facts matched nothing; tried:"
want nomatch_lists_mid "$TMP/nm.err" "Message-ID <x3@example.net>"
want nomatch_lists_addr "$TMP/nm.err" "address 100.64.3.9 port 41300"
printf 'From: a@example.com\nSubject: no facts\n\nhello\n' >"$TMP/nofacts.eml"
run nofacts "$TMP/nf" "${A[@]}" --report "$TMP/nofacts.eml" &&
	expect nofacts_exit 1 "$RC"
want nofacts_says "$TMP/nf.err" "tried: none"

# Unreadable, garbage, too large, malformed MIME, usage: exit 2, a message.
# bad NAME WANT-TEXT ARGS... - exit 2 and WANT-TEXT on standard error.
bad() {
	local name=$1 text=$2
	shift 2
	run "$name" "$TMP/bad" "$@" || return
	expect "${name}_exit" 2 "$RC"
	want "${name}_message" "$TMP/bad.err" "$text"
}
python3 -c 'import random, sys; r = random.Random(5965)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(r.getrandbits(8) for _ in range(65536)))' >"$TMP/garbage"
bad garbage "not a header field" "${A[@]}" --report "$TMP/garbage"
head -c 4096 /dev/zero >"$TMP/zeros"
bad zeros "NUL octet" "${A[@]}" --report "$TMP/zeros"
head -c 50000000 /dev/zero | tr '\0' 'a' >"$TMP/big"
bad big_file "report larger than" "${A[@]}" --report "$TMP/big"
IN=$TMP/big bad big_stdin "report larger than" "${A[@]}" --report -
bad malformed 'without its boundary' "${A[@]}" --report "$DATA/malformed.eml"
bad missing "No such file" "${A[@]}" --report "$TMP/none.eml"
bad empty "empty report" "${A[@]}" --report /dev/null
bad two_questions "one question at a time" "${A[@]}" --report "$DATA/arf.eml" --queue-id QT0001
bad report_at "not --port or --at" "${A[@]}" --report "$DATA/arf.eml" --at now
IN=$DATA/arf.eml bad two_stdins "both read standard input" trace --file - --report -

finish
