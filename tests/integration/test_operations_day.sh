#!/usr/bin/env bash
# docs/operations.md, "A day of operation", run as the page says: every
# "$ " command of its console blocks, in order, in one shell, against the
# glournetd the page itself starts (tests/tools/doc_console.py has the
# rules). A command that fails, prints other words than the page shows, or
# exits otherwise than its "echo $?" says, fails this test; so does a
# command the runner cannot run (one outside a console block), so the page
# cannot gain a command no test runs.
#
# The page's paths, ports and names are mapped to this run's own (below),
# so that it runs beside other tests and other collectors: /etc/glournet,
# /var/lib/glournet, /run/glournet, /var/log/glournetd.log, /var/backups
# and /tmp/day under $WORK; ports 8080 and 9110 to the ones picked here;
# the lab's tag "day" and the exception interface glournet0 to this run's.
# glournetctl's default socket is this run's through GLOURNET_SOCKET.
# DOC_STEPS=DIR keeps each command's real output (DIR/N.out, mapped back
# to the page's names: what to paste when the page changes).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

PAGE=$SRC/docs/operations.md
MPORT=$((HTTP_PORT + 2))
mkdir -p "$WORK/bin" "$WORK/etc" "$WORK/state" "$WORK/run" "$WORK/backups" "$WORK/day"
ln -s "$GLOURNETD" "$CTL" "$AGENT" "$WORK/bin/"

# The page stops its collector; when it did not get that far, lib.sh's
# cleanup stops it (its pid is in its state directory's lock).
on_exit() {
	local rc=$? pid
	pid=$(cat "$WORK/state/glournetd.lock" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then DAEMON_PID=$pid; fi
	set +e; (exit $rc)   # cleanup reads the status from $?
	cleanup
}
trap on_exit EXIT

MAP=(
	--map "/etc/glournet=$WORK/etc"
	--map "/var/lib/glournet=$WORK/state"
	--map "/run/glournet=$WORK/run"
	--map "/var/log/glournetd.log=$WORK/daemon.log"
	--map "/var/backups=$WORK/backups"
	--map "/tmp/day=$WORK/day"
	--map "127.0.0.1:8080=127.0.0.1:$HTTP_PORT"
	--map "127.0.0.1:9110=127.0.0.1:$MPORT"
	--map "gn-day=gn-$TAG" --map "gnh-day=$(lab_host "$TAG")" --map "gnp-day=$(lab_peer "$TAG")"
	--map "lab_up day=lab_up $TAG" --map "lab_neigh day=lab_neigh $TAG" --map "lab_down day=lab_down $TAG"
	--map "glournet0=$EXC_IFACE"
)

DOC=$SRC/tests/tools/doc_console.py
steps=$(python3 "$DOC" list "$PAGE") || fail "docs/operations.md breaks the page's rules: $steps"
n=$(grep -c ': \$ ' <<<"$steps")
echoes=$(grep -c ': \$ echo \$?$' <<<"$steps" || true)
n=$((n - echoes))
[ "$n" -ge 40 ] || fail "docs/operations.md has $n commands: the day is missing"

keep_steps() {
	[ -n "${DOC_STEPS:-}" ] || return 0
	mkdir -p "$DOC_STEPS"
	python3 "$DOC" show "$PAGE" --out "$WORK/steps" "${MAP[@]}" >"$DOC_STEPS/steps.txt"
}

t0=$(date +%s)
cd "$SRC"
PATH=$WORK/bin:$PATH GLOURNET_SOCKET=$WORK/run/glournetd.sock \
	python3 "$DOC" run "$PAGE" --out "$WORK/steps" --timeout 100 "${MAP[@]}" \
	|| { keep_steps; fail "docs/operations.md does not say what glournetd does"; }
keep_steps
pass "docs/operations.md: $n commands run as the page says ($echoes exit statuses checked), in $(( $(date +%s) - t0 )) s"
echo PASS
