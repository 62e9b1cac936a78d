#!/usr/bin/env bash
# control/ and tools/ follow one style, the repository's .clang-format (the
# kernel-like style the code was written in: tabs, 100 columns, Linux
# braces). Fails listing the files clang-format would change; fix them with
#   clang-format -i --style=file FILE
# Hand-aligned tables (the X-macro lists, the command table) sit between
# /* clang-format off */ and /* clang-format on */.
set -euo pipefail
SRC=${1:?source root}
cd "$SRC"
command -v clang-format >/dev/null || { echo "clang-format not installed (tools/setup-deps.sh installs it)"; exit 1; }
bad=()
while IFS= read -r f; do
	clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files 'control/*.[ch]' 'tools/*.[ch]' 2>/dev/null || find control tools -name '*.[ch]')
if [ ${#bad[@]} -gt 0 ]; then
	echo "not in the .clang-format style (clang-format -i --style=file FILE):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
echo "ok: control/ and tools/ follow .clang-format"
