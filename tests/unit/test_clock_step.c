/*
 * Steps of the real clock (control/clock_step.h, hb_accept.h, issue 13
 * item 9). Proves: time passing, a slewed clock, a stalled loop and a
 * suspend are not steps; a forward or backward step over a second is
 * seen once, counted by direction, rounded to whole seconds, and moves
 * the steady clock not at all, which keeps advancing second for second
 * (so `now - started` never wraps); and a worker judges a heartbeat on
 * the real clock and records it on the steady one, a sender still on the
 * clock it learned before the step included, while a time on neither is
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "control/clock_step.h"
#include "glournet/hb_accept.h"

#define S 1000000000ull
#define T0 1795000000ull /* real Unix seconds at the start */
#define M0 5000ull       /* boot-time seconds at the start */

static struct clock_step c;

static int64_t at(uint64_t wall_s, uint64_t mono_s, uint64_t extra_ns)
{
	return clock_step_observe(&c, wall_s * S + extra_ns, mono_s * S);
}

static void start(void)
{
	clock_step_init(&c, T0 * S, M0 * S);
	assert_int_equal(clock_step_wall(&c), T0);
	assert_int_equal(clock_step_steady(&c), T0);
}

static void time_passing_is_no_step(void **state)
{
	(void)state;
	start();
	for (uint64_t i = 1; i <= 100; i++)
		assert_int_equal(at(T0 + i, M0 + i, 0), 0);
	/* NTP slewing at its 500 ppm limit for 100 s, in 0.1 s turns. */
	uint64_t w = (T0 + 100) * S, m = (M0 + 100) * S;
	for (int i = 0; i < 1000; i++) {
		w += S / 10 + S / 10 / 2000;
		m += S / 10;
		assert_int_equal(clock_step_observe(&c, w, m), 0);
	}
	/* A loop stalled for 30 s: both clocks moved. A suspend of an hour:
	 * CLOCK_BOOTTIME counts it, so it is time that passed. */
	assert_int_equal(at(T0 + 300, M0 + 300, 0), 0);
	assert_int_equal(at(T0 + 3900, M0 + 3900, 0), 0);
	/* Under the tolerance: the clocks' nanoseconds disagreeing. */
	assert_int_equal(at(T0 + 3901, M0 + 3901, S - 1), 0);
	assert_int_equal(c.forward + c.backward, 0);
	assert_int_equal(c.base_s, 0);
	assert_int_equal(clock_step_steady(&c), clock_step_wall(&c));
}

static void forward_step_is_seen_and_held(void **state)
{
	(void)state;
	start();
	assert_int_equal(at(T0 + 10, M0 + 10, 0), 0);
	/* Two days ahead (beyond expire.after_days = 1, offline_after). */
	assert_int_equal(at(T0 + 11 + 2 * 86400, M0 + 11, 0), 2 * 86400);
	assert_int_equal(c.forward, 1);
	assert_int_equal(c.backward, 0);
	assert_int_equal(c.last_step_s, 2 * 86400);
	assert_int_equal(c.base_s, 2 * 86400);
	assert_int_equal(clock_step_wall(&c), T0 + 11 + 2 * 86400);
	assert_int_equal(clock_step_steady(&c), T0 + 11);
	/* Seen once: afterwards the clock runs on from where it went. */
	assert_int_equal(at(T0 + 12 + 2 * 86400, M0 + 12, 0), 0);
	assert_int_equal(clock_step_steady(&c), T0 + 12);
	assert_int_equal(c.forward, 1);
	/* Rounded to whole seconds: 2.6 s is 3, and the 0.4 s left passes
	 * through as time (the steady clock stays at its second). */
	assert_int_equal(at(T0 + 15 + 2 * 86400, M0 + 13, S * 6 / 10), 3);
	assert_int_equal(c.prev_base_s, 2 * 86400);
	assert_int_equal(c.base_s, 2 * 86400 + 3);
	assert_int_equal(clock_step_steady(&c), T0 + 12);
}

static void backward_step_never_goes_back(void **state)
{
	(void)state;
	start();
	uint32_t started = clock_step_steady(&c);
	assert_int_equal(at(T0 + 5, M0 + 5, 0), 0);
	/* An hour back, as when a wrong clock is corrected. */
	assert_int_equal(at(T0 + 6 - 3600, M0 + 6, 0), -3600);
	assert_int_equal(c.backward, 1);
	assert_int_equal(c.forward, 0);
	assert_int_equal(c.base_s, -3600);
	uint32_t now = clock_step_steady(&c);
	assert_int_equal(now, T0 + 6);
	/* R9's measure: since the start, not wrapped round. */
	assert_true(now >= started);
	assert_int_equal(now - started, 6);
	for (uint64_t i = 7; i < 60; i++) {
		assert_int_equal(at(T0 + i - 3600, M0 + i, 0), 0);
		assert_int_equal(clock_step_steady(&c) - started, i);
	}
}

/* A worker's view: the real clock one day ahead of the steady one since
 * a step; the previous base 0. */
static const struct hb_window stepped = {
	.now = T0 + 86400, .window = 300, .skew = 30, .base = 86400, .prev_base = 0};

static enum hb_verdict accept_at(uint32_t *seen, const struct hb_window *w, uint32_t time,
				 uint32_t *recorded)
{
	struct hb_msg m = {.time = time};
	enum hb_verdict v = hb_accept_store(seen, w, &m);
	*recorded = m.time;
	return v;
}

static void heartbeats_recorded_on_the_steady_clock(void **state)
{
	(void)state;
	uint32_t seen = 0, rec;
	/* A sender that learned the new clock: judged on it, recorded steady. */
	assert_int_equal(accept_at(&seen, &stepped, T0 + 86400 - 10, &rec), HB_ACCEPTED);
	assert_int_equal(rec, T0 - 10);
	assert_int_equal(seen, T0 - 10);
	/* A sender still on the clock from before the step: it counts, on the
	 * steady clock too, and a future time is still capped at now. */
	assert_int_equal(accept_at(&seen, &stepped, T0 - 5, &rec), HB_ACCEPTED);
	assert_int_equal(rec, T0 - 5);
	assert_int_equal(accept_at(&seen, &stepped, T0 + 20, &rec), HB_ACCEPTED);
	assert_int_equal(rec, T0);
	assert_int_equal(seen, T0);
	/* Outside both windows: refused as before, nothing recorded. */
	assert_int_equal(accept_at(&seen, &stepped, T0 - 1000, &rec), HB_TOO_OLD);
	assert_int_equal(accept_at(&seen, &stepped, T0 + 86400 + 100, &rec), HB_TOO_NEW);
	assert_int_equal(accept_at(&seen, &stepped, T0 + 43200, &rec), HB_TOO_OLD);
	assert_int_equal(seen, T0);
	/* No step (base == prev_base): exactly the old window. */
	const struct hb_window plain = {.now = T0, .window = 300, .skew = 30};
	seen = 0;
	assert_int_equal(accept_at(&seen, &plain, T0 - 300, &rec), HB_ACCEPTED);
	assert_int_equal(accept_at(&seen, &plain, T0 - 301, &rec), HB_TOO_OLD);
	assert_int_equal(accept_at(&seen, &plain, T0 + 31, &rec), HB_TOO_NEW);
	assert_int_equal(seen, T0 - 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_passing_is_no_step),
		cmocka_unit_test(forward_step_is_seen_and_held),
		cmocka_unit_test(backward_step_never_goes_back),
		cmocka_unit_test(heartbeats_recorded_on_the_steady_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
