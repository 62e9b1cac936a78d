#!/bin/bash
# glournetctl against a fake daemon (fake_ctl_daemon.py): every command in
# both output modes, and every exit code of the CLI contract
# (docs/control-socket.md: 0 ok, 1 daemon error, 2 usage, 3 not running).
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
  check 0 "help $j" $C $j -s $S help
  check 0 "nested $j" $C $j -s $S debug nested
  check 0 "scalar $j" $C $j -s $S debug scalar
  check 0 "chunked $j" $C $j -s $S debug chunked
  check 0 "big $j" $C $j -s $S debug big 3000
  check 1 "unknown client $j" $C $j -s $S show client nosuch
  check 1 "unknown cmd $j" $C $j -s $S frobnicate
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
kill -TERM $FPID; wait $FPID; echo "daemon exit=$?"; [ -e $S ] && echo "socket left behind!"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
