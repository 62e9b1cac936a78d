#!/usr/bin/env bash
# The test command: installs what is needed, builds, and runs every test
# (unit, fuzz replays, integration). Integration tests need root (network
# namespaces); without it they are skipped, and said so. Then, unless
# arguments narrowed the run (or SANITIZE=0), a second tree built with
# AddressSanitizer + UndefinedBehaviorSanitizer (gcc) runs the unit tests,
# the fuzz replays and the HTTP integration tests. Ends with
# "N passed, N failed, N skipped" over both trees.
#
#   tools/test.sh [meson test arguments, e.g. --suite unit]
#   SANITIZE=1 tools/test.sh --suite unit     # the sanitizer tree as well
#
# The sanitizer tree and DPDK: the integration tests run glournetd with
# --no-huge (EAL memory from plain anonymous mappings), which ASan takes
# without any ASAN_OPTIONS: leak detection stays on and a clean SIGTERM
# exit reports no leak (the tests check the exit status). What EAL
# allocates from its own heap (rte_malloc) is invisible to ASan: DPDK is
# not built with it. UBSan is made fatal (halt_on_error), so a report fails
# the test instead of scrolling by.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
SAN_BUILD=${SAN_BUILD:-$BUILD-sanitize}
SANITIZE=${SANITIZE:-$([ $# -eq 0 ] && echo 1 || echo 0)}
SAN_INTEGRATION=(integration-http-api integration-http-flood)

"$SRC/tools/setup-deps.sh"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD"

rc=0
# Two at a time: every integration test is is_parallel: false (each runs
# alone: labs, hugepages, the exception interface, timing), so only the
# unit, fuzz and tools tests pair up, which keeps the suite inside CI's
# 20 minutes as the integration tests grow.
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || rc=$?
logs=("$BUILD/meson-logs/testlog.json")

if [ "$SANITIZE" = 1 ]; then
	echo "=== sanitizer build (ASan + UBSan): $SAN_BUILD"
	[ -f "$SAN_BUILD/build.ninja" ] ||
		# GCC 12's -Wformat-overflow/-truncation see a NULL in UBSan's
		# instrumented code where none can be (state_dir.c, safe_file.c):
		# warnings only in this tree; the normal build keeps them as errors.
		meson setup "$SAN_BUILD" "$SRC" -Db_sanitize=address,undefined -Db_lundef=false \
			-Dc_args='-Wno-format-overflow -Wno-format-truncation' >/dev/null
	ninja -C "$SAN_BUILD"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:print_summary=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
	meson test -C "$SAN_BUILD" --print-errorlogs --num-processes 2 --logbase sanitize-unit \
		--suite unit --suite fuzz || rc=$?
	meson test -C "$SAN_BUILD" --print-errorlogs --num-processes 1 --logbase sanitize-integration \
		"${SAN_INTEGRATION[@]}" || rc=$?
	logs+=("$SAN_BUILD/meson-logs/sanitize-unit.json" "$SAN_BUILD/meson-logs/sanitize-integration.json")
fi

# One plain closing line, whatever the runner printed above.
python3 - "${logs[@]}" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
        counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $rc
