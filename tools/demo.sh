#!/usr/bin/env bash
# The main job on an embedded default: installs what is needed, builds, and
# runs glournetd on a DPDK virtual device (net_af_packet on a veth into a
# network namespace) with a simulated fleet: thousands of endpoints register
# over HTTP and heartbeat over UDP, a share of them fall silent, and the
# status counts change on screen. No NIC, no hand set-up. Root required.
#
#   tools/demo.sh [--endpoints N] [--seconds S] [--silent-fraction F]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
ENDPOINTS=5000
SECONDS_TOTAL=60
SILENT=0.3
while [ $# -gt 0 ]; do
	case $1 in
	--endpoints) ENDPOINTS=$2; shift 2 ;;
	--seconds) SECONDS_TOTAL=$2; shift 2 ;;
	--silent-fraction) SILENT=$2; shift 2 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespaces, DPDK)" >&2; exit 1; }

"$SRC/tools/setup-deps.sh"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD" >/dev/null

. "$SRC/tools/lab-net.sh"
TAG=demo
WORK=$(mktemp -d /tmp/glournet-demo.XXXXXX)
SOCK=$WORK/ctl.sock
TOKEN=demo-token
OFFLINE_AFTER=15
INTERVAL=5
PID=
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	pkill -f "glournet-agent heartbeat --state $WORK/state" 2>/dev/null || true
	lab_down "$TAG"
	rm -rf "$WORK"
}
trap cleanup EXIT
ctl() { "$BUILD/tools/glournetctl" -s "$SOCK" "$@"; }

echo "== glournet demo: $ENDPOINTS endpoints, heartbeat every ${INTERVAL}s, offline after ${OFFLINE_AFTER}s"
lab_up "$TAG"
"$BUILD/control/glournetd" --token "$TOKEN" --http 127.0.0.1:18080 --ctl-socket "$SOCK" \
	--hb-addr "$LAB_COLLECTOR4" --hb-interval ${INTERVAL}s --offline-after ${OFFLINE_AFTER}s \
	--state-dir "$WORK/gnstate" --register-rate 0 \
	--idle-sleep-us 100 \
	-- -l 0,1 --no-huge --no-shconf -m 512 --file-prefix gn-demo --no-pci \
	--vdev "net_af_packet0,iface=$(lab_host "$TAG")" --log-level=lib.eal:warning \
	>"$WORK/glournetd.log" 2>&1 &
PID=$!
for _ in $(seq 100); do ctl show status >/dev/null 2>&1 && break; sleep 0.1; done
ctl show status >/dev/null || { cat "$WORK/glournetd.log"; exit 1; }
lab_neigh "$TAG"
echo "== glournetd running (log: tail below at the end); registering over HTTP"

# Each registration is answered once committed to the store (a few ms):
# eight agents register in parallel, as a fleet would.
PARALLEL=8
PER=$(( (ENDPOINTS + PARALLEL - 1) / PARALLEL ))
t0=$(date +%s.%N)
agents=()
for p in $(seq 0 $((PARALLEL - 1))); do
	first=$((p * PER)); n=$(( ENDPOINTS - first < PER ? ENDPOINTS - first : PER ))
	[ "$n" -gt 0 ] || continue
	"$BUILD/tools/glournet-agent" register --server http://127.0.0.1:18080 --token "$TOKEN" \
		--first "$first" --count "$n" --guid-prefix demo --state "$WORK/state.$p" >/dev/null &
	agents+=($!)
done
wait "${agents[@]}"   # not glournetd's PID
cat "$WORK"/state.* > "$WORK/state"
printf 'registered %d endpoints over HTTP in %.1f s (%d agents in parallel)\n' \
	"$(grep -vc '^#' "$WORK/state")" "$(python3 -c "import time; print(time.time() - $t0)")" "$PARALLEL"
echo "== fleet heartbeating from namespace $(lab_ns "$TAG"); ${SILENT} of it falls silent after 20s"
ip netns exec "$(lab_ns "$TAG")" "$BUILD/tools/glournet-agent" heartbeat --state "$WORK/state" \
	--to "$LAB_COLLECTOR4" --interval $INTERVAL --duration "$SECONDS_TOTAL" \
	--silent-fraction "$SILENT" --silent-after 20 >"$WORK/agent.log" 2>&1 &

printf '%8s %8s %8s %8s %12s\n' "t (s)" clients online offline "heartbeats"
start=$(date +%s)
while [ $(( $(date +%s) - start )) -le "$SECONDS_TOTAL" ]; do
	s=$(ctl -j show status)
	a=$(ctl -j show stats | jq .total.accepted)
	printf '%8d %8d %8d %8d %12d\n' $(( $(date +%s) - start )) \
		"$(jq .clients <<<"$s")" "$(jq .online <<<"$s")" "$(jq .offline <<<"$s")" "$a"
	sleep 5
done
echo
echo "== glournetctl show status"
ctl show status
echo
echo "== glournetctl show stats"
ctl show stats
echo
echo "== a silent and a live endpoint"
ctl show client demo-000000
echo
ctl show client "demo-$(printf '%06d' $((ENDPOINTS - 1)))"
echo
echo "== agent: $(tail -n 1 "$WORK/agent.log")"
echo "== glournetd log (last 8 lines)"
tail -n 8 "$WORK/glournetd.log"
