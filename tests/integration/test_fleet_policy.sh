#!/usr/bin/env bash
# Issue 16, the fleet's policy and heartbeat addresses (docs/store.md
# "The fleet's policy and heartbeat addresses"): one throwaway PostgreSQL,
# two glournetd (A, B) with a heartbeat address each of their own, 60
# endpoints registered on A before B starts. Proves:
#  - the register and poll answers on each collector list both collectors'
#    heartbeat addresses, its own first;
#  - a `set` on A is in force on B within 2 s: show settings on B, and a
#    poll on B answers the new settings_rev with a new ETag;
#  - a range change on B reclassifies the endpoints on A;
#  - two sets at once on A and B: one wins and the other is refused with a
#    clear error (or both apply in order), and both collectors agree;
#  - a restart keeps the fleet's policy.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
T=fp$(($$ % 1000))
PG=$(mktemp -d /tmp/glournet-pg-fleetpolicy.XXXXXX)
PGPW=pw-$$-secret
PG_LOG_STATEMENT=none
N=60
ADDR_A=192.0.2.11 ADDR_B=192.0.2.12

two_collectors "$T"
PGPORT=$(port_pick $((${C_PORT[b]} + 7)) 1) || fail "no free port for PostgreSQL"
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; two_collectors_stop; pg_teardown; set +e; (exit $rc); cleanup' EXIT

pg_setup
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
pass "a PostgreSQL 15 cluster on 127.0.0.1:$PGPORT"

start_collector() {   # start_collector a|b [again]
	use "$1"
	local own=$ADDR_A
	[ "$1" = b ] && own=$ADDR_B
	if [ "${2:-}" = again ]; then
		start_daemon_only --collector-name "fp-$1" --store "$URL" --lease 3s --hb-addr "$own"
	else
		start_daemon --collector-name "fp-$1" --store "$URL" --lease 3s --hb-addr "$own"
	fi
	C_PID[$1]=$DAEMON_PID
}
rev_on() { use "$1"; field .settings_rev show settings; }
setting_on() { use "$1"; ctlj show settings | jq -r --arg n "$2" '.settings[] | select(.name == $n) | .value'; }
# poll_on C: a poll on collector C, each time of the next endpoint (the
# replay cache takes each (id, time) once); prints
# the ETag, then the body.
echo 0 >"$WORK/polls"
poll_on() {
	local h k
	k=$(cat "$WORK/polls"); echo $((k + 1)) >"$WORK/polls"
	mapfile -t h < <("$AGENT" poll --state "$WORK/state" --first $((k % N)) --count 1 --print-headers | grep .)
	curl -sS -D "$WORK/poll.h" -H "${h[0]}" -H "${h[1]}" -H "${h[2]}" \
		"http://127.0.0.1:${C_PORT[$1]}/v1/poll" >"$WORK/poll.b"
	grep -q "^HTTP/1.1 200" "$WORK/poll.h" || fail "poll on $1: $(head -1 "$WORK/poll.h") $(cat "$WORK/poll.b")"
	tr -d '\r' <"$WORK/poll.h" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
	cat "$WORK/poll.b"
}

start_collector a
"$AGENT" register --server "http://127.0.0.1:${C_PORT[a]}" --token "$TOKEN" --count $N \
	--guid-prefix fpol --state "$WORK/state" >/dev/null
start_collector b
[ "$(sql "SELECT count(*) FROM policy")" = 1 ] || fail "one row in the policy table"
R0=$(rev_on a)
[ "$(rev_on b)" = "$R0" ] || fail "B started on the fleet's revision $R0: $(rev_on b)"
pass "both collectors on the fleet's policy, revision $R0 (the store's row)"

# ---- heartbeat.addrs: both collectors', this one's first ----
# want_addrs C JSON_ADDRS: C's own (the lab's, then its own one) first, the
# other's after them, each once.
want_addrs() {
	local own=$ADDR_A other=$ADDR_B
	[ "$1" = b ] && own=$ADDR_B other=$ADDR_A
	jq -e --arg l "$LAB_COLLECTOR4" --arg o "$own" --arg x "$other" \
		'.[0] == $l and index($o) != null and index($x) != null and index($o) < index($x) and (length == (unique | length))' <<<"$2" >/dev/null
}
poll_addrs() {   # poll_addrs C: the poll body once it lists both (the lease thread's view: lease/3)
	local out
	for _ in $(seq 30); do
		out=$(poll_on "$1" | tail -n 1)
		want_addrs "$1" "$(jq -c .heartbeat.addrs <<<"$out")" && break
		sleep 0.1
	done
	want_addrs "$1" "$(jq -c .heartbeat.addrs <<<"$out")" || fail "poll on $1 lists both collectors' addrs, its own first: $out"
	echo "$out"
}
out=$(poll_addrs b)
outa=$(poll_addrs a)
for c in a b; do
	reg=$(curl -sS -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
		-d "{\"guid\": \"fpol-new-$c\", \"ips\": [\"192.0.2.200\"]}" "http://127.0.0.1:${C_PORT[$c]}/v1/register")
	want_addrs $c "$(jq -c .heartbeat.addrs <<<"$reg")" || fail "register answer on $c lists both collectors' addrs, its own first: $reg"
done
pass "register and poll answers on A and B list both collectors' heartbeat addresses, their own first: A $(jq -c .heartbeat.addrs <<<"$outa"), B $(jq -c .heartbeat.addrs <<<"$out")"

# ---- a set on A is in force on B within 2 s ----
mapfile -t P0 < <(poll_on b)
E0=${P0[0]}
use a
TS=$(date +%s%N)
ctl set heartbeat.interval 77s >/dev/null || fail "set on A"
set_ms=$(( ($(date +%s%N) - TS) / 1000000 ))   # reported, not asserted (timing targets: bench/)
R1=$(rev_on a)
[ "$R1" = $((R0 + 1)) ] || fail "set on A: revision $R1, want $((R0 + 1))"
T0=$(date +%s%N)
for _ in $(seq 40); do [ "$(rev_on b)" = "$R1" ] && break; sleep 0.05; done
took=$(( ($(date +%s%N) - T0) / 1000000 ))
[ "$(rev_on b)" = "$R1" ] || fail "B did not reach revision $R1 in $took ms: $(rev_on b)"
[ $took -le 2000 ] || fail "B took $took ms for the set on A, over 2 s"
[ "$(setting_on b heartbeat.interval)" = 77s ] || fail "show settings on B: heartbeat.interval $(setting_on b heartbeat.interval)"
mapfile -t P1 < <(poll_on b)
[ "$(jq -r .settings_rev <<<"${P1[1]}")" = "$R1" ] || fail "poll on B: settings_rev $(jq -r .settings_rev <<<"${P1[1]}"), want $R1"
[ "$(jq -r .heartbeat.interval <<<"${P1[1]}")" = 77 ] || fail "poll on B: heartbeat.interval ${P1[1]}"
[ -n "${P1[0]}" ] && [ "${P1[0]}" != "$E0" ] || fail "poll on B: ETag ${P1[0]} unchanged from $E0"
pass "set on A (revision $R1, the command ${set_ms} ms with its commit) in force on B after $took ms: show settings, and B's poll answers settings_rev $R1, ETag $E0 -> ${P1[0]}"

# ---- a range change on B reclassifies on A ----
use a
[ "$(ctlj show status | jq '.unreachable_online + .unreachable_offline')" = 0 ] || fail "none unreachable on A before the range"
use b
ctl range add 0.0.0.0/0 >/dev/null || fail "range add on B"
R2=$(rev_on b)
[ "$R2" = $((R1 + 1)) ] || fail "range add on B: revision $R2, want $((R1 + 1))"
use a
# Every endpoint A holds: the N, and the ones registered on A and on B
# above (B's reaches A through the change feed).
HELD=$((N + 2))
all_unreachable() { ctlj show status | jq -e ".online + .offline == 0 and .unreachable_online + .unreachable_offline == $1" >/dev/null; }
for _ in $(seq 40); do all_unreachable $HELD && break; sleep 0.05; done
all_unreachable $HELD || fail "A: $(ctlj show status | jq -c '{online, offline, unreachable_online, unreachable_offline}'), want all $HELD unreachable"
[ "$(rev_on a)" = "$R2" ] || fail "A at revision $(rev_on a), want $R2"
pass "range add on B (revision $R2): A reclassified its $HELD endpoints into the unreachable network"

# ---- two sets at once ----
use a; ctl set heartbeat.interval 100s >"$WORK/set-a.out" 2>&1 & pa=$!
use b; ctl set heartbeat.interval 200s >"$WORK/set-b.out" 2>&1 & pb=$!
ra=0 rb=0
wait $pa || ra=$?
wait $pb || rb=$?
sleep 1.5
RA=$(rev_on a) RB=$(rev_on b)
[ "$RA" = "$RB" ] || fail "after two sets at once A is at $RA, B at $RB"
VA=$(setting_on a heartbeat.interval) VB=$(setting_on b heartbeat.interval)
[ "$VA" = "$VB" ] || fail "after two sets at once A has $VA, B $VB"
[ "$(sql "SELECT rev FROM policy")" = "$RA" ] || fail "the store holds revision $(sql "SELECT rev FROM policy"), the collectors $RA"
if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then
	[ "$RA" = $((R2 + 2)) ] || fail "both sets applied, revision $RA, want $((R2 + 2))"
	how="both applied in order (revision $RA, heartbeat.interval $VA)"
else
	[ $((ra + rb)) -eq 1 ] || fail "two sets at once: exits A $ra, B $rb: $(cat "$WORK/set-a.out" "$WORK/set-b.out")"
	loser=$WORK/set-a.out winner=200s
	[ $rb -ne 0 ] && loser=$WORK/set-b.out winner=100s
	grep -q "policy changed on another collector meanwhile" "$loser" || fail "the loser's error: $(cat "$loser")"
	[ "$RA" = $((R2 + 1)) ] && [ "$VA" = "$winner" ] || fail "one winner: revision $RA, value $VA (want $((R2 + 1)), $winner)"
	how="one winner (revision $RA, heartbeat.interval $VA), the other refused: $(tr '\n' ' ' <"$loser")"
fi
pass "two sets at once on A and B: $how"

# ---- a restart keeps the fleet's policy ----
use a
kill -TERM "${C_PID[a]}"; wait "${C_PID[a]}" 2>/dev/null || true; C_PID[a]=
start_collector a again
[ "$(rev_on a)" = "$RA" ] || fail "A restarted at revision $(rev_on a), want $RA"
[ "$(setting_on a heartbeat.interval)" = "$VA" ] || fail "A restarted with heartbeat.interval $(setting_on a heartbeat.interval)"
ctlj show status | jq -e '.online + .offline == 0 and .unreachable_online + .unreachable_offline > 0' >/dev/null ||
	fail "A restarted: its endpoints unreachable under the fleet's range: $(ctlj show status | jq -c '{online, offline, unreachable_online, unreachable_offline}')"
pass "A restarted: revision $RA, heartbeat.interval $VA and the range kept"
