/*
 * Netlink (NETLINK_ROUTE) for the exception interface: giving it its
 * addresses and routes at start, mirroring the kernel's neighbours and
 * routes on it into neigh.h / neigh_route.h, and asking the kernel to
 * resolve a next hop (RTM_NEWNEIGH with NTF_USE: the kernel probes as if a
 * packet were waiting, and tells us the answer as an RTM_NEWNEIGH).
 *
 * Two sockets: `req` is blocking, for requests that want their answer now
 * (start-up, dumps); `ev` is non-blocking and subscribed to the neighbour
 * and route groups, drained by the control thread every turn, and carries
 * the fire-and-forget resolution requests. Building and parsing are pure
 * functions over buffers, so the unit tests run them on canned messages.
 */
#ifndef GLOURNET_NEIGH_NETLINK_H
#define GLOURNET_NEIGH_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glournet/neigh.h"
#include "glournet/neigh_route.h"
#include "glournet/net_addr.h"

struct nlmsghdr;

#define NL_COUNTERS(X)                                                              \
	X(MESSAGES,      "messages")       /* netlink messages read */                \
	X(ROUTE_UPDATES, "route_updates")  /* RTM_NEWROUTE/DELROUTE applied */        \
	X(IGNORED,       "ignored")        /* another interface, table or type */     \
	X(ERRORS,        "errors")         /* NLMSG_ERROR answers, malformed messages */ \
	X(OVERRUNS,      "overruns")       /* the socket overflowed (ENOBUFS): re-dumped */ \
	X(RESOLVE_SENT,  "resolve_sent")   /* NTF_USE requests sent */                 \
	X(RESOLVE_FAILED, "resolve_failed") /* could not be sent (socket full) */

enum nl_counter {
#define NL_COUNTER_ENUM(name, str) NL_C_##name,
	NL_COUNTERS(NL_COUNTER_ENUM)
#undef NL_COUNTER_ENUM
	NL_COUNTER_COUNT
};

const char *nl_counter_name(enum nl_counter c);

/* One neighbour message, decoded. */
struct nl_neigh {
	uint8_t family;
	int ifindex;
	uint16_t nud;             /* NUD_* */
	uint8_t flags;            /* NTF_* */
	struct gn_addr dst;
	bool has_lladdr;
	uint8_t lladdr[6];
};

/* One route message, decoded (the first next hop of a multipath route). */
struct nl_route {
	uint8_t family, dst_len, type, protocol, scope;
	uint32_t table;
	struct gn_addr dst;       /* family set, zero for a default route */
	bool has_gw;
	struct gn_addr gw;
	int oif;                  /* 0: none given */
	uint32_t priority;
};

/* 0, -EBADMSG (truncated or malformed), -EAFNOSUPPORT (not IPv4/IPv6 or
 * not Ethernet-sized link-layer address), -ENOMSG (another type). */
int nl_parse_neigh(const struct nlmsghdr *h, struct nl_neigh *out);
int nl_parse_route(const struct nlmsghdr *h, struct nl_route *out);
/* The table's view of a kernel NUD state; NEIGH_EMPTY means "forget it". */
enum neigh_state nl_neigh_state(uint16_t nud);

/* What one message means for the mirrors of interface `ifindex` (routes of
 * the main table, unicast only). Returns 1 when it changed a table, 0 when
 * it was for someone else, negative on a malformed message. */
int nl_apply(const struct nlmsghdr *h, int ifindex, struct neigh_table *neigh,
	     struct route_table *routes, uint32_t now);

/* Calls fn for each message of a datagram (stops at NLMSG_DONE). Returns 1
 * when NLMSG_DONE was seen, 0 otherwise, -EBADMSG for a truncated buffer;
 * an NLMSG_ERROR is handed to fn like any message. */
typedef void nl_msg_fn(void *ctx, const struct nlmsghdr *h);
int nl_walk(const void *buf, size_t len, nl_msg_fn *fn, void *ctx);

/* Request builders: the message's length, or 0 when `room` is too small. */
size_t nl_build_addr(void *buf, size_t room, uint32_t seq, int ifindex,
		     const struct gn_addr *a, uint8_t plen);
size_t nl_build_route(void *buf, size_t room, uint32_t seq, int ifindex,
		      const struct route_entry *r);
size_t nl_build_neigh_use(void *buf, size_t room, uint32_t seq, int ifindex,
			  const struct gn_addr *a);
size_t nl_build_dump(void *buf, size_t room, uint32_t seq, uint16_t type, uint8_t family);

struct nl_link {
	int req_fd, ev_fd;        /* -1: closed */
	int ifindex;              /* the exception interface */
	uint32_t seq;
	bool resync;              /* ev overflowed: dump again */
	uint64_t ctr[NL_COUNTER_COUNT];
};

/* Opens both sockets (ev subscribed to neighbours and IPv4/IPv6 routes).
 * 0 or -errno. */
int nl_link_open(struct nl_link *l, int ifindex);
void nl_link_close(struct nl_link *l);
/* Sends a built request on `req` with NLM_F_ACK and waits for the answer:
 * 0 or the kernel's -errno. */
int nl_link_request(struct nl_link *l, void *msg, size_t len);
/* Dumps neighbours and routes of both families into the mirrors. */
int nl_link_dump(struct nl_link *l, struct neigh_table *neigh, struct route_table *routes,
		 uint32_t now);
/* Reads what `ev` has (up to `budget` datagrams), applying it; re-dumps
 * after an overrun. Returns how many messages changed a table. */
unsigned nl_link_drain(struct nl_link *l, struct neigh_table *neigh, struct route_table *routes,
		       uint32_t now, unsigned budget);
/* Fire and forget on `ev`: the kernel's answer comes as an RTM_NEWNEIGH. */
void nl_link_resolve(struct nl_link *l, const struct gn_addr *nh);

#endif
