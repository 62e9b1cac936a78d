/*
 * A blocking job off the caller's thread (control/io_offload.h, issue 13
 * item 10). Proves: a job that returns at once gives its result
 * synchronously; one that blocks (a read of an empty pipe, standing in for
 * a write to a frozen disk) hands control back after the wait with "still
 * running", refuses a second job meanwhile, and is collected with its
 * result once it returns; stopping leaves a job that never returns behind
 * instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/io_offload.h"
#include "control/mono_clock.h"

#define MS 1000000ull

static int quick(void *arg)
{
	return *(int *)arg;
}

static int blocking_read(void *arg)
{
	char c;
	ssize_t n = read(*(int *)arg, &c, 1);
	return n == 1 ? c : -EIO;
}

static void quick_job_is_synchronous(void **state)
{
	(void)state;
	struct io_offload o;
	assert_int_equal(io_offload_start(&o), 0);
	int v = -ENOSPC, res = 0;
	assert_int_equal(io_offload_run(&o, quick, &v, 1000 * MS, &res), 1);
	assert_int_equal(res, -ENOSPC);
	assert_int_equal(io_offload_poll(&o, 0, &res), -ENOENT);
	assert_int_equal(o.stalls, 0);
	io_offload_stop(&o, 1000 * MS);
}

static void blocked_job_hands_back_control(void **state)
{
	(void)state;
	struct io_offload o;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_offload_start(&o), 0);
	int res = 0, v = 0;
	uint64_t t0 = gn_mono_ns();
	assert_int_equal(io_offload_run(&o, blocking_read, &p[0], 50 * MS, &res), 0);
	uint64_t waited = gn_mono_ns() - t0;
	assert_true(waited >= 50 * MS);
	assert_int_equal(o.stalls, 1);
	assert_int_equal(io_offload_run(&o, quick, &v, 10 * MS, &res), -EBUSY);
	assert_int_equal(io_offload_poll(&o, 10 * MS, &res), 0);
	assert_true(io_offload_running_ns(&o) >= 60 * MS);
	assert_int_equal(write(p[1], "x", 1), 1); /* the disk thaws */
	assert_int_equal(io_offload_poll(&o, 5000 * MS, &res), 1);
	assert_int_equal(res, 'x');
	assert_int_equal(io_offload_running_ns(&o), 0);
	v = 7;
	assert_int_equal(io_offload_run(&o, quick, &v, 1000 * MS, &res), 1);
	assert_int_equal(res, 7);
	io_offload_stop(&o, 1000 * MS);
	close(p[0]);
	close(p[1]);
}

static void stop_leaves_a_stuck_job_behind(void **state)
{
	(void)state;
	static struct io_offload o; /* the detached thread keeps using it */
	static int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_offload_start(&o), 0);
	int res;
	assert_int_equal(io_offload_run(&o, blocking_read, &p[0], 10 * MS, &res), 0);
	uint64_t t0 = gn_mono_ns();
	io_offload_stop(&o, 20 * MS);
	assert_true(gn_mono_ns() - t0 < 2000 * MS);
}

static void without_a_thread_it_runs_inline(void **state)
{
	(void)state;
	struct io_offload o = {0};
	int v = 3, res = 0;
	assert_int_equal(io_offload_run(&o, quick, &v, 0, &res), 1);
	assert_int_equal(res, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quick_job_is_synchronous),
		cmocka_unit_test(blocked_job_hands_back_control),
		cmocka_unit_test(stop_leaves_a_stuck_job_behind),
		cmocka_unit_test(without_a_thread_it_runs_inline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
