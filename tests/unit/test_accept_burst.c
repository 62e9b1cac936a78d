/*
 * hb_accept_burst (hb_accept.h), the worker's whole-burst check, against
 * hb_accept_msg, the per-heartbeat check it must equal: on random bursts
 * (lengths 1..100, so bursts longer than HB_ACCEPT_BURST_MAX go in slices)
 * mixing good heartbeats and notify-acks with every way a payload fails
 * (bad magic, version, type, flags, an unassigned slot, a slot past the
 * table, another endpoint's id, a forged MAC, too old, too new) and
 * frames already refused by the frame decoder, every verdict, every
 * decoded message and every stored timestamp is the same, for each MAC
 * variant this CPU runs. Also: a burst of forged heartbeats stores nothing
 * (the MAC comes before the store), and a slot heard twice in one burst
 * keeps the newer time, as one after the other would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#include "support/tu_rand.h"

#define NOW    1795000000u
#define WINDOW 300u
#define SKEW   30u
#define NSLOTS 200u          /* slots 0..199 reserved; every 5th left unassigned */
#define MAXB   100u

static struct slot_table t;
static const struct hb_window win = {.now = NOW, .window = WINDOW, .skew = SKEW};

static uint64_t rng = 0x13198A2E03707344ull;
static uint64_t rnd(void) { return tu_rand(&rng); }

static uint64_t id_of(uint32_t slot) { return 0x5100000000000000ull + slot * 7919ull + 1; }
static void key_of(uint32_t slot, uint8_t key[HB_KEY_LEN])
{
	for (int i = 0; i < HB_KEY_LEN; i++)
		key[i] = (uint8_t)(slot * 31 + i * 17 + 3);
}

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	if (slot_table_init(&t, 2, 4 * SLOT_CHUNK_SLOTS) < 0 || slot_table_reserve(&t, NSLOTS - 1) < 0)
		return -1;
	for (uint32_t s = 0; s < NSLOTS; s++) {
		if (s % 5 == 4)
			continue;
		uint8_t key[HB_KEY_LEN];
		key_of(s, key);
		slot_table_assign(&t, s, id_of(s), key);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	slot_table_destroy(&t);
	rcu_unregister_thread();
	return 0;
}

enum kind { K_GOOD, K_ACK, K_SHUTDOWN, K_MAGIC, K_VERSION, K_TYPE, K_FLAGS, K_FREE_SLOT,
	    K_FAR_SLOT, K_OTHER_ID, K_FORGED, K_OLD, K_NEW, K_FRAME_BAD, K_KINDS };

/* A payload of the given kind, MAC'd (by libsodium) as an agent would. */
static void make(uint8_t p[HB_PAYLOAD_LEN], enum kind k)
{
	uint32_t slot = (uint32_t)(rnd() % NSLOTS);
	if (slot % 5 == 4)
		slot--;                              /* an assigned one */
	uint32_t time = NOW - (uint32_t)(rnd() % WINDOW);
	enum hb_type type = HB_TYPE_HEARTBEAT;
	uint16_t flags = rnd() % 2 ? HB_FLAG_BOOT : 0;
	uint64_t id = id_of(slot);
	switch (k) {
	case K_ACK: type = HB_TYPE_NOTIFY_ACK; flags = HB_FLAG_SETTINGS; break;
	case K_SHUTDOWN: flags = HB_FLAG_SHUTDOWN; break;
	case K_FREE_SLOT: slot = (slot / 5) * 5 + 4; break;
	case K_FAR_SLOT: slot = 3 * SLOT_CHUNK_SLOTS + 9; break;
	case K_OTHER_ID: id = id_of(slot + 1); break;
	case K_OLD: time = NOW - WINDOW - 1 - (uint32_t)(rnd() % 1000); break;
	case K_NEW: time = NOW + SKEW + 1 + (uint32_t)(rnd() % 1000); break;
	default: break;
	}
	uint8_t key[HB_KEY_LEN];
	key_of(slot, key);
	hb_encode(p, type, flags, slot, time, id, key);
	switch (k) {
	case K_MAGIC: p[1] ^= 0x20; break;
	case K_VERSION: p[4] = 2; break;
	case K_TYPE: p[5] = HB_TYPE_NOTIFY; break;
	case K_FLAGS: p[7] |= 0x80; break;
	case K_FORGED: p[rnd() % HB_PAYLOAD_LEN] ^= (uint8_t)(1u << (rnd() % 8)); break;
	default: break;
	}
}

static void compare_seen(void)
{
	const struct slot_dir *d = rcu_dereference(t.dir);
	for (uint32_t s = 0; s < NSLOTS; s++)
		if (*slot_dir_seen(d, s, 0) != *slot_dir_seen(d, s, 1))
			fail_msg("slot %u: one by one stored %u, the burst %u", s,
				 *slot_dir_seen(d, s, 0), *slot_dir_seen(d, s, 1));
}

static void reset_seen(void)
{
	for (uint32_t s = 0; s < NSLOTS; s++) {
		*slot_dir_seen(t.dir, s, 0) = 0;
		*slot_dir_seen(t.dir, s, 1) = 0;
	}
}

static unsigned seen_kind[HB_VERDICT_COUNT];

static void run_bursts(void)
{
	static uint8_t pls[MAXB][HB_PAYLOAD_LEN];
	const uint8_t *pl[MAXB];
	enum hb_verdict want[MAXB], got[MAXB];
	struct hb_msg want_msg[MAXB], got_msg[MAXB];
	const struct slot_dir *d = rcu_dereference(t.dir);
	for (int round = 0; round < 400; round++) {
		unsigned n = 1 + (unsigned)(rnd() % MAXB);
		for (unsigned i = 0; i < n; i++) {
			/* Mostly good ones, so that the MAC lanes fill up. */
			enum kind k = rnd() % 2 ? K_GOOD : (enum kind)(rnd() % K_KINDS);
			make(pls[i], k);
			pl[i] = pls[i];
			got[i] = k == K_FRAME_BAD ? HB_NOT_OUR_PORT : HB_ACCEPTED;
			if (k == K_FRAME_BAD)
				pl[i] = NULL;   /* the frame decoder gave no payload */
		}
		/* One by one, worker 0: the reference. */
		for (unsigned i = 0; i < n; i++) {
			memset(&want_msg[i], 0, sizeof(want_msg[i]));
			want[i] = got[i] != HB_ACCEPTED
				? got[i] : hb_accept_msg(d, 0, pl[i], &win, &want_msg[i]);
		}
		/* The burst, worker 1. */
		memset(got_msg, 0, sizeof(got_msg));
		hb_accept_burst(d, 1, pl, got, got_msg, n, &win);
		for (unsigned i = 0; i < n; i++) {
			if (got[i] != want[i])
				fail_msg("%s: burst of %u, #%u: %s, one by one %s",
					 hb_mac_impl_name(hb_mac_burst_impl()), n, i,
					 hb_verdict_name(got[i]), hb_verdict_name(want[i]));
			seen_kind[got[i]]++;
			if (got[i] != HB_ACCEPTED)
				continue;
			assert_int_equal(got_msg[i].slot, want_msg[i].slot);
			assert_int_equal(got_msg[i].time, want_msg[i].time);
			assert_int_equal(got_msg[i].flags, want_msg[i].flags);
			assert_int_equal(got_msg[i].type, want_msg[i].type);
			assert_true(got_msg[i].id == want_msg[i].id);
		}
		compare_seen();
	}
}

static void test_burst_equals_one_by_one(void **state)
{
	(void)state;
	memset(seen_kind, 0, sizeof(seen_kind));
	unsigned variants = 0;
	for (int impl = 0; impl < HB_MAC_IMPL_COUNT; impl++) {
		if (hb_mac_burst_select((enum hb_mac_impl)impl) != 0)
			continue;
		reset_seen();
		run_bursts();
		variants++;
		printf("# MAC variant %s: bursts equal one by one\n",
		       hb_mac_impl_name((enum hb_mac_impl)impl));
	}
	assert_true(variants >= 1);
	/* Every verdict a payload can earn came up (a test that cannot fail
	 * on a verdict it never saw proves nothing about it). */
	static const enum hb_verdict expect[] = {
		HB_ACCEPTED, HB_NOT_OUR_PORT, HB_BAD_MAGIC, HB_BAD_VERSION, HB_BAD_TYPE,
		HB_BAD_FLAGS, HB_UNKNOWN_SLOT, HB_ID_MISMATCH, HB_BAD_MAC, HB_TOO_OLD, HB_TOO_NEW};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		if (seen_kind[expect[i]] == 0)
			fail_msg("no %s in any burst", hb_verdict_name(expect[i]));
	/* Back to the default for the other tests. */
	for (int impl = HB_MAC_IMPL_COUNT - 1; impl >= 0; impl--)
		if (hb_mac_burst_select((enum hb_mac_impl)impl) == 0)
			break;
}

static void test_forged_store_nothing(void **state)
{
	(void)state;
	reset_seen();
	static uint8_t pls[40][HB_PAYLOAD_LEN];
	const uint8_t *pl[40];
	enum hb_verdict v[40];
	struct hb_msg msg[40];
	for (unsigned i = 0; i < 40; i++) {
		make(pls[i], K_GOOD);
		pls[i][HB_MAC_COVERED + i % 8] ^= 1;   /* the MAC itself, one bit */
		pl[i] = pls[i];
		v[i] = HB_ACCEPTED;
	}
	hb_accept_burst(rcu_dereference(t.dir), 1, pl, v, msg, 40, &win);
	for (unsigned i = 0; i < 40; i++)
		assert_int_equal(v[i], HB_BAD_MAC);
	for (uint32_t s = 0; s < NSLOTS; s++)
		assert_int_equal(*slot_dir_seen(t.dir, s, 1), 0);
}

static void test_same_slot_twice_keeps_newer(void **state)
{
	(void)state;
	reset_seen();
	uint8_t a[HB_PAYLOAD_LEN], b[HB_PAYLOAD_LEN], key[HB_KEY_LEN];
	key_of(10, key);
	for (int order = 0; order < 2; order++) {
		uint32_t times[2] = {NOW - 100, NOW - 50};
		uint8_t *p[2] = {a, b};
		for (int i = 0; i < 2; i++) {
			hb_encode(p[i], HB_TYPE_HEARTBEAT, 0, 10, times[order ? 1 - i : i], id_of(10),
				  key);
		}
		const uint8_t *pl[2] = {a, b};
		enum hb_verdict v[2] = {HB_ACCEPTED, HB_ACCEPTED};
		struct hb_msg msg[2];
		hb_accept_burst(rcu_dereference(t.dir), 1, pl, v, msg, 2, &win);
		assert_int_equal(v[0], HB_ACCEPTED);
		assert_int_equal(v[1], HB_ACCEPTED);
		assert_int_equal(*slot_dir_seen(t.dir, 10, 1), NOW - 50);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_equals_one_by_one),
		cmocka_unit_test(test_forged_store_nothing),
		cmocka_unit_test(test_same_slot_twice_keeps_newer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
