#!/usr/bin/env bash
# Issue 16, the store's primary dies (docs/store.md "High availability of
# the store"): a pg_auto_failover monitor, a primary n1 and a synchronous
# standby n2 (lib.sh pgaf_setup), two collectors A and B on their own veth
# labs on the multi-host URL (target_session_attrs=read-write), 80
# endpoints registered on A: 0-39 heartbeat to A, 40-79 to B only.
# Registrations run against A (one at a time, new guids) while the
# primary's whole process group is killed. Proves:
#  - show cluster names the store primary and its synchronous standby;
#  - every registration answered 200/201 is on the surviving primary with
#    the key it was given, and in A's memory (show client);
#  - during the outage A raises its store alarm, a registration gets 503
#    with Retry-After at once (the one in flight at the kill is held for
#    its commit: 201 if it lands within --http-timeout, else 503; never a
#    201 that is lost), and the alarm clears once the standby is promoted;
#  - heartbeats are checked throughout (the counters move during the outage);
#  - the decider lease across the failover: it is in the same database,
#    so whoever holds it after holds a higher or the same epoch, and no
#    endpoint that kept heartbeating goes offline (the transitions table
#    on the new primary, both collectors' status);
#  - show cluster on the new primary: no standby ("none" in text).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=pgaf$(($$ % 100))
PGAF=$(mktemp -d /tmp/glournet-pgaf.XXXXXX)
BG_PIDS=()
LEASE=3 OFF=6 N=80
# A registration held for its commit is answered within --http-timeout
# less a margin (201 once committed, else 503): the client waits longer.
HTTP_TO=10

declare -A C_TAG C_SOCK C_PORT C_PID
C_TAG[a]=${T}a C_TAG[b]=${T}b
C_SOCK[a]=$WORK/a.sock C_SOCK[b]=$WORK/b.sock
C_PORT[a]=$HTTP_PORT
for p in $(seq $((HTTP_PORT + 3)) 3 $((HTTP_PORT + 90))); do
	[ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2)) )")" ] && { C_PORT[b]=$p; break; }
done
PGAF_PORT=
for p in $(seq $((${C_PORT[b]} + 3)) 3 $((${C_PORT[b]} + 90))); do
	[ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2)) )")" ] && { PGAF_PORT=$p; break; }
done
[ -n "$PGAF_PORT" ] || fail "no free ports for pg_auto_failover"

use() {
	CUR=$1 TAG=${C_TAG[$1]} SOCK=${C_SOCK[$1]} HTTP_PORT=${C_PORT[$1]}
	EXC_IFACE=gnx-${C_TAG[$1]} DAEMON_LOG=$WORK/$1.log GN_STATE=$WORK/state-$1
	DAEMON_PID=${C_PID[$1]:-}
}
ff_cleanup() {
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for c in a b; do
		p=${C_PID[$c]:-}
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; wait "$p" 2>/dev/null || true; fi
		lab_down "${C_TAG[$c]}" 2>/dev/null || true
		if [ "${rc:-0}" -ne 0 ] && [ -f "$WORK/$c.log" ]; then
			echo "--- glournetd $c log (last 25 lines) ---"; tail -n 25 "$WORK/$c.log"
		fi
	done
	DAEMON_PID=
	pgaf_teardown
}
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; ff_cleanup; set +e; (exit $rc); cleanup' EXIT

T0=$(date +%s%N)
pgaf_setup
P0=$(pgaf_primary)
URL=$(pgaf_url)
pass "pg_auto_failover: monitor :$PGAF_PORT, primary $P0, standby in sync ($PGAF_SYNC; $(pgaf_sql "$P0" "SHOW synchronous_standby_names")) in $(( ($(date +%s%N) - T0) / 1000000 )) ms"

OPTS=(--store "$URL" --lease ${LEASE}s --set heartbeat.interval=1s
	--set heartbeat.offline_after=${OFF}s --set guard.threshold=0 --sweep-interval 1s
	--http-timeout ${HTTP_TO}s)
start_collector() {
	use "$1"
	start_daemon --collector-name "ff-$1" "${OPTS[@]}"
	C_PID[$1]=$DAEMON_PID
}
holder() { pgaf_sql "$1" "SELECT holder || ' ' || epoch FROM decider"; }

start_collector a
for _ in $(seq 50); do [ "$(holder "$P0" 2>/dev/null)" = "ff-a 1" ] && break; sleep 0.1; done
[ "$(holder "$P0")" = "ff-a 1" ] || fail "A took the lease at epoch 1: $(holder "$P0")"
"$AGENT" register --server "http://127.0.0.1:${C_PORT[a]}" --token "$TOKEN" --count $N \
	--guid-prefix pgaf --state "$WORK/state" >/dev/null
start_collector b
hb() {
	ip netns exec "$(lab_ns "${C_TAG[$1]}")" "$AGENT" heartbeat --state "$WORK/state" \
		--to "$LAB_COLLECTOR4" --interval 1 --duration 300 --first "$2" --count "$3" \
		>>"$WORK/agent-$1.log" 2>&1 &
	BG_PIDS+=($!)
}
hb a 0 $((N / 2))
hb b $((N / 2)) $((N / 2))

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

# ---- registrations on A while the primary dies ----
reg_loop() {   # one at a time: code, Retry-After, key, guid, when it was sent (ns)
	set +e   # a 201 has no Retry-After: grep finds nothing
	local i=0 code ra key t
	while [ ! -f "$WORK/reg.stop" ]; do
		i=$((i + 1))
		rm -f "$WORK/rh" "$WORK/rb"
		t=$(date +%s%N)
		code=$(curl -s --max-time $((HTTP_TO + 10)) -D "$WORK/rh" -o "$WORK/rb" -w '%{http_code}' -X POST \
			"http://127.0.0.1:${C_PORT[a]}/v1/register" -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' -d "{\"guid\":\"pgafreg-$i\",\"hostname\":\"r$i\"}" || true)
		ra=$(grep -i '^Retry-After:' "$WORK/rh" 2>/dev/null | tr -d '\r' | awk '{print $2}')
		key=$(jq -r '.key // "-"' "$WORK/rb" 2>/dev/null || echo -)
		echo "$code ${ra:--} ${key:--} pgafreg-$i $t $(jq -r '.error // empty' "$WORK/rb" 2>/dev/null | tr ' ' _ | cut -c1-60)" >>"$WORK/regs"
		sleep 0.1
	done
}
reg_loop & BG_PIDS+=($!)
sleep 3
lease_before=$(holder "$P0")
acc_a=$(field .total.accepted show stats)
use b; acc_b=$(field .total.accepted show stats); use a

T0=$(date +%s%N)
pgaf_kill "$P0"
pass "killed $P0's whole process group (keeper and postgres) with registrations running"
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
for _ in $(seq 300); do [ "$(field .store.ok show status)" = true ] && break; sleep 0.1; done
[ "$(field .store.ok show status)" = true ] || fail "A's store alarm did not clear after the failover: $(field .store.alarm show status)"
t_clear=$(( ($(date +%s%N) - T0) / 1000000 ))
[ "$a1" -gt "$acc_a" ] && [ "$b1" -gt "$acc_b" ] ||
	fail "heartbeats checked during the outage: A $acc_a -> $a1, B $acc_b -> $b1"
pass "A's store alarm at ${t_alarm} ms ($alarm), a registration then: 503 + $ra_during in $ms ms; $P1 writable at ${t_promoted} ms, alarm clear at ${t_clear} ms; heartbeats accepted meanwhile (A $acc_a -> $a1, B $acc_b -> $b1)"
sleep 3
touch "$WORK/reg.stop"; wait "${BG_PIDS[-1]}" 2>/dev/null || true; unset 'BG_PIDS[-1]'
# The times since the kill, in ms.
awk -v t0="$T0" '{ $5 = int(($5 - t0) / 1000000); print }' "$WORK/regs" >"$WORK/regs.ms"
mv "$WORK/regs.ms" "$WORK/regs"
# Around the outage, for the log: code, Retry-After, guid, ms, message.
awk '$5 > -500 && $5 < 20000 {print "  reg:", $1, $2, $4, $5, $6}' "$WORK/regs"

# ---- every answered registration is kept ----
total=$(grep -c . "$WORK/regs")
n201=$(awk '$1 == 201 || $1 == 200' "$WORK/regs" | grep -c . || true)
n503=$(awk '$1 == 503' "$WORK/regs" | grep -c . || true)
other=$(awk '$1 != 201 && $1 != 200 && $1 != 503' "$WORK/regs")
[ -z "$other" ] || fail "registrations answered neither 200/201 nor 503: $other"
bad_ra=$(awk '$1 == 503 && $2 !~ /^[0-9]+$/' "$WORK/regs")
[ -z "$bad_ra" ] || fail "503 without Retry-After: $bad_ra"
after=$(awk -v t=$t_clear '($1 == 201 || $1 == 200) && $5 > t' "$WORK/regs" | grep -c . || true)
[ "$after" -ge 1 ] || fail "no registration succeeded after the alarm cleared"
while read -r code ra key guid ms; do
	[ "$code" = 201 ] || [ "$code" = 200 ] || continue
	got=$(pgaf_sql "$P1" "SELECT encode(key, 'hex') FROM endpoints WHERE guid = '$guid'")
	[ "$got" = "$key" ] || fail "$guid answered $code at ${ms} ms: on $P1 its key is '${got:-(none)}', answered $key"
	ctlj show client "$guid" >/dev/null 2>&1 || fail "$guid answered $code: not in A's memory"
done <"$WORK/regs"
# A 503 may still leave the endpoint stored (its write committed after
# the held answer gave up): the agent's retry proves its key then (or
# re-keys it); what must never be is a 201 whose key is not stored.
pass "$total registrations: $n201 answered 200/201, every one on $P1 with its key and in A's memory; $n503 got 503 + Retry-After ($(awk '$1 == 503 {printf "%s at %s ms: %s; ", $4, $5, $6}' "$WORK/regs")); $after after the alarm cleared"

# ---- the lease across the failover, no false offline ----
for _ in $(seq 100); do lease_after=$(holder "$P1"); [ "$(pgaf_sql "$P1" "SELECT expires_at > now() FROM decider")" = t ] && break; sleep 0.1; done
[ "${lease_after##* }" -ge "${lease_before##* }" ] || fail "the epoch went back: $lease_before -> $lease_after"
[ "$(pgaf_sql "$P1" "SELECT expires_at > now() FROM decider")" = t ] || fail "nobody holds the lease after the failover: $lease_after"
sleep $((OFF + 2))
# The registered guids never heartbeat: they go offline (R6), rightly.
# The 80 that heartbeat must not, on either collector nor in the store.
for c in a b; do
	use "$c"
	[ "$(field .online show status)" -ge $N ] || fail "on $c: $(ctlj show status | jq -c '{online, offline}') after the failover (want the $N heartbeating online)"
done
ids=$(for i in $(seq 0 $((N - 1))); do state_line "$i" | awk '{print "'"'"'" $2 "'"'"'"}'; done | paste -sd,)
went=$(pgaf_sql "$P1" "SELECT count(*) FROM transitions WHERE new_status = 1 AND lpad(to_hex(id), 16, '0') IN ($ids)")
[ "$went" = 0 ] || fail "$went offline transition(s) of heartbeating endpoints on $P1"
on=$(pgaf_sql "$P1" "SELECT count(*) FROM endpoints WHERE status = 0 AND lpad(to_hex(id), 16, '0') IN ($ids)")
[ "$on" = $N ] || fail "on $P1 $on of the $N heartbeating endpoints are online"
regoff=$(pgaf_sql "$P1" "SELECT count(*) FROM transitions WHERE new_status = 1")
use a
pass "the lease: $lease_before before, $lease_after after the failover; none of the $N heartbeating endpoints went offline (both collectors; transitions and statuses on $P1; offline transitions in all: $regoff, of registered guids that never heartbeat)"

cj=$(ctlj show cluster)
jq -e --arg p "127.0.0.1:${PGAF_PORTS[$P1]}" '.primary == $p and (.replication | length == 0)' <<<"$cj" >/dev/null ||
	fail "show cluster after the failover: primary $P1, no standby: $(jq -c '{primary, replication}' <<<"$cj")"
ctl show cluster | grep -A1 '^replication' | grep -q '^  none$' || fail "show cluster (text) says no standby: $(ctl show cluster)"
pass "show cluster after the failover: primary $(jq -r .primary <<<"$cj"), replication none"
for c in a b; do use "$c"; stop_daemon; C_PID[$c]=; done
