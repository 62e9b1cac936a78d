/*
 * The sliced reclassification after a range change (control/reclassify.h,
 * issue #15: no stall at 10 M): the walk in slices ends where one walk at
 * once does; counts stay exact while it runs (an endpoint not reached yet
 * is counted under no range, and one the HTTP side classifies meanwhile
 * is not counted twice); a change during the walk restarts it, even 70
 * times (the 6-bit generation wraps); notify campaigns wait for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/policy.h"
#include "control/reclassify.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/text.h"
#include "support/tu_registry.h"

static struct tu_registry fx;

#define N 20000 /* endpoints: 10.0.x.y, every 5th also in 192.0.2.0/24 */

static void add_n(unsigned n)
{
	char guid[32], ip[32];
	for (unsigned i = 0; i < n; i++) {
		snprintf(guid, sizeof(guid), "rc-%05u", i);
		struct endpoint *ep = NULL;
		assert_int_equal(registry_add(&fx.reg, guid, TU_NOW, &ep), 0);
		struct gn_addr ips[2];
		unsigned k = 0;
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(text_parse_addr(ip, strlen(ip), &ips[k++]), 0);
		if (i % 5 == 0) {
			snprintf(ip, sizeof(ip), "192.0.2.%u", i % 256);
			assert_int_equal(text_parse_addr(ip, strlen(ip), &ips[k++]), 0);
		}
		assert_int_equal(registry_set_ips(&fx.reg, ep, ips, k), 0);
		status_on_register(&fx.reg, fx.pol, ep, TU_NOW);
	}
}

/* by_range is exactly the tally of the endpoints classified under the set
 * in force (registry_range_of), and by_status that of their statuses. */
static void check_ranges(void)
{
	const struct registry *r = &fx.reg;
	uint32_t br[8][2] = {{0}};
	assert_true(r->nranges <= 8);
	for (uint32_t s = 0; s < r->nslots; s++) {
		const struct endpoint *ep = registry_at(r, s);
		int32_t range = registry_range_of(r, ep);
		if (ep->id && ep->unreachable && range >= 0)
			br[range][ep->up]++;
	}
	for (uint32_t i = 0; i < r->nranges; i++)
		for (int up = 0; up < 2; up++)
			if (br[i][up] != r->by_range[i][up])
				fail_msg("by_range[%u][%d] = %u, endpoints say %u", i, up,
					 r->by_range[i][up], br[i][up]);
	tu_check_counts(r);
}

static void set_ranges(const char *const *specs, size_t n)
{
	struct range_entry e[8];
	char err[256];
	for (size_t i = 0; i < n; i++)
		if (range_parse(specs[i], &e[i], err, sizeof(err)) < 0)
			fail_msg("range '%s': %s", specs[i], err);
	struct range_set *rs = range_set_build(e, n);
	assert_non_null(rs);
	range_set_free(fx.pol->ranges);
	fx.pol->ranges = rs;
}

static unsigned unreachable_count(void)
{
	unsigned n = 0;
	for (uint32_t s = 0; s < fx.reg.nslots; s++)
		n += registry_at(&fx.reg, s)->id && registry_at(&fx.reg, s)->unreachable;
	return n;
}

/* Slices of 1 ns (256 endpoints each): the walk takes many steps, counts
 * are exact after each, and it ends as one walk at once would. */
static void test_slices_end_as_one_walk(void **state)
{
	(void)state;
	add_n(N);
	struct reclassify_job j;
	struct policy *pol = fx.pol;
	reclassify_job_init(&j, &fx.reg, &pol);
	static const char *const r1[] = {"192.0.2.0/24"};
	set_ranges(r1, 1);
	assert_int_equal(reclassify_start(&j, TU_NOW + 10), 0);
	assert_int_equal(fx.reg.classified_below, 0);
	unsigned steps = 0;
	while (reclassify_step(&j, TU_NOW + 10, 1)) {
		steps++;
		assert_true(fx.reg.classified_below < N);
		check_ranges();
	}
	assert_true(steps >= N / 256 - 1);
	assert_int_equal(fx.reg.classified_below, UINT32_MAX);
	assert_int_equal(j.last_moved, N / 5);
	assert_int_equal(unreachable_count(), N / 5);
	check_ranges();
	uint32_t sliced[2] = {fx.reg.by_range[0][0], fx.reg.by_range[0][1]};
	/* The same change at once gives the same. */
	uint32_t moved = 99;
	static const char *const none[] = {"198.51.100.0/24"};
	set_ranges(none, 1);
	assert_int_equal(status_reclassify_all(&fx.reg, fx.pol, TU_NOW + 20, &moved), 0);
	assert_int_equal(moved, N / 5);
	set_ranges(r1, 1);
	assert_int_equal(status_reclassify_all(&fx.reg, fx.pol, TU_NOW + 30, &moved), 0);
	assert_int_equal(moved, N / 5);
	assert_int_equal(fx.reg.by_range[0][0], sliced[0]);
	assert_int_equal(fx.reg.by_range[0][1], sliced[1]);
	assert_int_equal(fx.reg.by_range[0][1], N / 5);
}

/* Halfway, the HTTP side classifies endpoints ahead of the walk (a poll
 * with new addresses, a registration): counted once, under the new set. */
static void test_classified_ahead_of_the_walk(void **state)
{
	(void)state;
	add_n(N);
	struct reclassify_job j;
	struct policy *pol = fx.pol;
	reclassify_job_init(&j, &fx.reg, &pol);
	static const char *const r2[] = {"192.0.2.0/25", "192.0.2.128/25"};
	set_ranges(r2, 2);
	assert_int_equal(reclassify_start(&j, TU_NOW), 0);
	for (int i = 0; i < 20; i++)
		assert_true(reclassify_step(&j, TU_NOW, 1));
	uint32_t at = fx.reg.classified_below;
	assert_true(at > 0 && at < N - 1000);
	/* Not reached yet: counted under no range. */
	assert_int_equal(registry_range_of(&fx.reg, registry_at(&fx.reg, N - 5)), -1);
	for (uint32_t s = N - 1000; s < N; s += 5) /* each an unreachable one */
		status_on_register(&fx.reg, fx.pol, registry_at(&fx.reg, s), TU_NOW + 1);
	check_ranges();
	reclassify_finish(&j, TU_NOW + 2);
	check_ranges();
	assert_int_equal(fx.reg.by_range[0][1] + fx.reg.by_range[1][1], N / 5);
}

/* A change during the walk starts it again; 70 of them wrap the 6-bit
 * generation, and the counts are still exact. */
static void test_restarts(void **state)
{
	(void)state;
	add_n(N);
	struct reclassify_job j;
	struct policy *pol = fx.pol;
	reclassify_job_init(&j, &fx.reg, &pol);
	static const char *const a[] = {"192.0.2.0/24"}, *const b[] = {"10.0.0.0/20"};
	for (int k = 0; k < 70; k++) {
		set_ranges(k % 2 ? b : a, 1);
		assert_int_equal(reclassify_start(&j, TU_NOW + (uint32_t)k), 0);
		for (int i = 0; i < 3; i++)
			reclassify_step(&j, TU_NOW + (uint32_t)k, 1);
		check_ranges();
	}
	reclassify_finish(&j, TU_NOW + 100);
	check_ranges();
	/* The last set was b (k = 69): 10.0.0.0/20 holds endpoints 0..4095. */
	assert_int_equal(fx.reg.by_range[0][1], 4096);
	assert_int_equal(unreachable_count(), 4096);
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_slices_end_as_one_walk),
		T(test_classified_ahead_of_the_walk),
		T(test_restarts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
