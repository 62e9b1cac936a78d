#!/usr/bin/env bash
# Every benchmark in one command (issue #6), as root:
#
#   sudo bench/run-all.sh                 (BUILD=build by default)
#
# Builds what is missing, then runs, each bounded in time:
#   1. the micro-benchmarks (Google Benchmark, pinned to CPU 1), JSON kept
#      in $BUILD/bench/micro.json;
#   2. bench/dataplane/run.sh: DPDK worker capacity per core over 10 M
#      endpoints with the kernel recvmmsg baseline from the same run, the
#      same fed with notify-acks, notifies per second from one TX path with
#      the kernel sendmmsg baseline from the same run, and instructions per
#      heartbeat from callgrind (it reserves hugepages and gives them back);
#   3. bench/http/run.sh when present (HTTP=0 skips it; it takes minutes);
#   4. with E2E=1, bench/e2e/afxdp.sh: real packets from glournet-loadgen in
#      a netns over a veth to glournetd on net_af_xdp, the top rate with zero
#      loss, net_af_packet as the baseline (about 10 minutes);
# and prints one table: each figure, its baseline from the same run, the
# ratio, and the target. The table is also kept in $BUILD/bench/results.md.
#
# Environment: BUILD, HTTP (1), E2E (0), MICRO_REPS (3 repetitions, medians),
# MICRO_FILTER (a --benchmark_filter regex, default all), QUIET_WAIT
# (seconds to wait for the CPUs to be under 10% busy first; default 0: only
# warn), and bench/dataplane/run.sh's own (SLOTS, FRAMES, DURATION, ...).
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
export BUILD
HTTP=${HTTP:-1}
E2E=${E2E:-0}
MICRO_REPS=${MICRO_REPS:-3}
MICRO_FILTER=${MICRO_FILTER:-.}
QUIET_WAIT=${QUIET_WAIT:-0}
OUT=$BUILD/bench

die() { echo "bench/run-all: $*" >&2; exit 1; }
[[ $MICRO_REPS =~ ^[1-9]$ ]] || die "MICRO_REPS must be 1..9"
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a number of seconds"
[ "$(id -u)" -eq 0 ] || echo "bench/run-all: not root: hugepages and a large socket queue need root" >&2

# --- build what is missing
if [ ! -f "$BUILD/build.ninja" ]; then
	timeout 600 meson setup "$BUILD" "$SRC" >/dev/null || die "meson setup $BUILD failed"
fi
targets=(bench/gn-bench-capacity bench/gn-bench-tx)
if ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q '^bench/gn-bench-micro:'; then
	targets+=(bench/gn-bench-micro)
else
	echo "NOTE: no gn-bench-micro target (no C++ compiler or no libbenchmark-dev): micro-benchmarks skipped"
fi
timeout 1800 ninja -C "$BUILD" "${targets[@]}" >/dev/null || die "ninja ${targets[*]} failed"
mkdir -p "$OUT"

# --- are the CPUs ours?
busy_pct() {   # % of all CPUs busy over one second
	local a b
	a=($(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
	sleep 1
	b=($(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
	awk -v bu=$((b[0] - a[0])) -v id=$((b[1] - a[1])) 'BEGIN {printf "%d", 100 * bu / (bu + id + 0.001)}'
}
waited=0
while :; do
	busy=$(busy_pct)
	[ "$busy" -ge 10 ] || break
	if [ "$waited" -ge "$QUIET_WAIT" ]; then
		echo "WARNING: the CPUs are ${busy}% busy with other work: figures will be low and noisy" \
			"(QUIET_WAIT=SEC waits for quiet)"
		break
	fi
	sleep 4
	waited=$((waited + 5))
done

# --- 1. micro-benchmarks
rm -f "$OUT/micro.json"
if [[ " ${targets[*]} " == *gn-bench-micro* ]]; then
	echo "== micro-benchmarks (Google Benchmark, CPU 1, $MICRO_REPS repetitions) =="
	timeout -k 10 1200 taskset -c 1 "$BUILD/bench/gn-bench-micro" \
		--benchmark_filter="$MICRO_FILTER" \
		--benchmark_repetitions="$MICRO_REPS" --benchmark_report_aggregates_only=true \
		--benchmark_out="$OUT/micro.json" --benchmark_out_format=json ||
		echo "WARNING: micro-benchmarks failed"
fi

# --- 2. dataplane capacity, kernel baseline, callgrind
echo
rm -f "$OUT/dataplane/summary.txt"
"$SRC/bench/dataplane/run.sh" || echo "WARNING: bench/dataplane/run.sh failed"

# --- 3. HTTP (issue #4), when its script is there
http_summary=
if [ "$HTTP" = 1 ] && [ -x "$SRC/bench/http/run.sh" ]; then
	echo
	echo "== bench/http/run.sh =="
	if timeout 1800 ninja -C "$BUILD" >/dev/null; then
		timeout -k 10 1800 "$SRC/bench/http/run.sh" && http_summary=$OUT/http/summary.txt ||
			echo "WARNING: bench/http/run.sh failed"
	else
		echo "WARNING: the full build failed: bench/http/run.sh skipped"
	fi
fi

# --- 4. real packets over af_xdp (issue #6, benchmark 4), optional
rm -f "$OUT/e2e/summary.txt"
if [ "$E2E" = 1 ]; then
	echo
	echo "== bench/e2e/afxdp.sh =="
	if timeout 1800 ninja -C "$BUILD" >/dev/null; then
		timeout -k 10 3600 "$SRC/bench/e2e/afxdp.sh" || echo "WARNING: bench/e2e/afxdp.sh failed"
	else
		echo "WARNING: the full build failed: bench/e2e/afxdp.sh skipped"
	fi
fi

# --- the table
echo
python3 - "$OUT/micro.json" "$OUT/dataplane/summary.txt" "$OUT/results.md" "$OUT/e2e/summary.txt" <<'EOF'
import json, math, os, sys

micro_path, dp_path, md_path, e2e_path = sys.argv[1:5]
micro = {}
if os.path.exists(micro_path):
    for b in json.load(open(micro_path))["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        ips = b.get("items_per_second")
        if ips:
            micro[name] = {"ns": 1e9 / ips, "b": b}
dp = {}
if os.path.exists(dp_path):
    for line in open(dp_path):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            dp[k] = v

def f(x, unit="", nd=1):
    return "n/a" if x is None else f"{x:.{nd}f}{unit}"

def ns(name):
    m = micro.get(name)
    return None if m is None else m["ns"]

def num(k):
    try:
        v = float(dp[k])
        return v if v > 0 else None
    except (KeyError, ValueError):
        return None

rows = []  # figure, measured, baseline, ratio, target
dpdk, kern = num("dpdk_mpps"), num("kernel_mpps")
huge = dp.get("hugepages") == "1"
slots = dp.get("slots", "?")
rows.append((f"DPDK worker_main, heartbeats/s per core, {slots} endpoints, random order"
             f"{'' if huge else ' (--no-huge!)'}",
             f(dpdk, " Mpps", 2),
             f"kernel recvmmsg: {f(kern, ' Mpps', 2)}",
             f(dpdk / kern, "x") if dpdk and kern else "n/a",
             ">= 20 Mpps; >= 15x kernel"))
rows.append(("  same heartbeats re-sent (nothing new to store)",
             f(num("resend_mpps"), " Mpps", 2), "", "", ""))
thc, tsc = dp.get("table_huge_chunks"), dp.get("table_small_chunks")
if thc is not None:
    sp = num("small_pages_mpps")
    rows.append((f"  slot table pages: {thc} chunks on 2 MiB hugetlb, {tsc} on 4 KiB; "
                 "the same on 4 KiB pages only",
                 f(sp, " Mpps", 2), f"as run: {f(dpdk, ' Mpps', 2)}",
                 f(dpdk / sp, "x") if dpdk and sp else "n/a", ""))
hmac = dp.get("mac", "?")
rows[0] = (rows[0][0] + f", MACs {hmac}",) + rows[0][1:]
for mac, label in (("avx512", "8 lanes, AVX-512"), ("avx2", "4 lanes, AVX2"),
                   ("scalar", "scalar")):
    e = num(f"mac_{mac}_mpps")
    if e:
        rows.append((f"  same, MACs {label}", f(e, " Mpps", 2),
                     f"{hmac}: {f(dpdk, ' Mpps', 2)}",
                     f(e / dpdk, "x") if dpdk else "n/a", ""))
ack = num("ack_dpdk_mpps")
rows.append((f"DPDK worker_main, notify-acks checked/s per core (type 3, same endpoints, order)"
             f"{'' if huge else ' (--no-huge!)'}",
             f(ack, " Mpps", 2), f"heartbeats, same run: {f(dpdk, ' Mpps', 2)}",
             f(ack / dpdk, "x") if ack and dpdk else "n/a", ""))
txn, txk, txu = num("tx_notify_mpps"), num("tx_kernel_tx_mpps"), num("tx_kernel_veth_up_mpps")
rows.append((f"Notifies/s from one TX path: hb_encode + tx_path_send + flush, net_null, "
             f"{dp.get('tx_dests', '?')} endpoints",
             f(txn, " Mpps", 2),
             f"kernel sendmmsg, same notifies, veth peer down: {f(txk, ' Mpps', 2)}",
             f(txn / txk, "x") if txn and txk else "n/a", "notify.rate max 10 M/s"))
rows.append(("  kernel sendmmsg, veth peer up (the frames cross, the peer drops them)",
             f(txu, " Mpps", 2), f"TX path: {f(txn, ' Mpps', 2)}",
             f(txn / txu, "x") if txn and txu else "n/a", ""))
fl = num("tx_fleet_1m_s")
rows.append(("  1 M notifies at that rate (the TX path alone; the campaign's pacing on top)",
             f(fl * 1e3 if fl else None, " ms", 0), f"hb_encode alone: {f(num('tx_encode_ns'), ' ns')}",
             "", ""))
ir, sip, dev = num("ir_per_hb"), num("ir_siphash_per_hb"), num("ir_device_per_hb")
cgmac = dp.get("ir_mac", "?")
rows.append((f"Instructions per heartbeat, MAC included (callgrind; MACs {cgmac})",
             f(ir, "", 0), f"of which SipHash {f(sip, '', 0)}, stand-in NIC {f(dev, '', 0)}",
             f"{100 * sip / ir:.0f}% MAC" if ir and sip else "n/a", ""))
rows.append(("  outside the stand-in NIC", f(ir - dev if ir and dev else None, "", 0),
             f"with the NIC: {f(ir, '', 0)}", "", "<= 250"))
irs, sips = num("ir_scalar_per_hb"), num("ir_scalar_siphash_per_hb")
if irs:
    rows.append(("  same, MACs scalar", f(irs, "", 0), f"of which SipHash {f(sips, '', 0)}",
                 "", ""))
mac = ns("BM_mac_verify")
rows.append(("decode: hb_decode_frame + hb_decode_payload", f(ns("BM_decode"), " ns"),
             "", "", ""))
rows.append(("MAC verify, libsodium SipHash-2-4 (24 B), one at a time", f(mac, " ns"),
             "", "", ""))
for impl, label in (("scalar", "scalar"), ("avx2", "AVX2, 4 lanes"),
                    ("avx512", "AVX-512, 8 lanes")):
    e = ns(f"BM_mac_burst_{impl}")
    rows.append((f"  burst verifier, {label}, per MAC", f(e, " ns"),
                 f"libsodium: {f(mac, ' ns')}", f(mac / e, "x") if mac and e else "n/a", ""))
a1, a10 = ns("BM_accept_burst/1000000"), ns("BM_accept_burst/10000000")
o1, o10 = ns("BM_accept_one_by_one/1000000"), ns("BM_accept_one_by_one/10000000")
rows.append(("per-burst path (decode + hb_accept_burst), 1 M slots", f(a1, " ns/hb"),
             f"one by one: {f(o1, ' ns/hb')}", f(o1 / a1, "x") if a1 and o1 else "n/a", ""))
rows.append(("per-burst path (decode + hb_accept_burst), 10 M slots", f(a10, " ns/hb"),
             f"one by one: {f(o10, ' ns/hb')}", f(o10 / a10, "x") if a10 and o10 else "n/a",
             "<= 50 ns/hb (20 Mpps)"))
rows.append(("range_set_match, 10,000 IPv4 ranges", f(ns("BM_range_match_v4/10000"), " ns"),
             "", "", ""))
rows.append(("range_set_match, 10,000 IPv6 prefixes", f(ns("BM_range_match_v6/10000"), " ns"),
             "", "", ""))
rows.append(("registry_by_id, 1 M endpoints", f(ns("BM_registry_by_id/1000000"), " ns"),
             "", "", ""))
rows.append(("registry_by_guid, 1 M endpoints",
             f(ns("BM_registry_by_guid/1000000"), " ns"), "", "", ""))
sw = ns("BM_sweep/1000000")
rows.append(("sweep_run, 1 M endpoints (no transition)",
             f(sw / 1e6 if sw else None, " ms"), "", "", ""))
dep, ind = ns("BM_mem_dependent_read/256"), ns("BM_mem_independent_read/256")
rows.append(("for scale: dependent random read, 256 MB",
             f(dep, " ns"), f"independent reads: {f(ind, ' ns')} each",
             f"~{dep / ind:.0f} in flight" if dep and ind else "n/a", ""))
if dpdk:
    rates = [(10, 14.88), (25, 37.20), (100, 148.81)]
    cores = ", ".join(f"{g} GbE {math.ceil(r / dpdk)}" for g, r in rates)
    rows.append(("worker cores for 64-byte line rate", cores,
                 "ceil(14.88 / 37.2 / 148.8 Mpps / per core)", "", ""))

e2e = {}
if os.path.exists(e2e_path):
    for line in open(e2e_path):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            e2e[k] = v
if e2e:
    def ef(k):
        try:
            return float(e2e[k])
        except (KeyError, ValueError):
            return None
    gens = [k[len("top_af_xdp_"):-len("_pps")] for k in e2e
            if k.startswith("top_af_xdp_") and k.endswith("_pps")]
    for g in sorted(gens, key=lambda g: -(ef(f"top_af_xdp_{g}_pps") or 0)):
        top, base = ef(f"top_af_xdp_{g}_pps"), ef(f"top_af_packet_{g}_pps")
        gmax = ef(f"max_sent_af_xdp_{g}_pps")
        rows.append((f"Real packets, af_xdp on a veth, loadgen {g}: top zero-loss rate "
                     f"({e2e.get('endpoints', '?')} endpoints)",
                     f(top / 1e3 if top else top, " kpps", 0),
                     f"af_packet port: {f(base / 1e3 if base else base, ' kpps', 0)}",
                     f(top / base, "x") if top and base else "n/a",
                     f"zero loss at the generator's top rate ({f(gmax / 1e3 if gmax else gmax, ' kpps', 0)})"))

hdr = ("figure", "measured", "baseline (same run)", "ratio", "target")
w = [max(len(r[i]) for r in rows + [hdr]) for i in range(5)]
line = "  ".join("-" * x for x in w)
print("== results ==")
print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
print(line)
for r in rows:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
if dp.get("huge_note", "none") != "none":
    print(f"NOTE: {dp['huge_note']}")
with open(md_path, "w") as md:
    md.write("| " + " | ".join(hdr) + " |\n|" + "---|" * 5 + "\n")
    for r in rows:
        md.write("| " + " | ".join(c if c else " " for c in r) + " |\n")
print(f"\n(markdown: {md_path}; micro JSON: {micro_path})")
EOF
if [ -n "$http_summary" ] && [ -f "$http_summary" ]; then
	echo
	echo "== HTTP (bench/http/run.sh, issue #4) =="
	cat "$http_summary"
fi
