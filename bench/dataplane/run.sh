#!/usr/bin/env bash
# Dataplane capacity per worker core (issue #6), end to end, as root:
#
#   1. gn-bench-capacity on hugepages: glournet's worker_main on lcore 1 over
#      a net_ring port fed with FRAMES preloaded heartbeat frames (distinct
#      slots of a SLOTS-slot table, every one by default, random order, valid
#      MACs): accepted heartbeats per second per core; then, in the same
#      process, the kernel baseline: the same hb_accept behind recvmmsg (batch
#      64) on a loopback UDP socket, on the same core, queue filled first and
#      then drained; the ratio.
#   1b. the same worker fed with notify-acks (type 3, SETTINGS: what a
#      campaign's endpoints answer) instead of heartbeats, same slots and
#      order (--kind ack): acks checked per second per core, beside 1;
#   1c. gn-bench-tx --notify: notifies per second from one TX path
#      (hb_encode + tx_path_send + flush to net_null), and the kernel
#      baseline from the same process: the same notifies through a UDP
#      socket with sendmmsg (batch 32) out of a veth in a namespace of its
#      own, its peer down (the kernel's whole TX path, the driver then drops:
#      as net_null does), then again with the peer up in a second namespace
#      (the frames cross and the peer drops them as not its own);
#   2. the same with each other burst MAC variant the CPU runs (--mac
#      scalar|avx2|avx512; the headline uses the widest, as glournetd does);
#   2b. the same with the slot table on 4 KiB pages (GN_BENCH_SMALL_PAGES=1),
#      when the headline had it on 2 MiB hugetlb pages;
#   3. the same program under valgrind --tool=callgrind in its deterministic
#      mode (--stop-after K, --no-huge): instructions per heartbeat, from the
#      instructions collected inside worker_main only (--toggle-collect), and
#      the functions they go to. valgrind 3.19 has no AVX-512: under it the
#      MAC variant is AVX2 (said in the output); the scalar one is counted
#      too.
#
# Hugepages: reserves what it needs (echo N > /proc/sys/vm/nr_hugepages;
# mounts hugetlbfs if nothing is mounted) and puts both back on exit. When
# hugepages cannot be had it runs with --no-huge and says so (FACTS.md:
# ~3.5x slower). Each DPDK process gets its own --file-prefix, and
# --in-memory (hugepages) or --no-shconf (--no-huge), so nothing stays
# behind. Every run is bounded by `timeout`.
#
# Environment: BUILD (build), SLOTS (10000000), FRAMES (0: = SLOTS), DURATION
# (5 samples of 1 s), WARMUP (1 s), KERNEL_PACKETS (1000000 per round),
# KERNEL_ROUNDS (3), CG_HEARTBEATS (200000, a multiple of 32), CG_SLOTS
# (1000000), CALLGRIND (1; 0 skips it), NO_HUGE (0; 1 forces --no-huge),
# MAC_VARIANTS (1; 0 skips the runs with the other MAC variants, step 2,
# and the scalar callgrind run), ACKS (1; 0 skips 1b), TX (1; 0 skips 1c),
# TX_FRAMES (10000000), TX_DESTS (1000), SMALL_PAGES (1; 0 skips 2b, the run
# with the slot table on 4 KiB pages).
# Outputs in $BUILD/bench/dataplane/: capacity.txt, callgrind.out,
# callgrind.txt, summary.txt (key=value lines read by bench/run-all.sh).
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
BIN=$BUILD/bench/gn-bench-capacity
OUT=$BUILD/bench/dataplane
SLOTS=${SLOTS:-10000000}
FRAMES=${FRAMES:-0}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
KERNEL_PACKETS=${KERNEL_PACKETS:-1000000}
KERNEL_ROUNDS=${KERNEL_ROUNDS:-3}
CG_HEARTBEATS=${CG_HEARTBEATS:-200000}
CG_SLOTS=${CG_SLOTS:-1000000}
CALLGRIND=${CALLGRIND:-1}
MAC_VARIANTS=${MAC_VARIANTS:-${EXPERIMENTS:-1}}
NO_HUGE=${NO_HUGE:-0}
ACKS=${ACKS:-1}
TX=${TX:-1}
TX_FRAMES=${TX_FRAMES:-10000000}
TX_DESTS=${TX_DESTS:-1000}
TXBIN=$BUILD/bench/gn-bench-tx
TXNS=gnbtx$$
TXNS2=gnbtxp$$

die() { echo "bench/dataplane: $*" >&2; exit 1; }
num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a number"; }
for v in SLOTS FRAMES DURATION WARMUP KERNEL_PACKETS KERNEL_ROUNDS CG_HEARTBEATS CG_SLOTS TX_FRAMES TX_DESTS; do
	num "$v" "${!v}"
done
[ $((CG_HEARTBEATS % 32)) -eq 0 ] || die "CG_HEARTBEATS must be a multiple of 32 (one burst)"
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 120 ] || die "DURATION must be 1..120"
[ -x "$BIN" ] || die "$BIN missing: build first (meson setup $BUILD && ninja -C $BUILD)"
[ "$(id -u)" -eq 0 ] || echo "bench/dataplane: not root: no hugepages, small socket queue" >&2
mkdir -p "$OUT"

# --in-memory with hugepages; --no-huge is not compatible with it (and
# leaves no hugepage files anyway): --no-shconf instead.
EAL_COMMON=(-l 0,1 --main-lcore 0 --no-pci --iova-mode=va
	--log-level=lib.eal:error --log-level=pmd.net.ring:error)

# --- hugepages, given back on exit
HP_SYS=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $HP_SYS)
HP_SET=
MOUNTED=
MADE_DIR=
CHILD=
cleanup() {
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	if [ -n "$HP_SET" ]; then
		echo "$HP_ORIG" >$HP_SYS 2>/dev/null || true
	fi
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" 2>/dev/null || true
	fi
	if [ -n "$MADE_DIR" ]; then
		rmdir "$MADE_DIR" 2>/dev/null || true
	fi
	ip netns del "$TXNS" 2>/dev/null || true
	ip netns del "$TXNS2" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The frames (128 B each, in DPDK memory), 1024 mbufs, EAL's own ~64 MB.
nframes=$FRAMES
[ "$nframes" -gt 0 ] || nframes=$SLOTS
need_mb=$(( nframes * 128 / 1048576 + 192 ))
# The slot table's 4 MiB chunks (two pages each) come from the same pool
# (gn_mem.h: MAP_HUGETLB, else 4 KiB pages).
table_pages=$(( (SLOTS + 65535) / 65536 * 2 ))
need_pages=$(( (need_mb + 1) / 2 + table_pages ))
huge_note=
if [ "$NO_HUGE" = 1 ]; then
	huge_note="--no-huge forced (NO_HUGE=1)"
elif [ "$(id -u)" -ne 0 ]; then
	huge_note="not root: --no-huge"
else
	free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	if [ "$free_pages" -lt "$need_pages" ]; then
		HP_SET=1
		echo $((HP_ORIG + need_pages - free_pages)) >$HP_SYS 2>/dev/null || true
		free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	fi
	if [ "$free_pages" -lt "$need_pages" ]; then
		huge_note="only $free_pages of $need_pages 2 MB hugepages could be reserved: --no-huge"
	elif ! grep -q ' hugetlbfs ' /proc/mounts; then
		if [ ! -d /dev/hugepages ]; then
			mkdir /dev/hugepages && MADE_DIR=/dev/hugepages
		fi
		if mount -t hugetlbfs nodev /dev/hugepages; then
			MOUNTED=/dev/hugepages
		else
			huge_note="hugetlbfs could not be mounted: --no-huge"
		fi
	fi
fi
if [ -n "$huge_note" ]; then
	echo "NOTE: $huge_note (FACTS.md: --no-huge costs ~3.5x)"
	MEM=(--no-huge --no-shconf -m $((need_mb + 256)))
else
	echo "hugepages: $need_pages x 2 MB for the frame pool and the slot table ($table_pages) (nr_hugepages $HP_ORIG -> $(cat $HP_SYS))"
	MEM=(--in-memory)
fi

# --- 1. capacity + kernel baseline, same process, same run
budget=$(( 600 + DURATION + WARMUP + KERNEL_ROUNDS * 30 ))
echo "== gn-bench-capacity: $SLOTS slots, $nframes frames, then ${DURATION}x1 s; kernel $KERNEL_ROUNDS x $KERNEL_PACKETS =="
set +e
timeout -k 10 $budget "$BIN" "${EAL_COMMON[@]}" "${MEM[@]}" --file-prefix "gnbcap$$" -- \
	--slots "$SLOTS" --frames "$FRAMES" --duration "$DURATION" --warmup "$WARMUP" \
	--kernel "$KERNEL_PACKETS" --kernel-rounds "$KERNEL_ROUNDS" >"$OUT/capacity.txt" 2>&1 &
CHILD=$!
wait $CHILD
rc=$?
CHILD=
set -e
cat "$OUT/capacity.txt"
[ $rc -eq 0 ] || die "gn-bench-capacity failed (exit $rc), see $OUT/capacity.txt"
result=$(grep '^result ' "$OUT/capacity.txt" | tail -1 | cut -d' ' -f2-)
{
	echo "$result" | tr ' ' '\n'
	echo "huge_note=${huge_note:-none}"
	# "slot table: N chunks on 2 MiB hugetlb pages, M on 4 KiB pages"
	sed -n 's/^slot table: \([0-9]*\) chunks on 2 MiB hugetlb pages, \([0-9]*\) on 4 KiB.*/table_huge_chunks=\1\ntable_small_chunks=\2/p' \
		"$OUT/capacity.txt" | head -2
} >"$OUT/summary.txt"

# --- 1b. the same worker fed with notify-acks, same slots, same order
# key K of a result line
rkey() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
if [ "$ACKS" = 1 ]; then
	echo
	echo "== gn-bench-capacity --kind ack: the same, fed with notify-acks (type 3, SETTINGS) =="
	set +e
	timeout -k 10 $budget "$BIN" "${EAL_COMMON[@]}" "${MEM[@]}" --file-prefix "gnback$$" -- \
		--slots "$SLOTS" --frames "$FRAMES" --duration "$DURATION" --warmup "$WARMUP" \
		--kernel 0 --kind ack >"$OUT/capacity-ack.txt" 2>&1 &
	CHILD=$!
	wait $CHILD
	rc=$?
	CHILD=
	set -e
	if [ $rc -eq 0 ]; then
		r=$(grep '^result ' "$OUT/capacity-ack.txt" | tail -1)
		echo "  acks: $(rkey "$r" dpdk_mpps) Mpps per core, first pass (waited for CPU" \
			"$(rkey "$r" dpdk_wait_pct)%), rejected $(rkey "$r" dpdk_rejected); re-sent:" \
			"$(rkey "$r" resend_mpps); heartbeats above: $(rkey "$result" dpdk_mpps)"
		for k in dpdk_mpps dpdk_wait_pct resend_mpps dpdk_rejected; do
			echo "ack_$k=$(rkey "$r" $k)" >>"$OUT/summary.txt"
		done
	else
		echo "  gn-bench-capacity --kind ack failed (exit $rc), see $OUT/capacity-ack.txt"
	fi
fi

# --- 1c. notifies from one TX path, and the kernel's sendmmsg beside it
tx_run() {   # tx_run TAG: gn-bench-tx --notify in $TXNS, its veth towards 10.1.0.0/16
	set +e
	timeout -k 10 600 ip netns exec "$TXNS" "$TXBIN" -l 0 --no-pci "${MEM[@]}" \
		--file-prefix "gnbtx$1$$" --vdev net_null0 --log-level=lib.eal:error -- --notify \
		--frames "$TX_FRAMES" --dests "$TX_DESTS" --kernel-dst 10.1.0.0 >"$OUT/tx-$1.txt" 2>&1 &
	CHILD=$!
	wait $CHILD
	local rc=$?
	CHILD=
	set -e
	return $rc
}
if [ "$TX" = 1 ] && [ -x "$TXBIN" ] && [ "$(id -u)" -eq 0 ]; then
	echo
	echo "== gn-bench-tx --notify: $TX_FRAMES notifies to $TX_DESTS endpoints, TX path vs kernel sendmmsg =="
	ip netns add "$TXNS"
	ip netns add "$TXNS2"
	ip -n "$TXNS" link add gnbtx0 type veth peer name gnbtx1 netns "$TXNS2"
	ip -n "$TXNS" addr add 10.0.0.2/8 dev gnbtx0
	# NOARP: no resolution for 1000 addresses; the frames go to our own MAC,
	# so a peer that is up drops them at once as not its own
	ip -n "$TXNS" link set gnbtx0 arp off up
	ip -n "$TXNS" link set lo up
	if tx_run down; then
		ip -n "$TXNS2" link set gnbtx1 up
		tx_run up || echo "  gn-bench-tx (peer up) failed, see $OUT/tx-up.txt"
		cat "$OUT/tx-down.txt" | grep -v '^result' | grep -v ' info ' | sed 's/^/  /'
		r=$(grep '^result ' "$OUT/tx-down.txt" | tail -1)
		ru=$(grep '^result ' "$OUT/tx-up.txt" 2>/dev/null | tail -1)
		echo "  kernel, veth peer up (the frames cross): $(rkey "$ru" kernel_tx_ns) ns/notify"
		{
			for k in tx_notify_mpps tx_notify_ns encode_ns kernel_tx_mpps kernel_tx_ns \
				kernel_dropped ratio fleet_1m_s dests; do
				echo "tx_$k=$(rkey "$r" $k)"
			done
			echo "tx_kernel_veth_up_mpps=$(rkey "$ru" kernel_tx_mpps)"
			echo "tx_notify_up_mpps=$(rkey "$ru" tx_notify_mpps)"
		} | sed 's/^tx_tx_/tx_/' >>"$OUT/summary.txt"
	else
		echo "  gn-bench-tx failed, see $OUT/tx-down.txt"
	fi
	ip netns del "$TXNS"
	ip netns del "$TXNS2"
elif [ "$TX" = 1 ]; then
	echo "NOTE: gn-bench-tx --notify skipped (needs root for the namespaces, and $TXBIN)"
fi

# --- 2. the other burst MAC variants, same traffic
headline_mac=$(echo "$result" | tr ' ' '\n' | awk -F= '$1 == "mac" {print $2}')
if [ "$MAC_VARIANTS" = 1 ] && [ -z "$huge_note" ]; then
	echo
	echo "== the other MAC variants (gn-bench-capacity --mac): same traffic =="
	for mac in avx2 scalar avx512; do
		[ "$mac" = "$headline_mac" ] && continue
		set +e
		timeout -k 10 $budget "$BIN" "${EAL_COMMON[@]}" "${MEM[@]}" --file-prefix "gnbmac$$" -- \
			--slots "$SLOTS" --frames "$FRAMES" --duration "$DURATION" --warmup "$WARMUP" \
			--kernel 0 --mac $mac >"$OUT/capacity-mac-$mac.txt" 2>&1 &
		CHILD=$!
		wait $CHILD
		rc=$?
		CHILD=
		set -e
		if [ $rc -eq 2 ] && grep -q "cannot run it" "$OUT/capacity-mac-$mac.txt"; then
			echo "  --mac $mac: this CPU cannot run it"
			continue
		fi
		if [ $rc -ne 0 ]; then
			echo "  --mac $mac failed (exit $rc), see $OUT/capacity-mac-$mac.txt"
			continue
		fi
		r=$(grep '^result ' "$OUT/capacity-mac-$mac.txt" | tail -1)
		mpps=$(echo "$r" | tr ' ' '\n' | awk -F= '$1 == "dpdk_mpps" {print $2}')
		wait_pct=$(echo "$r" | tr ' ' '\n' | awk -F= '$1 == "dpdk_wait_pct" {print $2}')
		resend=$(echo "$r" | tr ' ' '\n' | awk -F= '$1 == "resend_mpps" {print $2}')
		echo "  --mac $mac: $mpps Mpps per core, first pass (waited for CPU $wait_pct%); re-sent: $resend"
		echo "mac_${mac}_mpps=$mpps" >>"$OUT/summary.txt"
		echo "mac_${mac}_resend_mpps=$resend" >>"$OUT/summary.txt"
	done
fi

# --- 2b. the same with the slot table kept off hugepages (issue 15): what
# the 2 MiB pages give, in the same run (GN_BENCH_SMALL_PAGES, hb_fixture.c)
if [ "${SMALL_PAGES:-1}" = 1 ] && [ -z "$huge_note" ] && grep -q '^table_huge_chunks=[1-9]' "$OUT/summary.txt"; then
	echo
	echo "== the same, slot table on 4 KiB pages (GN_BENCH_SMALL_PAGES=1) =="
	set +e
	GN_BENCH_SMALL_PAGES=1 timeout -k 10 $budget "$BIN" "${EAL_COMMON[@]}" "${MEM[@]}" \
		--file-prefix "gnbsp$$" -- --slots "$SLOTS" --frames "$FRAMES" --duration "$DURATION" \
		--warmup "$WARMUP" --kernel 0 >"$OUT/capacity-small-pages.txt" 2>&1 &
	CHILD=$!
	wait $CHILD
	rc=$?
	CHILD=
	set -e
	if [ $rc -eq 0 ]; then
		r=$(grep '^result ' "$OUT/capacity-small-pages.txt" | tail -1)
		mpps=$(echo "$r" | tr ' ' '\n' | awk -F= '$1 == "dpdk_mpps" {print $2}')
		resend=$(echo "$r" | tr ' ' '\n' | awk -F= '$1 == "resend_mpps" {print $2}')
		echo "  4 KiB pages: $mpps Mpps per core, first pass; re-sent: $resend"
		echo "small_pages_mpps=$mpps" >>"$OUT/summary.txt"
		echo "small_pages_resend_mpps=$resend" >>"$OUT/summary.txt"
	else
		echo "  failed (exit $rc), see $OUT/capacity-small-pages.txt"
	fi
fi

# The hugepages are not needed any more.
if [ -n "$HP_SET" ]; then echo "$HP_ORIG" >$HP_SYS; HP_SET=; fi

# --- 3. instructions per heartbeat (callgrind)
# Self cost by file:function (inlined code counts under its own header,
# e.g. hb_accept.h:worker_main), after the "file:function" heading.
rows() {
	awk -v n="$CG_HEARTBEATS" '
		/file:function/ { on = 1; next }
		on && /^-+$/ { next }
		on && NF == 0 { exit }
		on && $1 ~ /^[0-9,]+$/ {
			line = $0; sub(/\( *[0-9.]+%\)/, "", line); split(line, f, " ")
			v = f[1]; gsub(",", "", v)
			fn = f[2]; sub(/^.*\.\.\//, "", fn)
			lib = f[3]; sub(/^.*\//, "", lib); sub(/\]$/, "", lib)
			if (fn ~ /^\?\?\?:/ && lib != "") fn = fn " (" lib ")"
			printf "%.1f %s\n", v / n, fn
		}' "$1"
}
# cg_run FUNCTION TAG [app args]: instructions collected inside FUNCTION only
# (--toggle-collect), over exactly CG_HEARTBEATS heartbeats; sets cg_total
# and cg_mac (the MAC variant that ran).
cg_run() {
	local fn=$1 tag=$2
	shift 2
	local cg_mb=$(( CG_HEARTBEATS * 128 / 1048576 + 256 ))
	rm -f "$OUT/callgrind$tag.out"
	set +e
	timeout -k 10 900 valgrind --tool=callgrind --toggle-collect="$fn" \
		--callgrind-out-file="$OUT/callgrind$tag.out" \
		"$BIN" "${EAL_COMMON[@]}" --no-huge --no-shconf -m $cg_mb --file-prefix "gnbcg$$" -- \
		--slots "$CG_SLOTS" --frames "$CG_HEARTBEATS" --stop-after "$CG_HEARTBEATS" \
		--kernel 0 "$@" >"$OUT/callgrind$tag-run.txt" 2>&1 &
	CHILD=$!
	wait $CHILD
	local rc=$?
	CHILD=
	set -e
	[ $rc -eq 0 ] || { tail -20 "$OUT/callgrind$tag-run.txt"; die "callgrind run $tag failed (exit $rc)"; }
	grep -q "^result stop_after_heartbeats=$CG_HEARTBEATS accepted=$CG_HEARTBEATS rejected=0" \
		"$OUT/callgrind$tag-run.txt" ||
		die "callgrind run $tag did not accept exactly $CG_HEARTBEATS heartbeats"
	cg_mac=$(grep "^result stop_after_heartbeats=" "$OUT/callgrind$tag-run.txt" |
		tr ' ' '\n' | awk -F= '$1 == "mac" {print $2}')
	callgrind_annotate --auto=no --threshold=100 "$OUT/callgrind$tag.out" >"$OUT/callgrind$tag.txt"
	cg_total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$OUT/callgrind$tag.txt")
	[ -n "$cg_total" ] || die "no PROGRAM TOTALS in $OUT/callgrind$tag.txt"
}
per_hb() { awk -v t="$1" -v n="$CG_HEARTBEATS" 'BEGIN {printf "%.1f", t / n}'; }

if [ "$CALLGRIND" = 1 ]; then
	command -v valgrind >/dev/null || die "valgrind missing (apt-get install valgrind)"
	echo
	echo "== callgrind: $CG_HEARTBEATS heartbeats over $CG_SLOTS slots, --no-huge, collected in worker_main only =="
	cg_run worker_main ""
	ir=$(per_hb "$cg_total")
	# The MAC: the burst verifier and everything it inlines (vector
	# intrinsics headers, hb_siphash.h).
	sip=$(rows "$OUT/callgrind.txt" |
		awk '/hb_mac_burst|verify_x[48]|burst_avx|burst_scalar|intrin\.h|hb_siphash/ {s += $1} END {printf "%.1f", s}')
	# The stand-in NIC: net_ring's rx and the driver that re-points mbufs.
	dev=$(rows "$OUT/callgrind.txt" |
		awk '/recycle_enqueue|librte_net_ring|rte_ring/ {s += $1} END {printf "%.1f", s}')
	echo "instructions per heartbeat: $ir (all instructions inside worker_main: $cg_total / $CG_HEARTBEATS heartbeats)"
	echo "  of which the MACs (SipHash-2-4, burst variant $cg_mac; valgrind has no AVX-512): $sip"
	echo "  of which the bench's stand-in device (net_ring rx, re-pointing mbufs): $dev" \
		"(a NIC's PMD costs its own)"
	echo "where they go (self instructions per heartbeat; inlined code under its header file):"
	rows "$OUT/callgrind.txt" | head -12 | awk '{printf "  %7.1f  %s\n", $1, substr($0, index($0, " ") + 1)}'
	{
		echo "ir_per_hb=$ir"
		echo "ir_siphash_per_hb=$sip"
		echo "ir_mac=$cg_mac"
		echo "ir_device_per_hb=$dev"
		echo "ir_total=$cg_total"
		echo "cg_heartbeats=$CG_HEARTBEATS"
	} >>"$OUT/summary.txt"
	if [ "$MAC_VARIANTS" = 1 ]; then
		cg_run worker_main "-scalar" --mac scalar
		e=$(per_hb "$cg_total")
		esip=$(rows "$OUT/callgrind-scalar.txt" |
			awk '/hb_mac_burst|burst_scalar|hb_siphash/ {s += $1} END {printf "%.1f", s}')
		echo "  with --mac scalar: $e instructions per heartbeat (MACs: $esip)"
		echo "ir_scalar_per_hb=$e" >>"$OUT/summary.txt"
		echo "ir_scalar_siphash_per_hb=$esip" >>"$OUT/summary.txt"
	fi
fi
echo
echo "summary: $OUT/summary.txt"
