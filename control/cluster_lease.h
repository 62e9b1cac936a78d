/*
 * The decider lease, as this collector sees it: pure logic over the
 * answers of the database (cluster.c runs the statements), so it is
 * tested without a server. The database holds one row (holder, epoch,
 * expires_at = now() + lease on the primary's clock); the holder renews it
 * every lease/3, any other collector takes it with epoch + 1 once it has
 * expired. Locally, the holder decides only while its last renewal,
 * counted from when the statement was SENT, is younger than the lease
 * less a margin: the server's expiry is later than that (its now() came
 * after the send), so a holder cut off from the database stops deciding
 * before anyone can take over. The fence (store.c) is what makes it safe
 * even when the local clock or a stall lies: every status write checks the
 * epoch in its own transaction.
 */
#ifndef GLOURNET_CLUSTER_LEASE_H
#define GLOURNET_CLUSTER_LEASE_H

#include <stdbool.h>
#include <stdint.h>

/* Margin of the local validity: a tenth of the lease, at least 200 ms. */
uint64_t lease_margin_ns(uint64_t lease_ns);

struct lease_state {
	uint64_t lease_ns;   /* --lease */
	bool deciding;       /* we hold it, as of our last answer and the clock */
	int64_t epoch;       /* ours while deciding; the last seen otherwise */
	uint64_t renewed_ns; /* when the last successful renewal or take was sent */
	bool alone;          /* the last answer saw no other live collector */
	uint64_t took;       /* takes so far */
	uint64_t lost;       /* step-downs so far */
};

enum lease_event { LEASE_NONE, LEASE_TOOK, LEASE_RENEWED, LEASE_LOST };

/* What the next round runs: true, the renewal (UPDATE ... WHERE holder = us
 * AND epoch = ours); false, the take (UPDATE ... WHERE expires_at < now()). */
static inline bool lease_wants_renewal(const struct lease_state *l)
{
	return l->deciding;
}

/* The round's answer. `ok`: the statement ran (false: an error, the
 * connection lost); `row`: it returned the lease's row, with `epoch`;
 * `sent_ns` when it was sent (monotonic). A renewal without a row, or a
 * take's row, change who decides; an error changes nothing at once (the
 * lease runs out by lease_tick). */
enum lease_event lease_answer(struct lease_state *l, bool ok, bool row, int64_t epoch,
			      uint64_t sent_ns);
/* Steps down when the last renewal is older than the lease less the
 * margin (LEASE_LOST), else LEASE_NONE. Called before every decision.
 * Except alone: a collector whose last answer showed no other live
 * collector keeps deciding through a loss of the store, as one collector
 * always did (its writes still pass the fence only if nobody took the
 * lease meanwhile; a renewal that finds another holder steps it down). */
enum lease_event lease_tick(struct lease_state *l, uint64_t now_ns);

#endif
