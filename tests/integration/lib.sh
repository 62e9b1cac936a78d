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

# Does FILE, after its first N lines, hold the fixed string S?  awk reads to
# the end: `tail -n +N FILE | grep -q S` stops reading at the first match, tail
# dies of SIGPIPE on a big log, and pipefail turns the match into a failure.
log_since_has() { awk -v n="$2" -v s="$3" 'NR > n && index($0, s) { f = 1 } END { exit !f }' "$1"; }

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

# ---- A pg_auto_failover formation (tests that kill the store's primary) ----
# pgaf_setup: in $PGAF (a scratch directory) a monitor on $PGAF_PORT and two
# data nodes n1 (the first primary) and n2 on $PGAF_PORT+1 and +2, on
# 127.0.0.1, trust auth, no SSL, database glournet owned by user gn,
# synchronous replication (number-sync-standbys 1 where the formation
# allows it, else the default quorum of one standby: see pgaf_sync). Each
# `pg_autoctl ... --run` runs as the postgres user in a session (process
# group) of its own, its id in PGAF_PGID[NAME], so pgaf_kill kills a node's
# whole tree (keeper and postgres) as a crash would. Timings shortened on
# the monitor (pgaf_fast). The caller sets PGAF and PGAF_PORT and calls
# pgaf_teardown from its trap. SKIPs (77) without postgresql-15-auto-failover.
declare -A PGAF_PGID PGAF_PORTS
# pgaf_run NAME ARGS...: `pg_autoctl ARGS` as postgres, its own session.
pgaf_run() {
	local name=$1; shift
	setsid setpriv --reuid="$PGOS" --regid="$PGOS" --init-groups \
		env -i PATH="$PGBIN:/usr/bin:/bin" HOME="$PGAF" XDG_CONFIG_HOME="$PGAF/cfg" \
		XDG_DATA_HOME="$PGAF/share" XDG_RUNTIME_DIR="$PGAF/run" \
		pg_autoctl "$@" >>"$PGAF/$name.log" 2>&1 &
	PGAF_PGID[$name]=$!; disown   # setsid does not fork here (a background job leads no group): the same pid
}
# pgaf_ctl ARGS...: a one-shot pg_autoctl as postgres (show, set, ...).
pgaf_ctl() {
	setpriv --reuid="$PGOS" --regid="$PGOS" --init-groups \
		env -i PATH="$PGBIN:/usr/bin:/bin" HOME="$PGAF" XDG_CONFIG_HOME="$PGAF/cfg" \
		XDG_DATA_HOME="$PGAF/share" XDG_RUNTIME_DIR="$PGAF/run" pg_autoctl "$@"
}
pgaf_monitor_url() { echo "postgres://autoctl_node@127.0.0.1:$PGAF_PORT/pg_auto_failover?sslmode=disable"; }
# monitor_sql SQL: on the monitor's database, as its superuser.
monitor_sql() { psql -h 127.0.0.1 -p "$PGAF_PORT" -U "$PGOS" -d pg_auto_failover -XAtqc "$1"; }
# pgaf_sql NODE SQL: on a data node's glournet database, as gn.
pgaf_sql() { psql -h 127.0.0.1 -p "${PGAF_PORTS[$1]}" -U gn -d glournet -XAtqc "$2"; }
pgaf_setup() {
	command -v pg_autoctl >/dev/null || { echo "SKIP: no pg_autoctl (postgresql-15-auto-failover)"; exit 77; }
	[ -x "$PGBIN/initdb" ] || { echo "SKIP: no $PGBIN/initdb (postgresql-15)"; exit 77; }
	command -v psql >/dev/null || { echo "SKIP: no psql"; exit 77; }
	PGOS=postgres
	id "$PGOS" >/dev/null 2>&1 || { echo "SKIP: no postgres user"; exit 77; }
	mkdir -p "$PGAF/cfg" "$PGAF/share" "$PGAF/run"
	chmod 700 "$PGAF/run"
	chown -R "$PGOS" "$PGAF"
	PGAF_PORTS[monitor]=$PGAF_PORT PGAF_PORTS[n1]=$((PGAF_PORT + 1)) PGAF_PORTS[n2]=$((PGAF_PORT + 2))
	pgaf_run monitor create monitor --pgdata "$PGAF/monitor" --pgport "$PGAF_PORT" \
		--hostname 127.0.0.1 --auth trust --no-ssl --run
	pgaf_wait 60 "the monitor" monitor_sql "SELECT 1"
	pgaf_fast
	pgaf_node n1
	pgaf_wait 60 "n1 primary" pgaf_state_is n1 single
	pgaf_sql n1 "SELECT 1" >/dev/null 2>&1 || pgaf_wait 20 "glournet on n1" pgaf_sql n1 "SELECT 1"
	pgaf_node n2
	# n2's pg_basebackup asks n1 for a spread checkpoint (~90 s here at
	# the defaults): an immediate CHECKPOINT ends it at once.
	for _ in $(seq 150); do
		pgaf_state_is n2 secondary && break
		psql -h 127.0.0.1 -p "${PGAF_PORTS[n1]}" -U "$PGOS" -d postgres -XAtqc CHECKPOINT >/dev/null 2>&1 || true
		sleep 0.2
	done
	pgaf_wait 30 "n2 secondary" pgaf_state_is n2 secondary
	pgaf_wait 30 "n1 primary" pgaf_state_is n1 primary
	# A primary cut off from the monitor and its standby demotes itself
	# after this (default 20 s): below primary_demote_timeout (pgaf_fast),
	# so it is read-only before the standby is promoted.
	local n
	for n in n1 n2; do
		pgaf_ctl config set --pgdata "$PGAF/$n" timeout.network_partition_timeout 3 >>"$PGAF/set.log" 2>&1 ||
			fail "pg_autoctl config set timeout.network_partition_timeout on $n"
	done
	pgaf_sync
}
# pgaf_node NAME: a data node on its port, joining the formation.
pgaf_node() {
	pgaf_run "$1" create postgres --pgdata "$PGAF/$1" --pgport "${PGAF_PORTS[$1]}" \
		--hostname 127.0.0.1 --name "$1" --dbname glournet --username gn \
		--monitor "$(pgaf_monitor_url)" --auth trust --no-ssl --run
}
# Monitor timings, shortened from the defaults (docs/store.md says why
# each is safe): health checks every second, a node unhealthy 3 s after
# its last report and failed checks, the old primary's demotion awaited
# 5 s (its keeper demotes itself after network_partition_timeout, 3 s
# below; and with a synchronous standby an isolated primary commits nothing).
pgaf_fast() {
	local g
	for g in health_check_period=1000 health_check_timeout=1000 health_check_max_retries=1 \
		health_check_retry_delay=500 node_considered_unhealthy_timeout=3000 primary_demote_timeout=5000; do
		monitor_sql "ALTER SYSTEM SET pgautofailover.${g%%=*} = ${g#*=}" >/dev/null
	done
	monitor_sql "SELECT pg_reload_conf()" >/dev/null
}
# pgaf_state_is NODE STATE: the monitor's reported state of NODE is STATE.
pgaf_state_is() {
	[ "$(monitor_sql "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null)" = "$2" ]
}
# pgaf_wait SECS WHAT CMD...: until CMD succeeds, or fail.
pgaf_wait() {
	local secs=$1 what=$2; shift 2
	for _ in $(seq $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	tail -n 15 "$PGAF"/*.log
	fail "pg_auto_failover: $what not reached in ${secs}s"
}
# The formation's synchronous replication: number-sync-standbys 1 (with
# two data nodes pg_auto_failover 2.0 keeps 0 and still names the standby
# in synchronous_standby_names; PGAF_SYNC says which was set).
pgaf_sync() {
	if pgaf_ctl set formation number-sync-standbys 1 --monitor "$(pgaf_monitor_url)" >>"$PGAF/set.log" 2>&1; then
		PGAF_SYNC="number-sync-standbys 1"
	else
		PGAF_SYNC="number-sync-standbys 0 (quorum of 1 standby)"
	fi
	pgaf_wait 20 "a synchronous standby" pgaf_has_sync
}
pgaf_has_sync() {
	local p; p=$(pgaf_primary) || return 1
	[ "$(pgaf_sql "$p" "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')")" -ge 1 ]
}
# pgaf_primary: the node the monitor has as primary (prints its name).
pgaf_primary() {
	local n
	n=$(monitor_sql "SELECT nodename FROM pgautofailover.node WHERE reportedstate IN ('primary', 'single', 'wait_primary') AND goalstate = reportedstate ORDER BY nodeid LIMIT 1" 2>/dev/null) || return 1
	[ -n "$n" ] && echo "$n"
}
# The collectors' multi-host URL: whichever node takes writes.
pgaf_url() {
	echo "postgresql://gn@127.0.0.1:${PGAF_PORTS[n1]},127.0.0.1:${PGAF_PORTS[n2]}/glournet?target_session_attrs=read-write&connect_timeout=2"
}
# pgaf_tree PGID: every process of that group and all their descendants.
# PostgreSQL makes each child of the postmaster a process group of its
# own (setsid in InitPostmasterChild), so the group alone misses the
# backends, the logger and the monitor's health-check worker.
pgaf_tree() {
	local todo p kids out=""
	todo=$(pgrep -g "$1" | paste -sd' ')
	while [ -n "$todo" ]; do
		set -- $todo; todo=""
		for p; do
			out="$out $p"
			kids=$(pgrep -P "$p" | paste -sd' ')
			todo="$todo $kids"
		done
		todo=$(echo $todo)
	done
	echo $out
}
# pgaf_kill NODE: SIGKILL to NODE's whole tree at once (keeper, postgres,
# its backends), as a crash of its machine.
pgaf_kill() {
	local g=${PGAF_PGID[$1]} procs
	procs=$(pgaf_tree "$g")
	[ -z "$procs" ] || kill -KILL $procs 2>/dev/null || true
	for _ in $(seq 50); do
		[ -z "$(for p in $procs; do [ -d /proc/$p ] && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] && echo $p; done)" ] && break
		sleep 0.1
	done
	PGAF_PGID[$1]=
}
# pgaf_wait_failover OLD SECS: until another node is primary and takes
# writes (a new session is read-write: what target_session_attrs asks; a
# promoted standby stays default_transaction_read_only until the monitor
# has it wait_primary, after primary_demote_timeout).
pgaf_wait_failover() {
	local old=$1 secs=$2 p
	for _ in $(seq $((secs * 10))); do
		p=$(pgaf_primary) || p=
		if [ -n "$p" ] && [ "$p" != "$old" ] &&
			[ "$(pgaf_sql "$p" "SELECT pg_is_in_recovery()::text || current_setting('transaction_read_only')" 2>/dev/null)" = falseoff ]; then
			echo "$p"; return 0
		fi
		sleep 0.1
	done
	return 1
}
# Kills every process tree it started (also on failure) and removes $PGAF.
pgaf_teardown() {
	local n
	[ -n "${PGAF:-}" ] || return 0
	for n in "${!PGAF_PGID[@]}"; do
		[ -n "${PGAF_PGID[$n]}" ] && pgaf_kill "$n"
	done
	if [ -n "${KEEP_PG_LOG:-}" ]; then
		for f in "$PGAF"/*.log; do [ -f "$f" ] && { echo "--- $f (last 15 lines) ---"; tail -n 15 "$f"; }; done
	fi
	rm -rf "$PGAF"
}

# ---- Checks shared by the fleet tests (several collectors on PostgreSQL) ----
# Each takes the command that runs one SQL statement on the store as its
# last arguments: `sql` (pg_setup) or `pgaf_sql NODE` (pg_auto_failover).

# stream_check WHAT SQL_CMD...: the stored transition stream is seqs 1..n,
# each once (no gap, no duplicate), the sequences row 'transitions' stands
# at n, and replaying it gives the stored statuses (the last transition of
# every endpoint is its endpoints.status). Prints n; fails naming WHAT (on
# stderr too: callers take n with $(...)).
stream_check() {
	local what=$1; shift
	local cnt dis lo hi last bad
	read -r cnt dis lo hi last <<<"$("$@" "SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' ||
		coalesce(min(seq), 0) || ' ' || coalesce(max(seq), 0) || ' ' ||
		(SELECT last FROM sequences WHERE name = 'transitions') FROM transitions")"
	[ "$cnt" -gt 0 ] && [ "$cnt" = "$dis" ] && [ "$lo" = 1 ] && [ "$hi" = "$cnt" ] && [ "$last" = "$hi" ] ||
		fail "$what: the stored stream is not 1..n once each: count $cnt distinct $dis min $lo max $hi sequence $last" >&2
	bad=$("$@" "SELECT count(*) FROM endpoints e JOIN (SELECT DISTINCT ON (id) id, new_status FROM transitions
		WHERE kind = 0 ORDER BY id, seq DESC) t ON t.id = e.id WHERE t.new_status <> e.status")
	[ "$bad" = 0 ] || fail "$what: $bad endpoints whose stored status is not their last transition's" >&2
	echo "$cnt"
}

# guid_race PREFIX N DIR URL_A URL_B: glournet-agent registers the same N
# guids (PREFIX-000000 ...) on two collectors at once; the state files (what
# each agent was answered 200/201) are DIR/ra and DIR/rb, the logs
# DIR/race-a.log and DIR/race-b.log.
guid_race() {
	local prefix=$1 n=$2 dir=$3 pa pb
	"$AGENT" register --server "$4" --token "$TOKEN" --guid-prefix "$prefix" --count "$n" \
		--state "$dir/ra" >"$dir/race-a.log" 2>&1 & pa=$!
	"$AGENT" register --server "$5" --token "$TOKEN" --guid-prefix "$prefix" --count "$n" \
		--state "$dir/rb" >"$dir/race-b.log" 2>&1 & pb=$!
	wait $pa || true; wait $pb || true
}

# guid_race_check PREFIX N DIR SQL_CMD...: after guid_race, the store has
# one row per guid, every answer 200/201 holds the stored id, slot and key,
# and every guid was answered 200/201 to at least one agent. Leaves
# DIR/race-store ("guid id slot key" per stored row, sorted) for the
# caller's checks of the collectors' memory.
guid_race_check() {
	local prefix=$1 n=$2 dir=$3; shift 3
	local rows guids wrong answered
	read -r rows guids < <("$@" "SELECT count(*), count(DISTINCT guid) FROM endpoints WHERE guid LIKE '$prefix-%'" | tr '|' ' ')
	[ "$rows $guids" = "$n $n" ] || fail "one row per raced guid: $rows rows, $guids guids (want $n)"
	"$@" "SELECT guid || ' ' || lpad(to_hex(id), 16, '0') || ' ' || slot || ' ' || encode(key, 'hex')
		FROM endpoints WHERE guid LIKE '$prefix-%'" | sort >"$dir/race-store"
	# (an agent that won no race writes no state file: not an error here)
	cat "$dir/ra" "$dir/rb" 2>/dev/null | awk '!/^#/ {print $1, $2, $3, $4}' | sort >"$dir/race-agents" || true
	wrong=$(comm -13 "$dir/race-store" "$dir/race-agents" | head -3)
	[ -z "$wrong" ] || fail "agents answered 200/201 hold what the store does not: $wrong"
	answered=$(awk '{print $1}' "$dir/race-agents" | sort -u | wc -l)
	[ "$answered" = "$n" ] || fail "every raced guid answered 200/201 to one agent: $answered of $n"
}

# ---- Two collectors, A and B, each on a veth lab of its own (the cluster tests) ----
# port_pick FROM WIDTH: the first port p >= FROM (in steps of WIDTH) with
# p .. p+WIDTH-1 free; nothing and status 1 when none within 30 steps.
port_pick() {
	local p w=$2 i busy
	for p in $(seq "$1" "$w" $(($1 + 30 * w))); do
		busy=
		for i in $(seq 0 $((w - 1))); do
			[ -n "$(ss -Htan "( sport = :$((p + i)) )")" ] && { busy=1; break; }
		done
		[ -z "$busy" ] && { echo "$p"; return 0; }
	done
	return 1
}
# two_collectors TAGBASE: C_TAG, C_SOCK, C_PORT, C_PID for a and b (labs
# TAGBASEa and TAGBASEb; B's HTTP port, with its two neighbours, the first
# free after A's); `use a|b` points the lib's globals (TAG, SOCK,
# HTTP_PORT, EXC_IFACE, DAEMON_LOG, GN_STATE, DAEMON_PID) at one of them.
two_collectors() {
	declare -gA C_TAG C_SOCK C_PORT C_PID
	C_TAG[a]=${1}a C_TAG[b]=${1}b
	C_SOCK[a]=$WORK/a.sock C_SOCK[b]=$WORK/b.sock
	C_PORT[a]=$HTTP_PORT
	C_PORT[b]=$(port_pick $((HTTP_PORT + 3)) 3) || fail "no free ports for collector b"
}
use() {
	CUR=$1 TAG=${C_TAG[$1]} SOCK=${C_SOCK[$1]} HTTP_PORT=${C_PORT[$1]}
	EXC_IFACE=gnx-${C_TAG[$1]} DAEMON_LOG=$WORK/$1.log GN_STATE=$WORK/state-$1
	DAEMON_PID=${C_PID[$1]:-}
}
# For the caller's EXIT trap: kills BG_PIDS and both collectors, removes
# their labs, and on a failure ($rc) shows the tail of each one's log.
two_collectors_stop() {
	local p c
	for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
	for c in a b; do
		p=${C_PID[$c]:-}
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; wait "$p" 2>/dev/null || true; fi
		lab_down "${C_TAG[$c]}" 2>/dev/null || true
		if [ "${rc:-0}" -ne 0 ] && [ -f "$WORK/$c.log" ]; then
			echo "--- glournetd $c log (last 25 lines) ---"; tail -n 25 "$WORK/$c.log"
		fi
	done
	DAEMON_PID=
}

# ---- Faults under load on two collectors (integration-fleet-failover, -collectors) ----
# formation_two_collectors TAG: two_collectors TAG on a pg_auto_failover
# formation (pgaf_setup: a monitor, a primary and a synchronous standby in
# $PGAF, the caller's mktemp), the EXIT trap that stops all of it, and P0
# (the primary), URL (the collectors' multi-host URL), T_UP (ms it took).
formation_two_collectors() {
	local t0
	two_collectors "$1"
	PGAF_PORT=$(port_pick $((${C_PORT[b]} + 3)) 3) || fail "no free ports for pg_auto_failover"
	trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; two_collectors_stop; pgaf_teardown; set +e; (exit $rc); cleanup' EXIT
	t0=$(date +%s%N)
	pgaf_setup
	P0=$(pgaf_primary)
	URL=$(pgaf_url)
	T_UP=$(( ($(date +%s%N) - t0) / 1000000 ))
}
# register_halves PA PB: glournet-loadgen registers $NA endpoints on A
# (guids lg-PA-0 ..., addresses from 100.64.0.1) and $NB on B (lg-PB-...,
# from 100.96.0.1) at once, credentials in $WORK/eps-a.jsonl and
# eps-b.jsonl; fails unless each was new; then waits up to 15 s for the
# change feed to bring each half to the other collector. Prints the ms of
# the registering and of the wait, and each side's registrations/s.
register_halves() {
	local lg=$BUILD/tools/glournet-loadgen c t0 t_reg t_feed got pa pb
	one() {   # one C PREFIX COUNT IPS_BASE
		"$lg" --register "http://127.0.0.1:${C_PORT[$1]}" --token "$TOKEN" --count "$3" --concurrency 32 \
			--guid-prefix "$2" --ips-base "$4" --save "$WORK/eps-$1.jsonl" --register-only -q \
			>"$WORK/lgreg-$1.txt" 2>&1 &&
			grep -q "^registered $3 (new $3, known 0), failed 0" "$WORK/lgreg-$1.txt"
	}
	t0=$(date +%s%N)
	one a "$1" "$NA" 100.64.0.1 & pa=$!
	one b "$2" "$NB" 100.96.0.1 & pb=$!
	wait $pa || fail "loadgen --register on A: $(cat "$WORK/lgreg-a.txt")" >&2
	wait $pb || fail "loadgen --register on B: $(cat "$WORK/lgreg-b.txt")" >&2
	t_reg=$(( ($(date +%s%N) - t0) / 1000000 ))
	t0=$(date +%s%N)
	for c in a b; do
		use $c
		for _ in $(seq 150); do got=$(field .clients show status); [ "$got" = $((NA + NB)) ] && break; sleep 0.1; done
		[ "$got" = $((NA + NB)) ] || fail "collector $c holds $got endpoints, not $((NA + NB)), after 15 s" >&2
	done
	t_feed=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$t_reg $t_feed $(grep -o '[0-9.]* registrations/s' "$WORK/lgreg-a.txt" | cut -d' ' -f1) $(grep -o '[0-9.]* registrations/s' "$WORK/lgreg-b.txt" | cut -d' ' -f1)"
}
# reg_loop C PREFIX: registers new guids PREFIX-1, PREFIX-2, ... on collector
# C one at a time (0.1 s apart) until $WORK/reg.stop exists; a line each in
# $WORK/regs-PREFIX: code, Retry-After, key, guid, when it was sent (ns), the
# error's first words. The client waits longer than --http-timeout ($HTTP_TO).
reg_loop() {
	set +e   # a 201 has no Retry-After: grep finds nothing
	local c=$1 p=$2 i=0 code ra key t
	while [ ! -f "$WORK/reg.stop" ]; do
		i=$((i + 1))
		rm -f "$WORK/rh-$p" "$WORK/rb-$p"
		t=$(date +%s%N)
		code=$(curl -s --max-time $((${HTTP_TO:-10} + 10)) -D "$WORK/rh-$p" -o "$WORK/rb-$p" -w '%{http_code}' \
			-X POST "http://127.0.0.1:${C_PORT[$c]}/v1/register" -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' -d "{\"guid\":\"$p-$i\",\"hostname\":\"r$p$i\"}" || true)
		ra=$(grep -i '^Retry-After:' "$WORK/rh-$p" 2>/dev/null | tr -d '\r' | awk '{print $2}')
		key=$(jq -r '.key // "-"' "$WORK/rb-$p" 2>/dev/null || echo -)
		echo "$code ${ra:--} ${key:--} $p-$i $t $(jq -r '.error // empty' "$WORK/rb-$p" 2>/dev/null | tr ' ' _ | cut -c1-60)" >>"$WORK/regs-$p"
		sleep 0.1
	done
}
# regs_start C:PREFIX ...: a reg_loop for each in the background (REG_PIDS);
# regs_stop ends them.
regs_start() {
	local a
	rm -f "$WORK/reg.stop"
	REG_PIDS=()
	for a; do reg_loop "${a%%:*}" "${a#*:}" & REG_PIDS+=($!); BG_PIDS+=($!); done
}
regs_stop() { touch "$WORK/reg.stop"; wait "${REG_PIDS[@]}" 2>/dev/null || true; }

# regs_kept SQL_CMD...: every registration of every reg_loop so far was
# answered 200/201 or 503 with Retry-After, and each 200/201 is stored with
# the key it was given. Leaves $WORK/answered ("guid key" of each 200/201,
# sorted) for memory_is_store; prints "total answered refused".
# (A 503 may still leave the endpoint stored: its write committed after the
# held answer gave up; the agent's retry proves its key then, or re-keys
# it. What must never be is a 201 whose key is not stored.)
regs_kept() {
	local total n201 n503 bad lost
	cat "$WORK"/regs-* >"$WORK/regs"
	total=$(grep -c . "$WORK/regs" || true)
	n201=$(awk '$1 == 201 || $1 == 200' "$WORK/regs" | grep -c . || true)
	n503=$(awk '$1 == 503' "$WORK/regs" | grep -c . || true)
	bad=$(awk '$1 != 201 && $1 != 200 && $1 != 503' "$WORK/regs" | head -3)
	[ -z "$bad" ] || fail "registrations answered neither 200/201 nor 503: $bad" >&2
	bad=$(awk '$1 == 503 && $2 !~ /^[0-9]+$/' "$WORK/regs" | head -3)
	[ -z "$bad" ] || fail "503 without Retry-After: $bad" >&2
	awk '$1 == 201 || $1 == 200 {print $4, $3}' "$WORK/regs" | sort >"$WORK/answered"
	"$@" "SELECT guid || ' ' || encode(key, 'hex') FROM endpoints" | sort >"$WORK/stored-keys"
	lost=$(comm -23 "$WORK/answered" "$WORK/stored-keys" | head -3)
	[ -z "$lost" ] || fail "answered 200/201 but not stored with that key (guid, key answered): $lost" >&2
	echo "$total $n201 $n503"
}

# memory_is_store C SQL_CMD...: collector C's memory (its export) is the
# store's endpoints exactly (guid, id, slot, key), so every registration in
# $WORK/answered is in it with its key. Waits up to 5 s for the count.
memory_is_store() {
	local c=$1 stored got diff lost; shift
	stored=$("$@" "SELECT count(*) FROM endpoints")
	use "$c"
	for _ in $(seq 50); do got=$(field .clients show status); [ "$got" = "$stored" ] && break; sleep 0.1; done
	[ "$got" = "$stored" ] || fail "collector $c holds $got endpoints, the store $stored" >&2
	"$@" "SELECT guid || ' ' || lpad(to_hex(id), 16, '0') || ' ' || slot || ' ' || encode(key, 'hex') FROM endpoints" |
		sort >"$WORK/store-all"
	rm -f "$WORK/export-$c.jsonl"
	ctl export "$WORK/export-$c.jsonl" >/dev/null
	for _ in $(seq 100); do [ "$(ctlj show bulk | jq -r .export.running)" = false ] && break; sleep 0.1; done
	jq -r '"\(.guid) \(.id) \(.slot) \(.key)"' "$WORK/export-$c.jsonl" | sort >"$WORK/mem-$c"
	diff=$(diff "$WORK/store-all" "$WORK/mem-$c" | head -4)
	[ -z "$diff" ] || fail "$c's memory (its export) differs from the store (< store, > memory): $diff" >&2
	lost=$(comm -23 "$WORK/answered" <(awk '{print $1, $4}' "$WORK/mem-$c" | sort) | head -3)
	[ -z "$lost" ] || fail "answered 200/201, not in $c's memory with that key: $lost" >&2
	echo "$stored"
}

# policy_across FROM TO NAME VALUE SQL_CMD...: `set NAME VALUE` on collector
# FROM is one new revision, in the store's policy row, and in force on TO
# within 2 s. Prints the ms it took.
policy_across() {
	local from=$1 to=$2 name=$3 value=$4 rev0 rev out took got; shift 4
	use "$from"
	rev0=$(field .settings_rev show settings)
	out=$(ctl set "$name" "$value" 2>&1) || fail "set $name $value on $from: $out" >&2
	rev=$(field .settings_rev show settings)
	[ "$rev" = $((rev0 + 1)) ] || fail "set on $from: revision $rev0 -> $rev, want $((rev0 + 1))" >&2
	local t0; t0=$(date +%s%N)
	use "$to"
	for _ in $(seq 40); do [ "$(field .settings_rev show settings)" = "$rev" ] && break; sleep 0.05; done
	took=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$(field .settings_rev show settings)" = "$rev" ] || fail "$to did not reach $from's revision $rev in $took ms" >&2
	[ $took -le 2000 ] || fail "$to took $took ms for the set on $from, over 2 s" >&2
	got=$(ctlj show settings | jq -r --arg n "$name" '.settings[] | select(.name == $n) | .value')
	[ "$got" = "$value" ] || fail "show settings on $to: $name $got, not $value" >&2
	[ "$("$@" "SELECT rev FROM policy")" = "$rev" ] || fail "the policy row is not at revision $rev" >&2
	echo "$took"
}

# fleet_offlines ALL PHASE N T_S BOUND SQL_CMD...: after a fault. ALL is an
# SQL predicate on endpoints `e` for every loadgen endpoint silenced so far,
# PHASE for the N of them that fell silent at T_S (date +%s%N). Waits until
# those N are offline (up to BOUND ms + 1 s after T_S); then no loadgen
# endpoint (guid lg-...) outside ALL ever went offline or shut down (the
# transitions) and all are online; each of PHASE went offline once for
# lack of contact (reason 4), no sooner than offline_after ($OFF) - 1 s
# and within BOUND. Prints "lo hi": the seconds after T_S.
fleet_offlines() {
	local all=$1 phase=$2 n=$3 t_s=$4 bound=$5 false_off not_on n_off n_ids lo hi ts_s; shift 5
	ts_s=$((t_s / 1000000000))
	for _ in $(seq $(( (bound + 1000) / 100 ))); do
		[ "$("$@" "SELECT count(*) FROM endpoints e WHERE $phase AND status = 1")" = "$n" ] && break
		[ $(( ($(date +%s%N) - t_s) / 1000000 )) -gt $((bound + 1000)) ] && break
		sleep 0.1
	done
	false_off=$("$@" "SELECT DISTINCT e.guid FROM transitions t JOIN endpoints e ON e.id = t.id
		WHERE t.new_status IN (1, 3) AND e.guid LIKE 'lg-%' AND NOT $all LIMIT 3")
	if [ -n "$false_off" ]; then
		echo "their transitions (guid seq s-after-silence old new reason): $("$@" "SELECT e.guid, t.seq,
			t.time - $ts_s, t.old_status, t.new_status, t.reason FROM transitions t JOIN endpoints e ON e.id = t.id
			WHERE e.guid IN ($(sed "s/.*/'&'/" <<<"$false_off" | paste -sd,)) ORDER BY t.seq" | tr '\n' ' ')" >&2
		grep -h "decid\|epoch\|caught up\|R9\|grace" "$WORK/a.log" "$WORK/b.log" | tail -n 20 >&2
		fail "endpoints outside the silent set went offline: $false_off" >&2
	fi
	not_on=$("$@" "SELECT count(*) FROM endpoints e WHERE e.guid LIKE 'lg-%' AND NOT $all AND status <> 0")
	[ "$not_on" = 0 ] || fail "$not_on endpoints outside the silent set are not online" >&2
	read -r n_off n_ids lo hi < <("$@" "SELECT count(*), count(DISTINCT t.id), coalesce(min(t.time) - $ts_s, -1),
		coalesce(max(t.time) - $ts_s, -1) FROM transitions t JOIN endpoints e ON e.id = t.id
		WHERE t.new_status = 1 AND t.reason = 4 AND $phase" | tr '|' ' ')
	[ "$n_off $n_ids" = "$n $n" ] ||
		fail "$n_off offline transitions of $n_ids silent endpoints (want each of the $n once), $(( ($(date +%s%N) - t_s) / 1000000 )) ms after they fell silent" >&2
	[ $((hi * 1000)) -le $((bound + 1000)) ] || fail "a silent endpoint went offline $hi s after it fell silent, over the bound $bound ms" >&2
	[ "$lo" -ge $((OFF - 1)) ] || fail "a silent endpoint went offline $lo s after it fell silent, before offline_after" >&2
	echo "$lo $hi"
}
