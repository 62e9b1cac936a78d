# Sourced by the demo and the integration tests: a network namespace with a
# veth pair, the collector's DPDK port on the host end, a simulated fleet in
# the namespace. Traffic never leaves the pair: 198.18.0.0/24 (RFC 2544
# benchmarking range) and fd00:676c::/64, both only on this veth.
#
#   lab_up TAG         creates netns gn-TAG and veth gnh-TAG <-> gnp-TAG
#   lab_neigh TAG      points the namespace at the host end's MAC (DPDK
#                      answers no ARP/ND, so the neighbours are static)
#   lab_down TAG       removes both (idempotent)

LAB_COLLECTOR4=198.18.0.1
LAB_AGENT4=198.18.0.2
LAB_COLLECTOR6=fd00:676c::1
LAB_AGENT6=fd00:676c::2

lab_ns()   { echo "gn-$1"; }
lab_host() { echo "gnh-$1"; }
lab_peer() { echo "gnp-$1"; }

lab_up() {
	local tag=$1 ns host peer
	ns=$(lab_ns "$tag"); host=$(lab_host "$tag"); peer=$(lab_peer "$tag")
	lab_down "$tag"
	ip netns add "$ns"
	ip link add "$host" type veth peer name "$peer"
	ip link set "$peer" netns "$ns"
	# No address on the host end: the kernel ignores these frames, DPDK takes them.
	sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1" 2>/dev/null || true
	ip link set "$host" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$LAB_AGENT4/24" dev "$peer"
	ip -n "$ns" -6 addr add "$LAB_AGENT6/64" dev "$peer" nodad
	ip -n "$ns" link set "$peer" up
	# The namespace's kernel would leave UDP checksums to "hardware" (veth
	# offloads them: the frames cross with a partial checksum); the
	# collector verifies checksums, as frames from a real NIC carry them.
	ip netns exec "$ns" ethtool -K "$peer" tx off >/dev/null 2>&1 ||
		echo "lab-net: ethtool -K $peer tx off failed: kernel-sent heartbeats will fail their UDP checksum" >&2
}

lab_neigh() {
	local tag=$1 ns host peer mac
	ns=$(lab_ns "$tag"); host=$(lab_host "$tag"); peer=$(lab_peer "$tag")
	mac=$(cat "/sys/class/net/$host/address")
	ip -n "$ns" neigh replace "$LAB_COLLECTOR4" lladdr "$mac" dev "$peer" nud permanent
	ip -n "$ns" -6 neigh replace "$LAB_COLLECTOR6" lladdr "$mac" dev "$peer" nud permanent
}

lab_down() {
	local tag=$1
	ip link del "$(lab_host "$tag")" 2>/dev/null || true
	ip netns del "$(lab_ns "$tag")" 2>/dev/null || true
}
