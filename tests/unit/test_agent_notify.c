/*
 * The reference agent's notify handling (tools/agent/agent_notify.c).
 * Proves: a notify for any endpoint of a multi-endpoint state file is
 * found by its slot and accepted under that endpoint's key and clock; the
 * ack is exactly docs/protocol.md §2's bytes (type 3, the notify's flags,
 * the endpoint's own slot, id and time on its clock estimate, a MAC over
 * bytes 0..23 that libsodium and the collector's own SipHash verify, and
 * that the collector's decoder reads as a notify-ack); every other datagram
 * is refused with the server's verdict name in the server's order, counted
 * once, and no ack is written; the window's edges hold on each endpoint's
 * own clock offset; the poll plan polls only for SETTINGS/COMPONENTS,
 * never twice at once, not when a newer answer is in, with a delay inside
 * [0, min(spread, poll interval)) spread evenly; the state file keeps the
 * notify_port and still reads five-column files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_encode.h"
#include "glournet/hb_siphash.h"
#include "agent.h"
#include "agent_notify.h"

#define LOCAL 1795000000 /* the agent's own clock in these tests */
#define N_EPS 5

static struct agent_ep eps[N_EPS];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < N_EPS; i++) {
		eps[i] = (struct agent_ep){.id = 0x1000000000000001ull * (uint64_t)(i + 1),
					   .slot = 7000u - 100u * (uint32_t)i, /* unsorted */
					   .clock_offset = 0,
					   .notify_port = 21112};
		snprintf(eps[i].guid, sizeof(eps[i].guid), "ep-%d", i);
		for (int k = 0; k < HB_KEY_LEN; k++)
			eps[i].key[k] = (uint8_t)(16 * i + k);
	}
	eps[3].clock_offset = 100;  /* this one's server runs 100 s ahead */
	eps[4].clock_offset = -100; /* and this one's behind */
	return 0;
}

static void init_nc(struct agent_notify *nc)
{
	size_t dups = 99;

	assert_int_equal(agent_notify_init(nc, eps, N_EPS, 300, 30, &dups), 0);
	assert_int_equal(dups, 0);
}

/* The notify the collector sends endpoint i at its server time + dt. */
static void notify_for(uint8_t p[HB_PAYLOAD_LEN], int i, uint16_t flags, int64_t dt)
{
	hb_encode(p, HB_TYPE_NOTIFY, flags, eps[i].slot,
		  (uint32_t)(LOCAL + eps[i].clock_offset + dt), eps[i].id, eps[i].key);
}

static void test_ack_bytes(void **state)
{
	(void)state;
	static const uint16_t flags[] = {HB_FLAG_SETTINGS, HB_FLAG_COMPONENTS, HB_FLAG_VERIFY,
					 HB_FLAGS_NOTIFY, 0};
	struct agent_notify nc;

	init_nc(&nc);
	for (int i = 0; i < N_EPS; i++)
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN], want[HB_PAYLOAD_LEN];
			uint32_t t = (uint32_t)(LOCAL + eps[i].clock_offset);
			struct hb_msg m, back;
			long idx = -7;

			notify_for(p, i, flags[f], -3); /* sent 3 s ago */
			assert_int_equal(agent_notify_check(&nc, p, sizeof(p), LOCAL, &idx, &m, ack),
					 HB_ACCEPTED);
			assert_int_equal(idx, i);
			assert_int_equal(m.flags, flags[f]);
			assert_int_equal(m.time, t - 3);
			/* the bytes, written out by hand */
			memcpy(want, "GLHB\x01\x03", 6);
			want[6] = (uint8_t)(flags[f] >> 8);
			want[7] = (uint8_t)flags[f];
			for (int k = 0; k < 4; k++) {
				want[8 + k] = (uint8_t)(eps[i].slot >> (24 - 8 * k));
				want[12 + k] = (uint8_t)(t >> (24 - 8 * k)); /* its own time */
			}
			for (int k = 0; k < 8; k++)
				want[16 + k] = (uint8_t)(eps[i].id >> (56 - 8 * k));
			crypto_shorthash_siphash24(want + 24, want, 24, eps[i].key);
			assert_memory_equal(ack, want, HB_PAYLOAD_LEN);
			/* the collector reads it as a notify-ack and its MAC verifies */
			assert_int_equal(hb_decode_payload(ack, &back), HB_ACCEPTED);
			assert_int_equal(back.type, HB_TYPE_NOTIFY_ACK);
			assert_int_equal(back.flags, flags[f]);
			assert_true(hb_siphash_verify_hb(eps[i].key, ack));
		}
	assert_int_equal(nc.verdict[HB_ACCEPTED], N_EPS * 5);
	assert_int_equal(nc.kind[AGENT_KIND_SETTINGS], N_EPS * 2);
	assert_int_equal(nc.kind[AGENT_KIND_COMPONENTS], N_EPS * 2);
	assert_int_equal(nc.kind[AGENT_KIND_VERIFY], N_EPS * 2);
	agent_notify_free(&nc);
}

/* Each kind of bad datagram: its verdict, counted once, no ack written. */
static void test_refusals(void **state)
{
	(void)state;
	struct agent_notify nc;
	uint64_t before[HB_VERDICT_COUNT];

	init_nc(&nc);
	for (int round = 0; round < 2; round++) {
		/* round 0: endpoint 1; round 1: endpoint 3, whose clock is ahead */
		int i = round ? 3 : 1, j = round ? 4 : 0;
		struct {
			const char *what;
			enum hb_verdict want;
			int64_t dt;
			uint16_t flags;
			int mangle; /* see below */
		} c[] = {
			{"31 bytes", HB_BAD_LENGTH, 0, HB_FLAG_SETTINGS, 1},
			{"33 bytes", HB_BAD_LENGTH, 0, HB_FLAG_SETTINGS, 2},
			{"bad magic", HB_BAD_MAGIC, 0, HB_FLAG_SETTINGS, 3},
			{"version 2", HB_BAD_VERSION, 0, HB_FLAG_SETTINGS, 4},
			{"a heartbeat", HB_BAD_TYPE, 0, 0, 5},
			{"an ack back", HB_BAD_TYPE, 0, HB_FLAG_SETTINGS, 6},
			{"SHUTDOWN", HB_BAD_FLAGS, 0, HB_FLAG_SHUTDOWN | HB_FLAG_SETTINGS, 0},
			{"BOOT", HB_BAD_FLAGS, 0, HB_FLAG_BOOT, 0},
			{"bit 5", HB_BAD_FLAGS, 0, 1u << 5, 0},
			{"a slot nobody has", HB_UNKNOWN_SLOT, 0, HB_FLAG_VERIFY, 7},
			{"another's id", HB_ID_MISMATCH, 0, HB_FLAG_VERIFY, 8},
			{"another's key", HB_BAD_MAC, 0, HB_FLAG_VERIFY, 9},
			{"too old", HB_TOO_OLD, -301, HB_FLAG_VERIFY, 0},
			{"too new", HB_TOO_NEW, 31, HB_FLAG_VERIFY, 0},
			{"too old, bad MAC", HB_BAD_MAC, -301, HB_FLAG_VERIFY, 9},
		};
		for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			uint8_t p[64], ack[HB_PAYLOAD_LEN];
			size_t len = HB_PAYLOAD_LEN;
			struct hb_msg m;
			long idx;
			uint32_t t = (uint32_t)(LOCAL + eps[i].clock_offset + c[k].dt);

			memset(p, 0, sizeof(p));
			hb_encode(p, HB_TYPE_NOTIFY, c[k].flags, eps[i].slot, t, eps[i].id,
				  eps[i].key);
			switch (c[k].mangle) {
			case 1:
				len = 31;
				break;
			case 2:
				len = 33;
				break;
			case 3:
				p[3] ^= 1;
				break;
			case 4:
				p[4] = 2;
				break;
			case 5:
				hb_encode(p, HB_TYPE_HEARTBEAT, 0, eps[i].slot, t, eps[i].id,
					  eps[i].key);
				break;
			case 6:
				hb_encode(p, HB_TYPE_NOTIFY_ACK, c[k].flags, eps[i].slot, t,
					  eps[i].id, eps[i].key);
				break;
			case 7:
				hb_encode(p, HB_TYPE_NOTIFY, c[k].flags, 1, t, eps[i].id,
					  eps[i].key);
				break;
			case 8:
				hb_encode(p, HB_TYPE_NOTIFY, c[k].flags, eps[i].slot, t, eps[j].id,
					  eps[i].key);
				break;
			case 9:
				hb_encode(p, HB_TYPE_NOTIFY, c[k].flags, eps[i].slot, t, eps[i].id,
					  eps[j].key);
				break;
			}
			memcpy(before, nc.verdict, sizeof(before));
			memset(ack, 0xEE, sizeof(ack));
			enum hb_verdict v = agent_notify_check(&nc, p, len, LOCAL, &idx, &m, ack);
			if (v != c[k].want)
				fail_msg("%s (endpoint %d): %s, want %s", c[k].what, i,
					 agent_verdict_name(v), agent_verdict_name(c[k].want));
			for (int x = 0; x < HB_VERDICT_COUNT; x++)
				assert_int_equal(nc.verdict[x] - before[x], x == (int)v);
			for (size_t b = 0; b < sizeof(ack); b++)
				assert_int_equal(ack[b], 0xEE); /* never acked */
		}
	}
	assert_int_equal(nc.verdict[HB_ACCEPTED], 0);
	for (int k = 0; k < AGENT_KIND_COUNT; k++)
		assert_int_equal(nc.kind[k], 0);
	agent_notify_free(&nc);
}

/* Every bit of the 32 bytes matters: flipping any one refuses the notify. */
static void test_every_bit(void **state)
{
	(void)state;
	struct agent_notify nc;

	init_nc(&nc);
	for (int bit = 0; bit < 8 * HB_PAYLOAD_LEN; bit++) {
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
		struct hb_msg m;
		long idx;

		notify_for(p, 2, HB_FLAG_SETTINGS, 0);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (agent_notify_check(&nc, p, sizeof(p), LOCAL, &idx, &m, ack) == HB_ACCEPTED)
			fail_msg("bit %d flipped: accepted", bit);
	}
	agent_notify_free(&nc);
}

/* The window [now - 300, now + 30] on each endpoint's own clock. */
static void test_window_edges(void **state)
{
	(void)state;
	struct agent_notify nc;
	static const struct {
		int64_t dt;
		enum hb_verdict want;
	} c[] = {{-300, HB_ACCEPTED}, {-301, HB_TOO_OLD}, {30, HB_ACCEPTED}, {31, HB_TOO_NEW}};

	init_nc(&nc);
	for (int i = 0; i < N_EPS; i++)
		for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
			struct hb_msg m;
			long idx;

			notify_for(p, i, HB_FLAG_VERIFY, c[k].dt);
			assert_int_equal(agent_notify_check(&nc, p, sizeof(p), LOCAL, &idx, &m, ack),
					 c[k].want);
		}
	/* endpoint 3's clock is 100 s ahead of endpoint 4's server: a time right
	 * for one is 200 s off for the other */
	{
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
		struct hb_msg m;
		long idx;

		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, eps[4].slot, LOCAL + 100, eps[4].id,
			  eps[4].key);
		assert_int_equal(agent_notify_check(&nc, p, sizeof(p), LOCAL, &idx, &m, ack),
				 HB_TOO_NEW);
		/* the poll answer moved the clock: now it is right */
		eps[4].clock_offset = 100;
		assert_int_equal(agent_notify_check(&nc, p, sizeof(p), LOCAL, &idx, &m, ack),
				 HB_ACCEPTED);
		eps[4].clock_offset = -100;
	}
	agent_notify_free(&nc);
}

static void test_demultiplex(void **state)
{
	(void)state;
	struct agent_notify nc;
	struct agent_ep two[3];
	size_t dups;

	init_nc(&nc);
	for (int i = 0; i < N_EPS; i++)
		assert_int_equal(agent_notify_find(&nc, eps[i].slot), i);
	assert_int_equal(agent_notify_find(&nc, 1), -1);
	assert_int_equal(agent_notify_find(&nc, 7001), -1);
	agent_notify_free(&nc);
	/* two servers' endpoints with one slot: the first line keeps it */
	memcpy(two, eps, sizeof(two));
	two[2].slot = two[0].slot;
	assert_int_equal(agent_notify_init(&nc, two, 3, 300, 30, &dups), 0);
	assert_int_equal(dups, 1);
	assert_int_equal(agent_notify_find(&nc, two[0].slot), 0);
	assert_int_equal(agent_notify_find(&nc, two[1].slot), 1);
	agent_notify_free(&nc);
}

static void test_poll_plan(void **state)
{
	(void)state;
	const uint64_t S = 30000000000ull; /* 30 s */
	uint64_t d = 12345;

	assert_int_equal(agent_notify_poll_plan(HB_FLAG_VERIFY, 100, 0, false, 0, S, ~0ull, &d),
			 AGENT_POLL_NONE);
	assert_int_equal(d, 0);
	assert_int_equal(agent_notify_poll_plan(0, 100, 0, false, 0, S, 1, &d), AGENT_POLL_NONE);
	assert_int_equal(
		agent_notify_poll_plan(HB_FLAG_SETTINGS | HB_FLAG_VERIFY, 100, 0, false, 0, S, 0, &d),
		AGENT_POLL_SCHEDULED);
	assert_int_equal(d, 0);
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_COMPONENTS, 100, 0, false, 0, S, ~0ull, &d),
			 AGENT_POLL_SCHEDULED);
	assert_true(d < S && d > S - 2);
	/* a poll already due brings this change too */
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 0, true, 0, S, 5, &d),
			 AGENT_POLL_PENDING);
	/* an answer after the notify was sent has it; one in the same second may not */
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 101, false, 0, S, 5, &d),
			 AGENT_POLL_FRESH);
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 100, false, 0, S, 5, &d),
			 AGENT_POLL_SCHEDULED);
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 99, false, 0, S, 5, &d),
			 AGENT_POLL_SCHEDULED);
	/* a poll interval shorter than the spread bounds the delay */
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 0, false, 4, S, ~0ull, &d),
			 AGENT_POLL_SCHEDULED);
	assert_true(d < 4000000000ull && d > 3999999990ull);
	assert_int_equal(agent_notify_poll_plan(HB_FLAG_SETTINGS, 100, 0, false, 60, S, ~0ull, &d),
			 AGENT_POLL_SCHEDULED);
	assert_true(d < S && d > S - 2);
}

/* 100,000 delays over 30 s: inside [0, 30 s), ten buckets within 5 % of
 * their share (a fleet polls spread over the whole spread). */
static void test_jitter_spread(void **state)
{
	(void)state;
	const uint64_t S = 30000000000ull;
	unsigned bucket[10] = {0};
	uint64_t x = 0x9E3779B97F4A7C15ull;

	assert_int_equal(agent_jitter_ns(0, S), 0);
	assert_true(agent_jitter_ns(~0ull, S) < S);
	assert_int_equal(agent_jitter_ns(~0ull, 0), 0);
	for (int i = 0; i < 100000; i++) {
		uint64_t d;

		x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
		d = agent_jitter_ns(x * 0x2545F4914F6CDD1Dull, S);
		assert_true(d < S);
		bucket[d / (S / 10)]++;
	}
	for (int b = 0; b < 10; b++)
		if (bucket[b] < 9500 || bucket[b] > 10500)
			fail_msg("bucket %d holds %u of 100000", b, bucket[b]);
}

static void test_state_file_notify_port(void **state)
{
	(void)state;
	char path[] = "/tmp/gn-agent-state-XXXXXX";
	int fd = mkstemp(path);
	struct agent_state st = {0}, back = {0};
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	for (int i = 0; i < 3; i++)
		assert_int_equal(agent_state_append(&st, &eps[i]), 0);
	st.eps[1].notify_port = 40000;
	assert_int_equal(agent_state_save(path, &st), 0);
	assert_int_equal(agent_state_load(path, &back, false), 0);
	assert_int_equal(back.n, 3);
	assert_int_equal(back.eps[0].notify_port, 21112);
	assert_int_equal(back.eps[1].notify_port, 40000);
	assert_memory_equal(back.eps[2].key, eps[2].key, HB_KEY_LEN);
	agent_state_free(&back);
	/* an older file: five columns, no notify_port */
	f = fopen(path, "w");
	fprintf(f, "a %016llx 5 00112233445566778899aabbccddeeff -2\n", 0x42ull);
	fclose(f);
	assert_int_equal(agent_state_load(path, &back, false), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.eps[0].notify_port, 0);
	assert_int_equal(back.eps[0].clock_offset, -2);
	agent_state_free(&back);
	f = fopen(path, "w");
	fprintf(f, "a %016llx 5 00112233445566778899aabbccddeeff -2 70000\n", 0x42ull);
	fclose(f);
	assert_true(agent_state_load(path, &back, false) < 0);
	agent_state_free(&back);
	agent_state_free(&st);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ack_bytes, setup),
		cmocka_unit_test_setup(test_refusals, setup),
		cmocka_unit_test_setup(test_every_bit, setup),
		cmocka_unit_test_setup(test_window_edges, setup),
		cmocka_unit_test_setup(test_demultiplex, setup),
		cmocka_unit_test(test_poll_plan),
		cmocka_unit_test(test_jitter_spread),
		cmocka_unit_test_setup(test_state_file_notify_port, setup),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
