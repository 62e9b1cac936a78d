/*
 * Removal at the daemon's level (issue #5), with a real store: expiry
 * removes exactly the endpoints silent for more than expire.after_days
 * (exactly at the limit stays; the newest of heartbeat, control contact and
 * registration counts; never earlier than the collector's start; held while
 * the mass-offline guard is raised), and the setting is validated, shown
 * and warned about like the others; `remove client` removes by id or guid,
 * names what it removed, removes nothing when one name is unknown, and the
 * transition log records it; the store forgets removed endpoints, and a
 * restore with gaps puts the gaps on the free list (reused oldest first)
 * while the others come back with their ids, slots and keys.
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
#include <jansson.h>

#include "control/ctl_server.h"
#include "control/daemon.h"
#include "control/daemon_jobs.h"
#include "control/expire.h"
#include "control/persist.h"
#include "control/settings.h"
#include "control/status.h"
#include "control/store.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"
#include "support/tu_daemon.h"
#include "support/tu_heartbeat.h"
#include "support/tu_json.h"
#include "support/tu_scratch.h"

#define NOW 1795000000u
#define DAY 86400u

static struct gn_daemon dmn, dmn2;
static struct tu_scratch dir;
static char db_path[256], log_path[256];

/* The fake daemon with a feed (logged when feed_log is not NULL) and the
 * store at db_path; the guard off; started 400 days ago. */
static int daemon_init(struct gn_daemon *d, const char *feed_log)
{
	char err[256];
	if (tu_daemon_open(d, dir.dir, NOW - 400 * DAY) < 0 ||
	    !(d->feed = feed_new(1024, feed_log)) || !(d->store = store_open(db_path, err, sizeof(err))))
		return -1;
	d->policy->guard_threshold = 0;
	d->reg.feed = d->feed;
	daemon_jobs_init(d, NULL);   /* the loop's jobs, wired as glournetd wires them */
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (tu_scratch_make(&dir, "removal", "glournet.db") < 0)
		return -1;
	snprintf(db_path, sizeof(db_path), "%s", dir.path);
	snprintf(log_path, sizeof(log_path), "%s/transitions.log", dir.dir);
	gn_coarse_set(NOW);
	return daemon_init(&dmn, log_path);
}

static int teardown(void **state)
{
	(void)state;
	tu_daemon_close(&dmn);
	if (dmn2.table.dir)
		tu_daemon_close(&dmn2);
	memset(&dmn2, 0, sizeof(dmn2));
	return tu_scratch_remove(&dir) < 0 ? -1 : 0;
}

/* Registered at `now` (contact, R4) and written to the store. */
static struct endpoint *client(struct gn_daemon *d, const char *guid, uint32_t now)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(&d->reg, guid, now, &ep), 0);
	status_on_register(&d->reg, d->policy, ep, now);
	assert_true(persist_endpoint(d->store, &d->reg, ep) > 0);
	return ep;
}

static json_t *ctl(const char *line, bool want_ok)
{
	return tu_ctl(&dmn, line, want_ok);
}

static const char *error_of(json_t *j)
{
	return json_string_value(json_object_get(j, "error"));
}

/* ================= expiry ================= */

static void test_expiry_edges(void **state)
{
	(void)state;
	const uint32_t L = 2 * DAY, T = NOW;
	struct endpoint *ep;
	/* Heartbeats: the workers' newest timestamp counts. */
	ep = client(&dmn, "hb-at-limit", T - 10 * L);
	*slot_dir_seen(dmn.table.dir, ep->slot, 1) = T - L;
	ep = client(&dmn, "hb-past", T - 10 * L);
	*slot_dir_seen(dmn.table.dir, ep->slot, 0) = T - L - 1;
	/* Control-plane contact (a poll). */
	ep = client(&dmn, "poll-at-limit", T - 10 * L);
	status_on_poll(&dmn.reg, ep, T - L);
	ep = client(&dmn, "poll-past", T - 10 * L);
	status_on_poll(&dmn.reg, ep, T - L - 1);
	/* Never contacted: by registration time. */
	assert_int_equal(registry_add(&dmn.reg, "never-at-limit", T - L, &ep), 0);
	assert_int_equal(registry_add(&dmn.reg, "never-past", T - L - 1, &ep), 0);
	assert_int_equal(ep->last_ctl_contact, 0);
	/* The newest of several. */
	ep = client(&dmn, "mixed", T - 10 * L);
	*slot_dir_seen(dmn.table.dir, ep->slot, 0) = T - 3 * L;
	status_on_poll(&dmn.reg, ep, T - 100);

	dmn.policy->expire_after_days = 0;   /* off: nothing, however old */
	assert_int_equal(expire_tick(&dmn.expire, T + 100 * L), 0);
	dmn.policy->expire_after_days = 2;
	dmn.sweep.guard.active = true;       /* R10 raised: the collector suspects itself */
	assert_int_equal(expire_tick(&dmn.expire, T), 0);
	dmn.sweep.guard.active = false;

	uint64_t seq = feed_next_seq(dmn.feed);
	assert_int_equal(expire_tick(&dmn.expire, T), 3);
	static const char *const gone[] = {"hb-past", "poll-past", "never-past"};
	static const char *const kept[] = {"hb-at-limit", "poll-at-limit", "never-at-limit", "mixed"};
	for (size_t i = 0; i < 3; i++)
		if (registry_by_guid(&dmn.reg, gone[i]))
			fail_msg("%s is past the limit but was kept", gone[i]);
	for (size_t i = 0; i < 4; i++)
		if (!registry_by_guid(&dmn.reg, kept[i]))
			fail_msg("%s is at most at the limit but was removed", kept[i]);
	assert_int_equal(dmn.reg.count, 4);
	assert_int_equal(dmn.reg.removed[EP_REMOVED_EXPIRED], 3);
	assert_int_equal(dmn.reg.removed[EP_REMOVED_OPERATOR], 0);
	assert_int_equal(feed_next_seq(dmn.feed), seq + 3);
	for (uint64_t s = seq; s < seq + 3; s++) {
		assert_int_equal(feed_get(dmn.feed, s)->kind, TK_REMOVED);
		assert_int_equal(feed_get(dmn.feed, s)->reason, EP_REMOVED_EXPIRED);
	}
	assert_int_equal(expire_tick(&dmn.expire, T), 0);        /* the same pass again: nothing */
	assert_int_equal(expire_tick(&dmn.expire, T + 1), 3);    /* one second later: the edges */
	assert_non_null(registry_by_guid(&dmn.reg, "mixed"));
	assert_int_equal(dmn.reg.count, 1);
}

/* The daemon's pass runs in slices of EXPIRE_SLICE_SLOTS at most, one a
 * loop turn, and removes the same endpoints a whole pass would. A budget
 * no slice reaches: the slots bound the slice. */
#define BIG_BUDGET (60ull * 1000 * 1000 * 1000)
static void test_expiry_in_slices(void **state)
{
	(void)state;
	const uint32_t T = NOW, N = EXPIRE_SLICE_SLOTS + 5000;
	char g[32];
	for (uint32_t i = 0; i < N; i++) {
		struct endpoint *ep;
		snprintf(g, sizeof(g), "s%u", i);
		assert_int_equal(registry_add(&dmn.reg, g, i % 20000 ? T : T - 10 * DAY, &ep), 0);
	}
	dmn.policy->expire_after_days = 2;
	dmn.expire.cursor = UINT32_MAX;
	dmn.expire.last_pass = T - EXPIRE_PASS_INTERVAL;
	assert_true(expire_step(&dmn.expire, T, BIG_BUDGET));   /* the first slice: more to come */
	assert_int_equal(dmn.reg.removed[EP_REMOVED_EXPIRED], 4);   /* 0, 20000, 40000, 60000 */
	assert_int_equal(dmn.expire.cursor, EXPIRE_SLICE_SLOTS);
	assert_false(expire_step(&dmn.expire, T, BIG_BUDGET));  /* the rest, and the pass ends */
	assert_int_equal(dmn.reg.removed[EP_REMOVED_EXPIRED], 4);
	assert_int_equal(dmn.expire.cursor, UINT32_MAX);
	assert_int_equal(dmn.reg.count, N - 4);
	assert_null(registry_by_guid(&dmn.reg, "s60000"));
	assert_false(expire_step(&dmn.expire, T + 1, BIG_BUDGET)); /* the next pass waits its interval */
	assert_int_equal(dmn.expire.cursor, UINT32_MAX);
}

/* Silence counts from the collector's start at the earliest. */
static void test_expiry_after_restart(void **state)
{
	(void)state;
	const uint32_t T = NOW;
	client(&dmn, "ancient", T - 1000 * DAY);
	dmn.started = dmn.expire.started = T - DAY + 10;   /* up for under a day */
	dmn.policy->expire_after_days = 1;
	assert_int_equal(expire_tick(&dmn.expire, T), 0);
	assert_int_equal(expire_tick(&dmn.expire, T + 10), 0);   /* exactly a day since the start */
	assert_int_equal(expire_tick(&dmn.expire, T + 11), 1);
	assert_int_equal(dmn.reg.count, 0);
}

static void test_expiry_setting(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	char err[256];
	assert_int_equal(p->expire_after_days, 0);   /* off by default */
	static const struct { const char *text; uint32_t days; } ok[] = {
		{"0", 0}, {"1", 1}, {"30", 30}, {"3650", 3650}, {"007", 7},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(settings_set(p, "expire.after_days", ok[i].text, err, sizeof(err)), 0);
		assert_int_equal(p->expire_after_days, ok[i].days);
	}
	static const char *const bad[] = {"3651", "-1", "1d", "", "x", " 5", "5 ", "1.5", "+5",
					  "99999999999999999999999", "4294967297"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(settings_set(p, "expire.after_days", bad[i], err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, "expire.after_days") || !strstr(err, "3650"))
			fail_msg("'%s': message should name the setting and its range: %s", bad[i], err);
		assert_int_equal(p->expire_after_days, 7);   /* unchanged */
	}
	/* Listed with its default; stored with the others. */
	json_t *show = settings_show(p), *o;
	size_t i;
	bool listed = false;
	json_array_foreach(show, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "name")), "expire.after_days")) {
			listed = true;
			assert_string_equal(json_string_value(json_object_get(o, "value")), "7");
			assert_string_equal(json_string_value(json_object_get(o, "default")), "0");
		}
	assert_true(listed);
	json_decref(show);
	json_t *values = settings_values(p);
	assert_string_equal(json_string_value(json_object_get(values, "expire.after_days")), "7");
	json_decref(values);
	/* Removing endpoints before they could go offline is worth a warning. */
	json_t *w = json_array();
	settings_warnings(p, 0, w);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	assert_int_equal(settings_set(p, "heartbeat.offline_after", "7d", err, sizeof(err)), 0);
	w = json_array();
	settings_warnings(p, 0, w);
	assert_int_equal(json_array_size(w), 1);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)), "expire.after_days"));
	json_decref(w);
	policy_free(p);

	/* Set live: the answer says how many the next pass removes. */
	client(&dmn, "old", NOW - 40 * DAY);
	client(&dmn, "new", NOW - 5 * DAY);
	json_t *j = ctl("{\"argv\": [\"set\", \"expire.after_days\", \"30\"]}", true);
	json_t *aff = json_object_get(json_object_get(j, "result"), "affected");
	assert_int_equal(tu_jint(aff, "expire.after_days"), 1);
	json_decref(j);
	assert_int_equal(dmn.policy->expire_after_days, 30);
	json_decref(ctl("{\"argv\": [\"set\", \"expire.after_days\", \"3651\"]}", false));
	assert_int_equal(dmn.policy->expire_after_days, 30);
}

/* ================= remove client ================= */

static void test_ctl_remove(void **state)
{
	(void)state;
	char line[256], id_b[17], id_c[17];
	client(&dmn, "a", NOW);
	snprintf(id_b, sizeof(id_b), "%016llx", (unsigned long long)client(&dmn, "b", NOW)->id);
	snprintf(id_c, sizeof(id_c), "%016llx", (unsigned long long)client(&dmn, "c", NOW)->id);
	client(&dmn, "d", NOW);

	json_t *j = ctl("{\"argv\": [\"help\"]}", true);
	char *help = json_dumps(j, 0);
	assert_non_null(strstr(help, "\"remove client\""));
	free(help);
	json_decref(j);

	snprintf(line, sizeof(line), "{\"argv\": [\"remove\", \"client\", \"a\", \"%s\"]}", id_b);
	j = ctl(line, true);
	json_t *r = json_object_get(j, "result"), *rm = json_object_get(r, "removed");
	assert_int_equal(json_array_size(rm), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rm, 0), "guid")), "a");
	assert_int_equal(tu_jint(json_array_get(rm, 0), "slot"), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rm, 1), "id")), id_b);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rm, 1), "guid")), "b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rm, 1), "status")),
			    "online");
	assert_int_equal(tu_jint(r, "clients"), 2);
	json_decref(j);

	j = ctl("{\"argv\": [\"show\", \"client\", \"a\"]}", false);
	assert_non_null(strstr(error_of(j), "'a'"));
	json_decref(j);
	/* One unknown name: nothing removed, and it is named. */
	j = ctl("{\"argv\": [\"remove\", \"client\", \"c\", \"nosuch\"]}", false);
	assert_non_null(strstr(error_of(j), "'nosuch'"));
	json_decref(j);
	j = ctl("{\"argv\": [\"remove\", \"client\", \"a\"]}", false);   /* gone already */
	assert_non_null(strstr(error_of(j), "'a'"));
	json_decref(j);
	assert_non_null(registry_by_guid(&dmn.reg, "c"));
	json_decref(ctl("{\"argv\": [\"remove\", \"client\"]}", false));
	/* The same client three ways: removed once. */
	snprintf(line, sizeof(line), "{\"argv\": [\"remove\", \"client\", \"c\", \"%s\", \"c\"]}", id_c);
	j = ctl(line, true);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"), "removed")), 1);
	json_decref(j);

	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "clients"), 1);
	assert_int_equal(tu_jint(r, "online"), 1);
	assert_int_equal(tu_jint(r, "removed"), 3);
	assert_int_equal(tu_jint(r, "expired"), 0);
	json_t *slots = json_object_get(r, "slots");
	assert_int_equal(tu_jint(slots, "total"), 4);
	assert_int_equal(tu_jint(slots, "quarantined"), 3);
	assert_int_equal(tu_jint(slots, "free"), 0);
	json_decref(j);
	assert_int_equal(registry_reclaim(&dmn.reg), 3);
	assert_int_equal(dmn.reg.nfree, 3);

	/* The transition log says who went, and why. */
	feed_flush(dmn.feed);
	FILE *fp = fopen(log_path, "r");
	assert_non_null(fp);
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	snprintf(line, sizeof(line), "\"kind\":\"removed\",\"id\":\"%s\",\"slot\":1,"
		 "\"status\":\"online\",\"cause\":\"operator\"}", id_b);
	if (!strstr(buf, line))
		fail_msg("the log lacks %s:\n%s", line, buf);
}

/* ================= the store, and a restore with gaps ================= */

static enum hb_verdict heartbeat(struct slot_table *t, uint32_t slot, uint64_t id,
				 const uint8_t key[HB_KEY_LEN])
{
	struct hb_window w = tu_window(NOW);
	return tu_heartbeat(t->dir, 0, slot, id, key, NOW, &w);
}

static void test_restore_with_gaps(void **state)
{
	(void)state;
	struct { uint64_t id; uint8_t key[HB_KEY_LEN]; } was[6];
	char g[8];
	for (int i = 0; i < 6; i++) {
		snprintf(g, sizeof(g), "e%d", i);
		struct endpoint *ep = client(&dmn, g, NOW);
		was[i].id = ep->id;
		memcpy(was[i].key, registry_key(&dmn.reg, ep), HB_KEY_LEN);
	}
	/* 1 and 3 leave holes; 5 was the last slot. */
	json_decref(ctl("{\"argv\": [\"remove\", \"client\", \"e1\", \"e3\", \"e5\"]}", true));
	/* A checkpoint after the removals recreates nothing. */
	persist_transitions_step(&dmn.persist, NOW + 60, BIG_BUDGET);
	persist_checkpoint_step(&dmn.checkpoint, NOW + 60, BIG_BUDGET);
	store_close(dmn.store, 5000);   /* drains: as a clean stop */
	dmn.store = NULL;

	assert_int_equal(daemon_init(&dmn2, NULL), 0);
	assert_int_equal(persist_restore(&dmn2), 0);
	struct registry *r = &dmn2.reg;
	assert_int_equal(r->count, 3);
	assert_int_equal(r->nslots, 5);
	assert_int_equal(r->nfree, 2);
	assert_int_equal(r->nquarantine, 0);
	for (int i = 0; i < 6; i++) {
		snprintf(g, sizeof(g), "e%d", i);
		struct endpoint *ep = registry_by_guid(r, g);
		if (i % 2) {
			if (ep)
				fail_msg("%s was removed but came back", g);
			assert_null(registry_by_id(r, was[i].id));
			if (i < 5)
				assert_int_equal(heartbeat(&dmn2.table, (uint32_t)i, was[i].id,
							   was[i].key), HB_UNKNOWN_SLOT);
			continue;
		}
		assert_non_null(ep);
		assert_int_equal(ep->slot, i);
		assert_int_equal(ep->id, was[i].id);
		assert_memory_equal(registry_key(r, ep), was[i].key, HB_KEY_LEN);
		assert_int_equal(heartbeat(&dmn2.table, (uint32_t)i, was[i].id, was[i].key),
				 HB_ACCEPTED);
	}
	/* The gaps first, in slot order, then growth. */
	static const uint32_t want[] = {1, 3, 5};
	for (int i = 0; i < 3; i++) {
		snprintf(g, sizeof(g), "n%d", i);
		struct endpoint *ep;
		assert_int_equal(registry_add(r, g, NOW, &ep), 0);
		assert_int_equal(ep->slot, want[i]);
		assert_int_equal(slot_table_last_seen(&dmn2.table, ep->slot), 0);
	}
	/* Restoring is over once the workers may start. */
	struct endpoint *ep;
	uint8_t key[HB_KEY_LEN] = {1};
	assert_int_equal(registry_add_restored(r, "late", 77, key, 9, &ep), -EINVAL);
}

/* A store row whose guid or id an earlier slot holds (the table is keyed by
 * slot, nothing else is unique there) is skipped at restore, not fatal. */
static void test_restore_skips_duplicates(void **state)
{
	(void)state;
	struct store_endpoint e = {.id = 11, .slot = 0};
	strcpy(e.guid, "dup");
	store_put_endpoint(dmn.store, &e);
	e.id = 12;
	e.slot = 1;                 /* same guid, another slot */
	store_put_endpoint(dmn.store, &e);
	e.id = 11;
	e.slot = 2;                 /* same id as slot 0 */
	strcpy(e.guid, "other");
	store_put_endpoint(dmn.store, &e);
	e.id = 13;
	e.slot = 3;
	strcpy(e.guid, "fine");
	store_put_endpoint(dmn.store, &e);
	store_close(dmn.store, 5000);
	dmn.store = NULL;

	assert_int_equal(daemon_init(&dmn2, NULL), 0);
	assert_int_equal(persist_restore(&dmn2), 0);
	assert_int_equal(dmn2.restore_skipped, 2);
	assert_int_equal(dmn2.reg.count, 2);
	assert_int_equal(registry_by_guid(&dmn2.reg, "dup")->slot, 0);
	assert_int_equal(registry_by_guid(&dmn2.reg, "fine")->slot, 3);
	assert_int_equal(dmn2.reg.nfree, 2);   /* slots 1 and 2 */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

const struct CMUnitTest removal_daemon_tests[] = {
	T(test_expiry_edges),
	T(test_expiry_after_restart),
	T(test_expiry_in_slices),
	T(test_restore_skips_duplicates),
	T(test_expiry_setting),
	T(test_ctl_remove),
	T(test_restore_with_gaps),
};
const size_t removal_daemon_ntests = sizeof(removal_daemon_tests) / sizeof(removal_daemon_tests[0]);
