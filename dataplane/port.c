/*
 * Port bring-up. The PMD decides what it can do (RSS, queue count), so we
 * ask dev_info first and only request what it offers: the same code runs on
 * net_null, net_af_packet, net_af_xdp, net_tap and real NICs.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#define LOG_TAG "port"
#include "glournet/log.h"
#include "glournet/port.h"

/*
 * net_af_xdp (DPDK 22.11) registers the pool as its UMEM from the first
 * memory chunk for populated_size x object size bytes. A default mbuf pool
 * keeps each object inside one page (IOVA-contiguous, for DMA), which pads
 * every 4 KiB page (--no-huge) or 2 MiB page: the pool spans more than
 * that, and the mbufs at its end lie outside the UMEM. The heartbeat path
 * never reaches them (a worker recycles the same few through its cache),
 * but mbufs the exception path frees on the control thread come back in
 * any order; once the fill ring holds only outside ones the port receives
 * nothing at all. The kernel reaches a UMEM by virtual address, so an
 * af_xdp pool needs no IOVA contiguity: pack it. (Fixed in later DPDK by
 * "net/af_xdp: parse UMEM map info from mempool".)
 */
static unsigned pool_flags(uint16_t port_id)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port_id, &info) == 0 && !strcmp(info.driver_name, "net_af_xdp"))
		return RTE_MEMPOOL_F_NO_IOVA_CONTIG;
	return 0;
}

struct rte_mempool *port_rx_pool_create(uint16_t port_id, const char *name, unsigned n,
					unsigned cache)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE,
	};
	struct rte_mempool *mp = rte_mempool_create_empty(name, n,
		sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, cache, sizeof(priv),
		rte_eth_dev_socket_id(port_id), pool_flags(port_id));
	if (!mp)
		return NULL;
	int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc == 0) {
		rte_pktmbuf_pool_init(mp, &priv);
		rc = rte_mempool_populate_default(mp);
	}
	if (rc < 0) {
		rte_mempool_free(mp);
		rte_errno = -rc;
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

/* One TX queue, whatever the worker count: workers never transmit; the
 * control thread owns queue 0 for the exception path and the TX path
 * (exception.h, tx.h). A single-queue device (af_xdp queue_count=1) is
 * the same case. */
static uint16_t tx_queues(const struct rte_eth_dev_info *info)
{
	return info->max_tx_queues ? 1 : 0;
}

int port_start(uint16_t port_id, uint16_t nqueues, uint32_t nb_desc, struct rte_mempool *pool)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf = {0};
	int rc = rte_eth_dev_info_get(port_id, &info);
	if (rc < 0)
		return rc;
	if (nqueues > info.max_rx_queues) {
		LOG(ERR, "port %u (%s) has %u RX queues, %u workers need one each",
		    port_id, info.driver_name, info.max_rx_queues, nqueues);
		return -EINVAL;
	}
	if (nqueues > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	uint16_t ntx = tx_queues(&info);
	rc = rte_eth_dev_configure(port_id, nqueues, ntx, &conf);
	if (rc < 0) {
		LOG(ERR, "port %u: configure failed: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	uint16_t nb_rx = nb_desc, nb_tx = nb_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx);
	int socket = rte_eth_dev_socket_id(port_id);
	for (uint16_t q = 0; q < nqueues; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nb_rx, socket, NULL, pool);
		if (rc < 0) {
			LOG(ERR, "port %u: rx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		rc = rte_eth_tx_queue_setup(port_id, q, nb_tx, socket, NULL);
		if (rc < 0) {
			LOG(ERR, "port %u: tx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc < 0) {
		LOG(ERR, "port %u: start failed: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	/* Heartbeats are addressed to the collector's IP, whatever MAC the
	 * sender resolved; some PMDs ignore this, which is fine. */
	rte_eth_promiscuous_enable(port_id);
	LOG(INFO, "port %u (%s): %u rx queues x %u descriptors, rss %s", port_id,
	    info.driver_name, nqueues, nb_rx, conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? "on" : "off");
	return 0;
}

int port_read_stats(uint16_t port_id, struct port_stats *out)
{
	struct rte_eth_stats st;
	int rc = rte_eth_stats_get(port_id, &st);
	if (rc < 0)
		return rc;
	*out = (struct port_stats){.ipackets = st.ipackets, .imissed = st.imissed,
				   .ierrors = st.ierrors, .rx_nombuf = st.rx_nombuf};
	return 0;
}

void port_stop(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
