/*
 * The store's fence of several collectors (store.h store_set_fence, over
 * a backend whose fence() is scripted here, on SQLite's other calls).
 * Proves: without a fence nothing is asked; a collector that never held
 * the lease drops its status writes (transitions, contacts) without asking
 * the database, while its registrations commit; a fence that finds the
 * epoch commits the status writes, checked once per transaction; a fence
 * that finds another epoch tells `lost` that epoch, rolls back, drops the
 * status writes and commits the rest; every ticket still commits in order.
 * And the guid race of several collectors (store_take_rejected): a put
 * the backend refuses as another slot's guid (put() returns 1) is not
 * written, the rest of its batch is, its ticket still commits, and it is
 * reported once with its ticket, id and slot.
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
#include <sqlite3.h>

#include "control/store.h"
#include "control/store_db.h"

static int fence_answer;   /* what the scripted fence says: 1 held, 0 not */
static int fence_calls;    /* how often the database was asked */
static int64_t fence_seen; /* the epoch it was asked about */
static bool held;          /* what current() says */
static int64_t lost_epoch; /* what lost() was told; -1 nothing */

static int fake_fence(struct store_db *db, const char *holder, int64_t epoch)
{
	(void)db;
	assert_string_equal(holder, "me");
	fence_calls++;
	fence_seen = epoch;
	return fence_answer;
}

static bool current(void *ctx, char *holder, size_t len, int64_t *epoch)
{
	(void)ctx;
	snprintf(holder, len, "me");
	*epoch = 5;
	return held;
}

static void lost(void *ctx, int64_t epoch)
{
	(void)ctx;
	lost_epoch = epoch;
}

static struct store_db_ops fenced_ops;

static int count(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void wait_for(struct store *s, uint64_t t)
{
	for (int i = 0; i < 500 && store_committed(s) < t; i++)
		usleep(10000);
	assert_true(store_committed(s) >= t);
}

/* One put (slot `slot`) and one transition, queued together. */
static uint64_t put_and_transition(struct store *s, uint32_t slot)
{
	struct store_endpoint e = {.id = 100 + slot, .slot = slot};
	snprintf(e.guid, sizeof(e.guid), "g-%u", slot);
	assert_true(store_put_endpoint(s, &e) > 0);
	uint64_t t = store_put_transition(s, slot + 1, e.id, 1000, 0, 1, 0);
	assert_true(t > 0);
	return t;
}

static void test_fence(void **state)
{
	(void)state;
	char dir[] = "/tmp/gn-fence-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	fenced_ops = store_db_sqlite;
	fenced_ops.fence = fake_fence;
	struct store *s = store_open_with(&fenced_ops, path, path, err, sizeof(err));
	assert_non_null(s);
	struct store_stats st;

	/* No fence set: as one collector always was. */
	wait_for(s, put_and_transition(s, 0));
	assert_int_equal(fence_calls, 0);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 1);

	struct store_fence f = {.current = current, .lost = lost, .ctx = NULL};
	store_set_fence(s, &f);
	lost_epoch = -1;

	/* Never held: dropped without asking; the registration commits. */
	held = false;
	wait_for(s, put_and_transition(s, 1));
	assert_int_equal(fence_calls, 0);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 1);
	assert_int_equal(count(path, "SELECT count(*) FROM endpoints"), 2);
	store_get_stats(s, &st);
	assert_int_equal(st.fenced_ops, 1);

	/* Held, and the database agrees: committed, asked about epoch 5. */
	held = true;
	fence_answer = 1;
	wait_for(s, put_and_transition(s, 2));
	assert_true(fence_calls >= 1);
	assert_int_equal(fence_seen, 5);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 2);
	assert_int_equal(lost_epoch, -1);

	/* Another epoch in the database: lost(5), dropped, the put commits. */
	fence_answer = 0;
	int calls = fence_calls;
	wait_for(s, put_and_transition(s, 3));
	assert_true(fence_calls > calls);
	assert_int_equal(lost_epoch, 5);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 2);
	assert_int_equal(count(path, "SELECT count(*) FROM endpoints"), 4);
	store_get_stats(s, &st);
	assert_int_equal(st.fenced_ops, 2);

	store_close(s, 1000);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* SQLite's put, except that a guid "lost-..." lost the race. */
static int racing_put(struct store_db *db, const struct store_row *r)
{
	if (r->guid_len >= 5 && memcmp(r->guid, "lost-", 5) == 0)
		return 1;
	return store_db_sqlite.put(db, r);
}

static void test_rejected(void **state)
{
	(void)state;
	char dir[] = "/tmp/gn-reject-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	fenced_ops = store_db_sqlite;
	fenced_ops.put = racing_put;
	struct store *s = store_open_with(&fenced_ops, path, path, err, sizeof(err));
	assert_non_null(s);
	static const char *const guids[] = {"won-a", "lost-b", "won-c"};
	uint64_t t[3];
	for (unsigned i = 0; i < 3; i++) {
		struct store_endpoint e = {.id = 500 + i, .slot = 10 + i};
		snprintf(e.guid, sizeof(e.guid), "%s", guids[i]);
		t[i] = store_put_endpoint(s, &e);
		assert_true(t[i] > 0);
	}
	wait_for(s, t[2]);
	assert_int_equal(count(path, "SELECT count(*) FROM endpoints"), 2);
	assert_int_equal(count(path, "SELECT count(*) FROM endpoints WHERE guid = 'lost-b'"), 0);
	struct store_rejected rj[4];
	assert_int_equal(store_take_rejected(s, rj, 4), 1);
	assert_int_equal(rj[0].ticket, t[1]);
	assert_int_equal(rj[0].id, 501);
	assert_int_equal(rj[0].slot, 11);
	assert_int_equal(store_take_rejected(s, rj, 4), 0); /* taken once */
	struct store_stats st;
	store_get_stats(s, &st);
	assert_int_equal(st.rejected_puts, 1);
	assert_int_equal(st.commit_errors, 0);
	store_close(s, 1000);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
