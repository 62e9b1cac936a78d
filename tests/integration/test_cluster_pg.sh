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
#  - kill -9 of A: B takes the lease within lease + a margin, with a higher
#    epoch, applies R9 from its takeover, and no endpoint outside the silent
#    set ever goes offline (the transitions table);
#  - A restarted (same name) does not decide while B holds the lease;
#  - SIGSTOP of the decider B for twice the lease: A takes over (epoch 3),
#    B resumed steps down at once, still no offline outside the silent set.
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

# ---- kill -9 of the decider ----
kill -KILL "${C_PID[a]}"; wait "${C_PID[a]}" 2>/dev/null || true; C_PID[a]=
T_K=$(date +%s%N)
for _ in $(seq 100); do [ "$(holder)" = "cl-b 2" ] && break; sleep 0.1; done
took=$(( ($(date +%s%N) - T_K) / 1000000 ))
[ "$(holder)" = "cl-b 2" ] || fail "B did not take the lease: $(holder)"
[ $took -le $(( (LEASE + 2) * 1000 )) ] || fail "the takeover took $took ms, over lease + 2 s"
use b
grep -q "deciding from now (epoch 2)" "$WORK/b.log" || fail "B logs its takeover"
jq -e '.deciding and .epoch == 2 and .took == 1' <<<"$(ctlj show cluster)" >/dev/null ||
	fail "show cluster on B: deciding at epoch 2: $(ctlj show cluster)"
pass "kill -9 of A: B decides ${took} ms later (lease ${LEASE}s), epoch 1 -> 2"
sleep $((OFF + 3))
[ "$(field .offline show status)" = $SILENT_N ] || fail "on B: $(ctlj show status | jq -c '{online, offline}') (want $SILENT_N offline)"
silent_ids=$(for i in $(seq $SILENT_FIRST $((N - 1))); do state_line "$i" | awk '{print $2}'; done | sort)
went=$(sql "SELECT DISTINCT lpad(to_hex(id), 16, '0') FROM transitions WHERE new_status = 1" | sort)
extra=$(comm -13 <(echo "$silent_ids") <(echo "$went"))
[ -z "$extra" ] || fail "endpoints outside the silent set went offline: $extra"
pass "after the failover: $SILENT_N offline on B, $(($N - SILENT_N)) online; no offline transition outside the silent set"

# ---- the old decider restarted ----
start_collector a again
sleep $((LEASE + 2))
[ "$(holder)" = "cl-b 2" ] || fail "the restarted A took the lease: $(holder)"
[ "$(grep -c 'decides now' "$WORK/a.log")" = 1 ] || fail "the restarted A decided"
use a
[ "$(field .deciding show cluster)" = false ] || fail "show cluster on the restarted A: not deciding"
use b
jq -e '.feed.live_peers == 1 and .feed.lag_s < 5' <<<"$(ctlj show cluster)" >/dev/null ||
	fail "B sees A's feed, caught up: $(ctlj show cluster | jq -c .feed)"
pass "A restarted does not decide: the lease stays cl-b at epoch 2; B's feed from A: $(ctlj show cluster | jq -c '.feed | {live_peers, lag_s, batches_read}')"
# ---- SIGSTOP of the decider for twice its lease ----
use b
kill -STOP "${C_PID[b]}"
sleep $((2 * LEASE))
[ "$(holder)" = "cl-a 3" ] || { kill -CONT "${C_PID[b]}"; fail "A took the lease from the stopped B: $(holder)"; }
kill -CONT "${C_PID[b]}"
for _ in $(seq 30); do [ "$(field .deciding show cluster)" = false ] && break; sleep 0.1; done
[ "$(field .deciding show cluster)" = false ] || fail "B resumed still decides"
grep -q "cl-b stops deciding" "$WORK/b.log" || fail "B logs that it stopped deciding"
use a
[ "$(field .deciding show cluster)" = true ] || fail "A decides at epoch 3"
sleep $((OFF + 3))
[ "$(field .offline show status)" = $SILENT_N ] || fail "on A after the SIGSTOP: $(ctlj show status | jq -c '{online, offline}')"
went=$(sql "SELECT DISTINCT lpad(to_hex(id), 16, '0') FROM transitions WHERE new_status = 1" | sort)
extra=$(comm -13 <(echo "$silent_ids") <(echo "$went"))
[ -z "$extra" ] || fail "endpoints outside the silent set went offline after the SIGSTOP: $extra"
pass "SIGSTOP of B for $((2 * LEASE)) s: A took over at epoch 3, B resumed stepped down ($(grep -o 'cl-b stops deciding[^;]*' "$WORK/b.log" | tail -1)); no offline outside the silent set"
for c in a b; do
	use "$c"; stop_daemon; C_PID[$c]=
done
[ "$(sql "SELECT expires_at < now() FROM decider")" = t ] || fail "the decider gave the lease up on SIGTERM"
pass "SIGTERM gives the lease up"
