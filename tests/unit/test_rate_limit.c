/*
 * The registration rate limit (control/rate_limit.c), on an injected clock.
 * Proves: a new source gets exactly its burst, then is refused; tokens come
 * back at the configured rate (not one early) and never beyond the burst;
 * Retry-After is the whole seconds until the next token, at least 1;
 * sources are independent of each other and of their ports; an IPv4
 * address and its IPv4-mapped IPv6 form are one source (an IPv4-compatible
 * or any other IPv6 address is not); a source is an address cut to its
 * prefix (IPv4 /32 and IPv6 /64 by default, other lengths on request, bit
 * boundaries inside a byte too); the table never holds more than its
 * bound however many sources come, forgets only a source whose bucket is
 * full again (the least recently seen first) and otherwise charges new
 * sources to one shared overflow bucket, so a flood of sources refills
 * nobody's bucket early; a long idle time or a clock going backwards does
 * no harm; zero parameters and prefix lengths out of range are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/rate_limit.h"

/* ================= helpers ================= */

static struct sockaddr_storage addr(const char *text, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	} else {
		fail_msg("bad test address '%s'", text);
	}
	return ss;
}

static bool take(struct rate_limit *rl, const char *a, uint64_t now, uint32_t *retry)
{
	struct sockaddr_storage ss = addr(a, 40000);
	uint32_t r = 0xdeadbeef;
	bool ok = rl_take(rl, (struct sockaddr *)&ss, now, &r);
	if (retry)
		*retry = r;
	return ok;
}

/* Takes `n` tokens for `a` at `now`, all of which must be granted. */
static void take_n(struct rate_limit *rl, const char *a, uint64_t now, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!take(rl, a, now, NULL))
			fail_msg("%s at %llu ms: token %u of %u refused", a, (unsigned long long)now,
				 i + 1, n);
}

static void refused(struct rate_limit *rl, const char *a, uint64_t now, uint32_t want_retry)
{
	uint32_t r;
	if (take(rl, a, now, &r))
		fail_msg("%s at %llu ms: granted, want refused", a, (unsigned long long)now);
	if (r != want_retry)
		fail_msg("%s at %llu ms: Retry-After %u, want %u", a, (unsigned long long)now, r,
			 want_retry);
}

#define T0 1000000ull   /* an arbitrary monotonic start */

/* ================= tests ================= */

static void test_burst_then_refusal(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 50, 200, 1024), 0);
	take_n(&rl, "192.0.2.1", T0, 200);
	refused(&rl, "192.0.2.1", T0, 1);
	refused(&rl, "192.0.2.1", T0, 1);   /* a refusal costs nothing, gains nothing */
	assert_int_equal(rl_sources(&rl), 1);
	rl_destroy(&rl);
}

static void test_refill_rate(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 10, 5, 1024), 0);   /* one token per 100 ms */
	take_n(&rl, "2001:db8::1", T0, 5);
	refused(&rl, "2001:db8::1", T0 + 99, 1);
	take_n(&rl, "2001:db8::1", T0 + 100, 1);
	refused(&rl, "2001:db8::1", T0 + 100, 1);
	/* 350 ms later: 3.5 tokens; 3 granted, the half kept for later. */
	take_n(&rl, "2001:db8::1", T0 + 450, 3);
	refused(&rl, "2001:db8::1", T0 + 450, 1);
	take_n(&rl, "2001:db8::1", T0 + 500, 1);
	/* A long pause fills the bucket to the burst and no further. */
	take_n(&rl, "2001:db8::1", T0 + 60000, 5);
	refused(&rl, "2001:db8::1", T0 + 60000, 1);

	/* Over 10 s at 10/s, a steady client gets 10 per second (+ its burst). */
	unsigned granted = 0;
	for (uint64_t t = T0 + 100000; t < T0 + 110000; t += 7)
		granted += take(&rl, "198.51.100.7", t, NULL);
	assert_in_range(granted, 5 + 99, 5 + 100);
	rl_destroy(&rl);
}

static void test_retry_after(void **state)
{
	(void)state;
	struct rate_limit rl;
	/* 1 per second: the next token is 1000 ms away, then less, never 0 s. */
	assert_int_equal(rl_init(&rl, 1, 2, 1024), 0);
	take_n(&rl, "192.0.2.9", T0, 2);
	refused(&rl, "192.0.2.9", T0, 1);
	refused(&rl, "192.0.2.9", T0 + 1, 1);
	refused(&rl, "192.0.2.9", T0 + 999, 1);
	take_n(&rl, "192.0.2.9", T0 + 1000, 1);
	refused(&rl, "192.0.2.9", T0 + 1000, 1);
	rl_destroy(&rl);

	/* A fast rate: the next token in 1 ms still says 1 s (whole seconds). */
	assert_int_equal(rl_init(&rl, 1000000, 1, 1024), 0);
	take_n(&rl, "192.0.2.9", T0, 1);
	take_n(&rl, "192.0.2.9", T0 + 1, 1);
	refused(&rl, "192.0.2.9", T0 + 1, 1);
	rl_destroy(&rl);
}

static void test_sources_independent(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 1, 3, 1024), 0);
	/* Per address here (/128): the two IPv6 addresses below share a /64. */
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){32, 128}), 0);
	take_n(&rl, "192.0.2.1", T0, 3);
	refused(&rl, "192.0.2.1", T0, 1);
	take_n(&rl, "192.0.2.2", T0, 3);             /* the next address */
	take_n(&rl, "2001:db8::1", T0, 3);
	take_n(&rl, "2001:db8::2", T0, 3);
	refused(&rl, "2001:db8::1", T0, 1);
	refused(&rl, "192.0.2.1", T0, 1);            /* still refused */
	/* The port is not part of the source. */
	struct sockaddr_storage other_port = addr("192.0.2.2", 1);
	uint32_t r;
	assert_false(rl_take(&rl, (struct sockaddr *)&other_port, T0, &r));
	assert_int_equal(rl_sources(&rl), 4);
	rl_destroy(&rl);
}

static void test_v4_mapped_is_v4(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 1, 4, 1024), 0);
	take_n(&rl, "192.0.2.77", T0, 2);
	take_n(&rl, "::ffff:192.0.2.77", T0, 2);     /* as a dual-stack socket sees it */
	refused(&rl, "192.0.2.77", T0, 1);
	refused(&rl, "::ffff:192.0.2.77", T0, 1);
	/* IPv4-compatible (::a.b.c.d) and NAT64 forms are other addresses. */
	take_n(&rl, "::192.0.2.77", T0, 4);
	take_n(&rl, "64:ff9b::192.0.2.77", T0, 4);
	assert_int_equal(rl_sources(&rl), 3);
	rl_destroy(&rl);
}

static void test_eviction_bound(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 1, 2, 4), 0);
	/* A flood of 100,000 sources (distinct /64s) within one second: never
	 * more than 4 remembered; the first 4 keep their own buckets (a token
	 * left each), everyone after them shares one overflow bucket of 2. */
	char a[64];
	unsigned granted = 0;
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		bool ok = take(&rl, a, T0 + i / 100, NULL);
		if (i < 4)
			assert_true(ok);
		else
			granted += ok;
		assert_true(rl_sources(&rl) <= 4);
	}
	assert_int_equal(rl_sources(&rl), 4);
	assert_int_equal(rl.evicted, 0);
	assert_int_equal(rl.overflowed, 100000 - 4);
	/* 2 at once, + 1 a second over the 999 ms of the flood. */
	assert_int_equal(granted, 2);
	take_n(&rl, "2001:db8::1", T0 + 999, 1);      /* the first: its second token */
	refused(&rl, "2001:db8::1", T0 + 999, 1);
	rl_destroy(&rl);

	/* Only a full bucket is forgotten, the least recently seen first. */
	uint64_t t = T0;
	assert_int_equal(rl_init(&rl, 1, 2, 4), 0);
	take_n(&rl, "192.0.2.1", t, 2);   /* A, now empty */
	take_n(&rl, "192.0.2.2", t, 2);   /* B, empty */
	take_n(&rl, "192.0.2.3", t, 1);   /* C, one left */
	take_n(&rl, "192.0.2.4", t, 1);   /* D, one left: full table */
	refused(&rl, "192.0.2.1", t, 1);  /* A seen again: B, C, D are older */
	take_n(&rl, "192.0.2.5", t, 2);   /* E: no full bucket, so the overflow's 2 */
	refused(&rl, "192.0.2.6", t, 1);  /* F: the same overflow, now empty */
	assert_int_equal(rl.evicted, 0);
	refused(&rl, "192.0.2.1", t, 1);  /* A still remembered, still empty */
	refused(&rl, "192.0.2.2", t, 1);  /* B too */
	/* 1 s later C and D are full again (A and B only half): G takes C's
	 * place, the least recently seen full one; A and B keep their halves. */
	t += 1000;
	take_n(&rl, "192.0.2.7", t, 2);
	assert_int_equal(rl.evicted, 1);
	take_n(&rl, "192.0.2.2", t, 1);   /* B: the one token it earned, not 2 */
	refused(&rl, "192.0.2.2", t, 1);
	take_n(&rl, "192.0.2.4", t, 2);   /* D kept: full */
	take_n(&rl, "192.0.2.1", t, 1);   /* A: its one token */
	/* C, forgotten when full, is new again; no bucket is full now, so it
	 * gets the overflow's token of that second, no more. */
	take_n(&rl, "192.0.2.3", t, 1);
	refused(&rl, "192.0.2.3", t, 1);
	assert_int_equal(rl_sources(&rl), 4);
	assert_int_equal(rl.evicted, 1);
	rl_destroy(&rl);
}

/* Cycling through sources to push one's own empty bucket out of the table
 * and come back with a full one: never. */
static void test_cycling_refills_nothing(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 1, 5, 64), 0);
	take_n(&rl, "198.51.100.7", T0, 5);
	refused(&rl, "198.51.100.7", T0, 1);
	char a[64];
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 1000; i++) {
			snprintf(a, sizeof(a), "10.%u.%u.%u", round, i >> 8, i & 0xff);
			uint32_t r;
			struct sockaddr_storage ss = addr(a, 1);
			rl_take(&rl, (struct sockaddr *)&ss, T0 + round, &r);
		}
		refused(&rl, "198.51.100.7", T0 + round, 1);
	}
	/* Its refill comes at the rate, as for anyone. */
	take_n(&rl, "198.51.100.7", T0 + 1000, 1);
	refused(&rl, "198.51.100.7", T0 + 1000, 1);
	rl_destroy(&rl);
}

static void test_prefix_aggregation(void **state)
{
	(void)state;
	struct rate_limit rl;
	/* Default: IPv6 /64, IPv4 /32. */
	assert_int_equal(rl_init(&rl, 1, 3, 1024), 0);
	take_n(&rl, "2001:db8:1:2::1", T0, 2);
	take_n(&rl, "2001:db8:1:2:ffff:ffff:ffff:fffe", T0, 1);   /* same /64 */
	refused(&rl, "2001:db8:1:2::1", T0, 1);
	refused(&rl, "2001:db8:1:2:8000::", T0, 1);
	take_n(&rl, "2001:db8:1:3::1", T0, 3);                    /* the next /64 */
	take_n(&rl, "192.0.2.1", T0, 3);
	take_n(&rl, "192.0.2.2", T0, 3);                          /* /32: apart */
	refused(&rl, "::ffff:192.0.2.2", T0, 1);
	assert_int_equal(rl_sources(&rl), 4);
	rl_destroy(&rl);

	/* Wider: IPv4 /24, IPv6 /48; a mapped address is cut as IPv4. */
	assert_int_equal(rl_init(&rl, 1, 3, 1024), 0);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){24, 48}), 0);
	take_n(&rl, "192.0.2.1", T0, 1);
	take_n(&rl, "::ffff:192.0.2.200", T0, 2);
	refused(&rl, "192.0.2.99", T0, 1);
	take_n(&rl, "192.0.3.1", T0, 3);
	take_n(&rl, "2001:db8:1:2::1", T0, 2);
	take_n(&rl, "2001:db8:1:ffff::1", T0, 1);
	refused(&rl, "2001:db8:1::", T0, 1);
	take_n(&rl, "2001:db8:2::1", T0, 3);
	assert_int_equal(rl_sources(&rl), 4);
	rl_destroy(&rl);

	/* Inside a byte: /57 keeps 9 bits of the fourth group (0x007f and 0
	 * agree on them, 0x0080 does not); IPv4 /30 keeps .0-.3 together. */
	assert_int_equal(rl_init(&rl, 1, 2, 1024), 0);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){30, 57}), 0);
	take_n(&rl, "2001:db8:0:7f::1", T0, 1);
	take_n(&rl, "2001:db8::1", T0, 1);
	refused(&rl, "2001:db8:0:7f:ffff::", T0, 1);
	take_n(&rl, "2001:db8:0:80::1", T0, 2);
	take_n(&rl, "198.51.100.0", T0, 1);
	take_n(&rl, "198.51.100.3", T0, 1);
	refused(&rl, "198.51.100.2", T0, 1);
	take_n(&rl, "198.51.100.4", T0, 2);
	assert_int_equal(rl_sources(&rl), 4);
	rl_destroy(&rl);

	/* Per address: /32 and /128. */
	assert_int_equal(rl_init(&rl, 1, 1, 1024), 0);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){32, 128}), 0);
	take_n(&rl, "2001:db8::1", T0, 1);
	take_n(&rl, "2001:db8::2", T0, 1);
	refused(&rl, "2001:db8::1", T0, 1);
	rl_destroy(&rl);

	/* Out of range: refused, the prefix kept. */
	assert_int_equal(rl_init(&rl, 1, 1, 16), 0);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){0, 64}), -EINVAL);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){33, 64}), -EINVAL);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){32, 0}), -EINVAL);
	assert_int_equal(rl_set_prefix(&rl, (struct source_prefix){32, 129}), -EINVAL);
	assert_int_equal(rl.prefix.v4, 32);
	assert_int_equal(rl.prefix.v6, 64);
	rl_destroy(&rl);
}

static void test_clock_edges(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 1000000, 1000000, 16), 0);
	/* Idle for ages: no overflow, the bucket is simply full. */
	take_n(&rl, "192.0.2.1", 0, 1000000);
	refused(&rl, "192.0.2.1", 0, 1);
	take_n(&rl, "192.0.2.1", UINT64_MAX / 2, 1000000);
	refused(&rl, "192.0.2.1", UINT64_MAX / 2, 1);
	/* The clock going back grants nothing and breaks nothing. */
	refused(&rl, "192.0.2.1", 5, 1);
	take_n(&rl, "192.0.2.1", UINT64_MAX / 2 + 1, 1000);
	rl_destroy(&rl);
}

static void test_bad_parameters(void **state)
{
	(void)state;
	struct rate_limit rl;
	assert_int_equal(rl_init(&rl, 0, 1, 16), -EINVAL);
	assert_int_equal(rl_init(&rl, 1, 0, 16), -EINVAL);
	assert_int_equal(rl_init(&rl, 1, 1, 0), -EINVAL);
	/* A NULL or non-IP address shares one bucket instead of crashing. */
	assert_int_equal(rl_init(&rl, 1, 1, 16), 0);
	uint32_t r;
	assert_true(rl_take(&rl, NULL, T0, &r));
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_false(rl_take(&rl, &un, T0, &r));
	assert_int_equal(r, 1);
	rl_destroy(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refusal),
		cmocka_unit_test(test_refill_rate),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_sources_independent),
		cmocka_unit_test(test_v4_mapped_is_v4),
		cmocka_unit_test(test_eviction_bound),
		cmocka_unit_test(test_cycling_refills_nothing),
		cmocka_unit_test(test_prefix_aggregation),
		cmocka_unit_test(test_clock_edges),
		cmocka_unit_test(test_bad_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
