/*
 * The C side of the micro-benchmarks: fixtures and loops over the
 * collector's own functions, called from Google Benchmark (micro.cc)
 * through these extern "C" entry points. Each gnb_* runner does `n`
 * operations and returns a value the caller hands to DoNotOptimize, so the
 * compiler cannot drop the work. Setups are idempotent (built once, cached)
 * and return 0 or a negative errno.
 */
#ifndef GLOURNET_BENCH_HARNESS_H
#define GLOURNET_BENCH_HARNESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One burst, as the worker receives them (dataplane/worker.c BURST). */
#define GNB_BURST 32

int gnb_init(void);

/* hb_decode_frame + hb_decode_payload over cache-resident frames. */
int gnb_decode_setup(void);
uint64_t gnb_decode(uint32_t n);

/* hb_mac_verify (libsodium SipHash-2-4 over 24 bytes, what the hot path
 * called before issue #6 and the HTTP API still does), cache-resident. */
int gnb_mac_setup(void);
uint64_t gnb_mac_verify(uint32_t n);
/* The hot path's burst verifier (hb_mac_burst.h), variant `impl` (enum
 * hb_mac_impl), over bursts of GNB_BURST; n a multiple of GNB_BURST.
 * gnb_mac_impl_supported says whether this CPU runs it. */
int gnb_mac_impl_supported(int impl);
uint64_t gnb_mac_burst(int impl, uint32_t n);

/*
 * The worker's per-burst work over bursts of GNB_BURST frames, read in
 * order from a stream of one frame per slot, every slot of an `nslots`
 * table once, in random order: the slot table is far larger than the
 * caches, as with 10 M endpoints. Every heartbeat stores its time: the
 * timestamps are zeroed at each pass.
 */
enum gnb_accept_variant {
	GNB_ACCEPT_BURST,         /* worker.c: decode the frames, hb_accept_burst */
	GNB_ACCEPT_ONE_BY_ONE,    /* for comparison: decode and hb_accept_msg one frame
				     at a time, as worker.c did before issue #6 */
};
int gnb_accept_setup(uint32_t nslots);
/* Returns the number of heartbeats accepted (all of them, when correct). */
uint64_t gnb_accept_bursts(uint32_t nslots, enum gnb_accept_variant v, uint32_t nbursts);

/* range_set_match against 10,000 ranges (family 4: IPv4 ranges, 6: IPv6
 * /48 prefixes); half the queried addresses fall inside a range. */
int gnb_ranges_setup(uint32_t nranges);
uint64_t gnb_range_match(int family, uint32_t n);

/* A registry of `n` endpoints (registry_add), looked up in
 * random order; and sweep_run over it (every endpoint online and fresh). */
int gnb_registry_setup(uint32_t n);
uint64_t gnb_registry_by_id(uint32_t n);
uint64_t gnb_registry_by_guid(uint32_t n);
uint64_t gnb_sweep(uint32_t n);

/* The machine's memory, for scale: random 8-byte reads over `mb` MB
 * (4 KB pages, as the slot table), one after the other (each address comes
 * from the previous read: latency) or independent (as many in flight as
 * the core allows). */
int gnb_mem_setup(uint32_t mb);
uint64_t gnb_mem_dependent(uint32_t n);
uint64_t gnb_mem_independent(uint32_t n);

/* The last error of a setup, for SkipWithError. */
const char *gnb_error(void);

#ifdef __cplusplus
}
#endif

#endif
