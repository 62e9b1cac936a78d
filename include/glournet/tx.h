/*
 * The TX path: frames from the control plane out of the port (notifies,
 * the debug send, and what the kernel sends on the exception interface),
 * on the port's one TX queue, which only the control thread touches.
 *
 * tx_path_send builds an Ethernet/IP/UDP frame from the collector's
 * heartbeat address and UDP port to any address: the route mirror
 * (neigh_route.h) picks the next hop (on-link, or a gateway), the
 * neighbour table (neigh.h) its MAC. Frames are batched and go out when a
 * batch fills or at tx_path_flush.
 */
#ifndef GLOURNET_TX_H
#define GLOURNET_TX_H

#include <errno.h>
#include <stdint.h>

#include "glournet/net_addr.h"

struct rte_mbuf;
struct rte_mempool;
struct neigh_table;
struct route_table;
struct nl_link;

#define TX_COUNTERS(X)                                                              \
	X(SENT,      "sent")          /* taken by the port */                          \
	X(NO_SOURCE, "no_source")     /* no collector address of that family */        \
	X(NO_ROUTE,  "no_route")      /* no route out of the exception interface */    \
	X(NO_NEIGH,  "no_neighbour")  /* next hop not resolved yet (asked): retry */   \
	X(TX_FULL,   "tx_full")       /* dropped: the port's TX queue was full */      \
	X(NO_MBUF,   "no_mbuf")       /* dropped: the pool was empty */                \
	X(TOO_BIG,   "too_big")       /* payload over TX_PAYLOAD_MAX */

enum tx_counter {
#define TX_COUNTER_ENUM(name, str) TX_C_##name,
	TX_COUNTERS(TX_COUNTER_ENUM)
#undef TX_COUNTER_ENUM
	TX_COUNTER_COUNT
};

const char *tx_counter_name(enum tx_counter c);

#define TX_BATCH 32

struct tx_path {
	uint16_t port, queue;
	struct rte_mempool *pool;
	uint8_t src_mac[6];
	struct gn_addr src4, src6;     /* family 0: none of that family */
	uint16_t src_port;             /* host order: the heartbeat port */
	struct neigh_table *neigh;
	const struct route_table *routes;
	struct nl_link *nl;            /* asks the kernel to resolve; NULL: nobody to ask */
	struct rte_mbuf *batch[TX_BATCH];
	uint16_t nbatch;
	uint64_t ctr[TX_COUNTER_COUNT];
};

/*
 * Queues one UDP datagram to dst:dst_port. 0: queued (sent at the next
 * flush or when the batch fills); -EADDRNOTAVAIL no source address of that
 * family, -ENETUNREACH no route, -EAGAIN the next hop is being resolved
 * (the kernel was asked; the caller retries later), -ENOBUFS no mbuf,
 * -EMSGSIZE too big. Each is counted.
 */
int tx_path_send(struct tx_path *tx, const struct gn_addr *dst, uint16_t dst_port,
		 const void *payload, uint16_t len);
/* Sends the batch; what the port does not take is freed and counted
 * tx_full. Returns how many the port took. */
unsigned tx_path_flush(struct tx_path *tx);
/* Frames built elsewhere (the kernel's): flushes the batch first, keeping
 * the order, then sends these. Returns how many the port took; the rest
 * are freed (the caller counts them). */
uint16_t tx_path_raw(struct tx_path *tx, struct rte_mbuf **pkts, uint16_t n);

/*
 * How the control plane (control/, which never links DPDK) holds the TX
 * path: two calls behind a handle, so the next issue's notify sender and
 * its unit tests work against a fake as well as the port.
 */
struct tx_ops {
	int (*send)(void *ctx, const struct gn_addr *dst, uint16_t dst_port, const void *payload,
		    uint16_t len);
	unsigned (*flush)(void *ctx);
};

struct tx_handle {
	const struct tx_ops *ops;   /* NULL: no port (tests, start-up) */
	void *ctx;
};

static inline int tx_send(const struct tx_handle *h, const struct gn_addr *dst,
			  uint16_t dst_port, const void *payload, uint16_t len)
{
	return h->ops ? h->ops->send(h->ctx, dst, dst_port, payload, len) : -ENETDOWN;
}

static inline unsigned tx_flush(const struct tx_handle *h)
{
	return h->ops ? h->ops->flush(h->ctx) : 0;
}

#endif
