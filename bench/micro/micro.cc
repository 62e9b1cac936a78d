// Google Benchmark front end of the micro-benchmarks: each benchmark is a
// State loop around one extern "C" runner of harness.c. items_per_second
// is per operation (one frame, one MAC, one lookup, one sweep), so
// 1e9 / items_per_second is ns per operation whatever the batch.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "harness.h"

namespace {

constexpr uint32_t kOneM = 1000000;
constexpr uint32_t kTenM = 10000000;
constexpr uint32_t kRanges = 10000;

bool ready(benchmark::State &st, int rc)
{
	if (rc == 0)
		return true;
	st.SkipWithError(gnb_error());
	return false;
}

void BM_decode(benchmark::State &st)
{
	if (!ready(st, gnb_decode_setup()))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_decode(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void BM_mac_verify(benchmark::State &st)
{
	if (!ready(st, gnb_mac_setup()))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_mac_verify(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void mac_burst_bench(benchmark::State &st, int impl)
{
	if (!ready(st, gnb_mac_setup()))
		return;
	if (!gnb_mac_impl_supported(impl)) {
		st.SkipWithError("this CPU cannot run this variant");
		return;
	}
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_mac_burst(impl, GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

// enum hb_mac_impl: 0 scalar, 1 AVX2 (4 lanes), 2 AVX-512 (8 lanes).
void BM_mac_burst_scalar(benchmark::State &st) { mac_burst_bench(st, 0); }
void BM_mac_burst_avx2(benchmark::State &st) { mac_burst_bench(st, 1); }
void BM_mac_burst_avx512(benchmark::State &st) { mac_burst_bench(st, 2); }

void accept_bench(benchmark::State &st, gnb_accept_variant v)
{
	uint32_t nslots = static_cast<uint32_t>(st.range(0));
	if (!ready(st, gnb_accept_setup(nslots)))
		return;
	uint64_t accepted = 0;
	for (auto _ : st)
		accepted += gnb_accept_bursts(nslots, v, 1);
	uint64_t frames = static_cast<uint64_t>(st.iterations()) * GNB_BURST;
	st.SetItemsProcessed(static_cast<int64_t>(frames));
	// Every heartbeat must be fully checked and accepted, or the figure lies.
	st.counters["not_accepted"] = static_cast<double>(frames - accepted);
}

void BM_accept_burst(benchmark::State &st) { accept_bench(st, GNB_ACCEPT_BURST); }
void BM_accept_one_by_one(benchmark::State &st) { accept_bench(st, GNB_ACCEPT_ONE_BY_ONE); }

void range_bench(benchmark::State &st, int family)
{
	if (!ready(st, gnb_ranges_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_range_match(family, GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void BM_range_match_v4(benchmark::State &st) { range_bench(st, 4); }
void BM_range_match_v6(benchmark::State &st) { range_bench(st, 6); }

void BM_registry_by_id(benchmark::State &st)
{
	if (!ready(st, gnb_registry_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_registry_by_id(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void BM_registry_by_guid(benchmark::State &st)
{
	if (!ready(st, gnb_registry_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_registry_by_guid(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void BM_sweep(benchmark::State &st)
{
	if (!ready(st, gnb_registry_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	uint64_t changed = 0;
	for (auto _ : st)
		changed += gnb_sweep(1);
	st.SetItemsProcessed(st.iterations());
	// Steady state: a sweep of a healthy fleet changes nobody's status.
	st.counters["transitions"] = static_cast<double>(changed);
	st.counters["endpoints"] = static_cast<double>(st.range(0));
}

void BM_mem_dependent_read(benchmark::State &st)
{
	if (!ready(st, gnb_mem_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_mem_dependent(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

void BM_mem_independent_read(benchmark::State &st)
{
	if (!ready(st, gnb_mem_setup(static_cast<uint32_t>(st.range(0)))))
		return;
	for (auto _ : st)
		benchmark::DoNotOptimize(gnb_mem_independent(GNB_BURST));
	st.SetItemsProcessed(st.iterations() * GNB_BURST);
}

}  // namespace

BENCHMARK(BM_decode);
BENCHMARK(BM_mac_verify);
BENCHMARK(BM_mac_burst_scalar);
BENCHMARK(BM_mac_burst_avx2);
BENCHMARK(BM_mac_burst_avx512);
BENCHMARK(BM_accept_burst)->Arg(kOneM)->Arg(kTenM);
BENCHMARK(BM_accept_one_by_one)->Arg(kOneM)->Arg(kTenM);
BENCHMARK(BM_range_match_v4)->Arg(kRanges);
BENCHMARK(BM_range_match_v6)->Arg(kRanges);
BENCHMARK(BM_registry_by_id)->Arg(kOneM);
BENCHMARK(BM_registry_by_guid)->Arg(kOneM);
BENCHMARK(BM_sweep)->Arg(kOneM)->Unit(benchmark::kMillisecond);
// For scale: what a random read of memory costs here (MB of 4 KB pages).
BENCHMARK(BM_mem_dependent_read)->Arg(256);
BENCHMARK(BM_mem_independent_read)->Arg(256);

int main(int argc, char **argv)
{
	if (gnb_init() < 0)
		return 1;
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
