/*
 * Bringing up the one DPDK port glournet listens on, whatever the PMD.
 */
#ifndef GLOURNET_PORT_H
#define GLOURNET_PORT_H

#include <stdint.h>

struct rte_mempool;

/* Per-queue counters DPDK keeps (RTE_ETHDEV_QUEUE_STAT_CNTRS). */
#define PORT_QUEUE_STATS 16

struct port_link {
	int up;
	uint32_t speed_mbps; /* 0: unknown */
	int full_duplex;
	int autoneg;
};

/* What the port itself counted: frames it dropped never reach a worker. */
struct port_stats {
	uint64_t ipackets;
	uint64_t imissed;   /* RX ring full: the workers fell behind */
	uint64_t ierrors;
	uint64_t rx_nombuf; /* no mbuf left in the pool */
	uint64_t ibytes;
	uint64_t q_ipackets[PORT_QUEUE_STATS]; /* by RX queue, where the PMD counts */
	uint64_t q_ibytes[PORT_QUEUE_STATS];
	uint64_t q_errors[PORT_QUEUE_STATS];
	struct port_link link;                 /* as of the same read */
};

/* The RX mbuf pool (`n` mbufs of the default size), laid out as the
 * port's PMD needs (packed for net_af_xdp: port.c says why); NULL with
 * rte_errno set. */
struct rte_mempool *port_rx_pool_create(uint16_t port_id, const char *name, unsigned n,
					unsigned cache);

/* How many of `want` workers get an RX queue of their own on this port
 * (all of them, or the device's maximum, which is logged). */
int port_rx_queues(uint16_t port_id, unsigned want, unsigned *got);

/* Configures `nqueues` RX queues and one TX queue, RSS on IP addresses and
 * UDP ports as far as the PMD hashes them, RX checksum offload when it has
 * it (each logged: asked, offered, used), promiscuous mode, and starts the
 * port. 0 or a negative errno. */
int port_start(uint16_t port_id, uint16_t nqueues, uint32_t nb_desc, struct rte_mempool *pool);
void port_stop(uint16_t port_id);
/* The counters and the link state, without waiting for the link. */
int port_read_stats(uint16_t port_id, struct port_stats *out);
int port_read_link(uint16_t port_id, struct port_link *out);

#endif
