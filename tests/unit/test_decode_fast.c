/*
 * The decoder's fast paths against their references (hb_decode.h): the
 * inline hb_decode_frame must give the verdict and payload of the general
 * walk hb_decode_frame_slow for every input, so this holds them side by
 * side on every truncation, every single-byte change (several values per
 * byte) and every length field pushed to its edges, of each frame shape
 * (untagged IPv4 with and without a UDP checksum, IPv4 with options, IPv6,
 * 802.1Q, QinQ, IPv6 extension-header chains, IPv4 and IPv6 first
 * fragments), under every state the NIC's checksum flags can be in, each
 * buffer ending at a PROT_NONE page so that an overread faults. The word-load
 * hb_decode_payload is held against a byte-by-byte decoder written here
 * from docs/protocol.md §1, on the valid heartbeat, every single-byte change of
 * it and random payloads biased towards valid heads.
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

#define HB_BYTES                                                         \
	0x47, 0x4C, 0x48, 0x42, 0x01, 0x01, 0x00, 0x02,                  \
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,                  \
	0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01,                  \
	0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8
#define ETH_ADDRS 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  0x02, 0x00, 0x00, 0x00, 0x00, 0x02
#define IPV4_HDR                                                         \
	0x45, 0x00, 0x00, 0x3C, 0x12, 0x34, 0x40, 0x00,                  \
	0x40, 0x11, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x02, 0x0A, 0x00, 0x00, 0x01
#define IPV6_HDR                                                         \
	0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x11, 0x40,                  \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,   \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define UDP_HDR 0xC3, 0x50, 0x1B, 0xBC, 0x00, 0x28, 0x00, 0x00

/* Templates; their checksums are filled in by fix_templates (frame_csum.h). */
static uint8_t frame_v4[] = { ETH_ADDRS, 0x08, 0x00, IPV4_HDR, UDP_HDR, HB_BYTES };
static uint8_t frame_v4_nocsum[] = { ETH_ADDRS, 0x08, 0x00, IPV4_HDR, UDP_HDR, HB_BYTES };
static uint8_t frame_v6[] = { ETH_ADDRS, 0x86, 0xDD, IPV6_HDR, UDP_HDR, HB_BYTES };
static uint8_t frame_vlan[] = { ETH_ADDRS, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
				IPV4_HDR, UDP_HDR, HB_BYTES };
static uint8_t frame_qinq[] = { ETH_ADDRS, 0x88, 0xA8, 0x00, 0xC8, 0x81, 0x00, 0x00, 0x64,
				0x86, 0xDD, IPV6_HDR, UDP_HDR, HB_BYTES };
static uint8_t frame_v4_opts[] = {
	ETH_ADDRS, 0x08, 0x00,
	0x46, 0x00, 0x00, 0x40, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	0x0A, 0x00, 0x00, 0x02, 0x0A, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00,
	UDP_HDR, HB_BYTES,
};
/* MF set, offset 0: the first fragment of a datagram to our port. */
static uint8_t frame_v4_frag[] = {
	ETH_ADDRS, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x3C, 0x12, 0x34, 0x20, 0x00, 0x40, 0x11, 0x00, 0x00,
	0x0A, 0x00, 0x00, 0x02, 0x0A, 0x00, 0x00, 0x01,
	UDP_HDR, HB_BYTES,
};
#define IPV6_HDR_NH(plen, nh)                                            \
	0x60, 0x00, 0x00, 0x00, 0x00, (plen), (nh), 0x40,                \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,   \
	0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
/* Hop-by-hop (PadN), then UDP. */
static uint8_t frame_v6_hbh[] = {
	ETH_ADDRS, 0x86, 0xDD, IPV6_HDR_NH(48, 0),
	0x11, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
	UDP_HDR, HB_BYTES,
};
/* Destination options (16 bytes), a routing header with no segment left,
 * an atomic fragment, then UDP: three extension headers walked. */
static uint8_t frame_v6_chain[] = {
	ETH_ADDRS, 0x86, 0xDD, IPV6_HDR_NH(72, 60),
	43, 0x01, 0x01, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	44, 0x00, 0x04, 0x00, 0, 0, 0, 0,
	0x11, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
	UDP_HDR, HB_BYTES,
};
/* A first IPv6 fragment (M set) of a datagram to our port, behind QinQ. */
static uint8_t frame_v6_frag[] = {
	ETH_ADDRS, 0x88, 0xA8, 0x00, 0xC8, 0x81, 0x00, 0x00, 0x64,
	0x86, 0xDD, IPV6_HDR_NH(48, 44),
	0x11, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
	UDP_HDR, HB_BYTES,
};
static const uint8_t payload[HB_PAYLOAD_LEN] = { HB_BYTES };

static const struct { uint8_t *f; size_t len; const char *name; } frames[] = {
	{frame_v4, sizeof(frame_v4), "ipv4"},
	{frame_v4_nocsum, sizeof(frame_v4_nocsum), "ipv4, no UDP checksum"},
	{frame_v6, sizeof(frame_v6), "ipv6"},
	{frame_vlan, sizeof(frame_vlan), "vlan"},
	{frame_qinq, sizeof(frame_qinq), "qinq"},
	{frame_v4_opts, sizeof(frame_v4_opts), "ipv4-options"},
	{frame_v4_frag, sizeof(frame_v4_frag), "ipv4-first-fragment"},
	{frame_v6_hbh, sizeof(frame_v6_hbh), "ipv6-hop-by-hop"},
	{frame_v6_chain, sizeof(frame_v6_chain), "ipv6-three-ext"},
	{frame_v6_frag, sizeof(frame_v6_frag), "ipv6-first-fragment"},
};
#define NFRAMES (sizeof(frames) / sizeof(frames[0]))
#define NACCEPTED 8   /* all but the two fragments */

#include "frame_csum.h"

static void fix_templates(void)
{
	for (size_t i = 0; i < NFRAMES; i++)
		tf_fix(frames[i].f, frames[i].len, frames[i].f == frame_v4_nocsum);
}

/* What the NIC may have said: nothing, all good, each alone, bad, none. */
static const uint32_t rx_cases[] = {
	0, HB_RX_CSUM_VERIFIED, HB_RX_IP_CSUM_GOOD, HB_RX_L4_CSUM_GOOD,
	HB_RX_IP_CSUM_BAD | HB_RX_L4_CSUM_BAD,
	HB_RX_IP_CSUM_GOOD | HB_RX_IP_CSUM_BAD | HB_RX_L4_CSUM_GOOD | HB_RX_L4_CSUM_BAD,
};
#define NRX (sizeof(rx_cases) / sizeof(rx_cases[0]))

#include "guard_page.h"

static unsigned agreed, accepted;

/* Both decoders over `len` bytes of `src`, ending at the guard page. */
static void agree(const uint8_t *src, size_t len, uint16_t port, const char *what, size_t at)
{
	assert_true(len <= (size_t)page);
	uint8_t *buf = guard_area + page - len;
	memcpy(buf, src, len);
	for (size_t r = 0; r < NRX; r++) {
		uint32_t rx = rx_cases[r];
		const uint8_t *fast_pl = NULL, *slow_pl = NULL;
		enum hb_verdict fast = hb_decode_frame_rx(buf, (uint32_t)len, port, rx, &fast_pl);
		enum hb_verdict slow = hb_decode_frame_slow(buf, (uint32_t)len, port, rx, &slow_pl);
		if (fast != slow)
			fail_msg("%s (%zu bytes, change at %zu, rx 0x%x): fast path says %s, "
				 "general walk %s", what, len, at, rx, hb_verdict_name(fast),
				 hb_verdict_name(slow));
		if (fast == HB_ACCEPTED) {
			if (fast_pl != slow_pl)
				fail_msg("%s (%zu bytes, change at %zu, rx 0x%x): payload at %td, "
					 "general walk %td", what, len, at, rx, fast_pl - buf,
					 slow_pl - buf);
			assert_true(fast_pl >= buf && fast_pl + HB_PAYLOAD_LEN <= buf + len);
			if (rx == 0)
				accepted++;
		}
		agreed++;
	}
}

static void test_frames_accepted_at_same_payload(void **state)
{
	(void)state;
	accepted = 0;
	for (size_t i = 0; i < NFRAMES; i++) {
		agree(frames[i].f, frames[i].len, PORT, frames[i].name, 0);
		/* Trailing bytes (Ethernet padding) change nothing. */
		uint8_t big[256] = {0};
		memcpy(big, frames[i].f, frames[i].len);
		agree(big, frames[i].len + 20, PORT, frames[i].name, 0);
	}
	/* A test that accepts nothing proves nothing: every template but the
	 * fragments is a heartbeat, checksums checked in software. */
	assert_int_equal(accepted, 2 * NACCEPTED);
}

static void test_every_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < NFRAMES; i++)
		for (size_t n = 0; n <= frames[i].len; n++)
			agree(frames[i].f, n, PORT, frames[i].name, n);
}

/* Every byte of every frame set to values that hit each header check
 * (and each of the wrong ports), at full length and truncated by 1. */
static void test_every_byte_change(void **state)
{
	(void)state;
	static const uint8_t vals[] = {0x00, 0x01, 0x06, 0x08, 0x11, 0x1B, 0x20, 0x28, 0x2C, 0x3C,
				       0x40, 0x44, 0x45, 0x46, 0x4F, 0x60, 0x65, 0x7F, 0x80, 0x81,
				       0x86, 0x88, 0xA8, 0xBC, 0xDD, 0xFF};
	agreed = accepted = 0;
	for (size_t i = 0; i < NFRAMES; i++) {
		uint8_t f[256];
		for (size_t at = 0; at < frames[i].len; at++) {
			for (size_t k = 0; k < sizeof(vals); k++) {
				memcpy(f, frames[i].f, frames[i].len);
				f[at] = vals[k];
				agree(f, frames[i].len, PORT, frames[i].name, at);
				agree(f, frames[i].len - 1, PORT, frames[i].name, at);
				agree(f, frames[i].len, 7101, frames[i].name, at);
			}
		}
	}
	/* Changes outside the checked fields keep a frame accepted. */
	assert_true(accepted > 1000);
	assert_true(agreed > accepted);
}

/* Each 16-bit length field set to every value around the edges that
 * matter, on every frame, at full length and with trailing bytes. */
static void test_length_fields_at_edges(void **state)
{
	(void)state;
	struct { const uint8_t *f; size_t len; size_t fields[3]; } c[] = {
		{frame_v4, sizeof(frame_v4), {16, 38, 0}},        /* IP total, UDP length */
		{frame_v6, sizeof(frame_v6), {18, 58, 0}},        /* IP payload, UDP length */
		{frame_vlan, sizeof(frame_vlan), {20, 42, 0}},
		{frame_v4_nocsum, sizeof(frame_v4_nocsum), {16, 38, 0}},
		{frame_v6_chain, sizeof(frame_v6_chain), {18, 90, 0}},  /* + the UDP length */
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (size_t j = 0; j < 3 && c[i].fields[j]; j++) {
			for (unsigned v = 0; v <= 130; v++) {
				uint8_t f[256] = {0};
				memcpy(f, c[i].f, c[i].len);
				f[c[i].fields[j]] = (uint8_t)(v >> 8);
				f[c[i].fields[j] + 1] = (uint8_t)v;
				agree(f, c[i].len, PORT, "length field", c[i].fields[j]);
				agree(f, c[i].len + 40, PORT, "length field, trailing bytes",
				      c[i].fields[j]);
			}
			uint8_t f[256] = {0};
			memcpy(f, c[i].f, c[i].len);
			f[c[i].fields[j]] = 0xFF;
			f[c[i].fields[j] + 1] = 0xFF;
			agree(f, c[i].len, PORT, "length field 65535", c[i].fields[j]);
		}
	}
}

/* ---- payload: the word loads against a byte-by-byte decoder ---- */

static enum hb_verdict ref_payload(const uint8_t *p, struct hb_msg *m)
{
	uint32_t magic = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (magic != HB_MAGIC)
		return HB_BAD_MAGIC;
	if (p[4] != HB_VERSION)
		return HB_BAD_VERSION;
	uint16_t allowed;
	if (p[5] == HB_TYPE_HEARTBEAT)
		allowed = HB_FLAG_SHUTDOWN | HB_FLAG_BOOT;
	else if (p[5] == HB_TYPE_NOTIFY_ACK)
		allowed = HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS | HB_FLAG_VERIFY;
	else
		return HB_BAD_TYPE;
	uint16_t flags = (uint16_t)(p[6] << 8 | p[7]);
	if (flags & ~allowed)
		return HB_BAD_FLAGS;
	m->version = p[4];
	m->type = p[5];
	m->flags = flags;
	m->slot = m->time = 0;
	m->id = 0;
	for (int i = 0; i < 4; i++) {
		m->slot = m->slot << 8 | p[8 + i];
		m->time = m->time << 8 | p[12 + i];
	}
	for (int i = 0; i < 8; i++) {
		m->id = m->id << 8 | p[16 + i];
		m->mac[i] = p[24 + i];
	}
	return HB_ACCEPTED;
}

static void payload_agrees(const uint8_t *p)
{
	struct hb_msg want, got;
	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	enum hb_verdict rv = ref_payload(p, &want);
	/* From an exact copy ending at the guard page: no read past 32 bytes. */
	uint8_t *buf = guard_area + page - HB_PAYLOAD_LEN;
	memcpy(buf, p, HB_PAYLOAD_LEN);
	enum hb_verdict v = hb_decode_payload(buf, &got);
	assert_int_equal(v, rv);
	if (v != HB_ACCEPTED)
		return;
	assert_int_equal(got.version, want.version);
	assert_int_equal(got.type, want.type);
	assert_int_equal(got.flags, want.flags);
	assert_int_equal(got.slot, want.slot);
	assert_int_equal(got.time, want.time);
	assert_true(got.id == want.id);
	assert_memory_equal(got.mac, want.mac, HB_MAC_LEN);
}

static void test_payload_fields(void **state)
{
	(void)state;
	struct hb_msg m;
	assert_int_equal(hb_decode_payload(payload, &m), HB_ACCEPTED);
	assert_int_equal(m.slot, 0x11223344);
	assert_int_equal(m.time, 0x55667788);
	assert_true(m.id == 0x99AABBCCDDEEF001ull);
	assert_int_equal(m.flags, HB_FLAG_BOOT);
	payload_agrees(payload);
}

static void test_payload_every_byte_change(void **state)
{
	(void)state;
	uint8_t p[HB_PAYLOAD_LEN];
	for (size_t at = 0; at < HB_PAYLOAD_LEN; at++)
		for (unsigned v = 0; v < 256; v++) {
			memcpy(p, payload, sizeof(p));
			p[at] = (uint8_t)v;
			payload_agrees(p);
		}
}

static void test_payload_random(void **state)
{
	(void)state;
	srand(6);
	uint8_t p[HB_PAYLOAD_LEN];
	for (int n = 0; n < 200000; n++) {
		for (size_t i = 0; i < sizeof(p); i++)
			p[i] = (uint8_t)rand();
		if (n & 1)   /* half with a valid head, so the flag and field checks run */
			memcpy(p, payload, 5 + (size_t)(n & 2));
		if (n & 4)
			p[6] = 0;
		payload_agrees(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_accepted_at_same_payload),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_every_byte_change),
		cmocka_unit_test(test_length_fields_at_edges),
		cmocka_unit_test(test_payload_fields),
		cmocka_unit_test(test_payload_every_byte_change),
		cmocka_unit_test(test_payload_random),
	};
	fix_templates();
	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
