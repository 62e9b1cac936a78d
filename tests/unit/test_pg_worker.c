/*
 * The shape of a thread with its own PostgreSQL connection
 * (control/pg_worker.c), without a database: the target is a socket
 * directory that does not exist, so every connection fails at once.
 * Proves: an open that connects fails with "<shown>: <what> connection:"
 * and libpq's reason, never the password; a worker never started or never
 * connected closes cleanly; a started one runs a round at once with conn
 * NULL (down, and tried again every round), a kick during a round makes
 * the next one start without waiting, a kick during the wait ends it, and
 * close ends a long wait at once and runs on_stop once, after the last
 * round, with conn NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "control/mono_clock.h"
#include "control/pg_worker.h"

#define TARGET "host=/nonexistent-glournet-test port=5432 dbname=x password=s3cret"
#define LONG_NS (60 * 1000000000ull)

struct probe {
	struct pg_worker *w;
	unsigned rounds, stops, conns;
	bool stop_after_round; /* on_stop came after the last round */
	bool kick_in_round;    /* the first round kicks itself */
};

static uint64_t probe_round(void *ctx, struct pg_conn *conn)
{
	struct probe *p = ctx;
	pg_worker_lock(p->w);
	p->rounds++;
	p->conns += conn != NULL;
	bool kick = p->kick_in_round && p->rounds == 1;
	pg_worker_unlock(p->w);
	if (kick)
		pg_worker_kick(p->w);
	return LONG_NS;
}

static void probe_stop(void *ctx, struct pg_conn *conn)
{
	struct probe *p = ctx;
	pg_worker_lock(p->w);
	p->stops++;
	p->conns += conn != NULL;
	p->stop_after_round = p->rounds > 0;
	pg_worker_unlock(p->w);
}

static struct pg_worker_conf conf_for(struct probe *p, bool connect_later)
{
	return (struct pg_worker_conf){.target = TARGET,
				       .shown = "db.example (password masked)",
				       .what = "test worker",
				       .app_name = "glournet-test",
				       .thread_name = "gn-test",
				       .statement_timeout_ms = 1000,
				       .tcp_user_timeout_ms = 1000,
				       .connect_later = connect_later,
				       .round = probe_round,
				       .on_stop = probe_stop,
				       .ctx = p};
}

/* Waits up to 5 s for the probe's rounds to reach n; the rounds seen. */
static unsigned wait_rounds(struct probe *p, unsigned n)
{
	uint64_t end = gn_mono_ns() + 5000000000ull;
	for (;;) {
		pg_worker_lock(p->w);
		unsigned r = p->rounds;
		pg_worker_unlock(p->w);
		if (r >= n || gn_mono_ns() > end)
			return r;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
}

static void test_open_unreachable(void **state)
{
	(void)state;
	struct probe p = {0};
	char err[512] = "";
	struct pg_worker_conf c = conf_for(&p, false);
	assert_null(pg_worker_open(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "db.example (password masked): test worker connection: "));
	assert_true(strlen(err) > strlen("db.example (password masked): test worker connection: "));
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(p.rounds + p.stops, 0);
}

static void test_close_never_started(void **state)
{
	(void)state;
	pg_worker_close(NULL);
	struct probe p = {0};
	char err[256] = "";
	struct pg_worker_conf c = conf_for(&p, true);
	p.w = pg_worker_open(&c, err, sizeof(err));
	assert_non_null(p.w);
	assert_null(pg_worker_conn(p.w));
	pg_worker_kick(p.w); /* before start: harmless */
	pg_worker_close(p.w);
	assert_int_equal(p.rounds + p.stops, 0); /* no thread ever ran */
}

static void test_rounds_kick_close(void **state)
{
	(void)state;
	struct probe p = {.kick_in_round = true};
	char err[256] = "";
	struct pg_worker_conf c = conf_for(&p, true);
	p.w = pg_worker_open(&c, err, sizeof(err));
	assert_non_null(p.w);
	assert_int_equal(pg_worker_start(p.w, err, sizeof(err)), 0);
	/* Round 1 at once; it kicked itself, so round 2 follows without its
	 * 60 s wait; round 2 does not kick: the worker waits. */
	assert_int_equal(wait_rounds(&p, 2), 2);
	nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
	pg_worker_lock(p.w);
	assert_int_equal(p.rounds, 2);
	pg_worker_unlock(p.w);
	/* A kick from outside ends that wait. */
	pg_worker_kick(p.w);
	assert_int_equal(wait_rounds(&p, 3), 3);
	/* Close ends the next 60 s wait at once. */
	uint64_t t0 = gn_mono_ns();
	pg_worker_close(p.w);
	assert_true(gn_mono_ns() - t0 < 3000000000ull);
	assert_int_equal(p.rounds, 3);
	assert_int_equal(p.stops, 1);
	assert_true(p.stop_after_round);
	assert_int_equal(p.conns, 0); /* never connected: NULL to every call */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_unreachable),
		cmocka_unit_test(test_close_never_started),
		cmocka_unit_test(test_rounds_kick_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
