/*
 * The control loop's long jobs, in one shape. Work that may take longer
 * than a request should wait (the sweep, expiry, the contact checkpoint,
 * bulk import and export, index growth, the transition log, ...) is a job:
 * its own state, a step function over it, and a row in the daemon's table
 * (daemon_jobs.c) that main.c:run() walks once per loop turn under one
 * budget. A new job is a state struct, a step, and one more row.
 *
 * The contract of a step, `bool step(self, now, budget_ns)`:
 *  - It runs on the control thread only, outside any RCU read-side section
 *    (reclaim waits for a grace period), called by loop_jobs_run or, at
 *    shutdown and in tests, directly.
 *  - It decides itself whether it is due (its interval, its settings) and
 *    returns at once, doing nothing, when it is not.
 *  - `budget_ns` is wall time, never 0: the step returns within about that,
 *    reading the clock every few hundred items. It may finish one smallest
 *    unit of its work (the sweep's 256 slots, the log's 1 MiB write, the
 *    reclaim's grace period) even when the budget is smaller.
 *  - It returns true when it has more work to do right now: the loop then
 *    polls without sleeping and calls it again at once. False when it is
 *    done, idle, waiting for something that wakes the loop by itself (the
 *    store's eventfd, the clock), or pacing itself on purpose (the
 *    checkpoint takes one slice a turn so it never crowds the store).
 *  - It marks its passes on its own stats with loop_job_pass_begin and
 *    loop_job_pass_end (a pass: one sweep, one export, one migration of an
 *    index, one flush of a backlog...). A step taken during a pass, or one
 *    that begins or ends one, is a slice and is measured; a step that finds
 *    nothing to do is not, so an idle job costs one call and no clock reads
 *    of CPU time. A step that ends a pass leaves the next one to the next
 *    step (it may begin one and end it).
 */
#ifndef GLOURNET_LOOP_JOB_H
#define GLOURNET_LOOP_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The least budget a step is given, even when the turn's is spent: every
 * job moves on every turn, however busy the ones before it are. */
#define LOOP_JOB_MIN_NS (100 * 1000)

/* The slices' wall times by bucket, for the metrics' histogram
 * (glournet_loop_job_slice_seconds): upper bounds from the least budget a
 * step gets to eight turns' worth. */
#define LOOP_JOB_BUCKETS 9
extern const uint64_t loop_job_bucket_ns[LOOP_JOB_BUCKETS];

/* What `show stats` and the metrics report for each job. */
struct loop_job_stats {
	uint64_t passes;           /* passes finished */
	uint64_t slices;           /* steps measured (see above) */
	uint64_t max_slice_ns;     /* longest slice since start, wall clock (preemption included) */
	uint64_t max_slice_cpu_ns; /* the same in this thread's CPU time: the slicing itself */
	uint64_t last_pass_ns;     /* CPU of the last pass, all its slices */
	uint64_t last_pass_wall_ns; /* from its beginning to the end of its last slice */
	uint64_t slice_ns_sum, slice_cpu_ns_sum; /* all slices since start */
	/* Slices of at most loop_job_bucket_ns[i], and not of the bucket before
	 * (per bucket, not cumulative); the longer ones only in `slices`. */
	uint64_t slice_bucket[LOOP_JOB_BUCKETS];
	/* Bookkeeping of the pass under way. */
	bool in_pass;
	bool ended; /* a pass ended in the step being measured */
	uint64_t pass_begin_ns, pass_begin_cpu_ns, pass_cpu_ns;
};

typedef bool loop_job_step_fn(void *self, uint32_t now, uint64_t budget_ns);

/* One row of the table. */
struct loop_job {
	const char *name; /* its key in show stats' "jobs" */
	loop_job_step_fn *step;
	void *self;                   /* the job's state */
	struct loop_job_stats *stats; /* in that state, so that direct calls count passes too */
	uint64_t share_ns;            /* most of a turn's budget this job is given */
};

/* Calls every job's step once, in table order, and returns true when any
 * has more to do right now. Job i gets min(its share, what is left of
 * `budget_ns` after the jobs before it), and at least LOOP_JOB_MIN_NS: the
 * earlier rows are served first, and none starves. Records each slice. */
bool loop_jobs_run(struct loop_job *jobs, unsigned n, uint32_t now, uint64_t budget_ns);

/* Called by the job from its step (or from what starts it): a pass begins;
 * nothing when one is under way already. */
void loop_job_pass_begin(struct loop_job_stats *st);
/* The pass under way ended; nothing when none is. */
void loop_job_pass_end(struct loop_job_stats *st);

/* The clocks the walk measures with (wall: CLOCK_MONOTONIC, CPU:
 * CLOCK_THREAD_CPUTIME_ID); tests put a fake one here. */
extern uint64_t (*loop_job_clock)(clockid_t clock);

#endif
