#!/usr/bin/env bash
# The state directory holds every endpoint's key (issue 13 items 2 and 8,
# issue 14's "first start warns transitions.log: No such file"):
#  - a first start on a missing directory creates it 0700, with no warning
#    about the transition log;
#  - on a 0755 directory with 0644 files (an older glournetd's), glournetd
#    makes them 0700/0600 and says so; after a registration every file
#    there (glournet.db, -wal, -shm, policy.json, transitions.log, store-id)
#    is 0600;
#  - a second glournetd on the same directory (its own --ctl-socket, HTTP
#    port and EAL prefix) is refused before EAL starts, naming the first's
#    pid and the lock file; the first goes on serving (issue 14);
#  - a directory others can write in is refused, naming it and its mode;
#  - glournet.db deleted or truncated after registrations: the next start is
#    refused, naming glournet.db and --allow-empty-store; the backup put back
#    starts with every endpoint; with --allow-empty-store it starts empty and
#    says so.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
STATE=$WORK/sd

# Runs glournetd in the foreground on $STATE with no port traffic; for the
# starts that must be refused (one that runs is stopped after 20 s, and
# fails the test). Output in $OUT, exit code in $RC.
run_refused() {
	RC=0
	OUT=$(timeout 20 "$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$WORK/r.sock" \
		--state-dir "$STATE" "$@" -- -l 0,1 --no-huge --no-shconf -m 256 \
		--file-prefix "gn-r-$TAG" --no-pci --vdev net_null0,no-rx=1 \
		--log-level=lib.eal:warning 2>&1) || RC=$?
	[ $RC -ne 0 ] && [ $RC -ne 124 ] || fail "glournetd started; want a refusal: $(tail -3 <<<"$OUT")"
	grep -q "start-up failed" <<<"$OUT" || fail "no start-up failure line: $(tail -3 <<<"$OUT")"
}
expect_out() { grep -qF -- "$1" <<<"$OUT" || fail "the refusal does not say '$1': $(grep -v EAL <<<"$OUT" | tail -4)"; }
modes() { find "$STATE" -mindepth 1 -printf '%f %m\n' | sort; }
register() {   # register N PREFIX
	"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count "$1" \
		--guid-prefix "$2" --state "$WORK/agent-$2" >/dev/null || fail "registration of $2 failed"
}

# ---- first start: the directory does not exist ----
umask 022
start_daemon --state-dir "$STATE"
[ "$(stat -c %a "$STATE")" = 700 ] || fail "new state directory is $(stat -c %a "$STATE"), want 700"
grep -q "state directory $STATE: created, mode 0700" "$WORK/daemon.log" || fail "no line for the created directory"
if grep -F "transitions.log" "$WORK/daemon.log"; then fail "a first start warns about the transition log"; fi
register 5 a
[ -s "$STATE/transitions.log" ] || fail "the registrations left no transition"
bad=$(modes | awk '$2 != 600')
[ -z "$bad" ] || fail "files not 0600 after registrations: $bad"
pass "first start: $STATE created 0700, no transitions.log warning; after 5 registrations: $(modes | tr '\n' ' ')"

# ---- a second glournetd on the same directory ----
RC=0
OUT=$(timeout 20 "$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$((HTTP_PORT + 1))" \
	--ctl-socket "$WORK/opsfix-second.sock" --state-dir "$STATE" -- -l 0,1 --no-huge --no-shconf \
	-m 256 --file-prefix "gn-opsfix-$TAG" --no-pci --vdev net_null0,no-rx=1 \
	--log-level=lib.eal:warning 2>&1) || RC=$?
[ $RC -eq 1 ] || fail "a second glournetd on $STATE: exit $RC, want 1: $(tail -3 <<<"$OUT")"
expect_out "state directory $STATE is in use by another glournetd (pid $DAEMON_PID, holding $STATE/glournetd.lock)"
expect_out "start-up failed"
if grep -q "EAL" <<<"$OUT"; then fail "the refused glournetd started EAL: $(grep EAL <<<"$OUT" | head -2)"; fi
[ ! -e "$WORK/opsfix-second.sock" ] || fail "the refused glournetd made its control socket"
[ "$(cat "$STATE/glournetd.lock")" = "$DAEMON_PID" ] || fail "the lock file says $(cat "$STATE/glournetd.lock"), want $DAEMON_PID"
[ "$(field .clients show status)" = 5 ] || fail "the first glournetd stopped answering"
pass "a second glournetd on $STATE: refused before EAL, naming pid $DAEMON_PID and $STATE/glournetd.lock; the first still serves"

# ---- a 0755 directory with 0644 files ----
stop_daemon
chmod 0755 "$STATE"
chmod 0644 "$STATE"/*
start_daemon_only --state-dir "$STATE"
grep -q "state directory $STATE was mode 0755, readable by others .*made it 0700" "$WORK/daemon.log" \
	|| fail "no line for the directory made 0700"
grep -q "files readable by others made 0600: glournet.db (was 0644)" "$WORK/daemon.log" \
	|| fail "no line for the files made 0600"
register 1 b
[ -e "$STATE/glournet.db-wal" ] && [ -e "$STATE/glournet.db-shm" ] || fail "no -wal/-shm while running"
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state directory $(stat -c %a "$STATE") after the fix"
bad=$(modes | awk '$2 != 600')
[ -z "$bad" ] || fail "files not 0600 on a fixed directory: $bad"
[ "$(field .clients show status)" = 6 ] || fail "$(field .clients show status) clients, want 6"
pass "0755 directory, 0644 files: made 0700/0600 with a line each; after a registration $(modes | tr '\n' ' ')"

# ---- a directory others can write in: refused, left alone ----
stop_daemon
for m in 0777 0775 1777; do
	chmod "$m" "$STATE"
	run_refused
	expect_out "state directory $STATE is writable by"
	expect_out "(mode $m)"
	[ "$(stat -c %a "$STATE")" = "${m#0}" ] || fail "a refused directory was changed"
done
chmod 0700 "$STATE"
pass "directories others can write in (0777, 0775, 1777): refused, naming the directory and mode"

# ---- glournet.db lost: refused, unless told ----
cp -a "$STATE" "$WORK/backup"
rm -f "$STATE"/glournet.db*
run_refused
expect_out "$STATE/glournet.db is a new, empty store"
expect_out "$STATE/store-id says this directory held store"
expect_out "--allow-empty-store"
: >"$STATE/glournet.db"
run_refused
expect_out "$STATE/glournet.db is a new, empty store"
expect_out "--allow-empty-store"
pass "glournet.db deleted, then truncated: refused, naming glournet.db and --allow-empty-store"

rm -f "$STATE"/glournet.db*
cp -a "$WORK/backup"/glournet.db* "$STATE"/
start_daemon_only --state-dir "$STATE"
[ "$(field .clients show status)" = 6 ] || fail "backup put back: $(field .clients show status) clients, want 6"
stop_daemon
pass "the backup put back: starts with all 6 endpoints"

rm -f "$STATE"/glournet.db*
start_daemon_only --state-dir "$STATE" --allow-empty-store
grep -q "starting with it empty, as --allow-empty-store says" "$WORK/daemon.log" || fail "no line for an allowed empty store"
[ "$(field .clients show status)" = 0 ] || fail "allowed empty store: $(field .clients show status) clients"
register 2 c
stop_daemon
start_daemon_only --state-dir "$STATE"
[ "$(field .clients show status)" = 2 ] || fail "after the allowed start: $(field .clients show status) clients, want 2"
pass "--allow-empty-store: starts empty and says so; the next start (no option) takes the new store"

# ---- an older glournetd's directory: no marker, a transition log ----
stop_daemon
rm -f "$STATE/store-id" "$STATE"/glournet.db*
run_refused
expect_out "records endpoints: they would be forgotten"
expect_out "--allow-empty-store"
pass "no marker yet, store lost, transition log left: refused"
echo PASS
