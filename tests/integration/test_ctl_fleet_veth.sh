#!/usr/bin/env bash
# Issue 14's fleet queries and access, against a real glournetd: 10
# endpoints heartbeat, 20 registered ones stay silent and go offline.
#  - show clients --status offline lists exactly the 20 (table and JSON
#    lines); show counts; --not-seen-since and --guid filters; pages by
#    --limit and --after cover the 30 once each;
#  - the read-only socket (--ctl-socket-ro, mode 0666): show and show
#    clients from any uid, set refused with exit 4; the main socket
#    (--ctl-socket-group nogroup) refuses others with exit 4 (it said 3,
#    "not running");
#  - remove client by filter: without --force off a terminal, exit 2 and
#    nothing removed; --dry-run counts; --force removes and the feed has
#    the removals; then 20 names in one command (15 failed: "(1..16 words)");
#  - exit codes: the daemon's usage errors 2 (were 1), -j errors on stdout;
#    show status has version and uptime; glournetctl --version;
#  - a restart: the numbering goes on (a watcher from #1 is told what it
#    missed, resume = the first number of the new run; it began at 1 again).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

AGENT_PID=
stop_agent() {
	if [ -n "$AGENT_PID" ]; then
		kill -TERM "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
		AGENT_PID=
	fi
}
trap 'rc=$?; stop_agent; (exit $rc); cleanup' EXIT
as_other() { setpriv --reuid 1002 --regid 1002 --clear-groups -- "$@"; }   # in no group of ours
RO=$WORK/ro.sock
DAEMON_ARGS=(--set heartbeat.interval=1s --set heartbeat.offline_after=3s --set guard.threshold=0
	--sweep-interval 1s --ctl-socket-group nogroup --ctl-socket-ro "$RO" --ctl-socket-ro-mode 0666)
start_daemon "${DAEMON_ARGS[@]}"
chmod 0711 "$WORK"   # other uids reach the sockets (and are judged by them)

"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix live --state "$WORK/live.state" >/dev/null
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 20 \
	--guid-prefix quiet --state "$WORK/quiet.state" >/dev/null
ip netns exec "$(lab_ns "$TAG")" "$AGENT" heartbeat --state "$WORK/live.state" \
	--to "$LAB_COLLECTOR4" --interval 1 --duration 300 >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
wait_field 20 .offline 20 show status
[ "$(field .online show status)" = 10 ] || fail "10 online"
pass "10 endpoints heartbeat, 20 silent ones went offline"

# ---- show clients, show counts ----
ctl show clients --status offline >"$WORK/offline.txt" 2>"$WORK/offline.err" || fail "show clients"
[ "$(head -1 "$WORK/offline.txt" | tr -s ' ')" = "ID GUID HOSTNAME STATUS REASON LAST CONTACT" ] \
	|| fail "header: $(head -1 "$WORK/offline.txt")"
[ "$(tail -n +2 "$WORK/offline.txt" | wc -l)" = 20 ] || fail "20 rows: $(cat "$WORK/offline.txt")"
[ "$(tail -n +2 "$WORK/offline.txt" | awk '$4 == "offline" && $2 ~ /^quiet-/' | wc -l)" = 20 ] \
	|| fail "rows are the quiet ones, offline: $(cat "$WORK/offline.txt")"
grep -q -- "-- 20 clients listed (20 matched of 30 scanned" "$WORK/offline.err" || fail "summary: $(cat "$WORK/offline.err")"
ctlj show clients --status offline >"$WORK/offline.jsonl" || fail "show clients -j"
[ "$(jq -s 'map(select(.guid)) | map(select(.status == "offline" and (.guid | startswith("quiet-")))) | length' "$WORK/offline.jsonl")" = 20 ] \
	|| fail "-j lines: $(head -3 "$WORK/offline.jsonl")"
[ "$(jq -s '.[-1].done.listed' "$WORK/offline.jsonl")" = 20 ] || fail "-j done line"
[ "$(ctlj show clients --status online | jq -s 'map(select(.guid | . != null and startswith("live-"))) | length')" = 10 ] \
	|| fail "10 online"
ctlj show counts >"$WORK/counts.json" || fail "show counts"
[ "$(jq -c '[.by_status.online, .by_status.offline, .matched, .by_reason."no-contact"]' "$WORK/counts.json")" = "[10,20,30,20]" ] \
	|| fail "counts: $(cat "$WORK/counts.json")"
[ "$(ctlj show clients --not-seen-since 2s --guid 'quiet-00001*' | jq -s 'map(select(.guid)) | length')" = 10 ] \
	|| fail "--not-seen-since 2s --guid quiet-00001*"
seen=; after=; pages=0
while :; do
	ctlj show clients --limit 7 ${after:+--after $after} >"$WORK/page.jsonl" || fail "page"
	seen="$seen $(jq -r 'select(.guid) | .guid' "$WORK/page.jsonl")"
	after=$(jq -s -r '.[-1].done.after' "$WORK/page.jsonl")
	pages=$((pages + 1))
	[ "$after" = null ] && break
	[ $pages -lt 10 ] || fail "pages do not end"
done
[ "$(tr ' ' '\n' <<<"$seen" | grep -c .)" = 30 ] && [ "$(tr ' ' '\n' <<<"$seen" | grep . | sort -u | wc -l)" = 30 ] \
	|| fail "pages: $seen"
pass "show clients --status offline lists the 20 (table, -j lines); counts; filters; $pages pages of 7 cover the 30 once"

# ---- the read-only socket, the main one's group ----
[ "$(stat -c '%a %G' "$SOCK")" = "660 nogroup" ] || fail "main socket: $(stat -c '%a %G' "$SOCK")"
[ "$(stat -c '%a' "$RO")" = 666 ] || fail "read-only socket: $(stat -c '%a' "$RO")"
as_other "$CTL" -s "$RO" show status >/dev/null || fail "uid 1002: show status on the read-only socket"
[ "$(as_other "$CTL" -s "$RO" -j show clients --status offline | jq -s 'map(select(.guid)) | length')" = 20 ] \
	|| fail "uid 1002: show clients on the read-only socket"
rc=0; set_out=$(as_other "$CTL" -s "$RO" set heartbeat.interval 2s 2>&1) || rc=$?
[ $rc = 4 ] && grep -q "set: refused on the read-only control socket" <<<"$set_out" \
	|| fail "set on the read-only socket: exit $rc, $set_out"
rc=0; out=$("$CTL" -s "$RO" remove client --status offline --force 2>&1) || rc=$?
[ $rc = 4 ] || fail "remove on the read-only socket, as root: exit $rc, $out"
[ "$(field .offline show status)" = 20 ] || fail "the read-only socket removed something"
rc=0; out=$(as_other "$CTL" -s "$SOCK" show status 2>&1) || rc=$?
[ $rc = 4 ] && grep -q "permission denied" <<<"$out" || fail "uid 1002 on the main socket: exit $rc, $out"
chmod 0666 "$SOCK"   # the file lets it connect: glournetd's SO_PEERCRED check refuses
rc=0; out2=$(as_other "$CTL" -s "$SOCK" -j show status 2>/dev/null) || rc=$?
[ $rc = 4 ] && [ "$(jq -r .code <<<"$out2")" = denied ] || fail "uid 1002, socket 0666: exit $rc, $out2"
chmod 0660 "$SOCK"
pass "read-only socket: show from any uid, set refused (exit 4: '$set_out'); main socket nogroup, others exit 4 (connect: '$out'; credentials: '$(jq -r .error <<<"$out2")')"

# ---- remove client by filter, and by 20 names ----
rc=0; ctl remove client --status offline --guid 'quiet-00000*' >"$WORK/rm.out" 2>&1 </dev/null || rc=$?
[ $rc = 2 ] && grep -q "10 clients match --status offline --guid 'quiet-00000\*': confirm" "$WORK/rm.out" \
	|| fail "unconfirmed removal: exit $rc, $(cat "$WORK/rm.out")"
[ "$(field .offline show status)" = 20 ] || fail "removed without confirmation"
grep -q "would remove 10 clients" <<<"$(ctl remove client --status offline --guid 'quiet-00000*' --dry-run)" \
	|| fail "--dry-run"
ctl remove client --status offline --guid 'quiet-00000*' --force >"$WORK/rm.out" || fail "remove --force"
[ "$(grep -c '^removed  ' "$WORK/rm.out")" = 10 ] && grep -q "removed 10 clients (20 left)" "$WORK/rm.out" \
	|| fail "removal lines: $(cat "$WORK/rm.out")"
[ "$(field .clients show status)" = 20 ] || fail "20 clients left"
timeout -s TERM 2 "$CTL" -s "$SOCK" -j watch --from 1 >"$WORK/feed.jsonl" 2>/dev/null || true
[ "$(jq -s 'map(select(.kind == "removed")) | length' "$WORK/feed.jsonl")" = 10 ] || fail "10 removals in the feed"
names=$(ctlj show clients --status offline | jq -r 'select(.guid) | .guid')
[ "$(wc -w <<<"$names")" = 10 ] || fail "10 quiet left: $names"
live=$(ctlj show clients --status online | jq -r 'select(.guid) | .guid' | head -10)
ctl remove client $names $live --force >"$WORK/rm20.out" 2>&1 || fail "remove client with 20 names: $(cat "$WORK/rm20.out")"
[ "$(field .clients show status)" = 0 ] || fail "20 names removed"
pass "remove by filter: exit 2 unconfirmed, --dry-run, --force removed 10 (in the feed); then 20 names at once"

# ---- exit codes, versions ----
rc=0; out=$(ctl show clients --bogus 2>&1) || rc=$?
[ $rc = 2 ] || fail "daemon usage error: exit $rc ($out)"
rc=0; out=$(ctl show foo 2>&1) || rc=$?
[ $rc = 2 ] && grep -q "unknown command 'show foo' (show: " <<<"$out" || fail "show foo: exit $rc, $out"
rc=0; out=$(ctlj show client nosuch 2>/dev/null) || rc=$?
[ $rc = 1 ] && [ "$(jq -r '.code + " " + (.exit|tostring)' <<<"$out")" = "error 1" ] || fail "-j error: exit $rc, '$out'"
[ "$(field .version show status)" = "$("$CTL" --version | awk '{print $2}')" ] || fail "versions"
[ "$(field .uptime show status)" -ge 1 ] || fail "uptime"
pass "usage errors exit 2, -j errors on stdout, show status has version $(field .version show status) and uptime"

# ---- the numbering across a restart ----
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 3 \
	--guid-prefix after --state "$WORK/after.state" >/dev/null
stop_agent
sleep 1
NEXT=$(field .next_event show status)
stop_daemon
start_daemon_only "${DAEMON_ARGS[@]}"
[ "$(field .next_event show status)" -ge "$NEXT" ] || fail "next_event $(field .next_event show status) < $NEXT after the restart"
wait_field 20 .offline 3 show status   # the grace over: events of the new run
timeout -s TERM 2 "$CTL" -s "$SOCK" -j watch --from 1 >"$WORK/feed2.jsonl" 2>/dev/null || true
[ "$(head -1 "$WORK/feed2.jsonl" | jq -c '.resume == '"$NEXT"' and .missed == '"$((NEXT - 1))")" = true ] \
	|| fail "a watcher from #1: $(head -2 "$WORK/feed2.jsonl"), want missed $((NEXT - 1)), resume $NEXT"
[ "$(sed -n 2p "$WORK/feed2.jsonl" | jq .seq)" = "$NEXT" ] || fail "the new run's first event: $(sed -n 2p "$WORK/feed2.jsonl")"
pass "after a restart the numbering goes on at #$NEXT; a watcher from #1 is told it missed $((NEXT - 1))"
echo PASS
