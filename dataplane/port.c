/*
 * Port bring-up. The PMD decides what it can do (RSS, queue count, RX
 * checksum offload), so we ask dev_info first and only request what it
 * offers, and say in the log what was asked and what is used: the same
 * code runs on net_null, net_af_packet, net_af_xdp, net_tap and real NICs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
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

_Static_assert(PORT_QUEUE_STATS == RTE_ETHDEV_QUEUE_STAT_CNTRS, "port_stats holds DPDK's queues");

int port_rx_queues(uint16_t port_id, unsigned want, unsigned *got)
{
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(port_id, &info);
	if (rc < 0)
		return rc;
	unsigned max = info.max_rx_queues ? info.max_rx_queues : 1;
	*got = want <= max ? want : max;
	if (*got < want)
		LOG(WARN, "port %u (%s) has %u RX queue%s: %u worker%s, %u lcore%s left idle "
		    "(give EAL -l one main lcore plus %u)", port_id, info.driver_name, max,
		    max == 1 ? "" : "s", *got, *got == 1 ? "" : "s", want - *got,
		    want - *got == 1 ? "" : "s", *got);
	return 0;
}

/* RSS hash types, by name, for the log. */
static void rss_names(uint64_t hf, char *buf, size_t len)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{RTE_ETH_RSS_IPV4, "ipv4"}, {RTE_ETH_RSS_FRAG_IPV4, "ipv4-frag"},
		{RTE_ETH_RSS_NONFRAG_IPV4_UDP, "ipv4-udp"},
		{RTE_ETH_RSS_NONFRAG_IPV4_OTHER, "ipv4-other"}, {RTE_ETH_RSS_IPV6, "ipv6"},
		{RTE_ETH_RSS_FRAG_IPV6, "ipv6-frag"}, {RTE_ETH_RSS_NONFRAG_IPV6_UDP, "ipv6-udp"},
		{RTE_ETH_RSS_NONFRAG_IPV6_OTHER, "ipv6-other"}, {RTE_ETH_RSS_IPV6_EX, "ipv6-ex"},
		{RTE_ETH_RSS_IPV6_UDP_EX, "ipv6-udp-ex"},
	};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (hf & names[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i].name);
	if (!buf[0])
		snprintf(buf, len, "none");
}

/*
 * RSS on the addresses and UDP ports, so that the heartbeats of many
 * endpoints spread over the queues while one endpoint's stay on one
 * (its timestamps are written by one worker; any worker would do, since
 * the sweep takes the max, but one keeps its lines in one cache).
 */
static void rss_conf(uint16_t port_id, const struct rte_eth_dev_info *info, uint16_t nqueues,
		     struct rte_eth_conf *conf)
{
	if (nqueues < 2)
		return;
	const uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
	uint64_t use = want & info->flow_type_rss_offloads;
	char a[256], o[256], u[256];
	rss_names(want, a, sizeof(a));
	rss_names(info->flow_type_rss_offloads, o, sizeof(o));
	rss_names(use, u, sizeof(u));
	if (!use) {
		LOG(WARN, "port %u (%s): %u RX queues but no RSS (asked %s, the device hashes "
		    "none of them): the PMD spreads frames its own way (af_packet: kernel fanout)",
		    port_id, info->driver_name, nqueues, a);
		return;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_hf = use;
	LOG(INFO, "port %u: RSS asked %s; device offers %s; using %s", port_id, a, o, u);
}

/* The NIC's checksum verdicts land in the mbuf's ol_flags, where the
 * decoder takes GOOD for checked (hb_decode.h); without the offload every
 * checksum is checked in software. */
static void rx_offloads(uint16_t port_id, const struct rte_eth_dev_info *info,
			struct rte_eth_conf *conf)
{
	const uint64_t want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	uint64_t use = want & info->rx_offload_capa;
	conf->rxmode.offloads |= use;
	LOG(INFO, "port %u: RX checksum offload: IPv4 header %s, UDP %s", port_id,
	    use & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM ? "by the NIC" : "in software",
	    use & RTE_ETH_RX_OFFLOAD_UDP_CKSUM ? "by the NIC" : "in software");
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
	rss_conf(port_id, &info, nqueues, &conf);
	rx_offloads(port_id, &info, &conf);
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
	LOG(INFO, "port %u (%s): %u rx queue%s x %u descriptors, rss %s", port_id,
	    info.driver_name, nqueues, nqueues == 1 ? "" : "s", nb_rx,
	    conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? "on" :
	    nqueues == 1 ? "off (one queue)" : "off");
	return 0;
}

/* Every xstat that counts a loss and is not 0 (port_xstat_is_loss). */
static void read_loss_xstats(uint16_t port_id, struct port_stats *out)
{
	enum { MAX = 512 };
	static struct rte_eth_xstat_name names[MAX];
	static struct rte_eth_xstat vals[MAX];
	int n = rte_eth_xstats_get(port_id, vals, MAX);
	if (n <= 0 || n > MAX || rte_eth_xstats_get_names(port_id, names, MAX) != n)
		return;
	for (int i = 0; i < n && out->nxstats < PORT_XSTATS_MAX; i++) {
		if (!vals[i].value || vals[i].id >= (uint64_t)n ||
		    !port_xstat_is_loss(names[vals[i].id].name))
			continue;
		struct port_xstat *x = &out->xstats[out->nxstats++];
		snprintf(x->name, sizeof(x->name), "%s", names[vals[i].id].name);
		x->value = vals[i].value;
	}
}

int port_read_stats(uint16_t port_id, struct port_stats *out)
{
	struct rte_eth_stats st;
	int rc = rte_eth_stats_get(port_id, &st);
	if (rc < 0)
		return rc;
	*out = (struct port_stats){.ipackets = st.ipackets, .imissed = st.imissed,
				   .ierrors = st.ierrors, .rx_nombuf = st.rx_nombuf,
				   .ibytes = st.ibytes};
	memcpy(out->q_ipackets, st.q_ipackets, sizeof(out->q_ipackets));
	memcpy(out->q_ibytes, st.q_ibytes, sizeof(out->q_ibytes));
	memcpy(out->q_errors, st.q_errors, sizeof(out->q_errors));
	/* The control thread's port job and DPDK's telemetry thread
	 * (/glournet/port) both read: the xstats buffers and the socket
	 * counters' sums (PACKET_STATISTICS resets on read) are shared. */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	read_loss_xstats(port_id, out);
	port_loss_read(port_id, &out->kernel);
	pthread_mutex_unlock(&mu);
	return port_read_link(port_id, &out->link);
}

int port_read_link(uint16_t port_id, struct port_link *out)
{
	struct rte_eth_link l;
	int rc = rte_eth_link_get_nowait(port_id, &l);
	if (rc < 0)
		return rc;
	*out = (struct port_link){.up = l.link_status == RTE_ETH_LINK_UP,
				  .speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0
										  : l.link_speed,
				  .full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX,
				  .autoneg = l.link_autoneg == RTE_ETH_LINK_AUTONEG};
	return 0;
}

void port_stop(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
