/*
 * GET /v1/poll and POST /v1/event (docs/protocol.md §3), and their version
 * 2 (/v2/poll, /v2/event, issue 13) whose MAC covers what they carry. A
 * poll is contact (R3) and may carry the endpoint's new addresses (R1): a
 * version 2 poll only, since a version 1 MAC does not cover them and a
 * captured poll could be replayed with other addresses (the header is then
 * ignored and counted). An event is contact for regular endpoints only
 * (R5). Either version is refused the second time (the replay cache).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "control/api.h"
#include "control/hb_addrs.h"
#include "control/notify.h"
#include "control/status.h"
#include "glournet/http_api.h"

/* R1 at poll: new own addresses, a new classification. */
static int update_ips(const struct api_ctx *ctx, struct endpoint *ep, const char *hdr)
{
	struct gn_addr ips[EP_MAX_IPS];
	unsigned n;
	if (text_parse_ips(hdr, ips, EP_MAX_IPS, &n) < 0 || n == 0)
		return -1; /* an empty list is a broken agent, not "no addresses" */
	if (registry_set_ips(ctx->reg, ep, ips, n) < 0)
		return -1;
	int32_t range;
	bool unreachable = status_classify(*ctx->policy, ep, &range);
	registry_set_range(ctx->reg, ep, range);
	registry_set_state(ctx->reg, ep, unreachable, ep->up, EP_REASON_RECLASSIFIED, ctx->now);
	return 0;
}

/* `head` (a compact JSON object) with the snapshot's endpoint settings and
 * components appended, as rendered once when the policy was committed:
 * {..., "settings": {...}, "components": [...]}. NULL when out of memory. */
static char *with_manifest(const char *head, const struct manifest *m)
{
	static const char s_key[] = ",\"settings\":", c_key[] = ",\"components\":";
	const char *st = m->settings_json ? m->settings_json : "{}";
	const char *ct = m->components_json ? m->components_json : "[]";
	size_t hl = strlen(head), sl = strlen(st), cl = strlen(ct);
	if (hl < 2 || head[hl - 1] != '}')
		return NULL;
	char *body = malloc(hl - 1 + sizeof(s_key) - 1 + sl + sizeof(c_key) - 1 + cl + 2);
	if (!body)
		return NULL;
	char *p = body;
	memcpy(p, head, hl - 1); /* all but the closing brace */
	p += hl - 1;
	memcpy(p, s_key, sizeof(s_key) - 1);
	p += sizeof(s_key) - 1;
	memcpy(p, st, sl);
	p += sl;
	memcpy(p, c_key, sizeof(c_key) - 1);
	p += sizeof(c_key) - 1;
	memcpy(p, ct, cl);
	p += cl;
	memcpy(p, "}", 2);
	return body;
}

/* The 200 body: the time, the revision, the endpoint's network and what
 * the policy says for it, then the manifest. NULL when out of memory. */
static char *render_body(const struct api_ctx *ctx, const struct policy *pol, bool unreachable,
			 uint32_t server_time)
{
	uint32_t hash;
	json_t *addrs = api_hb_addrs_json(ctx, &hash);
	json_t *o = json_pack("{s:I, s:I, s:b, s:{s:b, s:I, s:I, s:o}, s:{s:b, s:I}}",
			      "server_time", (json_int_t)server_time, "settings_rev",
			      (json_int_t)pol->rev, "unreachable", unreachable, "heartbeat",
			      "enabled", policy_hb_applies(pol, unreachable), "interval",
			      (json_int_t)pol->hb_interval, "port", (json_int_t)ctx->opt->udp_port,
			      "addrs", addrs, "poll", "enabled", unreachable, "interval",
			      (json_int_t)pol->poll_interval);
	char *head = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	char *body = head ? with_manifest(head, &pol->manifest) : NULL;
	free(head);
	return body;
}

#define TIME_KEY "{\"server_time\":"

void api_poll_cache_free(struct api_poll_cache *c)
{
	for (int i = 0; i < 2; i++) {
		free(c->net[i].tail);
		c->net[i].tail = NULL;
		c->net[i].rev = 0;
	}
}

/* The body at the wire's time now: from the cache (rendered again when the
 * revision changed), or rendered whole without one. Issue 15 item 4: the
 * same bytes as render_body, for a memcpy instead of a JSON build. */
static char *poll_body(const struct api_ctx *ctx, const struct policy *pol, bool unreachable)
{
	uint32_t now = api_wire_now(ctx);
	struct api_poll_cache *c = ctx->poll_cache;
	if (!c)
		return render_body(ctx, pol, unreachable, now);
	struct api_poll_body *n = &c->net[unreachable];
	uint32_t addrs_hash = ctx->hb_addrs ? ctx->hb_addrs->hash : 0;
	if (n->rev != pol->rev || n->addrs_hash != addrs_hash || !n->tail) {
		char *whole = render_body(ctx, pol, unreachable, 0);
		if (!whole || strncmp(whole, TIME_KEY "0", sizeof(TIME_KEY)) != 0) {
			free(whole);
			return NULL;
		}
		free(n->tail);
		n->tail_len = strlen(whole) - sizeof(TIME_KEY);
		n->tail = malloc(n->tail_len + 1);
		if (!n->tail) {
			free(whole);
			n->rev = 0;
			return NULL;
		}
		memcpy(n->tail, whole + sizeof(TIME_KEY), n->tail_len + 1);
		free(whole);
		n->rev = pol->rev;
		n->addrs_hash = addrs_hash;
	}
	char head[sizeof(TIME_KEY) + 10];
	int hl = snprintf(head, sizeof(head), TIME_KEY "%u", now);
	char *body = malloc((size_t)hl + n->tail_len + 1);
	if (!body)
		return NULL;
	memcpy(body, head, (size_t)hl);
	memcpy(body + hl, n->tail, n->tail_len + 1);
	return body;
}

static void do_poll(const struct api_ctx *ctx, const struct api_request *req,
		    struct api_response *resp, bool v2)
{
	struct endpoint *ep;
	struct api_proof proof = {.context = HB_AUTH_POLL, .kind = API_KIND_POLL};
	if (v2) {
		proof.context = HB_AUTH_POLL_V2;
		proof.content = req->hdr_ips ? req->hdr_ips : "";
		proof.content_len = req->hdr_ips ? strlen(req->hdr_ips) : 0;
	}
	enum api_auth a = api_authenticate(ctx, req, &proof, &ep);
	if (a != API_AUTH_OK) {
		api_auth_error(ctx, resp, a);
		return;
	}
	bool ignored = req->hdr_ips && !v2; /* not covered by a version 1 MAC */
	if (req->hdr_ips && v2 && update_ips(ctx, ep, req->hdr_ips) < 0) {
		api_error(ctx, resp, 400, HTTP_BAD_FIELD,
			  GN_API_HDR_IPS ": comma-separated IPv4/IPv6 addresses, at most 16");
		return;
	}
	status_on_poll(ctx->reg, ep, ctx->now); /* R3: 200 and 304 both count */
	/* Its source address is where notifies go; a poll fetches whatever a
	 * pending SETTINGS or COMPONENTS notify would have told (R11). */
	notify_on_contact(ctx->notify, ctx->reg, ep, req->peer, NOTIFY_CONTACT_POLL, ctx->now);
	const struct policy *pol = *ctx->policy;
	/* Several collectors: the heartbeat addresses' hash too, so a
	 * collector joining or gone changes the answer (hb_addrs.h). */
	if (ctx->hb_addrs)
		snprintf(resp->etag, sizeof(resp->etag), "\"r%llu-%c-a%08x\"",
			 (unsigned long long)pol->rev, ep->unreachable ? 'u' : 'r',
			 ctx->hb_addrs->hash);
	else
		snprintf(resp->etag, sizeof(resp->etag), "\"r%llu-%c\"",
			 (unsigned long long)pol->rev, ep->unreachable ? 'u' : 'r');
	if (req->if_none_match && !strcmp(req->if_none_match, resp->etag)) {
		resp->status = 304;
		ctx->counters
			->by_result[ignored ? HTTP_POLL_IPS_IGNORED : HTTP_POLL_NOT_MODIFIED]++;
		return;
	}
	resp->body = poll_body(ctx, pol, ep->unreachable);
	if (!resp->body) {
		resp->etag[0] = '\0';
		api_error(ctx, resp, 500, HTTP_INTERNAL, "out of memory");
		return;
	}
	resp->status = 200;
	ctx->counters->by_result[ignored ? HTTP_POLL_IPS_IGNORED : HTTP_POLL]++;
}

void api_poll(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	do_poll(ctx, req, resp, false);
}

void api_poll_v2(const struct api_ctx *ctx, const struct api_request *req,
		 struct api_response *resp)
{
	do_poll(ctx, req, resp, true);
}

static void do_event(const struct api_ctx *ctx, const struct api_request *req,
		     struct api_response *resp, bool v2)
{
	struct endpoint *ep;
	struct api_proof proof = {.context = HB_AUTH_EVENT, .kind = API_KIND_EVENT};
	if (v2) {
		proof.context = HB_AUTH_EVENT_V2;
		proof.content = req->body ? req->body : "";
		proof.content_len = req->body ? req->body_len : 0;
	}
	enum api_auth a = api_authenticate(ctx, req, &proof, &ep);
	if (a != API_AUTH_OK) {
		api_auth_error(ctx, resp, a);
		return;
	}
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *type = json_string_value(json_object_get(root, "type"));
	if (!type || (strcmp(type, "manual-update") && strcmp(type, "log-upload"))) {
		api_error(ctx, resp, 400, root ? HTTP_BAD_FIELD : HTTP_MALFORMED,
			  "body: {\"type\": \"manual-update\" | \"log-upload\"}");
		json_decref(root);
		return;
	}
	bool contact = status_on_event(ctx->reg, ep, ctx->now); /* R5 */
	/* "Recorded" means stored: answer once the store has it. */
	if (!api_persist(ctx, resp, ep)) {
		json_decref(root);
		return;
	}
	json_t *o = json_pack("{s:b, s:b, s:s}", "recorded", 1, "contact", contact, "status",
			      ep_status_name(ep->status));
	resp->status = 200;
	resp->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	json_decref(root);
	ctx->counters->by_result[HTTP_EVENT]++;
}

void api_event(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	do_event(ctx, req, resp, false);
}

void api_event_v2(const struct api_ctx *ctx, const struct api_request *req,
		  struct api_response *resp)
{
	do_event(ctx, req, resp, true);
}
