/*
 * The decoder tests' own checksums, written from RFC 791/768/8200 with
 * 16-bit big-endian sums, independent of the decoder's word-load
 * arithmetic: tf_fix() walks a template frame (Ethernet, up to two tags,
 * IPv4 or IPv6 and its extension headers) and fills in the IPv4 header
 * checksum and the UDP checksum, so that tests can build frames by hand
 * and state only the fault under test.
 */
#ifndef GLOURNET_TEST_FRAME_CSUM_H
#define GLOURNET_TEST_FRAME_CSUM_H

#include <stddef.h>
#include <stdint.h>

static uint32_t tf_sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t tf_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

/* The checksum to put in a zeroed field over these bytes. */
static uint16_t tf_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	return (uint16_t)~tf_fold(tf_sum16(p, n, sum));
}

static void tf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Offset of the IP header behind Ethernet and up to two tags; 0: not IP. */
static size_t tf_ip_off(const uint8_t *f)
{
	size_t off = 12;
	for (int t = 0; t < 2 && (f[off] << 8 | f[off + 1]) != 0x0800 &&
			(f[off] << 8 | f[off + 1]) != 0x86DD; t++)
		off += 4;
	int type = f[off] << 8 | f[off + 1];
	return type == 0x0800 || type == 0x86DD ? off + 2 : 0;
}

/*
 * Fills in the IPv4 header checksum and, when the frame holds a UDP
 * header (behind IPv4, or IPv6 and its hop-by-hop, routing, destination
 * options and fragment headers), the UDP checksum over the UDP length.
 * zero_udp: leave the UDP checksum 0 instead (IPv4's "none").
 */
static void tf_fix(uint8_t *f, size_t len, int zero_udp)
{
	size_t ip = tf_ip_off(f), udp;
	uint32_t pseudo;
	if (ip == 0 || ip + ((f[ip] >> 4) == 4 ? 20 : 40) > len)
		return;
	if ((f[ip] >> 4) == 4) {
		size_t ihl = (size_t)(f[ip] & 0x0F) * 4;
		f[ip + 10] = f[ip + 11] = 0;
		tf_put16(f + ip + 10, tf_csum(f + ip, ihl, 0));
		if (f[ip + 9] != 17)
			return;
		udp = ip + ihl;
		pseudo = tf_sum16(f + ip + 12, 8, 17);
	} else {
		uint8_t nh = f[ip + 6];
		udp = ip + 40;
		while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
			size_t hl = nh == 44 ? 8 : ((size_t)f[udp + 1] + 1) * 8;
			nh = f[udp];
			udp += hl;
		}
		if (nh != 17)
			return;
		pseudo = tf_sum16(f + ip + 8, 32, 17);
	}
	if (udp + 8 > len)
		return;
	size_t ulen = (size_t)(f[udp + 4] << 8 | f[udp + 5]);
	f[udp + 6] = f[udp + 7] = 0;
	if (zero_udp || udp + ulen > len)
		return;
	uint16_t c = tf_csum(f + udp, ulen, pseudo + (uint32_t)ulen);
	tf_put16(f + udp + 6, c ? c : 0xFFFF);
}

#endif
