/*
 * The one writer of the 32-byte datagram (docs/protocol.md §1, §2), for every
 * sender: heartbeats and notify-acks from an endpoint (the agent, the load
 * generator, the benchmarks' fixtures, the tests), notifies from the
 * collector. And the endpoint's side of the check: what an endpoint
 * verifies of a notify before it acts on it, with the server's verdict
 * names (hb_verdict.h). The collector's side is hb_decode.h/hb_accept.h.
 *
 * Inline over hb_mac.h, so it needs libsodium and nothing else: the agent
 * and the load generator link libsodium but not the dataplane core. The
 * MAC is libsodium's, not the workers' own SipHash (hb_siphash.h): what
 * the tests send is then checked by an independent implementation.
 */
#ifndef GLOURNET_HB_ENCODE_H
#define GLOURNET_HB_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "glournet/hb_mac.h"
#include "glournet/hb_verdict.h"
#include "glournet/heartbeat.h"

/* The flags each type may carry (docs/protocol.md §1, §2). */
#define HB_FLAGS_HEARTBEAT (HB_FLAG_SHUTDOWN | HB_FLAG_BOOT)
#define HB_FLAGS_NOTIFY    (HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS | HB_FLAG_VERIFY)

/* (Re)computes the MAC over bytes 0..23 into bytes 24..31. */
static inline void hb_encode_mac(uint8_t p[HB_PAYLOAD_LEN], const uint8_t key[HB_KEY_LEN])
{
	hb_mac_compute(key, p, HB_MAC_COVERED, p + HB_MAC_COVERED);
}

/*
 * Writes one datagram: magic, version, then the fields as given, MAC'd
 * under `key`. It writes what it is told: the caller picks flags that suit
 * the type (HB_FLAGS_HEARTBEAT for a heartbeat, HB_FLAGS_NOTIFY for a
 * notify and its ack), so that tests can also write what a receiver must
 * refuse. `time` is on the server's clock (the sender's own plus its
 * offset).
 */
static inline void hb_encode(uint8_t out[HB_PAYLOAD_LEN], enum hb_type type, uint16_t flags,
			     uint32_t slot, uint32_t time, uint64_t id,
			     const uint8_t key[HB_KEY_LEN])
{
	hb_put32(out + offsetof(struct hb_wire, magic), HB_MAGIC);
	out[offsetof(struct hb_wire, version)] = HB_VERSION;
	out[offsetof(struct hb_wire, type)] = (uint8_t)type;
	hb_put16(out + offsetof(struct hb_wire, flags), flags);
	hb_put32(out + offsetof(struct hb_wire, slot), slot);
	hb_put32(out + offsetof(struct hb_wire, time), time);
	hb_put64(out + offsetof(struct hb_wire, id), id);
	hb_encode_mac(out, key);
}

/* Who an endpoint is, and its view of the server's clock. */
struct hb_self {
	uint32_t slot;
	uint64_t id;
	const uint8_t *key;       /* HB_KEY_LEN bytes */
	uint32_t now;             /* the endpoint's time on the server's clock */
	uint32_t window, skew;    /* accept time in [now - window, now + skew] */
};

/*
 * The endpoint's check of a datagram from the collector (docs/protocol.md §2),
 * in the server's order: length, magic, version, type NOTIFY, flags among
 * HB_FLAGS_NOTIFY, its own slot (else HB_UNKNOWN_SLOT) and id (else
 * HB_ID_MISMATCH), the MAC under its key, then the time window. HB_ACCEPTED
 * with *m filled (time as sent), or the first check that failed; the ack
 * to send is then hb_encode(.., HB_TYPE_NOTIFY_ACK, m->flags, ..).
 */
static inline enum hb_verdict hb_check_notify(const uint8_t *p, size_t len,
					      const struct hb_self *self, struct hb_msg *m)
{
	if (len != HB_PAYLOAD_LEN)
		return HB_BAD_LENGTH;
	if (hb_be32(p + offsetof(struct hb_wire, magic)) != HB_MAGIC)
		return HB_BAD_MAGIC;
	m->version = p[offsetof(struct hb_wire, version)];
	m->type = p[offsetof(struct hb_wire, type)];
	m->flags = hb_be16(p + offsetof(struct hb_wire, flags));
	m->slot = hb_be32(p + offsetof(struct hb_wire, slot));
	m->time = hb_be32(p + offsetof(struct hb_wire, time));
	m->id = hb_be64(p + offsetof(struct hb_wire, id));
	memcpy(m->mac, p + HB_MAC_COVERED, HB_MAC_LEN);
	if (m->version != HB_VERSION)
		return HB_BAD_VERSION;
	if (m->type != HB_TYPE_NOTIFY)
		return HB_BAD_TYPE;
	if (m->flags & ~HB_FLAGS_NOTIFY)
		return HB_BAD_FLAGS;
	if (m->slot != self->slot)
		return HB_UNKNOWN_SLOT;
	if (m->id != self->id)
		return HB_ID_MISMATCH;
	if (!hb_mac_verify(self->key, p, HB_MAC_COVERED, m->mac))
		return HB_BAD_MAC;
	if ((uint64_t)m->time + self->window < self->now)
		return HB_TOO_OLD;
	if ((uint64_t)m->time > (uint64_t)self->now + self->skew)
		return HB_TOO_NEW;
	return HB_ACCEPTED;
}

#endif
