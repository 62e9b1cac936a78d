#!/usr/bin/env bash
# Millions of endpoints (issue #5), as root:
#
#   sudo bench/scale/run.sh            (BUILD=build; N_REG=1000000 N_TOTAL=10000000)
#
# One glournetd (control thread on CPU 0, its worker idle on a net_null port,
# state on disk under $WORK) and, on CPU 1, the clients. In order:
#   1. registers N_REG endpoints over HTTP (wrk, distinct guids, every answer
#      after its SQLite commit): time and rate;
#   2. sweeps them: CPU of one full pass and the longest slice (show stats);
#   3. imports the rest up to N_TOTAL from a JSON-lines file (the migration
#      path, glournetctl import): time and rate;
#   4. at N_TOTAL: one full sweep pass, resident memory (VmRSS, VmHWM, and the
#      registry's own bytes: entries, details, indexes, slot table);
#   5. restarts: SIGTERM (time to stop), start (time until the control socket
#      and HTTP answer with every endpoint back), then kill -9 and the same;
#   6. serves: a registration and a poll answered after the restart.
# Throughout, bench/scale/probe.py asks `show status` and sends one HTTP
# request every 50 ms and reports the longest wait of each: the "never more
# than ~10 ms" of the sweep slices and the growing indexes.
# Prints a table (also $BUILD/bench/scale/results.md); every phase is bounded
# in time; everything it made is removed at the end.
#
# Environment: BUILD, N_REG, N_TOTAL, HUGE (1: reserve the slot table's
# hugepages), CONNS (wrk connections, 256),
# REG_TIMEOUT (s, 900), KEEP=1 keeps $WORK (the store, the files) for a look.
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
N_REG=${N_REG:-1000000}
N_TOTAL=${N_TOTAL:-10000000}
CONNS=${CONNS:-256}
REG_TIMEOUT=${REG_TIMEOUT:-900}
KEEP=${KEEP:-0}
OUT=$BUILD/bench/scale
GLOURNETD=$BUILD/control/glournetd
CTL=$BUILD/tools/glournetctl
AGENT=$BUILD/tools/glournet-agent

die() { echo "bench/scale: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (the worker's DPDK port)"
[[ $N_REG =~ ^[0-9]+$ && $N_TOTAL =~ ^[0-9]+$ && $N_TOTAL -ge $N_REG ]] || die "N_REG <= N_TOTAL, numbers"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
command -v jq >/dev/null || die "jq is needed"
[ -x "$GLOURNETD" ] || die "build first: meson setup $BUILD && ninja -C $BUILD"

WORK=$(mktemp -d /tmp/gn-scale.XXXXXX)
SOCK=$WORK/ctl.sock
PORT=$((30000 + $$ % 20000))
TOKEN=scale-$$
GN_PID= PROBE_PID= WRK_PID=
mkdir -p "$OUT" "$WORK/state"

# The slot table's chunks on 2 MiB hugetlb pages (issue 15; DPDK itself runs
# --no-huge here): two pages a 64 Ki-slot chunk, reserved now, given back at
# the end. HUGE=0 leaves the pool alone (the table then says 4 KiB pages).
HP_SYS=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $HP_SYS)
HP_SET=
if [ "${HUGE:-1}" = 1 ]; then
	echo $(( HP_ORIG + (N_TOTAL + 65535) / 65536 * 2 + 4 )) >$HP_SYS 2>/dev/null && HP_SET=1
fi
cleanup() {
	for p in $WRK_PID $PROBE_PID; do kill "$p" 2>/dev/null || true; done
	if [ -n "$GN_PID" ] && kill -0 "$GN_PID" 2>/dev/null; then
		kill -TERM "$GN_PID"; sleep 3; kill -KILL "$GN_PID" 2>/dev/null || true
	fi
	[ -n "$HP_SET" ] && { echo "$HP_ORIG" >$HP_SYS 2>/dev/null || true; }
	[ "$KEEP" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }   # one decimal
ctlj() { "$CTL" -s "$SOCK" -j "$@"; }
stat_of() { ctlj show stats | jq -r "$1"; }
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$GN_PID/status"; }

start_gn() {
	taskset -c 0 "$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/state" --hb-addr 192.0.2.1 --idle-sleep-us 1000 --register-rate 0 \
		--http-max-conns-per-source 0 --set guard.threshold=0 \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-scale-$$" --no-pci \
		--vdev net_null0,no-rx=1 --log-level=lib.eal:warning >>"$WORK/daemon.log" 2>&1 &
	GN_PID=$!
}

# Milliseconds from now until the control socket and HTTP both answer and
# the daemon reports $1 clients (bounded: 600 s).
wait_serving() {
	local t0 want=$1 code
	t0=$(now_ms)
	for _ in $(seq 60000); do
		kill -0 "$GN_PID" 2>/dev/null || die "glournetd died: $(tail -n 5 "$WORK/daemon.log")"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/v1/poll" || true)
		if [ "$code" = 400 ] && [ "$(ctlj show status 2>/dev/null | jq -r .clients)" = "$want" ]; then
			echo $(( $(now_ms) - t0 )); return
		fi
		sleep 0.01
	done
	die "not serving $want clients after 600 s"
}

probe_start() { python3 "$SRC/bench/scale/probe.py" --sock "$SOCK" --http "127.0.0.1:$PORT" >"$WORK/probe-$1.json" & PROBE_PID=$!; }
# probe_stop NAME VAR: stops the probe, its JSON summary into R[VAR] (not in
# a subshell: the probe is this shell's child).
probe_stop() { kill -TERM "$PROBE_PID"; wait "$PROBE_PID" || true; PROBE_PID=; R[$2]=$(cat "$WORK/probe-$1.json")
	[ -n "${R[$2]}" ] || R[$2]='{"ctl":{"max_ms":"n/a","p99_ms":"n/a"},"http":{"max_ms":"n/a","p99_ms":"n/a"}}'; }

# Waits for a sweep pass that started after this call; prints its CPU ms.
fresh_sweep() {
	local p0; p0=$(stat_of .sweep.passes)
	for _ in $(seq 600); do
		[ "$(stat_of .sweep.passes)" -ge $((p0 + 2)) ] && { stat_of .sweep.last_pass_ms; return; }
		sleep 0.1
	done
	die "no sweep pass in 60 s"
}

declare -A R
echo "bench/scale: $N_REG registrations, then up to $N_TOTAL endpoints; work in $WORK"
start_gn
wait_serving 0 >/dev/null

# --- 1. registrations over HTTP (one source, 256 connections: the
# per-source connection limit of issue 13 is off here, as in bench/http)
cat >"$WORK/register.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local count = 0
function request()
	count = count + 1
	return wrk.format(nil, nil, nil, string.format(
		'{"guid":"reg-%09d","hostname":"host-%d","ips":["10.%d.%d.%d"],"notify_port":21112}',
		count, count, math.floor(count / 65536) % 256, math.floor(count / 256) % 256, count % 256))
end
EOF
probe_start register
t0=$(now_ms)
timeout -k 5 "$REG_TIMEOUT" taskset -c 1 wrk -t1 -c"$CONNS" -d"${REG_TIMEOUT}s" -s "$WORK/register.lua" \
	"http://127.0.0.1:$PORT/v1/register" >"$WORK/wrk.txt" 2>&1 &
WRK_PID=$!
while [ "$(ctlj show status | jq -r .clients)" -lt "$N_REG" ]; do
	kill -0 "$WRK_PID" 2>/dev/null || die "wrk stopped early: $(tail -n 3 "$WORK/wrk.txt")"
	sleep 0.2
done
t1=$(now_ms)
kill -INT "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; WRK_PID=
R[reg_s]=$(div $((t1 - t0)) 1000)
R[reg_rate]=$(( $(ctlj show status | jq -r .clients) * 1000 / (t1 - t0) ))
probe_stop register reg_probe
sleep 2   # the last answers' commits
R[n1]=$(ctlj show status | jq -r .clients)
fresh_sweep >/dev/null
read -r R[sweep1] R[slice1] < <(ctlj show stats | jq -r '.sweep | "\(.last_pass_ms) \(.max_slice_ms)"')
echo "registered ${R[n1]} in ${R[reg_s]} s (${R[reg_rate]}/s); sweep ${R[sweep1]} ms"

# --- 2. import up to N_TOTAL
# wrk overshoots N_REG a little: the import tops up to exactly N_TOTAL.
N_IMP=$((N_TOTAL - R[n1]))
[ "$N_IMP" -ge 0 ] || die "registered ${R[n1]}, over N_TOTAL"
python3 - "$WORK/import.jsonl" "${R[n1]}" "$N_TOTAL" <<'PY'
import sys
path, first, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    buf = []
    for i in range(first, total):
        buf.append('{"guid":"imp-%09d","hostname":"host-%d","ips":["10.%d.%d.%d"]}\n'
                   % (i, i, i >> 16 & 255, i >> 8 & 255, i & 255))
        if len(buf) == 100000:
            f.write("".join(buf)); buf = []
    f.write("".join(buf))
PY
probe_start import
t0=$(now_ms)
"$CTL" -s "$SOCK" import "$WORK/import.jsonl" >/dev/null
for _ in $(seq 36000); do
	[ "$(ctlj show bulk | jq -r .import.running)" = false ] && break
	sleep 0.1
done
t1=$(now_ms)
probe_stop import imp_probe
ctlj show bulk >"$WORK/import-result.json"
[ "$(jq -r .import.refused "$WORK/import-result.json")" = 0 ] || die "import refused lines: $(jq -c .import "$WORK/import-result.json")"
R[imp_s]=$(div $((t1 - t0)) 1000)
R[imp_rate]=$(( N_IMP * 1000 / (t1 - t0 + 1) ))
R[n2]=$(ctlj show status | jq -r .clients)
[ "${R[n2]}" = "$N_TOTAL" ] || die "after the import: ${R[n2]} clients, want $N_TOTAL"
echo "imported $N_IMP in ${R[imp_s]} s (${R[imp_rate]}/s)"

# --- 3. at N_TOTAL: a sweep, memory
for _ in $(seq 600); do   # the store catches up with the import first
	[ "$(ctlj show status | jq -r '.store.queue_len // 0')" -lt 1000 ] && break; sleep 0.5
done
probe_start steady
fresh_sweep >/dev/null
sleep 5
probe_stop steady steady_probe
# One reading: the last full pass's CPU (its slices added up) and wall time.
read -r R[sweep2] R[wall2] R[slice2] R[slicecpu2] < <(ctlj show stats |
	jq -r '.sweep | "\(.last_pass_ms) \(.last_pass_wall_ms) \(.max_slice_ms) \(.max_slice_cpu_ms)"')
# A range change reclassifies every endpoint, in slices (the "reclassify"
# job, issue #15): the command's answer, the probe's longest waits while the
# walk runs, its longest slice, and the walk's CPU in all (the stall one walk
# at once, as before, would have been: the baseline of the same run).
probe_start range
t0=$(now_ms); "$CTL" -s "$SOCK" range add 10.200.0.0-10.200.255.255 >/dev/null; t1=$(now_ms)
R[range_ms]=$((t1 - t0))
for _ in $(seq 600); do
	[ "$(ctlj show stats | jq -r .jobs.reclassify.in_pass)" = false ] && break
	sleep 0.1
done
sleep 0.5
probe_stop range range_probe
read -r R[rc_slice] R[rc_pass] R[rc_wall] R[rc_slices] < <(ctlj show stats |
	jq -r '.jobs.reclassify | "\(.max_slice_ms) \(.last_pass_ms) \(.last_pass_wall_ms) \(.slices)"')
# A setting change: its answer (a glournetctl round trip included) and the
# probe's waits around it ("affected" comes from running tallies: no walk).
probe_start set
sleep 1
t0=$(now_ms); "$CTL" -s "$SOCK" set heartbeat.offline_after 31m >/dev/null; t1=$(now_ms)
R[set_ms]=$((t1 - t0))
sleep 1
probe_stop set set_probe
# hugetlb pages are resident but not in VmRSS/VmHWM: added (HugetlbPages).
R[hugetlb]=$(rss_kb HugetlbPages); R[hugetlb]=${R[hugetlb]:-0}
R[rss]=$(( $(rss_kb VmRSS) + R[hugetlb] )); R[hwm]=$(( $(rss_kb VmHWM) + R[hugetlb] ))
ctlj show stats | jq .registry >"$WORK/registry.json"
R[table]=$(ctlj show status | jq -r .table_bytes)
R[workers]=$(ctlj show status | jq -r .workers)
R[pages]=$(ctlj show status | jq -r '"\(.slot_chunks.huge) on 2 MiB hugetlb pages, \(.slot_chunks.small) on 4 KiB"')
R[db]=$(du -sb "$WORK/state" | awk '{print $1}')
echo "at ${R[n2]}: sweep ${R[sweep2]} ms CPU (${R[wall2]} ms wall), RSS $(( R[rss] / 1024 )) MiB"

# --- 4. restarts
t0=$(now_ms); kill -TERM "$GN_PID"; wait "$GN_PID" || die "glournetd failed on SIGTERM"; t1=$(now_ms)
R[stop_ms]=$((t1 - t0)); GN_PID=
start_gn; R[restart_ms]=$(wait_serving "$N_TOTAL")
R[rss_restart]=$(rss_kb VmRSS)
kill -KILL "$GN_PID"; wait "$GN_PID" 2>/dev/null || true; GN_PID=
start_gn; R[crash_ms]=$(wait_serving "$N_TOTAL")
echo "restart: stop ${R[stop_ms]} ms, serving ${R[restart_ms]} ms; after kill -9 ${R[crash_ms]} ms"

# --- 5. served: a new registration and a poll
"$AGENT" register --server "http://127.0.0.1:$PORT" --token "$TOKEN" --count 1 --guid-prefix after \
	--state "$WORK/agent.state" >/dev/null || die "registration after the restart failed"
"$AGENT" poll --server "http://127.0.0.1:$PORT" --state "$WORK/agent.state" --count 1 --duration 2 >"$WORK/poll.log" 2>&1 \
	|| die "poll after the restart failed"
[ "$(ctlj show status | jq -r .clients)" = $((N_TOTAL + 1)) ] || die "the registration after the restart"
# wrk builds one request body before the first one it sends: reg-000000002 is the first sent.
[ "$(ctlj show client reg-000000002 | jq -r .hostname)" = host-2 ] || die "reg-000000002 lost"
[ "$(ctlj show client "imp-$(printf %09d $((N_TOTAL - 1)))" | jq -r .slot)" = $((N_TOTAL - 1)) ] \
	|| die "the last imported endpoint lost"

# --- the table
mib() { div "$1" 1048576; }
# waits PROBE_JSON: the probe's longest waits, then p50 and p99, ctl / HTTP.
waits() { jq -r '"\(.ctl.max_ms) / \(.http.max_ms) ms (p50 \(.ctl.median_ms) / \(.http.median_ms), p99 \(.ctl.p99_ms) / \(.http.p99_ms))"' <<<"$1"; }
per() { div "$1" "$N_TOTAL"; }
entries=$(jq -r .entries_bytes "$WORK/registry.json"); details=$(jq -r .details_bytes "$WORK/registry.json")
index=$(jq -r .index_bytes "$WORK/registry.json")
# What the slot table took before issue 15's layout: 32-byte entries and a
# uint32 array per worker, over the same chunks (the baseline row).
chunks=$(( (N_TOTAL + 65535) / 65536 ))
R[table_old]=$(( chunks * 65536 * (32 + 4 * R[workers]) ))
{
echo "## Scale: $N_REG registered, $N_TOTAL in all ($(date -u +%F\ %H:%M) UTC, $(nproc) CPUs)"
echo
echo "| figure | measured | target or baseline |"
echo "|---|---:|---|"
echo "| register ${R[n1]} over HTTP ($CONNS connections, answered after commit) | ${R[reg_s]} s, ${R[reg_rate]}/s |  |"
echo "| import $N_IMP from JSON lines | ${R[imp_s]} s, ${R[imp_rate]}/s |  |"
echo "| full sweep, CPU, at ${R[n1]} | ${R[sweep1]} ms |  |"
echo "| full sweep, CPU, at $N_TOTAL | ${R[sweep2]} ms (${R[wall2]} ms wall, in slices) |  |"
echo "| longest sweep slice, wall (preemption included) / CPU | ${R[slice2]} / ${R[slicecpu2]} ms | ≤ 10 ms (issue 15) |"
echo "| longest wait for show status / HTTP (p50, p99), registering | $(waits "${R[reg_probe]}") | ≤ 10 ms |"
echo "| longest wait for show status / HTTP, importing | $(waits "${R[imp_probe]}") | ≤ 10 ms |"
echo "| longest wait for show status / HTTP, steady at $N_TOTAL | $(waits "${R[steady_probe]}") | ≤ 10 ms |"
echo "| \`range add\` at $N_TOTAL: answered in / \`set heartbeat.offline_after\` | ${R[range_ms]} / ${R[set_ms]} ms |  |"
echo "| the reclassification after it: longest slice (of ${R[rc_slices]}) / CPU of the whole walk = one walk at once (baseline) / wall | ${R[rc_slice]} / ${R[rc_pass]} / ${R[rc_wall]} ms |  |"
echo "| longest wait for show status / HTTP while it runs | $(waits "${R[range_probe]}") | ≤ 10 ms |"
echo "| longest wait for show status / HTTP around \`set heartbeat.offline_after\` | $(waits "${R[set_probe]}") | ≤ 10 ms |"
echo "| resident memory at $N_TOTAL (VmRSS / VmHWM, each + HugetlbPages $(( R[hugetlb] / 1024 )) MiB) | $(mib $((R[rss] * 1024))) / $(mib $((R[hwm] * 1024))) MiB, $(per $((R[rss] * 1024))) B per endpoint | ≤ 256 B per endpoint |"
echo "|   registry entries (64 B each, in 4 MiB chunks) | $(mib "$entries") MiB, $(per "$entries") B per endpoint |  |"
echo "|   details (guid, hostname, addresses) | $(mib "$details") MiB, $(per "$details") B per endpoint |  |"
echo "|   id + guid indexes | $(mib "$index") MiB, $(per "$index") B per endpoint |  |"
echo "|   slot table (entries of id, key, tag and timestamps: 32 B with one worker, 64 B with 2-9; chunks: ${R[pages]}) | $(mib "${R[table]}") MiB, $(per "${R[table]}") B per endpoint | before issue 15: 32 B + 4 B a worker a slot = $(mib "${R[table_old]}") MiB |"
echo "| SQLite store on disk | $(mib "${R[db]}") MiB |  |"
echo "| stop (SIGTERM, final checkpoint, store drained) | ${R[stop_ms]} ms |  |"
echo "| restart with $N_TOTAL in the store, until serving | ${R[restart_ms]} ms | ≤ 10000 ms |"
echo "| restart after kill -9, until serving | ${R[crash_ms]} ms | ≤ 10000 ms |"
echo "| after the restart: registration, poll, all $N_TOTAL endpoints back | ok |  |"
} | tee "$OUT/results.md"
