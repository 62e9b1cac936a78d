#!/usr/bin/env bash
# Issue 16, first part: the endpoint store on PostgreSQL (--store URL,
# control/store_pg.c; docs/store.md). On a throwaway cluster made here
# (initdb in a scratch directory, run as the postgres user, a unix socket
# and a free localhost port, password authentication over TCP; glournetd
# given a multi-host URL whose first host is dead, with
# target_session_attrs=read-write):
#  - the store contract of tests/unit/test_store_contract.c holds here too;
#  - registrations, keys and statuses (the contact checkpoint's array
#    update) reach the database; the password is never shown (log, show
#    store);
#  - a restart restores the registry from PostgreSQL: ids, slots, keys
#    (heartbeats with the old keys accepted), statuses, last heartbeats;
#  - PostgreSQL stopped under a running collector: heartbeats still
#    accepted, show status answers with the store alarm, a registration
#    gets 503 + Retry-After at once (never a 201 no commit keeps);
#  - PostgreSQL back: the alarm clears, the collector reconnected
#    (counted), the writes queued meanwhile landed, registering works.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
TAG=pgst$(($$ % 1000))
EXC_IFACE=gnx-$TAG
PG=$(mktemp -d /tmp/glournet-pg.XXXXXX)
PGPW=pw-$$-secret
BG_PIDS=()

pg_cleanup() {
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	fi
	pg_teardown
}
trap 'rc=$?; [ $rc -eq 0 ] || KEEP_PG_LOG=1; pg_cleanup; set +e; (exit $rc); cleanup' EXIT

# Two free localhost ports, away from HTTP_PORT's three: PostgreSQL's, and
# one where nothing listens (the first host of a multi-host string).
PGPORT= DEADPORT=
for p in $(seq $((HTTP_PORT + 3)) $((HTTP_PORT + 60))); do
	[ -n "$(ss -Htan "( sport = :$p )")" ] && continue
	if [ -z "$DEADPORT" ]; then DEADPORT=$p; else PGPORT=$p; break; fi
done
[ -n "$PGPORT" ] || fail "no free port for PostgreSQL"
pg_setup
# Multi-host, as for a primary and its standby: libpq skips the dead first one.
URL="postgresql://gn:$PGPW@127.0.0.1:$DEADPORT,127.0.0.1:$PGPORT/glournet?target_session_attrs=read-write"
pass "a PostgreSQL 15 cluster on 127.0.0.1:$PGPORT (run as $PGOS)"

# The backends' shared contract (tests/unit/test_store_contract.c) on this server too.
if [ -x "$BUILD/tests/unit/test_store_contract" ]; then   # built with cmocka only
	psql -h "$PG/sock" -p "$PGPORT" -U gn -d postgres -XAtqc "CREATE DATABASE contract" >/dev/null
	GN_TEST_PG="host=$PG/sock port=$PGPORT user=gn dbname=contract" \
		"$BUILD/tests/unit/test_store_contract" >"$WORK/contract.log" 2>&1 ||
		{ grep -v '^20..-' "$WORK/contract.log"; fail "the store contract on PostgreSQL"; }
	pass "the store contract: $(grep -c '^\[       OK \] postgresql' "$WORK/contract.log") tests on PostgreSQL, as on SQLite"
fi

OFF=4
start_daemon --store "$URL" --set heartbeat.interval=1s --set heartbeat.offline_after=${OFF}s \
	--set guard.threshold=0 --sweep-interval 1s --http-timeout 4s
[ "$(sql "SELECT value FROM meta WHERE key = 'schema_version'")" = 3 ] || fail "schema version 3 in PostgreSQL"
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 10 \
	--guid-prefix pgs --state "$WORK/state" >/dev/null
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 170 --first 0 --count 6 >"$WORK/agent.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$(lab_ns "$TAG")" "$AGENT" heartbeat --state "$WORK/state" \
	--to "$LAB_COLLECTOR4" --interval 1 --duration 170 --first 6 --count 2 \
	>"$WORK/agent2.log" 2>&1 &
QUIT_PID=$!   # ip netns exec execs the agent: its own pid; silenced while PostgreSQL is down
BG_PIDS+=($QUIT_PID)
[ "$(sql "SELECT count(*) FROM endpoints")" = 10 ] || fail "10 registrations in PostgreSQL when answered"
for i in 0 9; do
	read -r guid id slot key _ < <(state_line $i)
	got=$(sql "SELECT lpad(to_hex(id), 16, '0') || ' ' || slot || ' ' || encode(key, 'hex') FROM endpoints WHERE guid = '$guid'")
	[ "$got" = "$id $slot $key" ] || fail "$guid in PostgreSQL: '$got', the agent has '$id $slot $key'"
done
pass "10 registrations committed to PostgreSQL before their answers, slots and keys as the agent has them"

wait_field 10 .online 8 show status
wait_field 15 .offline 2 show status
# The contact checkpoint (one array UPDATE per batch) brings the statuses and last heartbeats.
for _ in $(seq 300); do
	[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 0 AND last_heartbeat > 0")" = 8 ] &&
		[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 1")" = 2 ] && break
	sleep 0.1
done
[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 0 AND last_heartbeat > 0")" = 8 ] ||
	fail "8 online with a last heartbeat in PostgreSQL: $(sql "SELECT slot, status, last_heartbeat FROM endpoints" | tr '\n' ' ')"
[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 1")" = 2 ] || fail "2 offline in PostgreSQL"
pass "statuses and last heartbeats checkpointed to PostgreSQL: 8 online, 2 offline"
# One statement per batch, with arrays (log_statement=all logs each with its
# parameters; the prefix is the database: glournetd's, not the contract test's).
grep -q '^glournet:.*execute gn_contacts' "$PG/pg.log" || fail "the checkpoint ran the array statement"
arrays=$(grep -A1 '^glournet:.*execute gn_contacts' "$PG/pg.log" | grep '^glournet:DETAIL' |
	grep -oE "\\\$1 = '\{[0-9]+(,[0-9]+)+\}'" | head -1)
[ -n "$arrays" ] || fail "a checkpoint statement carried several endpoints in its arrays: $(grep -A1 'execute gn_contacts' "$PG/pg.log" | head -2)"
grep -q 'UPDATE endpoints SET last_heartbeat = \$1' "$PG/pg.log" && fail "a per-row contact update ran"
pass "contacts checkpointed as arrays, one statement a batch: $arrays"

grep -qF "$PGPW" "$WORK/daemon.log" && fail "the password is in glournetd's log"
tr '\0' ' ' </proc/"$DAEMON_PID"/cmdline | grep -qF "$PGPW" && fail "the password is in glournetd's command line (ps)"
where=$(field .store.where show status)
grep -qF "$PGPW" <<<"$(ctlj show status; ctlj show stats)" && fail "the password is in show store/status"
[ "$(field .store.backend show status)" = postgresql ] || fail "show status: store backend postgresql"
grep -qF "gn:***@127.0.0.1:$DEADPORT,127.0.0.1:$PGPORT/" <<<"$where" || fail "show status names the store, masked: $where"
pass "the password is never shown: not in ps, the log and show status say $where"

# ---- a restart: the registry comes back from PostgreSQL ----
for i in 0 9; do ctlj show client "$(guid_of $i)" >"$WORK/before-$i.json"; done
stop_daemon
start_daemon_only --store "$URL" --sweep-interval 1s --http-timeout 4s
[ "$(field .clients show status)" = 10 ] || fail "10 endpoints after the restart, got $(field .clients show status)"
for i in 0 9; do
	after=$(ctlj show client "$(guid_of $i)")
	for k in id slot status; do
		[ "$(jq -r ".$k" <<<"$after")" = "$(jq -r ".$k" "$WORK/before-$i.json")" ] ||
			fail "$(guid_of $i): $k differs after the restart"
	done
	[ "$(jq -r .last_heartbeat <<<"$after")" -gt 0 ] || [ $i = 9 ] || fail "$(guid_of $i): last heartbeat lost"
	# Checkpointed to the minute (PERSIST_CONTACT_STEP, as with SQLite).
	[ "$(jq -r .last_heartbeat <<<"$after")" -ge $(( $(jq -r .last_heartbeat "$WORK/before-$i.json") - 61 )) ] ||
		fail "$(guid_of $i): last heartbeat $(jq -r .last_heartbeat <<<"$after") restored, was $(jq -r .last_heartbeat "$WORK/before-$i.json")"
done
before=$(field .total.accepted show stats)
sleep 2
[ "$(field .total.accepted show stats)" -gt "$before" ] || fail "heartbeats with the old keys accepted after the restart"
[ "$(field .status show client "$(guid_of 9)")" = offline ] || fail "the silent endpoint is still offline"
pass "restart: 10 endpoints restored from PostgreSQL, ids, slots, statuses, last heartbeats; old keys accepted"

# ---- PostgreSQL stops under a running collector ----
T_STOP=$(date +%s)
pg_stop
wait_field 25 .store.ok false show status
alarm=$(field .store.alarm show status)
[ "$(field .store.unreachable show status)" = true ] || fail "show status: store unreachable"
grep -qF "$PGPW" <<<"$alarm" && fail "the alarm shows the password"
pass "PostgreSQL stopped: store alarm within 25 s: $alarm"

before=$(field .total.accepted show stats)
T0=$(date +%s%N)
code=$(curl -s --max-time 10 -D "$WORK/h503" -o "$WORK/b503" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"guid":"pgs-during","hostname":"x"}' || true)
ms=$(( ($(date +%s%N) - T0) / 1000000 ))
[ "$code" = 503 ] || fail "a registration with PostgreSQL down got $code, not 503: $(cat "$WORK/b503")"
grep -qi '^Retry-After: [0-9]' "$WORK/h503" || fail "the 503 has no Retry-After: $(cat "$WORK/h503")"
[ "$ms" -lt 2000 ] || fail "the 503 took $ms ms (it is answered at once)"
[ "$(ctlj show client pgs-during 2>/dev/null | jq -r .status 2>/dev/null)" != online ] || fail "the refused registration made an endpoint"
sleep 2
[ "$(field .total.accepted show stats)" -gt "$before" ] || fail "heartbeats accepted while PostgreSQL is down"
[ "$(field .online show status)" = 8 ] || fail "8 online from memory while PostgreSQL is down"
pass "PostgreSQL down: registration 503 + $(grep -i '^Retry-After' "$WORK/h503" | tr -d '\r') in $ms ms; heartbeats accepted; 8 online"
# Two endpoints fall silent meanwhile: their transitions and statuses queue.
kill "$QUIT_PID"
wait_field 15 .offline 4 show status
queued=$(field .store.queue_len show status)
[ "$queued" -ge 1 ] || fail "the transitions wait in the store's queue"
[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 1" 2>/dev/null || echo down)" = down ] || fail "PostgreSQL is down"
pass "2 endpoints went offline with PostgreSQL down: $queued write(s) queued"

# ---- PostgreSQL back: reconnect, catch up, registrations again ----
pg_start
T_BACK=$(date +%s)
wait_field 30 .store.ok true show status
took=$(( $(date +%s) - T_BACK ))
[ "$(field .store.reconnects show status)" -ge 1 ] || fail "the reconnect is counted"
[ "$(field .store.queue_len show status)" -le 1 ] || fail "the queued writes committed"
errs=$(field .store.commit_errors show status)
[ "$errs" -ge 1 ] || fail "the failed commits are counted"
for _ in $(seq 150); do
	[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 1")" = 4 ] && break
	sleep 0.1
done
[ "$(sql "SELECT count(*) FROM endpoints WHERE status = 1")" = 4 ] ||
	fail "the statuses changed while PostgreSQL was down reached it"
for i in 6 7; do
	id=$(state_line $i | awk '{print $2}')
	[ "$(sql "SELECT count(*) FROM transitions WHERE lpad(to_hex(id), 16, '0') = '$id' AND new_status = 1")" = 1 ] ||
		fail "endpoint $i: its offline transition reached PostgreSQL"
done
pass "PostgreSQL back: alarm clear in ${took}s, $(field .store.reconnects show status) reconnect(s), $errs failed commit(s), $queued queued write(s) landed"
code=$(curl -s --max-time 10 -o "$WORK/b201" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$HTTP_PORT/v1/register" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"guid":"pgs-after","hostname":"x"}' || true)
[ "$code" = 201 ] || fail "a registration after PostgreSQL came back got $code: $(cat "$WORK/b201")"
[ "$(sql "SELECT count(*) FROM endpoints WHERE guid = 'pgs-after'")" = 1 ] || fail "the new registration is in PostgreSQL"
pass "registering works again: 201, committed to PostgreSQL"
stop_daemon

# ---- a schema version 2 store is migrated to 3 on open ----
psql -h "$PG/sock" -p "$PGPORT" -U gn -d postgres -XAtqc "CREATE DATABASE gnv2" >/dev/null
psql -h "$PG/sock" -p "$PGPORT" -U gn -d gnv2 -XAtq >/dev/null <<'EOSQL'
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES ('schema_version', '2');
CREATE TABLE endpoints (slot BIGINT PRIMARY KEY, id BIGINT NOT NULL, guid TEXT NOT NULL,
  key BYTEA NOT NULL, hostname TEXT, ips TEXT, notify_port BIGINT, registered BIGINT,
  last_register BIGINT, last_ctl_contact BIGINT, last_heartbeat BIGINT, last_poll BIGINT,
  down_at BIGINT, status BIGINT, reason BIGINT, ctl_reason BIGINT, status_since BIGINT);
CREATE TABLE transitions (seq BIGINT, id BIGINT, time BIGINT, old_status BIGINT,
  new_status BIGINT, reason BIGINT);
INSERT INTO endpoints VALUES (0, 4660, 'pgv2-old', '\x00112233445566778899aabbccddeeff', 'h', '',
  0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1);
EOSQL
rm -rf "$WORK/gnstate"
start_daemon_only --store "host=$PG/sock port=$PGPORT user=gn dbname=gnv2" --sweep-interval 1s
[ "$(psql -h "$PG/sock" -p "$PGPORT" -U gn -d gnv2 -XAtqc "SELECT value FROM meta WHERE key = 'schema_version'")" = 3 ] ||
	fail "the version 2 store was not migrated to 3"
[ "$(field .clients show status)" = 1 ] && [ "$(field .id show client pgv2-old)" = 0000000000001234 ] ||
	fail "the migrated store's endpoint restored: $(ctlj show client pgv2-old 2>&1)"
grep -q "migrated from schema version 2 to 3" "$WORK/daemon.log" || fail "the migration is logged"
stop_daemon
pass "a schema version 2 store (key=value connection string, unix socket) migrated to 3, its endpoint restored"
echo PASS
