/*
 * Notify campaigns (R11, control/notify_engine.c) on a fake TX path and a
 * fake clock. Proves: a change reaches every regular endpoint that is
 * online and has a notify address, with a notify each endpoint's own check
 * accepts (slot, id, MAC, time, flags), and never one in the unreachable
 * network, one without a notify port or source address, nor (yet) one
 * offline, which keeps the flags for its next contact; which policy
 * changes are SETTINGS, which COMPONENTS, and which none; pacing holds
 * notify.rate within 10 % each second of a campaign and never bursts
 * beyond 50 ms of it; a never-acking endpoint is re-sent exactly
 * notify.retries times notify.retry_after apart, then again at its next
 * contact (a heartbeat's source report, a registration), and a poll
 * settles it; a newer change supersedes the pending one, one notify
 * carrying both; a next hop being resolved delays a notify without
 * spending a try, no route spends one and counts no notify as sent; an
 * endpoint that became unreachable is dropped
 * mid-round; notify cancel stops all sending; notify.enabled off starts
 * nothing; after a restart the resumed campaign notifies only those with
 * change flags pending, each with its own.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "control/notify_round.h"
#include "control/settings.h"
#include "control/status.h"
#include "support/tu_notify.h"
#include "support/tu_run.h"

#define S HB_FLAG_SETTINGS
#define C HB_FLAG_COMPONENTS
#define V HB_FLAG_VERIFY

static struct notify_campaign *change(struct tu_notify *t)
{
	return &t->e.cur[NOTIFY_CHANGE];
}

static void test_reaches_regular_online_only(void **state)
{
	struct tu_notify *t = *state;
	struct registry *r = &t->fx.reg;
	struct endpoint *on[3], *unreach, *no_port, *no_src, *off;
	for (int i = 0; i < 3; i++)
		on[i] = tu_notify_add(t, (uint32_t)i);
	unreach = tu_notify_add(t, 10);
	registry_set_state(r, unreach, true, true, EP_REASON_RECLASSIFIED, TU_NOW);
	no_port = tu_notify_add(t, 11);
	assert_int_equal(registry_set_details(r, no_port, "", NULL, 0, 0), 0); /* port 0 */
	struct endpoint *tmp;
	assert_int_equal(registry_add(r, "no-source", TU_NOW, &tmp), 0);
	no_src = tmp;
	assert_int_equal(registry_set_details(r, no_src, "", NULL, 0, 21112), 0);
	status_on_register(r, t->fx.pol, no_src, TU_NOW);
	off = tu_notify_add(t, 12);
	registry_set_state(r, off, false, false, EP_REASON_NO_CONTACT, TU_NOW);

	assert_true(notify_start_change(&t->e, C, "components", tu_notify_now(t)));
	tu_notify_run(t, 10, 1000);
	for (int i = 0; i < 3; i++) {
		uint16_t f = 0;
		assert_int_equal(tu_notify_count(t, on[i], 0, &f), 1);
		assert_int_equal(f, C);
		assert_int_equal(on[i]->notify.pending, C);
	}
	assert_int_equal(t->nsent, 3); /* nobody else */
	assert_int_equal(unreach->notify.pending, 0);
	assert_int_equal(no_port->notify.pending, 0);
	assert_int_equal(no_src->notify.pending, 0);
	/* Offline: nothing sent, the flags wait for its next contact. */
	assert_int_equal(off->notify.pending, C);
	assert_true(off->notify.state & EP_NOTIFY_WAITING);
	struct notify_campaign *c = change(t);
	assert_int_equal(c->state, NOTIFY_RUNNING);
	assert_int_equal(c->targeted, 3);
	assert_int_equal(c->deferred, 1);
	assert_int_equal(c->sent, 3);
	assert_int_equal(c->inflight, 3);
	assert_false(c->walking);
	assert_int_equal(t->fx.reg.notify_pending, 4); /* the 3 in flight, the deferred one */
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_CAMPAIGNS], 1);
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_SENT], 3);
	for (int i = 0; i < 3; i++)
		tu_notify_ack(t, on[i], C, tu_notify_now(t));
	tu_notify_run(t, 10, 1000);
	assert_int_equal(c->acked, 3);
	assert_int_equal(c->state, NOTIFY_DONE);
	assert_int_equal(t->e.ctr[NOTIFY_C_ACKED], 3);
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_ACKED], 3);
	assert_int_equal(t->e.by_kind[NOTIFY_VERIFY][NOTIFY_K_ACKED], 0);
	assert_int_equal(t->fx.reg.notify_pending, 1);
	/* Its next heartbeat (reported because its tag was cleared) brings the
	 * offline one its notify. */
	struct gn_addr src;
	assert_true(ep_source(off, &src));
	notify_on_source(&t->e, off, &src, tu_notify_now(t));
	tu_notify_run(t, 10, 1000);
	uint16_t f = 0;
	assert_int_equal(tu_notify_count(t, off, 0, &f), 1);
	assert_int_equal(f, C);
	assert_int_equal(t->e.ctr[NOTIFY_C_RECONTACT], 1);
}

/* What a policy change tells the endpoints. */
static uint16_t flags_of(struct tu_notify *t, const char *name, const char *value,
			 bool ranges)
{
	struct policy *old = policy_clone(t->fx.pol), *new = policy_clone(t->fx.pol);
	char err[256];
	if (name && !strcmp(name, "component"))
		assert_int_equal(manifest_put_component(&new->manifest, "pattern", "1.0",
							"0123456789abcdef0123456789abcdef0123456789"
							"abcdef0123456789abcdef",
							(const char *const[]){"https://u.example/p"}, 1,
							err, sizeof(err)),
				 MANIFEST_ADDED);
	else if (name && !strcmp(name, "endpoint-setting"))
		assert_int_equal(manifest_set_setting(&new->manifest, "scan", "daily", err,
						      sizeof(err)),
				 MANIFEST_ADDED);
	else if (name)
		assert_int_equal(settings_set(new, name, value, err, sizeof(err)), 0);
	assert_int_equal(manifest_render(&new->manifest), 0);
	uint32_t before = t->e.next_seq;
	notify_policy_changed(&t->e, old, new, ranges, tu_notify_now(t));
	uint16_t f = t->e.next_seq != before ? change(t)->flags : 0;
	policy_free(old);
	policy_free(new);
	notify_cancel(&t->e, tu_notify_now(t));
	return f;
}

static void test_what_a_change_tells(void **state)
{
	struct tu_notify *t = *state;
	assert_int_equal(flags_of(t, "component", NULL, false), C);
	assert_int_equal(flags_of(t, "endpoint-setting", NULL, false), S);
	assert_int_equal(flags_of(t, "heartbeat.interval", "5m", false), S);
	assert_int_equal(flags_of(t, "heartbeat.enabled", "off", false), S);
	assert_int_equal(flags_of(t, "heartbeat.scope", "unreachable", false), S);
	assert_int_equal(flags_of(t, "poll.interval", "2h", false), S);
	assert_int_equal(flags_of(t, NULL, NULL, true), S); /* the ranges */
	assert_string_equal(change(t)->trigger, "unreachable ranges");
	/* The collector's own: a new settings_rev, nothing to tell. */
	assert_int_equal(flags_of(t, "heartbeat.offline_after", "1h", false), 0);
	assert_int_equal(flags_of(t, "guard.threshold", "10", false), 0);
	assert_int_equal(flags_of(t, "expire.after_days", "9", false), 0);
	assert_int_equal(flags_of(t, "notify.rate", "10", false), 0);
	assert_int_equal(flags_of(t, "verify.interval", "1h", false), 0);
	/* notify.enabled off: no campaign at all. */
	t->fx.pol->notify_enabled = false;
	assert_int_equal(flags_of(t, "component", NULL, false), 0);
	assert_false(notify_start_change(&t->e, S, "x", tu_notify_now(t)));
}

/* notify.rate within 10 % in every second of the campaign; no step sends
 * more than the bucket's 50 ms. */
static void test_pacing(void **state)
{
	struct tu_notify *t = *state;
	enum { N = 5000, RATE = 1000 };
	for (uint32_t i = 0; i < N; i++)
		tu_notify_add(t, i);
	t->fx.pol->notify_rate = RATE;
	t->fx.pol->notify_retry_after = 3600; /* no re-send inside the campaign */
	uint64_t start = tu_fake_ns;
	assert_true(notify_start_change(&t->e, S, "pacing", tu_notify_now(t)));
	unsigned per_step_max = 0;
	size_t prev = 0;
	while (change(t)->walking) {
		tu_notify_run(t, 1, 1000); /* a step a millisecond */
		if (t->nsent - prev > per_step_max)
			per_step_max = (unsigned)(t->nsent - prev);
		prev = t->nsent;
		assert_true(tu_fake_ns - start < 10ull * 1000000000);
	}
	assert_int_equal(t->nsent, N);
	unsigned per_s[8] = {0};
	for (size_t i = 0; i < t->nsent; i++) {
		uint64_t s = (t->sent[i].ns - start) / 1000000000;
		assert_true(s < 8);
		per_s[s]++;
	}
	for (int s = 0; s < 4; s++) /* the whole seconds of a 5 s campaign */
		if (per_s[s] < RATE * 9 / 10 || per_s[s] > RATE * 11 / 10)
			fail_msg("second %d: %u notifies at notify.rate %u", s, per_s[s], RATE);
	double secs = (double)(t->sent[N - 1].ns - t->sent[0].ns) / 1e9;
	if (N / secs < RATE * 0.9 || N / secs > RATE * 1.1)
		fail_msg("%d notifies in %.3f s at notify.rate %d", N, secs, RATE);
	assert_true(per_step_max <= 2); /* 1 ms a step at 1000/s */

	/* After a quiet minute the bucket holds 50 ms of the rate, no more. */
	t->fx.pol->notify_rate = 40000;
	tu_notify_run(t, 60000, 100000);
	prev = t->nsent;
	notify_cancel(&t->e, tu_notify_now(t));
	assert_true(notify_start_change(&t->e, C, "burst", tu_notify_now(t)));
	tu_fake_ns += 1000; /* 1 us: no noticeable refill */
	notify_step(&t->e, tu_notify_now(t), 1000000000ull);
	assert_int_equal(t->nsent - prev, 40000 / 20);
}

/* Exactly notify.retries re-sends, notify.retry_after apart, then the
 * endpoint waits for its next contact. */
static void test_retries_exact(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *ep = tu_notify_add(t, 1);
	t->fx.pol->notify_retries = 3;
	t->fx.pol->notify_retry_after = 10;
	uint32_t t0 = tu_notify_now(t);
	assert_true(notify_start_change(&t->e, S, "retries", t0));
	tu_notify_run(t, 120 * 1000, 100000);
	assert_int_equal(tu_notify_count(t, ep, 0, NULL), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(t->sent[i].now, t0 + 10 * (uint32_t)i);
	struct notify_campaign *c = change(t);
	assert_int_equal(c->sent, 1);
	assert_int_equal(c->resent, 3);
	assert_int_equal(c->gave_up, 1);
	assert_int_equal(c->state, NOTIFY_DONE);
	assert_int_equal(ep->notify.pending, S);
	assert_true(ep->notify.state & EP_NOTIFY_WAITING);
	assert_int_equal(t->e.ctr[NOTIFY_C_GAVE_UP], 1);
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_GAVE_UP], 1);
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_SENT], 4); /* re-sends included */
	assert_int_equal(t->e.by_kind[NOTIFY_CHANGE][NOTIFY_K_RESENT], 3);
	assert_int_equal(t->e.soon.len + t->e.retry.len, 0);

	/* A heartbeat from a new address: notified again there, with its
	 * retries again. */
	struct gn_addr moved = {.family = AF_INET, .bytes = {192, 0, 2, 7}};
	notify_on_source(&t->e, ep, &moved, tu_notify_now(t));
	assert_int_equal(t->e.ctr[NOTIFY_C_SOURCE_CHANGED], 1);
	size_t from = t->nsent;
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(tu_notify_count(t, ep, from, NULL), 4);
	assert_true(gn_addr_eq(&t->sent[from].dst, &moved));
	/* A registration is contact too. */
	from = t->nsent;
	notify_on_contact(&t->e, &t->fx.reg, ep, NULL, NOTIFY_CONTACT_REGISTER, tu_notify_now(t));
	tu_notify_run(t, 1000, 100000);
	assert_int_equal(tu_notify_count(t, ep, from, NULL), 1);
	/* A poll fetches what SETTINGS would tell: settled, no re-send. */
	notify_on_contact(&t->e, &t->fx.reg, ep, NULL, NOTIFY_CONTACT_POLL, tu_notify_now(t));
	assert_int_equal(ep->notify.pending, 0);
	assert_int_equal(t->e.ctr[NOTIFY_C_POLLED], 1);
	from = t->nsent;
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->nsent, from);

	/* notify.retries 0: one notify, never re-sent. */
	t->fx.pol->notify_retries = 0;
	struct endpoint *once = tu_notify_add(t, 2);
	notify_cancel(&t->e, tu_notify_now(t));
	from = t->nsent;
	assert_true(notify_start_change(&t->e, C, "once", tu_notify_now(t)));
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(tu_notify_count(t, once, from, NULL), 1);
	assert_int_equal(tu_notify_count(t, ep, from, NULL), 1);
}

/* A newer change supersedes the pending one: one notify carries both. */
static void test_supersede(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *a = tu_notify_add(t, 1), *b = tu_notify_add(t, 2);
	assert_true(notify_start_change(&t->e, S, "settings", tu_notify_now(t)));
	tu_notify_run(t, 100, 1000);
	uint32_t first = change(t)->seq;
	tu_fake_ns += 3000000000ull;
	size_t from = t->nsent;
	assert_true(notify_start_change(&t->e, C, "components", tu_notify_now(t)));
	assert_int_equal(t->e.hist[0].seq, first);
	assert_int_equal(t->e.hist[0].state, NOTIFY_SUPERSEDED);
	tu_notify_run(t, 100, 1000);
	uint16_t fa = 0, fb = 0;
	assert_int_equal(tu_notify_count(t, a, from, &fa), 1);
	assert_int_equal(tu_notify_count(t, b, from, &fb), 1);
	assert_int_equal(fa, S | C);
	assert_int_equal(fb, S | C);
	/* An ack of the first notify, stamped before the new round: a replay
	 * of what it would answer; nothing settles. */
	tu_notify_ack(t, a, S, tu_notify_now(t) - 3);
	assert_int_equal(t->e.ctr[NOTIFY_C_ACK_REPLAY], 1);
	assert_int_equal(a->notify.pending, S | C);
	/* One ack settles both. */
	tu_notify_ack(t, a, S | C, tu_notify_now(t));
	assert_int_equal(a->notify.pending, 0);
	assert_int_equal(change(t)->acked, 1);
	/* The rest: b re-sent with both, not a. */
	from = t->nsent;
	tu_notify_run(t, 11 * 1000, 100000);
	assert_int_equal(tu_notify_count(t, a, from, NULL), 0);
	fb = 0;
	assert_int_equal(tu_notify_count(t, b, from, &fb), 1);
	assert_int_equal(fb, S | C);
	/* The walk had ended: a newer change carries only its own flags to
	 * those that acked. */
	from = t->nsent;
	assert_true(notify_start_change(&t->e, S, "again", tu_notify_now(t)));
	tu_notify_run(t, 100, 1000);
	fa = fb = 0;
	tu_notify_count(t, a, from, &fa);
	tu_notify_count(t, b, from, &fb);
	assert_int_equal(fa, S);
	assert_int_equal(fb, S | C);
}

static int resolving(const struct gn_addr *dst, void *ctx)
{
	(void)dst;
	unsigned *left = ctx;
	if (*left) {
		(*left)--;
		return -EAGAIN;
	}
	return 0;
}

/* A next hop being resolved: later, without spending a try. */
static void test_next_hop_resolving(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *ep = tu_notify_add(t, 1);
	unsigned left = 3;
	t->answer = resolving;
	t->answer_ctx = &left;
	t->fx.pol->notify_retries = 2;
	assert_true(notify_start_change(&t->e, S, "arp", tu_notify_now(t)));
	tu_notify_run(t, 120 * 1000, 100000);
	assert_int_equal(left, 0);
	assert_int_equal(t->e.ctr[NOTIFY_C_RETRY_LATER], 3);
	assert_int_equal(tu_notify_count(t, ep, 0, NULL), 3); /* 1 + notify.retries */
	assert_int_equal(change(t)->gave_up, 1);
}

static int no_route(const struct gn_addr *dst, void *ctx)
{
	(void)dst;
	(void)ctx;
	return -ENETUNREACH;
}

/* No route: each attempt spends a try, none counts as sent. */
static void test_no_route(void **state)
{
	struct tu_notify *t = *state;
	tu_notify_add(t, 1);
	t->answer = no_route;
	t->fx.pol->notify_retries = 2;
	assert_true(notify_start_change(&t->e, S, "x", tu_notify_now(t)));
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->e.ctr[NOTIFY_C_TX_FAILED], 3);
	assert_int_equal(t->e.ctr[NOTIFY_C_SENT] + t->e.ctr[NOTIFY_C_RESENT], 0);
	assert_int_equal(change(t)->sent + change(t)->resent, 0);
	assert_int_equal(change(t)->gave_up, 1);
}

/* Unreachable now: dropped in the middle of its round, never sent again. */
static void test_dropped_when_unreachable(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *ep = tu_notify_add(t, 1);
	assert_true(notify_start_change(&t->e, S, "x", tu_notify_now(t)));
	tu_notify_run(t, 100, 1000);
	assert_int_equal(t->nsent, 1);
	registry_set_state(&t->fx.reg, ep, true, true, EP_REASON_RECLASSIFIED, tu_notify_now(t));
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->nsent, 1);
	assert_int_equal(ep->notify.pending, 0);
	assert_int_equal(change(t)->dropped, 1);
	assert_int_equal(change(t)->state, NOTIFY_DONE);
	/* Nor does its next contact bring it one. */
	struct gn_addr src;
	ep_source(ep, &src);
	notify_on_source(&t->e, ep, &src, tu_notify_now(t));
	tu_notify_run(t, 1000, 100000);
	assert_int_equal(t->nsent, 1);
}

/* The ranges changed and R1 has reached only slot 2 (reclassify.h): the
 * campaign the change started waits there, so an endpoint the walk is
 * about to move into the unreachable network is never notified. */
static void test_waits_for_reclassification(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *ep[5];
	for (int i = 0; i < 5; i++)
		ep[i] = tu_notify_add(t, (uint32_t)i);
	t->fx.reg.classified_below = ep[2]->slot;
	assert_true(notify_start_change(&t->e, S, "ranges", tu_notify_now(t)));
	tu_notify_run(t, 1000, 100000);
	assert_int_equal(t->nsent, 2);
	assert_int_equal(change(t)->state, NOTIFY_RUNNING);
	/* The walk moves slot 3 out, then ends. */
	registry_set_state(&t->fx.reg, ep[3], true, true, EP_REASON_RECLASSIFIED, tu_notify_now(t));
	t->fx.reg.classified_below = UINT32_MAX;
	tu_notify_run(t, 1000, 100000);
	assert_int_equal(t->nsent, 4);
	uint16_t f = 0;
	assert_int_equal(tu_notify_count(t, ep[3], 0, &f), 0);
	assert_int_equal(tu_notify_count(t, ep[4], 0, &f), 1);
}

static void test_cancel(void **state)
{
	struct tu_notify *t = *state;
	for (uint32_t i = 0; i < 100; i++)
		tu_notify_add(t, i);
	t->fx.pol->notify_rate = 1000;
	assert_true(notify_start_change(&t->e, C, "x", tu_notify_now(t)));
	tu_notify_run(t, 20, 1000);
	size_t sent = t->nsent;
	assert_true(sent > 0 && sent < 100);
	assert_int_equal(notify_cancel(&t->e, tu_notify_now(t)), 1);
	assert_int_equal(change(t)->state, NOTIFY_CANCELLED);
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->nsent, sent); /* nothing more, not even re-sends */
	assert_int_equal(t->e.soon.len + t->e.retry.len, 0);
	/* Those notified keep the change for their next contact. */
	struct endpoint *ep = registry_by_slot(&t->fx.reg, 0);
	assert_int_equal(ep->notify.pending, C);
	assert_true(ep->notify.state & EP_NOTIFY_WAITING);
	assert_int_equal(notify_cancel(&t->e, tu_notify_now(t)), 0);
}

/* A removed endpoint's round ends with it; the campaign still ends. */
static void test_removed_in_flight(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *a = tu_notify_add(t, 1);
	tu_notify_add(t, 2);
	assert_true(notify_start_change(&t->e, S, "x", tu_notify_now(t)));
	tu_notify_run(t, 100, 1000);
	assert_int_equal(t->fx.reg.notify_pending, 2);
	registry_remove(&t->fx.reg, a, EP_REMOVED_OPERATOR, tu_notify_now(t));
	assert_int_equal(t->fx.reg.notify_pending, 1); /* the registry forgets its count too */
	struct endpoint *b = registry_by_slot(&t->fx.reg, 1);
	tu_notify_ack(t, b, S, tu_notify_now(t));
	size_t from = t->nsent;
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->nsent, from);
	assert_int_equal(change(t)->state, NOTIFY_DONE);
	assert_int_equal(change(t)->acked, 1);
	assert_int_equal(change(t)->dropped, 1);
	assert_int_equal(t->fx.reg.notify_pending, 0);
}

/* After a restart (persist.c restored pending change flags): the resumed
 * campaign notifies only the endpoints with something pending, each with
 * its own flags; one offline waits for its next contact; a flag the
 * engine sets or settles marks the endpoint for the store's next pass. */
static void test_resume_after_restart(void **state)
{
	struct tu_notify *t = *state;
	struct registry *r = &t->fx.reg;
	assert_false(notify_resume(&t->e, S | C, tu_notify_now(t))); /* nothing pending */
	struct endpoint *a = tu_notify_add(t, 1), *b = tu_notify_add(t, 2), *none = tu_notify_add(t, 3),
			*off = tu_notify_add(t, 4);
	registry_set_state(r, off, false, false, EP_REASON_NO_CONTACT, TU_NOW);
	a->notify.pending = S; /* as restore_notify leaves them */
	b->notify.pending = S | C;
	off->notify.pending = C;
	r->notify_pending = 3;
	assert_true(notify_resume(&t->e, S | C, tu_notify_now(t)));
	assert_true(change(t)->resume);
	assert_non_null(strstr(change(t)->trigger, "restart: 3 endpoints"));
	tu_notify_run(t, 10, 1000);
	uint16_t fa = 0, fb = 0;
	assert_int_equal(tu_notify_count(t, a, 0, &fa), 1);
	assert_int_equal(fa, S);
	assert_int_equal(tu_notify_count(t, b, 0, &fb), 1);
	assert_int_equal(fb, S | C);
	assert_int_equal(tu_notify_count(t, none, 0, NULL), 0);
	assert_int_equal(tu_notify_count(t, off, 0, NULL), 0);
	assert_int_equal(none->notify.pending, 0);
	assert_true(off->notify.state & EP_NOTIFY_WAITING);
	assert_int_equal(change(t)->targeted, 2);
	assert_int_equal(change(t)->deferred, 1);
	none->notify.state &= (uint8_t)~EP_NOTIFY_DIRTY;
	a->notify.state &= (uint8_t)~EP_NOTIFY_DIRTY;
	tu_notify_ack(t, a, S, tu_notify_now(t));
	tu_notify_ack(t, b, S | C, tu_notify_now(t));
	tu_notify_run(t, 10, 1000);
	assert_true(a->notify.state & EP_NOTIFY_DIRTY); /* settled: the store must know */
	assert_false(none->notify.state & EP_NOTIFY_DIRTY);
	assert_int_equal(change(t)->acked, 2);
	assert_int_equal(change(t)->state, NOTIFY_DONE);
	assert_int_equal(r->notify_pending, 1);
	/* A change during a resumed walk: the new campaign's flags to all, what
	 * each had pending on top (the resumed flags are not everybody's). */
	a->notify.pending = C;
	r->notify_pending++;
	assert_true(notify_resume(&t->e, C, tu_notify_now(t)));
	assert_true(notify_start_change(&t->e, S, "endpoint settings", tu_notify_now(t)));
	assert_int_equal(change(t)->flags, S);
	size_t from = t->nsent;
	tu_notify_run(t, 10, 1000);
	uint16_t fa2 = 0, fn = 0;
	assert_int_equal(tu_notify_count(t, a, from, &fa2), 1);
	assert_int_equal(fa2, S | C);
	assert_int_equal(tu_notify_count(t, none, from, &fn), 1);
	assert_int_equal(fn, S);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_notify_setup, tu_notify_teardown)
		T(test_reaches_regular_online_only),
		T(test_what_a_change_tells),
		T(test_pacing),
		T(test_retries_exact),
		T(test_supersede),
		T(test_next_hop_resolving),
		T(test_no_route),
		T(test_dropped_when_unreachable),
		T(test_waits_for_reclassification),
		T(test_cancel),
		T(test_resume_after_restart),
		T(test_removed_in_flight),
#undef T
	};
	return TU_RUN(tests);
}
