/*
 * Bringing up the one DPDK port glournet listens on, whatever the PMD.
 */
#ifndef GLOURNET_PORT_H
#define GLOURNET_PORT_H

#include <stdint.h>
#include <string.h>

struct rte_mempool;

/* Per-queue counters DPDK keeps (RTE_ETHDEV_QUEUE_STAT_CNTRS). */
#define PORT_QUEUE_STATS 16

struct port_link {
	int up;
	uint32_t speed_mbps; /* 0: unknown */
	int full_duplex;
	int autoneg;
};

/* The driver's extended counters (rte_eth_xstats) that count a loss, and
 * only those not 0: at most this many, the first ones the PMD lists. */
#define PORT_XSTATS_MAX 24
#define PORT_XSTAT_NAME 64 /* RTE_ETH_XSTATS_NAME_SIZE */

struct port_xstat {
	char name[PORT_XSTAT_NAME];
	uint64_t value;
};

/* Whether an xstat by this name counts frames lost (dropped, missed, in
 * error, no buffer, discarded), as PMDs name them: "rx_missed_errors",
 * "rx_q0_errors", "rx_mbuf_allocation_errors", "rx_dropped", "rx_discards_phy",
 * "rx_fifo_full"... Not the packet and byte counts. */
static inline int port_xstat_is_loss(const char *name)
{
	static const char *const words[] = {"drop", "miss", "err", "nombuf", "no_buf",
					    "discard", "full", "fail", "overrun", "bad",
					    "invalid", "out_of_buffer"};
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return 1;
	return 0;
}

/* What the kernel counted under the PMD, where DPDK's own counters do not
 * look (DPDK 22.11): net_af_packet's sockets drop a frame when their ring
 * is full (PACKET_STATISTICS tp_drops: the PMD reports no imissed at all);
 * net_af_xdp reports XDP_STATISTICS rx_dropped in imissed but not the
 * ring-full or fill-ring-empty counts. Read from the port's own sockets,
 * found among the process's descriptors (port_loss.c). */
struct port_kernel {
	unsigned sockets;          /* the port's sockets found: 0, not af_packet/af_xdp */
	uint64_t packet_drops;     /* af_packet: tp_drops, summed since the start */
	uint64_t xdp_rx_dropped;   /* af_xdp: also in imissed (the PMD adds it) */
	uint64_t xdp_rx_invalid_descs;
	uint64_t xdp_rx_ring_full;
	uint64_t xdp_rx_fill_ring_empty;
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
	struct port_xstat xstats[PORT_XSTATS_MAX]; /* the losses, port_xstat_is_loss, not 0 */
	unsigned nxstats;
	struct port_kernel kernel;
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
/* The counters, the xstats of losses, what the kernel counted under the
 * PMD, and the link state, without waiting for the link. The control
 * thread's, every sweep interval: a few system calls, nothing per packet. */
int port_read_stats(uint16_t port_id, struct port_stats *out);
/* port_loss.c: the kernel's counts for the port's sockets, into *out. */
void port_loss_read(uint16_t port_id, struct port_kernel *out);
int port_read_link(uint16_t port_id, struct port_link *out);

#endif
