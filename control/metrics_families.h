/*
 * A metric family as a row of the table in metrics.c: its name, type and
 * help, and how its samples are written. The emitters live in files by
 * what they read (metrics_fleet.c: endpoints and statuses; metrics_plane.c:
 * workers, port, exception path; metrics_loop.c: loop jobs, HTTP, store).
 * A new family is one emitter (or one getter) and one row.
 */
#ifndef GLOURNET_METRICS_FAMILIES_H
#define GLOURNET_METRICS_FAMILIES_H

#include "control/daemon.h"
#include "control/metrics.h"

/* Writes the family's samples from row `cursor` on and returns the row to
 * go on from in the next chunk, or 0 when it is done. Families of a
 * bounded size (per worker, per job, per reason) write every row at once
 * and return 0; only a family that grows with the configuration (the
 * ranges) stops at METRICS_CHUNK. */
struct metrics_family;
typedef size_t metrics_emit_fn(struct metrics_scrape *s, const struct metrics_family *f,
			       size_t cursor);
/* A family of one sample without labels. */
typedef double metrics_value_fn(const struct metrics_scrape *s);

struct metrics_family {
	const char *name; /* glournet_..., with _total for a counter */
	const char *type; /* "counter", "gauge" or "histogram" */
	const char *help;
	metrics_emit_fn *emit;   /* or: */
	metrics_value_fn *value; /* one sample */
};

/* metrics_fleet.c */
metrics_emit_fn mf_info, mf_endpoints, mf_ranges, mf_slots, mf_removed, mf_transitions,
	mf_registrations;
metrics_value_fn mv_start_time, mv_uptime, mv_settings_rev, mv_restart_grace, mv_range_count,
	mv_endpoints_max, mv_table_bytes, mv_guard_active, mv_guard_raised, mv_guard_held,
	mv_guard_at_risk, mv_guard_online, mv_guard_threshold, mv_guard_since, mv_sweep_last_start,
	mv_sweep_interval;
metrics_emit_fn mf_registry_bytes, mf_clock_steps;
metrics_value_fn mv_clock_offset;

/* metrics_plane.c */
metrics_emit_fn mf_worker_info, mf_worker_frames, mf_worker_accepted, mf_worker_dropped,
	mf_worker_notify_acks, mf_worker_shutdowns, mf_worker_boots, mf_worker_events_dropped,
	mf_worker_exception, mf_control_events, mf_port_packets, mf_port_bytes, mf_port_missed,
	mf_port_errors, mf_port_nombuf, mf_queue_packets, mf_queue_bytes, mf_queue_errors,
	mf_port_link, mf_exc_iface, mf_tx, mf_neigh_entries, mf_port_xstat_losses,
	mf_port_kernel_drops;

/* metrics_loop.c */
metrics_emit_fn mf_job_passes, mf_job_slices, mf_job_slice_hist, mf_job_cpu, mf_job_max_slice,
	mf_job_last_pass, mf_job_in_pass, mf_http_responses, mf_http_closed, mf_ctl_refused;
metrics_value_fn mv_http_requests, mv_http_held, mv_ctl_idle_closed, mv_ctl_watch_missed,
	mv_ctl_bad_requests, mv_store_open, mv_store_alarm, mv_store_queue, mv_store_queue_max,
	mv_store_queued, mv_store_committed, mv_store_batches, mv_store_errors, mv_store_reconnects,
	mv_store_unreachable, mv_store_last_commit, mv_log_errors, mv_scrapes;

/* metrics_cluster.c */
metrics_value_fn mv_changes_cursor, mv_changes_lag, mv_changes_applied, mv_changes_failed,
	mv_changes_guid_races;

/* notify_metrics.c */
metrics_emit_fn mf_notify_campaigns, mf_notify_running, mf_notify_sent, mf_notify_resent,
	mf_notify_acked, mf_notify_gave_up;
metrics_value_fn mv_notify_pending;

/* The HTTP counters' labels (metrics_http.c): the route and status code
 * each counter of http_counters.h stands for. A counter some routes share
 * has route "any"; one whose answers differ in code has the code class.
 * A counter of connections closed with no answer has `closed` instead. */
struct metrics_http_label {
	const char *route;  /* "/v1/register", ..., "any", or "other" (no route) */
	const char *code;   /* "200", ..., or "5xx" */
	const char *closed; /* or: why the connection was closed */
};
extern const struct metrics_http_label metrics_http_labels[HTTP_COUNTER_COUNT];

#endif
