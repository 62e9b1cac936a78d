/*
 * The send loop and the summary (lg_run.h). Heartbeats are taken from the
 * schedule up to 1 ms ahead of their due time so batches fill at high
 * rates; in between the loop sleeps on an absolute deadline instead of
 * spinning, so a slow fleet costs no CPU. The wall-clock second used for the
 * heartbeat time is read once per batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lg_frame.h"
#include "lg_notify.h"
#include "lg_run.h"

/* Here, not in lg_main.c which sets it: the loops that read it (here and
 * lg_register.c) then need nothing from the file that calls them. */
volatile sig_atomic_t lg_stop;

#define NS        1000000000ull
#define LOOKAHEAD 1000000ull /* send up to 1 ms early to fill batches */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t abs_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(abs_ns / NS), .tv_nsec = (long)(abs_ns % NS)};
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void progress(const struct lg_stats *st, uint64_t elapsed, uint64_t *last_sent,
		     uint64_t *last_ns, struct lg_listen *ln)
{
	double dt = (double)(elapsed - *last_ns) / 1e9;
	char nbuf[160] = "";

	if (ln) {
		struct lg_listen_live l;

		lg_listen_live(ln, &l);
		snprintf(nbuf, sizeof(nbuf),
			 "  notifies %" PRIu64 " (refused %" PRIu64 ")  acks %" PRIu64 " (%" PRIu64
			 " waiting)  polls %" PRIu64,
			 l.accepted, l.refused, l.acks, l.late_waiting, l.polls);
	}
	fprintf(stderr,
		LG_PROG ": %6.1f s  sent %" PRIu64 " (%.1f kpps)  lost %" PRIu64
			"  tx drops %" PRIu64 "  shutdown %" PRIu64 "  round %" PRIu64 "%s\n",
		(double)elapsed / 1e9, st->sent, dt > 0 ? (st->sent - *last_sent) / dt / 1e3 : 0.0,
		st->lost, st->tx_drops, st->shutdown_sent, st->rounds, nbuf);
	*last_sent = st->sent;
	*last_ns = elapsed;
}

int lg_run(const struct lg_opts *o, const struct lg_endpoints *set, struct lg_sched *s,
	   struct lg_engine *e, struct lg_stats *st, struct lg_listen *ln)
{
	uint8_t batch[LG_BATCH_MAX][HB_PAYLOAD_LEN];
	bool shut[LG_BATCH_MAX];
	struct lg_event ev;
	bool pending = false, over = o->no_heartbeats;
	uint64_t t0 = mono_ns(), next_progress = NS, last_sent = 0, last_ns = 0;
	uint64_t deadline = (uint64_t)(o->duration_s * 1e9);

	memset(st, 0, sizeof(*st));
	while ((!over || ln) && !lg_stop) {
		uint64_t now = mono_ns() - t0;
		uint32_t hb_time = (uint32_t)((int64_t)time(NULL) + o->time_offset);
		unsigned n = 0;

		if (now >= deadline)
			break;
		while (n < o->batch && !over) {
			if (!pending) {
				if (lg_sched_next(s, now, &ev) < 0) {
					over = true;
					break;
				}
				pending = true;
			}
			if (ev.due_ns > now + LOOKAHEAD)
				break;
			pending = false;
			if (ev.round + 1 > st->rounds)
				st->rounds = ev.round + 1;
			if (ev.lost) {
				st->lost++;
				continue;
			}
			lg_payload_build(batch[n], &set->eps[ev.ep], hb_time,
					 ev.shutdown ? HB_FLAG_SHUTDOWN : 0);
			shut[n++] = ev.shutdown;
		}
		if (n) {
			unsigned k = e->ops->send(e, (const uint8_t(*)[HB_PAYLOAD_LEN])batch, n);

			st->sent += k;
			st->tx_drops += n - k;
			for (unsigned i = 0; i < k; i++)
				st->shutdown_sent += shut[i];
		}
		now = mono_ns() - t0;
		if (now >= next_progress) {
			if (!o->quiet)
				progress(st, now, &last_sent, &last_ns, ln);
			while (next_progress <= now)
				next_progress += NS;
		}
		if ((pending && ev.due_ns > now + LOOKAHEAD) || over) {
			/* over (with a receiver): wait out the duration */
			uint64_t wake = over ? next_progress : ev.due_ns - LOOKAHEAD / 2;
			if (wake > next_progress)
				wake = next_progress;
			if (wake > deadline)
				wake = deadline;
			sleep_until(t0 + wake);
		}
	}
	st->elapsed_s = (double)(mono_ns() - t0) / 1e9;
	st->interrupted = lg_stop != 0;
	return 0;
}

/* The receiver's part of the summary: JSON members after the heartbeat
 * ones, or text lines after them. */
static void notify_summary(struct lg_listen *ln, bool json)
{
	struct lg_listen_figures f;
	struct lg_notify_report r;
	const struct lg_notify *nt;

	lg_listen_figures(ln, &f);
	nt = f.nt;
	if (lg_notify_report(nt, &r) < 0) {
		fprintf(stderr, LG_PROG ": notify report: out of memory\n");
		return;
	}
	if (json) {
		printf(",\"notify\":{\"sockets\":%u,\"accepted\":%" PRIu64 ",\"refused\":%" PRIu64
		       ",\"refused_by\":{",
		       f.sockets, nt->verdict[HB_ACCEPTED], r.refused);
		for (int v = 1, first = 1; v < HB_VERDICT_COUNT; v++)
			if (nt->verdict[v]) {
				printf("%s\"%s\":%" PRIu64, first ? "" : ",",
				       lg_verdict_name((enum hb_verdict)v), nt->verdict[v]);
				first = 0;
			}
		printf("},\"by_flag\":{");
		for (int k = 0; k < LG_NOTIFY_FLAGS; k++)
			printf("%s\"%s\":%" PRIu64, k ? "," : "", lg_notify_flag_name[k],
			       nt->by_flag[k]);
		printf("},\"ack_now\":%" PRIu64 ",\"ack_late\":%" PRIu64 ",\"not_acked\":%" PRIu64
		       ",\"to_dead\":%" PRIu64 ",\"acks_sent\":%" PRIu64 ",\"late_sent\":%" PRIu64
		       ",\"late_unsent\":%" PRIu64 ",\"ack_errors\":%" PRIu64 ",\"roles\":{",
		       nt->outcome[LG_NOTIFY_ACK], nt->outcome[LG_NOTIFY_ACK_LATER],
		       nt->outcome[LG_NOTIFY_NO_ACK], nt->to_dead, f.acks, f.late_sent,
		       f.late_unsent, f.ack_errors);
		for (int k = 0; k < LG_ACK_ROLE_COUNT; k++)
			printf("%s\"%s\":%" PRIu32, k ? "," : "", lg_ack_role_name[k],
			       nt->n_role[k]);
		printf("},\"per_endpoint\":{");
		for (int k = 0; k < LG_ACK_ROLE_COUNT; k++) {
			printf("%s\"%s\":{", k ? "," : "", lg_ack_role_name[k]);
			for (int c = 0, first = 1; c <= LG_NOTIFY_COUNT_MAX; c++)
				if (r.per_ep[k][c]) {
					printf("%s\"%d\":%" PRIu64, first ? "" : ",", c,
					       r.per_ep[k][c]);
					first = 0;
				}
			printf("}");
		}
		printf("},\"resent\":%" PRIu64 ",\"first_notify\":{\"endpoints\":%" PRIu64
		       ",\"span_s\":%.3f,\"rate\":%.1f,\"p50_ms\":%" PRIu32 ",\"p90_ms\":%" PRIu32
		       ",\"p99_ms\":%" PRIu32 ",\"max_ms\":%" PRIu32
		       "},\"polls\":{\"started\":%" PRIu64 ",\"ok_200\":%" PRIu64
		       ",\"other_status\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"already_due\":%" PRIu64 ",\"not_needed\":%" PRIu64
		       ",\"unstarted\":%" PRIu64 "}}",
		       r.resent, r.notified, r.first_span_s, r.first_rate, r.p50_ms, r.p90_ms,
		       r.p99_ms, r.max_ms, f.polls_started, f.polls_200, f.polls_other,
		       f.polls_failed, f.polls_coalesced, f.polls_fresh, f.polls_unstarted);
		return;
	}
	printf("notifies %" PRIu64 " on %u socket(s): settings %" PRIu64 ", components %" PRIu64
	       ", verify %" PRIu64 "; refused %" PRIu64,
	       nt->verdict[HB_ACCEPTED], f.sockets, nt->by_flag[0], nt->by_flag[1], nt->by_flag[2],
	       r.refused);
	for (int v = 1, first = 1; v < HB_VERDICT_COUNT; v++)
		if (nt->verdict[v]) {
			printf("%s %s %" PRIu64, first ? ":" : ",",
			       lg_verdict_name((enum hb_verdict)v), nt->verdict[v]);
			first = 0;
		}
	printf("\nacks sent %" PRIu64 " (late %" PRIu64 ", %" PRIu64
	       " still waiting), not acked %" PRIu64 " (%" PRIu64
	       " to dead endpoints), send errors %" PRIu64 "\n",
	       f.acks, f.late_sent, f.late_unsent, nt->outcome[LG_NOTIFY_NO_ACK], nt->to_dead,
	       f.ack_errors);
	for (int k = 0; k < LG_ACK_ROLE_COUNT; k++) {
		printf("  ack %-5s %" PRIu32 " endpoints, notifies each:", lg_ack_role_name[k],
		       nt->n_role[k]);
		for (int c = 0; c <= LG_NOTIFY_COUNT_MAX; c++)
			if (r.per_ep[k][c])
				printf(" %d%s x%" PRIu64, c, c == LG_NOTIFY_COUNT_MAX ? "+" : "",
				       r.per_ep[k][c]);
		printf("\n");
	}
	printf("first notify: %" PRIu64 " endpoints over %.3f s (%.1f/s), after the fleet's first: "
	       "p50 %" PRIu32 " ms, p90 %" PRIu32 " ms, p99 %" PRIu32 " ms, max %" PRIu32
	       " ms; re-sent %" PRIu64 "\n",
	       r.notified, r.first_span_s, r.first_rate, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms,
	       r.resent);
	if (f.polls_started || f.polls_coalesced || f.polls_fresh)
		printf("polls after notifies: %" PRIu64 " started, %" PRIu64 " 200, %" PRIu64
		       " other status, %" PRIu64 " failed, %" PRIu64 " already due, %" PRIu64
		       " not needed, %" PRIu64 " not started\n",
		       f.polls_started, f.polls_200, f.polls_other, f.polls_failed,
		       f.polls_coalesced, f.polls_fresh, f.polls_unstarted);
}

void lg_summary(const struct lg_opts *o, const struct lg_sched *s, struct lg_engine *e,
		const struct lg_stats *st, struct lg_listen *ln)
{
	char extra[256] = "";
	double rate = st->elapsed_s > 0 ? st->sent / st->elapsed_s : 0;
	const char *pace = o->max_rate ? "max" : o->rate > 0 ? "rate" : "interval";

	struct rusage ru;
	double cpu_s = 0;

	/* The generator's own CPU time: benchmarks subtract it to see how
	 * much of the machine other processes took meanwhile. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (e->ops->report)
		e->ops->report(e, extra, sizeof(extra));
	if (o->json) {
		printf("{\"engine\":\"%s\",\"endpoints\":%" PRIu32 ",\"silent\":%" PRIu32
		       ",\"shutdown\":%" PRIu32 ",\"pace\":\"%s\",\"interval_s\":%g,\"rate\":%g"
		       ",\"sent\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"tx_drops\":%" PRIu64
		       ",\"shutdown_sent\":%" PRIu64 ",\"rounds\":%" PRIu64 ",\"elapsed_s\":%.3f"
		       ",\"rate_pps\":%.1f,\"tx_retries\":%" PRIu64 ",\"first_error\":\"%s\""
		       ",\"cpu_s\":%.3f,\"interrupted\":%s%s%s",
		       e->ops->name, s->cfg.n, s->n_silent, s->n_shutdown, pace, o->interval_s,
		       o->rate, st->sent, st->lost, st->tx_drops, st->shutdown_sent, st->rounds,
		       st->elapsed_s, rate, e->retries,
		       e->first_errno ? strerror(e->first_errno) : "", cpu_s,
		       st->interrupted ? "true" : "false", extra[0] ? "," : "", extra);
		if (ln)
			notify_summary(ln, true);
		printf("}\n");
		return;
	}
	printf("engine %s, %" PRIu32 " endpoints (silent %" PRIu32 ", shutdown %" PRIu32 "), "
	       "pace %s\n",
	       e->ops->name, s->cfg.n, s->n_silent, s->n_shutdown, pace);
	printf("sent %" PRIu64 " heartbeats in %.2f s (%.1f/s), %" PRIu64 " rounds\n", st->sent,
	       st->elapsed_s, rate, st->rounds);
	printf("lost on purpose %" PRIu64 ", tx drops %" PRIu64 " (send retries %" PRIu64
	       "), shutdown heartbeats %" PRIu64 "\n",
	       st->lost, st->tx_drops, e->retries, st->shutdown_sent);
	printf("CPU time %.2f s\n", cpu_s);
	if (e->first_errno)
		printf("first send error: %s\n", strerror(e->first_errno));
	if (extra[0])
		printf("engine: {%s}\n", extra);
	if (ln)
		notify_summary(ln, false);
	if (st->interrupted)
		printf("interrupted\n");
}
