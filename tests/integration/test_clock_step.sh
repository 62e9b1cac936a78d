#!/usr/bin/env bash
# Issue 13 item 9: the real clock stepped under a running glournetd
# (tests/tools/clock_shift.c preloaded: CLOCK_REALTIME shifted by a file's
# seconds, CLOCK_MONOTONIC and CLOCK_BOOTTIME left real). A step forward of two days, beyond
# offline_after and expire.after_days, marks no endpoint offline and
# removes none: their heartbeats, still on the clock the agents learned,
# keep counting; durations still run (a silent endpoint goes offline
# offline_after after its last contact, not sooner). A step back of an
# hour during the restart grace leaves R9 on. Each step is logged and
# counted in show stats and the metrics.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=htime$(($$ % 10000))   # lab names with the branch's name (tools/lab-net.sh)
EXC_IFACE=gnx-$TAG

SHIFT_LIB=${SHIFT_LIB:-$BUILD/tests/clock_shift.so}
[ -e "$SHIFT_LIB" ] || fail "$SHIFT_LIB not built"

# glournetd, and only glournetd, on a real clock shifted by the seconds in
# $WORK/shift (tests/tools/clock_shift.c).
echo 0 >"$WORK/shift"
cat >"$WORK/glournetd" <<EOS
#!/bin/sh
exec env LD_PRELOAD=$SHIFT_LIB CLOCK_SHIFT_FILE=$WORK/shift $GLOURNETD "\$@"
EOS
chmod +x "$WORK/glournetd"
GLOURNETD=$WORK/glournetd
METRICS_PORT=$((HTTP_PORT + 1))

OFFLINE_AFTER=6
start_daemon --hb-interval 1s --offline-after ${OFFLINE_AFTER}s --sweep-interval 1s \
	--set guard.threshold=0 --set expire.after_days=1 --metrics "127.0.0.1:$METRICS_PORT"
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix htime --state "$WORK/state" >/dev/null
# Endpoints 0..7 heartbeat throughout; 8 and 9 never do.
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 60 --first 0 --count 8 >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
wait_field $((OFFLINE_AFTER + 6)) .offline 2 show status
[ "$(field .online show status)" = 8 ] || fail "8 heartbeating endpoints online"
[ "$(field .clock.steps_forward show stats)" = 0 ] || fail "no step before the test makes one"
pass "8 online, 2 silent offline before any step"

# Forward two days: beyond offline_after and expire.after_days = 1.
echo 172800 >"$WORK/shift"
wait_field 5 .clock.steps_forward 1 show stats
[ "$(field .clock.offset show stats)" -ge 172799 ] || fail "the offset is the step"
acc=$(field .total.accepted show stats)
sleep $((OFFLINE_AFTER + 2))   # sweeps, and an expiry pass if one were due
[ "$(field .clients show status)" = 10 ] || fail "a forward step removed endpoints"
[ "$(field .expired show status)" = 0 ] || fail "a forward step expired endpoints"
[ "$(field .online show status)" = 8 ] || fail "a forward step marked endpoints offline: $(ctlj show status | jq -c '{online,offline}')"
[ "$(field .total.accepted show stats)" -gt $((acc + 8)) ] ||
	fail "heartbeats on the clock learned before the step still count"
real=$(field .clock.real show stats)
[ $((real - $(date +%s))) -ge 172790 ] || fail "show stats gives the real (stepped) clock"
grep -q "the real clock stepped forward by 17280[01]s" "$WORK/daemon.log" || fail "the step is logged"
pass "forward step of 2 days: seen, logged, counted; nobody offline, nobody removed"

# A new registration learns the stepped clock; its heartbeats count too.
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--guid-prefix htimenew --state "$WORK/state2" >/dev/null
g=$(grep -v '^#' "$WORK/state2" | head -1 | awk '{print $1}')
in_ns "$AGENT" heartbeat --state "$WORK/state2" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration $((OFFLINE_AFTER + 3)) >/dev/null 2>&1
[ "$(field .status show client "$g")" = online ] || fail "an endpoint on the stepped clock: online"
wait_field $((OFFLINE_AFTER + 4)) .status offline show client "$g"
pass "durations still run after the step: a silent endpoint offline after offline_after"

curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics"
grep -q '^glournet_clock_steps_total{direction="forward"} 1$' "$WORK/metrics" ||
	fail "metrics count the forward step: $(grep clock "$WORK/metrics")"
grep -q '^glournet_clock_offset_seconds 1728' "$WORK/metrics" || fail "metrics give the offset"
pass "metrics: glournet_clock_steps_total, glournet_clock_offset_seconds"
kill $AGENT_PID 2>/dev/null || true

# Backward: an hour back during the restart grace leaves R9 on.
stop_daemon
echo 0 >"$WORK/shift"
start_daemon_only --hb-interval 1s --offline-after 60s --sweep-interval 1s \
	--set guard.threshold=0
[ "$(field .restart_grace show status)" = true ] || fail "restart grace after the start"
echo -3600 >"$WORK/shift"
wait_field 5 .clock.steps_backward 1 show stats
sleep 2
[ "$(field .restart_grace show status)" = true ] || fail "a backward step switched R9 off"
[ "$(field .offline show status)" = 0 ] || fail "offline during the grace after a backward step"
up=$(field .uptime show status)
[ "$up" -lt 60 ] || fail "uptime wrapped after a backward step: $up"
grep -q "the real clock stepped backward by 3600s" "$WORK/daemon.log" || fail "the step is logged"
pass "backward step of 1 h: R9 stays on, uptime $up s, nobody offline"
echo "PASS"
