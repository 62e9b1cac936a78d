/*
 * Bringing up the one DPDK port glournet listens on, whatever the PMD.
 */
#ifndef GLOURNET_PORT_H
#define GLOURNET_PORT_H

#include <stdint.h>

struct rte_mempool;

/* What the port itself counted: frames it dropped never reach a worker. */
struct port_stats {
	uint64_t ipackets;
	uint64_t imissed;     /* RX ring full: the workers fell behind */
	uint64_t ierrors;
	uint64_t rx_nombuf;   /* no mbuf left in the pool */
};

/* The RX mbuf pool (`n` mbufs of the default size), laid out as the
 * port's PMD needs (packed for net_af_xdp: port.c says why); NULL with
 * rte_errno set. */
struct rte_mempool *port_rx_pool_create(uint16_t port_id, const char *name, unsigned n,
					unsigned cache);
/* Configures `nqueues` RX (and as many TX) queues, RSS when the PMD has it,
 * promiscuous mode, and starts the port. 0 or a negative errno. */
int port_start(uint16_t port_id, uint16_t nqueues, uint32_t nb_desc, struct rte_mempool *pool);
void port_stop(uint16_t port_id);
int port_read_stats(uint16_t port_id, struct port_stats *out);

#endif
