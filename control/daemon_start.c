/*
 * Bringing glournetd up and down, in the order that matters: dataplane
 * resources, then the control plane (policy, store, restored endpoints,
 * servers), then the workers, which must only ever see a complete table.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#define LOG_TAG "main"
#include "control/daemon_eal.h"
#include "control/daemon_service.h"
#include "control/daemon_start.h"
#include "control/daemon_netpath.h"
#include "control/persist.h"
#include "control/bulk_job.h"
#include "control/cluster.h"
#include "control/cluster_changes.h"
#include "glournet/coarse_clock.h"
#include "glournet/log_ratelimit.h"
#include "control/cluster_feed.h"
#include "control/cluster_stream.h"
#include "control/cluster_policy.h"
#include "control/policy_store.h"
#include "control/settings.h"
#include "control/state_dir.h"
#include "control/status.h"
#include "control/tls_certs.h"
#include "control/store.h"
#include "control/store_db.h"
#include "control/store_url.h"
#include "control/transitions.h"
#include "glournet/gn_mem.h"
#include "glournet/log.h"
#include "glournet/port.h"

/* SIGHUP: what can change without a restart (options_reload), said in
 * the log either way; a certificate that does not load keeps the old one. */
static void reload(struct gn_daemon *d)
{
	struct options_reloaded r;
	service_reloading();
	int rc = options_reload(&d->opt, &r);
	char err[256] = "";
	/* New HTTPS handshakes get the new pair; sessions under way keep theirs. */
	if (r.cert_pem && tls_certs_load(r.cert_pem, r.key_pem, err, sizeof(err)) < 0)
		rc = -1;
	if (r.key_pem)
		explicit_bzero(r.key_pem, strlen(r.key_pem));
	free(r.cert_pem);
	free(r.key_pem);
	if (rc == 0)
		LOG(INFO, "SIGHUP: reloaded %s", r.said);
	else
		LOG(ERR, "SIGHUP: %s%s%s; the running certificate and key are kept", r.said,
		    err[0] ? ": " : "", err);
	service_reloaded(); /* done either way: it runs on what it has */
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct gn_daemon *d = w->ctx;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		LOG(INFO, "signal %u (%s): shutting down", si.ssi_signo,
		    strsignal((int)si.ssi_signo));
		d->quit = true;
	}
}

/* The link for the metrics and /readyz, fresh (not as of the port job's
 * last read), without waiting for it. */
static int link_state(uint16_t port_id)
{
	struct port_link link;
	return port_read_link(port_id, &link) < 0 ? -1 : link.up != 0;
}

static int pick_port(const struct gn_daemon *d, uint16_t *port_id)
{
	const struct gn_options *o = &d->opt;
	if (o->port_id >= 0) {
		if (!rte_eth_dev_is_valid_port((uint16_t)o->port_id)) {
			LOG(ERR, "--port-id %d: no such DPDK port (%u available)", o->port_id,
			    rte_eth_dev_count_avail());
			return -ENODEV;
		}
		*port_id = (uint16_t)o->port_id;
		return 0;
	}
	uint16_t p;
	RTE_ETH_FOREACH_DEV(p)
	{
		*port_id = p;
		return 0;
	}
	if (d->eal)
		eal_explain_no_port(d->eal);
	else
		LOG(ERR,
		    "no DPDK port: pass a device to EAL, e.g. -- --vdev net_af_packet0,iface=eth1");
	return -ENODEV;
}

int start_dataplane(struct gn_daemon *d)
{
	uint16_t port_id;
	int rc = pick_port(d, &port_id);
	if (rc < 0)
		return rc;
	d->port_id = port_id;
	unsigned lcores = rte_lcore_count() - 1;
	if (lcores == 0 || lcores > GN_MAX_WORKERS) {
		LOG(ERR, "need 1..%d worker lcores besides the main one (EAL -l 0,1), have %u",
		    GN_MAX_WORKERS, lcores);
		return -EINVAL;
	}
	/* One RX queue per worker; a device with fewer queues gets fewer. */
	rc = port_rx_queues(port_id, lcores, &d->nworkers);
	if (rc < 0)
		return rc;
	uint32_t mbufs = d->opt.mbufs ? d->opt.mbufs : eal_auto_mbufs(d->nworkers, d->opt.rx_desc);
	struct rte_mempool *pool = port_rx_pool_create(port_id, "gn_rx", mbufs, 256);
	if (!pool) {
		LOG(ERR, "mbuf pool of %u: %s", mbufs, rte_strerror(rte_errno));
		if (d->eal)
			eal_explain_pool(d->eal, mbufs);
		return -ENOMEM;
	}
	LOG(INFO, "RX pool: %u mbufs (%s; %u worker%s x %u descriptors), ~%u MB", mbufs,
	    d->opt.mbufs ? "--mbufs" : "auto", d->nworkers, d->nworkers == 1 ? "" : "s",
	    d->opt.rx_desc, eal_pool_mb(mbufs, !rte_eal_has_hugepages()));
	rc = slot_table_init(&d->table, d->nworkers, d->opt.max_endpoints);
	if (rc < 0)
		return rc;
	rc = port_start(port_id, (uint16_t)d->nworkers, d->opt.rx_desc, pool);
	if (rc == 0)
		port_read_stats(port_id, &d->port_stats); /* link and counters from the start */
	/* Before the HTTP server binds: the exception interface's addresses. */
	return rc < 0 ? rc : netpath_start(d);
}

int launch_workers(struct gn_daemon *d)
{
	unsigned w = 0, lcore;
	int rc;
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (w == d->nworkers)
			break; /* more lcores than RX queues (logged by port_rx_queues) */
		d->rings[w] = gn_table_alloc(sizeof(*d->rings[w]));
		if (!d->rings[w])
			return -ENOMEM;
		d->workers[w] = (struct worker_conf){
			.index = w,
			.lcore = lcore,
			.port_id = d->port_id,
			.queue = (uint16_t)w,
			.udp_port = d->opt.udp_port,
			.window = d->opt.window,
			.skew = d->opt.skew,
			.idle_sleep_us = d->opt.idle_sleep_us,
			.table = &d->table,
			.counters = &d->counters[w],
			.events = d->rings[w],
			.stop = &d->stop_workers,
		};
		netpath_worker(d, &d->workers[w]);
		rc = rte_eal_remote_launch(worker_main, &d->workers[w], lcore);
		if (rc < 0)
			return rc;
		w++;
	}
	LOG(INFO, "%u worker(s) on port %u, heartbeats on UDP port %u", d->nworkers, d->port_id,
	    d->opt.udp_port);
	return 0;
}

/* The persisted policy, then the command line's settings on top of it,
 * through the same validation as `glournetctl set`. */
static int load_policy(struct gn_daemon *d)
{
	char err[512];
	snprintf(d->policy_path, sizeof(d->policy_path), "%s/policy.json", d->opt.state_dir);
	int rc = policy_load(d->policy_path, &d->policy, err, sizeof(err));
	if (rc < 0) {
		LOG(ERR, "%s", err);
		return rc;
	}
	rc = registry_reset_ranges(&d->reg, (uint32_t)range_set_count(d->policy->ranges));
	if (rc < 0)
		return rc;
	if (d->opt.n_sets == 0) {
		if (policy_save(d->policy_path, d->policy, err, sizeof(err)) == 0)
			return 0;
		LOG(ERR, "cannot write the policy (is the state directory %s writable?): %s",
		    d->opt.state_dir, err);
		return -EIO;
	}
	struct policy *draft = policy_clone(d->policy);
	if (!draft)
		return -ENOMEM;
	for (unsigned i = 0; i < d->opt.n_sets; i++) {
		if (settings_set(draft, d->opt.set_name[i], d->opt.set_value[i], err, sizeof(err)) <
		    0) {
			LOG(ERR, "command line: %s", err);
			policy_free(draft);
			return -EINVAL;
		}
	}
	json_t *result = json_object();
	rc = daemon_policy_commit(d, draft, result, err, sizeof(err));
	/* --set to what the file says (or a first start at the defaults):
	 * no new revision, but the policy file is still written. */
	if (rc == 0 && json_is_true(json_object_get(result, "unchanged")) &&
	    policy_save(d->policy_path, d->policy, err, sizeof(err)) < 0) {
		LOG(ERR, "cannot write the policy (is the state directory %s writable?): %s",
		    d->opt.state_dir, err);
		rc = -EIO;
	}
	json_decref(result);
	return rc;
}

/* The rare messages the workers passed on: SHUTDOWN (R6); a notify-ack,
 * contact already recorded by the worker (R3), settles what it answers
 * (R11, R12); a heartbeat's new source address is where notifies go from
 * then on; BOOTs are counted. */
void drain_worker_events(struct gn_daemon *d, uint32_t now)
{
	struct hb_event ev;
	for (unsigned w = 0; w < d->nworkers; w++) {
		while (hb_event_pop(d->rings[w], &ev)) {
			struct endpoint *ep = registry_by_slot(&d->reg, ev.slot);
			if (!ep || ep->id != ev.id) {
				d->events.stale++; /* the slot changed hands meanwhile */
				if (ev.type == HB_TYPE_NOTIFY_ACK)
					notify_on_stale_ack(&d->notify);
				continue;
			}
			if (ev.src_family) { /* where notifies go from now on (R11) */
				struct gn_addr src = {.family = ev.src_family};
				memcpy(src.bytes, ev.src, ev.src_family == AF_INET ? 4 : 16);
				d->events.sources++;
				notify_on_source(&d->notify, ep, &src, now);
			}
			if (ev.type == HB_TYPE_NOTIFY_ACK) {
				d->events.notify_acks++;
				notify_on_ack(&d->notify, ep, ev.flags, ev.time, now);
			} else if (ev.flags & HB_FLAG_SHUTDOWN) {
				d->events.shutdowns++;
				status_on_shutdown(&d->reg, ep, ev.time, now);
			} else if (ev.flags & HB_FLAG_BOOT) {
				d->events.boots++;
			}
		}
	}
}

static bool store_unreachable_for_api(void *ctx)
{
	struct gn_daemon *d = ctx;
	return d->store && store_unreachable(d->store);
}

static uint64_t persist_for_api(void *ctx, const struct endpoint *ep)
{
	struct gn_daemon *d = ctx;
	return persist_endpoint(d->store, &d->reg, ep);
}

/* Several collectors: the puts the database refused because another
 * collector registered the guid first (store_take_rejected). Undone before
 * any answer waiting on them goes out: the endpoint is dropped here (the
 * change feed brings the winner's), its slot freed, and the agent gets 503
 * with Retry-After, never a 201 with a key the store does not hold. */
static void undo_rejected(struct gn_daemon *d)
{
	struct store_rejected rj[64];
	size_t n;
	while ((n = store_take_rejected(d->store, rj, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct endpoint *ep = registry_by_slot(&d->reg, rj[i].slot);
			d->changes_job.guid_races++;
			if (ep && ep->id == rj[i].id) {
				LOG_RATELIMITED(WARN,
						"registration of '%s' (slot %u) undone: another "
						"collector registered that guid first",
						ep_guid(ep), rj[i].slot);
				registry_remove(&d->reg, ep, EP_REMOVED_OPERATOR,
						gn_coarse_steady());
			}
			http_fail_ticket(&d->http, rj[i].ticket,
					 "another collector registered this guid at the same time; "
					 "retry");
		}
	}
}

/* Commits advanced: the registrations waiting on them may be answered. */
static void on_store_commit(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct gn_daemon *d = w->ctx;
	uint64_t n;
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		LOG(WARN, "store eventfd: %s", strerror(errno));
	undo_rejected(d);
	http_resume_durable(&d->http, store_committed(d->store));
}

/* Several collectors: the fleet's policy (cluster_policy.h) replaces the
 * local one, which seeds the store when it holds none; --set goes on top
 * as a change of the fleet's. Before the restore: the endpoints are
 * classified under the fleet's ranges. */
static int adopt_fleet_policy(struct gn_daemon *d, const struct store_url *u)
{
	char err[1024];
	d->cluster_policy = cluster_policy_open(u->target, u->shown, err, sizeof(err));
	if (!d->cluster_policy) {
		LOG(ERR, "%s", err);
		return -1;
	}
	char *seed = policy_to_text(d->policy), *doc = NULL;
	uint64_t rev = 0;
	int rc = seed ? cluster_policy_load(d->cluster_policy, seed, d->policy->rev, &doc, &rev,
					    err, sizeof(err))
		      : -1;
	free(seed);
	struct policy *p = NULL;
	if (rc == 0)
		rc = policy_from_text(doc, "the fleet's policy in the store", &p, err, sizeof(err));
	free(doc);
	if (rc < 0) {
		LOG(ERR, "%s", seed ? err : "out of memory");
		return -1;
	}
	p->rev = rev;
	policy_free(d->policy);
	d->policy = p;
	if (registry_reset_ranges(&d->reg, (uint32_t)range_set_count(p->ranges)) < 0)
		return -1;
	if (!d->opt.n_sets)
		return 0;
	struct policy *draft = policy_clone(p);
	for (unsigned i = 0; draft && i < d->opt.n_sets; i++)
		if (settings_set(draft, d->opt.set_name[i], d->opt.set_value[i], err, sizeof(err)) <
		    0) {
			policy_free(draft); /* checked by load_policy already */
			return -1;
		}
	if (!draft)
		return -1;
	if (policy_same(p, draft)) {
		policy_free(draft);
		return 0;
	}
	draft->rev = rev + 1;
	doc = policy_to_text(draft);
	rc = doc ? cluster_policy_write(d->cluster_policy, rev, draft->rev, doc, err, sizeof(err))
		 : -ENOMEM;
	free(doc);
	if (rc < 0) {
		LOG(ERR, "--set not applied to the fleet's policy: %s",
		    rc == -ENOMEM ? "out of memory" : err);
		policy_free(draft);
		return -1;
	}
	LOG(INFO, "--set: the fleet's policy is revision %llu", (unsigned long long)draft->rev);
	policy_free(d->policy);
	d->policy = draft;
	return registry_reset_ranges(&d->reg, (uint32_t)range_set_count(draft->ranges)) < 0 ? -1
											    : 0;
}

/* Several collectors may share a PostgreSQL store: this one's row and the
 * decider lease (cluster.h), and the store's fence on it. */
static int open_cluster(struct gn_daemon *d, const struct store_url *u)
{
	char host[64] = "", addrs[GN_MAX_HB_ADDRS * 48] = "", err[1024];
	const char *name = d->opt.collector_name;
	if (!name) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
			snprintf(host, sizeof(host), "glournetd");
		name = host;
	}
	size_t off = 0;
	for (unsigned i = 0; i < d->opt.n_hb_addrs && off < sizeof(addrs); i++)
		off += (size_t)snprintf(addrs + off, sizeof(addrs) - off, "%s%s", i ? "," : "",
					d->opt.hb_addrs[i]);
	struct cluster_conf cc = {.target = u->target,
				  .shown = u->shown,
				  .name = name,
				  .addrs = addrs,
				  .lease_ms = d->opt.lease * 1000u};
	d->cluster = cluster_open(&cc, err, sizeof(err));
	if (!d->cluster) {
		LOG(ERR, "%s", err);
		return -1;
	}
	d->cluster_feed = cluster_feed_open(u->target, u->shown, name, cc.lease_ms, d->cluster, err,
					    sizeof(err));
	if (!d->cluster_feed) {
		LOG(ERR, "%s", err);
		return -1;
	}
	/* Before the restore: the registry hands out only our blocks' slots,
	 * and the cursor is read before the load (cluster_changes.h). */
	d->cluster_changes = cluster_changes_open(u->target, u->shown, name, err, sizeof(err));
	if (!d->cluster_changes) {
		LOG(ERR, "%s", err);
		return -1;
	}
	d->reg.slots = cluster_changes_slots(d->cluster_changes);
	store_set_changes(d->store, name);
	/* The transition stream (cluster_stream.h): watchers follow its global
	 * numbers; its recent past (one feed's worth) is read at start. */
	enum { STREAM_FEED = 1u << 16 };
	d->cluster_stream = cluster_stream_open(u->target, u->shown, STREAM_FEED, err, sizeof(err));
	if (!d->cluster_stream || !(d->stream_feed = feed_new(STREAM_FEED, NULL))) {
		LOG(ERR, "%s", d->cluster_stream ? "transition stream: out of memory" : err);
		return -1;
	}
	feed_start_at(d->stream_feed, cluster_stream_start_cursor(d->cluster_stream) + 1);
	if (adopt_fleet_policy(d, u) < 0)
		return -1;
	struct store_fence f = {.current = cluster_fence_current,
				.lost = cluster_fence_lost,
				.ctx = d->cluster};
	store_set_fence(d->store, &f);
	return 0;
}

/* The store, and the endpoints it kept, before any server or worker runs. */
static int open_store(struct gn_daemon *d)
{
	char err[1024], path[4200];
	struct store_url u;
	if (store_url_parse(d->opt.store, &u, err, sizeof(err)) < 0) { /* checked by options.c */
		LOG(ERR, "store: %s", err);
		return -EINVAL;
	}
	if (u.kind == STORE_KIND_PG) {
		d->store = store_open_with(&store_db_pg, u.target, u.shown, err, sizeof(err));
	} else {
		if (u.target[0])
			snprintf(path, sizeof(path), "%s", u.target);
		else
			snprintf(path, sizeof(path), "%s/glournet.db", d->opt.state_dir);
		d->store = store_open(path, err, sizeof(err));
	}
	if (!d->store) {
		LOG(ERR, "store: %s", err);
		return -EIO;
	}
	if (u.kind == STORE_KIND_PG && open_cluster(d, &u) < 0)
		return -EIO;
	/* Before the restore: a store that lost its endpoints is refused, not loaded. */
	int rc = state_dir_check_store(d->opt.state_dir, d->store, d->opt.allow_empty_store);
	if (rc < 0)
		return rc;
	/* The store's reader gets the first worker lcore's CPU: idle until the
	 * workers start, after the restore. */
	unsigned first = rte_get_next_lcore(-1, 1, 0);
	if (first < RTE_MAX_LCORE) {
		rte_cpuset_t cs = rte_lcore_cpuset(first);
		for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &cs)) {
				d->restore_cpu = cpu;
				d->restore_cpu_set = true;
				break;
			}
	}
	rc = persist_restore(d);
	if (rc < 0)
		return rc;
	d->store_watch = (struct loop_watch){.fd = store_event_fd(d->store),
					     .fn = on_store_commit,
					     .ctx = d};
	return loop_add(&d->loop, &d->store_watch, EPOLLIN);
}

int start_control(struct gn_daemon *d, sigset_t *sigs, struct loop_watch *sigw)
{
	int rc = loop_init(&d->loop);
	if (rc < 0)
		return rc;
	rc = registry_init(&d->reg, &d->table);
	if (rc < 0)
		return rc;
	/* The state directory was prepared and locked by main(), before EAL:
	 * every file below is created in it, under its umask. */
	char log_path[4200];
	snprintf(log_path, sizeof(log_path), "%s/transitions.log", d->opt.state_dir);
	d->feed = feed_new(1u << 16, log_path);
	if (!d->feed)
		return -ENOMEM;
	/* Issue 14: the numbering goes on from the last run's (docs/control-socket.md). */
	uint64_t last_seq = feed_log_last_seq(log_path);
	if (last_seq)
		feed_start_at(d->feed, last_seq + 1);
	d->reg.feed = d->feed;
	rc = load_policy(d);
	if (rc < 0)
		return rc;
	/* From here on policy.json is written off this thread (policy_apply.c). */
	if (io_offload_start(&d->policy_saver.io) < 0)
		LOG(WARN, "no thread for policy saves: they run on the control thread");
	rc = open_store(d);
	if (rc < 0)
		return rc;
	rc = slot_table_note_pages(&d->table); /* which pages, one log line */
	if (rc < 0)
		return rc;
	static const struct daemon_dataplane_ops dp = {.read_port = port_read_stats,
						       .netpath_tick = netpath_tick};
	daemon_jobs_init(d, &dp);
	d->http.api = (struct api_ctx){.reg = &d->reg,
				       .opt = &d->opt,
				       .counters = &d->http_counters,
				       .policy = &d->policy,
				       .persist = persist_for_api,
				       .store_unreachable = store_unreachable_for_api,
				       .persist_ctx = d,
				       .notify = &d->notify,
				       .hb_addrs = d->cluster ? &d->hb_addrs : NULL};
	/* This collector's own until the lease thread's first view. */
	hb_addrs_merge(&d->hb_addrs, d->opt.hb_addrs, d->opt.n_hb_addrs, NULL, NULL, 0);
	rc = http_start(&d->http, &d->loop, d->opt.http_listen, &d->opt);
	if (rc < 0)
		return rc;
	rc = metrics_start(&d->metrics, &d->loop, d, d->opt.metrics_listen, link_state);
	if (rc < 0)
		return rc;
	rc = ctl_server_start(&d->ctl, &d->loop, d, d->opt.ctl_socket);
	if (rc < 0)
		return rc;
	*sigw = (struct loop_watch){.fd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK),
				    .fn = on_signal,
				    .ctx = d};
	return sigw->fd < 0 ? -errno : loop_add(&d->loop, sigw, EPOLLIN);
}

static void store_close_drain(struct gn_daemon *d)
{
	struct store_stats st;
	for (int i = 0; i < 200; i++) { /* up to 2 s for the queue to commit */
		store_get_stats(d->store, &st);
		if (!st.queue_len)
			break;
		usleep(10000);
	}
	http_resume_durable(&d->http, store_committed(d->store));
	store_close(d->store, 5000);
	d->store = NULL;
}

void shutdown_all(struct gn_daemon *d)
{
	d->stop_workers = true;
	rte_eal_mp_wait_lcore();
	if (d->store) {
		persist_final_checkpoint(&d->checkpoint, &d->persist);
		/* Answers committed during the drain go out as 2xx (http_stop
		 * flushes them); the rest get 503 and the agent retries. */
		store_close_drain(d);
	}
	cluster_feed_close(d->cluster_feed);
	d->cluster_feed = NULL;
	cluster_changes_close(d->cluster_changes);
	d->cluster_changes = NULL;
	d->reg.slots = NULL;
	changes_job_free(&d->changes_job);
	cluster_stream_close(d->cluster_stream);
	d->cluster_stream = NULL;
	cluster_close(d->cluster); /* after the last status writes: gives the lease up */
	d->cluster = NULL;
	http_stop(&d->http, &d->loop);
	metrics_stop(&d->metrics, &d->loop);
	io_offload_stop(&d->policy_saver.io, 1000000000ull); /* a stalled save is left behind */
	/* After the saver: it writes through this connection (a save still
	 * stalled keeps it, to the process's exit). */
	if (!d->policy_saver.in_flight)
		cluster_policy_close(d->cluster_policy);
	d->cluster_policy = NULL;
	ctl_server_stop(&d->ctl);
	netpath_stop(d); /* after the servers: their last answers go out first */
	uint16_t p;
	RTE_ETH_FOREACH_DEV(p)
	port_stop(p);
	registry_destroy(&d->reg);
	sweep_state_free(&d->sweep);
	notify_free(&d->notify);
	bulk_jobs_free(&d->bulk);
	if (d->feed) {
		feed_flush(d->feed);
		feed_free(d->feed);
	}
	feed_free(d->stream_feed);
	d->stream_feed = NULL;
	policy_free(d->policy);
	slot_table_destroy(&d->table);
	loop_close(&d->loop);
}
