/*
 * GET /v1/poll and POST /v1/event (control/api_poll.c) as functions of a
 * request. Proves: each authenticates with its own MAC context inside the
 * window, counts as contact (R3, R5), answers 304 to a matching ETag and a
 * new ETag when the settings change, refuses every near miss with its own
 * status and counter and no contact, reclassifies on X-Glournet-Ips (R1)
 * before the poll counts, marks an unreachable endpoint online at once
 * (R3), and never changes an unreachable endpoint's status on an event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/api.h"
#include "control/cluster.h"
#include "control/hb_addrs.h"
#include "control/registry.h"
#include "control/replay_cache.h"
#include "control/status.h"
#include "support/tu_api.h"
#include "support/tu_json.h"
#include "support/tu_run.h"

#define NOW TU_NOW

static struct tu_registry fx;
static struct tu_api api = {.fx = &fx};

static struct tu_answer poll_call(const char *what, const struct tu_proof *pf, const char *ips,
				  const char *inm, unsigned want_status, enum http_counter c)
{
	return tu_api_call(&api, api_poll, what, pf, NULL, ips, inm, want_status, c);
}

static struct tu_answer event_call(const char *what, const struct tu_proof *pf,
				   const char *body, unsigned want_status, enum http_counter c)
{
	return tu_api_call(&api, api_event, what, pf, body, NULL, NULL, want_status, c);
}

/* Version 2 (issue 13): the endpoint and time a poll is signed for; the
 * MAC is made in poll2_call over the X-Glournet-Ips it sends. */
struct tu_at {
	uint64_t id;
	uint32_t time;
	uint8_t key[HB_KEY_LEN];
};

static void make_at(struct tu_at *at, uint64_t id, uint32_t time, const uint8_t key[HB_KEY_LEN])
{
	at->id = id;
	at->time = time;
	memcpy(at->key, key, HB_KEY_LEN);
}

static struct tu_answer poll2_call(const char *what, const struct tu_at *at, const char *ips,
				   const char *inm, unsigned want_status, enum http_counter c)
{
	struct tu_proof pf;
	tu_proof_make_v2(&pf, HB_AUTH_POLL_V2, at->id, at->time, at->key, ips);
	return tu_api_call(&api, api_poll_v2, what, &pf, NULL, ips, inm, want_status, c);
}

/* Registers body `b`; returns the endpoint and its key. */
static struct endpoint *registered(const char *b, unsigned want, enum http_counter c,
				   uint8_t key[HB_KEY_LEN])
{
	json_t *j = tu_api_register(&api, b, TU_AUTH, NULL, want, c);
	uint64_t id = tu_id_of(j);
	tu_key_of(j, key);
	json_decref(j);
	return registry_by_id(&fx.reg, id);
}

static void test_api_poll(void **state)
{
	(void)state;
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);

	/* A poll: 200 with an ETag, and contact (R3). */
	struct tu_proof pf;
	api.ctx.now = NOW + 100;
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 100, key);
	struct tu_answer a = poll_call("poll", &pf, NULL, NULL, 200, HTTP_POLL);
	assert_true(a.etag[0] != '\0');
	char etag[32];
	strcpy(etag, a.etag);
	assert_int_equal(tu_jint(a.j, "server_time"), NOW + 100);
	assert_int_equal(tu_jint(a.j, "settings_rev"), 7);
	assert_true(json_is_false(json_object_get(a.j, "unreachable")));
	json_t *hb = json_object_get(a.j, "heartbeat");
	assert_true(json_is_true(json_object_get(hb, "enabled")));
	assert_int_equal(tu_jint(hb, "interval"), 900);
	assert_int_equal(tu_jint(hb, "port"), 7100);
	assert_int_equal(json_array_size(json_object_get(hb, "addrs")), 2);
	json_t *po = json_object_get(a.j, "poll");
	assert_true(json_is_false(json_object_get(po, "enabled")));
	assert_int_equal(tu_jint(po, "interval"), 2700);
	json_decref(a.j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(ep->last_poll, NOW + 100);
	assert_int_equal(ep->last_ctl_contact, NOW + 100);
	assert_int_equal(ep->ctl_reason, EP_REASON_POLL);
	tu_check_counts(&fx.reg);

	/* If-None-Match with that ETag: 304, and contact all the same. */
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 150);
	api.ctx.now = NOW + 200;
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 200, key);
	a = poll_call("poll 304", &pf, NULL, etag, 304, HTTP_POLL_NOT_MODIFIED);
	assert_string_equal(a.etag, etag);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->last_poll, NOW + 200);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Another ETag: the full answer. */
	a = poll_call("poll other etag", &pf, NULL, "\"r6-r\"", 200, HTTP_POLL);
	assert_string_equal(a.etag, etag);
	json_decref(a.j);
	/* New settings: the old ETag no longer matches. */
	fx.pol->rev = 8;
	a = poll_call("poll new rev", &pf, NULL, etag, 200, HTTP_POLL);
	assert_string_not_equal(a.etag, etag);
	assert_int_equal(tu_jint(a.j, "settings_rev"), 8);
	json_decref(a.j);
	strcpy(etag, a.etag);
	a = poll_call("poll new rev 304", &pf, NULL, etag, 304, HTTP_POLL_NOT_MODIFIED);

	/* Every failure answers its own status and counter, and is no contact. */
	api.ctx.now = NOW + 400;
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 300);
	struct tu_proof bad;
	struct {
		const char *what;
		int kind;
		unsigned status;
		enum http_counter c;
	} fails[] = {
		{"MAC one digit off", 0, 401, HTTP_BAD_MAC},
		{"GLRGST context", 1, 401, HTTP_BAD_MAC},
		{"GLEVNT context", 2, 401, HTTP_BAD_MAC},
		{"unknown id", 3, 404, HTTP_UNKNOWN_ID},
		{"time now-301", 4, 401, HTTP_STALE},
		{"time now+31", 5, 401, HTTP_STALE},
		{"no id header", 6, 400, HTTP_MALFORMED},
		{"no time header", 7, 400, HTTP_MALFORMED},
		{"no MAC header", 8, 400, HTTP_MALFORMED},
		{"no headers", 9, 400, HTTP_MALFORMED},
		{"time not a number", 10, 400, HTTP_MALFORMED},
		{"id too short", 11, 400, HTTP_MALFORMED},
		{"MAC not hex", 12, 400, HTTP_MALFORMED},
		{"old time in a valid MAC, new time in the header", 13, 401, HTTP_BAD_MAC},
	};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		const uint32_t t = NOW + 400;
		tu_proof_make(&bad, HB_AUTH_POLL, id, t, key);
		switch (fails[i].kind) {
		case 0: bad.mac[3] = bad.mac[3] == 'a' ? 'b' : 'a'; break;
		case 1: tu_proof_make(&bad, HB_AUTH_REGISTER, id, t, key); break;
		case 2: tu_proof_make(&bad, HB_AUTH_EVENT, id, t, key); break;
		case 3: tu_proof_make(&bad, HB_AUTH_POLL, id ^ 1, t, key); break;
		case 4: tu_proof_make(&bad, HB_AUTH_POLL, id, t - 301, key); break;
		case 5: tu_proof_make(&bad, HB_AUTH_POLL, id, t + 31, key); break;
		case 10: strcpy(bad.time, "soon"); break;
		case 11: bad.id[15] = '\0'; break;
		case 12: bad.mac[0] = 'g'; break;
		case 13: tu_proof_make(&bad, HB_AUTH_POLL, id, NOW + 200, key);
			snprintf(bad.time, sizeof(bad.time), "%u", t); break;
		default: break;
		}
		struct api_request req = {
			.hdr_id = fails[i].kind == 6 || fails[i].kind == 9 ? NULL : bad.id,
			.hdr_time = fails[i].kind == 7 || fails[i].kind == 9 ? NULL : bad.time,
			.hdr_mac = fails[i].kind == 8 || fails[i].kind == 9 ? NULL : bad.mac,
		};
		struct api_response resp = {0};
		api_poll(&api.ctx, &req, &resp);
		api.want[fails[i].c]++;
		tu_api_check_counters(&api, fails[i].what);
		if (resp.status != fails[i].status)
			fail_msg("%s: status %u, want %u", fails[i].what, resp.status, fails[i].status);
		json_t *j = json_loads(resp.body, 0, NULL);
		if (!json_string_value(json_object_get(j, "error")))
			fail_msg("%s: no error message", fails[i].what);
		json_decref(j);
		free(resp.body);
		if (ep->status != EP_OFFLINE || ep->last_poll != NOW + 200 ||
		    ep->last_ctl_contact != NOW + 200)
			fail_msg("%s counted as contact", fails[i].what);
	}
	/* The edges of the window are in it. */
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 400 - 300, key);
	json_decref(poll_call("poll at now-300", &pf, NULL, NULL, 200, HTTP_POLL).j);
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 400 + 30, key);
	json_decref(poll_call("poll at now+30", &pf, NULL, NULL, 200, HTTP_POLL).j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->last_poll, NOW + 400);   /* the server's time, not the header's */
	/* A re-key (registration without proof) retires the old key here too. */
	uint8_t key2[HB_KEY_LEN];
	registered(tu_body_a, 200, HTTP_REGISTER_REKEY, key2);
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 400, key);
	json_decref(poll_call("poll with the old key", &pf, NULL, NULL, 401, HTTP_BAD_MAC).j);
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 400, key2);
	json_decref(poll_call("poll with the new key", &pf, NULL, NULL, 200, HTTP_POLL).j);
	tu_check_counts(&fx.reg);
}

/* X-Glournet-Ips reclassifies (R1) before the poll counts as contact. */
/* A poll's raw 200 body, signed at `t`, the wire's clock at `wire`. */
static char *raw_poll(uint64_t id, const uint8_t key[HB_KEY_LEN], uint32_t t, uint32_t wire)
{
	struct tu_proof pf;
	tu_proof_make(&pf, HB_AUTH_POLL, id, t, key);
	struct api_request req = {.hdr_id = pf.id, .hdr_time = pf.time, .hdr_mac = pf.mac};
	struct api_response resp = {0};
	api.ctx.wire_now = wire;
	api_poll(&api.ctx, &req, &resp);
	api.ctx.wire_now = 0;
	api.want[HTTP_POLL]++;
	if (resp.status != 200 || !resp.body)
		fail_msg("poll at %u: status %u", t, resp.status);
	return resp.body;
}

/* Issue 15 item 4: the 200 body comes from the cache of rendered bodies,
 * byte for byte what a poll without it renders, at the poll's own time,
 * for either network, and rendered again once the revision changes. */
static void test_api_poll_cache(void **state)
{
	(void)state;
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	struct api_poll_cache cache = {0};
	api.ctx.now = NOW + 100;
	for (int unreachable = 0; unreachable < 2; unreachable++) {
		registry_set_state(&fx.reg, ep, unreachable, true, EP_REASON_POLL, NOW + 1);
		api.ctx.poll_cache = NULL;
		char *plain = raw_poll(id, key, NOW + 4990 + unreachable * 4, NOW + 5000);
		api.ctx.poll_cache = &cache;
		char *first = raw_poll(id, key, NOW + 4991 + unreachable * 4, NOW + 5000);
		char *again = raw_poll(id, key, NOW + 4992 + unreachable * 4, NOW + 5000);
		assert_string_equal(first, plain);
		assert_string_equal(again, plain);
		assert_non_null(cache.net[unreachable].tail);
		/* The time is the poll's own. */
		char *later = raw_poll(id, key, NOW + 123450 + unreachable, NOW + 123456);
		json_t *j = json_loads(later, 0, NULL);
		assert_int_equal(tu_jint(j, "server_time"), NOW + 123456);
		assert_int_equal(json_is_true(json_object_get(j, "unreachable")), unreachable);
		json_decref(j);
		free(plain);
		free(first);
		free(again);
		free(later);
	}
	/* A new revision: rendered again. */
	fx.pol->rev++;
	fx.pol->poll_interval = 777;
	char *fresh = raw_poll(id, key, NOW + 4999, NOW + 5000);
	json_t *j = json_loads(fresh, 0, NULL);
	assert_int_equal(tu_jint(j, "settings_rev"), fx.pol->rev);
	assert_int_equal(tu_jint(json_object_get(j, "poll"), "interval"), 777);
	json_decref(j);
	free(fresh);
	tu_api_check_counters(&api, "cached polls");
	api.ctx.poll_cache = NULL;
	api_poll_cache_free(&cache);
	assert_null(cache.net[0].tail);
}

/* Issue 16: with several collectors heartbeat.addrs lists every live
 * one's (hb_addrs.h), this one's first, in the register and poll answers;
 * the list's hash is in the ETag and the cached body follows it, so a
 * collector gone reaches every agent at its next poll. */
static void test_api_fleet_addrs(void **state)
{
	(void)state;
	static const char *const own[] = {"10.0.0.1", "10.0.0.2"};
	struct cluster_view v = {.n = 3};
	snprintf(v.collectors[0].name, sizeof(v.collectors[0].name), "a");
	snprintf(v.collectors[0].addrs, sizeof(v.collectors[0].addrs), "10.0.0.1,10.0.0.2");
	snprintf(v.collectors[1].name, sizeof(v.collectors[1].name), "b");
	snprintf(v.collectors[1].addrs, sizeof(v.collectors[1].addrs), "10.0.1.1,10.0.0.1");
	snprintf(v.collectors[2].name, sizeof(v.collectors[2].name), "c");
	snprintf(v.collectors[2].addrs, sizeof(v.collectors[2].addrs), "10.0.2.1");
	struct hb_addrs list = {0};
	assert_true(hb_addrs_merge(&list, own, 2, &v, "a", 3.0));
	api.ctx.hb_addrs = &list;
	struct api_poll_cache cache = {0};
	api.ctx.poll_cache = &cache;

	json_t *r = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_t *ra = json_object_get(json_object_get(r, "heartbeat"), "addrs");
	assert_int_equal(json_array_size(ra), 4);
	assert_string_equal(json_string_value(json_array_get(ra, 0)), "10.0.0.1");
	assert_string_equal(json_string_value(json_array_get(ra, 1)), "10.0.0.2");
	assert_string_equal(json_string_value(json_array_get(ra, 2)), "10.0.1.1");
	assert_string_equal(json_string_value(json_array_get(ra, 3)), "10.0.2.1");
	uint8_t key[HB_KEY_LEN];
	uint64_t id = tu_id_of(r);
	tu_key_of(r, key);
	json_decref(r);

	struct tu_proof pf;
	api.ctx.now = NOW + 100;
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 100, key);
	struct tu_answer a = poll_call("fleet poll", &pf, NULL, NULL, 200, HTTP_POLL);
	char etag[48];
	snprintf(etag, sizeof(etag), "%s", a.etag);
	char hash[16];
	snprintf(hash, sizeof(hash), "-a%08x\"", list.hash);
	assert_non_null(strstr(etag, hash));
	json_t *pa = json_object_get(json_object_get(a.j, "heartbeat"), "addrs");
	assert_int_equal(json_array_size(pa), 4);
	assert_string_equal(json_string_value(json_array_get(pa, 3)), "10.0.2.1");
	json_decref(a.j);
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 101, key);
	a = poll_call("fleet poll 304", &pf, NULL, etag, 304, HTTP_POLL_NOT_MODIFIED);

	/* c is gone (seen longer ago than a lease): its address leaves the
	 * list, the ETag changes, the cached body is rendered again. */
	v.collectors[2].seen_ago_s = 10;
	assert_true(hb_addrs_merge(&list, own, 2, &v, "a", 3.0));
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 102, key);
	a = poll_call("fleet poll, c gone", &pf, NULL, etag, 200, HTTP_POLL);
	assert_string_not_equal(a.etag, etag);
	pa = json_object_get(json_object_get(a.j, "heartbeat"), "addrs");
	assert_int_equal(json_array_size(pa), 3);
	assert_string_equal(json_string_value(json_array_get(pa, 2)), "10.0.1.1");
	json_decref(a.j);
	tu_api_check_counters(&api, "fleet polls");
	api.ctx.poll_cache = NULL;
	api.ctx.hb_addrs = NULL;
	api_poll_cache_free(&cache);
}

static void test_api_poll_ips(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.200.0.0-10.200.255.255", "2001:db8:bad::/48"};
	tu_use_ranges(&fx, ranges, 2);
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	assert_false(ep->unreachable);
		api.ctx.now = NOW + 10;
	struct tu_at at = {0};
	make_at(&at, id, NOW + 10, key);
	struct tu_answer a = poll2_call("regular poll", &at, NULL, NULL, 200, HTTP_POLL);
	char regular_etag[32];
	strcpy(regular_etag, a.etag);
	json_decref(a.j);

	/* Into the first range; the ETag of a regular endpoint no longer fits. */
	a = poll2_call("poll into range 0", &at, "10.200.0.5", regular_etag, 200, HTTP_POLL);
	assert_string_not_equal(a.etag, regular_etag);
	assert_true(json_is_true(json_object_get(a.j, "unreachable")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "poll"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "heartbeat"), "enabled")));
	json_decref(a.j);
	assert_true(ep->unreachable);
	assert_int_equal(tu_nips(ep), 1);
	assert_int_equal(ep->range, 0);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(fx.reg.by_range[0][1], 1);
	tu_check_counts(&fx.reg);

	/* An IPv6 address in the second range (the IPv4 one is outside). */
	a = poll2_call("poll into range 1", &at, "10.1.2.3, 2001:db8:bad::1", NULL, 200, HTTP_POLL);
	json_decref(a.j);
	assert_int_equal(tu_nips(ep), 2);
	assert_int_equal(ep->range, 1);
	assert_int_equal(fx.reg.by_range[0][1], 0);
	assert_int_equal(fx.reg.by_range[1][1], 1);

	/* Malformed addresses: 400, nothing changes, no contact. */
	api.ctx.now = NOW + 20;
	make_at(&at, id, NOW + 20, key);
	static const char *const bad_ips[] = {"10.1.2.300", "10.1.2.3,example.com", "10.0.0.0/8",
		"10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9,"
		"10.0.0.10,10.0.0.11,10.0.0.12,10.0.0.13,10.0.0.14,10.0.0.15,10.0.0.16,10.0.0.17"};
	for (size_t i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		json_decref(poll2_call(bad_ips[i], &at, bad_ips[i], NULL, 400, HTTP_BAD_FIELD).j);
		assert_int_equal(tu_nips(ep), 2);
		assert_int_equal(ep->range, 1);
		assert_int_equal(ep->last_poll, NOW + 10);
	}

	/* Out of every range: regular again. */
	a = poll2_call("poll out of range", &at, "10.1.2.3,2001:db8::5", NULL, 200, HTTP_POLL);
	assert_string_equal(a.etag, regular_etag);
	assert_true(json_is_false(json_object_get(a.j, "unreachable")));
	json_decref(a.j);
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(fx.reg.by_range[1][1], 0);
	tu_check_counts(&fx.reg);

	/* R3: a poll marks an unreachable endpoint that heartbeat does not
	 * apply to (unreachable/offline since registering, R4) online at once. */
	fx.pol->hb_enabled = false;
	struct endpoint *u = registered("{\"guid\": \"behind-nat\", \"ips\": [\"10.200.1.1\"]}", 201,
					HTTP_REGISTER_NEW, key);
	assert_int_equal(u->status, EP_UNREACH_OFFLINE);
	assert_int_equal(u->reason, EP_REASON_UNREACHABLE);
	make_at(&at, u->id, NOW + 20, key);
	a = poll2_call("unreachable poll", &at, NULL, NULL, 200, HTTP_POLL);
	assert_true(json_is_false(json_object_get(json_object_get(a.j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "poll"), "enabled")));
	json_decref(a.j);
	assert_int_equal(u->status, EP_UNREACH_ONLINE);
	assert_int_equal(u->reason, EP_REASON_POLL);
	assert_int_equal(u->down_at, 0);
	assert_int_equal(fx.reg.by_range[0][1], 1);
	assert_int_equal(fx.reg.by_range[0][0], 0);
	tu_check_counts(&fx.reg);
}

/* R5: manual update and log upload are contact for regular endpoints only. */
static void test_api_event(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.200.0.0/16"};
	tu_use_ranges(&fx, ranges, 1);
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);
	struct tu_proof pf;
	api.ctx.now = NOW + 100;
	tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW + 100, key);
	struct tu_answer a = event_call("manual-update", &pf, "{\"type\": \"manual-update\"}", 200,
				     HTTP_EVENT);
	assert_true(json_is_true(json_object_get(a.j, "contact")));
	assert_string_equal(tu_jstr(a.j, "status"), "online");
	json_decref(a.j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_EVENT);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(ep->last_ctl_contact, NOW + 100);
	assert_int_equal(ep->ctl_reason, EP_REASON_EVENT);
	assert_int_equal(ep->last_poll, 0);          /* an event is not a poll */

	api.ctx.now = NOW + 200;
	tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW + 200, key);
	a = event_call("log-upload", &pf, "{\"type\": \"log-upload\"}", 200, HTTP_EVENT);
	assert_true(json_is_true(json_object_get(a.j, "contact")));
	json_decref(a.j);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Refused: no contact. */
	api.ctx.now = NOW + 300;
	tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW + 300, key);
	json_decref(event_call("type reboot", &pf, "{\"type\": \"reboot\"}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("no type", &pf, "{}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("type not a string", &pf, "{\"type\": 1}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("not JSON", &pf, "manual-update", 400, HTTP_MALFORMED).j);
	json_decref(event_call("no headers", NULL, "{\"type\": \"log-upload\"}", 400,
			       HTTP_MALFORMED).j);
	struct tu_proof wrong;
	tu_proof_make(&wrong, HB_AUTH_POLL, id, NOW + 300, key);
	json_decref(event_call("GLPOLL context", &wrong, "{\"type\": \"log-upload\"}", 401,
			       HTTP_BAD_MAC).j);
	tu_proof_make(&wrong, HB_AUTH_EVENT, id, NOW - 1, key);
	json_decref(event_call("stale", &wrong, "{\"type\": \"log-upload\"}", 401, HTTP_STALE).j);
	tu_proof_make(&wrong, HB_AUTH_EVENT, id ^ 1, NOW + 300, key);
	json_decref(event_call("unknown id", &wrong, "{\"type\": \"log-upload\"}", 404,
			       HTTP_UNKNOWN_ID).j);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Unreachable endpoints: recorded, never a change of status. */
	struct endpoint *u = registered("{\"guid\": \"far\", \"ips\": [\"10.200.3.4\"]}", 201,
					HTTP_REGISTER_NEW, key);
	assert_int_equal(u->status, EP_UNREACH_ONLINE);
	registry_set_state(&fx.reg, u, true, false, EP_REASON_NO_CONTACT, NOW + 301);
	tu_proof_make(&pf, HB_AUTH_EVENT, u->id, NOW + 300, key);
	a = event_call("unreachable manual-update", &pf, "{\"type\": \"manual-update\"}", 200,
		       HTTP_EVENT);
	assert_true(json_is_false(json_object_get(a.j, "contact")));
	assert_string_equal(tu_jstr(a.j, "status"), "unreachable/offline");
	json_decref(a.j);
	assert_int_equal(u->status, EP_UNREACH_OFFLINE);
	assert_int_equal(u->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(u->last_ctl_contact, NOW + 300);
	assert_int_equal(u->status_since, NOW + 301);
	tu_check_counts(&fx.reg);
}

/*
 * Issue 13 item 5: a captured version 1 poll replayed with
 * X-Glournet-Ips: 192.0.2.99 moved the endpoint's addresses and so its
 * class. A version 1 poll still counts as a poll, but its addresses are
 * not applied (counted poll_v1_ips_ignored); version 2's MAC covers them,
 * so other addresses under a captured MAC are a bad MAC, and so is a body
 * swapped under a version 2 event's MAC. The versions' MACs never pass for
 * each other.
 */
static void test_api_v2_covers(void **state)
{
	(void)state;
	static const char *const ranges[] = {"192.0.2.0/24"};
	tu_use_ranges(&fx, ranges, 1);
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	struct tu_proof pf;
	api.ctx.now = NOW + 10;
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 10, key);
	struct tu_answer a = poll_call("v1 poll with ips", &pf, "192.0.2.99", NULL, 200,
				       HTTP_POLL_IPS_IGNORED);
	assert_true(json_is_false(json_object_get(a.j, "unreachable")));
	json_decref(a.j);
	assert_false(ep->unreachable);
	assert_int_equal(tu_nips(ep), 2);
	assert_int_equal(ep->last_poll, NOW + 10); /* a poll all the same (R3) */
	a = poll_call("v1 poll with ips, 304", &pf, "192.0.2.99", "\"r7-r\"", 304,
		      HTTP_POLL_IPS_IGNORED);

	/* Version 2: what is signed is applied; anything else is a bad MAC. */
	tu_proof_make_v2(&pf, HB_AUTH_POLL_V2, id, NOW + 10, key, "10.1.2.3, 10.1.2.4");
	json_decref(tu_api_call(&api, api_poll_v2, "v2 other ips", &pf, NULL, "192.0.2.99", NULL,
				401, HTTP_BAD_MAC).j);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 ips dropped", &pf, NULL, NULL, NULL, 401,
				HTTP_BAD_MAC).j);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 ips one space less", &pf, NULL,
				"10.1.2.3,10.1.2.4", NULL, 401, HTTP_BAD_MAC).j);
	assert_int_equal(tu_nips(ep), 2);
	assert_false(ep->unreachable);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 signed ips", &pf, NULL, "10.1.2.3, 10.1.2.4",
				NULL, 200, HTTP_POLL).j);
	assert_int_equal(tu_nips(ep), 2);
	assert_int_equal(tu_ip_at(ep, 1).bytes[3], 4);
	/* A v2 poll without ips signs nothing after the time; one header more
	 * is a bad MAC. */
	tu_proof_make_v2(&pf, HB_AUTH_POLL_V2, id, NOW + 11, key, NULL);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 ips added", &pf, NULL, "192.0.2.99", NULL,
				401, HTTP_BAD_MAC).j);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 no ips", &pf, NULL, NULL, NULL, 200,
				HTTP_POLL).j);
	/* Each version's MAC on the other's path. */
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 12, key);
	json_decref(tu_api_call(&api, api_poll_v2, "v1 MAC on v2", &pf, NULL, NULL, NULL, 401,
				HTTP_BAD_MAC).j);
	tu_proof_make_v2(&pf, HB_AUTH_POLL_V2, id, NOW + 12, key, "");
	json_decref(poll_call("v2 MAC on v1", &pf, NULL, NULL, 401, HTTP_BAD_MAC).j);

	/* Events: the body is signed. */
	static const char up[] = "{\"type\": \"manual-update\"}", log[] = "{\"type\": \"log-upload\"}";
	tu_proof_make_v2(&pf, HB_AUTH_EVENT_V2, id, NOW + 12, key, up);
	json_decref(tu_api_call(&api, api_event_v2, "v2 event, other body", &pf, log, NULL, NULL,
				401, HTTP_BAD_MAC).j);
	json_decref(tu_api_call(&api, api_event_v2, "v2 event, signed body", &pf, up, NULL, NULL,
				200, HTTP_EVENT).j);
	tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW + 13, key);
	json_decref(tu_api_call(&api, api_event_v2, "v1 MAC on v2 event", &pf, up, NULL, NULL, 401,
				HTTP_BAD_MAC).j);
}

/*
 * Issue 13 item 5: two events with different bodies under one MAC were both
 * accepted, and a captured poll could be replayed. With the replay cache a
 * second request of one kind with the same id and time is refused (409,
 * counted replayed) in either version, and is no contact; other kinds, and
 * other times, are not.
 */
static void test_api_replay(void **state)
{
	(void)state;
	struct replay_cache rc;
	assert_int_equal(replay_init(&rc, 4096), 0);
	api.ctx.replay = &rc;
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(tu_body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	struct tu_proof pf;
	static const char up[] = "{\"type\": \"manual-update\"}", log[] = "{\"type\": \"log-upload\"}";

	api.ctx.now = NOW + 10;
	tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW + 10, key);
	json_decref(event_call("v1 event", &pf, up, 200, HTTP_EVENT).j);
	api.ctx.now = NOW + 20;
	json_decref(event_call("v1 event, other body, same MAC", &pf, log, 409, HTTP_REPLAYED).j);
	json_decref(event_call("v1 event again", &pf, up, 409, HTTP_REPLAYED).j);
	assert_int_equal(ep->last_ctl_contact, NOW + 10);

	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 10, key); /* same id and time, a poll */
	json_decref(poll_call("v1 poll", &pf, NULL, NULL, 200, HTTP_POLL).j);
	api.ctx.now = NOW + 30;
	json_decref(poll_call("v1 poll replayed", &pf, NULL, NULL, 409, HTTP_REPLAYED).j);
	json_decref(poll_call("v1 poll replayed with ips", &pf, "192.0.2.99", NULL, 409,
			      HTTP_REPLAYED).j);
	assert_int_equal(ep->last_poll, NOW + 20);
	assert_int_equal(tu_nips(ep), 2);

	tu_proof_make_v2(&pf, HB_AUTH_POLL_V2, id, NOW + 30, key, "10.9.9.9");
	json_decref(tu_api_call(&api, api_poll_v2, "v2 poll", &pf, NULL, "10.9.9.9", NULL, 200,
				HTTP_POLL).j);
	json_decref(tu_api_call(&api, api_poll_v2, "v2 poll replayed", &pf, NULL, "10.9.9.9", NULL,
				409, HTTP_REPLAYED).j);
	/* A v1 poll at a time a v2 one used: the same request for the cache. */
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 30, key);
	json_decref(poll_call("v1 poll at a v2 poll's time", &pf, NULL, NULL, 409, HTTP_REPLAYED).j);
	tu_proof_make_v2(&pf, HB_AUTH_EVENT_V2, id, NOW + 30, key, log);
	json_decref(tu_api_call(&api, api_event_v2, "v2 event", &pf, log, NULL, NULL, 200,
				HTTP_EVENT).j);
	json_decref(tu_api_call(&api, api_event_v2, "v2 event replayed", &pf, log, NULL, NULL, 409,
				HTTP_REPLAYED).j);
	/* The next second is a new request. */
	tu_proof_make(&pf, HB_AUTH_POLL, id, NOW + 31, key);
	json_decref(poll_call("v1 poll, next second", &pf, NULL, NULL, 200, HTTP_POLL).j);

	/* A registration proof replayed proves nothing: with the endpoint alive
	 * that is a 409, and the key stays. */
	fx.pol->replace_after = 3600;
	tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW + 30, key);
	json_decref(tu_api_register(&api, tu_body_a, TU_AUTH, &pf, 200, HTTP_REGISTER_KNOWN));
	json_decref(tu_api_register(&api, tu_body_a, TU_AUTH, &pf, 409, HTTP_REGISTER_CONFLICT));
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	api.ctx.replay = NULL;
	replay_destroy(&rc);
}

#define API(f) cmocka_unit_test_prestate_setup_teardown(f, tu_api_setup, tu_api_teardown, &api)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		API(test_api_poll),
		API(test_api_poll_cache),
		API(test_api_fleet_addrs),
		API(test_api_poll_ips),
		API(test_api_event),
		API(test_api_v2_covers),
		API(test_api_replay),
	};
	return TU_RUN(tests);
}
