#!/usr/bin/env bash
# Issue #5's removal, end to end: an operator removes an endpoint while its
# agent keeps sending; its heartbeats are refused (unknown_slot), its slot is
# reused by a new endpoint once released, and the old owner's late heartbeat
# (hbforge, from the old state line) is refused as id_mismatch and changes
# nothing for the new owner; after a restart the removed endpoints stay
# removed, the new owner keeps the slot, and a hole left by a removal is
# free again.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

AGENT_PID=
stop_agent() {
	if [ -n "$AGENT_PID" ]; then
		kill -TERM "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
		AGENT_PID=
	fi
}
trap 'rc=$?; stop_agent; (exit $rc); cleanup' EXIT

start_daemon --set heartbeat.interval=1s --set heartbeat.offline_after=30s \
	--set guard.threshold=0 --sweep-interval 1s

"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 4 \
	--guid-prefix rm --state "$WORK/state" >/dev/null
# Straight through ip (not in_ns): $! is then the agent itself, to stop by pid.
ip netns exec "$(lab_ns "$TAG")" "$AGENT" heartbeat --state "$WORK/state" \
	--to "$LAB_COLLECTOR4" --interval 1 --duration 120 >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!

VICTIM=$(guid_of 1)
VICTIM_ID=$(state_line 1 | awk '{print $2}')
VICTIM_SLOT=$(field .slot show client "$VICTIM")
for _ in $(seq 50); do
	[ "$(field .last_heartbeat show client "$VICTIM")" -gt 0 ] && break
	sleep 0.1
done
[ "$(field .last_heartbeat show client "$VICTIM")" -gt 0 ] || fail "$VICTIM heartbeats"
[ "$(field .clients show status)" = 4 ] || fail "4 clients"
pass "4 endpoints registered and heartbeating; $VICTIM has slot $VICTIM_SLOT"

# --- remove it while its agent keeps sending
ctlj remove client "$VICTIM" --force >"$WORK/removed.json" || fail "remove client $VICTIM"
[ "$(jq -r '.removed | length' "$WORK/removed.json")" = 1 ] || fail "one removed"
[ "$(jq -r '.removed[0].guid' "$WORK/removed.json")" = "$VICTIM" ] || fail "answer names $VICTIM"
[ "$(jq -r '.removed[0].id' "$WORK/removed.json")" = "$VICTIM_ID" ] || fail "answer gives its id"
[ "$(jq -r '.clients' "$WORK/removed.json")" = 3 ] || fail "answer: 3 clients left"
expect_refused "'$VICTIM'" show client "$VICTIM"
expect_refused "'$VICTIM_ID'" show client "$VICTIM_ID"
expect_refused "'nosuch'" remove client "$(guid_of 2)" nosuch
[ "$(field .status show client "$(guid_of 2)")" = online ] || fail "a refused remove removed nothing"
[ "$(field .clients show status)" = 3 ] || fail "clients count down to 3"
[ "$(field .removed show status)" = 1 ] || fail "show status counts the removal"
pass "remove client $VICTIM: gone (show client names it), 3 clients"

before=$(drops unknown_slot)
for _ in $(seq 50); do [ "$(drops unknown_slot)" -ge $((before + 2)) ] && break; sleep 0.1; done
[ "$(drops unknown_slot)" -ge $((before + 2)) ] || fail "its heartbeats counted as unknown_slot"
wait_field 3 .slots.free 1 show status   # released after a grace period
[ "$(field .slots.quarantined show status)" = 0 ] || fail "quarantine drained"
pass "its agent's heartbeats are unknown_slot; the slot is free after the grace period"

timeout -s TERM 2 "$CTL" -s "$SOCK" watch --from 1 >"$WORK/watch.txt" 2>/dev/null || true
grep -q "$VICTIM_ID  $VICTIM  REMOVED (operator, was online)" "$WORK/watch.txt" \
	|| fail "watch shows the removal: $(cat "$WORK/watch.txt")"
grep -q "\"kind\":\"removed\",\"id\":\"$VICTIM_ID\"" "$WORK/gnstate/transitions.log" \
	|| fail "the transition log records the removal"
pass "the removal is in the feed (glournetctl watch) and the transition log"

# --- a new endpoint takes the slot; the old owner's heartbeats stay out
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--guid-prefix new --state "$WORK/new.state" >/dev/null
NEW=new-000000
[ "$(field .slot show client $NEW)" = "$VICTIM_SLOT" ] || fail "$NEW reuses slot $VICTIM_SLOT"
NEW_ID=$(field .id show client $NEW)
[ "$NEW_ID" != "$VICTIM_ID" ] || fail "$NEW has a new id"
[ "$(field .last_heartbeat show client $NEW)" = 0 ] || fail "$NEW starts never seen"
before=$(drops id_mismatch)
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid --index 1 \
	--count 5 >/dev/null
for _ in $(seq 50); do [ "$(drops id_mismatch)" -ge $((before + 5)) ] && break; sleep 0.1; done
[ "$(drops id_mismatch)" -ge $((before + 5)) ] || fail "the old owner's late heartbeat: id_mismatch"
sleep 1.5   # a sweep or more, with the old agent still sending too
[ "$(field .last_heartbeat show client $NEW)" = 0 ] || fail "an old heartbeat landed on $NEW"
[ "$(field .status show client $NEW)" = online ] || fail "$NEW online from its registration"
[ "$(field .reason show client $NEW)" = registered ] || fail "$NEW's reason is its registration"
in_ns python3 "$FORGE" --state "$WORK/new.state" --to "$LAB_COLLECTOR4" --kind valid >/dev/null
wait_field 3 .reason heartbeat show client $NEW
pass "$NEW reuses slot $VICTIM_SLOT; the old owner's heartbeats are id_mismatch and change nothing"

# --- a second removal leaves a hole; then restart
GAP=$(guid_of 2)
GAP_SLOT=$(field .slot show client "$GAP")
ctl remove client "$GAP" --force >/dev/null
wait_field 3 .slots.free 1 show status
stop_daemon
start_daemon_only --sweep-interval 1s
expect_refused "'$VICTIM'" show client "$VICTIM"
expect_refused "'$GAP'" show client "$GAP"
[ "$(field .clients show status)" = 3 ] || fail "3 clients after the restart"
[ "$(field .slot show client $NEW)" = "$VICTIM_SLOT" ] || fail "$NEW keeps slot $VICTIM_SLOT"
[ "$(field .id show client $NEW)" = "$NEW_ID" ] || fail "$NEW keeps its id"
[ "$(field .slots.free show status)" = 1 ] || fail "the hole at slot $GAP_SLOT is free again"
before=$(drops id_mismatch)
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid --index 1 \
	--count 3 >/dev/null
for _ in $(seq 50); do [ "$(drops id_mismatch)" -ge $((before + 3)) ] && break; sleep 0.1; done
[ "$(drops id_mismatch)" -ge $((before + 3)) ] || fail "after the restart: still id_mismatch"
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--first 1 --guid-prefix new --state "$WORK/new.state" >/dev/null
[ "$(field .slot show client new-000001)" = "$GAP_SLOT" ] || fail "the hole is reused after the restart"
pass "restart: removed ones stay removed, $NEW keeps slot and id, the hole is reused"
stop_agent
echo PASS
