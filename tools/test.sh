#!/usr/bin/env bash
# The test command: installs what is needed, builds, and runs every test
# (unit and integration). Integration tests need root (network namespaces);
# without it they are skipped, and said so. Ends with "N passed, N failed".
#
#   tools/test.sh [meson test arguments, e.g. --suite unit]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}

"$SRC/tools/setup-deps.sh"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD"

rc=0
meson test -C "$BUILD" --print-errorlogs --num-processes 1 "$@" || rc=$?

# One plain closing line, whatever the runner printed above.
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $rc
