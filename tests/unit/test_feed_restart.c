/*
 * The transition numbering across a restart (issue 14: it began at 1
 * again, with no sign of it): control/transitions.c's feed_log_last_seq
 * and feed_start_at, as daemon_start.c uses them. Proves: the last seq is
 * read from the log's last whole line (an event, or a gap's resume), from
 * a log bigger than the 64 KiB read, and a last line cut by a crash still
 * counts; no log is 0; a feed started at N numbers from N, holds nothing
 * older (a watcher from before is told what it missed), and cannot be
 * renumbered once it has an event; a second run's log goes on where the
 * first's ended, no number used twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/transitions.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"

#define T0 1795000000u

static int setup(void **state)
{
	return tu_scratch_setup(state, "feedrs", "transitions.log");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_last_seq(void **state)
{
	struct tu_scratch *s = *state;
	assert_int_equal(feed_log_last_seq(s->path), 0); /* no log yet */
	write_file(s->path, "");
	assert_int_equal(feed_log_last_seq(s->path), 0);
	write_file(s->path, "{\"seq\":40,\"time\":1,\"kind\":\"guard-raised\",\"count\":1}\n"
			    "{\"seq\":41,\"time\":2,\"kind\":\"guard-released\",\"count\":1}\n");
	assert_int_equal(feed_log_last_seq(s->path), 41);
	write_file(s->path, "{\"seq\":7,\"time\":1,\"kind\":\"guard-raised\",\"count\":1}\n"
			    "{\"missed\":3,\"resume\":11}\n");
	assert_int_equal(feed_log_last_seq(s->path), 10);
	write_file(s->path, "{\"seq\":7,\"time\":1,\"kind\":\"guard-raised\",\"count\":1}\n"
			    "{\"seq\":8,\"time\":2,\"id\":\"00000000000000aa\",\"sl");
	assert_int_equal(feed_log_last_seq(s->path), 8); /* cut by a crash: 8 was used */
	write_file(s->path, "{\"seq\":7,\"time\":1,\"kind\":\"guard-raised\",\"count\":1}\n"
			    "not ours\n\n");
	assert_int_equal(feed_log_last_seq(s->path), 7);
	FILE *f = fopen(s->path, "w");
	for (unsigned i = 1; i <= 20000; i++)
		fprintf(f, "{\"seq\":%u,\"time\":%u,\"kind\":\"guard-raised\",\"count\":1}\n", i,
			T0 + i);
	fclose(f);
	assert_int_equal(feed_log_last_seq(s->path), 20000);
}

static void test_start_at(void **state)
{
	(void)state;
	struct transition_feed *f = feed_new(16, NULL);
	assert_non_null(f);
	assert_int_equal(feed_start_at(f, 42), 0);
	assert_int_equal(feed_next_seq(f), 42);
	assert_int_equal(feed_oldest_seq(f), 42); /* nothing older held */
	assert_null(feed_get(f, 41));
	struct transition t = {.time = T0, .kind = TK_GUARD_RAISED, .count = 1};
	assert_int_equal(feed_push(f, &t), 42);
	assert_int_equal(feed_oldest_seq(f), 42);
	assert_int_equal(feed_get(f, 42)->seq, 42);
	assert_int_equal(feed_start_at(f, 100), -EBUSY);
	for (int i = 0; i < 20; i++)
		feed_push(f, &t);
	assert_int_equal(feed_next_seq(f), 63);
	assert_int_equal(feed_oldest_seq(f), 63 - 16);
	feed_free(f);
}

static void test_second_run_goes_on(void **state)
{
	struct tu_scratch *s = *state;
	struct transition t = {.time = T0, .kind = TK_GUARD_RAISED, .count = 1};
	struct transition_feed *f = feed_new(16, s->path);
	for (int i = 0; i < 5; i++)
		feed_push(f, &t);
	feed_free(f); /* flushes */
	f = feed_new(16, s->path);
	uint64_t last = feed_log_last_seq(s->path);
	assert_int_equal(last, 5);
	assert_int_equal(feed_start_at(f, last + 1), 0);
	assert_int_equal(feed_push(f, &t), 6);
	feed_free(f);
	FILE *fp = fopen(s->path, "r");
	char line[256];
	unsigned n = 0;
	while (fgets(line, sizeof(line), fp)) {
		unsigned seq;
		assert_int_equal(sscanf(line, "{\"seq\":%u,", &seq), 1);
		assert_int_equal(seq, ++n);
	}
	fclose(fp);
	assert_int_equal(n, 6);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_last_seq, setup, tu_scratch_teardown),
		cmocka_unit_test_setup_teardown(test_start_at, setup, tu_scratch_teardown),
		cmocka_unit_test_setup_teardown(test_second_run_goes_on, setup,
						tu_scratch_teardown),
	};
	return TU_RUN(tests);
}
