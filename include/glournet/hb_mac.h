/*
 * The one MAC of the protocol: SipHash-2-4 under the endpoint's 128-bit key,
 * 8 output bytes, computed by libsodium so agent and server cannot disagree.
 * The workers check heartbeats with their own copies of the same function
 * for the fixed 24 bytes (hb_siphash.h, hb_mac_burst.h), which the unit
 * tests hold against this one.
 */
#ifndef GLOURNET_HB_MAC_H
#define GLOURNET_HB_MAC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sodium.h>

#include "glournet/heartbeat.h"

_Static_assert(crypto_shorthash_siphash24_BYTES == HB_MAC_LEN, "SipHash-2-4 gives 8 bytes");
_Static_assert(crypto_shorthash_siphash24_KEYBYTES == HB_KEY_LEN, "SipHash key is 16 bytes");

static inline void hb_mac_compute(const uint8_t key[HB_KEY_LEN], const void *msg, size_t len,
				  uint8_t out[HB_MAC_LEN])
{
	crypto_shorthash_siphash24(out, msg, len, key);
}

/* XOR-compare of the whole 8 bytes: no early exit, so no timing leak. */
static inline bool hb_mac_equal(const uint8_t a[HB_MAC_LEN], const uint8_t b[HB_MAC_LEN])
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return (x ^ y) == 0;
}

static inline bool hb_mac_verify(const uint8_t key[HB_KEY_LEN], const void *msg, size_t len,
				 const uint8_t mac[HB_MAC_LEN])
{
	uint8_t want[HB_MAC_LEN];
	hb_mac_compute(key, msg, len, want);
	return hb_mac_equal(want, mac);
}

/* The 18-byte message the HTTP API authenticates: context, id, time. */
static inline void hb_auth_message(uint8_t out[HB_AUTH_MSG_LEN], const char ctx[6], uint64_t id,
				   uint32_t time)
{
	memcpy(out, ctx, 6);
	hb_put64(out + 6, id);
	hb_put32(out + 14, time);
}

/* Version 2 (docs/protocol.md §3): the 18 bytes of hb_auth_message under
 * a version 2 context, then `content` (what the request carries: poll's
 * X-Glournet-Ips value, event's body) as it is, no length, no terminator.
 * out holds HB_AUTH_MSG_LEN + len bytes. */
static inline void hb_auth_message_v2(uint8_t *out, const char ctx[6], uint64_t id, uint32_t time,
				      const void *content, size_t len)
{
	hb_auth_message(out, ctx, id, time);
	if (len)
		memcpy(out + HB_AUTH_MSG_LEN, content, len);
}

#endif
