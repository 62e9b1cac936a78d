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
	mkdir -p "${GN_STATE:-$WORK/gnstate}"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "${GN_STATE:-$WORK/gnstate}" \
		--hb-addr "$LAB_COLLECTOR4" --hb-addr "$LAB_COLLECTOR6" --idle-sleep-us 200 \
		--exception-iface "$EXC_IFACE" "$@" \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "$TAG")" --log-level=lib.eal:warning \
		>>"${DAEMON_LOG:-$WORK/daemon.log}" 2>&1 &
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

# ---- A throwaway PostgreSQL 15 cluster (tests that use --store postgresql:) ----
# pg_setup: initdb in $PG (a scratch directory) as the postgres user (it
# refuses root), password $PGPW for user gn over TCP on 127.0.0.1:$PGPORT,
# trust on the unix socket in $PG/sock; then pg_start and database
# glournet. The caller sets PG, PGPW and PGPORT, and calls pg_cleanup from
# its trap. SKIPs (77) without postgresql-15.
PGBIN=/usr/lib/postgresql/15/bin
pg_setup() {
	[ -x "$PGBIN/initdb" ] || { echo "SKIP: no $PGBIN/initdb (postgresql-15)"; exit 77; }
	command -v psql >/dev/null || { echo "SKIP: no psql"; exit 77; }
	PGOS=postgres
	id "$PGOS" >/dev/null 2>&1 || PGOS=nobody
	mkdir -p "$PG/sock"
	printf '%s\n' "$PGPW" >"$PG/pw"
	chown -R "$PGOS" "$PG"
	runuser -u "$PGOS" -- "$PGBIN/initdb" -D "$PG/data" -U gn --pwfile="$PG/pw" \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PG/initdb.log" 2>&1 ||
		{ cat "$PG/initdb.log"; fail "initdb"; }
	pg_start
	psql -h "$PG/sock" -p "$PGPORT" -U gn -d postgres -XAtqc "CREATE DATABASE glournet" >/dev/null
}
pg_start() {
	runuser -u "$PGOS" -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/pg.log" -w -t 30 \
		-o "-k $PG/sock -p $PGPORT -c listen_addresses=127.0.0.1 -c fsync=off -c log_statement=${PG_LOG_STATEMENT:-all} -c log_line_prefix=%d:" start >/dev/null ||
		fail "pg_ctl start"
}
pg_stop() { runuser -u "$PGOS" -- "$PGBIN/pg_ctl" -D "$PG/data" -m fast -w -t 30 stop >/dev/null; }
sql() { psql -h "$PG/sock" -p "$PGPORT" -U gn -d glournet -XAtqc "$1"; }
# Stops the server (immediate) and removes $PG; the log's tail first when KEEP_PG_LOG is set.
pg_teardown() {
	if [ -f "$PG/data/postmaster.pid" ]; then
		runuser -u "${PGOS:-postgres}" -- "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${KEEP_PG_LOG:-}" ] && [ -f "$PG/pg.log" ]; then
		echo "--- postgres log (last 20 lines) ---"; tail -n 20 "$PG/pg.log"
	fi
	rm -rf "$PG"
}
