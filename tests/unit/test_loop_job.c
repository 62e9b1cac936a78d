/*
 * The control loop's jobs (control/loop_job.c, control/daemon_jobs.c).
 * On a fake clock, the walk: gives each job min(its share, what the jobs
 * before it left of the turn's budget) and never less than LOOP_JOB_MIN_NS;
 * calls every job once a turn, in order, and says "more" when any job does;
 * measures a slice only for a step in or at the edge of a pass (no CPU
 * clock read for an idle job); keeps the longest slice in wall and CPU
 * time and the last pass's CPU and wall time. On the real daemon wiring:
 * every job has its row and its name in `show stats`, each decides itself
 * when it is due, and the sweep's section keeps its names.
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
#include <jansson.h>

#include "control/ctl_commands.h"
#include "control/daemon.h"
#include "control/loop_job.h"
#include "control/mono_clock.h"
#include "control/status.h"
#include "control/store.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#define LOG_TAG "test"
#include "glournet/log.h"

#define MS (1000ull * 1000)

/* ================= a fake clock and fake jobs ================= */

static uint64_t fake_wall, fake_cpu;
static unsigned cpu_reads;

static uint64_t fake_clock(clockid_t clock)
{
	if (clock == CLOCK_THREAD_CPUTIME_ID) {
		cpu_reads++;
		return fake_cpu;
	}
	return fake_wall;
}

/* Each step: when `passes_in` steps remain of a pass (or a new one is due,
 * `start`), works `wall`/`cpu` ns and ends the pass after its last step. */
struct fake_job {
	struct loop_job_stats stats;
	unsigned steps_per_pass;   /* 0: always idle */
	unsigned left;             /* steps left in the pass under way */
	bool start;                /* begin a pass at the next step */
	bool more;                 /* what the step returns */
	uint64_t wall[8], cpu[8];  /* the work of the pass's k-th step */
	uint64_t budget;           /* the budget of its last step */
	unsigned calls, order;
};

static unsigned call_seq;

static bool fake_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	struct fake_job *j = self;
	j->calls++;
	j->order = call_seq++;
	j->budget = budget_ns;
	if (!j->left && j->start && j->steps_per_pass) {
		j->start = false;
		j->left = j->steps_per_pass;
		loop_job_pass_begin(&j->stats);
	}
	if (j->left) {
		unsigned k = j->steps_per_pass - j->left;
		fake_wall += j->wall[k];
		fake_cpu += j->cpu[k];
		if (--j->left == 0)
			loop_job_pass_end(&j->stats);
	}
	return j->more;
}

static struct loop_job row(struct fake_job *j, uint64_t share)
{
	return (struct loop_job){.name = "fake", .step = fake_step, .self = j, .stats = &j->stats,
				 .share_ns = share};
}

static int fake_setup(void **state)
{
	(void)state;
	loop_job_clock = fake_clock;
	fake_wall = 1000 * MS;
	fake_cpu = 500 * MS;
	cpu_reads = call_seq = 0;
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	loop_job_clock = gn_clock_ns;
	return 0;
}

/* A job that works one step a pass, for `wall` ns. */
static struct fake_job busy(uint64_t wall)
{
	return (struct fake_job){.steps_per_pass = 1, .start = true, .wall = {wall},
				 .cpu = {wall / 2}};
}

/* ================= the walk ================= */

static void test_budget_split(void **state)
{
	(void)state;
	/* 10 ms a turn: A takes its 4, B its 5 (6 were left), C is cut to the
	 * 1 left, and D and E, with nothing left, get the least slice. */
	struct fake_job a = busy(4 * MS), b = busy(5 * MS), c = busy(1 * MS),
			dj = busy(0), e = {0};
	struct loop_job jobs[] = {row(&a, 4 * MS), row(&b, 5 * MS), row(&c, 3 * MS),
				  row(&dj, 2 * MS), row(&e, 2 * MS)};
	loop_jobs_run(jobs, 5, 100, 10 * MS);
	assert_int_equal(a.budget, 4 * MS);
	assert_int_equal(b.budget, 5 * MS);
	assert_int_equal(c.budget, 1 * MS);
	assert_int_equal(dj.budget, LOOP_JOB_MIN_NS);
	assert_int_equal(e.budget, LOOP_JOB_MIN_NS);

	/* Idle jobs spend nothing: the next one gets its whole share, and a
	 * share larger than the turn is cut to the turn. */
	struct fake_job i1 = {0}, i2 = {0}, big = busy(1 * MS);
	struct loop_job more_jobs[] = {row(&i1, 3 * MS), row(&i2, 3 * MS), row(&big, 50 * MS)};
	loop_jobs_run(more_jobs, 3, 100, 10 * MS);
	assert_int_equal(i1.budget, 3 * MS);
	assert_int_equal(i2.budget, 3 * MS);
	assert_int_equal(big.budget, 10 * MS);

	/* A zero budget for the turn still gives every job something. */
	loop_jobs_run(more_jobs, 3, 100, 0);
	assert_int_equal(i1.budget, LOOP_JOB_MIN_NS);
	assert_int_equal(big.budget, LOOP_JOB_MIN_NS);
}

static void test_more_and_order(void **state)
{
	(void)state;
	struct fake_job a = {0}, b = {0}, c = {0};
	struct loop_job jobs[] = {row(&a, MS), row(&b, MS), row(&c, MS)};
	assert_false(loop_jobs_run(jobs, 3, 100, 10 * MS));
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 1);
	assert_true(a.order < b.order && b.order < c.order);
	for (int k = 0; k < 3; k++) {   /* any one job with more: more */
		struct fake_job *j[] = {&a, &b, &c};
		j[k]->more = true;
		assert_true(loop_jobs_run(jobs, 3, 100, 10 * MS));
		j[k]->more = false;
	}
	assert_false(loop_jobs_run(jobs, 3, 100, 10 * MS));
	assert_int_equal(c.calls, 5);
}

static void test_stats(void **state)
{
	(void)state;
	/* A pass of three slices, with 10 ms between the turns. */
	struct fake_job j = {.steps_per_pass = 3, .start = true, .more = true,
			     .wall = {2 * MS, 5 * MS, 1 * MS}, .cpu = {1 * MS, 3 * MS, 1 * MS}};
	struct fake_job idle = {0};
	struct loop_job jobs[] = {row(&j, 8 * MS), row(&idle, 8 * MS)};
	for (int turn = 0; turn < 4; turn++) {   /* the fourth: nothing to do */
		loop_jobs_run(jobs, 2, 100, 20 * MS);
		fake_wall += 10 * MS;
		fake_cpu += 7 * MS;   /* other work of the thread: not the job's */
	}
	assert_int_equal(j.stats.slices, 3);
	assert_int_equal(j.stats.passes, 1);
	assert_int_equal(j.stats.max_slice_ns, 5 * MS);
	assert_int_equal(j.stats.max_slice_cpu_ns, 3 * MS);
	assert_int_equal(j.stats.last_pass_ns, 5 * MS);                    /* 1 + 3 + 1 */
	assert_int_equal(j.stats.last_pass_wall_ns, (2 + 10 + 5 + 10 + 1) * MS);
	assert_false(j.stats.in_pass);
	assert_int_equal(idle.stats.slices, 0);
	assert_int_equal(idle.stats.passes, 0);

	/* A second pass, begun and ended in one step: its own figures. */
	j.steps_per_pass = 1;
	j.wall[0] = 3 * MS;
	j.cpu[0] = 2 * MS;
	j.start = true;
	loop_jobs_run(jobs, 2, 100, 20 * MS);
	assert_int_equal(j.stats.slices, 4);
	assert_int_equal(j.stats.passes, 2);
	assert_int_equal(j.stats.max_slice_ns, 5 * MS);
	assert_int_equal(j.stats.last_pass_ns, 2 * MS);
	assert_int_equal(j.stats.last_pass_wall_ns, 3 * MS);

	/* Idle jobs cost no CPU-clock read (a system call each). */
	cpu_reads = 0;
	struct fake_job i1 = {0}, i2 = {0};
	struct loop_job idles[] = {row(&i1, MS), row(&i2, MS)};
	for (int k = 0; k < 10; k++)
		loop_jobs_run(idles, 2, 100, 10 * MS);
	assert_int_equal(cpu_reads, 0);

	/* Passes count without the walk too (tests and shutdown call steps
	 * directly); slices are the walk's. */
	struct loop_job_stats st = {0};
	loop_job_pass_end(&st);             /* none under way: nothing */
	assert_int_equal(st.passes, 0);
	loop_job_pass_begin(&st);
	loop_job_pass_begin(&st);           /* under way already: the same pass */
	loop_job_pass_end(&st);
	assert_int_equal(st.passes, 1);
	assert_int_equal(st.slices, 0);
}

/* ================= the daemon's table ================= */

#define NOW 1795000000u

static struct gn_daemon dmn;
static char dir[64], db_path[128], log_path[128];
static unsigned port_reads;

static int fake_port_read(uint16_t port_id, struct port_stats *out)
{
	assert_int_equal(port_id, 3);
	port_reads++;
	out->ipackets = 42 * port_reads;
	return 0;
}

static int daemon_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gn-jobs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db_path, sizeof(db_path), "%s/glournet.db", dir);
	snprintf(log_path, sizeof(log_path), "%s/transitions.log", dir);
	char err[256];
	struct gn_daemon *d = &dmn;
	memset(d, 0, sizeof(*d));
	if (slot_table_init(&d->table, 2, 1u << 20) < 0 || registry_init(&d->reg, &d->table) < 0 ||
	    registry_reset_ranges(&d->reg, 0) < 0 || !(d->policy = policy_new_default()) ||
	    !(d->feed = feed_new(1024, log_path)) || !(d->store = store_open(db_path, err, sizeof(err))))
		return -1;
	d->reg.feed = d->feed;
	d->port_id = 3;
	d->opt.sweep_interval = 5;
	d->started = NOW - 10;
	port_reads = 0;
	gn_coarse_set(NOW);
	daemon_jobs_init(d, &(struct daemon_dataplane_ops){.read_port = fake_port_read});
	return 0;
}

static int daemon_teardown(void **state)
{
	(void)state;
	struct gn_daemon *d = &dmn;
	store_close(d->store, 5000);
	feed_free(d->feed);
	sweep_state_free(&d->sweep);
	bulk_jobs_free(&d->bulk);
	policy_free(d->policy);
	registry_destroy(&d->reg);
	slot_table_destroy(&d->table);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static json_t *job(json_t *stats, const char *name)
{
	json_t *o = json_object_get(json_object_get(stats, "jobs"), name);
	if (!json_is_object(o))
		fail_msg("show stats has no job '%s'", name);
	return o;
}

static json_int_t num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer", k);
	return json_integer_value(v);
}

static void test_daemon_table(void **state)
{
	(void)state;
	struct gn_daemon *d = &dmn;
	static const char *const names[] = {"netpath", "port", "decider", "stream", "contacts", "changes", "sweep", "index", "import", "export", "expire",
					    "reclassify", "notify", "reclaim", "log", "persist", "checkpoint", "query"};
	assert_int_equal(d->njobs, sizeof(names) / sizeof(names[0]));
	for (unsigned i = 0; i < d->njobs; i++)
		assert_string_equal(d->jobs[i].name, names[i]);

	char g[16];
	struct endpoint *ep = NULL;
	for (int i = 0; i < 20; i++) {
		snprintf(g, sizeof(g), "e%d", i);
		assert_int_equal(registry_add(&d->reg, g, NOW - 5, &ep), 0);
		status_on_register(&d->reg, d->policy, ep, NOW - 5);   /* transitions: log, store */
	}
	registry_remove(&d->reg, ep, EP_REMOVED_OPERATOR, NOW - 1);   /* a slot to reclaim */

	/* Turn at NOW: sweep, port and checkpoint are due (10 s since the
	 * start), and the turn's transitions go to the log and the store. */
	bool more = loop_jobs_run(d->jobs, d->njobs, NOW, DAEMON_TURN_BUDGET_NS);
	assert_false(more);   /* a small registry: everything done in one turn */
	assert_int_equal(port_reads, 1);
	assert_int_equal(d->port_stats.ipackets, 42);
	assert_int_equal(d->reg.nquarantine, 0);
	assert_false(feed_log_pending(d->feed));
	assert_int_equal(d->persist.seq, feed_next_seq(d->feed));
	/* Turn at NOW + 1: none of them is due again. */
	loop_jobs_run(d->jobs, d->njobs, NOW + 1, DAEMON_TURN_BUDGET_NS);
	assert_int_equal(port_reads, 1);
	/* NOW + 5: the sweep interval again; the checkpoint's 10 s not yet. */
	loop_jobs_run(d->jobs, d->njobs, NOW + 5, DAEMON_TURN_BUDGET_NS);
	assert_int_equal(port_reads, 2);

	json_t *st = cmd_show_stats(d, 0, NULL, NULL, 0);
	assert_non_null(st);
	assert_int_equal(json_object_size(json_object_get(st, "jobs")), d->njobs);
	assert_int_equal(num(job(st, "sweep"), "passes"), 2);
	assert_int_equal(num(job(st, "sweep"), "slices"), 2);
	assert_int_equal(num(job(st, "port"), "passes"), 2);
	assert_int_equal(num(job(st, "checkpoint"), "passes"), 1);
	assert_int_equal(num(job(st, "reclaim"), "passes"), 1);
	assert_int_equal(num(job(st, "log"), "passes"), 1);
	assert_int_equal(num(job(st, "persist"), "passes"), 1);
	assert_int_equal(num(job(st, "expire"), "slices"), 0);   /* off by default */
	assert_int_equal(num(job(st, "import"), "slices"), 0);
	assert_int_equal(num(job(st, "index"), "slices"), 0);
	assert_true(json_is_false(json_object_get(job(st, "sweep"), "in_pass")));
	/* The sweep's own section: the same figures, under its old names. */
	json_t *sw = json_object_get(st, "sweep");
	assert_int_equal(num(sw, "passes"), 2);
	assert_int_equal(num(sw, "slices"), 2);
	assert_true(json_is_false(json_object_get(sw, "in_progress")));
	assert_true(json_is_real(json_object_get(sw, "last_pass_wall_ms")));
	assert_int_equal(num(json_object_get(st, "registry"), "checkpoint_rows"),
			 (json_int_t)d->checkpoint.rows);
	json_decref(st);
}

int main(void)
{
	gn_log_max_level = GN_LOG_ERR;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_budget_split, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_more_and_order, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_stats, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_table, daemon_setup, daemon_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
