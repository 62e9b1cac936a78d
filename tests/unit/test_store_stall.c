/*
 * A store whose commit neither fails nor finishes (issue 13 item 10): here
 * another connection holds the database's write lock, as a stalled disk
 * would hold a write. Proves: nothing fails, yet store_degraded() is up
 * once a commit has run STORE_STALL_MS, well before SQLite's 5 s busy
 * timeout turns it into an error, with a text naming the database and
 * saying it has not finished; nothing is committed meanwhile; once the
 * lock goes, the op commits and the alarm clears by itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "control/store.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_stalled_commit_raises_alarm(void **state)
{
	(void)state;
	char dir[] = "/tmp/gn-stall-XXXXXX", path[64], err[256], why[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	struct store *st = store_open(path, err, sizeof(err));
	assert_non_null(st);
	struct store_endpoint e = {.id = 7, .slot = 0, .guid = "g-7"};
	uint64_t t = store_put_endpoint(st, &e);
	for (int i = 0; i < 300 && store_committed(st) < t; i++)
		usleep(10000);
	assert_true(store_committed(st) >= t);

	sqlite3 *other;
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	e.id = 8;
	e.slot = 1;
	snprintf(e.guid, sizeof(e.guid), "g-8");
	uint64_t t0 = now_ms();
	t = store_put_endpoint(st, &e);
	assert_true(t > 0);
	while (!store_degraded(st, why, sizeof(why))) {
		if (now_ms() - t0 > 4500)
			fail_msg("no alarm after %llu ms of a commit that cannot finish",
				 (unsigned long long)(now_ms() - t0));
		usleep(20000);
	}
	uint64_t took = now_ms() - t0;
	print_message("    alarm after %llu ms: %s\n", (unsigned long long)took, why);
	assert_true(took >= STORE_STALL_MS - 100);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "has not finished"));
	struct store_stats stats;
	store_get_stats(st, &stats);
	assert_int_equal(stats.commit_errors, 0);   /* nothing failed: it stalled */
	assert_true(store_committed(st) < t);

	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	for (int i = 0; i < 800 && store_committed(st) < t; i++)
		usleep(10000);
	assert_true(store_committed(st) >= t);
	assert_false(store_degraded(st, why, sizeof(why)));
	assert_string_equal(why, "");
	store_close(st, 2000);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_commit_raises_alarm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
