/*
 * The protocol MAC (docs/protocol.md: SipHash-2-4, 8 output bytes, as the
 * reference implementation produces them). Proves, against the official
 * known-answer table of the reference implementation (veorq/SipHash,
 * vectors.h, vectors_sip64: key 00..0f, message 00..len-1), that
 * hb_mac_compute is that function byte for byte, that hb_mac_equal and
 * hb_mac_verify reject every single-bit change, and that hb_auth_message
 * lays out context | id BE | time BE in 18 bytes; and that the hot path's
 * own 24-byte SipHash (hb_siphash.h) gives the reference vector for 24
 * bytes and libsodium's answer on random keys and messages, and that its
 * heartbeat check refuses every single-bit change of key, message or MAC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "glournet/hb_mac.h"
#include "glournet/hb_siphash.h"
#include "support/tu_rand.h"

/* veorq/SipHash vectors.h, vectors_sip64[len], copied verbatim. */
static const uint8_t sip64[64][8] = {
	{0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72},
	{0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
	{0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d},
	{0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
	{0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf},
	{0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
	{0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb},
	{0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
	{0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93},
	{0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
	{0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a},
	{0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
	{0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75},
	{0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14},
	{0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7},
	{0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
	{0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f},
	{0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69},
	{0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b},
	{0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb},
	{0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe},
	{0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0},
	{0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93},
	{0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8},
	{0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8},
	{0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc},
	{0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17},
	{0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f},
	{0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde},
	{0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6},
	{0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad},
	{0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32},
	{0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71},
	{0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7},
	{0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12},
	{0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15},
	{0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31},
	{0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02},
	{0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca},
	{0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a},
	{0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e},
	{0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad},
	{0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18},
	{0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4},
	{0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9},
	{0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9},
	{0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb},
	{0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0},
	{0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6},
	{0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7},
	{0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee},
	{0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1},
	{0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a},
	{0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81},
	{0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f},
	{0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24},
	{0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7},
	{0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea},
	{0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60},
	{0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66},
	{0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c},
	{0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f},
	{0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5},
	{0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95},
};

static uint8_t ref_key[HB_KEY_LEN];
static uint8_t ref_msg[64];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < HB_KEY_LEN; i++)
		ref_key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		ref_msg[i] = (uint8_t)i;
	return 0;
}

/* All 64 reference vectors, message lengths 0..63. */
static void test_reference_vectors(void **state)
{
	(void)state;
	for (size_t len = 0; len < 64; len++) {
		uint8_t out[HB_MAC_LEN];
		memset(out, 0xAA, sizeof(out));
		hb_mac_compute(ref_key, ref_msg, len, out);
		if (memcmp(out, sip64[len], HB_MAC_LEN) != 0)
			fail_msg("SipHash-2-4 vector for length %zu differs", len);
	}
}

/* The vector printed in the SipHash paper (appendix A): 15-byte message,
 * output 0xa129ca6149be45e5 as a little-endian 64-bit word. */
static void test_paper_vector(void **state)
{
	(void)state;
	uint8_t out[HB_MAC_LEN];
	hb_mac_compute(ref_key, ref_msg, 15, out);
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	assert_int_equal(v, 0xa129ca6149be45e5ull);
}

/* The key is used as given: a different key, a different MAC. */
static void test_key_matters(void **state)
{
	(void)state;
	uint8_t key[HB_KEY_LEN], out[HB_MAC_LEN];
	memcpy(key, ref_key, sizeof(key));
	key[15] ^= 0x80;
	hb_mac_compute(key, ref_msg, 8, out);
	assert_memory_not_equal(out, sip64[8], HB_MAC_LEN);
}

static void test_mac_equal(void **state)
{
	(void)state;
	uint8_t a[HB_MAC_LEN], b[HB_MAC_LEN];
	memcpy(a, sip64[7], HB_MAC_LEN);
	memcpy(b, a, HB_MAC_LEN);
	assert_true(hb_mac_equal(a, b));
	/* Every one of the 64 bits matters, the first byte as much as the last. */
	for (int bit = 0; bit < 64; bit++) {
		memcpy(b, a, HB_MAC_LEN);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (hb_mac_equal(a, b))
			fail_msg("hb_mac_equal ignores bit %d", bit);
	}
	uint8_t zero[HB_MAC_LEN] = {0};
	assert_false(hb_mac_equal(a, zero));
	assert_true(hb_mac_equal(zero, zero));
}

static void test_mac_verify(void **state)
{
	(void)state;
	uint8_t mac[HB_MAC_LEN];
	/* A MAC from the reference table verifies... */
	assert_true(hb_mac_verify(ref_key, ref_msg, 24, sip64[24]));
	/* ...but not for another length, another message or another key. */
	assert_false(hb_mac_verify(ref_key, ref_msg, 23, sip64[24]));
	uint8_t msg[24];
	memcpy(msg, ref_msg, sizeof(msg));
	msg[23] ^= 1;
	assert_false(hb_mac_verify(ref_key, msg, sizeof(msg), sip64[24]));
	uint8_t key[HB_KEY_LEN];
	memcpy(key, ref_key, sizeof(key));
	key[0] ^= 1;
	assert_false(hb_mac_verify(key, ref_msg, 24, sip64[24]));
	/* Any one flipped MAC bit fails. */
	for (int bit = 0; bit < 64; bit++) {
		memcpy(mac, sip64[24], HB_MAC_LEN);
		mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (hb_mac_verify(ref_key, ref_msg, 24, mac))
			fail_msg("hb_mac_verify accepts a MAC with bit %d flipped", bit);
	}
}

static void test_auth_message_layout(void **state)
{
	(void)state;
	uint8_t out[HB_AUTH_MSG_LEN + 2];
	memset(out, 0xEE, sizeof(out));
	hb_auth_message(out, HB_AUTH_POLL, 0x0102030405060708ull, 0x9A0B0C0Du);
	static const uint8_t want[HB_AUTH_MSG_LEN] = {
		'G', 'L', 'P', 'O', 'L', 'L',
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x9A, 0x0B, 0x0C, 0x0D,
	};
	assert_int_equal(HB_AUTH_MSG_LEN, 18);
	assert_memory_equal(out, want, HB_AUTH_MSG_LEN);
	/* It writes 18 bytes and not one more. */
	assert_int_equal(out[18], 0xEE);
	assert_int_equal(out[19], 0xEE);

	hb_auth_message(out, HB_AUTH_REGISTER, 0xFFEEDDCCBBAA9988ull, 1);
	static const uint8_t want2[HB_AUTH_MSG_LEN] = {
		'G', 'L', 'R', 'G', 'S', 'T',
		0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88,
		0x00, 0x00, 0x00, 0x01,
	};
	assert_memory_equal(out, want2, HB_AUTH_MSG_LEN);

	hb_auth_message(out, HB_AUTH_EVENT, 0, 0);
	assert_memory_equal(out, "GLEVNT", 6);
}

/* The MAC over an auth message is the SipHash of exactly those 18 bytes. */
static void test_auth_message_mac(void **state)
{
	(void)state;
	uint8_t msg[HB_AUTH_MSG_LEN], a[HB_MAC_LEN], b[HB_MAC_LEN];
	hb_auth_message(msg, HB_AUTH_POLL, 0x1122334455667788ull, 1795000000u);
	hb_mac_compute(ref_key, msg, sizeof(msg), a);
	assert_true(hb_mac_verify(ref_key, msg, sizeof(msg), a));
	/* Another context gives another MAC: poll proofs are not register proofs. */
	hb_auth_message(msg, HB_AUTH_REGISTER, 0x1122334455667788ull, 1795000000u);
	hb_mac_compute(ref_key, msg, sizeof(msg), b);
	assert_false(hb_mac_equal(a, b));
}

/* ---- hb_siphash.h: the hot path's own SipHash over 24 bytes ---- */

static void test_siphash24_reference_vector(void **state)
{
	(void)state;
	uint64_t h = hb_siphash24_24(ref_key, ref_msg);
	uint8_t out[HB_MAC_LEN];
	for (int i = 0; i < HB_MAC_LEN; i++)
		out[i] = (uint8_t)(h >> (8 * i));   /* SipHash's output is little-endian */
	assert_memory_equal(out, sip64[24], HB_MAC_LEN);
}

/* Deterministic bytes, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rnd8(void) { return (uint8_t)(tu_rand(&rng_state) >> 24); }

static void test_siphash24_against_libsodium(void **state)
{
	(void)state;
	for (int n = 0; n < 100000; n++) {
		uint8_t key[HB_KEY_LEN], p[HB_PAYLOAD_LEN];
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = rnd8();
		for (size_t i = 0; i < sizeof(p); i++)
			p[i] = rnd8();
		uint8_t want[HB_MAC_LEN];
		crypto_shorthash_siphash24(want, p, HB_MAC_COVERED, key);
		uint64_t h = hb_siphash24_24(key, p);
		if (memcmp(&h, want, HB_MAC_LEN) != 0)
			fail_msg("hb_siphash24_24 differs from libsodium at sample %d", n);
		assert_false(hb_siphash_verify_hb(key, p) && memcmp(p + 24, want, 8) != 0);
		memcpy(p + HB_MAC_COVERED, want, HB_MAC_LEN);
		assert_true(hb_siphash_verify_hb(key, p));
	}
}

static void test_siphash_verify_every_bit(void **state)
{
	(void)state;
	uint8_t key[HB_KEY_LEN], p[HB_PAYLOAD_LEN];
	memcpy(key, ref_key, sizeof(key));
	memcpy(p, ref_msg, HB_MAC_COVERED);
	memcpy(p + HB_MAC_COVERED, sip64[24], HB_MAC_LEN);
	assert_true(hb_siphash_verify_hb(key, p));
	for (int bit = 0; bit < 8 * HB_PAYLOAD_LEN; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (hb_siphash_verify_hb(key, p))
			fail_msg("accepted with payload bit %d flipped", bit);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (int bit = 0; bit < 8 * HB_KEY_LEN; bit++) {
		key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (hb_siphash_verify_hb(key, p))
			fail_msg("accepted with key bit %d flipped", bit);
		key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_paper_vector),
		cmocka_unit_test(test_key_matters),
		cmocka_unit_test(test_mac_equal),
		cmocka_unit_test(test_mac_verify),
		cmocka_unit_test(test_auth_message_layout),
		cmocka_unit_test(test_auth_message_mac),
		cmocka_unit_test(test_siphash24_reference_vector),
		cmocka_unit_test(test_siphash24_against_libsodium),
		cmocka_unit_test(test_siphash_verify_every_bit),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
