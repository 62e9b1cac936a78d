#!/usr/bin/env bash
# The metrics endpoint (docs/metrics.md) on a running glournetd: --metrics
# refused when malformed or on the API's address; off by default; a real
# scrape, with registrations (regular and unreachable, in a range),
# heartbeats, a SHUTDOWN and drops of several reasons behind it, passes
# `promtool check metrics`, and its values are those of `glournetctl -j
# show status` and `show stats` read around it (tests/tools/metrics_check.py);
# the transitions it caused are counted by status and reason; /healthz
# answers alive, /readyz ready with each check, and not ready (503, the
# failing check named) while the store cannot commit (--state-dir a full
# tmpfs, as integration-store-full), ready again once it can; other paths 404,
# other methods 405, keep-alive kept; the documented families are exactly
# the scrape's, and every name the alerting rules and the Grafana
# dashboard use is one of them.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

command -v promtool >/dev/null || fail "promtool not installed (tools/setup-deps.sh installs prometheus)"
CHECK=$SRC/tests/tools/metrics_check.py
MPORT=$((HTTP_PORT + 2))
MURL=http://127.0.0.1:$MPORT
STATE=$WORK/gnstate
REG_PID=

state_cleanup() {
	[ -z "$REG_PID" ] || kill "$REG_PID" 2>/dev/null || true
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
	if mountpoint -q "$STATE"; then
		umount "$STATE" || umount -l "$STATE" || true
	fi
}
trap 'rc=$?; state_cleanup; set +e; (exit $rc); cleanup' EXIT
mkdir -p "$STATE"
if ! mount -t tmpfs -o size=24m,mode=0700 "gn-$TAG-state" "$STATE"; then
	echo "SKIP: cannot mount a tmpfs here"
	exit 77
fi

expect_opt_error() {
	local part=$1; shift
	local out rc=0
	out=$("$GLOURNETD" --token x --ctl-socket "$WORK/none.sock" --state-dir "$WORK/none" "$@" \
		2>&1 </dev/null) || rc=$?
	[ $rc -eq 2 ] || fail "glournetd $*: exit $rc, want 2 (usage): $out"
	grep -qF -- "$part" <<<"$out" || fail "glournetd $*: '$out' does not name '$part'"
}
expect_opt_error "--metrics '9100': expected ADDR:PORT" --metrics 9100
expect_opt_error "--metrics '127.0.0.1:$HTTP_PORT': the endpoint API listens there" \
	--http "127.0.0.1:$HTTP_PORT" --metrics "127.0.0.1:$HTTP_PORT"
grep -qF -- "--metrics ADDR:PORT|off" <<<"$("$GLOURNETD" --help)" || fail "--help has no --metrics line"
pass "--metrics refused when malformed or on the API's address; in --help"

# ------------------------------------------------------------ off by default

start_daemon --sweep-interval 1s
curl -s -m 2 -o /dev/null "$MURL/metrics" && fail "metrics answered without --metrics"
grep -q "metrics on" "$WORK/daemon.log" && fail "metrics listening without --metrics"
stop_daemon
pass "no metrics endpoint without --metrics"

# ------------------------------------------------------------- a real fleet

# Statuses hold still while the scrape is compared (offline after 60 s).
start_daemon_only --metrics "127.0.0.1:$MPORT" --hb-interval 10s --offline-after 60s \
	--sweep-interval 1s
grep -qF "metrics on http://127.0.0.1:$MPORT/metrics" "$WORK/daemon.log" ||
	fail "no 'metrics on' line in the log"
ctl range add 203.0.113.0/28 10.77.0.0/16 >/dev/null
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 8 \
	--guid-prefix mt --state "$WORK/state" >/dev/null || fail "register 8"
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 3 \
	--guid-prefix nat --ips-base 203.0.113.1 --state "$WORK/state-u" >/dev/null ||
	fail "register 3 unreachable"
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/v1/nothing"   # a 404 of the API
[ "$(field .clients show status)" = 11 ] || fail "11 clients"
[ "$(field .unreachable_online show status)" = 3 ] || fail "3 unreachable/online"

# Heartbeats for 0..3, a SHUTDOWN from 7, drops of several reasons at 5.
for i in 0 1 2 3; do
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid \
		--index $i >/dev/null
done
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind shutdown --index 7 >/dev/null
for kind in forged-mac:3 stale:2 unknown-slot:4 bad-magic:1; do
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind "${kind%:*}" \
		--index 5 --count "${kind#*:}" >/dev/null
done
wait_field 5 .total.accepted 5 show stats
wait_field 5 .total.dropped.unknown_slot 4 show stats
wait_field 5 .offline 1 show status
sleep 1.5 # a sweep: the heartbeats' reasons, the port counters read
pass "11 endpoints (3 unreachable), 5 heartbeats, a SHUTDOWN, 10 drops"

# ---------------------------------------------------------------- the scrape

ctlj show status >"$WORK/st1.json"
ctlj show stats >"$WORK/ss1.json"
code=$(curl -sS -m 10 -D "$WORK/mhdrs" -o "$WORK/scrape.txt" -w '%{http_code}' "$MURL/metrics") ||
	fail "scrape: curl exit $?"
ctlj show status >"$WORK/st2.json"
ctlj show stats >"$WORK/ss2.json"
[ "$code" = 200 ] || fail "/metrics answered $code"
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/mhdrs" || fail "/metrics content type"
out=$(promtool check metrics <"$WORK/scrape.txt" 2>&1) ||
	fail "promtool check metrics: $out"
[ -z "$out" ] || fail "promtool check metrics: $out"
pass "promtool check metrics passes on a scrape of $(grep -c '^glournet_' "$WORK/scrape.txt") samples"

out=$(python3 "$CHECK" compare "$WORK/scrape.txt" "$WORK/st1.json" "$WORK/ss1.json" \
	"$WORK/st2.json" "$WORK/ss2.json") || fail "the scrape against show status/stats: $out"
pass "the scrape's values are show status's and show stats'"

m() { # m 'SERIES': its value in the scrape
	awk -v s="$1" 'index($0, s " ") == 1 { print $NF; found = 1 } END { if (!found) print "none" }' \
		"$WORK/scrape.txt"
}
[ "$(m 'glournet_transitions_total{status="online",reason="registered"}')" = 8 ] ||
	fail "8 online/registered transitions: $(m 'glournet_transitions_total{status="online",reason="registered"}')"
[ "$(m 'glournet_transitions_total{status="unreachable/online",reason="registered"}')" = 3 ] ||
	fail "3 unreachable/online registered transitions"
[ "$(m 'glournet_transitions_total{status="offline",reason="shutdown"}')" = 1 ] ||
	fail "1 offline/shutdown transition"
[ "$(m 'glournet_unreachable_range_endpoints{range="203.0.113.0-203.0.113.15",status="unreachable/online"}')" = 3 ] ||
	fail "3 unreachable/online in 203.0.113.0/28"
[ "$(m 'glournet_unreachable_range_endpoints{range="10.77.0.0-10.77.255.255",status="unreachable/online"}')" = 0 ] ||
	fail "none in 10.77.0.0/16"
[ "$(m 'glournet_registrations_total{result="new"}')" = 11 ] || fail "11 new registrations"
[ "$(m 'glournet_http_responses_total{route="other",code="404",result="not_found"}')" = 1 ] ||
	fail "the API's 404"
[ "$(m 'glournet_heartbeats_dropped_total{worker="0",reason="bad_mac",route="ours"}')" = 3 ] || fail "3 bad_mac"
[ "$(m 'glournet_heartbeats_dropped_total{worker="0",reason="too_old",route="ours"}')" = 2 ] || fail "2 too_old"
[ "$(m 'glournet_heartbeats_accepted_total{worker="0"}')" = 5 ] || fail "5 accepted"
[ "$(m 'glournet_worker_shutdowns_total{worker="0"}')" = 1 ] || fail "1 shutdown"
[ "$(m 'glournet_control_events_total{event="shutdown"}')" = 1 ] || fail "1 shutdown passed on"
[ "$(m 'glournet_port_link_up{port="0"}')" = 1 ] || fail "link up"
[ "$(m 'glournet_metrics_scrapes_total')" = 1 ] || fail "the first scrape"
rp=$(m 'glournet_loop_job_passes_total{job="sweep"}')
[ "$rp" != none ] && [ "$rp" -ge 2 ] || fail "sweep passes: $rp"
pass "transitions by status and reason, ranges, registrations, drops by reason, link"

# ------------------------------------------------- the names other files use

out=$(python3 "$CHECK" names "$SRC/docs/metrics.md" --scrape "$WORK/scrape.txt" \
	"$SRC/deploy/prometheus/glournet-rules.yml" "$SRC"/deploy/prometheus/tests/*.yml \
	"$SRC/deploy/grafana/glournet.json") || fail "names: $out"
pass "docs/metrics.md documents exactly the scrape's families; rules and dashboard use only them"

# --------------------------------------------------- health, readiness, HTTP

body=$(curl -sS -m 5 -w ' %{http_code}' "$MURL/healthz") || fail "/healthz: curl"
[ "$body" = $'ok\n 200' ] || fail "/healthz: '$body'"
code=$(curl -sS -m 5 -o "$WORK/ready" -w '%{http_code}' "$MURL/readyz")
[ "$code" = 200 ] || fail "/readyz answered $code: $(cat "$WORK/ready")"
[ "$(head -1 "$WORK/ready")" = ready ] || fail "/readyz: $(cat "$WORK/ready")"
for check in '[+]store ok' '[+]link up' '[+]loop ok'; do
	grep -qF -- "$check" "$WORK/ready" || fail "/readyz has no '$check': $(cat "$WORK/ready")"
done
pass "/healthz ok; /readyz ready: store, link, loop"

# The store full: its commits fail, and a registration waits on them.
dd if=/dev/zero of="$STATE/filler" bs=64k status=none 2>/dev/null || true
curl -s -m 60 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HTTP_PORT/v1/register" \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"guid":"held-1","hostname":"h","ips":["198.51.100.99"],"reason":"install","notify_port":21112}' \
	>"$WORK/held.code" &
REG_PID=$!
for _ in $(seq 100); do
	code=$(curl -sS -m 5 -o "$WORK/ready" -w '%{http_code}' "$MURL/readyz")
	[ "$code" = 503 ] && break
	sleep 0.1
done
[ "$code" = 503 ] || fail "/readyz with the store full answered $code: $(cat "$WORK/ready")"
[ "$(head -1 "$WORK/ready")" = "not ready" ] || fail "/readyz: $(cat "$WORK/ready")"
grep -qF -- '[-]store: alarm: ' "$WORK/ready" || fail "/readyz does not name the store: $(cat "$WORK/ready")"
grep -qF -- 'disk is full' "$WORK/ready" || fail "/readyz does not say why: $(cat "$WORK/ready")"
grep -qF -- '[+]link up' "$WORK/ready" || fail "/readyz: the link should still pass: $(cat "$WORK/ready")"
curl -sS -m 5 "$MURL/metrics" >"$WORK/scrape2.txt"
grep -qx 'glournet_store_alarm 1' "$WORK/scrape2.txt" || fail "glournet_store_alarm not 1 with the store full"
q=$(awk '$1 == "glournet_store_queue_ops" { print $2 }' "$WORK/scrape2.txt")
[ "$q" -ge 1 ] || fail "glournet_store_queue_ops $q with a registration waiting"
[ "$(awk '$1 == "glournet_http_held_answers" { print $2 }' "$WORK/scrape2.txt")" = 1 ] ||
	fail "glournet_http_held_answers not 1"
rm -f "$STATE/filler"
for _ in $(seq 100); do
	code=$(curl -sS -m 5 -o "$WORK/ready" -w '%{http_code}' "$MURL/readyz")
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || fail "/readyz once the store commits again: $code: $(cat "$WORK/ready")"
wait "$REG_PID" || true
REG_PID=
[ "$(cat "$WORK/held.code")" = 201 ] || fail "the held registration answered $(cat "$WORK/held.code")"
pass "/readyz 503 naming the store's alarm while its disk is full, 200 once it commits"

code=$(curl -s -m 5 -o "$WORK/body" -w '%{http_code}' "$MURL/nothing")
[ "$code" = 404 ] || fail "/nothing answered $code"
code=$(curl -s -m 5 -o "$WORK/body" -D "$WORK/hdrs" -w '%{http_code}' -X POST -d x "$MURL/metrics")
[ "$code" = 405 ] || fail "POST /metrics answered $code"
grep -qi '^allow: GET' "$WORK/hdrs" || fail "405 without Allow"
curl -sv -m 5 -o /dev/null -o /dev/null "$MURL/metrics" "$MURL/metrics" 2>"$WORK/curl.log" ||
	fail "two scrapes on one connection"
grep -qi "re-using existing connection" "$WORK/curl.log" || fail "keep-alive lost between scrapes"
pass "404 elsewhere, 405 with Allow for POST, two scrapes on one connection"

stop_daemon
echo "PASS"
