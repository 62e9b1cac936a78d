/*
 * The worker loop: burst in, decode, accept the burst, count, hand what is
 * not ours to the exception path, free; one QSBR quiescent state per loop.
 * No locks, syscalls, allocation or logging per packet: the only syscall is
 * the optional idle sleep, taken offline after a long run of empty polls so
 * an idle collector leaves the core to others.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

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
_Static_assert(HB_ACCEPTED == 0, "handle_burst ors the verdicts: 0 means all accepted");

/* The rare accepted heartbeat that is more than a timestamp (SHUTDOWN,
 * BOOT, a notify-ack, one from a source address its slot's tag does not
 * name): its time is recorded already; the control thread gets it too,
 * through the worker's own ring. A source change that does not fit is
 * reported again by the next heartbeat: the tag still differs. */
static void pass_on(const struct worker_conf *wc, const struct hb_msg *m,
		    const uint8_t *frame, uint32_t tag)
{
	struct worker_counters *ctr = wc->counters;
	struct hb_event ev = {.id = m->id, .slot = m->slot, .time = m->time,
			      .flags = m->flags, .type = m->type};
	if (m->type == HB_TYPE_NOTIFY_ACK)
		ctr->notify_acks++;
	else if (m->flags & HB_FLAG_SHUTDOWN)
		ctr->shutdowns++;
	else if (m->flags & HB_FLAG_BOOT)
		ctr->boots++;
	if (m->type == HB_TYPE_HEARTBEAT && hb_source_moved(frame, tag)) {
		ctr->sources++;
		const uint8_t *src = hb_frame_source(frame, &ev.src_family);
		memcpy(ev.src, src, ev.src_family == 2 ? 4 : 16);
	}
	if (!hb_event_push(wc->events, &ev))
		ctr->events_dropped++;
}

/* An accepted heartbeat that is more than a timestamp: flags, a type other
 * than heartbeat, or a source its slot's tag does not name. */
static inline int rare(const struct hb_msg *m, const uint8_t *frame, uint32_t tag)
{
	return m->flags || m->type != HB_TYPE_HEARTBEAT || hb_source_moved(frame, tag);
}

/*
 * One burst: decode every frame, then the whole check for the burst at once
 * (hb_accept_burst_tags: the slot lines of all heartbeats in flight
 * together, the MACs verified side by side, each slot's source tag read
 * beside its key), then count and pass on. Returns 0 when
 * every frame was accepted (HB_ACCEPTED is 0: one or a frame, in the
 * counting loop that holds the verdict anyway), so the exception path
 * looks only at bursts holding something else.
 */
static inline unsigned handle_burst(const struct worker_conf *wc, const struct slot_dir *dir,
				const struct hb_window *win, struct rte_mbuf **pkts, uint16_t n,
				enum hb_verdict *v)
{
	const uint8_t *pl[BURST];
	struct hb_msg msg[BURST];
	uint32_t tag[BURST];
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		/* Heartbeat frames are tiny: all their bytes sit in the first segment. */
		v[i] = hb_decode_frame_rx(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					  rte_pktmbuf_data_len(pkts[i]), wc->udp_port,
					  (uint32_t)pkts[i]->ol_flags, &pl[i]);
	}
	hb_accept_burst_tags(dir, wc->index, pl, v, msg, tag, n, win);
	unsigned others = 0;
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *frame = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		if (v[i] == HB_ACCEPTED && unlikely(rare(&msg[i], frame, tag[i])))
			pass_on(wc, &msg[i], frame, tag[i]);
		wc->counters->verdict[v[i]]++;
		others |= v[i];
	}
	return others;
}

/*
 * The frames of a burst that are not ours, split off: to the exception
 * ring in one enqueue (what does not fit is counted ring_full and freed
 * with the rest), or counted dropped with --exception drop. Unicast to
 * another MAC is dropped here (the port is promiscuous; the kernel would
 * drop it too, after it took ring space). Compacts pkts to what is to be
 * freed and returns its count. Only bursts holding a frame that is not an
 * accepted heartbeat get here.
 */
static __attribute__((noinline)) uint16_t exception_split(const struct worker_conf *wc,
							  struct rte_mbuf **pkts,
							  const enum hb_verdict *v, uint16_t n)
{
	uint64_t *ctr = wc->counters->exc;
	struct rte_mbuf *exc[BURST];
	uint16_t keep = 0, nexc = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		if (!exc_verdict_to_kernel(v[i])) {
			pkts[keep++] = m;
			continue;
		}
		const uint8_t *dst = rte_pktmbuf_mtod(m, const uint8_t *);
		if (!wc->exc_ring) {
			ctr[EXC_W_DROPPED]++;
			pkts[keep++] = m;
		} else if (!(dst[0] & 1) && memcmp(dst, wc->port_mac, 6)) {
			ctr[EXC_W_OTHER_HOST]++;
			pkts[keep++] = m;
		} else {
			exc[nexc++] = m;
		}
	}
	if (nexc) {
		unsigned q = rte_ring_sp_enqueue_burst(wc->exc_ring, (void *const *)exc, nexc, NULL);
		ctr[EXC_W_TO_KERNEL] += q;
		ctr[EXC_W_RING_FULL] += nexc - q;
		for (unsigned i = q; i < nexc; i++)
			pkts[keep++] = exc[i];
	}
	return keep;
}

/* What of the burst is to be freed: all of it when every frame was an
 * accepted heartbeat (`others` 0), else what exception_split leaves. */
static inline uint16_t exception_handoff(const struct worker_conf *wc, struct rte_mbuf **pkts,
					 const enum hb_verdict *v, uint16_t n, unsigned others)
{
	return likely(!others) ? n : exception_split(wc, pkts, v, n);
}

/* No signal handler ever runs on a worker: net_tap's RX trigger is a
 * real-time signal the kernel raises per frame it queues on the exception
 * interface, and it belongs to the control thread. Once, at start. */
static void worker_block_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
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
	if (unlikely(n == 0))
		return;
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

	worker_block_signals();
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
			.base = gn_coarse_base(), .prev_base = gn_coarse_prev_base(),
		};
		const struct slot_dir *dir = rcu_dereference(wc->table->dir);
		enum hb_verdict v[BURST];
		unsigned others = handle_burst(wc, dir, &win, pkts, n, v);
		ctr->rx += n;
		free_burst(pkts, exception_handoff(wc, pkts, v, n, others));
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return 0;
}
