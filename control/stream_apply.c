/* The transition stream on the control thread (stream_apply.h). */
#include <inttypes.h>

#include "control/cluster.h"
#include "control/cluster_stream.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/stream_apply.h"
#include "control/transitions.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define CHUNK 1024 /* rows per take, between looks at the clock */

bool stream_accept(struct stream_cursor *c, uint64_t seq)
{
	if (seq <= c->last) {
		c->duplicates++;
		return false;
	}
	if (c->last && seq > c->last + 1) {
		uint64_t missed = seq - c->last - 1;
		c->gaps += missed;
		LOG(WARN,
		    "transition stream: %" PRIu64 " numbers missing before seq %" PRIu64
		    " (%" PRIu64 " in all)",
		    missed, seq, c->gaps);
	}
	c->last = seq;
	return true;
}

int stream_apply_status(struct registry *r, uint64_t id, uint8_t status, uint8_t reason,
			uint32_t since)
{
	struct endpoint *ep = registry_by_id(r, id);
	if (!ep)
		return -1;
	if (ep->status == status || status >= EP_STATUS_COUNT)
		return 0;
	bool up = status == EP_ONLINE || status == EP_UNREACH_ONLINE;
	bool unreachable = status == EP_UNREACH_ONLINE || status == EP_UNREACH_OFFLINE;
	registry_restore_state(r, ep, unreachable, up, (enum ep_reason)reason, since);
	return 1;
}

int stream_apply_row(struct registry *r, const struct store_trans *t)
{
	return stream_apply_status(r, t->id, t->new_status, t->reason, t->time);
}

void stream_job_init(struct stream_job *j, struct registry *r, struct transition_feed *watch,
		     struct cluster *c, struct cluster_stream *cs)
{
	*j = (struct stream_job){.reg = r, .watch = watch, .cluster = c, .cs = cs};
	if (cs) {
		j->cur.last = cluster_stream_start_cursor(cs);
		j->cur.history = cluster_stream_start_head(cs);
	}
}

void stream_takeover(struct stream_job *j, uint64_t mono_ns)
{
	if (!j->cs)
		return;
	j->catching_up = true;
	j->takeover_ns = mono_ns;
	LOG(INFO, "catching up the transition stream (at seq %" PRIu64 ") before deciding",
	    j->cur.last);
}

bool stream_catching_up(const struct stream_job *j)
{
	return j->catching_up;
}

void stream_take_row(struct stream_job *j, const struct store_trans *t, bool apply)
{
	if (!stream_accept(&j->cur, t->seq))
		return;
	struct endpoint *ep = registry_by_id(j->reg, t->id); /* a guard row's id 0: none */
	/* A removal or guard event is shown, not applied: the change feed
	 * removes the endpoint, and only the decider runs the guard. */
	if (apply && t->kind == TK_STATUS && t->seq > j->cur.history) {
		int rc = stream_apply_row(j->reg, t);
		if (rc > 0)
			j->applied++;
		else if (rc < 0) {
			j->unknown++;
			if (j->npending < STREAM_PENDING_MAX)
				j->pending[j->npending++] =
					(struct stream_pending){.id = t->id,
								.seen_ns = gn_mono_ns(),
								.time = t->time,
								.status = t->new_status,
								.reason = t->reason};
		}
	}
	if (j->watch) {
		struct transition e = {.id = t->id,
				       .slot = ep ? ep->slot : 0,
				       .time = t->time,
				       .count = t->count,
				       .kind = t->kind,
				       .old_status = t->old_status,
				       .new_status = t->new_status,
				       .reason = t->reason};
		feed_push_at(j->watch, &e, t->seq);
	}
}

void stream_retry_pending(struct stream_job *j, uint64_t mono_ns)
{
	unsigned keep = 0;
	j->pending_at_ns = mono_ns;
	for (unsigned i = 0; i < j->npending; i++) {
		struct stream_pending *p = &j->pending[i];
		struct endpoint *ep = registry_by_id(j->reg, p->id);
		if (ep) {
			if (p->time >= ep->status_since &&
			    stream_apply_status(j->reg, p->id, p->status, p->reason, p->time) > 0)
				j->late++;
			continue;
		}
		if (mono_ns - p->seen_ns < STREAM_PENDING_MS * 1000000ull)
			j->pending[keep++] = *p;
	}
	j->npending = keep;
}

bool stream_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	struct stream_job *j = self;
	if (!j->cs)
		return false;
	uint64_t deadline = gn_mono_ns() + budget_ns;
	struct store_trans rows[CHUNK];
	uint64_t synced;
	size_t n;
	bool began = false;
	bool deciding = cluster_deciding(j->cluster);
	if (j->was_deciding && !deciding) {
		/* Stepped down: what it decided last may have been fenced. */
		cluster_stream_resync(j->cs);
		j->resync_asked++;
		LOG(WARN, "stopped deciding: reading every endpoint's stored status again");
	}
	j->was_deciding = deciding;
	do {
		/* The decider applies nothing of its own (its registry made the
		 * rows), but what the one before it committed, until caught up. */
		bool apply = !cluster_deciding(j->cluster) || j->catching_up;
		n = cluster_stream_take(j->cs, rows, CHUNK, &synced);
		if (n && !began) {
			loop_job_pass_begin(&j->stats);
			began = true;
		}
		for (size_t i = 0; i < n; i++)
			stream_take_row(j, &rows[i], apply);
		if (j->catching_up && synced && synced > j->takeover_ns) {
			j->catching_up = false;
			LOG(WARN, "transition stream caught up at seq %" PRIu64 ": deciding",
			    j->cur.last);
		}
	} while (n == CHUNK && gn_mono_ns() < deadline);
	/* A resync's statuses, after the rows read before them. */
	struct stream_status st[CHUNK];
	size_t ns = cluster_stream_take_statuses(j->cs, st, CHUNK);
	for (size_t i = 0; i < ns && !cluster_deciding(j->cluster); i++)
		if (stream_apply_status(j->reg, st[i].id, st[i].status, st[i].reason, st[i].since) >
		    0)
			j->resynced++;
	if (j->npending && gn_mono_ns() - j->pending_at_ns >= STREAM_PENDING_RETRY_MS * 1000000ull)
		stream_retry_pending(j, gn_mono_ns());
	if (began)
		loop_job_pass_end(&j->stats);
	return n == CHUNK || ns == CHUNK;
}
