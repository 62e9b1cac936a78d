/* The endpoint API's fixture and calls (tu_api.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_mac.h"
#include "tu_api.h"
#include "tu_json.h"

const char tu_body_a[] =
	"{\"guid\": \"3f2b-agent-A\", \"hostname\": \"pc-a\", "
	"\"ips\": [\"10.1.2.3\", \"2001:db8::5\"], \"reason\": \"install\", \"notify_port\": 21112}";

int tu_api_setup(void **state)
{
	static char token[] = TU_TOKEN;
	struct tu_api *a = *state;
	void *fx = a->fx;
	if (tu_registry_setup(&fx) < 0)
		return -1;
	memset(&a->opt, 0, sizeof(a->opt));
	a->opt.token = token;
	a->opt.window = 300;
	a->opt.skew = 30;
	a->opt.udp_port = 7100;
	a->opt.hb_addrs[0] = "10.0.0.1";
	a->opt.hb_addrs[1] = "2001:db8::1";
	a->opt.n_hb_addrs = 2;
	a->fx->pol->hb_interval = 900;
	a->fx->pol->poll_interval = 2700;
	a->fx->pol->rev = 7;
	/* A known guid re-registers without proof whenever it likes, as before
	 * issue 13; test_api_register's takeover test sets the default back. */
	a->fx->pol->replace_after = 0;
	memset(&a->ctr, 0, sizeof(a->ctr));
	memset(a->want, 0, sizeof(a->want));
	a->ctx = (struct api_ctx){.reg = &a->fx->reg, .opt = &a->opt, .counters = &a->ctr,
				  .policy = &a->fx->pol, .now = TU_NOW};
	return 0;
}

int tu_api_teardown(void **state)
{
	struct tu_api *a = *state;
	void *fx = a->fx;
	return tu_registry_teardown(&fx);
}

void tu_api_check_counters(const struct tu_api *a, const char *what)
{
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		if (a->ctr.by_result[i] != a->want[i])
			fail_msg("%s: counter %s is %llu, want %llu", what, http_counter_name(i),
				 (unsigned long long)a->ctr.by_result[i],
				 (unsigned long long)a->want[i]);
}

void tu_proof_make(struct tu_proof *p, const char *context, uint64_t id, uint32_t time,
		   const uint8_t key[HB_KEY_LEN])
{
	uint8_t msg[HB_AUTH_MSG_LEN], mac[HB_MAC_LEN];
	hb_auth_message(msg, context, id, time);
	hb_mac_compute(key, msg, sizeof(msg), mac);
	snprintf(p->id, sizeof(p->id), "%016llx", (unsigned long long)id);
	snprintf(p->time, sizeof(p->time), "%u", time);
	sodium_bin2hex(p->mac, sizeof(p->mac), mac, sizeof(mac));
}

void tu_proof_make_v2(struct tu_proof *p, const char *context, uint64_t id, uint32_t time,
		      const uint8_t key[HB_KEY_LEN], const char *content)
{
	size_t n = content ? strlen(content) : 0;
	uint8_t msg[HB_AUTH_MSG_LEN + 1024], mac[HB_MAC_LEN];
	assert_true(n <= 1024);
	hb_auth_message_v2(msg, context, id, time, content, n);
	hb_mac_compute(key, msg, HB_AUTH_MSG_LEN + n, mac);
	snprintf(p->id, sizeof(p->id), "%016llx", (unsigned long long)id);
	snprintf(p->time, sizeof(p->time), "%u", time);
	sodium_bin2hex(p->mac, sizeof(p->mac), mac, sizeof(mac));
}

/* One request through fn: exactly counter c moved, the status is
 * want_status, and the answer (but for a 304) is one JSON object without
 * duplicate keys, with an error message when it is an error. */
static struct tu_answer exchange(struct tu_api *a, tu_api_fn *fn, const char *what,
				 const struct api_request *req, unsigned want_status,
				 enum http_counter c)
{
	struct api_response resp = {0};
	fn(&a->ctx, req, &resp);
	a->want[c]++;
	tu_api_check_counters(a, what);
	if (resp.status != want_status)
		fail_msg("%s: status %u, want %u (%s)", what, resp.status, want_status,
			 resp.body ? resp.body : "no body");
	struct tu_answer ans = {.status = resp.status};
	memcpy(ans.etag, resp.etag, sizeof(ans.etag));
	if (want_status == 304) {
		assert_null(resp.body);
		return ans;
	}
	assert_non_null(resp.body);
	json_error_t err;
	ans.j = json_loads(resp.body, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(ans.j))
		fail_msg("%s: the answer is not one JSON object (%s): %s", what, err.text,
			 resp.body);
	if (want_status >= 400) {
		const char *msg = json_string_value(json_object_get(ans.j, "error"));
		if (!msg || !*msg)
			fail_msg("%s: error answer without an error message", what);
	}
	free(resp.body);
	return ans;
}

json_t *tu_api_register(struct tu_api *a, const char *body, const char *auth,
			const struct tu_proof *pf, unsigned want_status, enum http_counter c)
{
	struct api_request req = {
		.body = body, .body_len = strlen(body), .authorization = auth,
		.hdr_id = pf ? pf->id : NULL, .hdr_time = pf ? pf->time : NULL,
		.hdr_mac = pf ? pf->mac : NULL, .peer = a->peer,
	};
	return exchange(a, api_register, body, &req, want_status, c).j;
}

struct tu_answer tu_api_call(struct tu_api *a, tu_api_fn *fn, const char *what,
			     const struct tu_proof *pf, const char *body, const char *ips,
			     const char *inm, unsigned want_status, enum http_counter c)
{
	struct api_request req = {
		.body = body, .body_len = body ? strlen(body) : 0,
		.hdr_id = pf ? pf->id : NULL, .hdr_time = pf ? pf->time : NULL,
		.hdr_mac = pf ? pf->mac : NULL, .hdr_ips = ips, .if_none_match = inm,
		.peer = a->peer,
	};
	return exchange(a, fn, what, &req, want_status, c);
}

void tu_key_of(json_t *o, uint8_t key[HB_KEY_LEN])
{
	const char *hex = tu_jstr(o, "key");
	size_t n;
	assert_int_equal(strlen(hex), 32);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
	assert_int_equal(sodium_hex2bin(key, HB_KEY_LEN, hex, 32, NULL, &n, NULL), 0);
	assert_int_equal(n, HB_KEY_LEN);
}

uint64_t tu_id_of(json_t *o)
{
	const char *hex = tu_jstr(o, "id");
	assert_int_equal(strlen(hex), 16);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 16);
	return strtoull(hex, NULL, 16);
}
