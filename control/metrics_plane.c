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
enum worker_field { WF_RX, WF_ACCEPTED, WF_NOTIFY_ACKS, WF_SHUTDOWNS, WF_EVENTS_DROPPED };

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

size_t mf_worker_events_dropped(struct metrics_scrape *s, const struct metrics_family *f,
				size_t cursor)
{
	(void)cursor;
	return per_worker(s, f, WF_EVENTS_DROPPED);
}

/* Every verdict but accepted, as show stats' "dropped" (hb_verdict.h). */
size_t mf_worker_dropped(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (unsigned w = 0; w < s->d->nworkers; w++) {
		struct worker_counters c;
		char wl[12];
		worker_copy(s->d, w, &c, wl);
		for (int v = HB_ACCEPTED + 1; v < HB_VERDICT_COUNT; v++)
			mt_u64(&s->text, f->name, c.verdict[v], "worker", wl, "reason",
			       hb_verdict_name(v), NULL);
	}
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

enum port_field { PF_PACKETS, PF_MISSED, PF_ERRORS, PF_NOMBUF };

static size_t port_counter(struct metrics_scrape *s, const struct metrics_family *f,
			   enum port_field which)
{
	const struct port_stats *ps = &s->d->port_stats;
	uint64_t v = which == PF_PACKETS  ? ps->ipackets
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
