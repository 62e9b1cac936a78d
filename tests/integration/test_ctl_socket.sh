#!/usr/bin/env bash
# The control socket and other local-user exposure (issue 13 item 11):
#  - the socket is bound while 0600 (umask) and only then made 0660: strace
#    shows umask(0177) before bind and the chmod after; a socket directory
#    glournetd creates is 0750;
#  - SO_PEERCRED: with the file opened to everyone (0666), a uid neither
#    root nor in the socket's group is refused with a line saying so and a
#    log line; its group (primary, or supplementary) is let in, following
#    a chgrp done after start;
#  - caps: one uid holds at most 16 connections, non-root uids leave the
#    last 8 of 64 to root, and a client over a cap reads why (no reset);
#    root still gets in while others hold their share;
#  - idle connections are closed after 30 s, each told why;
#  - the token given with --token is gone from /proc/PID/cmdline once
#    glournetd runs, and --help says to prefer --token-file;
#  - glournet-loadgen --save writes the keys 0600, never through a link.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
PY=/usr/bin/python3
SOCKDIR=$(mktemp -d /tmp/gn-ctl.XXXXXX)
chmod 0755 "$SOCKDIR"
SOCK=$SOCKDIR/ctl.sock
HOLDERS=()
ctl_cleanup() {
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$SOCKDIR"
}
trap 'rc=$?; ctl_cleanup; set +e; (exit $rc); cleanup' EXIT

# as UID GID [GROUPS] -- CMD...: run CMD as that uid/gid, with those groups only.
as() {
	local uid=$1 gid=$2 groups=$3; shift 4
	if [ -n "$groups" ]; then
		setpriv --reuid "$uid" --regid "$gid" --groups "$groups" -- "$@"
	else
		setpriv --reuid "$uid" --regid "$gid" --clear-groups -- "$@"
	fi
}

# A client that opens connections and reports what each one reads.
cat >"$WORK/holder.py" <<'EOF'
import select, socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    r, _, _ = select.select([s], [], [], 0.3)
    if r:
        print("refused", s.recv(4096).decode(errors="replace").strip(), flush=True)
        s.close()
    else:
        held.append(s)
        print("open", flush=True)
print("held", len(held), flush=True)
end = time.time() + hold
while held and time.time() < end:
    r, _, _ = select.select(held, [], [], max(0.0, end - time.time()))
    for s in r:
        print("closed", s.recv(4096).decode(errors="replace").strip(), flush=True)
        held.remove(s)
print("end", len(held), flush=True)
EOF
chmod 0644 "$WORK/holder.py"
chmod 0711 "$WORK"   # the holders, run as other users, reach holder.py
# hold NAME UID GID GROUPS N SECONDS: in the background; waits for its "held" line.
hold() {
	local name=$1; shift
	as "$1" "$2" "$3" -- "$PY" "$WORK/holder.py" "$SOCK" "$4" "$5" >"$WORK/$name.out" 2>&1 &
	HOLDERS+=($!)
	for _ in $(seq 100); do grep -q '^held' "$WORK/$name.out" && return; sleep 0.1; done
	fail "$name: no 'held' line: $(cat "$WORK/$name.out")"
}
count() { grep -c "^$2" "$WORK/$1.out" || true; }

# ---- bound under umask, then opened to the group ----
if command -v strace >/dev/null; then
	strace -f -qq -o "$WORK/strace.txt" -e trace=umask,bind,chmod,fchmodat \
		"$GLOURNETD" --token "$TOKEN" --http off --ctl-socket "$WORK/newdir/st.sock" \
		--state-dir "$WORK/st" -- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-s-$TAG" \
		--no-pci --vdev net_null0,no-rx=1 --log-level=lib.eal:warning >"$WORK/st.log" 2>&1 &
	ST=$!
	for _ in $(seq 300); do [ -S "$WORK/newdir/st.sock" ] && break; sleep 0.1; done
	[ -S "$WORK/newdir/st.sock" ] || fail "no socket under strace: $(tail -3 "$WORK/st.log")"
	sleep 0.5
	# The daemon, not strace: strace ends when its tracee does.
	kill -TERM "$(pgrep -P $ST)"; wait $ST || true
	seq_=$(grep -E 'umask\(0177\)|bind\(.*st\.sock|(chmod|fchmodat)\(.*st\.sock' "$WORK/strace.txt" \
		| sed -E 's/.*(umask\(0177\)|bind|chmod|fchmodat).*/\1/' | tr '\n' ' ')
	case $seq_ in
	"umask(0177) bind chmod "|"umask(0177) bind fchmodat ") ;;
	*) fail "socket set-up order: '$seq_' (want umask(0177) bind chmod)" ;;
	esac
	[ "$(stat -c %a "$WORK/newdir")" = 750 ] || fail "socket directory made $(stat -c %a "$WORK/newdir"), want 750"
	pass "socket bound under umask 0177, then chmod 0660 ($seq_); its new directory 0750"
fi

start_daemon
[ "$(stat -c '%a %F' "$SOCK")" = "660 socket" ] || fail "socket is $(stat -c '%a %F' "$SOCK")"

# ---- SO_PEERCRED ----
chmod 0666 "$SOCK"   # the file lets anyone in; glournetd must not
rc=0; out=$(as 65534 65534 "" -- "$CTL" -s "$SOCK" show status 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "uid 65534 (not in the group) was served"
grep -qF "permission denied: uid 65534 is neither root nor in the control socket's group (gid 0)" <<<"$out" \
	|| fail "refusal says: $out"
grep -q "control socket: refused pid [0-9]* uid 65534" "$WORK/daemon.log" || fail "no log line for the refusal"
chgrp nogroup "$SOCK"
as 65534 65534 "" -- "$CTL" -s "$SOCK" show status >/dev/null || fail "the socket's group (primary) refused"
as 1001 1001 65534 -- "$CTL" -s "$SOCK" show status >/dev/null || fail "the socket's group (supplementary) refused"
rc=0; as 1002 1002 "" -- "$CTL" -s "$SOCK" show status >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "uid 1002 outside the group was served"
pass "SO_PEERCRED on a 0666 socket: uid 65534 refused ('$out'), logged; the group after chgrp (primary and supplementary) let in"

# ---- caps, and root's reserve ----
hold u1 1001 1001 65534 20 45
[ "$(count u1 open)" = 16 ] || fail "uid 1001: $(count u1 open) open, want 16"
grep -q "^refused.*too many control clients of this uid: 16 connected, 16 of uid 1001" "$WORK/u1.out" \
	|| fail "uid 1001's 17th: $(grep -m1 refused "$WORK/u1.out")"
hold u2 1002 1002 65534 16 45
hold u3 1003 1003 65534 16 45
hold u4 1004 1004 65534 12 45
[ "$(count u4 open)" = 8 ] || fail "uid 1004: $(count u4 open) open, want 8 (56 of 64 for non-root)"
grep -q "^refused.*the last ones are kept for root" "$WORK/u4.out" || fail "uid 1004: $(grep -m1 refused "$WORK/u4.out")"
ctl show status >/dev/null || fail "root refused while others hold 56 connections"
hold r 0 0 "" 9 45
[ "$(count r open)" = 8 ] || fail "root: $(count r open) open, want 8"
rc=0; out=$(ctl show status 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -qF "too many control clients: 64 connected" <<<"$out" \
	|| fail "the 65th client: exit $rc, '$out' (want exit 1 and the reason, not a reset)"
T_FULL=$(date +%s)
pass "caps: 16 per uid, 56 for non-root, the 65th told '$out'"

# ---- idle connections closed ----
for h in u1 u2 u3 u4 r; do
	for _ in $(seq 450); do grep -q '^end' "$WORK/$h.out" && break; sleep 0.1; done
	[ "$(grep '^end' "$WORK/$h.out")" = "end 0" ] || fail "$h: idle connections left open: $(tail -2 "$WORK/$h.out")"
	[ "$(count "$h" closed)" = "$(count "$h" open)" ] || fail "$h: $(count "$h" closed) closed of $(count "$h" open)"
	if grep '^closed' "$WORK/$h.out" | grep -vqF "no request for 30 s"; then fail "$h: closed without the reason"; fi
done
took=$(( $(date +%s) - T_FULL ))
ctl show status >/dev/null || fail "no room after the idle ones went"
grep -q "control socket: refused" "$WORK/daemon.log" || fail "no refusal logged"
[ "$(grep -c 'control socket: refused' "$WORK/daemon.log")" -lt 10 ] || fail "refusals not throttled in the log"
pass "all 56+8 idle connections closed after ~30 s (${took}s after the last opened), each told why; refusals logged $(grep -c 'control socket: refused' "$WORK/daemon.log") times"

# ---- the token, out of ps ----
if tr '\0' ' ' <"/proc/$DAEMON_PID/cmdline" | grep -qF -- "$TOKEN"; then fail "the token is in /proc/PID/cmdline"; fi
# (grep -q on a pipe would kill glournetd's second write with SIGPIPE under pipefail)
grep -q "every local user can read it in ps" <<<"$("$GLOURNETD" --help)" || fail "--help does not warn about --token"
pass "--token's value is gone from /proc/$DAEMON_PID/cmdline; --help prefers --token-file"

# ---- glournet-loadgen --save ----
LG=$BUILD/tools/glournet-loadgen
umask 022
echo precious >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/creds.jsonl.tmp"
"$LG" --register "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 3 --guid-prefix sv \
	--save "$WORK/creds.jsonl" --register-only >/dev/null 2>&1 || fail "loadgen --save failed"
[ "$(stat -c %a "$WORK/creds.jsonl")" = 600 ] || fail "--save wrote $(stat -c %a "$WORK/creds.jsonl")"
[ "$(wc -l <"$WORK/creds.jsonl")" = 3 ] || fail "--save: $(wc -l <"$WORK/creds.jsonl") lines"
[ "$(cat "$WORK/victim")" = precious ] || fail "--save wrote through the link at creds.jsonl.tmp"
pass "glournet-loadgen --save under umask 022: 0600, whole, the link at creds.jsonl.tmp not followed"
echo PASS
