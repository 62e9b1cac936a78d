/*
 * Heartbeat payloads and whole Ethernet/IP/UDP frames for the load
 * generator. The 32 bytes come from hb_encode(), the encoder every sender
 * uses, beside the definitions the daemon decodes with; the headers
 * around them are built once as a template, so a frame costs one copy, a
 * MAC and a 16-word checksum.
 */
#ifndef GLOURNET_LG_FRAME_H
#define GLOURNET_LG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "glournet/heartbeat.h"
#include "lg_endpoints.h"

#define LG_ETH_LEN   14
#define LG_IP4_LEN   20
#define LG_IP6_LEN   40
#define LG_UDP_LEN   8
#define LG_FRAME_MAX (LG_ETH_LEN + LG_IP6_LEN + LG_UDP_LEN + HB_PAYLOAD_LEN)

struct lg_frame_cfg {
	int family; /* AF_INET or AF_INET6 */
	uint8_t src_mac[6], dst_mac[6];
	uint8_t src_ip[16], dst_ip[16]; /* IPv4: the first 4 bytes */
	uint16_t src_port, dst_port;    /* host order */
};

struct lg_frame_tmpl {
	uint8_t hdr[LG_ETH_LEN + LG_IP6_LEN + LG_UDP_LEN];
	uint16_t hdr_len;   /* bytes before the payload */
	uint16_t udp_off;   /* where the UDP header starts */
	uint32_t csum_base; /* UDP checksum over everything but the payload */
};

/* The 32-byte heartbeat of `ep` at `time` with `flags`, MAC included. */
void lg_payload_build(uint8_t out[HB_PAYLOAD_LEN], const struct lg_ep *ep, uint32_t time,
		      uint16_t flags);

/* -EINVAL for a family other than AF_INET / AF_INET6. */
int lg_frame_init(struct lg_frame_tmpl *t, const struct lg_frame_cfg *cfg);

/* Writes the frame (headers + payload) to out (at least LG_FRAME_MAX bytes)
 * and returns its length. */
uint16_t lg_frame_build(const struct lg_frame_tmpl *t, const uint8_t payload[HB_PAYLOAD_LEN],
			uint8_t *out);

#endif
