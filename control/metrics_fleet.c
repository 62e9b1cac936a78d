/*
 * The fleet's families (metrics_families.h): the daemon itself, endpoints
 * by status and by range, slots, removals, transitions, registrations, the
 * sweep and the mass-offline guard. All of them read counts the registry,
 * the sweep and the policy keep up to date as things happen; the range
 * rows are the one family that grows with the configuration (up to 10,000
 * ranges), so they are written a chunk at a time.
 */
#include <stdio.h>

#include "control/metrics_families.h"
#include "control/ranges.h"
#include "glournet/gn_mem.h"

size_t mf_info(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	mt_u64(&s->text, f->name, 1, "version", GN_VERSION, NULL);
	return 0;
}

double mv_start_time(const struct metrics_scrape *s)
{
	return s->d->started;
}

double mv_uptime(const struct metrics_scrape *s)
{
	return s->now >= s->d->started ? s->now - s->d->started : 0;
}

double mv_settings_rev(const struct metrics_scrape *s)
{
	return (double)s->d->policy->rev;
}

double mv_restart_grace(const struct metrics_scrape *s) /* R9, as show status says it */
{
	return s->now <= s->d->started || s->now - s->d->started < s->d->policy->offline_after;
}

/* The real clock's steps (clock_step.h), as show stats has them. */
size_t mf_clock_steps(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	mt_u64(&s->text, f->name, s->d->clock.forward, "direction", "forward", NULL);
	mt_u64(&s->text, f->name, s->d->clock.backward, "direction", "backward", NULL);
	return 0;
}

double mv_clock_offset(const struct metrics_scrape *s)
{
	return (double)s->d->clock.base_s;
}

size_t mf_endpoints(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		mt_u64(&s->text, f->name, s->d->reg.by_status[i], "status", ep_status_name(i),
		       NULL);
	return 0;
}

/* The registry's per-range counts, index for index with the policy's set
 * (registry_reset_ranges follows every change of the set). A change of
 * the policy while a scrape is under way ends the family where it is: the
 * rows that follow would be of another set, and might repeat a range. */
size_t mf_ranges(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	const struct gn_daemon *d = s->d;
	const struct registry *r = &d->reg;
	if (d->policy->rev != s->rev)
		return 0;
	size_t n = range_set_count(d->policy->ranges);
	if (n > r->nranges)
		n = r->nranges;
	/* At least one range a call, even when the HELP line filled the chunk. */
	for (size_t k = 0; cursor < n && (k == 0 || s->text.len < METRICS_CHUNK); k++, cursor++) {
		char text[RANGE_TEXT_MAX];
		range_format(range_set_entry(d->policy->ranges, cursor), text, sizeof(text));
		mt_u64(&s->text, f->name, r->by_range[cursor][1], "range", text, "status",
		       ep_status_name(EP_UNREACH_ONLINE), NULL);
		mt_u64(&s->text, f->name, r->by_range[cursor][0], "range", text, "status",
		       ep_status_name(EP_UNREACH_OFFLINE), NULL);
	}
	return cursor < n ? cursor : 0;
}

double mv_range_count(const struct metrics_scrape *s)
{
	return (double)range_set_count(s->d->policy->ranges);
}

size_t mf_slots(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const struct registry *r = &s->d->reg;
	mt_u64(&s->text, f->name, r->count, "state", "used", NULL);
	mt_u64(&s->text, f->name, r->nfree, "state", "free", NULL);
	mt_u64(&s->text, f->name, r->nquarantine, "state", "quarantined", NULL);
	return 0;
}

double mv_endpoints_max(const struct metrics_scrape *s)
{
	return s->d->opt.max_endpoints;
}

size_t mf_removed(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int i = 0; i < EP_REMOVAL_COUNT; i++)
		mt_u64(&s->text, f->name, s->d->reg.removed[i], "cause", ep_removal_name(i), NULL);
	return 0;
}

/* Every pair, zeros too: a rate over a series that appears late misses
 * its first increase. */
size_t mf_transitions(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int st = 0; st < EP_STATUS_COUNT; st++)
		for (int why = 0; why < EP_REASON_COUNT; why++)
			mt_u64(&s->text, f->name, s->d->reg.transitions[st][why], "status",
			       ep_status_name(st), "reason", ep_reason_name(why), NULL);
	return 0;
}

size_t mf_registrations(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	const uint64_t *c = s->d->http_counters.by_result;
	mt_u64(&s->text, f->name, c[HTTP_REGISTER_NEW], "result", "new", NULL);
	mt_u64(&s->text, f->name, c[HTTP_REGISTER_KNOWN], "result", "known", NULL);
	mt_u64(&s->text, f->name, c[HTTP_REGISTER_REKEY], "result", "rekeyed", NULL);
	return 0;
}

double mv_table_bytes(const struct metrics_scrape *s)
{
	(void)s;
	return (double)gn_table_bytes();
}

size_t mf_registry_bytes(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	struct registry_memory m;
	registry_memory(&s->d->reg, &m);
	mt_u64(&s->text, f->name, m.entries, "part", "entries", NULL);
	mt_u64(&s->text, f->name, m.details, "part", "details", NULL);
	mt_u64(&s->text, f->name, m.index, "part", "index", NULL);
	return 0;
}

/* ---- the sweep and the guard (R6, R10) ---- */

double mv_sweep_last_start(const struct metrics_scrape *s)
{
	return s->d->sweep.last_start;
}

double mv_sweep_interval(const struct metrics_scrape *s)
{
	return s->d->sweep.interval;
}

double mv_guard_active(const struct metrics_scrape *s)
{
	return s->d->sweep.guard.active;
}

double mv_guard_raised(const struct metrics_scrape *s)
{
	return (double)s->d->sweep.guard.raised;
}

double mv_guard_held(const struct metrics_scrape *s)
{
	return s->d->sweep.guard.held;
}

double mv_guard_at_risk(const struct metrics_scrape *s)
{
	return s->d->sweep.guard.at_risk;
}

double mv_guard_online(const struct metrics_scrape *s)
{
	return s->d->sweep.guard.online;
}

double mv_guard_threshold(const struct metrics_scrape *s)
{
	return s->d->policy->guard_threshold / 100.0;
}

double mv_guard_since(const struct metrics_scrape *s)
{
	const struct guard_state *g = &s->d->sweep.guard;
	return g->active ? g->since : 0;
}
