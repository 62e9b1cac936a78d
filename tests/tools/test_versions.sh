#!/usr/bin/env bash
# Issue 14: every glournet program has --version, and all print the same
# version, the project's (meson.build: one definition, GN_VERSION).
# usage: test_versions.sh VERSION PROGRAM...
set -uo pipefail
want=$1
shift
failed=0
for p in "$@"; do
	name=$(basename "$p")
	rc=0
	out=$("$p" --version 2>&1 </dev/null) || rc=$?
	if [ $rc -ne 0 ] || [ "$out" != "$name $want" ]; then
		echo "FAIL: $name --version: exit $rc, '$out'; want '$name $want'"
		failed=1
	else
		echo "ok: $out"
	fi
done
[ $failed = 0 ] && echo PASS
exit $failed
