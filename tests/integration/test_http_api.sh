#!/usr/bin/env bash
# The endpoint HTTP API (docs/protocol.md §3) as agents see it on the wire: every
# endpoint and every error status, with {"error": ...} JSON bodies, over
# plain HTTP and HTTPS (verified against tools/make-cert.sh's certificate),
# IPv4 and IPv6 on dual-stack listeners, keep-alive kept; the body and
# header limits; the registration rate limit per source (429 + Retry-After,
# IPv4 and IPv6 sources apart, only POST /v1/register); `show stats` .http
# counting exactly what was sent; the TLS and limit options refused with
# messages naming them; both listeners off allowed, with a warning.
# The lab's veth only gives glournetd its DPDK port: HTTP goes over loopback.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

TLS=$WORK/tls
bash "$SRC/tools/make-cert.sh" "$TLS" >/dev/null || fail "tools/make-cert.sh"
CRT=$TLS/glournet.crt
KEY=$TLS/glournet.key
HTTPS_PORT=$((HTTP_PORT + 1))
GLAPI=$SRC/tests/tools/glapi.py
BIG=$(head -c 20000 /dev/zero | tr '\0' a)

# ---------------------------------------------------------------- helpers

declare -A WANT=()     # counter name -> how many requests should end in it
SENT=0                 # requests sent
count() { WANT[$1]=$(( ${WANT[$1]:-0} + ${2:-1} )); SENT=$((SENT + ${2:-1})); }

# call COUNTER STATUS CURL_ARGS...: one request; checks the status, and for
# an error the {"error": "..."} JSON body; counts it under COUNTER ("-": none).
# Leaves the body in $WORK/body and the headers in $WORK/hdrs.
call() {
	local counter=$1 want=$2; shift 2
	local got
	got=$(curl -sS -g --cacert "$CRT" -m 10 -o "$WORK/body" -D "$WORK/hdrs" \
		-w '%{http_code}' "$@") || fail "curl $*: exit $?"
	[ "$got" = "$want" ] || fail "curl $*: status $got, want $want: $(head -c 300 "$WORK/body")"
	if [ "$want" -ge 400 ] && [ "$want" != 431 ]; then
		jq -e '.error | type == "string" and length > 0' "$WORK/body" >/dev/null ||
			fail "curl $*: $want without an {\"error\": ...} body: $(head -c 300 "$WORK/body")"
		grep -qi '^content-type: application/json' "$WORK/hdrs" ||
			fail "curl $*: $want not application/json"
	fi
	[ "$counter" = - ] || count "$counter"
}
hdr() { grep -i "^$1:" "$WORK/hdrs" | head -1 | cut -d: -f2- | tr -d ' \r'; }

# macs KEY CONTEXT ID TIME [KEY CONTEXT ID TIME...]: one MAC (16 hex) a line,
# over CONTEXT|id|time under KEY (32 hex), as docs/protocol.md §3. One python run.
macs() {
	python3 - "$SRC/tests/tools" "$@" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[1])
import hbforge
hbforge.SODIUM = hbforge.load_sodium()
a = sys.argv[2:]
for i in range(0, len(a), 4):
    key, ctx, ep_id, t = bytes.fromhex(a[i]), a[i + 1].encode(), int(a[i + 2], 16), int(a[i + 3])
    print(hbforge.siphash(key, ctx + struct.pack(">QI", ep_id, t)).hex())
EOF
}

# glapi STATE BASE ARGS...: glapi.py against BASE (https trusts our certificate).
glapi() {
	local state=$1 base=$2; shift 2
	SSL_CERT_FILE=$CRT python3 "$GLAPI" --state "$state" --server "$base" "$@"
}

# expect_opt_error PART ARGS...: glournetd refuses its command line (exit 2)
# with a message naming PART, before EAL starts.
expect_opt_error() {
	local part=$1; shift
	local out rc=0
	out=$("$GLOURNETD" --token x --ctl-socket "$WORK/none.sock" --state-dir "$WORK/none" "$@" \
		2>&1 </dev/null) || rc=$?
	[ $rc -eq 2 ] || fail "glournetd $*: exit $rc, want 2 (usage): $out"
	grep -qF -- "$part" <<<"$out" || fail "glournetd $*: '$out' does not name '$part'"
}

stats() { ctlj show stats | jq -c .http; }

# check_counters: every .http counter is what was sent, and requests the total.
check_counters() {
	local http name want got
	http=$(stats)
	for name in $(jq -r 'keys[]' <<<"$http"); do
		[ "$name" = requests ] && continue
		want=${WANT[$name]:-0}
		got=$(jq -r ".\"$name\"" <<<"$http")
		[ "$got" = "$want" ] || fail "show stats .http.$name = $got, want $want ($http)"
	done
	for name in "${!WANT[@]}"; do
		jq -e "has(\"$name\")" <<<"$http" >/dev/null || fail "no counter .http.$name"
	done
	[ "$(jq .requests <<<"$http")" = "$SENT" ] ||
		fail "show stats .http.requests = $(jq .requests <<<"$http"), want $SENT"
}

# ------------------------------------------------ options, before any daemon

expect_opt_error "needs --tls-cert FILE and --tls-key FILE" --https "127.0.0.1:$HTTPS_PORT"
expect_opt_error "--https is off" --tls-cert "$CRT" --tls-key "$KEY"
expect_opt_error "--tls-cert '$WORK/missing.crt': No such file" \
	--https "127.0.0.1:$HTTPS_PORT" --tls-cert "$WORK/missing.crt" --tls-key "$KEY"
expect_opt_error "--tls-cert '$KEY': no '-----BEGIN CERTIFICATE-----'" \
	--https "127.0.0.1:$HTTPS_PORT" --tls-cert "$KEY" --tls-key "$KEY"
expect_opt_error "--tls-key '$CRT': no '-----BEGIN ... PRIVATE KEY-----'" \
	--https "127.0.0.1:$HTTPS_PORT" --tls-cert "$CRT" --tls-key "$CRT"
expect_opt_error "--https '::1:$HTTPS_PORT': expected ADDR:PORT (IPv4), [ADDR]:PORT" \
	--https "::1:$HTTPS_PORT" --tls-cert "$CRT" --tls-key "$KEY"
expect_opt_error "--http and --https both" --http "[::]:$HTTP_PORT" --https "[::]:$HTTP_PORT" \
	--tls-cert "$CRT" --tls-key "$KEY"
expect_opt_error "--http-max-body '10': expected a whole number from 64 to 16777216" --http-max-body 10
expect_opt_error "--http-max-header '1000': expected a whole number from 4096 to 1048576" \
	--http-max-header 1000
expect_opt_error "--register-rate 'fast': expected a whole number from 0 to 1000000" \
	--register-rate fast
expect_opt_error "--register-burst '0': expected a whole number from 1 to 1000000" \
	--register-burst 0
pass "TLS and limit options refused with messages naming the option, the file and the range"

# ------------------------------------- one daemon, HTTP and HTTPS, both dual stack

start_daemon --http "[::]:$HTTP_PORT" --https "[::]:$HTTPS_PORT" --tls-cert "$CRT" --tls-key "$KEY"
grep -qF "HTTPS API listening on [::]:$HTTPS_PORT (IPv4 and IPv6)" "$WORK/daemon.log" ||
	fail "no HTTPS listening line in the log"

BASES=("http://127.0.0.1:$HTTP_PORT" "http://[::1]:$HTTP_PORT"
       "https://127.0.0.1:$HTTPS_PORT" "https://[::1]:$HTTPS_PORT")
AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"

for i in "${!BASES[@]}"; do
	B=${BASES[$i]}
	G="api-$i"
	BODY="{\"guid\": \"$G\", \"hostname\": \"host-$i\", \"ips\": [\"192.0.2.$((i + 1))\", \"2001:db8::$((i + 1))\"], \"reason\": \"install\", \"notify_port\": 21112}"

	# --- POST /v1/register: 201 new, 200 known (same id and slot).
	call register_new 201 -X POST -H "$AUTH" -H "$JSON" -d "$BODY" "$B/v1/register"
	grep -qi '^content-type: application/json' "$WORK/hdrs" || fail "$B register: content type"
	jq -e '(.id | test("^[0-9a-f]{16}$")) and (.key | test("^[0-9a-f]{32}$")) and
	       (.slot | type == "number") and (.server_time | type == "number") and
	       (.heartbeat.port == 7100) and (.heartbeat.addrs | length == 2) and
	       (.poll.interval | type == "number") and (.settings_rev | type == "number") and
	       (.unreachable == false)' "$WORK/body" >/dev/null || fail "$B register 201 body: $(cat "$WORK/body")"
	ID=$(jq -r .id "$WORK/body"); SLOT=$(jq -r .slot "$WORK/body"); KEY1=$(jq -r .key "$WORK/body")
	# Issue 13 item 6: without proof, a live endpoint is not taken over
	# (register.replace_after, default 1 h): 409, the key kept.
	call register_conflict 409 -X POST -H "$AUTH" -H "$JSON" -d "$BODY" "$B/v1/register"
	jq -e '.error | contains("register.replace_after")' "$WORK/body" >/dev/null ||
		fail "$B register again without proof: $(cat "$WORK/body")"
	KEY2=$KEY1

	# --- its errors
	call unauthorized 401 -X POST -H "Authorization: Bearer wrong-$TOKEN" -d "$BODY" "$B/v1/register"
	call unauthorized 401 -X POST -d "$BODY" "$B/v1/register"
	call malformed 400 -X POST -H "$AUTH" -d '{"guid": ' "$B/v1/register"
	call malformed 400 -X POST -H "$AUTH" -d '["not", "an object"]' "$B/v1/register"
	call bad_field 400 -X POST -H "$AUTH" -d '{"guid": 5}' "$B/v1/register"
	call bad_field 400 -X POST -H "$AUTH" -d '{"hostname": "no-guid"}' "$B/v1/register"
	call bad_field 400 -X POST -H "$AUTH" -d '{"guid": "x", "notify_port": "80"}' "$B/v1/register"
	call bad_field 400 -X POST -H "$AUTH" -d '{"guid": "x", "ips": "192.0.2.1"}' "$B/v1/register"
	call too_large 413 -X POST -H "$AUTH" -d "{\"guid\": \"$BIG\"}" "$B/v1/register"
	jq -e '.error | contains("16384")' "$WORK/body" >/dev/null || fail "413 does not give the limit"

	# --- paths and methods
	call not_found 404 "$B/v1/nope"
	call not_found 404 -X POST -d '{}' "$B/"
	call bad_method 405 "$B/v1/register"
	[ "$(hdr Allow)" = POST ] || fail "$B GET /v1/register: 405 without Allow: POST"
	call bad_method 405 -X POST -d '{}' "$B/v1/poll"
	[ "$(hdr Allow)" = GET ] || fail "$B POST /v1/poll: 405 without Allow: GET"
	call bad_method 405 "$B/v1/event"

	# --- GET /v1/poll and POST /v1/event, signed (glapi.py, urllib; TLS through SSL_CERT_FILE)
	ST=$WORK/p$i.state
	"$AGENT" register --server "$B" --cacert "$CRT" --token "$TOKEN" --count 1 \
		--guid-prefix "poller$i" --state "$ST" >/dev/null || fail "$B: agent register"
	count register_new
	glapi "$ST" "$B" poll >"$WORK/poll.out"
	read -r STATUS ETAG <"$WORK/poll.out"
	[ "$STATUS" = 200 ] && [ "$ETAG" != - ] || fail "$B poll: $(cat "$WORK/poll.out")"
	tail -n +2 "$WORK/poll.out" | jq -e '.settings_rev and (.heartbeat | type == "object")' \
		>/dev/null || fail "$B poll body"
	count poll
	glapi "$ST" "$B" poll --etag "$ETAG" >"$WORK/poll.out"
	[ "$(head -1 "$WORK/poll.out")" = "304 $ETAG" ] || fail "$B poll with its ETag: $(cat "$WORK/poll.out")"
	count poll_not_modified
	glapi "$ST" "$B" event manual-update >"$WORK/ev.out"
	[ "$(head -1 "$WORK/ev.out" | cut -d' ' -f1)" = 200 ] || fail "$B event: $(cat "$WORK/ev.out")"
	tail -n +2 "$WORK/ev.out" | jq -e '.recorded == true' >/dev/null || fail "$B event body"
	count event

	# --- handmade signed headers: one python run for the MACs
	PID_=$(awk '!/^#/ {print $2; exit}' "$ST"); PKEY=$(awk '!/^#/ {print $4; exit}' "$ST")
	# Ahead of glapi's last second (within the 30 s skew): a request of a
	# kind with the same id and time would be a replay (409).
	T=$(($(date +%s) + 2))
	{ read -r RGMAC; read -r STALEMAC; read -r EVMAC; } < <(macs "$KEY2" GLRGST "$ID" "$T" \
		"$PKEY" GLPOLL "$PID_" $((T - 1000)) "$PKEY" GLEVNT "$PID_" "$T")

	# With proof of the key (MAC over GLRGST, id, time): 200 and the key is kept.
	call register_known 200 -X POST -H "$AUTH" -H "$JSON" -H "X-Glournet-Id: $ID" \
		-H "X-Glournet-Time: $T" -H "X-Glournet-Mac: $RGMAC" -d "$BODY" "$B/v1/register"
	[ "$(jq -r .key "$WORK/body")" = "$KEY2" ] || fail "$B register with proof: key changed"
	[ "$(jq -r .id "$WORK/body"),$(jq -r .slot "$WORK/body")" = "$ID,$SLOT" ] ||
		fail "$B register with proof: id/slot changed"

	# --- poll and event errors
	call bad_mac 401 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" \
		-H "X-Glournet-Mac: 0000000000000000" "$B/v1/poll"
	call stale_time 401 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $((T - 1000))" \
		-H "X-Glournet-Mac: $STALEMAC" "$B/v1/poll"
	call unknown_id 404 -H "X-Glournet-Id: 00000000deadbeef" -H "X-Glournet-Time: $T" \
		-H "X-Glournet-Mac: 0000000000000000" "$B/v1/poll"
	call malformed 400 "$B/v1/poll"
	call malformed 400 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" "$B/v1/poll"
	call malformed 400 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: soon" \
		-H "X-Glournet-Mac: 0000000000000000" "$B/v1/poll"
	call bad_mac 401 -X POST -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" \
		-H "X-Glournet-Mac: 0000000000000000" -d '{"type": "log-upload"}' "$B/v1/event"
	call bad_field 400 -X POST -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" \
		-H "X-Glournet-Mac: $EVMAC" -d '{"type": "reboot"}' "$B/v1/event"
	# Issue 13 item 5: the same MAC with another body is a replay, refused.
	call replayed 409 -X POST -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" \
		-H "X-Glournet-Mac: $EVMAC" -d 'nonsense' "$B/v1/event"
	call malformed 400 -X POST -d '{"type": "log-upload"}' "$B/v1/event"

	# --- a header block over --http-max-header (16 KiB): the library's 431
	call header_too_large 431 -H "X-Big: $BIG" "$B/v1/poll"

	# --- keep-alive: two requests, one connection
	n=$(curl -sS -g --cacert "$CRT" -m 10 -o /dev/null -o /dev/null -w '%{num_connects}\n' \
		"$B/v1/nope" "$B/v1/nope" | tr '\n' ' ')
	[ "$n" = "1 0 " ] || fail "$B: connections for two requests: $n, want '1 0 ' (keep-alive)"
	count not_found 2
	pass "$B: register 201/409/200, 401, 400, 413, 404, 405, poll 200/304, event 200, 401/404/400/409, 431, keep-alive"
done

# ---------------------------------------------- issue 13: replays, v2, takeover, names
B=http://127.0.0.1:$HTTP_PORT
ST=$WORK/p0.state
PID_=$(awk '!/^#/ {print $2; exit}' "$ST"); PKEY=$(awk '!/^#/ {print $4; exit}' "$ST")
ips_of() { ctlj show client "$PID_" | jq -c .ips; }
IPS0=$(ips_of)
# A captured v1 poll: accepted once, refused after, with or without other addresses.
T=$(date +%s)
PMAC=$(macs "$PKEY" GLPOLL "$PID_" "$T")
call poll 200 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" -H "X-Glournet-Mac: $PMAC" "$B/v1/poll"
call replayed 409 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" -H "X-Glournet-Mac: $PMAC" "$B/v1/poll"
call replayed 409 -H "X-Glournet-Id: $PID_" -H "X-Glournet-Time: $T" -H "X-Glournet-Mac: $PMAC" \
	-H "X-Glournet-Ips: 192.0.2.99" "$B/v1/poll"
# A v1 poll with addresses counts as a poll; the addresses are not applied.
glapi "$ST" "$B" poll --ips 192.0.2.99 >"$WORK/poll.out"
[ "$(head -1 "$WORK/poll.out" | cut -d' ' -f1)" = 200 ] || fail "v1 poll with ips: $(cat "$WORK/poll.out")"
count poll_v1_ips_ignored
[ "$(ips_of)" = "$IPS0" ] || fail "a v1 poll moved the addresses: $(ips_of), was $IPS0"
# Version 2: the signed addresses are applied; the agent polls v2.
glapi "$ST" "$B" --v2 poll --ips 192.0.2.77 >"$WORK/poll.out"
[ "$(head -1 "$WORK/poll.out" | cut -d' ' -f1)" = 200 ] || fail "v2 poll with ips: $(cat "$WORK/poll.out")"
count poll
[ "$(ips_of)" = '["192.0.2.77"]' ] || fail "v2 poll: addresses $(ips_of), want [\"192.0.2.77\"]"
glapi "$ST" "$B" --v2 event log-upload >"$WORK/ev.out"
[ "$(head -1 "$WORK/ev.out" | cut -d' ' -f1)" = 200 ] || fail "v2 event: $(cat "$WORK/ev.out")"
count event
"$AGENT" poll --server "$B" --state "$ST" --ips 192.0.2.78 --duration 1 >"$WORK/agent.out" 2>&1 ||
	fail "agent poll: $(cat "$WORK/agent.out")"
count poll
[ "$(ips_of)" = '["192.0.2.78"]' ] || fail "agent's v2 poll: addresses $(ips_of), want [\"192.0.2.78\"]"
pass "a captured poll is refused the second time (409), with other addresses too; a v1 poll's addresses are ignored, a v2 poll's (glapi, the agent) applied"

# The agent's --print-times (bench/http's signed wrk runs): N sets an
# endpoint at N distinct consecutive times, each accepted once.
"$AGENT" register --server "$B" --token "$TOKEN" --count 1 --guid-prefix times \
	--state "$WORK/times.state" >/dev/null || fail "agent register (times)"
count register_new
mapfile -t H < <("$AGENT" poll --state "$WORK/times.state" --print-headers --print-times 3 | grep .)
[ "${#H[@]}" = 9 ] || fail "--print-times 3: ${#H[@]} header lines, want 9: ${H[*]}"
TS=$(printf '%s\n' "${H[@]}" | sed -n 's/^X-Glournet-Time: //p' | tr '\n' ' ')
read -r t0 t1 t2 <<<"$TS"
[ $((t0 - t1)) = 1 ] && [ $((t1 - t2)) = 1 ] || fail "--print-times 3: times $TS, want consecutive, newest first"
for i in 0 3 6; do
	call poll 200 -H "${H[i]}" -H "${H[i + 1]}" -H "${H[i + 2]}" "$B/v1/poll"
done
call replayed 409 -H "${H[3]}" -H "${H[4]}" -H "${H[5]}" "$B/v1/poll"
"$AGENT" poll --state "$WORK/times.state" --print-times 2 >"$WORK/pt.out" 2>&1 && fail "--print-times without --print-headers accepted"
grep -q -- "--print-times goes with --print-headers" "$WORK/pt.out" || fail "--print-times alone: $(cat "$WORK/pt.out")"
pass "agent poll --print-headers --print-times 3: three distinct times, each poll accepted once, a repeat refused (409)"

# register.replace_after: the 409 was logged with its source; 0 replaces at once.
grep -q "registration of known guid 'api-0'.*refused from 127.0.0.1" "$WORK/daemon.log" ||
	fail "no log line naming the refused registration's source"
ctl set register.replace_after 0 >/dev/null || fail "set register.replace_after 0"
BODY0='{"guid": "api-0", "ips": ["192.0.2.1"]}'
call register_rekeyed 200 -X POST -H "$AUTH" -H "$JSON" -d "$BODY0" "$B/v1/register"
ctl set register.replace_after 1h >/dev/null || fail "set register.replace_after 1h"
call register_conflict 409 -X POST -H "$AUTH" -H "$JSON" -d "$BODY0" "$B/v1/register"
pass "a known guid without proof: 409 while alive, logged with its source; replaced with register.replace_after 0"

# Names that would drive the operator's terminal are refused.
call unsafe_text 400 -X POST -H "$AUTH" -H "$JSON" -d '{"guid": "evil\u202eexe"}' "$B/v1/register"
call unsafe_text 400 -X POST -H "$AUTH" -H "$JSON" -d '{"guid": "g-c1", "hostname": "pc\u009b2J"}' "$B/v1/register"
jq -e '.error | startswith("hostname: ") and contains("bidi")' "$WORK/body" >/dev/null ||
	fail "unsafe hostname: $(cat "$WORK/body")"
pass "guids and hostnames with C1 or bidi controls refused (400 unsafe_text)"

# --- a body far over the limit: 413 before it is read (the connection closes)
head -c $((3 << 20)) /dev/zero | tr '\0' a >"$WORK/huge"
call too_large 413 -X POST -H "$AUTH" --data-binary @"$WORK/huge" "http://127.0.0.1:$HTTP_PORT/v1/register"
grep -qi '^connection: close' "$WORK/hdrs" || fail "3 MiB body: 413 without Connection: close"
pass "a 3 MiB body answered 413 at once"

# --- TLS is TLS, verified: no trust, no answer; plain HTTP on the TLS port, none either
rc=0; curl -sS -m 5 -o /dev/null "https://127.0.0.1:$HTTPS_PORT/v1/poll" 2>/dev/null || rc=$?
[ $rc = 60 ] || fail "https without --cacert: curl exit $rc, want 60 (certificate not trusted)"
# The client offers each version alone (any cipher): only 1.2 and 1.3 are taken.
tls_versions=$(python3 - "$HTTPS_PORT" <<'EOF' 2>/dev/null
import socket, ssl, sys, warnings
warnings.simplefilter("ignore")
for name in ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, name)
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5) as s, ctx.wrap_socket(s):
            print(name, end=" ")
    except (ssl.SSLError, OSError):
        pass
EOF
)
[ "$tls_versions" = "TLSv1_2 TLSv1_3 " ] || fail "TLS versions accepted: '$tls_versions', want 1.2 and 1.3"
rc=0; curl -sS -m 5 -o /dev/null "http://127.0.0.1:$HTTPS_PORT/v1/poll" 2>/dev/null || rc=$?
[ $rc != 0 ] || fail "plain HTTP answered on the HTTPS port"
call not_found 404 "https://localhost:$HTTPS_PORT/v1/nope"    # SAN DNS:localhost
[ "$(stats | jq .requests)" = "$SENT" ] || fail "failed TLS handshakes counted as requests"
pass "HTTPS verified against the demo certificate (IP and DNS SANs), TLS >= 1.2 only"

check_counters
pass "show stats .http: every counter what was sent ($SENT requests)"

# ------------------------------------------ registration rate limit: burst 5, 1/s
stop_daemon
start_daemon_only --http "[::]:$HTTP_PORT" --https "127.0.0.1:$HTTPS_PORT" \
	--tls-cert "$CRT" --tls-key "$KEY" --register-burst 5 --register-rate 1
RL=(-X POST -H "$JSON" -d '{"guid": "rl-1"}')
V4=http://127.0.0.1:$HTTP_PORT/v1/register
# 8 registrations at once on one connection: the burst, then 429.
urls=(); for _ in 1 2 3 4 5 6 7 8; do urls+=(-o /dev/null "$V4"); done
codes=$(curl -sS -m 10 -H "$AUTH" "${RL[@]}" -w '%{http_code}\n' "${urls[@]}" | tr '\n' ' ')
read -r -a c <<<"$codes"
ok=0; limited=0
for s in "${c[@]}"; do
	# 409: rl-1 again without proof while alive (register.replace_after).
	case $s in 200 | 201 | 409) ok=$((ok + 1)) ;; 429) limited=$((limited + 1)) ;; *) fail "burst: status $s ($codes)" ;; esac
done
[ "${c[4]}" != 429 ] && [ "${c[6]}" = 429 ] && [ "${c[7]}" = 429 ] ||
	fail "burst 5: want 5 accepted then 429, got $codes"
RATE_LIMITED=$limited
call - 429 -X POST -H "$AUTH" -d '{"guid": "rl-2"}' "$V4"
RATE_LIMITED=$((RATE_LIMITED + 1))
RA=$(hdr Retry-After)
[[ "$RA" =~ ^[0-9]+$ ]] && [ "$RA" -ge 1 ] || fail "429 without Retry-After >= 1 (got '$RA')"
jq -e '.error | test("too many registrations")' "$WORK/body" >/dev/null || fail "429 error text"
# Same source over HTTPS: the same bucket. Any token or none: 401 and 400 are still 429.
call - 429 -X POST -H "$AUTH" -d '{"guid": "rl-3"}' "https://127.0.0.1:$HTTPS_PORT/v1/register"
call - 429 -X POST -H "Authorization: Bearer nope" -d '{}' "$V4"
RATE_LIMITED=$((RATE_LIMITED + 2))
# Another source (::1 on the dual-stack listener): its own bucket.
call - 201 -X POST -H "$AUTH" -d '{"guid": "rl-v6"}' "http://[::1]:$HTTP_PORT/v1/register"
# Only registration is limited.
call - 400 "http://127.0.0.1:$HTTP_PORT/v1/poll"
call - 405 "$V4"
call - 404 "http://127.0.0.1:$HTTP_PORT/v1/nope"
sleep "$RA"
call - 201 -X POST -H "$AUTH" -d '{"guid": "rl-after"}' "$V4"
[ "$(stats | jq .rate_limited)" = "$RATE_LIMITED" ] ||
	fail "show stats .http.rate_limited = $(stats | jq .rate_limited), want $RATE_LIMITED"
# An agent told Retry-After waits and gets through.
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 8 --retries 10 \
	--guid-prefix patient --state "$WORK/patient.state" >"$WORK/patient.out" ||
	fail "agent with --retries: $(cat "$WORK/patient.out")"
[ "$(stats | jq .rate_limited)" -gt "$RATE_LIMITED" ] || fail "8 registrations in a row were not limited"
pass "rate limit: burst 5 then 429 + Retry-After $RA, per source (IPv4/IPv6), both listeners, register only; agents retry through"

# ------------------------------------------------ both off; a key that does not fit
stop_daemon
start_daemon_only --http off
grep -q "no HTTP API (--http off, no --https)" "$WORK/daemon.log" || fail "both off: no warning"
rc=0; curl -sS -m 3 -o /dev/null "http://127.0.0.1:$HTTP_PORT/v1/poll" 2>/dev/null || rc=$?
[ $rc = 7 ] || fail "--http off: still listening (curl exit $rc)"
stop_daemon
pass "--http off without --https: runs, warns, listens nowhere"

bash "$SRC/tools/make-cert.sh" "$WORK/tls2" >/dev/null
rc=0
timeout 60 "$GLOURNETD" --token "$TOKEN" --http off --https "127.0.0.1:$HTTPS_PORT" \
	--tls-cert "$CRT" --tls-key "$WORK/tls2/glournet.key" --ctl-socket "$SOCK" \
	--state-dir "$WORK/gnstate" -- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-$TAG" \
	--no-pci --vdev "net_af_packet0,iface=$(lab_host "$TAG")" --log-level=lib.eal:warning \
	>"$WORK/mismatch.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "certificate with another key: exit $rc, want 1"
grep -qF "cannot use --tls-cert '$CRT' with --tls-key '$WORK/tls2/glournet.key'" "$WORK/mismatch.log" ||
	fail "certificate with another key: $(grep -i tls "$WORK/mismatch.log")"
pass "a key that does not fit the certificate: start refused, both files named"
echo PASS
