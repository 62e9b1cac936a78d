/*
 * The fleet query job (ctl_clients.h): a walk over the slots from a
 * cursor, a filter test per endpoint, and per match a line, a tally, a
 * place in the sorted heap or a removal; then the last line. Everything it
 * holds is bounded before the walk begins: the filter, the tallies (one
 * pair per unreachable range, at most RANGES_MAX) and for a sorted list
 * the heap of --limit entries; nothing grows with the fleet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#define LOG_TAG "ctl"
#include "control/ctl_clients.h"
#include "control/daemon.h"
#include "control/mono_clock.h"
#include "control/persist.h"
#include "control/registry.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

/* Slots between looks at the clock (and at the sink). */
#define WALK_STEP 256
/* A long walk says how far it got this often. */
#define PROGRESS_NS 1000000000ull

/* Last-contact buckets of show counts: under 1 h, 1 d, 7 d, 30 d, older, never. */
static const struct {
	const char *name;
	uint32_t secs;
} ages[] = {{"1h", 3600}, {"1d", 86400}, {"7d", 7 * 86400}, {"30d", 30 * 86400}, {"older", 0}};
#define N_AGES (sizeof(ages) / sizeof(ages[0]) + 1) /* + never */

struct top_entry {
	uint64_t id;
	uint32_t slot;
	uint32_t num;
	char *text; /* guid, for CTL_SORT_GUID */
};

struct ctl_query {
	struct gn_daemon *d;
	enum ctl_query_kind kind;
	struct ctl_filter f;
	enum ctl_query_sort sort;
	bool reverse;
	uint64_t limit;      /* 0: all */
	uint32_t first, end; /* the walk covers slots [first, end) as of its start */
	uint32_t cursor;     /* the next slot to look at */
	uint8_t pass;        /* CTL_SORT_STATUS: the status this pass lists */
	uint32_t now;        /* when it began (coarse seconds) */
	uint64_t reused0;    /* the registry's slots_reused then */
	uint64_t started_ns, progress_ns;
	uint64_t scanned, matched, listed, removed, gone, store_waits;
	bool has_last;
	uint32_t last_slot; /* the last one listed: the next page's --after */
	bool walked;        /* the walk is over: the heap, then the last line */
	bool finished;
	char failure[200]; /* ended early (the range went): the last line says so */
	struct top_entry *top;
	uint32_t ntop, top_emit;
	uint64_t by_status[EP_STATUS_COUNT], by_reason[EP_REASON_COUNT], by_age[N_AGES];
	uint64_t (*by_range)[2];    /* [range][up], by the ranges below */
	struct range_entry *ranges; /* those in force when it began */
	uint32_t nranges;
	uint64_t ranges_rev;
};

struct ctl_query *ctl_query_new(struct gn_daemon *d, enum ctl_query_kind kind, struct ctl_filter *f)
{
	struct ctl_query *q = calloc(1, sizeof(*q));
	if (!q) {
		ctl_filter_free(f);
		return NULL;
	}
	q->d = d;
	q->kind = kind;
	q->f = *f;
	ctl_filter_init(f); /* ours now */
	q->end = d->reg.nslots;
	q->reused0 = d->reg.slots_reused;
	q->now = gn_coarse_steady();
	q->started_ns = q->progress_ns = gn_mono_ns();
	q->ranges_rev = d->policy->rev;
	if (kind != CTL_Q_LIST && kind != CTL_Q_REMOVE) {
		q->nranges = (uint32_t)range_set_count(d->policy->ranges);
		q->by_range = q->nranges ? calloc(q->nranges, sizeof(*q->by_range)) : NULL;
		q->ranges = q->nranges ? calloc(q->nranges, sizeof(*q->ranges)) : NULL;
		if (q->nranges && (!q->by_range || !q->ranges)) {
			ctl_query_free(q);
			return NULL;
		}
		for (uint32_t i = 0; i < q->nranges; i++)
			q->ranges[i] = *range_set_entry(d->policy->ranges, i);
	}
	return q;
}

void ctl_query_free(struct ctl_query *q)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->ntop; i++)
		free(q->top[i].text);
	free(q->top);
	free(q->by_range);
	free(q->ranges);
	ctl_filter_free(&q->f);
	free(q);
}

size_t ctl_query_bytes(const struct ctl_query *q)
{
	size_t n = sizeof(*q) + q->nranges * (sizeof(*q->by_range) + sizeof(*q->ranges));
	if (q->top)
		n += q->limit * sizeof(*q->top);
	for (uint32_t i = 0; i < q->ntop; i++)
		n += q->top[i].text ? strlen(q->top[i].text) + 1 : 0;
	return n;
}

int ctl_query_order(struct ctl_query *q, enum ctl_query_sort sort, bool reverse, uint64_t limit,
		    bool has_after, uint32_t after, char *err, size_t errlen)
{
	bool heap = sort == CTL_SORT_GUID || sort == CTL_SORT_LAST_CONTACT;
	if (heap && (!limit || limit > CTL_SORT_MAX)) {
		snprintf(err, errlen,
			 "usage: --sort %s keeps the first --limit N clients (1..%d) while it "
			 "walks them all; --sort slot or status streams them all",
			 sort == CTL_SORT_GUID ? "guid" : "last_contact", CTL_SORT_MAX);
		return -EINVAL;
	}
	if (has_after && sort != CTL_SORT_SLOT) {
		snprintf(err, errlen, "usage: --after pages in slot order only (no --sort)");
		return -EINVAL;
	}
	if (reverse && !heap) {
		snprintf(err, errlen, "usage: --reverse goes with --sort guid or last_contact");
		return -EINVAL;
	}
	if (heap && !(q->top = calloc((size_t)limit, sizeof(*q->top)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	q->sort = sort;
	q->reverse = reverse;
	q->limit = limit;
	if (has_after)
		q->first = q->cursor = after + 1 < after ? after : after + 1;
	while (sort == CTL_SORT_STATUS && q->f.statuses && !(q->f.statuses & (1u << q->pass)))
		q->pass++;
	return 0;
}

static const char *const kind_names[] = {"list", "count", "remove", "preview", "dry-run"};
static const char *const sort_names[] = {"slot", "status", "guid", "last_contact"};

json_t *ctl_query_head(const struct ctl_query *q)
{
	char filter[600];
	ctl_filter_describe(&q->f, filter, sizeof(filter));
	return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I}", "streaming", 1, "kind",
			 kind_names[q->kind], "filter", filter, "sort", sort_names[q->sort],
			 "clients", (json_int_t)q->d->reg.count, "slots", (json_int_t)q->end);
}

/* ---- the sorted heap: its root is the last of the kept ones ---- */

/* a before b in the order asked for (ties by slot, so the order is total). */
static bool before(const struct ctl_query *q, const struct top_entry *a, const struct top_entry *b)
{
	int c = q->sort == CTL_SORT_GUID ? strcmp(a->text, b->text)
		: a->num != b->num       ? (a->num < b->num ? -1 : 1)
					 : 0;
	if (q->reverse)
		c = -c;
	return c < 0 || (c == 0 && a->slot < b->slot);
}

static void sift_down(struct ctl_query *q, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->ntop && before(q, &q->top[m], &q->top[l]))
			m = l;
		if (r < q->ntop && before(q, &q->top[m], &q->top[r]))
			m = r;
		if (m == i)
			return;
		struct top_entry t = q->top[i];
		q->top[i] = q->top[m];
		q->top[m] = t;
		i = m;
	}
}

static int keep_sorted(struct ctl_query *q, const struct endpoint *ep, uint32_t last_contact)
{
	struct top_entry e = {.id = ep->id, .slot = ep->slot, .num = last_contact};
	if (q->sort == CTL_SORT_GUID)
		e.text = (char *)ep_guid(ep); /* compared first, copied if kept */
	if (q->ntop == q->limit && !before(q, &e, &q->top[0]))
		return 0;
	if (e.text && !(e.text = strdup(e.text)))
		return -ENOMEM;
	if (q->ntop < q->limit) { /* sift up */
		uint32_t i = q->ntop++;
		while (i && before(q, &q->top[(i - 1) / 2], &e)) {
			q->top[i] = q->top[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		q->top[i] = e;
		return 0;
	}
	free(q->top[0].text);
	q->top[0] = e;
	sift_down(q, 0);
	return 0;
}

static const struct ctl_query *sorting; /* qsort's comparator has no context */

static int cmp_top(const void *a, const void *b)
{
	return before(sorting, a, b) ? -1 : before(sorting, b, a) ? 1 : 0;
}

/* ---- one endpoint ---- */

static void tally(struct ctl_query *q, const struct endpoint *ep, uint32_t last_contact)
{
	q->by_status[ep->status]++;
	q->by_reason[ep->reason < EP_REASON_COUNT ? ep->reason : 0]++;
	size_t age = N_AGES - 1; /* never */
	if (last_contact) {
		uint32_t since = q->now > last_contact ? q->now - last_contact : 0;
		for (age = 0; age + 2 < N_AGES && since >= ages[age].secs; age++)
			;
	}
	q->by_age[age]++;
	int32_t range = registry_range_of(&q->d->reg, ep);
	if (q->by_range && ep->unreachable && range >= 0 && (uint32_t)range < q->nranges)
		q->by_range[range][ep->up]++;
}

static int emit_client(struct ctl_query *q, const struct ctl_sink *sink, const struct endpoint *ep,
		       const char *key)
{
	char line[CTL_CLIENT_LINE_MAX];
	size_t n = ctl_client_line(line, sizeof(line), q->d, ep, key);
	if (n >= sizeof(line))
		return -EOVERFLOW; /* 16 addresses and a 255-byte hostname fit: cannot happen */
	return sink->line(sink->ctx, line, n);
}

/* 0: visited; 1: not now (the store is full: come back to this slot). */
static int visit(struct ctl_query *q, const struct ctl_sink *sink, struct endpoint *ep,
		 uint32_t last_contact)
{
	switch (q->kind) {
	case CTL_Q_LIST:
		if (q->top)
			return keep_sorted(q, ep, last_contact);
		q->listed++;
		q->has_last = true;
		q->last_slot = ep->slot;
		return emit_client(q, sink, ep, NULL);
	case CTL_Q_REMOVE: {
		/* Only endpoints that were there when it began: a registration
		 * since (in a reused slot ahead of the cursor; new slots are past
		 * q->end) is not the one the operator meant, whatever its status.
		 * Times are whole seconds, so only when a slot was reused since
		 * does "registered this second" say "maybe after": else an import
		 * just done was spared by a removal in the same second. */
		if (q->d->reg.slots_reused != q->reused0 && ep_registered(ep) >= q->now) {
			q->matched--;
			return 0;
		}
		char line[CTL_CLIENT_LINE_MAX];
		size_t n = ctl_client_line(line, sizeof(line), q->d, ep, "removed");
		if (persist_remove(q->d, ep, EP_REMOVED_OPERATOR, q->now) < 0) {
			q->store_waits++;
			return 1;
		}
		q->removed++; /* one log line for them all, at the end (finish) */
		return n < sizeof(line) ? sink->line(sink->ctx, line, n) : 0;
	}
	default:
		tally(q, ep, last_contact);
		return 0;
	}
}

/* ---- the walk ---- */

static bool limit_reached(const struct ctl_query *q)
{
	return q->limit && !q->top && q->kind == CTL_Q_LIST && q->listed >= q->limit;
}

/* The next pass of a status sort, or the end of the walk. */
static void end_of_slots(struct ctl_query *q)
{
	if (q->sort == CTL_SORT_STATUS) {
		while (++q->pass < EP_STATUS_COUNT && q->f.statuses &&
		       !(q->f.statuses & (1u << q->pass)))
			;
		if (q->pass < EP_STATUS_COUNT) {
			q->cursor = q->first;
			return;
		}
	}
	q->walked = true;
}

/* Whether the policy in force has the ranges the tallies are by (a change
 * of another setting also moves the revision). */
static bool ranges_same(struct ctl_query *q)
{
	const struct range_set *now = q->d->policy->ranges;
	if (range_set_count(now) != q->nranges)
		return false;
	for (uint32_t i = 0; i < q->nranges; i++)
		if (memcmp(range_set_entry(now, i), &q->ranges[i], sizeof(q->ranges[i])))
			return false;
	q->ranges_rev = q->d->policy->rev;
	return true;
}

/* Counting per range needs the ranges it began with. */
static bool refresh(struct ctl_query *q)
{
	if (!ctl_filter_refresh(&q->f, q->d)) {
		snprintf(q->failure, sizeof(q->failure),
			 "the range of --range was removed while the query ran");
		return false;
	}
	if (q->by_range && q->ranges_rev != q->d->policy->rev && !ranges_same(q)) {
		snprintf(q->failure, sizeof(q->failure),
			 "the unreachable ranges changed while counting: run it again");
		return false;
	}
	return true;
}

/* Once a second of a long walk: {"progress": ...}, so the reader of a
 * count (which has no line until its end) sees it move. */
static int progress(struct ctl_query *q, const struct ctl_sink *sink, uint64_t now_ns)
{
	if (now_ns - q->progress_ns < PROGRESS_NS)
		return 0;
	q->progress_ns = now_ns;
	char line[160];
	int n = snprintf(line, sizeof(line),
			 "{\"progress\":{\"scanned\":%llu,\"slot\":%u,\"slots\":%u,"
			 "\"matched\":%llu}}",
			 (unsigned long long)q->scanned, q->cursor, q->end,
			 (unsigned long long)q->matched);
	return sink->line(sink->ctx, line, (size_t)n);
}

/* Walks until the deadline, the sink fills or the walk ends. */
static enum ctl_query_state walk(struct ctl_query *q, const struct ctl_sink *sink,
				 uint64_t deadline)
{
	struct registry *r = &q->d->reg;
	while (!q->walked) {
		if (sink->full(sink->ctx))
			return CTL_QS_WAIT;
		uint32_t stop = q->cursor >= q->end ? q->cursor /* --after past the end */
				: q->end - q->cursor > WALK_STEP ? q->cursor + WALK_STEP
								 : q->end;
		for (; q->cursor < stop; q->cursor++) {
			struct endpoint *ep = registry_at(r, q->cursor);
			if (!ep->id)
				continue;
			q->scanned++;
			if (q->sort == CTL_SORT_STATUS && ep->status != q->pass)
				continue;
			uint32_t lc = registry_last_contact(r, ep);
			if (!ctl_filter_match(&q->f, ep, lc))
				continue;
			q->matched++;
			int rc = visit(q, sink, ep, lc);
			if (rc < 0) {
				snprintf(q->failure, sizeof(q->failure), "%s", strerror(-rc));
				q->walked = true;
				return CTL_QS_MORE;
			}
			if (rc > 0) { /* this slot again once the store's commit wakes the loop */
				q->scanned--;
				q->matched--;
				return CTL_QS_WAIT;
			}
			if (limit_reached(q)) {
				q->cursor++;
				q->walked = true;
				return CTL_QS_MORE;
			}
			if (sink->full(sink->ctx)) { /* at most one line over the bound */
				q->cursor++;
				return CTL_QS_WAIT;
			}
		}
		if (q->cursor >= q->end)
			end_of_slots(q);
		uint64_t now_ns = gn_mono_ns();
		if (now_ns >= deadline) {
			progress(q, sink, now_ns); /* out of memory: the walk goes on unsaid */
			return CTL_QS_MORE;
		}
	}
	return CTL_QS_MORE;
}

/* The sorted clients, after the walk, as far as the sink takes them. */
static enum ctl_query_state emit_top(struct ctl_query *q, const struct ctl_sink *sink,
				     uint64_t deadline)
{
	if (q->top_emit == 0 && q->ntop) {
		sorting = q;
		qsort(q->top, q->ntop, sizeof(*q->top), cmp_top);
	}
	while (q->top_emit < q->ntop) {
		if (sink->full(sink->ctx))
			return CTL_QS_WAIT;
		const struct top_entry *e = &q->top[q->top_emit++];
		struct endpoint *ep = registry_by_slot(&q->d->reg, e->slot);
		if (!ep || ep->id != e->id) {
			q->gone++; /* removed since the walk saw it */
		} else {
			int rc = emit_client(q, sink, ep, NULL);
			if (rc < 0)
				return CTL_QS_MORE;
			q->listed++;
		}
		if ((q->top_emit & 63) == 0 && gn_mono_ns() >= deadline)
			return CTL_QS_MORE;
	}
	return CTL_QS_DONE;
}

static json_t *counts_json(const struct ctl_query *q)
{
	json_t *st = json_object(), *re = json_object(), *age = json_object(), *rg = json_array();
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		json_object_set_new(st, ep_status_name((enum ep_status)i),
				    json_integer((json_int_t)q->by_status[i]));
	for (int i = 0; i < EP_REASON_COUNT; i++)
		json_object_set_new(re, ep_reason_name((enum ep_reason)i),
				    json_integer((json_int_t)q->by_reason[i]));
	for (size_t i = 0; i < N_AGES; i++)
		json_object_set_new(age, i + 1 < N_AGES ? ages[i].name : "never",
				    json_integer((json_int_t)q->by_age[i]));
	for (uint32_t i = 0; i < q->nranges; i++) {
		char text[RANGE_TEXT_MAX];
		range_format(&q->ranges[i], text, sizeof(text));
		json_array_append_new(rg, json_pack("{s:s, s:I, s:I}", "range", text, "online",
						    (json_int_t)q->by_range[i][1], "offline",
						    (json_int_t)q->by_range[i][0]));
	}
	return json_pack("{s:o, s:o, s:o, s:o}", "by_status", st, "by_reason", re,
			 "by_last_contact", age, "by_range", rg);
}

/* The last line: {"done": ...}, the confirmation a preview asks for, or
 * the error that ended it. */
static int finish(struct ctl_query *q, const struct ctl_sink *sink)
{
	char filter[600];
	ctl_filter_describe(&q->f, filter, sizeof(filter));
	json_t *done = json_pack("{s:I, s:I, s:I}", "matched", (json_int_t)q->matched, "scanned",
				 (json_int_t)q->scanned, "elapsed_ms",
				 (json_int_t)((gn_mono_ns() - q->started_ns) / 1000000));
	json_t *line;
	if (q->kind == CTL_Q_LIST) {
		json_object_set_new(done, "listed", json_integer((json_int_t)q->listed));
		if (q->gone)
			json_object_set_new(done, "gone", json_integer((json_int_t)q->gone));
		bool more = limit_reached(q) && q->cursor < q->end;
		json_object_set_new(done, "after",
				    more && q->has_last ? json_integer(q->last_slot) : json_null());
	} else if (q->kind == CTL_Q_REMOVE) {
		LOG(INFO, "%llu clients removed by an operator, by filter: %s",
		    (unsigned long long)q->removed, filter);
		json_object_set_new(done, "removed", json_integer((json_int_t)q->removed));
		json_object_set_new(done, "clients", json_integer((json_int_t)q->d->reg.count));
		json_object_set_new(done, "store_waits", json_integer((json_int_t)q->store_waits));
	}
	if (q->kind == CTL_Q_COUNT || q->kind == CTL_Q_PREVIEW || q->kind == CTL_Q_DRY_RUN) {
		json_t *c = counts_json(q);
		json_object_update(done, c);
		json_decref(c);
	}
	json_object_set_new(done, "filter", json_string(filter));
	char what[800];
	if (q->failure[0]) {
		line = json_pack("{s:s, s:s, s:o}", "error", q->failure, "code", "error", "done",
				 done);
	} else if (q->kind == CTL_Q_PREVIEW) {
		snprintf(what, sizeof(what),
			 "remove client: %llu clients match %s: confirm to remove them (their "
			 "heartbeats are refused at once)",
			 (unsigned long long)q->matched, filter);
		line = json_pack("{s:s, s:s, s:{s:s, s:I, s:o}}", "error", what, "code", "confirm",
				 "preview", "confirm", what, "count", (json_int_t)q->matched,
				 "done", done);
	} else {
		line = json_pack("{s:o}", "done", done);
	}
	char *s = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(line);
	int rc = s ? sink->line(sink->ctx, s, strlen(s)) : -ENOMEM;
	free(s);
	return rc;
}

enum ctl_query_state ctl_query_step(struct ctl_query *q, const struct ctl_sink *sink,
				    uint64_t budget_ns)
{
	if (q->finished)
		return CTL_QS_DONE;
	uint64_t deadline = gn_mono_ns() + budget_ns;
	if (!q->walked && !q->failure[0] && !refresh(q))
		q->walked = true;
	if (!q->walked) {
		enum ctl_query_state st = walk(q, sink, deadline);
		if (!q->walked || st == CTL_QS_WAIT)
			return st;
	}
	if (q->top && !q->failure[0]) {
		enum ctl_query_state st = emit_top(q, sink, deadline);
		if (st != CTL_QS_DONE)
			return st;
	}
	if (sink->full(sink->ctx))
		return CTL_QS_WAIT;
	if (finish(q, sink) < 0)
		LOG(WARN, "a query's last line could not be queued (out of memory)");
	q->finished = true;
	return CTL_QS_DONE;
}
