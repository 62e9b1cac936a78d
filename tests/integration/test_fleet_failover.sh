#!/usr/bin/env bash
# Issue 16, the store's primary dies (docs/store.md "High availability of
# the store", "The failover bound"): a pg_auto_failover monitor, a primary
# n1 and a synchronous standby n2 (lib.sh pgaf_setup), two collectors A
# (decides first) and B on their own veth labs on the multi-host URL
# (target_session_attrs=read-write). With both up, glournet-loadgen
# registers NA endpoints on A and NB on B (the change feed brings each half
# to the other collector); A's heartbeat to B only and B's to A only (each
# collector checks the half it did not register; A decides, so B's half
# reaches it through the contact feed), once a second; SILENT of each half
# fall silent 1 s before the kill. Registrations run against A and B (one
# at a time each, new guids) while the primary's whole process tree is
# killed. Proves:
#  - show cluster names the store primary and its synchronous standby;
#  - every registration answered 200/201, on either collector, is on the
#    surviving primary with the key it was given, and in both collectors'
#    memory (both collectors' exports equal the store: guid, id, slot, key
#    of every endpoint);
#  - during the outage A raises its store alarm, a registration gets 503
#    with Retry-After at once (the one in flight at the kill is held for
#    its commit: 201 if it lands within --http-timeout, else 503; never a
#    201 that is lost), and both collectors' alarms clear once the standby
#    is promoted;
#  - heartbeats are checked throughout (the counters move during the outage);
#  - the decider lease across the failover: whoever holds it after holds a
#    higher or the same epoch;
#  - no endpoint outside the silent set ever goes offline (the transitions
#    table on the new primary), every silent one goes offline exactly once,
#    within the bound docs/store.md gives for the primary's death (failover
#    time + 2 s + lease/3 + offline_after + a sweep), and both collectors
#    show the stored statuses;
#  - the transition stream (lib.sh stream_check): seqs 1..n from the
#    gap-free sequence, no gap, no duplicate across the failover, replayed
#    it gives the stored statuses;
#  - a policy change on B is in force on A within 2 s after the failover;
#  - the same NR guids registering on A and B at once after the failover
#    (lib.sh guid_race): one row each, every 200/201 holds the stored key;
#  - show cluster on the new primary: no standby ("none" in text).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=pgaf$(($$ % 100))
PGAF=$(mktemp -d /tmp/glournet-pgaf.XXXXXX)
BG_PIDS=()
LEASE=3 OFF=8
# Endpoints from glournet-loadgen (per collector), SILENT of each half fall
# silent; NR guids race on both after the failover. The issue's 20,000 and
# 200 silent (500 racing guids: integration-fleet-collectors).
NA=${FF_NA:-10000} NB=${FF_NB:-10000} SILENT=${FF_SILENT:-100} NR=${FF_NR:-200}
LG=$BUILD/tools/glournet-loadgen
# A registration held for its commit is answered within --http-timeout
# less a margin (201 once committed, else 503): the client waits longer.
HTTP_TO=10

formation_two_collectors "$T"
pass "pg_auto_failover: monitor :$PGAF_PORT, primary $P0, standby in sync ($PGAF_SYNC; $(pgaf_sql "$P0" "SHOW synchronous_standby_names")) in $T_UP ms"

OPTS=(--store "$URL" --lease ${LEASE}s --set heartbeat.interval=1s
	--set heartbeat.offline_after=60s --set guard.threshold=0 --sweep-interval 1s
	--http-timeout ${HTTP_TO}s --register-rate 0)
start_collector() {
	use "$1"
	start_daemon --collector-name "ff-$1" "${OPTS[@]}"
	C_PID[$1]=$DAEMON_PID
}
holder() { pgaf_sql "$1" "SELECT holder || ' ' || epoch FROM decider"; }

start_collector a
for _ in $(seq 50); do [ "$(holder "$P0" 2>/dev/null)" = "ff-a 1" ] && break; sleep 0.1; done
[ "$(holder "$P0")" = "ff-a 1" ] || fail "A took the lease at epoch 1: $(holder "$P0")"
start_collector b

# ---- NA endpoints registered on A, NB on B, at once (loadgen) ----
# (the change feed brings each half to the other collector)
r=$(register_halves ffa ffb); read -r t_reg t_feed rate_a rate_b <<<"$r"
pass "$NA registered on A and $NB on B at once in $t_reg ms (A: $rate_a registrations/s, B: $rate_b); both hold all $((NA + NB)) ${t_feed} ms later"

# Each half heartbeats to the collector it did not register on; the first
# SILENT of each half (lg-P-0 .. lg-P-SILENT-1) from their own loadgen.
silent_sel() { jq -c "select((.guid | split(\"-\") | .[2] | tonumber) $1 $SILENT)" "$2"; }
for c in a b; do
	silent_sel '<' "$WORK/eps-$c.jsonl" >"$WORK/silent-$c.jsonl"
	silent_sel '>=' "$WORK/eps-$c.jsonl" >"$WORK/live-$c.jsonl"
done
lg_hb() {   # lg_hb LAB FILE [SECS]: FILE's endpoints heartbeat into collector LAB's lab once a second
	ip netns exec "$(lab_ns "${C_TAG[$1]}")" "$LG" --endpoints "$2" --to "$LAB_COLLECTOR4" \
		--interval 1s --duration "${3:-300}s" -q >>"$WORK/lg-hb.log" 2>&1 &
	BG_PIDS+=($!)
}
lg_hb b "$WORK/live-a.jsonl"
lg_hb a "$WORK/live-b.jsonl"
lg_hb b "$WORK/silent-a.jsonl"; SIL_PIDS=(${BG_PIDS[-1]})
lg_hb a "$WORK/silent-b.jsonl"; SIL_PIDS+=(${BG_PIDS[-1]})

# offline_after is 60 s while registering (a registration is an endpoint's
# only contact until its first heartbeat, which comes once all are
# registered: seconds, more on a loaded machine), OFF once heartbeats flow
# and the contact feed has brought B's contacts of A's half to A (within the
# feed's bound: FEED_BEHIND_MS, 5 s; test_fleet_collectors.sh says why).
sleep 6
took=$(policy_across a b heartbeat.offline_after ${OFF}s pgaf_sql "$P0")
pass "heartbeats flowing: offline_after ${OFF}s set on A, in force on B after $took ms"

# show cluster: the primary and its synchronous standby (the lease thread
# reads pg_stat_replication each lease/3).
use a
for _ in $(seq 40); do
	jq -e '.replication | map(select(.sync_state == "sync" or .sync_state == "quorum")) | length == 1' \
		<<<"$(ctlj show cluster)" >/dev/null && break
	sleep 0.1
done
cj=$(ctlj show cluster)
jq -e --arg p "127.0.0.1:${PGAF_PORTS[$P0]}" '.primary == $p and (.replication | length == 1) and
	(.replication[0] | (.sync_state == "sync" or .sync_state == "quorum") and .state == "streaming" and
	 .lag_bytes >= 0 and .lag_s >= 0)' <<<"$cj" >/dev/null ||
	fail "show cluster names the primary and one synchronous standby: $(jq -c '{primary, replication}' <<<"$cj")"
ctl show cluster | grep -A2 '^replication' | grep -Eq '^  pgautofailover_standby_[0-9]+ +127\.0\.0\.1 +streaming +(sync|quorum) ' ||
	fail "show cluster (text): the standby row: $(ctl show cluster)"
pass "show cluster: primary $(jq -r .primary <<<"$cj"), standby $(jq -c '.replication[0]' <<<"$cj")"

# ---- registrations on A and B while the primary dies ----
regs_start a:ffrega b:ffregb
sleep 3.2
# Every endpoint online on both (A's half heard only through B's contact
# feed, B's half known to A only through the change feed).
for c in a b; do
	use $c
	ctlj show status | jq -e ".offline == 0 and .online == .clients and .clients >= $((NA + NB))" >/dev/null ||
		fail "on $c before the kill: $(ctlj show status | jq -c '{clients, online, offline}') (want all online; offline in the store: $(pgaf_sql "$P0" "SELECT guid FROM endpoints WHERE status = 1 LIMIT 5" | paste -sd' '))"
done
use a
lease_before=$(holder "$P0")
kill "${SIL_PIDS[@]}"
T_S=$(date +%s%N)
sleep 1
acc_a=$(field .total.accepted show stats)
use b; acc_b=$(field .total.accepted show stats); use a

T0=$(date +%s%N)
pgaf_kill "$P0"
pass "$((2 * SILENT)) endpoints fell silent, 1 s later $P0's whole process group (keeper and postgres) killed with registrations running on A and B"
# A notices: its writer fails and the alarm is raised.
for _ in $(seq 200); do [ "$(field .store.ok show status)" = false ] && break; sleep 0.1; done
[ "$(field .store.ok show status)" = false ] || fail "A raised no store alarm after the primary died"
t_alarm=$(( ($(date +%s%N) - T0) / 1000000 ))
alarm=$(field .store.alarm show status | cut -c1-60)
# The loop's registration in flight is held for its commit; one that
# comes now that the store is known gone is refused at once.
t=$(date +%s%N)
code=$(curl -s --max-time 10 -D "$WORK/h503" -o "$WORK/b503" -w '%{http_code}' -X POST \
	"http://127.0.0.1:${C_PORT[a]}/v1/register" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"guid":"pgaf-during","hostname":"x"}' || true)
ms=$(( ($(date +%s%N) - t) / 1000000 ))
[ "$code" = 503 ] || fail "a registration with the store known gone got $code, not 503: $(cat "$WORK/b503")"
grep -qi '^Retry-After: [0-9]' "$WORK/h503" || fail "the 503 has no Retry-After: $(cat "$WORK/h503")"
[ "$ms" -lt 1000 ] || fail "the 503 took $ms ms (it is answered at once)"
ra_during=$(grep -i '^Retry-After' "$WORK/h503" | tr -d '\r')
sleep 1
a1=$(field .total.accepted show stats); use b; b1=$(field .total.accepted show stats); use a
P1=$(pgaf_wait_failover "$P0" 60) || fail "no failover within 60 s: $(monitor_sql "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node")"
t_promoted=$(( ($(date +%s%N) - T0) / 1000000 ))
for c in a b; do
	use $c
	for _ in $(seq 300); do [ "$(field .store.ok show status)" = true ] && break; sleep 0.1; done
	[ "$(field .store.ok show status)" = true ] || fail "$c's store alarm did not clear after the failover: $(field .store.alarm show status)"
	eval "t_clear_$c=$(( ($(date +%s%N) - T0) / 1000000 ))"
done
use a
[ "$a1" -gt "$acc_a" ] && [ "$b1" -gt "$acc_b" ] ||
	fail "heartbeats checked during the outage: A $acc_a -> $a1, B $acc_b -> $b1"
pass "A's store alarm at ${t_alarm} ms ($alarm), a registration then: 503 + $ra_during in $ms ms; $P1 writable at ${t_promoted} ms, alarm clear at ${t_clear_a} ms on A, ${t_clear_b} ms on B; heartbeats accepted meanwhile (A $acc_a -> $a1, B $acc_b -> $b1)"
sleep 3
regs_stop
# Around the outage, for the log: code, Retry-After, guid, ms since the
# kill, message (every answer not 200/201, and those sent around the kill).
cat "$WORK"/regs-* | awk -v t0="$T0" '{ $5 = int(($5 - t0) / 1000000) } ($1 != 201 && $1 != 200) || ($5 > -1000 && $5 < 1000) {
	print "  reg:", $1, $2, $4, $5, $6 }'

# ---- every answered registration is kept: on the new primary, with its key ----
r=$(regs_kept pgaf_sql "$P1"); read -r total n201 n503 <<<"$r"
for c in a b; do
	eval "tc=\$t_clear_$c"
	after=$(awk -v t="$((T0 + tc * 1000000))" -v g="ffreg$c-" '($1 == 201 || $1 == 200) && $5 > t && index($4, g) == 1' "$WORK/regs" | grep -c . || true)
	[ "$after" -ge 1 ] || fail "no registration on $c succeeded after its alarm cleared"
done
pass "$total registrations on A and B: $n201 answered 200/201, every one on $P1 with its key; $n503 got 503 + Retry-After ($(awk -v t0="$T0" '$1 == 503 {printf "%s at %s ms: %s; ", $4, int(($5 - t0) / 1000000), $6}' "$WORK/regs"))"

# ---- the lease across the failover ----
for _ in $(seq 100); do lease_after=$(holder "$P1"); [ "$(pgaf_sql "$P1" "SELECT expires_at > now() FROM decider")" = t ] && break; sleep 0.1; done
[ "${lease_after##* }" -ge "${lease_before##* }" ] || fail "the epoch went back: $lease_before -> $lease_after"
[ "$(pgaf_sql "$P1" "SELECT expires_at > now() FROM decider")" = t ] || fail "nobody holds the lease after the failover: $lease_after"
pass "the lease: $lease_before before, $lease_after after the failover"

# ---- a policy change on B in force on A within 2 s ----
# (register.replace_after 2h, not the default 1h: a new revision; long,
# as the race below needs, so a lost race's retry cannot re-key the
# winner's endpoint.)
took=$(policy_across b a register.replace_after 2h pgaf_sql "$P1")
pass "set on B after the failover (on $P1) in force on A after $took ms"

# ---- the same NR guids on both collectors at once ----
guid_race ffrace $NR "$WORK" "http://127.0.0.1:${C_PORT[a]}" "http://127.0.0.1:${C_PORT[b]}"
guid_race_check ffrace $NR "$WORK" pgaf_sql "$P1"
pass "$NR guids registered on A and B at once after the failover: one row each on $P1, $(wc -l <"$WORK/race-agents") answers 200/201 all holding the stored key (A: $(tail -1 "$WORK/race-a.log"); B: $(tail -1 "$WORK/race-b.log"))"

# ---- both collectors' memory is the store: every endpoint's guid, id, slot, key ----
for c in a b; do stored=$(memory_is_store $c pgaf_sql "$P1"); done
use a
pass "A's and B's memories (their exports) are the $stored endpoints of $P1 exactly (guid, id, slot, key): the $n201 answered registrations and the $NR raced guids included"

# ---- no false offline; every silent endpoint offline within the bound ----
# docs/store.md "The failover bound", the primary dies: failover time +
# 2 s (the writer's reconnect) + lease/3 + offline_after + a sweep, from
# when the endpoint fell silent (1 s before the kill), + 1 s for the
# transitions' whole seconds.
BOUND=$(( (T0 - T_S) / 1000000 + t_promoted + 2000 + LEASE * 1000 / 3 + OFF * 1000 + 1000 ))
is_silent="(e.guid ~ '^lg-ff[ab]-[0-9]+$' AND split_part(e.guid, '-', 3)::int < $SILENT)"
r=$(fleet_offlines "$is_silent" "$is_silent" $((2 * SILENT)) "$T_S" "$BOUND" pgaf_sql "$P1"); read -r lo hi <<<"$r"
pass "no endpoint outside the silent set went offline; the $((2 * SILENT)) silent ones each once, $lo-$hi s after they fell silent (bound $BOUND ms: failover $t_promoted ms + 2 s + lease/3 + offline_after + a sweep)"

# ---- the stream: no gap, no duplicate, replays to the stored statuses ----
# and both collectors show the stored statuses (the registered guids that
# never heartbeat go offline meanwhile: retried until all three agree).
for _ in $(seq 30); do
	st=$(pgaf_sql "$P1" "SELECT count(*) FILTER (WHERE status = 0) || ' ' || count(*) FILTER (WHERE status = 1) FROM endpoints")
	ma=$(use a; ctlj show status | jq -r '"\(.online) \(.offline)"')
	mb=$(use b; ctlj show status | jq -r '"\(.online) \(.offline)"')
	[ "$ma" = "$st" ] && [ "$mb" = "$st" ] && break
	sleep 0.1
done
[ "$ma" = "$st" ] && [ "$mb" = "$st" ] || fail "online/offline: stored $st, A $ma, B $mb"
n=$(stream_check "after the failover" pgaf_sql "$P1")
use a
pass "the stream on $P1: seqs 1..$n, each once, the sequence at $n, replayed it gives every stored status; A and B show them (online offline: $st)"

cj=$(ctlj show cluster)
jq -e --arg p "127.0.0.1:${PGAF_PORTS[$P1]}" '.primary == $p and (.replication | length == 0)' <<<"$cj" >/dev/null ||
	fail "show cluster after the failover: primary $P1, no standby: $(jq -c '{primary, replication}' <<<"$cj")"
ct=$(ctl show cluster)
grep -A1 '^replication' <<<"$ct" | grep -q '^  none$' || fail "show cluster (text) says no standby: $ct"
pass "show cluster after the failover: primary $(jq -r .primary <<<"$cj"), replication none"
for c in a b; do use "$c"; stop_daemon; C_PID[$c]=; done
