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
#include "control/mono_clock.h"
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

static void guard_event(struct registry *r, enum transition_kind kind, uint32_t count, uint32_t now)
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
		LOG(WARN,
		    "mass-offline guard raised: %u of %u online endpoints silent together; "
		    "holding their offline transitions (glournetctl guard release to confirm)",
		    g->at_risk, g->online);
		guard_event(r, TK_GUARD_RAISED, g->at_risk, now);
	}
	g->held = ncand;
	return true;
}


/* Last contact and why, as of the workers' timestamps now. */
static uint32_t last_contact(struct registry *r, struct endpoint *ep, enum ep_reason *why)
{
	uint32_t hb = registry_last_heartbeat(r, ep);
	ep->last_heartbeat = hb;
	*why = hb >= ep->last_ctl_contact ? EP_REASON_HEARTBEAT : (enum ep_reason)ep->ctl_reason;
	return hb > ep->last_ctl_contact ? hb : ep->last_ctl_contact;
}

/* Whether a shutdown or R4 "offline at once" still holds; a heartbeat
 * since ends it. */
static bool held_down(struct endpoint *ep)
{
	if (!ep->down_at)
		return false;
	if (ep->last_heartbeat <= ep->down_at)
		return true;
	ep->down_at = 0;
	return false;
}

static void scan_one(struct sweep_state *s, struct registry *r, const struct policy *p,
		     uint32_t now, uint32_t risk_age, bool grace, struct endpoint *ep)
{
	enum ep_reason why;
	uint32_t last = last_contact(r, ep, &why);
	if (held_down(ep))
		return; /* still offline at once (R4, R6) */
	uint32_t age = now > last ? now - last : 0;
	if (last && age < p->offline_after) {
		if (!ep->up)
			s->res.went_online++;
		if (!ep->up || ep->reason != why)
			registry_set_state(r, ep, ep->unreachable, true, why, now);
		s->online++;
		if (age >= risk_age)
			s->at_risk++;
		return;
	}
	if (!ep->up)
		return;
	s->online++;
	if (grace) {
		/* R9 holds these; the collector, not the fleet, was away. */
		s->res.held_grace++;
		return;
	}
	s->at_risk++;
	if (!push_candidate(s, s->ncand, ep->slot)) {
		LOG(ERR, "out of memory in the sweep; offline transitions wait a pass");
		return;
	}
	s->ncand++;
}

/* R6 says no-contact; R12 says no-ack for an endpoint heartbeat does not
 * apply to whose last verification got no ack (notify_round.c sets the
 * bit, any ack or HTTP contact clears it). */
static enum ep_reason offline_reason(const struct policy *p, const struct endpoint *ep)
{
	if ((ep->notify.state & EP_NOTIFY_NO_ACK) && !policy_hb_applies(p, ep->unreachable))
		return EP_REASON_NO_ACK;
	return EP_REASON_NO_CONTACT;
}

/* A candidate goes offline only if it is still the same online endpoint
 * and still silent: contact may have come between the slices. */
static void apply_one(struct sweep_state *s, struct registry *r, const struct policy *p,
		      uint32_t now, uint32_t slot)
{
	struct endpoint *ep = registry_by_slot(r, slot);
	if (!ep || !ep->up)
		return;
	enum ep_reason why;
	uint32_t last = last_contact(r, ep, &why);
	if (last && (now > last ? now - last : 0) < p->offline_after)
		return;
	registry_set_state(r, ep, ep->unreachable, false, offline_reason(p, ep), now);
	s->res.went_offline++;
}

void sweep_start(struct sweep_state *s)
{
	if (s->phase != SWEEP_IDLE)
		return;
	s->phase = SWEEP_SCAN;
	s->cursor = 0;
	s->ncand = s->online = s->at_risk = 0;
	s->res = (struct sweep_result){0};
	loop_job_pass_begin(&s->stats);
}

/* The clock is read once per this many slots: cheap, and fine-grained
 * enough for a budget of milliseconds. */
#define SLICE_CHECK 256

bool sweep_slice(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
		 uint64_t budget_ns, struct sweep_result *res)
{
	if (s->phase == SWEEP_IDLE)
		return false;
	uint64_t deadline = budget_ns ? gn_mono_ns() + budget_ns : UINT64_MAX;
	bool done = false;
	if (s->phase == SWEEP_SCAN) {
		uint32_t risk_age = p->offline_after - sweep_guard_window(p);
		/* R9. The steady clock never goes back by more than a rounding's
		 * second (clock_step.h): a start "in the future" is a start now. */
		bool grace = s->hold || now <= s->started || now - s->started < p->offline_after;
		while (s->cursor < r->nslots) {
			uint32_t end = s->cursor + SLICE_CHECK;
			if (end > r->nslots || end < s->cursor)
				end = r->nslots;
			for (; s->cursor < end; s->cursor++) {
				struct endpoint *ep = registry_at(r, s->cursor);
				if (ep->id) /* else a free slot */
					scan_one(s, r, p, now, risk_age, grace, ep);
			}
			if (gn_mono_ns() >= deadline)
				break;
		}
		if (s->cursor >= r->nslots) {
			s->guard.online = s->online;
			s->guard.at_risk = s->at_risk;
			s->cursor = 0;
			if (guard_holds(s, r, p, s->ncand, now)) {
				s->res.held_guard = s->ncand;
				s->ncand = 0;
			}
			s->phase = SWEEP_APPLY;
		}
	}
	if (s->phase == SWEEP_APPLY) {
		while (s->cursor < s->ncand) {
			uint32_t end = s->cursor + SLICE_CHECK < s->ncand ? s->cursor + SLICE_CHECK
									  : s->ncand;
			for (; s->cursor < end; s->cursor++)
				apply_one(s, r, p, now, s->candidates[s->cursor]);
			if (s->cursor < s->ncand && gn_mono_ns() >= deadline)
				break;
		}
		done = s->cursor >= s->ncand;
	}
	if (!done)
		return false;
	s->phase = SWEEP_IDLE;
	loop_job_pass_end(&s->stats); /* the slices are measured by the walk */
	*res = s->res;
	if (res->went_online || res->went_offline)
		LOG(INFO, "%u went online, %u went offline", res->went_online, res->went_offline);
	return true;
}

void sweep_run(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
	       struct sweep_result *res)
{
	s->phase = SWEEP_IDLE; /* a full pass replaces any half-done one */
	sweep_start(s);
	while (!sweep_slice(s, r, p, now, 0, res))
		;
}

bool sweep_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct sweep_state *s = self;
	if (!sweep_busy(s) && now - s->last_start >= s->interval) {
		sweep_start(s);
		s->last_start = now;
	}
	struct sweep_result res;
	sweep_slice(s, s->reg, *s->policy, now, budget_ns, &res);
	return sweep_busy(s);
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
