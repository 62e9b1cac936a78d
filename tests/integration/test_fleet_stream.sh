#!/usr/bin/env bash
# Issue 16, the transition stream (docs/store.md "The transition stream"):
# one throwaway PostgreSQL, two glournetd (A decides, B does not) on their
# own veth labs, 40 endpoints registered on A before B starts (B loads
# them), heartbeats to both. Proves:
#  - the transitions table's seqs are 1..n, no gap, no duplicate, and the
#    sequences row 'transitions' stands at n;
#  - replaying them gives the stored statuses (endpoints.status);
#  - 10 endpoints go silent: offline on A, and on B (which decides nothing)
#    within ~2 s, in show status and show client alike;
#  - watch --from 1 on A and on B prints the same seqs; watch --from a
#    cursor on B starts there; show cluster gives the stream's cursor/lag;
#  - kill -9 of A: B takes over, catches the stream up, and the offlines it
#    decides continue the sequence with no gap; watch on B shows them;
#  - A restarted, then B SIGSTOPped for twice its lease: A takes over, its
#    offlines continue the sequence; B resumed steps down, reads the stored
#    statuses again (what it decided on resuming, before it knew, was
#    fenced: without the resync B showed all 40 offline) and follows;
#  - registrations on the non-decider B (A decides again) of endpoints that
#    never heartbeat: 5 new ones and 5 offline ones re-registering. The
#    decider writes each new one's stream row (its registered status: B's
#    own transition is fenced), hears the re-registrations through the
#    contact feed (online again on A: without it they stayed offline
#    there), and judges all 10 from their registration: offline at
#    registration + offline_after, not earlier, not much later; the
#    stream stays 1..n with no gap, replays to the stored statuses, and
#    watch on A and B shows the rows alike;
#  - a SHUTDOWN heartbeat heard only by the non-decider B: the decider takes
#    the endpoint offline at once, reason shutdown (B's contact feed).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=st$(($$ % 1000))
PG=$(mktemp -d /tmp/glournet-pg-stream.XXXXXX)
PGPW=pw-$$-stream
PG_LOG_STATEMENT=none
BG_PIDS=()
LEASE=3 OFF=4 N=40

two_collectors "$T"
PGPORT=$(port_pick $((${C_PORT[b]} + 7)) 1) || fail "no free port for PostgreSQL"
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; two_collectors_stop; pg_teardown; set +e; (exit $rc); cleanup' EXIT

pg_setup
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
OPTS=(--store "$URL" --lease ${LEASE}s --set heartbeat.interval=1s
	--set heartbeat.offline_after=${OFF}s --set guard.threshold=0 --sweep-interval 1s)
start_collector() {   # start_collector a|b [again]: a new lab the first time
	use "$1"
	if [ "${2:-}" = again ]; then start_daemon_only --collector-name "st-$1" "${OPTS[@]}"
	else start_daemon --collector-name "st-$1" "${OPTS[@]}"; fi
	C_PID[$1]=$DAEMON_PID
}
holder() { sql "SELECT holder || ' ' || epoch FROM decider"; }
watch_seqs() {   # watch_seqs COLLECTOR FROM COUNT: the seqs watch prints
	use "$1"
	timeout 10 "$CTL" -s "$SOCK" -j watch --from "$2" --count "$3" | jq -r '.seq // .event.seq // empty'
}
hb() {
	ip netns exec "$(lab_ns "${C_TAG[$1]}")" "$AGENT" heartbeat --state "$WORK/state" \
		--to "$LAB_COLLECTOR4" --interval 1 --duration 120 --first "$2" --count "$3" \
		>>"$WORK/agent-$1.log" 2>&1 &
	BG_PIDS+=($!)
}

start_collector a
for _ in $(seq 50); do [ "$(holder)" = "st-a 1" ] && break; sleep 0.1; done
[ "$(holder)" = "st-a 1" ] || fail "A took the lease: $(holder)"
"$AGENT" register --server "http://127.0.0.1:${C_PORT[a]}" --token "$TOKEN" --count $N \
	--guid-prefix fst --state "$WORK/state" >/dev/null
start_collector b
# Groups: 0-9 live throughout, 10-19 fall silent while the decider is
# stopped, 20-29 after the failover, 30-39 now-ish (after both collectors
# heard them).
for c in a b; do hb $c 0 10; done
G1=(); for c in a b; do hb $c 10 10; G1+=($!); done
G2=(); for c in a b; do hb $c 20 10; G2+=($!); done
G3=(); for c in a b; do hb $c 30 10; G3+=($!); done
sleep 2
kill "${G3[@]}"
T_S=$(date +%s%N)
use a
for _ in $(seq 150); do [ "$(field .offline show status)" = 10 ] && break; sleep 0.1; done
[ "$(field .offline show status)" = 10 ] || fail "10 offline on the decider A: $(ctlj show status | jq -c '{online, offline}')"
t_a=$(( ($(date +%s%N) - T_S) / 1000000 ))
use b
for _ in $(seq 30); do [ "$(field .offline show status)" = 10 ] && break; sleep 0.1; done
t_b=$(( ($(date +%s%N) - T_S) / 1000000 ))
[ "$(field .offline show status)" = 10 ] || fail "B, which decides nothing, shows the decider's 10 offline within 3 s: $(ctlj show status | jq -c '{online, offline}')"
[ $((t_b - t_a)) -le 2500 ] || fail "B followed A $((t_b - t_a)) ms late (over ~2 s)"
g=$(guid_of 35)
use b; sb=$(field .status show client "$g")
use a; sa=$(field .status show client "$g")
[ "$sa" = offline ] && [ "$sb" = offline ] || fail "show client $g: A '$sa', B '$sb'"
use b; [ "$(field .online show status)" = 30 ] || fail "B: 30 online"
pass "10 silent endpoints offline on A after ${t_a} ms, on B (non-decider) after ${t_b} ms; show client $g: A $sa, B $sb"

sleep 1   # the last batch of offlines committed and read
n1=$(stream_check "before the failover" sql)
pass "the stored stream: seqs 1..$n1, each once, the sequence at $n1; replayed it gives every stored status"

wa=$(watch_seqs a 1 "$n1" | tr '\n' ' ')
wb=$(watch_seqs b 1 "$n1" | tr '\n' ' ')
[ "$wa" = "$(seq -s ' ' 1 "$n1") " ] || fail "watch --from 1 on A: '$wa'"
[ "$wa" = "$wb" ] || fail "watch on A and B differ: A '$wa' / B '$wb'"
from=$((n1 - 4))
wf=$(watch_seqs b "$from" 3 | tr '\n' ' ')
[ "$wf" = "$from $((from + 1)) $((from + 2)) " ] || fail "watch --from $from on B: '$wf'"
use b; sc=$(ctlj show cluster)
jq -e --argjson n "$n1" '.stream.cursor == $n and .stream.lag == 0 and .stream.gaps == 0' <<<"$sc" >/dev/null ||
	fail "show cluster on B: stream at $n1, no lag: $(jq -c .stream <<<"$sc")"
pass "watch --from 1 prints seqs 1..$n1 on A and on B alike; watch --from $from on B resumes there ($wf); show cluster on B: $(jq -c '.stream | {cursor, head, lag, applied}' <<<"$sc")"

# ---- kill -9 of the decider ----
kill -KILL "${C_PID[a]}"; wait "${C_PID[a]}" 2>/dev/null || true; C_PID[a]=
for _ in $(seq 100); do [ "$(holder)" = "st-b 2" ] && break; sleep 0.1; done
[ "$(holder)" = "st-b 2" ] || fail "B took the lease: $(holder)"
use b
for _ in $(seq 30); do grep -q "transition stream caught up" "$WORK/b.log" && break; sleep 0.1; done
grep -q "transition stream caught up" "$WORK/b.log" || fail "B logs that it caught the stream up before deciding"
kill "${G2[@]}"
for _ in $(seq 150); do [ "$(field .offline show status)" = 20 ] && break; sleep 0.1; done
[ "$(field .offline show status)" = 20 ] || fail "B decides the next 10 offline: $(ctlj show status | jq -c '{online, offline}')"
sleep 1
n2=$(stream_check "after the failover" sql)
[ "$n2" -ge $((n1 + 10)) ] || fail "B's offlines continue the sequence: $n1 then $n2"
wb=$(watch_seqs b $((n1 + 1)) $((n2 - n1)) | tr '\n' ' ')
[ "$wb" = "$(seq -s ' ' $((n1 + 1)) "$n2") " ] || fail "watch on B after the failover: '$wb'"
went=$(sql "SELECT count(DISTINCT id) FROM transitions WHERE new_status = 1")
[ "$went" = 20 ] || fail "offline transitions for exactly the 20 silent endpoints: $went"
pass "kill -9 of A: B took over at epoch 2, caught the stream up, and its 10 offlines are seqs $((n1 + 1))..$n2: 1..$n2 with no gap; replay = stored statuses; watch on B shows them"

# ---- A back, then the decider B stopped for twice its lease ----
start_collector a again
use a
for _ in $(seq 30); do [ "$(field .offline show status)" = 20 ] && break; sleep 0.1; done
[ "$(field .offline show status)" = 20 ] || fail "A restarted loads the 20 offline: $(ctlj show status | jq -c '{online, offline}')"
kill -STOP "${C_PID[b]}"
kill "${G1[@]}"
for _ in $(seq 100); do [ "$(holder)" = "st-a 3" ] && break; sleep 0.1; done
[ "$(holder)" = "st-a 3" ] || { kill -CONT "${C_PID[b]}"; fail "A took the lease from the stopped B: $(holder)"; }
for _ in $(seq 150); do [ "$(field .offline show status)" = 30 ] && break; sleep 0.1; done
kill -CONT "${C_PID[b]}"
[ "$(field .offline show status)" = 30 ] || fail "A decides the next 10 offline: $(ctlj show status | jq -c '{online, offline}')"
use b
for _ in $(seq 40); do [ "$(field .offline show status)" = 30 ] && break; sleep 0.1; done
[ "$(field .offline show status)" = 30 ] || fail "B resumed (no longer deciding) follows A's offlines: $(ctlj show status | jq -c '{online, offline}')"
[ "$(field .deciding show cluster)" = false ] || fail "B resumed still decides"
# The resync runs on the stream's thread after the step-down: wait for it
# (B's offline count can match A's through the stream rows before it ends).
for _ in $(seq 50); do
	rs=$(ctlj show cluster | jq -c '.stream | {resyncs, resynced}')
	jq -e '.resyncs >= 1' <<<"$rs" >/dev/null && break
	sleep 0.1
done
jq -e '.resyncs >= 1' <<<"$rs" >/dev/null || fail "B resumed read the stored statuses again: $rs"
sleep 1
n3=$(stream_check "after the SIGSTOP" sql)
[ "$n3" -ge $((n2 + 10)) ] || fail "A's offlines continue the sequence: $n2 then $n3"
wa=$(watch_seqs a $((n2 + 1)) $((n3 - n2)) | tr '\n' ' ')
wb=$(watch_seqs b $((n2 + 1)) $((n3 - n2)) | tr '\n' ' ')
[ "$wa" = "$(seq -s ' ' $((n2 + 1)) "$n3") " ] && [ "$wa" = "$wb" ] || fail "watch after the SIGSTOP: A '$wa' / B '$wb'"
went=$(sql "SELECT count(DISTINCT id) FROM transitions WHERE new_status = 1")
[ "$went" = 30 ] || fail "offline transitions for exactly the 30 silent endpoints: $went"
pass "SIGSTOP of the decider B: A took over at epoch 3, its 10 offlines are seqs $((n2 + 1))..$n3 (1..$n3, no gap, replay = stored statuses); B resumed stepped down, read the stored statuses again ($rs) and shows them; watch on A and B alike"
# ---- registrations on the non-decider B: contact and stream rows ----
[ "$(holder)" = "st-a 3" ] || fail "A still decides: $(holder)"
t_reg=$(date +%s)
"$AGENT" register --server "http://127.0.0.1:${C_PORT[b]}" --token "$TOKEN" --count 5 \
	--guid-prefix fsn --state "$WORK/state-new" >/dev/null
"$AGENT" register --server "http://127.0.0.1:${C_PORT[b]}" --token "$TOKEN" --first 30 --count 5 \
	--guid-prefix fst --state "$WORK/state" >"$WORK/reg-b.log" 2>&1
t_done=$(date +%s)
dbg() { for c in a b; do use $c; echo "$c: $(ctlj show client fst-000030 | jq -c '{status, reason, last_contact, last_heartbeat}') feed $(ctlj show cluster | jq -c .feed)"; done; sql "SELECT seq, id, time, new_status, reason FROM transitions WHERE seq > $n3"; tail -5 "$WORK/reg-b.log" 2>/dev/null; }
NEW="guid LIKE 'fsn-%'" RE="guid IN ('fst-000030', 'fst-000031', 'fst-000032', 'fst-000033', 'fst-000034')"
rows() {   # rows WHICH NEW_STATUS REASON: "count distinct-ids min(time) max(time)" of their rows since t_reg
	sql "SELECT count(*) || ' ' || count(DISTINCT t.id) || ' ' || coalesce(min(t.time), 0) || ' ' || coalesce(max(t.time), 0) FROM transitions t JOIN endpoints e ON e.id = t.id WHERE $1 AND t.new_status = $2 AND t.reason = $3 AND t.time >= $t_reg"
}
# Until all 10 have their offline row (each judged on its own: a count of
# offlines could pass while the re-registered ones are not online yet).
for _ in $(seq 60); do [ "$(rows "($NEW OR $RE)" 1 4 | cut -d' ' -f2)" = 10 ] && break; sleep 0.2; done
use a
[ "$(field .offline show status)" = 35 ] && [ "$(field .clients show status)" = 45 ] ||
	fail "the decider A: 5 new and 5 re-registered on B offline again: $(ctlj show status | jq -c '{clients, online, offline}')"
sleep 1
read -r nc nd nlo nhi <<<"$(rows "$NEW" 0 0)"
[ "$nc" = 5 ] && [ "$nd" = 5 ] || fail "a stream row (online, registered) for each of the 5 registered on B: $nc rows for $nd"
read -r rc_ rd rlo rhi <<<"$(rows "$RE" 0 0)"
[ "$rc_" = 5 ] && [ "$rd" = 5 ] || { dbg; fail "the 5 offline endpoints re-registered on B online again on the decider (registered): $rc_ rows for $rd"; }
read -r oc od olo ohi <<<"$(rows "($NEW OR $RE)" 1 4)"
[ "$oc" = 10 ] && [ "$od" = 10 ] || fail "an offline (no-contact) row for each of the 10: $oc rows for $od"
[ "$olo" -ge $((t_reg + OFF - 1)) ] && [ "$ohi" -le $((t_done + OFF + 3)) ] ||
	fail "the 10 offline on the decider at registration + offline_after: at $((olo - t_reg))..$((ohi - t_reg)) s after the registrations began ($((t_done - t_reg)) s long, offline_after $OFF s)"
n4=$(stream_check "after the registrations on B" sql)
[ "$n4" = $((n3 + 20)) ] || fail "20 rows more (10 online, 10 offline): $n3 then $n4"
wa=$(watch_seqs a $((n3 + 1)) 20 | tr '\n' ' ')
wb=$(watch_seqs b $((n3 + 1)) 20 | tr '\n' ' ')
[ "$wa" = "$(seq -s ' ' $((n3 + 1)) "$n4") " ] && [ "$wa" = "$wb" ] || fail "watch of the registrations' rows: A '$wa' / B '$wb'"
use b
for _ in $(seq 30); do [ "$(field .offline show status)" = 35 ] && break; sleep 0.1; done
[ "$(field .offline show status)" = 35 ] || fail "B follows: $(ctlj show status | jq -c '{clients, online, offline}')"
pass "registered on the non-decider B without heartbeats: 5 new (a stream row each, registered, from the decider) and 5 re-registered offline ones (online again on A through the contact feed); all 10 offline on A $((olo - t_reg))-$((ohi - t_reg)) s after the registrations began (offline_after ${OFF} s); stream 1..$n4 no gap, replay = stored statuses, watch on A and B alike"

# ---- a SHUTDOWN heard only by the non-decider B ----
# 5 more registered on B heartbeat to B alone for a second, then each sends
# one SHUTDOWN (glournet-loadgen, their keys from B's export): B forwards it
# in its contact batch, and the decider A takes them offline at once with
# reason shutdown (without it they went offline offline_after later,
# reason no-contact).
"$AGENT" register --server "http://127.0.0.1:${C_PORT[b]}" --token "$TOKEN" --count 5 \
	--guid-prefix fsd --state "$WORK/state-down" >/dev/null
use b
ctl export "$WORK/export-b.jsonl" >/dev/null
for _ in $(seq 50); do [ "$(ctlj show bulk | jq -r .export.running)" = false ] && break; sleep 0.1; done
jq -c 'select(.guid | startswith("fsd-"))' "$WORK/export-b.jsonl" >"$WORK/down.jsonl"
[ "$(grep -c . "$WORK/down.jsonl")" = 5 ] || fail "B's export holds the 5 fsd endpoints: $(cat "$WORK/down.jsonl")"
t_down=$(date +%s)
ip netns exec "$(lab_ns "${C_TAG[b]}")" "$BUILD/tools/glournet-loadgen" --endpoints "$WORK/down.jsonl" \
	--to "$LAB_COLLECTOR4" --interval 1s --duration 2s --shutdown 1 --shutdown-after 1s -q >"$WORK/lg-down.log" 2>&1 ||
	fail "loadgen's shutdowns into B: $(cat "$WORK/lg-down.log")"
DOWN="guid LIKE 'fsd-%'"
for _ in $(seq 40); do [ "$(rows "$DOWN" 1 5 | cut -d' ' -f2)" = 5 ] && break; sleep 0.1; done
read -r dc dd dlo dhi <<<"$(rows "$DOWN" 1 5)"
[ "$dc $dd" = "5 5" ] || fail "an offline (shutdown) row on the decider for each of the 5 shut down on B: $dc rows for $dd ($(rows "$DOWN" 1 4 | cut -d' ' -f1) offline no-contact)"
use a
[ "$(ctlj show client fsd-000000 | jq -r '.status + " " + .reason')" = "offline shutdown" ] ||
	fail "show client on A: $(ctlj show client fsd-000000 | jq -c '{status, reason}')"
n5=$(stream_check "after the shutdowns on B" sql)
pass "SHUTDOWN heard only by B: the decider A took the 5 offline, reason shutdown, $((dlo - t_down))-$((dhi - t_down)) s after loadgen began (offline_after ${OFF} s); stream 1..$n5 no gap"
for c in a b; do use $c; stop_daemon; C_PID[$c]=; done
