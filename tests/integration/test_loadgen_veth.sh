#!/usr/bin/env bash
# glournet-loadgen against glournetd (issue #6): endpoints registered in bulk
# with --register (curl multi), then heartbeats from the lab namespace over
# the veth with the kernel engine (IPv4 paced by the interval, IPv6 at max
# rate) and the DPDK engine (IPv6 frames on af_packet). The daemon must
# accept exactly the frames loadgen reports as sent, the shutdown fraction
# must go offline at once and the silent fraction after offline_after, while
# the others stay online.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=lg$$     # the lab's netns and veth names carry this helper's name
LG=$BUILD/tools/glournet-loadgen
N=200
OFFLINE_AFTER=6

start_daemon --hb-interval 1s --offline-after ${OFFLINE_AFTER}s --sweep-interval 1s \
	--set guard.threshold=0 --register-rate 0

# Bulk registration over HTTP, credentials saved as JSON lines.
"$LG" --register "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count $N --concurrency 16 \
	--guid-prefix it --save "$WORK/eps.jsonl" --register-only -q >"$WORK/reg.txt" ||
	fail "loadgen --register: $(cat "$WORK/reg.txt")"
grep -q "^registered $N (new $N, known 0), failed 0" "$WORK/reg.txt" ||
	fail "registration summary: $(cat "$WORK/reg.txt")"
[ "$(wc -l <"$WORK/eps.jsonl")" -eq $N ] || fail "$N lines in the credentials file"
[ "$(field .clients show status)" = $N ] || fail "$N clients registered"
[ "$(field .slot show client lg-it-17)" = "$(jq -r 'select(.guid=="lg-it-17").slot' "$WORK/eps.jsonl")" ] ||
	fail "the saved slot is the daemon's"
pass "$N endpoints registered by loadgen ($(grep -o '[0-9]* registrations/s' "$WORK/reg.txt"))"

# 12 s of heartbeats, each endpoint once a second; 10 % silent and 5 %
# shutting down from 2 s on; 10 % of heartbeats not sent.
acc0=$(field .total.accepted show stats)
in_ns "$LG" --endpoints "$WORK/eps.jsonl" --to "$LAB_COLLECTOR4" --interval 1s --duration 12s \
	--silent 0.1 --shutdown 0.05 --silent-after 2s --shutdown-after 2s --loss 0.1 --json -q \
	>"$WORK/lg.json" 2>"$WORK/lg.err" &
LG_PID=$!
# SHUTDOWN is offline at once (by ~3 s + a sweep); silent ones not before ~7 s.
wait_field 6 .offline 10 show status
pass "the 10 shutdown endpoints offline at once, the silent ones not yet"
wait "$LG_PID" || fail "loadgen failed: $(cat "$WORK/lg.err")"
j() { jq -r "$1" "$WORK/lg.json"; }
[ "$(j .silent)" = 20 ] && [ "$(j .shutdown)" = 10 ] || fail "loadgen's fractions: $(cat "$WORK/lg.json")"
[ "$(j .shutdown_sent)" = 10 ] || fail "10 SHUTDOWN heartbeats sent: $(cat "$WORK/lg.json")"
[ "$(j .tx_drops)" = 0 ] || fail "no tx drops at this rate: $(cat "$WORK/lg.json")"
[ "$(j .lost)" -gt 0 ] || fail "--loss 0.1 lost some heartbeats"
sent=$(j .sent)
# 170 endpoints x 12 rounds, 20 silent x 2-3, 10 shutdown x 3-4, minus 10 % lost.
[ "$sent" -gt 1500 ] && [ "$sent" -lt 2300 ] || fail "sent $sent, want ~1900"
wait_field 3 .total.accepted $((acc0 + sent)) show stats
pass "glournetd accepted exactly the $sent heartbeats loadgen sent ($(j .lost) lost on purpose)"
wait_field 4 .offline 30 show status
[ "$(field .online show status)" = 170 ] || fail "the 170 others stay online"
pass "silent (20) and shutdown (10) endpoints offline, 170 online"

# IPv6 at max rate, 3 rounds: every endpoint, exactly 3 x N frames.
acc0=$(field .total.accepted show stats)
in_ns "$LG" --endpoints "$WORK/eps.jsonl" --to "$LAB_COLLECTOR6" --rate max --rounds 3 \
	--duration 10s --json -q >"$WORK/lg6.json" 2>"$WORK/lg6.err" ||
	fail "loadgen over IPv6 failed: $(cat "$WORK/lg6.err")"
sent=$(jq -r .sent "$WORK/lg6.json")
[ "$sent" = $((3 * N)) ] || fail "IPv6 max rate: sent $sent, want $((3 * N)): $(cat "$WORK/lg6.json")"
wait_field 3 .total.accepted $((acc0 + sent)) show stats
wait_field 3 .online $N show status
pass "IPv6 at max rate: $sent sent, $sent accepted, all $N online again"

# The DPDK engine (whole frames, IPv6 here) on net_af_packet on the
# namespace's veth end: every frame it sends is accepted.
acc0=$(field .total.accepted show stats)
in_ns "$LG" --endpoints "$WORK/eps.jsonl" --engine dpdk --to "$LAB_COLLECTOR6" --src "$LAB_AGENT6" \
	--dst-mac "$(cat "/sys/class/net/$(lab_host "$TAG")/address")" --rate 20000 --rounds 2 \
	--duration 10s --json -q -- -l 0 --no-huge --no-shconf -m 256 --file-prefix "lg-gen-$TAG" \
	--no-pci --vdev "net_af_packet1,iface=$(lab_peer "$TAG")" --log-level=lib.eal:warning \
	>"$WORK/lgd.json" 2>"$WORK/lgd.err" || fail "loadgen --engine dpdk failed: $(cat "$WORK/lgd.err")"
sent=$(jq -r .sent "$WORK/lgd.json")
[ "$sent" = $((2 * N)) ] || fail "DPDK engine: sent $sent, want $((2 * N)): $(cat "$WORK/lgd.json")"
wait_field 3 .total.accepted $((acc0 + sent)) show stats
pass "DPDK engine (af_packet, IPv6 frames): $sent sent, $sent accepted"
# Stopping the af_packet port took the link down (FACTS.md): restore the lab.
ip -n "$(lab_ns "$TAG")" link set "$(lab_peer "$TAG")" up
lab_neigh "$TAG"

# Bad arguments: exit 2 and the option named.
rc=0; out=$("$LG" --endpoints "$WORK/eps.jsonl" --to "$LAB_COLLECTOR4" --loss 2 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q -- --loss <<<"$out" || fail "--loss 2: exit $rc, '$out'"
pass "a bad argument exits 2 naming it"
echo "PASS"
