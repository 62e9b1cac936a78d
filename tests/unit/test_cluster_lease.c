/*
 * The decider lease's local logic (control/cluster_lease.c). Proves: a
 * take's row makes us decide with its epoch; a renewal's row keeps it and
 * moves the validity; a renewal without a row (someone else took it) steps
 * down at once; an error changes nothing until the validity runs out; the
 * validity counts from when the renewal was sent and ends a margin before
 * the lease, so the holder stops before the server's lease can expire; a
 * non-decider never steps down or decides by the clock alone; a decider
 * that saw no other live collector keeps deciding through a store loss
 * until a renewal finds another holder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "control/cluster_lease.h"

#define S 1000000000ull

static void test_take_renew_lose(void **state)
{
	(void)state;
	struct lease_state l = {.lease_ns = 10 * S};
	assert_false(lease_wants_renewal(&l));
	assert_int_equal(lease_answer(&l, true, false, 0, 1 * S), LEASE_NONE); /* not expired */
	assert_false(l.deciding);
	assert_int_equal(lease_answer(&l, true, true, 7, 2 * S), LEASE_TOOK);
	assert_true(l.deciding);
	assert_true(lease_wants_renewal(&l));
	assert_int_equal(l.epoch, 7);
	assert_int_equal(lease_answer(&l, true, true, 7, 5 * S), LEASE_RENEWED);
	assert_int_equal(l.renewed_ns, 5 * S);
	/* The renewal found no row of ours: another collector holds epoch 8. */
	assert_int_equal(lease_answer(&l, true, false, 0, 8 * S), LEASE_LOST);
	assert_false(l.deciding);
	assert_int_equal(l.took, 1);
	assert_int_equal(l.lost, 1);
}

static void test_error_then_expiry(void **state)
{
	(void)state;
	struct lease_state l = {.lease_ns = 10 * S};
	assert_int_equal(lease_answer(&l, true, true, 1, 100 * S), LEASE_TOOK);
	/* The database does not answer: still deciding until the validity ends. */
	assert_int_equal(lease_answer(&l, false, false, 0, 103 * S), LEASE_NONE);
	assert_true(l.deciding);
	assert_int_equal(lease_tick(&l, 108 * S), LEASE_NONE);
	/* lease 10 s, margin 1 s: valid to 109 s after a send at 100 s. */
	assert_int_equal(lease_tick(&l, 109 * S - 1), LEASE_NONE);
	assert_int_equal(lease_tick(&l, 109 * S), LEASE_LOST);
	assert_false(l.deciding);
	assert_int_equal(lease_tick(&l, 200 * S), LEASE_NONE);
	assert_false(l.deciding);
}

static void test_alone_keeps_deciding(void **state)
{
	(void)state;
	struct lease_state l = {.lease_ns = 10 * S};
	lease_answer(&l, true, true, 1, 0);
	l.alone = true;
	assert_int_equal(lease_tick(&l, 100 * S), LEASE_NONE);
	assert_true(l.deciding);
	/* Back in touch: another collector took it meanwhile. */
	assert_int_equal(lease_answer(&l, true, false, 0, 101 * S), LEASE_LOST);
	assert_false(l.deciding);
}

static void test_margin(void **state)
{
	(void)state;
	assert_int_equal(lease_margin_ns(10 * S), S);
	assert_int_equal(lease_margin_ns(1 * S), 200000000ull);
	/* A wrong epoch in the renewal's row is someone else's lease. */
	struct lease_state l = {.lease_ns = 2 * S};
	lease_answer(&l, true, true, 3, 0);
	assert_int_equal(lease_answer(&l, true, true, 4, S), LEASE_LOST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_renew_lose),
		cmocka_unit_test(test_error_then_expiry),
		cmocka_unit_test(test_alone_keeps_deciding),
		cmocka_unit_test(test_margin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
