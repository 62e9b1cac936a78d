#!/usr/bin/env bash
# Issue #2's integration test: real frames from a network namespace over a
# veth into glournetd's DPDK port (net_af_packet). Endpoints register over
# HTTP; those that heartbeat stay online, those that stop go offline after
# offline_after; forged, misdirected, stale, truncated and garbage frames are
# counted under their reasons and change no status.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

OFFLINE_AFTER=4
# The guard (R10) would rightly hold the final mass offline: tested elsewhere.
start_daemon --hb-interval 1s --offline-after ${OFFLINE_AFTER}s --sweep-interval 1s \
	--set guard.threshold=0

# 20 endpoints register over HTTP; registration is contact (R4).
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 20 \
	--guid-prefix it --state "$WORK/state" >/dev/null
[ "$(field .clients show status)" = 20 ] || fail "20 clients registered"
[ "$(field .online show status)" = 20 ] || fail "registration makes endpoints online"
pass "20 endpoints registered and online"

# Endpoints 0..9 heartbeat every second from the namespace; 10..19 never do.
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration $((OFFLINE_AFTER + 8)) --first 0 --count 10 >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!

wait_field $((OFFLINE_AFTER + 5)) .offline 10 show status
[ "$(field .online show status)" = 10 ] || fail "the 10 heartbeating endpoints stay online"
for i in 0 9; do
	g=$(guid_of $i)
	[ "$(field .status show client "$g")" = online ] || fail "$g heartbeats: online"
	[ "$(field .reason show client "$g")" = heartbeat ] || fail "$g reason heartbeat"
	[ "$(field .last_heartbeat show client "$g")" -gt 0 ] || fail "$g last_heartbeat set"
done
for i in 10 19; do
	g=$(guid_of $i)
	[ "$(field .status show client "$g")" = offline ] || fail "$g silent: offline"
	[ "$(field .reason show client "$g")" = no-contact ] || fail "$g reason no-contact"
	[ "$(field .last_heartbeat show client "$g")" = 0 ] || fail "$g never heartbeat"
done
[ "$(field .total.accepted show stats)" -ge 10 ] || fail "heartbeats counted as accepted"
pass "heartbeating endpoints online, silent ones offline after ${OFFLINE_AFTER}s"

# Bad frames aimed at silent endpoint 15: each counted under its reason.
VICTIM=15
g=$(guid_of $VICTIM)
declare -A want=([forged-mac]=bad_mac [wrong-slot]=id_mismatch [unknown-slot]=unknown_slot
	[stale]=too_old [future]=too_new [truncated]=bad_length [bad-magic]=bad_magic
	[bad-version]=bad_version)
for kind in "${!want[@]}"; do
	reason=${want[$kind]}
	before=$(drops "$reason")
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind "$kind" \
		--index $VICTIM --count 5 >/dev/null
	for _ in $(seq 50); do [ "$(drops "$reason")" -ge $((before + 5)) ] && break; sleep 0.1; done
	after=$(drops "$reason")
	[ "$after" -eq $((before + 5)) ] || fail "$kind: $reason went $before -> $after, want +5"
	pass "$kind x5 counted as $reason"
done
before=$(drops bad_magic)
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind garbage --count 5 >/dev/null
sleep 0.5
[ "$(drops bad_magic)" -ge $((before + 5)) ] || fail "garbage counted as bad_magic"
pass "garbage x5 counted as bad_magic"
before=$(drops not_our_port)
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --port 7101 --kind valid \
	--index $VICTIM --count 5 >/dev/null
sleep 0.5
[ "$(drops not_our_port)" -ge $((before + 5)) ] || fail "another UDP port counted as not_our_port"
pass "valid heartbeat to another port counted as not_our_port"

sleep 1.5   # a sweep or more
[ "$(field .status show client "$g")" = offline ] || fail "bad frames changed $g's status"
[ "$(field .last_heartbeat show client "$g")" = 0 ] || fail "bad frames recorded a heartbeat"
pass "no bad frame changed a status"

# One valid heartbeat over IPv6 brings the victim back online.
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR6" --kind valid \
	--index $VICTIM >/dev/null
wait_field 3 .status online show client "$g"
pass "a valid IPv6 heartbeat makes $g online"

# When the agent stops, its endpoints go offline after offline_after.
wait "$AGENT_PID" || fail "agent failed: $(cat "$WORK/agent.log")"
wait_field $((OFFLINE_AFTER + 4)) .offline 20 show status
pass "all endpoints offline ${OFFLINE_AFTER}s after their last heartbeat"
echo "PASS"
