#!/usr/bin/env bash
# End-to-end benchmark 4 of issue #6, real packets, as root:
#
#   sudo bench/e2e/afxdp.sh            (BUILD=build by default)
#
# glournet-loadgen in a network namespace sends heartbeats over a veth pair
# to glournetd, whose DPDK port is net_af_xdp (busy_budget=0) on the host
# end; for each rate it compares what loadgen sent with glournetd's rx and
# accepted counters, the port's imissed (XSK ring full) and both veth ends'
# drop counters, and reports the top rate with zero loss. The baseline,
# beside it in the table, is the same sweep with glournetd on net_af_packet
# (a kernel packet socket), the port the integration tests use.
#
# Steps: reserves hugepages (at most 192 x 2 MB, given back on exit), makes
# the lab (tools/lab-net.sh; netns gn-lgbPID, veths gnh-/gnp-lgbPID), starts
# glournetd (control thread on CPU 0, its worker on CPU 1), registers N
# endpoints with loadgen --register, then for each port (PORTS) and each
# generator (GENS) runs loadgen pinned to CPU 0 for STEP seconds at each rate
# of RATES ('max' = as fast as it goes; rates the generator cannot reach are
# skipped once it falls 10 % short), then BISECT more steps halving the gap
# between the highest zero-loss rate and the lowest lossy one. On a 2-core
# machine the sender, the veth's softirq work (XDP, the copy into the XSK
# ring) and glournetd's control thread share CPU 0: the sending core is the
# limit (FACTS.md).
#
# Generators: kernel (loadgen --engine kernel: UDP socket, sendmmsg 64),
# dpdk-af_packet and dpdk-af_xdp (loadgen --engine dpdk on the namespace's
# veth end). Zero loss means: accepted == sent, and no tx drop in loadgen.
# The top rate with zero loss is the highest rate loadgen achieved in a
# zero-loss step (the median over REPEAT sweeps).
#
# Environment: BUILD (build), N (20000 endpoints), RATES ("100000 200000
# 400000 600000 800000 1000000 max"), STEP (4 s), BISECT (4), PORTS ("af_xdp
# af_packet"), GENS ("kernel dpdk-af_packet dpdk-af_xdp"), REPEAT (1),
# NO_HUGE (0), QUIET_WAIT (0 s: only warn when the machine is busy),
# OTHERS_MAX (10: a step during which other processes took 10 % of the
# machine or more is marked "(busy)" and run again once; the "others"
# column is that share: all CPUs' busy ticks less glournetd's, ksoftirqd's,
# the softirq column and loadgen's own CPU time, so it is approximate). About 10 steps of STEP + 2 s per port and generator.
# Outputs in $BUILD/bench/e2e/: steps.txt (one line per step), summary.txt
# (key=value lines read by bench/run-all.sh), the daemon's and loadgen's logs.
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
OUT=$BUILD/bench/e2e
GLOURNETD=$BUILD/control/glournetd
CTL=$BUILD/tools/glournetctl
LG=$BUILD/tools/glournet-loadgen
N=${N:-20000}
RATES=${RATES:-"100000 200000 400000 600000 800000 1000000 max"}
STEP=${STEP:-4}
PORTS=${PORTS:-"af_xdp af_packet"}
GENS=${GENS:-"kernel dpdk-af_packet dpdk-af_xdp"}
REPEAT=${REPEAT:-1}
BISECT=${BISECT:-4}
NO_HUGE=${NO_HUGE:-0}
QUIET_WAIT=${QUIET_WAIT:-0}
OTHERS_MAX=${OTHERS_MAX:-10}

die() { echo "bench/e2e/afxdp: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, veths, hugepages)"
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 10000000 ] || die "N must be 1..10000000"
[[ $STEP =~ ^[0-9]+$ ]] && [ "$STEP" -ge 1 ] && [ "$STEP" -le 60 ] || die "STEP must be 1..60 s"
[[ $REPEAT =~ ^[1-9]$ ]] || die "REPEAT must be 1..9"
[[ $BISECT =~ ^[0-9]$ ]] || die "BISECT must be 0..9"
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a number of seconds"
[[ $OTHERS_MAX =~ ^[0-9]+$ ]] || die "OTHERS_MAX must be a percentage"
for r in $RATES; do [[ $r =~ ^[0-9]+$|^max$ ]] || die "RATES: '$r' is not a number or max"; done
for p in $PORTS; do [[ $p =~ ^(af_xdp|af_packet)$ ]] || die "PORTS: '$p' is not af_xdp or af_packet"; done
for g in $GENS; do
	[[ $g =~ ^(kernel|dpdk-af_packet|dpdk-af_xdp)$ ]] || die "GENS: '$g' is not kernel, dpdk-af_packet or dpdk-af_xdp"
done
for b in "$GLOURNETD" "$CTL" "$LG"; do [ -x "$b" ] || die "$b missing: build first (ninja -C $BUILD)"; done
command -v jq >/dev/null || die "needs jq"
mkdir -p "$OUT"
rm -f "$OUT/steps.txt" "$OUT/summary.txt" "$OUT/steps.raw"

. "$SRC/tools/lab-net.sh"
TAG=lgb$$
NS=$(lab_ns $TAG); HOST=$(lab_host $TAG); PEER=$(lab_peer $TAG)
WORK=$(mktemp -d /tmp/glournet-lgb.XXXXXX)
SOCK=$WORK/ctl.sock
TOKEN=lgb-$$
HTTP_PORT=$((20000 + $$ % 20000))
DAEMON=

# --- hugepages, given back on exit
HP_SYS=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $HP_SYS)
HP_SET= HP_ADDED=0 MOUNTED= MADE_DIR=
stop_daemon() {
	[ -n "$DAEMON" ] || return 0
	kill -TERM "$DAEMON" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DAEMON" 2>/dev/null || true
	wait "$DAEMON" 2>/dev/null || true
	DAEMON=
}
cleanup() {
	stop_daemon
	lab_down $TAG
	# Give back only what this script added: others may have reserved
	# pages meanwhile (the machine is shared).
	if [ -n "$HP_SET" ]; then
		local cur
		cur=$(cat $HP_SYS)
		echo $(( cur > HP_ADDED ? cur - HP_ADDED : 0 )) >$HP_SYS 2>/dev/null || true
	fi
	[ -z "$MOUNTED" ] || umount "$MOUNTED" 2>/dev/null || true
	[ -z "$MADE_DIR" ] || rmdir "$MADE_DIR" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pages=192       # glournetd (16383 mbufs, EAL) ~200 MB + loadgen's 8191 mbufs
huge_note=
if [ "$NO_HUGE" = 1 ]; then
	huge_note="--no-huge forced (NO_HUGE=1)"
else
	free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	if [ "$free_pages" -lt "$need_pages" ]; then
		HP_SET=1
		echo $((HP_ORIG + need_pages - free_pages)) >$HP_SYS 2>/dev/null || true
		HP_ADDED=$(( $(cat $HP_SYS) - HP_ORIG ))
		free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	fi
	if [ "$free_pages" -lt "$need_pages" ]; then
		huge_note="only $free_pages of $need_pages hugepages: --no-huge"
	elif ! grep -q ' hugetlbfs ' /proc/mounts; then
		[ -d /dev/hugepages ] || { mkdir /dev/hugepages && MADE_DIR=/dev/hugepages; }
		if mount -t hugetlbfs nodev /dev/hugepages; then MOUNTED=/dev/hugepages
		else huge_note="hugetlbfs could not be mounted: --no-huge"; fi
	fi
fi
if [ -n "$huge_note" ]; then
	echo "NOTE: $huge_note"
	MEM_D=(--no-huge --no-shconf -m 512)
	MEM_G=(--no-huge --no-shconf -m 256)
else
	echo "hugepages: nr_hugepages $HP_ORIG -> $(cat $HP_SYS)"
	MEM_D=(--in-memory)
	MEM_G=(--in-memory)
fi

lab_up $TAG
HOST_MAC=$(cat "/sys/class/net/$HOST/address")

ctlj() { "$CTL" -s "$SOCK" -j "$@"; }

busy_pct() {   # % of all CPUs busy over one second
	local a b
	a=($(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
	sleep 1
	b=($(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
	awk -v bu=$((b[0] - a[0])) -v id=$((b[1] - a[1])) 'BEGIN {printf "%d", 100 * bu / (bu + id + 0.001)}'
}

# Before a daemon starts (its worker then spins on a whole core): wait up
# to QUIET_WAIT s for the machine to be under 10 % busy; say how busy it was.
quiet() {
	local busy waited=0
	while :; do
		busy=$(busy_pct)
		[ "$busy" -ge 10 ] && [ "$waited" -lt "$QUIET_WAIT" ] || break
		sleep 4
		waited=$((waited + 5))
	done
	echo "# $1: machine ${busy}% busy with other work before the sweep" | tee -a "$OUT/steps.txt"
	[ "$busy" -lt 10 ] || echo "WARNING: the CPUs are ${busy}% busy with other work: losses will come from that too"
	BUSY_MAX=$(( busy > BUSY_MAX ? busy : BUSY_MAX ))
}
BUSY_MAX=0

start_daemon() {   # start_daemon af_xdp|af_packet
	local vdev
	case $1 in
	af_xdp) vdev="net_af_xdp0,iface=$HOST,busy_budget=0" ;;
	af_packet) vdev="net_af_packet0,iface=$HOST" ;;
	esac
	ip link set "$HOST" up
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/state" --hb-addr "$LAB_COLLECTOR4" --register-rate 0 \
		--http-max-conns-per-source 0 --hb-interval 10m --offline-after 30m --log-level warn -- \
		-l 0,1 --main-lcore 0 "${MEM_D[@]}" --file-prefix "gn-$TAG" --no-pci --vdev "$vdev" \
		--log-level=lib.eal:warning >>"$OUT/glournetd-$1.log" 2>&1 &
	DAEMON=$!
	for _ in $(seq 300); do
		ctlj show status >/dev/null 2>&1 && break
		kill -0 "$DAEMON" 2>/dev/null || die "glournetd ($1) exited at start-up: see $OUT/glournetd-$1.log"
		sleep 0.1
	done
	ctlj show status >/dev/null || die "glournetd ($1) did not answer"
	lab_neigh $TAG
}

# rx accepted imissed host_rx_dropped peer_tx_dropped
snap() {
	local s h p
	s=$(ctlj show stats)
	h=$(ip -j -s link show dev "$HOST" | jq -r '.[0].stats64.rx.dropped')
	p=$(ip -n "$NS" -j -s link show dev "$PEER" | jq -r '.[0].stats64.tx.dropped')
	echo "$(jq -r '"\(.total.rx) \(.total.accepted) \(.port.imissed)"' <<<"$s") $h $p"
}

# CPU ticks: all CPUs busy, and ours (glournetd, ksoftirqd: the veth's
# receive work when deferred, and the softirq column: our traffic's).
ticks() {
	local d k
	d=$(awk '{print $14 + $15}' "/proc/$DAEMON/stat" 2>/dev/null || echo 0)
	k=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 ~ /^\(ksoftirqd\// {s += $14 + $15} END {print s + 0}')
	awk -v d="$d" -v k="$k" '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9, d + k + $8}' /proc/stat
}

settle() {   # until glournetd's rx stops moving (at most 5 s)
	local a b
	a=$(ctlj show stats | jq .total.rx)
	for _ in $(seq 25); do
		sleep 0.2
		b=$(ctlj show stats | jq .total.rx)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
}

gen() {   # gen GENERATOR RATE: loadgen's JSON summary on stdout
	local g=$1 r=$2 rate
	rate=(--rate "$r")
	local common=(--endpoints "$WORK/eps.jsonl" --to "$LAB_COLLECTOR4" "${rate[@]}"
		--duration "${STEP}s" --json -q)
	case $g in
	kernel)
		timeout -k 5 $((STEP + 60)) ip netns exec "$NS" taskset -c 0 "$LG" "${common[@]}" ;;
	dpdk-*)
		local drv=${g#dpdk-} vdev
		[ "$drv" = af_xdp ] && vdev="net_af_xdp1,iface=$PEER,busy_budget=0" ||
			vdev="net_af_packet1,iface=$PEER"
		timeout -k 5 $((STEP + 60)) ip netns exec "$NS" taskset -c 0 "$LG" "${common[@]}" \
			--engine dpdk --src "$LAB_AGENT4" --dst-mac "$HOST_MAC" -- -l 0 "${MEM_G[@]}" \
			--file-prefix "lg-gen$$" --no-pci --vdev "$vdev" --log-level=lib.eal:warning \
			2>>"$OUT/loadgen-dpdk.log"
		# Stopping an af_packet/af_xdp port takes the link down and flushes
		# the neighbours (FACTS.md): bring the lab back for the next step.
		ip -n "$NS" link set "$PEER" up
		lab_neigh $TAG ;;
	esac
}

# One step: a row in the table, a line in steps.raw; sets STEP_PPS and
# STEP_ZERO (1 when glournetd accepted every heartbeat loadgen sent).
run_step() {   # run_step REP PORT GEN RATE
	local rep=$1 port=$2 g=$3 r=$4 j sent pps txd rx acc miss vd lost zl before after t0 t1 others
	STEP_PPS=0 STEP_ZERO=0 STEP_BUSY=0
	before=($(snap))
	t0=($(ticks))
	j=$(gen "$g" "$r") || { echo "# $port $g $r: loadgen failed (see $OUT/loadgen-dpdk.log)"; return 0; }
	t1=($(ticks))
	settle
	after=($(snap))
	# Other processes' share of the machine during the step, in %: busy
	# ticks less glournetd's, ksoftirqd's, softirq's and loadgen's own.
	others=$(awk -v b=$((t1[0] - t0[0])) -v a=$((t1[1] - t0[1])) -v o=$((t1[2] - t0[2])) \
		-v g="$(jq -r '.cpu_s // 0' <<<"$j")" -v hz="$(getconf CLK_TCK)" \
		'BEGIN {x = (b - o - g * hz) * 100 / (a + 0.001); printf "%d", x < 0 ? 0 : x}')
	sent=$(jq -r .sent <<<"$j"); pps=$(jq -r '.rate_pps | floor' <<<"$j")
	txd=$(jq -r .tx_drops <<<"$j")
	rx=$((after[0] - before[0])); acc=$((after[1] - before[1]))
	miss=$((after[2] - before[2]))
	vd=$((after[3] - before[3] + after[4] - before[4]))
	lost=$((sent - acc))
	zl=no; [ "$lost" -eq 0 ] && [ "$txd" -eq 0 ] && zl=yes
	[ "$txd" -eq 0 ] || zl="$zl (loadgen tx drops $txd)"
	[ "$others" -lt "$OTHERS_MAX" ] || zl="$zl (busy)"
	printf "%-9s %-15s %8s %10s %9s %9s %9s %7s %8s %7s %6s %s\n" "$port" "$g" "$r" \
		"$pps" "$sent" "$rx" "$acc" "$lost" "$miss" "$vd" "$others" "$zl" | tee -a "$OUT/steps.txt"
	echo "$rep $port $g $r $pps $sent $rx $acc $lost $miss $vd $txd $others" >>"$OUT/steps.raw"
	STEP_BUSY=0
	[ "$others" -lt "$OTHERS_MAX" ] || STEP_BUSY=1
	STEP_PPS=$pps
	[ "$zl" = yes ] && STEP_ZERO=1
	return 0
}

# A step during which other processes took OTHERS_MAX % of the machine or
# more is run again, once; both are kept in the table.
run_step_twice() {
	run_step "$@"
	[ "$STEP_BUSY" = 0 ] || run_step "$@"
}

registered=0
printf "%-9s %-15s %8s %10s %9s %9s %9s %7s %8s %7s %6s %s\n" port generator target "sent/s" sent \
	rx accepted lost imissed "veth dr" others zero-loss | tee "$OUT/steps.txt"
for rep in $(seq "$REPEAT"); do
	for port in $PORTS; do
		quiet "$port"
		start_daemon "$port"
		if [ $registered = 0 ]; then
			"$LG" --register "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count "$N" \
				--concurrency 256 --guid-prefix bench --save "$WORK/eps.jsonl" \
				--register-only -q >"$OUT/register.txt" || die "registration failed: $(cat "$OUT/register.txt")"
			echo "# $(cat "$OUT/register.txt")"
			registered=1
		fi
		for g in $GENS; do
			# The sweep, then BISECT steps between the highest zero-loss
			# rate and the lowest lossy one (or the generator's maximum).
			lo=0 hi= saturated=0
			for r in $RATES; do
				[ "$saturated" = 1 ] && [ "$r" != max ] && continue
				run_step_twice "$rep" "$port" "$g" "$r"
				if [ "$STEP_ZERO" = 1 ]; then
					[ "$r" = max ] && lo=$STEP_PPS || lo=$r
				elif [ -z "$hi" ] && [ "$STEP_PPS" -gt 0 ]; then
					[ "$r" = max ] && hi=$STEP_PPS || hi=$r
				fi
				[ "$r" != max ] && [ $((STEP_PPS * 10)) -lt $((r * 9)) ] && saturated=1
			done
			for _ in $(seq "$BISECT"); do
				[ -n "$hi" ] && [ "$hi" -gt "$lo" ] || break
				[ $(( (hi - lo) * 20 )) -gt "$hi" ] || break     # within 5 %: enough
				mid=$(( (lo + hi) / 2 ))
				run_step_twice "$rep" "$port" "$g" "$mid"
				if [ "$STEP_ZERO" = 1 ]; then lo=$mid; else hi=$mid; fi
			done
		done
		stop_daemon
	done
done

# --- top zero-loss rate per port and generator: the highest achieved rate
# of a zero-loss step, median over the repetitions
echo
echo "== top rate with zero loss (glournetd accepted every heartbeat loadgen sent) =="
{
	for port in $PORTS; do
		for g in $GENS; do
			tops=()
			for rep in $(seq "$REPEAT"); do
				t=$(awk -v r=$rep -v p=$port -v g=$g \
					'$1 == r && $2 == p && $3 == g && $9 == 0 && $12 == 0 && $5 > m {m = $5}
					 END {print m + 0}' "$OUT/steps.raw")
				tops+=("$t")
			done
			med=$(printf "%s\n" "${tops[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
			maxsent=$(awk -v p=$port -v g=$g '$2 == p && $3 == g && $5 > m {m = $5} END {print m + 0}' "$OUT/steps.raw")
			echo "top_${port}_${g}_pps=$med"
			echo "max_sent_${port}_${g}_pps=$maxsent"
		done
	done
	echo "endpoints=$N"
	echo "huge_note=${huge_note:-none}"
	echo "busy_before_max_pct=$BUSY_MAX"
	echo "busy_steps=$(awk -v m="$OTHERS_MAX" '$13 >= m' "$OUT/steps.raw" | wc -l)"
	echo "steps=$(wc -l <"$OUT/steps.raw")"
} >"$OUT/summary.txt"
base_port=af_packet
printf "%-15s %-28s %-28s %s\n" generator "af_xdp: top zero-loss" "baseline af_packet" "generator's max"
for g in $GENS; do
	a=$(awk -F= -v k="top_af_xdp_${g}_pps" '$1 == k {print $2}' "$OUT/summary.txt")
	b=$(awk -F= -v k="top_${base_port}_${g}_pps" '$1 == k {print $2}' "$OUT/summary.txt")
	m=$(awk -F= -v k="max_sent_af_xdp_${g}_pps" '$1 == k {print $2}' "$OUT/summary.txt")
	printf "%-15s %-28s %-28s %s\n" "$g" "${a:-n/a} pps" "${b:-n/a} pps" "${m:-n/a} pps"
done
echo "(steps: $OUT/steps.txt; summary: $OUT/summary.txt; FACTS.md: af_xdp on a veth ~0.94 Mpps, af_packet 0.6-0.84, limited by the sending core)"
