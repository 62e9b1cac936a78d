/*
 * The heartbeat addresses an endpoint is given (heartbeat.addrs in the
 * register and poll answers, docs/protocol.md §3). One collector: its own
 * --heartbeat addresses. Several on one PostgreSQL store (issue 16): every
 * live collector's, as the `collectors` table holds them (cluster.h's
 * view), this collector's first (an agent that sends to the first keeps
 * its heartbeats where it polls), each address once, at most
 * HB_ADDRS_MAX. The hash names the list: it is part of the poll's ETag
 * and of its cached body (api_poll.c), so a collector joining or going
 * away reaches every agent at its next poll.
 */
#ifndef GLOURNET_HB_ADDRS_H
#define GLOURNET_HB_ADDRS_H

#include <stdbool.h>
#include <stdint.h>

struct cluster_view;

#define HB_ADDRS_MAX 16
#define HB_ADDR_LEN  48 /* an IPv6 address's text and its NUL */

struct hb_addrs {
	unsigned n;
	char addr[HB_ADDRS_MAX][HB_ADDR_LEN];
	uint32_t hash; /* FNV-1a over the list in order; 0 when empty */
};

/* `own` (n_own addresses) first, then the addresses (comma-separated) of
 * every collector of `view` but `self` seen within `live_s` seconds, in
 * the view's order (by name), each once; an address too long for
 * HB_ADDR_LEN is skipped, the list stops at HB_ADDRS_MAX. `view` NULL:
 * own only. Returns true when the list differs from what `out` held. */
bool hb_addrs_merge(struct hb_addrs *out, const char *const *own, unsigned n_own,
		    const struct cluster_view *view, const char *self, double live_s);

#endif
