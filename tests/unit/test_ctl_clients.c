/*
 * The fleet queries (control/ctl_clients.c, ctl_filter.c, ctl_fleet.c,
 * ctl_remove.c) on the real registry, through ctl_dispatch_call as the
 * control socket calls it, with a sink that reads as a socket's reader
 * would. Proves:
 *  - 1 M endpoints: show clients --status offline lists exactly the
 *    offline ones, in slot order, each line a parseable client; the walk
 *    is sliced (many steps, each given 2 ms; their times printed), stops
 *    while the reader has 256 KiB unread, and holds the same few hundred
 *    bytes whatever the fleet's size; the heap of --sort last_contact
 *    --limit 100 holds 100 entries and lists the 100 longest silent in
 *    order;
 *  - every filter (status, unreachable, range, reason, not seen since a
 *    duration or a time, never seen, guid and hostname globs), --sort
 *    status, and pages by --after that list each endpoint once;
 *  - show counts: by status, reason, range, last contact;
 *  - remove client by filter removes what matches and streams it, spares
 *    an endpoint registered since it began, not one added in its second
 *    before it began (an import just done); asked to confirm it removes
 *    nothing and ends with a confirmation; --dry-run counts;
 *  - remove client by names: any number (issue 14: 15 failed), all or
 *    none, --missing-ok, a preview when asked to confirm;
 *  - the table: the read-only socket refuses every command that is not
 *    marked read (set, remove, import, export...), its own code; options
 *    checked (usage code); help COMMAND; an unknown command names its words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/ctl_clients.h"
#include "control/ctl_commands.h"
#include "control/daemon.h"
#include "control/mono_clock.h"
#include "control/policy.h"
#include "control/ranges.h"
#include "control/registry.h"
#include "control/status.h"
#include "glournet/coarse_clock.h"
#include "support/tu_daemon.h"
#include "support/tu_json.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"

__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define NOW      TU_NOW
#define BIG      1000000
#define OUT_MAX  (256 * 1024) /* what ctl_server lets a reader leave unread */
#define SLICE_NS (2 * 1000 * 1000)

static struct gn_daemon dmn;
static struct tu_scratch dir;

static int setup(void **state)
{
	(void)state;
	return tu_ctl_open(&dmn, &dir, "clients");
}

static int teardown(void **state)
{
	(void)state;
	return tu_ctl_close(&dmn, &dir);
}

/* ---- a reader: lines kept or counted, the unread bytes bounded ---- */

struct reader {
	char *buf; /* unread lines */
	size_t len, cap, peak;
	bool keep; /* keep every line (small tests) */
	json_t *lines;
	uint64_t clients, removed;
	int64_t last_slot;
	bool in_order;
	json_t *last; /* the last line: done or error */
};

static int r_line(void *ctx, const char *s, size_t n)
{
	struct reader *r = ctx;
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	memcpy(r->buf + r->len, s, n);
	r->buf[r->len + n] = '\n';
	r->len += n + 1;
	if (r->len > r->peak)
		r->peak = r->len;
	return 0;
}

static bool r_full(void *ctx)
{
	return ((struct reader *)ctx)->len >= OUT_MAX;
}

/* Reads everything unread: every line parses; clients counted, the slot
 * order checked (every 97th parsed whole, the rest by their "slot"). */
static void r_drain(struct reader *r)
{
	char *p = r->buf, *end = r->buf + r->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		bool client = !strncmp(p, "{\"client\":", 10);
		if (r->keep || !client || r->clients % 97 == 0) {
			json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);
			if (!json_is_object(o))
				fail_msg("not a JSON line: %.*s", (int)(nl - p), p);
			if (client && !json_is_string(json_object_get(
					      json_object_get(o, "client"), "guid")))
				fail_msg("a client line without guid: %.*s", (int)(nl - p), p);
			if (json_object_get(o, "done") || json_object_get(o, "error")) {
				json_decref(r->last);
				r->last = json_incref(o);
			}
			if (r->keep)
				json_array_append(r->lines, o);
			json_decref(o);
		}
		if (client) {
			const char *s = strstr(p, "\"slot\":");
			int64_t slot = s ? atoll(s + 7) : -1;
			r->in_order &= slot > r->last_slot;
			r->last_slot = slot;
			r->clients++;
		}
		r->removed += !strncmp(p, "{\"removed\":", 11);
		p = nl + 1;
	}
	r->len = 0;
}

static void r_init(struct reader *r, bool keep)
{
	*r = (struct reader){.keep = keep, .lines = json_array(), .last_slot = -1,
			     .in_order = true};
}

static void r_free(struct reader *r)
{
	free(r->buf);
	json_decref(r->lines);
	json_decref(r->last);
}

/* A request as the main socket (or the read-only one) sends it. */
static json_t *call(const char *line, bool read_only, bool ask, struct ctl_query **q)
{
	char req[512];
	snprintf(req, sizeof(req), "{\"argv\": %s%s}", line, ask ? ", \"force\": false" : "");
	struct ctl_call c = {.read_only = read_only};
	char *out = ctl_dispatch_call(&dmn, req, strlen(req), &c);
	assert_non_null(out);
	json_t *j = json_loads(out, 0, NULL);
	if (!json_is_object(j))
		fail_msg("%s: not JSON: %s", req, out);
	free(out);
	if (q)
		*q = c.query;
	else
		ctl_query_free(c.query);
	return j;
}

struct run_stats {
	unsigned steps, waits;
	uint64_t max_ns, total_ns;
	size_t max_bytes;
};

/* Steps the query to its end as the "query" job would, with a slow
 * reader: it drains only when the query waits for it (or is done), so
 * the hold-back is exercised however many lines a slice manages on a
 * loaded machine (a reader draining after every step saw no wait under
 * ASan on a busy machine). */
static void run_query(struct ctl_query *q, struct reader *r, struct run_stats *st)
{
	const struct ctl_sink sink = {.line = r_line, .full = r_full, .ctx = r};
	*st = (struct run_stats){0};
	for (;;) {
		uint64_t t0 = gn_mono_ns();
		enum ctl_query_state s = ctl_query_step(q, &sink, SLICE_NS);
		uint64_t dt = gn_mono_ns() - t0;
		st->steps++;
		st->total_ns += dt;
		st->max_ns = dt > st->max_ns ? dt : st->max_ns;
		size_t b = ctl_query_bytes(q);
		st->max_bytes = b > st->max_bytes ? b : st->max_bytes;
		st->waits += s == CTL_QS_WAIT;
		if (s != CTL_QS_MORE)
			r_drain(r);
		if (s == CTL_QS_DONE)
			break;
		assert_true(st->steps < 10000000);
	}
	ctl_query_free(q);
}

static json_t *done_of(struct reader *r)
{
	json_t *d = json_object_get(r->last, "done");
	if (!json_is_object(d))
		fail_msg("the stream did not end with done: %s",
			 r->last ? json_dumps(r->last, 0) : "(nothing)");
	return d;
}

/* ================= 1 M endpoints ================= */

static void add_many(unsigned n)
{
	char g[32];
	for (unsigned i = 0; i < n; i++) {
		struct endpoint *ep;
		snprintf(g, sizeof(g), "e%07u", i);
		assert_int_equal(registry_add(&dmn.reg, g, NOW - 100, &ep), 0);
		ep->last_ctl_contact = NOW - 100 + (i % 89); /* distinct-ish contacts */
		bool up = i % 4 != 0;                        /* a quarter offline */
		registry_set_state(&dmn.reg, ep, false, up,
				   up ? EP_REASON_REGISTERED : EP_REASON_NO_CONTACT, NOW - 50);
		ep->reason = up ? EP_REASON_REGISTERED : EP_REASON_NO_CONTACT; /* offline already */
	}
}

static void test_million_offline_bounded(void **state)
{
	(void)state;
	add_many(BIG);
	assert_int_equal(dmn.reg.count, BIG);
	struct ctl_query *q;
	struct mallinfo2 before = mallinfo2();
	json_t *head = call("[\"show\", \"clients\", \"--status\", \"offline\"]", true, false, &q);
	assert_true(json_is_true(json_object_get(head, "ok")));
	assert_non_null(q);
	json_t *res = json_object_get(head, "result");
	assert_true(json_is_true(json_object_get(res, "streaming")));
	assert_int_equal(tu_jint(res, "clients"), BIG);
	json_decref(head);
	struct mallinfo2 after_open = mallinfo2();

	struct reader r;
	r_init(&r, false);
	struct run_stats st;
	run_query(q, &r, &st);
	assert_int_equal(r.clients, BIG / 4);
	assert_true(r.in_order);
	json_t *d = done_of(&r);
	assert_int_equal(tu_jint(d, "listed"), BIG / 4);
	assert_int_equal(tu_jint(d, "scanned"), BIG);
	assert_true(json_is_null(json_object_get(d, "after")));
	/* Sliced, and held back while the reader had 256 KiB unread. */
	assert_true(st.steps > 10);
	assert_true(st.waits > 0);
	assert_true(r.peak < OUT_MAX + CTL_CLIENT_LINE_MAX);
	/* What the query holds does not grow with the fleet. */
	assert_true(st.max_bytes < 4096);
	assert_true(after_open.uordblks - before.uordblks < 64 * 1024);
	print_message("1M endpoints, --status offline: %llu lines in %u slices of 2 ms budget "
		      "(%u waits for the reader), longest %.2f ms, mean %.3f ms; query holds %zu "
		      "bytes, reader peak %zu bytes unread\n",
		      (unsigned long long)r.clients, st.steps, st.waits, st.max_ns / 1e6,
		      st.total_ns / 1e6 / st.steps, st.max_bytes, r.peak);
	r_free(&r);

	/* The 100 longest silent: a heap of 100, sent sorted at the end. */
	head = call("[\"show\", \"clients\", \"--sort\", \"last_contact\", \"--limit\", \"100\"]",
		    false, false, &q);
	assert_true(json_is_true(json_object_get(head, "ok")));
	json_decref(head);
	r_init(&r, true);
	run_query(q, &r, &st);
	assert_int_equal(r.clients, 100);
	assert_true(st.max_bytes < 4096 + 100 * 32);
	long long prev = -1;
	size_t i;
	json_t *l;
	json_array_foreach(r.lines, i, l) {
		json_t *c = json_object_get(l, "client");
		if (!c)
			continue;
		long long lc = tu_jint(c, "last_contact");
		assert_true(lc >= prev);
		assert_int_equal(lc, NOW - 100); /* i % 89 == 0: the oldest contact */
		prev = lc;
	}
	assert_int_equal(tu_jint(done_of(&r), "matched"), BIG);
	print_message("1M endpoints, --sort last_contact --limit 100: %u slices, longest %.2f ms, "
		      "query holds %zu bytes\n",
		      st.steps, st.max_ns / 1e6, st.max_bytes);
	r_free(&r);

	/* Counts over the million. */
	head = call("[\"show\", \"counts\"]", true, false, &q);
	json_decref(head);
	r_init(&r, true);
	run_query(q, &r, &st);
	d = done_of(&r);
	assert_int_equal(tu_jint(json_object_get(d, "by_status"), "offline"), BIG / 4);
	assert_int_equal(tu_jint(json_object_get(d, "by_status"), "online"), BIG - BIG / 4);
	assert_int_equal(tu_jint(json_object_get(d, "by_reason"), "no-contact"), BIG / 4);
	assert_int_equal(tu_jint(json_object_get(d, "by_last_contact"), "1h"), BIG);
	r_free(&r);
}

/* ================= filters, order, pages ================= */

static struct endpoint *add(const char *guid, const char *host, const char *ip, bool unreach,
			    bool up, enum ep_reason reason, uint32_t contact)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, guid, NOW - 1000, &ep), 0);
	struct gn_addr a = {.family = AF_INET};
	if (ip)
		assert_int_equal(inet_pton(AF_INET, ip, a.bytes), 1);
	assert_int_equal(registry_set_details(&dmn.reg, ep, host, &a, ip ? 1 : 0, 0), 0);
	ep->last_ctl_contact = contact;
	registry_set_state(&dmn.reg, ep, unreach, up, reason, NOW - 10);
	ep->reason = (uint8_t)reason; /* also when it was offline already */
	return ep;
}

/* The guids a query lists, in its order, space-separated. */
static char *guids(const char *argv, bool *ok)
{
	struct ctl_query *q;
	json_t *head = call(argv, false, false, &q);
	*ok = json_is_true(json_object_get(head, "ok"));
	if (!*ok) {
		char *e = strdup(tu_jstr(head, "error"));
		json_decref(head);
		return e;
	}
	json_decref(head);
	struct reader r;
	struct run_stats st;
	r_init(&r, true);
	run_query(q, &r, &st);
	char *s = calloc(1, 4096);
	size_t i;
	json_t *l;
	json_array_foreach(r.lines, i, l) {
		json_t *c = json_object_get(l, "client");
		if (c)
			snprintf(s + strlen(s), 4096 - strlen(s), "%s%s", *s ? " " : "",
				 tu_jstr(c, "guid"));
	}
	r_free(&r);
	return s;
}

static void expect(const char *argv, const char *want)
{
	bool ok;
	char *got = guids(argv, &ok);
	if (!ok || strcmp(got, want))
		fail_msg("%s: listed '%s', want '%s'%s", argv, got, want, ok ? "" : " (refused)");
	free(got);
}

static void fleet(void)
{
	static const char *const specs[] = {"10.20.0.0-10.20.255.255", "10.30.0.0-10.30.0.255"};
	struct range_entry e[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(range_parse(specs[i], &e[i], NULL, 0), 0);
	range_set_free(dmn.policy->ranges);
	dmn.policy->ranges = range_set_build(e, 2);
	assert_int_equal(registry_reset_ranges(&dmn.reg, 2), 0);
	add("pos-1", "pos-1.shop", "192.0.2.1", false, true, EP_REASON_HEARTBEAT, NOW - 5);
	add("pos-2", "pos-2.shop", "192.0.2.2", false, false, EP_REASON_NO_CONTACT, NOW - 7200);
	struct endpoint *n1 = add("nat-1", "till.nat", "10.20.0.9", true, true,
				  EP_REASON_POLL, NOW - 60);
	struct endpoint *n2 = add("nat-2", "kiosk.nat", "10.30.0.9", true, false,
				  EP_REASON_UNREACHABLE, 0);
	registry_set_range(&dmn.reg, n1, 0);
	registry_set_range(&dmn.reg, n2, 1);
	add("pos-3", "pos-3.shop", NULL, false, false, EP_REASON_SHUTDOWN, NOW - 3 * 86400);
}

static void test_filters(void **state)
{
	(void)state;
	fleet();
	expect("[\"show\", \"clients\"]", "pos-1 pos-2 nat-1 nat-2 pos-3");
	expect("[\"show\", \"clients\", \"--status\", \"offline\"]", "pos-2 pos-3");
	expect("[\"show\", \"clients\", \"--status=online,unreachable/offline\"]",
	       "pos-1 nat-2");
	expect("[\"show\", \"clients\", \"--unreachable\"]", "nat-1 nat-2");
	expect("[\"show\", \"clients\", \"--reachable\"]", "pos-1 pos-2 pos-3");
	expect("[\"show\", \"clients\", \"--range\", \"10.30.0.0-10.30.0.255\"]", "nat-2");
	expect("[\"show\", \"clients\", \"--reason\", \"no-contact,shutdown\"]", "pos-2 pos-3");
	expect("[\"show\", \"clients\", \"--not-seen-since\", \"1h\"]", "pos-2 nat-2 pos-3");
	expect("[\"show\", \"clients\", \"--not-seen-since\", \"2d\"]", "nat-2 pos-3");
	char iso[64], line[160];
	time_t t = NOW - 86400;
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(line, sizeof(line), "[\"show\", \"clients\", \"--not-seen-since\", \"%s\"]", iso);
	expect(line, "nat-2 pos-3");
	snprintf(line, sizeof(line), "[\"show\", \"clients\", \"--not-seen-since\", \"@%u\"]",
		 NOW - 86400);
	expect(line, "nat-2 pos-3");
	expect("[\"show\", \"clients\", \"--never-seen\"]", "nat-2");
	expect("[\"show\", \"clients\", \"--guid\", \"pos-[13]\"]", "pos-1 pos-3");
	expect("[\"show\", \"clients\", \"--hostname\", \"*.nat\"]", "nat-1 nat-2");
	expect("[\"show\", \"clients\", \"--guid\", \"pos-*\", \"--status\", \"offline\"]",
	       "pos-2 pos-3");
	expect("[\"show\", \"clients\", \"--sort\", \"status\"]", "pos-1 pos-2 pos-3 nat-1 nat-2");
	expect("[\"show\", \"clients\", \"--sort\", \"guid\", \"--limit\", \"3\"]",
	       "nat-1 nat-2 pos-1");
	expect("[\"show\", \"clients\", \"--sort\", \"guid\", \"--limit\", \"2\", \"--reverse\"]",
	       "pos-3 pos-2");
	expect("[\"show\", \"clients\", \"--sort\", \"last_contact\", \"--limit\", \"2\"]",
	       "nat-2 pos-3");

	/* Pages: --limit 2, then --after the last line's "after". */
	struct ctl_query *q;
	json_t *h = call("[\"show\", \"clients\", \"--limit\", \"2\"]", false, false, &q);
	json_decref(h);
	struct reader r;
	struct run_stats st;
	r_init(&r, true);
	run_query(q, &r, &st);
	json_int_t after = tu_jint(done_of(&r), "after");
	r_free(&r);
	snprintf(line, sizeof(line), "[\"show\", \"clients\", \"--limit\", \"2\", \"--after\", \"%lld\"]",
		 (long long)after);
	expect(line, "nat-1 nat-2");
	snprintf(line, sizeof(line), "[\"show\", \"clients\", \"--after\", \"%lld\"]",
		 (long long)after + 2);
	expect(line, "pos-3");
	expect("[\"show\", \"clients\", \"--after\", \"4000000000\"]", ""); /* past the end */
	expect("[\"show\", \"clients\", \"--after\", \"4294967295\"]", "");

	/* Refused, as usage errors, before any walk. */
	static const char *const bad[] = {
		"[\"show\", \"clients\", \"--status\", \"gone\"]",
		"[\"show\", \"clients\", \"--sort\", \"guid\"]",
		"[\"show\", \"clients\", \"--sort\", \"guid\", \"--limit\", \"100001\"]",
		"[\"show\", \"clients\", \"--sort\", \"status\", \"--after\", \"3\"]",
		"[\"show\", \"clients\", \"--limit\", \"0\"]",
		"[\"show\", \"clients\", \"--not-seen-since\", \"soon\"]",
		"[\"show\", \"clients\", \"--unreachable\", \"--reachable\"]",
		"[\"show\", \"clients\", \"--frob\"]",
		"[\"show\", \"clients\", \"pos-1\"]",
		"[\"show\", \"clients\", \"--limit\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = call(bad[i], false, false, NULL);
		if (json_is_true(json_object_get(j, "ok")) || strcmp(tu_jstr(j, "code"), "usage"))
			fail_msg("%s: %s", bad[i], json_dumps(j, 0));
		json_decref(j);
	}
	json_t *j = call("[\"show\", \"clients\", \"--range\", \"10.99.0.0-10.99.0.255\"]", false,
			 false, NULL);
	assert_non_null(strstr(tu_jstr(j, "error"), "not one of the unreachable ranges"));
	json_decref(j);
}

static void test_counts(void **state)
{
	(void)state;
	fleet();
	struct ctl_query *q;
	json_decref(call("[\"show\", \"counts\"]", true, false, &q));
	struct reader r;
	struct run_stats st;
	r_init(&r, true);
	run_query(q, &r, &st);
	json_t *d = done_of(&r);
	assert_int_equal(tu_jint(d, "matched"), 5);
	json_t *s = json_object_get(d, "by_status");
	assert_int_equal(tu_jint(s, "online"), 1);
	assert_int_equal(tu_jint(s, "offline"), 2);
	assert_int_equal(tu_jint(s, "unreachable/online"), 1);
	assert_int_equal(tu_jint(s, "unreachable/offline"), 1);
	json_t *re = json_object_get(d, "by_reason");
	assert_int_equal(tu_jint(re, "no-contact"), 1);
	assert_int_equal(tu_jint(re, "shutdown"), 1);
	json_t *a = json_object_get(d, "by_last_contact");
	assert_int_equal(tu_jint(a, "1h"), 2);
	assert_int_equal(tu_jint(a, "1d"), 1);
	assert_int_equal(tu_jint(a, "7d"), 1);
	assert_int_equal(tu_jint(a, "never"), 1);
	json_t *rg = json_object_get(d, "by_range");
	assert_int_equal(json_array_size(rg), 2);
	assert_string_equal(tu_jstr(json_array_get(rg, 0), "range"), "10.20.0.0-10.20.255.255");
	assert_int_equal(tu_jint(json_array_get(rg, 0), "online"), 1);
	assert_int_equal(tu_jint(json_array_get(rg, 1), "offline"), 1);
	r_free(&r);
}

/* ================= remove client ================= */

static void test_remove_by_filter(void **state)
{
	(void)state;
	fleet();
	/* Asked to confirm: counts, ends with the confirmation, removes nothing. */
	struct ctl_query *q;
	json_decref(call("[\"remove\", \"client\", \"--status\", \"offline\"]", false, true, &q));
	assert_non_null(q);
	struct reader r;
	struct run_stats st;
	r_init(&r, true);
	run_query(q, &r, &st);
	assert_string_equal(tu_jstr(r.last, "code"), "confirm");
	assert_int_equal(tu_jint(json_object_get(r.last, "preview"), "count"), 2);
	assert_non_null(strstr(tu_jstr(r.last, "error"), "2 clients match --status offline"));
	assert_int_equal(dmn.reg.count, 5);
	r_free(&r);
	/* --dry-run: counts, ok. */
	json_decref(call("[\"remove\", \"client\", \"--status\", \"offline\", \"--dry-run\"]",
			 false, true, &q));
	r_init(&r, true);
	run_query(q, &r, &st);
	assert_int_equal(tu_jint(done_of(&r), "matched"), 2);
	assert_int_equal(dmn.reg.count, 5);
	r_free(&r);

	/* Forced: removed as the walk meets them; one registered after the
	 * removal began is spared although it matches. */
	json_decref(call("[\"remove\", \"client\", \"--status\", \"offline,unreachable/offline\"]",
			 false, false, &q));
	struct endpoint *late;
	assert_int_equal(registry_add(&dmn.reg, "late", NOW, &late), 0);
	registry_set_state(&dmn.reg, late, false, false, EP_REASON_NO_CONTACT, NOW);
	r_init(&r, true);
	run_query(q, &r, &st);
	assert_int_equal(r.removed, 3);
	assert_int_equal(tu_jint(done_of(&r), "removed"), 3);
	assert_null(registry_by_guid(&dmn.reg, "pos-2"));
	assert_null(registry_by_guid(&dmn.reg, "nat-2"));
	assert_non_null(registry_by_guid(&dmn.reg, "late"));
	assert_non_null(registry_by_guid(&dmn.reg, "pos-1"));
	assert_int_equal(dmn.reg.count, 3);
	r_free(&r);

	/* A filter and names together, or neither: usage. */
	json_t *j = call("[\"remove\", \"client\", \"pos-1\", \"--status\", \"online\"]", false,
			 false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "usage");
	json_decref(j);
	j = call("[\"remove\", \"client\"]", false, false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "usage");
	json_decref(j);
}

/* An endpoint added in the same second as the removal, but before it
 * began (an import just done), is removed: whole seconds cannot tell
 * before from after, the reuse count can (it removed none of them). */
static void test_remove_same_second(void **state)
{
	(void)state;
	struct endpoint *ep;
	for (int i = 0; i < 3; i++) {
		char g[16];
		snprintf(g, sizeof(g), "laptop-%d", i);
		assert_int_equal(registry_add(&dmn.reg, g, NOW, &ep), 0);
		registry_set_state(&dmn.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW);
	}
	assert_int_equal(gn_coarse_steady(), NOW); /* the removal begins this second */
	struct ctl_query *q;
	json_decref(call("[\"remove\", \"client\", \"--guid\", \"laptop-*\"]", false, false, &q));
	assert_non_null(q);
	struct reader r;
	struct run_stats st;
	r_init(&r, true);
	run_query(q, &r, &st);
	assert_int_equal(r.removed, 3);
	assert_int_equal(tu_jint(done_of(&r), "removed"), 3);
	assert_int_equal(dmn.reg.count, 0);
	r_free(&r);
}

static void test_remove_many_names(void **state)
{
	(void)state;
	char g[16];
	for (int i = 0; i < 40; i++) {
		struct endpoint *ep;
		snprintf(g, sizeof(g), "m%02d", i);
		assert_int_equal(registry_add(&dmn.reg, g, NOW - 100, &ep), 0);
	}
	/* 20 names (more than the old 14), asked to confirm: the preview. */
	char line[1024] = "[\"remove\", \"client\"";
	for (int i = 0; i < 20; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), ", \"m%02d\"", i);
	char forced[1100];
	snprintf(forced, sizeof(forced), "%s]", line);
	json_t *j = call(forced, false, true, NULL);
	assert_false(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(tu_jstr(j, "code"), "confirm");
	assert_int_equal(tu_jint(json_object_get(j, "preview"), "count"), 20);
	assert_non_null(strstr(tu_jstr(j, "error"), "remove 20 clients: m00, m01"));
	json_decref(j);
	assert_int_equal(dmn.reg.count, 40);
	/* One unknown name: nothing removed. */
	snprintf(forced, sizeof(forced), "%s, \"nosuch\"]", line);
	j = call(forced, false, false, NULL);
	assert_non_null(strstr(tu_jstr(j, "error"), "'nosuch' (nothing removed)"));
	json_decref(j);
	assert_int_equal(dmn.reg.count, 40);
	/* --missing-ok: skipped and listed; the 20 go. */
	snprintf(forced, sizeof(forced), "%s, \"nosuch\", \"--missing-ok\"]", line);
	j = call(forced, false, false, NULL);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_t *res = json_object_get(j, "result");
	assert_int_equal(json_array_size(json_object_get(res, "removed")), 20);
	assert_string_equal(json_string_value(json_array_get(json_object_get(res, "missing"), 0)),
			    "nosuch");
	json_decref(j);
	assert_int_equal(dmn.reg.count, 20);
	/* --dry-run with the rest, and a "--force" word as a client without
	 * "force" sends it. */
	j = call("[\"remove\", \"client\", \"m20\", \"m21\", \"--dry-run\"]", false, true, NULL);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"),
							 "would_remove")),
			 2);
	json_decref(j);
	j = call("[\"remove\", \"client\", \"m20\", \"--force\"]", false, true, NULL);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	assert_int_equal(dmn.reg.count, 19);
}

/* ================= the table ================= */

static void test_table_rules(void **state)
{
	(void)state;
	/* Read-only socket: only the commands marked read. */
	static const char *const writes[] = {
		"[\"set\", \"heartbeat.interval\", \"5m\"]",
		"[\"remove\", \"client\", \"x\"]",
		"[\"range\", \"add\", \"10.0.0.0-10.0.0.255\"]",
		"[\"import\", \"/tmp/x.jsonl\"]",
		"[\"export\", \"/tmp/x.jsonl\"]",
		"[\"guard\", \"release\"]",
		"[\"component\", \"del\", \"x\"]",
		"[\"endpoint-setting\", \"set\", \"a\", \"b\"]",
		"[\"debug\", \"send\", \"192.0.2.1\", \"9\"]",
		"[\"notify\", \"cancel\"]",
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		json_t *j = call(writes[i], true, false, NULL);
		if (json_is_true(json_object_get(j, "ok")) ||
		    strcmp(tu_jstr(j, "code"), "read-only") ||
		    !strstr(tu_jstr(j, "error"), "refused on the read-only control socket"))
			fail_msg("%s on the read-only socket: %s", writes[i], json_dumps(j, 0));
		json_decref(j);
	}
	assert_int_equal(dmn.policy->hb_interval, 600); /* nothing applied */
	static const char *const reads[] = {
		"[\"show\", \"status\"]", "[\"show\", \"stats\"]", "[\"show\", \"settings\"]",
		"[\"range\", \"list\"]", "[\"help\"]", "[\"show\", \"bulk\"]",
		"[\"component\", \"list\"]",
	};
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		json_t *j = call(reads[i], true, false, NULL);
		if (!json_is_true(json_object_get(j, "ok")))
			fail_msg("%s on the read-only socket: %s", reads[i], json_dumps(j, 0));
		json_decref(j);
	}
	/* help: flags and options; help COMMAND. */
	json_t *j = call("[\"help\", \"show\", \"clients\"]", false, false, NULL);
	json_t *cmds = json_object_get(json_object_get(j, "result"), "commands");
	assert_int_equal(json_array_size(cmds), 1);
	json_t *c = json_array_get(cmds, 0);
	assert_string_equal(tu_jstr(c, "name"), "show clients");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "flags"), 0)),
			    "read");
	json_t *o = json_array_get(json_object_get(c, "options"), 0);
	assert_string_equal(tu_jstr(o, "name"), "--status");
	assert_int_equal(json_array_size(json_object_get(o, "choices")), 4);
	json_decref(j);
	j = call("[\"help\", \"remove\"]", false, false, NULL);
	c = json_array_get(json_object_get(json_object_get(j, "result"), "commands"), 0);
	bool has_force = false;
	size_t i;
	json_array_foreach(json_object_get(c, "options"), i, o) has_force |=
		!strcmp(tu_jstr(o, "name"), "--force");
	assert_true(has_force);
	json_decref(j);
	j = call("[\"help\", \"set\"]", false, false, NULL);
	c = json_array_get(json_object_get(json_object_get(j, "result"), "commands"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "complete"), 0)),
			    "heartbeat.enabled");
	json_decref(j);
	j = call("[\"help\", \"nosuch\"]", false, false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "usage");
	json_decref(j);
	/* Unknown commands: usage, naming the words (it said 'show'). */
	j = call("[\"show\", \"everything\"]", false, false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "usage");
	assert_non_null(strstr(tu_jstr(j, "error"), "unknown command 'show everything'"));
	assert_non_null(strstr(tu_jstr(j, "error"), "clients"));
	json_decref(j);
	j = call("[\"show\", \"client\"]", false, false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "usage");
	json_decref(j);
	j = call("[\"show\", \"client\", \"nosuch\"]", false, false, NULL);
	assert_string_equal(tu_jstr(j, "code"), "error");
	json_decref(j);
	/* guard release asked to confirm: an error when not raised, a preview when it is. */
	j = call("[\"guard\", \"release\"]", false, true, NULL);
	assert_string_equal(tu_jstr(j, "code"), "error");
	json_decref(j);
	dmn.sweep.guard.active = true;
	dmn.sweep.guard.held = 77;
	j = call("[\"guard\", \"release\"]", false, true, NULL);
	assert_string_equal(tu_jstr(j, "code"), "confirm");
	assert_int_equal(tu_jint(json_object_get(j, "preview"), "count"), 77);
	assert_true(dmn.sweep.guard.active); /* nothing done */
	json_decref(j);
	dmn.sweep.guard.active = false;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_million_offline_bounded), T(test_filters),          T(test_counts),
		T(test_remove_by_filter),
	T(test_remove_same_second),        T(test_remove_many_names), T(test_table_rules),
	};
	return TU_RUN(tests);
}
