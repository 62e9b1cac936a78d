/*
 * glournetctl's views (tools/ctl) against the real daemon's answers, not
 * the CLI test's stand-in (tests/tools/fake_ctl_daemon.py), so that the
 * two cannot drift apart unseen. Proves: for help and every read-only
 * command the daemon lists (show ..., ... list), ctl_dispatch's real
 * answer goes through the view glournetctl picks for it (ctl_view_find)
 * without error and without falling back to the generic renderer, and
 * the text shows every field of the answer: the keys status puts first,
 * its times and durations formatted, client's times as dates, stats'
 * per-worker table (a column per worker, a row per counter and per drop
 * reason, the totals), help's command table; and the events a watcher
 * reads from a real control socket (ctl_server) print as glournetctl's
 * status, removal and guard lines, not as events of an unknown kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/ctl_server.h"
#include "control/daemon.h"
#include "control/event_loop.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/transitions.h"
#include "glournet/hb_verdict.h"
#include "support/tu_daemon.h"
#include "support/tu_heartbeat.h"
#include "support/tu_json.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"
#include "tools/ctl/ctl.h"

#define NOW TU_NOW
#define GUID "pos-0042"

static struct gn_daemon dmn;
static struct tu_scratch dir;

/* A daemon with something to show: two clients (one heard from a worker,
 * one unreachable), per-worker counters, a range, a feed. */
static int views_setup(void **state)
{
	(void)state;
	if (tu_ctl_open(&dmn, &dir, "views") < 0 || !(dmn.feed = feed_new(1024, NULL)))
		return -1;
	dmn.reg.feed = dmn.feed;
	struct endpoint *ep;
	struct gn_addr a = {.family = AF_INET};
	if (registry_add(&dmn.reg, GUID, NOW - 100, &ep) < 0 ||
	    inet_pton(AF_INET, "192.0.2.7", a.bytes) != 1 ||
	    registry_set_details(&dmn.reg, ep, "pos-0042.example.net", &a, 1, 21112) < 0 ||
	    registry_set_source(&dmn.reg, ep, &a) < 0)
		return -1;
	status_on_register(&dmn.reg, dmn.policy, ep, NOW - 100);
	if (tu_heartbeat_ep(&dmn.table, ep, registry_key(&dmn.reg, ep), 1, NOW - 20, NOW) !=
	    HB_ACCEPTED)
		return -1;
	if (registry_add(&dmn.reg, "behind-nat", NOW - 50, &ep) < 0)
		return -1;
	status_on_register(&dmn.reg, dmn.policy, ep, NOW - 50);
	for (unsigned w = 0; w < dmn.nworkers; w++) {
		dmn.counters[w].rx = 1000 * (w + 1);
		dmn.counters[w].verdict[HB_ACCEPTED] = 900 * (w + 1);
		dmn.counters[w].verdict[HB_BAD_MAC] = 60 + w;
		dmn.counters[w].verdict[HB_NOT_OUR_PORT] = 40 * (w + 1) - 60 - w;
	}
	dmn.http_counters.by_result[HTTP_REGISTER_NEW] = 2;
	/* A notify campaign that ended and one under way (no port: every
	 * notify fails, a try spent each). */
	if (notify_init(&dmn.notify, &dmn.reg, &dmn.policy, &dmn.tx, NOW) < 0)
		return -1;
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"range\", \"add\", \"10.200.0.0/16\"]}", true));
	notify_start_change(&dmn.notify, HB_FLAG_COMPONENTS, "components", NOW);
	notify_cancel(&dmn.notify, NOW);
	notify_start_change(&dmn.notify, HB_FLAG_SETTINGS, "endpoint settings", NOW);
	notify_step(&dmn.notify, NOW, 1000000);
	return 0;
}

static int views_teardown(void **state)
{
	(void)state;
	ctl_server_stop(&dmn.ctl);
	notify_free(&dmn.notify);
	if (dmn.loop.epfd > 0)
		loop_close(&dmn.loop);
	return tu_ctl_close(&dmn, &dir);
}

/* ---- the rendered text ---- */

struct text {
	char *buf;
	size_t len;
	char *lines[512];
	size_t n;
};

/* What render writes to a memory stream, split into lines. */
static void capture(struct text *t, int (*render)(FILE *, json_t *), json_t *result)
{
	memset(t, 0, sizeof(*t));
	FILE *f = open_memstream(&t->buf, &t->len);
	assert_non_null(f);
	int rc = render(f, result);
	assert_int_equal(fclose(f), 0);
	if (rc != 0)
		fail_msg("the view failed (%d) on the daemon's answer; it printed:\n%s", rc, t->buf);
	for (char *save = NULL, *l = strtok_r(t->buf, "\n", &save); l && t->n < 512;
	     l = strtok_r(NULL, "\n", &save))
		t->lines[t->n++] = l;
}

/* The line that starts with `head` and then a blank (a table row), or is
 * exactly `head` (a heading); NULL when there is none. */
static const char *line_of(const struct text *t, const char *head)
{
	size_t n = strlen(head);
	for (size_t i = 0; i < t->n; i++)
		if (!strncmp(t->lines[i], head, n) && (t->lines[i][n] == ' ' || !t->lines[i][n]))
			return t->lines[i];
	return NULL;
}

static const char *must_line(const struct text *t, const char *head, const char *what)
{
	const char *l = line_of(t, head);
	if (!l)
		fail_msg("%s: no line for '%s' in:\n%.4000s", what, head, t->buf);
	return l;
}

/* Every member of `o` (but those in `skip`) is shown: a row for what fits
 * in a cell, a heading for a section. */
static void shows_members(const struct text *t, json_t *o, const char *const *skip,
			  const char *what)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool skipped = false;
		for (size_t i = 0; skip && skip[i]; i++)
			skipped |= !strcmp(skip[i], key);
		if (skipped)
			continue;
		char head[128];
		snprintf(head, sizeof(head), ctl_is_inline(v) ? "%s" : "%s:", key);
		must_line(t, head, what);
	}
}

static void contains(const char *line, const char *want, const char *what)
{
	if (!strstr(line, want))
		fail_msg("%s: '%s' does not show '%s'", what, line, want);
}

/* ---- what each view expects ---- */

static void check_status(const struct text *t, json_t *r)
{
	static const char *const first[] = {"clients", "online", "offline", "unreachable_online",
					    "unreachable_offline"};
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "%lld", (long long)tu_jint(r, first[i]));
		contains(must_line(t, first[i], "show status"), want, first[i]);
	}
	assert_true(!strncmp(t->lines[0], "clients ", 8));   /* in the order one reads them */
	static const char *const times[] = {"now", "started"};
	for (size_t i = 0; i < 2; i++) {
		char *iso = ctl_format_time(tu_jint(r, times[i]), false);
		contains(must_line(t, times[i], "show status"), iso, times[i]);
		free(iso);
	}
	char *dur = ctl_format_duration(tu_jint(r, "offline_after"));
	contains(must_line(t, "offline_after", "show status"), dur, "offline_after");
	free(dur);
	shows_members(t, r, NULL, "show status");
}

static void check_client(const struct text *t, json_t *r)
{
	/* docs/protocol.md §4's fields, and the times the view shows as dates. */
	static const char *const fields[] = {"id", "guid", "slot", "status", "unreachable",
					     "reason"};
	static const char *const times[] = {"last_heartbeat", "last_poll", "last_contact",
					    "registered", "status_since"};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		must_line(t, fields[i], "show client");
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char *iso = ctl_format_time(tu_jint(r, times[i]), false);
		contains(must_line(t, times[i], "show client"), iso, times[i]);
		free(iso);
	}
	contains(must_line(t, "guid", "show client"), GUID, "guid");
	shows_members(t, r, NULL, "show client");
}

/* The row `label` (indented under "dropped" when in `group`) reads the
 * per-worker values, then the total. */
static void stats_row(const struct text *t, const char *label, json_t *workers,
		      const char *group, json_t *total)
{
	char head[80], want[512], got[512];
	size_t i, n;
	json_t *w;
	snprintf(head, sizeof(head), "%s%s", group ? "  " : "", label);
	n = (size_t)snprintf(want, sizeof(want), "%s", label);
	json_array_foreach(workers, i, w) {
		json_t *o = group ? json_object_get(w, group) : w;
		n += (size_t)snprintf(want + n, sizeof(want) - n, " %lld",
				      (long long)tu_jint(o, label));
	}
	json_t *o = group ? json_object_get(total, group) : total;
	snprintf(want + n, sizeof(want) - n, " %lld", (long long)tu_jint(o, label));
	/* The columns are aligned: compare word by word. */
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", must_line(t, head, "show stats"));
	n = 0;
	got[0] = '\0';
	for (char *save = NULL, *word = strtok_r(copy, " ", &save); word;
	     word = strtok_r(NULL, " ", &save))
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", n ? " " : "", word);
	if (strcmp(got, want))
		fail_msg("show stats: row '%s', want '%s'", got, want);
}

static void check_stats(const struct text *t, json_t *r)
{
	json_t *workers = json_object_get(r, "workers"), *total = json_object_get(r, "total");
	assert_int_equal(json_array_size(workers), dmn.nworkers);
	assert_true(json_is_object(total));
	const char *header = must_line(t, "counter", "show stats");
	for (unsigned w = 0; w < dmn.nworkers; w++) {
		char col[16];
		assert_int_equal(tu_jint(json_array_get(workers, w), "worker"), w);
		snprintf(col, sizeof(col), " w%u ", w);
		contains(header, col, "the header");
	}
	contains(header, " total", "the header");
	stats_row(t, "rx", workers, NULL, total);
	stats_row(t, "accepted", workers, NULL, total);
	must_line(t, "dropped", "show stats");
	/* A row per drop reason: every verdict but accepted. */
	for (int v = HB_ACCEPTED + 1; v < HB_VERDICT_COUNT; v++)
		stats_row(t, hb_verdict_name((enum hb_verdict)v), workers, "dropped", total);
	static const char *const table[] = {"workers", "total", NULL};
	shows_members(t, r, table, "show stats");
}

static void check_notify(const struct text *t, json_t *r)
{
	static const char *const table[] = {"running", "last", NULL};
	shows_members(t, r, table, "show notify");
	contains(must_line(t, "retry_after", "show notify"), "10s", "retry_after");
	contains(must_line(t, "verify_interval", "show notify"), "off", "verify_interval");
	must_line(t, "campaigns:", "show notify");
	const char *head = must_line(t, "  id", "show notify");
	static const char *const cols[] = {"kind",   "state", "trigger", "targeted", "sent",
					   "resent", "acked", "gave_up", "pending",  "rate",
					   "started", "finished"};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		contains(head, cols[i], "the campaigns' header");
	/* A row per campaign (ids right-aligned): id, kind, state, trigger. */
	size_t rows = 0;
	for (const char *list[] = {"running", "last"}, **l = list; l < list + 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(r, *l), i, c) {
			char id[32];
			snprintf(id, sizeof(id), "%lld ", (long long)tu_jint(c, "id"));
			const char *row = NULL;
			for (size_t k = 0; k < t->n && !row; k++) {
				const char *s = t->lines[k] + strspn(t->lines[k], " ");
				if (t->lines[k][0] == ' ' && !strncmp(s, id, strlen(id)))
					row = t->lines[k];
			}
			if (!row)
				fail_msg("show notify: no row for campaign %s", id);
			contains(row, tu_jstr(c, "kind"), "kind");
			contains(row, tu_jstr(c, "state"), "state");
			contains(row, tu_jstr(c, "trigger"), "trigger");
			rows++;
		}
	}
	/* The setup's: the range change's (superseded), the cancelled one,
	 * the one under way. */
	assert_int_equal(rows, 3);
	assert_int_equal(json_array_size(json_object_get(r, "running")), 1);
}

static void check_help(const struct text *t, json_t *r)
{
	must_line(t, "usage: glournetctl", "help");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(r, "commands"), i, c) {
		char head[128];
		snprintf(head, sizeof(head), "  %s", tu_jstr(c, "name"));
		const char *l = must_line(t, head, "help");
		contains(l, tu_jstr(c, "help"), tu_jstr(c, "name"));
	}
}

/* ---- every read-only command ---- */

static int generic(FILE *out, json_t *result)
{
	return ctl_render_value(out, result, NULL);
}

static bool read_only(const char *name)
{
	size_t n = strlen(name);
	return !strcmp(name, "help") || !strncmp(name, "show ", 5) ||
	       (n > 5 && !strcmp(name + n - 5, " list"));
}

static void render_answer(const char *name, const char *args)
{
	char words[128], *argv[8];
	int argc = 0;
	snprintf(words, sizeof(words), "%s", name);
	for (char *save = NULL, *w = strtok_r(words, " ", &save); w && argc < 6;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	static char guid[] = GUID;
	if (!strcmp(name, "show client"))
		argv[argc++] = guid;
	else if (*args && args[0] != '[') /* optional ones are left out */
		fail_msg("'%s %s': a read-only command with arguments this test does not know",
			 name, args);

	json_t *a = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_t *req = json_pack("{s:o}", "argv", a);
	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	json_t *ans = tu_ctl(&dmn, line, true);
	free(line);
	json_t *r = json_object_get(ans, "result");

	struct text t;
	ctl_view_fn *view = ctl_view_find(argc, argv);
	capture(&t, view ? view : generic, r);
	if (view == ctl_view_status)
		check_status(&t, r);
	else if (view == ctl_view_client)
		check_client(&t, r);
	else if (view == ctl_view_stats)
		check_stats(&t, r);
	else if (view == ctl_view_help)
		check_help(&t, r);
	else if (view == ctl_view_notify)
		check_notify(&t, r);
	else if (view == ctl_view_cluster) /* this daemon has no cluster (SQLite) */
		shows_members(&t, r, NULL, name);
	else if (view)
		fail_msg("'%s' has a view this test does not check", name);
	else
		shows_members(&t, r, NULL, name);
	free(t.buf);
	json_decref(ans);
}

static void test_views_show_real_answers(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"help\"]}", true);
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(j, "result"), "commands"), i, c) {
		if (!read_only(tu_jstr(c, "name")))
			continue;
		render_answer(tu_jstr(c, "name"), tu_jstr(c, "args"));
		n++;
	}
	json_decref(j);
	/* help, show status, client, bulk, stats, settings, range, component
	 * and endpoint-setting list, at least */
	assert_true(n >= 9);
}

/* Each answer also through ctl_print_human, exactly as glournetctl calls
 * it: the view, or the generic renderer when the view does not take it. */
static void test_print_human_real_answers(void **state)
{
	(void)state;
	static char show[] = "show", status[] = "status", stats[] = "stats", client[] = "client",
		    guid[] = GUID, settings[] = "settings", bulk[] = "bulk", notify[] = "notify";
	char *const cmds[][3] = {{show, status}, {show, stats},    {show, client, guid},
				 {show, settings}, {show, bulk}, {show, notify}};
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		int argc = cmds[k][2] ? 3 : 2;
		const char *argv[4] = {cmds[k][0], cmds[k][1], cmds[k][2], NULL};
		json_t *ans = tu_ctl_argv(&dmn, true, argv);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		assert_non_null(f);
		assert_int_equal(ctl_print_human(f, json_object_get(ans, "result"), argc, cmds[k]), 0);
		assert_int_equal(fclose(f), 0);
		assert_true(len > 0);
		free(buf);
		json_decref(ans);
	}
}

/* show cluster of a collector on PostgreSQL (the answer as
 * ctl_cluster.c makes it: the integration test checks the real one):
 * a table row per standby with its sync state and lag, and "none" under
 * the replication heading when the primary has no standby. */
static void test_cluster_view_standbys(void **state)
{
	(void)state;
	static const char *const answer =
		"{\"cluster\": true, \"name\": \"cl-a\", \"deciding\": true, \"epoch\": 2, "
		"\"primary\": \"127.0.0.1:25432\", \"decider\": {\"holder\": \"cl-a\", "
		"\"epoch\": 2, \"expires_in_s\": 2.5}, \"collectors\": [{\"name\": \"cl-a\", "
		"\"addrs\": \"10.9.0.1\", \"seen_ago_s\": 0.4, \"decides\": true}], "
		"\"replication\": [{\"name\": \"pgautofailover_standby_2\", \"client\": "
		"\"127.0.0.1\", \"state\": \"streaming\", \"sync_state\": \"quorum\", "
		"\"lag_bytes\": 368, \"lag_s\": 0.004}], \"feed\": {\"lag_s\": 0.3}}";
	json_t *r = json_loads(answer, 0, NULL);
	assert_non_null(r);
	struct text t;
	capture(&t, ctl_view_cluster, r);
	contains(must_line(&t, "primary", "show cluster"), "127.0.0.1:25432",
		 "primary");
	must_line(&t, "replication (the primary's standbys):", "show cluster");
	const char *row = must_line(&t, "  pgautofailover_standby_2", "show cluster");
	contains(row, "streaming", "the standby's state");
	contains(row, "quorum", "its sync state");
	contains(row, " 368 ", "its lag in bytes");
	contains(row, "0.004s", "its lag in seconds");
	contains(must_line(&t, "  cl-a", "show cluster"), "yes", "cl-a decides");
	free(t.buf);
	json_array_clear(json_object_get(r, "replication"));
	capture(&t, ctl_view_cluster, r);
	const char *none = NULL;
	for (size_t i = 0; i + 1 < t.n; i++)
		if (!strcmp(t.lines[i], "replication (the primary's standbys):"))
			none = t.lines[i + 1];
	if (!none || strcmp(none, "  none"))
		fail_msg("show cluster without standbys: '%s' under replication, want '  none'",
			 none ? none : "(nothing)");
	free(t.buf);
	json_decref(r);
}

/* ---- watch, on a real control socket ---- */

struct conn {
	int fd;
	char buf[16384];
	size_t len;
};

static void conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* The next line from the daemon (NUL-terminated in *line, valid until the
 * next call), running its loop meanwhile; fails after 5 s. */
static const char *conn_line(struct conn *c)
{
	static char line[sizeof(c->buf)];
	for (int i = 0; i < 500; i++) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		loop_run_once(&dmn.loop, 10);
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
		if (r > 0)
			c->len += (size_t)r;
		else if (r == 0)
			fail_msg("the daemon closed the watch");
	}
	fail_msg("no line from the daemon in 5 s (have %zu bytes)", c->len);
	return NULL;
}

/* The next event, as glournetctl watch prints it. */
static char *printed_event(struct conn *c)
{
	const char *line = conn_line(c);
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	json_t *ev = json_object_get(o, "event");
	if (!json_is_object(ev))
		fail_msg("not an event line: %s", line);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(ctl_watch_print_event(f, ev), 0);
	assert_int_equal(fclose(f), 0);
	json_decref(o);
	return buf;
}

static void expect_printed(struct conn *c, const char *want)
{
	char *got = printed_event(c);
	if (strcmp(got, want))
		fail_msg("watch printed\n  %s want\n  %s", got, want);
	free(got);
}

static void test_watch_events_print(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/ctl.sock", dir.dir);
	assert_int_equal(loop_init(&dmn.loop), 0);
	assert_int_equal(ctl_server_start(&dmn.ctl, &dmn.loop, &dmn, path), 0);
	struct conn c;
	conn_open(&c, path);
	uint64_t seq = feed_next_seq(dmn.feed);
	char req[96];
	int n = snprintf(req, sizeof(req), "{\"argv\": [\"watch\", \"--from\", \"%llu\"]}\n",
			 (unsigned long long)seq);
	assert_int_equal(send(c.fd, req, (size_t)n, MSG_NOSIGNAL), n);
	json_t *first = json_loads(conn_line(&c), 0, NULL);
	assert_true(json_is_true(json_object_get(first, "ok")));
	assert_int_equal(tu_jint(json_object_get(first, "result"), "next"), seq);
	json_decref(first);

	/* One event of each kind. */
	struct endpoint *ep = registry_by_guid(&dmn.reg, GUID);
	uint64_t id = ep->id;
	registry_set_state(&dmn.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 10);
	struct transition g = {.time = NOW + 11, .kind = TK_GUARD_RAISED, .count = 7};
	feed_push(dmn.feed, &g);
	g.time = NOW + 12;
	g.kind = TK_GUARD_RELEASED;
	feed_push(dmn.feed, &g);
	struct endpoint *gone = registry_by_guid(&dmn.reg, "behind-nat");
	uint64_t gone_id = gone->id;
	enum ep_status gone_status = gone->status;
	registry_remove(&dmn.reg, gone, EP_REMOVED_OPERATOR, NOW + 13);
	assert_int_equal(feed_next_seq(dmn.feed), seq + 4);
	ctl_server_pump(&dmn.ctl);

	char want[256];
	char *iso = ctl_format_time(NOW + 10, false);
	snprintf(want, sizeof(want), "%s  #%llu  %016llx  %s  %s -> %s  (%s)\n", iso,
		 (unsigned long long)seq, (unsigned long long)id, GUID, ep_status_name(EP_ONLINE),
		 ep_status_name(EP_OFFLINE), ep_reason_name(EP_REASON_NO_CONTACT));
	free(iso);
	expect_printed(&c, want);
	iso = ctl_format_time(NOW + 11, false);
	snprintf(want, sizeof(want), "%s  #%llu  GUARD RAISED: 7 endpoints held\n", iso,
		 (unsigned long long)seq + 1);
	free(iso);
	expect_printed(&c, want);
	iso = ctl_format_time(NOW + 12, false);
	snprintf(want, sizeof(want), "%s  #%llu  GUARD RELEASED: 7 endpoints released\n", iso,
		 (unsigned long long)seq + 2);
	free(iso);
	expect_printed(&c, want);
	iso = ctl_format_time(NOW + 13, false);
	snprintf(want, sizeof(want), "%s  #%llu  %016llx  behind-nat  REMOVED (%s, was %s)\n", iso,
		 (unsigned long long)seq + 3, (unsigned long long)gone_id,
		 ep_removal_name(EP_REMOVED_OPERATOR), ep_status_name(gone_status));
	free(iso);
	expect_printed(&c, want);
	close(c.fd);
}

/* ---- issue 13: a stored hostile name cannot drive the operator's terminal ---- */

/* Raw bytes that would: ESC (C0), CSI as UTF-8 (C1), RLO (bidi). */
static void assert_no_raw_controls(const char *what, const char *out, size_t len)
{
	if (memchr(out, 0x1b, len) || memmem(out, len, "\xc2\x9b", 2) ||
	    memmem(out, len, "\xe2\x80\xae", 3) || memchr(out, 0x07, len))
		fail_msg("%s printed a raw control character:\n%.*s", what, (int)len, out);
}

static void test_hostile_names_escaped(void **state)
{
	(void)state;
	/* Registration refuses such names now; an older store, or an import
	 * from before the rule, may still hold one: write it in place. */
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, "hostile-1", NOW - 10, &ep), 0);
	memcpy((char *)ep_guid(ep), "h\x1b[2J\xc2\x9bxy", 9);
	assert_int_equal(registry_set_details(&dmn.reg, ep, "pc\xe2\x80\xae" "exe.txt\x07", NULL, 0, 0),
			 0);
	status_on_register(&dmn.reg, dmn.policy, ep, NOW - 10);
	char id[17];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	static const char *const want_guid = "h\\x1b[2J\\u009bxy",
			       *const want_host = "pc\\u202eexe.txt\\x07";

	/* show client, as glournetctl prints it. */
	static char show[] = "show", client[] = "client";
	char *const cmd[] = {show, client, id};
	const char *argv[] = {show, client, id, NULL};
	json_t *ans = tu_ctl_argv(&dmn, true, argv);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(ctl_print_human(f, json_object_get(ans, "result"), 3, cmd), 0);
	assert_int_equal(fclose(f), 0);
	json_decref(ans);
	assert_no_raw_controls("show client", buf, len);
	if (!strstr(buf, want_guid) || !strstr(buf, want_host))
		fail_msg("show client does not show the names escaped:\n%s", buf);
	free(buf);

	/* show clients: the streamed listing, read from a socket. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "{\"client\": {\"id\": \"%s\", \"guid\": \"h\\u001b[2J\\u009bxy\", "
			 "\"hostname\": \"pc\\u202eexe.txt\\u0007\", \"status\": \"online\", "
			 "\"reason\": \"registered\", \"last_contact\": %u}}\n"
			 "{\"removed\": {\"id\": \"%s\", \"guid\": \"h\\u001b[2J\\u009bxy\", "
			 "\"status\": \"online\"}}\n"
			 "{\"done\": {\"matched\": 1, \"listed\": 1, \"scanned\": 1}}\n",
			 id, NOW - 10, id);
	assert_int_equal(write(sv[1], line, (size_t)n), n);
	close(sv[1]);
	char out_path[160];
	snprintf(out_path, sizeof(out_path), "%s/list.out", dir.dir);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO), fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	struct ctl_opts o = {.timeout_ms = 1000};
	struct ctl_stream st = {.fd = sv[0]};
	json_t *head = json_pack("{s:b}", "ok", 1);
	char *confirm = NULL;
	ctl_list_follow(&o, &st, head, &confirm);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	json_decref(head);
	free(confirm);
	ctl_stream_close(&st);
	f = fopen(out_path, "r");
	assert_non_null(f);
	char text[4096];
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	fclose(f);
	unlink(out_path);
	assert_no_raw_controls("show clients", text, len);
	if (!strstr(text, want_guid) || !strstr(text, want_host))
		fail_msg("show clients does not show the names escaped:\n%s", text);

	/* watch's lines. */
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "id", id, "guid",
			       "h\x1b[2J\xc2\x9bxy", "old", "online", "new", "offline", "reason",
			       "no-contact", "time", (int)NOW, "seq", 1);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(ctl_watch_print_event(f, ev), 0);
	assert_int_equal(fclose(f), 0);
	json_decref(ev);
	assert_no_raw_controls("watch", buf, len);
	assert_non_null(strstr(buf, want_guid));
	free(buf);

	/* -j: the JSON glournetctl prints escapes them too. */
	json_t *o2 = json_pack("{s:s}", "guid", "h\x1b[2J\xc2\x9bx\xe2\x80\xae");
	char *js = json_dumps(o2, JSON_COMPACT | CTL_JSON_SAFE);
	assert_no_raw_controls("-j", js, strlen(js));
	assert_string_equal(js, "{\"guid\":\"h\\u001B[2J\\u009Bx\\u202E\"}");
	free(js);
	json_decref(o2);
}

/* Issue 14: show status says glournetd's version and uptime, the guard's
 * raise as a date (it was a bare epoch), the table's bytes in a unit (it
 * had none) and "none" for a store without alarm (it was blank). */
static void test_status_fields_read(void **state)
{
	(void)state;
	dmn.sweep.guard.active = true;
	dmn.sweep.guard.since = NOW - 90;
	json_t *ans = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	json_t *r = json_object_get(ans, "result");
	assert_string_equal(tu_jstr(r, "version"), GN_VERSION);
	assert_int_equal(tu_jint(r, "uptime"), 1000);   /* started 1000 s before NOW */
	struct text t;
	capture(&t, ctl_view_status, r);
	contains(must_line(&t, "version", "status"), GN_VERSION, "version");
	contains(must_line(&t, "uptime", "status"), "1000 (16m40s)", "uptime");
	char *iso = ctl_format_time(NOW - 90, false), want[96];
	snprintf(want, sizeof(want), "%u (%s)", NOW - 90, iso);
	free(iso);
	contains(must_line(&t, "  since", "status"), want, "guard.since");
	const char *tb = must_line(&t, "table_bytes", "status");
	if (!strstr(tb, " B") && !strstr(tb, "iB"))
		fail_msg("table_bytes has no unit: '%s'", tb);
	free(t.buf);
	json_decref(ans);

	json_t *store = json_pack("{s:{s:b, s:s, s:i}}", "store", "ok", 1, "alarm", "",
				  "queue_len", 0);
	capture(&t, ctl_view_status, store);
	contains(must_line(&t, "  alarm", "status"), "none", "store.alarm");
	free(t.buf);
	json_decref(store);
}

#define VIEWS(f) cmocka_unit_test_setup_teardown(f, views_setup, views_teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		VIEWS(test_views_show_real_answers),
		VIEWS(test_print_human_real_answers),
		VIEWS(test_watch_events_print),
		VIEWS(test_status_fields_read),
		VIEWS(test_hostile_names_escaped),
		cmocka_unit_test(test_cluster_view_standbys),
	};
	return TU_RUN(tests);
}
