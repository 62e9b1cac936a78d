#!/bin/bash
# glournetctl against a fake daemon (fake_ctl_daemon.py): every command in
# both output modes, and every exit code of the CLI contract
# (docs/control-socket.md: 0 ok, 1 daemon error, 2 usage, 3 not running,
# 4 permission denied). Issue 14 (test_ctl_fleet.sh has the rest): a usage
# error the daemon finds exits 2, not 1.
# usage: test_glournetctl.sh GLOURNETCTL
C=$1; T=$(mktemp -d); S=$T/ctl.sock; F=$(dirname "$0")/fake_ctl_daemon.py
trap 'rm -rf "$T"' EXIT
python3 $F $S --lifetime 120 > $T/fake.out 2>$T/fake.err & FPID=$!
for i in $(seq 50); do grep -q ready $T/fake.out 2>/dev/null && break; sleep 0.1; done
pass=0; fail=0
check(){ # expected_rc description cmd...
  local exp=$1; shift; local d=$1; shift
  "$@" >$T/t.out 2>$T/t.err; local rc=$?
  if [ $rc = $exp ] && ! grep -q 'ERROR: \|runtime error' $T/t.err; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL($rc!=$exp): $d"; head -5 $T/t.err; fi
}
for j in "" -j; do
  check 0 "status $j" $C $j -s $S show status
  check 0 "client $j" $C $j -s $S show client 00000000000000aa
  check 0 "client guid $j" $C $j -s $S show client g-1
  check 0 "stats $j" $C $j -s $S show stats
  [ -n "$j" ] || grep -Eq '^ *alarm +none$' $T/t.out || { fail=$((fail+1)); echo "FAIL: show stats: store alarm not 'none': $(grep alarm $T/t.out)"; }
  check 0 "cluster $j" $C $j -s $S show cluster
  if [ -n "$j" ]; then
    jq -e '.replication[0] | .sync_state == "sync" and .lag_bytes == 1024' $T/t.out >/dev/null || { fail=$((fail+1)); echo "FAIL: show cluster -j: the standby: $(cat $T/t.out)"; }
  else
    grep -Eq '^ +pgautofailover_standby_2 +127\.0\.0\.1 +streaming +sync +1024 +0\.012s$' $T/t.out || { fail=$((fail+1)); echo "FAIL: show cluster: no standby row: $(cat $T/t.out)"; }
    grep -Eq '^primary +127\.0\.0\.1:25432$' $T/t.out || { fail=$((fail+1)); echo "FAIL: show cluster: the primary"; }
  fi
  check 0 "cluster no standby $j" $C $j -s $S show cluster --no-standby
  [ -n "$j" ] || grep -A1 '^replication' $T/t.out | grep -Eq '^  none$' || { fail=$((fail+1)); echo "FAIL: show cluster: no standby not 'none': $(cat $T/t.out)"; }
  check 0 "help $j" $C $j -s $S help
  check 0 "nested $j" $C $j -s $S debug nested
  check 0 "scalar $j" $C $j -s $S debug scalar
  check 0 "chunked $j" $C $j -s $S debug chunked
  check 0 "big $j" $C $j -s $S debug big 3000
  check 1 "unknown client $j" $C $j -s $S show client nosuch
  check 2 "unknown cmd $j" $C $j -s $S frobnicate
  check 1 "garbage $j" $C $j -s $S debug garbage
  check 1 "noresult $j" $C $j -s $S debug noresult
  check 1 "close $j" $C $j -s $S debug close
  check 1 "huge $j" $C $j -s $S debug huge
  check 1 "slow $j" $C $j -s $S --timeout 0.3 debug slow 1
  check 3 "no daemon $j" $C $j -s $T/none.sock show status
  check 2 "no command $j" $C $j -s $S
done
check 0 "--help up" $C -s $S --help
check 0 "--help down" $C -s $T/none.sock --help
check 0 "env socket" env GLOURNET_SOCKET=$S $C show status
check 2 "bad opt" $C -x show status
check 2 "bad long opt" $C --nope show status
check 2 "missing arg" $C -s
check 2 "bad timeout" $C --timeout -1 show status
check 2 "non utf8" $C -s $S show client $'\xff'
check 2 "too long" $C -s $S show client "$(head -c 70000 /dev/zero | tr '\0' a)"
$C -s $S show status > /dev/full 2>$T/t.err; rc=$?; [ $rc = 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL /dev/full rc=$rc"; }
cat $T/t.err
# concurrency: 20 parallel clients
pids=""; for i in $(seq 20); do $C -s $S show stats >/dev/null & pids="$pids $!"; done; for p in $pids; do wait $p || { fail=$((fail+1)); echo FAIL parallel; }; done
# Output content, not just exit codes.
out=$($C -s $S show status); grep -Eq '^clients +3$' <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL status table: $out"; }
v=$($C -s $S -j show status | python3 -c 'import json,sys; print(json.load(sys.stdin)["online"])')
[ "$v" = 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL -j online=$v"; }
out=$($C -s $S show client g-1); grep -Eq '^id +00000000000000aa$' <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL client table"; }
out=$($C -s $S show client nosuch 2>&1 >/dev/null); grep -q nosuch <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL error names the client: $out"; }
# watch: a stream after the first answer (the fake's canned events: held
# 5..9; live 10, 11, a missed notice for 12..14, 15, a pause, 16, 17, close).
ok(){ pass=$((pass+1)); }; ko(){ fail=$((fail+1)); echo "FAIL $*"; }
check 0 "watch --count 3" $C -s $S watch --count 3
[ $(wc -l <$T/t.out) = 3 ] && ok || ko "watch: $(cat $T/t.out)"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  #10  00000000000000aa  g-1  offline -> online  \(heartbeat\)$' $T/t.out && ok || ko "watch line: $(head -1 $T/t.out)"
grep -Eq 'Z  #15  GUARD RAISED: 42 endpoints held$' $T/t.out && ok || ko "guard line: $(cat $T/t.out)"
grep -qx -- '-- missed 3 events; resuming at #15 --' $T/t.err && ok || ko "missed notice: $(cat $T/t.err)"
check 0 "watch -j --count 3" $C -j -s $S watch --count 3
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [o.get("seq") for o in lines] == [10, 11, None, 15], lines
assert lines[2] == {"missed": 3, "resume": 15}, lines[2]
assert lines[0] == {"seq": 10, "time": 1795000010, "id": "00000000000000aa", "guid": "g-1", "old": "offline", "new": "online", "reason": "heartbeat"}, lines[0]
assert lines[3] == {"seq": 15, "time": 1795000015, "kind": "guard-raised", "count": 42}, lines[3]
' $T/t.out && ok || ko "watch -j lines: $(cat $T/t.out)"
[ -s $T/t.err ] && ko "watch -j wrote to stderr: $(cat $T/t.err)" || ok
check 0 "watch --from" $C -s $S watch --from 3 --count 5
grep -qx -- '-- missed 2 events; resuming at #5 --' $T/t.err && ok || ko "missed from: $(cat $T/t.err)"
sed -n 2p $T/t.out | grep -Eq 'Z  #6  00000000000000bb  g-2  unreachable/offline -> unreachable/online  \(poll\)$' && ok || ko "from line 2: $(cat $T/t.out)"
sed -n 4p $T/t.out | grep -Eq 'Z  #8  GUARD RELEASED: 120 endpoints released$' && ok || ko "released: $(cat $T/t.out)"
sed -n 5p $T/t.out | grep -Eq 'Z  #9  00000000000000cc  -  offline -> online  \(registered\)$' && ok || ko "no guid: $(cat $T/t.out)"
check 0 "watch --count= past a pause > --timeout" $C -s $S --timeout 0.2 watch --count=4
check 1 "watch: daemon closes" $C -s $S watch --count 100
grep -q 'closed the connection' $T/t.err && [ $(wc -l <$T/t.out) = 5 ] && ok || ko "closed: $(cat $T/t.out $T/t.err)"
check 2 "watch: daemon rejects --from" $C -s $S watch --from x
grep -q 'usage: watch' $T/t.err && ok || ko "usage from daemon: $(cat $T/t.err)"
check 1 "watch: --from past next" $C -j -s $S watch --from 99
check 2 "watch --count 0" $C -s $S watch --count 0
check 2 "watch --count x" $C -s $S watch --count x
check 2 "watch --count" $C -s $S watch --count
check 3 "watch, no daemon" $C -s $T/none.sock watch
for sig in INT TERM; do
  $C -s $S watch >$T/w.out 2>$T/w.err & wp=$!
  for i in $(seq 30); do [ $(wc -l <$T/w.out) -ge 2 ] && break; sleep 0.05; done
  kill -$sig $wp; wait $wp; rc=$?
  [ $rc = 0 ] && [ $(wc -l <$T/w.out) -ge 2 ] && ok || ko "watch SIG$sig rc=$rc: $(cat $T/w.out $T/w.err)"
done
kill -TERM $FPID; wait $FPID; echo "daemon exit=$?"; [ -e $S ] && echo "socket left behind!"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
