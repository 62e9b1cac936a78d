/*
 * The worker loop: burst in, decode, accept the burst, count, free; one QSBR
 * quiescent state per loop. No locks, syscalls, allocation or logging per
 * packet: the only syscall is the optional idle sleep, taken offline after a
 * long run of empty polls so an idle collector leaves the core to others.
 */
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"
#include "glournet/worker.h"

#define BURST          32
#define IDLE_POLLS     1024

_Static_assert(BURST <= HB_ACCEPT_BURST_MAX, "hb_accept_burst takes the whole burst");
/* The decoder reads the NIC's checksum verdicts straight from ol_flags. */
_Static_assert(HB_RX_IP_CSUM_GOOD == RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	       HB_RX_IP_CSUM_BAD == RTE_MBUF_F_RX_IP_CKSUM_BAD &&
	       HB_RX_L4_CSUM_GOOD == RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	       HB_RX_L4_CSUM_BAD == RTE_MBUF_F_RX_L4_CKSUM_BAD, "HB_RX_* are DPDK's bits");

/* The rare accepted heartbeat that is more than a timestamp (SHUTDOWN,
 * BOOT, a notify-ack): its time is recorded already; the control thread
 * gets it too, through the worker's own ring. */
static void pass_on(const struct worker_conf *wc, const struct hb_msg *m)
{
	struct worker_counters *ctr = wc->counters;
	if (m->type == HB_TYPE_NOTIFY_ACK)
		ctr->notify_acks++;
	else if (m->flags & HB_FLAG_SHUTDOWN)
		ctr->shutdowns++;
	else
		ctr->boots++;
	struct hb_event ev = {.id = m->id, .slot = m->slot, .time = m->time,
			      .flags = m->flags, .type = m->type};
	if (!hb_event_push(wc->events, &ev))
		ctr->events_dropped++;
}

/*
 * One burst: decode every frame, then the whole check for the burst at once
 * (hb_accept_burst: the slot lines of all heartbeats in flight together, the
 * MACs verified side by side), then count and pass on.
 */
static inline void handle_burst(const struct worker_conf *wc, const struct slot_dir *dir,
				const struct hb_window *win, struct rte_mbuf **pkts, uint16_t n)
{
	const uint8_t *pl[BURST];
	enum hb_verdict v[BURST];
	struct hb_msg msg[BURST];
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		/* Heartbeat frames are tiny: all their bytes sit in the first segment. */
		v[i] = hb_decode_frame_rx(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					  rte_pktmbuf_data_len(pkts[i]), wc->udp_port,
					  (uint32_t)pkts[i]->ol_flags, &pl[i]);
	}
	hb_accept_burst(dir, wc->index, pl, v, msg, n, win);
	for (uint16_t i = 0; i < n; i++) {
		if (v[i] == HB_ACCEPTED && (msg[i].flags || msg[i].type != HB_TYPE_HEARTBEAT))
			pass_on(wc, &msg[i]);
		wc->counters->verdict[v[i]]++;
	}
}

/*
 * Give a burst back. RX mbufs are direct, one segment, referenced once and
 * all from the queue's pool (what the fast-free TX offload assumes too):
 * then they go straight back with one rte_mempool_put_bulk, skipping
 * rte_pktmbuf_free_bulk's per-mbuf pre-free work. One segment implies no
 * next segment (the mbuf invariant), so m->next, in the mbuf's second
 * cache line, is not read. Anything else (a PMD handing out chained,
 * indirect, external or shared mbufs) takes the general path.
 */
static inline void free_burst(struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mempool *mp = pkts[0]->pool;
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		if (unlikely(m->pool != mp || !RTE_MBUF_DIRECT(m) || m->nb_segs != 1 ||
			     rte_mbuf_refcnt_read(m) != 1)) {
			rte_pktmbuf_free_bulk(pkts, n);
			return;
		}
	}
	rte_mempool_put_bulk(mp, (void *const *)pkts, n);
}

int worker_main(void *arg)
{
	const struct worker_conf *wc = arg;
	struct worker_counters *ctr = wc->counters;
	struct rte_mbuf *pkts[BURST];
	unsigned idle = 0;

	rcu_register_thread();
	while (!*wc->stop) {
		uint16_t n = rte_eth_rx_burst(wc->port_id, wc->queue, pkts, BURST);
		if (n == 0) {
			rcu_quiescent_state();
			if (wc->idle_sleep_us && ++idle >= IDLE_POLLS) {
				rcu_thread_offline();
				usleep(wc->idle_sleep_us);
				rcu_thread_online();
			}
			continue;
		}
		idle = 0;
		struct hb_window win = {
			.now = gn_coarse_now(), .window = wc->window, .skew = wc->skew,
		};
		const struct slot_dir *dir = rcu_dereference(wc->table->dir);
		handle_burst(wc, dir, &win, pkts, n);
		ctr->rx += n;
		free_burst(pkts, n);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return 0;
}
