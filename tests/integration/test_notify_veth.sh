#!/usr/bin/env bash
# Issue #12's collector side over the veth lab (glournetd on net_af_xdp, no
# static neighbour): notify campaigns (R11). Endpoints register over HTTP
# from the namespace (their source address: the notify address), python
# responders there receive the notifies, check them as an endpoint must
# and (for the acking group) ack them to the heartbeat address. Shows: an
# endpoint-setting change and then a component add reach every regular
# endpoint, those that ack are settled with one notify each; the endpoints
# in the unreachable network receive nothing; one that never acks is re-sent
# exactly notify.retries times notify.retry_after apart, keeps its flags
# pending (one notify carries both changes), and is notified again at its
# next heartbeat; forged, replayed and unsolicited acks settle nothing and
# are counted by reason.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
RESP=$SRC/tests/tools/notify_responder.py
RETRIES=2
RETRY_AFTER=2
SHA=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
PIDS=()

on_exit() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	(exit $rc)
	cleanup
}
trap on_exit EXIT

start_daemon_xdp --hb-interval 2s --offline-after 120s --sweep-interval 1s \
	--set guard.threshold=0 --set notify.retries=$RETRIES --set notify.retry_after=${RETRY_AFTER}s
ctl range add 203.0.113.0-203.0.113.255 >/dev/null
SERVER=http://$LAB_COLLECTOR4:$HTTP_PORT
reg() { # reg STATE PREFIX COUNT IPS_BASE NOTIFY_PORT
	in_ns "$AGENT" register --server "$SERVER" --token "$TOKEN" --count "$3" --guid-prefix "$2" \
		--ips-base "$4" --notify-port "$5" --state "$1" >/dev/null
}
reg "$WORK/ack.state" ack 6 198.51.100.1 21112
reg "$WORK/silent.state" silent 1 198.51.100.50 21113
reg "$WORK/unreach.state" unreach 3 203.0.113.1 21114
[ "$(field .online show status)" = 7 ] || fail "7 regular endpoints online"
[ "$(field .unreachable_online show status)" = 3 ] || fail "3 unreachable endpoints"
SILENT=$(grep -v '^#' "$WORK/silent.state" | awk 'NR==1 {print $1}')
ACK0=$(grep -v '^#' "$WORK/ack.state" | awk 'NR==1 {print $1}')
[ "$(field .notify.source show client "$SILENT")" = "$LAB_AGENT4" ] ||
	fail "the registration's client address is the notify address"
[ "$(field .notify.notifiable show client "$SILENT")" = true ] || fail "silent is notifiable"
[ "$(field .notify.notifiable show client unreach-000000)" = false ] ||
	fail "an unreachable endpoint is never notifiable"
pass "10 endpoints registered from $LAB_AGENT4; its address is where notifies go"

listen() { # listen STATE PORT MODE LOG; ip netns exec execs python: $! is its pid
	ip netns exec "$(lab_ns "$TAG")" python3 "$RESP" listen --state "$1" --port "$2" \
		--mode "$3" --to "$LAB_COLLECTOR4" --log "$4" --duration 200 &
	PIDS+=($!)
}
listen "$WORK/ack.state" 21112 ack "$WORK/ack.log"
listen "$WORK/silent.state" 21113 silent "$WORK/silent.log"
listen "$WORK/unreach.state" 21114 silent "$WORK/unreach.log"
sleep 1
received() { grep -c " $2 " "$1" 2>/dev/null || true; }   # LOG VERDICT
campaign() { field "[.running[], .last[]] | map(select(.id == $1))[0].$2" show notify; }
wait_done() { # wait_done ID SECS
	for _ in $(seq $(($2 * 10))); do
		[ "$(campaign "$1" state)" = done ] && return 0
		sleep 0.1
	done
	fail "campaign $1 not done after $2 s: $(ctlj show notify)"
}

# --- A settings change: SETTINGS to the 7 regular ones.
ctl endpoint-setting set scan.schedule "daily 02:00" >/dev/null
C1=$(field '.running[0].id // .last[0].id' show notify)
[ "$(campaign "$C1" trigger)" = "endpoint settings" ] || fail "campaign $C1's trigger"
wait_done "$C1" 20
[ "$(campaign "$C1" targeted)" = 7 ] || fail "campaign $C1 targeted $(campaign "$C1" targeted), want 7"
[ "$(campaign "$C1" acked)" = 6 ] || fail "campaign $C1: 6 acked"
[ "$(campaign "$C1" gave_up)" = 1 ] || fail "campaign $C1: the silent one gave up"
[ "$(campaign "$C1" resent)" = $RETRIES ] || fail "campaign $C1: re-sent $RETRIES times"
[ "$(received "$WORK/ack.log" ok)" = 6 ] || fail "each acking endpoint got one notify: $(cat "$WORK/ack.log")"
[ "$(awk '$5 == "ok" && $4 == "0004"' "$WORK/ack.log" | wc -l)" = 6 ] || fail "SETTINGS flags"
[ "$(received "$WORK/silent.log" ok)" = $((RETRIES + 1)) ] ||
	fail "the silent one got $(received "$WORK/silent.log" ok) notifies, want 1 + $RETRIES"
# Re-sent retry_after apart (to the second, within a loop turn).
awk '$5 == "ok" {print $1}' "$WORK/silent.log" | awk -v w=$RETRY_AFTER \
	'NR > 1 && ($1 - p < w - 1 || $1 - p > w + 1) {bad = 1} {p = $1} END {exit bad}' ||
	fail "re-sends not $RETRY_AFTER s apart: $(cat "$WORK/silent.log")"
[ ! -s "$WORK/unreach.log" ] || fail "an unreachable endpoint received: $(cat "$WORK/unreach.log")"
[ "$(field '.notify.pending | length' show client "$ACK0")" = 0 ] || fail "acked: nothing pending"
[ "$(field .notify.last_ack show client "$ACK0")" -gt 0 ] || fail "acked: last_ack set"
[ "$(field '.notify.pending | join(",")' show client "$SILENT")" = settings ] ||
	fail "the silent one keeps SETTINGS pending"
[ "$(field .notify.state show client "$SILENT")" = "waiting for contact" ] || fail "waiting"
[ "$(field .status show client "$SILENT")" = online ] || fail "a notify never changes a status"
pass "SETTINGS: 6 acked with one notify each, the silent one re-sent exactly $RETRIES times, the unreachable ones nothing"

# --- A component add: COMPONENTS; the silent one's notifies carry both.
: >"$WORK/silent.log"
acked0=$(field .notify.acked show stats)
ctl component add pattern 18.977.00 "$SHA" https://update.example/pattern >/dev/null
C2=$(field '.running[0].id // .last[0].id' show notify)
[ "$C2" -gt "$C1" ] || fail "a new campaign"
wait_done "$C2" 20
[ "$(campaign "$C2" acked)" = 6 ] || fail "campaign $C2: 6 acked"
[ "$(field .notify.acked show stats)" = $((acked0 + 6)) ] || fail "6 more acks settled"
[ "$(awk '$5 == "ok" && $4 == "0008"' "$WORK/ack.log" | wc -l)" = 6 ] || fail "COMPONENTS to the 6"
[ "$(awk '$5 == "ok" && $4 == "000c"' "$WORK/silent.log" | wc -l)" = $((RETRIES + 1)) ] ||
	fail "the silent one: $((RETRIES + 1)) notifies with SETTINGS and COMPONENTS: $(cat "$WORK/silent.log")"
[ ! -s "$WORK/unreach.log" ] || fail "an unreachable endpoint received a notify"
pass "COMPONENTS: 6 acked; the silent one's notifies carry both pending changes"

# --- Acks that answer nothing settle nothing.
ack() { in_ns python3 "$RESP" ack --to "$LAB_COLLECTOR4" "$@"; }
n() { field ".notify.$1" show stats; }
bad_mac0=$(drops bad_mac); replay0=$(n ack_replay); unsol0=$(n ack_unsolicited); np0=$(n ack_not_pending)
ack --state "$WORK/silent.state" --flags 0x0c --forge
ack --state "$WORK/silent.state" --flags 0x0c --time-offset -100   # before its round
ack --state "$WORK/unreach.state" --flags 0x04                     # never notified
ack --state "$WORK/ack.state" --flags 0x08                         # settled already
wait_field 5 .total.dropped.bad_mac $((bad_mac0 + 1)) show stats
wait_field 5 .notify.ack_replay $((replay0 + 1)) show stats
wait_field 5 .notify.ack_unsolicited $((unsol0 + 1)) show stats
wait_field 5 .notify.ack_not_pending $((np0 + 1)) show stats
[ "$(field '.notify.pending | join(",")' show client "$SILENT")" = settings,components ] ||
	fail "a forged or replayed ack settled something"
pass "forged (bad_mac), replayed, unsolicited and not-pending acks settle nothing, each counted"

# --- Its next heartbeat: notified again, with its retries again.
: >"$WORK/silent.log"
in_ns python3 "$FORGE" --state "$WORK/silent.state" --to "$LAB_COLLECTOR4" --kind valid >/dev/null
for _ in $(seq 100); do
	[ "$(received "$WORK/silent.log" ok)" = $((RETRIES + 1)) ] &&
		[ "$(field .notify.state show client "$SILENT")" = "waiting for contact" ] && break
	sleep 0.1
done
[ "$(awk '$5 == "ok" && $4 == "000c"' "$WORK/silent.log" | wc -l)" = $((RETRIES + 1)) ] ||
	fail "after its heartbeat: want $((RETRIES + 1)) notifies, got: $(cat "$WORK/silent.log")"
[ "$(field .notify.recontact show stats)" -ge 1 ] || fail "counted as a recontact"
pass "the silent one's next heartbeat brings it the pending notify again (1 + $RETRIES)"

# --- notify cancel: nothing is running, nothing queued.
expect_refused "no campaign" notify cancel
ctl show notify | sed -n '/campaigns:/,$p' | sed 's/^/  /'
t0=$(date +%s%N)
stop_daemon
pass "glournetd stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
