/*
 * POST /v1/register (control/api_register.c) as a function of a request.
 * Proves: it authenticates before it parses, validates every field at its
 * limits, keeps id and slot for a known guid, keeps the key only with a
 * valid proof (docs/protocol.md §3: every near miss costs it), changes nothing
 * when it refuses, answers 503 when the table is full, gives the server's
 * time after 2038, answers from the policy in force (R2) while applying R1
 * and R4, and counts each outcome once; with the store's server out of
 * reach, answers 503 + Retry-After and makes, re-keys and queues nothing.
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
#include <jansson.h>

#include "control/api.h"
#include "control/registry.h"
#include "control/status.h"
#include "support/tu_api.h"
#include "support/tu_heartbeat.h"
#include "support/tu_json.h"
#include "support/tu_run.h"

#define NOW TU_NOW
#define ONLINE(r)  ((r)->by_status[EP_ONLINE])
#define OFFLINE(r) ((r)->by_status[EP_OFFLINE])

static struct tu_registry fx;
static struct tu_api api = {.fx = &fx};

static void test_api_unauthorized(void **state)
{
	(void)state;
	static const char *const bad[] = {
		NULL, "", "Bearer", "Bearer ", "Bearer enroll-7f3a9", "Bearer enroll-7f3a9cX",
		"Bearer enroll-7f3a9C", "Basic " TU_TOKEN, TU_TOKEN, "Bearer  " TU_TOKEN, "Bearer " TU_TOKEN " ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(tu_api_register(&api, tu_body_a, bad[i], NULL, 401, HTTP_UNAUTHORIZED));
	/* Authentication comes before parsing: garbage with a bad token is a 401. */
	json_decref(tu_api_register(&api, "not json", "Bearer nope", NULL, 401, HTTP_UNAUTHORIZED));
	assert_int_equal(fx.reg.count, 0);
	json_decref(tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));
}

static void test_api_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "not json", "{", "[]", "[{\"guid\": \"x\"}]", "\"guid\"", "42", "null",
		"{\"guid\": \"x\", \"guid\": \"y\"}",        /* duplicate key */
		"{\"guid\": \"x\"} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(tu_api_register(&api, bad[i], TU_AUTH, NULL, 400, HTTP_MALFORMED));
	assert_int_equal(fx.reg.count, 0);
}

static void test_api_bad_fields(void **state)
{
	(void)state;
	char g65[80], h256[300], body[512];
	memset(g65, 'g', 65);
	g65[65] = '\0';
	memset(h256, 'h', 256);
	h256[256] = '\0';
	static const char *const bad[] = {
		"{}",
		"{\"hostname\": \"x\"}",
		"{\"guid\": 5}",
		"{\"guid\": null}",
		"{\"guid\": [\"a\"]}",
		"{\"guid\": \"\"}",
		"{\"guid\": \"has space\"}",
		"{\"guid\": \"g\", \"hostname\": 5}",
		"{\"guid\": \"g\", \"ips\": \"10.0.0.1\"}",
		"{\"guid\": \"g\", \"ips\": [5]}",
		"{\"guid\": \"g\", \"ips\": [null]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.256\"]}",
		"{\"guid\": \"g\", \"ips\": [\"1.2.3\"]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.1\", \"2001:db8:::1\"]}",
		"{\"guid\": \"g\", \"ips\": [\"\"]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.1/24\"]}",
		"{\"guid\": \"g\", \"ips\": [\"example.com\"]}",
		"{\"guid\": \"g\", \"reason\": \"upgrade\"}",
		"{\"guid\": \"g\", \"reason\": \"Install\"}",
		"{\"guid\": \"g\", \"reason\": \"\"}",
		"{\"guid\": \"g\", \"reason\": 1}",
		"{\"guid\": \"g\", \"reason\": null}",
		"{\"guid\": \"g\", \"notify_port\": 70000}",
		"{\"guid\": \"g\", \"notify_port\": 65536}",
		"{\"guid\": \"g\", \"notify_port\": -1}",
		"{\"guid\": \"g\", \"notify_port\": \"21112\"}",
		"{\"guid\": \"g\", \"notify_port\": 21112.0}",
		"{\"guid\": \"g\", \"notify_port\": true}",
		"{\"guid\": \"g\", \"notify_port\": null}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(tu_api_register(&api, bad[i], TU_AUTH, NULL, 400, HTTP_BAD_FIELD));
	/* Issue 13: control and bidi characters, which would drive or reorder
	 * the terminal of an operator reading `show client`, have their own
	 * reason and counter. */
	static const char *const unsafe[] = {
		"{\"guid\": \"tab\\there\"}",
		"{\"guid\": \"nl\\n\"}",
		"{\"guid\": \"del\\u007f\"}",
		"{\"guid\": \"esc\\u001b[2J\"}",
		"{\"guid\": \"c1\\u0085\"}",
		"{\"guid\": \"csi\\u009b2J\"}",
		"{\"guid\": \"exe\\u202egpj\"}",
		"{\"guid\": \"iso\\u2066late\"}",
		"{\"guid\": \"lrm\\u200e\"}",
		"{\"guid\": \"alm\\u061c\"}",
		"{\"guid\": \"g\", \"hostname\": \"a\\u0001b\"}",
		"{\"guid\": \"g\", \"hostname\": \"pc\\u009b31m\"}",
		"{\"guid\": \"g\", \"hostname\": \"pc\\u202eexe.txt\"}",
		"{\"guid\": \"g\", \"hostname\": \"pc\\u2069\"}",
		"{\"guid\": \"g\", \"hostname\": \"pc\\u202a\"}",
		"{\"guid\": \"g\", \"hostname\": \"bell\\u0007\"}",
	};
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		json_t *e = tu_api_register(&api, unsafe[i], TU_AUTH, NULL, 400, HTTP_UNSAFE_TEXT);
		const char *msg = tu_jstr(e, "error");
		if (!strstr(msg, "control characters") || !strstr(msg, "bidi") ||
		    strncmp(msg, strstr(unsafe[i], "hostname") ? "hostname: " : "guid: ", 6))
			fail_msg("%s: error '%s'", unsafe[i], msg);
		json_decref(e);
	}
	/* Their neighbours are fine. */
	json_decref(tu_api_register(&api, "{\"guid\": \"nbsp\\u00a0ok\", \"hostname\": \"pc\\u202f\\u00e9\"}",
				    TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));
	snprintf(body, sizeof(body), "{\"guid\": \"%s\"}", g65);
	json_decref(tu_api_register(&api, body, TU_AUTH, NULL, 400, HTTP_BAD_FIELD));
	snprintf(body, sizeof(body), "{\"guid\": \"g\", \"hostname\": \"%s\"}", h256);
	json_decref(tu_api_register(&api, body, TU_AUTH, NULL, 400, HTTP_BAD_FIELD));
	/* 17 addresses: one too many. */
	strcpy(body, "{\"guid\": \"g\", \"ips\": [");
	for (int i = 0; i < 17; i++)
		sprintf(body + strlen(body), "%s\"10.0.0.%d\"", i ? ", " : "", i + 1);
	strcat(body, "]}");
	json_decref(tu_api_register(&api, body, TU_AUTH, NULL, 400, HTTP_BAD_FIELD));
	assert_int_equal(fx.reg.count, 1); /* the neighbours' one */
}

/* The limits themselves are fine. */
static void test_api_field_limits_ok(void **state)
{
	(void)state;
	char g64[80], h255[300], body[1024];
	memset(g64, 'g', 64);
	g64[64] = '\0';
	memset(h255, 'h', 255);
	h255[255] = '\0';
	snprintf(body, sizeof(body),
		 "{\"guid\": \"%s\", \"hostname\": \"%s\", \"notify_port\": 65535, \"reason\": \"reload\"}",
		 g64, h255);
	json_t *j = tu_api_register(&api, body, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = tu_id_of(j);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&fx.reg, g64);
	assert_non_null(ep);
	assert_int_equal(ep->id, id);
	assert_string_equal(ep_guid(ep), g64);
	assert_string_equal(ep_hostname(ep), h255);
	assert_int_equal(ep_notify_port(ep), 65535);
	/* A 64-character guid is found again. */
	j = tu_api_register(&api, body, TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_int_equal(tu_id_of(j), id);
	json_decref(j);

	strcpy(body, "{\"guid\": \"sixteen\", \"notify_port\": 0, \"reason\": \"restart\", \"ips\": [");
	for (int i = 0; i < 16; i++)
		sprintf(body + strlen(body), "%s\"10.0.0.%d\"", i ? ", " : "", i + 1);
	strcat(body, "]}");
	json_decref(tu_api_register(&api, body, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));
	ep = registry_by_guid(&fx.reg, "sixteen");
	assert_int_equal(tu_nips(ep), 16);
	assert_int_equal(tu_ip_at(ep, 15).bytes[3], 16);
	assert_int_equal(ep_notify_port(ep), 0);
	/* Only guid is required. */
	json_decref(tu_api_register(&api, "{\"guid\": \"minimal\"}", TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));
	ep = registry_by_guid(&fx.reg, "minimal");
	assert_non_null(ep);
	assert_int_equal(tu_nips(ep), 0);
	assert_string_equal(ep_hostname(ep), "");
}

static void test_api_new(void **state)
{
	(void)state;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = tu_id_of(j);
	uint8_t key[HB_KEY_LEN];
	tu_key_of(j, key);
	assert_int_equal(tu_jint(j, "slot"), 0);
	assert_int_equal(tu_jint(j, "server_time"), NOW);
	assert_true(json_is_false(json_object_get(j, "unreachable")));
	assert_int_equal(tu_jint(j, "settings_rev"), 7);
	json_t *hb = json_object_get(j, "heartbeat");
	assert_true(json_is_object(hb));
	assert_true(json_is_true(json_object_get(hb, "enabled")));
	assert_int_equal(tu_jint(hb, "interval"), 900);
	assert_int_equal(tu_jint(hb, "port"), 7100);
	json_t *addrs = json_object_get(hb, "addrs");
	assert_int_equal(json_array_size(addrs), 2);
	assert_string_equal(json_string_value(json_array_get(addrs, 0)), "10.0.0.1");
	assert_string_equal(json_string_value(json_array_get(addrs, 1)), "2001:db8::1");
	json_t *poll = json_object_get(j, "poll");
	assert_true(json_is_object(poll));
	assert_true(json_is_false(json_object_get(poll, "enabled")));   /* regular (R2) */
	assert_int_equal(tu_jint(poll, "interval"), 2700);
	json_decref(j);

	struct endpoint *ep = registry_by_guid(&fx.reg, "3f2b-agent-A");
	assert_non_null(ep);
	assert_int_equal(ep->id, id);
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "pc-a");
	assert_int_equal(ep_notify_port(ep), 21112);
	assert_int_equal(tu_nips(ep), 2);
	assert_int_equal(tu_ip_at(ep, 0).family, AF_INET);
	static const uint8_t v4[4] = {10, 1, 2, 3};
	assert_memory_equal(tu_ip_at(ep, 0).bytes, v4, 4);
	assert_int_equal(tu_ip_at(ep, 1).family, AF_INET6);
	uint8_t v6[16];
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", v6), 1);
	assert_memory_equal(tu_ip_at(ep, 1).bytes, v6, 16);
	/* Registration is contact (R4). */
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(ONLINE(&fx.reg), 1);
	assert_int_equal(OFFLINE(&fx.reg), 0);
	/* The key handed out is the one the workers check. */
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, key, 0, NOW, NOW), HB_ACCEPTED);
}

static void test_api_known_without_proof(void **state)
{
	(void)state;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = tu_id_of(j);
	json_int_t slot = tu_jint(j, "slot");
	uint8_t key1[HB_KEY_LEN], key2[HB_KEY_LEN];
	tu_key_of(j, key1);
	json_decref(j);
	/* Another endpoint in between, so slot 0 vs 1 is telling. */
	json_decref(tu_api_register(&api, "{\"guid\": \"other\"}", TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));

	api.ctx.now = NOW + 100;
	j = tu_api_register(&api, "{\"guid\": \"3f2b-agent-A\", \"hostname\": \"pc-a2\", \"ips\": [\"10.9.9.9\"], "
		 "\"reason\": \"restart\", \"notify_port\": 4000}", TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_int_equal(tu_id_of(j), id);
	assert_int_equal(tu_jint(j, "slot"), slot);
	assert_int_equal(tu_jint(j, "server_time"), NOW + 100);
	tu_key_of(j, key2);
	json_decref(j);
	assert_memory_not_equal(key1, key2, HB_KEY_LEN);
	assert_int_equal(fx.reg.count, 2);
	struct endpoint *ep = registry_by_guid(&fx.reg, "3f2b-agent-A");
	assert_memory_equal(registry_key(&fx.reg, ep), key2, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "pc-a2");
	assert_int_equal(tu_nips(ep), 1);
	assert_int_equal(ep_notify_port(ep), 4000);
	assert_int_equal(ep->last_register, NOW + 100);
	assert_int_equal(ep_registered(ep), NOW);
	/* The old key stopped working. */
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, key1, 0, NOW + 100, NOW + 100), HB_BAD_MAC);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, key2, 0, NOW + 100, NOW + 100), HB_ACCEPTED);
}

/* Re-registering to get the key back; every near-miss of the proof. */
static void test_api_proof(void **state)
{
	(void)state;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = tu_id_of(j);
	uint8_t key[HB_KEY_LEN], got[HB_KEY_LEN];
	tu_key_of(j, key);
	json_decref(j);
	json_t *jo = tu_api_register(&api, "{\"guid\": \"other\"}", TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t other_id = tu_id_of(jo);
	uint8_t other_key[HB_KEY_LEN];
	tu_key_of(jo, other_key);
	json_decref(jo);

	struct tu_proof pf;
	const uint32_t times_ok[] = { NOW, NOW - 300, NOW + 30, NOW - 1 };
	for (size_t i = 0; i < sizeof(times_ok) / sizeof(times_ok[0]); i++) {
		tu_proof_make(&pf, HB_AUTH_REGISTER, id, times_ok[i], key);
		j = tu_api_register(&api, tu_body_a, TU_AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
		assert_int_equal(tu_id_of(j), id);
		tu_key_of(j, got);
		json_decref(j);
		if (memcmp(got, key, HB_KEY_LEN) != 0)
			fail_msg("a valid proof at time now%+lld lost the key",
				 (long long)times_ok[i] - NOW);
	}

	/* Each of these must cost the key: the answer carries a new one,
	 * and the next attempt has to prove that one. */
	struct { const char *what; int kind; } misses[] = {
		{"MAC one bit off", 0}, {"GLPOLL context", 1}, {"GLEVNT context", 2},
		{"time now-301", 3}, {"time now+31", 4}, {"other endpoint's id", 5},
		{"time not a number", 6}, {"time empty", 7}, {"time with junk", 8},
		{"MAC too short", 9}, {"MAC not hex", 10}, {"id too short", 11},
		{"no MAC header", 12}, {"no time header", 13}, {"no id header", 14},
		{"old key", 15}, {"time over 32 bits", 16},
		{"id header of another endpoint, MAC over its own", 17},
		{"another endpoint's valid proof", 18},
	};
	uint8_t prev[HB_KEY_LEN];
	memcpy(prev, key, sizeof(prev));
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		struct endpoint *ep = registry_by_id(&fx.reg, id);
		const uint8_t *k = registry_key(&fx.reg, ep);
		struct tu_proof p2;
		switch (misses[i].kind) {
		case 0: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k);
			pf.mac[15] = pf.mac[15] == '0' ? '1' : '0'; break;
		case 1: tu_proof_make(&pf, HB_AUTH_POLL, id, NOW, k); break;
		case 2: tu_proof_make(&pf, HB_AUTH_EVENT, id, NOW, k); break;
		case 3: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW - 301, k); break;
		case 4: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW + 31, k); break;
		case 5: /* MAC'd correctly with this key, but naming the other endpoint */
			tu_proof_make(&pf, HB_AUTH_REGISTER, other_id, NOW, k); break;
		case 6: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); strcpy(pf.time, "now"); break;
		case 7: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.time[0] = '\0'; break;
		case 8: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); strcat(pf.time, "s"); break;
		case 9: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.mac[14] = '\0'; break;
		case 10: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.mac[0] = 'z'; break;
		case 11: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k); memmove(pf.id, pf.id + 1, 16); break;
		case 17: tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, k);
			snprintf(pf.id, sizeof(pf.id), "%016llx", (unsigned long long)other_id); break;
		case 18: /* a good proof, but of "other", not of the guid in the body */
			tu_proof_make(&pf, HB_AUTH_REGISTER, other_id, NOW, other_key); break;
		case 12: case 13: case 14: case 15: case 16:
			tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, misses[i].kind == 15 ? key : k);
			if (misses[i].kind == 16)
				/* 2^32 + NOW: the low 32 bits are a valid, MAC'd time. */
				snprintf(pf.time, sizeof(pf.time), "%llu", (1ull << 32) + NOW);
			break;
		}
		p2 = pf;
		struct api_request r2 = {
			.body = tu_body_a, .body_len = strlen(tu_body_a), .authorization = TU_AUTH,
			.hdr_id = misses[i].kind == 14 ? NULL : p2.id,
			.hdr_time = misses[i].kind == 13 ? NULL : p2.time,
			.hdr_mac = misses[i].kind == 12 ? NULL : p2.mac,
		};
		struct api_response resp = {0};
		uint8_t before[HB_KEY_LEN];
		memcpy(before, k, HB_KEY_LEN);
		api_register(&api.ctx, &r2, &resp);
		api.want[HTTP_REGISTER_REKEY]++;
		if (resp.status != 200)
			fail_msg("%s: status %u", misses[i].what, resp.status);
		if (api.ctr.by_result[HTTP_REGISTER_REKEY] != api.want[HTTP_REGISTER_REKEY] ||
		    api.ctr.by_result[HTTP_REGISTER_KNOWN] != api.want[HTTP_REGISTER_KNOWN])
			fail_msg("%s: counted as %s", misses[i].what,
				 api.ctr.by_result[HTTP_REGISTER_KNOWN] != api.want[HTTP_REGISTER_KNOWN]
					 ? "register_known" : "neither");
		j = json_loads(resp.body, 0, NULL);
		free(resp.body);
		assert_non_null(j);
		assert_int_equal(tu_id_of(j), id);
		tu_key_of(j, got);
		json_decref(j);
		ep = registry_by_id(&fx.reg, id);
		if (memcmp(got, before, HB_KEY_LEN) == 0)
			fail_msg("%s: the key was kept", misses[i].what);
		assert_memory_equal(registry_key(&fx.reg, ep), got, HB_KEY_LEN);
		assert_memory_equal(slot_dir_entry(fx.tbl.dir, ep->slot)->key, got, HB_KEY_LEN);
	}
	/* The newest key proves itself again. */
	struct endpoint *ep = registry_by_id(&fx.reg, id);
	memcpy(prev, registry_key(&fx.reg, ep), sizeof(prev));
	tu_proof_make(&pf, HB_AUTH_REGISTER, id, NOW, prev);
	j = tu_api_register(&api, tu_body_a, TU_AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
	tu_key_of(j, got);
	json_decref(j);
	assert_memory_equal(got, prev, HB_KEY_LEN);
	assert_int_equal(fx.reg.count, 2);
	/* None of it touched the other endpoint's key. */
	assert_memory_equal(registry_key(&fx.reg, registry_by_id(&fx.reg, other_id)), other_key, HB_KEY_LEN);
}

/* A rejected request changes nothing, not even for a known guid. */
static void test_api_reject_changes_nothing(void **state)
{
	(void)state;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&fx.reg, "3f2b-agent-A");
	uint8_t key[HB_KEY_LEN];
	memcpy(key, registry_key(&fx.reg, ep), sizeof(key));
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);
	api.ctx.now = NOW + 50;
	json_decref(tu_api_register(&api, "{\"guid\": \"3f2b-agent-A\", \"notify_port\": 70000}", TU_AUTH, NULL, 400,
			 HTTP_BAD_FIELD));
	json_decref(tu_api_register(&api, "{\"guid\": \"3f2b-agent-A\"}", "Bearer wrong", NULL, 401,
			 HTTP_UNAUTHORIZED));
	ep = registry_by_guid(&fx.reg, "3f2b-agent-A");
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	assert_int_equal(ep_notify_port(ep), 21112);
	assert_string_equal(ep_hostname(ep), "pc-a");
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	/* A good one brings it back online (registration is contact, R4). */
	json_decref(tu_api_register(&api, "{\"guid\": \"3f2b-agent-A\"}", TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY));
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->last_register, NOW + 50);
	assert_int_equal(ep->last_ctl_contact, NOW + 50);
	assert_int_equal(ep->status_since, NOW + 50);
	assert_int_equal(ONLINE(&fx.reg), 1);
	assert_int_equal(OFFLINE(&fx.reg), 0);
}

static void test_api_full(void **state)
{
	(void)state;
	struct slot_table small;
	struct registry r;
	assert_int_equal(slot_table_init(&small, 1, 1), 0);
	assert_int_equal(registry_init(&r, &small), 0);
	api.ctx.reg = &r;
	json_decref(tu_api_register(&api, "{\"guid\": \"first\"}", TU_AUTH, NULL, 201, HTTP_REGISTER_NEW));
	json_decref(tu_api_register(&api, "{\"guid\": \"second\"}", TU_AUTH, NULL, 503, HTTP_FULL));
	/* The known one still re-registers. */
	json_decref(tu_api_register(&api, "{\"guid\": \"first\"}", TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY));
	assert_int_equal(r.count, 1);
	api.ctx.reg = &fx.reg;
	registry_destroy(&r);
	slot_table_destroy(&small);
}

/* The store as the API sees it: out of reach or not, and what it queued. */
struct fake_store {
	bool gone;
	uint64_t persisted;
};

static bool store_gone(void *ctx)
{
	return ((struct fake_store *)ctx)->gone;
}

static uint64_t persist_count(void *ctx, const struct endpoint *ep)
{
	(void)ep;
	return ++((struct fake_store *)ctx)->persisted;
}

/* PostgreSQL down (store_unreachable): no 201 or 200 that no commit keeps. */
static void test_api_store_unreachable(void **state)
{
	(void)state;
	struct fake_store st = {.gone = false};
	api.ctx.store_unreachable = store_gone;
	api.ctx.persist = persist_count;
	api.ctx.persist_ctx = &st;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint8_t key[HB_KEY_LEN];
	tu_key_of(j, key);
	json_decref(j);
	assert_int_equal(st.persisted, 1);
	st.gone = true;
	const char *bodies[] = {tu_body_a, "{\"guid\": \"new-while-down\"}"};
	for (int i = 0; i < 2; i++) {
		struct api_request req = {.body = bodies[i],
					  .body_len = strlen(bodies[i]),
					  .authorization = TU_AUTH};
		struct api_response resp = {0};
		api_register(&api.ctx, &req, &resp);
		assert_int_equal(resp.status, 503);
		assert_int_equal(resp.retry_after, API_STORE_RETRY_AFTER_S);
		assert_int_equal(resp.durable_ticket, 0);
		assert_non_null(strstr(resp.body, "unreachable"));
		free(resp.body);
		api.want[HTTP_INTERNAL]++;
	}
	assert_int_equal(st.persisted, 1);                            /* nothing queued */
	assert_null(registry_by_guid(&fx.reg, "new-while-down"));     /* nothing made */
	struct endpoint *ep = registry_by_guid(&fx.reg, "3f2b-agent-A"); /* nor re-keyed */
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	assert_int_equal(fx.reg.count, 1);
	st.gone = false;
	json_decref(tu_api_register(&api, "{\"guid\": \"new-while-down\"}", TU_AUTH, NULL, 201,
				    HTTP_REGISTER_NEW));
	assert_int_equal(st.persisted, 2);
	api.ctx.store_unreachable = NULL;
	api.ctx.persist = NULL;
	api.ctx.persist_ctx = NULL;
}

/*
 * Times are 32-bit unsigned Unix seconds (docs/protocol.md); the answer's
 * server_time must be the server's clock after 2038 too.
 */
static void test_api_server_time_after_2038(void **state)
{
	(void)state;
	api.ctx.now = 3000000000u;
	json_t *j = tu_api_register(&api, "{\"guid\": \"future\"}", TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_int_t st = tu_jint(j, "server_time");
	json_decref(j);
	if (st != 3000000000ll)
		fail_msg("server_time is %lld, want 3000000000", (long long)st);
}

/*
 * The answer follows the policy in force (R2) and registration applies R1
 * and R4: a regular endpoint is online; an unreachable one is
 * unreachable/online when heartbeat applies to it, unreachable/offline
 * (reason unreachable) at once when it does not.
 */
static void test_api_register_policy(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.1.0.0/16"};
	static const char body_u[] = "{\"guid\": \"far\", \"ips\": [\"192.0.2.9\", \"10.1.200.1\"]}";
	static const char body_r[] = "{\"guid\": \"near\", \"ips\": [\"192.0.2.10\"]}";

	/* Scope unreachable: heartbeat does not apply to a regular endpoint,
	 * registration is contact all the same. */
	fx.pol->hb_scope = HB_SCOPE_UNREACHABLE;
	fx.pol->rev = 9;
	json_t *j = tu_api_register(&api, body_r, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	assert_true(json_is_false(json_object_get(j, "unreachable")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "poll"), "enabled")));
	assert_int_equal(tu_jint(j, "settings_rev"), 9);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&fx.reg, "near");
	assert_int_equal(ep->status, EP_ONLINE);

	/* In a range, scope unreachable: heartbeat applies, polling too. */
	tu_use_ranges(&fx, ranges, 1);
	j = tu_api_register(&api, body_u, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	assert_true(json_is_true(json_object_get(j, "unreachable")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "poll"), "enabled")));
	json_decref(j);
	ep = registry_by_guid(&fx.reg, "far");
	assert_true(ep->unreachable);
	assert_int_equal(ep->range, 0);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(fx.reg.by_range[0][1], 1);

	/* Heartbeat off: it cannot be reached and will not heartbeat (R4). */
	fx.pol->hb_enabled = false;
	api.ctx.now = NOW + 10;
	j = tu_api_register(&api, body_u, TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_true(json_is_true(json_object_get(j, "unreachable")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "poll"), "enabled")));
	json_decref(j);
	assert_int_equal(ep->status, EP_UNREACH_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_UNREACHABLE);
	assert_int_equal(ep->down_at, NOW + 10);
	assert_int_equal(ep->status_since, NOW + 10);
	assert_int_equal(ep->last_register, NOW + 10);
	assert_int_equal(fx.reg.by_range[0][1], 0);
	assert_int_equal(fx.reg.by_range[0][0], 1);
	tu_check_counts(&fx.reg);

	/* Registering with addresses outside every range: regular again. */
	api.ctx.now = NOW + 20;
	json_decref(tu_api_register(&api, "{\"guid\": \"far\", \"ips\": [\"192.0.2.9\"]}", TU_AUTH, NULL, 200,
			 HTTP_REGISTER_REKEY));
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(fx.reg.by_range[0][0] + fx.reg.by_range[0][1], 0);
	tu_check_counts(&fx.reg);
}

/*
 * Issue 13 item 6: the enrollment token and a guid do not take over a live
 * endpoint. Without proof, a known guid is refused (409, counted, nothing
 * changed, the real agent's key still works) while the endpoint has had
 * valid contact (a registration, a heartbeat) within register.replace_after;
 * from then on, and always with 0, the key is replaced as before. With
 * proof it never needs to wait.
 */
static void test_api_takeover(void **state)
{
	(void)state;
	fx.pol->replace_after = 3600; /* the default (docs/status.md) */
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000263)};
	api.peer = (const struct sockaddr *)&src;
	json_t *j = tu_api_register(&api, tu_body_a, TU_AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = tu_id_of(j);
	uint8_t key[HB_KEY_LEN], got[HB_KEY_LEN];
	tu_key_of(j, key);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&fx.reg, "3f2b-agent-A");
	static const char hijack[] = "{\"guid\": \"3f2b-agent-A\", \"hostname\": \"evil\", "
				     "\"ips\": [\"192.0.2.99\"], \"notify_port\": 9}";

	/* Registered a minute ago: alive. */
	api.ctx.now = NOW + 60;
	j = tu_api_register(&api, hijack, TU_AUTH, NULL, 409, HTTP_REGISTER_CONFLICT);
	assert_non_null(strstr(tu_jstr(j, "error"), "register.replace_after"));
	json_decref(j);
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "pc-a");
	assert_int_equal(tu_nips(ep), 2);
	assert_int_equal(ep_notify_port(ep), 21112);
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, key, 0, NOW + 60, NOW + 60), HB_ACCEPTED);

	/* Its heartbeat at NOW + 60 is contact: one second short of the hour
	 * after it, still alive. */
	api.ctx.now = NOW + 60 + 3599;
	json_decref(tu_api_register(&api, hijack, TU_AUTH, NULL, 409, HTTP_REGISTER_CONFLICT));
	assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
	/* The real agent, with proof, is never made to wait. */
	struct tu_proof pf;
	tu_proof_make(&pf, HB_AUTH_REGISTER, id, api.ctx.now, key);
	j = tu_api_register(&api, tu_body_a, TU_AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
	tu_key_of(j, got);
	json_decref(j);
	assert_memory_equal(got, key, HB_KEY_LEN);

	/* An hour without contact after that registration: the reinstall case,
	 * a new key for the same id and slot. */
	api.ctx.now = NOW + 60 + 3599 + 3600;
	j = tu_api_register(&api, hijack, TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_int_equal(tu_id_of(j), id);
	tu_key_of(j, got);
	json_decref(j);
	assert_memory_not_equal(got, key, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "evil");

	/* 0: always, however alive. */
	fx.pol->replace_after = 0;
	memcpy(key, got, HB_KEY_LEN);
	j = tu_api_register(&api, hijack, TU_AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	tu_key_of(j, got);
	json_decref(j);
	assert_memory_not_equal(got, key, HB_KEY_LEN);
	api.peer = NULL;
}

#define API(f) cmocka_unit_test_prestate_setup_teardown(f, tu_api_setup, tu_api_teardown, &api)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		API(test_api_unauthorized),
		API(test_api_malformed),
		API(test_api_bad_fields),
		API(test_api_field_limits_ok),
		API(test_api_new),
		API(test_api_known_without_proof),
		API(test_api_proof),
		API(test_api_reject_changes_nothing),
		API(test_api_full),
		API(test_api_store_unreachable),
		API(test_api_server_time_after_2038),
		API(test_api_register_policy),
		API(test_api_takeover),
	};
	return TU_RUN(tests);
}
