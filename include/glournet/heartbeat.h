/*
 * The heartbeat wire format (docs/protocol.md §1), shared by the dataplane
 * decoder, the reference agent and the tests, so there is exactly one
 * definition of the 32 bytes that third-party agents send us.
 */
#ifndef GLOURNET_HEARTBEAT_H
#define GLOURNET_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HB_MAGIC        0x474C4842u /* "GLHB" */
#define HB_VERSION      1
#define HB_PAYLOAD_LEN  32
#define HB_MAC_LEN      8
#define HB_MAC_COVERED  24          /* bytes 0..23 are under the MAC */
#define HB_KEY_LEN      16
#define HB_DEFAULT_PORT 7100

enum hb_type {
	HB_TYPE_HEARTBEAT  = 1,
	HB_TYPE_NOTIFY     = 2,
	HB_TYPE_NOTIFY_ACK = 3,
};

enum hb_flag {
	HB_FLAG_SHUTDOWN   = 1u << 0,
	HB_FLAG_BOOT       = 1u << 1,
	HB_FLAG_SETTINGS   = 1u << 2,
	HB_FLAG_COMPONENTS = 1u << 3,
	HB_FLAG_VERIFY     = 1u << 4,
};
#define HB_FLAGS_KNOWN 0x001Fu

/* On the wire every field is big-endian; this struct is the byte layout,
 * never accessed as host integers without hb_be* conversion. */
struct hb_wire {
	uint8_t magic[4];
	uint8_t version;
	uint8_t type;
	uint8_t flags[2];
	uint8_t slot[4];
	uint8_t time[4];
	uint8_t id[8];
	uint8_t mac[8];
};
_Static_assert(sizeof(struct hb_wire) == HB_PAYLOAD_LEN, "heartbeat is 32 bytes");
_Static_assert(offsetof(struct hb_wire, slot) == 8, "slot at offset 8");
_Static_assert(offsetof(struct hb_wire, time) == 12, "time at offset 12");
_Static_assert(offsetof(struct hb_wire, id) == 16, "id at offset 16");
_Static_assert(offsetof(struct hb_wire, mac) == HB_MAC_COVERED, "mac at offset 24");

/* A heartbeat after decoding, in host byte order. */
struct hb_msg {
	uint8_t  version;
	uint8_t  type;
	uint16_t flags;
	uint32_t slot;
	uint32_t time;
	uint64_t id;
	uint8_t  mac[HB_MAC_LEN];
};

/* Big-endian reads as one load and a byte swap: the decoder's hot path
 * reads every field with these. memcpy keeps unaligned loads defined. */
static inline uint16_t hb_be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	return v;
}
static inline uint32_t hb_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}
static inline uint64_t hb_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}
static inline void hb_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void hb_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void hb_put64(uint8_t *p, uint64_t v)
{
	hb_put32(p, (uint32_t)(v >> 32));
	hb_put32(p + 4, (uint32_t)v);
}

/*
 * MAC contexts for the HTTP API (docs/protocol.md §3): 6 ASCII bytes, then id
 * (8 bytes BE), then time (4 bytes BE), 18 bytes in all.
 */
#define HB_AUTH_MSG_LEN 18
#define HB_AUTH_REGISTER "GLRGST"
#define HB_AUTH_POLL     "GLPOLL"
#define HB_AUTH_EVENT    "GLEVNT"
/* Version 2 of poll and event (issue 13): the MAC covers what the request
 * carries too, appended after the 18 bytes (hb_auth_message_v2). */
#define HB_AUTH_POLL_V2  "GLPOL2" /* + the X-Glournet-Ips value, if any */
#define HB_AUTH_EVENT_V2 "GLEVN2" /* + the body */

#endif
