#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers with libFuzzer + ASan + UBSan (clang),
# each target for a fixed time; not part of CI's default run (tools/test.sh
# replays the same targets' seeds under gcc, and the sanitizer build runs the
# unit tests). Needs clang and its runtimes, not in tools/setup-deps.sh:
#   apt-get install clang libclang-rt-14-dev     (Debian 12)
#
#   tests/fuzz/run-libfuzzer.sh [SECONDS_PER_TARGET [TARGET...]]   (default 60, all)
#
# Targets: frame (a received frame), register (the HTTP API's request
# bodies and headers), bulk (import lines), ctl (bytes down the control
# socket, through the real transport), config (glournetd's YAML
# configuration file). Findings land in build-fuzz/crash-*;
# the corpus grows in build-fuzz/corpus-*; new seeds worth keeping go to
# tests/fuzz/seeds/TARGET-*.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$SRC/build-fuzz
SECS=${1:-60}
shift || true
TARGETS=(frame register bulk ctl config)
[ $# -eq 0 ] || TARGETS=("$@")
command -v clang >/dev/null || { echo "run-libfuzzer.sh: no clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$OUT"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I$SRC/include -I$SRC"
clang $CFLAGS -o "$OUT/fuzz_frame" "$SRC/tests/fuzz/fuzz_frame.c" \
	"$SRC"/dataplane/{hb_decode,hb_mac_burst,slot_table,gn_mem,coarse_clock,log}.c -lsodium -lurcu-qsbr -ljemalloc
# The whole control library but the daemon's own start-up.
CONTROL=$(ls "$SRC"/control/*.c | grep -v -e '/control/main\.c$' -e '/control/daemon_start\.c$' \
	-e '/control/daemon_netpath\.c$')
# The DPDK-free libraries below it: hb_core (with the log) and netpath_core.
CORE=$(ls "$SRC"/dataplane/{hb_decode,hb_mac_burst,slot_table,gn_mem,coarse_clock,log,net_addr,tx_frame,neigh,neigh_learn,neigh_route,neigh_netlink,neigh_netlink_link,netpath_names}.c)
clang $CFLAGS -DGN_VERSION=\"fuzz\" -o "$OUT/fuzz_register" "$SRC/tests/fuzz/fuzz_register.c" $CONTROL \
	$CORE -lsodium -lurcu-qsbr -ljemalloc \
	-ljansson -lmicrohttpd -lsqlite3 -lyaml -lpthread
clang $CFLAGS -o "$OUT/fuzz_bulk" "$SRC/tests/fuzz/fuzz_bulk.c" "$SRC"/control/{bulk_format,bulk_output,bulk_reader,text}.c \
	"$SRC"/dataplane/net_addr.c -ljansson
clang $CFLAGS -DGN_VERSION=\"fuzz\" -o "$OUT/fuzz_ctl" "$SRC/tests/fuzz/fuzz_ctl.c" $CONTROL \
	$CORE -lsodium -lurcu-qsbr -ljemalloc \
	-ljansson -lmicrohttpd -lsqlite3 -lyaml -lpthread
clang $CFLAGS -o "$OUT/fuzz_config" "$SRC/tests/fuzz/fuzz_config.c" "$SRC/control/config_file.c" -lyaml
for t in "${TARGETS[@]}"; do
	mkdir -p "$OUT/corpus-$t"
	cp -n "$SRC"/tests/fuzz/seeds/$t-* "$OUT/corpus-$t/"
	(cd "$OUT" && ./fuzz_$t -max_total_time="$SECS" -max_len=4096 "corpus-$t")
done
