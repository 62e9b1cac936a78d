# Shared by the integration tests: run glournetd on a lab veth (tools/lab-net.sh)
# and assert through glournetctl -j. Each test sources this with BUILD and SRC set.

set -euo pipefail

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "SKIP: needs root and iproute2 (network namespaces)"
	exit 77
fi

. "$SRC/tools/lab-net.sh"

GLOURNETD=$BUILD/control/glournetd
CTL=$BUILD/tools/glournetctl
AGENT=$BUILD/tools/glournet-agent
FORGE=$SRC/tests/tools/hbforge.py
TAG=it$$
WORK=$(mktemp -d /tmp/glournet-it.XXXXXX)
SOCK=$WORK/ctl.sock
TOKEN=it-token-$$
# HTTP_PORT and the two above it (HTTPS, metrics): below the kernel's
# ephemeral range, so no client socket of an earlier test (thousands in the
# storm and flood tests) can hold one, and free of listeners now.
http_port_pick() {
	local lo p
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	p=$((20000 + $$ % (lo - 20003)))
	for _ in $(seq 100); do
		if [ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2)) )")" ]; then
			echo "$p"; return
		fi
		p=$((20000 + (p - 20000 + 3) % (lo - 20003)))
	done
	echo "no free HTTP port below $lo" >&2; return 1
}
HTTP_PORT=$(http_port_pick)
EXC_IFACE=gnx-$TAG     # the exception interface, one per test run
DAEMON_PID=

cleanup() {
	local rc=$?
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fi
	lab_down "$TAG"
	if [ $rc -ne 0 ] && [ -f "$WORK/daemon.log" ]; then
		echo "--- glournetd log (last 40 lines) ---"; tail -n 40 "$WORK/daemon.log"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

ctl() { "$CTL" -s "$SOCK" "$@"; }
ctlj() { "$CTL" -s "$SOCK" -j "$@"; }

# start_daemon [glournetd options...]: on the lab's host end, --no-huge.
start_daemon() {
	lab_up "$TAG"
	start_daemon_only "$@"
}

# The same on an existing lab (a restart).
start_daemon_only() {
	mkdir -p "$WORK/gnstate"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/gnstate" \
		--hb-addr "$LAB_COLLECTOR4" --hb-addr "$LAB_COLLECTOR6" --idle-sleep-us 200 \
		--exception-iface "$EXC_IFACE" "$@" \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "$TAG")" --log-level=lib.eal:warning \
		>>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	wait_daemon
	lab_neigh "$TAG"
}

# start_daemon_xdp [glournetd options...]: the port a real NIC would be.
# The host end sits in the collector's own netns (lab_collector) with no
# address, glournetd owns it through net_af_xdp (the kernel sees none of
# its frames) and serves the lab addresses (ARP, ND, ping, HTTP on
# $LAB_COLLECTOR4:$HTTP_PORT) through its exception interface there: no
# static neighbour anywhere.
start_daemon_xdp() {
	lab_up "$TAG"
	lab_collector "$TAG"
	start_daemon_xdp_only "$@"
}

start_daemon_xdp_only() {
	mkdir -p "$WORK/gnstate"
	ip netns exec "$(lab_cns "$TAG")" "$GLOURNETD" --token "$TOKEN" --http "$LAB_COLLECTOR4:$HTTP_PORT" \
		--ctl-socket "$SOCK" --state-dir "$WORK/gnstate" \
		--hb-addr "$LAB_COLLECTOR4" --hb-addr "$LAB_COLLECTOR6" --idle-sleep-us 200 \
		--exception-iface "$EXC_IFACE" "$@" \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" --no-pci \
		--vdev "net_af_xdp0,iface=$(lab_host "$TAG"),busy_budget=0" \
		--log-level=lib.eal:warning >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!   # ip netns exec execs glournetd: the same process
	wait_daemon
}

in_collector() { ip netns exec "$(lab_cns "$TAG")" "$@"; }

wait_daemon() {
	for _ in $(seq 200); do
		ctl show status >/dev/null 2>&1 && break
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "glournetd exited at start-up"
		sleep 0.1
	done
	ctl show status >/dev/null || fail "glournetd did not answer on $SOCK"
}

in_ns() { ip netns exec "$(lab_ns "$TAG")" "$@"; }

# field JSON_PATH COMMAND...: one value from glournetctl -j.
field() { local path=$1; shift; ctlj "$@" | jq -r "$path"; }

# Waits up to $1 seconds for `field $2 ${@:4}` to equal $3.
wait_field() {
	local secs=$1 path=$2 want=$3; shift 3
	local got
	for _ in $(seq $((secs * 10))); do
		got=$(field "$path" "$@")
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	fail "$* $path: want $want, got $got after ${secs}s"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "glournetd exited with an error on SIGTERM"
	DAEMON_PID=
}

# expect_refused MESSAGE_PART CTL_ARGS...: the CLI exits 1 and names it.
expect_refused() {
	local part=$1; shift
	local out rc=0
	out=$(ctl "$@" 2>&1) || rc=$?
	[ $rc -eq 1 ] || fail "glournetctl $*: exit $rc, want 1 (refused)"
	grep -qF -- "$part" <<<"$out" || fail "glournetctl $*: message '$out' does not name '$part'"
}

state_line() { grep -v '^#' "$WORK/state" | sed -n "$(($1 + 1))p"; }
guid_of() { state_line "$1" | awk '{print $1}'; }
drops() { field ".total.dropped.$1" show stats; }
