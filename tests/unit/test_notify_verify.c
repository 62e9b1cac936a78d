/*
 * Connection verification (R12), acks, source addresses and a fleet of a
 * million, on the notify engine's fake TX and clock.
 * Proves: with heartbeat off for regular endpoints, every verify.interval
 * each regular endpoint with a notify address gets a VERIFY notify
 * (never one in the unreachable network, nor any when heartbeat applies
 * to all); one that acks stays online; one that never acks is re-sent
 * its retries, then goes offline at offline_after with reason no-ack
 * (through the sweep, as one transition), and one without a notify
 * address with no-contact; acks that answer nothing (never notified,
 * flags not pending, stamped before the round) are counted by reason and
 * settle nothing; a registration's and a poll's client address becomes
 * the source address (IPv4-mapped IPv6 as IPv4); and a campaign over
 * 1,000,000 endpoints runs in bounded slices, each endpoint notified once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "control/notify.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/transitions.h"
#include "support/tu_api.h"
#include "support/tu_json.h"
#include "support/tu_notify.h"
#include "support/tu_run.h"

#define V HB_FLAG_VERIFY

/* What a worker does for an accepted ack: its time as the slot's newest
 * timestamp (contact, R3), then the event to the control thread. */
static void ack_as_worker(struct tu_notify *t, struct endpoint *ep, uint16_t flags)
{
	uint32_t now = tu_notify_now(t);
	uint32_t *seen = slot_dir_seen(t->fx.tbl.dir, ep->slot, 1);
	if (now > *seen)
		*seen = now;
	notify_on_ack(&t->e, ep, flags, now, now);
}

static void test_verification(void **state)
{
	struct tu_notify *t = *state;
	struct policy *p = t->fx.pol;
	p->hb_scope = HB_SCOPE_UNREACHABLE; /* heartbeat does not apply to regular ones */
	p->verify_interval = 600;
	p->notify_retries = 3;
	p->notify_retry_after = 10;
	assert_int_equal(p->offline_after, 1800);
	t->e.verify_interval = 600;
	t->e.verify_next = tu_notify_now(t) + 600;
	t->fx.reg.feed = feed_new(1024, NULL);
	assert_non_null(t->fx.reg.feed);
	struct endpoint *acks = tu_notify_add(t, 1), *silent = tu_notify_add(t, 2);
	struct endpoint *unreach = tu_notify_add(t, 3), *no_addr;
	registry_set_state(&t->fx.reg, unreach, true, true, EP_REASON_POLL, tu_notify_now(t));
	assert_int_equal(registry_add(&t->fx.reg, "no-address", tu_notify_now(t), &no_addr), 0);
	status_on_register(&t->fx.reg, p, no_addr, tu_notify_now(t));
	uint32_t t0 = tu_notify_now(t);
	uint32_t silent_offline_at = 0;
	uint64_t seq0 = feed_next_seq(t->fx.reg.feed);
	size_t seen_sent = 0;
	/* 41 minutes (verifications at 10, 20, 30, 40), a step every 100 ms,
	 * a sweep every 10 s. */
	for (unsigned step = 0; step < 41 * 60 * 10; step++) {
		tu_notify_run(t, 100, 100000);
		for (; seen_sent < t->nsent; seen_sent++) {
			struct gn_addr a;
			ep_source(acks, &a);
			if (gn_addr_eq(&t->sent[seen_sent].dst, &a))
				ack_as_worker(t, acks, V);
		}
		if (step % 100 == 99) {
			struct sweep_result res;
			sweep_run(&t->fx.sw, &t->fx.reg, p, tu_notify_now(t), &res);
			if (!silent->up && !silent_offline_at)
				silent_offline_at = tu_notify_now(t);
			assert_true(acks->up);
		}
	}
	/* The acking one: a VERIFY every 10 minutes, each acked at once. */
	uint16_t f = 0;
	assert_int_equal(tu_notify_count(t, acks, 0, &f), 4);
	assert_int_equal(f, V);
	assert_int_equal(acks->status, EP_ONLINE);
	/* The silent one: 1 + 3 re-sends a verification, 4 verifications. */
	assert_int_equal(tu_notify_count(t, silent, 0, NULL), 16);
	assert_int_equal(silent->status, EP_OFFLINE);
	assert_int_equal(silent->reason, EP_REASON_NO_ACK);
	/* At offline_after after its registration (its last contact), within a sweep. */
	assert_true(silent_offline_at >= t0 + 1800 && silent_offline_at < t0 + 1810);
	assert_int_equal(t->e.ctr[NOTIFY_C_NO_ACK], 4);
	/* Never verified: the unreachable one; without an address: no-contact. */
	assert_int_equal(tu_notify_count(t, unreach, 0, NULL), 0);
	assert_int_equal(no_addr->status, EP_OFFLINE);
	assert_int_equal(no_addr->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(t->nsent, 20);
	/* One transition each for the two that went offline, none for the
	 * notifies (a notify never changes a status). */
	unsigned no_ack = 0, offline = 0;
	const struct transition *tr;
	for (uint64_t s = seq0; (tr = feed_get(t->fx.reg.feed, s)); s++) {
		if (tr->kind != TK_STATUS || tr->new_status != EP_OFFLINE)
			continue;
		offline++;
		no_ack += tr->id == silent->id && tr->reason == EP_REASON_NO_ACK;
	}
	assert_int_equal(offline, 2);
	assert_int_equal(no_ack, 1);
	struct notify_campaign *c = &t->e.hist[(t->e.nhist - 1) % NOTIFY_HISTORY];
	assert_int_equal(c->kind, NOTIFY_VERIFY);
	assert_int_equal(c->targeted, 2);
	assert_int_equal(c->acked, 1);
	assert_int_equal(c->gave_up, 1);

	/* Its next contact (a poll) brings it back; heartbeat for all turns
	 * verification off. */
	notify_on_contact(&t->e, &t->fx.reg, silent, NULL, NOTIFY_CONTACT_POLL, tu_notify_now(t));
	assert_false(silent->notify.state & EP_NOTIFY_NO_ACK);
	p->hb_scope = HB_SCOPE_ALL;
	assert_false(notify_start_verify(&t->e, tu_notify_now(t)));
	size_t before = t->nsent;
	tu_notify_run(t, 20 * 60 * 1000, 1000000);
	assert_int_equal(t->nsent, before);
}

static void test_acks_that_answer_nothing(void **state)
{
	struct tu_notify *t = *state;
	struct endpoint *never = tu_notify_add(t, 1), *ep = tu_notify_add(t, 2);
	/* Never notified: unsolicited. */
	tu_notify_ack(t, never, HB_FLAG_SETTINGS, tu_notify_now(t));
	assert_int_equal(t->e.ctr[NOTIFY_C_ACK_UNSOLICITED], 1);
	assert_int_equal(never->notify.pending, 0);
	assert_int_equal(never->details->last_ack, 0);
	/* Notified of COMPONENTS; an ack for SETTINGS is not pending. */
	registry_set_state(&t->fx.reg, never, true, true, EP_REASON_POLL, tu_notify_now(t));
	tu_fake_ns += 5000000000ull;
	assert_true(notify_start_change(&t->e, HB_FLAG_COMPONENTS, "c", tu_notify_now(t)));
	tu_notify_run(t, 100, 1000);
	uint32_t round = ep->details->round_at;
	assert_int_equal(round, tu_notify_now(t));
	tu_notify_ack(t, ep, HB_FLAG_SETTINGS, tu_notify_now(t));
	assert_int_equal(t->e.ctr[NOTIFY_C_ACK_NOT_PENDING], 1);
	assert_int_equal(ep->notify.pending, HB_FLAG_COMPONENTS);
	/* Stamped more than the slack before the round: a replay. */
	tu_notify_ack(t, ep, HB_FLAG_COMPONENTS, round - NOTIFY_ACK_SLACK - 1);
	assert_int_equal(t->e.ctr[NOTIFY_C_ACK_REPLAY], 1);
	assert_int_equal(ep->notify.pending, HB_FLAG_COMPONENTS);
	/* Within the slack (a clock a second behind): it settles. */
	tu_notify_ack(t, ep, HB_FLAG_COMPONENTS, round - NOTIFY_ACK_SLACK);
	assert_int_equal(ep->notify.pending, 0);
	assert_int_equal(ep->details->last_ack, round - NOTIFY_ACK_SLACK);
	assert_int_equal(t->e.ctr[NOTIFY_C_ACKED], 1);
	/* The same ack again: nothing pending. */
	tu_notify_ack(t, ep, HB_FLAG_COMPONENTS, tu_notify_now(t));
	assert_int_equal(t->e.ctr[NOTIFY_C_ACK_NOT_PENDING], 2);
	assert_int_equal(t->e.ctr[NOTIFY_C_ACKED], 1);
	size_t from = t->nsent;
	tu_notify_run(t, 60 * 1000, 100000);
	assert_int_equal(t->nsent, from); /* settled: no re-send */
	assert_int_equal(t->e.cur[NOTIFY_CHANGE].acked, 1);
	assert_int_equal(t->e.cur[NOTIFY_CHANGE].state, NOTIFY_DONE);
}

/* A campaign over a million endpoints: slices bounded by the budget (the
 * fake clock moves 1 us each time it is read), each endpoint once. */
static uint64_t ticking_ns;
static uint64_t ticking_clock(void)
{
	ticking_ns += 1000;
	return ticking_ns;
}

static void test_million_in_slices(void **state)
{
	struct tu_notify *t = *state;
	enum { N = 1000000 };
	assert_int_equal(registry_reserve(&t->fx.reg, N), 0);
	for (uint32_t i = 0; i < N; i++)
		tu_notify_add(t, i);
	t->count_only = true;
	t->fx.pol->notify_rate = 10000000;
	t->fx.pol->notify_retry_after = 3600;
	ticking_ns = tu_fake_ns;
	t->e.clock_ns = ticking_clock;
	t->e.refilled_ns = ticking_ns;
	assert_true(notify_start_change(&t->e, HB_FLAG_SETTINGS, "fleet", TU_NOW));
	unsigned slices = 0, more = 0;
	size_t prev = 0, most = 0;
	while (t->e.cur[NOTIFY_CHANGE].walking) {
		ticking_ns += 1000000; /* a loop turn later */
		more += notify_step(&t->e, TU_NOW, 2 * 1000 * 1000);
		slices++;
		if (t->nsent - prev > most)
			most = t->nsent - prev;
		prev = t->nsent;
		assert_true(slices < 10000);
	}
	assert_int_equal(t->nsent, N);
	assert_int_equal(t->e.cur[NOTIFY_CHANGE].targeted, N);
	/* 2 ms is 2000 clock reads, one every 64 endpoints. */
	assert_true(most <= 2000 * 64);
	assert_true(slices >= N / (2000 * 64));
	assert_true(more > 0); /* the budget, not the bucket, ended some slices */
}

/* The client address of registrations and polls. */
static struct tu_registry afx;
static struct tu_api api = {.fx = &afx};

static void test_http_source(void **state)
{
	(void)state;
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &mapped.sin6_addr);
	api.peer = (const struct sockaddr *)&mapped;
	json_t *o = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	struct endpoint *ep = registry_by_id(&afx.reg, tu_id_of(o));
	uint8_t key[HB_KEY_LEN];
	tu_key_of(o, key);
	json_decref(o);
	struct gn_addr src, want = {.family = AF_INET, .bytes = {198, 51, 100, 7}};
	assert_true(ep_source(ep, &src));
	assert_true(gn_addr_eq(&src, &want)); /* a dual-stack socket's IPv4 client */
	assert_true(ep_notifiable(ep));        /* notify_port 21112 */
	/* The worker's tag follows the address. */
	assert_int_equal(slot_dir_entry(afx.tbl.dir, ep->slot)->src_tag,
			 slot_src_tag(AF_INET, want.bytes));
	/* A poll from elsewhere moves it; a poll with no address leaves it. */
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8::77", &v6.sin6_addr);
	api.peer = (const struct sockaddr *)&v6;
	struct tu_proof pf;
	tu_proof_make(&pf, HB_AUTH_POLL, ep->id, TU_NOW, key);
	json_decref(tu_api_call(&api, api_poll, "poll", &pf, NULL, NULL, NULL, 200, HTTP_POLL).j);
	assert_true(ep_source(ep, &src));
	assert_int_equal(src.family, AF_INET6);
	assert_int_equal(src.bytes[15], 0x77);
	assert_string_equal(ep_guid(ep), "3f2b-agent-A"); /* the details around it kept */
	assert_string_equal(ep_hostname(ep), "pc-a");
	api.peer = NULL;
	json_decref(tu_api_call(&api, api_poll, "poll", &pf, NULL, NULL, NULL, 200, HTTP_POLL).j);
	assert_true(ep_source(ep, &src));
	assert_int_equal(src.family, AF_INET6);
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	inet_pton(AF_INET, "203.0.113.9", &v4.sin_addr);
	api.peer = (const struct sockaddr *)&v4;
	json_decref(tu_api_call(&api, api_poll, "poll", &pf, NULL, NULL, NULL, 200, HTTP_POLL).j);
	assert_true(ep_source(ep, &src));
	assert_int_equal(src.family, AF_INET);
	assert_int_equal(src.bytes[3], 9);
	assert_int_equal(tu_nips(ep), 2);
	api.peer = NULL;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_notify_setup, tu_notify_teardown)
		T(test_verification),
		T(test_acks_that_answer_nothing),
		T(test_million_in_slices),
#undef T
		cmocka_unit_test_prestate_setup_teardown(test_http_source, tu_api_setup,
							 tu_api_teardown, &api),
	};
	return TU_RUN(tests);
}
