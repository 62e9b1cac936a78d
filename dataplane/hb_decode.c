/*
 * Heartbeat frame decoding, the general walk: Ethernet → IP → UDP → the 32
 * bytes of docs/protocol.md §1, for every frame the inline fast path in
 * hb_decode.h does not take (tags, options, extension headers, every
 * error). Pure functions over a byte buffer; every branch ends in a
 * verdict the worker counts, and the verdict says whether the frame was
 * ours, the kernel's or nobody's (hb_verdict.h). Bounds are checked before
 * every read, since the bytes come straight off the wire.
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

/* IPv6 extension headers we walk (RFC 8200 §4); anything else ends the
 * chain and is not UDP. */
#define IP6_HOP_BY_HOP 0
#define IP6_ROUTING    43
#define IP6_FRAGMENT   44
#define IP6_DEST_OPTS  60
/* A heartbeat needs none; agents behind middleboxes may get one or two.
 * Longer chains are refused rather than walked: bounded work per frame. */
#define IP6_MAX_EXT    4

/* Everything the UDP step needs from the IP layer below it. */
struct ip_ctx {
	const uint8_t *addrs;   /* the pseudo-header's source and destination */
	uint32_t addr_len;      /* 8 or 32 */
	int v6;                 /* a zero UDP checksum is invalid over IPv6 */
};

/* n bytes, n a multiple of 4 (IPv4 headers and options, addresses). */
static uint64_t csum_words(uint64_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 8 <= n; i += 8)
		sum = hb_csum_add(sum, hb_csum_load64(p + i));
	if (n & 4)
		sum = hb_csum_add(sum, hb_csum_load32(p + (n & ~7u)));
	return sum;
}

static enum hb_verdict decode_udp(const uint8_t *udp, uint32_t avail, uint16_t udp_port,
				  const struct ip_ctx *ip, uint32_t rx, const uint8_t **payload)
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
	if ((udp[6] | udp[7]) == 0) {
		/* IPv4: the sender computed none. IPv6: RFC 8200 §8.1 says drop. */
		if (ip->v6)
			return HB_UDP_NO_CHECKSUM;
	} else if (!(rx & HB_RX_L4_CSUM_GOOD)) {
		uint64_t s = csum_words(0, ip->addrs, ip->addr_len);
		if (!hb_csum_ok(hb_csum_40(s, hb_csum_udp_pseudo(udp_len), udp)))
			return HB_UDP_CHECKSUM;
	}
	*payload = udp + UDP_HDR_LEN;
	return HB_ACCEPTED;
}

/* A fragment is ours only when it is a first fragment that shows UDP to
 * our port; a heartbeat is 32 bytes and is never fragmented, so such a
 * fragment is counted and dropped, never reassembled. Every other fragment
 * may belong to anything (a large ping, a DNS answer): the kernel's. */
static enum hb_verdict fragment_verdict(int first, uint8_t proto, const uint8_t *l4,
					uint32_t avail, uint16_t udp_port)
{
	if (first && proto == IPPROTO_UDP_ && avail >= 4 && hb_be16(l4 + 2) == udp_port)
		return HB_IP_FRAGMENT;
	return HB_FRAGMENT_OTHER;
}

static enum hb_verdict decode_ipv4(const uint8_t *ip, uint32_t avail, uint16_t udp_port,
				   uint32_t rx, const uint8_t **payload)
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
	/* The header with its options (skipped, never interpreted: nothing a
	 * heartbeat needs is in them) must check. */
	if (!(rx & HB_RX_IP_CSUM_GOOD)) {
		if (!hb_csum_ok(csum_words(0, ip, ihl)))
			return HB_IP_CHECKSUM;
	}
	uint16_t frag = hb_be16(ip + 6);
	/* MF set or a non-zero offset: a fragment, never a whole heartbeat. */
	if (frag & 0x3FFF)
		return fragment_verdict((frag & 0x1FFF) == 0, ip[9], ip + ihl, total - ihl, udp_port);
	if (ip[9] != IPPROTO_UDP_)
		return HB_NOT_UDP;
	struct ip_ctx c = {.addrs = ip + 12, .addr_len = 8, .v6 = 0};
	return decode_udp(ip + ihl, total - ihl, udp_port, &c, rx, payload);
}

static enum hb_verdict decode_ipv6(const uint8_t *ip, uint32_t avail, uint16_t udp_port,
				   uint32_t rx, const uint8_t **payload)
{
	if (avail < IPV6_HDR_LEN)
		return HB_FRAME_SHORT;
	if ((ip[0] >> 4) != 6)
		return HB_IP_BAD;
	uint32_t plen = hb_be16(ip + 4);
	if (plen > avail - IPV6_HDR_LEN)
		return HB_FRAME_SHORT;
	/* Walk the extension headers inside the payload length. Each is
	 * next-header, length in 8-byte units beyond the first 8 (the
	 * fragment header is always 8 bytes), then its body. */
	const uint8_t *p = ip + IPV6_HDR_LEN;
	uint32_t left = plen;
	uint8_t nh = ip[6];
	for (int n = 0;; n++) {
		if (nh != IP6_HOP_BY_HOP && nh != IP6_ROUTING && nh != IP6_FRAGMENT &&
		    nh != IP6_DEST_OPTS)
			break;
		if (n == IP6_MAX_EXT)
			return HB_IP6_EXT_LIMIT;
		if (nh == IP6_HOP_BY_HOP && n != 0)
			return HB_IP_BAD;   /* only ever right behind the IPv6 header */
		if (left < 8)
			return HB_FRAME_SHORT;
		uint32_t hlen = nh == IP6_FRAGMENT ? 8 : ((uint32_t)p[1] + 1) * 8;
		if (hlen > left)
			return HB_FRAME_SHORT;
		if (nh == IP6_ROUTING && p[3] != 0)
			return HB_IP6_ROUTED;   /* segments left: we are not its destination */
		if (nh == IP6_FRAGMENT) {
			uint16_t off_m = hb_be16(p + 2);
			/* Offset 0 and no more fragments: an atomic fragment
			 * (RFC 6946), a whole datagram; walk on. */
			if (off_m & 0xFFF9)
				return fragment_verdict((off_m & 0xFFF8) == 0, p[0], p + hlen,
							left - hlen, udp_port);
		}
		nh = p[0];
		p += hlen;
		left -= hlen;
	}
	if (nh != IPPROTO_UDP_)
		return HB_NOT_UDP;
	/* The final destination is the header's own: no routing header with
	 * segments left got this far. */
	struct ip_ctx c = {.addrs = ip + 8, .addr_len = 32, .v6 = 1};
	return decode_udp(p, left, udp_port, &c, rx, payload);
}

enum hb_verdict hb_decode_frame_slow(const uint8_t *frame, uint32_t len, uint16_t udp_port,
				     uint32_t rx, const uint8_t **payload)
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
		return decode_ipv4(frame + off, len - off, udp_port, rx, payload);
	if (ethertype == ETH_P_IPV6)
		return decode_ipv6(frame + off, len - off, udp_port, rx, payload);
	return HB_NOT_IP;
}

const char *hb_verdict_name(enum hb_verdict v)
{
	static const char *const names[] = {
#define HB_VERDICT_NAME(name, str, route) str,
		HB_VERDICTS(HB_VERDICT_NAME)
#undef HB_VERDICT_NAME
	};
	return (unsigned)v < HB_VERDICT_COUNT ? names[v] : "unknown";
}

enum hb_route hb_verdict_route(enum hb_verdict v)
{
	static const unsigned char routes[] = {
#define HB_VERDICT_ROUTE(name, str, route) HB_ROUTE_##route,
		HB_VERDICTS(HB_VERDICT_ROUTE)
#undef HB_VERDICT_ROUTE
	};
	return (unsigned)v < HB_VERDICT_COUNT ? (enum hb_route)routes[v] : HB_ROUTE_BAD;
}

const char *hb_route_name(enum hb_route r)
{
	switch (r) {
	case HB_ROUTE_OURS: return "ours";
	case HB_ROUTE_KERNEL: return "kernel";
	case HB_ROUTE_BAD: return "bad";
	}
	return "unknown";
}
