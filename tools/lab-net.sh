# Sourced by the demo and the integration tests: a network namespace with a
# veth pair, the collector's DPDK port on the host end, a simulated fleet in
# the namespace. Traffic never leaves the pair: 198.18.0.0/24 (RFC 2544
# benchmarking range) and fd00:676c::/64, both only on this veth.
#
#   lab_up TAG         creates netns gn-TAG and veth gnh-TAG <-> gnp-TAG
#   lab_collector TAG  moves the host end into a netns of its own, gnc-TAG,
#                      where glournetd then runs: its exception interface,
#                      addresses and HTTP sockets stay there, as on a host
#                      whose only NIC DPDK owns
#   lab_neigh TAG      points the namespace at the host end's MAC (static
#                      neighbours, for a port that answers no ARP/ND: with
#                      --exception drop, or to keep a test off ARP)
#   lab_down TAG       removes them (idempotent)

LAB_COLLECTOR4=198.18.0.1
LAB_AGENT4=198.18.0.2
LAB_COLLECTOR6=fd00:676c::1
LAB_AGENT6=fd00:676c::2

lab_ns()   { echo "gn-$1"; }
lab_cns()  { echo "gnc-$1"; }
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
	# A veth hands its peer partial checksums (TX offload: the receiver's
	# stack is trusted to finish them). DPDK on the host end sees the raw
	# bytes, so checksum in software, as a real NIC's wire would carry them:
	# else the kernel behind the exception interface drops every TCP segment.
	ip netns exec "$ns" ethtool -K "$peer" tx off >/dev/null
}

# The host end's MAC, wherever it is (here or in the collector's netns).
lab_host_mac() {
	if [ -e "/sys/class/net/$(lab_host "$1")" ]; then
		cat "/sys/class/net/$(lab_host "$1")/address"
	else
		ip netns exec "$(lab_cns "$1")" cat "/sys/class/net/$(lab_host "$1")/address"
	fi
}

lab_collector() {
	local tag=$1 cns host
	cns=$(lab_cns "$tag"); host=$(lab_host "$tag")
	ip netns add "$cns"
	ip link set "$host" netns "$cns"
	ip netns exec "$cns" sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1"
	ip -n "$cns" link set lo up
	ip -n "$cns" link set "$host" up
}

lab_neigh() {
	local tag=$1 ns peer mac
	ns=$(lab_ns "$tag"); peer=$(lab_peer "$tag")
	mac=$(lab_host_mac "$tag")
	ip -n "$ns" neigh replace "$LAB_COLLECTOR4" lladdr "$mac" dev "$peer" nud permanent
	ip -n "$ns" -6 neigh replace "$LAB_COLLECTOR6" lladdr "$mac" dev "$peer" nud permanent
}

lab_down() {
	local tag=$1
	ip link del "$(lab_host "$tag")" 2>/dev/null || true
	ip -n "$(lab_cns "$tag")" link del "$(lab_host "$tag")" 2>/dev/null || true
	ip netns del "$(lab_ns "$tag")" 2>/dev/null || true
	ip netns del "$(lab_cns "$tag")" 2>/dev/null || true
}
