/*
 * The replay cache (control/replay_cache.c), issue 13 item 5. Proves: a
 * second request with the same kind, id and time is refused, other kinds
 * and times are not; an entry out of the window makes room; and however
 * small the cache for the load, no request it accepted is ever accepted
 * again while inside the window (a full bucket forgets and refuses, it
 * never forgets and accepts), while a cache sized for the load refuses
 * nothing fresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "control/replay_cache.h"

#define NOW    1795000000u
#define WINDOW 300u

static void test_seen(void **state)
{
	(void)state;
	struct replay_cache c;
	assert_int_equal(replay_init(&c, 1024), 0);
	uint32_t oldest = NOW - WINDOW;
	assert_int_equal(replay_check(&c, 1, 42, NOW, oldest), REPLAY_FRESH);
	assert_int_equal(replay_check(&c, 1, 42, NOW, oldest), REPLAY_SEEN);
	assert_int_equal(replay_check(&c, 2, 42, NOW, oldest), REPLAY_FRESH);   /* other kind */
	assert_int_equal(replay_check(&c, 1, 43, NOW, oldest), REPLAY_FRESH);   /* other id */
	assert_int_equal(replay_check(&c, 1, 42, NOW + 1, oldest), REPLAY_FRESH); /* other time */
	assert_int_equal(replay_check(&c, 1, 42, NOW - 299, oldest), REPLAY_FRESH);
	assert_int_equal(replay_check(&c, 1, 42, NOW - 299, oldest), REPLAY_SEEN);
	assert_int_equal(c.seen, 2);
	assert_int_equal(c.forgotten + c.evicted, 0);
	replay_destroy(&c);
}

/* A tiny cache under a heavy load: every accepted (kind, id, time) is
 * refused when it comes again inside the window, SEEN or FORGOTTEN. */
static void test_never_accepts_twice(void **state)
{
	(void)state;
	struct replay_cache c;
	assert_int_equal(replay_init(&c, 1024), 0);
	enum { N = 20000 };
	static uint64_t ids[N];
	static uint32_t times[N];
	static bool fresh[N];
	srand(7);
	for (int i = 0; i < N; i++) {
		ids[i] = ((uint64_t)rand() << 31 | (uint64_t)rand()) % 5000 + 1;
		times[i] = NOW - (uint32_t)(rand() % WINDOW);
		fresh[i] = replay_check(&c, 1, ids[i], times[i], NOW - WINDOW) == REPLAY_FRESH;
	}
	assert_true(c.evicted > 0); /* it was too small: the case in point */
	for (int i = 0; i < N; i++)
		if (fresh[i] && replay_check(&c, 1, ids[i], times[i], NOW - WINDOW) == REPLAY_FRESH)
			fail_msg("request %d (id %llu, time now-%u) accepted twice", i,
				 (unsigned long long)ids[i], NOW - times[i]);
	replay_destroy(&c);
}

/* Sized for the load (4 x the requests of a window), with the clock moving
 * on: entries leave with the window, nothing fresh is ever refused, and
 * hardly anything is evicted. */
static void test_window_frees(void **state)
{
	(void)state;
	struct replay_cache c;
	assert_int_equal(replay_init(&c, 1 << 17), 0);
	/* 100 requests a second for an hour: 30,000 in any window. */
	for (uint32_t t = NOW; t < NOW + 3600; t++)
		for (uint64_t k = 0; k < 100; k++)
			if (replay_check(&c, 1, t * 100ull + k, t, t - WINDOW) != REPLAY_FRESH)
				fail_msg("fresh request %llu at %u refused", (unsigned long long)k, t);
	if (c.evicted > 360000 / 1000) /* under 0.1 % */
		fail_msg("%llu of 360000 evicted", (unsigned long long)c.evicted);
	assert_int_equal(c.forgotten, 0);
	replay_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_never_accepts_twice),
		cmocka_unit_test(test_window_frees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
