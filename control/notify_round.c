/*
 * One endpoint's round (notify_round.h). An endpoint holds at most one
 * queue entry (EP_NOTIFY_QUEUED), so the queues never hold more than the
 * endpoints in flight; an entry whose endpoint left, settled or started a
 * newer round meanwhile is recognised when it comes up and costs nothing
 * more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/notify_round.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_encode.h"

#define NS_PER_TOKEN 1000000000ull

/* ================= queues ================= */

int notify_queue_push(struct notify_queue *q, const struct endpoint *ep, uint32_t due)
{
	if (q->len == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 1024;
		struct notify_qent *e = malloc((size_t)cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		for (uint32_t i = 0; i < q->len; i++) /* in order, from the head */
			e[i] = q->e[(q->head + i) & (q->cap - 1)];
		free(q->e);
		q->e = e;
		q->cap = cap;
		q->head = 0;
	}
	q->e[(q->head + q->len) & (q->cap - 1)] =
		(struct notify_qent){.id = ep->id, .slot = ep->slot, .due = due};
	q->len++;
	return 0;
}

void notify_queue_pop(struct notify_queue *q)
{
	if (!q->len)
		return;
	q->head = (q->head + 1) & (q->cap - 1);
	if (!--q->len)
		q->head = 0;
}

void notify_queue_free(struct notify_queue *q)
{
	free(q->e);
	*q = (struct notify_queue){0};
}

/* ================= the bucket ================= */

void notify_refill(struct notify_engine *e, uint32_t rate)
{
	uint64_t now = e->clock_ns();
	uint64_t dt = now - e->refilled_ns;
	e->refilled_ns = now;
	if (dt > NOTIFY_BURST_NS)
		dt = NOTIFY_BURST_NS; /* a longer gap would only be capped below */
	uint64_t cap = (uint64_t)rate * NOTIFY_BURST_NS;
	if (cap < NS_PER_TOKEN)
		cap = NS_PER_TOKEN; /* at least one notify, however low the rate */
	e->credit += dt * rate;
	if (e->credit > cap)
		e->credit = cap;
}

static bool take_token(struct notify_engine *e)
{
	if (e->credit < NS_PER_TOKEN)
		return false;
	e->credit -= NS_PER_TOKEN;
	return true;
}

/* Every change of an endpoint's pending flags, so that the registry's
 * count of endpoints with a notify pending stays true. */
static void set_pending(struct notify_engine *e, struct endpoint *ep, uint8_t pending)
{
	struct ep_notify *n = &ep->notify;
	if (!n->pending != !pending)
		e->reg->notify_pending += pending ? 1 : (uint32_t)-1;
	if ((n->pending ^ pending) & NOTIFY_FLAGS_CHANGE)
		n->state |= EP_NOTIFY_DIRTY; /* a restart must know (persist.c) */
	n->pending = pending;
}

/* Counts for each kind whose flags `flags` carries. */
static void count_kinds(struct notify_engine *e, uint16_t flags, enum notify_kind_counter k)
{
	if (flags & NOTIFY_FLAGS_CHANGE)
		e->by_kind[NOTIFY_CHANGE][k]++;
	if (flags & HB_FLAG_VERIFY)
		e->by_kind[NOTIFY_VERIFY][k]++;
}

/* ================= attribution ================= */

struct notify_campaign *notify_campaign_of(struct notify_engine *e, const struct endpoint *ep,
					   enum notify_kind kind)
{
	struct notify_campaign *c = &e->cur[kind];
	uint8_t seq = kind == NOTIFY_CHANGE ? ep->notify.cseq : ep->notify.vseq;
	return seq && c->state == NOTIFY_RUNNING && notify_seq8(c->seq) == seq ? c : NULL;
}

/* How a targeted endpoint's part in its campaigns ended; it counts for
 * them no more. */
enum outcome { OUT_ACKED, OUT_POLLED, OUT_GAVE_UP, OUT_DROPPED };

static void outcome(struct notify_engine *e, struct endpoint *ep, enum notify_kind kind,
		    enum outcome how)
{
	struct notify_campaign *c = notify_campaign_of(e, ep, kind);
	if (c) {
		uint32_t *n[] = {&c->acked, &c->polled, &c->gave_up, &c->dropped};
		(*n[how])++;
		c->inflight--;
	}
	if (kind == NOTIFY_CHANGE)
		ep->notify.cseq = 0;
	else
		ep->notify.vseq = 0;
}

static void sent_for(struct notify_engine *e, struct endpoint *ep, bool first, uint64_t ns)
{
	for (int k = 0; k < NOTIFY_KINDS; k++) {
		struct notify_campaign *c = notify_campaign_of(e, ep, (enum notify_kind)k);
		if (!c)
			continue;
		if (first)
			c->sent++;
		else
			c->resent++;
		if (!c->first_ns)
			c->first_ns = ns;
		c->last_ns = ns;
	}
}

/* ================= sending ================= */

static unsigned tries_of(const struct endpoint *ep)
{
	return ep->notify.state & EP_NOTIFY_TRIES;
}

static void set_tries(struct endpoint *ep, unsigned tries)
{
	ep->notify.state = (uint8_t)((ep->notify.state & ~EP_NOTIFY_TRIES) | tries);
}

/* What of the pending flags may go out: change flags only while
 * notify.enabled (R11), VERIFY whenever it is pending (R12). */
static uint16_t sendable(const struct notify_engine *e, const struct endpoint *ep)
{
	const struct policy *p = *e->policy;
	return (p->notify_enabled ? ep->notify.pending & NOTIFY_FLAGS_CHANGE : 0) |
	       (ep->notify.pending & HB_FLAG_VERIFY);
}

static void enqueue(struct notify_engine *e, struct notify_queue *q, struct endpoint *ep,
		    uint32_t due)
{
	if (ep->notify.state & EP_NOTIFY_QUEUED)
		return; /* its one entry comes up earlier and finds out */
	if (notify_queue_push(q, ep, due) == 0) {
		ep->notify.state |= EP_NOTIFY_QUEUED;
	} else {
		/* Out of memory: the round stalls with its flags pending, and
		 * the next contact starts it again. */
		ep->notify.state |= EP_NOTIFY_WAITING;
		registry_watch_next_heartbeat(e->reg, ep);
	}
}

/* The round's next notify: needs a token. */
static enum notify_result transmit(struct notify_engine *e, struct endpoint *ep, uint32_t now)
{
	uint16_t flags = sendable(e, ep);
	if (!flags) {
		/* notify.enabled went off: the flags stay pending for the next
		 * campaign; nothing is waited for. */
		ep->notify.state &= (uint8_t) ~(EP_NOTIFY_TRIES | EP_NOTIFY_WAITING);
		return NOTIFY_R_DONE;
	}
	if (!take_token(e))
		return NOTIFY_R_NO_TOKEN;
	uint8_t p[HB_PAYLOAD_LEN];
	/* On the wire, the real clock (coarse_clock.h); now is the steady one. */
	hb_encode(p, HB_TYPE_NOTIFY, flags, ep->slot, gn_coarse_wire(now), ep->id,
		  registry_key(e->reg, ep));
	struct gn_addr dst;
	ep_source(ep, &dst);
	int rc = tx_send(e->tx, &dst, ep_notify_port(ep), p, sizeof(p));
	if (rc == -EAGAIN || rc == -ENOBUFS) {
		/* The next hop is being resolved (or no mbuf): in a second,
		 * without spending a try; the token was not used. */
		e->credit += NS_PER_TOKEN;
		e->ctr[NOTIFY_C_RETRY_LATER]++;
		enqueue(e, &e->soon, ep, now + 1);
		return NOTIFY_R_DONE;
	}
	unsigned tries = tries_of(ep) + 1;
	set_tries(ep, tries);
	ep->notify.sent_at = now;
	if (tries == 1)
		ep->details->round_at = now;
	if (rc < 0) {
		e->ctr[NOTIFY_C_TX_FAILED]++; /* a try spent: no route, no source */
	} else {
		e->ctr[tries == 1 ? NOTIFY_C_SENT : NOTIFY_C_RESENT]++;
		count_kinds(e, flags, NOTIFY_K_SENT);
		if (tries > 1)
			count_kinds(e, flags, NOTIFY_K_RESENT);
		sent_for(e, ep, tries == 1, e->clock_ns());
	}
	enqueue(e, &e->retry, ep, now + (*e->policy)->notify_retry_after);
	return NOTIFY_R_DONE;
}

static void wait_for_contact(struct notify_engine *e, struct endpoint *ep)
{
	ep->notify.state |= EP_NOTIFY_WAITING;
	registry_watch_next_heartbeat(e->reg, ep); /* so a heartbeat tells us */
}

static void give_up(struct notify_engine *e, struct endpoint *ep)
{
	struct ep_notify *n = &ep->notify;
	count_kinds(e, n->pending, NOTIFY_K_GAVE_UP);
	if (n->pending & NOTIFY_FLAGS_CHANGE)
		outcome(e, ep, NOTIFY_CHANGE, OUT_GAVE_UP);
	if (n->pending & HB_FLAG_VERIFY) {
		outcome(e, ep, NOTIFY_VERIFY, OUT_GAVE_UP);
		set_pending(e, ep, n->pending & (uint8_t)~HB_FLAG_VERIFY);
		n->state |= EP_NOTIFY_NO_ACK; /* the sweep's no-ack (R12) */
		e->ctr[NOTIFY_C_NO_ACK]++;
	}
	set_tries(ep, 0);
	e->ctr[NOTIFY_C_GAVE_UP]++;
	if (n->pending)
		wait_for_contact(e, ep);
}

/* Never to the unreachable network, nor without a notify address: what is
 * pending is dropped (it learns at its next poll). */
static void drop(struct notify_engine *e, struct endpoint *ep)
{
	if (ep->notify.pending & NOTIFY_FLAGS_CHANGE)
		outcome(e, ep, NOTIFY_CHANGE, OUT_DROPPED);
	if (ep->notify.pending & HB_FLAG_VERIFY)
		outcome(e, ep, NOTIFY_VERIFY, OUT_DROPPED);
	set_pending(e, ep, 0);
	ep->notify.state &= (uint8_t) ~(EP_NOTIFY_TRIES | EP_NOTIFY_WAITING);
	e->ctr[NOTIFY_C_DROPPED]++;
}

/* ================= the round's life ================= */

void notify_round_start(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			struct notify_campaign *c, uint32_t now)
{
	struct ep_notify *n = &ep->notify;
	set_pending(e, ep, n->pending | (uint8_t)flags);
	n->state &= (uint8_t) ~(EP_NOTIFY_TRIES | EP_NOTIFY_WAITING); /* a fresh round */
	if (c) {
		if (c->kind == NOTIFY_CHANGE)
			n->cseq = notify_seq8(c->seq);
		else
			n->vseq = notify_seq8(c->seq);
		c->targeted++;
		c->inflight++;
	}
	if (transmit(e, ep, now) == NOTIFY_R_NO_TOKEN)
		enqueue(e, &e->soon, ep, now);
}

enum notify_result notify_round_service(struct notify_engine *e, const struct notify_qent *q,
					uint32_t now)
{
	struct endpoint *ep = registry_by_slot(e->reg, q->slot);
	if (!ep || ep->id != q->id || !(ep->notify.state & EP_NOTIFY_QUEUED))
		return NOTIFY_R_DONE; /* it left; its slot may be someone else's */
	struct ep_notify *n = &ep->notify;
	if (!n->pending) {
		n->state &= (uint8_t) ~(EP_NOTIFY_QUEUED | EP_NOTIFY_TRIES);
		return NOTIFY_R_DONE; /* settled */
	}
	if (!notify_eligible(ep)) {
		n->state &= (uint8_t)~EP_NOTIFY_QUEUED;
		drop(e, ep);
		return NOTIFY_R_DONE;
	}
	unsigned tries = tries_of(ep);
	const struct policy *p = *e->policy;
	if (tries) {
		uint32_t due = n->sent_at + p->notify_retry_after;
		if (now < due) { /* a newer round started since: its own due */
			n->state &= (uint8_t)~EP_NOTIFY_QUEUED;
			enqueue(e, &e->retry, ep, due);
			return NOTIFY_R_DONE;
		}
		if (tries > p->notify_retries) {
			n->state &= (uint8_t)~EP_NOTIFY_QUEUED;
			give_up(e, ep);
			return NOTIFY_R_DONE;
		}
	}
	if (sendable(e, ep) && !notify_has_token(e))
		return NOTIFY_R_NO_TOKEN;
	n->state &= (uint8_t)~EP_NOTIFY_QUEUED;
	transmit(e, ep, now); /* has its token */
	return NOTIFY_R_DONE;
}

uint16_t notify_round_settle(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			     enum notify_settled_by by)
{
	struct ep_notify *n = &ep->notify;
	uint16_t got = flags & n->pending;
	if (!got)
		return 0;
	set_pending(e, ep, n->pending & (uint8_t)~got);
	if (by == NOTIFY_BY_ACK)
		count_kinds(e, got, NOTIFY_K_ACKED);
	if ((got & NOTIFY_FLAGS_CHANGE) && !(n->pending & NOTIFY_FLAGS_CHANGE))
		outcome(e, ep, NOTIFY_CHANGE, by == NOTIFY_BY_POLL ? OUT_POLLED : OUT_ACKED);
	if (got & HB_FLAG_VERIFY) {
		outcome(e, ep, NOTIFY_VERIFY, OUT_ACKED);
		n->state &= (uint8_t)~EP_NOTIFY_NO_ACK;
	}
	if (!n->pending) /* its queue entry, if any, finds it settled */
		n->state &= (uint8_t) ~(EP_NOTIFY_TRIES | EP_NOTIFY_WAITING);
	return got;
}

void notify_round_recontact(struct notify_engine *e, struct endpoint *ep, uint32_t now)
{
	struct ep_notify *n = &ep->notify;
	if (!(n->state & EP_NOTIFY_WAITING))
		return;
	n->state &= (uint8_t)~EP_NOTIFY_WAITING;
	if (!n->pending || !notify_eligible(ep))
		return;
	e->ctr[NOTIFY_C_RECONTACT]++;
	set_tries(ep, 0); /* a fresh round: its retries again */
	enqueue(e, &e->soon, ep, now);
}

void notify_round_defer(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			struct notify_campaign *c)
{
	struct ep_notify *n = &ep->notify;
	set_pending(e, ep, n->pending | (uint8_t)flags);
	c->deferred++;
	e->ctr[NOTIFY_C_DEFERRED]++;
	if (!(n->state & (EP_NOTIFY_QUEUED | EP_NOTIFY_TRIES)))
		wait_for_contact(e, ep); /* else its round in flight carries them */
}

void notify_round_cancel(struct notify_engine *e, struct endpoint *ep)
{
	struct ep_notify *n = &ep->notify;
	set_pending(e, ep, n->pending & (uint8_t)~HB_FLAG_VERIFY);
	n->cseq = n->vseq = 0;
	n->state &= (uint8_t) ~(EP_NOTIFY_QUEUED | EP_NOTIFY_TRIES);
	if (n->pending)
		wait_for_contact(e, ep);
}
