/*
 * glournet's counters through DPDK telemetry (glournetd only: it reads
 * both planes), under /glournet/, beside DPDK's own /ethdev/... commands
 * on the same socket (/var/run/dpdk/PREFIX/dpdk_telemetry.v2, JSON over
 * SOCK_SEQPACKET; dpdk-telemetry.py or a few lines of any language):
 *
 *   /glournet/stats       totals: rx, accepted, every drop reason, the
 *                         rare messages the control thread took
 *   /glournet/worker,N    one worker: lcore, queue, rx, accepted, drops
 *   /glournet/port        link, port counters (imissed, rx_nombuf...) and
 *                         per-queue packets, read now from the port
 *   /glournet/status      endpoints by status
 *
 * The callbacks run on EAL's telemetry thread, not the control thread:
 * they only read counters that are written one whole 64-bit word at a
 * time (racy by design, as show stats reads the workers'), and the port
 * through ethdev, which DPDK's own /ethdev/stats does the same way.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#define LOG_TAG "telemetry"
#include "control/daemon.h"
#include "control/daemon_telemetry.h"
#include "glournet/log.h"
#include "glournet/port.h"

static const struct gn_daemon *tel_d; /* the one daemon; set before registering */

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void add_verdicts(struct rte_tel_data *t, const uint64_t *v)
{
	for (int i = HB_ACCEPTED + 1; i < HB_VERDICT_COUNT; i++)
		rte_tel_data_add_dict_u64(t, hb_verdict_name((enum hb_verdict)i), rd(&v[i]));
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	const struct gn_daemon *d = tel_d;
	uint64_t rx = 0, total[HB_VERDICT_COUNT] = {0}, ring_full = 0;
	for (unsigned w = 0; w < d->nworkers; w++) {
		rx += rd(&d->counters[w].rx);
		ring_full += rd(&d->counters[w].events_dropped);
		for (int i = 0; i < HB_VERDICT_COUNT; i++)
			total[i] += rd(&d->counters[w].verdict[i]);
	}
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "workers", d->nworkers);
	rte_tel_data_add_dict_u64(t, "rx", rx);
	rte_tel_data_add_dict_u64(t, "accepted", total[HB_ACCEPTED]);
	add_verdicts(t, total);
	rte_tel_data_add_dict_u64(t, "shutdowns", rd(&d->events.shutdowns));
	rte_tel_data_add_dict_u64(t, "boots", rd(&d->events.boots));
	rte_tel_data_add_dict_u64(t, "notify_acks", rd(&d->events.notify_acks));
	rte_tel_data_add_dict_u64(t, "ring_full", ring_full);
	return 0;
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	const struct gn_daemon *d = tel_d;
	char *end;
	unsigned long w = params ? strtoul(params, &end, 10) : 0;
	if (!params || end == params || *end || w >= d->nworkers)
		return -1; /* telemetry answers null: the help says /glournet/worker,N */
	const struct worker_counters *c = &d->counters[w];
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "worker", w);
	rte_tel_data_add_dict_u64(t, "lcore", d->workers[w].lcore);
	rte_tel_data_add_dict_u64(t, "queue", d->workers[w].queue);
	rte_tel_data_add_dict_u64(t, "rx", rd(&c->rx));
	rte_tel_data_add_dict_u64(t, "accepted", rd(&c->verdict[HB_ACCEPTED]));
	add_verdicts(t, c->verdict);
	rte_tel_data_add_dict_u64(t, "shutdowns", rd(&c->shutdowns));
	rte_tel_data_add_dict_u64(t, "boots", rd(&c->boots));
	rte_tel_data_add_dict_u64(t, "notify_acks", rd(&c->notify_acks));
	rte_tel_data_add_dict_u64(t, "ring_full", rd(&c->events_dropped));
	return 0;
}

static int tel_port(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	const struct gn_daemon *d = tel_d;
	struct port_stats ps;
	if (port_read_stats(d->port_id, &ps) < 0)
		return -1;
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "port_id", d->port_id);
	rte_tel_data_add_dict_u64(t, "link_up", (uint64_t)ps.link.up);
	rte_tel_data_add_dict_u64(t, "link_speed_mbps", ps.link.speed_mbps);
	rte_tel_data_add_dict_u64(t, "ipackets", ps.ipackets);
	rte_tel_data_add_dict_u64(t, "ibytes", ps.ibytes);
	rte_tel_data_add_dict_u64(t, "imissed", ps.imissed);
	rte_tel_data_add_dict_u64(t, "ierrors", ps.ierrors);
	rte_tel_data_add_dict_u64(t, "rx_nombuf", ps.rx_nombuf);
	/* The losses below DPDK's counters (port.h), as show stats has them. */
	rte_tel_data_add_dict_u64(t, "af_packet_drops", ps.kernel.packet_drops);
	rte_tel_data_add_dict_u64(t, "xdp_rx_ring_full", ps.kernel.xdp_rx_ring_full);
	rte_tel_data_add_dict_u64(t, "xdp_rx_fill_ring_empty", ps.kernel.xdp_rx_fill_ring_empty);
	rte_tel_data_add_dict_u64(t, "xdp_rx_invalid_descs", ps.kernel.xdp_rx_invalid_descs);
	struct rte_tel_data *q = rte_tel_data_alloc();
	if (q) {
		rte_tel_data_start_array(q, RTE_TEL_U64_VAL);
		for (unsigned w = 0; w < d->nworkers && w < PORT_QUEUE_STATS; w++)
			rte_tel_data_add_array_u64(q, ps.q_ipackets[d->workers[w].queue]);
		rte_tel_data_add_dict_container(t, "queue_ipackets", q, 0);
	}
	return 0;
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	const struct registry *r = &tel_d->reg;
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "clients", r->count);
	rte_tel_data_add_dict_u64(t, "online", r->by_status[EP_ONLINE]);
	rte_tel_data_add_dict_u64(t, "offline", r->by_status[EP_OFFLINE]);
	rte_tel_data_add_dict_u64(t, "unreachable_online", r->by_status[EP_UNREACH_ONLINE]);
	rte_tel_data_add_dict_u64(t, "unreachable_offline", r->by_status[EP_UNREACH_OFFLINE]);
	return 0;
}

int daemon_telemetry_start(const struct gn_daemon *d)
{
	tel_d = d;
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{"/glournet/stats", tel_stats,
		 "glournet totals: rx, accepted, drops by reason, rare messages. No parameters"},
		{"/glournet/worker", tel_worker,
		 "One worker's counters. Parameter: the worker number (0..workers-1)"},
		{"/glournet/port", tel_port,
		 "The heartbeat port: link, counters (imissed, rx_nombuf) and packets per queue. No "
		 "parameters"},
		{"/glournet/status", tel_status, "Endpoints by status. No parameters"},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help);
		if (rc < 0) {
			LOG(WARN, "cannot register %s: %s", cmds[i].cmd, strerror(-rc));
			return rc;
		}
	}
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	if (stat(path, &st) == 0)
		LOG(INFO,
		    "/glournet/stats, /glournet/worker,N, /glournet/port, /glournet/status on %s",
		    path);
	else
		LOG(INFO,
		    "no telemetry socket (EAL --no-telemetry?): /glournet/ commands unreachable");
	return 0;
}
