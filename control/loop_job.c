/*
 * The walk over the control loop's jobs and their slice statistics (see
 * loop_job.h). One place measures every job, with the same two clocks the
 * sweep used alone before: wall time says how long a request waited behind
 * a slice, the thread's CPU time how much of that the slice itself cost.
 */
#include "control/loop_job.h"
#include "control/mono_clock.h"

uint64_t (*loop_job_clock)(clockid_t clock) = gn_clock_ns;

#define US 1000ull
const uint64_t loop_job_bucket_ns[LOOP_JOB_BUCKETS] = {
	100 * US,  250 * US,  500 * US,   1000 * US,  2000 * US,
	4000 * US, 8000 * US, 16000 * US, 64000 * US,
};

static void count_slice(struct loop_job_stats *st, uint64_t wall, uint64_t cpu)
{
	st->slices++;
	st->slice_ns_sum += wall;
	st->slice_cpu_ns_sum += cpu;
	for (unsigned i = 0; i < LOOP_JOB_BUCKETS; i++) {
		if (wall <= loop_job_bucket_ns[i]) {
			st->slice_bucket[i]++;
			break;
		}
	}
}

static uint64_t wall_ns(void)
{
	return loop_job_clock(CLOCK_MONOTONIC);
}

static uint64_t cpu_ns(void)
{
	return loop_job_clock(CLOCK_THREAD_CPUTIME_ID);
}

void loop_job_pass_begin(struct loop_job_stats *st)
{
	if (st->in_pass)
		return;
	st->in_pass = true;
	st->pass_begin_ns = wall_ns();
	st->pass_begin_cpu_ns = cpu_ns();
	st->pass_cpu_ns = 0;
}

void loop_job_pass_end(struct loop_job_stats *st)
{
	if (!st->in_pass)
		return;
	st->in_pass = false;
	st->ended = true;
	st->passes++;
}

/* One step, measured when it worked. A job that was not in a pass before
 * the step began one inside it: its CPU counts from that moment, which
 * spares the idle jobs a CPU-clock read (a system call) every turn. */
static bool step_one(struct loop_job *j, uint32_t now, uint64_t budget_ns)
{
	struct loop_job_stats *st = j->stats;
	bool was = st->in_pass;
	uint64_t t0 = wall_ns(), c0 = was ? cpu_ns() : 0;
	st->ended = false;
	bool more = j->step(j->self, now, budget_ns);
	if (!was && !st->in_pass && !st->ended)
		return more; /* nothing to do: not a slice */
	uint64_t t1 = wall_ns(), c1 = cpu_ns();
	if (!was)
		c0 = st->pass_begin_cpu_ns;
	count_slice(st, t1 - t0, c1 - c0);
	if (t1 - t0 > st->max_slice_ns)
		st->max_slice_ns = t1 - t0;
	if (c1 - c0 > st->max_slice_cpu_ns)
		st->max_slice_cpu_ns = c1 - c0;
	st->pass_cpu_ns += c1 - c0;
	if (st->ended) {
		st->last_pass_ns = st->pass_cpu_ns;
		st->last_pass_wall_ns = t1 - st->pass_begin_ns;
		st->ended = false;
	}
	return more;
}

bool loop_jobs_run(struct loop_job *jobs, unsigned n, uint32_t now, uint64_t budget_ns)
{
	uint64_t start = wall_ns();
	bool more = false;
	for (unsigned i = 0; i < n; i++) {
		uint64_t spent = wall_ns() - start;
		uint64_t left = spent < budget_ns ? budget_ns - spent : 0;
		uint64_t b = jobs[i].share_ns < left ? jobs[i].share_ns : left;
		more |= step_one(&jobs[i], now, b > LOOP_JOB_MIN_NS ? b : LOOP_JOB_MIN_NS);
	}
	return more;
}
