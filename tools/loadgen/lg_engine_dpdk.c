/*
 * The DPDK engine: whole Ethernet/IP/UDP frames into rte_eth_tx_burst on
 * any port EAL probes from the arguments after `--` (net_af_xdp or
 * net_af_packet on a veth, net_memif, net_pcap tx_pcap=FILE, a real NIC).
 * A full TX ring is retried a bounded number of times, then the frames are
 * freed and counted as tx drops: the generator never blocks on the port.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "lg_engine.h"
#include "lg_frame.h"

#define LG_DPDK_MBUFS   8191
#define LG_DPDK_TX_DESC 1024
#define LG_DPDK_RX_DESC 256

struct lg_dpdk {
	uint16_t port;
	unsigned tx_retries;
	struct rte_mempool *pool;
	struct lg_frame_tmpl tmpl;
	uint64_t nombuf;
	bool eal_up, started;
};

static struct lg_dpdk lg_dpdk_state; /* EAL is once per process anyway */

static int dpdk_fail(struct lg_engine *e, int rc, const char *what)
{
	snprintf(e->err, sizeof(e->err), "%s: %s", what, rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

static int dpdk_open(struct lg_engine *e, const struct lg_opts *o)
{
	struct lg_dpdk *d = &lg_dpdk_state;
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	struct lg_frame_cfg fc = {.family = o->family,
				  .src_port = o->src_port,
				  .dst_port = o->port};
	uint16_t nb_rx = LG_DPDK_RX_DESC, nb_tx = LG_DPDK_TX_DESC;
	int rc, socket;

	memset(d, 0, sizeof(*d));
	d->tx_retries = o->tx_retries;
	e->priv = d;
	if (rte_eal_init(o->eal_argc, o->eal_argv) < 0)
		return dpdk_fail(e, rte_errno, "EAL initialisation (the arguments after --)");
	d->eal_up = true;
	if (o->have_port_id) {
		if (!rte_eth_dev_is_valid_port(o->port_id)) {
			snprintf(e->err, sizeof(e->err), "--port-id %u: no such DPDK port",
				 o->port_id);
			return -ENODEV;
		}
		d->port = o->port_id;
	} else {
		uint16_t p;
		bool found = false;

		RTE_ETH_FOREACH_DEV(p)
		{
			d->port = p;
			found = true;
			break;
		}
		if (!found) {
			snprintf(e->err, sizeof(e->err),
				 "no DPDK port (give one with --vdev or -a after --)");
			return -ENODEV;
		}
	}
	if ((rc = rte_eth_dev_info_get(d->port, &info)) < 0)
		return dpdk_fail(e, rc, "rte_eth_dev_info_get");
	socket = rte_eth_dev_socket_id(d->port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	d->pool = rte_pktmbuf_pool_create("lg_tx_pool", LG_DPDK_MBUFS, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!d->pool)
		return dpdk_fail(e, rte_errno, "mbuf pool");
	/* One RX queue too: af_xdp creates its socket per queue pair. */
	if ((rc = rte_eth_dev_configure(d->port, 1, 1, &conf)) < 0)
		return dpdk_fail(e, rc, "rte_eth_dev_configure");
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(d->port, &nb_rx, &nb_tx)) < 0)
		return dpdk_fail(e, rc, "rte_eth_dev_adjust_nb_rx_tx_desc");
	if ((rc = rte_eth_rx_queue_setup(d->port, 0, nb_rx, (unsigned)socket, NULL, d->pool)) < 0)
		return dpdk_fail(e, rc, "rte_eth_rx_queue_setup");
	if ((rc = rte_eth_tx_queue_setup(d->port, 0, nb_tx, (unsigned)socket, NULL)) < 0)
		return dpdk_fail(e, rc, "rte_eth_tx_queue_setup");
	if ((rc = rte_eth_dev_start(d->port)) < 0)
		return dpdk_fail(e, rc, "rte_eth_dev_start");
	d->started = true;
	if (o->have_src_mac) {
		memcpy(fc.src_mac, o->src_mac, 6);
	} else {
		if ((rc = rte_eth_macaddr_get(d->port, &mac)) < 0)
			return dpdk_fail(e, rc, "rte_eth_macaddr_get");
		memcpy(fc.src_mac, mac.addr_bytes, 6);
	}
	memcpy(fc.dst_mac, o->dst_mac, 6);
	memcpy(fc.src_ip, o->src_ip, 16);
	memcpy(fc.dst_ip, o->dst_ip, 16);
	if ((rc = lg_frame_init(&d->tmpl, &fc)) < 0) {
		snprintf(e->err, sizeof(e->err), "frame template: bad address family");
		return rc;
	}
	rte_eth_stats_reset(d->port);
	fprintf(stderr, LG_PROG ": dpdk port %u (%s), %u TX descriptors\n", d->port,
		info.driver_name, nb_tx);
	return 0;
}

static unsigned dpdk_send(struct lg_engine *e, const uint8_t (*payloads)[HB_PAYLOAD_LEN],
			  unsigned n)
{
	struct lg_dpdk *d = e->priv;
	struct rte_mbuf *m[LG_BATCH_MAX];
	unsigned sent = 0, tries = 0;

	if (rte_pktmbuf_alloc_bulk(d->pool, m, n) != 0) {
		d->nombuf += n;
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint16_t len = lg_frame_build(&d->tmpl, payloads[i], p);

		m[i]->data_len = len;
		m[i]->pkt_len = len;
	}
	while (sent < n) {
		sent += rte_eth_tx_burst(d->port, 0, m + sent, (uint16_t)(n - sent));
		if (sent < n) {
			if (tries++ >= d->tx_retries)
				break;
			e->retries++;
		}
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	return sent;
}

static void dpdk_report(struct lg_engine *e, char *buf, size_t len)
{
	struct lg_dpdk *d = e->priv;
	struct rte_eth_stats st;

	if (!d || !d->started || rte_eth_stats_get(d->port, &st) < 0) {
		snprintf(buf, len, "\"port\":null");
		return;
	}
	snprintf(buf, len,
		 "\"port\":{\"opackets\":%" PRIu64 ",\"oerrors\":%" PRIu64 ",\"nombuf\":%" PRIu64
		 "}",
		 st.opackets, st.oerrors, d->nombuf);
}

static void dpdk_close(struct lg_engine *e)
{
	struct lg_dpdk *d = e->priv;

	if (!d)
		return;
	if (d->started) {
		rte_eth_dev_stop(d->port);
		rte_eth_dev_close(d->port);
	}
	if (d->pool)
		rte_mempool_free(d->pool);
	if (d->eal_up)
		rte_eal_cleanup();
	e->priv = NULL;
}

const struct lg_engine_ops lg_engine_dpdk_ops = {
	.name = "dpdk",
	.open = dpdk_open,
	.send = dpdk_send,
	.report = dpdk_report,
	.close = dpdk_close,
};
