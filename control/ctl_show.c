/*
 * The "show" commands of the control socket: status counts, one client,
 * the counters. Read-only views of the daemon's state.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_commands.h"
#include "control/ctl_net.h"
#include "control/ctl_store.h"
#include "control/notify_ctl.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "glournet/gn_mem.h"

static json_t *guard_json(const struct gn_daemon *d)
{
	const struct guard_state *g = &d->sweep.guard;
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "active", g->active, "since",
			 (json_int_t)(g->active ? g->since : 0), "held", (json_int_t)g->held,
			 "at_risk", (json_int_t)g->at_risk, "online", (json_int_t)g->online,
			 "threshold", (json_int_t)d->policy->guard_threshold, "raised",
			 (json_int_t)g->raised);
}

json_t *ctl_by_range_json(const struct gn_daemon *d)
{
	json_t *list = json_array();
	const struct registry *r = &d->reg;
	for (uint32_t i = 0; i < r->nranges && i < range_set_count(d->policy->ranges); i++) {
		char text[RANGE_TEXT_MAX];
		range_format(range_set_entry(d->policy->ranges, i), text, sizeof(text));
		json_array_append_new(
			list, json_pack("{s:s, s:I, s:I}", "range", text, "unreachable_online",
					(json_int_t)r->by_range[i][1], "unreachable_offline",
					(json_int_t)r->by_range[i][0]));
	}
	return list;
}

/* The real clock's steps (clock_step.h): how many, and how far the steady
 * clock the durations run on is behind the real one. */
static json_t *clock_json(const struct gn_daemon *d)
{
	const struct clock_step *c = &d->clock;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "real", (json_int_t)clock_step_wall(c),
			 "steady", (json_int_t)clock_step_steady(c), "offset",
			 (json_int_t)c->base_s, "steps_forward", (json_int_t)c->forward,
			 "steps_backward", (json_int_t)c->backward, "last_step",
			 (json_int_t)c->last_step_s);
}

json_t *cmd_show_status(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	const struct registry *r = &d->reg;
	uint32_t now = gn_coarse_steady();
	json_t *o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:o, s:o, "
		"s:I, s:I, s:{s:I, s:I, s:I}, s:o}",
		"clients", (json_int_t)r->count, "online", (json_int_t)r->by_status[EP_ONLINE],
		"offline", (json_int_t)r->by_status[EP_OFFLINE], "unreachable_online",
		(json_int_t)r->by_status[EP_UNREACH_ONLINE], "unreachable_offline",
		(json_int_t)r->by_status[EP_UNREACH_OFFLINE], "now", (json_int_t)now, "started",
		(json_int_t)d->started, "offline_after", (json_int_t)d->policy->offline_after,
		"restart_grace",
		now <= d->started || now - d->started < d->policy->offline_after, /* R9 */
		"settings_rev", (json_int_t)d->policy->rev, "workers", (json_int_t)d->nworkers,
		"table_bytes", (json_int_t)gn_table_bytes(), "guard", guard_json(d), "by_range",
		ctl_by_range_json(d), "removed", (json_int_t)r->removed[EP_REMOVED_OPERATOR],
		"expired", (json_int_t)r->removed[EP_REMOVED_EXPIRED], "slots", "total",
		(json_int_t)r->nslots, "free", (json_int_t)r->nfree, "quarantined",
		(json_int_t)r->nquarantine, "store", ctl_store_json(d, false));
	/* Which glournetd, up how long (issue 14): the operator's first two
	 * questions, and the feed's numbering for a watcher resuming. */
	json_object_set_new(o, "version", json_string(GN_VERSION));
	/* Which pages the slot table is on (issue 15): 2 MiB hugetlb chunks,
	 * and those that fell back to 4 KiB pages when the pool ran out. */
	json_object_set_new(o, "slot_chunks",
			    json_pack("{s:I, s:I}", "huge", (json_int_t)d->table.huge_chunks,
				      "small", (json_int_t)d->table.small_chunks));
	json_object_set_new(o, "clock", clock_json(d));
	json_object_set_new(o, "uptime", json_integer(now > d->started ? now - d->started : 0));
	if (d->reclassify.running) /* R1 after a range change, in slices (reclassify.h) */
		json_object_set_new(o, "reclassifying",
				    json_pack("{s:I, s:I}", "done", (json_int_t)r->classified_below,
					      "of", (json_int_t)d->reclassify.end));
	if (daemon_watch_feed(d))
		json_object_set_new(o, "next_event",
				    json_integer((json_int_t)feed_next_seq(daemon_watch_feed(d))));
	return o;
}

struct endpoint *ctl_find_client(struct gn_daemon *d, const char *key)
{
	if (strlen(key) == 16 && strspn(key, "0123456789abcdef") == 16) {
		struct endpoint *ep = registry_by_id(&d->reg, strtoull(key, NULL, 16));
		if (ep)
			return ep;
	}
	return registry_by_guid(&d->reg, key);
}

static json_t *client_json(struct gn_daemon *d, const struct endpoint *ep)
{
	char id[17];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	json_t *ips = json_array();
	struct gn_addr addrs[EP_MAX_IPS];
	unsigned nips = ep_ips(ep, addrs);
	for (unsigned i = 0; i < nips; i++) {
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(addrs[i].family, addrs[i].bytes, buf, sizeof(buf));
		json_array_append_new(ips, json_string(buf));
	}
	/* Fresh from the workers, not as of the last sweep. */
	uint32_t hb = registry_last_heartbeat(&d->reg, ep);
	uint32_t contact = registry_last_contact(&d->reg, ep);
	json_t *o = json_pack(
		"{s:s, s:s, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:I}", "id", id,
		"guid", ep_guid(ep), "slot", (json_int_t)ep->slot, "status",
		ep_status_name(ep->status), "unreachable", ep->unreachable, "last_heartbeat",
		(json_int_t)hb, "last_poll", (json_int_t)ep->last_poll, "last_contact",
		(json_int_t)contact, "registered", (json_int_t)ep_registered(ep), "status_since",
		(json_int_t)ep->status_since, "reason", ep_reason_name(ep->reason), "hostname",
		ep_hostname(ep), "ips", ips, "notify_port", (json_int_t)ep_notify_port(ep));
	json_object_set_new(o, "notify", notify_client_json(d, ep)); /* R11, R12 */
	return o;
}

json_t *cmd_show_client(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	struct endpoint *ep = ctl_find_client(d, argv[0]);
	if (!ep) {
		snprintf(err, errlen, "show client: no client with id or guid '%s'", argv[0]);
		return NULL;
	}
	return client_json(d, ep);
}

static json_t *verdicts_json(const uint64_t *v)
{
	json_t *o = json_object();
	for (int i = HB_ACCEPTED + 1; i < HB_VERDICT_COUNT; i++)
		json_object_set_new(o, hb_verdict_name(i), json_integer((json_int_t)v[i]));
	return o;
}

/* Memory and growth: what 10 M endpoints cost (PERFORMANCE.md). */
static json_t *registry_json(const struct gn_daemon *d)
{
	struct registry_memory m;
	registry_memory(&d->reg, &m);
	const struct registry *r = &d->reg;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "endpoints",
			 (json_int_t)r->count, "slots", (json_int_t)r->nslots, "entry_bytes",
			 (json_int_t)sizeof(struct endpoint), "entries_bytes",
			 (json_int_t)m.entries, "details_bytes", (json_int_t)m.details,
			 "index_bytes", (json_int_t)m.index, "index_growths",
			 (json_int_t)(r->by_id.migrations + r->by_guid.migrations), "index_growing",
			 r->by_id.old.cells || r->by_guid.old.cells, "checkpoint_rows",
			 (json_int_t)d->checkpoint.rows);
}

/* One job's slices (loop_job.h). */
static json_t *job_stats_json(const struct loop_job_stats *s)
{
	return json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:b}", "passes", (json_int_t)s->passes,
			 "slices", (json_int_t)s->slices, "max_slice_ms",
			 (double)s->max_slice_ns / 1e6, "max_slice_cpu_ms",
			 (double)s->max_slice_cpu_ns / 1e6, "last_pass_ms",
			 (double)s->last_pass_ns / 1e6, "last_pass_wall_ms",
			 (double)s->last_pass_wall_ns / 1e6, "in_pass", s->in_pass);
}

/* The sweep's, under the names it has had since before the other jobs. */
static json_t *sweep_json(const struct gn_daemon *d)
{
	json_t *o = job_stats_json(&d->sweep.stats);
	json_object_del(o, "in_pass");
	json_object_set_new(o, "in_progress", json_boolean(sweep_busy(&d->sweep)));
	return o;
}

static json_t *jobs_json(const struct gn_daemon *d)
{
	json_t *o = json_object();
	for (unsigned i = 0; i < d->njobs; i++)
		json_object_set_new(o, d->jobs[i].name, job_stats_json(d->jobs[i].stats));
	return o;
}

/*
 * The port as of its last read (the "port" job, every sweep interval):
 * link, totals, and per RX queue what the PMD counted (some count nothing
 * per queue: then only the totals move). A queue is a worker's.
 */
static json_t *port_json(const struct gn_daemon *d)
{
	const struct port_stats *ps = &d->port_stats;
	json_t *queues = json_array();
	for (unsigned w = 0; w < d->nworkers; w++) {
		unsigned q = d->workers[w].queue;
		if (q >= PORT_QUEUE_STATS)
			continue;
		json_array_append_new(queues, json_pack("{s:I, s:I, s:I, s:I, s:I}", "queue",
							(json_int_t)q, "worker", (json_int_t)w,
							"ipackets", (json_int_t)ps->q_ipackets[q],
							"ibytes", (json_int_t)ps->q_ibytes[q],
							"errors", (json_int_t)ps->q_errors[q]));
	}
	json_t *o = json_pack("{s:I, s:{s:b, s:I, s:b, s:b}, s:I, s:I, s:I, s:I, s:I, s:o}",
			      "port_id", (json_int_t)d->port_id, "link", "up", ps->link.up,
			      "speed_mbps", (json_int_t)ps->link.speed_mbps, "full_duplex",
			      ps->link.full_duplex, "autoneg", ps->link.autoneg, "ipackets",
			      (json_int_t)ps->ipackets, "ibytes", (json_int_t)ps->ibytes, "imissed",
			      (json_int_t)ps->imissed, "ierrors", (json_int_t)ps->ierrors,
			      "rx_nombuf", (json_int_t)ps->rx_nombuf, "queues", queues);
	/* Every other loss the driver or the kernel under it knows of (issue
	 * 13 item 7): the xstats that count one and are not 0, and the
	 * kernel's counters of the port's sockets (port.h). */
	json_t *xs = json_object();
	for (unsigned i = 0; i < ps->nxstats; i++)
		json_object_set_new(xs, ps->xstats[i].name,
				    json_integer((json_int_t)ps->xstats[i].value));
	json_object_set_new(o, "xstats_losses", xs);
	const struct port_kernel *k = &ps->kernel;
	json_object_set_new(o, "kernel",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sockets",
				      (json_int_t)k->sockets, "af_packet_drops",
				      (json_int_t)k->packet_drops, "xdp_rx_dropped",
				      (json_int_t)k->xdp_rx_dropped, "xdp_rx_invalid_descs",
				      (json_int_t)k->xdp_rx_invalid_descs, "xdp_rx_ring_full",
				      (json_int_t)k->xdp_rx_ring_full, "xdp_rx_fill_ring_empty",
				      (json_int_t)k->xdp_rx_fill_ring_empty));
	return o;
}

/* The rare messages a worker passed to the control thread (its ring). */
static json_t *rare_json(const struct worker_counters *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "shutdowns", (json_int_t)c->shutdowns,
			 "boots", (json_int_t)c->boots, "notify_acks", (json_int_t)c->notify_acks,
			 "sources", (json_int_t)c->sources, "ring_full",
			 (json_int_t)c->events_dropped);
}

json_t *cmd_show_stats(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	json_t *workers = json_array();
	uint64_t total_rx = 0, total[HB_VERDICT_COUNT] = {0};
	for (unsigned w = 0; w < d->nworkers; w++) {
		struct worker_counters c;
		memcpy(&c, &d->counters[w], sizeof(c)); /* racy by design, each word whole */
		total_rx += c.rx;
		for (int i = 0; i < HB_VERDICT_COUNT; i++)
			total[i] += c.verdict[i];
		json_t *wj = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "worker", (json_int_t)w, "lcore",
			(json_int_t)d->workers[w].lcore, "queue", (json_int_t)d->workers[w].queue,
			"rx", (json_int_t)c.rx, "accepted", (json_int_t)c.verdict[HB_ACCEPTED],
			"dropped", verdicts_json(c.verdict), "exception",
			ctl_net_worker_json(c.exc));
		json_object_set_new(wj, "passed_on", rare_json(&c));
		json_array_append_new(workers, wj);
	}
	json_t *http = json_object();
	json_object_set_new(http, "requests", json_integer((json_int_t)d->http_counters.requests));
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		json_object_set_new(http, http_counter_name(i),
				    json_integer((json_int_t)d->http_counters.by_result[i]));
	json_t *ctl = json_pack("{s:I, s:I}", "rejected", (json_int_t)d->ctl.rejected,
				"bad_requests", (json_int_t)d->ctl.bad_requests);
	json_t *port = port_json(d);
	json_t *o =
		json_pack("{s:o, s:{s:I, s:I, s:o}, s:o, s:o, s:o, s:o}", "workers", workers,
			  "total", "rx", (json_int_t)total_rx, "accepted",
			  (json_int_t)total[HB_ACCEPTED], "dropped", verdicts_json(total), "port",
			  port, "http", http, "control", ctl, "store", ctl_store_json(d, true));
	json_object_set_new(o, "registry", registry_json(d));
	json_object_set_new(o, "sweep", sweep_json(d));
	json_object_set_new(o, "jobs", jobs_json(d));
	json_object_set_new(o, "exception", ctl_net_stats_json(d));
	json_object_set_new(
		o, "events",
		json_pack("{s:I, s:I, s:I, s:I, s:I}", "shutdowns", (json_int_t)d->events.shutdowns,
			  "boots", (json_int_t)d->events.boots, "notify_acks",
			  (json_int_t)d->events.notify_acks, "sources",
			  (json_int_t)d->events.sources, "stale", (json_int_t)d->events.stale));
	json_object_set_new(o, "notify", notify_stats_json(d));
	json_object_set_new(o, "clock", clock_json(d));
	return o;
}
