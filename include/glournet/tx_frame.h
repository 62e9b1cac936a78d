/*
 * Building the frames the control plane sends out of the port (notifies,
 * the debug send): Ethernet, IPv4 or IPv6, UDP, payload, every checksum
 * computed. Free of DPDK, so the unit tests check the bytes the port sends.
 */
#ifndef GLOURNET_TX_FRAME_H
#define GLOURNET_TX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "glournet/net_addr.h"

#define TX_ETH_LEN      14
#define TX_IPV4_LEN     20
#define TX_IPV6_LEN     40
#define TX_UDP_LEN      8
#define TX_HDR_MAX      (TX_ETH_LEN + TX_IPV6_LEN + TX_UDP_LEN)
#define TX_PAYLOAD_MAX  1452   /* IPv6 in a 1500-byte MTU, never fragmented */
#define TX_TTL          64

struct tx_frame_hdr {
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	struct gn_addr src;       /* same family as dst */
	struct gn_addr dst;
	uint16_t src_port;        /* host order */
	uint16_t dst_port;
};

/*
 * Writes the whole frame into `out` (`room` bytes). IPv4: DF set, ID 0
 * (an atomic datagram, RFC 6864), TTL 64; IPv6: hop limit 64, flow label 0;
 * the UDP checksum always (0 sent as 0xFFFF). Returns the frame length, or
 * -EINVAL (families differ or unknown), -EMSGSIZE (payload over
 * TX_PAYLOAD_MAX or over `room`).
 */
int tx_frame_build(uint8_t *out, size_t room, const struct tx_frame_hdr *h, const void *payload,
		   uint16_t len);

#endif
