/*
 * What endpoints send back that the notify engine cares for (notify.h):
 * acks, the source address of their heartbeats, polls and registrations.
 * An ack has passed the workers' checks (slot, id, MAC, window) and is
 * contact already (R3, a timestamp); here it only settles what it
 * answers, and what it cannot answer is counted by reason and changes
 * nothing. A notify never changes a status (R11): nothing here does.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "control/notify_round.h"

void notify_on_ack(struct notify_engine *e, struct endpoint *ep, uint16_t flags, uint32_t time,
		   uint32_t now)
{
	(void)now;
	const struct ep_details *d = ep->details;
	if (!d || !d->round_at) {
		e->ctr[NOTIFY_C_ACK_UNSOLICITED]++; /* no notify was ever sent to it */
		return;
	}
	if ((uint64_t)time + NOTIFY_ACK_SLACK < d->round_at) {
		e->ctr[NOTIFY_C_ACK_REPLAY]++; /* older than what it would answer */
		return;
	}
	if (!notify_round_settle(e, ep, flags, NOTIFY_BY_ACK)) {
		e->ctr[NOTIFY_C_ACK_NOT_PENDING]++;
		return;
	}
	ep->details->last_ack = time;
	e->ctr[NOTIFY_C_ACKED]++;
}

void notify_on_stale_ack(struct notify_engine *e)
{
	e->ctr[NOTIFY_C_ACK_STALE]++;
}

static void set_source(struct notify_engine *e, struct registry *r, struct endpoint *ep,
		       const struct gn_addr *src)
{
	int rc = registry_set_source(r, ep, src);
	if (e && rc >= 0)
		e->ctr[rc ? NOTIFY_C_SOURCE_CHANGED : NOTIFY_C_SOURCE_SAME]++;
}

void notify_on_source(struct notify_engine *e, struct endpoint *ep, const struct gn_addr *src,
		      uint32_t now)
{
	set_source(e, e->reg, ep, src);
	notify_round_recontact(e, ep, now); /* a heartbeat is contact */
}

bool notify_peer_addr(const struct sockaddr *sa, struct gn_addr *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memset(out, 0, sizeof(*out));
	if (sa && sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (!sa || sa->sa_family != AF_INET6)
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (!memcmp(b, mapped, sizeof(mapped))) { /* a dual-stack socket's IPv4 client */
		out->family = AF_INET;
		memcpy(out->bytes, b + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->bytes, b, 16);
	}
	return true;
}

void notify_on_contact(struct notify_engine *e, struct registry *r, struct endpoint *ep,
		       const struct sockaddr *peer, enum notify_contact kind, uint32_t now)
{
	/* Loopback, unspecified or multicast: not an address the port could
	 * send to (a client on the collector's own host); the old one stays. */
	static const uint8_t loop6[16] = {[15] = 1};
	struct gn_addr src;
	if (notify_peer_addr(peer, &src) && !gn_addr_is_special(&src) &&
	    !(src.family == AF_INET6 && !memcmp(src.bytes, loop6, 16)))
		set_source(e, r, ep, &src);
	if (!e)
		return;
	ep->notify.state &= (uint8_t)~EP_NOTIFY_NO_ACK; /* alive: not "no-ack" any more */
	if (kind == NOTIFY_CONTACT_POLL &&
	    notify_round_settle(e, ep, NOTIFY_FLAGS_CHANGE, NOTIFY_BY_POLL))
		e->ctr[NOTIFY_C_POLLED]++; /* the poll's answer carries all of it */
	notify_round_recontact(e, ep, now);
}
