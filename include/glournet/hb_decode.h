/*
 * Frame and payload decoding for heartbeats, free of DPDK so that unit
 * tests and fuzzers drive exactly the code the workers run. The common
 * frame (untagged IPv4 without options, or IPv6 without extension headers)
 * and the payload are decoded inline, with word loads, since every packet
 * goes through them; everything else takes the general walk in hb_decode.c.
 */
#ifndef GLOURNET_HB_DECODE_H
#define GLOURNET_HB_DECODE_H

#include <stdint.h>
#include <string.h>

#include "glournet/heartbeat.h"
#include "glournet/hb_verdict.h"

/*
 * The general walk: Ethernet (up to two VLAN tags), IPv4 or IPv6, UDP to
 * `udp_port` (host order). On HB_ACCEPTED, *payload points at the 32
 * heartbeat bytes inside `frame`; otherwise the verdict says why the frame
 * is not one. Call hb_decode_frame; this is exposed so that tests can hold
 * the fast path against it.
 */
enum hb_verdict hb_decode_frame_slow(const uint8_t *frame, uint32_t len, uint16_t udp_port,
				     const uint8_t **payload);

/* Offsets of the fast path's two frame shapes. */
#define HB_FAST_ETH_LEN  14
#define HB_FAST_IPV4_LEN 20                 /* IHL 5: no options */
#define HB_FAST_IPV6_LEN 40
#define HB_FAST_UDP_LEN  8
#define HB_FAST_UDP_TOTAL (HB_FAST_UDP_LEN + HB_PAYLOAD_LEN)

/*
 * Same contract and same verdicts as hb_decode_frame_slow, for every input:
 * the fast path only ever accepts a frame the general walk accepts at the
 * same payload, and hands anything else (tags, options, extension headers,
 * every error) to the general walk, which names the reason.
 */
static inline enum hb_verdict hb_decode_frame(const uint8_t *frame, uint32_t len,
					      uint16_t udp_port, const uint8_t **payload)
{
	const uint8_t *ip = frame + HB_FAST_ETH_LEN;
	if (len >= HB_FAST_ETH_LEN + HB_FAST_IPV4_LEN + HB_FAST_UDP_TOTAL) {
		uint16_t ethertype = hb_be16(frame + 12);
		if (ethertype == 0x0800) {
			const uint8_t *udp = ip + HB_FAST_IPV4_LEN;
			uint32_t total = hb_be16(ip + 2);
			if (ip[0] == 0x45 && total >= HB_FAST_IPV4_LEN + HB_FAST_UDP_TOTAL &&
			    total <= len - HB_FAST_ETH_LEN &&
			    (hb_be16(ip + 6) & 0x3FFF) == 0 &&   /* not a fragment */
			    ip[9] == 17 &&                       /* UDP */
			    hb_be16(udp + 2) == udp_port && hb_be16(udp + 4) == HB_FAST_UDP_TOTAL) {
				*payload = udp + HB_FAST_UDP_LEN;
				return HB_ACCEPTED;
			}
		} else if (ethertype == 0x86DD &&
			   len >= HB_FAST_ETH_LEN + HB_FAST_IPV6_LEN + HB_FAST_UDP_TOTAL) {
			const uint8_t *udp = ip + HB_FAST_IPV6_LEN;
			uint32_t plen = hb_be16(ip + 4);
			if ((ip[0] >> 4) == 6 && plen >= HB_FAST_UDP_TOTAL &&
			    plen <= len - HB_FAST_ETH_LEN - HB_FAST_IPV6_LEN &&
			    ip[6] == 17 &&                       /* UDP, no extension header */
			    hb_be16(udp + 2) == udp_port && hb_be16(udp + 4) == HB_FAST_UDP_TOTAL) {
				*payload = udp + HB_FAST_UDP_LEN;
				return HB_ACCEPTED;
			}
		}
	}
	return hb_decode_frame_slow(frame, len, udp_port, payload);
}

/*
 * Checks magic, version, type and flags of 32 bytes and converts them.
 * Three 8-byte loads: magic..flags, slot and time, id; the MAC is copied
 * as one word.
 */
static inline enum hb_verdict hb_decode_payload(const uint8_t *p, struct hb_msg *msg)
{
	uint64_t head = hb_be64(p);            /* magic(4) version type flags(2) */
	if ((uint32_t)(head >> 32) != HB_MAGIC)
		return HB_BAD_MAGIC;
	uint8_t version = (uint8_t)(head >> 24), type = (uint8_t)(head >> 16);
	if (version != HB_VERSION)
		return HB_BAD_VERSION;
	/* Heartbeats and notify-acks come to us; notifies only go out. */
	uint16_t allowed;
	if (type == HB_TYPE_HEARTBEAT)
		allowed = HB_FLAG_SHUTDOWN | HB_FLAG_BOOT;
	else if (type == HB_TYPE_NOTIFY_ACK)
		allowed = HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS | HB_FLAG_VERIFY;
	else
		return HB_BAD_TYPE;
	msg->flags = (uint16_t)head;
	if (msg->flags & ~allowed)
		return HB_BAD_FLAGS;
	uint64_t slot_time = hb_be64(p + offsetof(struct hb_wire, slot));
	msg->version = version;
	msg->type = type;
	msg->slot = (uint32_t)(slot_time >> 32);
	msg->time = (uint32_t)slot_time;
	msg->id = hb_be64(p + offsetof(struct hb_wire, id));
	memcpy(msg->mac, p + HB_MAC_COVERED, HB_MAC_LEN);
	return HB_ACCEPTED;
}

#endif
