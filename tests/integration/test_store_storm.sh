#!/usr/bin/env bash
# Registrations when the store cannot keep up (issue 13 item 10: on a 600
# KiB tmpfs 32 of 599 clients timed out and the alarm was clear). Every
# client waiting exactly --http-timeout must get 201 or 503 (with
# Retry-After) in time, and the alarm must be up, whichever way the write
# fails or stalls:
#  - a full disk: ~600 registrations at once on a 600 KiB tmpfs;
#  - a stalled writer: another process holds the database's write lock, so
#    a commit neither fails nor finishes for seconds: the alarm rises
#    (STORE_STALL_MS) before SQLite's busy timeout turns it into an error.
# Then the disk grows and the lock goes: the alarm clears, the queue
# commits, and after kill -9 every registration answered 201 is there.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=stst$$
STATE=$WORK/gnstate
HOLD=8      # --http-timeout, and every client's own timeout
N=600

store_cleanup() {
	[ -n "${LOCKER:-}" ] && kill "$LOCKER" 2>/dev/null
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	fi
	if mountpoint -q "$STATE"; then umount "$STATE" || umount -l "$STATE" || true; fi
}
trap 'rc=$?; store_cleanup; set +e; (exit $rc); cleanup' EXIT

# storm NAME N: N registrations at once, each client waiting $HOLD s; one
# line per client in $WORK/NAME.out: "CODE GUID SECONDS RETRY-AFTER".
# curl runs at most 300 transfers in parallel: one curl per 200.
storm() {
	local i k g pids=()
	rm -f "$WORK/$1".*.curl
	for i in $(seq 0 $(($2 - 1))); do
		k=$WORK/$1.$((i / 200)).curl g=$1-$i-$(printf %040d "$i")
		[ ! -s "$k" ] || echo next >>"$k"   # between transfers, not after the last
		cat >>"$k" <<-EOF
		url = "http://127.0.0.1:$HTTP_PORT/v1/register"
		header = "Authorization: Bearer $TOKEN"
		header = "Content-Type: application/json"
		data = "{\"guid\":\"$g\",\"hostname\":\"h-$i-$(printf %0200d 0)\",\"ips\":[\"10.9.0.1\"],\"reason\":\"install\",\"notify_port\":21112}"
		max-time = $HOLD
		output = "$WORK/$g.body"
		write-out = "%{http_code} $g %{time_total} %header{retry-after}\n"
		EOF
	done
	for k in "$WORK/$1".*.curl; do
		curl -s --parallel --parallel-immediate --parallel-max 200 --config "$k" \
			>"$k.out" 2>/dev/null &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k" || true; done
	cat "$WORK/$1".*.curl.out >"$WORK/$1.out"
	[ "$(wc -l <"$WORK/$1.out")" = "$2" ] || fail "$1: $(wc -l <"$WORK/$1.out") answers of $2"
}
# judge NAME: every answer 201 or 503 with Retry-After, within $HOLD s.
judge() {
	local bad
	bad=$(awk -v hold=$HOLD '!(($1 == 201 || ($1 == 503 && $4 > 0)) && $3 < hold)' "$WORK/$1.out")
	[ -z "$bad" ] || fail "$1: $(wc -l <<<"$bad") clients without 201/503+Retry-After in ${HOLD}s, e.g. $(head -3 <<<"$bad" | tr '\n' ';')"
	OK=$(awk '$1 == 201' "$WORK/$1.out" | wc -l)
	BUSY=$(awk '$1 == 503' "$WORK/$1.out" | wc -l)
	SLOWEST=$(sort -k3 -n "$WORK/$1.out" | tail -1 | awk '{print $3}')
}

mkdir -p "$STATE"
mount -t tmpfs -o size=600k,mode=0700 "gn-$TAG" "$STATE" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
start_daemon --register-rate 0 --http-timeout ${HOLD}s --http-max-conns 2048 --http-max-conns-per-source 0 --set guard.threshold=0

# ---- a full disk ----
# Batched commits write each page once, so 600 rows fit in 600 KiB when
# they come at once: leave the store 128 KiB of it.
dd if=/dev/zero of="$STATE/filler" bs=4k status=none 2>/dev/null || true
truncate -s "-128K" "$STATE/filler"
storm full $N
judge full
[ "$BUSY" -gt 0 ] || fail "the disk never filled: $OK answered 201"
[ "$(field .store.ok show status)" = false ] || fail "503s but the store alarm is clear"
alarm=$(field .store.alarm show status)
grep -qF "full" <<<"$alarm" || fail "alarm '$alarm' does not say the disk is full"
pass "$N at once on a 600 KiB tmpfs: $OK 201, $BUSY 503 with Retry-After, slowest ${SLOWEST}s < ${HOLD}s; alarm: $alarm"
grep -q "held answer(s) got 503 + Retry-After: the store did not commit" "$WORK/daemon.log" || fail "no log line for the 503s"

# The disk grows: the queue commits, the alarm clears.
mount -o remount,size=64m "$STATE"
rm -f "$STATE/filler"
wait_field 15 .store.ok true show status
wait_field 15 .store.queue_len 0 show stats
pass "the disk grown: alarm cleared, queue committed"

# ---- a stalled writer: another process holds the write lock ----
python3 - "$STATE/glournet.db" >"$WORK/locker.out" 2>&1 <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(14)
c.execute("ROLLBACK")
EOF
LOCKER=$!
for _ in $(seq 50); do grep -q locked "$WORK/locker.out" && break; sleep 0.1; done
grep -q locked "$WORK/locker.out" || fail "the locker did not get the lock: $(cat "$WORK/locker.out")"
T0=$(date +%s.%N)
storm stall 40 &
STORM=$!
stall_seen=
for _ in $(seq 60); do
	alarm=$(field .store.alarm show status)
	case $alarm in *"has not finished"*) stall_seen=$alarm; break ;; esac
	sleep 0.1
done
after=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[ -n "$stall_seen" ] || fail "no stall alarm ${after}s into a held write lock (SQLite gives up at 5 s)"
wait "$STORM"
judge stall
[ "$OK" = 0 ] || fail "$OK registrations answered 201 while the store could not commit"
pass "a held write lock: alarm after ${after}s ('$stall_seen'); 40 clients: $BUSY 503 with Retry-After, slowest ${SLOWEST}s < ${HOLD}s"

wait "$LOCKER"; LOCKER=
wait_field 15 .store.ok true show status
wait_field 15 .store.queue_len 0 show stats
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--guid-prefix after --state "$WORK/after" --timeout $HOLD >/dev/null || fail "no registration after the lock went"
pass "the lock released: alarm cleared, queue committed, a new registration answered"

# ---- nothing answered 201 was lost ----
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
start_daemon_only --register-rate 0
lost=0
while read -r code guid _; do
	[ "$code" = 201 ] || continue
	want=$(jq -r .id "$WORK/$guid.body")
	got=$(ctlj show client "$guid" 2>/dev/null | jq -r .id) || got=
	[ "$got" = "$want" ] || lost=$((lost + 1))
done < <(cat "$WORK/full.out" "$WORK/stall.out")
[ $lost = 0 ] || fail "$lost registrations answered 201 are gone after kill -9"
pass "after kill -9: every registration answered 201 is there with its id ($(field .clients show status) clients)"
echo PASS
