/*
 * SipHash-2-4 over exactly the 24 bytes a heartbeat's MAC covers, inline:
 * the hot path's scalar MAC. A fixed length lets the three message words
 * and the length block be straight-line code with no tail handling, and
 * spares the call into libsodium; the function is the same (test_mac
 * checks it against the reference vectors and libsodium). hb_mac.h keeps
 * libsodium for every other length (the HTTP API's 18-byte messages).
 */
#ifndef GLOURNET_HB_SIPHASH_H
#define GLOURNET_HB_SIPHASH_H

#include <stdint.h>
#include <string.h>

#include "glournet/heartbeat.h"

_Static_assert(HB_MAC_COVERED == 24, "hb_siphash24_24 is for 24 bytes");

/* SipHash reads its key and message as little-endian 64-bit words. */
static inline uint64_t hb_sip_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define HB_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define HB_SIP_ROUND                                                             \
	do {                                                                     \
		v0 += v1; v1 = HB_SIP_ROTL(v1, 13); v1 ^= v0; v0 = HB_SIP_ROTL(v0, 32); \
		v2 += v3; v3 = HB_SIP_ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = HB_SIP_ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = HB_SIP_ROTL(v1, 17); v1 ^= v2; v2 = HB_SIP_ROTL(v2, 32); \
	} while (0)

/* The MAC as a little-endian word: compare it with hb_sip_le64(mac). */
static inline uint64_t hb_siphash24_24(const uint8_t key[HB_KEY_LEN],
				       const uint8_t msg[HB_MAC_COVERED])
{
	uint64_t k0 = hb_sip_le64(key), k1 = hb_sip_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
#pragma GCC unroll 3
	for (int i = 0; i < 3; i++) {
		uint64_t m = hb_sip_le64(msg + 8 * i);
		v3 ^= m;
		HB_SIP_ROUND;
		HB_SIP_ROUND;
		v0 ^= m;
	}
	const uint64_t b = (uint64_t)HB_MAC_COVERED << 56;   /* length, no tail bytes */
	v3 ^= b;
	HB_SIP_ROUND;
	HB_SIP_ROUND;
	v0 ^= b;
	v2 ^= 0xff;
	HB_SIP_ROUND;
	HB_SIP_ROUND;
	HB_SIP_ROUND;
	HB_SIP_ROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* A heartbeat's MAC (payload bytes 24..31) is right for `key`. The XOR
 * compare of the whole word has no early exit. */
static inline int hb_siphash_verify_hb(const uint8_t key[HB_KEY_LEN], const uint8_t *payload)
{
	return (hb_siphash24_24(key, payload) ^ hb_sip_le64(payload + HB_MAC_COVERED)) == 0;
}

#endif
