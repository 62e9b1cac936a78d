/*
 * The kernel's routes out of the exception interface, mirrored (netlink
 * dump at start, RTM_NEWROUTE/RTM_DELROUTE after): they decide whether a
 * destination is on-link (the next hop is the destination itself) or
 * behind a gateway. A handful of routes, so a linear longest-prefix match:
 * no syscall per frame sent, unlike asking the kernel each time.
 */
#ifndef GLOURNET_NEIGH_ROUTE_H
#define GLOURNET_NEIGH_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "glournet/net_addr.h"

#define ROUTE_MAX 256

struct route_entry {
	struct gn_addr prefix;    /* host bits cleared */
	uint8_t plen;
	bool has_gw;              /* false: on-link */
	struct gn_addr gw;
	uint32_t metric;          /* the kernel's priority; lower wins a tie */
};

struct route_table {
	struct route_entry r[ROUTE_MAX];
	unsigned n;
	uint64_t full;            /* routes not mirrored: table full */
};

/* "PREFIX via GW [metric N]", "default via GW [metric N]" (the family
 * from GW) or "PREFIX [metric N]" (on-link): 0, or -EINVAL with `why` set
 * to what is wrong. */
int route_parse(const char *text, struct route_entry *out, const char **why);

/* Adds or replaces the route with the same prefix, length and metric (the
 * kernel's identity for a route in one table). 0 or -ENOSPC. */
int route_upsert(struct route_table *t, const struct route_entry *r);
/* 0, or -ENOENT. */
int route_delete(struct route_table *t, const struct route_entry *r);
/* The next hop towards dst: dst itself on-link, else the gateway. 0, or
 * -ENETUNREACH when no route out of the interface covers dst. */
int route_next_hop(const struct route_table *t, const struct gn_addr *dst, struct gn_addr *nh);
/* Whether dst is on-link (its best route has no gateway). */
bool route_on_link(const struct route_table *t, const struct gn_addr *dst);

#endif
