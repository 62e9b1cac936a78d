/*
 * The dataplane's families (metrics_families.h): the workers' counters,
 * one series per worker (and per reason), the port's own counters and
 * link, and the exception and TX paths the control thread runs. Plain
 * reads of what the workers and the port job wrote; nothing here calls
 * into DPDK (the link state comes in the scrape's environment).
 */
#include <stdio.h>
#include <string.h>

#include "control/metrics_families.h"
#include "glournet/netpath.h"

/* One worker's counters, each word whole (the worker writes them as it
 * goes: racy by design, as show stats reads them). */
static void worker_copy(const struct gn_daemon *d, unsigned w, struct worker_counters *c,
			char label[12])
{
	memcpy(c, &d->counters[w], sizeof(*c));
	snprintf(label, 12, "%u", w);
}

size_t mf_worker_info(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (unsigned w = 0; w < s->d->nworkers; w++) {
		char wl[12], lc[12], q[12];
		snprintf(wl, sizeof(wl), "%u", w);
		snprintf(lc, sizeof(lc), "%u", s->d->workers[w].lcore);
		snprintf(q, sizeof(q), "%u", (unsigned)s->d->workers[w].queue);
		mt_u64(&s->text, f->name, 1, "worker", wl, "lcore", lc, "queue", q, NULL);
	}
	return 0;
}

/* The families of one counter per worker, by where it sits. */
enum worker_field { WF_RX, WF_ACCEPTED, WF_NOTIFY_ACKS, WF_SHUTDOWNS, WF_BOOTS, WF_EVENTS_DROPPED };

static size_t per_worker(struct metrics_scrape *s, const struct metrics_family *f,
			 enum worker_field which)
{
	for (unsigned w = 0; w < s->d->nworkers; w++) {
		struct worker_counters c;
		char wl[12];
		worker_copy(s->d, w, &c, wl);
		uint64_t v = which == WF_RX            ? c.rx
			     : which == WF_ACCEPTED    ? c.verdict[HB_ACCEPTED]
			     : which == WF_NOTIFY_ACKS ? c.notify_acks
			     : which == WF_SHUTDOWNS   ? c.shutdowns
			     : which == WF_BOOTS       ? c.boots
						       : c.events_dropped;
		mt_u64(&s->text, f->name, v, "worker", wl, NULL);
	}
	return 0;
}

size_t mf_worker_frames(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_RX);
}

size_t mf_worker_accepted(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_ACCEPTED);
}

size_t mf_worker_notify_acks(struct metrics_scrape *s, const struct metrics_family *f,
			     size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_NOTIFY_ACKS);
}

size_t mf_worker_shutdowns(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_SHUTDOWNS);
}

size_t mf_worker_boots(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_BOOTS);
}

size_t mf_worker_events_dropped(struct metrics_scrape *s, const struct metrics_family *f,
				size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_EVENTS_DROPPED);
}

/* Every verdict but accepted, as show stats' "dropped", with where the
 * verdict sends the frame (hb_verdict.h): "ours" are heartbeats gone
 * wrong, "kernel" frames for the exception path, "bad" broken below UDP. */
size_t mf_worker_dropped(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	/* A worker's rows a time, chunk by chunk: 64 workers make ~150 KiB. */
	unsigned w = (unsigned)cursor;
	for (unsigned k = 0; w < s->d->nworkers && (k == 0 || s->text.len < METRICS_CHUNK);
	     k++, w++) {
		struct worker_counters c;
		char wl[12];
		worker_copy(s->d, w, &c, wl);
		for (int v = HB_ACCEPTED + 1; v < HB_VERDICT_COUNT; v++)
			mt_u64(&s->text, f->name, c.verdict[v], "worker", wl, "reason",
			       hb_verdict_name(v), "route", hb_route_name(hb_verdict_route(v)),
			       NULL);
	}
	return w < s->d->nworkers ? w : 0;
}

/* What the control thread took off the workers' rings (R6's SHUTDOWN,
 * BOOT, notify-acks), and those whose slot had changed hands. */
size_t mf_control_events(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	mt_u64(&s->text, f->name, s->d->events.shutdowns, "event", "shutdown", NULL);
	mt_u64(&s->text, f->name, s->d->events.boots, "event", "boot", NULL);
	mt_u64(&s->text, f->name, s->d->events.notify_acks, "event", "notify_ack", NULL);
	mt_u64(&s->text, f->name, s->d->events.sources, "event", "source", NULL);
	mt_u64(&s->text, f->name, s->d->events.stale, "event", "stale", NULL);
	return 0;
}

size_t mf_worker_exception(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (unsigned w = 0; w < s->d->nworkers; w++) {
		struct worker_counters c;
		char wl[12];
		worker_copy(s->d, w, &c, wl);
		for (int i = 0; i < EXC_WORKER_COUNT; i++)
			mt_u64(&s->text, f->name, c.exc[i], "worker", wl, "result",
			       exc_worker_counter_name(i), NULL);
	}
	return 0;
}

/* ---- the port (refreshed by the "port" job every sweep interval) ---- */

enum port_field { PF_PACKETS, PF_BYTES, PF_MISSED, PF_ERRORS, PF_NOMBUF };

static size_t port_counter(struct metrics_scrape *s, const struct metrics_family *f,
			   enum port_field which)
{
	const struct port_stats *ps = &s->d->port_stats;
	uint64_t v = which == PF_PACKETS  ? ps->ipackets
		     : which == PF_BYTES  ? ps->ibytes
		     : which == PF_MISSED ? ps->imissed
		     : which == PF_ERRORS ? ps->ierrors
					  : ps->rx_nombuf;
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->d->port_id);
	mt_u64(&s->text, f->name, v, "port", port, NULL);
	return 0;
}

size_t mf_port_packets(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return port_counter(s, f, PF_PACKETS);
}

size_t mf_port_bytes(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return port_counter(s, f, PF_BYTES);
}

size_t mf_port_missed(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return port_counter(s, f, PF_MISSED);
}

size_t mf_port_errors(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return port_counter(s, f, PF_ERRORS);
}

size_t mf_port_nombuf(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return port_counter(s, f, PF_NOMBUF);
}

/* Every other loss the driver or the kernel under it counted (show stats'
 * port.xstats_losses and port.kernel): the xstats of losses that are not 0,
 * by name; the kernel's counters of the port's sockets, by counter. */
size_t mf_port_xstat_losses(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const struct port_stats *ps = &s->d->port_stats;
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->d->port_id);
	for (unsigned i = 0; i < ps->nxstats; i++)
		mt_u64(&s->text, f->name, ps->xstats[i].value, "port", port, "name",
		       ps->xstats[i].name, NULL);
	return 0;
}

size_t mf_port_kernel_drops(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const struct port_kernel *k = &s->d->port_stats.kernel;
	if (!k->sockets)
		return 0;
	const struct {
		const char *name;
		uint64_t v;
	} rows[] = {{"af_packet_drops", k->packet_drops},
		    {"xdp_rx_dropped", k->xdp_rx_dropped},
		    {"xdp_rx_invalid_descs", k->xdp_rx_invalid_descs},
		    {"xdp_rx_ring_full", k->xdp_rx_ring_full},
		    {"xdp_rx_fill_ring_empty", k->xdp_rx_fill_ring_empty}};
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->d->port_id);
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		mt_u64(&s->text, f->name, rows[i].v, "port", port, "counter", rows[i].name, NULL);
	return 0;
}

/* Per RX queue, which is a worker's, as show stats' port.queues: what the
 * PMD counts per queue (some count nothing there: then only the port's
 * totals move). */
enum queue_field { QF_PACKETS, QF_BYTES, QF_ERRORS };

static size_t per_queue(struct metrics_scrape *s, const struct metrics_family *f,
			enum queue_field which)
{
	const struct port_stats *ps = &s->d->port_stats;
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->d->port_id);
	for (unsigned w = 0; w < s->d->nworkers; w++) {
		unsigned q = s->d->workers[w].queue;
		if (q >= PORT_QUEUE_STATS)
			continue;
		char ql[12], wl[12];
		snprintf(ql, sizeof(ql), "%u", q);
		snprintf(wl, sizeof(wl), "%u", w);
		uint64_t v = which == QF_PACKETS ? ps->q_ipackets[q]
			     : which == QF_BYTES ? ps->q_ibytes[q]
						 : ps->q_errors[q];
		mt_u64(&s->text, f->name, v, "port", port, "queue", ql, "worker", wl, NULL);
	}
	return 0;
}

size_t mf_queue_packets(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_queue(s, f, QF_PACKETS);
}

size_t mf_queue_bytes(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_queue(s, f, QF_BYTES);
}

size_t mf_queue_errors(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_queue(s, f, QF_ERRORS);
}

size_t mf_port_link(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	if (s->env.link < 0)
		return 0;
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->d->port_id);
	mt_u64(&s->text, f->name, (uint64_t)s->env.link, "port", port, NULL);
	return 0;
}

/* ---- the exception and TX paths (none where no port runs) ---- */

size_t mf_exc_iface(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const struct netpath *np = s->d->net;
	for (int i = 0; np && i < EXC_IFACE_COUNT; i++)
		mt_u64(&s->text, f->name, np->exc.ctr[i], "event", exc_iface_counter_name(i), NULL);
	return 0;
}

size_t mf_tx(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const struct netpath *np = s->d->net;
	for (int i = 0; np && i < TX_COUNTER_COUNT; i++)
		mt_u64(&s->text, f->name, np->tx.ctr[i], "result", tx_counter_name(i), NULL);
	return 0;
}

size_t mf_neigh_entries(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	if (s->d->net)
		mt_u64(&s->text, f->name, s->d->net->neigh.count, NULL);
	return 0;
}
