#!/usr/bin/env bash
# glournetd --check --config FILE (issue 14, configuration), with no DPDK:
#  - the example deploy/glournetd.yaml is accepted (exit 0, "configuration
#    OK", the EAL words it would pass) and starts nothing (no runtime
#    directory of its prefix);
#  - a bad file exits 2 and names the file, line and key of each error: an
#    unknown key, a bad value, a bad type;
#  - with stderr on the journal (JOURNAL_STREAM naming it) the error lines
#    carry the syslog priority <3>, so `journalctl -p err` shows them; not
#    elsewhere.
# Usage: test_config_check.sh GLOURNETD SRC
set -euo pipefail
GLOURNETD=$1
SRC=$2
T=$(mktemp -d /tmp/gn-ops-config.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

echo "t0ken-$$" >"$T/token"
chmod 0600 "$T/token"

# The example, its token file replaced on the command line (which wins).
rc=0
out=$("$GLOURNETD" --check --config "$SRC/deploy/glournetd.yaml" --token-file "$T/token" 2>&1) || rc=$?
[ $rc -eq 0 ] || fail "the example is refused (exit $rc): $out"
grep -qF "deploy/glournetd.yaml: configuration OK" <<<"$out" || fail "no OK line: $out"
grep -qF "EAL arguments: -l 1-5 -a 0000:3b:00.1 --in-memory --file-prefix glournet" <<<"$out" ||
	fail "the EAL words of eal: $out"
! grep -q "EAL:" <<<"$out" || fail "--check started EAL: $out"
pass "deploy/glournetd.yaml: $(head -1 <<<"$out"); $(tail -1 <<<"$out")"

# Words after -- replace eal:
out=$("$GLOURNETD" --check --config "$SRC/deploy/glournetd.yaml" --token-file "$T/token" -- -l 0,1 --no-huge)
grep -qx "EAL arguments: -l 0,1 --no-huge -m [0-9]*" <<<"$(tail -1 <<<"$out")" || fail "-- replaces eal: $out"
pass "EAL words after -- replace the file's: $(tail -1 <<<"$out")"

cat >"$T/bad.yaml" <<'YAML'
# a broken configuration
udp_port: 7100
rx-desc: 10
hb-addr: 198.18.0.1
http:
  listen: 127.0.0.1:8080
window: [30s, 60s]
YAML
rc=0
out=$("$GLOURNETD" --check --config "$T/bad.yaml" --token-file "$T/token" 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "a bad file: exit $rc, want 2: $out"
for want in "$T/bad.yaml:2: unknown key 'udp_port'; did you mean 'udp-port'?" \
	"$T/bad.yaml:3: rx-desc '10': expected a whole number from 64 to 16384" \
	"$T/bad.yaml:6: http: bad type: a mapping"; do
	grep -qF -- "$want" <<<"$out" || fail "does not say '$want': $out"
done
pass "a bad file: exit 2; $(tr '\n' '|' <<<"$out")"
rc=0
out=$("$GLOURNETD" --check --config <(printf 'udp-port: 7100\nwindow: [30s, 60s]\n') \
	--token-file "$T/token" 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q ":2: window: bad type: a list, expected one value" <<<"$out" ||
	fail "a list for one value: $out"
pass "bad type: $out"

# The journal: stderr is a file whose device and inode JOURNAL_STREAM names.
rc=0
(
	exec 2>"$T/journal"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") \
		exec "$GLOURNETD" --check --config "$T/bad.yaml" --token-file "$T/token"
) || rc=$?
[ $rc -eq 2 ] || fail "on the journal: exit $rc"
n=$(grep -c . "$T/journal")
[ "$n" -ge 3 ] && [ "$(grep -c '^<3>glournetd: ' "$T/journal")" -eq "$n" ] ||
	fail "every error line carries <3> on the journal: $(cat "$T/journal")"
pass "on the journal each error line starts with <3>: $(head -1 "$T/journal")"
# A JOURNAL_STREAM that is not stderr (a child's inherited one): no prefix.
rc=0
out=$(JOURNAL_STREAM=1:1 "$GLOURNETD" --check --config "$T/bad.yaml" --token-file "$T/token" 2>&1) || rc=$?
! grep -q '^<' <<<"$out" || fail "a prefix with JOURNAL_STREAM naming another stream: $out"
pass "JOURNAL_STREAM of another stream: no prefix"
