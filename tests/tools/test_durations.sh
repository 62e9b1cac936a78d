#!/usr/bin/env bash
# Issue 14: durations are written one way in every glournet program
# (glournet/duration.h: 15 = 15s, 500ms, 5m, 1h, 2d). Each program's
# duration options take 5s and 500ms (glournetd's, held in whole seconds,
# take 5s and refuse 500ms as finer than whole seconds), and each refuses
# 5sec with the same words.
# usage: test_durations.sh GLOURNETD GLOURNETCTL GLOURNET-AGENT GLOURNET-LOADGEN
set -uo pipefail
D=$1 C=$2 A=$3 L=$4
FORMS="is not a duration: write a number and a unit: ms, s, m, h or d (500ms, 15s, 5m, 1h, 2d; no unit: seconds)"
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# expect CODE WORDS CMD...: exits CODE, and (WORDS not empty) says WORDS.
expect() {
	local want=$1 words=$2 out rc=0
	shift 2
	out=$("$@" 2>&1 </dev/null) || rc=$?
	[ "$rc" = "$want" ] || { fail "$(basename "$1") ${*:2}: exit $rc, want $want: $out"; return; }
	[ -z "$words" ] || grep -qF -- "$words" <<<"$out" || fail "$(basename "$1") ${*:2}: '$out' does not say '$words'"
	echo "ok: $(basename "$1") ${*:2} -> $rc${words:+ ($words)}"
}

# Options are read in order: a --version or --help after them exits 0
# once they parsed.
expect 0 "" "$D" --sweep-interval 5s --http-timeout 15 --version
expect 2 "--window: '500ms' is finer than it takes (whole seconds), in 1s .. 1d" "$D" --window 500ms --version
expect 2 "--sweep-interval: '5sec' $FORMS" "$D" --sweep-interval 5sec --version

# glournetctl --timeout: taken (the missing socket then says not running, 3).
expect 3 "not running" "$C" -s /nonexistent/opsfix.sock --timeout 5s show status
expect 3 "not running" "$C" -s /nonexistent/opsfix.sock --timeout 500ms show status
expect 2 "--timeout: '5sec' $FORMS" "$C" --timeout 5sec show status

expect 0 "" "$A" heartbeat --interval 500ms --duration 5s --silent-after 1.5s --help
expect 0 "" "$A" poll --interval 500ms --duration 5s --timeout 5s --help
expect 0 "" "$A" listen --poll-spread 500ms --duration 5s --window 5m --help
expect 2 "--interval: '5sec' $FORMS" "$A" heartbeat --interval 5sec
expect 2 "--timeout: '500ms' is finer than it takes (whole seconds)" "$A" register --timeout 500ms

expect 0 "" "$L" --interval 500ms --duration 5s --ack-delay 1.5s --version
expect 2 "--interval: '5sec' $FORMS" "$L" --interval 5sec

[ $failed = 0 ] && echo PASS
exit $failed
