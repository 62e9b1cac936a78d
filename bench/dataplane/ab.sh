#!/usr/bin/env bash
# Before/after in one run: gn-bench-capacity of two build trees, alternated
# round by round on the same traffic variants, plus their callgrind
# instructions per heartbeat (exact, repeatable). For a change to the hot
# path, this is the figure its commit quotes (issue #11: checksums, rare
# messages).
#
#   sudo A=/tmp/base/build B=build bench/dataplane/ab.sh
#
# Each variant is a set of gn-bench-capacity options (see capacity.c):
#   plain        IPv4, UDP checksum 0 (the issue #6 traffic)
#   csum         IPv4 with a UDP checksum, as kernel sockets send it
#   verified     the same, mbufs flagged GOOD as a NIC with RX checksum offload does
#   rare1 rare10 csum with 1 % / 10 % rare messages (SHUTDOWN, BOOT, notify-ack)
# Environment: A, B (build dirs; B defaults to build), VARIANTS ("plain csum
# verified rare1 rare10"), ROUNDS (3), SLOTS (10000000), DURATION (5),
# CALLGRIND (1), NO_HUGE (0), A_ENV / B_ENV (VAR=VALUE words for that side's
# runs, e.g. B_ENV=GN_BENCH_SMALL_PAGES=1: the same tree with its slot table
# kept off hugepages). Hugepages are reserved and given back as in
# run.sh. Output: a table on stdout and $B/bench/dataplane/ab.txt.
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
A=${A:?A=build dir of the "before" tree}
B=${B:-build}
case $B in /*) ;; *) B=$SRC/$B ;; esac
VARIANTS=${VARIANTS:-plain csum verified rare1 rare10}
ROUNDS=${ROUNDS:-3}
SLOTS=${SLOTS:-10000000}
DURATION=${DURATION:-5}
CALLGRIND=${CALLGRIND:-1}
NO_HUGE=${NO_HUGE:-0}
OUT=$B/bench/dataplane
mkdir -p "$OUT"
for d in "$A" "$B"; do
	[ -x "$d/bench/gn-bench-capacity" ] || { echo "ab: $d/bench/gn-bench-capacity missing" >&2; exit 1; }
done

declare -A OPTS=([plain]="" [csum]="--udp-csum" [verified]="--udp-csum --rx-verified"
	[rare1]="--udp-csum --rare 1" [rare10]="--udp-csum --rare 10"
	[rare0]="--udp-csum --rare 0")

HP_SYS=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $HP_SYS)
HP_DIR=
cleanup() {
	# gn-bench-capacity leaves EAL's runtime directories; ours are these two.
	rm -rf "/var/run/dpdk/gnab$$" "/var/run/dpdk/gnabcg$$"
	[ -n "$HP_DIR" ] && { umount "$HP_DIR" 2>/dev/null || true; rmdir "$HP_DIR" 2>/dev/null || true; }
	[ "$(cat $HP_SYS)" != "$HP_ORIG" ] && echo "$HP_ORIG" >$HP_SYS 2>/dev/null || true
}
trap cleanup EXIT

EAL=(-l 0,1 --main-lcore 0 --no-pci --iova-mode=va --log-level=lib.eal:error
	--log-level=pmd.net.ring:error)
if [ "$NO_HUGE" = 0 ] && [ "$(id -u)" -eq 0 ]; then
	# ~706 pages at 10 M slots for the frames (run.sh), and the slot
	# table's chunks, two pages each, where the tree puts them there.
	need=$(( SLOTS / 14000 + 64 + (SLOTS + 65535) / 65536 * 2 ))
	echo $((HP_ORIG + need)) >$HP_SYS
	HP_DIR=$(mktemp -d /tmp/gn-ab-huge.XXXXXX)
	mount -t hugetlbfs nodev "$HP_DIR"
	EAL+=(--in-memory --huge-dir "$HP_DIR")
else
	EAL+=(--no-huge --no-shconf -m $(( SLOTS / 3500 + 512 )))
fi

# one TREE VARIANT ROUND: "mpps resend_mpps wait_pct events dropped"
one() {
	local out
	local envs=${3:-}
	out=$(env $envs timeout 600 "$1/bench/gn-bench-capacity" "${EAL[@]}" --file-prefix "gnab$$" -- \
		--slots "$SLOTS" --duration "$DURATION" --kernel 0 ${OPTS[$2]} 2>&1 | grep '^result') ||
		{ echo "ab: $1 $2 failed" >&2; return 1; }
	local kv
	declare -A r
	for kv in ${out#result }; do r[${kv%%=*}]=${kv#*=}; done
	echo "${r[dpdk_mpps]} ${r[resend_mpps]} ${r[dpdk_wait_pct]} ${r[events]} ${r[events_dropped]} ${r[dpdk_rejected]}"
}

median() { sort -g | awk '{v[NR]=$1} END {print NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A FIRST RESEND
RAW=$OUT/ab-raw.txt
: >"$RAW"
for round in $(seq "$ROUNDS"); do
	for v in $VARIANTS; do
		for side in A B; do
			tree=${!side}
			envv=${side}_ENV
			read -r m r w e d rej < <(one "$tree" "$v" "${!envv:-}")
			echo "round $round $v $side first=$m resend=$r wait=$w% events=$e lost=$d rejected=$rej" |
				tee -a "$RAW"
			FIRST[$v,$side]+="$m "
			RESEND[$v,$side]+="$r "
		done
	done
done

cg() {
	local ir
	local envs=${3:-}
	ir=$(env $envs timeout 900 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--toggle-collect=worker_main "$1/bench/gn-bench-capacity" -l 0,1 --main-lcore 0 \
		--no-huge --no-shconf -m 280 --no-pci --iova-mode=va --log-level=lib.eal:error \
		--file-prefix "gnabcg$$" -- --slots 1000000 --frames 200000 --stop-after 200000 \
		--kernel 0 ${OPTS[$2]} 2>&1 | grep -o 'I *refs: *[0-9,]*' | tr -dc 0-9)
	awk -v i="$ir" 'BEGIN {printf "%.1f", i / 200000}'
}

{
	echo "before: $A ${A_ENV:-}"
	echo "after:  $B ${B_ENV:-}"
	echo "median of $ROUNDS rounds, Mpps per second of the worker's CPU; $SLOTS slots"
	printf "%-9s %14s %14s %7s %14s %14s %7s %9s %9s\n" variant "first A" "first B" "B/A" \
		"resent A" "resent B" "B/A" "instr A" "instr B"
	for v in $VARIANTS; do
		fa=$(tr ' ' '\n' <<<"${FIRST[$v,A]}" | grep . | median)
		fb=$(tr ' ' '\n' <<<"${FIRST[$v,B]}" | grep . | median)
		ra=$(tr ' ' '\n' <<<"${RESEND[$v,A]}" | grep . | median)
		rb=$(tr ' ' '\n' <<<"${RESEND[$v,B]}" | grep . | median)
		ia=-; ib=-
		if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
			ia=$(cg "$A" "$v" "${A_ENV:-}"); ib=$(cg "$B" "$v" "${B_ENV:-}")
		fi
		printf "%-9s %14.2f %14.2f %7.3f %14.2f %14.2f %7.3f %9s %9s\n" "$v" "$fa" "$fb" \
			"$(awk -v a="$fa" -v b="$fb" 'BEGIN{print b/a}')" "$ra" "$rb" \
			"$(awk -v a="$ra" -v b="$rb" 'BEGIN{print b/a}')" "$ia" "$ib"
	done
} | tee "$OUT/ab.txt"
