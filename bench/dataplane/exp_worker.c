/*
 * EXPERIMENTS, not the collector's code: variants of dataplane/worker.c's
 * loop that price an optimisation end to end (gn-bench-capacity --exp).
 * Same burst, same checks in the same order, same counters, same free and
 * quiescent state as worker_main; only what the experiment names differs:
 *
 *   prefetch   decode the whole burst first, prefetch each heartbeat's slot
 *              entry and timestamp line, then accept: the misses of a burst
 *              overlap instead of following one another;
 *   inline     SipHash-2-4 inlined (bench/micro/siphash_ref.h) instead of
 *              the call into libsodium;
 *   both       the two together;
 *   batch      bench/micro/accept_batch.h: the burst decoded and prefetched
 *              first, then the MACs eight at a time with AVX-512 (when the
 *              CPU has it; one at a time, inlined, otherwise).
 */
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "../micro/accept_batch.h"
#include "../micro/siphash_ref.h"
#include "exp_worker.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"

#define BURST 32

/* hb_accept_msg with the MAC inlined; otherwise identical. */
static inline enum hb_verdict accept_inline(const struct slot_dir *dir, unsigned worker,
					    const uint8_t *payload, const struct hb_window *win,
					    struct hb_msg *out)
{
	const struct slot_entry *e;
	enum hb_verdict v = hb_accept_owner(dir, payload, out, &e);
	if (v != HB_ACCEPTED)
		return v;
	uint64_t want = gnb_siphash24_24(e->key, payload);
	if (!hb_mac_equal((const uint8_t *)&want, out->mac))
		return HB_BAD_MAC;
	return hb_accept_record(dir, worker, win, out);
}

static void pass_on(const struct worker_conf *wc, const struct hb_msg *m)
{
	struct worker_counters *ctr = wc->counters;
	if (m->type == HB_TYPE_NOTIFY_ACK) {
		ctr->notify_acks++;
		return;
	}
	if (!(m->flags & HB_FLAG_SHUTDOWN))
		return;
	ctr->shutdowns++;
	struct hb_event ev = {.id = m->id, .slot = m->slot, .time = m->time,
			      .flags = m->flags, .type = m->type};
	if (!hb_event_push(wc->events, &ev))
		ctr->events_dropped++;
}

static inline void burst(const struct worker_conf *wc, const struct slot_dir *dir,
			 const struct hb_window *win, struct rte_mbuf **pkts, uint16_t n,
			 bool prefetch, bool inl)
{
	const uint8_t *pl[BURST];
	enum hb_verdict v[BURST];
	if (prefetch) {
		for (uint16_t i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			v[i] = hb_decode_frame(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					       rte_pktmbuf_data_len(pkts[i]), wc->udp_port, &pl[i]);
			if (v[i] != HB_ACCEPTED)
				continue;
			uint32_t slot = hb_be32(pl[i] + 8);
			const struct slot_entry *e = slot_dir_entry(dir, slot);
			if (e) {
				rte_prefetch0(e);
				rte_prefetch0(slot_dir_seen(dir, slot, wc->index));
			}
		}
	}
	for (uint16_t i = 0; i < n; i++) {
		if (!prefetch) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			v[i] = hb_decode_frame(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					       rte_pktmbuf_data_len(pkts[i]), wc->udp_port, &pl[i]);
		}
		struct hb_msg msg;
		if (v[i] == HB_ACCEPTED) {
			v[i] = inl ? accept_inline(dir, wc->index, pl[i], win, &msg)
				   : hb_accept_msg(dir, wc->index, pl[i], win, &msg);
			if (v[i] == HB_ACCEPTED && (msg.flags || msg.type != HB_TYPE_HEARTBEAT))
				pass_on(wc, &msg);
		}
		wc->counters->verdict[v[i]]++;
	}
}

static bool use_x8;

static inline void burst_batch(const struct worker_conf *wc, const struct slot_dir *dir,
			       const struct hb_window *win, struct rte_mbuf **pkts, uint16_t n)
{
	const uint8_t *pl[BURST];
	enum hb_verdict v[BURST];
	struct hb_msg msg[BURST];
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		v[i] = hb_decode_frame(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
				       rte_pktmbuf_data_len(pkts[i]), wc->udp_port, &pl[i]);
	}
	gnb_accept_batch(dir, wc->index, pl, v, msg, n, win, use_x8);
	for (uint16_t i = 0; i < n; i++) {
		if (v[i] == HB_ACCEPTED && (msg[i].flags || msg[i].type != HB_TYPE_HEARTBEAT))
			pass_on(wc, &msg[i]);
		wc->counters->verdict[v[i]]++;
	}
}

static int loop(const struct worker_conf *wc, bool prefetch, bool inl, bool batch)
{
	struct worker_counters *ctr = wc->counters;
	struct rte_mbuf *pkts[BURST];
	rcu_register_thread();
	while (!*wc->stop) {
		uint16_t n = rte_eth_rx_burst(wc->port_id, wc->queue, pkts, BURST);
		if (n == 0) {
			rcu_quiescent_state();
			continue;
		}
		struct hb_window win = {
			.now = gn_coarse_now(), .window = wc->window, .skew = wc->skew,
		};
		const struct slot_dir *dir = rcu_dereference(wc->table->dir);
		if (batch)
			burst_batch(wc, dir, &win, pkts, n);
		else
			burst(wc, dir, &win, pkts, n, prefetch, inl);
		ctr->rx += n;
		rte_pktmbuf_free_bulk(pkts, n);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return 0;
}

/* Separate entry points, so that callgrind --toggle-collect can name each. */
int exp_worker_prefetch(void *arg) { return loop(arg, true, false, false); }
int exp_worker_inline(void *arg) { return loop(arg, false, true, false); }
int exp_worker_both(void *arg) { return loop(arg, true, true, false); }

int exp_worker_batch(void *arg)
{
#if GNB_HAVE_X8
	use_x8 = gnb_x8_supported();
#endif
	return loop(arg, false, false, true);
}
