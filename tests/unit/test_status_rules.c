/*
 * The status rules of docs/status.md (R1..R10), one or more tests
 * per rule, each named after its rule and each failing if the rule were
 * broken. The clock is injected: every call takes an explicit `now`, and a
 * heartbeat is a timestamp written into a worker's seen array, as the data
 * plane does. Every status change is read back from an in-memory
 * transition feed, so the tests check what was changed AND what was said.
 *
 * Proves, by rule:
 *  R1  address edges of IPv4 ranges (lo, hi in; lo-1, hi+1 out) and IPv6
 *      prefixes; families never cross (IPv4 vs IPv6 entries), IPv4-mapped
 *      IPv6 is IPv4; dual-stack endpoints match on either address;
 *      overlapping entries count an endpoint once, under the smallest;
 *      new ranges reclassify every endpoint (moved count, "reclassified"
 *      transitions, per-range counts).
 *  R2  policy_hb_applies over enabled x scope x unreachable.
 *  R3  a poll is contact and marks an unreachable endpoint online at once;
 *      heartbeats (either worker's array) keep an endpoint online.
 *  R4  registration: regular -> online; unreachable -> online when the
 *      heartbeat applies, else unreachable/offline at once (reason
 *      unreachable) and it stays so through sweeps until a poll.
 *  R5  events are contact for regular endpoints only.
 *  R6  the offline_after boundary for every kind of contact; SHUTDOWN.
 *  R7  the four status names.
 *  R8  one transition per change, in order, with old/new/reason/time; none
 *      for a non-change; a repeated sweep emits nothing.
 *  R9  restart grace.
 *  R10 the mass-offline guard: raise, hold, operator release, release on
 *      resumed contact, threshold and minimum.
 *  and settings changed mid-flight (a new snapshot at the next sweep).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/policy.h"
#include "control/ranges.h"
#include "control/registry.h"
#include "control/settings.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/text.h"
#include "control/transitions.h"
#include "glournet/slot_table.h"
#include "support/tu_run.h"

/* The coarse clock's storage lives in glournetd's main.c (weak: a
 * definition moved into the library takes precedence). */
__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define T0 1795000000u
#define O_DEF (30u * 60)    /* default offline_after */
#define HB_DEF (10u * 60)   /* default heartbeat.interval */
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ================= fixture ================= */

struct fx {
	struct slot_table t;
	struct registry r;
	struct transition_feed *feed;
	struct policy *p;
	struct sweep_state s;
	uint64_t mark;          /* next feed seq not yet checked */
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(slot_table_init(&f->t, 2, 1u << 20), 0);
	assert_int_equal(registry_init(&f->r, &f->t), 0);
	f->feed = feed_new(1u << 16, NULL);
	assert_non_null(f->feed);
	f->r.feed = f->feed;
	f->p = policy_new_default();
	assert_non_null(f->p);
	/* Long after the start: no restart grace (R9) unless a test asks. */
	f->s.started = T0 - 400u * 86400;
	uint32_t moved;
	assert_int_equal(status_reclassify_all(&f->r, f->p, T0, &moved), 0);
	f->mark = feed_next_seq(f->feed);
	return f;
}

static void fx_free(struct fx *f)
{
	sweep_state_free(&f->s);
	registry_destroy(&f->r);
	slot_table_destroy(&f->t);
	feed_free(f->feed);
	policy_free(f->p);
	free(f);
}

static int fx_setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ================= helpers ================= */

static void set(struct policy *p, const char *name, const char *value)
{
	char err[256] = "";
	if (settings_set(p, name, value, err, sizeof(err)) != 0)
		fail_msg("settings_set(%s, %s): %s", name, value, err);
}

/* A default policy with these ranges (NULL-terminated). */
static struct policy *pol(const char *const *ranges)
{
	struct policy *p = policy_new_default();
	assert_non_null(p);
	size_t n = 0;
	while (ranges && ranges[n])
		n++;
	struct range_entry *e = calloc(n ? n : 1, sizeof(*e));
	assert_non_null(e);
	for (size_t i = 0; i < n; i++) {
		char err[256] = "";
		if (range_parse(ranges[i], &e[i], err, sizeof(err)) != 0)
			fail_msg("range_parse(%s): %s", ranges[i], err);
	}
	range_set_free(p->ranges);
	p->ranges = range_set_build(e, n);
	free(e);
	assert_non_null(p->ranges);
	return p;
}

/* Puts p in force, as daemon_policy_commit does when the ranges change. */
static uint32_t use_policy(struct fx *f, struct policy *p, uint32_t now)
{
	uint32_t moved = 12345;
	assert_int_equal(status_reclassify_all(&f->r, p, now, &moved), 0);
	policy_free(f->p);
	f->p = p;
	return moved;
}

static void add_ip(struct registry *r, struct endpoint *ep, const char *text)
{
	struct gn_addr ips[EP_MAX_IPS + 1];
	unsigned n = ep_ips(ep, ips);
	assert_true(n < EP_MAX_IPS);
	if (text_parse_addr(text, strlen(text), &ips[n++]) < 0)
		fail_msg("bad address in test: %s", text);
	assert_int_equal(registry_set_ips(r, ep, ips, n), 0);
}

/* registry_add + its addresses ("a,b,..."), no status rule applied yet. */
static struct endpoint *add_ep(struct fx *f, const char *ips, uint32_t now)
{
	char guid[32];
	snprintf(guid, sizeof(guid), "ep-%u", f->r.count);
	struct endpoint *ep = NULL;
	assert_int_equal(registry_add(&f->r, guid, now, &ep), 0);
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", ips ? ips : "");
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		add_ip(&f->r, ep, tok);
	return ep;
}

/* Registration as the HTTP handler does it (R1, R4). */
static struct endpoint *reg_ep(struct fx *f, const char *ips, uint32_t now)
{
	struct endpoint *ep = add_ep(f, ips, now);
	status_on_register(&f->r, f->p, ep, now);
	return ep;
}

/* A heartbeat stamped t, recorded by `worker` as the data plane does. */
static void hb_w(struct fx *f, uint32_t slot, unsigned worker, uint32_t t)
{
	*slot_dir_seen(f->t.dir, slot, worker) = t;
}

static void hb(struct fx *f, const struct endpoint *ep, uint32_t t)
{
	hb_w(f, ep->slot, 0, t);
}

static struct sweep_result sweep_p(struct fx *f, const struct policy *p, uint32_t now)
{
	struct sweep_result res;
	memset(&res, 0xa5, sizeof(res));
	sweep_run(&f->s, &f->r, p, now, &res);
	return res;
}

static struct sweep_result sweep(struct fx *f, uint32_t now)
{
	return sweep_p(f, f->p, now);
}

/* ---- status and feed checks, with names in the failure messages ---- */

#define expect_status(ep, st) expect_status_((ep), (st), __LINE__)
static void expect_status_(const struct endpoint *ep, enum ep_status st, int line)
{
	if (ep->status != st)
		fail_msg("line %d: %s is %s, want %s", line, ep_guid(ep),
			 ep_status_name(ep->status), ep_status_name(st));
	if (ep->unreachable != (st == EP_UNREACH_ONLINE || st == EP_UNREACH_OFFLINE) ||
	    ep->up != (st == EP_ONLINE || st == EP_UNREACH_ONLINE))
		fail_msg("line %d: %s: status %s but unreachable=%d up=%d", line, ep_guid(ep),
			 ep_status_name(st), ep->unreachable, ep->up);
}

#define expect_reason(ep, why) expect_reason_((ep), (why), __LINE__)
static void expect_reason_(const struct endpoint *ep, enum ep_reason why, int line)
{
	if (ep->reason != why)
		fail_msg("line %d: %s reason %s, want %s", line, ep_guid(ep),
			 ep_reason_name(ep->reason), ep_reason_name(why));
}

static uint64_t pending(const struct fx *f)
{
	return feed_next_seq(f->feed) - f->mark;
}

static void skip_feed(struct fx *f)
{
	f->mark = feed_next_seq(f->feed);
}

#define expect_no_tr(f) expect_no_tr_((f), __LINE__)
static void expect_no_tr_(struct fx *f, int line)
{
	if (pending(f)) {
		const struct transition *t = feed_get(f->feed, f->mark);
		fail_msg("line %d: %llu unexpected transition(s); first: kind %u slot %u %s -> %s (%s)",
			 line, (unsigned long long)pending(f), t->kind, t->slot,
			 ep_status_name(t->old_status), ep_status_name(t->new_status),
			 ep_reason_name(t->reason));
	}
}

static const struct transition *next_tr(struct fx *f, int line)
{
	const struct transition *t = feed_get(f->feed, f->mark);
	if (!t)
		fail_msg("line %d: expected a transition at seq %llu, feed ends at %llu", line,
			 (unsigned long long)f->mark, (unsigned long long)feed_next_seq(f->feed));
	assert_int_equal(t->seq, f->mark);
	f->mark++;
	return t;
}

#define expect_tr(f, ep, old, new_, why, time) expect_tr_((f), (ep), (old), (new_), (why), (time), __LINE__)
static void expect_tr_(struct fx *f, const struct endpoint *ep, enum ep_status old,
		       enum ep_status new_, enum ep_reason why, uint32_t time, int line)
{
	const struct transition *t = next_tr(f, line);
	if (t->kind != TK_STATUS || t->id != ep->id || t->slot != ep->slot ||
	    t->old_status != old || t->new_status != new_ || t->reason != why || t->time != time)
		fail_msg("line %d: transition seq %llu is kind %u slot %u %s -> %s (%s) at %u; "
			 "want slot %u %s -> %s (%s) at %u", line, (unsigned long long)t->seq,
			 t->kind, t->slot, ep_status_name(t->old_status),
			 ep_status_name(t->new_status), ep_reason_name(t->reason), t->time,
			 ep->slot, ep_status_name(old), ep_status_name(new_), ep_reason_name(why),
			 time);
}

#define expect_guard_ev(f, kind, count, time) expect_guard_ev_((f), (kind), (count), (time), __LINE__)
static void expect_guard_ev_(struct fx *f, enum transition_kind kind, uint32_t count,
			     uint32_t time, int line)
{
	const struct transition *t = next_tr(f, line);
	if (t->kind != kind || t->count != count || t->time != time)
		fail_msg("line %d: event seq %llu is kind %u count %u at %u; want kind %u count %u at %u",
			 line, (unsigned long long)t->seq, t->kind, t->count, t->time, kind, count,
			 time);
}

/* Feed events of a kind since f->mark (does not consume). */
static uint32_t count_kind(const struct fx *f, enum transition_kind kind)
{
	uint32_t n = 0;
	for (uint64_t s = f->mark; s < feed_next_seq(f->feed); s++)
		n += feed_get(f->feed, s)->kind == kind;
	return n;
}

/* by_status and by_range agree with the endpoints themselves. */
static void check_counts(const struct fx *f)
{
	uint32_t st[EP_STATUS_COUNT] = {0};
	uint32_t nr = f->r.nranges;
	uint32_t (*br)[2] = calloc(nr ? nr : 1, sizeof(*br));
	assert_non_null(br);
	for (uint32_t s = 0; s < f->r.count; s++) {
		const struct endpoint *ep = registry_at(&f->r, s);
		st[ep->status]++;
		if (ep->unreachable) {
			if (ep->range < 0 || (uint32_t)ep->range >= nr)
				fail_msg("%s is unreachable but counted under range %d of %u",
					 ep_guid(ep), ep->range, nr);
			br[ep->range][ep->up]++;
		} else if (ep->range != -1) {
			fail_msg("%s is regular but has range %d", ep_guid(ep), ep->range);
		}
	}
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		if (st[i] != f->r.by_status[i])
			fail_msg("by_status[%s] = %u, endpoints say %u", ep_status_name(i),
				 f->r.by_status[i], st[i]);
	for (uint32_t i = 0; i < nr; i++)
		for (int up = 0; up < 2; up++)
			if (br[i][up] != f->r.by_range[i][up])
				fail_msg("by_range[%u][%d] = %u, endpoints say %u", i, up,
					 f->r.by_range[i][up], br[i][up]);
	free(br);
}

/* ================= R1: the unreachable network ================= */

struct addr_case {
	const char *ips;
	int range;            /* expected range index; -1: regular */
};

/* Registers each case under f->p and checks classification, status and
 * the range it is counted under. */
static void run_addr_cases(struct fx *f, const struct addr_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct endpoint *ep = reg_ep(f, c[i].ips, T0);
		int32_t range = 99;
		bool u = status_classify(f->p, ep, &range);
		if (u != (c[i].range >= 0) || range != c[i].range || ep->range != c[i].range ||
		    ep->unreachable != (c[i].range >= 0))
			fail_msg("%s: classify %d range %d (ep->range %d); want range %d", c[i].ips, u,
				 range, ep->range, c[i].range);
		expect_status(ep, c[i].range >= 0 ? EP_UNREACH_ONLINE : EP_ONLINE);
		expect_reason(ep, EP_REASON_REGISTERED);
	}
	check_counts(f);
}

static void test_R1_ipv4_range_edges(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"192.168.0.255-192.168.2.0", "10.1.2.3-10.1.5.250",
		"255.255.255.255", "0.0.0.0-0.0.0.1", NULL};
	use_policy(f, pol(ranges), T0);
	static const struct addr_case c[] = {
		{"192.168.0.255", 0}, {"192.168.2.0", 0},        /* lo, hi: in */
		{"192.168.0.254", -1}, {"192.168.2.1", -1},      /* lo-1, hi+1: out */
		{"192.168.1.0", 0}, {"192.168.1.255", 0},
		{"10.1.2.3", 1}, {"10.1.5.250", 1}, {"10.1.2.2", -1}, {"10.1.5.251", -1},
		{"255.255.255.255", 2}, {"255.255.255.254", -1},
		{"0.0.0.0", 3}, {"0.0.0.1", 3}, {"0.0.0.2", -1},
	};
	run_addr_cases(f, c, N_OF(c));
	assert_int_equal(f->r.nranges, 4);
	assert_int_equal(f->r.by_range[0][1], 4);
	assert_int_equal(f->r.by_range[1][1], 2);
	assert_int_equal(f->r.by_range[2][1], 1);
	assert_int_equal(f->r.by_range[3][1], 2);
	assert_int_equal(f->r.by_status[EP_UNREACH_ONLINE], 9);
	assert_int_equal(f->r.by_status[EP_ONLINE], 6);
}

static void test_R1_ipv6_prefix_edges(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"2001:db8::/32", "fd00:1:2:3::/64", "fe80::1/128",
					     "::/127", NULL};
	use_policy(f, pol(ranges), T0);
	static const struct addr_case c[] = {
		{"2001:db8::", 0}, {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", -1}, {"2001:db9::", -1},
		{"fd00:1:2:3::", 1}, {"fd00:1:2:3:ffff:ffff:ffff:ffff", 1},
		{"fd00:1:2:2:ffff:ffff:ffff:ffff", -1}, {"fd00:1:2:4::", -1},
		{"fe80::1", 2}, {"fe80::", -1}, {"fe80::2", -1},
		{"::", 3}, {"::1", 3}, {"::2", -1},
	};
	run_addr_cases(f, c, N_OF(c));
	assert_int_equal(f->r.by_range[0][1], 2);
	assert_int_equal(f->r.by_range[1][1], 2);
	assert_int_equal(f->r.by_range[2][1], 1);
	assert_int_equal(f->r.by_range[3][1], 2);
}

/* An IPv4 address against IPv4 ranges, IPv6 against IPv6 prefixes: even
 * the widest entry of the other family never matches. */
static void test_R1_families_never_cross(void **state)
{
	struct fx *f = *state;
	static const char *const all6[] = {"::/0", NULL};
	use_policy(f, pol(all6), T0);
	static const struct addr_case c6[] = {
		{"10.0.0.1", -1}, {"::ffff:10.0.0.1", -1}, {"2001:db8::1", 0}, {"::1.2.3.4", 0},
	};
	run_addr_cases(f, c6, N_OF(c6));

	struct fx *g = fx_new();
	static const char *const all4[] = {"0.0.0.0-255.255.255.255", NULL};
	use_policy(g, pol(all4), T0);
	static const struct addr_case c4[] = {
		{"2001:db8::1", -1}, {"::1.2.3.4", -1}, {"64:ff9b::1.2.3.4", -1},
		{"::ffff:1.2.3.4", 0}, {"1.2.3.4", 0},
	};
	run_addr_cases(g, c4, N_OF(c4));
	fx_free(g);
}

static void test_R1_ipv4_mapped_ipv6_matches_ipv4_range(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", "2001:db8::/32", NULL};
	use_policy(f, pol(ranges), T0);
	static const struct addr_case c[] = {
		{"::ffff:10.0.0.0", 0}, {"::ffff:10.0.0.255", 0}, {"::ffff:10.0.0.77", 0},
		{"::ffff:9.255.255.255", -1}, {"::ffff:10.0.1.0", -1},
		{"2001:db9::1,::ffff:10.0.0.5", 0},
	};
	run_addr_cases(f, c, N_OF(c));
	assert_string_equal(ep_status_name((*registry_at(&f->r, 0)).status), "unreachable/online");
	assert_int_equal(f->r.by_range[0][1], 4);
	assert_int_equal(f->r.by_range[1][1], 0);
}

/* A dual-stack endpoint is unreachable when either address is in, counted
 * once (under its first matching address). */
static void test_R1_dual_stack(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", "2001:db8::/32", NULL};
	use_policy(f, pol(ranges), T0);
	static const struct addr_case c[] = {
		{"10.0.1.1,2001:db8::5", 1},      /* v4 out, v6 in */
		{"10.0.0.1,2001:db9::5", 0},      /* v4 in, v6 out */
		{"2001:db8::5,10.0.1.1", 1},
		{"2001:db9::5,10.0.0.1", 0},
		{"10.0.1.1,2001:db9::5", -1},     /* both out */
		{"10.0.0.1,2001:db8::1", 0},      /* both in: once */
		{"2001:db8::1,10.0.0.1", 1},
		{"10.0.1.1,10.0.1.2,fe80::1,2001:db8:ffff::1", 1},
	};
	run_addr_cases(f, c, N_OF(c));
	assert_int_equal(f->r.by_range[0][1] + f->r.by_range[1][1], 7);
	assert_int_equal(f->r.by_status[EP_UNREACH_ONLINE], 7);
	assert_int_equal(f->r.by_status[EP_ONLINE], 1);
}

/* Overlapping entries: counted once, under the smallest (ties: the first). */
static void test_R1_overlapping_ranges_counted_once_under_smallest(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {
		"10.0.0.0-10.255.255.255", "10.1.0.0-10.1.255.255", "10.1.2.0-10.1.2.255",
		"2001:db8::/32", "2001:db8:1::/48",
		"172.16.0.0-172.16.0.255", "172.16.0.0-172.16.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	static const struct addr_case c[] = {
		{"10.1.2.5", 2}, {"10.1.2.0", 2}, {"10.1.2.255", 2}, {"10.1.3.1", 1},
		{"10.1.1.255", 1}, {"10.1.255.255", 1}, {"10.2.0.1", 0}, {"10.0.255.255", 0},
		{"2001:db8:1::9", 4}, {"2001:db8:2::9", 3}, {"172.16.0.9", 5},
	};
	run_addr_cases(f, c, N_OF(c));
	static const uint32_t want[] = {2, 3, 3, 1, 1, 1, 0};
	for (uint32_t i = 0; i < N_OF(want); i++)
		if (f->r.by_range[i][1] != want[i] || f->r.by_range[i][0] != 0)
			fail_msg("by_range[%u] = {%u, %u}, want {0, %u}", i, f->r.by_range[i][0],
				 f->r.by_range[i][1], want[i]);
	/* The counts follow a status change: one goes offline. */
	struct endpoint *ep = registry_at(&f->r, 0);
	status_on_shutdown(&f->r, ep, T0 + 5, T0 + 5);
	expect_status(ep, EP_UNREACH_OFFLINE);
	assert_int_equal(f->r.by_range[2][0], 1);
	assert_int_equal(f->r.by_range[2][1], 2);
	check_counts(f);
}

/* New ranges: every endpoint again; moved ones change status name with a
 * "reclassified" transition, the others are untouched. */
static void test_R1_changing_ranges_reclassifies(void **state)
{
	struct fx *f = *state;
	static const char *const a[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(a), T0);
	struct endpoint *e1 = reg_ep(f, "10.0.0.1", T0);   /* unreachable/online */
	struct endpoint *e2 = reg_ep(f, "10.0.1.1", T0);   /* online */
	struct endpoint *e3 = reg_ep(f, "10.0.2.1", T0);   /* online, in neither */
	struct endpoint *e4 = reg_ep(f, "10.0.1.2", T0);   /* offline after shutdown */
	struct endpoint *e5 = reg_ep(f, "10.0.0.9", T0);   /* unreachable/offline */
	status_on_shutdown(&f->r, e4, T0 + 5, T0 + 5);
	status_on_shutdown(&f->r, e5, T0 + 5, T0 + 5);
	expect_status(e1, EP_UNREACH_ONLINE);
	expect_status(e2, EP_ONLINE);
	expect_status(e4, EP_OFFLINE);
	expect_status(e5, EP_UNREACH_OFFLINE);
	assert_int_equal(f->r.by_range[0][1], 1);
	assert_int_equal(f->r.by_range[0][0], 1);
	skip_feed(f);

	const uint32_t t1 = T0 + 100;
	static const char *const b[] = {"10.0.1.0-10.0.1.255", "10.0.3.0-10.0.3.255", NULL};
	assert_int_equal(use_policy(f, pol(b), t1), 4);
	expect_tr(f, e1, EP_UNREACH_ONLINE, EP_ONLINE, EP_REASON_RECLASSIFIED, t1);
	expect_tr(f, e2, EP_ONLINE, EP_UNREACH_ONLINE, EP_REASON_RECLASSIFIED, t1);
	expect_tr(f, e4, EP_OFFLINE, EP_UNREACH_OFFLINE, EP_REASON_RECLASSIFIED, t1);
	expect_tr(f, e5, EP_UNREACH_OFFLINE, EP_OFFLINE, EP_REASON_RECLASSIFIED, t1);
	expect_no_tr(f);
	expect_status(e1, EP_ONLINE);
	expect_status(e2, EP_UNREACH_ONLINE);
	expect_status(e3, EP_ONLINE);
	expect_reason(e3, EP_REASON_REGISTERED);
	expect_status(e4, EP_UNREACH_OFFLINE);
	expect_status(e5, EP_OFFLINE);
	assert_string_equal(ep_status_name(e2->status), "unreachable/online");
	assert_string_equal(ep_status_name(e1->status), "online");
	assert_int_equal(f->r.nranges, 2);
	assert_int_equal(e2->range, 0);
	assert_int_equal(e4->range, 0);
	assert_int_equal(f->r.by_range[0][1], 1);
	assert_int_equal(f->r.by_range[0][0], 1);
	assert_int_equal(f->r.by_range[1][0] + f->r.by_range[1][1], 0);
	assert_int_equal(f->r.by_status[EP_ONLINE], 2);
	assert_int_equal(f->r.by_status[EP_OFFLINE], 1);
	assert_int_equal(f->r.by_status[EP_UNREACH_ONLINE], 1);
	assert_int_equal(f->r.by_status[EP_UNREACH_OFFLINE], 1);
	check_counts(f);

	/* The same ranges again: nothing moves, nothing is said. */
	assert_int_equal(use_policy(f, pol(b), t1 + 1), 0);
	expect_no_tr(f);

	/* Same addresses, entries reordered: nobody moves, counts follow the
	 * new indices. */
	static const char *const b2[] = {"10.0.3.0-10.0.3.255", "10.0.1.0-10.0.1.255", NULL};
	assert_int_equal(use_policy(f, pol(b2), t1 + 2), 0);
	expect_no_tr(f);
	assert_int_equal(e2->range, 1);
	assert_int_equal(f->r.by_range[1][1], 1);
	assert_int_equal(f->r.by_range[0][1] + f->r.by_range[0][0], 0);
	check_counts(f);

	/* No ranges: everybody regular. */
	assert_int_equal(use_policy(f, pol(NULL), t1 + 3), 2);
	expect_tr(f, e2, EP_UNREACH_ONLINE, EP_ONLINE, EP_REASON_RECLASSIFIED, t1 + 3);
	expect_tr(f, e4, EP_UNREACH_OFFLINE, EP_OFFLINE, EP_REASON_RECLASSIFIED, t1 + 3);
	expect_no_tr(f);
	assert_int_equal(f->r.nranges, 0);
	check_counts(f);
}

/* ================= R2: when heartbeat applies ================= */

static void test_R2_hb_applies_table(void **state)
{
	(void)state;
	static const struct {
		const char *enabled, *scope;
		bool unreachable, want;
	} c[] = {
		{"on", "all", false, true},          {"on", "all", true, true},
		{"on", "unreachable", false, false}, {"on", "unreachable", true, true},
		{"off", "all", false, false},        {"off", "all", true, false},
		{"off", "unreachable", false, false}, {"off", "unreachable", true, false},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct policy *p = policy_new_default();
		set(p, "heartbeat.enabled", c[i].enabled);
		set(p, "heartbeat.scope", c[i].scope);
		if (policy_hb_applies(p, c[i].unreachable) != c[i].want)
			fail_msg("enabled %s, scope %s, unreachable %d: applies %d, want %d",
				 c[i].enabled, c[i].scope, c[i].unreachable, !c[i].want, c[i].want);
		policy_free(p);
	}
}

/* ================= R3: contact ================= */

static void test_R3_poll_marks_unreachable_online_at_once(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	struct policy *p = pol(ranges);
	set(p, "heartbeat.enabled", "off");
	use_policy(f, p, T0);
	struct endpoint *ep = reg_ep(f, "10.0.0.1", T0);
	expect_status(ep, EP_UNREACH_OFFLINE);
	skip_feed(f);

	/* At once: no sweep in between. */
	status_on_poll(&f->r, ep, T0 + 7);
	expect_status(ep, EP_UNREACH_ONLINE);
	expect_reason(ep, EP_REASON_POLL);
	assert_int_equal(ep->last_poll, T0 + 7);
	expect_tr(f, ep, EP_UNREACH_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL, T0 + 7);

	/* The poll is contact for offline_after. */
	struct sweep_result res = sweep(f, T0 + 7 + O_DEF - 1);
	expect_status(ep, EP_UNREACH_ONLINE);
	assert_int_equal(res.went_offline, 0);
	expect_no_tr(f);
	res = sweep(f, T0 + 7 + O_DEF);
	expect_status(ep, EP_UNREACH_OFFLINE);
	expect_tr(f, ep, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT, T0 + 7 + O_DEF);

	/* Offline by no-contact: the next poll brings it back at once. */
	status_on_poll(&f->r, ep, T0 + 7 + O_DEF + 3);
	expect_status(ep, EP_UNREACH_ONLINE);
	expect_tr(f, ep, EP_UNREACH_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL, T0 + 7 + O_DEF + 3);

	/* Polls every 25 minutes keep it online through sweeps. */
	uint32_t t = T0 + 7 + O_DEF + 3;
	for (int i = 0; i < 6; i++) {
		t += 25 * 60;
		res = sweep(f, t);
		expect_status(ep, EP_UNREACH_ONLINE);
		status_on_poll(&f->r, ep, t);
	}
	expect_no_tr(f);

	/* A regular endpoint that polls: contact too. */
	struct endpoint *r = reg_ep(f, "10.0.9.9", t);
	sweep(f, t + O_DEF);
	expect_status(r, EP_OFFLINE);
	skip_feed(f);
	status_on_poll(&f->r, r, t + O_DEF + 1);
	expect_status(r, EP_ONLINE);
	expect_tr(f, r, EP_OFFLINE, EP_ONLINE, EP_REASON_POLL, t + O_DEF + 1);
}

static void test_R3_heartbeats_keep_online(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	struct endpoint *reg = reg_ep(f, "10.0.1.1", T0);
	struct endpoint *unr = reg_ep(f, "10.0.0.1", T0);
	skip_feed(f);
	uint32_t last = T0;
	for (uint32_t t = T0 + 60; t <= T0 + 3 * O_DEF; t += 60) {
		if ((t - T0) % HB_DEF == 0) {   /* alternate workers: either array counts */
			unsigned w = ((t - T0) / HB_DEF) % 2;
			hb_w(f, reg->slot, w, t);
			hb_w(f, unr->slot, 1 - w, t);
			last = t;
		}
		struct sweep_result res = sweep(f, t);
		assert_int_equal(res.went_offline, 0);
		expect_status(reg, EP_ONLINE);
		expect_status(unr, EP_UNREACH_ONLINE);
	}
	expect_no_tr(f);
	expect_reason(reg, EP_REASON_HEARTBEAT);
	expect_reason(unr, EP_REASON_HEARTBEAT);
	assert_int_equal(reg->last_heartbeat, last);

	/* Silence: offline_after after the last heartbeat. */
	sweep(f, last + O_DEF - 1);
	expect_status(reg, EP_ONLINE);
	sweep(f, last + O_DEF);
	expect_tr(f, reg, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, last + O_DEF);
	expect_tr(f, unr, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT, last + O_DEF);
	expect_no_tr(f);
}

/* ================= R4: registration ================= */

static const char *const r4_ranges[] = {"10.0.0.0-10.0.0.255", "2001:db8::/32", NULL};

static void test_R4_register_regular_is_contact(void **state)
{
	(void)state;
	/* Whatever the heartbeat settings, registration is contact. */
	static const struct { const char *enabled, *scope; } c[] = {
		{"on", "all"}, {"on", "unreachable"}, {"off", "all"}, {"off", "unreachable"},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct fx *f = fx_new();
		struct policy *p = pol(r4_ranges);
		set(p, "heartbeat.enabled", c[i].enabled);
		set(p, "heartbeat.scope", c[i].scope);
		use_policy(f, p, T0);
		struct endpoint *ep = reg_ep(f, "10.0.1.1,2001:db9::1", T0);
		expect_status(ep, EP_ONLINE);
		expect_reason(ep, EP_REASON_REGISTERED);
		assert_int_equal(ep->last_ctl_contact, T0);
		expect_tr(f, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_REGISTERED, T0);
		expect_no_tr(f);
		/* ... and lasts offline_after. */
		sweep(f, T0 + O_DEF - 1);
		expect_status(ep, EP_ONLINE);
		sweep(f, T0 + O_DEF);
		expect_status(ep, EP_OFFLINE);
		fx_free(f);
	}
}

static void test_R4_register_unreachable_hb_applies_online(void **state)
{
	(void)state;
	static const struct { const char *enabled, *scope; } c[] = {
		{"on", "all"}, {"on", "unreachable"},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct fx *f = fx_new();
		struct policy *p = pol(r4_ranges);
		set(p, "heartbeat.enabled", c[i].enabled);
		set(p, "heartbeat.scope", c[i].scope);
		use_policy(f, p, T0);
		struct endpoint *ep = reg_ep(f, "10.0.0.1", T0);
		expect_status(ep, EP_UNREACH_ONLINE);
		expect_reason(ep, EP_REASON_REGISTERED);
		expect_tr(f, ep, EP_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_REGISTERED, T0);
		expect_no_tr(f);
		/* The server waits passively: online until offline_after. */
		sweep(f, T0 + O_DEF - 1);
		expect_status(ep, EP_UNREACH_ONLINE);
		sweep(f, T0 + O_DEF);
		expect_tr(f, ep, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT,
			  T0 + O_DEF);
		fx_free(f);
	}
}

static void test_R4_register_unreachable_hb_off_offline_until_poll(void **state)
{
	(void)state;
	static const char *const scopes[] = {"all", "unreachable"};
	for (size_t i = 0; i < N_OF(scopes); i++) {
		struct fx *f = fx_new();
		struct policy *p = pol(r4_ranges);
		set(p, "heartbeat.enabled", "off");
		set(p, "heartbeat.scope", scopes[i]);
		use_policy(f, p, T0);
		struct endpoint *ep = reg_ep(f, "2001:db8::7", T0);
		expect_status(ep, EP_UNREACH_OFFLINE);
		expect_reason(ep, EP_REASON_UNREACHABLE);
		assert_string_equal(ep_status_name(ep->status), "unreachable/offline");
		expect_tr(f, ep, EP_OFFLINE, EP_UNREACH_OFFLINE, EP_REASON_UNREACHABLE, T0);
		expect_no_tr(f);
		for (uint32_t t = T0; t <= T0 + 3 * O_DEF; t += 300) {
			sweep(f, t);
			expect_status(ep, EP_UNREACH_OFFLINE);
		}
		expect_no_tr(f);

		/* Contact: a poll. */
		uint32_t tp = T0 + 3 * O_DEF + 1;
		status_on_poll(&f->r, ep, tp);
		expect_status(ep, EP_UNREACH_ONLINE);
		expect_tr(f, ep, EP_UNREACH_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL, tp);

		/* It registers again (restart, reload): offline at once again,
		 * although its poll a moment ago is still fresh, and it stays
		 * so through sweeps until the next poll. */
		status_on_register(&f->r, f->p, ep, tp + 10);
		expect_status(ep, EP_UNREACH_OFFLINE);
		expect_tr(f, ep, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_UNREACHABLE, tp + 10);
		sweep(f, tp + 11);
		sweep(f, tp + 12);
		expect_status(ep, EP_UNREACH_OFFLINE);
		expect_no_tr(f);
		status_on_poll(&f->r, ep, tp + 20);
		expect_status(ep, EP_UNREACH_ONLINE);
		sweep(f, tp + 21);
		expect_status(ep, EP_UNREACH_ONLINE);
		fx_free(f);
	}
}

/* ================= R5: other endpoint-initiated events ================= */

static void test_R5_event_is_contact_for_regular(void **state)
{
	struct fx *f = *state;
	struct endpoint *ep = reg_ep(f, "10.0.1.1", T0);
	sweep(f, T0 + O_DEF);
	expect_status(ep, EP_OFFLINE);
	skip_feed(f);

	const uint32_t te = T0 + O_DEF + 5;
	assert_true(status_on_event(&f->r, ep, te));
	expect_status(ep, EP_ONLINE);
	expect_reason(ep, EP_REASON_EVENT);
	expect_tr(f, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_EVENT, te);
	/* It counts as contact for offline_after. */
	sweep(f, te + O_DEF - 1);
	expect_status(ep, EP_ONLINE);
	/* An event while online: contact, no transition. */
	assert_true(status_on_event(&f->r, ep, te + O_DEF - 1));
	expect_no_tr(f);
	sweep(f, te + O_DEF);
	expect_status(ep, EP_ONLINE);
	sweep(f, te + 2 * O_DEF - 1);
	expect_tr(f, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, te + 2 * O_DEF - 1);
}

static void test_R5_event_never_changes_unreachable(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	struct endpoint *on = reg_ep(f, "10.0.0.1", T0);
	struct endpoint *off = reg_ep(f, "10.0.0.2", T0);
	status_on_shutdown(&f->r, off, T0 + 1, T0 + 1);
	expect_status(on, EP_UNREACH_ONLINE);
	expect_status(off, EP_UNREACH_OFFLINE);
	skip_feed(f);

	struct endpoint before_on = *on, before_off = *off;
	assert_false(status_on_event(&f->r, on, T0 + O_DEF - 10));
	assert_false(status_on_event(&f->r, off, T0 + O_DEF - 10));
	expect_no_tr(f);
	expect_status(on, EP_UNREACH_ONLINE);
	expect_status(off, EP_UNREACH_OFFLINE);
	assert_int_equal(on->reason, before_on.reason);
	assert_int_equal(off->reason, before_off.reason);
	assert_int_equal(on->last_ctl_contact, before_on.last_ctl_contact);
	assert_int_equal(off->down_at, before_off.down_at);
	assert_int_equal(on->status_since, before_on.status_since);
	/* Not contact: the endpoint still times out from its registration. */
	sweep(f, T0 + O_DEF);
	expect_tr(f, on, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT, T0 + O_DEF);
	expect_status(off, EP_UNREACH_OFFLINE);
	expect_no_tr(f);
	/* And an event does not bring an offline one back. */
	assert_false(status_on_event(&f->r, on, T0 + O_DEF + 1));
	sweep(f, T0 + O_DEF + 2);
	expect_status(on, EP_UNREACH_OFFLINE);
	expect_no_tr(f);
}

/* ================= R6: offline after no contact; SHUTDOWN ================= */

enum contact_kind { C_REGISTER, C_HEARTBEAT, C_HEARTBEAT_W1, C_POLL, C_EVENT };

static void test_R6_offline_after_boundary(void **state)
{
	(void)state;
	static const char *const kname[] = {"register", "heartbeat", "heartbeat (worker 1)",
					    "poll", "event"};
	static const char *const offs[] = {"1s", "1m", "30m", "7m", "1441m", "129600m"};
	for (size_t k = 0; k <= C_EVENT; k++) {
		for (size_t o = 0; o < N_OF(offs); o++) {
			struct fx *f = fx_new();
			static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
			struct policy *p = pol(ranges);
			set(p, "heartbeat.offline_after", offs[o]);
			set(p, "heartbeat.enabled", "off");   /* unreachable: offline until polled */
			use_policy(f, p, T0);
			const uint32_t O = f->p->offline_after, c = T0 + 1000;
			struct endpoint *ep;
			enum ep_status up = EP_ONLINE, down = EP_OFFLINE;
			enum ep_reason why = EP_REASON_REGISTERED;
			switch ((enum contact_kind)k) {
			case C_REGISTER:
				ep = reg_ep(f, "10.0.1.1", c);
				break;
			case C_HEARTBEAT:
			case C_HEARTBEAT_W1:
				ep = reg_ep(f, "10.0.1.1", c - 1);
				sweep(f, c - 1);
				hb_w(f, ep->slot, k == C_HEARTBEAT ? 0 : 1, c);
				why = EP_REASON_HEARTBEAT;
				break;
			case C_POLL:
				ep = reg_ep(f, "10.0.0.1", c - 1);
				status_on_poll(&f->r, ep, c);
				up = EP_UNREACH_ONLINE, down = EP_UNREACH_OFFLINE;
				why = EP_REASON_POLL;
				break;
			default:
				ep = reg_ep(f, "10.0.1.1", c - 1);
				sweep(f, c - 1);
				assert_true(status_on_event(&f->r, ep, c));
				why = EP_REASON_EVENT;
				break;
			}
			skip_feed(f);
			/* last = now - offline_after + 1: online. */
			struct sweep_result res = sweep(f, c + O - 1);
			if (ep->status != up || res.went_offline)
				fail_msg("%s, offline_after %s: %s at last+O-1, want %s", kname[k],
					 offs[o], ep_status_name(ep->status), ep_status_name(up));
			expect_reason(ep, why);
			expect_no_tr(f);
			/* last = now - offline_after: offline, reason no-contact. */
			res = sweep(f, c + O);
			if (ep->status != down || res.went_offline != 1)
				fail_msg("%s, offline_after %s: %s at last+O, want %s", kname[k],
					 offs[o], ep_status_name(ep->status), ep_status_name(down));
			expect_tr(f, ep, up, down, EP_REASON_NO_CONTACT, c + O);
			expect_no_tr(f);
			fx_free(f);
		}
	}
}

static void test_R6_shutdown_offline_at_once_until_contact(void **state)
{
	struct fx *f = *state;
	struct endpoint *ep = reg_ep(f, "10.0.1.1", T0);
	const uint32_t t = T0 + 100;
	hb(f, ep, t - 50);
	sweep(f, t - 50);
	skip_feed(f);

	/* The SHUTDOWN heartbeat, stamped t, also recorded in the seen array. */
	hb(f, ep, t);
	status_on_shutdown(&f->r, ep, t, t);
	expect_status(ep, EP_OFFLINE);
	expect_reason(ep, EP_REASON_SHUTDOWN);
	expect_tr(f, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_SHUTDOWN, t);
	/* Sweeps right after: its heartbeat at t is fresh, yet it stays offline. */
	struct sweep_result res = sweep(f, t);
	assert_int_equal(res.went_online, 0);
	sweep(f, t + 30);
	expect_status(ep, EP_OFFLINE);
	expect_reason(ep, EP_REASON_SHUTDOWN);
	expect_no_tr(f);
	/* A duplicate of the same SHUTDOWN changes nothing. */
	status_on_shutdown(&f->r, ep, t, t + 31);
	expect_no_tr(f);

	/* A later heartbeat brings it back. */
	hb(f, ep, t + 1);
	res = sweep(f, t + 32);
	assert_int_equal(res.went_online, 1);
	expect_status(ep, EP_ONLINE);
	expect_reason(ep, EP_REASON_HEARTBEAT);
	expect_tr(f, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT, t + 32);

	/* Shut down again; a poll brings it back, at once. */
	hb(f, ep, t + 40);
	status_on_shutdown(&f->r, ep, t + 40, t + 40);
	expect_tr(f, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_SHUTDOWN, t + 40);
	sweep(f, t + 41);
	expect_status(ep, EP_OFFLINE);
	status_on_poll(&f->r, ep, t + 42);
	expect_status(ep, EP_ONLINE);
	expect_tr(f, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_POLL, t + 42);
	sweep(f, t + 43);
	expect_status(ep, EP_ONLINE);
	expect_no_tr(f);

	/* A SHUTDOWN stamped before a poll already seen is old news. */
	status_on_poll(&f->r, ep, t + 50);
	status_on_shutdown(&f->r, ep, t + 45, t + 51);
	expect_status(ep, EP_ONLINE);
	expect_no_tr(f);

	/* Registration after a shutdown is contact too (R4). */
	status_on_shutdown(&f->r, ep, t + 60, t + 60);
	expect_tr(f, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_SHUTDOWN, t + 60);
	status_on_register(&f->r, f->p, ep, t + 61);
	expect_tr(f, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_REGISTERED, t + 61);
	sweep(f, t + 62);
	expect_status(ep, EP_ONLINE);
	expect_no_tr(f);
}

static void test_R6_shutdown_unreachable(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	struct endpoint *ep = reg_ep(f, "10.0.0.1", T0);
	skip_feed(f);
	hb(f, ep, T0 + 10);
	status_on_shutdown(&f->r, ep, T0 + 10, T0 + 10);
	expect_tr(f, ep, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_SHUTDOWN, T0 + 10);
	sweep(f, T0 + 20);
	expect_status(ep, EP_UNREACH_OFFLINE);
	assert_int_equal(f->r.by_range[0][0], 1);
	assert_int_equal(f->r.by_range[0][1], 0);
	status_on_poll(&f->r, ep, T0 + 30);
	expect_tr(f, ep, EP_UNREACH_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL, T0 + 30);
	check_counts(f);
}

/* ================= R7: status names ================= */

static void test_R7_status_names(void **state)
{
	struct fx *f = *state;
	assert_string_equal(ep_status_name(EP_ONLINE), "online");
	assert_string_equal(ep_status_name(EP_OFFLINE), "offline");
	assert_string_equal(ep_status_name(EP_UNREACH_ONLINE), "unreachable/online");
	assert_string_equal(ep_status_name(EP_UNREACH_OFFLINE), "unreachable/offline");
	assert_int_equal(ep_status_of(false, true), EP_ONLINE);
	assert_int_equal(ep_status_of(false, false), EP_OFFLINE);
	assert_int_equal(ep_status_of(true, true), EP_UNREACH_ONLINE);
	assert_int_equal(ep_status_of(true, false), EP_UNREACH_OFFLINE);

	/* The names the rules actually produce. */
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	struct endpoint *r = reg_ep(f, "10.0.1.1", T0);
	struct endpoint *u = reg_ep(f, "10.0.0.1", T0);
	assert_string_equal(ep_status_name(r->status), "online");
	assert_string_equal(ep_status_name(u->status), "unreachable/online");
	sweep(f, T0 + O_DEF);
	assert_string_equal(ep_status_name(r->status), "offline");
	assert_string_equal(ep_status_name(u->status), "unreachable/offline");
}

/* ================= R8: transitions ================= */

struct want_tr {
	const struct endpoint *ep;
	enum ep_status old, new_;
	enum ep_reason why;
	uint32_t time;
};

static void test_R8_every_change_one_transition_in_order(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	skip_feed(f);
	const uint64_t first = f->mark;
	struct want_tr w[16];
	size_t n = 0;
#define WANT(e, o, nw, r, t) (w[n++] = (struct want_tr){(e), (o), (nw), (r), (t)})

	struct endpoint *a = reg_ep(f, "10.0.1.1", T0);
	WANT(a, EP_OFFLINE, EP_ONLINE, EP_REASON_REGISTERED, T0);
	struct endpoint *b = reg_ep(f, "10.0.0.1", T0 + 1);
	WANT(b, EP_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_REGISTERED, T0 + 1);
	status_on_poll(&f->r, b, T0 + 2);                 /* no change */
	assert_true(status_on_event(&f->r, a, T0 + 3));   /* no change */
	sweep(f, T0 + 2 + O_DEF);
	WANT(b, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT, T0 + 2 + O_DEF);
	sweep(f, T0 + 2 + O_DEF);                         /* same now: nothing */
	sweep(f, T0 + 3 + O_DEF);
	WANT(a, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, T0 + 3 + O_DEF);
	status_on_poll(&f->r, b, T0 + O_DEF + 10);
	WANT(b, EP_UNREACH_OFFLINE, EP_UNREACH_ONLINE, EP_REASON_POLL, T0 + O_DEF + 10);
	hb(f, a, T0 + O_DEF + 11);
	sweep(f, T0 + O_DEF + 11);
	WANT(a, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT, T0 + O_DEF + 11);
	status_on_shutdown(&f->r, a, T0 + O_DEF + 12, T0 + O_DEF + 12);
	WANT(a, EP_ONLINE, EP_OFFLINE, EP_REASON_SHUTDOWN, T0 + O_DEF + 12);
	use_policy(f, pol(NULL), T0 + O_DEF + 13);
	WANT(b, EP_UNREACH_ONLINE, EP_ONLINE, EP_REASON_RECLASSIFIED, T0 + O_DEF + 13);
	assert_true(status_on_event(&f->r, a, T0 + O_DEF + 14));
	WANT(a, EP_OFFLINE, EP_ONLINE, EP_REASON_EVENT, T0 + O_DEF + 14);
	sweep(f, T0 + O_DEF + 15);
#undef WANT

	assert_int_equal(feed_next_seq(f->feed) - first, n);
	for (size_t i = 0; i < n; i++) {
		const struct transition *t = feed_get(f->feed, first + i);
		assert_non_null(t);
		assert_int_equal(t->seq, first + i);   /* numbered in order, no gaps */
		expect_tr(f, w[i].ep, w[i].old, w[i].new_, w[i].why, w[i].time);
	}
	expect_no_tr(f);
	/* status_since is the time of the endpoint's last transition. */
	assert_int_equal(a->status_since, T0 + O_DEF + 14);
	assert_int_equal(b->status_since, T0 + O_DEF + 13);
	check_counts(f);
}

static void test_R8_sweep_twice_same_now_emits_nothing(void **state)
{
	struct fx *f = *state;
	struct endpoint *e[6];
	for (int i = 0; i < 6; i++)
		e[i] = reg_ep(f, "10.0.1.1", T0);
	/* Mixed: two stay, two time out, two come back by heartbeat. */
	const uint32_t now = T0 + O_DEF + 100;
	sweep(f, T0 + O_DEF);                 /* all six offline */
	hb(f, e[0], now - 5);
	hb(f, e[1], now);
	skip_feed(f);
	struct sweep_result r1 = sweep(f, now);
	assert_int_equal(r1.went_online, 2);
	assert_int_equal(pending(f), 2);
	skip_feed(f);
	struct sweep_result r2 = sweep(f, now);
	assert_int_equal(r2.went_online, 0);
	assert_int_equal(r2.went_offline, 0);
	assert_int_equal(r2.held_grace, 0);
	assert_int_equal(r2.held_guard, 0);
	expect_no_tr(f);
	/* Same for a sweep where endpoints go offline. */
	struct sweep_result r3 = sweep(f, now - 5 + O_DEF);
	assert_int_equal(r3.went_offline, 1);
	skip_feed(f);
	struct sweep_result r4 = sweep(f, now - 5 + O_DEF);
	assert_int_equal(r4.went_offline + r4.went_online, 0);
	expect_no_tr(f);
}

static void test_R8_no_transition_without_change(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	struct endpoint *r = reg_ep(f, "10.0.1.1", T0);
	struct endpoint *u = reg_ep(f, "10.0.0.1", T0);
	skip_feed(f);
	status_on_poll(&f->r, r, T0 + 1);
	status_on_poll(&f->r, u, T0 + 1);
	assert_true(status_on_event(&f->r, r, T0 + 2));
	status_on_register(&f->r, f->p, r, T0 + 3);
	status_on_register(&f->r, f->p, u, T0 + 3);
	hb(f, r, T0 + 4);
	hb(f, u, T0 + 4);
	sweep(f, T0 + 4);
	sweep(f, T0 + 5);
	static const char *const same[] = {"10.0.0.0-10.0.0.255", NULL};
	assert_int_equal(use_policy(f, pol(same), T0 + 6), 0);
	expect_no_tr(f);
	expect_status(r, EP_ONLINE);
	expect_status(u, EP_UNREACH_ONLINE);
	/* Already offline: a shutdown or a timeout says nothing more. */
	status_on_shutdown(&f->r, r, T0 + 7, T0 + 7);
	skip_feed(f);
	status_on_shutdown(&f->r, r, T0 + 8, T0 + 8);
	sweep(f, T0 + 4 + O_DEF);    /* u times out: one transition, r none */
	expect_tr(f, u, EP_UNREACH_ONLINE, EP_UNREACH_OFFLINE, EP_REASON_NO_CONTACT, T0 + 4 + O_DEF);
	sweep(f, T0 + 4 + 5 * O_DEF);
	expect_no_tr(f);
}

/* ================= R9: restart grace ================= */

static void test_R9_restart_grace(void **state)
{
	struct fx *f = *state;
	const uint32_t S = T0;
	f->s.started = S;
	/* Last contact long before the start (known from before the restart). */
	struct endpoint *stale = reg_ep(f, "10.0.1.1", S - 3000);
	struct endpoint *fresh = reg_ep(f, "10.0.1.2", S - 3000);
	skip_feed(f);
	static const uint32_t held_at[] = {S, S + 1, S + O_DEF / 2, S + O_DEF - 1};
	for (size_t i = 0; i < N_OF(held_at); i++) {
		hb(f, fresh, held_at[i]);
		struct sweep_result res = sweep(f, held_at[i]);
		if (res.held_grace != 1 || res.went_offline != 0 || !stale->up)
			fail_msg("now = start + %u: held_grace %u went_offline %u, %s",
				 held_at[i] - S, res.held_grace, res.went_offline,
				 ep_status_name(stale->status));
	}
	expect_no_tr(f);
	hb(f, fresh, S + O_DEF);
	struct sweep_result res = sweep(f, S + O_DEF);
	assert_int_equal(res.held_grace, 0);
	assert_int_equal(res.went_offline, 1);
	expect_tr(f, stale, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, S + O_DEF);
	expect_no_tr(f);
	expect_status(fresh, EP_ONLINE);

	/* Control: started offline_after earlier, the same endpoint goes
	 * offline at S: the grace was the only reason it was held. */
	struct fx *g = fx_new();
	g->s.started = S - O_DEF;
	struct endpoint *e = reg_ep(g, "10.0.1.1", S - 3000);
	res = sweep(g, S);
	assert_int_equal(res.held_grace, 0);
	assert_int_equal(res.went_offline, 1);
	expect_status(e, EP_OFFLINE);
	fx_free(g);
}

/* ================= R10: mass-offline guard ================= */

/*
 * n regular endpoints registered and heartbeating at T0; from T0 the first
 * `silent` fall silent while the others heartbeat at every sweep.
 * Default policy: offline_after 30m, window 10m, at risk from 20m.
 */
static void fleet(struct fx *f, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct endpoint *ep = reg_ep(f, "10.0.1.1", T0);
		hb(f, ep, T0);
	}
	sweep(f, T0);
	skip_feed(f);
}

static struct sweep_result fleet_sweep(struct fx *f, uint32_t silent, uint32_t now)
{
	for (uint32_t s = silent; s < f->r.count; s++)
		hb_w(f, s, 0, now);
	return sweep(f, now);
}

static uint32_t count_up(const struct fx *f)
{
	uint32_t n = 0;
	for (uint32_t s = 0; s < f->r.count; s++)
		n += (*registry_at(&f->r, s)).up;
	return n;
}

static void test_R10_guard_window(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sweep_guard_window(f->p), HB_DEF);   /* interval, <= O/2 */
	struct policy *p = policy_clone(f->p);
	set(p, "heartbeat.interval", "25m");
	assert_int_equal(sweep_guard_window(p), O_DEF / 2);
	policy_free(p);
}

static void test_R10_guard_raise_hold_operator_release(void **state)
{
	struct fx *f = *state;
	fleet(f, 100);
	const uint32_t risk = T0 + O_DEF - sweep_guard_window(f->p), off = T0 + O_DEF;
	struct sweep_result res = fleet_sweep(f, 60, T0 + 600);
	res = fleet_sweep(f, 60, risk - 1);
	assert_false(f->s.guard.active);
	expect_no_tr(f);
	assert_false(sweep_guard_release(&f->s, &f->r, risk - 1));   /* nothing to release */

	/* 60 of 100 at risk together: raise before anyone goes offline. */
	res = fleet_sweep(f, 60, risk);
	assert_true(f->s.guard.active);
	assert_int_equal(f->s.guard.at_risk, 60);
	assert_int_equal(f->s.guard.online, 100);
	assert_int_equal(f->s.guard.since, risk);
	assert_int_equal(res.went_offline, 0);
	expect_guard_ev(f, TK_GUARD_RAISED, 60, risk);
	expect_no_tr(f);

	/* Past offline_after: their offline transitions are held. */
	res = fleet_sweep(f, 60, off);
	assert_int_equal(res.held_guard, 60);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(f->s.guard.held, 60);
	assert_int_equal(count_up(f), 100);
	expect_no_tr(f);   /* no second raise, no status change */
	res = fleet_sweep(f, 60, off + 60);
	assert_int_equal(res.held_guard, 60);
	assert_int_equal(count_up(f), 100);
	expect_no_tr(f);
	assert_int_equal(f->s.guard.raised, 1);

	/* The operator confirms. */
	assert_true(sweep_guard_release(&f->s, &f->r, off + 70));
	expect_guard_ev(f, TK_GUARD_RELEASED, 60, off + 70);
	expect_no_tr(f);
	assert_false(f->s.guard.active);
	res = fleet_sweep(f, 60, off + 80);
	assert_int_equal(res.went_offline, 60);
	assert_int_equal(res.held_guard, 0);
	for (uint32_t s = 0; s < 60; s++)
		expect_tr(f, registry_at(&f->r, s), EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, off + 80);
	expect_no_tr(f);   /* and no new raise for the same episode */
	assert_int_equal(count_up(f), 40);
	res = fleet_sweep(f, 60, off + 90);
	assert_false(f->s.guard.active);
	expect_no_tr(f);
	check_counts(f);
}

static void test_R10_guard_clears_when_contact_resumes(void **state)
{
	struct fx *f = *state;
	fleet(f, 100);
	const uint32_t risk = T0 + O_DEF - sweep_guard_window(f->p), off = T0 + O_DEF;
	fleet_sweep(f, 60, risk);
	expect_guard_ev(f, TK_GUARD_RAISED, 60, risk);
	struct sweep_result res = fleet_sweep(f, 60, off + 30);
	assert_int_equal(res.held_guard, 60);
	expect_no_tr(f);

	/* The link is back: everyone heartbeats. */
	res = fleet_sweep(f, 0, off + 40);
	assert_false(f->s.guard.active);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(res.held_guard, 0);
	expect_guard_ev(f, TK_GUARD_RELEASED, 0, off + 40);
	expect_no_tr(f);   /* nobody went offline, ever */
	assert_int_equal(count_up(f), 100);
	fleet_sweep(f, 0, off + 50);
	expect_no_tr(f);
}

/* Only part of them come back: below the threshold the guard releases by
 * itself and the rest go offline in that same sweep. */
static void test_R10_guard_partial_resume(void **state)
{
	struct fx *f = *state;
	fleet(f, 100);
	const uint32_t risk = T0 + O_DEF - sweep_guard_window(f->p), off = T0 + O_DEF;
	fleet_sweep(f, 60, risk);
	fleet_sweep(f, 60, off);
	skip_feed(f);
	struct sweep_result res = fleet_sweep(f, 30, off + 10);   /* 30 of the 60 are back */
	assert_false(f->s.guard.active);
	assert_int_equal(res.went_offline, 30);
	expect_guard_ev(f, TK_GUARD_RELEASED, 30, off + 10);
	for (uint32_t s = 0; s < 30; s++)
		expect_tr(f, registry_at(&f->r, s), EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, off + 10);
	expect_no_tr(f);
	assert_int_equal(count_up(f), 70);
}

static void test_R10_guard_threshold_and_minimum(void **state)
{
	(void)state;
	static const struct {
		const char *threshold;
		uint32_t n, silent;
		bool guard;
	} c[] = {
		{"50", 100, 60, true},
		{"50", 100, 51, true},
		{"50", 100, 50, false},   /* not MORE than 50 % */
		{"50", 100, 40, false},
		{"0", 100, 60, false},    /* 0 disables */
		{"0", 100, 100, false},
		{"100", 100, 100, false}, /* never more than 100 % */
		{"99", 100, 100, true},
		{"50%", 19, 10, true},
		{"50", 20, 10, false},
		{"50", 12, GUARD_MIN_AT_RISK - 1, false},  /* too few to be a collector failure */
		{"50", 10, GUARD_MIN_AT_RISK - 1, false},
		{"50", 11, GUARD_MIN_AT_RISK, true},
		{"1", 999, 10, true},
		{"1", 1000, 10, false},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct fx *f = fx_new();
		set(f->p, "guard.threshold", c[i].threshold);
		fleet(f, c[i].n);
		const uint32_t risk = T0 + O_DEF - sweep_guard_window(f->p), off = T0 + O_DEF;
		fleet_sweep(f, c[i].silent, risk);
		if (f->s.guard.active != c[i].guard || count_kind(f, TK_GUARD_RAISED) != c[i].guard)
			fail_msg("threshold %s, %u of %u silent: guard %d (%u raise events), want %d",
				 c[i].threshold, c[i].silent, c[i].n, f->s.guard.active,
				 count_kind(f, TK_GUARD_RAISED), c[i].guard);
		struct sweep_result res = fleet_sweep(f, c[i].silent, off);
		uint32_t want_off = c[i].guard ? 0 : c[i].silent;
		if (res.went_offline != want_off || res.held_guard != c[i].silent - want_off ||
		    count_kind(f, TK_STATUS) != want_off)
			fail_msg("threshold %s, %u of %u silent: went_offline %u held_guard %u "
				 "(%u transitions), want %u offline", c[i].threshold, c[i].silent,
				 c[i].n, res.went_offline, res.held_guard, count_kind(f, TK_STATUS),
				 want_off);
		fx_free(f);
	}
}

/* ================= settings changed mid-flight ================= */

static void test_midflight_offline_after_lowered(void **state)
{
	struct fx *f = *state;
	fleet(f, 4);
	const uint32_t now = T0 + 900;
	fleet_sweep(f, 2, now);                 /* 30m: all online */
	assert_int_equal(count_up(f), 4);
	expect_no_tr(f);

	struct policy *p2 = policy_clone(f->p);
	set(p2, "heartbeat.offline_after", "10m");
	assert_int_equal(f->p->offline_after, O_DEF);   /* the old snapshot is untouched */
	struct sweep_result res = sweep_p(f, p2, now + 1);
	assert_int_equal(res.went_offline, 2);
	expect_tr(f, registry_at(&f->r, 0), EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, now + 1);
	expect_tr(f, registry_at(&f->r, 1), EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, now + 1);
	expect_no_tr(f);
	expect_status(registry_at(&f->r, 2), EP_ONLINE);
	expect_status(registry_at(&f->r, 3), EP_ONLINE);
	/* The heartbeating ones now time out at the new 10m. */
	res = sweep_p(f, p2, now + 600);
	assert_int_equal(res.went_offline, 2);
	policy_free(f->p);
	f->p = p2;
}

static void test_midflight_scope_switched_to_unreachable(void **state)
{
	struct fx *f = *state;
	static const char *const ranges[] = {"10.0.0.0-10.0.0.255", NULL};
	use_policy(f, pol(ranges), T0);
	assert_true(policy_hb_applies(f->p, false));
	assert_true(policy_hb_applies(f->p, true));

	struct policy *p2 = policy_clone(f->p);
	set(p2, "heartbeat.scope", "unreachable");
	assert_false(policy_hb_applies(p2, false));   /* regular endpoints: no longer */
	assert_true(policy_hb_applies(p2, true));
	assert_true(policy_hb_applies(f->p, false));  /* the old snapshot unchanged */
	assert_int_equal(range_set_count(p2->ranges), 1);   /* the clone kept the ranges */
	use_policy(f, p2, T0 + 1);

	/* Registration under the new snapshot. */
	struct endpoint *r = reg_ep(f, "10.0.1.1", T0 + 2);
	struct endpoint *u = reg_ep(f, "10.0.0.1", T0 + 2);
	expect_status(r, EP_ONLINE);
	expect_status(u, EP_UNREACH_ONLINE);

	/* And heartbeat disabled on top: unreachable endpoints offline at once. */
	struct policy *p3 = policy_clone(f->p);
	set(p3, "heartbeat.enabled", "off");
	assert_false(policy_hb_applies(p3, true));
	use_policy(f, p3, T0 + 3);
	struct endpoint *u2 = reg_ep(f, "10.0.0.2", T0 + 4);
	expect_status(u2, EP_UNREACH_OFFLINE);
	expect_reason(u2, EP_REASON_UNREACHABLE);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

/* ================= the sweep in slices (docs/design.md) ================= */

/* A pass cut into slices of ~256 slots decides exactly what one pass
 * does: same results, same statuses. */
static void test_sweep_slices_match_one_pass(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct fx *a = fx_new(), *b = fx_new();
	struct fx *both[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		set(both[k]->p, "guard.threshold", "0");
		fleet(both[k], N);
		for (uint32_t s = 0; s < N; s++)   /* a third silent, the rest fresh */
			if (s % 3)
				hb_w(both[k], s, 1, T0 + O_DEF);
	}
	struct sweep_result one = sweep(a, T0 + O_DEF + 1), sliced;
	sweep_start(&b->s);
	unsigned slices = 1;
	while (!sweep_slice(&b->s, &b->r, b->p, T0 + O_DEF + 1, 1, &sliced))
		slices++;
	assert_true(slices >= N / 256);
	assert_false(sweep_busy(&b->s));
	assert_int_equal(one.went_offline, (N + 2) / 3);
	assert_memory_equal(&one, &sliced, sizeof(one));
	for (uint32_t s = 0; s < N; s++)
		assert_int_equal(registry_at(&a->r, s)->status, registry_at(&b->r, s)->status);
	assert_memory_equal(a->r.by_status, b->r.by_status, sizeof(a->r.by_status));
	assert_int_equal(b->s.stats.passes, 2)   /* fleet() swept once */;
	fx_free(a);
	fx_free(b);
}

/* Contact that arrives between the scan and the apply of a pass wins:
 * a candidate goes offline only if it is still silent when applied. */
static void test_sweep_slices_recheck_before_offline(void **state)
{
	struct fx *f = *state;
	enum { N = 3000 };
	set(f->p, "guard.threshold", "0");
	fleet(f, N);   /* all silent from T0 */
	const uint32_t now = T0 + O_DEF + 1;
	struct sweep_result res;
	sweep_start(&f->s);
	while (!(f->s.phase == SWEEP_APPLY && f->s.cursor > 0))
		assert_false(sweep_slice(&f->s, &f->r, f->p, now, 1, &res));
	uint32_t applied = f->s.cursor;
	assert_true(applied < N);
	for (uint32_t i = applied; i < N; i++)   /* the rest heartbeat now */
		hb_w(f, f->s.candidates[i], 0, now);
	while (!sweep_slice(&f->s, &f->r, f->p, now, 1, &res))
		;
	assert_int_equal(res.went_offline, applied);
	assert_int_equal(f->r.by_status[EP_OFFLINE], applied);
	assert_int_equal(f->r.by_status[EP_ONLINE], N - applied);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		FX(test_R1_ipv4_range_edges),
		FX(test_R1_ipv6_prefix_edges),
		FX(test_R1_families_never_cross),
		FX(test_R1_ipv4_mapped_ipv6_matches_ipv4_range),
		FX(test_R1_dual_stack),
		FX(test_R1_overlapping_ranges_counted_once_under_smallest),
		FX(test_R1_changing_ranges_reclassifies),
		cmocka_unit_test(test_R2_hb_applies_table),
		FX(test_R3_poll_marks_unreachable_online_at_once),
		FX(test_R3_heartbeats_keep_online),
		cmocka_unit_test(test_R4_register_regular_is_contact),
		cmocka_unit_test(test_R4_register_unreachable_hb_applies_online),
		cmocka_unit_test(test_R4_register_unreachable_hb_off_offline_until_poll),
		FX(test_R5_event_is_contact_for_regular),
		FX(test_R5_event_never_changes_unreachable),
		cmocka_unit_test(test_R6_offline_after_boundary),
		FX(test_R6_shutdown_offline_at_once_until_contact),
		FX(test_R6_shutdown_unreachable),
		FX(test_R7_status_names),
		FX(test_R8_every_change_one_transition_in_order),
		FX(test_R8_sweep_twice_same_now_emits_nothing),
		FX(test_R8_no_transition_without_change),
		FX(test_R9_restart_grace),
		FX(test_R10_guard_window),
		FX(test_R10_guard_raise_hold_operator_release),
		FX(test_R10_guard_clears_when_contact_resumes),
		FX(test_R10_guard_partial_resume),
		cmocka_unit_test(test_R10_guard_threshold_and_minimum),
		FX(test_midflight_offline_after_lowered),
		FX(test_midflight_scope_switched_to_unreachable),
		cmocka_unit_test(test_sweep_slices_match_one_pass),
		FX(test_sweep_slices_recheck_before_offline),
	};
	return TU_RUN(tests);
}
