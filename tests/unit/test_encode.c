/*
 * The encoder and the endpoint's check (hb_encode.h). Proves: hb_encode
 * writes docs/protocol.md §1's bytes (checked against the layout written out
 * byte by byte, the MAC against libsodium over bytes 0..23) for every
 * type; what it writes the collector's decoder reads back field for field
 * and the workers' own SipHash verifies, for heartbeats and notify-acks,
 * while a notify is the collector's bad_type; hb_check_notify accepts a
 * notify for its own slot and id under its key inside [now - window,
 * now + skew] with any of the notify flags, refuses in the server's order
 * and with the server's verdict names every other length, magic, version,
 * type, flag, slot, id, key, MAC bit and time outside the window, and does
 * not wrap at the start of time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_encode.h"
#include "glournet/hb_siphash.h"

#define NOW  1795000000u
#define SLOT 0x11223344u
#define ID   0x99AABBCCDDEEF001ull

static const uint8_t key[HB_KEY_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static const struct hb_self self = {
	.slot = SLOT, .id = ID, .key = key, .now = NOW, .window = 300, .skew = 30,
};

static void test_layout(void **state)
{
	(void)state;
	static const uint8_t want[HB_MAC_COVERED] = {
		0x47, 0x4C, 0x48, 0x42,             /* magic "GLHB" */
		0x01,                               /* version 1 */
		0x03,                               /* type notify-ack */
		0x00, 0x14,                         /* flags SETTINGS | VERIFY */
		0x11, 0x22, 0x33, 0x44,             /* slot */
		0x55, 0x66, 0x77, 0x88,             /* time */
		0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01, /* id */
	};
	uint8_t p[HB_PAYLOAD_LEN], mac[HB_MAC_LEN];
	memset(p, 0xEE, sizeof(p));
	hb_encode(p, HB_TYPE_NOTIFY_ACK, HB_FLAG_SETTINGS | HB_FLAG_VERIFY, SLOT, 0x55667788u, ID,
		  key);
	assert_memory_equal(p, want, sizeof(want));
	crypto_shorthash_siphash24(mac, p, HB_MAC_COVERED, key);
	assert_memory_equal(p + HB_MAC_COVERED, mac, HB_MAC_LEN);
}

/* What an endpoint sends, the collector decodes and verifies. */
static void test_round_trip_to_collector(void **state)
{
	(void)state;
	static const struct { enum hb_type type; uint16_t flags; } ok[] = {
		{HB_TYPE_HEARTBEAT, 0}, {HB_TYPE_HEARTBEAT, HB_FLAG_BOOT},
		{HB_TYPE_HEARTBEAT, HB_FLAG_SHUTDOWN}, {HB_TYPE_HEARTBEAT, HB_FLAGS_HEARTBEAT},
		{HB_TYPE_NOTIFY_ACK, HB_FLAG_SETTINGS}, {HB_TYPE_NOTIFY_ACK, HB_FLAG_COMPONENTS},
		{HB_TYPE_NOTIFY_ACK, HB_FLAG_VERIFY}, {HB_TYPE_NOTIFY_ACK, HB_FLAGS_NOTIFY},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint8_t p[HB_PAYLOAD_LEN];
		struct hb_msg m;
		uint32_t t = NOW - (uint32_t)i;
		hb_encode(p, ok[i].type, ok[i].flags, SLOT + (uint32_t)i, t, ID ^ i, key);
		memset(&m, 0, sizeof(m));
		if (hb_decode_payload(p, &m) != HB_ACCEPTED)
			fail_msg("case %zu: the decoder refuses it", i);
		assert_int_equal(m.version, HB_VERSION);
		assert_int_equal(m.type, ok[i].type);
		assert_int_equal(m.flags, ok[i].flags);
		assert_int_equal(m.slot, SLOT + i);
		assert_int_equal(m.time, t);
		assert_int_equal(m.id, ID ^ i);
		assert_memory_equal(m.mac, p + HB_MAC_COVERED, HB_MAC_LEN);
		assert_true(hb_siphash_verify_hb(key, p));
	}
	/* A notify goes only from the collector: its decoder refuses one. */
	uint8_t p[HB_PAYLOAD_LEN];
	struct hb_msg m;
	hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, SLOT, NOW, ID, key);
	assert_int_equal(hb_decode_payload(p, &m), HB_BAD_TYPE);
}

/* hb_encode_mac after a change: the new bytes are under the MAC. */
static void test_encode_mac(void **state)
{
	(void)state;
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT, NOW, ID, key);
	p[7] = HB_FLAG_BOOT;
	assert_false(hb_siphash_verify_hb(key, p));
	hb_encode_mac(p, key);
	assert_true(hb_siphash_verify_hb(key, p));
}

static void test_notify_accepted(void **state)
{
	(void)state;
	for (uint16_t flags = 0; flags <= HB_FLAGS_NOTIFY; flags += HB_FLAG_SETTINGS) {
		static const uint32_t times[] = {NOW, NOW - 300, NOW + 30, NOW - 1, NOW + 1};
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			uint8_t p[HB_PAYLOAD_LEN];
			struct hb_msg m;
			memset(&m, 0, sizeof(m));
			hb_encode(p, HB_TYPE_NOTIFY, flags, SLOT, times[i], ID, key);
			enum hb_verdict v = hb_check_notify(p, sizeof(p), &self, &m);
			if (v != HB_ACCEPTED)
				fail_msg("flags 0x%x, time now%+lld: %s", flags,
					 (long long)times[i] - NOW, hb_verdict_name(v));
			assert_int_equal(m.type, HB_TYPE_NOTIFY);
			assert_int_equal(m.flags, flags);
			assert_int_equal(m.slot, SLOT);
			assert_int_equal(m.id, ID);
			assert_int_equal(m.time, times[i]);
		}
	}
}

enum change { C_LEN_SHORT, C_LEN_LONG, C_MAGIC, C_VERSION, C_TYPE_HB, C_TYPE_ACK, C_TYPE_9,
	      C_FLAG_SHUTDOWN, C_FLAG_BIT5, C_FLAG_HIGH, C_SLOT, C_ID, C_KEY, C_OLD, C_NEW,
	      C_COUNT };

static void test_notify_refused(void **state)
{
	(void)state;
	static const enum hb_verdict want[C_COUNT] = {
		[C_LEN_SHORT] = HB_BAD_LENGTH, [C_LEN_LONG] = HB_BAD_LENGTH,
		[C_MAGIC] = HB_BAD_MAGIC, [C_VERSION] = HB_BAD_VERSION,
		[C_TYPE_HB] = HB_BAD_TYPE, [C_TYPE_ACK] = HB_BAD_TYPE, [C_TYPE_9] = HB_BAD_TYPE,
		[C_FLAG_SHUTDOWN] = HB_BAD_FLAGS, [C_FLAG_BIT5] = HB_BAD_FLAGS,
		[C_FLAG_HIGH] = HB_BAD_FLAGS, [C_SLOT] = HB_UNKNOWN_SLOT, [C_ID] = HB_ID_MISMATCH,
		[C_KEY] = HB_BAD_MAC, [C_OLD] = HB_TOO_OLD, [C_NEW] = HB_TOO_NEW,
	};
	uint8_t other_key[HB_KEY_LEN];
	memcpy(other_key, key, sizeof(other_key));
	other_key[15] ^= 1;
	for (int c = 0; c < C_COUNT; c++) {
		uint8_t p[HB_PAYLOAD_LEN + 1];
		size_t len = HB_PAYLOAD_LEN;
		enum hb_type type = HB_TYPE_NOTIFY;
		uint16_t flags = HB_FLAG_SETTINGS;
		uint32_t slot = SLOT, t = NOW;
		uint64_t id = ID;
		const uint8_t *k = key;
		switch ((enum change)c) {
		case C_LEN_SHORT: len--; break;
		case C_LEN_LONG: len++; break;
		case C_TYPE_HB: type = HB_TYPE_HEARTBEAT; break;
		case C_TYPE_ACK: type = HB_TYPE_NOTIFY_ACK; break;
		case C_TYPE_9: type = (enum hb_type)9; break;
		case C_FLAG_SHUTDOWN: flags |= HB_FLAG_SHUTDOWN; break;
		case C_FLAG_BIT5: flags |= 1u << 5; break;
		case C_FLAG_HIGH: flags |= 0x8000; break;
		case C_SLOT: slot++; break;
		case C_ID: id ^= 1ull << 63; break;
		case C_KEY: k = other_key; break;
		case C_OLD: t = NOW - 301; break;
		case C_NEW: t = NOW + 31; break;
		default: break;
		}
		hb_encode(p, type, flags, slot, t, id, k);
		p[HB_PAYLOAD_LEN] = 0;
		if (c == C_MAGIC)
			p[3] ^= 0x01;
		if (c == C_VERSION)
			p[4] = 2;
		if (c == C_MAGIC || c == C_VERSION)
			hb_encode_mac(p, key);   /* refused for the field, not the MAC */
		struct hb_msg m;
		enum hb_verdict v = hb_check_notify(p, len, &self, &m);
		if (v != want[c])
			fail_msg("change %d: %s, want %s", c, hb_verdict_name(v),
				 hb_verdict_name(want[c]));
	}
}

/* Any bit changed after the MAC was computed: refused, by the check of
 * the field it falls in, or by the MAC where the field alone is fine. */
static enum hb_verdict flipped_want(unsigned byte, uint16_t flags)
{
	if (byte < 4)
		return HB_BAD_MAGIC;
	if (byte == 4)
		return HB_BAD_VERSION;
	if (byte == 5)
		return HB_BAD_TYPE;
	if (byte < 8)
		return flags & ~HB_FLAGS_NOTIFY ? HB_BAD_FLAGS : HB_BAD_MAC;
	if (byte < 12)
		return HB_UNKNOWN_SLOT;
	if (byte >= 16 && byte < 24)
		return HB_ID_MISMATCH;
	return HB_BAD_MAC;                   /* time, MAC */
}

static void test_notify_every_bit(void **state)
{
	(void)state;
	for (unsigned bit = 0; bit < 8 * HB_PAYLOAD_LEN; bit++) {
		uint8_t p[HB_PAYLOAD_LEN];
		struct hb_msg m;
		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_COMPONENTS, SLOT, NOW, ID, key);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum hb_verdict v = hb_check_notify(p, sizeof(p), &self, &m);
		enum hb_verdict want = flipped_want(bit / 8, hb_be16(p + 6));
		if (v != want)
			fail_msg("bit %u flipped: %s, want %s", bit, hb_verdict_name(v),
				 hb_verdict_name(want));
	}
}

/* Near the start of time the window does not wrap below 0. */
static void test_notify_window_no_wrap(void **state)
{
	(void)state;
	struct hb_self early = self;
	early.now = 100;
	uint8_t p[HB_PAYLOAD_LEN];
	struct hb_msg m;
	hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, SLOT, 0, ID, key);
	assert_int_equal(hb_check_notify(p, sizeof(p), &early, &m), HB_ACCEPTED);
	hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, SLOT, UINT32_MAX, ID, key);
	assert_int_equal(hb_check_notify(p, sizeof(p), &early, &m), HB_TOO_NEW);
	early.now = UINT32_MAX;
	assert_int_equal(hb_check_notify(p, sizeof(p), &early, &m), HB_ACCEPTED);
	hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, SLOT, 0, ID, key);
	assert_int_equal(hb_check_notify(p, sizeof(p), &early, &m), HB_TOO_OLD);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_round_trip_to_collector),
		cmocka_unit_test(test_encode_mac),
		cmocka_unit_test(test_notify_accepted),
		cmocka_unit_test(test_notify_refused),
		cmocka_unit_test(test_notify_every_bit),
		cmocka_unit_test(test_notify_window_no_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
