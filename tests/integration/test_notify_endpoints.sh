#!/usr/bin/env bash
# The endpoint side of notifies (issue #12, PROTOCOL.md §2) over the veth
# lab, without glournetd: tests/tools/notify_peer.py plays the collector on
# the lab's host end (its own network namespace, so no address is added to
# the machine's) and sends notifies, good and deliberately bad, to
# glournet-agent listen and glournet-loadgen --notify in the lab namespace.
# Every valid notify must be acked exactly once per copy, with the right
# bytes (type 3, the same flags, the endpoint's own slot, id and time, its
# MAC: checked by the peer), late ones late, never-ackers and dead
# endpoints never; every forged, replayed, reflected or misaddressed one
# gets no ack and is counted under its reason; SETTINGS and COMPONENTS
# make the endpoint poll (MAC checked by the peer's fake GET /v1/poll)
# within the spread, VERIFY does not. The end-to-end test with the
# collector's own campaigns comes with issue #12's collector side.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=ne$$
LG=$BUILD/tools/glournet-loadgen
PEER=$SRC/tests/tools/notify_peer.py
SPREAD=2
PIDS=()

stop_all() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}
trap 'stop_all; cleanup' EXIT

# The collector's end: the host veth in a namespace of its own, with the
# collector's addresses on it.
lab_up "$TAG"
lab_collector "$TAG"
H=$(lab_host "$TAG")
in_collector sysctl -qw "net.ipv6.conf.$H.disable_ipv6=0"
in_collector ip addr add "$LAB_COLLECTOR4/24" dev "$H"
in_collector ip -6 addr add "$LAB_COLLECTOR6/64" dev "$H" nodad
in_ns ping -c1 -W2 "$LAB_COLLECTOR4" >/dev/null || fail "the lab does not carry IPv4"

# wait_line FILE TEXT: up to 5 s for a process to say it is ready.
wait_line() {
	for _ in $(seq 50); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "no '$2' in $1: $(cat "$1")"
}

# --- glournet-agent listen: six endpoints on two notify ports, the agent
# for the first five; IPv4 through its dual-stack sockets.
python3 - "$WORK/state" <<'EOF'
import os, sys
with open(sys.argv[1], "w") as f:
    f.write("# guid id slot key clock_offset notify_port\n")
    for i in range(6):
        f.write(f"ag-{i} {os.urandom(8).hex()} {5 + 3 * i} {os.urandom(16).hex()} 0 "
                f"{21112 if i < 4 else 21113}\n")
EOF
python3 - "$WORK/plan-agent.json" <<'EOF'
import json, sys
v = lambda i, flags, **kw: dict(index=i, kind="valid", flags=flags, **kw)
bad = lambda i, kind, flags=("settings",): dict(index=i, kind=kind, flags=list(flags), ack="none")
sends = [
    v(0, ["settings"], ack="now", poll=True, gap=0),
    v(0, ["settings"], ack="now"),               # the same bytes again: acked, no second poll
    v(1, ["components"], ack="now", poll=True),
    v(2, ["verify"], ack="now"),                 # ack only
    v(4, ["settings", "components", "verify"], ack="now", poll=True),
    bad(0, "forged-mac"), bad(1, "other-key"), bad(2, "wrong-id"), bad(3, "unknown-slot"),
    bad(3, "stale"), bad(3, "future"), bad(3, "reflected-ack"), bad(3, "reflected-heartbeat"),
    bad(3, "bad-flags"), bad(3, "bad-version"), bad(3, "truncated"),
    dict(v(5, ["settings"]), ack="none"),        # valid, but for an endpoint the agent is not
]
json.dump({"sends": sends}, open(sys.argv[1], "w"))
EOF
# ip netns exec execs the agent: $! is the agent itself, for the SIGTERM below.
ip netns exec "$(lab_ns "$TAG")" "$AGENT" listen --state "$WORK/state" --count 5 --to "$LAB_COLLECTOR4" \
	--server "http://$LAB_COLLECTOR4:$HTTP_PORT" --poll-spread $SPREAD --duration 12 --json \
	>"$WORK/agent.json" 2>"$WORK/agent.err" &
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_line "$WORK/agent.err" "listening for 5 endpoints on 2 port(s): 21112 21113"
in_collector python3 "$PEER" --endpoints "$WORK/state" --bind "$LAB_COLLECTOR4" --to "$LAB_AGENT4" \
	--plan "$WORK/plan-agent.json" --http "$LAB_COLLECTOR4:$HTTP_PORT" --wait $((SPREAD + 2)) \
	--ack-now-max 1 --poll-max $((SPREAD + 1)) >"$WORK/peer-agent.json" ||
	fail "the agent's acks and polls: $(cat "$WORK/peer-agent.json")"
r() { jq -r "$1" "$WORK/peer-agent.json"; }
[ "$(r .acks)" = 5 ] && [ "$(r .endpoints_polled)" = 3 ] && [ "$(r .bad_acks)" = 0 ] ||
	fail "agent: want 5 acks, 3 endpoints polling: $(cat "$WORK/peer-agent.json")"
pass "agent: 5 valid notifies acked with the right bytes, 3 polls within ${SPREAD} s" \
	"(after $(r .poll_delay_min_s)..$(r .poll_delay_max_s) s), VERIFY and the rest unanswered"
kill -TERM $AGENT_PID
wait $AGENT_PID || fail "glournet-agent listen failed: $(cat "$WORK/agent.err")"
a() { jq -r "$1" "$WORK/agent.json"; }
[ "$(a .notifies)" = 5 ] && [ "$(a .settings)" = 3 ] && [ "$(a .components)" = 2 ] &&
	[ "$(a .verify)" = 2 ] && [ "$(a .acks)" = 5 ] ||
	fail "agent's counts: $(cat "$WORK/agent.json")"
want='{"bad_length":1,"bad_version":1,"bad_type":2,"bad_flags":1,"unknown_slot":2,"id_mismatch":1,"bad_mac":2,"too_old":1,"too_new":1}'
[ "$(jq -c .refused_by "$WORK/agent.json")" = "$want" ] && [ "$(a .refused)" = 12 ] ||
	fail "agent's refusals: $(jq -c .refused_by "$WORK/agent.json"), want $want"
[ "$(a .polls.scheduled)" = 3 ] && [ "$(a .polls.already_due)" = 1 ] &&
	[ "$(a .polls.ok_200)" = 3 ] && [ "$(a .polls.errors)" = 0 ] ||
	fail "agent's polls: $(jq -c .polls "$WORK/agent.json")"
grep -q "ag-2: notify verify (time [0-9]*, from $LAB_COLLECTOR4 port 7100): acked$" "$WORK/agent.err" ||
	fail "a log line per notify: $(cat "$WORK/agent.err")"
grep -q "refused 32 bytes from $LAB_COLLECTOR4 port 7100 for ag-3: too_old" "$WORK/agent.err" ||
	fail "a log line per refusal: $(cat "$WORK/agent.err")"
pass "agent: counted per kind (settings 3, components 2, verify 2) and the 12 refusals by reason"

# --- glournet-loadgen --notify over IPv6: 300 endpoints on two sockets,
# 20 % acking 1 s late, 20 % never, 10 % dead (silent from the start).
python3 - "$WORK/eps.jsonl" <<'EOF'
import json, os, sys
with open(sys.argv[1], "w") as f:
    for i in range(300):
        f.write(json.dumps({"guid": f"lg-{i}", "id": os.urandom(8).hex(), "slot": 100 + 7 * i,
                            "key": os.urandom(16).hex(), "notify_port": 21112 + i % 2}) + "\n")
EOF
ip netns exec "$(lab_ns "$TAG")" "$LG" --endpoints "$WORK/eps.jsonl" --to "$LAB_COLLECTOR6" --notify --no-heartbeats \
	--ack-late 0.2 --ack-delay 1s --ack-never 0.2 --silent 0.1 --silent-after 0 \
	--poll-after-notify "http://[$LAB_COLLECTOR6]:$HTTP_PORT" --poll-spread ${SPREAD}s \
	--roles-out "$WORK/roles.jsonl" --duration 12s --json >"$WORK/lg.json" 2>"$WORK/lg.err" &
LG_PID=$!
PIDS+=($LG_PID)
wait_line "$WORK/lg.err" "listening for notifies on 2 port(s)"
python3 - "$WORK/roles.jsonl" "$WORK/plan-lg.json" <<'EOF'
import json, sys
roles = [json.loads(l) for l in open(sys.argv[1])]
sends, verify = [], 0
for i, r in enumerate(roles):
    dead = r["heartbeat"] == "silent"
    ack = "none" if dead or r["ack"] == "never" else r["ack"]
    sends.append(dict(index=i, kind="valid", flags=["settings"], ack=ack, poll=not dead))
    if r["ack"] == "never":              # the collector re-sends what is not acked
        sends += [dict(index=i, kind="valid", flags=["settings"], ack="none")] * 2
    elif r["ack"] == "now" and not dead and verify < 50:
        sends.append(dict(index=i, kind="valid", flags=["verify"], ack="now"))
        verify += 1
for i, kind in enumerate(["forged-mac", "other-key", "wrong-id", "stale", "future",
                          "reflected-ack", "bad-version"]):
    sends.append(dict(index=i, kind=kind, flags=["components"], ack="none"))
json.dump({"sends": sends}, open(sys.argv[2], "w"))
EOF
in_collector python3 "$PEER" --endpoints "$WORK/eps.jsonl" --bind "$LAB_COLLECTOR6" --to "$LAB_AGENT6" \
	--plan "$WORK/plan-lg.json" --http "[$LAB_COLLECTOR6]:$HTTP_PORT" --wait $((SPREAD + 2)) \
	--ack-now-max 1 --ack-late-min 1 --poll-max $((SPREAD + 1)) --gap 0.001 \
	>"$WORK/peer-lg.json" || fail "the fleet's acks and polls: $(cat "$WORK/peer-lg.json")"
count() { jq -s "map(select($1)) | length" "$WORK/roles.jsonl"; }
n_now=$(count '.ack == "now" and .heartbeat != "silent"')
n_late=$(count '.ack == "late" and .heartbeat != "silent"')
n_alive=$(count '.heartbeat != "silent"')
p() { jq -r "$1" "$WORK/peer-lg.json"; }
[ "$(p .acks)" = $((n_now + n_late + 50)) ] && [ "$(p .endpoints_polled)" = "$n_alive" ] ||
	fail "fleet: want $((n_now + n_late + 50)) acks and $n_alive polling: $(cat "$WORK/peer-lg.json")"
pass "fleet: $n_now acked at once (and 50 VERIFY), $n_late after 1 s, the never-ackers and" \
	"the 30 dead never; $n_alive polled within ${SPREAD} s"
wait $LG_PID || fail "glournet-loadgen --notify failed: $(cat "$WORK/lg.err")"
l() { jq -r "$1" "$WORK/lg.json"; }
[ "$(l .notify.roles.now)/$(l .notify.roles.late)/$(l .notify.roles.never)" = 180/60/60 ] &&
	[ "$(l .silent)" = 30 ] || fail "exact role counts: $(jq -c .notify.roles "$WORK/lg.json")"
[ "$(l .notify.accepted)" = $((300 + 120 + 50)) ] && [ "$(l .notify.by_flag.verify)" = 50 ] &&
	[ "$(l .notify.by_flag.settings)" = 420 ] || fail "fleet's notifies: $(jq -c .notify "$WORK/lg.json")"
want='{"bad_version":1,"bad_type":1,"id_mismatch":1,"bad_mac":2,"too_old":1,"too_new":1}'
[ "$(jq -c .notify.refused_by "$WORK/lg.json")" = "$want" ] ||
	fail "fleet's refusals: $(jq -c .notify.refused_by "$WORK/lg.json"), want $want"
[ "$(jq -c .notify.per_endpoint "$WORK/lg.json")" = \
	"{\"now\":{\"1\":130,\"2\":50},\"late\":{\"1\":60},\"never\":{\"3\":60}}" ] ||
	fail "notifies per endpoint: $(jq -c .notify.per_endpoint "$WORK/lg.json")"
[ "$(l .notify.resent)" = 170 ] && [ "$(l .notify.acks_sent)" = "$(p .acks)" ] &&
	[ "$(l .notify.late_sent)" = "$n_late" ] && [ "$(l .notify.ack_errors)" = 0 ] ||
	fail "fleet's acks: $(jq -c .notify "$WORK/lg.json")"
[ "$(l .notify.polls.ok_200)" -ge "$n_alive" ] && [ "$(l .notify.polls.failed)" = 0 ] &&
	[ "$(l .notify.first_notify.endpoints)" = 300 ] ||
	fail "fleet's polls: $(jq -c .notify.polls "$WORK/lg.json")"
pass "fleet: exact roles (180/60/60, 30 dead), 170 notifies beyond the first seen (120 re-sends, 50 VERIFY), refusals by reason," \
	"first notifies over $(l .notify.first_notify.span_s) s ($(l .notify.first_notify.rate)/s)"
echo "PASS"
