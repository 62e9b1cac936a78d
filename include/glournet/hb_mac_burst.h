/*
 * Heartbeat MACs checked a burst at a time: SipHash-2-4 over 24 bytes is
 * 12 rounds of dependent 64-bit operations, so one heartbeat at a time the
 * core idles on latency; four (AVX2) or eight (AVX-512) heartbeats side by
 * side in vector lanes cost little more than one. The variant is chosen
 * once, at program start, from what the CPU has (__builtin_cpu_supports);
 * the scalar one (hb_siphash.h) runs anywhere. Every variant computes the
 * same function; test_mac_burst holds each against libsodium.
 */
#ifndef GLOURNET_HB_MAC_BURST_H
#define GLOURNET_HB_MAC_BURST_H

#include <stdbool.h>
#include <stdint.h>

#define HB_MAC_BURST_MAX 64   /* one bit each in the answer */

enum hb_mac_impl {
	HB_MAC_IMPL_SCALAR,
	HB_MAC_IMPL_AVX2,     /* 4 lanes */
	HB_MAC_IMPL_AVX512,   /* 8 lanes */
	HB_MAC_IMPL_COUNT
};

const char *hb_mac_impl_name(enum hb_mac_impl impl);
bool hb_mac_impl_supported(enum hb_mac_impl impl);

/* The variant hb_mac_verify_burst uses: the widest the CPU runs, unless
 * hb_mac_burst_select chose another. */
enum hb_mac_impl hb_mac_burst_impl(void);

/* For benchmarks and tests, before any worker starts: -EINVAL for no such
 * variant, -ENOTSUP when this CPU (or build) cannot run it. */
int hb_mac_burst_select(enum hb_mac_impl impl);

/*
 * n <= HB_MAC_BURST_MAX heartbeats: key[i] the 16-byte key, payload[i] the
 * 32 heartbeat bytes (the 24 covered, then the MAC). Bit i of the answer
 * is 1 when payload[i]'s MAC is right under key[i]. No early exit on a
 * mismatch. The _with form runs a given variant (it must be supported).
 */
uint64_t hb_mac_verify_burst(const uint8_t *const key[], const uint8_t *const payload[],
			     unsigned n);
uint64_t hb_mac_verify_burst_with(enum hb_mac_impl impl, const uint8_t *const key[],
				  const uint8_t *const payload[], unsigned n);

#endif
