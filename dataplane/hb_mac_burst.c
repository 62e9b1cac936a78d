/*
 * The burst MAC variants of hb_mac_burst.h. The vector ones are compiled
 * through target attributes, so that one binary runs on any x86-64 and
 * picks them only where the CPU has the instructions; the rest of the
 * build keeps the baseline ISA. Lane layout: one heartbeat per 64-bit
 * lane, SipHash's four state words each in their own register.
 */
#include <errno.h>
#include <string.h>

#include "glournet/hb_mac_burst.h"
#include "glournet/hb_siphash.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HB_HAVE_X86_VECTORS 1
#else
#define HB_HAVE_X86_VECTORS 0
#endif

#define SIP_C0 0x736f6d6570736575ll
#define SIP_C1 0x646f72616e646f6dll
#define SIP_C2 0x6c7967656e657261ll
#define SIP_C3 0x7465646279746573ll

static uint64_t burst_scalar(const uint8_t *const key[], const uint8_t *const pl[], unsigned n)
{
	uint64_t ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok |= (uint64_t)hb_siphash_verify_hb(key[i], pl[i]) << i;
	return ok;
}

#if HB_HAVE_X86_VECTORS

/* ---- AVX2: 4 lanes; no 64-bit rotate, so shifts (and shuffles for 16, 32) ---- */

#define X4_ROTL(x, b) _mm256_or_si256(_mm256_slli_epi64((x), (b)), _mm256_srli_epi64((x), 64 - (b)))
#define X4_ROTL32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define X4_ROTL16(x) _mm256_shuffle_epi8((x), rot16)
#define X4_ROUND                                                                       \
	do {                                                                           \
		v0 = _mm256_add_epi64(v0, v1); v1 = X4_ROTL(v1, 13);                   \
		v1 = _mm256_xor_si256(v1, v0); v0 = X4_ROTL32(v0);                     \
		v2 = _mm256_add_epi64(v2, v3); v3 = X4_ROTL16(v3);                     \
		v3 = _mm256_xor_si256(v3, v2);                                         \
		v0 = _mm256_add_epi64(v0, v3); v3 = X4_ROTL(v3, 21);                   \
		v3 = _mm256_xor_si256(v3, v0);                                         \
		v2 = _mm256_add_epi64(v2, v1); v1 = X4_ROTL(v1, 17);                   \
		v1 = _mm256_xor_si256(v1, v2); v2 = X4_ROTL32(v2);                     \
	} while (0)

/* Four heartbeats; bit l set when lane l's MAC is right. The four payloads
 * are loaded whole and transposed (word w of each into one register),
 * which is cheaper than gathers. */
__attribute__((target("avx2"))) static unsigned verify_x4(const uint8_t *const key[4],
							  const uint8_t *const pl[4])
{
	const __m256i rot16 = _mm256_setr_epi8(6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13,
					       6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13);
	__m256i r0 = _mm256_loadu_si256((const __m256i *)pl[0]);
	__m256i r1 = _mm256_loadu_si256((const __m256i *)pl[1]);
	__m256i r2 = _mm256_loadu_si256((const __m256i *)pl[2]);
	__m256i r3 = _mm256_loadu_si256((const __m256i *)pl[3]);
	__m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
	__m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
	__m256i m[3];
	m[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
	m[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
	m[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
	__m256i mac = _mm256_permute2x128_si256(t1, t3, 0x31);
	/* Keys: lanes 0 and 2 in one register, 1 and 3 in the other. */
	__m256i ka = _mm256_loadu2_m128i((const __m128i *)key[2], (const __m128i *)key[0]);
	__m256i kb = _mm256_loadu2_m128i((const __m128i *)key[3], (const __m128i *)key[1]);
	__m256i k0 = _mm256_unpacklo_epi64(ka, kb), k1 = _mm256_unpackhi_epi64(ka, kb);

	__m256i v0 = _mm256_xor_si256(k0, _mm256_set1_epi64x(SIP_C0));
	__m256i v1 = _mm256_xor_si256(k1, _mm256_set1_epi64x(SIP_C1));
	__m256i v2 = _mm256_xor_si256(k0, _mm256_set1_epi64x(SIP_C2));
	__m256i v3 = _mm256_xor_si256(k1, _mm256_set1_epi64x(SIP_C3));
	/* Unrolled: no loop-carried register copies, no loop control. */
#pragma GCC unroll 3
	for (int w = 0; w < 3; w++) {
		v3 = _mm256_xor_si256(v3, m[w]);
		X4_ROUND;
		X4_ROUND;
		v0 = _mm256_xor_si256(v0, m[w]);
	}
	const __m256i b = _mm256_set1_epi64x((long long)((uint64_t)HB_MAC_COVERED << 56));
	v3 = _mm256_xor_si256(v3, b);
	X4_ROUND;
	X4_ROUND;
	v0 = _mm256_xor_si256(v0, b);
	v2 = _mm256_xor_si256(v2, _mm256_set1_epi64x(0xff));
	X4_ROUND;
	X4_ROUND;
	X4_ROUND;
	X4_ROUND;
	__m256i h = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3));
	return (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(h, mac)));
}

/* ---- AVX-512: 8 lanes, vprolq rotates in one instruction ---- */

#define X8_ROUND                                                                       \
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

/* Eight heartbeats. Words are gathered straight from the eight addresses:
 * the pointer is the index, over base 0. */
__attribute__((target("avx512f"))) static unsigned verify_x8(const uint8_t *const key[8],
							    const uint8_t *const pl[8])
{
	const __m512i kp = _mm512_loadu_si512((const void *)key);
	const __m512i mp = _mm512_loadu_si512((const void *)pl);
	__m512i k0 = _mm512_i64gather_epi64(kp, NULL, 1);
	__m512i k1 = _mm512_i64gather_epi64(_mm512_add_epi64(kp, _mm512_set1_epi64(8)), NULL, 1);
	__m512i v0 = _mm512_xor_si512(k0, _mm512_set1_epi64(SIP_C0));
	__m512i v1 = _mm512_xor_si512(k1, _mm512_set1_epi64(SIP_C1));
	__m512i v2 = _mm512_xor_si512(k0, _mm512_set1_epi64(SIP_C2));
	__m512i v3 = _mm512_xor_si512(k1, _mm512_set1_epi64(SIP_C3));
#pragma GCC unroll 3
	for (int w = 0; w < 3; w++) {
		__m512i m = _mm512_i64gather_epi64(_mm512_add_epi64(mp, _mm512_set1_epi64(8 * w)),
						   NULL, 1);
		v3 = _mm512_xor_si512(v3, m);
		X8_ROUND;
		X8_ROUND;
		v0 = _mm512_xor_si512(v0, m);
	}
	const __m512i b = _mm512_set1_epi64((long long)((uint64_t)HB_MAC_COVERED << 56));
	v3 = _mm512_xor_si512(v3, b);
	X8_ROUND;
	X8_ROUND;
	v0 = _mm512_xor_si512(v0, b);
	v2 = _mm512_xor_si512(v2, _mm512_set1_epi64(0xff));
	X8_ROUND;
	X8_ROUND;
	X8_ROUND;
	X8_ROUND;
	__m512i h = _mm512_xor_si512(_mm512_xor_si512(v0, v1), _mm512_xor_si512(v2, v3));
	__m512i mac = _mm512_i64gather_epi64(
		_mm512_add_epi64(mp, _mm512_set1_epi64(HB_MAC_COVERED)), NULL, 1);
	return (unsigned)_mm512_cmpeq_epi64_mask(h, mac);
}

typedef unsigned lanes_fn(const uint8_t *const key[], const uint8_t *const pl[]);

/* Whole groups of `w` lanes; a tail of two or more fills the spare lanes
 * with its first heartbeat (their bits are dropped), a tail of one goes
 * scalar. */
static inline uint64_t burst_lanes(lanes_fn *fn, unsigned w, const uint8_t *const key[],
				   const uint8_t *const pl[], unsigned n)
{
	uint64_t ok = 0;
	unsigned i = 0;
	for (; i + w <= n; i += w)
		ok |= (uint64_t)fn(key + i, pl + i) << i;
	unsigned rest = n - i;
	if (rest == 1) {
		ok |= (uint64_t)hb_siphash_verify_hb(key[i], pl[i]) << i;
	} else if (rest > 1) {
		const uint8_t *k[8], *p[8];
		for (unsigned l = 0; l < w; l++) {
			k[l] = key[i + (l < rest ? l : 0)];
			p[l] = pl[i + (l < rest ? l : 0)];
		}
		ok |= (uint64_t)(fn(k, p) & ((1u << rest) - 1)) << i;
	}
	return ok;
}

static uint64_t burst_avx2(const uint8_t *const key[], const uint8_t *const pl[], unsigned n)
{
	return burst_lanes(verify_x4, 4, key, pl, n);
}

static uint64_t burst_avx512(const uint8_t *const key[], const uint8_t *const pl[], unsigned n)
{
	return burst_lanes(verify_x8, 8, key, pl, n);
}
#endif

typedef uint64_t burst_fn(const uint8_t *const key[], const uint8_t *const pl[], unsigned n);

static burst_fn *const impls[HB_MAC_IMPL_COUNT] = {
	[HB_MAC_IMPL_SCALAR] = burst_scalar,
#if HB_HAVE_X86_VECTORS
	[HB_MAC_IMPL_AVX2] = burst_avx2,
	[HB_MAC_IMPL_AVX512] = burst_avx512,
#endif
};
static const char *const names[HB_MAC_IMPL_COUNT] = {"scalar", "avx2", "avx512"};

/* Set once, before main (and so before any worker): read-only after. */
static enum hb_mac_impl current = HB_MAC_IMPL_SCALAR;
static burst_fn *current_fn = burst_scalar;

bool hb_mac_impl_supported(enum hb_mac_impl impl)
{
	switch (impl) {
	case HB_MAC_IMPL_SCALAR:
		return true;
#if HB_HAVE_X86_VECTORS
	case HB_MAC_IMPL_AVX2:
		return __builtin_cpu_supports("avx2");
	case HB_MAC_IMPL_AVX512:
		return __builtin_cpu_supports("avx512f");
#endif
	default:
		return false;
	}
}

const char *hb_mac_impl_name(enum hb_mac_impl impl)
{
	return (unsigned)impl < HB_MAC_IMPL_COUNT ? names[impl] : "unknown";
}

enum hb_mac_impl hb_mac_burst_impl(void) { return current; }

int hb_mac_burst_select(enum hb_mac_impl impl)
{
	if ((unsigned)impl >= HB_MAC_IMPL_COUNT)
		return -EINVAL;
	if (!hb_mac_impl_supported(impl) || !impls[impl])
		return -ENOTSUP;
	current = impl;
	current_fn = impls[impl];
	return 0;
}

/* Constructors run before main; __builtin_cpu_supports needs
 * __builtin_cpu_init first when called from one. */
__attribute__((constructor)) static void pick_widest(void)
{
	__builtin_cpu_init();
	for (int i = HB_MAC_IMPL_COUNT - 1; i >= 0; i--)
		if (hb_mac_burst_select((enum hb_mac_impl)i) == 0)
			return;
}

uint64_t hb_mac_verify_burst(const uint8_t *const key[], const uint8_t *const payload[],
			     unsigned n)
{
	return current_fn(key, payload, n);
}

uint64_t hb_mac_verify_burst_with(enum hb_mac_impl impl, const uint8_t *const key[],
				  const uint8_t *const payload[], unsigned n)
{
	/* A variant that cannot run here verifies nothing, rather than fault. */
	if (!hb_mac_impl_supported(impl) || !impls[impl])
		return 0;
	return impls[impl](key, payload, n);
}
