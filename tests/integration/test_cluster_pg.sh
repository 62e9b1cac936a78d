#!/usr/bin/env bash
# Issue 16, several collectors (docs/store.md "Several collectors"): one
# throwaway PostgreSQL, two glournetd (A and B) on their own veth labs and
# HTTP ports, 200 endpoints registered on A: 0-99 heartbeat to both
# collectors, 100-199 only to B, and of those 180-199 fall silent at a known
# time. Proves:
#  - exactly one decider (A, started first), in the database's `decider` row;
#  - the endpoints heard only through B stay online on the decider: B's
#    contact batches (one row per batch, arrays) reach it;
#  - the silent ones go offline within offline_after + the feed's bound;
#  - SIGTERM gives the lease up.
# The faults (kill -9 of either collector, SIGSTOP of the decider) are
# integration-fleet-collectors, on the pg_auto_failover formation.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=cl$(($$ % 1000))
PG=$(mktemp -d /tmp/glournet-pg.XXXXXX)
PGPW=pw-$$-secret
PG_LOG_STATEMENT=none
BG_PIDS=()
LEASE=3 OFF=6 N=200 SILENT_FIRST=180 SILENT_N=20

# Each collector: its lab tag, socket, exception interface, HTTP port, log, pid.
two_collectors "$T"
PGPORT=$(port_pick $((${C_PORT[b]} + 7)) 1) || fail "no free port for PostgreSQL"
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; two_collectors_stop; pg_teardown; set +e; (exit $rc); cleanup' EXIT

pg_setup
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
pass "a PostgreSQL 15 cluster on 127.0.0.1:$PGPORT"

OPTS=(--store "$URL" --lease ${LEASE}s --set heartbeat.interval=1s
	--set heartbeat.offline_after=${OFF}s --set guard.threshold=0 --sweep-interval 1s)
start_collector() {   # start_collector a|b: a new lab the first time
	use "$1"
	if [ "${2:-}" = again ]; then start_daemon_only --collector-name "cl-$1" "${OPTS[@]}"
	else start_daemon --collector-name "cl-$1" "${OPTS[@]}"; fi
	C_PID[$1]=$DAEMON_PID
}
holder() { sql "SELECT holder || ' ' || epoch FROM decider"; }

start_collector a
for _ in $(seq 50); do [ "$(holder)" = "cl-a 1" ] && break; sleep 0.1; done
[ "$(holder)" = "cl-a 1" ] || fail "A took the lease at epoch 1: $(holder)"
"$AGENT" register --server "http://127.0.0.1:${C_PORT[a]}" --token "$TOKEN" --count $N \
	--guid-prefix clu --state "$WORK/state" >/dev/null
# B loads the 200 from the store; the heartbeats begin at once (the
# registrations' own contact lasts offline_after).
start_collector b
hb() {   # hb COLLECTOR FIRST COUNT DURATION: heartbeats into that collector's lab
	ip netns exec "$(lab_ns "${C_TAG[$1]}")" "$AGENT" heartbeat --state "$WORK/state" \
		--to "$LAB_COLLECTOR4" --interval 1 --duration "$4" --first "$2" --count "$3" \
		>>"$WORK/agent-$1.log" 2>&1 &
	BG_PIDS+=($!)
}
hb a 0 100 200
hb b 0 100 200
hb b 100 $((SILENT_FIRST - 100)) 200
hb b $SILENT_FIRST $SILENT_N 200
SILENT_PID=${BG_PIDS[-1]}
sleep $((LEASE + 1))
[ "$(holder)" = "cl-a 1" ] || fail "the lease moved while A lives: $(holder)"
[ "$(sql "SELECT count(*) FROM collectors WHERE last_seen > now() - interval '${LEASE} seconds'")" = 2 ] ||
	fail "two live collectors in the collectors table"
use a; ca=$(ctlj show cluster)
use b; cb=$(ctlj show cluster)
[ "$(jq -r .deciding <<<"$ca") $(jq -r .deciding <<<"$cb")" = "true false" ] ||
	fail "show cluster: A decides, B does not: $ca / $cb"
[ "$(jq -r '[.collectors[] | select(.decides)] | length' <<<"$cb")" = 1 ] ||
	fail "show cluster on B: exactly one collector decides: $cb"
[ "$(jq -r '.decider.holder + " " + (.decider.epoch | tostring)' <<<"$cb")" = "cl-a 1" ] ||
	fail "show cluster on B names cl-a at epoch 1: $cb"
jq -e '.feed.batches_sent >= 1' <<<"$cb" >/dev/null || fail "B sent contact batches: $cb"
pass "exactly one decider: cl-a at epoch 1 (B is live and does not take it); show cluster on B: $(jq -c '{deciding, decider, collectors: [.collectors[] | {name, decides}], primary, feed: .feed.batches_sent}' <<<"$cb")"

use a
sleep $((OFF + 4 - LEASE - 1))
[ "$(field .offline show status)" = 0 ] || fail "nobody offline on the decider: $(ctlj show status | jq -c '{online, offline}')"
[ "$(field .online show status)" = $N ] || fail "all $N online on the decider"
batches=$(grep -c . <<<"$(sql "SELECT 1 FROM contact_batches")" || true)
pass "endpoints 100-199, heard only through B, stay online on the decider A ($N online, 0 offline; $batches batch row(s) not yet read)"

kill "$SILENT_PID"
T_S=$(date +%s%N)
for _ in $(seq 200); do [ "$(field .offline show status)" = $SILENT_N ] && break; sleep 0.1; done
took=$(( ($(date +%s%N) - T_S) / 1000000 ))
[ "$(field .offline show status)" = $SILENT_N ] || fail "the $SILENT_N silent endpoints offline on A after ${took} ms"
BOUND=$(( (OFF + 2 + 1 + 2) * 1000 ))   # offline_after + a batch + a sweep + slack
[ $took -le $BOUND ] || fail "the silent ones took $took ms, over $BOUND"
pass "the $SILENT_N silent endpoints offline on A ${took} ms after they fell silent (offline_after ${OFF}s, bound ${BOUND} ms)"

for c in a b; do
	use "$c"; stop_daemon; C_PID[$c]=
done
[ "$(sql "SELECT expires_at < now() FROM decider")" = t ] || fail "the decider gave the lease up on SIGTERM"
pass "SIGTERM gives the lease up"
