/*
 * Frame and payload decoding for heartbeats, free of DPDK so that unit
 * tests and fuzzers drive exactly the code the workers run. The common
 * frame (untagged IPv4 without options, or IPv6 without extension headers)
 * with its checksums and the payload are decoded inline, with word loads,
 * since every packet goes through them; everything else takes the general
 * walk in hb_decode.c.
 */
#ifndef GLOURNET_HB_DECODE_H
#define GLOURNET_HB_DECODE_H

#include <stdint.h>
#include <string.h>

#include "glournet/heartbeat.h"
#include "glournet/hb_verdict.h"

/*
 * What the NIC already verified, in the bit positions of DPDK's mbuf
 * ol_flags (RTE_MBUF_F_RX_IP_CKSUM_* and RTE_MBUF_F_RX_L4_CKSUM_*;
 * worker.c asserts they match), so that the worker hands ol_flags over as
 * they are. The GOOD bit is set in two of the four states: GOOD (the
 * checksum is right) and NONE (the checksum field is not filled in, but
 * the PMD vouches for the data: virtio and tap with a peer that offloads
 * its checksums). Only then is our own check skipped; UNKNOWN (every
 * virtual PMD here, and NICs without the offload) and BAD are checked in
 * software, so a NIC's BAD is confirmed, never trusted blindly.
 */
#define HB_RX_L4_CSUM_BAD  (1u << 3)
#define HB_RX_IP_CSUM_BAD  (1u << 4)
#define HB_RX_IP_CSUM_GOOD (1u << 7)
#define HB_RX_L4_CSUM_GOOD (1u << 8)
#define HB_RX_CSUM_VERIFIED (HB_RX_IP_CSUM_GOOD | HB_RX_L4_CSUM_GOOD)

/*
 * The general walk: Ethernet (up to two VLAN tags, 802.1Q or QinQ),
 * IPv4 (options skipped, header checksum, fragments refused) or IPv6 (a
 * bounded chain of extension headers), UDP to `udp_port` (host order) with
 * its checksum (optional over IPv4, required over IPv6). `rx` is what the
 * NIC verified (HB_RX_*; 0: nothing). On HB_ACCEPTED, *payload points at
 * the 32 heartbeat bytes inside `frame`; otherwise the verdict says why
 * the frame is not one, and hb_verdict_to_kernel() whether it is someone
 * else's. Call hb_decode_frame_rx; this is exposed so that tests can hold
 * the fast path against it.
 */
enum hb_verdict hb_decode_frame_slow(const uint8_t *frame, uint32_t len, uint16_t udp_port,
				     uint32_t rx, const uint8_t **payload);

/* Offsets of the fast path's two frame shapes. */
#define HB_FAST_ETH_LEN  14
#define HB_FAST_IPV4_LEN 20                 /* IHL 5: no options */
#define HB_FAST_IPV6_LEN 40
#define HB_FAST_UDP_LEN  8
#define HB_FAST_UDP_TOTAL (HB_FAST_UDP_LEN + HB_PAYLOAD_LEN)

/*
 * Internet checksums (RFC 1071) on 64-bit words. 2^16 = 1 (mod 0xFFFF),
 * so summing 16-bit words with end-around carry is the same, modulo
 * 0xFFFF, as summing any 2^16-aligned chunks with end-around carry: here
 * 8- and 4-byte native loads, each at an even offset, in any byte order.
 * A datagram checks when its sum, checksum field included, is all ones,
 * i.e. a non-zero multiple of 0xFFFF (it is never 0: the sums below
 * always include a non-zero version or protocol byte); the compiler turns
 * `% 0xFFFF == 0` into a multiply and a compare.
 *
 * On x86-64 the fast path's sums are one adc chain each, in asm: in C,
 * GCC 12 spilled the carries of the burst loop to the stack (+20
 * instructions a heartbeat, callgrind); the C below is the reference and
 * the other architectures' code. A final carry goes back in twice: the
 * first add of it can carry again only to 0, which the second makes 1.
 */
static inline uint64_t hb_csum_add(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);   /* 2^64 = 1 (mod 0xFFFF) */
}

static inline uint64_t hb_csum_load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint64_t hb_csum_load32(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

static inline int hb_csum_ok(uint64_t sum)
{
	return sum % 0xFFFF == 0;
}

/* a + b + c. */
static inline uint64_t hb_csum_add3(uint64_t a, uint64_t b, uint64_t c)
{
#if defined(__x86_64__)
	__asm__("addq %[b], %[a]\n\tadcq %[c], %[a]\n\tadcq $0, %[a]\n\tadcq $0, %[a]"
		: [a] "+r"(a) : [b] "r"(b), [c] "r"(c) : "cc");
	return a;
#else
	return hb_csum_add(hb_csum_add(a, b), c);
#endif
}

/* sum + k + the 40 bytes at p (a heartbeat's UDP header and payload; k:
 * the pseudo-header's constant words). */
static inline uint64_t hb_csum_40(uint64_t sum, uint64_t k, const uint8_t *p)
{
#if defined(__x86_64__)
	__asm__("addq %[k], %[s]\n\tadcq (%[p]), %[s]\n\tadcq 8(%[p]), %[s]\n\t"
		"adcq 16(%[p]), %[s]\n\tadcq 24(%[p]), %[s]\n\tadcq 32(%[p]), %[s]\n\t"
		"adcq $0, %[s]\n\tadcq $0, %[s]"
		: [s] "+r"(sum) : [k] "re"(k), [p] "r"(p), "m"(*(const uint8_t(*)[40])p) : "cc");
	return sum;
#else
	sum = hb_csum_add(sum, k);
	for (int i = 0; i < 40; i += 8)
		sum = hb_csum_add(sum, hb_csum_load64(p + i));
	return sum;
#endif
}

/* sum + the 32 bytes at p (IPv6's two addresses). */
static inline uint64_t hb_csum_32(uint64_t sum, const uint8_t *p)
{
#if defined(__x86_64__)
	__asm__("addq (%[p]), %[s]\n\tadcq 8(%[p]), %[s]\n\tadcq 16(%[p]), %[s]\n\t"
		"adcq 24(%[p]), %[s]\n\tadcq $0, %[s]\n\tadcq $0, %[s]"
		: [s] "+r"(sum) : [p] "r"(p), "m"(*(const uint8_t(*)[32])p) : "cc");
	return sum;
#else
	for (int i = 0; i < 32; i += 8)
		sum = hb_csum_add(sum, hb_csum_load64(p + i));
	return sum;
#endif
}

/* The pseudo-header's protocol and UDP length: 17 and `udp_len` as 16-bit
 * words (IPv4's zero/protocol/length and IPv6's 32-bit length/zero/next
 * header sum the same). */
static inline uint64_t hb_csum_udp_pseudo(uint16_t udp_len)
{
	const uint8_t b[4] = {0, 17, (uint8_t)(udp_len >> 8), (uint8_t)udp_len};
	return hb_csum_load32(b);
}

/*
 * Same contract and same verdicts as hb_decode_frame_slow, for every input
 * and every `rx`: the fast path only ever accepts a frame the general walk
 * accepts at the same payload, and hands anything else (tags, options,
 * extension headers, a zero IPv6 UDP checksum, every error) to the general
 * walk, which names the reason. The checksums are the only thing it reads
 * beyond the headers' fields: the IPv4 header (20 bytes) and the UDP
 * datagram (40 bytes plus the addresses), skipped when the NIC vouched.
 */
static inline enum hb_verdict hb_decode_frame_rx(const uint8_t *frame, uint32_t len,
						 uint16_t udp_port, uint32_t rx,
						 const uint8_t **payload)
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
				if (!(rx & HB_RX_IP_CSUM_GOOD) &&
				    !hb_csum_ok(hb_csum_add3(hb_csum_load64(ip), hb_csum_load32(ip + 8),
							     hb_csum_load64(ip + 12))))
					goto slow;
				/* A zero UDP checksum over IPv4: none was computed. */
				if (!(rx & HB_RX_L4_CSUM_GOOD) && (udp[6] | udp[7]) &&
				    !hb_csum_ok(hb_csum_40(hb_csum_load64(ip + 12),   /* addresses */
							   hb_csum_udp_pseudo(HB_FAST_UDP_TOTAL), udp)))
					goto slow;
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
			    hb_be16(udp + 2) == udp_port && hb_be16(udp + 4) == HB_FAST_UDP_TOTAL &&
			    (udp[6] | udp[7])) {                 /* IPv6 requires a checksum */
				if (!(rx & HB_RX_L4_CSUM_GOOD)) {
					uint64_t s = hb_csum_32(0, ip + 8);   /* the addresses */
					if (!hb_csum_ok(hb_csum_40(s, hb_csum_udp_pseudo(HB_FAST_UDP_TOTAL),
								   udp)))
						goto slow;
				}
				*payload = udp + HB_FAST_UDP_LEN;
				return HB_ACCEPTED;
			}
		}
	}
slow:
	return hb_decode_frame_slow(frame, len, udp_port, rx, payload);
}

/* The same with nothing verified by a NIC: every checksum in software. */
static inline enum hb_verdict hb_decode_frame(const uint8_t *frame, uint32_t len,
					      uint16_t udp_port, const uint8_t **payload)
{
	return hb_decode_frame_rx(frame, len, udp_port, 0, payload);
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
