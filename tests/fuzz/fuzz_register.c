/*
 * Fuzz target: any bytes as the body of POST /v1/register, /v1/event or
 * /v2/event, or headers of GET /v1/poll or /v2/poll (with a valid token),
 * through the replay cache. Every answer must be a JSON object with the
 * protocol's status codes (409: a live guid without proof, a replay);
 * nothing may crash or leak.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "control/api.h"
#include "control/replay_cache.h"
#include "glournet/gn_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct slot_table table;
static struct registry reg;
static struct gn_options opt;
static struct http_counters counters;
static struct policy *policy;
static struct replay_cache replay;

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (sodium_init() < 0 || slot_table_init(&table, 1, 1u << 16) < 0 ||
	    registry_init(&reg, &table) < 0 || !(policy = policy_new_default()) ||
	    registry_reset_ranges(&reg, 0) < 0 || replay_init(&replay, 4096) < 0)
		abort();
	opt.token = "t";
	opt.window = 300;
	opt.skew = 30;
	opt.udp_port = 7100;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct api_ctx ctx = {.reg = &reg, .opt = &opt, .counters = &counters, .policy = &policy,
			      .replay = &replay, .now = 1795000000};
	/* The first byte picks which proof headers come along. */
	const char *hid = size && (data[0] & 1) ? "0000000000000001" : NULL;
	const char *htime = size && (data[0] & 2) ? "1795000000" : NULL;
	const char *hmac = size && (data[0] & 4) ? "00112233445566zz" : NULL;
	struct api_request req = {.body = (const char *)data, .body_len = size,
				  .authorization = "Bearer t", .hdr_id = hid, .hdr_time = htime,
				  .hdr_mac = hmac};
	struct api_response resp = {0};
	/* The second byte picks the endpoint: register, poll or event; the
	 * first byte's top bit version 2 of poll and event. */
	bool v2 = size && (data[0] & 0x80);
	switch (size > 1 ? data[1] % 3 : 0) {
	case 0: api_register(&ctx, &req, &resp); break;
	case 1: (v2 ? api_poll_v2 : api_poll)(&ctx, &req, &resp); break;
	case 2: (v2 ? api_event_v2 : api_event)(&ctx, &req, &resp); break;
	}
	if (resp.status != 200 && resp.status != 201 && resp.status != 304 && resp.status != 400 &&
	    resp.status != 401 && resp.status != 404 && resp.status != 409 && resp.status != 503)
		abort();
	if (resp.status == 304) {
		free(resp.body);
		return 0;
	}
	json_t *o = json_loads(resp.body, 0, NULL);
	if (!json_is_object(o))
		abort();
	json_decref(o);
	free(resp.body);
	return 0;
}
