/*
 * What every handler (registration, poll, event, authentication) and the
 * server glue answer with: the error answer, the answer that waits for the
 * store, and the names of the counters. In one room below all of them, so
 * none has to reach into another handler's file for it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <jansson.h>

#include "control/api.h"
#include "control/hb_addrs.h"

void api_error(const struct api_ctx *ctx, struct api_response *resp, unsigned status,
	       enum http_counter counter, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	/* A message quoting the client's bytes may not be valid UTF-8 (found by
	 * fuzzing: jansson's parse errors quote the input): say less, but say it. */
	if (!o)
		o = json_pack("{s:s}", "error", "malformed request (not valid UTF-8)");
	resp->status = status;
	resp->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ctx->counters->by_result[counter]++;
}

bool api_persist(const struct api_ctx *ctx, struct api_response *resp, const struct endpoint *ep)
{
	if (!ctx->persist)
		return true;
	resp->durable_ticket = ctx->persist(ctx->persist_ctx, ep);
	if (resp->durable_ticket)
		return true;
	api_error(ctx, resp, 503, HTTP_INTERNAL, "store busy, retry");
	return false;
}

#define HTTP_COUNTER_NAME(name, str) str,
static const char *const counter_names[HTTP_COUNTER_COUNT] = {HTTP_COUNTERS(HTTP_COUNTER_NAME)};
#undef HTTP_COUNTER_NAME

const char *http_counter_name(enum http_counter c)
{
	return (unsigned)c < HTTP_COUNTER_COUNT ? counter_names[c] : "unknown";
}

json_t *api_hb_addrs_json(const struct api_ctx *ctx, uint32_t *hash)
{
	json_t *addrs = json_array();
	const struct hb_addrs *l = ctx->hb_addrs;
	*hash = l ? l->hash : 0;
	for (unsigned i = 0; addrs && l && i < l->n; i++)
		json_array_append_new(addrs, json_string(l->addr[i]));
	for (unsigned i = 0; addrs && !l && i < ctx->opt->n_hb_addrs; i++)
		json_array_append_new(addrs, json_string(ctx->opt->hb_addrs[i]));
	return addrs;
}
