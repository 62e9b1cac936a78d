/*
 * The endpoint API (PROTOCOL.md §3) as plain functions of a request,
 * independent of the HTTP library: the server glue hands them the body and
 * the headers, and sends back what they answer. Tests and fuzzers call
 * them directly.
 */
#ifndef GLOURNET_API_H
#define GLOURNET_API_H

#include <stddef.h>
#include <stdint.h>

#include "control/http_counters.h"
#include "control/options.h"
#include "control/registry.h"

#define API_MAX_BODY 16384

struct api_ctx {
	struct registry *reg;
	const struct gn_options *opt;
	struct http_counters *counters;
	uint32_t now;
};

struct api_request {
	const char *body;
	size_t body_len;
	const char *authorization;   /* NULL when absent */
	const char *hdr_id;          /* X-Glournet-Id */
	const char *hdr_time;        /* X-Glournet-Time */
	const char *hdr_mac;         /* X-Glournet-Mac */
};

struct api_response {
	unsigned status;
	char *body;                  /* malloc'd JSON, the caller frees */
};

void api_register(const struct api_ctx *ctx, const struct api_request *req,
		  struct api_response *resp);

/* {"error": msg} with `status`, counted under `counter`. */
void api_error(const struct api_ctx *ctx, struct api_response *resp, unsigned status,
	       enum http_counter counter, const char *msg);

#endif
