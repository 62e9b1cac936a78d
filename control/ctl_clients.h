/*
 * Fleet queries: `show clients`, `show counts` and `remove client` by
 * filter, over every endpoint, 10 M of them, without holding them.
 *
 * A query is a walk over the registry's slots from a cursor, stepped as a
 * loop job ("query", ctl_server_step_queries) under the turn's budget, and
 * its answer a stream of lines on the asking connection, as `watch`
 * streams: the first answer {"ok": true, "result": {"streaming": true,
 * ...}}, one line per client, and a last line {"done": {...}} (or
 * {"error", "code"}). The walk stops while the connection's unsent output
 * is over CTL_WATCH_OUT_MAX and goes on as the reader drains it, so the
 * daemon holds at most that per query whatever the fleet's size, and the
 * reader's pace, not the daemon's, limits it. Why a stream rather than
 * pages: one request, no per-page round trip, and the daemon keeps the
 * only cursor; a script that wants pages uses --limit and --after, whose
 * cursor the last line gives (slot order is stable: an endpoint keeps its
 * slot, so a page walk lists each endpoint that stays registered once).
 *
 * Order: slot order by default (streams at once); by status, one pass per
 * status (still streaming, still bounded); by guid or last contact only
 * the first --limit N (at most CTL_SORT_MAX), kept in a heap of N while
 * the walk goes on and sent at its end.
 */
#ifndef GLOURNET_CTL_CLIENTS_H
#define GLOURNET_CTL_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "control/ctl_filter.h"

struct gn_daemon;
struct ctl_query;

/* Most clients a sorted list (--sort guid, last_contact) keeps. */
#define CTL_SORT_MAX 100000

enum ctl_query_kind {
	CTL_Q_LIST,    /* show clients: a line per client */
	CTL_Q_COUNT,   /* show counts: tallies in the last line */
	CTL_Q_REMOVE,  /* remove client FILTER: removes, a line per client removed */
	CTL_Q_PREVIEW, /* remove client FILTER asked to confirm: counts, then
			* ends with {"error", "code": "confirm", "preview"} */
	CTL_Q_DRY_RUN, /* remove client FILTER --dry-run: counts what it would remove */
};

enum ctl_query_sort { CTL_SORT_SLOT, CTL_SORT_STATUS, CTL_SORT_GUID, CTL_SORT_LAST_CONTACT };

/* Where a query's lines go: the connection's output (ctl_server.c). */
struct ctl_sink {
	int (*line)(void *ctx, const char *s, size_t n); /* adds the newline; 0 or -ENOMEM */
	bool (*full)(void *ctx);                         /* no more now: wait for the reader */
	void *ctx;
};

enum ctl_query_state {
	CTL_QS_MORE, /* the budget ran out: more to do at once */
	CTL_QS_WAIT, /* the sink is full, or the store is: the reader or a commit wakes it */
	CTL_QS_DONE, /* its last line is queued: free it */
};

/* A query over `f` (taken: the query frees it). NULL: out of memory. */
struct ctl_query *ctl_query_new(struct gn_daemon *d, enum ctl_query_kind kind,
				struct ctl_filter *f);
/* Order and paging (CTL_Q_LIST): 0, or -EINVAL with a usage message. */
int ctl_query_order(struct ctl_query *q, enum ctl_query_sort sort, bool reverse, uint64_t limit,
		    bool has_after, uint32_t after, char *err, size_t errlen);
/* The first answer's result: {"streaming": true, "kind", "filter", ...}. */
json_t *ctl_query_head(const struct ctl_query *q);
/* Walks on for about budget_ns; lines go to the sink. */
enum ctl_query_state ctl_query_step(struct ctl_query *q, const struct ctl_sink *sink,
				    uint64_t budget_ns);
/* NULL is fine. */
void ctl_query_free(struct ctl_query *q);
/* The memory the query holds (its heap, its tallies): what the tests bound. */
size_t ctl_query_bytes(const struct ctl_query *q);

#endif
