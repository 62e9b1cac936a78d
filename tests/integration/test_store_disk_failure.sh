#!/usr/bin/env bash
# The file system under the store fails while glournetd runs (issue #5: "a
# full disk or a read-only store: a clear error and an alarm; heartbeats keep
# being processed"). --state-dir is ext4 on a loop file; mid-run the file
# system is shut down (EXT4_IOC_SHUTDOWN, what ext4 does to itself on a
# failing disk: every write from then on fails with EIO, the journal is
# aborted). Then:
#  - the store alarm names the failure and the database, in show status;
#  - registrations are never answered 201: held, then 503 "retry" after
#    --http-timeout;
#  - heartbeats are still accepted and nobody goes offline;
#  - after a restart on the remounted disk (journal replayed), every
#    registration answered before the failure is there with its id and slot;
#  - a state directory on a read-only mount: glournetd refuses to start and
#    says which directory.
# A kernel-made read-only remount (errors=remount-ro) cannot be produced
# here: no device-mapper in this kernel, `mount -o remount,ro` is refused
# (EBUSY) while the database is open, and writes to a read-only loop device
# are let through with a warning. Its writes fail (EROFS) through the same
# failed-commit path as this EIO; test_store_full.sh covers a full disk.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
# In a mount namespace of its own: a namespace that any other process makes
# meanwhile (an `ip netns exec` of a test running beside this one) would
# copy the loop mount and keep the dead file system busy past the remount.
if [ -z "${GN_PRIVATE_MOUNTS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	exec env GN_PRIVATE_MOUNTS=1 unshare -m --propagation private "$0" "$@"
fi
. "$SRC/tests/integration/lib.sh"
for tool in losetup mkfs.ext4; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
STATE=$WORK/gnstate
IMG=$WORK/disk.img
HOLD=6              # --http-timeout
OFF=6               # offline_after: the outage lasts longer
LOOP=
BG_PIDS=()

disk_cleanup() {
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	fi
	mountpoint -q "$STATE" && { umount "$STATE" || umount -l "$STATE" || true; }
	mountpoint -q "$WORK/ro" && { umount "$WORK/ro" || true; }
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
}
trap 'rc=$?; disk_cleanup; set +e; (exit $rc); cleanup' EXIT

truncate -s 96M "$IMG"
LOOP=$(losetup -f --show "$IMG") || { echo "SKIP: no loop device"; exit 77; }
mkfs.ext4 -q "$LOOP"
mkdir -p "$STATE"
mount "$LOOP" "$STATE"

start_daemon --set heartbeat.interval=1s --set heartbeat.offline_after=${OFF}s \
	--set guard.threshold=0 --sweep-interval 1s --http-timeout ${HOLD}s
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix ro --state "$WORK/state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 120 >"$WORK/agent.log" 2>&1 &
BG_PIDS+=($!)
wait_field 10 .online 10 show status
[ "$(field .store.ok show status)" = true ] || fail "store alarm before any trouble"
pass "10 endpoints registered (answered after commit) and online"

# ---- the disk fails: ext4 shuts itself down, every write fails ----
python3 -c '
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))   # EXT4_IOC_SHUTDOWN, NOLOGFLUSH
' "$STATE" || { echo "SKIP: EXT4_IOC_SHUTDOWN refused"; exit 77; }
T0=$(date +%s)
code=$(curl -s --max-time 30 -o "$WORK/late.body" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"guid":"during-ro","hostname":"x"}' || true)
[ "$code" = 503 ] || fail "a registration the store cannot commit got $code, not 503: $(cat "$WORK/late.body")"
[ $(( $(date +%s) - T0 )) -ge $((HOLD - 1)) ] || fail "the 503 came before --http-timeout"
grep -qi "retry" "$WORK/late.body" || fail "the 503 says to retry: $(cat "$WORK/late.body")"
pass "a registration during the failure: held, then 503 'retry', never 201"

for _ in $(seq 50); do [ "$(field .store.ok show status)" = false ] && break; sleep 0.2; done
[ "$(field .store.ok show status)" = false ] || fail "no store alarm"
alarm=$(field .store.alarm show status)
grep -Eqi "read-only|readonly|I/O|disk" <<<"$alarm" || fail "the alarm does not say what failed: $alarm"
grep -q "glournet.db" <<<"$alarm" || fail "the alarm names the database: $alarm"
awk -v m="$STATE" '$2 == m { print $4 }' /proc/mounts | grep -q shutdown \
	|| fail "ext4 is not shut down (test set-up)"
pass "the store alarm: $alarm"

acc0=$(field .total.accepted show stats)
sleep $((OFF + 2))
acc1=$(field .total.accepted show stats)
[ "$acc1" -gt $((acc0 + 10 * OFF / 2)) ] || fail "heartbeats stopped being accepted ($acc0 -> $acc1)"
[ "$(field .online show status)" = 10 ] || fail "endpoints went offline while the store was failing"
[ "$(field .store.ok show status)" = false ] || fail "the alarm cleared on a dead disk"
pass "heartbeats accepted ($acc0 -> $acc1) and all 10 online for over offline_after on a dead disk"

# ---- repair: a restart on the mended disk has every answered registration ----
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
# The agent runs under `ip netns exec`, in a mount namespace of its own that
# still holds the dead file system: it must go before the remount.
pkill -f "heartbeat --state $WORK/state" || true
for _ in $(seq 50); do pgrep -f "heartbeat --state $WORK/state" >/dev/null || break; sleep 0.1; done
# The last reference to the dead file system goes with the agent's mount
# namespace, which the kernel tears down a moment after the process exits.
for _ in $(seq 40); do
	umount "$STATE"
	mount "$LOOP" "$STATE"   # the journal is replayed: what was committed is there
	awk -v m="$STATE" '$2 == m { print $4 }' /proc/mounts | grep -q shutdown || break
	sleep 0.25
done
awk -v m="$STATE" '$2 == m { print $4 }' /proc/mounts | grep -qv shutdown \
	|| fail "the file system is still shut down after the remount (test set-up)"
start_daemon_only --set heartbeat.interval=1s --set heartbeat.offline_after=${OFF}s
[ "$(field .clients show status)" = 10 ] || fail "after the repair: $(field .clients show status) clients, want 10"
[ "$(field .store.ok show status)" = true ] || fail "store alarm after the repair"
while read -r guid id slot _; do
	case $guid in \#*) continue ;; esac
	[ "$(field .id show client "$guid")" = "$id" ] || fail "$guid: id changed"
	[ "$(field .slot show client "$guid")" = "$slot" ] || fail "$guid: slot changed"
done <"$WORK/state"
if ctl show client during-ro >/dev/null 2>&1; then fail "a registration answered 503 (never committed) came back"; fi
pass "after a remount and a restart: all 10 answered registrations, ids and slots kept; the alarm clear"

# ---- a read-only state directory at start: a refusal that names it ----
stop_daemon
mkdir -p "$WORK/ro"
mount -t tmpfs -o size=4m,ro "gn-ro-$$" "$WORK/ro"
out=$("$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$WORK/ro.sock" \
	--state-dir "$WORK/ro" --hb-addr "$LAB_COLLECTOR4" -- -l 0,1 --no-huge --no-shconf -m 256 \
	--file-prefix "gn-ro-$TAG" --no-pci --vdev net_null0,no-rx=1 2>&1) && fail "glournetd started on a read-only state directory"
grep -q "$WORK/ro" <<<"$out" && grep -qi "read-only" <<<"$out" \
	|| fail "the refusal does not name the directory and the cause: $(grep -v EAL <<<"$out" | tail -3)"
pass "a read-only state directory at start: refused, naming it"
