/*
 * POST /v1/register (docs/protocol.md §3): validate everything first, then
 * apply, so a rejected request changes nothing. A known guid keeps its id
 * and slot; it keeps its key only with proof of holding it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#define LOG_TAG "http"
#include "control/api.h"
#include "control/notify.h"
#include "control/status.h"
#include "control/text.h"
#include "glournet/hb_mac.h"
#include "glournet/log.h"
#include "glournet/log_ratelimit.h"
#include "glournet/text_safe.h"

struct register_body {
	const char *guid;
	const char *hostname;
	struct gn_addr ips[EP_MAX_IPS];
	unsigned nips;
	uint16_t notify_port;
};

/* Compares digests, not the strings: a comparison of the strings would
 * have to stop at the shorter one, and how long it took would tell the
 * token's length. The digests have one length whatever was sent, and
 * sodium_memcmp takes the same time wherever they differ. */
static bool token_ok(const char *expected, const char *authorization)
{
	static const char prefix[] = "Bearer ";
	if (!authorization || strncmp(authorization, prefix, sizeof(prefix) - 1) != 0)
		return false;
	const char *got = authorization + sizeof(prefix) - 1;
	unsigned char want[crypto_generichash_BYTES], have[crypto_generichash_BYTES];
	crypto_generichash(want, sizeof(want), (const unsigned char *)expected, strlen(expected),
			   NULL, 0);
	crypto_generichash(have, sizeof(have), (const unsigned char *)got, strlen(got), NULL, 0);
	return sodium_memcmp(want, have, sizeof(want)) == 0;
}

/* Fills `b`, or writes why not into `why` and the counter the refusal
 * goes under into *ctr. Strings in `b` point into `root`. */
static int parse_body(json_t *root, struct register_body *b, char *why, size_t why_len,
		      enum http_counter *ctr)
{
	memset(b, 0, sizeof(*b));
	*ctr = HTTP_BAD_FIELD;
	json_t *guid = json_object_get(root, "guid");
	const char *g = json_is_string(guid) ? json_string_value(guid) : ""; /* absent: as empty */
	size_t glen = json_is_string(guid) ? json_string_length(guid) : 0;
	const char *problem = text_guid_problem(g, glen);
	if (problem) {
		if (glen <= TEXT_GUID_MAX && text_unsafe_at(g, glen) != glen)
			*ctr = HTTP_UNSAFE_TEXT; /* issue 13: names that drive a terminal */
		snprintf(why, why_len, "guid: %s", problem);
		return -1;
	}
	b->guid = json_string_value(guid);
	json_t *host = json_object_get(root, "hostname");
	b->hostname = "";
	if (host) {
		const char *h = json_string_value(host);
		size_t hlen = json_string_length(host);
		if (json_is_string(host) && hlen <= EP_HOSTNAME_MAX &&
		    text_unsafe_at(h, hlen) != hlen) {
			*ctr = HTTP_UNSAFE_TEXT;
			snprintf(why, why_len, "hostname: %s", TEXT_UNSAFE_PHRASE);
			return -1;
		}
		if (!json_is_string(host) || hlen > EP_HOSTNAME_MAX || !text_printable(h, hlen)) {
			snprintf(why, why_len, "hostname: a string of 0..%d printable characters",
				 EP_HOSTNAME_MAX);
			return -1;
		}
		b->hostname = h;
	}
	json_t *ips = json_object_get(root, "ips");
	if (ips) {
		if (!json_is_array(ips) || json_array_size(ips) > EP_MAX_IPS) {
			snprintf(why, why_len, "ips: an array of at most %d addresses", EP_MAX_IPS);
			return -1;
		}
		size_t i;
		json_t *ip;
		json_array_foreach(ips, i, ip)
		{
			if (!json_is_string(ip) ||
			    text_parse_addr(json_string_value(ip), json_string_length(ip),
					    &b->ips[b->nips]) < 0) {
				snprintf(why, why_len, "ips[%zu]: not an IPv4 or IPv6 address", i);
				return -1;
			}
			b->nips++;
		}
	}
	json_t *reason = json_object_get(root, "reason");
	if (reason) {
		const char *r = json_string_value(reason);
		if (!r || (strcmp(r, "install") && strcmp(r, "restart") && strcmp(r, "reload"))) {
			snprintf(why, why_len, "reason: one of install, restart, reload");
			return -1;
		}
	}
	json_t *port = json_object_get(root, "notify_port");
	if (port) {
		json_int_t p = json_integer_value(port);
		if (!json_is_integer(port) || p < 0 || p > 65535) {
			snprintf(why, why_len, "notify_port: an integer from 0 to 65535");
			return -1;
		}
		b->notify_port = (uint16_t)p;
	}
	return 0;
}

/* Keeping the key needs proof of holding it (docs/protocol.md §3). */
static bool proves_key(const struct api_ctx *ctx, const struct api_request *req,
		       const struct endpoint *ep)
{
	static const struct api_proof proof = {.context = HB_AUTH_REGISTER,
					       .kind = API_KIND_REGISTER};
	struct endpoint *who = NULL;
	return api_authenticate(ctx, req, &proof, &who) == API_AUTH_OK && who == ep;
}

/* Without proof, a known guid gets a new key only from an endpoint that
 * has had no valid contact for register.replace_after (0: always); the
 * enrollment token and a guid are not enough to take over a live one
 * (docs/protocol.md §3, docs/status.md). */
static bool replaceable(const struct api_ctx *ctx, const struct endpoint *ep)
{
	uint32_t after = (*ctx->policy)->replace_after;
	uint32_t last = registry_last_contact(ctx->reg, ep);
	return after == 0 || last == 0 || (uint64_t)last + after <= ctx->now;
}

static void refuse_takeover(const struct api_ctx *ctx, const struct api_request *req,
			    struct api_response *resp, const struct endpoint *ep)
{
	char src[64], guid[GN_TEXT_ESCAPE_SIZE(TEXT_GUID_MAX)];
	text_sockaddr(req->peer, src, sizeof(src));
	/* An old store may hold a guid from before the rule that would drive
	 * the terminal reading the log. */
	size_t glen = strlen(ep_guid(ep));
	gn_text_escape(ep_guid(ep), glen < TEXT_GUID_MAX ? glen : TEXT_GUID_MAX, guid);
	LOG_RATELIMITED(WARN,
			"registration of known guid '%s' (id %016llx) without proof of its key "
			"refused from %s: it had contact %u s ago (register.replace_after %u s)",
			guid, (unsigned long long)ep->id, src,
			ctx->now - registry_last_contact(ctx->reg, ep),
			(*ctx->policy)->replace_after);
	api_error(ctx, resp, 409, HTTP_REGISTER_CONFLICT,
		  "guid registered to an endpoint that is alive: prove its key (X-Glournet-Id, "
		  "-Time, -Mac over GLRGST) or wait until it has had no contact for "
		  "register.replace_after");
}

static int apply_body(struct registry *r, struct endpoint *ep, const struct register_body *b)
{
	return registry_set_details(r, ep, b->hostname, b->ips, b->nips, b->notify_port);
}

static char *answer(const struct api_ctx *ctx, const struct endpoint *ep)
{
	const struct policy *pol = *ctx->policy;
	char id[17], key[HB_KEY_LEN * 2 + 1];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	sodium_bin2hex(key, sizeof(key), registry_key(ctx->reg, ep), HB_KEY_LEN);
	uint32_t hash; /* a register answer has no ETag */
	json_t *addrs = api_hb_addrs_json(ctx, &hash);
	(void)hash;
	/* R2: whether heartbeat applies to this endpoint; polling applies to
	 * unreachable endpoints. */
	json_t *o = json_pack(
		"{s:s, s:I, s:s, s:I, s:b, s:{s:b, s:I, s:I, s:o}, s:{s:b, s:I}, s:I}", "id", id,
		"slot", (json_int_t)ep->slot, "key", key, "server_time",
		(json_int_t)api_wire_now(ctx), "unreachable", ep->unreachable, "heartbeat",
		"enabled", policy_hb_applies(pol, ep->unreachable), "interval",
		(json_int_t)pol->hb_interval, "port", (json_int_t)ctx->opt->udp_port, "addrs",
		addrs, "poll", "enabled", ep->unreachable, "interval",
		(json_int_t)pol->poll_interval, "settings_rev", (json_int_t)pol->rev);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

void api_register(const struct api_ctx *ctx, const struct api_request *req,
		  struct api_response *resp)
{
	if (!token_ok(ctx->opt->token, req->authorization)) {
		api_error(ctx, resp, 401, HTTP_UNAUTHORIZED, "bad or missing enrollment token");
		return;
	}
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "malformed JSON body: %s",
			 root ? "not an object" : jerr.text);
		api_error(ctx, resp, 400, HTTP_MALFORMED, msg);
		json_decref(root);
		return;
	}
	struct register_body b;
	char why[200];
	enum http_counter refused;
	if (parse_body(root, &b, why, sizeof(why), &refused) < 0) {
		api_error(ctx, resp, 400, refused, why);
		json_decref(root);
		return;
	}
	/* The store cannot take it (PostgreSQL down): no key handed out, no
	 * endpoint made or re-keyed that no commit would keep. */
	if (ctx->store_unreachable && ctx->store_unreachable(ctx->persist_ctx)) {
		api_error(ctx, resp, 503, HTTP_INTERNAL,
			  "the store is unreachable; registrations resume once it is back, retry");
		resp->retry_after = API_STORE_RETRY_AFTER_S;
		json_decref(root);
		return;
	}
	struct endpoint *ep = registry_by_guid(ctx->reg, b.guid);
	if (ep) {
		bool keep = proves_key(ctx, req, ep);
		if (!keep && !replaceable(ctx, ep)) {
			refuse_takeover(ctx, req, resp, ep);
			json_decref(root);
			return;
		}
		if (!keep)
			registry_rekey(ctx->reg, ep);
		ctx->counters->by_result[keep ? HTTP_REGISTER_KNOWN : HTTP_REGISTER_REKEY]++;
		resp->status = 200;
	} else {
		int rc = registry_add(ctx->reg, b.guid, ctx->now, &ep);
		if (rc < 0) {
			LOG_RATELIMITED(WARN, "registration of '%s' refused: %s", b.guid,
					strerror(-rc));
			api_error(ctx, resp, 503, rc == -ENOSPC ? HTTP_FULL : HTTP_INTERNAL,
				  rc == -ENOSPC ? "collector full" : "out of memory");
			json_decref(root);
			return;
		}
		ctx->counters->by_result[HTTP_REGISTER_NEW]++;
		resp->status = 201;
	}
	if (apply_body(ctx->reg, ep, &b) < 0) {
		api_error(ctx, resp, 503, HTTP_INTERNAL, "out of memory");
		json_decref(root);
		return;
	}
	status_on_register(ctx->reg, *ctx->policy, ep, ctx->now); /* R1, R4 */
	/* The notify address to begin with: its source address (R11). */
	notify_on_contact(ctx->notify, ctx->reg, ep, req->peer, NOTIFY_CONTACT_REGISTER, ctx->now);
	/* The answer hands out the key: only once the store has it. */
	if (!api_persist(ctx, resp, ep)) {
		json_decref(root);
		return;
	}
	resp->body = answer(ctx, ep);
	json_decref(root);
}
