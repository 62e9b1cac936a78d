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

/* hb_mac_verify (libsodium SipHash-2-4 over 24 bytes), cache-resident. */
int gnb_mac_setup(void);
uint64_t gnb_mac_verify(uint32_t n);
/* EXPERIMENT: the same check with SipHash inlined (siphash_ref.h). */
uint64_t gnb_mac_verify_inline(uint32_t n);
/* EXPERIMENT: eight MACs at once with AVX-512 (siphash_x8.h); n a multiple
 * of 8. gnb_have_avx512() says whether it can run here. */
int gnb_have_avx512(void);
uint64_t gnb_mac_verify_x8(uint32_t n);

/*
 * The worker's per-frame work (dataplane/worker.c handle_frame: prefetch
 * of the next frame, hb_decode_frame, hb_accept_msg, a verdict counter)
 * over bursts of GNB_BURST frames, read in order from a stream of one
 * frame per slot, every slot of an `nslots` table once, in random order:
 * the slot table is far larger than the caches, as with 10 M endpoints.
 * Every heartbeat stores its time: the timestamps are zeroed at each pass.
 */
enum gnb_accept_variant {
	GNB_ACCEPT_AS_IS,         /* what worker.c does */
	GNB_ACCEPT_PREFETCH,      /* EXPERIMENT: decode the burst, prefetch slot lines, accept */
	GNB_ACCEPT_INLINE_MAC,    /* EXPERIMENT: SipHash inlined */
	GNB_ACCEPT_BOTH,          /* EXPERIMENT: both */
	GNB_ACCEPT_BATCH,         /* EXPERIMENT: accept_batch.h: prefetch + MACs 8 at a time */
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
