#!/usr/bin/env bash
# Issue 16, the change feed (docs/store.md "Several collectors: the change
# feed"): one throwaway PostgreSQL, two glournetd (A decides, B does not)
# on their own veth labs. Proves:
#  - endpoints registered on A and on B are in both collectors' memory
#    within 2 s (show status, show client on the other);
#  - heartbeats of a B-registered endpoint sent to A are accepted there;
#  - a re-key on B reaches A: the old key refused on A, the new accepted;
#  - a removal on A reaches B;
#  - removals on A and on B are rows of the fleet's stream (kind removed,
#    the decider writes B's), and watch on both shows them;
#  - slots never collide (one row per slot in the store, the collectors in
#    their own slot blocks);
#  - B restarted loads everything, registrations made while it was down
#    included, and follows on;
#  - a batch of puts (an import) with one guid another collector committed
#    rejects that put alone, and one with a guid another transaction is
#    inserting falls back to one put at a time (store_pg.c pg_put_many),
#    with the same result and no failed commit.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=fc$(($$ % 1000))
PG=$(mktemp -d /tmp/glournet-pg-changefeed.XXXXXX)
PGPW=pw-$$-secret
PG_LOG_STATEMENT=none
BG_PIDS=()
NA=40 NB=30

two_collectors "$T"
PGPORT=$(port_pick $((${C_PORT[b]} + 7)) 1) || fail "no free port for PostgreSQL"
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; two_collectors_stop; pg_teardown; set +e; (exit $rc); cleanup' EXIT

pg_setup
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
OPTS=(--store "$URL" --lease 3s --set heartbeat.interval=1s --set register.replace_after=1s
	--set guard.threshold=0 --sweep-interval 1s)
start_collector() {
	use "$1"
	local m=(--metrics "127.0.0.1:$((${C_PORT[$1]} + 2))")
	if [ "${2:-}" = again ]; then start_daemon_only --collector-name "fc-$1" "${m[@]}" "${OPTS[@]}"
	else start_daemon --collector-name "fc-$1" "${m[@]}" "${OPTS[@]}"; fi
	C_PID[$1]=$DAEMON_PID
}
reg() {   # reg COLLECTOR PREFIX FIRST COUNT STATE
	"$AGENT" register --server "http://127.0.0.1:${C_PORT[$1]}" --token "$TOKEN" --guid-prefix "$2" \
		--first "$3" --count "$4" --state "$5" --retries 3 >>"$WORK/reg.log" 2>&1
}
clients_on() { use "$1"; field .clients show status; }
wait_clients() {   # wait_clients COLLECTOR N SECONDS: the time it took, in ms (fails past it)
	local t0=$(date +%s%N) got
	for _ in $(seq $(($3 * 20))); do
		got=$(clients_on "$1"); [ "$got" = "$2" ] && { echo $(( ($(date +%s%N) - t0) / 1000000 )); return; }
		sleep 0.05
	done
	fail "collector $1 holds $got endpoints, not $2, after $3 s" >&2   # inside $(...)
}
accepted_on() { use "$1"; field .total.accepted show stats; }
hb_to() {   # hb_to COLLECTOR STATE FIRST COUNT SECONDS: heartbeats into its lab, waits
	ip netns exec "$(lab_ns "${C_TAG[$1]}")" "$AGENT" heartbeat --state "$2" --to "$LAB_COLLECTOR4" \
		--interval 0.25 --duration "$5" --first "$3" --count "$4" >>"$WORK/hb.log" 2>&1 || true
}

start_collector a
for _ in $(seq 50); do [ "$(sql "SELECT holder FROM decider")" = fc-a ] && break; sleep 0.1; done
start_collector b
pass "two collectors on PostgreSQL 127.0.0.1:$PGPORT, fc-a decides"

# ---- registrations on both reach the other ----
reg a fa 0 $NA "$WORK/sa"
reg b fb 0 $NB "$WORK/sb"
ta=$(wait_clients a $((NA + NB)) 2)
tb=$(wait_clients b $((NA + NB)) 2)
for c in a b; do
	use $c
	for s in sa:0 sa:$((NA - 1)) sb:0 sb:$((NB - 1)); do
		read -r guid id slot _ < <(grep -v '^#' "$WORK/${s%%:*}" | sed -n "$((${s##*:} + 1))p")
		got="$(field .id show client "$guid") $(field .slot show client "$guid")"
		[ "$got" = "$id $slot" ] || fail "on $c, $guid is '$got', the agent has '$id $slot'"
	done
done
pass "$NA registered on A and $NB on B: all $((NA + NB)) in A's memory (${ta} ms) and B's (${tb} ms), same ids and slots as the agents hold"
read -r rows slots guids < <(sql "SELECT count(*), count(DISTINCT slot), count(DISTINCT guid) FROM endpoints" | tr '|' ' ')
[ "$rows $slots $guids" = "$((NA + NB)) $((NA + NB)) $((NA + NB))" ] || fail "one row per slot and guid: $rows rows, $slots slots, $guids guids"
blocks=$(sql "SELECT collector || ':' || block FROM slot_blocks ORDER BY block" | tr '\n' ' ')
bad=$(sql "SELECT count(*) FROM endpoints e WHERE NOT EXISTS (SELECT 1 FROM slot_blocks b WHERE b.block = e.slot / 65536 AND b.collector = CASE WHEN e.guid LIKE 'fa-%' THEN 'fc-a' ELSE 'fc-b' END)")
[ "$bad" = 0 ] || fail "$bad endpoints outside their collector's slot blocks ($blocks)"
pass "no slot collides: $rows rows in $slots slots, each collector's in its own blocks ($blocks)"

# ---- heartbeats of B's endpoints accepted on A ----
a0=$(accepted_on a)
hb_to a "$WORK/sb" 0 10 2
a1=$(accepted_on a)
[ $((a1 - a0)) -ge 40 ] || fail "A accepted $((a1 - a0)) heartbeats of 10 B-registered endpoints in 2 s"
pass "heartbeats of 10 endpoints registered on B accepted on A: $((a1 - a0))"

# ---- a re-key on B reaches A ----
sleep 1.2   # fb-000020 had no contact since its registration: replace_after 1 s
reg b fb 20 1 "$WORK/sr"
new=$(grep -v '^#' "$WORK/sr" | head -1 | awk '{print $4}')
old=$(grep -v '^#' "$WORK/sb" | sed -n 21p | awk '{print $4}')
[ -n "$new" ] && [ "$new" != "$old" ] || fail "B re-keyed fb-000020 ($old -> $new)"
for _ in $(seq 40); do
	[ "$(sql "SELECT encode(key, 'hex') FROM endpoints WHERE guid = 'fb-000020'")" = "$new" ] && break; sleep 0.05
done
sleep 1
a0=$(accepted_on a); hb_to a "$WORK/sb" 20 1 1.5; a1=$(accepted_on a)
[ $((a1 - a0)) = 0 ] || fail "A accepted $((a1 - a0)) heartbeats with fb-000020's old key"
hb_to a "$WORK/sr" 0 1 1.5; a2=$(accepted_on a)
[ $((a2 - a1)) -ge 3 ] || fail "A accepted $((a2 - a1)) heartbeats with fb-000020's new key"
pass "a re-key on B reaches A: the old key refused there, the new one accepted ($((a2 - a1)) heartbeats)"

# ---- a re-registration on the non-decider keeps the decider's statuses ----
sql "UPDATE endpoints SET status = 1, reason = 4, status_since = 12345 WHERE guid IN ('fa-000011', 'fa-000012')" >/dev/null
slot11=$(sql "SELECT slot FROM endpoints WHERE guid = 'fa-000011'")
reg b fa 11 1 "$WORK/sa"
reg a fa 12 1 "$WORK/sa"
[ "$(sql "SELECT count(*) FROM endpoint_changes WHERE collector = 'fc-b' AND slot = $slot11")" -ge 1 ] ||
	fail "B's re-registration of fa-000011 wrote its row"
got=$(sql "SELECT status || ' ' || status_since FROM endpoints WHERE guid = 'fa-000011'")
[ "$got" = "1 12345" ] || fail "B's re-registration overwrote the decider's status of fa-000011: $got"
got12=$(sql "SELECT status || ' ' || status_since FROM endpoints WHERE guid = 'fa-000012'")
[ "$got12" != "1 12345" ] || fail "A's (the decider's) re-registration of fa-000012 wrote its status: $got12"
pass "a re-registration on B (not deciding) keeps the stored status ($got), one on the decider A writes its own ($got12)"

# ---- a removal on A reaches B ----
use a; ctl remove client fa-000003 --force >/dev/null
tr=$(wait_clients b $((NA + NB - 1)) 2)
use b; rc=0; ctlj show client fa-000003 >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "B still knows fa-000003"
pass "a removal on A reaches B in ${tr} ms"

# ---- removals in the fleet's stream ----
# The removal on A (the decider) and one on B (which does not decide: B's
# own row is fenced; the decider writes it when the change feed brings the
# removal) are stream rows of kind removed (transitions.h TK_REMOVED, 3,
# reason operator), and watch on either collector shows them.
use b; ctl remove client fb-000005 --force >/dev/null
tr=$(wait_clients a $((NA + NB - 2)) 2)
id_of() { grep -v '^#' "$1" | awk -v g="$2" '$1 == g { print "(x'"'"'" $2 "'"'"')::bit(64)::int8" }'; }   # id_of STATE GUID: as SQL
rm_rows() { sql "SELECT t.seq || ' ' || e.guid FROM transitions t JOIN (VALUES ($(id_of "$WORK/sa" fa-000003), 'fa-000003'),
	($(id_of "$WORK/sb" fb-000005), 'fb-000005')) AS e(id, guid) ON e.id = t.id WHERE t.kind = 3 AND t.reason = 0 ORDER BY t.seq"; }
for _ in $(seq 40); do [ "$(rm_rows | grep -c . || true)" = 2 ] && break; sleep 0.05; done
rows=$(rm_rows)
[ "$(grep -c . <<<"$rows" || true)" = 2 ] || fail "a removal row in the stream for each of fa-000003 and fb-000005: '$rows'"
for c in a b; do
	use $c
	while read -r s g; do
		w=$(timeout 10 "$CTL" -s "$SOCK" -j watch --from "$s" --count 1 | jq -c 'select(.seq != null or .event != null)' | head -1)
		jq -e --argjson s "$s" '(.seq // .event.seq) == $s and (.kind // .event.kind) == "removed"' <<<"$w" >/dev/null ||
			fail "watch --from $s on $c shows $g's removal: $w"
	done <<<"$rows"
done
pass "removals in the stream: on A and on B (written by the decider), seqs $(cut -d' ' -f1 <<<"$rows" | paste -sd' '); watch on A and B shows them; B reached A in ${tr} ms"

# ---- B restarted: loads everything, follows on ----
use b; stop_daemon; C_PID[b]=
reg a fa $NA 5 "$WORK/sa"
start_collector b again
tb=$(wait_clients b $((NA + NB + 3)) 2)
reg a fa $((NA + 5)) 5 "$WORK/sa"
tf=$(wait_clients b $((NA + NB + 8)) 2)
[ "$(sql "SELECT count(*) FROM slot_blocks WHERE collector = 'fc-b'")" = 1 ] || fail "B claimed a new block on its restart: $(sql "SELECT * FROM slot_blocks")"
reg b fb $NB 3 "$WORK/sb"
wait_clients a $((NA + NB + 11)) 2 >/dev/null
read -r rows slots < <(sql "SELECT count(*), count(DISTINCT slot) FROM endpoints" | tr '|' ' ')
[ "$rows" = "$slots" ] || fail "slots collide after B's restart: $rows rows in $slots slots"
use b
pass "B restarted holds all $((NA + NB + 3)) (${tb} ms), follows on (${tf} ms for 5 more from A), registers in its own block again; show cluster on B: $(ctlj show cluster | jq -c '.changes | {cursor, applied, failed, slot_blocks, lag_s}')"

# ---- the same guids registering on both collectors at once ----
# The policy is the fleet's (one row, compare-and-set): set once, on A,
# and wait for B to have it (a set on B before then would be refused).
use a; ctl set register.replace_after 1h >/dev/null
want_rev=$(field .settings_rev show settings)
use b
for _ in $(seq 40); do [ "$(field .settings_rev show settings)" = "$want_rev" ] && break; sleep 0.1; done
[ "$(field .settings_rev show settings)" = "$want_rev" ] || fail "B did not get settings_rev $want_rev within 4 s"
NR=200
guid_race race $NR "$WORK" "http://127.0.0.1:${C_PORT[a]}" "http://127.0.0.1:${C_PORT[b]}"
guid_race_check race $NR "$WORK" sql
total=$(sql "SELECT count(*) FROM endpoints")
wait_clients a "$total" 2 >/dev/null; wait_clients b "$total" 2 >/dev/null
for i in 0 1 2 50 99 150 199; do
	g=$(printf 'race-%06d' $i)
	want=$(grep "^$g " "$WORK/race-store" | awk '{print $2, $3}')
	for c in a b; do
		use $c; got="$(field .id show client "$g") $(field .slot show client "$g")"
		[ "$got" = "$want" ] || fail "on $c, $g is '$got', the store has '$want'"
	done
done
use a; ra=$(ctlj show cluster | jq .changes.guid_races); use b; rb=$(ctlj show cluster | jq .changes.guid_races)
mb=$(curl -s "http://127.0.0.1:$((${C_PORT[b]} + 2))/metrics" | awk '$1 == "glournet_changes_guid_races_total" {print $2}')
[ "$mb" = "$rb" ] || fail "B's metric glournet_changes_guid_races_total is '$mb', show cluster says $rb"
applied=$(curl -s "http://127.0.0.1:$((${C_PORT[b]} + 2))/metrics" | awk '$1 == "glournet_changes_applied_total" {print $2}')
[ "${applied:-0}" -gt 0 ] || fail "B's metric glournet_changes_applied_total is '$applied'"
pass "$NR guids registered on both at once: one row each in the store, $(wc -l <"$WORK/race-agents") answers 200/201 all holding the stored key (A: $(tail -1 "$WORK/race-a.log"); B: $(tail -1 "$WORK/race-b.log")); lost races undone: A $ra, B $rb (metric on B: $mb; changes applied on B: $applied); both collectors hold $total with the store's ids and slots"

# ---- a batch of puts meets guids another collector holds ----
# store_pg.c writes a run of puts as one statement: a row whose guid
# another collector's commit holds is left out of it and alone rejected;
# a guid another transaction is inserting (not committed yet) makes the
# statement fail, and the group is written again one put at a time. The
# other collector's rows are made here by SQL in B's block, without a
# change row, so A never hears of them and imports their guids as new.
other_row() {   # other_row GUID N: a row another collector committed (id 7000000 + N)
	echo "INSERT INTO endpoints (slot, id, guid, key, hostname, ips, notify_port, registered,
		last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, status, reason,
		ctl_reason, status_since, notify_pending) VALUES ($(( $(sql "SELECT min(block) FROM slot_blocks WHERE collector = 'fc-b'") * 65536 + 60000 + $2 )),
		$((7000000 + $2)), '$1', decode(md5('$1'), 'hex'), 'other', '', 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0)"
}
import_on_a() {   # import_on_a FIRST COUNT: pt-FIRST ... imported on A, every put committed
	local f=$WORK/pt-$1.jsonl i
	for i in $(seq "$1" $(($1 + $2 - 1))); do printf '{"guid":"pt-%06d","hostname":"pt"}\n' "$i"; done >"$f"
	use a; ctl import "$f" >/dev/null
	for _ in $(seq 200); do
		[ "$(ctlj show bulk | jq -r .import.running)" = false ] && [ "$(field '.store.queue_len // 0' show status)" = 0 ] && return
		sleep 0.05
	done
	fail "the import of $f did not end in 10 s: $(ctlj show bulk | jq -c .import)"
}
pt_check() {   # pt_check FIRST COUNT TAKEN: the rows of the import, TAKEN the other collector's
	local g rows mine
	g=$(printf 'pt-%06d' "$3")
	read -r rows mine < <(sql "SELECT count(*), count(*) FILTER (WHERE id < 7000000 OR id > 7000100) FROM endpoints
		WHERE guid >= 'pt-$(printf %06d "$1")' AND guid <= 'pt-$(printf %06d $(($1 + $2 - 1)))'" | tr '|' ' ')
	[ "$rows $mine" = "$2 $(($2 - 1))" ] || fail "import of $2 with $g taken: $rows rows stored, $mine of them A's (want $2, $(($2 - 1)))"
	[ "$(sql "SELECT id FROM endpoints WHERE guid = '$g'")" = $((7000000 + $3 % 100)) ] || fail "$g: the other collector's row was overwritten"
	use a; rc=0; ctlj show client "$g" >/dev/null 2>&1 || rc=$?
	[ $rc -ne 0 ] || fail "A still holds $g, whose put was rejected"
	[ "$(field .id show client "pt-$(printf %06d "$1")")" = "$(sql "SELECT lpad(to_hex(id), 16, '0') FROM endpoints WHERE guid = 'pt-$(printf %06d "$1")'")" ] ||
		fail "A holds pt-$(printf %06d "$1") with another id than the store"
}
use a
races0=$(ctlj show cluster | jq .changes.guid_races); errs0=$(field .store.commit_errors show status)
sql "$(other_row pt-000002 2)" >/dev/null
import_on_a 0 20
pt_check 0 20 2
races1=$(ctlj show cluster | jq .changes.guid_races)
[ $((races1 - races0)) = 1 ] || fail "A counted $((races1 - races0)) lost races for one taken guid"
pass "an import of 20 on A with pt-000002 committed by another collector: that put alone rejected and undone, 19 stored"

loglines=$(wc -l <"$WORK/a.log")
psql -h "$PG/sock" -p "$PGPORT" -U gn -d glournet -XAtq >"$WORK/pt-other.log" 2>&1 <<<"BEGIN;
$(other_row pt-000025 25);
SELECT pg_sleep(2);
COMMIT;" &
BG_PIDS+=($!); other=$!
for _ in $(seq 100); do [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ] && break; sleep 0.05; done
[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ] || fail "the other transaction did not start: $(cat "$WORK/pt-other.log")"
import_on_a 20 20
wait $other || fail "the other transaction: $(cat "$WORK/pt-other.log")"
pt_check 20 20 25
races2=$(ctlj show cluster | jq .changes.guid_races); errs1=$(field .store.commit_errors show status)
[ $((races2 - races1)) = 1 ] || fail "A counted $((races2 - races1)) lost races for the guid inserted concurrently"
[ "$errs1" = "$errs0" ] || fail "A's store had $((errs1 - errs0)) failed commits (the group must fall back, not fail the batch)"
log_since_has "$WORK/a.log" "$loglines" "written again one by one" || fail "A's log does not say a group of puts fell back to one at a time"
pass "an import of 20 on A while another transaction inserts pt-000025: the group written again one put at a time, that put alone rejected, 19 stored, no failed commit"

for c in a b; do use "$c"; stop_daemon; C_PID[$c]=; done
