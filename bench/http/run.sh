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
# with --idle-sleep-us 200 it sleeps (7-11% of that core; net_null would keep
# it receiving and spinning on the whole core). See bench/README.md.
#
# Per case: requests/s (wrk, keep-alive) and server CPU per request: the
# utime+stime delta over the run ÷ requests, from /proc/PID/task/TID/stat of
# glournetd's control thread (the process total also counts the worker
# lcore's idle polling, printed as a note) and /proc/PID/stat of nginx's
# worker. Raw outputs go to $BUILD/bench/http/, the table to stdout.
#
# A round starts a fresh glournetd (one registered endpoint) and runs the
# five cases one after the other: glournet 200, glournet 304, nginx-static,
# nginx-cached (open_file_cache), registrations. A round during which
# other processes took OTHERS_MAX% (default 10) of the two CPUs or more is
# discarded and run again, up to 3 x ROUNDS attempts; the table gives the
# medians over the kept rounds, and the glournet/nginx ratios paired within
# each round. Environment: BUILD, AGENT (default $BUILD/tools/glournet-agent),
# DURATION (seconds per run, 1..30, default 10), WARMUP (default 2), ROUNDS
# (1..9, default 3), CONNS (32), THREADS (1), SERVER_CPU (0), CLIENT_CPU (1),
# OTHERS_MAX, QUIET_WAIT (seconds to wait, before each round, for the CPUs
# to be under 10% busy; default 0), POLL_EPS (endpoints that poll, 20000),
# POLL_TIMES (seconds back each signs, 200).
#
# Every poll glournetd answers is a distinct signed request: its replay
# cache refuses an (id, time) it accepted once (409), so one set of headers
# replayed by wrk would measure refusals. A round registers POLL_EPS
# endpoints and signs each at POLL_TIMES times (glournet-agent poll
# --print-headers --print-times), split between the four glournet poll runs;
# wrk's Lua walks its share, one request a line. A run that outgrew its share
# shows answers in the non-2xx/3xx column (raise POLL_EPS).
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
OTHERS_MAX=${OTHERS_MAX:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
POLL_EPS=${POLL_EPS:-20000}
POLL_TIMES=${POLL_TIMES:-200}
OUT=$BUILD/bench/http
TOKEN=bench-token-$$

die() { echo "bench/http: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (DPDK EAL, nginx 'user root')"
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 1 ] && [ "$DURATION" -le 30 ] ||
	die "DURATION must be 1..30 s (the signed poll headers must stay inside the 300 s window)"
[[ $WARMUP =~ ^[0-9]+$ ]] && [ "$WARMUP" -le 10 ] || die "WARMUP must be 0..10 s"
[[ $ROUNDS =~ ^[1-9]$ ]] || die "ROUNDS must be 1..9"
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] && [ "$QUIET_WAIT" -le 3600 ] || die "QUIET_WAIT must be 0..3600 s"
[[ $OTHERS_MAX =~ ^[0-9]+$ ]] && [ "$OTHERS_MAX" -ge 1 ] || die "OTHERS_MAX must be 1..100 (%)"
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
NGINX_PORT=$(free_port $((29000 + $$ % 1000)))
NGINX_PORT2=$(free_port $((NGINX_PORT + 1)))
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.lua "$OUT"/*.json

# --- glournetd, fresh for each round: control thread (HTTP) on SERVER_CPU, an idle
# worker on CPU CLIENT_CPU, one registered endpoint, its 200 body and ETag. Fresh, so
# that every round polls a registry of one endpoint and registers into an empty one.
gn_opts=()   # every registration comes from 127.0.0.1: lift the per-source limit where there is one
case $("$GLOURNETD" --help 2>&1 || true) in *--register-rate*) gn_opts+=(--register-rate 0) ;; esac
case $("$GLOURNETD" --help 2>&1 || true) in *--http-max-conns-per-source*) gn_opts+=(--http-max-conns-per-source 0) ;; esac
# Room for every signed poll of a round (the cache forgets beyond it: 409).
case $("$GLOURNETD" --help 2>&1 || true) in *--http-replay-cache*) gn_opts+=(--http-replay-cache $((POLL_EPS * POLL_TIMES + 1048576))) ;; esac
gn_stat() { "$CTL" -s "$GN_SOCK" -j show stats | jq -r ".http.$1"; }
# The last endpoint is the checks' (two polls: a 200, then a 304), the
# others are wrk's.
poll_headers() { "$AGENT" poll --state "$WORK/agent.state" --first "$POLL_EPS" --print-headers "$@"; }
# sign_polls BASE: every endpoint's polls at POLL_TIMES times as "id time mac"
# lines, split 2:10:2:10 (warm-up and measured, for 200 and 304) into
# BASE-200w.hdr, BASE-200m.hdr, BASE-304w.hdr, BASE-304m.hdr.
sign_polls() {
	rm -f "$1"-*.hdr
	"$AGENT" poll --state "$WORK/agent.state" --count "$POLL_EPS" --print-headers --print-times "$POLL_TIMES" |
		awk -v base="$1" 'NF == 0 { next } { v[++k] = $2 } k == 3 {
			n++; k = 0; part = n % 24
			f = part < 2 ? "200w" : part < 12 ? "200m" : part < 14 ? "304w" : "304m"
			print v[1] " " v[2] " " v[3] > (base "-" f ".hdr") }'
}
GN_N=0 GN_COUNTED="0 0 0"
gn_start() {   # sets GN_PID GN_PORT GN_SOCK GN_WORKER_TID ETAG; writes $WORK/poll-body.json
	GN_N=$((GN_N + 1))
	GN_PORT=$(free_port $((28000 + $$ % 1000)))
	GN_SOCK=$WORK/ctl-$GN_N.sock
	rm -rf "$WORK/gnstate" "$WORK/agent.state"
	mkdir -p "$WORK/gnstate"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$GN_PORT" --ctl-socket "$GN_SOCK" \
		--state-dir "$WORK/gnstate" --idle-sleep-us 200 --http-max-conns 1024 "${gn_opts[@]}" \
		-- -l "$SERVER_CPU,$CLIENT_CPU" --main-lcore "$SERVER_CPU" --no-huge --no-shconf \
		-m 256 --file-prefix "gnbench$$-$GN_N" --no-pci --vdev net_ring0 \
		--log-level=lib.eal:warning >>"$WORK/glournetd.log" 2>&1 &
	GN_PID=$!
	for _ in $(seq 100); do
		"$CTL" -s "$GN_SOCK" show status >/dev/null 2>&1 && break
		kill -0 "$GN_PID" 2>/dev/null || die "glournetd exited at start-up"
		sleep 0.2
	done
	"$CTL" -s "$GN_SOCK" show status >/dev/null || die "glournetd did not start"
	GN_WORKER_TID=
	for t in /proc/$GN_PID/task/*; do
		[ "$(cat "$t/comm")" = "rte-worker-$CLIENT_CPU" ] && GN_WORKER_TID=${t##*/}
	done
	"$AGENT" register --server "http://127.0.0.1:$GN_PORT" --token "$TOKEN" \
		--state "$WORK/agent.state" --guid-prefix bench --count $((POLL_EPS + 1)) >/dev/null
	local curl_h=() curl_h2=() h code two
	mapfile -t two < <(poll_headers --print-times 2 | grep .)   # now, and a second before
	for h in "${two[@]:0:3}"; do curl_h+=(-H "$h"); done
	for h in "${two[@]:3:3}"; do curl_h2+=(-H "$h"); done
	code=$(curl -sS -o "$WORK/poll-body.json" -D "$WORK/poll-headers" -w '%{http_code}' \
		"${curl_h[@]}" "http://127.0.0.1:$GN_PORT/v1/poll")
	[ "$code" = 200 ] || die "GET /v1/poll answered $code: $(cat "$WORK/poll-body.json")"
	ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$WORK/poll-headers")
	[ -n "$ETAG" ] || die "no ETag in the 200 answer"
	code=$(curl -sS -o /dev/null -w '%{http_code}' "${curl_h2[@]}" -H "If-None-Match: $ETAG" \
		"http://127.0.0.1:$GN_PORT/v1/poll")
	[ "$code" = 304 ] || die "GET /v1/poll with If-None-Match $ETAG answered $code, not 304"
	GN_BASE="$(gn_stat poll) $(gn_stat poll_not_modified) $(gn_stat register_new)"
}
gn_stop() {   # adds what glournetd counted since gn_start to GN_COUNTED, stops it
	local now
	now="$(gn_stat poll) $(gn_stat poll_not_modified) $(gn_stat register_new)"
	GN_COUNTED=$(awk -v a="$GN_COUNTED" -v b="$GN_BASE" -v c="$now" 'BEGIN { split(a, A, " ")
		split(b, B, " "); split(c, C, " ")
		for (i = 1; i <= 3; i++) printf "%d ", A[i] + C[i] - B[i] }')
	stop_pid "$GN_PID" TERM
	GN_PID=
}
gn_start
cp "$WORK/poll-body.json" "$OUT/poll-body.json"

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
	server {   # the same with the file's descriptor and metadata cached
		listen 127.0.0.1:$NGINX_PORT2;
		root $WORK/www;
		open_file_cache max=16 inactive=60s;
		open_file_cache_valid 60s;
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
for p in "$NGINX_PORT" "$NGINX_PORT2"; do
	cmp -s <(curl -sf "http://127.0.0.1:$p/v1/poll") "$OUT/poll-body.json" ||
		die "nginx does not serve the poll body on port $p"
done

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
# signed_lua FILE BASE CASE [ETAG]: a request a line of BASE-CASE{w,m}.hdr
# (the run's tag, after wrk's --, ends in w or m), each wrk thread its share.
signed_lua() {
	local names inm=
	mapfile -t names < <(poll_headers | cut -d: -f1)
	[ -z "${4:-}" ] || inm=", [\"If-None-Match\"] = '$4'"
	cat >"$1" <<EOF
local ids, times, macs, n, i, nthreads = {}, {}, {}, 0, 0, 0
function setup(thread) thread:set("tid", nthreads); nthreads = nthreads + 1 end
function init(args)
	local k, file = 0, "$2-$3" .. string.sub(args[1] or "m", -1) .. ".hdr"
	for line in io.lines(file) do
		if k % $THREADS == tid then
			local a, b, c = string.match(line, "^(%S+) (%S+) (%S+)\$")
			n = n + 1; ids[n] = a; times[n] = b; macs[n] = c
		end
		k = k + 1
	end
end
function request()
	i = i + 1
	if i > n then i = 1 end -- past its share: refused as replays (non-2xx/3xx)
	return wrk.format("GET", nil, {["${names[0]}"] = ids[i], ["${names[1]}"] = times[i],
		["${names[2]}"] = macs[i]$inm})
end
EOF
}
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
	if ! wait "$WRK_PID"; then
		kill -0 "$GN_PID" 2>/dev/null || echo "bench/http: glournetd is gone (killed from outside?)" >&2
		die "wrk failed ($out): $(tail -n 3 "$out")"
	fi
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
			100 * dw / hz / secs, bad, wreq, 100 * (busy - dours) / all }' >>"$WORK/round"
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
: >"$WORK/results"; : >"$WORK/discarded"
attempt=0 kept=0
while [ "$kept" -lt "$ROUNDS" ] && [ "$attempt" -lt $((3 * ROUNDS)) ]; do
	attempt=$((attempt + 1))
	[ "$attempt" -eq 1 ] || { gn_start; wait_quiet; }
	: >"$WORK/round"
	url=http://127.0.0.1:$GN_PORT
	sign_polls "$WORK/polls"         # signed now: the oldest valid for 100 s, used within 60
	signed_lua "$OUT/poll-200.lua" "$WORK/polls" 200
	run "$attempt" glournet-200 "$url/v1/poll" "$OUT/poll-200.lua" "$GN_PID" "$GN_PID"
	signed_lua "$OUT/poll-304.lua" "$WORK/polls" 304 "$ETAG"
	run "$attempt" glournet-304 "$url/v1/poll" "$OUT/poll-304.lua" "$GN_PID" "$GN_PID"
	poll_lua "$OUT/nginx.lua"        # the same request headers, which nginx ignores
	run "$attempt" nginx-static "http://127.0.0.1:$NGINX_PORT/v1/poll" "$OUT/nginx.lua" \
		"$NGINX_WORKER" "$NGINX_WORKER"
	run "$attempt" nginx-cached "http://127.0.0.1:$NGINX_PORT2/v1/poll" "$OUT/nginx.lua" \
		"$NGINX_WORKER" "$NGINX_WORKER"
	run "$attempt" glournet-register "$url/v1/register" "$OUT/register.lua" "$GN_PID" "$GN_PID"
	gn_stop
	[ "$(wc -l <"$WORK/round")" -eq 5 ] || die "some runs of round $attempt are missing"
	worst=$(awk '{ if ($12 > m) m = $12 } END { printf "%.0f", m }' "$WORK/round")
	if [ "$worst" -lt "$OTHERS_MAX" ]; then
		cat "$WORK/round" >>"$WORK/results"; kept=$((kept + 1)); verdict=kept
	else
		cat "$WORK/round" >>"$WORK/discarded"; verdict="discarded (over ${OTHERS_MAX}%)"
	fi
	echo "round $attempt: CPUs ${busy}% busy before; other processes took up to ${worst}% during: $verdict" |
		tee -a "$OUT/summary.txt"
done
if [ "$kept" -lt "$ROUNDS" ]; then
	echo "WARNING: only $kept undisturbed round(s) of $ROUNDS after $attempt;" \
		"$([ "$kept" -gt 0 ] && echo "the table uses those" || echo "the table uses all, disturbed")" |
		tee -a "$OUT/summary.txt"
	[ "$kept" -gt 0 ] || cp "$WORK/discarded" "$WORK/results"
fi
read -r n200 n304 nreg <<<"$GN_COUNTED"
wrk_done=$(cat "$WORK/results" "$WORK/discarded" | sort -u | awk '{ n[$1] += $3 + $11 }
	END { printf "%d, %d, %d", n["glournet-200"], n["glournet-304"], n["glournet-register"] }')
cp "$WORK/discarded" "$OUT/discarded.txt"
cp "$WORK/results" "$OUT/results.txt"

# --- the table: medians over the rounds; ratios paired within each round
table() {   # table FILE [all]: the full table, or with "all" the medians and ratios in brief
awk -v n200="$n200" -v n304="$n304" -v nreg="$nreg" -v wcpu="$CLIENT_CPU" -v wrk_done="$wrk_done" \
    -v brief="${2:-}" '
function med(a, n,    i, j, t) {   # median of a[1..n], sorts a
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
		t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function median(key, f,    v, i) {
	for (i = 1; i <= cnt[key]; i++) v[i] = val[key, i, f]
	return med(v, cnt[key])
}
function ratio(a, b, f,    v, i, n, lo, hi) {   # median of the per-round a/b, with its range
	for (i = 1; i <= cnt[a] && i <= cnt[b]; i++) {
		v[i] = val[a, i, f] / val[b, i, f]
		if (i == 1 || v[i] < lo) lo = v[i]
		if (i == 1 || v[i] > hi) hi = v[i]
	}
	n = i - 1
	return sprintf("%5.2f (%.2f..%.2f)", med(v, n), lo, hi)
}
{	if (!($1 in cnt)) order[++ncase] = $1
	i = ++cnt[$1]
	for (f = 3; f <= 12; f++) val[$1, i, f] = $f
	if (i == 1) { bad[$1] = $10; lo[$1] = hi[$1] = $5; next }
	bad[$1] = bad[$1] "," $10
	if ($5 + 0 < lo[$1] + 0) lo[$1] = $5
	if ($5 + 0 > hi[$1] + 0) hi[$1] = $5 }
END {
	g = "glournet-200"; m = "glournet-304"; x = "nginx-static"; r = "glournet-register"
	y = "nginx-cached"
	if (brief != "") {
		printf "over all %d rounds, disturbed ones included: CPU us/req %.2f (200), %.2f (304)," \
			" %.2f (nginx), %.2f (nginx cached), %.2f (register); glournet/nginx CPU us/req" \
			" %s (200), %s (304)\n", cnt[g], median(g, 5), median(m, 5), median(x, 5),
			median(y, 5), median(r, 5), ratio(g, x, 5), ratio(m, x, 5)
		exit
	}
	printf "\n%-18s %9s %11s %13s %7s %7s %7s %s\n", "case (median)", "req/s", "CPU us/req",
		"(min..max)", "server", "client", "others", "non-2xx/3xx"
	for (c = 1; c <= ncase; c++) { k = order[c]
		printf "%-18s %9d %11.2f %6.2f..%-6.2f %6.0f%% %6.0f%% %6.0f%% %s\n", k, median(k, 4),
			median(k, 5), lo[k], hi[k], median(k, 7), median(k, 8), median(k, 12), bad[k] }
	printf "\nglournet / nginx        req/s              CPU us/req   (median of the rounds, range)\n"
	printf "poll 200 / static       %s  %s\n", ratio(g, x, 4), ratio(g, x, 5)
	printf "poll 304 / static       %s  %s\n", ratio(m, x, 4), ratio(m, x, 5)
	printf "poll 200 / cached       %s  %s\n", ratio(g, y, 4), ratio(g, y, 5)
	printf "poll 304 / cached       %s  %s\n", ratio(m, y, 4), ratio(m, y, 5)
	printf "\nnginx-static: no open_file_cache (open, fstat, read, close per request);" \
		" nginx-cached: open_file_cache.\n"
	printf "server, client: how busy the server CPU and the wrk CPU were; others: the share of\n"
	printf "both CPUs taken by other processes (neither glournetd, nginx nor wrk) during the run.\n"
	printf "glournetd answered %d poll 200, %d poll 304, %d new registrations;" \
		" wrk completed %s (all rounds, warm-ups included).\n", n200, n304, nreg, wrk_done
	printf "glournetd whole process, CPU us/req: 200 %.2f, 304 %.2f, register %.2f (adds the" \
		" DPDK worker idle-polling, %.1f%% of CPU %s)\n", median(g, 6), median(m, 6),
		median("glournet-register", 6), median(g, 9), wcpu
}' "$1"
}
{
	table "$WORK/results"
	if [ -s "$WORK/discarded" ] && [ "$kept" -gt 0 ]; then
		sort -s -k2,2n "$WORK/results" "$WORK/discarded" >"$WORK/all"
		table "$WORK/all" all
	fi
} | tee -a "$OUT/summary.txt"
echo "raw: $OUT/ (wrk-CASE-rROUND.txt, results.txt, summary.txt)"
