/*
 * One endpoint's round (notify.h): its notifies, re-sends, giving up and
 * settling, the queues that hold what waits, and the token bucket they
 * all draw on. Below both the campaigns (notify_engine.c) and what the
 * endpoints send back (notify_events.c), so neither calls the other.
 */
#ifndef GLOURNET_NOTIFY_ROUND_H
#define GLOURNET_NOTIFY_ROUND_H

#include <stdbool.h>
#include <stdint.h>

#include "control/notify.h"

/* The low 8 bits of a campaign's seq as endpoints keep them: 1..255. */
static inline uint8_t notify_seq8(uint32_t seq)
{
	return (uint8_t)((seq - 1) % 255 + 1);
}

/* Whether a notify may go to the endpoint at all (R11, R12): never to one
 * in the unreachable network, and only to a notify address. */
static inline bool notify_eligible(const struct endpoint *ep)
{
	return !ep->unreachable && ep_notifiable(ep);
}

/* ---- the queues ---- */
int notify_queue_push(struct notify_queue *q, const struct endpoint *ep, uint32_t due);
static inline const struct notify_qent *notify_queue_head(const struct notify_queue *q)
{
	return q->len ? &q->e[q->head & (q->cap - 1)] : NULL;
}
void notify_queue_pop(struct notify_queue *q);
void notify_queue_free(struct notify_queue *q);

/* ---- the bucket: notify.rate a second, all campaigns together ---- */
void notify_refill(struct notify_engine *e, uint32_t rate);
static inline bool notify_has_token(const struct notify_engine *e)
{
	return e->credit >= 1000000000ull;
}

/* The running campaign of `kind` the endpoint's round counts for, or NULL. */
struct notify_campaign *notify_campaign_of(struct notify_engine *e, const struct endpoint *ep,
					   enum notify_kind kind);

enum notify_result {
	NOTIFY_R_DONE,     /* handled (sent, queued, given up, dropped) */
	NOTIFY_R_NO_TOKEN, /* the bucket is empty: nothing changed, come back later */
};

/* A new round for `flags` (added to what is pending) counted for campaign
 * `c` (NULL: a recontact), its first notify now if a token is left, else
 * at the next turn. Needs a token (notify_has_token) to be worth calling. */
void notify_round_start(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			struct notify_campaign *c, uint32_t now);

/* The next step of the endpoint a queue entry names (a copy of the head):
 * its first notify, a re-send when no ack came within retry_after,
 * giving up after notify.retries, or nothing when it settled, left, or is
 * not due after all (queued again for when it is). NOTIFY_R_NO_TOKEN
 * changes nothing. */
enum notify_result notify_round_service(struct notify_engine *e, const struct notify_qent *q,
					uint32_t now);

/* Settles what of `flags` is pending (an ack, or a poll for SETTINGS and
 * COMPONENTS); returns the flags it settled. */
enum notify_settled_by { NOTIFY_BY_ACK, NOTIFY_BY_POLL };
uint16_t notify_round_settle(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			     enum notify_settled_by by);

/* The endpoint made contact: a round again for what it kept pending after
 * its retries (R11: "notified again as soon as it makes contact again"). */
void notify_round_recontact(struct notify_engine *e, struct endpoint *ep, uint32_t now);

/* Offline at a change campaign (R11 targets those online): the flags wait,
 * pending, for its next contact. */
void notify_round_defer(struct notify_engine *e, struct endpoint *ep, uint16_t flags,
			struct notify_campaign *c);

/* Cancelled: nothing more is sent in this round; what a change left
 * pending waits for the next contact, a verification just ends. */
void notify_round_cancel(struct notify_engine *e, struct endpoint *ep);

#endif
