#!/usr/bin/env bash
# Issue 13 item 10: a state directory whose disk stalls (fsfreeze: every
# write blocks, none fails, the way a hung NFS or iSCSI path or a dying
# disk behaves). The SQLite store has its own thread; the transition log
# and policy.json are written off the control thread too (io_offload.c),
# so while the disk is frozen:
#  - a registration gets the documented 503 "retry" within --http-timeout;
#  - show status answers, with the store alarm (a stalled commit);
#  - endpoints that stop heartbeating go offline (transitions happen; their
#    log lines wait), the others stay online;
#  - a settings change is refused within about a second, saying why, and
#    changes nothing;
# and once thawed the alarm clears, the waiting log lines are written and
# settings can be changed again. Without the offload, the first
# transition's write blocks the control thread: no 503, no show status.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
# A mount namespace of its own (test_store_disk_failure.sh says why).
if [ -z "${GN_PRIVATE_MOUNTS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	exec env GN_PRIVATE_MOUNTS=1 unshare -m --propagation private "$0" "$@"
fi
. "$SRC/tests/integration/lib.sh"
TAG=htimef$(($$ % 1000))   # lab names with the branch's name (tools/lab-net.sh)
EXC_IFACE=gnx-$TAG
for tool in losetup mkfs.ext4 fsfreeze; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
STATE=$WORK/gnstate
IMG=$WORK/disk.img
HOLD=6   # --http-timeout
OFF=3    # offline_after
LOOP=
FROZEN=
BG_PIDS=()

frozen_cleanup() {
	[ -z "$FROZEN" ] || fsfreeze -u "$STATE" || true   # never leave it frozen
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	fi
	mountpoint -q "$STATE" && { umount "$STATE" || umount -l "$STATE" || true; }
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
}
trap 'rc=$?; frozen_cleanup; set +e; (exit $rc); cleanup' EXIT

truncate -s 64M "$IMG"
LOOP=$(losetup -f --show "$IMG") || { echo "SKIP: no loop device"; exit 77; }
mkfs.ext4 -q "$LOOP"
mkdir -p "$STATE"
mount "$LOOP" "$STATE"

start_daemon --set heartbeat.interval=1s --set heartbeat.offline_after=${OFF}s \
	--set guard.threshold=0 --sweep-interval 1s --http-timeout ${HOLD}s
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix htime --state "$WORK/state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 60 --first 0 --count 8 >"$WORK/agent.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$(lab_ns "$TAG")" "$AGENT" heartbeat --state "$WORK/state" \
	--to "$LAB_COLLECTOR4" --interval 1 --duration 60 --first 8 --count 2 \
	>"$WORK/agent2.log" 2>&1 &
QUIT_PID=$!   # ip netns exec execs the agent: its own pid
BG_PIDS+=($QUIT_PID)
wait_field 10 .online 10 show status
[ "$(field .store.ok show status)" = true ] || fail "store alarm before any trouble"
pass "10 endpoints registered and online"

# ---- the disk stalls: every write to it blocks ----
fsfreeze -f "$STATE"
FROZEN=1
kill "$QUIT_PID"   # endpoints 8 and 9 fall silent: two transitions during the freeze
T0=$(date +%s)
code=$(curl -s --max-time $((HOLD + 10)) -o "$WORK/late.body" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"guid":"htime-frozen","hostname":"x"}' || true)
took=$(( $(date +%s) - T0 ))
[ "$code" = 503 ] || fail "a registration on a frozen disk got '$code' after ${took}s, not 503"
[ "$took" -le $((HOLD + 2)) ] || fail "the 503 took ${took}s, --http-timeout is ${HOLD}s"
grep -qi "retry" "$WORK/late.body" || fail "the 503 says to retry: $(cat "$WORK/late.body")"
pass "a registration on a frozen disk: 503 'retry' after ${took}s (--http-timeout ${HOLD}s)"

st=$(timeout 3 "$CTL" -s "$SOCK" -j show status) || fail "show status did not answer on a frozen disk"
[ "$(jq -r .online <<<"$st")" = 8 ] || fail "the 8 heartbeating endpoints online: $(jq -c '{online,offline}' <<<"$st")"
for i in 8 9; do
	[ "$(timeout 3 "$CTL" -s "$SOCK" -j show client "$(guid_of $i)" | jq -r .status)" = offline ] ||
		fail "silent endpoint $i offline during the freeze"
done
[ "$(jq -r .store.ok <<<"$st")" = false ] || fail "no store alarm on a frozen disk"
alarm=$(jq -r .store.alarm <<<"$st")
grep -qi "stall\|not finished" <<<"$alarm" || fail "the alarm does not say the disk stalls: $alarm"
pass "show status answers: 8 online, 2 offline, alarm: $alarm"
grep -q "transition log .* has not returned" "$WORK/daemon.log" || fail "the stalled log write is logged"
pass "the stalled transition-log write is logged, the loop goes on"

T0=$(date +%s)
out=$(timeout 10 "$CTL" -s "$SOCK" set heartbeat.interval 2s 2>&1) && fail "a settings change on a frozen disk was applied"
took=$(( $(date +%s) - T0 ))
[ "$took" -le 3 ] || fail "the refusal took ${took}s"
grep -qi "stalled" <<<"$out" || fail "the refusal does not say why: $out"
[ "$(field .settings.heartbeat.interval show settings 2>/dev/null || echo 1s)" != 2s ] || fail "the refused change applied"
timeout 3 "$CTL" -s "$SOCK" show status >/dev/null || fail "show status after the refused change"
pass "a settings change on a frozen disk: refused after ${took}s ($out)"

# ---- thawed: the alarm clears, the log lines land, settings work ----
fsfreeze -u "$STATE"
FROZEN=
wait_field 15 .store.ok true show status
for _ in $(seq 50); do [ "$(grep -c '"new":"offline"\|offline' "$STATE/transitions.log")" -ge 2 ] && break; sleep 0.2; done
grep -q "offline" "$STATE/transitions.log" || fail "the offline transitions reached the log after the thaw"
ctl set heartbeat.interval 2s >/dev/null || fail "a settings change after the thaw"
grep -q '"heartbeat.interval": *"\?2' "$STATE/policy.json" || grep -q "heartbeat.interval" "$STATE/policy.json" ||
	fail "policy.json written after the thaw"
pass "after the thaw: alarm clear, transitions logged, settings saved"
echo "PASS"
