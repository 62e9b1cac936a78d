#!/bin/bash
# glournetctl's issue-14 parts against the fake daemon (fake_ctl_daemon.py),
# which logs every request it gets (SOCKET.log):
#  - exit codes: 2 for the daemon's usage errors, 4 for permission denied
#    (an error of code denied or read-only, a socket we may not connect
#    to), and with -j every error on stdout as {"ok": false, "error",
#    "code", "exit"};
#  - --version; help COMMAND with options and flags;
#  - show clients streamed as a table (widths from the first rows) or JSON
#    lines, the summary and the next page on stderr; show counts;
#  - destructive commands: "force": false sent, the daemon's preview, no
#    terminal: exit 2 and nothing done; --force: done; remove client with
#    2500 names or --file FILE (and - for stdin) checked by --dry-run
#    batches first, then removed in batches under the line limit;
#  - import/export --wait follow show bulk to the end; a failure exits 1;
#  - batches: -f FILE runs every line, exit code of the first failure,
#    -e stops there; -f - reads stdin;
#  - bash completion: the script, and its words from the daemon's table;
#  - show status's human view: version and uptime, guard.since with its date,
#    table_bytes in MiB, an empty store alarm "none".
# usage: test_ctl_fleet.sh GLOURNETCTL
C=$1; T=$(mktemp -d); F=$(dirname "$0")/fake_ctl_daemon.py
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; rm -rf "$T"' EXIT
fake() { # fake NAME: a fresh fake daemon on $T/NAME.sock
	python3 $F $T/$1.sock --lifetime 120 >$T/$1.out 2>$T/$1.err & PIDS+=($!)
	for _ in $(seq 50); do grep -q ready $T/$1.out 2>/dev/null && break; sleep 0.1; done
}
fake a; S=$T/a.sock
pass=0; fail=0
ok() { pass=$((pass+1)); }
ko() { fail=$((fail+1)); echo "FAIL: $*"; }
run() { # run EXPECTED_RC DESCRIPTION CMD...: output in $T/out, $T/err
	local exp=$1 d=$2; shift 2
	"$@" </dev/null >$T/out 2>$T/err; local rc=$?
	[ $rc = $exp ] && ok || { ko "$d: exit $rc, want $exp"; head -3 $T/err; }
}
jq_out() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' $T/out "$1"; }
requests() { grep -c "$1" $S.log; }

# ---- exit codes and -j errors ----
run 2 "daemon usage error" $C -s $S show clients --bogus
grep -q "unknown option '--bogus'" $T/err && ok || ko "usage message: $(cat $T/err)"
run 2 "-j daemon usage error" $C -j -s $S frobnicate
[ "$(jq_out 'd["code"], d["exit"], d["ok"]')" = "('usage', 2, False)" ] && ok || ko "-j usage JSON: $(cat $T/out)"
run 1 "-j daemon error" $C -j -s $S show client nosuch
[ "$(jq_out 'd["code"], d["exit"]')" = "('error', 1)" ] && grep -q nosuch $T/out && ok || ko "-j error JSON: $(cat $T/out)"
run 3 "-j not running" $C -j -s $T/none.sock show status
[ "$(jq_out 'd["code"], d["exit"]')" = "('not-running', 3)" ] && ok || ko "-j not running: $(cat $T/out)"
run 4 "denied" $C -s $S debug denied
run 4 "-j denied" $C -j -s $S debug denied
[ "$(jq_out 'd["code"]')" = denied ] && ok || ko "-j denied: $(cat $T/out)"
run 4 "read-only" $C -s $S debug readonly
grep -q "read-only control socket" $T/err && ok || ko "read-only says: $(cat $T/err)"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0711 $T
	run 4 "EACCES on connect" setpriv --reuid 65534 --regid 65534 --clear-groups -- $C -s $S show status
	grep -q "permission denied" $T/err && ok || ko "EACCES says: $(cat $T/err)"
	chmod 0700 $T
fi
run 2 "usage from glournetctl, -j" $C -j --timeout 0 show status
run 0 "--version" $C --version
grep -Eqx 'glournetctl [0-9]+\.[0-9]+\.[0-9]+' $T/out && ok || ko "--version: $(cat $T/out)"

# ---- help COMMAND ----
run 0 "help show clients" $C -s $S help show clients
grep -q -- '--status STATUS\[,STATUS\]' $T/out && grep -q "allowed on the read-only socket; its answer streams" $T/out \
	&& grep -q "online, offline, unreachable/online, unreachable/offline" $T/out && ok || ko "help show clients: $(cat $T/out)"
run 0 "help remove" $C -s $S help remove
grep -q "asks to confirm (--force: does not)" $T/out && grep -q -- "--force" $T/out && ok || ko "help remove: $(cat $T/out)"
run 2 "help nosuch" $C -s $S help nosuch

# ---- show clients, show counts ----
run 0 "show clients" $C -s $S show clients
[ "$(head -1 $T/out | tr -s ' ')" = "ID GUID HOSTNAME STATUS REASON LAST CONTACT" ] && ok || ko "header: $(head -1 $T/out)"
[ $(wc -l <$T/out) = 5 ] && ok || ko "4 rows: $(cat $T/out)"
# (g-2 was last heard 2 minutes before the fake daemon started: 1m59s to 2m1s ago)
grep -Eq '^00000000000000bb  g-2 +- +offline +no-contact +[0-9-]+T[0-9:]+Z \((1m5[0-9]s|2m|2m[0-9]s) ago\)$' $T/out && ok || ko "row: $(cat $T/out)"
grep -q -- "-- 4 clients listed (4 matched of 4 scanned" $T/err && ok || ko "summary: $(cat $T/err)"
run 0 "show clients --status offline -j" $C -j -s $S show clients --status offline
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l.get("guid") for l in lines[:-1]] == ["g-2", "g-3"], lines
assert lines[-1]["done"]["listed"] == 2, lines[-1]
' $T/out && ok || ko "-j lines: $(cat $T/out)"
run 0 "show clients --limit 1" $C -s $S show clients --limit 1
grep -q -- "-- more: add --after 0 for the next page --" $T/err && ok || ko "next page: $(cat $T/err)"
run 2 "show clients --status bogus" $C -s $S show clients --status bogus
run 0 "show counts" $C -s $S show counts
grep -Eq '^  offline +2$' $T/out && grep -q "by unreachable range:" $T/out && ok || ko "counts: $(cat $T/out)"
run 0 "show counts -j" $C -j -s $S show counts --status offline
[ "$(jq_out 'd["by_status"]["offline"], d["matched"]')" = "(2, 2)" ] && ok || ko "counts -j: $(cat $T/out)"

# ---- show status's view ----
# (the fake daemon started 3725 s before its start: uptime grows as the test runs)
run 0 "show status" $C -s $S show status
grep -Eq '^version +0\.1\.0$' $T/out && grep -Eq '^uptime +3[7-9][0-9][0-9] \(1h[0-9]m\)$' $T/out && ok || ko "version, uptime: $(head -3 $T/out)"
grep -Eq '^table_bytes +640\.0 MiB$' $T/out && ok || ko "table_bytes: $(grep table_bytes $T/out)"
grep -Eq '^  since +[0-9]+ \([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\)$' $T/out && ok || ko "guard.since: $(grep -A3 guard: $T/out)"
grep -Eq '^  alarm +none$' $T/out && ok || ko "store.alarm: $(grep -A3 store: $T/out)"

# ---- destructive commands ----
fake b; S=$T/b.sock
run 2 "remove without a terminal or --force" $C -s $S remove client g-1
grep -q "remove 1 clients: g-1: not done (confirm with --force" $T/err && ok || ko "no-confirm says: $(cat $T/err)"
grep -q '"force": false' $S.log && ok || ko "force false not sent: $(cat $S.log)"
run 0 "g-1 still there" $C -s $S show clients --guid g-1
[ $(wc -l <$T/out) = 2 ] && ok || ko "g-1 was removed unconfirmed"
run 2 "-j remove unconfirmed" $C -j -s $S remove client g-1
[ "$(jq_out 'd["code"], d["exit"]')" = "('confirm', 2)" ] && ok || ko "-j confirm: $(cat $T/out)"
run 0 "remove --force" $C -s $S remove client g-1 --force
grep -q '"force": true' $S.log && ok || ko "force true not sent"
run 0 "g-1 gone" $C -s $S show clients --guid g-1
[ $(wc -l <$T/out) = 0 ] && ok || ko "g-1 not removed: $(cat $T/out)"
run 2 "guard release unconfirmed" $C -s $S guard release
grep -q "120 endpoints held" $T/err && ok || ko "guard preview: $(cat $T/err)"
run 0 "guard release --force" $C --force -s $S guard release
run 2 "remove by filter unconfirmed" $C -s $S remove client --status offline
grep -q "2 clients match --status offline: confirm" $T/err && ok || ko "filter preview: $(cat $T/err)"
run 0 "remove by filter --dry-run" $C -s $S remove client --status offline --dry-run
grep -q "would remove 2 clients matching --status offline" $T/out && ok || ko "dry-run: $(cat $T/out)"
# 2500 names: more than a request holds (issue 14: 15 failed), in batches.
names=$(for i in $(seq 2500); do printf 'nobody-%04d ' $i; done)
before=$(requests '"remove"')
run 1 "2500 names, unknown ones" $C -s $S remove client $names g-2 --force
grep -q "2500 names are no client" $T/err && ok || ko "unknown names: $(cat $T/err)"
[ $(( $(requests '"remove"') - before )) = 2 ] && ! tail -2 $S.log | grep -v -q -- '--dry-run' && ok || ko "checked in 2 dry-run batches: $(tail -2 $S.log | cut -c1-100)"
run 0 "g-2 still there" $C -s $S show clients --guid g-2
[ $(wc -l <$T/out) = 2 ] && ok || ko "g-2 removed although names were unknown"
run 0 "2500 names --missing-ok" $C -s $S remove client $names g-2 --missing-ok --force
grep -q "removed 1 clients (2500 names were no client" $T/out && ok || ko "batched remove: $(cat $T/out)"
python3 -c '
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])][-4:]
assert all(len(json.dumps(r)) < 65536 for r in reqs), [len(json.dumps(r)) for r in reqs]
assert [("--dry-run" in r["argv"]) for r in reqs] == [True, True, False, False], reqs
' $S.log && ok || ko "batches: $(tail -4 $S.log | cut -c1-80)"
printf '# the till\ng-3\n\n' >$T/names.txt
run 2 "--file unconfirmed" $C -s $S remove client --file $T/names.txt
grep -q "remove 1 clients named in $T/names.txt" $T/err && ok || ko "--file confirm: $(cat $T/err)"
printf 'g-3\n' | $C -s $S remove client --file - --force >$T/out 2>$T/err && grep -q "removed 1 clients" $T/out \
	&& ok || ko "--file - : $(cat $T/out $T/err)"

# ---- import/export --wait ----
run 0 "import --wait" $C -s $S import /tmp/x.jsonl --wait
grep -q "import done:" $T/out && grep -Eq '^running +no$' $T/out && ok || ko "--wait: $(cat $T/out)"
[ $(requests '"bulk"') -ge 3 ] && ok || ko "--wait did not poll show bulk"
run 0 "export --wait -j" $C -j --wait -s $S export /tmp/x.jsonl
[ "$(jq_out 'd["running"]')" = False ] && ok || ko "export -j --wait: $(cat $T/out)"
run 1 "import --wait, failed" $C -s $S import /tmp/fail.jsonl --wait
grep -q "import failed: cannot open" $T/err && ok || ko "--wait failure: $(cat $T/err)"

# ---- batches ----
printf 'show status\n# a comment\n\nfrobnicate\nshow client "g-1"\n' >$T/batch
before=$(wc -l <$S.log)
run 2 "-f: first failure's code" $C -s $S -f $T/batch
[ $(( $(wc -l <$S.log) - before )) = 3 ] && ok || ko "-f ran $(( $(wc -l <$S.log) - before )) of 3"
before=$(wc -l <$S.log)
run 2 "-f -e stops" $C -s $S -f $T/batch -e
[ $(( $(wc -l <$S.log) - before )) = 2 ] && grep -q "batch:4: stopped (-e)" $T/err && ok || ko "-e: $(cat $T/err)"
printf 'show stats\nshow status\n' | $C -s $S -f - >$T/out 2>$T/err && grep -q "^clients" $T/out && ok || ko "-f -: $(cat $T/err)"
printf 'show client "g-1\n' | $C -s $S -f - >$T/out 2>$T/err; [ $? = 2 ] && grep -q "stdin:1: a double quote is not closed" $T/err && ok || ko "quote: $(cat $T/err)"
run 2 "no command, no terminal" $C -s $S

# ---- completion ----
run 0 "completion bash" $C completion bash
grep -qx 'complete -o default -F _glournetctl glournetctl' $T/out && ok || ko "script: $(cat $T/out)"
cp $T/out $T/completion.bash
words() { GLOURNET_SOCKET=$S $C completion words "$@" | tr '\n' ' '; }
[ "$(words 2 glournetctl show cl)" = "client clients cluster " ] && ok || ko "show cl: $(words 2 glournetctl show cl)"
[ "$(words 3 glournetctl show clients --st)" = "--status " ] && ok || ko "--st: $(words 3 glournetctl show clients --st)"
[ "$(words 4 glournetctl show clients --status off)" = "offline " ] && ok || ko "off"
[ "$(words 4 glournetctl show clients --status online,unreachable/o)" = "online,unreachable/online online,unreachable/offline " ] && ok || ko "comma list: $(words 4 glournetctl show clients --status online,unreachable/o)"
[ "$(words 3 glournetctl remove client --f)" = "--file --force " ] && ok || ko "remove --f: $(words 3 glournetctl remove client --f)"
[ "$(words 2 glournetctl set heartbeat.i)" = "heartbeat.interval " ] && ok || ko "set names"
[ "$(words 3 glournetctl set heartbeat.interval 1)" = "" ] && ok || ko "set value completes nothing"
[ "$(words 1 glournetctl --j)" = "--json " ] && ok || ko "global --j"
[ "$(GLOURNET_SOCKET=$T/none.sock $C completion words 1 glournetctl com)" = "completion" ] && ok || ko "no daemon: $(GLOURNET_SOCKET=$T/none.sock $C completion words 1 glournetctl com)"
got=$(bash -c '. "$1"; COMP_WORDS=("$2" -s "$3" show cou); COMP_CWORD=4; _glournetctl; echo "${COMPREPLY[*]}"' _ $T/completion.bash $C $S)
[ "$got" = counts ] && ok || ko "bash _glournetctl: '$got'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
