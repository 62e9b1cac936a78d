#!/usr/bin/env bash
# A restart in the middle of a notify campaign (issue #12, R11) over the
# veth lab (glournetd on net_af_xdp): 5 endpoints are notified of a change
# while nothing listens on their notify port (no ack), 3 others ack it at
# once (glournet-agent listen). glournetd stops (SIGTERM) with the 5 still
# pending; after the restart, before any endpoint made contact again, the
# 5 still have SETTINGS pending and their notify address (the store kept
# both), and a campaign "restart: 5 endpoints with a notify pending"
# notifies those 5 and nobody else; the agent, listening now, acks and
# polls the new settings_rev, and nothing is left pending. The same after
# kill -9 once a checkpoint pass (10 s) has run since the change.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=notify2r$(($$ % 1000)) # lab names with this branch's name (HELPERS.md)
EXC_IFACE=gnx-$TAG
PIDS=()

on_exit() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	(exit $rc)
	cleanup
}
trap on_exit EXIT

OPTS=(--hb-interval 60s --offline-after 600s --sweep-interval 1s --set guard.threshold=0
	--set notify.retries=1 --set notify.retry_after=60s)
start_daemon_xdp "${OPTS[@]}"
SERVER=http://$LAB_COLLECTOR4:$HTTP_PORT
reg() { # reg STATE PREFIX COUNT NOTIFY_PORT
	in_ns "$AGENT" register --server "$SERVER" --token "$TOKEN" --count "$3" --guid-prefix "$2" \
		--notify-port "$4" --state "$1" >/dev/null
}
reg "$WORK/late.state" late 5 21131
reg "$WORK/ok.state" ok 3 21132
[ "$(field .online show status)" = 8 ] || fail "8 regular endpoints online"
listen() { # listen STATE LOG JSON: ip netns exec execs the agent, $! is its pid
	ip netns exec "$(lab_ns "$TAG")" "$AGENT" listen --state "$1" --to "$LAB_COLLECTOR4" \
		--server "$SERVER" --poll-spread 1 -v --json >"$3" 2>"$2" &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q "listening for" "$2" && return 0; sleep 0.1; done
	fail "agent listen did not start: $(cat "$2")"
}
listen "$WORK/ok.state" "$WORK/ok.log" "$WORK/ok.json"

ctl endpoint-setting set scan.schedule "daily 03:00" >/dev/null
REV=$(field .settings_rev show status)
pending() { field '.notify.pending | join(",")' show client "$1"; }
for _ in $(seq 100); do
	[ "$(field '.running[0].sent // .last[0].sent' show notify)" = 8 ] &&
		[ "$(field .notify.acked show stats)" = 3 ] && break
	sleep 0.1
done
[ "$(field .notify.acked show stats)" = 3 ] || fail "the 3 listening ones acked: $(ctlj show notify)"
for i in 0 4; do [ "$(pending late-00000$i)" = settings ] || fail "late-00000$i: SETTINGS pending"; done
[ "$(pending ok-000000)" = "" ] || fail "ok-000000 settled"
ctl show notify | sed -n '/campaigns:/,$p' | sed 's/^/  /'
pass "settings_rev $REV: 8 notified, 3 acked, 5 not (nothing listens on their port)"

stop_daemon
listen "$WORK/late.state" "$WORK/late.log" "$WORK/late.json" # ready before the restart
start_daemon_xdp_only "${OPTS[@]}"
# The store kept both: the pending flags (the campaign's count of them) and
# the notify address (else nobody would be notifiable: the 5 have made no
# contact since, and the campaign would target none).
# (The start's --set options apply again: a settings_rev above $REV, with
# nothing new to tell. The endpoints poll what is in force.)
REV2=$(field .settings_rev show status)
[ "$REV2" -ge "$REV" ] || fail "settings_rev $REV2 after the restart, below $REV"
C=$(field '.running[0].id // .last[0].id' show notify)
campaign() { field "[.running[], .last[]] | map(select(.id == $C))[0].$1" show notify; }
[ "$(campaign trigger)" = "restart: 5 endpoints with a notify pending" ] ||
	fail "no campaign resumed after the restart: $(ctlj show notify)"
for _ in $(seq 100); do [ "$(campaign state)" = done ] && break; sleep 0.1; done
[ "$(campaign state)" = done ] || fail "the resumed campaign is not done: $(ctlj show notify)"
[ "$(campaign targeted)/$(campaign acked)/$(campaign gave_up)" = 5/5/0 ] ||
	fail "resumed: want 5 targeted, 5 acked: $(ctlj show notify)"
for i in 0 1 2 3 4; do [ "$(pending late-00000$i)" = "" ] || fail "late-00000$i still pending"; done
ctl show notify | sed -n '/campaigns:/,$p' | sed 's/^/  /'
[ "$(field .notify.source show client late-000003)" = "$LAB_AGENT4" ] || fail "late-000003's notify address"
pass "after the restart: 5 still pending with their notify address; a campaign resumed for them, 5 acked"

# Each of the 5 polled the settings in force; the 3 got nothing more.
for _ in $(seq 40); do
	[ "$(grep -c "settings_rev $REV2\$" "$WORK/late.log")" = 5 ] && break
	sleep 0.1
done
[ "$(grep -c "settings_rev $REV2\$" "$WORK/late.log")" = 5 ] ||
	fail "the 5 did not all poll settings_rev $REV2: $(cat "$WORK/late.log"; cat "$WORK/ok.log"; ctlj show stats | jq -c .notify)"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p" || fail "agent listen failed"; done
PIDS=()
[ "$(jq -r .notifies "$WORK/late.json")/$(jq -r .acks "$WORK/late.json")" = 5/5 ] ||
	fail "the 5: $(cat "$WORK/late.json")"
[ "$(jq -r .notifies "$WORK/ok.json")" = 3 ] || fail "the 3 were notified again: $(cat "$WORK/ok.json")"
pass "the 5 acked one notify each and polled settings_rev $REV2; the 3 that had acked got nothing more"

# --- kill -9 instead: the checkpoint pass (every 10 s) has written what a
# change set, though nobody's contact moved.
ctl endpoint-setting set scan.schedule "daily 05:00" >/dev/null
for _ in $(seq 50); do
	[ "$(field .notify.pending_endpoints show stats)" = 8 ] && break
	sleep 0.1
done
[ "$(field .notify.pending_endpoints show stats)" = 8 ] || fail "8 pending (nobody listens)"
sleep 12 # one checkpoint pass
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
listen "$WORK/late.state" "$WORK/late2.log" "$WORK/late2.json"
listen "$WORK/ok.state" "$WORK/ok2.log" "$WORK/ok2.json"
start_daemon_xdp_only "${OPTS[@]}"
C=$(field '.running[0].id // .last[0].id' show notify)
[ "$(campaign trigger)" = "restart: 8 endpoints with a notify pending" ] ||
	fail "kill -9: no campaign resumed: $(ctlj show notify)"
for _ in $(seq 100); do [ "$(campaign state)" = done ] && break; sleep 0.1; done
[ "$(campaign targeted)/$(campaign acked)" = 8/8 ] || fail "kill -9: resumed: $(ctlj show notify)"
[ "$(field .notify.pending_endpoints show stats)" = 0 ] || fail "kill -9: still pending"
pass "kill -9 12 s after a change: the checkpoint had the 8 pending; resumed, 8 acked"
stop_daemon
echo PASS
