#!/usr/bin/env bash
# Issue #12 end to end over the veth lab, with the real endpoint programs:
# glournetd (net_af_xdp, no static neighbour) runs the campaigns, and in
# the lab namespace glournet-agent listen and glournet-loadgen --notify
# receive, check and ack them (tests/integration/test_notify_veth.sh does
# the same with python responders; test_notify_endpoints.sh tests the
# endpoint programs against a python collector). Shows:
#  A. a settings change, then a component change: the 6 regular endpoints
#     of the agent ack one notify each and poll the new settings_rev; the 3
#     in the unreachable network receive nothing and learn the settings_rev
#     at their next poll; one that never acks (the load generator,
#     --ack-never 1) is re-sent exactly notify.retries times per campaign
#     and notified again at its next heartbeat; forged, replayed and
#     unsolicited acks settle nothing and change nobody's status or contact;
#  B. pacing: a campaign over 10,000 endpoints of the load generator at
#     notify.rate 2000/s arrives there (first notifies by their arrival
#     times) at 2000/s within 10 %, and every one acks;
#  C. connection verification (R12, heartbeat.scope unreachable): the
#     acking endpoints (agent and load generator) stay online through
#     verifications alone, the silent one goes offline with reason no-ack,
#     and the unreachable ones are never verified.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=notify2f$(($$ % 1000)) # lab names with this branch's name (HELPERS.md)
EXC_IFACE=gnx-$TAG
LG=$BUILD/tools/glournet-loadgen
RESP=$SRC/tests/tools/notify_responder.py
RETRIES=2
RETRY_AFTER=2
RATE=2000
FLEET=10000
OFF=20
SHA=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
PIDS=()

on_exit() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	(exit $rc)
	cleanup
}
trap on_exit EXIT

start_daemon_xdp --hb-interval 60s --offline-after 600s --sweep-interval 1s --register-rate 0 \
	--set guard.threshold=0 --set notify.retries=$RETRIES --set notify.retry_after=${RETRY_AFTER}s \
	--set notify.rate=$RATE
ctl range add 203.0.113.0-203.0.113.255 >/dev/null
SERVER=http://$LAB_COLLECTOR4:$HTTP_PORT
reg() { # reg STATE PREFIX COUNT IPS_BASE NOTIFY_PORT
	in_ns "$AGENT" register --server "$SERVER" --token "$TOKEN" --count "$3" --guid-prefix "$2" \
		--ips-base "$4" --notify-port "$5" --state "$1" >/dev/null
}
reg "$WORK/ack.state" ack 6 198.51.100.1 21112
reg "$WORK/silent.state" silent 1 198.51.100.50 21113
reg "$WORK/unreach.state" unreach 3 203.0.113.1 21114
[ "$(field .online show status)" = 7 ] && [ "$(field .unreachable_online show status)" = 3 ] ||
	fail "7 regular and 3 unreachable endpoints online"
# The agent's state as the load generator's credentials (JSON lines).
awk '!/^#/ {printf "{\"guid\":\"%s\",\"id\":\"%s\",\"slot\":%s,\"key\":\"%s\",\"notify_port\":%s}\n",
	$1, $2, $3, $4, $6}' "$WORK/silent.state" >"$WORK/silent.jsonl"

wait_line() { # FILE TEXT
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "no '$2' in $1: $(cat "$1")"
}
# ip netns exec execs the program: $! is its pid, for the SIGTERM that ends it.
listen() { # listen STATE NAME [agent options]
	local state=$1 name=$2
	shift 2
	ip netns exec "$(lab_ns "$TAG")" "$AGENT" listen --state "$state" --to "$LAB_COLLECTOR4" \
		-v --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.log" &
	PIDS+=($!)
	wait_line "$WORK/$name.log" "listening for"
}
listen "$WORK/ack.state" ack --server "$SERVER" --poll-spread 2
ACK_PID=$!
listen "$WORK/unreach.state" unreach --server "$SERVER" --poll-spread 2
UNREACH_PID=$!
ip netns exec "$(lab_ns "$TAG")" "$LG" --endpoints "$WORK/silent.jsonl" --to "$LAB_COLLECTOR4" \
	--notify --no-heartbeats --ack-never 1 --duration 10m --json \
	>"$WORK/silent.json" 2>"$WORK/silent.err" &
SILENT_PID=$!
PIDS+=($SILENT_PID)
wait_line "$WORK/silent.err" "listening for notifies"

campaign() { field "[.running[], .last[]] | map(select(.id == $1))[0].$2" show notify; }
latest() { field "[.running[], .last[]] | map(select(.kind == \"$1\")) | max_by(.id) | .id" show notify; }
wait_done() { # wait_done ID SECS
	for _ in $(seq $(($2 * 10))); do
		[ "$(campaign "$1" state)" = done ] && return 0
		sleep 0.1
	done
	fail "campaign $1 not done after $2 s: $(ctlj show notify)"
}
polled_rev() { grep -c "$1" "$WORK/ack.log" || true; } # lines of the agent's polls
wait_polls() { # wait_polls PATTERN N
	for _ in $(seq 50); do [ "$(polled_rev "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	fail "want $2 polls matching '$1': $(cat "$WORK/ack.log")"
}
check_round() { # check_round CAMPAIGN: 7 targeted, 6 acked, the silent one re-sent RETRIES times
	local c=$1
	[ "$(campaign "$c" targeted)/$(campaign "$c" acked)/$(campaign "$c" gave_up)" = 7/6/1 ] ||
		fail "campaign $c: want 7 targeted, 6 acked, 1 gave up: $(ctlj show notify)"
	[ "$(campaign "$c" resent)" = $RETRIES ] || fail "campaign $c: re-sent $(campaign "$c" resent)"
}

# --- A1. A settings change.
ctl endpoint-setting set scan.schedule "daily 02:00" >/dev/null
REV1=$(field .settings_rev show status)
C1=$(latest change)
wait_done "$C1" 20
check_round "$C1"
wait_polls ": reachable, .*settings_rev $REV1\$" 6
[ "$(grep -c ': notify settings (.*acked' "$WORK/ack.log")" = 6 ] ||
	fail "the agent's 6 acked SETTINGS once each: $(cat "$WORK/ack.log")"
pass "settings_rev $REV1: the agent's 6 acked one SETTINGS notify each and polled settings_rev $REV1; the silent one re-sent $RETRIES times"

# The unreachable ones: nothing came; they learn at their next poll.
ip netns exec "$(lab_ns "$TAG")" "$AGENT" poll --server "$SERVER" --state "$WORK/unreach.state" \
	--interval 1 --duration 1 -v >"$WORK/upoll.out" 2>"$WORK/upoll.log" ||
	fail "the unreachable ones' poll: $(cat "$WORK/upoll.log")"
[ "$(grep -c ": unreachable, .*settings_rev $REV1\$" "$WORK/upoll.log")" = 3 ] ||
	fail "the unreachable ones learn settings_rev $REV1 at their poll: $(cat "$WORK/upoll.log")"
! grep -q ": notify " "$WORK/unreach.log" || fail "an unreachable endpoint was notified: $(cat "$WORK/unreach.log")"
pass "the 3 unreachable ones received nothing and learned settings_rev $REV1 at their next poll"

# --- A2. A component change.
ctl component add pattern 18.977.00 "$SHA" https://update.example/pattern >/dev/null
REV2=$(field .settings_rev show status)
C2=$(latest change)
[ "$C2" -gt "$C1" ] || fail "a new campaign"
wait_done "$C2" 20
check_round "$C2"
wait_polls ": settings_rev $REV1 -> $REV2\$" 6
[ "$(grep -c ': notify components (.*acked' "$WORK/ack.log")" = 6 ] ||
	fail "the agent's 6 acked COMPONENTS once each: $(cat "$WORK/ack.log")"
pass "settings_rev $REV2: the agent's 6 acked one COMPONENTS notify each and polled settings_rev $REV1 -> $REV2"

# --- A3. The silent one's next heartbeat: notified again, with its retries.
SILENT=silent-000000
recontact0=$(field .notify.recontact show stats)
[ "$(field .notify.state show client $SILENT)" = "waiting for contact" ] || fail "silent: waiting"
in_ns "$AGENT" heartbeat --state "$WORK/silent.state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 1 >/dev/null
wait_field 5 .notify.recontact $((recontact0 + 1)) show stats
for _ in $(seq 100); do
	[ "$(field .notify.state show client $SILENT)" = "waiting for contact" ] && break
	sleep 0.1
done
[ "$(field .notify.state show client $SILENT)" = "waiting for contact" ] ||
	fail "silent: its round after the heartbeat did not end"
kill -TERM $SILENT_PID
wait $SILENT_PID || fail "glournet-loadgen (silent) failed: $(cat "$WORK/silent.err")"
s() { jq -r "$1" "$WORK/silent.json"; }
want=$((3 * (RETRIES + 1)))
[ "$(jq -c .notify.per_endpoint.never "$WORK/silent.json")" = "{\"$want\":1}" ] &&
	[ "$(s .notify.acks_sent)" = 0 ] && [ "$(s .notify.refused)" = 0 ] ||
	fail "the silent one: want $want notifies (1 + $RETRIES per campaign and after its heartbeat): $(jq -c .notify "$WORK/silent.json")"
pass "the silent one (loadgen --ack-never 1) received exactly $want notifies: 1 + $RETRIES per campaign and again after its heartbeat"

# --- A4. Acks that answer nothing change nothing.
ack() { in_ns python3 "$RESP" ack --to "$LAB_COLLECTOR4" "$@"; }
n() { field ".notify.$1" show stats; }
snap() { ctlj show client "$1" | jq -c '[.status, .reason, .last_contact, .notify.pending, .notify.last_ack]'; }
before_s=$(snap $SILENT)
before_a=$(snap ack-000000 | jq -c 'del(.[1,2])')
acked0=$(n acked)
bad_mac0=$(drops bad_mac)
replay0=$(n ack_replay)
unsol0=$(n ack_unsolicited)
np0=$(n ack_not_pending)
ack --state "$WORK/silent.state" --flags 0x0c --forge               # forged (bad MAC)
ack --state "$WORK/silent.state" --flags 0x0c --time-offset -100    # replayed: before its round
ack --state "$WORK/unreach.state" --flags 0x04                      # unsolicited: never notified
ack --state "$WORK/ack.state" --flags 0x08                          # settled already (still contact)
wait_field 5 .total.dropped.bad_mac $((bad_mac0 + 1)) show stats
wait_field 5 .notify.ack_replay $((replay0 + 1)) show stats
wait_field 5 .notify.ack_unsolicited $((unsol0 + 1)) show stats
wait_field 5 .notify.ack_not_pending $((np0 + 1)) show stats
[ "$(n acked)" = "$acked0" ] || fail "an ack that answers nothing settled something"
[ "$(snap $SILENT)" = "$before_s" ] || fail "silent changed: $before_s -> $(snap $SILENT)"
[ "$(snap ack-000000 | jq -c 'del(.[1,2])')" = "$before_a" ] ||
	fail "ack-000000 changed: $before_a -> $(snap ack-000000)"
pass "forged, replayed, unsolicited and not-pending acks: counted by reason; nothing settled; the silent one's status, contact and pending unchanged"

# --- B. Pacing over 10,000 endpoints of the load generator.
ip netns exec "$(lab_ns "$TAG")" "$LG" --register "$SERVER" --token "$TOKEN" --count $FLEET \
	--guid-prefix notify2 --notify-port 21120 --ips-base 100.64.0.1 --save "$WORK/fleet.jsonl" \
	--register-only -q >"$WORK/reg.txt" 2>&1 || fail "loadgen --register: $(cat "$WORK/reg.txt")"
[ "$(field .online show status)" = $((7 + FLEET)) ] || fail "$FLEET more online"
ip netns exec "$(lab_ns "$TAG")" "$LG" --endpoints "$WORK/fleet.jsonl" --to "$LAB_COLLECTOR4" \
	--notify --no-heartbeats --duration 10m --json >"$WORK/fleet.json" 2>"$WORK/fleet.err" &
FLEET_PID=$!
PIDS+=($FLEET_PID)
wait_line "$WORK/fleet.err" "listening for notifies"
ctl endpoint-setting set scan.schedule "daily 04:00" >/dev/null
C3=$(latest change)
t0=$(date +%s.%N)
sleep 2
s1=$(campaign "$C3" sent)
t1=$(date +%s.%N)
echo "glournetctl show notify, 2 s into campaign $C3:"
ctl show notify | sed 's/^/  /' # the progress an operator sees (docs/real-nic.md)
sleep 2
s2=$(campaign "$C3" sent)
t2=$(date +%s.%N)
wait_done "$C3" 60
[ "$(campaign "$C3" targeted)/$(campaign "$C3" acked)" = $((FLEET + 7))/$((FLEET + 6)) ] ||
	fail "campaign $C3: want $((FLEET + 7)) targeted, $((FLEET + 6)) acked: $(ctlj show notify)"
daemon_rate=$(echo "($s2 - $s1) / ($t2 - $t1)" | bc -l)
printf 'campaign %s: %s sent in the daemon between %.1f s and %.1f s: %.0f/s; its own rate figure %.0f/s\n' \
	"$C3" $((s2 - s1)) "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t0" | bc -l)" "$daemon_rate" \
	"$(campaign "$C3" rate)"
pass "campaign $C3 over $((FLEET + 7)) endpoints done: $((FLEET + 6)) acked"

# --- C. Verification (R12): heartbeat no longer applies to regular endpoints.
ctl set notify.rate 20000 >/dev/null
ctl set heartbeat.scope unreachable >/dev/null
C4=$(latest change)
[ "$C4" -gt "$C3" ] || fail "heartbeat.scope is told (SETTINGS)"
wait_done "$C4" 30
# The silent one's last contact now, so that verification, not the lack of
# contact, is what finds it gone.
in_ns "$AGENT" heartbeat --state "$WORK/silent.state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 1 >/dev/null
# verify.interval above a round's (1 + retries) x retry_after: a newer
# verification restarts the silent one's round, which must end first.
ctl set heartbeat.offline_after ${OFF}s >/dev/null
ctl set verify.interval 8s >/dev/null
t_verify=$(date +%s)
for _ in $(seq $(((OFF + 20) * 10))); do
	[ "$(field .status show client $SILENT)" = offline ] && break
	sleep 0.1
done
[ "$(field .status show client $SILENT)/$(field .reason show client $SILENT)" = offline/no-ack ] ||
	fail "silent: $(ctlj show client $SILENT | jq -c '[.status, .reason, .notify]')"
pass "the silent one is offline with reason no-ack $(($(date +%s) - t_verify)) s after verification began"
# The others: online on their acks alone, past offline_after since anything else.
sleep $((OFF / 2))
[ "$(field .online show status)" = $((6 + FLEET)) ] ||
	fail "acking endpoints went offline: $(ctlj show status | jq -c '{online, offline}')"
[ "$(field .status show client ack-000005)" = online ] || fail "ack-000005 offline"
V=$(latest verify)
[ "$V" != null ] || fail "no verification campaign"
nver=$(ctlj show notify | jq '[.running[], .last[]] | map(select(.kind == "verify")) | length')
ctl show notify | sed -n '/campaigns:/,$p' | sed 's/^/  /'
[ "$(field .notify.verify_no_ack show stats)" -ge 1 ] || fail "verify_no_ack counted"
pass "$nver verifications kept the $((6 + FLEET)) acking endpoints online (offline_after ${OFF}s, no other contact)"

kill -TERM $ACK_PID $UNREACH_PID $FLEET_PID
wait $FLEET_PID || fail "glournet-loadgen (fleet) failed: $(cat "$WORK/fleet.err")"
wait $ACK_PID || fail "agent listen (ack) failed: $(tail "$WORK/ack.log")"
wait $UNREACH_PID || fail "agent listen (unreachable) failed: $(tail "$WORK/unreach.log")"
PIDS=()
[ "$(jq -r .notifies "$WORK/unreach.json")" = 0 ] || fail "unreachable ones verified: $(cat "$WORK/unreach.json")"
[ "$(jq -r .verify "$WORK/ack.json")" -ge 1 ] && [ "$(jq -r .refused "$WORK/ack.json")" = 0 ] &&
	[ "$(jq -r .acks "$WORK/ack.json")" = "$(jq -r .notifies "$WORK/ack.json")" ] ||
	fail "agent (ack): $(cat "$WORK/ack.json")"
f() { jq -r "$1" "$WORK/fleet.json"; }
[ "$(f .notify.first_notify.endpoints)" = $FLEET ] && [ "$(f .notify.refused)" = 0 ] &&
	[ "$(f .notify.by_flag.verify)" -ge $FLEET ] || fail "fleet: $(jq -c .notify "$WORK/fleet.json")"
rate=$(f .notify.first_notify.rate)
echo "fleet: first notifies of $FLEET endpoints over $(f .notify.first_notify.span_s) s: $rate/s" \
	"(p50 $(f .notify.first_notify.p50_ms) ms, p90 $(f .notify.first_notify.p90_ms) ms)"
awk -v r="$rate" -v w=$RATE 'BEGIN {exit !(r >= 0.9 * w && r <= 1.1 * w)}' ||
	fail "pacing: $rate/s at the load generator, want $RATE/s within 10 %"
pass "pacing: $FLEET first notifies arrived at $rate/s, notify.rate $RATE/s within 10 %; the unreachable ones were never verified"
stop_daemon
echo PASS
