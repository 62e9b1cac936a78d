/*
 * The transition stream on the control thread (cluster_stream.h reads it):
 * each row goes into the watchers' feed under its global number (watch
 * shows the same stream with the same numbers on every collector), and on
 * a collector that does not decide, and on a new decider until it has
 * caught up, its status into the registry, so every show command answers
 * with the decider's statuses. The cursor's bookkeeping and the apply of a
 * row are plain functions over the registry, for the unit tests.
 */
#ifndef GLOURNET_STREAM_APPLY_H
#define GLOURNET_STREAM_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "control/store_db.h"

struct registry;
struct transition_feed;
struct cluster;
struct cluster_stream;

/* Where a collector is in the stream, and what it found. */
struct stream_cursor {
	uint64_t last;       /* the last number taken (0: none) */
	uint64_t history;    /* numbers up to this are the past: shown, not applied */
	uint64_t gaps;       /* numbers never seen (a row missing in the table) */
	uint64_t duplicates; /* rows at or below `last`: dropped */
};

/* The row numbered `seq`: true to take it (then `last` is seq, and a gap
 * before it is counted and logged), false for an old or repeated one. */
bool stream_accept(struct stream_cursor *c, uint64_t seq);

/* The row's status into the registry, as the decider had it (counted as
 * registry_restore_state counts, not a transition of ours): 1 changed, 0
 * the endpoint had it already, -1 not known here (removed, or not yet
 * registered here: counted by the caller). */
int stream_apply_row(struct registry *r, const struct store_trans *t);
/* The same for a stored status (a resync after a step-down). */
int stream_apply_status(struct registry *r, uint64_t id, uint8_t status, uint8_t reason,
			uint32_t since);

/* A row for an endpoint not known here yet (its registration on another
 * collector not applied yet: the change feed brings it with the status the
 * store had when the feed READ it, which may be older than this row),
 * kept to be applied once the endpoint is here: retried every
 * STREAM_PENDING_RETRY_MS for STREAM_PENDING_MS (the change feed is within
 * a second), then dropped (the endpoint was removed). At most
 * STREAM_PENDING_MAX; more are counted in `unknown` only. */
#define STREAM_PENDING_MAX      4096u
#define STREAM_PENDING_MS       10000u
#define STREAM_PENDING_RETRY_MS 100u
struct stream_pending {
	uint64_t id, seen_ns;
	uint32_t time;
	uint8_t status, reason;
};

/* The loop job "stream". */
struct stream_job {
	struct registry *reg;
	struct transition_feed *watch; /* the global numbers */
	struct cluster *cluster;
	struct cluster_stream *cs; /* NULL: no stream, the job does nothing */
	struct stream_cursor cur;
	/* A takeover (stream_takeover): the rows the old decider committed
	 * are applied until a read that began after it reached the end; the
	 * decider's gated jobs wait for that (stream_catching_up). */
	bool catching_up;
	uint64_t takeover_ns;
	uint64_t applied, unknown; /* rows applied to the registry; for endpoints not here */
	struct stream_pending pending[STREAM_PENDING_MAX]; /* in stream order */
	unsigned npending;
	uint64_t pending_at_ns; /* the last retry */
	uint64_t late;          /* unknown rows applied once the endpoint came */
	/* A step-down asks for the stored statuses again (cluster_stream.h
	 * cluster_stream_resync): a decision of ours the fence dropped is in
	 * our registry and in no stream row. */
	bool was_deciding;
	uint64_t resync_asked, resynced; /* step-downs; statuses it corrected */
	struct loop_job_stats stats;
};

void stream_job_init(struct stream_job *j, struct registry *r, struct transition_feed *watch,
		     struct cluster *c, struct cluster_stream *cs);
/* The decider's news (daemon_jobs.c): this collector decides from now. */
void stream_takeover(struct stream_job *j, uint64_t mono_ns);
/* True while a new decider has not caught up the stream: it must not
 * decide on statuses older than the stream's. */
bool stream_catching_up(const struct stream_job *j);
/* One rows' worth of the stream (bounded); true when more is waiting. */
bool stream_step(void *self, uint32_t now, uint64_t budget_ns);
/* One row: the bookkeeping, the watchers' feed, the registry when
 * `apply`. Exposed for the unit tests; stream_step calls it. */
void stream_take_row(struct stream_job *j, const struct store_trans *t, bool apply);
/* The kept rows (stream_pending) again, in stream order, at `mono_ns`: a
 * row whose endpoint is here now is applied unless its status is older
 * than the endpoint's (status_since later than the row's time: a later row
 * or the change feed's stored status came first); one older than
 * STREAM_PENDING_MS is dropped. Exposed for the unit tests. */
void stream_retry_pending(struct stream_job *j, uint64_t mono_ns);

#endif
