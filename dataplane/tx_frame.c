/*
 * Frame building for the TX path (tx_frame.h). Written byte by byte in
 * network order: the frame is what the wire sees, whatever the host.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "glournet/tx_frame.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's-complement sum of big-endian 16-bit words, an odd byte padded. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	size_t i = 0;
	for (; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		s += (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)s;
}

int tx_frame_build(uint8_t *out, size_t room, const struct tx_frame_hdr *h, const void *payload,
		   uint16_t len)
{
	if (h->src.family != h->dst.family ||
	    (h->dst.family != AF_INET && h->dst.family != AF_INET6))
		return -EINVAL;
	bool v4 = h->dst.family == AF_INET;
	size_t ip_len = v4 ? TX_IPV4_LEN : TX_IPV6_LEN;
	size_t total = TX_ETH_LEN + ip_len + TX_UDP_LEN + len;
	if (len > TX_PAYLOAD_MAX || total > room)
		return -EMSGSIZE;
	uint16_t udp_len = (uint16_t)(TX_UDP_LEN + len);
	uint8_t *ip = out + TX_ETH_LEN, *udp = ip + ip_len;
	unsigned alen = v4 ? 4 : 16;

	memcpy(out, h->dst_mac, 6);
	memcpy(out + 6, h->src_mac, 6);
	put16(out + 12, v4 ? 0x0800 : 0x86DD);
	if (v4) {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(TX_IPV4_LEN + udp_len));
		put16(ip + 4, 0);            /* ID: atomic datagram */
		put16(ip + 6, 0x4000);       /* DF */
		ip[8] = TX_TTL;
		ip[9] = 17;                  /* UDP */
		put16(ip + 10, 0);
		memcpy(ip + 12, h->src.bytes, 4);
		memcpy(ip + 16, h->dst.bytes, 4);
		put16(ip + 10, (uint16_t)~fold(sum16(ip, TX_IPV4_LEN, 0)));
	} else {
		ip[0] = 0x60;
		ip[1] = ip[2] = ip[3] = 0;
		put16(ip + 4, udp_len);
		ip[6] = 17;                  /* next header: UDP */
		ip[7] = TX_TTL;
		memcpy(ip + 8, h->src.bytes, 16);
		memcpy(ip + 24, h->dst.bytes, 16);
	}
	put16(udp, h->src_port);
	put16(udp + 2, h->dst_port);
	put16(udp + 4, udp_len);
	put16(udp + 6, 0);
	if (len)
		memcpy(udp + TX_UDP_LEN, payload, len);
	/* Pseudo-header (addresses, protocol, UDP length), header, payload. */
	uint32_t s = sum16(h->src.bytes, alen, 0);
	s = sum16(h->dst.bytes, alen, s) + 17 + udp_len;
	uint16_t c = (uint16_t)~fold(sum16(udp, udp_len, s));
	put16(udp + 6, c ? c : 0xFFFF);
	return (int)total;
}
