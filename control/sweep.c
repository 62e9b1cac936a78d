/*
 * Status sweep. last contact = max(newest heartbeat over all workers,
 * latest contact the control plane saw); the status follows from its age,
 * so a sweep can run at any time, twice in a row, with the same answer.
 *
 * R10 looks ahead rather than back: when the collector loses its link, all
 * of its online endpoints fall silent together, and within one heartbeat
 * interval nearly all of them are "at risk" (silent for offline_after minus
 * an interval) while none has gone offline yet. That is the moment to hold,
 * before a single false transition is sent.
 */
#include <stdlib.h>

#define LOG_TAG "sweep"
#include "control/sweep.h"
#include "control/transitions.h"
#include "glournet/log.h"

uint32_t sweep_guard_window(const struct policy *p)
{
	uint32_t half = p->offline_after / 2;
	return p->hb_interval < half ? p->hb_interval : half;
}

static bool push_candidate(struct sweep_state *s, uint32_t n, uint32_t slot)
{
	if (n == s->ncap) {
		uint32_t cap = s->ncap ? s->ncap * 2 : 4096;
		uint32_t *c = realloc(s->candidates, cap * sizeof(*c));
		if (!c)
			return false;
		s->candidates = c;
		s->ncap = cap;
	}
	s->candidates[n] = slot;
	return true;
}

static void guard_event(struct registry *r, enum transition_kind kind, uint32_t count,
			uint32_t now)
{
	if (!r->feed)
		return;
	struct transition t = {.kind = (uint8_t)kind, .count = count, .time = now};
	feed_push(r->feed, &t);
}

/* Decides R10 for this sweep; true when the candidates must be held. */
static bool guard_holds(struct sweep_state *s, struct registry *r, const struct policy *p,
			uint32_t ncand, uint32_t now)
{
	struct guard_state *g = &s->guard;
	bool mass = p->guard_threshold > 0 && g->at_risk >= GUARD_MIN_AT_RISK &&
		    (uint64_t)g->at_risk * 100 > (uint64_t)p->guard_threshold * g->online;
	if (!mass) {
		if (g->active) {
			LOG(WARN, "mass-offline guard released: contact resumed (%u at risk of %u)",
			    g->at_risk, g->online);
			guard_event(r, TK_GUARD_RELEASED, ncand, now);
		}
		g->active = g->confirmed = false;
		g->held = 0;
		return false;
	}
	if (g->confirmed) {
		g->held = 0;
		return false;
	}
	if (!g->active) {
		g->active = true;
		g->since = now;
		g->raised++;
		LOG(WARN, "mass-offline guard raised: %u of %u online endpoints silent together; "
			  "holding their offline transitions (glournetctl guard release to confirm)",
		    g->at_risk, g->online);
		guard_event(r, TK_GUARD_RAISED, g->at_risk, now);
	}
	g->held = ncand;
	return true;
}

void sweep_run(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
	       struct sweep_result *res)
{
	*res = (struct sweep_result){0};
	uint32_t risk_age = p->offline_after - sweep_guard_window(p);
	uint32_t ncand = 0, online = 0, at_risk = 0;
	bool grace = now - s->started < p->offline_after;   /* R9 */

	for (uint32_t slot = 0; slot < r->nslots; slot++) {
		struct endpoint *ep = &r->eps[slot];
		if (!ep->id)
			continue;          /* a free slot */
		uint32_t hb = slot_table_last_seen(r->table, slot);
		ep->last_heartbeat = hb;
		if (ep->down_at) {
			if (hb <= ep->down_at)
				continue;          /* still offline at once (R4, R6) */
			ep->down_at = 0;           /* a heartbeat since: back */
		}
		uint32_t last = hb > ep->last_ctl_contact ? hb : ep->last_ctl_contact;
		uint32_t age = now > last ? now - last : 0;
		bool fresh = last && age < p->offline_after;
		enum ep_reason why = hb >= ep->last_ctl_contact ? EP_REASON_HEARTBEAT
							       : (enum ep_reason)ep->ctl_reason;
		if (fresh) {
			if (!ep->up)
				res->went_online++;
			if (!ep->up || ep->reason != why)
				registry_set_state(r, ep, ep->unreachable, true, why, now);
			online++;
			if (age >= risk_age)
				at_risk++;
			continue;
		}
		if (!ep->up)
			continue;
		online++;
		if (grace) {
			/* R9 holds these; the collector, not the fleet, was away. */
			res->held_grace++;
			continue;
		}
		at_risk++;
		if (!push_candidate(s, ncand, slot)) {
			LOG(ERR, "out of memory in the sweep; offline transitions wait a sweep");
			break;
		}
		ncand++;
	}
	s->guard.online = online;
	s->guard.at_risk = at_risk;
	if (guard_holds(s, r, p, ncand, now)) {
		res->held_guard = ncand;
		return;
	}
	for (uint32_t i = 0; i < ncand; i++) {
		struct endpoint *ep = &r->eps[s->candidates[i]];
		registry_set_state(r, ep, ep->unreachable, false, EP_REASON_NO_CONTACT, now);
	}
	res->went_offline = ncand;
	if (res->went_online || res->went_offline)
		LOG(INFO, "%u went online, %u went offline", res->went_online, res->went_offline);
}

bool sweep_guard_release(struct sweep_state *s, struct registry *r, uint32_t now)
{
	if (!s->guard.active)
		return false;
	LOG(WARN, "mass-offline guard released by an operator: %u offline transitions apply",
	    s->guard.held);
	guard_event(r, TK_GUARD_RELEASED, s->guard.held, now);
	s->guard.confirmed = true;
	s->guard.active = false;
	return true;
}

void sweep_state_free(struct sweep_state *s)
{
	free(s->candidates);
	s->candidates = NULL;
	s->ncap = 0;
}
