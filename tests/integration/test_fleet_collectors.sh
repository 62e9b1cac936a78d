#!/usr/bin/env bash
# Issue 16, a collector dies or stalls (docs/store.md "The failover bound"),
# on the pg_auto_failover formation (lib.sh pgaf_setup: a monitor, a primary
# and a synchronous standby): two collectors A (decides first) and B on
# their own veth labs on the multi-host URL. glournet-loadgen registers NA
# endpoints on A and NB on B at once (the change feed brings each half to
# the other); A's half heartbeats to B only and B's to A only, once a second
# (each collector checks the half it did not register; the decider hears
# the other's half through the contact feed). Then, one at a time, with
# registrations running on the collector(s) that stay up:
#  1. kill -9 of the deciding collector A: B takes the lease (epoch 2);
#  2. kill -9 of the other collector (A again, restarted after 1: it does
#     not decide while B holds the lease);
#  3. SIGSTOP of the decider B for twice its lease, then SIGCONT: A takes
#     over (epoch 3), B resumed stops deciding at once.
# Before each, SILENT endpoints of each half fall silent for good (1 s
# before the fault); the endpoints whose collector died move to the other
# one MOVE s later, as anycast or DNS would move them. After each:
#  - no loadgen endpoint outside the silent sets ever went offline, all are
#    online; the phase's silent ones went offline once each, within the
#    bound docs/store.md gives for that fault (lease + lease/3 +
#    offline_after + a sweep, from the fault, + the silence before it);
#  - the transition stream (lib.sh stream_check) is 1..n with no gap or
#    duplicate and replays to the stored statuses;
#  - every registration answered 200/201 is on the primary with its key and
#    in both collectors' memory (their exports equal the store);
#  - a policy change on one collector is in force on the other within 2 s.
# Finally the same NR guids register on both at once (lib.sh guid_race).
# The primary's death is integration-fleet-failover.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=fc$(($$ % 100))
PGAF=$(mktemp -d /tmp/glournet-pgaf.XXXXXX)
BG_PIDS=()
LEASE=3 OFF=8 MOVE=2
# The issue's 20,000 endpoints split between the collectors; SILENT of each
# half fall silent before each of the three faults (6 x 34 = 204).
NA=${FC_NA:-10000} NB=${FC_NB:-10000} SILENT=${FC_SILENT:-34} NR=${FC_NR:-500}
LG=$BUILD/tools/glournet-loadgen
HTTP_TO=10

formation_two_collectors "$T"
store() { pgaf_sql "$P0" "$1"; }
pass "pg_auto_failover: monitor :$PGAF_PORT, primary $P0, standby in sync ($PGAF_SYNC) in $T_UP ms"

OPTS=(--store "$URL" --lease ${LEASE}s --set heartbeat.interval=1s --set guard.threshold=0
	--sweep-interval 1s --http-timeout ${HTTP_TO}s --register-rate 0)
# offline_after is 60 s while registering (a registration is an endpoint's
# only contact until its first heartbeat, which comes once all are
# registered), OFF once heartbeats flow. Not on a restart: a --set that
# differs from the fleet's policy is a change of it (docs/store.md).
start_collector() {   # start_collector a|b [again]: again on its lab, with its state
	use "$1"
	if [ "${2:-}" = again ]; then start_daemon_only --collector-name "fc-$1" "${OPTS[@]}"
	else start_daemon --collector-name "fc-$1" "${OPTS[@]}" --set heartbeat.offline_after=60s; fi
	C_PID[$1]=$DAEMON_PID
}
holder() { store "SELECT holder || ' ' || epoch FROM decider"; }
wait_holder() {   # wait_holder "NAME EPOCH" SECS
	for _ in $(seq $(($2 * 10))); do [ "$(holder)" = "$1" ] && return 0; sleep 0.1; done
	fail "the lease: $(holder), not $1, after $2 s"
}
deciding_on() { use "$1"; field .deciding show cluster; }

start_collector a
wait_holder "fc-a 1" 5
start_collector b

# ---- NA endpoints registered on A, NB on B, at once (loadgen) ----
r=$(register_halves fca fcb); read -r t_reg t_feed rate_a rate_b <<<"$r"
pass "$NA registered on A and $NB on B at once in $t_reg ms (A: $rate_a registrations/s, B: $rate_b); both hold all $((NA + NB)) ${t_feed} ms later"

# The groups of each half h (a: registered on A): s1, s2, s3 fall silent
# before faults 1, 2, 3 (SILENT each, lg-fch-0 ...), live the rest.
group_sel() { jq -c "select((.guid | split(\"-\") | .[2] | tonumber) as \$n | \$n >= $1 and \$n < $2)" "$3"; }
for h in a b; do
	group_sel 0 "$SILENT" "$WORK/eps-$h.jsonl" >"$WORK/g-$h-s1.jsonl"
	group_sel "$SILENT" $((2 * SILENT)) "$WORK/eps-$h.jsonl" >"$WORK/g-$h-s2.jsonl"
	group_sel $((2 * SILENT)) $((3 * SILENT)) "$WORK/eps-$h.jsonl" >"$WORK/g-$h-s3.jsonl"
	group_sel $((3 * SILENT)) 1000000000 "$WORK/eps-$h.jsonl" >"$WORK/g-$h-live.jsonl"
done
# HB_PID[h-g]: the loadgen sending group g of half h; HB_GROUPS[h]: those
# still sending; HB_TO[h]: the collector they send to.
declare -A HB_PID HB_TO HB_GROUPS=([a]="s1 s2 s3 live" [b]="s1 s2 s3 live")
hb_to() {   # hb_to HALF COLLECTOR: the half's groups heartbeat into COLLECTOR's lab from now on
	local h=$1 g
	for g in ${HB_GROUPS[$h]}; do
		[ -n "${HB_PID[$h-$g]:-}" ] && { kill "${HB_PID[$h-$g]}" 2>/dev/null || true; }
		ip netns exec "$(lab_ns "${C_TAG[$2]}")" "$LG" --endpoints "$WORK/g-$h-$g.jsonl" --to "$LAB_COLLECTOR4" \
			--interval 1s --duration 600s -q >>"$WORK/lg-hb.log" 2>&1 &
		HB_PID[$h-$g]=$! BG_PIDS+=($!)
	done
	HB_TO[$h]=$2
}
silence() {   # silence GROUP: both halves' GROUP stop for good; T_S is when
	local h
	for h in a b; do
		kill "${HB_PID[$h-$1]}"
		HB_GROUPS[$h]=${HB_GROUPS[$h]/$1 /}
	done
	T_S=$(date +%s%N)
}
hb_to a b
hb_to b a
# The contact feed brings B's contacts of A's half to A: every endpoint's
# first heartbeat within a second, B's batch of it within a batch period (2
# s) of that, read within half a second; the feed's bound (FEED_BEHIND_MS,
# 5 s) is the margin (3 s was not: with 20,000, A took some of A's half
# offline, reason no-contact, a second before B's batch of them came).
sleep 6
took=$(policy_across a b heartbeat.offline_after ${OFF}s store)
pass "heartbeats flowing (A's half to B, B's to A): offline_after ${OFF}s set on A, in force on B after $took ms"
sleep 2
for c in a b; do
	use $c
	ctlj show status | jq -e ".offline == 0 and .online == $((NA + NB))" >/dev/null ||
		fail "on $c before the faults: $(ctlj show status | jq -c '{clients, online, offline}')"
done

# after_fault PHASE N_SILENCED: the issue's checks after each fault (see the
# top); the policy change goes from A to B, then B to A, and back.
sil_upto() { echo "(e.guid ~ '^lg-fc[ab]-[0-9]+$' AND split_part(e.guid, '-', 3)::int < $1)"; }
sil_phase() { echo "(e.guid ~ '^lg-fc[ab]-[0-9]+$' AND split_part(e.guid, '-', 3)::int >= $(( ($1 - 1) * SILENT ))
	AND split_part(e.guid, '-', 3)::int < $(($1 * SILENT)))"; }
after_fault() {
	local k=$1 bound=$2 what=$3 r lo hi total n201 n503 stored n took from to
	r=$(fleet_offlines "$(sil_upto $((k * SILENT)))" "$(sil_phase "$k")" $((2 * SILENT)) "$T_S" "$bound" store)
	read -r lo hi <<<"$r"
	pass "$what: no endpoint outside the silent sets went offline; the $((2 * SILENT)) that fell silent 1 s before went offline each once, $lo-$hi s after (bound $bound ms)"
	regs_stop
	r=$(regs_kept store); read -r total n201 n503 <<<"$r"
	for c in a b; do stored=$(memory_is_store $c store); done
	pass "$what: $total registrations meanwhile, $n201 answered 200/201 ($n503 503 + Retry-After): each on $P0 with its key; A's and B's memories are the $stored stored endpoints exactly (guid, id, slot, key)"
	n=$(stream_check "$what" store)
	if [ $((k % 2)) = 1 ]; then from=b to=a; else from=a to=b; fi
	took=$(policy_across $from $to register.replace_after $((k + 1))h store)
	pass "$what: the stream is 1..$n, each once, replaying to the stored statuses; a set on ${from^^} in force on ${to^^} after $took ms"
}
# docs/store.md "The failover bound" for a collector's death or stall: the
# lease + lease/3 + offline_after + a sweep from the fault; + the silence
# before it, + 1 s for the transitions' whole seconds.
fault_bound() { echo $(( ($1 - T_S) / 1000000 + LEASE * 1000 + LEASE * 1000 / 3 + OFF * 1000 + 1000 + 1000 )); }

# ---- 1. kill -9 of the deciding collector A ----
regs_start b:fc1regb
sleep 1
silence s1
sleep 1
kill -KILL "${C_PID[a]}"; T_K=$(date +%s%N); wait "${C_PID[a]}" 2>/dev/null || true; C_PID[a]=
sleep $MOVE; hb_to b b   # B's half heartbeated to A: anycast moves it to B
wait_holder "fc-b 2" $((LEASE + 3))
took=$(( ($(date +%s%N) - T_K) / 1000000 ))
[ "$(deciding_on b)" = true ] || fail "B decides at epoch 2: $(use b; ctlj show cluster | jq -c '{deciding, epoch}')"
pass "kill -9 of the decider A: B decides at epoch 2 within $took ms (lease ${LEASE}s); B's half moved to B ${MOVE}s after"
# A back (same name, its state): it does not decide while B holds the lease.
start_collector a again
sleep 1
[ "$(holder)" = "fc-b 2" ] && [ "$(deciding_on a)" = false ] || fail "the restarted A took the lease: $(holder)"
after_fault 1 "$(fault_bound "$T_K")" "kill -9 of the decider"
hb_to b a   # B's half back to A

# ---- 2. kill -9 of the other collector (A: B decides) ----
regs_start b:fc2regb
sleep 2
silence s2
sleep 1
kill -KILL "${C_PID[a]}"; T_K=$(date +%s%N); wait "${C_PID[a]}" 2>/dev/null || true; C_PID[a]=
sleep $MOVE; hb_to b b
sleep $((LEASE + 1))
[ "$(holder)" = "fc-b 2" ] && [ "$(deciding_on b)" = true ] || fail "B still decides at epoch 2: $(holder)"
pass "kill -9 of the other collector A: B decides on at epoch 2; B's half (heard through A's contact feed) moved to B ${MOVE}s after"
# A back, so that after_fault compares both memories.
start_collector a again
after_fault 2 "$(fault_bound "$T_K")" "kill -9 of the other collector"
hb_to b a

# ---- 3. SIGSTOP of the decider B for twice its lease ----
regs_start a:fc3rega
sleep 2
silence s3
sleep 1
kill -STOP "${C_PID[b]}"; T_K=$(date +%s%N)
sleep $((2 * LEASE))
stopped_holder=$(holder)
kill -CONT "${C_PID[b]}"
[ "$stopped_holder" = "fc-a 3" ] || fail "A took the lease from the stopped B: $stopped_holder"
for _ in $(seq 30); do [ "$(deciding_on b)" = false ] && break; sleep 0.1; done
[ "$(deciding_on b)" = false ] || fail "B resumed still decides"
grep -q "fc-b stops deciding" "$WORK/b.log" || fail "B logs that it stopped deciding"
[ "$(deciding_on a)" = true ] || fail "A decides at epoch 3"
pass "SIGSTOP of the decider B for $((2 * LEASE)) s: A took over at epoch 3, B resumed stepped down ($(grep -o 'fc-b stops deciding[^;]*' "$WORK/b.log" | tail -1))"
after_fault 3 "$(fault_bound "$T_K")" "SIGSTOP of the decider"

# ---- the same NR guids on both collectors at once ----
guid_race fcrace $NR "$WORK" "http://127.0.0.1:${C_PORT[a]}" "http://127.0.0.1:${C_PORT[b]}"
guid_race_check fcrace $NR "$WORK" store
for c in a b; do stored=$(memory_is_store $c store); done
pass "$NR guids registered on A and B at once: one row each, $(wc -l <"$WORK/race-agents") answers 200/201 all holding the stored key; both memories are the $stored stored endpoints"

for c in a b; do use "$c"; stop_daemon; C_PID[$c]=; done
[ "$(store "SELECT expires_at < now() FROM decider")" = t ] || fail "the decider gave the lease up on SIGTERM"
pass "both stopped cleanly; the lease given up"
