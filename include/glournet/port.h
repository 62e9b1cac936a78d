/*
 * Bringing up the one DPDK port glournet listens on, whatever the PMD.
 */
#ifndef GLOURNET_PORT_H
#define GLOURNET_PORT_H

#include <stdint.h>

struct rte_mempool;

/* Configures `nqueues` RX (and as many TX) queues, RSS when the PMD has it,
 * promiscuous mode, and starts the port. 0 or a negative errno. */
int port_start(uint16_t port_id, uint16_t nqueues, uint32_t nb_desc, struct rte_mempool *pool);
void port_stop(uint16_t port_id);

#endif
