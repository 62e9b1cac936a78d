#!/usr/bin/env bash
# Several workers on a multi-queue port (issue #11): net_af_packet with
# qpairs=2 on the lab veth, two worker lcores (EAL --lcores maps them onto
# the machine's CPUs, so it runs on 2 cores). 40 endpoints heartbeat, each
# from its own socket (its own source port; half over IPv6), so the
# kernel's fanout hash (af_packet has no RSS: the log says so) spreads
# them: every worker takes traffic, every queue's counter in show stats
# moves, and every heartbeat is counted exactly once, by one worker. Then
# a device with one RX queue and two worker lcores: one worker, logged.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

# start_workers VDEV_EXTRA: glournetd with three lcores (main + 2 workers).
start_workers() {
	mkdir -p "$WORK/gnstate"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/gnstate" --hb-addr "$LAB_COLLECTOR4" --idle-sleep-us 200 \
		--offline-after 1h -- --lcores '0@0,1@1,2@1' --no-huge --no-shconf -m 256 \
		--file-prefix "gn-$TAG" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "$TAG")$1" --log-level=lib.eal:warning \
		>>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		ctl show status >/dev/null 2>&1 && break
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "glournetd exited at start-up"
		sleep 0.1
	done
	ctl show status >/dev/null || fail "glournetd did not answer on $SOCK"
	lab_neigh "$TAG"
}

lab_up "$TAG"
start_workers ",qpairs=2"
[ "$(field '.workers | length' show stats)" = 2 ] || fail "two workers"
[ "$(field '[.workers[].queue] | sort | join(",")' show stats)" = "0,1" ] ||
	fail "one RX queue each"
grep -q "2 RX queues but no RSS" "$WORK/daemon.log" || fail "the log says af_packet has no RSS"
pass "two workers, queues 0 and 1; the log says RSS is not the PMD's"

N=40
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count $N \
	--guid-prefix mq --state "$WORK/state" >/dev/null
# Each endpoint ROUNDS heartbeats, each round from a new socket (a new
# source port), so that the hash spreads them.
# Ten senders at a time (`wait PID...`: a bare wait would wait for glournetd).
ROUNDS=2
for r in $(seq $ROUNDS); do
	pids=()
	for i in $(seq 0 $((N - 1))); do
		to=$LAB_COLLECTOR4
		[ $((i % 2)) = 1 ] && to=$LAB_COLLECTOR6
		in_ns python3 "$FORGE" --state "$WORK/state" --to "$to" --kind valid --index $i \
			--time-offset $((r - ROUNDS)) >/dev/null &
		pids+=($!)
		if [ ${#pids[@]} = 10 ]; then wait "${pids[@]}"; pids=(); fi
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
done
SENT=$((N * ROUNDS))
wait_field 10 .total.accepted $SENT show stats
sleep 1.5   # a port read (every sweep interval) after the last frame
S=$(ctlj show stats)
# (rx also counts the namespace's own IPv6 neighbour and router traffic.)
jq -e --argjson n $SENT '.total.accepted == $n and ([.workers[].accepted] | add) == $n' \
	<<<"$S" >/dev/null ||
	fail "each heartbeat counted once: $(jq -c '[.total.accepted, [.workers[].accepted]]' <<<"$S")"
for w in 0 1; do
	a=$(jq ".workers[$w].accepted" <<<"$S")
	[ "$a" -gt 0 ] || fail "worker $w took no heartbeat ($(jq -c '[.workers[].accepted]' <<<"$S"))"
	q=$(jq ".port.queues[] | select(.worker == $w) | .ipackets" <<<"$S")
	[ "$q" -eq "$(jq ".workers[$w].rx" <<<"$S")" ] ||
		fail "queue of worker $w: port counted $q, the worker $(jq ".workers[$w].rx" <<<"$S")"
done
jq -e '.port.ipackets == ([.port.queues[].ipackets] | add) and .port.link.up' <<<"$S" >/dev/null ||
	fail "port totals are the queues' sum, link up: $(jq -c .port <<<"$S")"
pass "$SENT heartbeats of $N endpoints: workers took $(jq -c '[.workers[].accepted]' <<<"$S"), each once"
for i in $(seq 0 $((N - 1))); do
	[ "$(field .last_heartbeat show client "$(guid_of $i)")" -gt 0 ] || fail "$(guid_of $i) unheard"
done
pass "every endpoint heard"
stop_daemon

# One RX queue, two worker lcores: one worker runs, the log says why.
start_workers ""
[ "$(field '.workers | length' show stats)" = 1 ] || fail "one worker on a one-queue port"
grep -q "has 1 RX queue: 1 worker, 1 lcore left idle" "$WORK/daemon.log" ||
	fail "the log names the idle lcore"
in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid --index 0 >/dev/null
wait_field 5 .total.accepted 1 show stats
pass "one queue: one worker, logged, taking heartbeats"
stop_daemon
