/*
 * The decoder below UDP, as issue #11 made it (hb_decode.h, hb_verdict.h):
 * the IPv4 header checksum and the UDP checksum (optional over IPv4,
 * required over IPv6), the NIC's checksum flags (GOOD and NONE skip our
 * check, UNKNOWN and BAD do not), IPv4 options, IPv4 and IPv6 fragments
 * (the first one to our port is ours and refused, any other the kernel's),
 * IPv6 extension-header chains (hop-by-hop, routing, destination options,
 * fragment; a bounded walk), VLAN and QinQ tags in front of all of them,
 * and the route every verdict gives (ours, the kernel's, nobody's). Frames
 * are written out byte by byte and their checksums filled in by the
 * test's own 16-bit implementation (frame_csum.h); each is decoded from a
 * buffer ending at a PROT_NONE page, and through both the inline fast
 * path and the general walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "glournet/hb_decode.h"

#define PORT 7100

#define HB_BYTES                                                         \
	0x47, 0x4C, 0x48, 0x42, 0x01, 0x01, 0x00, 0x00,                  \
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,                  \
	0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01,                  \
	0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8
#define ETH 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02
#define UDP_TO(port) 0xC3, 0x50, (port) >> 8, (port) & 0xFF, 0x00, 0x28, 0x00, 0x00
#define UDP UDP_TO(PORT)
/* IPv4, IHL 5, total 60, DF, UDP, 10.0.0.2 -> 10.0.0.1 (checksum by tf_fix). */
#define IP4(flags_hi, flags_lo, proto)                                   \
	0x45, 0x00, 0x00, 0x3C, 0x12, 0x34, (flags_hi), (flags_lo),      \
	0x40, (proto), 0x00, 0x00, 0x0A, 0, 0, 0x02, 0x0A, 0, 0, 0x01
#define IP6(plen, nh)                                                    \
	0x60, 0x00, 0x00, 0x00, 0x00, (plen), (nh), 0x40,                \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,   \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define V4_IP 14
#define V4_UDP 34
#define V6_IP 14
#define V6_UDP 54

#include "frame_csum.h"
#include "guard_page.h"

#define MAXF 512
struct frame {
	uint8_t b[MAXF];
	size_t len;
};

/* A frame from bytes, checksums filled in (UDP's left 0 if zero_udp). */
#define MAKE(fr, zero_udp, ...)                                          \
	do {                                                             \
		static const uint8_t bytes_[] = {__VA_ARGS__};           \
		memcpy((fr)->b, bytes_, sizeof(bytes_));                 \
		(fr)->len = sizeof(bytes_);                              \
		tf_fix((fr)->b, (fr)->len, (zero_udp));                  \
	} while (0)

/*
 * Decodes with `rx` as the NIC's flags, from a buffer ending at the guard
 * page, through the fast path and the general walk (which must agree),
 * and checks the payload pointer of an accepted frame.
 */
static enum hb_verdict decode_rx(const struct frame *f, uint32_t rx, long *pl_off)
{
	uint8_t *buf = guard_area + page - f->len;
	memcpy(buf, f->b, f->len);
	const uint8_t *pl = NULL, *spl = NULL;
	enum hb_verdict v = hb_decode_frame_rx(buf, (uint32_t)f->len, PORT, rx, &pl);
	enum hb_verdict sv = hb_decode_frame_slow(buf, (uint32_t)f->len, PORT, rx, &spl);
	if (v != sv)
		fail_msg("fast path %s, general walk %s", hb_verdict_name(v), hb_verdict_name(sv));
	if (v == HB_ACCEPTED) {
		assert_ptr_equal(pl, spl);
		assert_true(pl >= buf && pl + HB_PAYLOAD_LEN <= buf + f->len);
		struct hb_msg m;
		assert_int_equal(hb_decode_payload(pl, &m), HB_ACCEPTED);
		if (pl_off)
			*pl_off = pl - buf;
	}
	return v;
}

static enum hb_verdict decode(const struct frame *f) { return decode_rx(f, 0, NULL); }

/* Every shorter prefix is frame_short, never accepted, never overread. */
static void prefixes_short(const struct frame *f)
{
	for (size_t n = 0; n < f->len; n++) {
		struct frame p = *f;
		p.len = n;
		enum hb_verdict v = decode(&p);
		if (v != HB_FRAME_SHORT)
			fail_msg("a %zu-byte prefix of %zu: %s", n, f->len, hb_verdict_name(v));
	}
}

/* ---- checksums ---- */

static void test_ipv4_header_checksum(void **state)
{
	(void)state;
	struct frame f;
	MAKE(&f, 1, ETH, 0x08, 0x00, IP4(0x40, 0, 17), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_ACCEPTED);
	/* Every bit of the header matters, the checksum field's included. */
	for (size_t at = V4_IP; at < V4_IP + 20; at++) {
		if (at == V4_IP)
			continue;   /* version/IHL: ip_bad first */
		for (int bit = 0; bit < 8; bit++) {
			struct frame g = f;
			g.b[at] ^= (uint8_t)(1u << bit);
			enum hb_verdict v = decode(&g);
			/* A total length changed upwards runs past the frame first. */
			if (v != HB_IP_CHECKSUM && !(at == V4_IP + 2 || at == V4_IP + 3))
				fail_msg("bit %d of header byte %zu: %s", bit, at - V4_IP,
					 hb_verdict_name(v));
		}
	}
	struct frame g = f;
	g.b[V4_IP + 8] = 1;   /* TTL 1: still ours, but the checksum says no */
	assert_int_equal(decode(&g), HB_IP_CHECKSUM);
	assert_int_equal(hb_verdict_route(HB_IP_CHECKSUM), HB_ROUTE_BAD);
	/* The NIC vouched (GOOD or NONE): not checked again. */
	assert_int_equal(decode_rx(&g, HB_RX_IP_CSUM_GOOD, NULL), HB_ACCEPTED);
	assert_int_equal(decode_rx(&g, HB_RX_IP_CSUM_GOOD | HB_RX_IP_CSUM_BAD, NULL), HB_ACCEPTED);
	/* UNKNOWN and BAD are checked in software; the L4 flag is no IP flag. */
	assert_int_equal(decode_rx(&g, HB_RX_IP_CSUM_BAD, NULL), HB_IP_CHECKSUM);
	assert_int_equal(decode_rx(&g, HB_RX_L4_CSUM_GOOD, NULL), HB_IP_CHECKSUM);
	/* BAD from the NIC on a right header: our own check decides. */
	assert_int_equal(decode_rx(&f, HB_RX_IP_CSUM_BAD, NULL), HB_ACCEPTED);
	/* Checked before the protocol: a TCP segment with a broken header is
	 * nobody's, not the kernel's. */
	struct frame t;
	MAKE(&t, 0, ETH, 0x08, 0x00, IP4(0x40, 0, 6), UDP, HB_BYTES);
	assert_int_equal(decode(&t), HB_NOT_UDP);
	t.b[V4_IP + 10] ^= 0x40;
	assert_int_equal(decode(&t), HB_IP_CHECKSUM);
}

static void test_udp_checksum_ipv4(void **state)
{
	(void)state;
	struct frame f, z;
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x40, 0, 17), UDP, HB_BYTES);
	MAKE(&z, 1, ETH, 0x08, 0x00, IP4(0x40, 0, 17), UDP, HB_BYTES);
	assert_int_not_equal(f.b[V4_UDP + 6] | f.b[V4_UDP + 7], 0);
	assert_int_equal(decode(&f), HB_ACCEPTED);
	assert_int_equal(decode(&z), HB_ACCEPTED);   /* 0: the sender computed none */
	/* Every bit of the UDP header and payload is covered... */
	for (size_t at = V4_UDP; at < V4_UDP + 40; at++) {
		if (at >= V4_UDP + 2 && at < V4_UDP + 6)
			continue;   /* the port and the length have their own verdicts */
		struct frame g = f;
		g.b[at] ^= 0x10;
		enum hb_verdict v = decode(&g);
		if (v != HB_UDP_CHECKSUM)
			fail_msg("UDP byte %zu changed: %s", at - V4_UDP, hb_verdict_name(v));
	}
	/* ...and so are the addresses, through the pseudo-header (with the IP
	 * header checksum made right again, and the NIC vouching for the IP
	 * header). */
	struct frame g = f;
	g.b[V4_IP + 12] ^= 0x01;
	assert_int_equal(decode_rx(&g, HB_RX_IP_CSUM_GOOD, NULL), HB_UDP_CHECKSUM);
	assert_int_equal(decode(&g), HB_IP_CHECKSUM);
	assert_int_equal(hb_verdict_route(HB_UDP_CHECKSUM), HB_ROUTE_OURS);
	/* L4 GOOD or NONE from the NIC: not checked; BAD: checked. */
	g = f;
	g.b[V4_UDP + 30] ^= 0xFF;
	assert_int_equal(decode(&g), HB_UDP_CHECKSUM);
	assert_int_equal(decode_rx(&g, HB_RX_L4_CSUM_GOOD, NULL), HB_ACCEPTED);
	assert_int_equal(decode_rx(&g, HB_RX_L4_CSUM_GOOD | HB_RX_L4_CSUM_BAD, NULL), HB_ACCEPTED);
	assert_int_equal(decode_rx(&g, HB_RX_L4_CSUM_BAD, NULL), HB_UDP_CHECKSUM);
	assert_int_equal(decode_rx(&g, HB_RX_IP_CSUM_GOOD, NULL), HB_UDP_CHECKSUM);
	/* A computed checksum of 0 goes on the wire as 0xFFFF (RFC 768): make
	 * the payload's last word sum the datagram to all ones. */
	g = f;
	g.b[V4_UDP + 6] = g.b[V4_UDP + 7] = 0;
	g.b[V4_UDP + 38] = g.b[V4_UDP + 39] = 0;
	uint32_t sum = tf_sum16(g.b + V4_IP + 12, 8, 17 + 40);
	uint16_t fill = (uint16_t)~tf_fold(tf_sum16(g.b + V4_UDP, 40, sum));
	tf_put16(g.b + V4_UDP + 38, fill);
	assert_int_equal(tf_csum(g.b + V4_UDP, 40, sum), 0);
	tf_put16(g.b + V4_UDP + 6, 0xFFFF);
	assert_int_equal(decode(&g), HB_ACCEPTED);
	/* Another port's bad checksum is the kernel's business, not counted. */
	struct frame o;
	MAKE(&o, 0, ETH, 0x08, 0x00, IP4(0x40, 0, 17), UDP_TO(53), HB_BYTES);
	o.b[V4_UDP + 20] ^= 1;
	assert_int_equal(decode(&o), HB_NOT_OUR_PORT);
	assert_true(hb_verdict_to_kernel(HB_NOT_OUR_PORT));
}

static void test_udp_checksum_ipv6(void **state)
{
	(void)state;
	struct frame f, z;
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(40, 17), UDP, HB_BYTES);
	MAKE(&z, 1, ETH, 0x86, 0xDD, IP6(40, 17), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_ACCEPTED);
	/* RFC 8200 §8.1: zero is no checksum, and IPv6 requires one; no NIC
	 * flag changes that. */
	assert_int_equal(decode(&z), HB_UDP_NO_CHECKSUM);
	assert_int_equal(decode_rx(&z, HB_RX_CSUM_VERIFIED, NULL), HB_UDP_NO_CHECKSUM);
	assert_int_equal(hb_verdict_route(HB_UDP_NO_CHECKSUM), HB_ROUTE_OURS);
	/* Both addresses are covered, every byte of them. */
	for (size_t at = V6_IP + 8; at < V6_IP + 40; at++) {
		struct frame g = f;
		g.b[at] ^= 0x80;
		if (decode(&g) != HB_UDP_CHECKSUM)
			fail_msg("address byte %zu changed: not udp_checksum", at - V6_IP);
	}
	struct frame g = f;
	g.b[V6_UDP + 8 + 30] ^= 0x01;   /* a MAC byte */
	assert_int_equal(decode(&g), HB_UDP_CHECKSUM);
	assert_int_equal(decode_rx(&g, HB_RX_L4_CSUM_GOOD, NULL), HB_ACCEPTED);
	/* The hop limit and flow label are not: no IPv6 header checksum. */
	g = f;
	g.b[V6_IP + 7] = 1;
	g.b[V6_IP + 3] = 0x42;
	assert_int_equal(decode(&g), HB_ACCEPTED);
}

/* ---- IPv4 options and fragments ---- */

static void test_ipv4_options(void **state)
{
	(void)state;
	/* IHL 15: 40 bytes of options (a record-route, then NOPs), skipped. */
	struct frame f;
	MAKE(&f, 0, ETH, 0x08, 0x00,
	     0x4F, 0x00, 0x00, 0x64, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
	     0x0A, 0, 0, 0x02, 0x0A, 0, 0, 0x01,
	     0x07, 0x27, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	     UDP, HB_BYTES);
	long off;
	assert_int_equal(decode_rx(&f, 0, &off), HB_ACCEPTED);
	assert_int_equal(off, 14 + 60 + 8);
	/* The options are inside the header checksum. */
	struct frame g = f;
	g.b[V4_IP + 40] ^= 0x01;
	assert_int_equal(decode(&g), HB_IP_CHECKSUM);
	prefixes_short(&f);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct frame f;
	/* MF, offset 0, UDP to our port: a first fragment of ours. */
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x20, 0x00, 17), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP_FRAGMENT);
	assert_int_equal(hb_verdict_route(HB_IP_FRAGMENT), HB_ROUTE_OURS);
	assert_false(hb_verdict_to_kernel(HB_IP_FRAGMENT));
	/* The same to another port, or of another protocol: the kernel's. */
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x20, 0x00, 17), UDP_TO(53), HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x20, 0x00, 1), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	assert_true(hb_verdict_to_kernel(HB_FRAGMENT_OTHER));
	/* Later fragments (offset != 0, MF or not) have no UDP header. */
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x20, 0x05, 17), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x00, 0x05, 17), UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	/* A first fragment too short to show the port: nobody can tell. */
	MAKE(&f, 0, ETH, 0x08, 0x00, 0x45, 0x00, 0x00, 0x17, 0x12, 0x34, 0x20, 0x00, 0x40, 0x11,
	     0x00, 0x00, 0x0A, 0, 0, 0x02, 0x0A, 0, 0, 0x01, 0xC3, 0x50, 0x1B);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	/* Behind a VLAN tag and with options, the same. */
	MAKE(&f, 0, ETH, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00,
	     0x46, 0x00, 0x00, 0x40, 0x12, 0x34, 0x20, 0x00, 0x40, 0x11, 0x00, 0x00,
	     0x0A, 0, 0, 0x02, 0x0A, 0, 0, 0x01, 0x01, 0x01, 0x01, 0x00, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP_FRAGMENT);
}

/* ---- IPv6 extension headers ---- */

static void test_ipv6_ext_headers_walked(void **state)
{
	(void)state;
	struct frame f;
	long off;
	/* Hop-by-hop with a router alert and padding. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 0),
	     17, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, UDP, HB_BYTES);
	assert_int_equal(decode_rx(&f, 0, &off), HB_ACCEPTED);
	assert_int_equal(off, 14 + 40 + 8 + 8);
	prefixes_short(&f);
	/* Destination options of 24 bytes (length 2). */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(64, 60),
	     17, 2, 0x01, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	     UDP, HB_BYTES);
	assert_int_equal(decode_rx(&f, 0, &off), HB_ACCEPTED);
	assert_int_equal(off, 14 + 40 + 24 + 8);
	/* Routing header with no segment left: we are its final destination. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(64, 43),
	     17, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	     UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_ACCEPTED);
	/* An atomic fragment (offset 0, M clear, RFC 6946) is a whole datagram. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 44), 17, 0, 0x00, 0x00, 1, 2, 3, 4, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_ACCEPTED);
	/* Four in a row (the limit), behind QinQ. */
	MAKE(&f, 0, ETH, 0x88, 0xA8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x86, 0xDD, IP6(72, 0),
	     60, 0, 1, 4, 0, 0, 0, 0,      /* hop-by-hop */
	     43, 0, 1, 4, 0, 0, 0, 0,      /* destination options */
	     44, 0, 4, 0, 0, 0, 0, 0,      /* routing, no segment left */
	     17, 0, 0, 0, 9, 9, 9, 9,      /* atomic fragment */
	     UDP, HB_BYTES);
	assert_int_equal(decode_rx(&f, 0, &off), HB_ACCEPTED);
	assert_int_equal(off, 22 + 40 + 32 + 8);
	prefixes_short(&f);
	/* The UDP checksum still covers the datagram behind the chain. */
	f.b[f.len - 1] ^= 1;
	assert_int_equal(decode(&f), HB_UDP_CHECKSUM);
}

static void test_ipv6_ext_headers_refused(void **state)
{
	(void)state;
	struct frame f;
	/* Five: more than we walk. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(80, 0),
	     60, 0, 1, 4, 0, 0, 0, 0,      /* hop-by-hop */
	     60, 0, 1, 4, 0, 0, 0, 0,      /* destination options */
	     43, 0, 1, 4, 0, 0, 0, 0,      /* destination options */
	     60, 0, 4, 0, 0, 0, 0, 0,      /* routing, no segment left */
	     17, 0, 1, 4, 0, 0, 0, 0,      /* destination options: the fifth */
	     UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP6_EXT_LIMIT);
	assert_int_equal(hb_verdict_route(HB_IP6_EXT_LIMIT), HB_ROUTE_BAD);
	/* Hop-by-hop anywhere but first. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(56, 60), 0, 0, 1, 4, 0, 0, 0, 0,
	     17, 0, 1, 4, 0, 0, 0, 0, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP_BAD);
	/* Segments left: routed through us, not to us. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(64, 43),
	     17, 2, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	     UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP6_ROUTED);
	assert_true(hb_verdict_to_kernel(HB_IP6_ROUTED));
	/* A header longer than the payload, or the payload ending inside one. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 60), 17, 9, 1, 4, 0, 0, 0, 0, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAME_SHORT);
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(4, 60), 17, 0, 1, 4, 0, 0, 0, 0, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAME_SHORT);
	/* ESP, AH, no next header: not UDP, the kernel's. */
	static const uint8_t other[] = {50, 51, 59, 58, 6};
	for (size_t i = 0; i < sizeof(other); i++) {
		MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 60), 17, 0, 1, 4, 0, 0, 0, 0, UDP, HB_BYTES);
		f.b[V6_IP + 40] = other[i];
		assert_int_equal(decode(&f), HB_NOT_UDP);
	}
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	struct frame f;
	/* First fragment (offset 0, M set) of UDP to our port: ours, refused. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 44), 17, 0, 0x00, 0x01, 1, 2, 3, 4, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP_FRAGMENT);
	/* To another port, a later fragment, the last fragment: the kernel's. */
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 44), 17, 0, 0x00, 0x01, 1, 2, 3, 4, UDP_TO(53),
	     HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 44), 17, 0, 0x00, 0x09, 1, 2, 3, 4, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(48, 44), 17, 0, 0x00, 0x08, 1, 2, 3, 4, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_FRAGMENT_OTHER);
	/* Behind a hop-by-hop header and a VLAN tag. */
	MAKE(&f, 0, ETH, 0x81, 0x00, 0x00, 0x05, 0x86, 0xDD, IP6(56, 0), 44, 0, 1, 4, 0, 0, 0, 0,
	     17, 0, 0x00, 0x01, 1, 2, 3, 4, UDP, HB_BYTES);
	assert_int_equal(decode(&f), HB_IP_FRAGMENT);
}

/* ---- routes ---- */

static void test_routes(void **state)
{
	(void)state;
	static const struct { enum hb_verdict v; enum hb_route r; } want[] = {
		{HB_ACCEPTED, HB_ROUTE_OURS},      {HB_FRAME_SHORT, HB_ROUTE_BAD},
		{HB_NOT_IP, HB_ROUTE_KERNEL},      {HB_IP_BAD, HB_ROUTE_BAD},
		{HB_IP_CHECKSUM, HB_ROUTE_BAD},    {HB_IP6_EXT_LIMIT, HB_ROUTE_BAD},
		{HB_IP6_ROUTED, HB_ROUTE_KERNEL},  {HB_FRAGMENT_OTHER, HB_ROUTE_KERNEL},
		{HB_NOT_UDP, HB_ROUTE_KERNEL},     {HB_NOT_OUR_PORT, HB_ROUTE_KERNEL},
		{HB_IP_FRAGMENT, HB_ROUTE_OURS},   {HB_BAD_LENGTH, HB_ROUTE_OURS},
		{HB_UDP_CHECKSUM, HB_ROUTE_OURS},  {HB_UDP_NO_CHECKSUM, HB_ROUTE_OURS},
		{HB_BAD_MAGIC, HB_ROUTE_OURS},     {HB_BAD_VERSION, HB_ROUTE_OURS},
		{HB_BAD_TYPE, HB_ROUTE_OURS},      {HB_BAD_FLAGS, HB_ROUTE_OURS},
		{HB_UNKNOWN_SLOT, HB_ROUTE_OURS},  {HB_ID_MISMATCH, HB_ROUTE_OURS},
		{HB_BAD_MAC, HB_ROUTE_OURS},       {HB_TOO_OLD, HB_ROUTE_OURS},
		{HB_TOO_NEW, HB_ROUTE_OURS},
	};
	assert_int_equal(sizeof(want) / sizeof(want[0]), HB_VERDICT_COUNT);
	unsigned kernel = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(want[i].v, (enum hb_verdict)i);
		if (hb_verdict_route(want[i].v) != want[i].r)
			fail_msg("%s routes to %s, want %s", hb_verdict_name(want[i].v),
				 hb_route_name(hb_verdict_route(want[i].v)), hb_route_name(want[i].r));
		/* The mask the worker routes by says the same as the table. */
		assert_int_equal(hb_verdict_to_kernel(want[i].v), want[i].r == HB_ROUTE_KERNEL);
		kernel += want[i].r == HB_ROUTE_KERNEL;
	}
	assert_int_equal(kernel, 5);
	assert_string_equal(hb_route_name(HB_ROUTE_KERNEL), "kernel");
	assert_int_equal(hb_verdict_route(HB_VERDICT_COUNT), HB_ROUTE_BAD);
	/* ARP, ND (ICMPv6), TCP to the HTTP port: the kernel's, as decoded. */
	struct frame f;
	MAKE(&f, 0, ETH, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1);
	assert_true(hb_verdict_to_kernel(decode(&f)));
	MAKE(&f, 0, ETH, 0x86, 0xDD, IP6(40, 58), UDP, HB_BYTES);
	assert_true(hb_verdict_to_kernel(decode(&f)));
	MAKE(&f, 0, ETH, 0x08, 0x00, IP4(0x40, 0, 6), 0xC3, 0x50, 0x1F, 0x90, 0, 0, 0, 0, HB_BYTES);
	assert_true(hb_verdict_to_kernel(decode(&f)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_header_checksum),
		cmocka_unit_test(test_udp_checksum_ipv4),
		cmocka_unit_test(test_udp_checksum_ipv6),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_headers_walked),
		cmocka_unit_test(test_ipv6_ext_headers_refused),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
