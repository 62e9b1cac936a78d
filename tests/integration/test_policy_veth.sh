#!/usr/bin/env bash
# Issue #3's integration test, over the veth lab: the policy managed live
# from the CLI (invalid settings refused whole, settings persisted across a
# restart), R1 dual-stack reclassification, R4 registration of an
# unreachable endpoint without heartbeat, R6 SHUTDOWN, R8 transitions seen
# through `watch`, R10 mass-offline guard held and released.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

start_daemon --set heartbeat.interval=2s --set heartbeat.offline_after=6s \
	--set guard.threshold=0 --sweep-interval 1s
REV0=$(field .settings_rev show settings)

# --- Invalid settings: each refused with its name and range; nothing applied.
expect_refused "heartbeat.interval" set heartbeat.interval 0s
expect_refused "1s .. 129600m" set heartbeat.interval 129601m
expect_refused "is not a duration: write a number and a unit: ms, s, m, h or d" set heartbeat.offline_after 10x
expect_refused "heartbeat.scope" set heartbeat.scope everywhere
expect_refused "heartbeat.enabled" set heartbeat.enabled maybe
expect_refused "unknown setting 'foo'" set foo 1
expect_refused "poll.interval" set heartbeat.interval 5m poll.interval bogus
expect_refused "reversed" range add 10.0.0.9-10.0.0.1
expect_refused "host bits" range add 2001:db8::1/32
[ "$(field .settings_rev show settings)" = "$REV0" ] || fail "a refused set changed the revision"
[ "$(field '.settings[] | select(.name=="heartbeat.interval") | .value' show settings)" = 2s ] \
	|| fail "half of a refused set was applied"
pass "invalid settings refused with their names and ranges; old policy in force"

# --- 12 dual-stack endpoints heartbeating; 2 more for SHUTDOWN.
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 12 \
	--guid-prefix fleet --ips-base 198.51.100.1 --ips6-base 2001:db8:1:: \
	--state "$WORK/state" >/dev/null
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 2 \
	--guid-prefix sd --ips-base 203.0.113.1 --state "$WORK/sd.state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 120 >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
wait_field 5 .online 14 show status

# --- R1: ranges reclassify; dual-stack endpoints match either family.
# fleet-000000..2 have 198.51.100.1-3 (v4 range); fleet-000003..6 have
# 2001:db8:1::4-7, inside 2001:db8:1::/125 (v6 prefix: ::0-::7).
ctl range add 198.51.100.1-198.51.100.3 >/dev/null
ctl -j range add 2001:db8:1::/125 >"$WORK/range.json"
[ "$(jq .affected.unreachable "$WORK/range.json")" = 4 ] || fail "v6 prefix moved 4 more endpoints"
wait_field 3 .unreachable_online 7 show status
[ "$(field .online show status)" = 7 ] || fail "7 regular online (5 fleet + 2 sd)"
[ "$(field .status show client fleet-000000)" = unreachable/online ] || fail "v4 edge lo"
[ "$(field .status show client fleet-000002)" = unreachable/online ] || fail "v4 edge hi"
[ "$(field .status show client fleet-000003)" = unreachable/online ] || fail "v6 match, v4 not"
[ "$(field .status show client fleet-000007)" = online ] || fail "fleet-000007 outside both"
[ "$(field '.by_range[0].unreachable_online' show status)" = 3 ] || fail "by_range v4 count"
[ "$(field '.by_range[1].unreachable_online' show status)" = 4 ] || fail "by_range v6 count"
pass "R1: ranges reclassify 7 dual-stack endpoints to unreachable/online, counted per range"

# --- R4: heartbeat off, an unreachable endpoint registering is offline at once.
ctl set heartbeat.enabled off >/dev/null
curl -s -X POST "http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-d '{"guid":"u-1","ips":["198.51.100.2"],"reason":"install"}' >"$WORK/u1.json"
[ "$(jq .unreachable "$WORK/u1.json")" = true ] || fail "u-1 told it is unreachable"
[ "$(jq .heartbeat.enabled "$WORK/u1.json")" = false ] || fail "u-1 told heartbeat does not apply"
[ "$(jq .poll.enabled "$WORK/u1.json")" = true ] || fail "u-1 told to poll"
[ "$(field .status show client u-1)" = unreachable/offline ] || fail "R4: u-1 unreachable/offline"
[ "$(field .reason show client u-1)" = unreachable ] || fail "R4: reason unreachable"
curl -s -X POST "http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-d '{"guid":"r-1","ips":["192.0.2.9"],"reason":"restart"}' >/dev/null
[ "$(field .status show client r-1)" = online ] || fail "R4: a regular endpoint registering is online"
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--guid-prefix u --ips-base 198.51.100.3 --state "$WORK/u.state" >/dev/null
[ "$(field .status show client u-000000)" = unreachable/offline ] || fail "R4: u-000000"
pass "R4: unreachable without heartbeat offline at once; regular registration is contact"

# --- R5: an event never changes an unreachable endpoint's status; R3: a poll does.
API="python3 $SRC/tests/tools/glapi.py --server http://127.0.0.1:$HTTP_PORT"
$API --state "$WORK/u.state" event manual-update >"$WORK/ev.out"
[ "$(head -1 "$WORK/ev.out" | cut -d' ' -f1)" = 200 ] || fail "event answered $(cat "$WORK/ev.out")"
[ "$(field .status show client u-000000)" = unreachable/offline ] || fail "R5: event changed u-000000"
$API --state "$WORK/u.state" poll >"$WORK/poll.out"
[ "$(head -1 "$WORK/poll.out" | cut -d' ' -f1)" = 200 ] || fail "poll answered $(cat "$WORK/poll.out")"
[ "$(field .status show client u-000000)" = unreachable/online ] || fail "R3: poll makes it u/online"
[ "$(field .reason show client u-000000)" = poll ] || fail "R3: reason poll"
[ "$(tail -1 "$WORK/poll.out" | jq .heartbeat.enabled)" = false ] || fail "poll: heartbeat off"
ETAG=$(head -1 "$WORK/poll.out" | cut -d' ' -f2)
$API --state "$WORK/u.state" poll --etag "$ETAG" >"$WORK/poll2.out"
[ "$(head -1 "$WORK/poll2.out" | cut -d' ' -f1)" = 304 ] || fail "poll with its ETag: 304"
# Issue 14: a no-op change (set to the value in force, a range already
# there, both at once) keeps settings_rev, so the poll's ETag still holds.
REV1=$(field .settings_rev show settings)
[ "$(ctlj set heartbeat.enabled off | jq -c '[.settings_rev, .unchanged]')" = "[$REV1,true]" ] \
	|| fail "set to the value in force: not unchanged at revision $REV1"
ctl range add 198.51.100.1-198.51.100.3 >/dev/null
ctl set heartbeat.enabled off heartbeat.offline_after 6s >/dev/null
[ "$(field .settings_rev show settings)" = "$REV1" ] || fail "a no-op change bumped settings_rev from $REV1"
$API --state "$WORK/u.state" poll --etag "$ETAG" >"$WORK/poll-noop.out"
[ "$(head -1 "$WORK/poll-noop.out" | cut -d' ' -f1)" = 304 ] \
	|| fail "poll after no-op changes: $(head -1 "$WORK/poll-noop.out"), want 304"
pass "no-op set, range add of a present range: settings_rev stays $REV1, the poll gets 304"
ctl set heartbeat.enabled on >/dev/null
$API --state "$WORK/u.state" poll --etag "$ETAG" >"$WORK/poll3.out"
[ "$(head -1 "$WORK/poll3.out" | cut -d' ' -f1)" = 200 ] || fail "new settings_rev: 200, not 304"
# A regular endpoint that went offline comes back on an event (sd-000001 never heartbeats).
wait_field 8 .status offline show client sd-000001
$API --state "$WORK/sd.state" --index 1 event log-upload >/dev/null
[ "$(field .status show client sd-000001)" = online ] || fail "R5: event is contact for regular"
[ "$(field .reason show client sd-000001)" = event ] || fail "R5: reason event"
pass "R5 events (regular only), R3 polls (unreachable/online at once), ETag and 304"

# --- R6: SHUTDOWN takes an endpoint offline at once, the next heartbeat back.
in_ns python3 "$FORGE" --state "$WORK/sd.state" --to "$LAB_COLLECTOR6" --kind valid --index 0 >/dev/null
wait_field 3 .reason heartbeat show client sd-000000
sleep 1.1   # the SHUTDOWN must be later than that heartbeat
in_ns python3 "$FORGE" --state "$WORK/sd.state" --to "$LAB_COLLECTOR4" --kind shutdown --index 0 >/dev/null
wait_field 2 .status offline show client sd-000000
[ "$(field .reason show client sd-000000)" = shutdown ] || fail "R6: reason shutdown"
sleep 1.1
in_ns python3 "$FORGE" --state "$WORK/sd.state" --to "$LAB_COLLECTOR4" --kind valid --index 0 >/dev/null
wait_field 3 .status online show client sd-000000
pass "R6: SHUTDOWN offline at once (before offline_after), next heartbeat online"

# --- R10: the whole fleet falls silent together: the guard holds.
ctl set guard.threshold 50 >/dev/null
pkill -TERM -f "heartbeat --state $WORK/state " ; wait "$AGENT_PID" 2>/dev/null || true
wait_field 8 .guard.active true show status
sleep 4   # past offline_after: the transitions are due, and held
[ "$(field .guard.held show status)" -ge 12 ] || fail "R10: 12 offline transitions held"
[ "$(field .status show client fleet-000008)" = online ] || fail "R10: held endpoint still online"
ctl guard release --force >/dev/null
wait_field 3 .status offline show client fleet-000008
[ "$(field .status show client fleet-000000)" = unreachable/offline ] || fail "released: u/offline"
[ "$(field .guard.active show status)" = false ] || fail "guard cleared after release"
pass "R10: mass offline held with the alarm raised, released by an operator"

# --- R8: the feed saw all of it, in order, once.
timeout -s TERM 2 "$CTL" -s "$SOCK" -j watch --from 1 >"$WORK/feed.jsonl" 2>/dev/null || true
jq -s -e 'map(select(.seq)) | (map(.seq) | . == (sort | unique))' "$WORK/feed.jsonl" >/dev/null \
	|| fail "R8: transitions not in order or repeated"
grep -q '"kind": *"guard-raised"' "$WORK/feed.jsonl" || fail "R8: guard raised in the feed"
grep -q '"reason": *"reclassified"' "$WORK/feed.jsonl" || fail "R8: reclassification in the feed"
grep -q '"reason": *"shutdown"' "$WORK/feed.jsonl" || fail "R8: shutdown in the feed"
[ -s "$WORK/gnstate/transitions.log" ] || fail "R8: transitions stored"
pass "R8: every transition once, in order, in the feed and the log"

# --- The policy survives a restart.
REV=$(field .settings_rev show settings)
stop_daemon
start_daemon_only --sweep-interval 1s
[ "$(field .settings_rev show settings)" = "$REV" ] || fail "settings_rev after restart"
[ "$(field '.settings[] | select(.name=="guard.threshold") | .value' show settings)" = 50 ] \
	|| fail "guard.threshold after restart"
[ "$(field '.ranges | length' range list)" = 2 ] || fail "ranges after restart"
pass "policy persisted across a restart"
echo PASS
