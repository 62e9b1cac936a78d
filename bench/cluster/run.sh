#!/usr/bin/env bash
# Two collectors on one PostgreSQL (issue 16, "Benchmark"), as root:
#
#   sudo bench/cluster/run.sh                    (N=10000000: ~20 min here)
#   sudo N=100000 WINDOW=30 bench/cluster/run.sh (~3 min)
#
# A throwaway PostgreSQL 15 (initdb in $WORK, fsync $FSYNC, synchronous_commit
# on, no standby) and two glournetd, A and B, each on a veth lab of its own
# (tools/lab-net.sh; net_af_packet on the host end, glournet-loadgen's kernel
# sockets in the lab's namespace), heartbeat.interval $INTERVAL s. In order:
#   1. A starts on the empty store (the tables, its first slot block) and
#      stops; the N endpoints go into the store online, as if last heard 5
#      minutes ago (the table vacuumed), so that the windows below are the
#      steady state of a fleet already online: no first-contact transitions.
#      LOAD=import (the default up to 100,000): glournetctl import of a
#      JSON-lines file, then an SQL UPDATE to online; LOAD=sql (above): the
#      rows an import makes (slots in A's blocks, guid, id, key) by one
#      INSERT ... SELECT, faster still than the import (~16-21 k rows a
#      second on a cluster store, bench/cluster/import.sh, docs/PERFORMANCE.md);
#   2. A starts with N in the store: time until its control socket answers,
#      until it holds N, until it decides; then exports them (ids, slots,
#      keys: the loadgen's credentials, a half for each collector);
#   3. baseline, one collector: every endpoint heartbeats to A once per
#      INTERVAL (N / INTERVAL a second, random phases); over WINDOW seconds
#      after WARMUP: rows written a second (pg_stat_user_tables, per table),
#      commits, WAL bytes and full-page images a second (pg_current_wal_lsn,
#      pg_stat_wal), the CPU of every PostgreSQL process (/proc/PID/stat
#      utime+stime, the postmaster's reaped children included) and of A;
#   4. B starts with N in the store (A still decides): until its socket
#      answers, it holds N, and its change cursor has reached the head taken
#      before it started and its transition stream is caught up;
#   5. two collectors: half the endpoints heartbeat to A, half to B (the
#      same total rate): the same figures, B's CPU, and sampled every
#      second the contact feed's lag on the decider (show cluster
#      feed.lag_s), B's change feed lag (changes.lag_s) and stream lag;
#   6. kill -9 of the decider A (heartbeats still flowing): until B decides
#      (show cluster .deciding) and until its gated jobs run (its log's
#      "transition stream caught up ... deciding");
#   7. A restarted after its kill -9 (B decides): until socket, N, caught up;
#   8. kill -9 of the decider B: until A decides, and until its jobs run.
# Prints a table (also $BUILD/bench/cluster/results.md); every phase is
# bounded in time; everything it started is stopped and removed at the end
# (postgres, glournetd, loadgens, the labs, the hugepages reserved).
#
# Environment: BUILD, N (10000000), LOAD (import|sql), INTERVAL (heartbeat interval, s, 600),
# WINDOW (s, 60), WARMUP (s, 15), LEASE (s, 10), FSYNC (on|off, on),
# PG_SHARED_BUFFERS (2GB), HUGE (1: the slot tables on 2 MiB pages), KEEP=1
# keeps $WORK (the database, the files, the logs).
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
N=${N:-10000000}
INTERVAL=${INTERVAL:-600}
WINDOW=${WINDOW:-60}
WARMUP=${WARMUP:-15}
LEASE=${LEASE:-10}
FSYNC=${FSYNC:-on}
LOAD=${LOAD:-$([ "$N" -le 100000 ] && echo import || echo sql)}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-2GB}
KEEP=${KEEP:-0}
OUT=$BUILD/bench/cluster
GLOURNETD=$BUILD/control/glournetd
CTL=$BUILD/tools/glournetctl
LOADGEN=$BUILD/tools/glournet-loadgen
PGBIN=/usr/lib/postgresql/15/bin

die() { echo "bench/cluster: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (netns, the DPDK ports, hugepages)"
for v in N INTERVAL WINDOW WARMUP LEASE; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number"; done
[[ $FSYNC =~ ^(on|off)$ ]] || die "FSYNC is on or off"
[[ $LOAD =~ ^(import|sql)$ ]] || die "LOAD is import or sql"
command -v jq >/dev/null || die "jq is needed"
[ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 is needed (tools/setup-deps.sh: postgresql-15)"
[ -x "$GLOURNETD" ] && [ -x "$LOADGEN" ] || die "build first: meson setup $BUILD && ninja -C $BUILD"
. "$SRC/tools/lab-net.sh"

WORK=$(mktemp -d /tmp/gn-cluster.XXXXXX)
chmod 711 "$WORK"
PG=$WORK/pg
PGOS=postgres
id "$PGOS" >/dev/null 2>&1 || PGOS=nobody
PGPW=bench-$$-pw
free_port() {   # the first port from $1 up with nothing on it and the next two
	local p=$1
	while [ -n "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2)) )")" ]; do p=$((p + 3)); done
	echo $p
}
declare -A TAGS PORTS PIDS LG
TAGS[a]=fb$(($$ % 1000))a TAGS[b]=fb$(($$ % 1000))b
PORTS[a]=$(free_port $((30000 + $$ % 20000)))
PORTS[b]=$(free_port $((PORTS[a] + 3)))
PGPORT=$(free_port $((PORTS[b] + 3)))
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
TOKEN=cluster-$$
mkdir -p "$OUT"

# Two slot tables' chunks on 2 MiB pages (as bench/scale), given back at the end.
HP_SYS=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $HP_SYS)
HP_SET=
if [ "${HUGE:-1}" = 1 ]; then
	echo $(( HP_ORIG + 2 * ((N + 65535) / 65536 * 2 + 8) )) >$HP_SYS 2>/dev/null && HP_SET=1
fi
cleanup() {
	set +e
	for c in a b; do
		[ -n "${LG[$c]:-}" ] && kill -KILL "${LG[$c]}" 2>/dev/null
		if [ -n "${PIDS[$c]:-}" ] && kill -0 "${PIDS[$c]}" 2>/dev/null; then
			kill -TERM "${PIDS[$c]}"
			for _ in $(seq 100); do kill -0 "${PIDS[$c]}" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "${PIDS[$c]}" 2>/dev/null
		fi
		lab_down "${TAGS[$c]}"
	done
	wait 2>/dev/null
	if [ -f "$PG/data/postmaster.pid" ]; then
		runuser -u "$PGOS" -- "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop >/dev/null 2>&1
	fi
	[ -n "$HP_SET" ] && echo "$HP_ORIG" >$HP_SYS
	if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? a / b : 0 }'; }
rate() { awk -v a="$1" -v ms="$2" -v k="${3:-1}" 'BEGIN { printf "%.1f", ms ? a * 1000 / ms / k : 0 }'; }   # COUNT MS [UNIT]: a second
ctlj() { "$CTL" -s "$WORK/$1.sock" -j "${@:2}"; }
sql() { psql -h "$PG/sock" -p "$PGPORT" -U gn -d glournet -XAtqc "$1"; }
# CPU ticks (utime + stime) of one process; with "all": its reaped children too.
ticks() { awk -v all="${2:-}" '{ sub(/^.*\) /, ""); t = $12 + $13; if (all) t += $14 + $15; print t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
# Every PostgreSQL process: the postmaster (with the children it reaped) and those alive.
pg_ticks() {
	local pm t p
	pm=$(head -1 "$PG/data/postmaster.pid")
	t=$(ticks "$pm" all)
	for p in $(pgrep -P "$pm"); do t=$((t + $(ticks "$p"))); done
	echo $t
}

# ---- PostgreSQL
mkdir -p "$PG/sock"
printf '%s\n' "$PGPW" >"$PG/pw"
chown -R "$PGOS" "$PG"
runuser -u "$PGOS" -- "$PGBIN/initdb" -D "$PG/data" -U gn --pwfile="$PG/pw" --auth-local=trust \
	--auth-host=scram-sha-256 --no-sync >"$PG/initdb.log" 2>&1 || die "initdb: $(tail -3 "$PG/initdb.log")"
runuser -u "$PGOS" -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/pg.log" -w -t 60 -o "-k $PG/sock -p $PGPORT \
-c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c synchronous_commit=on -c shared_buffers=$PG_SHARED_BUFFERS \
-c max_wal_size=8GB -c log_statement=none -c log_min_duration_statement=-1" start >/dev/null || die "pg_ctl start: $(tail -5 "$PG/pg.log")"
psql -h "$PG/sock" -p "$PGPORT" -U gn -d postgres -XAtqc "CREATE DATABASE glournet" >/dev/null
echo "bench/cluster: N=$N, interval ${INTERVAL}s, PostgreSQL on :$PGPORT (fsync $FSYNC), work in $WORK"

# ---- the collectors
for c in a b; do lab_up "${TAGS[$c]}"; lab_neigh "${TAGS[$c]}"; done
# A's control thread on CPU 0 and its worker on CPU 1, B's the other way round.
declare -A MAIN_LCORE=([a]=0 [b]=1)
start_gn() {   # start_gn a|b: on its lab, its own state dir and log
	local c=$1
	mkdir -p "$WORK/state-$c"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:${PORTS[$c]}" --ctl-socket "$WORK/$c.sock" \
		--state-dir "$WORK/state-$c" --store "$URL" --collector-name "bench-$c" --lease "${LEASE}s" \
		--hb-addr "$LAB_COLLECTOR4" --idle-sleep-us 1000 --register-rate 0 --exception-iface "gnx-${TAGS[$c]}" \
		--set heartbeat.interval="${INTERVAL}s" --set heartbeat.offline_after="$((3 * INTERVAL))s" \
		--set guard.threshold=0 \
		-- -l 0,1 --main-lcore "${MAIN_LCORE[$c]}" --no-huge --no-shconf -m 256 --file-prefix "gn-${TAGS[$c]}" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "${TAGS[$c]}")" --log-level=lib.eal:warning \
		>>"$WORK/$c.log" 2>&1 &
	PIDS[$c]=$!
}
# up C WANT HEAD [decide]: starts C and sets W (socket, loaded, caught,
# decides) in ms from the start: its control socket answers; it holds WANT
# endpoints; its change cursor is at HEAD or beyond, its change feed found
# the end and its transition stream is not catching up; it decides (waited
# for with "decide"; "-" when not seen). Bounded: 900 s. Not in a subshell:
# the daemon is this shell's child.
up() {
	local c=$1 want=$2 head=$3 t0 sock=- loaded=- caught=- decides=- now cl st
	t0=$(now_ms)
	start_gn "$c"
	for _ in $(seq 18000); do
		kill -0 "${PIDS[$c]}" 2>/dev/null || die "glournetd $c died: $(tail -n 5 "$WORK/$c.log")"
		now=$(( $(now_ms) - t0 ))
		if [ "$sock" = - ]; then st=$(ctlj "$c" show status 2>/dev/null) && sock=$now || { sleep 0.05; continue; }
		else st=$(ctlj "$c" show status 2>/dev/null) || st='{}'; fi
		[ "$loaded" = - ] && [ "$(jq -r .clients <<<"$st")" = "$want" ] && loaded=$now
		cl=$(ctlj "$c" show cluster 2>/dev/null) || cl='{}'
		[ "$caught" = - ] && [ "$loaded" != - ] && jq -e --argjson h "$head" \
			'.changes.cursor >= $h and .changes.lag_s >= 0 and (.stream.catching_up | not) and .stream.lag == 0' <<<"$cl" >/dev/null && caught=$now
		[ "$decides" = - ] && [ "$(jq -r .deciding <<<"$cl")" = true ] && decides=$now
		[ "$caught" != - ] && { [ "$decides" != - ] || [ "${4:-}" != decide ]; } && break
		sleep 0.05
	done
	[ "$caught" != - ] || die "glournetd $c not caught up in 900 s: $(ctlj "$c" show cluster | jq -c '{changes, stream}')"
	W=("$sock" "$loaded" "$caught" "$decides")
}
stop_gn() { kill -TERM "${PIDS[$1]}"; wait "${PIDS[$1]}" || die "glournetd $1 failed on SIGTERM"; PIDS[$1]=; }
changes_head() { sql "SELECT last FROM sequences WHERE name = 'changes'"; }

declare -A R
# ---- 1. the endpoints into the store
up a 0 0 decide   # the tables, and A's first slot block
if [ "$LOAD" = import ]; then
	python3 - "$WORK/import.jsonl" "$N" <<'PY'
import sys
path, total = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for s in range(0, total, 100000):
        f.write("".join('{"guid":"fleet-%09d","hostname":"host-%d"}\n' % (i, i)
                        for i in range(s, min(total, s + 100000))))
PY
	t0=$(now_ms)
	"$CTL" -s "$WORK/a.sock" import "$WORK/import.jsonl" >/dev/null
	for _ in $(seq 72000); do [ "$(ctlj a show bulk | jq -r .import.running)" = false ] && break; sleep 0.1; done
	[ "$(ctlj a show bulk | jq -r .import.refused)" = 0 ] || die "import refused lines: $(ctlj a show bulk | jq -c .import)"
	for _ in $(seq 72000); do   # every row committed
		[ "$(ctlj a show status | jq -r '.store.queue_len // 0')" = 0 ] && [ "$(sql "SELECT count(*) FROM endpoints")" = "$N" ] && break
		sleep 0.1
	done
	t1=$(now_ms)
	[ "$(sql "SELECT count(*) FROM endpoints")" = "$N" ] || die "$(sql "SELECT count(*) FROM endpoints") rows stored, want $N"
	R[imp_s]=$(div $((t1 - t0)) 1000); R[imp_rate]=$(( N * 1000 / (t1 - t0) ))
	R[load]="import $N (glournetctl import, JSON lines), every row committed: ${R[imp_s]} s (${R[imp_rate]}/s)"
	stop_gn a
	t0=$(now_ms)
	sql "UPDATE endpoints SET status = 0, reason = 1, down_at = 0,
		last_heartbeat = extract(epoch FROM now())::int8 - 300, status_since = extract(epoch FROM now())::int8 - 300" >/dev/null
else
	# The rows an import makes (slots in A's blocks, a guid, an id, a key),
	# already online, written by one INSERT ... SELECT.
	stop_gn a
	t0=$(now_ms)
	sql "INSERT INTO slot_blocks SELECT b, 'bench-a' FROM generate_series(0, $(( (N - 1) >> 16 ))) b ON CONFLICT DO NOTHING" >/dev/null
	sql "INSERT INTO endpoints (slot, id, guid, key, hostname, ips, notify_port, registered, last_register,
		last_ctl_contact, last_heartbeat, last_poll, down_at, status, reason, ctl_reason, status_since, notify_pending)
		SELECT i, ('x' || substr(md5('id' || i), 1, 16))::bit(64)::int8, 'fleet-' || lpad(i::text, 9, '0'),
		decode(md5('key' || i), 'hex'), 'host-' || i, '', 0, t, t, 0, t - 300, 0, 0, 0, 1, 0, t - 300, 0
		FROM generate_series(0, $((N - 1))) i, (SELECT extract(epoch FROM now())::int8 AS t) n" >/dev/null
	t1=$(now_ms)
	R[load]="$N rows by one SQL INSERT ... SELECT (LOAD=sql; the import's rate on PostgreSQL: see the doc): $(div $((t1 - t0)) 1000) s"
	[ "$(sql "SELECT count(DISTINCT id) FROM endpoints")" = "$N" ] || die "ids not unique"
fi
sql "VACUUM (ANALYZE) endpoints" >/dev/null
R[online_s]=$(div $(( $(now_ms) - t0 )) 1000)
R[db_mb]=$(( $(sql "SELECT pg_database_size('glournet')") / 1048576 ))
echo "${R[load]}; online and vacuumed after ${R[online_s]} s; database ${R[db_mb]} MiB"

# ---- 2. A with N in the store
up a "$N" "$(changes_head)" decide
R[a_sock]=${W[0]} R[a_loaded]=${W[1]} R[a_caught]=${W[2]} R[a_decides]=${W[3]}
[ "$(ctlj a show status | jq -r .online)" = "$N" ] || die "A: $(ctlj a show status | jq -c '{clients, online, offline}') (want all online)"
echo "A started: socket ${R[a_sock]} ms, $N loaded ${R[a_loaded]} ms, caught up ${R[a_caught]} ms, decides ${R[a_decides]} ms"
# The loadgen's credentials (ids, slots, keys), halves for A and B.
t0=$(now_ms)
"$CTL" -s "$WORK/a.sock" export "$WORK/eps.jsonl" >/dev/null
for _ in $(seq 36000); do [ "$(ctlj a show bulk | jq -r .export.running)" = false ] && break; sleep 0.1; done
[ "$(wc -l <"$WORK/eps.jsonl")" = "$N" ] || die "export: $(wc -l <"$WORK/eps.jsonl") lines, want $N"
split -n l/2 -d "$WORK/eps.jsonl" "$WORK/half-"   # half-00 heartbeats to A, half-01 to B
R[export_s]=$(div $(( $(now_ms) - t0 )) 1000)

# ---- heartbeats and the measured window
# lg C FILE: glournet-loadgen in C's lab, every endpoint of FILE once per INTERVAL.
lg() {
	ip netns exec "$(lab_ns "${TAGS[$1]}")" "$LOADGEN" --endpoints "$2" --to "$LAB_COLLECTOR4" \
		--interval "${INTERVAL}s" --duration 3600s --seed "$RANDOM" -q --json >"$WORK/lg-$1-$3.json" 2>&1 &
	LG[$1]=$!
}
lg_stop() {
	if [ -n "${LG[$1]:-}" ]; then kill -INT "${LG[$1]}" 2>/dev/null || true; wait "${LG[$1]}" 2>/dev/null || true; LG[$1]=; fi
}
accepted() { local v; v=$(ctlj "$1" show stats 2>/dev/null | jq -r .total.accepted) || v=; echo "${v:-0}"; }
# Waits until C has accepted heartbeats (the loadgen read its file and sends).
lg_flowing() {
	local a0; a0=$(accepted "$1")
	for _ in $(seq 1200); do [ "$(accepted "$1")" -gt "$a0" ] && return; sleep 0.1; done
	die "no heartbeats reach $1 in 120 s: $(cat "$WORK/lg-$1-"*.json | tail -3)"
}
# snap: one line of counters (ms, wal lsn, rows, commits, fpi, records, pg ticks, ticks and accepted of A and B).
snap() {
	local q ta=0 tb=0 aa=0 ab=0
	q=$(sql "SELECT (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables),
		(SELECT xact_commit FROM pg_stat_database WHERE datname = 'glournet'),
		pg_current_wal_lsn(), wal_fpi, wal_records FROM pg_stat_wal" | tr '|' ' ')
	[ -n "${PIDS[a]:-}" ] && { ta=$(ticks "${PIDS[a]}"); aa=$(accepted a); }
	[ -n "${PIDS[b]:-}" ] && { tb=$(ticks "${PIDS[b]}"); ab=$(accepted b); }
	echo "$(now_ms) $q $(pg_ticks) $ta $tb $aa $ab"
}
tables() { sql "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables ORDER BY relname COLLATE \"C\"" | tr '|' ' '; }
# window P: WINDOW seconds of counters into R[P_*]; lags sampled each second.
window() {
	local p=$1 t0 t1 r0 r1 c0 c1 l0 l1 f0 f1 w0 w1 g0 g1 a0 a1 b0 b1 ha0 ha1 hb0 hb1 dt
	# Each window starts with a checkpoint, so both have as many full-page
	# images as the first WINDOW s after any checkpoint (the worst of a
	# checkpoint_timeout cycle; its average has fewer).
	sql "CHECKPOINT" >/dev/null
	sleep "$WARMUP"
	tables >"$WORK/tables0-$p"
	read -r t0 r0 c0 l0 f0 w0 g0 a0 b0 ha0 hb0 < <(snap)
	: >"$WORK/lags-$p"
	for _ in $(seq "$WINDOW"); do
		sleep 1
		{ ctlj a show cluster 2>/dev/null || echo '{}'; } | jq -r '"feed \(.feed.lag_s // -1)"' >>"$WORK/lags-$p"
		if [ -n "${PIDS[b]:-}" ]; then
			{ ctlj b show cluster 2>/dev/null || echo '{}'; } |
				jq -r '"changes \(.changes.lag_s // -1)", "stream \(.stream.lag // -1)", "streamage \(.stream.read_age_s // -1)"' >>"$WORK/lags-$p"
		fi
	done
	read -r t1 r1 c1 l1 f1 w1 g1 a1 b1 ha1 hb1 < <(snap)
	tables >"$WORK/tables1-$p"
	dt=$((t1 - t0))
	R[${p}_hb]=$(rate $(( (ha1 - ha0) + (hb1 - hb0) )) $dt)
	R[${p}_hba]=$(rate $((ha1 - ha0)) $dt); R[${p}_hbb]=$(rate $((hb1 - hb0)) $dt)
	R[${p}_rows]=$(rate $((r1 - r0)) $dt)
	R[${p}_commits]=$(rate $((c1 - c0)) $dt)
	R[${p}_wal]=$(rate "$(sql "SELECT pg_wal_lsn_diff('$l1', '$l0')")" $dt 1024)   # KiB/s
	R[${p}_fpi]=$(rate $((f1 - f0)) $dt); R[${p}_recs]=$(rate $((w1 - w0)) $dt)
	R[${p}_pgcpu]=$(rate $(( (g1 - g0) * 100 )) $dt "$HZ")    # % of one core
	R[${p}_acpu]=$(rate $(( (a1 - a0) * 100 )) $dt "$HZ"); R[${p}_bcpu]=$(rate $(( (b1 - b0) * 100 )) $dt "$HZ")
	# Rows a second per table (those that moved).
	R[${p}_tables]=$(LC_ALL=C join "$WORK/tables0-$p" "$WORK/tables1-$p" | awk -v dt="$dt" '{
		i = $5 - $2; u = $6 - $3; d = $7 - $4
		if (i + u + d) printf "%s%s %.1f (ins %.1f, upd %.1f, del %.1f)", sep, $1, (i + u + d) * 1000 / dt, i * 1000 / dt, u * 1000 / dt, d * 1000 / dt
		if (i + u + d) sep = "; " }')
	lagstat() { awk -v k="$1" '$1 == k && $2 >= 0 { n++; s += $2; if ($2 > m) m = $2 } END { if (n) printf "%.2f / %.2f", s / n, m; else printf "n/a" }' "$WORK/lags-$p"; }
	R[${p}_feed]=$(lagstat feed); R[${p}_changes]=$(lagstat changes)
	R[${p}_stream]=$(lagstat stream); R[${p}_streamage]=$(lagstat streamage)
}

# ---- 3. one collector
lg a "$WORK/eps.jsonl" one
lg_flowing a
window one
lg_stop a
echo "one collector: ${R[one_hb]} heartbeats/s, ${R[one_rows]} rows/s, ${R[one_wal]} KiB/s WAL, postgres ${R[one_pgcpu]} % CPU, A ${R[one_acpu]} %"
# The checkpointed contacts are recent (the units of last_heartbeat are what the SQL above assumed).
age=$(sql "SELECT extract(epoch FROM now())::int8 - max(last_heartbeat) FROM endpoints")
[ "$age" -lt 120 ] || die "the newest last_heartbeat in the store is $age s old"

# ---- 4. B joins
up b "$N" "$(changes_head)"
R[b_sock]=${W[0]} R[b_loaded]=${W[1]} R[b_caught]=${W[2]}
echo "B started: socket ${R[b_sock]} ms, $N loaded ${R[b_loaded]} ms, caught up ${R[b_caught]} ms"

# ---- 5. two collectors
lg a "$WORK/half-00" two; lg b "$WORK/half-01" two
lg_flowing a; lg_flowing b
window two
echo "two collectors: ${R[two_hb]} heartbeats/s, ${R[two_rows]} rows/s, ${R[two_wal]} KiB/s WAL, postgres ${R[two_pgcpu]} % CPU, A ${R[two_acpu]} %, B ${R[two_bcpu]} %; feed lag ${R[two_feed]} s"
R[rss_a]=$(( $(awk '/^VmRSS/ {print $2}' "/proc/${PIDS[a]}/status") / 1024 ))
R[rss_b]=$(( $(awk '/^VmRSS/ {print $2}' "/proc/${PIDS[b]}/status") / 1024 ))

# ---- 6..8. kill -9 of the decider, the restart, the other way round
# failover DEAD SURVIVOR: sets F (decides, jobs run) in ms after the kill -9.
failover() {
	local dead=$1 live=$2 t0 dec=- jobs=- n0 now
	n0=$(grep -c 'transition stream caught up' "$WORK/$live.log" || true)
	kill -KILL "${PIDS[$dead]}"; t0=$(now_ms); wait "${PIDS[$dead]}" 2>/dev/null || true; PIDS[$dead]=
	for _ in $(seq 1200); do
		now=$(( $(now_ms) - t0 ))
		[ "$dec" = - ] && [ "$(ctlj "$live" show cluster | jq -r .deciding)" = true ] && dec=$now
		[ "$jobs" = - ] && [ "$(grep -c 'transition stream caught up' "$WORK/$live.log" || true)" -gt "$n0" ] && jobs=$now
		[ "$dec" != - ] && [ "$jobs" != - ] && break
		sleep 0.05
	done
	F=("$dec" "$jobs")
}
failover a b; R[fo1_dec]=${F[0]} R[fo1_jobs]=${F[1]}
echo "kill -9 of A: B decides after ${R[fo1_dec]} ms, its jobs run after ${R[fo1_jobs]} ms"
lg_stop a
up a "$N" "$(changes_head)"
R[a2_sock]=${W[0]} R[a2_loaded]=${W[1]} R[a2_caught]=${W[2]}
echo "A restarted: socket ${R[a2_sock]} ms, $N loaded ${R[a2_loaded]} ms, caught up ${R[a2_caught]} ms"
lg a "$WORK/half-00" three
sleep $((LEASE + 2))   # A live in the collectors table
failover b a; R[fo2_dec]=${F[0]} R[fo2_jobs]=${F[1]}
echo "kill -9 of B: A decides after ${R[fo2_dec]} ms, its jobs run after ${R[fo2_jobs]} ms"
lg_stop a; lg_stop b
R[offline]=$(ctlj a show status | jq -r .offline)
R[gaps]=$(ctlj a show cluster | jq -r .stream.gaps)

# ---- the table
row() { echo "| $1 | $2 | $3 | $4 |"; }
{
echo "## Two collectors on PostgreSQL: $N endpoints, heartbeat every ${INTERVAL} s ($(date -u +%F\ %H:%M) UTC, $(nproc) CPUs)"
echo
echo "PostgreSQL 15, fsync $FSYNC, synchronous_commit on, shared_buffers $PG_SHARED_BUFFERS, no standby; lease ${LEASE} s;"
echo "windows of $WINDOW s after $WARMUP s of heartbeats. CPU in % of one core (CPU seconds a second)."
echo
echo "| figure | two collectors | one collector (baseline, same run) | unit |"
echo "|---|---:|---:|---|"
row "heartbeats accepted (A + B)" "${R[two_hb]} (${R[two_hba]} + ${R[two_hbb]})" "${R[one_hb]}" "/s"
row "rows written (inserted + updated + deleted, every table)" "${R[two_rows]}" "${R[one_rows]}" "rows/s"
row "  by table" "${R[two_tables]}" "${R[one_tables]}" "rows/s"
row "commits (database glournet)" "${R[two_commits]}" "${R[one_commits]}" "/s"
row "WAL written" "${R[two_wal]}" "${R[one_wal]}" "KiB/s"
row "  WAL records / full-page images" "${R[two_recs]} / ${R[two_fpi]}" "${R[one_recs]} / ${R[one_fpi]}" "/s"
row "PostgreSQL CPU (every server process)" "${R[two_pgcpu]}" "${R[one_pgcpu]}" "% of a core"
row "collector A CPU (the decider: whole process, worker lcore included)" "${R[two_acpu]}" "${R[one_acpu]}" "% of a core"
row "collector B CPU" "${R[two_bcpu]}" "" "% of a core"
row "contact feed lag on the decider (show cluster feed.lag_s), mean / max" "${R[two_feed]}" "" "s"
row "change feed lag on B (changes.lag_s), mean / max" "${R[two_changes]}" "" "s"
row "transition stream lag on B (rows), mean / max; its read age" "${R[two_stream]}; ${R[two_streamage]}" "" "rows; s"
row "the store filled: ${R[load]}" "" "" ""
row "export $N (glournetctl export: the loadgen's credentials)" "${R[export_s]}" "" "s"
row "A starts with $N in the store, alone: socket / $N loaded / caught up / decides" "${R[a_sock]} / ${R[a_loaded]} / ${R[a_caught]} / ${R[a_decides]}" "" "ms"
row "B starts with $N in the store, A deciding: socket / loaded / caught up" "${R[b_sock]} / ${R[b_loaded]} / ${R[b_caught]}" "" "ms"
row "A restarts after its kill -9, B deciding: socket / loaded / caught up" "${R[a2_sock]} / ${R[a2_loaded]} / ${R[a2_caught]}" "" "ms"
row "kill -9 of the decider A: B decides / its gated jobs run" "${R[fo1_dec]} / ${R[fo1_jobs]}" "bound: lease + lease/3 = $((LEASE * 4000 / 3))" "ms"
row "kill -9 of the decider B: A decides / its gated jobs run" "${R[fo2_dec]} / ${R[fo2_jobs]}" "" "ms"
row "resident memory A / B at $N" "${R[rss_a]} / ${R[rss_b]}" "" "MiB"
row "database size after the import" "${R[db_mb]}" "" "MiB"
row "offline at the end / stream gaps" "${R[offline]} / ${R[gaps]}" "0 / 0" ""
} | tee "$OUT/results.md"
