/*
 * The TX path (tx.h): next hop, MAC, frame, batch, port. Runs on the
 * control thread only, the one thread that ever transmits on the port.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "glournet/coarse_clock.h"
#include "glournet/neigh.h"
#include "glournet/neigh_netlink.h"
#include "glournet/neigh_route.h"
#include "glournet/tx.h"
#include "glournet/tx_frame.h"

static int count(struct tx_path *tx, enum tx_counter c, int rc)
{
	tx->ctr[c]++;
	return rc;
}

int tx_path_send(struct tx_path *tx, const struct gn_addr *dst, uint16_t dst_port,
		 const void *payload, uint16_t len)
{
	const struct gn_addr *src = dst->family == AF_INET ? &tx->src4 : &tx->src6;
	if (len > TX_PAYLOAD_MAX)
		return count(tx, TX_C_TOO_BIG, -EMSGSIZE);
	if (!src->family || src->family != dst->family)
		return count(tx, TX_C_NO_SOURCE, -EADDRNOTAVAIL);
	struct gn_addr nh;
	if (route_next_hop(tx->routes, dst, &nh) < 0)
		return count(tx, TX_C_NO_ROUTE, -ENETUNREACH);
	struct tx_frame_hdr h = {.src = *src, .dst = *dst, .src_port = tx->src_port,
				 .dst_port = dst_port};
	bool ask;
	int rc = neigh_resolve(tx->neigh, &nh, gn_coarse_now(), h.dst_mac, &ask);
	if (ask && tx->nl)
		nl_link_resolve(tx->nl, &nh);
	if (rc < 0)
		return count(tx, TX_C_NO_NEIGH, -EAGAIN);
	struct rte_mbuf *m = rte_pktmbuf_alloc(tx->pool);
	if (!m)
		return count(tx, TX_C_NO_MBUF, -ENOBUFS);
	memcpy(h.src_mac, tx->src_mac, 6);
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	int flen = tx_frame_build(p, rte_pktmbuf_tailroom(m), &h, payload, len);
	if (flen < 0) {
		rte_pktmbuf_free(m);
		return count(tx, TX_C_TOO_BIG, -EMSGSIZE);
	}
	m->data_len = m->pkt_len = (uint32_t)flen;
	tx->batch[tx->nbatch++] = m;
	if (tx->nbatch == TX_BATCH)
		tx_path_flush(tx);
	return 0;
}

unsigned tx_path_flush(struct tx_path *tx)
{
	uint16_t n = tx->nbatch;
	if (!n)
		return 0;
	uint16_t sent = rte_eth_tx_burst(tx->port, tx->queue, tx->batch, n);
	if (sent < n) {
		rte_pktmbuf_free_bulk(tx->batch + sent, n - sent);
		tx->ctr[TX_C_TX_FULL] += n - sent;
	}
	tx->ctr[TX_C_SENT] += sent;
	tx->nbatch = 0;
	return sent;
}

uint16_t tx_path_raw(struct tx_path *tx, struct rte_mbuf **pkts, uint16_t n)
{
	tx_path_flush(tx);
	uint16_t sent = rte_eth_tx_burst(tx->port, tx->queue, pkts, n);
	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	return sent;
}
