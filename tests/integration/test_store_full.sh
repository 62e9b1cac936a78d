#!/usr/bin/env bash
# A store that cannot be written (issue #5: "a full disk or a read-only
# store: a clear error and an alarm; heartbeats keep being processed; the
# store catches up when it can"). --state-dir is a small tmpfs; while
# endpoints heartbeat, it is made unwritable. Then:
#  - registrations are held, never answered 201 before they are durable: one
#    held longer than --http-timeout gets 503 ("retry"), one that outlives
#    the outage is answered 201 once its commit lands;
#  - show status / show stats carry the store alarm with the database's own
#    error text, and the queued writes;
#  - heartbeats are still accepted and nobody goes offline, though the
#    outage lasts longer than offline_after;
#  - once writable again the alarm clears and the queue commits; after
#    kill -9 and a restart every answered registration is there, with its
#    id and slot.
# Unwritable means full: `mount -o remount,ro` is refused (EBUSY) while
# glournetd holds the database open for writing, on tmpfs as on any file
# system, so a read-only store only happens when the kernel forces it
# (e.g. ext4 errors=remount-ro), and then every write fails with EROFS:
# a failed commit like ENOSPC's, retried the same way (test_store.c covers
# a non-ENOSPC write error: test_io_error).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=bkro$$          # names of the netns and veth (at most 11 characters)
STATE=$WORK/gnstate
HOLD=10             # --http-timeout: a held answer older than this is a 503
OFF=8               # offline_after: the outage lasts longer
BG_PIDS=()

store_cleanup() {
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
	if mountpoint -q "$STATE"; then
		umount "$STATE" || umount -l "$STATE" || true
	fi
}
trap 'rc=$?; store_cleanup; set +e; (exit $rc); cleanup' EXIT

mkdir -p "$STATE"
if ! mount -t tmpfs -o size=24m,mode=0700 "gn-$TAG-state" "$STATE"; then
	echo "SKIP: cannot mount a tmpfs here"
	exit 77
fi
start_daemon --set heartbeat.interval=1s --set heartbeat.offline_after=${OFF}s \
	--set guard.threshold=0 --sweep-interval 1s --http-timeout ${HOLD}s

"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix hb --state "$WORK/state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 120 --first 0 --count 10 >"$WORK/agent.log" 2>&1 &
BG_PIDS+=($!)
wait_field 10 .online 10 show status
[ "$(field .store.ok show status)" = true ] || fail "store alarm before any trouble"
[ "$(field .store.alarm show status)" = "" ] || fail "store alarm text before any trouble"
pass "10 endpoints online over heartbeats, store ok"

# register GUID: POST /v1/register in the background; answer in $WORK/reg-GUID.{code,body}.
register() {
	curl -s --max-time 60 -o "$WORK/reg-$1.body" -w '%{http_code}' \
		-X POST "http://127.0.0.1:$HTTP_PORT/v1/register" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d "{\"guid\":\"$1\",\"hostname\":\"$1\",\"ips\":[\"10.9.0.1\"],\"reason\":\"install\",\"notify_port\":21112}" \
		>"$WORK/reg-$1.code" 2>/dev/null &
	BG_PIDS+=($!)
	eval "PID_$(tr - _ <<<"$1")=\$!"
}
pid_of() { eval "echo \$PID_$(tr - _ <<<"$1")"; }
answered() { ! kill -0 "$(pid_of "$1")" 2>/dev/null; }
code_of() { cat "$WORK/reg-$1.code" 2>/dev/null; }

# ---- the store becomes unwritable ----
MODE=full
dd if=/dev/zero of="$STATE/filler" bs=64k status=none 2>/dev/null || true
[ "$(df --output=avail -B1 "$STATE" | tail -1)" -eq 0 ] || fail "the tmpfs is not full"
T0=$(date +%s)
accepted0=$(field .total.accepted show stats)
for i in 0 1 2; do register "early-$i"; done
wait_field 5 .store.ok false show status
alarm=$(field .store.alarm show status)
want='disk is full'
grep -qF "$want" <<<"$alarm" || fail "store alarm '$alarm' does not say '$want'"
grep -qF "registrations held" <<<"$alarm" || fail "store alarm '$alarm' does not say what waits"
ctl show status | grep -qF "$want" || fail "the human show status has no store alarm"
[ "$(field .store.commit_errors show stats)" -ge 1 ] || fail "no failed commit counted"
[ "$(field .store.queue_len show stats)" -ge 3 ] || fail "the 3 registrations are not queued"
for i in 0 1 2; do answered "early-$i" && fail "early-$i answered $(code_of "early-$i") while the store is $MODE"; done
pass "store $MODE: alarm in show status/stats: $alarm"

# Held past --http-timeout: 503, never 201.
sleep $(( T0 + HOLD + 2 - $(date +%s) > 0 ? T0 + HOLD + 2 - $(date +%s) : 0 ))
for i in 0 1 2; do
	answered "early-$i" || fail "early-$i still held after --http-timeout"
	[ "$(code_of "early-$i")" = 503 ] || fail "early-$i answered $(code_of "early-$i") with the store $MODE"
	grep -qF 'did not commit' "$WORK/reg-early-$i.body" || fail "early-$i: 503 body $(cat "$WORK/reg-early-$i.body")"
done
pass "registrations held past --http-timeout get 503 'the store did not commit in time; retry'"

for i in 0 1 2; do register "late-$i"; done
sleep 2
# Longer than offline_after without a commit: heartbeats still count.
[ $(( $(date +%s) - T0 )) -gt $OFF ] || fail "the outage is not longer than offline_after"
while read -r guid _; do
	case $guid in \#*) continue ;; esac
	[ "$(field .status show client "$guid")" = online ] || fail "$guid went offline with the store $MODE"
done <"$WORK/state"
[ "$(field .total.accepted show stats)" -gt "$accepted0" ] || fail "heartbeats not accepted with the store $MODE"
[ "$(field .store.ok show status)" = false ] || fail "store alarm cleared while still $MODE"
for i in 0 1 2; do answered "late-$i" && fail "late-$i answered $(code_of "late-$i") while the store is $MODE"; done
pass "after $(( $(date +%s) - T0 )) s $MODE ($OFF s offline_after): the 10 heartbeating stay online, heartbeats accepted ($accepted0 -> $(field .total.accepted show stats))"

# ---- writable again: the store catches up ----
rm -f "$STATE/filler"
wait_field 5 .store.ok true show status
[ "$(field .store.alarm show status)" = "" ] || fail "alarm text left after recovery"
for _ in $(seq 50); do answered late-0 && answered late-1 && answered late-2 && break; sleep 0.1; done
for i in 0 1 2; do
	answered "late-$i" || fail "late-$i still held after the store recovered"
	[ "$(code_of "late-$i")" = 201 ] || fail "late-$i answered $(code_of "late-$i") after recovery"
	jq -e '.id and .key and .slot != null' "$WORK/reg-late-$i.body" >/dev/null \
		|| fail "late-$i: answer $(cat "$WORK/reg-late-$i.body")"
done
wait_field 5 .store.queue_len 0 show stats
pass "writable again: alarm cleared, queue committed, the held registrations answered 201"

# ---- kill -9: every answered registration survived ----
for i in 0 1 2; do
	jq -r '"\(.id) \(.slot)"' "$WORK/reg-late-$i.body" >"$WORK/late-$i.want"
done
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
start_daemon_only --sweep-interval 1s
for i in 0 1 2; do
	got=$(ctlj show client "late-$i" | jq -r '"\(.id) \(.slot)"') || fail "late-$i lost by kill -9"
	[ "$got" = "$(cat "$WORK/late-$i.want")" ] || fail "late-$i: id/slot $got, answered $(cat "$WORK/late-$i.want")"
done
while read -r guid id slot _; do
	case $guid in \#*) continue ;; esac
	[ "$(field .id show client "$guid")" = "$id" ] || fail "$guid: id changed"
done <"$WORK/state"
# The 503'd ones were queued too and committed with the rest; their agents retry.
[ "$(field .clients show status)" = 16 ] || fail "$(field .clients show status) clients after restart, want 16"
pass "after kill -9: the 201-answered registrations kept their id and slot; 16 clients"
echo PASS
