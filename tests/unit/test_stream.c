/*
 * The transition stream of several collectors (control/stream_apply.c,
 * control/transitions.c feed_push_at, control/store.c OP_TRANSITIONS).
 * Proves: the cursor takes each number once, drops old and repeated ones
 * and counts a gap; a row applied to a registry sets the status, reason
 * and since as the decider had them, keeps the status tallies right and
 * pushes nothing into the local feed (it is not our transition); a known
 * status or an unknown endpoint changes nothing; the job shows history
 * rows without applying them, applies the rest only when told to (not on
 * the decider), and its watch feed holds every row under its global
 * number, so a watcher resumes from any cursor, a skipped number reads as
 * not held; a transition and its status change are one op: when the
 * transitions' write fails, the status row does not commit either, and on
 * the retry both do; a collector that does not decide has both dropped.
 * A row for an endpoint not known yet (registered on another collector,
 * its change not applied here yet) is kept and applied once the change
 * feed brings the endpoint with an older stored status, in stream order;
 * a kept row older than the endpoint's status is not applied; one whose
 * endpoint never comes is dropped after STREAM_PENDING_MS. A removal or
 * guard event is shown with its kind and count, never applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "control/cluster_apply.h"
#include "control/cluster_changes.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/store.h"
#include "control/store_db.h"
#include "control/stream_apply.h"
#include "control/transitions.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"

#define NOW TU_NOW

static struct tu_registry fx;

static void test_accept(void **state)
{
	(void)state;
	struct stream_cursor c = {0};
	assert_true(stream_accept(&c, 1));
	assert_true(stream_accept(&c, 2));
	assert_false(stream_accept(&c, 2)); /* repeated */
	assert_false(stream_accept(&c, 1)); /* old */
	assert_int_equal(c.duplicates, 2);
	assert_int_equal(c.gaps, 0);
	assert_true(stream_accept(&c, 5)); /* 3 and 4 never came */
	assert_int_equal(c.gaps, 2);
	assert_int_equal(c.last, 5);
	assert_false(stream_accept(&c, 4));
	struct stream_cursor from = {.last = 100}; /* a reader started at 100 */
	assert_true(stream_accept(&from, 101));
	assert_int_equal(from.gaps, 0);
}

static struct endpoint *online_ep(const char *guid)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(&fx.reg, guid, NOW - 10, &ep), 0);
	status_on_register(&fx.reg, fx.pol, ep, NOW - 10);
	assert_int_equal(ep->status, EP_ONLINE);
	return ep;
}

static void test_apply_row(void **state)
{
	(void)state;
	struct endpoint *ep = online_ep("s-1");
	online_ep("s-2");
	struct transition_feed *local = feed_new(16, NULL);
	fx.reg.feed = local;
	uint64_t next = feed_next_seq(local);
	struct store_trans t = {.seq = 7,
				.id = ep->id,
				.time = NOW,
				.old_status = EP_ONLINE,
				.new_status = EP_OFFLINE,
				.reason = EP_REASON_NO_CONTACT};
	assert_int_equal(stream_apply_row(&fx.reg, &t), 1);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_false(ep->up);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW);
	assert_int_equal(fx.reg.by_status[EP_OFFLINE], 1);
	assert_int_equal(fx.reg.by_status[EP_ONLINE], 1);
	tu_check_counts(&fx.reg);
	assert_int_equal(feed_next_seq(local), next); /* not a transition of ours */
	assert_int_equal(stream_apply_row(&fx.reg, &t), 0); /* has it already */
	t.new_status = EP_UNREACH_ONLINE;
	assert_int_equal(stream_apply_row(&fx.reg, &t), 1);
	assert_true(ep->unreachable && ep->up);
	tu_check_counts(&fx.reg);
	t.id ^= 1;
	assert_int_equal(stream_apply_row(&fx.reg, &t), -1); /* not known here */
	fx.reg.feed = NULL;
	feed_free(local);
}

static struct store_trans row(uint64_t seq, const struct endpoint *ep, uint8_t to)
{
	return (struct store_trans){.seq = seq,
				    .id = ep->id,
				    .time = NOW + (uint32_t)seq,
				    .old_status = EP_ONLINE,
				    .new_status = to,
				    .reason = EP_REASON_NO_CONTACT};
}

static void test_job_rows(void **state)
{
	(void)state;
	struct endpoint *a = online_ep("j-a"), *b = online_ep("j-b");
	struct transition_feed *watch = feed_new(64, NULL);
	assert_non_null(watch);
	/* As stream_job_init sets it from the reader: read from 10 on, the
	 * stream stood at 12 when opened (the load has 11 and 12). */
	struct stream_job j = {.reg = &fx.reg, .watch = watch, .cur = {.last = 10, .history = 12}};
	assert_int_equal(feed_start_at(watch, 11), 0);
	struct store_trans r11 = row(11, a, EP_OFFLINE), r12 = row(12, b, EP_OFFLINE);
	stream_take_row(&j, &r11, true);
	stream_take_row(&j, &r12, true);
	assert_int_equal(a->status, EP_ONLINE); /* history: shown, not applied */
	assert_int_equal(j.applied, 0);
	struct store_trans r13 = row(13, a, EP_OFFLINE);
	stream_take_row(&j, &r13, true);
	assert_int_equal(a->status, EP_OFFLINE);
	assert_int_equal(j.applied, 1);
	struct store_trans r15 = row(15, b, EP_OFFLINE);
	stream_take_row(&j, &r15, false); /* the decider: its registry made it */
	assert_int_equal(b->status, EP_ONLINE);
	assert_int_equal(j.cur.gaps, 1);
	stream_take_row(&j, &r13, true); /* read twice: once only */
	assert_int_equal(j.cur.duplicates, 1);
	/* The watchers' feed: every row under its global number. */
	assert_int_equal(feed_next_seq(watch), 16);
	assert_int_equal(feed_oldest_seq(watch), 11);
	for (uint64_t s = 11; s <= 15; s++) {
		const struct transition *t = feed_get(watch, s);
		if (s == 14) {
			assert_null(t); /* never in the stream */
			continue;
		}
		assert_non_null(t);
		assert_int_equal(t->seq, s);
		assert_int_equal(t->kind, TK_STATUS);
		assert_int_equal(t->new_status, EP_OFFLINE);
		assert_int_equal(t->time, NOW + s);
	}
	assert_int_equal(feed_get(watch, 13)->id, a->id);
	assert_int_equal(feed_get(watch, 13)->slot, a->slot);
	struct transition t = {.kind = TK_STATUS};
	assert_int_equal(feed_push_at(watch, &t, 15), -EINVAL); /* numbers only go up */
	tu_check_counts(&fx.reg);
	feed_free(watch);
}

/* A removal and a guard event in the stream: shown under their numbers
 * with their kind and count, never applied (the change feed removes, only
 * the decider guards): the endpoint keeps its status, nothing is pending. */
static void test_job_other_kinds(void **state)
{
	(void)state;
	struct endpoint *a = online_ep("k-a");
	struct transition_feed *watch = feed_new(64, NULL);
	assert_non_null(watch);
	struct stream_job j = {.reg = &fx.reg, .watch = watch};
	struct store_trans rm = row(1, a, EP_ONLINE), guard = {.seq = 2, .time = NOW, .count = 7};
	rm.kind = TK_REMOVED;
	rm.reason = EP_REMOVED_OPERATOR;
	guard.kind = TK_GUARD_RAISED;
	stream_take_row(&j, &rm, true);
	stream_take_row(&j, &guard, true);
	assert_int_equal(a->status, EP_ONLINE);
	assert_non_null(registry_by_id(&fx.reg, a->id));
	assert_int_equal(j.applied, 0);
	assert_int_equal(j.unknown, 0);
	assert_int_equal(j.npending, 0);
	const struct transition *t = feed_get(watch, 1);
	assert_non_null(t);
	assert_int_equal(t->kind, TK_REMOVED);
	assert_int_equal(t->id, a->id);
	assert_int_equal(t->reason, EP_REMOVED_OPERATOR);
	t = feed_get(watch, 2);
	assert_non_null(t);
	assert_int_equal(t->kind, TK_GUARD_RAISED);
	assert_int_equal(t->count, 7);
	tu_check_counts(&fx.reg);
	feed_free(watch);
}

/* ---- one op: a transition and its status change ---- */

static int fail_transitions;     /* the next calls to fail */
static int begins, transitions_n; /* calls seen */

static int fake_begin(struct store_db *db)
{
	begins++;
	return store_db_sqlite.begin(db);
}

static int fake_transitions(struct store_db *db, const struct store_trans *t, size_t n)
{
	if (fail_transitions > 0) {
		fail_transitions--;
		return -1;
	}
	transitions_n += (int)n;
	for (size_t i = 0; i < n; i++)
		if (store_db_sqlite.transition(db, &t[i]) < 0)
			return -1;
	return 0;
}

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

static int fake_fence(struct store_db *db, const char *holder, int64_t epoch)
{
	(void)db, (void)holder, (void)epoch;
	return 1;
}

static bool never_held(void *ctx, char *holder, size_t len, int64_t *epoch)
{
	(void)ctx;
	snprintf(holder, len, "me");
	*epoch = 1;
	return false;
}

static void test_one_op(void **state)
{
	(void)state;
	char dir[] = "/tmp/gn-stream-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	static struct store_db_ops ops;
	ops = store_db_sqlite;
	ops.begin = fake_begin;
	ops.transitions = fake_transitions;
	ops.fence = fake_fence; /* a backend with a fence, as PostgreSQL */
	struct store *s = store_open_with(&ops, path, path, err, sizeof(err));
	assert_non_null(s);
	struct store_endpoint e = {.id = 77, .slot = 3, .status = EP_ONLINE};
	snprintf(e.guid, sizeof(e.guid), "one-op");
	uint64_t t = store_put_endpoint(s, &e);
	for (int i = 0; i < 500 && store_committed(s) < t; i++)
		usleep(10000);
	assert_true(store_committed(s) >= t);

	struct store_trans tr[2] = {{.seq = 1, .id = 77, .time = NOW, .new_status = EP_OFFLINE},
				    {.seq = 2, .id = 77, .time = NOW + 1, .new_status = EP_ONLINE}};
	struct store_contact c = {.id = 77, .slot = 3, .status = EP_ONLINE, .status_since = NOW + 1};
	fail_transitions = 1;
	int b0 = begins;
	t = store_put_transitions(s, tr, 2, &c, 1);
	assert_true(t > 0);
	struct store_stats st;
	for (int i = 0; i < 500; i++) {
		store_get_stats(s, &st);
		if (st.commit_errors)
			break;
		usleep(10000);
	}
	assert_int_equal(st.commit_errors, 1);
	/* The failed write rolled the status row back with it. */
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 0);
	assert_int_equal(count(path, "SELECT status_since FROM endpoints WHERE id = 77"), 0);
	for (int i = 0; i < 500 && store_committed(s) < t; i++)
		usleep(10000);
	assert_true(store_committed(s) >= t);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 2);
	assert_int_equal(count(path, "SELECT status_since FROM endpoints WHERE id = 77"),
			 (int)(NOW + 1));
	assert_int_equal(transitions_n, 2);
	assert_int_equal(begins - b0, 2); /* one transaction each attempt: both in it */
	assert_int_equal(store_put_transitions(s, tr, STORE_TRANSITIONS_MAX + 1, &c, 1), 0);

	/* Not the decider: the fence drops the op whole, transitions and
	 * status row alike (and the ticket still commits). */
	struct store_fence f = {.current = never_held, .lost = NULL, .ctx = NULL};
	store_set_fence(s, &f);
	c.status_since = NOW + 50;
	t = store_put_transitions(s, tr, 1, &c, 1);
	for (int i = 0; i < 500 && store_committed(s) < t; i++)
		usleep(10000);
	assert_true(store_committed(s) >= t);
	assert_int_equal(count(path, "SELECT count(*) FROM transitions"), 2);
	assert_int_equal(count(path, "SELECT status_since FROM endpoints WHERE id = 77"),
			 (int)(NOW + 1));
	store_get_stats(s, &st);
	assert_int_equal(st.fenced_ops, 1);
	store_close(s, 1000);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The change feed's row of an endpoint registered elsewhere at NOW - 5,
 * its stored status as the feed read it. */
static struct change change_row(uint64_t id, const char *guid, uint32_t slot)
{
	struct change c = {.seq = 1, .id = id, .slot = slot, .present = true};
	c.e.id = id;
	c.e.slot = slot;
	snprintf(c.e.guid, sizeof(c.e.guid), "%s", guid);
	memset(c.e.key, 7, sizeof(c.e.key));
	c.e.registered = c.e.last_register = c.e.last_ctl_contact = NOW - 5;
	c.e.status = EP_ONLINE;
	c.e.reason = EP_REASON_REGISTERED;
	c.e.status_since = NOW - 5;
	return c;
}

static struct stream_job kept; /* large: its kept rows */

static void test_unknown_kept(void **state)
{
	(void)state;
	struct stream_job *j = &kept;
	*j = (struct stream_job){.reg = &fx.reg, .cur = {.last = 20, .history = 20}};
	/* Rows 21 (online) and 22 (offline) for an endpoint not here yet,
	 * one (23) for an endpoint that never comes. */
	struct store_trans r21 = {.seq = 21,
				  .id = 0x4242,
				  .time = NOW - 5,
				  .old_status = EP_OFFLINE,
				  .new_status = EP_ONLINE,
				  .reason = EP_REASON_REGISTERED};
	struct store_trans r22 = r21, r23 = r21;
	r22.seq = 22;
	r22.time = NOW;
	r22.old_status = EP_ONLINE;
	r22.new_status = EP_OFFLINE;
	r22.reason = EP_REASON_NO_CONTACT;
	r23.seq = 23;
	r23.id = 0x4343;
	stream_take_row(j, &r21, true);
	stream_take_row(j, &r22, true);
	stream_take_row(j, &r23, true);
	assert_int_equal(j->unknown, 3);
	assert_int_equal(j->npending, 3);
	uint64_t t0 = gn_mono_ns(); /* the rows were kept just before */
	stream_retry_pending(j, t0); /* nobody here yet: all kept */
	assert_int_equal(j->npending, 3);
	/* The change feed brings it with the status the store had when the
	 * feed read it: online, older than row 22. */
	struct change c = change_row(0x4242, "late-1", 40);
	char why[200];
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	struct endpoint *ep = registry_by_id(&fx.reg, 0x4242);
	assert_non_null(ep);
	assert_int_equal(ep->status, EP_ONLINE);
	stream_retry_pending(j, t0 + 1);
	/* Without the kept rows it would stay online: the stream's last word
	 * for it is 22, offline. */
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW);
	assert_int_equal(j->late, 1); /* 21 changed nothing: online already */
	assert_int_equal(j->npending, 1); /* 23 waits */
	tu_check_counts(&fx.reg);
	/* A kept row older than the endpoint's status is not applied. */
	struct store_trans r24 = r21;
	r24.seq = 24;
	r24.id = 0x4444;
	r24.time = NOW - 20;
	stream_take_row(j, &r24, true);
	struct change c2 = change_row(0x4444, "late-2", 41);
	c2.e.status = EP_OFFLINE;
	c2.e.reason = EP_REASON_NO_CONTACT;
	c2.e.status_since = NOW - 2;
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c2, NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	stream_retry_pending(j, t0 + 2);
	assert_int_equal(registry_by_id(&fx.reg, 0x4444)->status, EP_OFFLINE);
	assert_int_equal(j->late, 1);
	/* The one that never comes is dropped after STREAM_PENDING_MS. */
	assert_int_equal(j->npending, 1);
	stream_retry_pending(j, t0 + STREAM_PENDING_MS * 1000000ull + 1);
	assert_int_equal(j->npending, 0);
	tu_check_counts(&fx.reg);
}

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		REG(test_apply_row),
		REG(test_job_rows),
		REG(test_job_other_kinds),
		REG(test_unknown_kept),
		cmocka_unit_test(test_one_op),
	};
	return TU_RUN(tests);
}
