/*
 * The notify engine as the control socket shows it: `show notify` (the
 * running and last campaigns, with their progress), `notify cancel`, an
 * endpoint's notify fields for `show client`, the counters for `show
 * stats`. Read-only but for the cancel.
 */
#include <arpa/inet.h>
#include <stdio.h>

#define LOG_TAG "ctl"
#include "control/ctl_commands.h"
#include "control/notify_ctl.h"
#include "control/notify_round.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

static const char *const counter_names[] = {
#define NOTIFY_COUNTER_NAME(name, str) str,
	NOTIFY_COUNTERS(NOTIFY_COUNTER_NAME)
#undef NOTIFY_COUNTER_NAME
};

const char *notify_counter_name(enum notify_counter c)
{
	return (unsigned)c < NOTIFY_COUNTER_COUNT ? counter_names[c] : "unknown";
}

json_t *notify_flags_json(uint16_t flags)
{
	json_t *a = json_array();
	if (flags & HB_FLAG_SETTINGS)
		json_array_append_new(a, json_string("settings"));
	if (flags & HB_FLAG_COMPONENTS)
		json_array_append_new(a, json_string("components"));
	if (flags & HB_FLAG_VERIFY)
		json_array_append_new(a, json_string("verify"));
	return a;
}

static const char *state_name(uint8_t state)
{
	static const char *const names[] = {"never", "running", "done", "superseded", "cancelled"};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

json_t *notify_campaign_json(const struct notify_campaign *c, const struct registry *r)
{
	(void)r;
	double secs = c->last_ns > c->first_ns ? (double)(c->last_ns - c->first_ns) / 1e9 : 0;
	uint64_t notifies = c->sent + c->resent;
	json_t *o = json_pack(
		"{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:f, s:I, s:I}",
		"id", (json_int_t)c->seq, "kind", c->kind == NOTIFY_CHANGE ? "change" : "verify",
		"state", state_name(c->state), "trigger", c->trigger, "flags",
		notify_flags_json(c->flags), "settings_rev", (json_int_t)c->settings_rev,
		"targeted", (json_int_t)c->targeted, "deferred", (json_int_t)c->deferred, "sent",
		(json_int_t)c->sent, "resent", (json_int_t)c->resent, "acked", (json_int_t)c->acked,
		"polled", (json_int_t)c->polled, "gave_up", (json_int_t)c->gave_up, "dropped",
		(json_int_t)c->dropped, "pending", (json_int_t)c->inflight, "notifies",
		(json_int_t)notifies, "rate",
		secs > 0 ? (double)(notifies > 1 ? notifies - 1 : 0) / secs : 0.0, "started",
		(json_int_t)c->started, "finished", (json_int_t)c->finished);
	uint32_t walked = c->walking ? c->cursor : c->slots;
	double percent = c->walking && c->slots ? 100.0 * (double)walked / c->slots : 100.0;
	json_object_set_new(o, "progress",
			    json_pack("{s:I, s:I, s:f, s:b}", "walked", (json_int_t)walked, "slots",
				      (json_int_t)c->slots, "percent", percent, "walking",
				      c->walking));
	return o;
}

json_t *cmd_show_notify(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	const struct notify_engine *e = &d->notify;
	const struct policy *p = d->policy;
	json_t *running = json_array(), *last = json_array();
	for (int k = 0; k < NOTIFY_KINDS; k++)
		if (e->cur[k].seq && e->cur[k].state == NOTIFY_RUNNING)
			json_array_append_new(running, notify_campaign_json(&e->cur[k], &d->reg));
	/* The ended ones, newest first. */
	uint32_t n = e->nhist < NOTIFY_HISTORY ? e->nhist : NOTIFY_HISTORY;
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(
			last, notify_campaign_json(&e->hist[(e->nhist - 1 - i) % NOTIFY_HISTORY],
						   &d->reg));
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}, s:o, s:o}", "enabled",
			 p->notify_enabled, "rate", (json_int_t)p->notify_rate, "retries",
			 (json_int_t)p->notify_retries, "retry_after",
			 (json_int_t)p->notify_retry_after, "verify_interval",
			 (json_int_t)p->verify_interval, "next_verify", (json_int_t)e->verify_next,
			 "settings_rev", (json_int_t)p->rev, "queued", "to_send",
			 (json_int_t)e->soon.len, "awaiting_ack", (json_int_t)e->retry.len,
			 "running", running, "last", last);
}

json_t *cmd_notify_cancel(struct gn_daemon *d, int argc, const char **argv, char *err,
			  size_t errlen)
{
	(void)argc;
	(void)argv;
	uint32_t queued = d->notify.soon.len + d->notify.retry.len;
	unsigned n = notify_cancel(&d->notify, gn_coarse_steady());
	if (!n && !queued) {
		snprintf(err, errlen,
			 "notify cancel: no campaign is running and nothing is queued");
		return NULL;
	}
	LOG(INFO, "notify cancelled by operator: %u campaign(s), %u queued", n, queued);
	return json_pack("{s:I, s:I}", "cancelled", (json_int_t)n, "queued", (json_int_t)queued);
}

json_t *notify_client_json(const struct gn_daemon *d, const struct endpoint *ep)
{
	(void)d;
	const struct ep_notify *n = &ep->notify;
	struct gn_addr src;
	char addr[GN_ADDR_TEXT_MAX] = "";
	if (ep_source(ep, &src))
		gn_addr_format(&src, -1, addr, sizeof(addr));
	const char *state = !n->pending                    ? "idle"
			    : n->state & EP_NOTIFY_WAITING ? "waiting for contact"
			    : n->state & EP_NOTIFY_TRIES   ? "awaiting ack"
							   : "to send";
	return json_pack(
		"{s:s, s:I, s:b, s:o, s:s, s:I, s:I, s:I, s:b}", "source", addr, "notify_port",
		(json_int_t)ep_notify_port(ep), "notifiable", ep_notifiable(ep) && !ep->unreachable,
		"pending", notify_flags_json(n->pending), "state", state, "tries",
		(json_int_t)(n->state & EP_NOTIFY_TRIES), "last_notify", (json_int_t)n->sent_at,
		"last_ack", (json_int_t)(ep->details ? ep->details->last_ack : 0), "no_ack",
		(n->state & EP_NOTIFY_NO_ACK) != 0);
}

json_t *notify_stats_json(const struct gn_daemon *d)
{
	const struct notify_engine *e = &d->notify;
	json_t *o = json_object();
	for (int i = 0; i < NOTIFY_COUNTER_COUNT; i++)
		json_object_set_new(o, notify_counter_name(i), json_integer((json_int_t)e->ctr[i]));
	json_object_set_new(o, "queued_to_send", json_integer(e->soon.len));
	json_object_set_new(o, "queued_awaiting_ack", json_integer(e->retry.len));
	json_object_set_new(o, "pending_endpoints", json_integer(d->reg.notify_pending));
	/* As the metrics have them (glournet_notify_*): per kind. */
	json_t *kinds = json_object();
	for (int k = 0; k < NOTIFY_KINDS; k++) {
		const uint64_t *c = e->by_kind[k];
		json_object_set_new(kinds, k == NOTIFY_CHANGE ? "change" : "verify",
				    json_pack("{s:I, s:b, s:I, s:I, s:I, s:I}", "campaigns",
					      (json_int_t)c[NOTIFY_K_CAMPAIGNS], "running",
					      e->cur[k].state == NOTIFY_RUNNING, "sent",
					      (json_int_t)c[NOTIFY_K_SENT], "resent",
					      (json_int_t)c[NOTIFY_K_RESENT], "acked",
					      (json_int_t)c[NOTIFY_K_ACKED], "gave_up",
					      (json_int_t)c[NOTIFY_K_GAVE_UP]));
	}
	json_object_set_new(o, "by_kind", kinds);
	return o;
}
