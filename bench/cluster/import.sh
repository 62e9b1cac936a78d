#!/usr/bin/env bash
# The store writer's put rate on a cluster store, as root:
#
#   sudo bench/cluster/import.sh                 (N=50000, REG=20000: ~2 min)
#   sudo BUILD=build-other N=100000 bench/cluster/import.sh
#
# A throwaway PostgreSQL 15 (tests/integration/lib.sh's pg_setup, but with
# fsync $FSYNC and synchronous_commit on, as bench/cluster/run.sh) and one
# glournetd on it as a cluster collector (--collector-name: the change feed
# and the guid guard of every put, store_pg.c), on a veth lab. Then:
#   1. glournetctl import of N endpoints (JSON lines): rows/s from the
#      command until every row is committed (the store's queue empty and N
#      rows in the table);
#   2. glournet-loadgen --register of REG new endpoints over HTTP
#      (--concurrency CONC): the loadgen's registrations/s (each answered
#      after its commit).
# Prints one line each; everything it started is stopped and removed.
# Environment: BUILD (build), N (50000), REG (20000), CONC (64), FSYNC (on).
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
N=${N:-50000}
REG=${REG:-20000}
CONC=${CONC:-64}
FSYNC=${FSYNC:-on}
LOADGEN=$BUILD/tools/glournet-loadgen
. "$SRC/tests/integration/lib.sh"
command -v jq >/dev/null || fail "jq is needed"
PG=$(mktemp -d /tmp/gn-import-bench.XXXXXX)
PGPW=pw-$$-bench
PGPORT=$(port_pick $((HTTP_PORT + 5)) 1) || fail "no free port for PostgreSQL"
trap 'rc=$?; stop_daemon_quiet; pg_teardown; set +e; (exit $rc); cleanup' EXIT
stop_daemon_quiet() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null && { kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; }; DAEMON_PID=; }
# lib.sh's, with fsync and without the statement log.
pg_start() {
	runuser -u "$PGOS" -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/pg.log" -w -t 30 \
		-o "-k $PG/sock -p $PGPORT -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c synchronous_commit=on -c shared_buffers=512MB -c max_wal_size=4GB -c log_statement=none" start >/dev/null ||
		fail "pg_ctl start"
}
now_ms() { date +%s%3N; }

pg_setup
URL="postgresql://gn:$PGPW@127.0.0.1:$PGPORT/glournet"
start_daemon --store "$URL" --collector-name bench-a --lease 10s --register-rate 0 \
	--set guard.threshold=0
for _ in $(seq 100); do [ "$(sql "SELECT holder FROM decider" 2>/dev/null)" = bench-a ] && break; sleep 0.1; done

python3 - "$WORK/import.jsonl" "$N" <<'PY'
import sys
path, total = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("".join('{"guid":"imp-%09d","hostname":"host-%d"}\n' % (i, i) for i in range(total)))
PY
t0=$(now_ms)
ctl import "$WORK/import.jsonl" >/dev/null
for _ in $(seq 36000); do [ "$(ctlj show bulk | jq -r .import.running)" = false ] && break; sleep 0.05; done
[ "$(ctlj show bulk | jq -r .import.refused)" = 0 ] || fail "import refused lines: $(ctlj show bulk | jq -c .import)"
for _ in $(seq 36000); do
	[ "$(ctlj show status | jq -r '.store.queue_len // 0')" = 0 ] && [ "$(sql "SELECT count(*) FROM endpoints")" = "$N" ] && break
	sleep 0.05
done
t1=$(now_ms)
got=$(sql "SELECT count(*) FROM endpoints")
[ "$got" = "$N" ] || fail "$got rows stored, want $N"
chg=$(sql "SELECT count(*) FROM endpoint_changes")
echo "import: $N rows committed in $(awk -v a=$((t1 - t0)) 'BEGIN { printf "%.1f", a / 1000 }') s: $(( N * 1000 / (t1 - t0) )) rows/s ($chg change rows)"

out=$("$LOADGEN" --register "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count "$REG" \
	--concurrency "$CONC" --guid-prefix reg --register-only 2>&1) || fail "loadgen: $out"
echo "register: $(grep -o 'registered.*' <<<"$out" | tail -1)"
[ "$(sql "SELECT count(*) FROM endpoints")" = $((N + REG)) ] || fail "$(sql "SELECT count(*) FROM endpoints") rows after the registrations, want $((N + REG))"
stop_daemon_quiet
