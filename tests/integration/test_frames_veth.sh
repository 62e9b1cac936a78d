#!/usr/bin/env bash
# Issue #11's frame shapes, as real frames from a network namespace into
# glournetd's DPDK port (net_af_packet): heartbeats behind an 802.1Q tag,
# behind QinQ, with IPv4 options, behind IPv6 extension headers are
# accepted and make their endpoint online; bad IPv4 header and UDP
# checksums, a zero UDP checksum over IPv6, IPv6 fragments, a routed
# IPv6 header and an over-long extension chain are each counted under
# their own reason and change no status; BOOT, SHUTDOWN and notify-ack
# heartbeats reach the control thread through the worker's ring. (IPv4
# fragments never reach this port: net_af_packet's fanout asks the kernel
# to reassemble them first; the unit tests have them.)
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

start_daemon --offline-after 1h --set guard.threshold=0
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 30 \
	--guid-prefix fr --state "$WORK/state" >/dev/null
MAC=$(cat "/sys/class/net/$(lab_host "$TAG")/address")
PEER=$(lab_peer "$TAG")

# raw FAMILY SHAPE KIND INDEX [COUNT]: frames of SHAPE from the namespace.
raw() {
	local src=$LAB_AGENT4 dst=$LAB_COLLECTOR4
	[ "$1" = 6 ] && { src=$LAB_AGENT6; dst=$LAB_COLLECTOR6; }
	in_ns python3 "$FORGE" --state "$WORK/state" --raw "$PEER" --dst-mac "$MAC" \
		--src "$src" --to "$dst" --frame "$2" --kind "$3" --index "$4" --count "${5:-1}" \
		>/dev/null || fail "hbforge --frame $2 failed"
}
total() { field ".total.$1" show stats; }
# moved WHAT BEFORE WANT: waits up to 5 s for counter WHAT to reach BEFORE + WANT, then
# checks it is exactly that.
moved() {
	local what=$1 before=$2 want=$3 now
	for _ in $(seq 50); do
		now=$(total "$what")
		[ "$now" -ge $((before + want)) ] && break
		sleep 0.1
	done
	sleep 0.2
	now=$(total "$what")
	[ "$now" -eq $((before + want)) ] || fail "$what went $before -> $now, want +$want"
}

# Accepted shapes: endpoint i gets one frame of its shape, three copies
# (the same heartbeat: counted accepted each time, stored once).
i=0
for spec in 4:plain 4:vlan 4:qinq 4:ip-options 4:no-udp-checksum \
	    6:plain 6:vlan 6:qinq 6:ip6-hbh 6:ip6-chain; do
	fam=${spec%%:*}; shape=${spec#*:}
	g=$(guid_of $i)
	[ "$(field .last_heartbeat show client "$g")" = 0 ] || fail "$g heartbeat before the test"
	before=$(total accepted)
	raw "$fam" "$shape" valid $i 3
	moved accepted "$before" 3
	[ "$(field .last_heartbeat show client "$g")" -gt 0 ] || fail "IPv$fam $shape: $g no heartbeat"
	pass "IPv$fam $shape heartbeat x3 accepted, $g heard"
	i=$((i + 1))
done

# Refused shapes: each to its own reason, x5, aimed at silent endpoint 20.
VICTIM=20
g=$(guid_of $VICTIM)
for spec in 4:bad-ip-checksum:ip_checksum 4:bad-udp-checksum:udp_checksum \
	    6:bad-udp-checksum:udp_checksum 6:no-udp-checksum:udp_no_checksum \
	    6:fragment:ip_fragment 6:fragment-later:fragment_other \
	    6:ip6-routed:ip6_routed 6:ip6-ext-limit:ip6_ext_limit; do
	IFS=: read -r fam shape reason <<<"$spec"
	before=$(total "dropped.$reason")
	acc=$(total accepted)
	raw "$fam" "$shape" valid $VICTIM 5
	moved "dropped.$reason" "$before" 5
	[ "$(total accepted)" -eq "$acc" ] || fail "IPv$fam $shape: something was accepted"
	pass "IPv$fam $shape x5 counted as $reason"
done
[ "$(field .last_heartbeat show client "$g")" = 0 ] || fail "refused frames recorded a heartbeat"
pass "no refused frame recorded a heartbeat"

# The rare messages, through the ring to the control thread: BOOT (VLAN),
# notify-ack (QinQ, IPv6), SHUTDOWN (IPv6 hop-by-hop) makes it offline.
b0=$(field .events.boots show stats)
n0=$(field .events.notify_acks show stats)
s0=$(field .events.shutdowns show stats)
raw 4 vlan boot 21
raw 6 qinq notify-ack 22
raw 6 ip6-hbh shutdown 23
wait_field 5 .events.boots $((b0 + 1)) show stats
wait_field 5 .events.notify_acks $((n0 + 1)) show stats
wait_field 5 .events.shutdowns $((s0 + 1)) show stats
[ "$(field '[.workers[].passed_on.boots] | add' show stats)" -eq $((b0 + 1)) ] ||
	fail "the worker's boot count differs from the control thread's"
wait_field 5 .status offline show client "$(guid_of 23)"
[ "$(field .reason show client "$(guid_of 23)")" = shutdown ] || fail "shutdown reason"
[ "$(field .status show client "$(guid_of 21)")" = online ] || fail "BOOT endpoint online"
pass "BOOT, notify-ack and SHUTDOWN reached the control thread; SHUTDOWN made $(guid_of 23) offline"

# Not ours: another UDP port and ICMP-ish frames are the kernel's verdicts.
before=$(total dropped.not_our_port)
in_ns python3 "$FORGE" --state "$WORK/state" --raw "$PEER" --dst-mac "$MAC" --src "$LAB_AGENT4" \
	--to "$LAB_COLLECTOR4" --port 7101 --frame vlan --kind valid --index 0 --count 2 >/dev/null
moved dropped.not_our_port "$before" 2
pass "a tagged heartbeat to another port counted as not_our_port"
stop_daemon
pass "stopped"
