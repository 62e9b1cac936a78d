#!/usr/bin/env bash
# Issue 13 item 7: a loss below DPDK's counters shows in show stats and the
# metrics. net_af_packet's socket ring (64 frames here) overflows while
# the one worker naps (--idle-sleep-us) under a burst of junk frames: the
# kernel drops them (PACKET_STATISTICS tp_drops) and DPDK 22.11's PMD
# counts none of it (imissed stays 0); glournetd reads the port's sockets
# and shows the drops in port.kernel.af_packet_drops and
# glournet_port_kernel_dropped_total{counter="af_packet_drops"}. Then the
# same over net_af_xdp: the XSK ring's overflow (XDP_STATISTICS
# rx_ring_full), which the 22.11 PMD leaves out of imissed, shows in
# port.kernel.xdp_rx_ring_full.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=htimel$(($$ % 1000))   # lab names with the branch's name (tools/lab-net.sh)
EXC_IFACE=gnx-$TAG
METRICS_PORT=$((HTTP_PORT + 1))

lab_up "$TAG"
mkdir -p "$WORK/gnstate"
"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
	--state-dir "$WORK/gnstate" --hb-addr "$LAB_COLLECTOR4" --hb-addr "$LAB_COLLECTOR6" \
	--idle-sleep-us 100000 --sweep-interval 1s --exception-iface "$EXC_IFACE" \
	--metrics "127.0.0.1:$METRICS_PORT" \
	-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" --no-pci \
	--vdev "net_af_packet0,iface=$(lab_host "$TAG"),framecnt=64,blocksz=4096,framesz=2048" \
	--log-level=lib.eal:warning >>"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_daemon
lab_neigh "$TAG"

[ "$(field .port.kernel.sockets show stats)" -ge 1 ] || fail "the port's af_packet socket found"
grep -q "the kernel's drop counters of 1 socket read" "$WORK/daemon.log" || fail "logged"
[ "$(field .port.kernel.af_packet_drops show stats)" = 0 ] || fail "no drops before the burst"

# Bursts of junk while the worker naps: the 64-frame ring overflows.
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 1 \
	--guid-prefix htime --state "$WORK/state" >/dev/null
for _ in 1 2 3; do
	sleep 0.3
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind garbage --count 5000 >/dev/null
done
for _ in $(seq 30); do
	[ "$(field .port.kernel.af_packet_drops show stats)" -gt 0 ] && break
	sleep 0.1
done
drops=$(field .port.kernel.af_packet_drops show stats)
[ "$drops" -gt 0 ] || fail "the socket's drops show in show stats: $(ctlj show stats | jq -c .port)"
[ "$(field .port.imissed show stats)" = 0 ] || echo "note: the PMD counted imissed too"
pass "af_packet socket drops in show stats: $drops (imissed $(field .port.imissed show stats))"

sleep 1.2   # the port job's next read: the sum only grows
[ "$(field .port.kernel.af_packet_drops show stats)" -ge "$drops" ] || fail "drops are summed"
got=$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" |
	sed -n 's/^glournet_port_kernel_dropped_total{port="0",counter="af_packet_drops"} //p')
[ -n "$got" ] && [ "$got" -ge "$drops" ] || fail "metrics: af_packet_drops '$got', want >= $drops"
pass "glournet_port_kernel_dropped_total{counter=\"af_packet_drops\"} $got"

# net_af_xdp on the same veth: its XSK rings overflow the same way; the
# kernel's XDP statistics beyond the PMD's imissed show in port.kernel.
stop_daemon
lab_collector "$TAG"
start_daemon_xdp_only --idle-sleep-us 100000 --sweep-interval 1s
[ "$(field .port.kernel.sockets show stats)" -ge 1 ] || fail "the port's AF_XDP socket found"
for _ in 1 2 3; do
	sleep 0.3
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind garbage --count 5000 >/dev/null
done
sleep 1.5
k=$(ctlj show stats | jq -c .port.kernel)
lost=$(jq '.xdp_rx_ring_full + .xdp_rx_dropped + .xdp_rx_fill_ring_empty' <<<"$k")
[ "$lost" -gt 0 ] || fail "the XSK ring's losses show in show stats: $k"
pass "af_xdp: the kernel's XDP statistics in show stats: $k (imissed $(field .port.imissed show stats))"
echo "PASS"
