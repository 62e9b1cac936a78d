/* The decider lease's local logic (cluster_lease.h). */
#include "control/cluster_lease.h"

uint64_t lease_margin_ns(uint64_t lease_ns)
{
	uint64_t m = lease_ns / 10;
	return m < 200000000ull ? 200000000ull : m;
}

enum lease_event lease_answer(struct lease_state *l, bool ok, bool row, int64_t epoch,
			      uint64_t sent_ns)
{
	if (!ok)
		return LEASE_NONE;
	if (l->deciding) {
		if (row && epoch == l->epoch) {
			l->renewed_ns = sent_ns;
			return LEASE_RENEWED;
		}
		/* Someone took it (our lease ran out on the server's clock). */
		l->deciding = false;
		l->lost++;
		return LEASE_LOST;
	}
	if (!row)
		return LEASE_NONE;
	l->deciding = true;
	l->epoch = epoch;
	l->renewed_ns = sent_ns;
	l->took++;
	return LEASE_TOOK;
}

enum lease_event lease_tick(struct lease_state *l, uint64_t now_ns)
{
	if (!l->deciding || l->alone)
		return LEASE_NONE;
	uint64_t valid = l->lease_ns > lease_margin_ns(l->lease_ns)
				 ? l->lease_ns - lease_margin_ns(l->lease_ns)
				 : 0;
	if (now_ns >= l->renewed_ns && now_ns - l->renewed_ns < valid)
		return LEASE_NONE;
	l->deciding = false;
	l->lost++;
	return LEASE_LOST;
}
