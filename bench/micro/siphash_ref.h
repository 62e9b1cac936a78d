/*
 * SipHash-2-4 over exactly HB_MAC_COVERED (24) bytes, inline: an
 * EXPERIMENT to price the call into libsodium that hb_mac.h makes, not
 * code the collector runs. The harness checks it against libsodium on
 * every fixture payload before it is timed.
 */
#ifndef GLOURNET_BENCH_SIPHASH_REF_H
#define GLOURNET_BENCH_SIPHASH_REF_H

#include <stdint.h>
#include <string.h>

#define GNB_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define GNB_SIPROUND                                                         \
	do {                                                                 \
		v0 += v1; v1 = GNB_ROTL(v1, 13); v1 ^= v0; v0 = GNB_ROTL(v0, 32); \
		v2 += v3; v3 = GNB_ROTL(v3, 16); v3 ^= v2;                   \
		v0 += v3; v3 = GNB_ROTL(v3, 21); v3 ^= v0;                   \
		v2 += v1; v1 = GNB_ROTL(v1, 17); v1 ^= v2; v2 = GNB_ROTL(v2, 32); \
	} while (0)

static inline uint64_t gnb_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);   /* x86 is little-endian, as SipHash's words are */
	return v;
}

static inline uint64_t gnb_siphash24_24(const uint8_t key[16], const uint8_t m[24])
{
	uint64_t k0 = gnb_le64(key), k1 = gnb_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	for (int i = 0; i < 3; i++) {
		uint64_t w = gnb_le64(m + 8 * i);
		v3 ^= w;
		GNB_SIPROUND;
		GNB_SIPROUND;
		v0 ^= w;
	}
	uint64_t b = (uint64_t)24 << 56;   /* length byte, no tail bytes */
	v3 ^= b;
	GNB_SIPROUND;
	GNB_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	GNB_SIPROUND;
	GNB_SIPROUND;
	GNB_SIPROUND;
	GNB_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif
