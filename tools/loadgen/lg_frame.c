/*
 * Payload and frame building (lg_frame.h). Checksums are computed, not left
 * zero: an IPv6 UDP datagram with a zero checksum is invalid, and a capture
 * (net_pcap) should be readable by any tool.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "glournet/hb_encode.h"
#include "lg_frame.h"

void lg_payload_build(uint8_t out[HB_PAYLOAD_LEN], const struct lg_ep *ep, uint32_t time,
		      uint16_t flags)
{
	hb_encode(out, HB_TYPE_HEARTBEAT, flags, ep->slot, time, ep->id, ep->key);
}

/* One's-complement sum of big-endian 16-bit words (len even), not folded. */
static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

int lg_frame_init(struct lg_frame_tmpl *t, const struct lg_frame_cfg *cfg)
{
	uint8_t *p = t->hdr, *ip = p + LG_ETH_LEN, *udp;
	uint16_t udp_len = LG_UDP_LEN + HB_PAYLOAD_LEN, ip_alen;

	memset(t, 0, sizeof(*t));
	memcpy(p, cfg->dst_mac, 6);
	memcpy(p + 6, cfg->src_mac, 6);
	if (cfg->family == AF_INET) {
		hb_put16(p + 12, 0x0800);
		ip[0] = 0x45;
		hb_put16(ip + 2, LG_IP4_LEN + udp_len);
		hb_put16(ip + 6, 0x4000); /* don't fragment */
		ip[8] = 64;               /* TTL */
		ip[9] = 17;               /* UDP */
		memcpy(ip + 12, cfg->src_ip, 4);
		memcpy(ip + 16, cfg->dst_ip, 4);
		hb_put16(ip + 10, (uint16_t)~fold(sum16(ip, LG_IP4_LEN)));
		udp = ip + LG_IP4_LEN;
		ip_alen = 4;
	} else if (cfg->family == AF_INET6) {
		hb_put16(p + 12, 0x86DD);
		ip[0] = 0x60;
		hb_put16(ip + 4, udp_len);
		ip[6] = 17; /* next header: UDP */
		ip[7] = 64; /* hop limit */
		memcpy(ip + 8, cfg->src_ip, 16);
		memcpy(ip + 24, cfg->dst_ip, 16);
		udp = ip + LG_IP6_LEN;
		ip_alen = 16;
	} else {
		return -EINVAL;
	}
	hb_put16(udp, cfg->src_port);
	hb_put16(udp + 2, cfg->dst_port);
	hb_put16(udp + 4, udp_len);
	t->udp_off = (uint16_t)(udp - p);
	t->hdr_len = (uint16_t)(t->udp_off + LG_UDP_LEN);
	/* Pseudo-header (addresses, protocol, UDP length) and the UDP header. */
	t->csum_base = sum16(cfg->src_ip, ip_alen) + sum16(cfg->dst_ip, ip_alen) + 17 + udp_len +
		       sum16(udp, LG_UDP_LEN);
	return 0;
}

uint16_t lg_frame_build(const struct lg_frame_tmpl *t, const uint8_t payload[HB_PAYLOAD_LEN],
			uint8_t *out)
{
	uint16_t c;

	memcpy(out, t->hdr, t->hdr_len);
	memcpy(out + t->hdr_len, payload, HB_PAYLOAD_LEN);
	c = (uint16_t)~fold(t->csum_base + sum16(payload, HB_PAYLOAD_LEN));
	hb_put16(out + t->udp_off + 6, c ? c : 0xffff);
	return (uint16_t)(t->hdr_len + HB_PAYLOAD_LEN);
}
