/*
 * The control loop's jobs, one row each (see daemon_jobs.h), and the thin
 * steps over index growth, slot reclaim, the transition log and the port
 * counters, which belong to modules that know nothing of the loop.
 */
#include <string.h>

#define LOG_TAG "cluster"

#include "control/cluster.h"
#include "control/daemon.h"
#include "control/daemon_jobs.h"
#include "control/mono_clock.h"
#include "control/persist.h"
#include "control/transitions.h"
#include "glournet/log.h"

#define MS (1000 * 1000)

/* Index growth moves this many cells between looks at the clock. */
#define INDEX_STEP_CELLS 4096

static bool index_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	struct registry_job *j = self;
	struct registry *r = j->reg;
	if (!r->by_id.old.cells && !r->by_guid.old.cells)
		return false; /* no growth under way */
	loop_job_pass_begin(&j->stats);
	uint64_t deadline = gn_mono_ns() + budget_ns;
	bool more;
	while ((more = registry_index_step(r, INDEX_STEP_CELLS)) && gn_mono_ns() < deadline)
		;
	if (!more)
		loop_job_pass_end(&j->stats); /* the old tables are empty */
	return more;
}

/* The slots removed since the last turn share one grace period; its
 * length is the workers' next quiescent state, not the budget's. */
static bool reclaim_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	(void)budget_ns;
	struct registry_job *j = self;
	if (!j->reg->nquarantine)
		return false;
	loop_job_pass_begin(&j->stats);
	registry_reclaim(j->reg);
	loop_job_pass_end(&j->stats);
	return false;
}

/* At most ~1 MiB of lines a turn (feed_flush's own bound); a backlog, a
 * full pipe or a failing disk wait for the next turn. */
static bool log_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	(void)budget_ns;
	struct feed_log_job *j = self;
	if (!feed_log_pending(j->feed))
		return false;
	loop_job_pass_begin(&j->stats);
	feed_flush(j->feed);
	if (!feed_log_pending(j->feed))
		loop_job_pass_end(&j->stats);
	return false;
}

static bool port_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)budget_ns;
	struct port_job *j = self;
	if (!j->read || now - j->last < j->interval)
		return false;
	j->last = now;
	loop_job_pass_begin(&j->stats);
	j->read(j->port_id, j->out);
	loop_job_pass_end(&j->stats);
	return false;
}

static bool netpath_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)budget_ns;
	struct netpath_job *j = self;
	if (!j->tick)
		return false;
	loop_job_pass_begin(&j->stats);
	bool more = j->tick(j->d, now);
	loop_job_pass_end(&j->stats);
	return more;
}

static bool gated_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct decider_gate *g = self;
	/* A new decider first catches up the transition stream (stream_apply.h). */
	if (!cluster_deciding(g->d->cluster) || stream_catching_up(&g->d->stream_job))
		return false;
	return g->step(g->self, now, budget_ns);
}

static bool decider_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)budget_ns;
	struct decider_job *j = self;
	int64_t epoch;
	int ev = cluster_take_event(j->d->cluster, &epoch);
	if (ev <= 0)
		return false;
	loop_job_pass_begin(&j->stats);
	/* R9 from the takeover: the collector that decided before may have
	 * been gone for up to a lease, and the contacts it heard are not all
	 * here yet; a held-over guard episode is not ours. A pass under way
	 * is dropped: its candidates were chosen before the grace. */
	struct sweep_state *s = &j->d->sweep;
	s->started = now + 1; /* `now` is whole seconds: never a grace cut short */
	s->phase = SWEEP_IDLE;
	s->guard = (struct guard_state){.raised = s->guard.raised};
	j->epoch = epoch;
	stream_takeover(&j->d->stream_job, gn_mono_ns());
	LOG(WARN, "deciding from now (epoch %lld): offlines held for offline_after (R9)",
	    (long long)epoch);
	loop_job_pass_end(&j->stats);
	return false;
}

static int expire_remove(void *d, struct endpoint *ep, uint32_t now)
{
	return persist_remove(d, ep, EP_REMOVED_EXPIRED, now);
}

void daemon_jobs_init(struct gn_daemon *d, const struct daemon_dataplane_ops *dp)
{
	port_read_fn *read_port = dp ? dp->read_port : NULL;
	struct registry *r = &d->reg;
	struct sweep_state *s = &d->sweep;
	s->reg = r;
	s->policy = &d->policy;
	s->interval = d->opt.sweep_interval;
	s->started = s->last_start = d->started;
	d->port_job = (struct port_job){.read = read_port,
					.port_id = d->port_id,
					.out = &d->port_stats,
					.interval = d->opt.sweep_interval,
					.last = d->started};
	d->index_job = (struct registry_job){.reg = r};
	d->reclaim_job = (struct registry_job){.reg = r};
	d->log_job = (struct feed_log_job){.feed = d->feed};
	d->netpath_job = (struct netpath_job){.tick = dp ? dp->netpath_tick : NULL, .d = d};
	expire_job_init(&d->expire, r, &d->policy, &s->guard, d->started, expire_remove, d);
	reclassify_job_init(&d->reclassify, r, &d->policy);
	bulk_jobs_init(&d->bulk, r, d->store, &d->policy);
	persist_transitions_init(&d->persist, r, d->store, d->feed);
	persist_checkpoint_init(&d->checkpoint, r, d->store, d->started);
	notify_init(&d->notify, r, &d->policy, &d->tx, d->started);
	notify_resume(&d->notify, d->restore_notify_flags, d->started);

	d->decider_job = (struct decider_job){.d = d};
	d->contacts_job = (struct contacts_job){.reg = r,
						.cluster = d->cluster,
						.feed = d->cluster_feed,
						.sweep = s,
						.last_scan = d->started};
	d->changes_job = (struct changes_job){.reg = r,
					      .policy = &d->policy,
					      .feed = d->cluster_changes,
					      .cluster = d->cluster};
	stream_job_init(&d->stream_job, r, d->stream_feed, d->cluster, d->cluster_stream);
	d->gates[GATE_SWEEP] = (struct decider_gate){sweep_step, s, d};
	d->gates[GATE_EXPIRE] = (struct decider_gate){expire_step, &d->expire, d};
	d->gates[GATE_NOTIFY] = (struct decider_gate){notify_step, &d->notify, d};
	d->gates[GATE_CHECKPOINT] =
		(struct decider_gate){persist_checkpoint_step, &d->checkpoint, d};

	/* In the order of a turn: the port counters are read in the turn a
	 * sweep starts; the slots expiry removes are reclaimed in the same
	 * turn; the log and the store get the turn's transitions; notifies
	 * go out after the netpath turn has learned what neighbours it could. */
	/* clang-format off */
	const struct loop_job rows[] = {
		/* name       step                      self            stats                  share */
		{"netpath",    netpath_step,             &d->netpath_job, &d->netpath_job.stats, 1 * MS},
		{"port",       port_step,                &d->port_job,    &d->port_job.stats,    1 * MS},
		{"decider",    decider_step,             &d->decider_job, &d->decider_job.stats, 1 * MS},
		{"stream",     stream_step,              &d->stream_job,  &d->stream_job.stats,  1 * MS},
		{"contacts",   contacts_step,            &d->contacts_job, &d->contacts_job.stats, 1 * MS},
		{"changes",    changes_step,             &d->changes_job, &d->changes_job.stats, 2 * MS},
		{"sweep",      gated_step,               &d->gates[GATE_SWEEP], &s->stats,       3 * MS},
		{"index",      index_step,               &d->index_job,   &d->index_job.stats,   1 * MS},
		{"import",     bulk_import_step,         &d->bulk,        &d->bulk.import_stats, 2 * MS},
		{"export",     bulk_export_step,         &d->bulk,        &d->bulk.export_stats, 2 * MS},
		{"expire",     gated_step,               &d->gates[GATE_EXPIRE], &d->expire.stats, 2 * MS},
		{"reclassify", reclassify_step,          &d->reclassify,  &d->reclassify.stats, 2 * MS},
		{"notify",     gated_step,               &d->gates[GATE_NOTIFY], &d->notify.stats, 2 * MS},
		{"reclaim",    reclaim_step,             &d->reclaim_job, &d->reclaim_job.stats, 1 * MS},
		{"log",        log_step,                 &d->log_job,     &d->log_job.stats,     1 * MS},
		{"persist",    persist_transitions_step, &d->persist,     &d->persist.stats,     1 * MS},
		{"checkpoint", gated_step,               &d->gates[GATE_CHECKPOINT], &d->checkpoint.stats, 1 * MS},
		{"query",      ctl_server_step_queries,  &d->ctl,         &d->ctl.query_stats,   2 * MS},
	};
	/* clang-format on */
	_Static_assert(sizeof(rows) / sizeof(rows[0]) <= DAEMON_JOBS_MAX, "room in d->jobs");
	memcpy(d->jobs, rows, sizeof(rows));
	d->njobs = sizeof(rows) / sizeof(rows[0]);
}
