/*
 * The per-heartbeat decision over a real slot table (hb_accept.h,
 * slot_table.c; docs/protocol.md §1). Proves: the acceptance window is exactly
 * [now - window, now + skew], boundaries included; what is stored is
 * min(time, now) and only ever moves forward; a one-bit MAC fault, an
 * unassigned or out-of-directory slot and another endpoint's id are each
 * refused with their own verdict and store nothing; each worker writes only
 * its own array and last_seen is the max over them; a re-key retires the
 * old key at once; and growing the table (a new RCU-published directory)
 * keeps the entries and timestamps already there, both from a thread not
 * registered with RCU and with a registered reader running concurrently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <cmocka.h>

#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#include "glournet/gn_mem.h"

#define NOW    1795000000u
#define WINDOW 300u
#define SKEW   30u
#define ID_A   0x0123456789ABCDEFull
#define ID_B   0xFEDCBA9876543210ull
#define SLOT_A 5u
#define SLOT_B 6u
#define SLOT_FREE 7u     /* reserved (chunk 0) but never assigned */
#define MAX_SLOTS (8u * SLOT_CHUNK_SLOTS)

static struct slot_table t;
static const uint8_t key_a[HB_KEY_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t key_b[HB_KEY_LEN] = {
	0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
	0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
static const struct hb_window win = { .now = NOW, .window = WINDOW, .skew = SKEW };

static enum hb_verdict send_hb(unsigned worker, uint32_t slot, uint32_t time, uint64_t id,
			       const uint8_t *key, const struct hb_window *w)
{
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, slot, time, id, key);
	return hb_accept(rcu_dereference(t.dir), worker, p, w);
}

static void make_table(void)
{
	assert_int_equal(slot_table_init(&t, 2, MAX_SLOTS), 0);
	assert_int_equal(slot_table_reserve(&t, SLOT_FREE), 0);
	slot_table_assign(&t, SLOT_A, ID_A, key_a);
	slot_table_assign(&t, SLOT_B, ID_B, key_b);
}

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	make_table();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	slot_table_destroy(&t);
	rcu_unregister_thread();
	return 0;
}

static void test_init_args(void **state)
{
	(void)state;
	struct slot_table x;
	assert_int_equal(slot_table_init(&x, 0, 10), -EINVAL);
	assert_int_equal(slot_table_init(&x, GN_MAX_WORKERS + 1, 10), -EINVAL);
	assert_int_equal(slot_table_init(&x, 1, 0), -EINVAL);
	assert_int_equal(slot_table_init(&x, GN_MAX_WORKERS, 10), 0);
	assert_int_equal(slot_table_capacity(&x), 0);
	/* Nothing reserved yet: no slot is known, nothing was seen. */
	assert_int_equal(slot_table_last_seen(&x, 0), 0);
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, 0, NOW, ID_A, key_a);
	assert_int_equal(hb_accept(x.dir, 0, p, &win), HB_UNKNOWN_SLOT);
	slot_table_destroy(&x);
}

static void test_valid(void **state)
{
	(void)state;
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(send_hb(0, SLOT_A, NOW - 10, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 10);
	/* The neighbour slot is untouched. */
	assert_int_equal(slot_table_last_seen(&t, SLOT_B), 0);
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW);
	/* The other endpoint, with its own key. */
	assert_int_equal(send_hb(1, SLOT_B, NOW - 1, ID_B, key_b, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_B), NOW - 1);
}

/* SHUTDOWN and BOOT heartbeats are heartbeats: accepted and stored. */
static void test_valid_flags(void **state)
{
	(void)state;
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, HB_FLAG_BOOT | HB_FLAG_SHUTDOWN, SLOT_A, NOW - 3, ID_A, key_a);
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 3);
	/* A notify-only flag is refused before anything else. */
	hb_encode(p, HB_TYPE_HEARTBEAT, HB_FLAG_SETTINGS, SLOT_A, NOW - 2, ID_A, key_a);
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_FLAGS);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 3);
}

static void test_future_stores_now(void **state)
{
	(void)state;
	assert_int_equal(send_hb(0, SLOT_A, NOW + 20, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW);
	/* Replaying it later does not make the endpoint look alive later
	 * than the server's clock at that time. */
	struct hb_window later = win;
	later.now = NOW + 5;
	assert_int_equal(send_hb(1, SLOT_A, NOW + 20, ID_A, key_a, &later), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW + 5);
}

static void test_window_old_edge(void **state)
{
	(void)state;
	assert_int_equal(send_hb(0, SLOT_A, NOW - WINDOW - 1, ID_A, key_a, &win), HB_TOO_OLD);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(send_hb(0, SLOT_A, 0, ID_A, key_a, &win), HB_TOO_OLD);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(send_hb(0, SLOT_A, NOW - WINDOW, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - WINDOW);
}

static void test_window_new_edge(void **state)
{
	(void)state;
	assert_int_equal(send_hb(0, SLOT_A, NOW + SKEW + 1, ID_A, key_a, &win), HB_TOO_NEW);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(send_hb(0, SLOT_A, UINT32_MAX, ID_A, key_a, &win), HB_TOO_NEW);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(send_hb(0, SLOT_A, NOW + SKEW, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW);
}

/* The window arithmetic does not wrap at either end of the 32-bit clock. */
static void test_window_no_wrap(void **state)
{
	(void)state;
	struct hb_window early = { .now = 100, .window = WINDOW, .skew = SKEW };
	assert_int_equal(send_hb(0, SLOT_A, 0, ID_A, key_a, &early), HB_ACCEPTED);
	assert_int_equal(send_hb(0, SLOT_A, 1, ID_A, key_a, &early), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 1);
	assert_int_equal(send_hb(0, SLOT_A, 100 + SKEW, ID_A, key_a, &early), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 100);   /* min(time, now) */
	assert_int_equal(send_hb(0, SLOT_A, 100 + SKEW + 1, ID_A, key_a, &early), HB_TOO_NEW);
	assert_int_equal(send_hb(0, SLOT_A, UINT32_MAX - 10, ID_A, key_a, &early), HB_TOO_NEW);

	struct hb_window late = { .now = UINT32_MAX - 5, .window = WINDOW, .skew = SKEW };
	assert_int_equal(send_hb(1, SLOT_A, UINT32_MAX, ID_A, key_a, &late), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), UINT32_MAX - 5);
	assert_int_equal(send_hb(1, SLOT_A, 5, ID_A, key_a, &late), HB_TOO_OLD);
}

static void test_bad_mac(void **state)
{
	(void)state;
	uint8_t good[HB_PAYLOAD_LEN], p[HB_PAYLOAD_LEN];
	hb_encode(good, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - 1, ID_A, key_a);
	/* Any one bit of the MAC. */
	for (int bit = 0; bit < 64; bit++) {
		memcpy(p, good, sizeof(p));
		p[HB_MAC_COVERED + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (hb_accept(t.dir, 0, p, &win) != HB_BAD_MAC)
			fail_msg("MAC bit %d flipped was not refused as bad_mac", bit);
	}
	/* Any one bit of the covered time field (still inside the window). */
	memcpy(p, good, sizeof(p));
	p[15] ^= 0x02;
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAC);
	/* Flags are covered too: BOOT set after the MAC was computed. */
	memcpy(p, good, sizeof(p));
	p[7] |= HB_FLAG_BOOT;
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAC);
	/* The right id and slot under the other endpoint's key. */
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - 1, ID_A, key_b);
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAC);
	/* None of these stored anything. */
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 0), 0);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), 0);
	/* The untouched packet is fine. */
	assert_int_equal(hb_accept(t.dir, 0, good, &win), HB_ACCEPTED);
}

/* A forged packet is counted as forged even when it is also stale. */
static void test_mac_before_time(void **state)
{
	(void)state;
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - WINDOW - 100, ID_A, key_b);
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAC);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW + SKEW + 100, ID_A, key_b);
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAC);
}

static void test_unknown_slot(void **state)
{
	(void)state;
	/* In the directory, never assigned (id 0)... even with id 0 in the packet. */
	assert_int_equal(send_hb(0, SLOT_FREE, NOW, ID_A, key_a, &win), HB_UNKNOWN_SLOT);
	assert_int_equal(send_hb(0, SLOT_FREE, NOW, 0, key_a, &win), HB_UNKNOWN_SLOT);
	uint8_t zero_key[HB_KEY_LEN] = {0};
	assert_int_equal(send_hb(0, SLOT_FREE, NOW, 0, zero_key, &win), HB_UNKNOWN_SLOT);
	assert_int_equal(slot_table_last_seen(&t, SLOT_FREE), 0);
	/* Beyond the directory: chunk 1, chunk 3, beyond max_slots, the top. */
	assert_int_equal(slot_table_capacity(&t), SLOT_CHUNK_SLOTS);
	assert_int_equal(send_hb(0, SLOT_CHUNK_SLOTS, NOW, ID_A, key_a, &win), HB_UNKNOWN_SLOT);
	assert_int_equal(send_hb(0, 3 * SLOT_CHUNK_SLOTS + SLOT_A, NOW, ID_A, key_a, &win),
			 HB_UNKNOWN_SLOT);
	assert_int_equal(send_hb(0, MAX_SLOTS + 1, NOW, ID_A, key_a, &win), HB_UNKNOWN_SLOT);
	assert_int_equal(send_hb(1, UINT32_MAX, NOW, ID_A, key_a, &win), HB_UNKNOWN_SLOT);
	/* slot_table_last_seen of a slot outside the directory is 0, not a crash. */
	assert_int_equal(slot_table_last_seen(&t, UINT32_MAX), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
}

static void test_id_mismatch(void **state)
{
	(void)state;
	/* B's id in A's slot, MAC'd with B's key (or A's): the slot is not B's. */
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_B, key_b, &win), HB_ID_MISMATCH);
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_B, key_a, &win), HB_ID_MISMATCH);
	assert_int_equal(send_hb(0, SLOT_B, NOW, ID_A, key_a, &win), HB_ID_MISMATCH);
	/* One bit of the id. */
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_A ^ 1, key_a, &win), HB_ID_MISMATCH);
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_A ^ (1ull << 63), key_a, &win), HB_ID_MISMATCH);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT_B), 0);
}

static void test_no_going_back(void **state)
{
	(void)state;
	assert_int_equal(send_hb(0, SLOT_A, NOW - 10, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(send_hb(0, SLOT_A, NOW - 100, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 10);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 0), NOW - 10);
	/* Same on the other worker. */
	assert_int_equal(send_hb(1, SLOT_A, NOW - 5, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(send_hb(1, SLOT_A, NOW - 6, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), NOW - 5);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 5);
}

static void test_workers_own_arrays(void **state)
{
	(void)state;
	assert_int_equal(send_hb(0, SLOT_A, NOW - 50, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 0), NOW - 50);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 50);

	assert_int_equal(send_hb(1, SLOT_A, NOW - 20, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 0), NOW - 50);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), NOW - 20);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 20);

	/* The max, whichever worker holds it. */
	assert_int_equal(send_hb(0, SLOT_A, NOW - 1, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), NOW - 20);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 1);
	/* Distinct arrays, not views of one. */
	assert_ptr_not_equal(slot_dir_seen(t.dir, SLOT_A, 0), slot_dir_seen(t.dir, SLOT_A, 1));
}

static void test_rekey(void **state)
{
	(void)state;
	uint8_t old_hb[HB_PAYLOAD_LEN], p[HB_PAYLOAD_LEN];
	hb_encode(old_hb, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - 30, ID_A, key_a);
	assert_int_equal(hb_accept(t.dir, 0, old_hb, &win), HB_ACCEPTED);
	uint8_t key_new[HB_KEY_LEN];
	memcpy(key_new, key_a, sizeof(key_new));
	key_new[7] ^= 0x40;
	slot_table_assign(&t, SLOT_A, ID_A, key_new);
	/* A replay of an old-key packet and a fresh old-key packet both fail. */
	assert_int_equal(hb_accept(t.dir, 0, old_hb, &win), HB_BAD_MAC);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - 1, ID_A, key_a);
	assert_int_equal(hb_accept(t.dir, 1, p, &win), HB_BAD_MAC);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 30);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW - 1, ID_A, key_new);
	assert_int_equal(hb_accept(t.dir, 1, p, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 1);
	/* Re-assigning the slot to another id retires the old id too. */
	slot_table_assign(&t, SLOT_A, ID_B, key_b);
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_A, key_new, &win), HB_ID_MISMATCH);
	assert_int_equal(send_hb(0, SLOT_A, NOW, ID_B, key_b, &win), HB_ACCEPTED);
}

static void check_grow_keeps(void)
{
	assert_int_equal(send_hb(0, SLOT_A, NOW - 40, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(send_hb(1, SLOT_B, NOW - 41, ID_B, key_b, &win), HB_ACCEPTED);
	struct slot_dir *before = t.dir;
	uint32_t far = 3 * SLOT_CHUNK_SLOTS + 17;
	assert_int_equal(slot_table_reserve(&t, far), 0);
	assert_ptr_not_equal(t.dir, before);          /* a new directory was published */
	assert_int_equal(t.dir->nchunks, 4);
	assert_int_equal(slot_table_capacity(&t), 4 * SLOT_CHUNK_SLOTS);
	/* Chunk 0's timestamps and entries survived. */
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 40);
	assert_int_equal(slot_table_last_seen(&t, SLOT_B), NOW - 41);
	assert_int_equal(send_hb(0, SLOT_A, NOW - 60, ID_A, key_a, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 40);
	/* The new chunks start empty and work. */
	assert_int_equal(slot_table_last_seen(&t, far), 0);
	assert_int_equal(slot_table_last_seen(&t, 2 * SLOT_CHUNK_SLOTS), 0);
	assert_int_equal(send_hb(0, far, NOW, ID_A, key_a, &win), HB_UNKNOWN_SLOT);
	slot_table_assign(&t, far, ID_A ^ 0xFF, key_b);
	assert_int_equal(send_hb(1, far, NOW - 2, ID_A ^ 0xFF, key_b, &win), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, far), NOW - 2);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 40);
	/* Reserving inside the directory publishes nothing new. */
	struct slot_dir *now_dir = t.dir;
	assert_int_equal(slot_table_reserve(&t, 2 * SLOT_CHUNK_SLOTS + 1), 0);
	assert_ptr_equal(t.dir, now_dir);
	/* Not beyond max_slots. */
	assert_int_equal(slot_table_reserve(&t, MAX_SLOTS), -ENOSPC);
	assert_int_equal(slot_table_reserve(&t, MAX_SLOTS - 1), 0);
	assert_int_equal(slot_table_capacity(&t), MAX_SLOTS);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW - 40);
	assert_int_equal(slot_table_last_seen(&t, far), NOW - 2);
}

/* The caller registered with RCU (it is online while synchronize_rcu runs). */
static void test_grow_registered(void **state)
{
	(void)state;
	check_grow_keeps();
}

/* The caller not registered with RCU at all. */
static void test_grow_unregistered(void **state)
{
	(void)state;
	rcu_unregister_thread();
	check_grow_keeps();
	rcu_register_thread();
}

/* Table memory is accounted for and returned. */
static void test_table_bytes(void **state)
{
	(void)state;
	size_t before = gn_table_bytes();
	assert_int_equal(slot_table_reserve(&t, SLOT_CHUNK_SLOTS), 0);
	size_t chunk = SLOT_CHUNK_SLOTS * 64; /* 2 workers: 64-byte entries, both inline */
	assert_true(gn_table_bytes() >= before + chunk);
	slot_table_destroy(&t);
	assert_true(gn_table_bytes() < before);
	make_table();
}

/* ---- a registered reader running while the table grows ---- */

static volatile int reader_stop;
static volatile int reader_started;
static unsigned long reader_accepts, reader_other;

static void *reader(void *arg)
{
	(void)arg;
	rcu_register_thread();
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW, ID_A, key_a);
	__atomic_store_n(&reader_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&reader_stop, __ATOMIC_ACQUIRE)) {
		const struct slot_dir *d = rcu_dereference(t.dir);
		if (hb_accept(d, 1, p, &win) == HB_ACCEPTED)
			reader_accepts++;
		else
			reader_other++;
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_grow_with_reader(void **state)
{
	(void)state;
	pthread_t th;
	reader_stop = 0;
	reader_started = 0;
	reader_accepts = reader_other = 0;
	assert_int_equal(pthread_create(&th, NULL, reader, NULL), 0);
	while (!__atomic_load_n(&reader_started, __ATOMIC_ACQUIRE))
		;
	assert_int_equal(send_hb(0, SLOT_B, NOW - 7, ID_B, key_b, &win), HB_ACCEPTED);
	for (uint32_t c = 1; c < 8; c++)
		assert_int_equal(slot_table_reserve(&t, c * SLOT_CHUNK_SLOTS), 0);
	__atomic_store_n(&reader_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_true(reader_accepts > 0);
	assert_int_equal(reader_other, 0);
	assert_int_equal(t.dir->nchunks, 8);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT_A, 1), NOW);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), NOW);
	assert_int_equal(slot_table_last_seen(&t, SLOT_B), NOW - 7);
}

/* Payload faults come through hb_accept unchanged. */
static void test_decode_faults_pass_through(void **state)
{
	(void)state;
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW, ID_A, key_a);
	p[0] = 'X';
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_MAGIC);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW, ID_A, key_a);
	p[4] = 2;
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_VERSION);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, SLOT_A, NOW, ID_A, key_a);
	p[5] = HB_TYPE_NOTIFY;
	assert_int_equal(hb_accept(t.dir, 0, p, &win), HB_BAD_TYPE);
	assert_int_equal(slot_table_last_seen(&t, SLOT_A), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_args),
		T(test_valid),
		T(test_valid_flags),
		T(test_future_stores_now),
		T(test_window_old_edge),
		T(test_window_new_edge),
		T(test_window_no_wrap),
		T(test_bad_mac),
		T(test_mac_before_time),
		T(test_unknown_slot),
		T(test_id_mismatch),
		T(test_no_going_back),
		T(test_workers_own_arrays),
		T(test_rekey),
		T(test_grow_registered),
		T(test_grow_unregistered),
		T(test_table_bytes),
		T(test_grow_with_reader),
		T(test_decode_faults_pass_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
