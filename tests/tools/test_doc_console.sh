#!/usr/bin/env bash
# tests/tools/doc_console.py, the runner behind integration-operations-day,
# on small pages of plain shell commands (no root, no daemon). Proves:
#  - a page whose outputs and statuses are right passes: masked ids and
#    numbers, squeezed blanks, trimmed lines ("..."), stdout and stderr
#    each in order, a file block written, a variable and a background
#    job carried from one command to the next, --map both ways;
#  - each way a page can be wrong fails, naming the page's line: a word
#    the command did not print, lines out of order, a non-zero status
#    without "echo $?", a status other than the one shown, a command the
#    run never reached;
#  - the rules refuse a ```sh block and a "$ " line outside a console
#    block (exit 2), so no command can sit on a page unrun.
set -euo pipefail
TOOL=$1
W=$(mktemp -d /tmp/doc-console.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { python3 "$TOOL" run "$1" --out "$W/out.$(basename "$1")" --timeout 20 --map "/srv/page=$W/srv" 2>/dev/null; }

cat >"$W/good.md" <<'EOF'
# A page

```yaml
# /srv/page/conf.txt
name: one
```

```console
$ cat /srv/page/conf.txt
name: one
$ printf 'id 3fa9c2d1e0b84471  count   12\nid 77aa00bb11cc22dd  count 3\n'
id 0123456789abcdef count 7
...
$ echo out; echo err >&2; echo out2
out
err
out2
$ x=41; sleep 30 &
$ echo $((x + 1)) /srv/page; kill %1
42 /srv/page
$ false
$ echo $?
1
```
EOF
out=$(run "$W/good.md") || fail "a right page: $out"
grep -q "6 commands run" <<<"$out" || fail "summary: $out"
[ "$(cat "$W/srv/conf.txt")" = "name: one" ] || fail "the file block was not written under the map"
echo "ok: a right page passes (ids, numbers, blanks masked; streams; a file; a job; the map)"

bad() { # NAME EXPECTED-PART: the page $W/NAME.md fails, saying it
	local rc=0 out
	out=$(run "$W/$1.md") || rc=$?
	[ $rc = 1 ] || fail "$1: exit $rc, want 1: $out"
	grep -qF -- "$2" <<<"$out" || fail "$1: '$out' does not say '$2'"
	echo "ok: $1 fails: $(head -1 <<<"$out" | cut -c1-110)"
}
printf '```console\n$ echo hello\ngoodbye\n```\n' >"$W/word.md"
bad word "line 2: \`echo hello\` did not print (in this order) 'goodbye'"
printf '```console\n$ printf "a\\nb\\n"\nb\na\n```\n' >"$W/order.md"
bad order "did not print (in this order) 'a'"
printf '```console\n$ ls /nonexistent-doc-console\n$ echo after\nafter\n```\n' >"$W/status.md"
bad status "exited 2 and the page shows no echo \$? for it"
grep -q . "$W/out.status.md/0.rc" && [ ! -e "$W/out.status.md/1.rc" ] || fail "the run went on after a wrong status"
printf '```console\n$ false\n$ echo $?\n2\n```\n' >"$W/code.md"
bad code "the command before exited 1, the page says 2"
printf '```console\n$ sleep 60\n$ echo never\nnever\n```\n' >"$W/slow.md"
rc=0; out=$(python3 "$TOOL" run "$W/slow.md" --out "$W/out.slow" --timeout 1 2>/dev/null) || rc=$?
[ $rc = 1 ] && grep -q "did not end within 1 s" <<<"$out" || fail "timeout: exit $rc, $out"
echo "ok: a command that does not end fails the page within --timeout"

refused() { # NAME PART
	local rc=0 out
	out=$(python3 "$TOOL" list "$W/$1.md") || rc=$?
	[ $rc = 2 ] && grep -qF -- "$2" <<<"$out" || fail "$1: exit $rc, '$out'"
	echo "ok: $1 refused: $out"
}
printf 'text\n\n```sh\nglournetctl show status\n```\n' >"$W/shblock.md"
refused shblock "line 3: a \`\`\`sh block"
printf 'text\n$ glournetctl show status\n' >"$W/loose.md"
refused loose "line 2: a command outside a console block"
printf '```\n$ glournetctl show status\n```\n' >"$W/untagged.md"
refused untagged "commands in a block not tagged console"
printf '```console\n$ echo $?\n0\n```\n' >"$W/echofirst.md"
refused echofirst "echo \$? must follow a command"
echo PASS
