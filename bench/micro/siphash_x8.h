/*
 * EXPERIMENT, not code the collector runs: SipHash-2-4 over 24 bytes for
 * eight heartbeats at once, one per 64-bit lane of an AVX-512 register
 * (vprolq does SipHash's rotations in one instruction). It prices batching
 * the MAC across a burst. Compiled for AVX-512 through a target attribute
 * only; callers check gnb_x8_supported() first. The harness checks every
 * lane against libsodium before anything is timed.
 */
#ifndef GLOURNET_BENCH_SIPHASH_X8_H
#define GLOURNET_BENCH_SIPHASH_X8_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GNB_HAVE_X8 1

static inline bool gnb_x8_supported(void)
{
	return __builtin_cpu_supports("avx512f");
}

#define GNB_X8_ROUND                                                                   \
	do {                                                                           \
		v0 = _mm512_add_epi64(v0, v1); v1 = _mm512_rol_epi64(v1, 13);          \
		v1 = _mm512_xor_si512(v1, v0); v0 = _mm512_rol_epi64(v0, 32);          \
		v2 = _mm512_add_epi64(v2, v3); v3 = _mm512_rol_epi64(v3, 16);          \
		v3 = _mm512_xor_si512(v3, v2);                                         \
		v0 = _mm512_add_epi64(v0, v3); v3 = _mm512_rol_epi64(v3, 21);          \
		v3 = _mm512_xor_si512(v3, v0);                                         \
		v2 = _mm512_add_epi64(v2, v1); v1 = _mm512_rol_epi64(v1, 17);          \
		v1 = _mm512_xor_si512(v1, v2); v2 = _mm512_rol_epi64(v2, 32);          \
	} while (0)

/*
 * key[i] (16 bytes) and msg[i] (the 24 covered bytes, the MAC right after
 * them, as in a heartbeat) for i in 0..7. Returns a bit per lane: 1 when
 * the MAC in msg[i] + 24 is right.
 */
__attribute__((target("avx512f"))) static inline uint8_t
gnb_siphash24_24_verify_x8(const uint8_t *const key[8], const uint8_t *const msg[8])
{
	/* Gathers straight from the eight addresses (index = pointer, base 0). */
	const __m512i kp = _mm512_loadu_si512((const void *)key);
	const __m512i mp = _mm512_loadu_si512((const void *)msg);
	__m512i k0 = _mm512_i64gather_epi64(kp, NULL, 1);
	__m512i k1 = _mm512_i64gather_epi64(_mm512_add_epi64(kp, _mm512_set1_epi64(8)), NULL, 1);
	__m512i v0 = _mm512_xor_si512(k0, _mm512_set1_epi64(0x736f6d6570736575ll));
	__m512i v1 = _mm512_xor_si512(k1, _mm512_set1_epi64(0x646f72616e646f6dll));
	__m512i v2 = _mm512_xor_si512(k0, _mm512_set1_epi64(0x6c7967656e657261ll));
	__m512i v3 = _mm512_xor_si512(k1, _mm512_set1_epi64(0x7465646279746573ll));
	for (int w = 0; w < 3; w++) {
		__m512i m = _mm512_i64gather_epi64(_mm512_add_epi64(mp, _mm512_set1_epi64(8 * w)),
						   NULL, 1);
		v3 = _mm512_xor_si512(v3, m);
		GNB_X8_ROUND;
		GNB_X8_ROUND;
		v0 = _mm512_xor_si512(v0, m);
	}
	const __m512i b = _mm512_set1_epi64((long long)((uint64_t)24 << 56));
	v3 = _mm512_xor_si512(v3, b);
	GNB_X8_ROUND;
	GNB_X8_ROUND;
	v0 = _mm512_xor_si512(v0, b);
	v2 = _mm512_xor_si512(v2, _mm512_set1_epi64(0xff));
	GNB_X8_ROUND;
	GNB_X8_ROUND;
	GNB_X8_ROUND;
	GNB_X8_ROUND;
	__m512i h = _mm512_xor_si512(_mm512_xor_si512(v0, v1), _mm512_xor_si512(v2, v3));
	__m512i mac = _mm512_i64gather_epi64(_mm512_add_epi64(mp, _mm512_set1_epi64(24)), NULL, 1);
	return (uint8_t)_mm512_cmpeq_epi64_mask(h, mac);
}
#else
#define GNB_HAVE_X8 0
#endif

#endif
