/*
 * The transition feed (R8), without sockets. Proves: pushes are numbered
 * from 1 in order and read back whole; a full ring overwrites the oldest
 * and feed_oldest_seq follows, so feed_get answers NULL both for events
 * overwritten and for events not pushed yet; the log is one JSON line per
 * event with the watch event's fields (names from ep_status_name and
 * ep_reason_name), appended to what the file held; a log that cannot be
 * opened or written counts each failed flush and keeps the lines, which
 * all arrive once it works again; events overwritten before they were
 * logged leave a {"missed","resume"} line, not a silent gap; one flush
 * writes a bounded amount; feed_free writes what is still pending;
 * transition_json, the one rendering of the log and of watch, writes each
 * kind's fields in order (the guid where the log has the slot), escapes
 * strings, and bounds its output as snprintf does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/registry.h"
#include "control/transitions.h"
#include "support/tu_scratch.h"
#include "support/tu_run.h"

#define T0 1795000000u

static struct transition status_ev(uint64_t id, uint8_t old, uint8_t new_, uint8_t reason)
{
	return (struct transition){.id = id, .slot = (uint32_t)id + 100, .time = T0 + (uint32_t)id,
				   .kind = TK_STATUS, .old_status = old, .new_status = new_,
				   .reason = reason};
}

static struct transition guard_ev(uint8_t kind, uint32_t count)
{
	return (struct transition){.time = T0, .kind = kind, .count = count};
}

/* ---- a scratch directory per test ---- */

static int scratch_setup(void **state)
{
	return tu_scratch_setup(state, "feed", "transitions.log");
}

/* The log as an array of parsed lines; fails the test on a bad line. */
static json_t *read_log(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	json_t *lines = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) > 0) {
		assert_int_equal(line[n - 1], '\n');
		json_error_t err;
		json_t *o = json_loadb(line, (size_t)n - 1, 0, &err);
		if (!o)
			fail_msg("log line is not JSON: %s (%s)", line, err.text);
		assert_true(json_is_object(o));
		json_array_append_new(lines, o);
	}
	free(line);
	fclose(fp);
	return lines;
}

static long long int_at(json_t *lines, size_t i, const char *key)
{
	json_t *v = json_object_get(json_array_get(lines, i), key);
	if (!json_is_integer(v))
		fail_msg("line %zu: no integer \"%s\"", i, key);
	return json_integer_value(v);
}

static const char *str_at(json_t *lines, size_t i, const char *key)
{
	json_t *v = json_object_get(json_array_get(lines, i), key);
	if (!json_is_string(v))
		fail_msg("line %zu: no string \"%s\"", i, key);
	return json_string_value(v);
}

/* ================= the ring ================= */

static void test_bad_capacity(void **state)
{
	(void)state;
	errno = 0;
	assert_null(feed_new(0, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(feed_new(6, NULL));
	assert_null(feed_new(65535, NULL));
	struct transition_feed *f = feed_new(1, NULL);
	assert_non_null(f);
	feed_free(f);
}

static void test_push_get_order(void **state)
{
	(void)state;
	struct transition_feed *f = feed_new(8, NULL);
	assert_non_null(f);
	assert_int_equal(feed_next_seq(f), 1);
	assert_int_equal(feed_oldest_seq(f), 1);   /* empty: oldest == next */
	assert_null(feed_get(f, 0));
	assert_null(feed_get(f, 1));
	for (uint64_t i = 1; i <= 5; i++) {
		struct transition t = status_ev(0xabc0 + i, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT);
		t.seq = 999;   /* ignored: the feed numbers */
		assert_int_equal(feed_push(f, &t), i);
		assert_int_equal(t.seq, 999);   /* the caller's copy is left alone */
		assert_int_equal(feed_next_seq(f), i + 1);
	}
	assert_int_equal(feed_oldest_seq(f), 1);
	for (uint64_t i = 1; i <= 5; i++) {
		const struct transition *t = feed_get(f, i);
		assert_non_null(t);
		assert_int_equal(t->seq, i);
		assert_int_equal(t->id, 0xabc0 + i);
		assert_int_equal(t->slot, 0xabc0 + i + 100);
		assert_int_equal(t->time, T0 + 0xabc0 + i);
		assert_int_equal(t->kind, TK_STATUS);
		assert_int_equal(t->old_status, EP_ONLINE);
		assert_int_equal(t->new_status, EP_OFFLINE);
		assert_int_equal(t->reason, EP_REASON_NO_CONTACT);
	}
	assert_null(feed_get(f, 6));    /* not yet */
	assert_null(feed_get(f, 0));    /* never */
	struct transition g = guard_ev(TK_GUARD_RAISED, 4242);
	assert_int_equal(feed_push(f, &g), 6);
	assert_int_equal(feed_get(f, 6)->count, 4242);
	assert_int_equal(feed_get(f, 6)->kind, TK_GUARD_RAISED);
	feed_free(f);
}

static void test_overwrite_when_full(void **state)
{
	(void)state;
	struct transition_feed *f = feed_new(8, NULL);
	for (uint64_t i = 1; i <= 8; i++) {
		struct transition t = status_ev(i, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT);
		feed_push(f, &t);
	}
	assert_int_equal(feed_oldest_seq(f), 1);   /* exactly full: nothing lost yet */
	assert_non_null(feed_get(f, 1));
	struct transition t = status_ev(9, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT);
	assert_int_equal(feed_push(f, &t), 9);
	assert_int_equal(feed_oldest_seq(f), 2);
	assert_null(feed_get(f, 1));
	for (uint64_t i = 10; i <= 1000; i++) {
		t = status_ev(i, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT);
		assert_int_equal(feed_push(f, &t), i);
		assert_int_equal(feed_oldest_seq(f), i - 7);
	}
	assert_int_equal(feed_next_seq(f), 1001);
	assert_null(feed_get(f, 992));   /* too old */
	for (uint64_t s = 993; s <= 1000; s++) {
		assert_non_null(feed_get(f, s));
		assert_int_equal(feed_get(f, s)->seq, s);
		assert_int_equal(feed_get(f, s)->id, s);
	}
	assert_null(feed_get(f, 1001));  /* not yet */
	assert_null(feed_get(f, UINT64_MAX));
	feed_free(f);
}

static void test_no_log_flush(void **state)
{
	(void)state;
	struct transition_feed *f = feed_new(4, NULL);
	struct transition t = guard_ev(TK_GUARD_RELEASED, 1);
	feed_push(f, &t);
	assert_int_equal(feed_flush(f), 0);
	assert_int_equal(feed_log_errors(f), 0);
	feed_free(f);
}

/* ================= the log ================= */

static void test_log_content(void **state)
{
	struct tu_scratch *s = *state;
	FILE *fp = fopen(s->path, "w");   /* a previous run's line stays first */
	fputs("{\"seq\":7,\"time\":1,\"kind\":\"guard-raised\",\"count\":1}\n", fp);
	fclose(fp);

	struct transition_feed *f = feed_new(16, s->path);
	assert_non_null(f);
	struct transition a = status_ev(0x9f3c0a1b2c3d4e5full, EP_ONLINE, EP_OFFLINE,
					EP_REASON_NO_CONTACT);
	struct transition b = status_ev(0xaa, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT);
	struct transition c = guard_ev(TK_GUARD_RAISED, 120);
	struct transition d = guard_ev(TK_GUARD_RELEASED, 119);
	feed_push(f, &a);
	feed_push(f, &b);
	feed_push(f, &c);
	json_t *lines = read_log(s->path);
	assert_int_equal(json_array_size(lines), 1);   /* nothing before the flush */
	json_decref(lines);

	assert_int_equal(feed_flush(f), 0);
	assert_int_equal(feed_flush(f), 0);   /* nothing new: nothing written twice */
	feed_push(f, &d);
	assert_int_equal(feed_flush(f), 0);
	assert_int_equal(feed_log_errors(f), 0);

	lines = read_log(s->path);
	assert_int_equal(json_array_size(lines), 5);
	assert_int_equal(int_at(lines, 0, "seq"), 7);

	assert_int_equal(json_object_size(json_array_get(lines, 1)), 7);
	assert_int_equal(int_at(lines, 1, "seq"), 1);
	assert_int_equal(int_at(lines, 1, "time"), a.time);
	assert_string_equal(str_at(lines, 1, "id"), "9f3c0a1b2c3d4e5f");
	assert_int_equal(int_at(lines, 1, "slot"), a.slot);
	assert_string_equal(str_at(lines, 1, "old"), ep_status_name(EP_ONLINE));
	assert_string_equal(str_at(lines, 1, "new"), ep_status_name(EP_OFFLINE));
	assert_string_equal(str_at(lines, 1, "reason"), ep_reason_name(EP_REASON_NO_CONTACT));

	assert_int_equal(int_at(lines, 2, "seq"), 2);
	assert_string_equal(str_at(lines, 2, "id"), "00000000000000aa");
	assert_string_equal(str_at(lines, 2, "old"), ep_status_name(EP_OFFLINE));
	assert_string_equal(str_at(lines, 2, "new"), ep_status_name(EP_ONLINE));
	assert_string_equal(str_at(lines, 2, "reason"), ep_reason_name(EP_REASON_HEARTBEAT));

	assert_int_equal(json_object_size(json_array_get(lines, 3)), 4);
	assert_int_equal(int_at(lines, 3, "seq"), 3);
	assert_int_equal(int_at(lines, 3, "time"), T0);
	assert_string_equal(str_at(lines, 3, "kind"), "guard-raised");
	assert_int_equal(int_at(lines, 3, "count"), 120);
	assert_null(json_object_get(json_array_get(lines, 3), "id"));

	assert_int_equal(int_at(lines, 4, "seq"), 4);
	assert_string_equal(str_at(lines, 4, "kind"), "guard-released");
	assert_int_equal(int_at(lines, 4, "count"), 119);
	json_decref(lines);
	feed_free(f);
}

static void test_log_unwritable_keeps_lines(void **state)
{
	struct tu_scratch *s = *state;
	char dir[96], path[128];
	snprintf(dir, sizeof(dir), "%s/later", s->dir);
	snprintf(path, sizeof(path), "%s/transitions.log", dir);
	struct transition_feed *f = feed_new(16, path);
	assert_non_null(f);   /* the daemon runs on without its log */
	for (uint64_t i = 1; i <= 3; i++) {
		struct transition t = status_ev(i, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT);
		feed_push(f, &t);
	}
	assert_int_equal(feed_flush(f), -ENOENT);
	assert_int_equal(feed_log_errors(f), 1);
	assert_int_equal(feed_flush(f), -ENOENT);
	assert_int_equal(feed_log_errors(f), 2);
	struct transition t = status_ev(4, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT);
	feed_push(f, &t);

	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(feed_flush(f), 0);
	assert_int_equal(feed_log_errors(f), 2);
	json_t *lines = read_log(path);
	assert_int_equal(json_array_size(lines), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(int_at(lines, i, "seq"), i + 1);
		assert_int_equal(int_at(lines, i, "slot"), i + 101);
	}
	json_decref(lines);
	feed_free(f);
}

static void test_log_write_error(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	struct transition_feed *f = feed_new(16, "/dev/full");
	assert_non_null(f);
	struct transition t = guard_ev(TK_GUARD_RAISED, 3);
	feed_push(f, &t);
	assert_int_equal(feed_flush(f), -ENOSPC);
	assert_int_equal(feed_flush(f), -ENOSPC);
	assert_int_equal(feed_log_errors(f), 2);
	assert_non_null(feed_get(f, 1));   /* the feed itself is unaffected */
	feed_free(f);
}

/* A ring's worth of events held back by a dead log, then more: the log
 * says how many it lost and carries on from the oldest held. */
static void test_log_overwritten_before_logged(void **state)
{
	struct tu_scratch *s = *state;
	char dir[96], path[128];
	snprintf(dir, sizeof(dir), "%s/later", s->dir);
	snprintf(path, sizeof(path), "%s/transitions.log", dir);
	struct transition_feed *f = feed_new(4, path);
	for (uint64_t i = 1; i <= 10; i++) {
		struct transition t = status_ev(i, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT);
		feed_push(f, &t);
	}
	assert_true(feed_flush(f) < 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(feed_flush(f), 0);
	json_t *lines = read_log(path);
	assert_int_equal(json_array_size(lines), 5);
	assert_int_equal(int_at(lines, 0, "missed"), 6);
	assert_int_equal(int_at(lines, 0, "resume"), 7);
	for (size_t i = 1; i < 5; i++)
		assert_int_equal(int_at(lines, i, "seq"), i + 6);
	json_decref(lines);
	feed_free(f);
}

/* 64 Ki events (~7 MiB of log): one flush writes a bounded part, repeated
 * flushes write all of it, once each, in order. */
static void test_log_backlog_bounded(void **state)
{
	struct tu_scratch *s = *state;
	const uint32_t n = 1u << 16;
	struct transition_feed *f = feed_new(n, s->path);
	for (uint32_t i = 1; i <= n; i++) {
		struct transition t = status_ev(i, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT);
		feed_push(f, &t);
	}
	assert_int_equal(feed_flush(f), 0);
	struct stat st;
	assert_int_equal(stat(s->path, &st), 0);
	assert_true(st.st_size > 0);
	assert_true(st.st_size < (2 << 20));
	int rounds = 1;
	off_t last = st.st_size;
	for (;;) {
		assert_int_equal(feed_flush(f), 0);
		assert_int_equal(stat(s->path, &st), 0);
		if (st.st_size == last)
			break;
		last = st.st_size;
		rounds++;
	}
	assert_true(rounds >= 3);
	json_t *lines = read_log(s->path);
	assert_int_equal(json_array_size(lines), n);
	for (size_t i = 0; i < n; i++)
		if (int_at(lines, i, "seq") != (long long)i + 1)
			fail_msg("line %zu has seq %lld", i, int_at(lines, i, "seq"));
	json_decref(lines);
	feed_free(f);
}

static void test_free_writes_pending(void **state)
{
	struct tu_scratch *s = *state;
	struct transition_feed *f = feed_new(1u << 14, s->path);
	for (uint32_t i = 1; i <= 1u << 14; i++) {
		struct transition t = guard_ev(i % 2 ? TK_GUARD_RAISED : TK_GUARD_RELEASED, i);
		feed_push(f, &t);
	}
	feed_free(f);
	json_t *lines = read_log(s->path);
	assert_int_equal(json_array_size(lines), 1u << 14);
	assert_int_equal(int_at(lines, (1u << 14) - 1, "count"), 1u << 14);
	json_decref(lines);
}

/* ================= transition_json ================= */

static void test_json_forms(void **state)
{
	(void)state;
	char buf[512];
	struct transition st = status_ev(0xaa, EP_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL);
	st.seq = 10;
	size_t n = transition_json(buf, sizeof(buf), &st, NULL);
	assert_string_equal(buf, "{\"seq\":10,\"time\":1795000170,\"id\":\"00000000000000aa\","
			    "\"slot\":270,\"old\":\"offline\",\"new\":\"unreachable/online\","
			    "\"reason\":\"poll\"}");
	assert_int_equal(n, strlen(buf));
	transition_json(buf, sizeof(buf), &st, "g-1");
	assert_string_equal(buf, "{\"seq\":10,\"time\":1795000170,\"id\":\"00000000000000aa\","
			    "\"guid\":\"g-1\",\"old\":\"offline\",\"new\":\"unreachable/online\","
			    "\"reason\":\"poll\"}");

	struct transition rm = {.seq = 11, .id = 0xbb, .slot = 3, .time = T0, .kind = TK_REMOVED,
				.old_status = EP_OFFLINE, .new_status = EP_OFFLINE,
				.reason = EP_REMOVED_EXPIRED};
	transition_json(buf, sizeof(buf), &rm, NULL);
	char want[256];
	snprintf(want, sizeof(want), "{\"seq\":11,\"time\":1795000000,\"kind\":\"removed\","
		 "\"id\":\"00000000000000bb\",\"slot\":3,\"status\":\"offline\",\"cause\":\"%s\"}",
		 ep_removal_name(EP_REMOVED_EXPIRED));
	assert_string_equal(buf, want);
	transition_json(buf, sizeof(buf), &rm, "");
	assert_non_null(strstr(buf, ",\"guid\":\"\",\"status\":"));
	assert_null(strstr(buf, "slot"));

	struct transition g = guard_ev(TK_GUARD_RELEASED, 42);
	g.seq = 12;
	transition_json(buf, sizeof(buf), &g, "ignored");
	assert_string_equal(buf, "{\"seq\":12,\"time\":1795000000,\"kind\":\"guard-released\","
			    "\"count\":42}");
	g.kind = 99;
	transition_json(buf, sizeof(buf), &g, NULL);
	assert_non_null(strstr(buf, "\"kind\":\"unknown\""));
}

/* Quotes, backslashes and control characters in a guid stay one valid
 * JSON string that reads back as the guid. */
static void test_json_escapes(void **state)
{
	(void)state;
	static const char guid[] = "a\"b\\c\x01d\te/\xc3\xa9";
	struct transition st = status_ev(1, EP_ONLINE, EP_OFFLINE, EP_REASON_SHUTDOWN);
	char buf[512];
	transition_json(buf, sizeof(buf), &st, guid);
	json_error_t err;
	json_t *o = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		fail_msg("not JSON (%s): %s", err.text, buf);
	assert_string_equal(json_string_value(json_object_get(o, "guid")), guid);
	assert_int_equal(json_object_size(o), 7);
	json_decref(o);
}

/* Short buffers: a NUL-terminated prefix and the whole length, for every
 * size from 0 up. */
static void test_json_bounded(void **state)
{
	(void)state;
	struct transition st = status_ev(0x9f3c0a1b2c3d4e5full, EP_ONLINE, EP_OFFLINE,
					 EP_REASON_NO_CONTACT);
	char whole[512], buf[512];
	size_t n = transition_json(whole, sizeof(whole), &st, "some-guid");
	assert_true(n > 0 && n < sizeof(whole));
	for (size_t cap = 0; cap <= n + 1; cap++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(transition_json(buf, cap, &st, "some-guid"), n);
		if (cap)
			assert_int_equal(strlen(buf), cap - 1 < n ? cap - 1 : n);
		if (cap && memcmp(buf, whole, strlen(buf)) != 0)
			fail_msg("cap %zu: '%s' is not a prefix of '%s'", cap, buf, whole);
		assert_int_equal(buf[cap], 'X');   /* nothing past cap */
	}
}

#define SCRATCH(t) cmocka_unit_test_setup_teardown(t, scratch_setup, tu_scratch_teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_push_get_order),
		cmocka_unit_test(test_overwrite_when_full),
		cmocka_unit_test(test_no_log_flush),
		SCRATCH(test_log_content),
		SCRATCH(test_log_unwritable_keeps_lines),
		cmocka_unit_test(test_log_write_error),
		SCRATCH(test_log_overwritten_before_logged),
		SCRATCH(test_log_backlog_bounded),
		SCRATCH(test_free_writes_pending),
		cmocka_unit_test(test_json_forms),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_bounded),
	};
	return TU_RUN(tests);
}
