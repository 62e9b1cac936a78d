#!/usr/bin/env bash
# Bulk import and export (issue #5): an export holds every endpoint with its
# id, slot and key (mode 0600, written whole or not at all); an import adds
# the endpoints of a file, skips known guids, refuses bad lines by number
# without losing the good ones, survives kill -9 (the store has them), and
# an export imported into a fresh collector gives back the same endpoints
# whose agents' heartbeats are accepted with their old credentials.
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

start_daemon --set heartbeat.interval=2s --set heartbeat.offline_after=6s --set guard.threshold=0
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 5 \
	--guid-prefix bk --state "$WORK/state" >/dev/null

# --- export, both formats, relative path resolved by glournetctl
(cd "$WORK" && ctl export out.jsonl >/dev/null)
j=$(wait_bulk export)
[ "$(jq -r .exported <<<"$j")" = 5 ] || fail "export: $j"
[ "$(jq -r .failure <<<"$j")" = "" ] || fail "export failed: $j"
[ "$(wc -l <"$WORK/out.jsonl")" = 5 ] || fail "5 lines in the export"
[ "$(stat -c %a "$WORK/out.jsonl")" = 600 ] || fail "the export holds keys: mode 0600"
[ ! -e "$WORK/out.jsonl.tmp" ] || fail "no temporary file left behind"
while read -r guid id slot key _; do
	case $guid in \#*) continue ;; esac
	line=$(jq -c "select(.guid==\"$guid\")" "$WORK/out.jsonl")
	[ "$(jq -r .id <<<"$line")" = "$id" ] && [ "$(jq -r .slot <<<"$line")" = "$slot" ] \
		&& [ "$(jq -r .key <<<"$line")" = "$key" ] || fail "$guid exported wrongly: $line"
done <"$WORK/state"
ctl export "$WORK/out.csv" >/dev/null
j=$(wait_bulk export)
[ "$(head -1 "$WORK/out.csv" | cut -d, -f1-4)" = "guid,id,slot,key" ] || fail "CSV header"
[ "$(wc -l <"$WORK/out.csv")" = 6 ] || fail "CSV: header + 5 lines"
pass "export: 5 endpoints with id, slot and key, JSON lines and CSV, mode 0600"

# --- bad requests: named, nothing started
out=$(ctl import "$WORK/none.jsonl" 2>&1) && fail "import of a missing file accepted"
grep -q "none.jsonl" <<<"$out" || fail "the error names the file: $out"
out=$(ctl import "$WORK/x.txt" 2>&1) && fail "a file of unknown format accepted"
grep -q "jsonl or csv" <<<"$out" || fail "the error says which formats: $out"

# --- import: 1000 new, 1 known, 3 bad lines
{
	for i in $(seq 1000); do printf '{"guid":"imp-%04d","hostname":"h%d","ips":["10.9.%d.%d"]}\n' \
		"$i" "$i" $((i / 250)) $((i % 250 + 1)); done
	echo '{"guid":"bk-000000"}'
	echo '{"guid":"bad-key","key":"xyz"}'
	echo '{"hostname":"no guid"}'
	echo '{"guid":"bad-ip","ips":["10.0.0.300"]}'
} >"$WORK/in.jsonl"
ctl import "$WORK/in.jsonl" >/dev/null
j=$(wait_bulk import)
[ "$(jq -r .added <<<"$j")" = 1000 ] || fail "import added: $j"
[ "$(jq -r .known <<<"$j")" = 1 ] || fail "import known: $j"
[ "$(jq -r .refused <<<"$j")" = 3 ] || fail "import refused: $j"
for n in 1002 1003 1004; do
	jq -r '.errors[]' <<<"$j" | grep -q "^line $n:" || fail "line $n named in the errors: $j"
done
[ "$(field .clients show status)" = 1005 ] || fail "1005 clients"
[ "$(field .status show client imp-0007)" = offline ] || fail "an import is not contact"
[ "$(field .hostname show client imp-0007)" = h7 ] || fail "hostname imported"
[ "$(field '.ips[0]' show client imp-0007)" = 10.9.0.8 ] || fail "addresses imported"
pass "import: 1000 added (offline until heard), 1 known guid skipped, 3 bad lines refused by number"

# --- CSV import, quoted field
printf 'hostname,guid\n"pc, quoted",csv-1\nplain,csv-2\n' >"$WORK/in.csv"
ctl import "$WORK/in.csv" >/dev/null
j=$(wait_bulk import)
[ "$(jq -r .added <<<"$j")" = 2 ] || fail "CSV import: $j"
[ "$(field .hostname show client csv-1)" = "pc, quoted" ] || fail "CSV quoting"

# --- kill -9: the store has every imported endpoint
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
start_daemon_only
[ "$(field .clients show status)" = 1007 ] || fail "after kill -9: $(field .clients show status) clients"
pass "imported endpoints survive kill -9"

# --- migration: the export into an empty collector keeps ids, slots and keys
stop_daemon
rm -rf "$WORK/gnstate"
start_daemon_only --set heartbeat.interval=2s --set heartbeat.offline_after=6s
[ "$(field .clients show status)" = 0 ] || fail "a fresh collector"
ctl import "$WORK/out.jsonl" >/dev/null
j=$(wait_bulk import)
[ "$(jq -r .added <<<"$j")" = 5 ] || fail "migration import: $j"
while read -r guid id slot key _; do
	case $guid in \#*) continue ;; esac
	[ "$(field .id show client "$guid")" = "$id" ] || fail "$guid: id not kept"
	[ "$(field .slot show client "$guid")" = "$slot" ] || fail "$guid: slot not kept"
done <"$WORK/state"
in_ns "$AGENT" heartbeat --state "$WORK/state" --to "$LAB_COLLECTOR4" --interval 1 \
	--duration 6 >"$WORK/agent.log" 2>&1 || true
[ "$(field .online show status)" = 5 ] || fail "the migrated agents' heartbeats: $(ctlj show stats | jq -c .total)"
[ "$(field .total.dropped.bad_mac show stats)" = 0 ] || fail "keys kept: no bad MAC"
pass "migration: ids, slots and keys kept; the agents' heartbeats accepted by the new collector"

# --- the export is also the load generator's credentials file
LOADGEN=$BUILD/tools/glournet-loadgen
if [ -x "$LOADGEN" ]; then
	acc0=$(field .total.accepted show stats)
	in_ns "$LOADGEN" --endpoints "$WORK/out.jsonl" --to "$LAB_COLLECTOR4" --rate 100 --rounds 2 \
		--duration 10s -q --json >"$WORK/lg.json" 2>"$WORK/lg.err" || fail "loadgen: $(cat "$WORK/lg.err")"
	sent=$(jq -r .sent "$WORK/lg.json")
	[ "$sent" = 10 ] || fail "loadgen sent $sent heartbeats from the export, want 5 x 2"
	for _ in $(seq 20); do [ "$(field .total.accepted show stats)" -ge $((acc0 + 10)) ] && break; sleep 0.1; done
	[ "$(field .total.accepted show stats)" = $((acc0 + 10)) ] || fail "the export's credentials: not all accepted"
	pass "glournet-loadgen reads the export: its 10 heartbeats accepted"
fi
