#!/usr/bin/env bash
# glournetd under systemd's protocols (issue 14, systemd), with a stand-in
# notify socket (tests/tools/sd_notify_listen.py) and a file as the journal:
#  - Type=notify: READY=1 once it serves (the control socket answers at that
#    moment) with a STATUS line; with WATCHDOG_USEC (WatchdogSec) WATCHDOG=1
#    from the control loop, again and again; on SIGTERM STOPPING=1, exit 0;
#    without WATCHDOG_USEC no WATCHDOG=1; STATUS follows the endpoints (a
#    registration: "1 online"); SIGHUP sends RELOADING=1, then READY=1;
#  - a start that fails sends no READY=1 but STATUS=start-up failed and ERRNO;
#  - with JOURNAL_STREAM naming stderr every line carries its syslog
#    priority: glournetd's errors and DPDK's own (through the same logger)
#    <3>, info <6>, so journalctl -p err filters them.
# net_null, --no-huge, --exception drop: no lab network needed (root for EAL).
set -euo pipefail
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (EAL)"; exit 77; fi
GLOURNETD=$BUILD/control/glournetd
LISTEN=$SRC/tests/tools/sd_notify_listen.py
W=$(mktemp -d /tmp/gn-ops-systemd.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; [ -f "$W/log" ] && tail -20 "$W/log"; exit 1; }
pass() { echo "ok: $*"; }
echo "sd-token-$$" >"$W/token"
chmod 0600 "$W/token"
PORT=$((20000 + ($$ + 7) % 20000))
PREFIX=gn-ops-sd-$$

# run_notify LOGFILE ENV... -- LISTEN_ARGS... -- GLOURNETD_EXTRA... : output in $OUT
run_notify() {
	local log=$1; shift
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
	local largs=()
	while [ "$1" != "--" ]; do largs+=("$1"); shift; done; shift
	OUT=$(
		exec 2>"$log"
		env JOURNAL_STREAM="$(stat -c '%d:%i' "$log")" "${envs[@]}" \
			python3 "$LISTEN" --timeout 60 "${largs[@]}" -- "$GLOURNETD" --token-file "$W/token" \
			--http "127.0.0.1:$PORT" --ctl-socket "$W/ctl.sock" --state-dir "$W/state" \
			--exception drop "$@"
	)
}
EAL=(-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "$PREFIX" --no-pci)

# ---- serving, with the watchdog ----
run_notify "$W/log" WATCHDOG_USEC=1000000 -- --term-after WATCHDOG --count 3 \
	--ready-connect "$W/ctl.sock" -- "${EAL[@]}" --vdev net_null0,no-rx=1
msgs() { jq -c 'select(.msg) | .msg' <<<"$OUT"; }
[ "$(jq -r 'select(.exit != null) | .exit' <<<"$OUT")" = 0 ] || fail "exit after SIGTERM: $OUT"
ready=$(jq -c 'select(.msg.READY == "1") | .msg' <<<"$OUT" | head -1)
[ -n "$ready" ] || fail "no READY=1: $OUT"
jq -e '.STATUS | test("^serving 0 endpoints with 1 worker$")' <<<"$ready" >/dev/null || fail "STATUS with READY: $ready"
grep -qF '{"ready_connect": true}' <<<"$OUT" ||
	fail "READY=1 before the control socket answers: $OUT"
[ "$(msgs | grep -c '"WATCHDOG":"1"')" -ge 3 ] || fail "WATCHDOG=1 at least 3 times: $OUT"
# STOPPING=1 is the last message, after READY and the pings
[ "$(msgs | tail -1 | jq -r .STOPPING)" = 1 ] || fail "STOPPING=1 last: $OUT"
order=$(msgs | jq -r 'keys[0]' | uniq | tr '\n' ' ')
[ "$order" = "READY WATCHDOG STATUS " ] || fail "order READY, WATCHDOG..., STOPPING: $order"
grep -q "systemd watchdog: every 500 ms (WatchdogSec 1000 ms)" "$W/log" || fail "the watchdog's line"
pass "notify: $(msgs | head -2 | tr '\n' ' ')... $(msgs | grep -c WATCHDOG) x WATCHDOG=1, then $(msgs | tail -1); exit 0"

# every line of the log carries a priority; info <6>, DPDK's own lines too
bad=$(grep -v '^<[0-7]>' "$W/log" || true)
[ -z "$bad" ] || fail "lines without a priority on the journal: $bad"
grep -q '^<6>info  dpdk   EAL: ' "$W/log" || fail "DPDK's EAL lines through the logger at <6>"
grep -q '^<6>info  main   glournetd .* running' "$W/log" || fail "the running line at <6>"
! grep -q '^[0-9]\{4\}-' "$W/log" || fail "time stamps on the journal (it keeps its own)"
pass "journal: every line has a priority, e.g. $(grep -m1 'dpdk   EAL' "$W/log")"

# ---- live: STATUS follows the endpoints; SIGHUP is RELOADING=1 then READY=1 ----
waitfor() { # waitfor JQ_FILTER WHAT: the filter over $W/live.jsonl's lines (an array) is true
	for _ in $(seq 100); do
		[ "$(jq -s "$1" "$W/live.jsonl" 2>/dev/null)" = true ] && return 0
		sleep 0.1
	done
	fail "$2: $(cat "$W/live.jsonl")"
}
(
	exec 2>"$W/log"
	env JOURNAL_STREAM="$(stat -c '%d:%i' "$W/log")" python3 "$LISTEN" --timeout 60 -- \
		"$GLOURNETD" --token-file "$W/token" --http "127.0.0.1:$PORT" --ctl-socket "$W/ctl.sock" \
		--state-dir "$W/state" --exception drop "${EAL[@]}" --vdev net_null0,no-rx=1 \
		>"$W/live.jsonl"
) &
LPID=$!
waitfor 'any(.[]; .msg.READY == "1")' "no READY=1"
PID=$(jq -r 'select(.pid) | .pid' "$W/live.jsonl")
curl -sf -X POST "http://127.0.0.1:$PORT/v1/register" -H "Authorization: Bearer $(cat "$W/token")" \
	-H 'Content-Type: application/json' \
	-d '{"guid":"sd-1","hostname":"sd-1","ips":["10.1.2.3"],"reason":"install"}' >/dev/null ||
	fail "registration"
waitfor 'any(.[]; .msg.STATUS // "" | test("^serving 1 endpoints with 1 worker: 1 online, 0 offline"))' \
	"STATUS after a registration"
kill -HUP "$PID"
waitfor 'any(.[]; .msg.RELOADING == "1")' "RELOADING=1 on SIGHUP"
# READY=1 again after RELOADING=1
waitfor '(map(.msg.RELOADING == "1") | index(true)) as $r |
	$r != null and (to_entries | any(.[]; .key > $r and .value.msg.READY == "1"))' "READY=1 after the reload"
kill -TERM "$PID"
wait "$LPID" || fail "the listener"
[ "$(jq -r 'select(.exit != null) | .exit' "$W/live.jsonl")" = 0 ] || fail "exit: $(cat "$W/live.jsonl")"
grep -q "SIGHUP: reloaded" "$W/log" || fail "the reload's line"
pass "live: $(jq -c 'select(.msg.STATUS and (.msg.STATUS | test("1 online"))) | .msg' "$W/live.jsonl" | head -1); SIGHUP: RELOADING=1, then READY=1"

# ---- without WatchdogSec: no WATCHDOG=1 ----
run_notify "$W/log" -- --term-after READY -- "${EAL[@]}" --vdev net_null0,no-rx=1
[ "$(jq -r 'select(.exit != null) | .exit' <<<"$OUT")" = 0 ] || fail "exit: $OUT"
! grep -q WATCHDOG <<<"$OUT" || fail "WATCHDOG=1 without WATCHDOG_USEC: $OUT"
grep -q '"STOPPING": "1"' <<<"$OUT" || fail "STOPPING=1: $OUT"
pass "no WATCHDOG_USEC: READY=1 and STOPPING=1, no WATCHDOG=1"

# ---- a start that fails: a device option the driver refuses ----
run_notify "$W/log" -- -- "${EAL[@]}" --vdev net_null0,bogus=1
[ "$(jq -r 'select(.exit != null) | .exit' <<<"$OUT")" = 1 ] || fail "a failed start exits 1: $OUT"
! grep -q '"READY"' <<<"$OUT" || fail "READY=1 from a failed start: $OUT"
jq -se 'map(select(.msg.STATUS))[0].msg | (.STATUS | startswith("start-up failed")) and (.ERRNO | length > 0)' \
	<<<"$OUT" >/dev/null || fail "STATUS=start-up failed and ERRNO: $OUT"
grep -q '^<3>error dpdk   .*failed to initialize net_null0' "$W/log" || fail "DPDK's error at <3>: $(cat "$W/log")"
grep -q '^<3>error main   start-up failed' "$W/log" || fail "glournetd's error at <3>"
pass "failed start: no READY, $(jq -c 'select(.msg.STATUS) | .msg' <<<"$OUT"); $(grep -c '^<3>' "$W/log") lines at <3>: $(grep '^<3>' "$W/log" | head -2 | tr '\n' '|')"
[ ! -e "/var/run/dpdk/$PREFIX" ] || fail "/var/run/dpdk/$PREFIX left behind"
