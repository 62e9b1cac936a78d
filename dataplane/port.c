/*
 * Port bring-up. The PMD decides what it can do (RSS, queue count), so we
 * ask dev_info first and only request what it offers: the same code runs on
 * net_null, net_af_packet, net_af_xdp, net_tap and real NICs.
 */
#include <errno.h>

#include <rte_ethdev.h>

#define LOG_TAG "port"
#include "glournet/log.h"
#include "glournet/port.h"

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
	uint16_t ntx = nqueues <= info.max_tx_queues ? nqueues : info.max_tx_queues;
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
