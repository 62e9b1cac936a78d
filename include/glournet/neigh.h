/*
 * The neighbour table: next-hop address -> MAC, for frames the control
 * plane sends out of the port. Fed by the kernel (netlink on the exception
 * interface: the kernel resolves, we mirror) and by the source addresses of
 * frames that come through the exception path from on-link hosts (their
 * ARP and ND, mostly). The workers never touch it: a heartbeat costs
 * nothing here. Owned by the control thread, no locking.
 *
 * Open addressing with linear probing over a power-of-two array keyed by
 * SipHash with a random key (the addresses come from the network), deletion
 * by backward shift (no tombstones). Frame-learned entries may fill at most
 * 3/4 of the table, so a flood of forged sources cannot keep out what the
 * kernel resolves.
 */
#ifndef GLOURNET_NEIGH_H
#define GLOURNET_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "glournet/net_addr.h"

struct route_table;

enum neigh_state {
	NEIGH_EMPTY = 0,
	NEIGH_INCOMPLETE,     /* resolution asked, no MAC yet */
	NEIGH_REACHABLE,      /* the kernel confirmed it (or permanent) */
	NEIGH_STALE,          /* the kernel has a MAC it has not confirmed lately: usable */
	NEIGH_LEARNED,        /* seen as the source of a frame from an on-link host: usable */
	NEIGH_FAILED,         /* the kernel gave up resolving it */
};

enum neigh_source { NEIGH_FROM_KERNEL, NEIGH_FROM_FRAME, NEIGH_FROM_US };

#define NEIGH_COUNTERS(X)                                                           \
	X(KERNEL_UPDATES, "kernel_updates")  /* RTM_NEWNEIGH applied */              \
	X(KERNEL_DELETES, "kernel_deletes")  /* RTM_DELNEIGH applied */              \
	X(LEARNED,        "learned")         /* new or changed MAC from a frame */   \
	X(REFRESHED,      "refreshed")       /* frame confirmed a known entry */     \
	X(RESOLVE_ASKED,  "resolve_asked")   /* asked the kernel to resolve */       \
	X(EXPIRED,        "expired")         /* removed by age */                    \
	X(TABLE_FULL,     "table_full")      /* not added: table (or learned share) full */

enum neigh_counter {
#define NEIGH_COUNTER_ENUM(name, str) NEIGH_C_##name,
	NEIGH_COUNTERS(NEIGH_COUNTER_ENUM)
#undef NEIGH_COUNTER_ENUM
	NEIGH_COUNTER_COUNT
};

struct neigh_entry {
	struct gn_addr addr;
	uint8_t mac[6];
	uint8_t state;        /* enum neigh_state; NEIGH_EMPTY: free cell */
	uint8_t source;       /* enum neigh_source */
	uint32_t updated;     /* coarse seconds of the last change or confirmation */
	uint32_t asked;       /* last resolution request, 0: never */
};

struct neigh_table {
	struct neigh_entry *cells;
	uint32_t mask;        /* cells - 1 */
	uint32_t count, learned, max;
	uint32_t cursor;      /* the expiry walk's next cell */
	uint32_t learned_ttl; /* a frame-learned entry nobody confirms is dropped after this */
	uint32_t incomplete_ttl;  /* an unanswered resolution is forgotten after this */
	uint8_t key[16];
	uint64_t ctr[NEIGH_COUNTER_COUNT];
};

#define NEIGH_LEARNED_TTL    300
#define NEIGH_INCOMPLETE_TTL 5
#define NEIGH_ASK_EVERY      1     /* seconds between two resolution requests */

/* Room for `max` entries (1..1 << 24). 0 or -ENOMEM/-EINVAL. */
int neigh_init(struct neigh_table *t, uint32_t max);
void neigh_free(struct neigh_table *t);
const char *neigh_state_name(enum neigh_state s);
const char *neigh_source_name(enum neigh_source s);
const char *neigh_counter_name(enum neigh_counter c);

struct neigh_entry *neigh_lookup(const struct neigh_table *t, const struct gn_addr *a);
/* What the kernel says: creates or overwrites (mac may be NULL for the
 * states without one). 0, or -ENOSPC (counted). */
int neigh_set(struct neigh_table *t, const struct gn_addr *a, enum neigh_state st,
	      const uint8_t *mac, uint32_t now);
int neigh_delete(struct neigh_table *t, const struct gn_addr *a);
/* A frame from `a` came with source MAC `mac`: a new entry, a refresh, or
 * (when no kernel entry holds a MAC) a changed MAC. Kernel entries with a
 * MAC win: the kernel is told of the same frame and settles it. */
void neigh_learn(struct neigh_table *t, const struct gn_addr *a, const uint8_t mac[6],
		 uint32_t now);

/*
 * The MAC to send to next hop `nh`: 0 with mac set; -EAGAIN when there is
 * none yet, and then *ask says whether to ask the kernel now (at most once
 * every NEIGH_ASK_EVERY per next hop: an INCOMPLETE entry remembers it).
 * A STALE or LEARNED entry is used, and *ask is set (rate-limited too) when
 * it is older than the learned TTL, so the kernel re-confirms it.
 */
int neigh_resolve(struct neigh_table *t, const struct gn_addr *nh, uint32_t now, uint8_t mac[6],
		  bool *ask);

/* Drops every entry the kernel gave us (before a fresh dump, after the
 * netlink socket overflowed and updates were lost); keeps learned ones. */
void neigh_forget_kernel(struct neigh_table *t);

/* Walks up to `budget` cells: drops frame-learned entries past their TTL
 * and unanswered resolutions; returns how many went. One cell may be seen
 * twice or skipped once when a removal shifts its neighbours; the next
 * pass catches it. */
unsigned neigh_expire_step(struct neigh_table *t, uint32_t now, unsigned budget);

/*
 * Learning from a frame that came through the exception path: ARP sender
 * (request or reply), else the IPv4/IPv6 source, when the route mirror says
 * that source is on-link and it is not a special address. Returns 1 when
 * it learned or refreshed something, 0 otherwise. Untagged frames only
 * (tagged ones are the kernel's business on VLAN interfaces).
 */
int neigh_learn_frame(struct neigh_table *t, const struct route_table *routes,
		      const uint8_t *frame, uint32_t len, uint32_t now);

#endif
