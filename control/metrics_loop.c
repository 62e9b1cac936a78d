/*
 * The control plane's families (metrics_families.h): every loop job's
 * slices and passes (loop_job.h, one series per row of the job table),
 * the endpoint API's answers, the control socket, the store. Times are
 * kept in nanoseconds and written in seconds, Prometheus' base unit.
 */
#include <stdio.h>

#include "control/metrics_families.h"
#include "control/store.h"
#include "control/transitions.h"

#define NS 1e-9

/* ---- loop jobs, labelled job="<its row's name>" ---- */

enum job_field { JF_PASSES, JF_SLICES, JF_CPU, JF_IN_PASS };

static size_t per_job(struct metrics_scrape *s, const struct metrics_family *f,
		      enum job_field which)
{
	for (unsigned i = 0; i < s->d->njobs; i++) {
		const struct loop_job *j = &s->d->jobs[i];
		const struct loop_job_stats *st = j->stats;
		if (which == JF_CPU)
			mt_f64(&s->text, f->name, (double)st->slice_cpu_ns_sum * NS, "job", j->name,
			       NULL);
		else
			mt_u64(&s->text, f->name,
			       which == JF_PASSES   ? st->passes
			       : which == JF_SLICES ? st->slices
						    : st->in_pass,
			       "job", j->name, NULL);
	}
	return 0;
}

size_t mf_job_passes(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_job(s, f, JF_PASSES);
}

size_t mf_job_slices(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_job(s, f, JF_SLICES);
}

size_t mf_job_cpu(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_job(s, f, JF_CPU);
}

size_t mf_job_in_pass(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return per_job(s, f, JF_IN_PASS);
}

/* Cumulative buckets from loop_job.c's per-bucket counts; +Inf is every
 * slice. */
size_t mf_job_slice_hist(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	char bucket[96], sum[96], count[96];
	snprintf(bucket, sizeof(bucket), "%s_bucket", f->name);
	snprintf(sum, sizeof(sum), "%s_sum", f->name);
	snprintf(count, sizeof(count), "%s_count", f->name);
	for (unsigned i = 0; i < s->d->njobs; i++) {
		const struct loop_job *j = &s->d->jobs[i];
		const struct loop_job_stats *st = j->stats;
		uint64_t acc = 0;
		for (unsigned b = 0; b < LOOP_JOB_BUCKETS; b++) {
			char le[24];
			acc += st->slice_bucket[b];
			snprintf(le, sizeof(le), "%g", (double)loop_job_bucket_ns[b] * NS);
			mt_u64(&s->text, bucket, acc, "job", j->name, "le", le, NULL);
		}
		mt_u64(&s->text, bucket, st->slices, "job", j->name, "le", "+Inf", NULL);
		mt_f64(&s->text, sum, (double)st->slice_ns_sum * NS, "job", j->name, NULL);
		mt_u64(&s->text, count, st->slices, "job", j->name, NULL);
	}
	return 0;
}

/* Two clocks of the same quantity: a label, not two families. */
static size_t wall_cpu(struct metrics_scrape *s, const struct metrics_family *f, bool max)
{
	for (unsigned i = 0; i < s->d->njobs; i++) {
		const struct loop_job *j = &s->d->jobs[i];
		const struct loop_job_stats *st = j->stats;
		uint64_t wall = max ? st->max_slice_ns : st->last_pass_wall_ns;
		uint64_t cpu = max ? st->max_slice_cpu_ns : st->last_pass_ns;
		mt_f64(&s->text, f->name, (double)wall * NS, "job", j->name, "clock", "wall", NULL);
		mt_f64(&s->text, f->name, (double)cpu * NS, "job", j->name, "clock", "cpu", NULL);
	}
	return 0;
}

size_t mf_job_max_slice(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return wall_cpu(s, f, true);
}

size_t mf_job_last_pass(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return wall_cpu(s, f, false);
}

/* ---- the endpoint API and the control socket ---- */

double mv_http_requests(const struct metrics_scrape *s)
{
	return (double)s->d->http_counters.requests;
}

size_t mf_http_responses(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++) {
		const struct metrics_http_label *l = &metrics_http_labels[i];
		if (!l->closed)
			mt_u64(&s->text, f->name, s->d->http_counters.by_result[i], "route",
			       l->route ? l->route : "any", "code", l->code ? l->code : "unknown",
			       "result", http_counter_name(i), NULL);
	}
	return 0;
}

/* Connections closed before any answer: not answers, so not above. */
size_t mf_http_closed(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		if (metrics_http_labels[i].closed)
			mt_u64(&s->text, f->name, s->d->http_counters.by_result[i], "reason",
			       metrics_http_labels[i].closed, NULL);
	return 0;
}

double mv_http_held(const struct metrics_scrape *s)
{
	return s->d->http.n_deferred;
}

size_t mf_ctl_refused(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	mt_u64(&s->text, f->name, s->d->ctl.rejected, "reason", "too_many", NULL);
	mt_u64(&s->text, f->name, s->d->ctl.denied, "reason", "denied", NULL);
	return 0;
}

double mv_ctl_idle_closed(const struct metrics_scrape *s)
{
	return (double)s->d->ctl.idle_closed;
}

double mv_ctl_watch_missed(const struct metrics_scrape *s)
{
	return (double)s->d->ctl.watch_missed;
}

double mv_ctl_bad_requests(const struct metrics_scrape *s)
{
	return (double)s->d->ctl.bad_requests;
}

double mv_scrapes(const struct metrics_scrape *s)
{
	return (double)s->env.scrapes;
}

/* ---- the store: 0 everywhere when none is open ---- */

static struct store_stats store_stats_of(const struct metrics_scrape *s)
{
	struct store_stats st = {0};
	if (s->d->store)
		store_get_stats(s->d->store, &st);
	return st;
}

double mv_store_open(const struct metrics_scrape *s)
{
	return s->d->store != NULL;
}

double mv_store_alarm(const struct metrics_scrape *s)
{
	char why[8];
	return s->d->store && store_degraded(s->d->store, why, sizeof(why));
}

double mv_store_queue(const struct metrics_scrape *s)
{
	return store_stats_of(s).queue_len;
}

double mv_store_queue_max(const struct metrics_scrape *s)
{
	return store_stats_of(s).queue_max;
}

double mv_store_queued(const struct metrics_scrape *s)
{
	return (double)store_stats_of(s).queued;
}

double mv_store_committed(const struct metrics_scrape *s)
{
	return (double)store_stats_of(s).committed_ops;
}

double mv_store_batches(const struct metrics_scrape *s)
{
	return (double)store_stats_of(s).batches;
}

double mv_store_errors(const struct metrics_scrape *s)
{
	return (double)store_stats_of(s).commit_errors;
}

double mv_store_reconnects(const struct metrics_scrape *s)
{
	return (double)store_stats_of(s).reconnects;
}

double mv_store_unreachable(const struct metrics_scrape *s)
{
	return s->d->store && store_unreachable(s->d->store);
}

double mv_store_last_commit(const struct metrics_scrape *s)
{
	return store_stats_of(s).last_commit_ms / 1000.0;
}

double mv_log_errors(const struct metrics_scrape *s)
{
	return s->d->feed ? (double)feed_log_errors(s->d->feed) : 0;
}
