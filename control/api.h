/*
 * The endpoint API (docs/protocol.md §3) as plain functions of a request,
 * independent of the HTTP library: the server glue hands them the body and
 * the headers, and sends back what they answer. Tests and fuzzers call
 * them directly.
 */
#ifndef GLOURNET_API_H
#define GLOURNET_API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "control/http_counters.h"
#include "control/options.h"
#include "control/policy.h"
#include "control/registry.h"


struct hb_addrs;
struct notify_engine;
struct replay_cache;
struct sockaddr;

/* A poll's 200 body but for its leading server_time, rendered once per
 * policy revision and network (api_poll.c: what a poll costs is mostly
 * building that JSON, the same for every endpoint of a revision but for
 * the time). [0] regular endpoints, [1] unreachable ones. */
struct api_poll_body {
	uint64_t rev;        /* of the policy it was rendered for */
	uint32_t addrs_hash; /* of the heartbeat addresses it lists (hb_addrs.h) */
	char *tail;          /* the body after `{"server_time":N`; NULL: none yet */
	size_t tail_len;
};
struct api_poll_cache {
	struct api_poll_body net[2];
};
void api_poll_cache_free(struct api_poll_cache *c);

struct api_ctx {
	struct registry *reg;
	const struct gn_options *opt;
	struct http_counters *counters;
	struct policy *const *policy; /* the daemon's current snapshot */
	/* Makes a registration durable: the ticket to wait for, 0 when the store
	 * refused. NULL: no store (tests). */
	uint64_t (*persist)(void *persist_ctx, const struct endpoint *ep);
	/* True while the store's server is out of reach (store_unreachable):
	 * a new registration is refused before it changes anything. NULL: never. */
	bool (*store_unreachable)(void *persist_ctx);
	void *persist_ctx;
	/* Where the source addresses of polls and registrations go, and what
	 * a notify waiting for the endpoint's next contact needs to hear;
	 * NULL (tests): the address is still recorded. */
	struct notify_engine *notify;
	/* Authenticated requests already accepted (issue 13 item 5): a second
	 * with the same kind, id and time is refused. NULL (tests): no check. */
	struct replay_cache *replay;
	/* heartbeat.addrs with several collectors (hb_addrs.h): every live
	 * collector's, this one's first; its hash joins the poll's ETag. NULL:
	 * the --heartbeat addresses, and the ETag as one collector has it. */
	const struct hb_addrs *hb_addrs;
	/* Rendered 200 bodies (above). NULL: each poll renders its own. */
	struct api_poll_cache *poll_cache;
	uint32_t now;      /* steady (clock_step.h): what contact times are on */
	uint32_t wire_now; /* real: the requests' times, server_time; 0: now (tests) */
};

/* The real clock, as the wire has it. */
static inline uint32_t api_wire_now(const struct api_ctx *ctx)
{
	return ctx->wire_now ? ctx->wire_now : ctx->now;
}

struct api_request {
	const char *body;
	size_t body_len;
	const char *authorization;   /* NULL when absent */
	const char *hdr_id;          /* X-Glournet-Id */
	const char *hdr_time;        /* X-Glournet-Time */
	const char *hdr_mac;         /* X-Glournet-Mac */
	const char *hdr_ips;         /* X-Glournet-Ips (poll) */
	const char *if_none_match;   /* poll */
	const struct sockaddr *peer; /* the client's address; NULL: unknown */
};

struct api_response {
	unsigned status;
	char *body;              /* malloc'd JSON, the caller frees; NULL for 304 */
	char etag[48];           /* "" for none */
	uint64_t durable_ticket; /* 0: answer now; else once the store committed it */
	uint32_t retry_after;    /* s, a Retry-After header; 0: none */
};

/* A registration refused for a store out of reach: retry after this long
 * (the store reconnects with a backoff of up to 8 s). */
#define API_STORE_RETRY_AFTER_S 5

enum api_auth {
	API_AUTH_OK,
	API_AUTH_MALFORMED,
	API_AUTH_UNKNOWN,
	API_AUTH_STALE,
	API_AUTH_BAD_MAC,
	API_AUTH_REPLAYED,  /* the same kind, id and time accepted before */
	API_AUTH_FORGOTTEN, /* the replay cache cannot tell: refused as one */
};

/* The requests whose (id, time) the replay cache keeps apart. */
enum api_kind { API_KIND_REGISTER, API_KIND_POLL, API_KIND_EVENT };

/* What a request's MAC covers (docs/protocol.md §3): `context` (GLRGST,
 * GLPOLL, GLEVNT; version 2: GLPOL2, GLEVN2), id and time, and for
 * version 2 `content` after them (content_len bytes; NULL: version 1). */
struct api_proof {
	const char *context;
	enum api_kind kind;
	const void *content;
	size_t content_len;
};

/* The three X-Glournet headers of docs/protocol.md §3 checked against
 * `proof`, then the replay cache. *ep is set when the id is known. */
enum api_auth api_authenticate(const struct api_ctx *ctx, const struct api_request *req,
			       const struct api_proof *proof, struct endpoint **ep);

/* Answers an authentication failure with its status, error and counter. */
void api_auth_error(const struct api_ctx *ctx, struct api_response *resp, enum api_auth a);

/* Version 1 (/v1/poll, /v1/event) and version 2 (/v2/poll, /v2/event). */
void api_poll(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);
void api_event(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);
void api_poll_v2(const struct api_ctx *ctx, const struct api_request *req,
		 struct api_response *resp);
void api_event_v2(const struct api_ctx *ctx, const struct api_request *req,
		  struct api_response *resp);

void api_register(const struct api_ctx *ctx, const struct api_request *req,
		  struct api_response *resp);

/* {"error": msg} with `status`, counted under `counter` (api_answer.c: every
 * handler and the server glue answer their refusals through it). */
/* heartbeat.addrs as this collector answers it (ctx->hb_addrs, or the
 * --heartbeat addresses); *hash: 0 for the latter. NULL on allocation failure. */
json_t *api_hb_addrs_json(const struct api_ctx *ctx, uint32_t *hash);

void api_error(const struct api_ctx *ctx, struct api_response *resp, unsigned status,
	       enum http_counter counter, const char *msg);

/* An answer that must be durable (a registration hands out a key, an event
 * is "recorded"): queues the endpoint to the store and makes the answer
 * wait for its commit. False when the store refused it: the answer is then
 * 503 "store busy, retry" and the caller stops. True without a store. */
bool api_persist(const struct api_ctx *ctx, struct api_response *resp, const struct endpoint *ep);

#endif
