#!/usr/bin/env bash
# HTTP API benchmark (issue #4): glournetd's GET /v1/poll (200 and 304) next
# to nginx serving the same JSON body as a static file, and POST /v1/register
# throughput, all on loopback, in one run so that the ratios are comparable.
#
#   sudo bench/http/run.sh            (BUILD=build by default)
#
# Server on SERVER_CPU (glournetd's main lcore = its control thread = the
# HTTP server; nginx's one worker), wrk on CLIENT_CPU. glournetd's DPDK
# worker lcore shares CLIENT_CPU: its port is net_ring0, an empty ring, so
# with --idle-sleep-us 200 it sleeps (~6% of that core; net_null would keep
# it receiving and spinning on the whole core). See bench/README.md.
#
# Per case: requests/s (wrk, keep-alive) and server CPU per request: the
# utime+stime delta over the run ÷ requests, from /proc/PID/task/TID/stat of
# glournetd's control thread (the process total also counts the worker
# lcore's idle polling, printed as a note) and /proc/PID/stat of nginx's
# worker. Raw outputs go to $BUILD/bench/http/, the table to stdout.
#
# The four cases run one after the other, ROUNDS times; the table gives the
# medians. Environment: BUILD, AGENT (default $BUILD/tools/glournet-agent),
# DURATION (seconds per run, 1..30, default 10), WARMUP (default 2), ROUNDS
# (1..9, default 3), CONNS (32), THREADS (1), SERVER_CPU (0), CLIENT_CPU (1),
# QUIET_WAIT (seconds to wait for the other processes to leave the CPUs
# below 10% busy before measuring; default 0: warn only).
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
GLOURNETD=$BUILD/control/glournetd
CTL=$BUILD/tools/glournetctl
AGENT=${AGENT:-$BUILD/tools/glournet-agent}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
QUIET_WAIT=${QUIET_WAIT:-0}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=$BUILD/bench/http
TOKEN=bench-token-$$

die() { echo "bench/http: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (DPDK EAL, nginx 'user root')"
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 1 ] && [ "$DURATION" -le 30 ] ||
	die "DURATION must be 1..30 s (the signed poll headers must stay inside the 300 s window)"
[[ $WARMUP =~ ^[0-9]+$ ]] && [ "$WARMUP" -le 10 ] || die "WARMUP must be 0..10 s"
[[ $ROUNDS =~ ^[1-9]$ ]] || die "ROUNDS must be 1..9"
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] && [ "$QUIET_WAIT" -le 3600 ] || die "QUIET_WAIT must be 0..3600 s"
[ "$SERVER_CPU" != "$CLIENT_CPU" ] || die "SERVER_CPU and CLIENT_CPU must differ"
for f in "$GLOURNETD" "$CTL" "$AGENT"; do [ -x "$f" ] || die "$f missing: build first (meson/ninja)"; done
"$AGENT" poll --help >/dev/null 2>&1 ||
	die "$AGENT has no 'poll' command: rebuild (tools/agent/agent_poll.c in tools/meson.build)"

# --- tools: wrk and nginx-light from Debian, without starting nginx's service
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} (apt-get)"
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then    # keep postinst from starting nginx on :80
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made_policy=1
	fi
	rc=0
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -qq install -y "${need[@]}" >/dev/null || rc=$?
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || die "apt-get install ${need[*]} failed (try apt-get update first)"
fi

# --- processes, all stopped on exit
WORK=$(mktemp -d /tmp/glournet-bench-http.XXXXXX)
GN_PID= NGINX_PID= WRK_PID=
stop_pid() {   # stop_pid PID SIGNAL: signal, wait up to 5 s, then KILL
	local pid=$1 sig=$2
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local rc=$?
	stop_pid "$WRK_PID" TERM     # timeout(1) passes the signal on to wrk
	stop_pid "$NGINX_PID" QUIT   # the master takes its worker down
	stop_pid "$GN_PID" TERM
	if [ $rc -ne 0 ]; then
		for f in "$WORK"/glournetd.log "$WORK"/nginx-error.log; do
			[ -s "$f" ] && { echo "--- $f (last 20 lines)"; tail -n 20 "$f"; }
		done
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench/http: line $LINENO failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

free_port() {   # a TCP port nobody listens on, from $1 up
	local p=$1
	while [ -n "$(ss -Hltn "sport = :$p")" ]; do p=$((p + 1)); done
	echo "$p"
}
GN_PORT=$(free_port $((28000 + $$ % 1000)))
NGINX_PORT=$(free_port $((GN_PORT + 1000)))
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.lua "$OUT"/*.json

# --- glournetd: control thread (HTTP) on SERVER_CPU, an idle worker on CLIENT_CPU
mkdir -p "$WORK/gnstate"
gn_opts=()   # every registration comes from 127.0.0.1: lift the per-source limit where there is one
case $("$GLOURNETD" --help 2>&1 || true) in *--register-rate*) gn_opts+=(--register-rate 0) ;; esac
"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$GN_PORT" --ctl-socket "$WORK/ctl.sock" \
	--state-dir "$WORK/gnstate" --idle-sleep-us 200 --http-max-conns 1024 "${gn_opts[@]}" \
	-- -l "$SERVER_CPU,$CLIENT_CPU" --main-lcore "$SERVER_CPU" --no-huge --no-shconf -m 256 \
	--file-prefix "gnbench$$" --no-pci --vdev net_ring0 --log-level=lib.eal:warning \
	>"$WORK/glournetd.log" 2>&1 &
GN_PID=$!
for _ in $(seq 100); do
	"$CTL" -s "$WORK/ctl.sock" show status >/dev/null 2>&1 && break
	kill -0 "$GN_PID" 2>/dev/null || die "glournetd exited at start-up"
	sleep 0.2
done
"$CTL" -s "$WORK/ctl.sock" show status >/dev/null || die "glournetd did not start"
GN_WORKER_TID=
for t in /proc/$GN_PID/task/*; do
	[ "$(cat "$t/comm")" = rte-worker-$CLIENT_CPU ] && GN_WORKER_TID=${t##*/}
done

# --- one endpoint, its signed poll headers, a real 200 body and its ETag
"$AGENT" register --server "http://127.0.0.1:$GN_PORT" --token "$TOKEN" \
	--state "$WORK/agent.state" --guid-prefix bench >/dev/null
poll_headers() { "$AGENT" poll --state "$WORK/agent.state" --print-headers; }
curl_h=()
while IFS= read -r h; do curl_h+=(-H "$h"); done < <(poll_headers)
code=$(curl -sS -o "$OUT/poll-body.json" -D "$WORK/poll-headers" -w '%{http_code}' \
	"${curl_h[@]}" "http://127.0.0.1:$GN_PORT/v1/poll")
[ "$code" = 200 ] || die "GET /v1/poll answered $code: $(cat "$OUT/poll-body.json")"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$WORK/poll-headers")
[ -n "$ETAG" ] || die "no ETag in the 200 answer"
code=$(curl -sS -o /dev/null -w '%{http_code}' "${curl_h[@]}" -H "If-None-Match: $ETAG" \
	"http://127.0.0.1:$GN_PORT/v1/poll")
[ "$code" = 304 ] || die "GET /v1/poll with If-None-Match $ETAG answered $code, not 304"

# --- nginx: the same body as a static file, one worker, sendfile off (FACTS.md)
mkdir -p "$WORK/www/v1" "$WORK/nginx-tmp"
cp "$OUT/poll-body.json" "$WORK/www/v1/poll"
cat >"$WORK/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile off;
	tcp_nodelay on;
	keepalive_timeout 65;
	keepalive_requests 100000000;
	client_body_temp_path $WORK/nginx-tmp;
	default_type application/json;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/www;
	}
}
EOF
taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
NGINX_PID=$!
NGINX_WORKER=
for _ in $(seq 50); do
	NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -n1 || true)
	[ -n "$NGINX_WORKER" ] && curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/poll" && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited at start-up"
	sleep 0.1
done
[ -n "$NGINX_WORKER" ] || die "nginx did not start"
cmp -s <(curl -sf "http://127.0.0.1:$NGINX_PORT/v1/poll") "$OUT/poll-body.json" ||
	die "nginx does not serve the poll body"

# --- measuring
ticks() { sed 's/^.*) //' "$1" | awk '{ printf "%.0f\n", $12 + $13 }'; }   # utime+stime, ticks
core_busy() {   # busy and total ticks of one CPU (irq and softirq count as busy), /proc/stat
	awk -v c="cpu$1" '$1 == c { printf "%.0f %.0f\n", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat
}
child_ticks() {   # the CPU time in a `times` output's second line (finished children), ticks
	awk -v hz="$CLK_TCK" 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m")
		t += a[1] * 60 + substr(a[2], 1, length(a[2]) - 1) } } END { printf "%.0f\n", t * hz }' "$1"
}
ours() {   # ticks used so far by glournetd and nginx (this shell's children: child_ticks)
	echo $(($(ticks "/proc/$GN_PID/stat") + $(ticks "/proc/$NGINX_PID/stat") +
		$(ticks "/proc/$NGINX_WORKER/stat")))
}
gn_stat() { "$CTL" -s "$WORK/ctl.sock" -j show stats | jq -r ".http.$1"; }

poll_lua() {   # poll_lua FILE [ETAG]: the signed headers, valid for the next 300 s
	{
		echo 'wrk.method = "GET"'
		poll_headers | while IFS= read -r h; do
			printf 'wrk.headers["%s"] = "%s"\n' "${h%%: *}" "${h#*: }"
		done
		[ -z "${2:-}" ] || printf "wrk.headers[\"If-None-Match\"] = '%s'\n" "$2"
	} >"$1"
}

cat >"$OUT/register.lua" <<EOF
-- distinct guids: the run's tag (after wrk's --), the wrk thread's number, a counter
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local n = 0
function setup(thread) thread:set("tid", n); n = n + 1 end
function init(args) tag = args[1] or "x" end
local count = 0
function request()
	count = count + 1
	local body = string.format('{"guid":"%s-%d-%09d","hostname":"bench","ips":["198.51.100.%d"],'
		.. '"reason":"install","notify_port":21112}', tag, tid, count, count % 254 + 1)
	return wrk.format(nil, nil, nil, body)
end
EOF

wrk_run() {   # wrk_run OUT SECONDS URL LUA TAG [wrk options]: bounded, killable by cleanup
	local out=$1 secs=$2 url=$3 lua=$4 tag=$5; shift 5
	timeout -k 5 $((secs + 20)) taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNS" \
		-d"${secs}s" "$@" -s "$lua" "$url" -- "$tag" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || die "wrk failed ($out): $(tail -n 3 "$out")"
	WRK_PID=
}

# run ROUND NAME URL LUA PID TID: a warm-up and a measured wrk run; appends "NAME ROUND
# requests req/s us/req(thread) us/req(process) server% client% worker% bad warm-up-requests
# others%". others% is the share of the two CPUs that went to neither glournetd, nginx nor
# this script's children (wrk): another process's load, which disturbs the run.
run() {
	local round=$1 name=$2 url=$3 lua=$4 pid=$5 tid=$6 out="$OUT/wrk-$2-r$1.txt" wreq=0
	if [ "$WARMUP" -gt 0 ]; then
		wrk_run "$OUT/wrk-$name-r$round-warmup.txt" "$WARMUP" "$url" "$lua" "r${round}w"
		wreq=$(awk '/requests in/ { print $1 }' "$OUT/wrk-$name-r$round-warmup.txt")
	fi
	local t0 p0 w0 s0 c0 o0 t1 p1 w1 s1 c1 o1
	times >"$WORK/times0"
	o0=$(ours)
	t0=$(ticks "/proc/$pid/task/$tid/stat"); p0=$(ticks "/proc/$pid/stat")
	w0=0; [ -z "$GN_WORKER_TID" ] || w0=$(ticks "/proc/$GN_PID/task/$GN_WORKER_TID/stat")
	s0=$(core_busy "$SERVER_CPU"); c0=$(core_busy "$CLIENT_CPU")
	wrk_run "$out" "$DURATION" "$url" "$lua" "r${round}m" --latency
	t1=$(ticks "/proc/$pid/task/$tid/stat"); p1=$(ticks "/proc/$pid/stat")
	w1=0; [ -z "$GN_WORKER_TID" ] || w1=$(ticks "/proc/$GN_PID/task/$GN_WORKER_TID/stat")
	s1=$(core_busy "$SERVER_CPU"); c1=$(core_busy "$CLIENT_CPU")
	o1=$(ours)
	times >"$WORK/times1"
	o1=$((o1 + $(child_ticks "$WORK/times1"))); o0=$((o0 + $(child_ticks "$WORK/times0")))
	local req secs rps bad
	req=$(awk '/requests in/ { print $1 }' "$out")
	secs=$(sed -n 's/.*requests in \([0-9.]*\)s,.*/\1/p' "$out")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	bad=$(awk '/Non-2xx or 3xx/ { print $NF }' "$out"); bad=${bad:-0}
	grep -q 'Socket errors' "$out" && bad="$bad+sockerr"
	[ -n "$req" ] && [ "$req" -gt 0 ] || die "wrk made no requests for $name: $(cat "$out")"
	awk -v n="$name" -v r="$round" -v req="$req" -v secs="$secs" -v rps="$rps" -v hz="$CLK_TCK" \
	    -v dt=$((t1 - t0)) -v dp=$((p1 - p0)) -v dw=$((w1 - w0)) -v bad="$bad" -v wreq="$wreq" \
	    -v s="$s0 $s1" -v c="$c0 $c1" -v dours=$((o1 - o0)) 'BEGIN {
		split(s, S, " "); split(c, C, " ")
		busy = S[3] - S[1] + C[3] - C[1]; all = S[4] - S[2] + C[4] - C[2]
		printf "%s %d %d %.0f %.2f %.2f %.0f %.0f %.1f %s %d %.1f\n", n, r, req, rps,
			dt / hz * 1e6 / req, dp / hz * 1e6 / req,
			100 * (S[3] - S[1]) / (S[4] - S[2]), 100 * (C[3] - C[1]) / (C[4] - C[2]),
			100 * dw / hz / secs, bad, wreq, 100 * (busy - dours) / all }' >>"$WORK/results"
}

others_busy() {   # % of all CPUs busy over one second, before anything of ours runs
	local a b
	a=$(awk '$1 == "cpu" { printf "%.0f %.0f\n", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	sleep 1
	b=$(awk '$1 == "cpu" { printf "%.0f %.0f\n", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, A, " "); split(b, B, " ")
		printf "%.0f", 100 * (B[1] - A[1]) / (B[2] - A[2]) }'
}

GN_SRC=$(jq -r .directories.source "$BUILD/meson-info/meson-info.json" 2>/dev/null || echo "$SRC")
wait_quiet() {   # sets busy and waited
	busy=$(others_busy)
	waited=0
	while [ "$busy" -ge 10 ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
		sleep 4; waited=$((waited + 5)); busy=$(others_busy)
	done
}
wait_quiet
{
	echo "glournetd from $GN_SRC ($(git -C "$GN_SRC" describe --always --dirty 2>/dev/null ||
		echo 'not a git tree')), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo |
		head -n1)), Linux $(uname -r)"
	echo "wrk -t$THREADS -c$CONNS -d${DURATION}s keep-alive on CPU $CLIENT_CPU, warm-up ${WARMUP}s," \
		"$ROUNDS round(s); servers on CPU $SERVER_CPU"
	echo "before the run: CPUs ${busy}% busy (waited ${waited}s), load average" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	[ "$busy" -lt 10 ] || echo "WARNING: something else is using the CPUs: figures are disturbed"
} | tee "$OUT/summary.txt"
: >"$WORK/results"
URL=http://127.0.0.1:$GN_PORT/v1/poll
n200=$(gn_stat poll); n304=$(gn_stat poll_not_modified); nreg=$(gn_stat register_new)
for round in $(seq "$ROUNDS"); do
	[ "$round" -eq 1 ] || { wait_quiet; echo "round $round: CPUs ${busy}% busy before (waited ${waited}s)"; }
	poll_lua "$OUT/poll-200.lua"     # signed now: valid for 300 s, a round takes < 4 x 40 s
	run "$round" glournet-200 "$URL" "$OUT/poll-200.lua" "$GN_PID" "$GN_PID"
	poll_lua "$OUT/poll-304.lua" "$ETAG"
	run "$round" glournet-304 "$URL" "$OUT/poll-304.lua" "$GN_PID" "$GN_PID"
	poll_lua "$OUT/nginx.lua"        # the same request headers, which nginx ignores
	run "$round" nginx-static "http://127.0.0.1:$NGINX_PORT/v1/poll" "$OUT/nginx.lua" \
		"$NGINX_WORKER" "$NGINX_WORKER"
	run "$round" glournet-register "http://127.0.0.1:$GN_PORT/v1/register" \
		"$OUT/register.lua" "$GN_PID" "$GN_PID"
done
[ "$(wc -l <"$WORK/results")" -eq $((4 * ROUNDS)) ] || die "some runs are missing"
n200=$(($(gn_stat poll) - n200)); n304=$(($(gn_stat poll_not_modified) - n304))
nreg=$(($(gn_stat register_new) - nreg))
cp "$WORK/results" "$OUT/results.txt"

# --- the table: medians over the rounds
awk -v n200="$n200" -v n304="$n304" -v nreg="$nreg" -v wcpu="$CLIENT_CPU" -v omax=5 '
function median(key, f,    v, n, i, j, t) {
	n = 0
	for (i = 1; i <= cnt[key]; i++)   # the undisturbed runs, or all when none is
		if (val[key, i, 12] < omax || !clean[key])
			v[++n] = val[key, i, f]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
		t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{	if (!($1 in cnt)) order[++ncase] = $1
	i = ++cnt[$1]
	for (f = 3; f <= 12; f++) val[$1, i, f] = $f
	clean[$1] += $12 < omax
	all[$1] += $3 + $11
	if (i == 1) { bad[$1] = $10; lo[$1] = hi[$1] = $5; next }
	bad[$1] = bad[$1] "," $10
	if ($5 + 0 < lo[$1] + 0) lo[$1] = $5
	if ($5 + 0 > hi[$1] + 0) hi[$1] = $5 }
END {
	printf "\n%-18s %9s %11s %13s %7s %7s %7s %s\n", "case (median)", "req/s", "CPU us/req",
		"(min..max)", "server", "client", "clean", "non-2xx/3xx"
	for (c = 1; c <= ncase; c++) { k = order[c]
		printf "%-18s %9d %11.2f %6.2f..%-6.2f %6.0f%% %6.0f%% %5d/%d %s\n", k, median(k, 4),
			median(k, 5), lo[k], hi[k], median(k, 7), median(k, 8), clean[k], cnt[k], bad[k] }
	g = "glournet-200"; m = "glournet-304"; x = "nginx-static"
	printf "\nglournet / nginx     req/s  CPU us/req\n"
	printf "poll 200            %6.2f  %6.2f\n", median(g, 4) / median(x, 4), median(g, 5) / median(x, 5)
	printf "poll 304            %6.2f  %6.2f\n", median(m, 4) / median(x, 4), median(m, 5) / median(x, 5)
	printf "\nserver/client: how busy the server and the wrk CPU were. clean: runs where other\n"
	printf "processes took < %d%% of the two CPUs; the medians are over the clean runs (over\n", omax
	printf "all when none is).\n"
	printf "glournetd answered %d poll 200, %d poll 304, %d new registrations;" \
		" wrk completed %d, %d, %d (warm-ups included).\n", n200, n304, nreg, all[g], all[m],
		all["glournet-register"]
	printf "glournetd whole process, CPU us/req: 200 %.2f, 304 %.2f, register %.2f (adds the" \
		" DPDK worker idle-polling, %.1f%% of CPU %s)\n", median(g, 6), median(m, 6),
		median("glournet-register", 6), median(g, 9), wcpu
}' "$WORK/results" | tee -a "$OUT/summary.txt"
echo "raw: $OUT/ (wrk-CASE-rROUND.txt, results.txt, summary.txt)"
