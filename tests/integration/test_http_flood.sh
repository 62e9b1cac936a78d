#!/usr/bin/env bash
# One client must not take the HTTP API down (issue #13, items 3, 4, 11).
# glournetd runs in a network namespace of its own (net_null port; HTTP on
# the namespace's loopback, which carries several IPv4 sources and two IPv6
# /64s). Shown here:
# - a slowloris from one source, >1,100 connections trickling a header
#   byte a second and reopened when closed, for 20 s: a real agent from
#   another source registers and polls all along, each request answered
#   within 5 s; the flooder never holds more than its 64 connections, the
#   rest are refused at once and the 64 are closed at the request deadline;
#   show stats counts both (conn_refused, conn_timed_out), and the log
#   says so in a few rate-limited lines, with the count of those held back;
# - the deadline is for the whole request, however slowly it trickles in
#   (one byte every 0.5 s: closed at 5 s), and starts again with each
#   answer (a kept-alive connection with a request every 3 s lives on);
# - two addresses in one IPv6 /64 are one source, for the connection limit
#   and the registration rate limit; the next /64 is another;
# - HTTP/1.1 without Host is a 400 that names Host (HTTP/1.0 needs none);
# - the new options are refused out of range, naming them.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

NS=gnf-$TAG
LORIS=$SRC/tests/integration/slowloris.py
A6=fd00:f100:0:1    # one /64: ::1 and ::2 in it
B6=fd00:f100:0:2    # the next /64: ::1
ulimit -n 8192 2>/dev/null || true
BG=()

flood_cleanup() {
	local rc=$?
	set +e
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	(exit $rc)
	cleanup   # lib.sh's (it reads $?): the daemon, the work directory, the log on failure
	ip netns del "$NS" 2>/dev/null
	exit $rc
}
trap flood_cleanup EXIT

# Background processes are started with ip netns exec itself, so that $!
# is theirs (it execs them) and the cleanup's kill reaches them.
in_flood_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
ip -n "$NS" link set lo up
for a in "$A6::1" "$A6::2" "$B6::1"; do ip -n "$NS" -6 addr add "$a/64" dev lo nodad; done

start_ns_daemon() {
	mkdir -p "$WORK/gnstate"
	# Not through in_flood_ns: $! must be glournetd's own pid (ip netns exec execs it).
	ip netns exec "$NS" "$GLOURNETD" --token "$TOKEN" --http "[::]:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/gnstate" --hb-addr 192.0.2.1 --idle-sleep-us 1000 "$@" \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" --no-pci \
		--vdev net_null0,no-rx=1 --log-level=lib.eal:warning >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		ctl show status >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "glournetd exited at start-up"
		sleep 0.1
	done
	fail "glournetd did not answer on $SOCK"
}

stat_http() { field ".http.$1" show stats; }

# raw REQUEST: sends it (printf escapes) to 127.0.0.1 and prints the
# answer's status code, then its body.
raw() {
	in_flood_ns python3 - "$HTTP_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
f = s.makefile("rb")
status = f.readline().split(b" ")
length = 0
for line in iter(f.readline, b"\r\n"):
    if line.lower().startswith(b"content-length:"):
        length = int(line.split(b":")[1])
print(status[1].decode() if len(status) > 1 else "none")
print(f.read(length).decode(errors="replace"))
EOF
}

expect_opt_error() {
	local part=$1; shift
	local out rc=0
	out=$("$GLOURNETD" --token x --ctl-socket "$WORK/none.sock" --state-dir "$WORK/none" "$@" \
		2>&1 </dev/null) || rc=$?
	[ $rc -eq 2 ] || fail "glournetd $*: exit $rc, want 2 (usage): $out"
	grep -qF -- "$part" <<<"$out" || fail "glournetd $*: '$out' does not name '$part'"
}

# ------------------------------------------------------------------ options
expect_opt_error "--source-v6-prefix '129': expected a whole number from 1 to 128" --source-v6-prefix 129
expect_opt_error "--source-v4-prefix '0': expected a whole number from 1 to 32" --source-v4-prefix 0
expect_opt_error "--http-max-conns-per-source 'many': expected a whole number from 0 to 1000000" \
	--http-max-conns-per-source many
expect_opt_error "--http-request-timeout: '0' is out of range: 1s .. 1h" \
	--http-request-timeout 0
pass "the per-source and deadline options refused out of range, named"

start_ns_daemon --http-request-timeout 5s --register-burst 3 --register-rate 1
AGENT_BASE=http://127.0.0.1:$HTTP_PORT

# ------------------------------------------------------------------ Host
m0=$(stat_http malformed)
{ read -r code; read -r body; } < <(raw 'GET /nope HTTP/1.1\r\n\r\n')
[ "$code" = 400 ] || fail "HTTP/1.1 without Host: $code, want 400"
jq -e '.error | test("Host")' <<<"$body" >/dev/null || fail "400 without Host does not name it: $body"
{ read -r code; read -r body; } < <(raw 'POST /v1/register HTTP/1.1\r\nAuthorization: Bearer '"$TOKEN"'\r\nContent-Length: 14\r\n\r\n{"guid": "nh"}')
[ "$code" = 400 ] || fail "a registration without Host: $code, want 400"
{ read -r code; read -r body; } < <(raw 'GET /nope HTTP/1.1\r\nHost: glournet\r\n\r\n')
[ "$code" = 404 ] || fail "HTTP/1.1 with Host: $code, want 404"
{ read -r code; read -r body; } < <(raw 'GET /nope HTTP/1.0\r\n\r\n')
[ "$code" = 404 ] || fail "HTTP/1.0 without Host: $code, want 404"
[ "$(stat_http malformed)" = $((m0 + 2)) ] || fail "the two 400s not counted as malformed"
ctl show client nh >/dev/null 2>&1 && fail "a registration without Host was applied"
pass "HTTP/1.1 without Host: 400 naming Host (nothing applied); with Host, or HTTP/1.0: served"

# ------------------------------------------------------------------ client errors
# 300 requests with a broken Content-Length: each a 400 from the library,
# which says so (twice); the log takes a few lines and tells the rest.
m0=$(stat_http malformed); log0=$(wc -l <"$WORK/daemon.log")
got=$(in_flood_ns python3 - "$HTTP_PORT" <<'EOF'
import socket, sys
n = 0
for i in range(300):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    s.sendall(b"GET /v1/poll HTTP/1.1\r\nHost: g\r\nContent-Length: x%d\r\n\r\n" % i)
    n += s.recv(64).startswith(b"HTTP/1.1 400")
    s.close()
print(n)
EOF
)
[ "$got" = 300 ] || fail "broken Content-Length: $got of 300 answered 400"
[ "$(stat_http malformed)" = $((m0 + 300)) ] || fail "the 300 not counted as malformed"
sleep 1.2   # the flush tells what was held back once the bucket has a line again
lines=$(tail -n +"$((log0 + 1))" "$WORK/daemon.log" | grep -c "libmicrohttpd:" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 40 ] || fail "$lines log lines for 300 bad requests, want 1..40"
log_since_has "$WORK/daemon.log" "$log0" "similar messages suppressed" ||
	fail "the log does not say how many of the client errors it held back"
pass "300 client errors: 300 answered 400 and counted, $lines log lines, the rest counted in the log"

# ------------------------------------------------------------------ the deadline
t0=$(stat_http conn_timed_out)
out=$(in_flood_ns python3 "$LORIS" --dst 127.0.0.1 --port "$HTTP_PORT" --src 127.0.0.5 \
	--conns 1 --max-attempts 1 --seconds 9 --period 0.5)
jq -e '.closed_later == 1 and .lifetime_min >= 4.8 and .lifetime_min <= 7.5' <<<"$out" >/dev/null ||
	fail "one byte every 0.5 s: want closed at the 5 s deadline, got $out"
[ "$(stat_http conn_timed_out)" = $((t0 + 1)) ] || fail "conn_timed_out: $(stat_http conn_timed_out), want $((t0 + 1))"
# A body trickling in is on the same clock.
out=$(in_flood_ns python3 - "$HTTP_PORT" "$TOKEN" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(("POST /v1/register HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: 100\r\n\r\n{" % sys.argv[2]).encode())
t = time.monotonic()
try:
    while time.monotonic() - t < 10:
        s.sendall(b" ")
        time.sleep(0.5)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        s.setblocking(True)
except OSError:
    pass
print(round(time.monotonic() - t, 1))
EOF
)
awk -v t="$out" 'BEGIN { exit !(t >= 4.5 && t <= 7.5) }' || fail "a trickling body: closed after $out s, want ~5"
[ "$(stat_http conn_timed_out)" = $((t0 + 2)) ] || fail "the trickling body not counted in conn_timed_out"
# Whole requests 3 s apart on one kept-alive connection: 9 s, never cut.
out=$(in_flood_ns python3 - "$HTTP_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
codes = []
for i in range(4):
    s.sendall(b"GET /nope HTTP/1.1\r\nHost: g\r\n\r\n")
    data = b""
    while b"}" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    codes.append(data.split(b" ")[1].decode() if data else "closed")
    if i < 3:
        time.sleep(3)
print(" ".join(codes))
EOF
)
[ "$out" = "404 404 404 404" ] || fail "requests 3 s apart on one connection: $out, want four 404s"
[ "$(stat_http conn_timed_out)" = $((t0 + 2)) ] || fail "a kept-alive connection with requests was cut"
pass "request deadline: a header or a body trickling in is closed at 5 s; a connection with whole requests lives on"

# ------------------------------------------------------------------ one /64, one source
r0=$(stat_http conn_refused)
ip netns exec "$NS" python3 "$LORIS" --dst "$A6::1" --port "$HTTP_PORT" --src "$A6::1,$A6::2" \
	--conns 80 --seconds 4 --max-attempts 200 >"$WORK/a64.json" &
BG+=($!)
ip netns exec "$NS" python3 "$LORIS" --dst "$A6::1" --port "$HTTP_PORT" --src "$B6::1" \
	--conns 10 --seconds 4 --max-attempts 10 >"$WORK/b64.json" &
BG+=($!)
wait "${BG[@]}"; BG=()
jq -e '.max_held == 64 and .refused >= 16' "$WORK/a64.json" >/dev/null ||
	fail "$A6::/64 from two addresses: want 64 held and the rest refused, got $(cat "$WORK/a64.json")"
jq -e '.max_held == 10 and .refused == 0' "$WORK/b64.json" >/dev/null ||
	fail "$B6::/64 beside it: want its 10 held, got $(cat "$WORK/b64.json")"
[ "$(stat_http conn_refused)" -ge $((r0 + 16)) ] || fail "conn_refused did not count the refusals"
# The registration bucket (burst 3) too: 2 + 1 from the /64's two addresses, then 429.
reg() {   # reg SOURCE GUID: the status of one registration from SOURCE
	in_flood_ns curl -sS -g -m 10 -o /dev/null -w '%{http_code}' --interface "$1" \
		-H "Authorization: Bearer $TOKEN" -d "{\"guid\": \"$2\"}" "http://[$1]:$HTTP_PORT/v1/register"
}
codes="$(reg "$A6::1" s1) $(reg "$A6::1" s2) $(reg "$A6::2" s3) $(reg "$A6::2" s4) $(reg "$B6::1" s5)"
[ "$codes" = "201 201 201 429 201" ] ||
	fail "registrations from one /64 (2, 2) and the next (1), burst 3: $codes, want 201 201 201 429 201"
pass "one /64 is one source: 64 connections from its two addresses together, one registration bucket; the next /64 apart"

# ------------------------------------------------------------------ the slowloris
ctl show stats >/dev/null
r0=$(stat_http conn_refused); t0=$(stat_http conn_timed_out)
log0=$(wc -l <"$WORK/daemon.log")
ip netns exec "$NS" python3 "$LORIS" --dst 127.0.0.1 --port "$HTTP_PORT" --src 127.0.0.2 \
	--conns 1100 --seconds 20 --reopen-rate 200 >"$WORK/loris.json" &
LORIS_PID=$!
BG+=($LORIS_PID)
sleep 3   # the 1,100 are open (or refused) by now
# A real agent from 127.0.0.1: a registration and a poll a round, all along.
rounds=0; worst=0
while kill -0 "$LORIS_PID" 2>/dev/null; do
	t=$(date +%s%N)
	st=$WORK/live$rounds.state
	in_flood_ns "$AGENT" register --server "$AGENT_BASE" --token "$TOKEN" --count 1 \
		--guid-prefix "live$rounds" --state "$st" --timeout 5 \
		>"$WORK/agent.out" 2>&1 || fail "round $rounds: registration failed: $(cat "$WORK/agent.out")"
	in_flood_ns "$AGENT" poll --server "$AGENT_BASE" --state "$st" \
		--interval 1 --duration 1 --timeout 5 \
		>"$WORK/agent.out" 2>&1 || fail "round $rounds: poll failed: $(cat "$WORK/agent.out")"
	grep -q "polled [1-9]" "$WORK/agent.out" || fail "round $rounds: no poll answered: $(cat "$WORK/agent.out")"
	ms=$(( ($(date +%s%N) - t) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	rounds=$((rounds + 1))
	sleep 0.5
done
wait "$LORIS_PID" || fail "slowloris.py failed"
BG=()
L=$(cat "$WORK/loris.json")
[ "$rounds" -ge 6 ] || fail "only $rounds agent rounds during the flood"
# Registration (store commit included) and a 1 s poll run: 5 s is the agent's own timeout.
[ "$worst" -lt 8000 ] || fail "an agent round took $worst ms during the flood"
jq -e '.attempts >= 1100 and .max_held <= 64 and .refused >= 1036 and .closed_later >= 64' \
	<<<"$L" >/dev/null || fail "slowloris: want <= 64 held, >= 1036 refused, the held closed at the deadline: $L"
jq -e '.lifetime_max <= 8' <<<"$L" >/dev/null || fail "a slow connection lived past the deadline: $L"
dr=$(( $(stat_http conn_refused) - r0 )); dt=$(( $(stat_http conn_timed_out) - t0 ))
[ "$dr" -ge "$(jq .refused <<<"$L")" ] || fail "conn_refused +$dr, the client saw $(jq .refused <<<"$L")"
[ "$dt" -ge "$(jq .closed_later <<<"$L")" ] || fail "conn_timed_out +$dt, the client saw $(jq .closed_later <<<"$L") closed"
# The log: a few lines for thousands of refusals, and how many were held back.
lines=$(tail -n +"$((log0 + 1))" "$WORK/daemon.log" | grep -c "refused: 127.0.0.2/32 holds" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 40 ] || fail "$lines log lines for $dr refused connections, want 1..40"
log_since_has "$WORK/daemon.log" "$log0" "similar messages suppressed" ||
	fail "the log does not say how many lines it held back"
pass "slowloris, $(jq .attempts <<<"$L") connections from one source in 20 s: $rounds agent rounds (register + poll) all answered, worst $worst ms; $dr refused, $dt closed at the deadline, $lines log lines"

# A clean exit after all that (under the sanitizers: no leak, no report).
stop_daemon
pass "glournetd stopped cleanly"
echo PASS
