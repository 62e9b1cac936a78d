/*
 * The one table of metric families, and the walk that writes a scrape
 * from it a chunk at a time (metrics.h). The names follow Prometheus'
 * conventions: the glournet_ prefix, _total on counters, base units
 * (seconds, bytes, ratios), labels rather than one name per worker,
 * reason or job. docs/metrics.md documents every row; its test checks
 * that the two agree.
 */

#include "control/metrics.h"
#include "control/metrics_families.h"
#include "glournet/coarse_clock.h"

#define C "counter"
#define G "gauge"
#define H "histogram"

/* clang-format off */
static const struct metrics_family families[] = {
	/* The daemon. */
	{"glournet_info", G, "Always 1; the version in a label.", mf_info, NULL},
	{"glournet_start_time_seconds", G, "When glournetd started, Unix time.", NULL, mv_start_time},
	{"glournet_uptime_seconds", G, "Seconds since glournetd started.", NULL, mv_uptime},
	{"glournet_settings_revision", G, "settings_rev: bumped by every change of settings, ranges or components.", NULL, mv_settings_rev},
	{"glournet_restart_grace", G, "1 while the restart grace holds offlines back (R9).", NULL, mv_restart_grace},
	{"glournet_clock_steps_total", C, "Steps of the real clock seen, by direction; durations do not follow them.", mf_clock_steps, NULL},
	{"glournet_clock_offset_seconds", G, "How far the steady clock durations run on is behind the real clock: the steps so far.", NULL, mv_clock_offset},
	{"glournet_metrics_scrapes_total", C, "Scrapes of /metrics, this one included.", NULL, mv_scrapes},

	/* The fleet: counts the registry keeps as statuses change (R7, R8). */
	{"glournet_endpoints", G, "Endpoints by status (R7).", mf_endpoints, NULL},
	{"glournet_unreachable_range_endpoints", G, "Unreachable endpoints by the range they are counted under, by status.", mf_ranges, NULL},
	{"glournet_unreachable_ranges", G, "Unreachable-network ranges configured.", NULL, mv_range_count},
	{"glournet_endpoint_slots", G, "Slots of the endpoint table by state.", mf_slots, NULL},
	{"glournet_endpoints_max", G, "Endpoints the slot table can hold (--max-endpoints).", NULL, mv_endpoints_max},
	{"glournet_endpoints_removed_total", C, "Endpoints removed, by cause.", mf_removed, NULL},
	{"glournet_transitions_total", C, "Status transitions (R8), by new status and reason.", mf_transitions, NULL},
	{"glournet_registrations_total", C, "Registrations answered, by result.", mf_registrations, NULL},
	{"glournet_table_memory_bytes", G, "Bytes held by the large tables (show status table_bytes).", NULL, mv_table_bytes},
	{"glournet_registry_memory_bytes", G, "Bytes the registry holds, by part.", mf_registry_bytes, NULL},

	/* The sweep and the mass-offline guard (R6, R10). */
	{"glournet_sweep_last_start_timestamp_seconds", G, "When the last sweep pass began, Unix time.", NULL, mv_sweep_last_start},
	{"glournet_sweep_interval_seconds", G, "Seconds from one sweep pass's start to the next (--sweep-interval).", NULL, mv_sweep_interval},
	{"glournet_guard_active", G, "1 while the mass-offline guard holds transitions (R10).", NULL, mv_guard_active},
	{"glournet_guard_raised_total", C, "Times the mass-offline guard was raised.", NULL, mv_guard_raised},
	{"glournet_guard_held_transitions", G, "Offline transitions the guard held at the last sweep.", NULL, mv_guard_held},
	{"glournet_guard_at_risk_endpoints", G, "Online endpoints near offline_after at the last sweep.", NULL, mv_guard_at_risk},
	{"glournet_guard_online_endpoints", G, "Online endpoints at the last sweep (the guard's base).", NULL, mv_guard_online},
	{"glournet_guard_threshold_ratio", G, "Share of the online endpoints that raises the guard (guard.threshold); 0: off.", NULL, mv_guard_threshold},
	{"glournet_guard_since_timestamp_seconds", G, "When the active guard was raised, Unix time; 0 when not active.", NULL, mv_guard_since},

	/* The workers (one RX queue each). */
	{"glournet_worker_info", G, "Always 1: each worker's lcore and RX queue.", mf_worker_info, NULL},
	{"glournet_worker_frames_total", C, "Frames a worker took off its RX queue.", mf_worker_frames, NULL},
	{"glournet_heartbeats_accepted_total", C, "Heartbeats and notify-acks a worker accepted.", mf_worker_accepted, NULL},
	{"glournet_heartbeats_dropped_total", C, "Frames a worker did not accept, by reason (the verdicts of hb_verdict.h) and route (ours: a heartbeat gone wrong; kernel: not ours, for the exception path; bad: broken below UDP).", mf_worker_dropped, NULL},
	{"glournet_worker_notify_acks_total", C, "Accepted frames that were notify-acks.", mf_worker_notify_acks, NULL},
	{"glournet_worker_shutdowns_total", C, "Accepted heartbeats with SHUTDOWN.", mf_worker_shutdowns, NULL},
	{"glournet_worker_boots_total", C, "Accepted heartbeats with BOOT (an agent that started).", mf_worker_boots, NULL},
	{"glournet_worker_events_dropped_total", C, "SHUTDOWNs, BOOTs and notify-acks not passed on to the control thread: its ring was full.", mf_worker_events_dropped, NULL},
	{"glournet_control_events_total", C, "SHUTDOWNs, BOOTs and notify-acks the control thread took off the workers' rings; stale: the slot had changed hands.", mf_control_events, NULL},
	{"glournet_exception_frames_total", C, "Frames that were not ours (ARP, ND, ping, TCP...), by what the worker did with them.", mf_worker_exception, NULL},

	/* The port, as the NIC counts. */
	{"glournet_port_received_packets_total", C, "Packets the port received.", mf_port_packets, NULL},
	{"glournet_port_received_bytes_total", C, "Bytes the port received.", mf_port_bytes, NULL},
	{"glournet_port_missed_packets_total", C, "Packets the port dropped: RX ring full, the workers fell behind (imissed).", mf_port_missed, NULL},
	{"glournet_port_errors_total", C, "Erroneous packets the port received (ierrors).", mf_port_errors, NULL},
	{"glournet_port_no_mbuf_total", C, "Packets dropped for want of an mbuf (rx_nombuf).", mf_port_nombuf, NULL},
	{"glournet_port_xstat_losses_total", C, "The driver's extended counters (xstats) of losses (drop, miss, error, no buffer, discard...) that are not 0, by name.", mf_port_xstat_losses, NULL},
	{"glournet_port_kernel_dropped_total", C, "Frames the kernel dropped under the PMD, on the port's own sockets: af_packet's tp_drops (ring full; DPDK 22.11 counts none of it), af_xdp's XDP statistics.", mf_port_kernel_drops, NULL},
	{"glournet_port_queue_received_packets_total", C, "Packets received per RX queue (a worker's), where the PMD counts per queue.", mf_queue_packets, NULL},
	{"glournet_port_queue_received_bytes_total", C, "Bytes received per RX queue, where the PMD counts per queue.", mf_queue_bytes, NULL},
	{"glournet_port_queue_errors_total", C, "Erroneous packets per RX queue, where the PMD counts per queue.", mf_queue_errors, NULL},
	{"glournet_port_link_up", G, "1 when the port's link is up, 0 when down (absent when the PMD does not say).", mf_port_link, NULL},

	/* The exception path and the TX path (control thread). */
	{"glournet_exception_interface_frames_total", C, "Frames between the workers' rings, the exception interface and the port, by event.", mf_exc_iface, NULL},
	{"glournet_tx_frames_total", C, "Frames the control plane sent out of the port, or could not, by result.", mf_tx, NULL},
	{"glournet_neighbour_entries", G, "Entries in the neighbour table (next hops of the TX path).", mf_neigh_entries, NULL},

	/* The control loop's jobs (loop_job.h). */
	{"glournet_loop_job_passes_total", C, "Passes a loop job finished (a sweep, an export...).", mf_job_passes, NULL},
	{"glournet_loop_job_slices_total", C, "Measured steps (slices) of a loop job.", mf_job_slices, NULL},
	{"glournet_loop_job_slice_seconds", H, "Wall time of a loop job's slices: how long the control loop waited behind it.", mf_job_slice_hist, NULL},
	{"glournet_loop_job_cpu_seconds_total", C, "Control-thread CPU time spent in a loop job's slices.", mf_job_cpu, NULL},
	{"glournet_loop_job_max_slice_seconds", G, "Longest slice of a loop job since start, by clock (wall, cpu).", mf_job_max_slice, NULL},
	{"glournet_loop_job_last_pass_seconds", G, "Duration of a loop job's last pass, by clock (wall: start to end; cpu: its slices).", mf_job_last_pass, NULL},
	{"glournet_loop_job_in_pass", G, "1 while a loop job has a pass under way.", mf_job_in_pass, NULL},

	/* The endpoint HTTP API and the control socket. */
	{"glournet_http_requests_total", C, "HTTP request lines received by the endpoint API.", NULL, mv_http_requests},
	{"glournet_http_responses_total", C, "HTTP answers of the endpoint API, by route, status code and result (http_counters.h).", mf_http_responses, NULL},
	{"glournet_http_connections_closed_total", C, "HTTP connections the endpoint API closed before any answer, by reason.", mf_http_closed, NULL},
	{"glournet_http_held_answers", G, "Answers held until the store commits them.", NULL, mv_http_held},
	{"glournet_ctl_connections_refused_total", C, "Control-socket connections refused, by reason (too_many: clients; denied: not root nor in the socket's group).", mf_ctl_refused, NULL},
	{"glournet_ctl_idle_closed_total", C, "Control-socket connections closed for sending no request in time.", NULL, mv_ctl_idle_closed},
	{"glournet_ctl_bad_requests_total", C, "Control-socket requests that were not valid.", NULL, mv_ctl_bad_requests},
	{"glournet_ctl_watch_missed_events_total", C, "Transition events watchers were told they missed (they fell behind the feed).", NULL, mv_ctl_watch_missed},

	/* The store (store.h). */
	{"glournet_store_open", G, "1 when the endpoint store is open.", NULL, mv_store_open},
	{"glournet_store_alarm", G, "1 while the store's commits fail (it retries every second, keeping every write) or one has run for 3 s.", NULL, mv_store_alarm},
	{"glournet_store_queue_ops", G, "Writes accepted by the store and not yet committed.", NULL, mv_store_queue},
	{"glournet_store_queue_limit_ops", G, "The bound of the store's write queue.", NULL, mv_store_queue_max},
	{"glournet_store_ops_queued_total", C, "Writes the store accepted.", NULL, mv_store_queued},
	{"glournet_store_ops_committed_total", C, "Writes the store made durable.", NULL, mv_store_committed},
	{"glournet_store_commits_total", C, "Transactions the store committed.", NULL, mv_store_batches},
	{"glournet_store_commit_errors_total", C, "Failed commit attempts (each retry counts).", NULL, mv_store_errors},
	{"glournet_store_reconnects_total", C, "Connections to the store's server made again after a loss (PostgreSQL).", NULL, mv_store_reconnects},
	{"glournet_store_unreachable", G, "1 while the store's server cannot be reached (PostgreSQL): registrations get 503 + Retry-After.", NULL, mv_store_unreachable},
	{"glournet_store_last_commit_seconds", G, "Duration of the store's last successful commit.", NULL, mv_store_last_commit},
	/* The change feed of several collectors (cluster_changes.h); 0 on SQLite. */
	{"glournet_changes_cursor", G, "The last change of the fleet's change feed read (its seq).", NULL, mv_changes_cursor},
	{"glournet_changes_lag_seconds", G, "Since a read of the change feed last found nothing more to read.", NULL, mv_changes_lag},
	{"glournet_changes_applied_total", C, "Changes of other collectors applied to this registry.", NULL, mv_changes_applied},
	{"glournet_changes_failed_total", C, "Changes that could not be applied (logged).", NULL, mv_changes_failed},
	{"glournet_changes_guid_races_total", C, "Registrations undone: another collector registered the guid first.", NULL, mv_changes_guid_races},
	{"glournet_transition_log_errors_total", C, "Failed writes of transitions.log.", NULL, mv_log_errors},

	/* Notify campaigns (R11, R12), by kind: change, verify. */
	{"glournet_notify_campaigns_total", C, "Notify campaigns started, by kind.", mf_notify_campaigns, NULL},
	{"glournet_notify_campaign_running", G, "1 while a campaign of the kind is under way.", mf_notify_running, NULL},
	{"glournet_notify_sent_total", C, "Notifies sent, first sends and re-sends, by kind.", mf_notify_sent, NULL},
	{"glournet_notify_resent_total", C, "Notifies re-sent for want of an ack (notify.retries), by kind.", mf_notify_resent, NULL},
	{"glournet_notify_acked_total", C, "Notify-acks that settled what was pending, by kind.", mf_notify_acked, NULL},
	{"glournet_notify_gave_up_total", C, "Endpoints that did not ack after every re-send, by kind.", mf_notify_gave_up, NULL},
	{"glournet_notify_pending_endpoints", G, "Endpoints with a notify pending.", NULL, mv_notify_pending},
};
/* clang-format on */

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

unsigned metrics_family_count(void)
{
	return NFAMILIES;
}

const char *metrics_family_name(unsigned i)
{
	return i < NFAMILIES ? families[i].name : NULL;
}

int metrics_scrape_begin(struct metrics_scrape *s, struct gn_daemon *d,
			 const struct metrics_env *env)
{
	*s = (struct metrics_scrape){.d = d, .env = *env, .now = gn_coarse_steady()};
	s->rev = d->policy ? d->policy->rev : 0;
	return mt_init(&s->text, METRICS_CHUNK + 4096);
}

bool metrics_scrape_next(struct metrics_scrape *s)
{
	s->text.len = 0;
	s->text.buf[0] = '\0';
	s->sent = 0;
	if (s->family >= NFAMILIES)
		return false;
	while (s->family < NFAMILIES && s->text.len < METRICS_CHUNK && !s->text.oom) {
		const struct metrics_family *f = &families[s->family];
		if (!s->in_family) {
			mt_family(&s->text, f->name, f->type, f->help);
			s->in_family = true;
			s->cursor = 0;
		}
		if (f->value)
			mt_f64(&s->text, f->name, f->value(s), NULL);
		else
			s->cursor = f->emit(s, f, s->cursor);
		if (f->value || s->cursor == 0) {
			s->family++;
			s->in_family = false;
		}
	}
	return true;
}

void metrics_scrape_end(struct metrics_scrape *s)
{
	mt_free(&s->text);
}

char *metrics_render(struct gn_daemon *d, const struct metrics_env *env, size_t *len)
{
	struct metrics_scrape s;
	struct mtext all;
	if (metrics_scrape_begin(&s, d, env) < 0)
		return NULL;
	if (mt_init(&all, 64 * 1024) < 0) {
		metrics_scrape_end(&s);
		return NULL;
	}
	while (!s.text.oom && !all.oom && metrics_scrape_next(&s))
		mt_append(&all, s.text.buf, s.text.len);
	bool oom = s.text.oom || all.oom;
	metrics_scrape_end(&s);
	if (oom) {
		mt_free(&all);
		return NULL;
	}
	if (len)
		*len = all.len;
	return all.buf;
}
