/*
 * Frame and payload decoding (docs/protocol.md §1, hb_decode.h). Proves, on
 * frames written out byte by byte, that hb_decode_frame finds the 32
 * heartbeat bytes behind Ethernet (untagged, 802.1Q, QinQ), IPv4 (with and
 * without options) and IPv6, and that every way a frame can fail ends in
 * its own specific verdict; that hb_decode_payload converts each field
 * from big-endian at its documented offset and rejects bad magic, version,
 * type and flags: a heartbeat (type 1) carries only SHUTDOWN and BOOT, a
 * notify-ack (type 3) only SETTINGS, COMPONENTS and VERIFY, a notify
 * (type 2, server to endpoint only) and undefined types are bad_type; that
 * no truncation of a valid frame is accepted or read past its end (each
 * prefix ends at a PROT_NONE page, so an overread faults); and that every
 * verdict has a distinct name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "glournet/hb_decode.h"

#define PORT 7100

/* The heartbeat used throughout: every field a distinct byte pattern. */
#define HB_BYTES                                                         \
	0x47, 0x4C, 0x48, 0x42,             /* magic "GLHB" */           \
	0x01,                               /* version 1 */              \
	0x01,                               /* type heartbeat */         \
	0x00, 0x02,                         /* flags BOOT */             \
	0x11, 0x22, 0x33, 0x44,             /* slot 0x11223344 */        \
	0x55, 0x66, 0x77, 0x88,             /* time 0x55667788 */        \
	0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01, /* id */         \
	0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8  /* mac */

#define ETH_ADDRS 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  0x02, 0x00, 0x00, 0x00, 0x00, 0x02

#define IPV4_HDR                                                         \
	0x45, 0x00, 0x00, 0x3C,             /* v4, IHL 5, total 60 */    \
	0x12, 0x34, 0x40, 0x00,             /* id, DF, offset 0 */       \
	0x40, 0x11, 0x14, 0x7B,             /* TTL 64, UDP, checksum */  \
	0x0A, 0x00, 0x00, 0x02,             /* 10.0.0.2 */               \
	0x0A, 0x00, 0x00, 0x01              /* 10.0.0.1 */

#define UDP_HDR                                                          \
	0xC3, 0x50, 0x1B, 0xBC,             /* 50000 -> 7100 */          \
	0x00, 0x28, 0x00, 0x00              /* length 40, no checksum (IPv4) */

/* Over IPv6 a UDP checksum is required: this one is right for HB_BYTES
 * from 2001:db8::5 to 2001:db8::1. */
#define UDP_HDR6                                                         \
	0xC3, 0x50, 0x1B, 0xBC,                                          \
	0x00, 0x28, 0x6D, 0x34

static const uint8_t frame_v4[] = {
	ETH_ADDRS, 0x08, 0x00,
	IPV4_HDR,
	UDP_HDR,
	HB_BYTES,
};
#define V4_IP   14
#define V4_UDP  34
#define V4_PL   42

static const uint8_t frame_v6[] = {
	ETH_ADDRS, 0x86, 0xDD,
	0x60, 0x00, 0x00, 0x00,             /* v6, class, flow */
	0x00, 0x28, 0x11, 0x40,             /* payload 40, next UDP, hops 64 */
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, /* 2001:db8::5 */
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* 2001:db8::1 */
	UDP_HDR6,
	HB_BYTES,
};
#define V6_IP   14
#define V6_UDP  54
#define V6_PL   62

static const uint8_t frame_vlan[] = {
	ETH_ADDRS, 0x81, 0x00, 0x00, 0x64,  /* 802.1Q, VLAN 100 */
	0x08, 0x00,
	IPV4_HDR,
	UDP_HDR,
	HB_BYTES,
};
#define VLAN_PL 46

static const uint8_t frame_qinq[] = {
	ETH_ADDRS, 0x88, 0xA8, 0x00, 0xC8,  /* S-tag, VLAN 200 */
	0x81, 0x00, 0x00, 0x64,             /* C-tag, VLAN 100 */
	0x86, 0xDD,
	0x60, 0x00, 0x00, 0x00,
	0x00, 0x28, 0x11, 0x40,
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	UDP_HDR6,
	HB_BYTES,
};
#define QINQ_PL 70

/* IPv4 with one option word (IHL 6, total 64): the UDP header moves by 4. */
static const uint8_t frame_v4_opts[] = {
	ETH_ADDRS, 0x08, 0x00,
	0x46, 0x00, 0x00, 0x40,
	0x12, 0x34, 0x00, 0x00,
	0x40, 0x11, 0x51, 0x76,
	0x0A, 0x00, 0x00, 0x02,
	0x0A, 0x00, 0x00, 0x01,
	0x01, 0x01, 0x01, 0x00,             /* NOP NOP NOP EOL */
	UDP_HDR,
	HB_BYTES,
};
#define V4OPT_PL 46

static const uint8_t payload[HB_PAYLOAD_LEN] = { HB_BYTES };

/*
 * The buffer a frame is decoded from ends exactly at an inaccessible page:
 * any read past `len` faults, under any allocator (glournet links jemalloc,
 * whose malloc valgrind does not track by default) and without valgrind.
 */
#include "guard_page.h"

/*
 * Decodes `len` bytes of `src` from a copy that ends at the guard page (and
 * is also checked under valgrind/ASan as an exactly-sized heap block).
 * Returns the verdict; on acceptance *pl_off is the payload's offset.
 */
static enum hb_verdict decode_exact(const uint8_t *src, size_t len, uint16_t port, long *pl_off)
{
	assert_true(len <= (size_t)page);
	uint8_t *buf = guard_area + page - len;
	memcpy(buf, src, len);
	uint8_t *heap = malloc(len ? len : 1);
	assert_non_null(heap);
	memcpy(heap, src, len);
	const uint8_t *hpl = NULL;
	enum hb_verdict hv = hb_decode_frame(heap, (uint32_t)len, port, &hpl);
	free(heap);
	const uint8_t *pl = NULL;
	enum hb_verdict v = hb_decode_frame(buf, (uint32_t)len, port, &pl);
	if (pl_off)
		*pl_off = -1;
	if (v == HB_ACCEPTED) {
		assert_non_null(pl);
		assert_true(pl >= buf && pl + HB_PAYLOAD_LEN <= buf + len);
		if (pl_off)
			*pl_off = pl - buf;
		/* Read it in place, inside the exact block. */
		struct hb_msg m;
		assert_int_equal(hb_decode_payload(pl, &m), HB_ACCEPTED);
	}
	assert_int_equal(hv, v);
	/* A NIC that verified the checksums changes nothing for a frame whose
	 * checksums are right (every frame here but the checksum tests'). */
	enum hb_verdict nv = hb_decode_frame_rx(buf, (uint32_t)len, port, HB_RX_CSUM_VERIFIED, &pl);
	if (v != HB_IP_CHECKSUM && v != HB_UDP_CHECKSUM)
		assert_int_equal(nv, v);
	return v;
}

/* A mutable copy of a template frame. */
#define COPY(dst, src) uint8_t dst[sizeof(src)]; memcpy(dst, src, sizeof(src))

/* After changing an IPv4 header: its checksum made right again, so that
 * the verdict is about the change, not the checksum. */
static void fix4(uint8_t *ip)
{
	uint32_t sum = 0;
	ip[10] = ip[11] = 0;
	for (unsigned i = 0; i < (unsigned)(ip[0] & 0x0F) * 4; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	hb_put16(ip + 10, (uint16_t)~sum);
}

/* ---- valid frames ---- */

static void test_ipv4(void **state)
{
	(void)state;
	long off;
	assert_int_equal(sizeof(frame_v4), 74);
	assert_int_equal(decode_exact(frame_v4, sizeof(frame_v4), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, V4_PL);
	/* The pointer is into the caller's buffer, not a copy. */
	const uint8_t *pl = NULL;
	assert_int_equal(hb_decode_frame(frame_v4, sizeof(frame_v4), PORT, &pl), HB_ACCEPTED);
	assert_ptr_equal(pl, frame_v4 + V4_PL);
}

static void test_ipv4_options(void **state)
{
	(void)state;
	long off;
	assert_int_equal(decode_exact(frame_v4_opts, sizeof(frame_v4_opts), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, V4OPT_PL);
}

static void test_ipv6(void **state)
{
	(void)state;
	long off;
	assert_int_equal(sizeof(frame_v6), 94);
	assert_int_equal(decode_exact(frame_v6, sizeof(frame_v6), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, V6_PL);
}

static void test_vlan(void **state)
{
	(void)state;
	long off;
	assert_int_equal(decode_exact(frame_vlan, sizeof(frame_vlan), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, VLAN_PL);
}

static void test_qinq(void **state)
{
	(void)state;
	long off;
	assert_int_equal(decode_exact(frame_qinq, sizeof(frame_qinq), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, QINQ_PL);
	/* Two 802.1Q tags (no S-tag ethertype) are QinQ too. */
	COPY(f, frame_qinq);
	f[12] = 0x81; f[13] = 0x00;
	assert_int_equal(decode_exact(f, sizeof(f), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, QINQ_PL);
}

/* A third tag is beyond what the decoder walks: not IP, never misparsed. */
static void test_three_tags(void **state)
{
	(void)state;
	static const uint8_t f[] = {
		ETH_ADDRS, 0x88, 0xA8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x81, 0x00, 0x00, 0x03,
		0x08, 0x00, IPV4_HDR, UDP_HDR, HB_BYTES,
	};
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_IP);
}

/* Ethernet padding / trailing bytes after the IP datagram are ignored. */
static void test_trailing_bytes(void **state)
{
	(void)state;
	uint8_t f[sizeof(frame_v4) + 6];
	memcpy(f, frame_v4, sizeof(frame_v4));
	memset(f + sizeof(frame_v4), 0xFF, 6);
	long off;
	assert_int_equal(decode_exact(f, sizeof(f), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, V4_PL);
	uint8_t g[sizeof(frame_v6) + 6];
	memcpy(g, frame_v6, sizeof(frame_v6));
	memset(g + sizeof(frame_v6), 0xFF, 6);
	assert_int_equal(decode_exact(g, sizeof(g), PORT, &off), HB_ACCEPTED);
	assert_int_equal(off, V6_PL);
}

/* ---- payload fields ---- */

static void test_payload_fields(void **state)
{
	(void)state;
	struct hb_msg m;
	memset(&m, 0, sizeof(m));
	assert_int_equal(hb_decode_payload(payload, &m), HB_ACCEPTED);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.type, HB_TYPE_HEARTBEAT);
	assert_int_equal(m.flags, HB_FLAG_BOOT);
	assert_int_equal(m.slot, 0x11223344u);
	assert_int_equal(m.time, 0x55667788u);
	assert_int_equal(m.id, 0x99AABBCCDDEEF001ull);
	static const uint8_t mac[8] = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8};
	assert_memory_equal(m.mac, mac, 8);
}

/* The same through the frame path, from the payload pointer it returns. */
static void test_payload_from_frame(void **state)
{
	(void)state;
	const uint8_t *pl = NULL;
	struct hb_msg m;
	assert_int_equal(hb_decode_frame(frame_qinq, sizeof(frame_qinq), PORT, &pl), HB_ACCEPTED);
	assert_int_equal(hb_decode_payload(pl, &m), HB_ACCEPTED);
	assert_int_equal(m.slot, 0x11223344u);
	assert_int_equal(m.time, 0x55667788u);
	assert_int_equal(m.id, 0x99AABBCCDDEEF001ull);
}

static void test_payload_bad_magic(void **state)
{
	(void)state;
	struct hb_msg m;
	for (int i = 0; i < 4; i++) {
		COPY(p, payload);
		p[i] ^= 0x01;
		assert_int_equal(hb_decode_payload(p, &m), HB_BAD_MAGIC);
	}
	COPY(p, payload);
	p[0] = 0x42; p[1] = 0x48; p[2] = 0x4C; p[3] = 0x47;   /* byte-swapped */
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_MAGIC);
}

static void test_payload_bad_version(void **state)
{
	(void)state;
	struct hb_msg m;
	COPY(p, payload);
	p[4] = 2;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_VERSION);
	p[4] = 0;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_VERSION);
}

static void test_payload_bad_type(void **state)
{
	(void)state;
	struct hb_msg m;
	COPY(p, payload);
	/* A notify only ever goes from the server to an endpoint: bad_type
	 * whatever its flags (its own, none, or reserved ones). */
	p[5] = HB_TYPE_NOTIFY;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	hb_put16(p + 6, HB_FLAG_SETTINGS);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	hb_put16(p + 6, 0);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	hb_put16(p + 6, 0x8000);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	hb_put16(p + 6, HB_FLAG_BOOT);
	/* Types the protocol does not define. */
	p[5] = 0;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	p[5] = 4;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
	p[5] = 0xFF;
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
}

/*
 * Type 3 (notify-ack, docs/protocol.md §2): the endpoint echoes the flags of the
 * notify it answers, SETTINGS, COMPONENTS and VERIFY (bits 2..4), in any
 * combination. Every other bit is bad_flags, the heartbeat's SHUTDOWN and
 * BOOT included.
 */
static void test_payload_notify_ack(void **state)
{
	(void)state;
	struct hb_msg m;
	COPY(p, payload);
	p[5] = HB_TYPE_NOTIFY_ACK;
	static const uint16_t notify_flags[] = {HB_FLAG_SETTINGS, HB_FLAG_COMPONENTS,
						HB_FLAG_VERIFY};
	for (unsigned combo = 1; combo < 8; combo++) {
		uint16_t flags = 0;
		for (unsigned b = 0; b < 3; b++)
			if (combo & (1u << b))
				flags |= notify_flags[b];
		hb_put16(p + 6, flags);
		memset(&m, 0, sizeof(m));
		if (hb_decode_payload(p, &m) != HB_ACCEPTED)
			fail_msg("notify-ack with flags 0x%04x refused", flags);
		assert_int_equal(m.type, HB_TYPE_NOTIFY_ACK);
		assert_int_equal(m.flags, flags);
		/* The other fields decode as in a heartbeat. */
		assert_int_equal(m.version, 1);
		assert_int_equal(m.slot, 0x11223344u);
		assert_int_equal(m.time, 0x55667788u);
		assert_int_equal(m.id, 0x99AABBCCDDEEF001ull);
		static const uint8_t mac[8] = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8};
		assert_memory_equal(m.mac, mac, 8);
	}
	/* Any other bit, alone or beside a valid one. */
	for (int bit = 0; bit < 16; bit++) {
		if (bit >= 2 && bit <= 4)
			continue;
		hb_put16(p + 6, (uint16_t)(1u << bit));
		if (hb_decode_payload(p, &m) != HB_BAD_FLAGS)
			fail_msg("notify-ack flag bit %d not rejected", bit);
		hb_put16(p + 6, (uint16_t)(HB_FLAG_SETTINGS | 1u << bit));
		if (hb_decode_payload(p, &m) != HB_BAD_FLAGS)
			fail_msg("notify-ack flag bit %d with SETTINGS not rejected", bit);
	}
	hb_put16(p + 6, HB_FLAG_SHUTDOWN | HB_FLAG_BOOT);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_FLAGS);
	hb_put16(p + 6, 0xFFFF);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_FLAGS);
	/* Through the frame path: the frame decoder does not look at the type. */
	COPY(f, frame_v4);
	f[V4_PL + 5] = HB_TYPE_NOTIFY_ACK;
	hb_put16(f + V4_PL + 6, HB_FLAG_VERIFY);
	const uint8_t *pl = NULL;
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_ACCEPTED);
	assert_int_equal(hb_decode_frame(f, sizeof(f), PORT, &pl), HB_ACCEPTED);
	assert_int_equal(hb_decode_payload(pl, &m), HB_ACCEPTED);
	assert_int_equal(m.type, HB_TYPE_NOTIFY_ACK);
	assert_int_equal(m.flags, HB_FLAG_VERIFY);
	/* The template's BOOT flag in a notify-ack: refused. */
	hb_put16(f + V4_PL + 6, HB_FLAG_BOOT);
	assert_int_equal(hb_decode_frame(f, sizeof(f), PORT, &pl), HB_ACCEPTED);
	assert_int_equal(hb_decode_payload(pl, &m), HB_BAD_FLAGS);
}

static void test_payload_flags(void **state)
{
	(void)state;
	struct hb_msg m;
	COPY(p, payload);
	/* Every bit but SHUTDOWN and BOOT is refused in a heartbeat (type 1):
	 * the reserved ones and the notify-only ones (2..4), which a
	 * notify-ack may carry. */
	for (int bit = 2; bit < 16; bit++) {
		hb_put16(p + 6, (uint16_t)(1u << bit));
		if (hb_decode_payload(p, &m) != HB_BAD_FLAGS)
			fail_msg("flag bit %d not rejected", bit);
		hb_put16(p + 6, (uint16_t)(HB_FLAG_BOOT | 1u << bit));
		if (hb_decode_payload(p, &m) != HB_BAD_FLAGS)
			fail_msg("flag bit %d with BOOT not rejected", bit);
	}
	hb_put16(p + 6, HB_FLAG_SHUTDOWN | HB_FLAG_BOOT);
	assert_int_equal(hb_decode_payload(p, &m), HB_ACCEPTED);
	assert_int_equal(m.flags, HB_FLAG_SHUTDOWN | HB_FLAG_BOOT);
	hb_put16(p + 6, HB_FLAG_SHUTDOWN);
	assert_int_equal(hb_decode_payload(p, &m), HB_ACCEPTED);
	assert_int_equal(m.flags, HB_FLAG_SHUTDOWN);
	hb_put16(p + 6, 0);
	assert_int_equal(hb_decode_payload(p, &m), HB_ACCEPTED);
	assert_int_equal(m.flags, 0);
}

/* ---- negative frames ---- */

static void test_short_ethernet(void **state)
{
	(void)state;
	for (size_t len = 0; len < 14; len++)
		assert_int_equal(decode_exact(frame_v4, len, PORT, NULL), HB_FRAME_SHORT);
}

static void test_not_ip(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[12] = 0x08; f[13] = 0x06;              /* ARP */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_IP);
	f[12] = 0x88; f[13] = 0xCC;              /* LLDP */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_IP);
	/* ARP behind a VLAN tag. */
	COPY(g, frame_vlan);
	g[16] = 0x08; g[17] = 0x06;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_NOT_IP);
	/* A 14-byte ARP stub: not IP, read no further. */
	f[12] = 0x08; f[13] = 0x06;
	assert_int_equal(decode_exact(f, 14, PORT, NULL), HB_NOT_IP);
}

static void test_ipv4_bad_version(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_IP] = 0x55;                         /* version 5 */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_IP_BAD);
	f[V4_IP] = 0x65;                         /* version 6 in a v4 ethertype */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_IP_BAD);
	/* And the other way round: version 4 behind the IPv6 ethertype. */
	COPY(g, frame_v6);
	g[V6_IP] = 0x40;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_IP_BAD);
}

static void test_ipv4_bad_ihl(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		f[V4_IP] = (uint8_t)(0x40 | ihl);
		assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_IP_BAD);
	}
	/* Total length shorter than the header itself. */
	COPY(g, frame_v4);
	g[V4_IP + 2] = 0x00; g[V4_IP + 3] = 0x13;   /* 19 */
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_IP_BAD);
}

static void test_ipv4_total_beyond_frame(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_IP + 3] = 0x3D;                     /* total 61 in a 60-byte datagram */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_FRAME_SHORT);
	f[V4_IP + 2] = 0xFF; f[V4_IP + 3] = 0xFF;
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_FRAME_SHORT);
	COPY(g, frame_v6);
	g[V6_IP + 5] = 0x29;                     /* payload 41 of 40 */
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_FRAME_SHORT);
}

static void test_ipv4_fragment(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_IP + 6] = 0x20; f[V4_IP + 7] = 0x00;   /* MF, offset 0: first fragment */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_IP_FRAGMENT);
	/* A later fragment has no UDP header to tell whose it is: the
	 * kernel's (issue #11 splits "ours" from "the kernel's"). */
	f[V4_IP + 6] = 0x00; f[V4_IP + 7] = 0x01;   /* offset 8 bytes: a later fragment */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_FRAGMENT_OTHER);
	f[V4_IP + 6] = 0x1F; f[V4_IP + 7] = 0xFF;   /* largest offset */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_FRAGMENT_OTHER);
	f[V4_IP + 6] = 0x40; f[V4_IP + 7] = 0x00;   /* DF alone is not a fragment */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_ACCEPTED);
}

static void test_not_udp(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_IP + 9] = 6;                        /* TCP */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_UDP);
	f[V4_IP + 9] = 1;                        /* ICMP */
	fix4(f + V4_IP);
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_UDP);

	/* IPv6 with a hop-by-hop header (next header 0) in front of the UDP:
	 * walked since issue #11 (test_decode_l3.c has the chains). */
	static const uint8_t hbh[] = {
		ETH_ADDRS, 0x86, 0xDD,
		0x60, 0x00, 0x00, 0x00,
		0x00, 0x30, 0x00, 0x40,             /* payload 48, next hop-by-hop */
		0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
		0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x11, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* next UDP, PadN */
		UDP_HDR6,
		HB_BYTES,
	};
	assert_int_equal(decode_exact(hbh, sizeof(hbh), PORT, NULL), HB_ACCEPTED);
	/* Next header 44 makes the UDP header a fragment header: offset
	 * 0x1BB8, a later fragment, the kernel's. Then TCP. */
	COPY(g, frame_v6);
	g[V6_IP + 6] = 44;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_FRAGMENT_OTHER);
	g[V6_IP + 6] = 6;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_NOT_UDP);
}

static void test_not_our_port(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_UDP + 3] = 0xBD;                    /* to 7101 */
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_NOT_OUR_PORT);
	/* From 7100 to elsewhere: it is the destination that counts. */
	COPY(g, frame_v4);
	g[V4_UDP + 0] = 0x1B; g[V4_UDP + 1] = 0xBC;
	g[V4_UDP + 2] = 0x00; g[V4_UDP + 3] = 0x35;   /* to 53 */
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_NOT_OUR_PORT);
	/* The configured port is honoured (host order in, network order on the wire). */
	assert_int_equal(decode_exact(frame_v4, sizeof(frame_v4), 7101, NULL), HB_NOT_OUR_PORT);
	assert_int_equal(decode_exact(frame_v4, sizeof(frame_v4), 0xBC1B, NULL), HB_NOT_OUR_PORT);
	assert_int_equal(decode_exact(frame_v6, sizeof(frame_v6), 7101, NULL), HB_NOT_OUR_PORT);
	assert_int_equal(decode_exact(f, sizeof(f), 7101, NULL), HB_ACCEPTED);
}

static void test_bad_udp_length(void **state)
{
	(void)state;
	/* 31-byte payload: UDP length 39, IP total 59, frame 73, all consistent. */
	COPY(f, frame_v4);
	f[V4_IP + 3] = 59;
	fix4(f + V4_IP);
	f[V4_UDP + 5] = 39;
	assert_int_equal(decode_exact(f, sizeof(f) - 1, PORT, NULL), HB_BAD_LENGTH);
	/* 33-byte payload: UDP length 41, IP total 61, frame 75. */
	uint8_t g[sizeof(frame_v4) + 1];
	memcpy(g, frame_v4, sizeof(frame_v4));
	g[sizeof(frame_v4)] = 0x00;
	g[V4_IP + 3] = 61;
	fix4(g + V4_IP);
	g[V4_UDP + 5] = 41;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_BAD_LENGTH);
	/* The same over IPv6. */
	COPY(h, frame_v6);
	h[V6_IP + 5] = 39;
	h[V6_UDP + 5] = 39;
	assert_int_equal(decode_exact(h, sizeof(h) - 1, PORT, NULL), HB_BAD_LENGTH);
	uint8_t k[sizeof(frame_v6) + 1];
	memcpy(k, frame_v6, sizeof(frame_v6));
	k[sizeof(frame_v6)] = 0x00;
	k[V6_IP + 5] = 41;
	k[V6_UDP + 5] = 41;
	assert_int_equal(decode_exact(k, sizeof(k), PORT, NULL), HB_BAD_LENGTH);
	/* A UDP length under its own header. */
	COPY(z, frame_v4);
	z[V4_UDP + 5] = 0;
	assert_int_equal(decode_exact(z, sizeof(z), PORT, NULL), HB_BAD_LENGTH);
}

static void test_udp_beyond_ip(void **state)
{
	(void)state;
	/* UDP says 41 bytes, IP carries 40 of them (frame has more behind). */
	uint8_t f[sizeof(frame_v4) + 4];
	memcpy(f, frame_v4, sizeof(frame_v4));
	memset(f + sizeof(frame_v4), 0, 4);
	f[V4_UDP + 5] = 41;
	assert_int_equal(decode_exact(f, sizeof(f), PORT, NULL), HB_FRAME_SHORT);
	uint8_t g[sizeof(frame_v6) + 4];
	memcpy(g, frame_v6, sizeof(frame_v6));
	memset(g + sizeof(frame_v6), 0, 4);
	g[V6_UDP + 5] = 41;
	assert_int_equal(decode_exact(g, sizeof(g), PORT, NULL), HB_FRAME_SHORT);
	/* IP payload too short for a UDP header at all. */
	COPY(h, frame_v4);
	h[V4_IP + 3] = 27;                       /* 20 + 7 */
	fix4(h + V4_IP);
	assert_int_equal(decode_exact(h, sizeof(h), PORT, NULL), HB_FRAME_SHORT);
}

/* Payload-level faults inside an otherwise good frame: the frame decoder
 * hands the bytes on, the payload decoder names the fault. */
static void test_frame_then_payload(void **state)
{
	(void)state;
	static const struct { size_t off; uint8_t val; enum hb_verdict want; } cases[] = {
		{V4_PL + 0, 0x00, HB_BAD_MAGIC},
		{V4_PL + 4, 0x02, HB_BAD_VERSION},
		{V4_PL + 5, 0x02, HB_BAD_TYPE},
		{V4_PL + 5, 0x00, HB_BAD_TYPE},
		{V4_PL + 5, 0x04, HB_BAD_TYPE},
		{V4_PL + 5, 0x03, HB_BAD_FLAGS},        /* notify-ack with the template's BOOT */
		{V4_PL + 6, 0x80, HB_BAD_FLAGS},
		{V4_PL + 7, 0x20, HB_BAD_FLAGS},
		{V4_PL + 7, 0x03, HB_ACCEPTED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		COPY(f, frame_v4);
		f[cases[i].off] = cases[i].val;
		const uint8_t *pl = NULL;
		struct hb_msg m;
		assert_int_equal(hb_decode_frame(f, sizeof(f), PORT, &pl), HB_ACCEPTED);
		assert_ptr_equal(pl, f + V4_PL);
		assert_int_equal(hb_decode_payload(pl, &m), cases[i].want);
	}
}

/* ---- truncation ---- */

static void truncations(const uint8_t *f, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		enum hb_verdict v = decode_exact(f, n, PORT, NULL);
		if (v == HB_ACCEPTED)
			fail_msg("a %zu-byte prefix of a %zu-byte frame was accepted", n, len);
		if (v != HB_FRAME_SHORT)
			fail_msg("a %zu-byte prefix gives %s, want frame_short", n, hb_verdict_name(v));
	}
	assert_int_equal(decode_exact(f, len, PORT, NULL), HB_ACCEPTED);
}

static void test_truncation_v4(void **state) { (void)state; truncations(frame_v4, sizeof(frame_v4)); }
static void test_truncation_v6(void **state) { (void)state; truncations(frame_v6, sizeof(frame_v6)); }
static void test_truncation_vlan(void **state) { (void)state; truncations(frame_vlan, sizeof(frame_vlan)); }
static void test_truncation_qinq(void **state) { (void)state; truncations(frame_qinq, sizeof(frame_qinq)); }

/*
 * Lying length fields on a truncated buffer: whatever the headers claim,
 * the decoder stays inside `len`. Every prefix of every frame with the IP
 * and UDP length fields set to their maximum.
 */
static void test_truncation_lying_lengths(void **state)
{
	(void)state;
	COPY(f, frame_v4);
	f[V4_IP + 2] = 0xFF; f[V4_IP + 3] = 0xFF;
	f[V4_UDP + 4] = 0xFF; f[V4_UDP + 5] = 0xFF;
	for (size_t n = 0; n <= sizeof(f); n++)
		assert_int_not_equal(decode_exact(f, n, PORT, NULL), HB_ACCEPTED);
	COPY(g, frame_v6);
	g[V6_IP + 4] = 0xFF; g[V6_IP + 5] = 0xFF;
	g[V6_UDP + 4] = 0xFF; g[V6_UDP + 5] = 0xFF;
	for (size_t n = 0; n <= sizeof(g); n++)
		assert_int_not_equal(decode_exact(g, n, PORT, NULL), HB_ACCEPTED);
	COPY(h, frame_v4);
	h[V4_IP] = 0x4F;                         /* IHL 60 bytes */
	for (size_t n = 0; n <= sizeof(h); n++)
		assert_int_not_equal(decode_exact(h, n, PORT, NULL), HB_ACCEPTED);
}

/* ---- verdict names ---- */

static void test_verdict_names(void **state)
{
	(void)state;
	for (int i = 0; i < HB_VERDICT_COUNT; i++) {
		const char *a = hb_verdict_name((enum hb_verdict)i);
		assert_non_null(a);
		assert_true(a[0] != '\0');
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			if (strcmp(a, hb_verdict_name((enum hb_verdict)j)) == 0)
				fail_msg("verdicts %d and %d are both named '%s'", j, i, a);
	}
	assert_int_equal(HB_VERDICT_COUNT, 23);
	assert_string_equal(hb_verdict_name(HB_ACCEPTED), "accepted");
	assert_string_equal(hb_verdict_name(HB_FRAME_SHORT), "frame_short");
	assert_string_equal(hb_verdict_name(HB_BAD_MAC), "bad_mac");
	assert_string_equal(hb_verdict_name(HB_TOO_NEW), "too_new");
	assert_string_equal(hb_verdict_name(HB_VERDICT_COUNT), "unknown");
	assert_string_equal(hb_verdict_name((enum hb_verdict)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_three_tags),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_payload_fields),
		cmocka_unit_test(test_payload_from_frame),
		cmocka_unit_test(test_payload_bad_magic),
		cmocka_unit_test(test_payload_bad_version),
		cmocka_unit_test(test_payload_bad_type),
		cmocka_unit_test(test_payload_notify_ack),
		cmocka_unit_test(test_payload_flags),
		cmocka_unit_test(test_short_ethernet),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_ipv4_bad_version),
		cmocka_unit_test(test_ipv4_bad_ihl),
		cmocka_unit_test(test_ipv4_total_beyond_frame),
		cmocka_unit_test(test_ipv4_fragment),
		cmocka_unit_test(test_not_udp),
		cmocka_unit_test(test_not_our_port),
		cmocka_unit_test(test_bad_udp_length),
		cmocka_unit_test(test_udp_beyond_ip),
		cmocka_unit_test(test_frame_then_payload),
		cmocka_unit_test(test_truncation_v4),
		cmocka_unit_test(test_truncation_v6),
		cmocka_unit_test(test_truncation_vlan),
		cmocka_unit_test(test_truncation_qinq),
		cmocka_unit_test(test_truncation_lying_lengths),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
