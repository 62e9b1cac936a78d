#!/usr/bin/env bash
# Restarts lose nothing (issues #3 R9 and #5): kill -9 at any moment loses no
# answered registration and no applied setting; after the restart every
# endpoint is back with its id, slot and key (its heartbeats are accepted
# again), and nobody who was online goes offline before offline_after has
# passed since the start (R9), even when the last checkpoint is old.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

OFF=8
start_daemon --set heartbeat.interval=2s --set heartbeat.offline_after=${OFF}s \
	--set guard.threshold=0 --sweep-interval 1s

"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix rs --state "$WORK/state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 300 --first 0 --count 5 >"$WORK/agent.log" 2>&1 &
wait_field $((OFF + 4)) .offline 5 show status
ctl set heartbeat.interval 3s >/dev/null
# Registrations answered right before the crash must survive it.
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 20 \
	--guid-prefix late --state "$WORK/late.state" >/dev/null
for i in 0 4 9; do ctlj show client "rs-00000$i" >"$WORK/before-$i.json"; done
pass "10 endpoints (5 heartbeating), a setting and 20 late registrations, then kill -9"

# The crash, with the fleet silent too: the collector hears nobody until R9 ends.
pkill -TERM -f "heartbeat --state $WORK/state " || true
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
sleep $((OFF - 2))
T1=$(date +%s)
start_daemon_only --sweep-interval 1s
# R9 first, while the clock matters: the fleet's last contact is now more
# than offline_after ago (crash + silence), yet those online stay online.
sleep $(( T1 + 4 - $(date +%s) > 0 ? T1 + 4 - $(date +%s) : 0 ))
[ "$(field .restart_grace show status)" = true ] || fail "restart grace in force"
[ "$(field .status show client rs-000000)" = online ] || fail "R9: rs-000000 offline during grace"
[ "$(field .online show status)" -ge 5 ] || fail "R9: online endpoints went offline during the grace"
pass "R9: no endpoint offline for lack of contact during the restart grace"

[ "$(field .clients show status)" = 30 ] || fail "30 endpoints after kill -9, got $(field .clients show status)"
[ "$(field '.settings[] | select(.name=="heartbeat.interval") | .value' show settings)" = 3s ] \
	|| fail "the setting applied before kill -9 was lost"
while read -r guid id slot key _; do
	case $guid in \#*) continue ;; esac
	[ "$(field .id show client "$guid")" = "$id" ] || fail "$guid: id changed"
	[ "$(field .slot show client "$guid")" = "$slot" ] || fail "$guid: slot changed"
done <"$WORK/late.state"
for i in 0 4 9; do
	for k in id slot; do
		[ "$(ctlj show client "rs-00000$i" | jq -r ".$k")" = "$(jq -r ".$k" "$WORK/before-$i.json")" ] \
			|| fail "rs-00000$i: $k differs after restart"
	done
done
[ "$(field .status show client rs-000009)" = offline ] || fail "rs-000009 was offline before the crash"
pass "every answered registration, its id and slot, and the setting survived kill -9"

wait_field $((OFF + 4)) .status offline show client rs-000000
[ $(( $(date +%s) - T1 )) -ge $OFF ] || fail "R9: offline before offline_after since the start"
pass "R9: offline once offline_after has passed since the start"

# The keys survived: the restored endpoints' heartbeats are accepted again.
before=$(field .total.accepted show stats)
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid --index 2 >/dev/null
wait_field 3 .status online show client rs-000002
[ "$(field .total.accepted show stats)" -gt "$before" ] || fail "heartbeat with the old key accepted"
pass "keys restored: a heartbeat signed with the pre-crash key is accepted"
echo PASS
