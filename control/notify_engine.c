/*
 * Campaigns (notify.h): what starts one, the walk that gives every
 * endpoint it targets a round, the loop job that paces it all, and how a
 * campaign ends (done, superseded by a newer one of its kind, cancelled).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "notify"
#include "control/mono_clock.h"
#include "control/notify_round.h"
#include "control/settings_table.h"
#include "glournet/log.h"

/* The walk and the queues look at the clock once per this many items. */
#define CHECK_EVERY 64

static const char *const kind_names[NOTIFY_KINDS] = {"change", "verify"};

int notify_init(struct notify_engine *e, struct registry *reg, struct policy *const *policy,
		const struct tx_handle *tx, uint32_t now)
{
	memset(e, 0, sizeof(*e));
	e->reg = reg;
	e->policy = policy;
	e->tx = tx;
	e->clock_ns = gn_mono_ns;
	e->refilled_ns = e->clock_ns();
	e->credit = 1000000000ull; /* one notify at once */
	e->verify_interval = (*policy)->verify_interval;
	e->verify_next = e->verify_interval ? now + e->verify_interval : 0;
	return 0;
}

void notify_free(struct notify_engine *e)
{
	notify_queue_free(&e->soon);
	notify_queue_free(&e->retry);
}

/* The campaign of `kind` ends as `how`: kept as the last one of its kind
 * and in the history. What it still counted in flight then (endpoints
 * removed meanwhile) is dropped. */
static void end_campaign(struct notify_engine *e, enum notify_kind kind, enum notify_state how,
			 uint32_t now)
{
	struct notify_campaign *c = &e->cur[kind];
	if (c->state != NOTIFY_RUNNING)
		return;
	c->state = (uint8_t)how;
	c->walking = false;
	c->finished = now;
	if (how == NOTIFY_DONE) {
		c->dropped += c->inflight;
		c->inflight = 0;
	}
	e->hist[e->nhist++ % NOTIFY_HISTORY] = *c;
	LOG(INFO, "%s campaign #%u (%s) %s: %u targeted, %u acked, %u gave up, %llu sent",
	    kind_names[kind], c->seq, c->trigger,
	    how == NOTIFY_DONE         ? "done"
	    : how == NOTIFY_SUPERSEDED ? "superseded"
				       : "cancelled",
	    c->targeted, c->acked, c->gave_up, (unsigned long long)(c->sent + c->resent));
}

static void begin_campaign(struct notify_engine *e, enum notify_kind kind, uint16_t flags,
			   const char *trigger, uint32_t now)
{
	end_campaign(e, kind, NOTIFY_SUPERSEDED, now);
	struct notify_campaign *c = &e->cur[kind];
	*c = (struct notify_campaign){.seq = ++e->next_seq,
				      .kind = (uint8_t)kind,
				      .state = NOTIFY_RUNNING,
				      .flags = flags,
				      .settings_rev = (*e->policy)->rev,
				      .started = now,
				      .slots = e->reg->nslots,
				      .walking = true};
	snprintf(c->trigger, sizeof(c->trigger), "%s", trigger);
	e->by_kind[kind][NOTIFY_K_CAMPAIGNS]++;
	LOG(INFO, "%s campaign #%u (%s, settings_rev %llu) over %u slots", kind_names[kind], c->seq,
	    trigger, (unsigned long long)c->settings_rev, c->slots);
}

bool notify_start_change(struct notify_engine *e, uint16_t flags, const char *trigger, uint32_t now)
{
	if (!(*e->policy)->notify_enabled || !(flags & NOTIFY_FLAGS_CHANGE))
		return false;
	/* A newer change supersedes the running one; the slots its walk had
	 * not reached yet get its flags too, with the new ones, in one notify. */
	struct notify_campaign *old = &e->cur[NOTIFY_CHANGE];
	if (old->state == NOTIFY_RUNNING && old->walking && !old->resume)
		flags |= old->flags; /* (a resumed one's flags are in its endpoints' pending) */
	begin_campaign(e, NOTIFY_CHANGE, flags & NOTIFY_FLAGS_CHANGE, trigger, now);
	return true;
}

bool notify_resume(struct notify_engine *e, uint16_t flags, uint32_t now)
{
	flags &= NOTIFY_FLAGS_CHANGE;
	if (!e->reg->notify_pending || !flags || !(*e->policy)->notify_enabled)
		return false;
	char trigger[96];
	snprintf(trigger, sizeof(trigger), "restart: %u endpoints with a notify pending",
		 e->reg->notify_pending);
	begin_campaign(e, NOTIFY_CHANGE, flags, trigger, now);
	e->cur[NOTIFY_CHANGE].resume = true;
	return true;
}

bool notify_start_verify(struct notify_engine *e, uint32_t now)
{
	if (policy_hb_applies(*e->policy, false))
		return false; /* R12: heartbeat applies to every regular endpoint */
	begin_campaign(e, NOTIFY_VERIFY, HB_FLAG_VERIFY, "verify.interval", now);
	return true;
}

static void cancel_queue(struct notify_engine *e, struct notify_queue *q)
{
	const struct notify_qent *h;
	while ((h = notify_queue_head(q))) {
		struct endpoint *ep = registry_by_slot(e->reg, h->slot);
		if (ep && ep->id == h->id && (ep->notify.state & EP_NOTIFY_QUEUED))
			notify_round_cancel(e, ep);
		notify_queue_pop(q);
	}
}

unsigned notify_cancel(struct notify_engine *e, uint32_t now)
{
	unsigned n = 0;
	for (int k = 0; k < NOTIFY_KINDS; k++) {
		n += e->cur[k].state == NOTIFY_RUNNING;
		end_campaign(e, (enum notify_kind)k, NOTIFY_CANCELLED, now);
	}
	cancel_queue(e, &e->soon);
	cancel_queue(e, &e->retry);
	return n;
}

/* ================= what a change tells the endpoints ================= */

static void add_trigger(char *buf, size_t len, const char *what)
{
	size_t used = strlen(buf);
	if (used + 2 < len)
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", what);
}

static bool same_text(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Which flags a change of policy carries to the endpoints, and what it was.
 * SETTINGS: what the registration and poll answers tell besides the
 * components: the endpoint settings, the settings the table marks as told
 * (heartbeat.*, poll.interval) and the ranges ("unreachable", and whether
 * heartbeat and polling apply). COMPONENTS: the components. The rest
 * (offline_after, the guard, expiry, notify.*, verify.*) is the
 * collector's own: a new settings_rev, but nothing to tell. */
static uint16_t change_flags(const struct policy *old, const struct policy *new,
			     bool ranges_changed, char *trigger, size_t len)
{
	uint16_t flags = 0;
	trigger[0] = '\0';
	if (!same_text(old->manifest.components_json, new->manifest.components_json)) {
		flags |= HB_FLAG_COMPONENTS;
		add_trigger(trigger, len, "components");
	}
	if (!same_text(old->manifest.settings_json, new->manifest.settings_json)) {
		flags |= HB_FLAG_SETTINGS;
		add_trigger(trigger, len, "endpoint settings");
	}
#define TOLD(name, kind, field, min, max, def, range, reach, help) \
	if (SETTING_TOLD_##reach && old->field != new->field) {    \
		flags |= HB_FLAG_SETTINGS;                         \
		add_trigger(trigger, len, name);                   \
	}
	POLICY_SETTINGS(TOLD)
#undef TOLD
	if (ranges_changed) {
		flags |= HB_FLAG_SETTINGS;
		add_trigger(trigger, len, "unreachable ranges");
	}
	return flags;
}

void notify_policy_changed(struct notify_engine *e, const struct policy *old,
			   const struct policy *new, bool ranges_changed, uint32_t now)
{
	if (!e->reg)
		return; /* not wired yet: the policy loaded at start-up */
	char trigger[96];
	uint16_t flags = change_flags(old, new, ranges_changed, trigger, sizeof(trigger));
	if (!new->notify_enabled)
		end_campaign(e, NOTIFY_CHANGE, NOTIFY_CANCELLED, now); /* R11 off */
	else if (flags)
		notify_start_change(e, flags, trigger, now);
	if (new->verify_interval != e->verify_interval) {
		e->verify_interval = new->verify_interval;
		e->verify_next = new->verify_interval ? now + new->verify_interval : 0;
		if (!new->verify_interval)
			end_campaign(e, NOTIFY_VERIFY, NOTIFY_CANCELLED, now);
	}
}

/* ================= the loop job ================= */

/* Gives the endpoints of campaign c their rounds, from its cursor on, until
 * the walk ends (false), the bucket is empty (false: paced), or the
 * deadline passes (true: more now). */
static bool walk(struct notify_engine *e, struct notify_campaign *c, uint32_t now,
		 uint64_t deadline)
{
	struct registry *r = e->reg;
	uint32_t end = c->slots < r->nslots ? c->slots : r->nslots;
	bool verify = c->kind == NOTIFY_VERIFY;
	/* R12 verifies regular endpoints heartbeat does not apply to (R2). */
	if (verify && policy_hb_applies(*e->policy, false))
		c->cursor = end;
	for (unsigned n = 0; c->cursor < end; n++) {
		if (n % CHECK_EVERY == CHECK_EVERY - 1 && e->clock_ns() >= deadline)
			return true;
		if (c->cursor >= r->classified_below)
			return false; /* R1 has not reached it since the ranges changed
				       * (reclassify.h): wait, as when paced */
		struct endpoint *ep = registry_at(r, c->cursor);
		if (!ep->id || !notify_eligible(ep) ||
		    (c->resume && !(ep->notify.pending & NOTIFY_FLAGS_CHANGE))) {
			/* a free slot; unreachable (R11, R12); no notify address;
			 * nothing pending when resuming */
			c->cursor++;
			continue;
		}
		uint16_t flags = c->resume ? ep->notify.pending & NOTIFY_FLAGS_CHANGE : c->flags;
		if (!verify && !ep->up) {
			notify_round_defer(e, ep, flags, c); /* R11 notifies those online */
			c->cursor++;
			continue;
		}
		if (!notify_has_token(e))
			return false;
		notify_round_start(e, ep, flags, c, now);
		c->cursor++;
	}
	c->walking = false;
	return false;
}

/* Serves a queue's entries that are due, in order. */
static bool serve(struct notify_engine *e, struct notify_queue *q, uint32_t now, uint64_t deadline,
		  bool *paced)
{
	const struct notify_qent *h;
	for (unsigned n = 0; (h = notify_queue_head(q)) && h->due <= now; n++) {
		if (n % CHECK_EVERY == CHECK_EVERY - 1 && e->clock_ns() >= deadline)
			return true;
		struct notify_qent ent = *h; /* the service may push to q */
		if (notify_round_service(e, &ent, now) == NOTIFY_R_NO_TOKEN) {
			*paced = true;
			return false;
		}
		notify_queue_pop(q);
	}
	return false;
}

static bool busy(const struct notify_engine *e)
{
	return e->soon.len || e->retry.len || e->cur[NOTIFY_CHANGE].walking ||
	       e->cur[NOTIFY_VERIFY].walking;
}

/* A running campaign is done once its walk ended and nothing it targeted
 * is in flight (or nothing at all is queued: what it still counts left). */
static void finish(struct notify_engine *e, uint32_t now)
{
	bool queued = e->soon.len || e->retry.len;
	for (int k = 0; k < NOTIFY_KINDS; k++) {
		struct notify_campaign *c = &e->cur[k];
		if (c->state == NOTIFY_RUNNING && !c->walking && (!c->inflight || !queued))
			end_campaign(e, (enum notify_kind)k, NOTIFY_DONE, now);
	}
}

bool notify_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct notify_engine *e = self;
	const struct policy *p = *e->policy;
	if (e->verify_next && now >= e->verify_next) {
		e->verify_next = now + e->verify_interval;
		notify_start_verify(e, now);
	}
	if (!busy(e)) {
		finish(e, now);
		return false;
	}
	loop_job_pass_begin(&e->stats);
	notify_refill(e, p->notify_rate);
	uint64_t deadline = e->clock_ns() + budget_ns;
	bool paced = false;
	/* Re-sends first (they waited longest), then rounds to start, then
	 * the walks, each only as far as the bucket goes. */
	bool more = serve(e, &e->retry, now, deadline, &paced);
	if (!more && !paced)
		more = serve(e, &e->soon, now, deadline, &paced);
	for (int k = 0; k < NOTIFY_KINDS && !more && !paced; k++) {
		struct notify_campaign *c = &e->cur[k];
		if (c->state == NOTIFY_RUNNING && c->walking) {
			more = walk(e, c, now, deadline);
			paced = c->walking && !more;
		}
	}
	tx_flush(e->tx);
	finish(e, now);
	if (!busy(e))
		loop_job_pass_end(&e->stats);
	return more;
}
