#!/usr/bin/env bash
# Files glournetd (root) writes and reads where an operator says (issue 13
# item 1). An export holds every endpoint's key:
#  - a symbolic link at the export's name is refused, its target untouched;
#  - a link planted at NAME.tmp is never followed (the export is written
#    without a name until complete), its target untouched;
#  - a 0666 NAME.tmp made by another user beforehand is never written into;
#    the export is 0600, root's;
#  - a directory every user can write in, without the sticky bit, is
#    refused, naming it; a sticky one (/tmp's mode) is not;
# and an import of a file it cannot parse (an /etc/shadow-like file, and
# /etc/shadow itself) names refused lines by number and reason, quoting
# nothing of them.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

wait_bulk() {   # wait_bulk import|export: until the job ends; prints its JSON
	for _ in $(seq 300); do
		local j; j=$(ctlj show bulk | jq -c ".$1")
		[ "$(jq -r .running <<<"$j")" = false ] && { echo "$j"; return; }
		sleep 0.1
	done
	fail "$1 did not finish in 30 s"
}
# export_ok PATH: the export ran, and PATH is root's, 0600, with the 4 endpoints.
export_ok() {
	ctl export "$1" >/dev/null || fail "export $1 refused"
	local j; j=$(wait_bulk export)
	[ "$(jq -r .failure <<<"$j")" = "" ] || fail "export $1 failed: $j"
	[ "$(stat -c '%U %a %h' "$1")" = "root 600 1" ] || fail "$1 is $(stat -c '%U %a %h' "$1"), want root 600 1 link"
	[ "$(wc -l <"$1")" = 4 ] || fail "$1 has $(wc -l <"$1") lines, want 4"
	grep -q "\"key\":\"$KEY0\"" "$1" || fail "$1 lacks the keys"
}
# export_refused PATH WORDS: glournetctl exits 1 and says WORDS.
export_refused() {
	local out rc=0
	out=$(ctl export "$1" 2>&1) || rc=$?
	[ $rc -eq 1 ] || fail "export $1: exit $rc ($out), want 1 (refused)"
	grep -qF -- "$2" <<<"$out" || fail "export $1: '$out' does not say '$2'"
	REFUSAL=$out
}
victim_intact() {
	[ "$(cat "$VICTIM")" = precious ] || fail "the link's target was written: $(head -c 80 "$VICTIM")"
	[ "$(stat -c %a "$VICTIM")" = 644 ] || fail "the link's target changed mode"
}

start_daemon
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 4 \
	--guid-prefix fh --state "$WORK/state" >/dev/null
KEY0=$(grep -v '^#' "$WORK/state" | head -1 | awk '{print $4}')
[ -n "$KEY0" ] || fail "no key in the agent's state"
D=$WORK/exports
mkdir -m 0755 "$D"
VICTIM=$WORK/victim
echo precious >"$VICTIM"
chmod 0644 "$VICTIM"

# ---- a link at the name ----
ln -s "$VICTIM" "$D/a.jsonl"
export_refused "$D/a.jsonl" "is a symbolic link"
victim_intact
[ -L "$D/a.jsonl" ] || fail "the link was replaced"
pass "a symbolic link at the export's name: refused ($REFUSAL), its target untouched"

# ---- a link at NAME.tmp ----
ln -s "$VICTIM" "$D/b.jsonl.tmp"
export_ok "$D/b.jsonl"
victim_intact
[ "$(readlink "$D/b.jsonl.tmp")" = "$VICTIM" ] || fail "the planted link changed"
pass "a link planted at b.jsonl.tmp: not followed; b.jsonl root's, 0600, complete"

# ---- a 0666 NAME.tmp another user made to read the keys from ----
: >"$D/c.jsonl.tmp"
chmod 0666 "$D/c.jsonl.tmp"
chown nobody "$D/c.jsonl.tmp" 2>/dev/null || true
export_ok "$D/c.jsonl"
[ ! -s "$D/c.jsonl.tmp" ] || fail "keys written into the planted c.jsonl.tmp"
[ "$(stat -c %a "$D/c.jsonl.tmp")" = 666 ] || fail "the planted file changed mode"
pass "a 0666 c.jsonl.tmp made beforehand: never written; c.jsonl root's, 0600"

# ---- directories others can write in ----
W=$WORK/shared
mkdir "$W"
chmod 0777 "$W"
export_refused "$W/d.jsonl" "writable by every user (mode 0777) without the sticky bit"
grep -qF "$W" <<<"$REFUSAL" || fail "the refusal does not name the directory: $REFUSAL"
[ ! -e "$W/d.jsonl" ] && [ -z "$(ls -A "$W")" ] || fail "something was written in $W: $(ls -A "$W")"
chmod 1777 "$W"
export_ok "$W/d.jsonl"
pass "a 0777 directory: refused ($REFUSAL); 1777 (sticky): written, root's 0600"

# ---- import of what is not an export ----
cat >"$WORK/shadow.jsonl" <<'EOF'
root:$6$Sa1tSa1t$Zm9vYmFyYmF6cXV4aGFzaGhhc2g:19000:0:99999:7:::
daemonuser:*:19000:0:99999:7:::
alice:$y$j9T$SecretSalt$SecretHashValue:19100:0:99999:7:::
{"guid":"fh-x","ips":["hunter2-pw"]}
EOF
ctl import "$WORK/shadow.jsonl" >/dev/null
j=$(wait_bulk import)
[ "$(jq -r .refused <<<"$j")" = 4 ] || fail "shadow-like import: $j"
jq -r '.errors[]' <<<"$j" | while read -r e; do
	grep -qE '^line [0-9]+: ' <<<"$e" || fail "error '$e' does not name its line"
	for s in root Sa1t Zm9v daemonuser alice Secret 19000 99999 hunter2 '$6$' '$y$' ':::'; do
		if grep -qF -- "$s" <<<"$e"; then fail "error '$e' quotes '$s' from the file"; fi
	done
done
if grep -E 'import' "$WORK/daemon.log" | grep -E 'root|Sa1t|alice|hunter2'; then fail "the log quotes the file"; fi
pass "an /etc/shadow-like import: 4 lines refused by number, quoting nothing: $(jq -c .errors <<<"$j")"
if [ -r /etc/shadow ]; then
	ctl import /etc/shadow jsonl >/dev/null
	j=$(wait_bulk import)
	if jq -r '.errors[]' <<<"$j" | grep -E "root|\\\$|:[0-9]+:"; then fail "import /etc/shadow quotes it: $j"; fi
	pass "import /etc/shadow: $(jq -r .refused <<<"$j") lines refused, nothing of them shown"
fi
echo PASS
