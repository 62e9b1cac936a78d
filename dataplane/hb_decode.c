/*
 * Heartbeat frame decoding, the general walk: Ethernet → IP → UDP → the 32
 * bytes of docs/protocol.md §1, for every frame the inline fast path in
 * hb_decode.h does not take (tags, options, every error). Pure functions
 * over a byte buffer; every branch ends in a verdict the worker counts.
 * Bounds are checked before every read, since the bytes come straight off
 * the wire.
 */
#include <stddef.h>

#include "glournet/hb_decode.h"

#define ETH_HDR_LEN   14
#define VLAN_TAG_LEN  4
#define ETH_P_IPV4    0x0800
#define ETH_P_IPV6    0x86DD
#define ETH_P_VLAN    0x8100
#define ETH_P_QINQ    0x88A8
#define IPV4_MIN_HDR  20
#define IPV6_HDR_LEN  40
#define UDP_HDR_LEN   8
#define IPPROTO_UDP_  17

static enum hb_verdict decode_udp(const uint8_t *udp, uint32_t avail, uint16_t udp_port,
				  const uint8_t **payload)
{
	if (avail < UDP_HDR_LEN)
		return HB_FRAME_SHORT;
	if (hb_be16(udp + 2) != udp_port)
		return HB_NOT_OUR_PORT;
	uint16_t udp_len = hb_be16(udp + 4);
	if (udp_len > avail)
		return HB_FRAME_SHORT;
	if (udp_len != UDP_HDR_LEN + HB_PAYLOAD_LEN)
		return HB_BAD_LENGTH;
	*payload = udp + UDP_HDR_LEN;
	return HB_ACCEPTED;
}

static enum hb_verdict decode_ipv4(const uint8_t *ip, uint32_t avail, uint16_t udp_port,
				   const uint8_t **payload)
{
	if (avail < IPV4_MIN_HDR)
		return HB_FRAME_SHORT;
	if ((ip[0] >> 4) != 4)
		return HB_IP_BAD;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0F) * 4;
	uint32_t total = hb_be16(ip + 2);
	if (ihl < IPV4_MIN_HDR || total < ihl)
		return HB_IP_BAD;
	if (total > avail)
		return HB_FRAME_SHORT;
	/* MF set or a non-zero offset: a fragment, never a whole heartbeat. */
	if (hb_be16(ip + 6) & 0x3FFF)
		return HB_IP_FRAGMENT;
	if (ip[9] != IPPROTO_UDP_)
		return HB_NOT_UDP;
	return decode_udp(ip + ihl, total - ihl, udp_port, payload);
}

static enum hb_verdict decode_ipv6(const uint8_t *ip, uint32_t avail, uint16_t udp_port,
				   const uint8_t **payload)
{
	if (avail < IPV6_HDR_LEN)
		return HB_FRAME_SHORT;
	if ((ip[0] >> 4) != 6)
		return HB_IP_BAD;
	uint32_t plen = hb_be16(ip + 4);
	if (plen > avail - IPV6_HDR_LEN)
		return HB_FRAME_SHORT;
	/* Agents send plain UDP; extension headers (incl. fragments) are not ours. */
	if (ip[6] != IPPROTO_UDP_)
		return HB_NOT_UDP;
	return decode_udp(ip + IPV6_HDR_LEN, plen, udp_port, payload);
}

enum hb_verdict hb_decode_frame_slow(const uint8_t *frame, uint32_t len, uint16_t udp_port,
				     const uint8_t **payload)
{
	if (len < ETH_HDR_LEN)
		return HB_FRAME_SHORT;
	uint32_t off = 12;
	uint16_t ethertype = hb_be16(frame + off);
	for (int tags = 0; (ethertype == ETH_P_VLAN || ethertype == ETH_P_QINQ) && tags < 2; tags++) {
		off += VLAN_TAG_LEN;
		if (len < off + 2)
			return HB_FRAME_SHORT;
		ethertype = hb_be16(frame + off);
	}
	off += 2;
	if (ethertype == ETH_P_IPV4)
		return decode_ipv4(frame + off, len - off, udp_port, payload);
	if (ethertype == ETH_P_IPV6)
		return decode_ipv6(frame + off, len - off, udp_port, payload);
	return HB_NOT_IP;
}

const char *hb_verdict_name(enum hb_verdict v)
{
	static const char *const names[] = {
#define HB_VERDICT_NAME(name, str) str,
		HB_VERDICTS(HB_VERDICT_NAME)
#undef HB_VERDICT_NAME
	};
	return (unsigned)v < HB_VERDICT_COUNT ? names[v] : "unknown";
}
