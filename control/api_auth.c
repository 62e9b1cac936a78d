/*
 * Endpoint authentication for the HTTP API: id, time and a SipHash MAC in
 * three headers, the time inside the heartbeats' acceptance window so a
 * captured request cannot be replayed later, and the replay cache so it
 * cannot be replayed within the window either (issue 13). Version 2's MAC
 * covers what the request carries as well.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "http"
#include "control/api.h"
#include "control/replay_cache.h"
#include "control/text.h"
#include "glournet/hb_mac.h"
#include "glournet/http_api.h"
#include "glournet/log.h"
#include "glournet/log_ratelimit.h"

static bool parse_hex(const char *s, uint8_t *out, size_t n)
{
	return s && text_hex_decode(s, strlen(s), out, n, TEXT_HEX_ANY_CASE) == 0;
}

enum api_auth api_authenticate(const struct api_ctx *ctx, const struct api_request *req,
			       const struct api_proof *proof, struct endpoint **ep)
{
	uint8_t idb[8], mac[HB_MAC_LEN];
	*ep = NULL;
	if (!parse_hex(req->hdr_id, idb, 8) || !parse_hex(req->hdr_mac, mac, HB_MAC_LEN) ||
	    !req->hdr_time)
		return API_AUTH_MALFORMED;
	size_t digits = strspn(req->hdr_time, "0123456789");
	if (digits == 0 || digits > 10 || req->hdr_time[digits]) /* decimal, nothing else */
		return API_AUTH_MALFORMED;
	unsigned long long t = strtoull(req->hdr_time, NULL, 10);
	if (t > UINT32_MAX)
		return API_AUTH_MALFORMED;
	*ep = registry_by_id(ctx->reg, hb_be64(idb));
	if (!*ep)
		return API_AUTH_UNKNOWN;
	/* Version 2: the message grows by what the request carries (at most
	 * the body limit, or a header line). */
	size_t len = HB_AUTH_MSG_LEN + (proof->content ? proof->content_len : 0);
	uint8_t small[HB_AUTH_MSG_LEN + 256], *msg = len <= sizeof(small) ? small : malloc(len);
	if (!msg)
		return API_AUTH_MALFORMED;
	if (proof->content)
		hb_auth_message_v2(msg, proof->context, (*ep)->id, (uint32_t)t, proof->content,
				   proof->content_len);
	else
		hb_auth_message(msg, proof->context, (*ep)->id, (uint32_t)t);
	bool ok = hb_mac_verify(registry_key(ctx->reg, *ep), msg, len, mac);
	if (msg != small)
		free(msg);
	if (!ok)
		return API_AUTH_BAD_MAC;
	if ((uint64_t)t + ctx->opt->window < api_wire_now(ctx) ||
	    t > (uint64_t)api_wire_now(ctx) + ctx->opt->skew)
		return API_AUTH_STALE;
	if (ctx->replay) {
		/* The cache holds the requests' own times: the real clock. */
		uint32_t wire = api_wire_now(ctx);
		uint32_t oldest = wire > ctx->opt->window ? wire - ctx->opt->window : 1;
		switch (replay_check(ctx->replay, proof->kind, (*ep)->id, (uint32_t)t, oldest)) {
		case REPLAY_SEEN:
			return API_AUTH_REPLAYED;
		case REPLAY_FORGOTTEN:
			return API_AUTH_FORGOTTEN;
		case REPLAY_FRESH:
			break;
		}
	}
	return API_AUTH_OK;
}

void api_auth_error(const struct api_ctx *ctx, struct api_response *resp, enum api_auth a)
{
	switch (a) {
	case API_AUTH_MALFORMED:
		api_error(ctx, resp, 400, HTTP_MALFORMED,
			  GN_API_HDR_ID " (16 hex), " GN_API_HDR_TIME " (decimal), " GN_API_HDR_MAC
					" (16 hex) required");
		return;
	case API_AUTH_UNKNOWN:
		api_error(ctx, resp, 404, HTTP_UNKNOWN_ID, "unknown endpoint id");
		return;
	case API_AUTH_BAD_MAC:
		api_error(ctx, resp, 401, HTTP_BAD_MAC, "bad MAC");
		return;
	case API_AUTH_STALE:
		api_error(ctx, resp, 401, HTTP_STALE,
			  GN_API_HDR_TIME " outside the acceptance window");
		return;
	case API_AUTH_REPLAYED:
		api_error(ctx, resp, 409, HTTP_REPLAYED,
			  "replayed: a request of this kind with this " GN_API_HDR_ID
			  " and " GN_API_HDR_TIME " was accepted already; send a new time");
		return;
	case API_AUTH_FORGOTTEN:
		LOG_RATELIMITED(WARN, "replay cache full: a request refused for a time it could "
				      "no longer vouch for (raise --http-replay-cache)");
		api_error(ctx, resp, 409, HTTP_REPLAYED,
			  "cannot tell this from a replay (the server's replay cache is full); "
			  "send a new time");
		return;
	case API_AUTH_OK:
		break;
	}
}
