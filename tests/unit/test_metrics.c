/*
 * The metrics (control/metrics*.c) over the fake daemon. Proves: the text
 * is well-formed exposition format (every family of the table once, HELP
 * then TYPE then its samples, counters named _total, histogram samples
 * under their family, no series twice, label values escaped); the values
 * are the daemon's own counters (statuses, per-range counts, transitions
 * by reason, per-worker verdicts, HTTP results with their route and code,
 * job slices in seconds); a scrape comes in bounded chunks, ranges a chunk
 * at a time, and stops the range rows rather than repeat one when the
 * policy changes under it; every HTTP counter has its labels; the loop
 * job histogram counts each slice in its bucket; /readyz fails for each of
 * its checks and passes when all hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/daemon.h"
#include "control/metrics.h"
#include "control/metrics_families.h"
#include "control/metrics_health.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/store.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_verdict.h"
#include "support/tu_daemon.h"
#include "support/tu_heartbeat.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"

#define NOW   TU_NOW
#define ENV   (&(struct metrics_env){.link = 1, .scrapes = 7})
#define MS_NS (1000ull * 1000)

static struct gn_daemon dmn;
static struct tu_scratch dir;

static void range_add(const char *spec)
{
	char line[256];
	snprintf(line, sizeof(line), "{\"argv\": [\"range\", \"add\", \"%s\"]}", spec);
	json_decref(tu_ctl(&dmn, line, true));
}

/* Two regular endpoints (one heard from a worker), one unreachable in the
 * second range, per-worker counters, HTTP counters, the loop's jobs. */
static int setup(void **state)
{
	(void)state;
	char err[256], db[256];
	if (tu_ctl_open(&dmn, &dir, "metrics") < 0 || !(dmn.feed = feed_new(1024, NULL)))
		return -1;
	dmn.reg.feed = dmn.feed;
	snprintf(db, sizeof(db), "%s/glournet.db", dir.dir);
	if (!(dmn.store = store_open(db, err, sizeof(err))))
		return -1;
	range_add("10.200.0.0/16");
	range_add("192.0.2.0-192.0.2.127");
	struct endpoint *ep;
	struct gn_addr a = {.family = AF_INET};
	const char *guids[] = {"pos-1", "pos-2", "behind-nat"};
	const char *ips[] = {"198.51.100.1", "198.51.100.2", "192.0.2.9"};
	for (int i = 0; i < 3; i++) {
		if (registry_add(&dmn.reg, guids[i], NOW - 100, &ep) < 0 ||
		    inet_pton(AF_INET, ips[i], a.bytes) != 1 ||
		    registry_set_details(&dmn.reg, ep, "h", &a, 1, 21112) < 0)
			return -1;
		status_on_register(&dmn.reg, dmn.policy, ep, NOW - 100);
	}
	for (unsigned w = 0; w < dmn.nworkers; w++) {
		dmn.workers[w].lcore = w + 1;
		dmn.workers[w].queue = (uint16_t)w;
		dmn.counters[w].rx = 1000 * (w + 1);
		dmn.counters[w].verdict[HB_ACCEPTED] = 900 * (w + 1);
		dmn.counters[w].verdict[HB_BAD_MAC] = 60 + w;
		dmn.counters[w].exc[EXC_W_TO_KERNEL] = 5 + w;
	}
	dmn.http_counters.requests = 9;
	dmn.http_counters.by_result[HTTP_REGISTER_NEW] = 3;
	dmn.http_counters.by_result[HTTP_BAD_MAC] = 2;
	dmn.port_stats.imissed = 17;
	dmn.port_stats.ibytes = 4096;
	dmn.port_stats.q_ipackets[1] = 33;
	dmn.port_stats.nxstats = 1; /* a NIC's own drop counter, and af_packet's socket */
	snprintf(dmn.port_stats.xstats[0].name, PORT_XSTAT_NAME, "rx_discards_phy");
	dmn.port_stats.xstats[0].value = 21;
	dmn.port_stats.kernel.sockets = 1;
	dmn.port_stats.kernel.packet_drops = 14616;
	dmn.clock.forward = 2;
	dmn.clock.base_s = 172800;
	dmn.counters[1].boots = 4;
	dmn.events.boots = 3;
	dmn.events.stale = 1;
	dmn.http_counters.by_result[HTTP_CONN_REFUSED] = 5;
	dmn.opt.max_endpoints = 1000;
	dmn.opt.sweep_interval = 1;
	daemon_jobs_init(&dmn, NULL);
	dmn.sweep.stats.slices = 4;
	dmn.sweep.stats.slice_bucket[1] = 3; /* three slices of 100..250 us */
	dmn.sweep.stats.slice_ns_sum = 2500 * MS_NS;
	dmn.sweep.stats.max_slice_ns = 2 * MS_NS;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bulk_jobs_free(&dmn.bulk);
	return tu_ctl_close(&dmn, &dir);
}

/* ---- a small reader of the exposition format ---- */

struct fam {
	char name[128], type[16];
	unsigned samples;
};

static bool suffix_of(const char *sample, const char *family, const char *suffix)
{
	size_t n = strlen(family);
	return !strncmp(sample, family, n) && !strcmp(sample + n, suffix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks the whole text; returns the families seen, in order. */
static unsigned lint(const char *text, struct fam *fams, unsigned cap)
{
	unsigned nf = 0, nseries = 0, series_cap = 1 << 16;
	char **series = calloc(series_cap, sizeof(char *));
	assert_non_null(series);
	bool want_type = false;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		assert_non_null(eol); /* every line ends */
		char line[1024];
		size_t n = (size_t)(eol - p);
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = eol + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			assert_false(want_type);
			assert_true(nf < cap);
			sscanf(line + 7, "%127s", fams[nf].name);
			assert_true(strlen(line) > 8 + strlen(fams[nf].name)); /* a text */
			for (unsigned i = 0; i < nf; i++)
				if (!strcmp(fams[i].name, fams[nf].name))
					fail_msg("family %s twice", fams[nf].name);
			want_type = true;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128];
			assert_true(want_type);
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, fams[nf].type), 2);
			assert_string_equal(name, fams[nf].name);
			const char *t = fams[nf].type;
			assert_true(!strcmp(t, "counter") || !strcmp(t, "gauge") ||
				    !strcmp(t, "histogram"));
			size_t l = strlen(name);
			bool total = l > 6 && !strcmp(name + l - 6, "_total");
			if (!strcmp(t, "counter") != total)
				fail_msg("%s: a %s %s _total", name, t, total ? "named" : "not named");
			assert_true(!strncmp(name, "glournet_", 9));
			want_type = false;
			nf++;
			continue;
		}
		assert_false(want_type);
		assert_true(nf > 0);
		assert_true(line[0] != '#');
		struct fam *f = &fams[nf - 1];
		char name[160];
		size_t nl = strcspn(line, "{ ");
		assert_true(nl < sizeof(name));
		memcpy(name, line, nl);
		name[nl] = '\0';
		if (!strcmp(f->type, "histogram"))
			assert_true(suffix_of(name, f->name, "_bucket") ||
				    suffix_of(name, f->name, "_sum") ||
				    suffix_of(name, f->name, "_count"));
		else if (strcmp(name, f->name) != 0)
			fail_msg("sample %s under family %s", name, f->name);
		/* labels: k="v" pairs, values escaped */
		const char *q = line + nl;
		if (*q == '{') {
			q++;
			while (*q != '}') {
				while ((*q >= 'a' && *q <= 'z') || *q == '_')
					q++;
				assert_true(q[0] == '=' && q[1] == '"');
				for (q += 2; *q != '"'; q++) {
					assert_true(*q != '\0');
					if (*q == '\\') {
						q++;
						assert_true(*q == '\\' || *q == '"' || *q == 'n');
					}
				}
				q++;
				if (*q == ',')
					q++;
				else
					assert_true(*q == '}');
			}
			q++;
		}
		assert_true(*q == ' ');
		char *end;
		strtod(q + 1, &end);
		assert_true(end > q + 1 && *end == '\0');
		size_t key = (size_t)(q - line);
		assert_true(nseries < series_cap);
		series[nseries] = strndup(line, key);
		nseries++;
		f->samples++;
	}
	assert_false(want_type);
	qsort(series, nseries, sizeof(char *), cmp_str);
	for (unsigned i = 0; i + 1 < nseries; i++)
		if (!strcmp(series[i], series[i + 1]))
			fail_msg("series twice: %s", series[i]);
	for (unsigned i = 0; i < nseries; i++)
		free(series[i]);
	free(series);
	return nf;
}

/* The value of one series (its name and labels exactly as written). */
static double value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no series %s", series);
	return -1;
}

static char *render(void)
{
	size_t len;
	char *text = metrics_render(&dmn, ENV, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_every_family_well_formed(void **state)
{
	(void)state;
	char *text = render();
	struct fam fams[128] = {0};
	unsigned nf = lint(text, fams, 128);
	assert_int_equal(nf, metrics_family_count());
	for (unsigned i = 0; i < nf; i++)
		assert_string_equal(fams[i].name, metrics_family_name(i));
	/* Families with something to count have their samples. */
	for (unsigned i = 0; i < nf; i++) {
		bool empty_ok = strstr(fams[i].name, "exception_interface") ||
				strstr(fams[i].name, "tx_frames") || strstr(fams[i].name, "neighbour");
		if (!empty_ok && fams[i].samples == 0)
			fail_msg("family %s has no sample", fams[i].name);
	}
	free(text);
}

static void test_values_are_the_daemons(void **state)
{
	(void)state;
	char *text = render();
	const char *info = strstr(text, "\nglournet_info{version=\"");
	assert_non_null(info);
	assert_true(info[24] >= '0' && info[24] <= '9' && !strncmp(strchr(info, '}'), "} 1\n", 4));
	assert_true(value(text, "glournet_endpoints{status=\"online\"}") == 2);
	assert_true(value(text, "glournet_endpoints{status=\"unreachable/online\"}") == 1);
	assert_true(value(text, "glournet_endpoints{status=\"offline\"}") == 0);
	assert_true(value(text, "glournet_unreachable_range_endpoints{range=\"192.0.2.0-192.0.2."
				"127\",status=\"unreachable/online\"}") == 1);
	assert_true(value(text, "glournet_unreachable_range_endpoints{range=\"10.200.0.0-10.200."
				"255.255\",status=\"unreachable/online\"}") == 0);
	assert_true(value(text, "glournet_unreachable_ranges") == 2);
	assert_true(value(text, "glournet_transitions_total{status=\"online\",reason="
				"\"registered\"}") == 2);
	assert_true(value(text, "glournet_transitions_total{status=\"unreachable/online\","
				"reason=\"registered\"}") == 1);
	assert_true(value(text, "glournet_endpoint_slots{state=\"used\"}") == 3);
	assert_true(value(text, "glournet_endpoints_max") == 1000);
	assert_true(value(text, "glournet_settings_revision") == (double)dmn.policy->rev);
	assert_true(value(text, "glournet_start_time_seconds") == NOW - 1000);
	assert_true(value(text, "glournet_uptime_seconds") == 1000);
	assert_true(value(text, "glournet_metrics_scrapes_total") == 7);
	assert_true(value(text, "glournet_heartbeats_accepted_total{worker=\"1\"}") == 1800);
	assert_true(value(text, "glournet_worker_frames_total{worker=\"0\"}") == 1000);
	assert_true(value(text, "glournet_heartbeats_dropped_total{worker=\"1\",reason="
				"\"bad_mac\",route=\"ours\"}") == 61);
	assert_true(value(text, "glournet_heartbeats_dropped_total{worker=\"0\",reason="
				"\"too_old\",route=\"ours\"}") == 0);
	assert_true(value(text, "glournet_heartbeats_dropped_total{worker=\"0\",reason="
				"\"not_our_port\",route=\"kernel\"}") == 0);
	assert_true(value(text, "glournet_heartbeats_dropped_total{worker=\"0\",reason="
				"\"ip_checksum\",route=\"bad\"}") == 0);
	assert_true(value(text, "glournet_worker_boots_total{worker=\"1\"}") == 4);
	assert_true(value(text, "glournet_control_events_total{event=\"boot\"}") == 3);
	assert_true(value(text, "glournet_control_events_total{event=\"stale\"}") == 1);
	assert_true(value(text, "glournet_port_queue_received_packets_total{port=\"0\",queue="
				"\"1\",worker=\"1\"}") == 33);
	assert_true(value(text, "glournet_port_received_bytes_total{port=\"0\"}") == 4096);
	assert_true(value(text, "glournet_http_connections_closed_total{reason=\"refused\"}") ==
		    5);
	assert_true(value(text, "glournet_exception_frames_total{worker=\"1\",result="
				"\"to_kernel\"}") == 6);
	assert_true(value(text, "glournet_worker_info{worker=\"1\",lcore=\"2\",queue=\"1\"}") ==
		    1);
	assert_true(value(text, "glournet_port_missed_packets_total{port=\"0\"}") == 17);
	assert_true(value(text, "glournet_port_xstat_losses_total{port=\"0\",name=\"rx_discards_phy\"}") == 21);
	assert_true(value(text, "glournet_port_kernel_dropped_total{port=\"0\",counter=\"af_packet_drops\"}") == 14616);
	assert_true(value(text, "glournet_clock_steps_total{direction=\"forward\"}") == 2);
	assert_true(value(text, "glournet_clock_offset_seconds") == 172800);
	assert_true(value(text, "glournet_port_link_up{port=\"0\"}") == 1);
	assert_true(value(text, "glournet_http_requests_total") == 9);
	assert_true(value(text, "glournet_http_responses_total{route=\"/v1/register\",code="
				"\"201\",result=\"register_new\"}") == 3);
	assert_true(value(text, "glournet_http_responses_total{route=\"any\",code=\"401\","
				"result=\"bad_mac\"}") == 2);
	assert_true(value(text, "glournet_registrations_total{result=\"new\"}") == 3);
	assert_true(value(text, "glournet_store_open") == 1);
	assert_true(value(text, "glournet_store_alarm") == 0);
	/* The sweep's job row, in seconds. */
	assert_true(value(text, "glournet_loop_job_slices_total{job=\"sweep\"}") == 4);
	assert_true(value(text, "glournet_loop_job_slice_seconds_bucket{job=\"sweep\",le="
				"\"0.0001\"}") == 0);
	assert_true(value(text, "glournet_loop_job_slice_seconds_bucket{job=\"sweep\",le="
				"\"0.00025\"}") == 3);
	assert_true(value(text, "glournet_loop_job_slice_seconds_bucket{job=\"sweep\",le="
				"\"0.064\"}") == 3);
	assert_true(value(text, "glournet_loop_job_slice_seconds_bucket{job=\"sweep\",le="
				"\"+Inf\"}") == 4);
	assert_true(value(text, "glournet_loop_job_slice_seconds_count{job=\"sweep\"}") == 4);
	assert_true(value(text, "glournet_loop_job_slice_seconds_sum{job=\"sweep\"}") == 2.5);
	assert_true(value(text, "glournet_loop_job_max_slice_seconds{job=\"sweep\",clock="
				"\"wall\"}") == 0.002);
	/* The guard's state as the sweep keeps it. */
	assert_true(value(text, "glournet_guard_active") == 0);
	dmn.sweep.guard = (struct guard_state){
		.active = true, .since = NOW - 5, .held = 40, .at_risk = 60, .raised = 1};
	free(text);
	text = render();
	assert_true(value(text, "glournet_guard_active") == 1);
	assert_true(value(text, "glournet_guard_since_timestamp_seconds") == NOW - 5);
	assert_true(value(text, "glournet_guard_held_transitions") == 40);
	assert_true(value(text, "glournet_guard_raised_total") == 1);
	assert_true(value(text, "glournet_guard_threshold_ratio") ==
		    dmn.policy->guard_threshold / 100.0);
	/* An unknown link is no sample, not a 0. */
	free(text);
	text = metrics_render(&dmn, &(struct metrics_env){.link = -1}, NULL);
	assert_null(strstr(text, "glournet_port_link_up{"));
	free(text);
}

/* 1000 ranges: the scrape comes in chunks of about METRICS_CHUNK, every
 * range in it twice (online, offline), no series repeated. */
static void test_ranges_in_bounded_chunks(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i += 10) {
		char line[1024];
		int n = snprintf(line, sizeof(line), "{\"argv\": [\"range\", \"add\"");
		for (int k = i; k < i + 10; k++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, ", \"10.%d.%d.0/24\"",
				      k / 256, k % 256);
		snprintf(line + n, sizeof(line) - (size_t)n, "]}");
		json_decref(tu_ctl(&dmn, line, true));
	}
	dmn.nworkers = GN_MAX_WORKERS; /* their drops span chunks too */
	struct metrics_scrape s;
	assert_int_equal(metrics_scrape_begin(&s, &dmn, ENV), 0);
	struct mtext all;
	assert_int_equal(mt_init(&all, 1024), 0);
	unsigned chunks = 0;
	while (metrics_scrape_next(&s)) {
		assert_false(s.text.oom);
		/* A chunk ends after the family (or range row, or worker) that
		 * passed the mark: the largest written whole (the slice
		 * histogram) is about 11 KiB. */
		assert_true(s.text.len <= METRICS_CHUNK + 16 * 1024);
		mt_append(&all, s.text.buf, s.text.len);
		chunks++;
	}
	metrics_scrape_end(&s);
	assert_true(chunks >= 8);
	struct fam fams[128] = {0};
	unsigned nf = lint(all.buf, fams, 128);
	for (unsigned i = 0; i < nf; i++) {
		if (!strcmp(fams[i].name, "glournet_unreachable_range_endpoints"))
			assert_int_equal(fams[i].samples, 2 * 1002);
		if (!strcmp(fams[i].name, "glournet_heartbeats_dropped_total"))
			assert_int_equal(fams[i].samples, GN_MAX_WORKERS * (HB_VERDICT_COUNT - 1));
	}
	assert_true(value(all.buf, "glournet_heartbeats_dropped_total{worker=\"63\",reason="
				   "\"too_new\",route=\"ours\"}") == 0);
	assert_true(value(all.buf, "glournet_unreachable_range_endpoints{range=\"10.3.231.0-10.3."
				   "231.255\",status=\"unreachable/offline\"}") == 0);
	mt_free(&all);
}

/* A policy change between two chunks of the range rows ends them there. */
static void test_ranges_stop_when_the_policy_changes(void **state)
{
	(void)state;
	test_ranges_in_bounded_chunks(state);
	unsigned fam = 0;
	while (strcmp(metrics_family_name(fam), "glournet_unreachable_range_endpoints") != 0)
		fam++;
	struct metrics_scrape s;
	assert_int_equal(metrics_scrape_begin(&s, &dmn, ENV), 0);
	struct mtext all;
	assert_int_equal(mt_init(&all, 1024), 0);
	bool changed = false;
	while (metrics_scrape_next(&s)) {
		mt_append(&all, s.text.buf, s.text.len);
		if (!changed && s.family == fam && s.cursor > 0) {
			range_add("172.16.0.0/12"); /* a new revision, a new set */
			changed = true;
		}
	}
	metrics_scrape_end(&s);
	assert_true(changed);
	struct fam fams[128] = {0};
	unsigned nf = lint(all.buf, fams, 128); /* no range twice */
	assert_int_equal(nf, metrics_family_count());
	assert_true(fams[fam].samples > 0 && fams[fam].samples < 2 * 1002);
	mt_free(&all);
}

static void test_escaping(void **state)
{
	(void)state;
	struct mtext t;
	assert_int_equal(mt_init(&t, 4), 0);
	mt_family(&t, "glournet_x", "gauge", "a \\ b\nc");
	mt_u64(&t, "glournet_x", 3, "k", "q\"b\\n\nx", NULL);
	mt_f64(&t, "glournet_x", 0.25, NULL);
	mt_f64(&t, "glournet_x", 1e20, "a", "1", NULL);
	mt_f64(&t, "glournet_x", -1.0 / 0.0, "a", "2", NULL);
	assert_string_equal(t.buf, "# HELP glournet_x a \\\\ b\\nc\n"
				   "# TYPE glournet_x gauge\n"
				   "glournet_x{k=\"q\\\"b\\\\n\\nx\"} 3\n"
				   "glournet_x 0.25\n"
				   "glournet_x{a=\"1\"} 1e+20\n"
				   "glournet_x{a=\"2\"} -Inf\n");
	mt_free(&t);
}

static void test_every_http_counter_labelled(void **state)
{
	(void)state;
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++) {
		const struct metrics_http_label *l = &metrics_http_labels[i];
		if (l->closed) { /* a connection, not an answer: neither route nor code */
			assert_true(!l->route && !l->code && l->closed[0]);
			continue;
		}
		if (!l->route || !l->code)
			fail_msg("http counter %s has no route/code in metrics_http.c",
				 http_counter_name(i));
		assert_true(l->route[0] == '/' || !strcmp(l->route, "any") ||
			    !strcmp(l->route, "other"));
	}
}

/* Each slice in the first bucket that holds it; longer than every bound:
 * only in the count (the +Inf bucket). */
static uint64_t fake_ns;
static uint64_t fake_clock(clockid_t clock)
{
	(void)clock;
	return fake_ns;
}
struct timed_job {
	struct loop_job_stats stats;
	uint64_t work_ns;
};
static bool timed_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	(void)budget_ns;
	struct timed_job *j = self;
	loop_job_pass_begin(&j->stats);
	fake_ns += j->work_ns;
	loop_job_pass_end(&j->stats);
	return false;
}

static void test_slice_buckets(void **state)
{
	(void)state;
	uint64_t (*saved)(clockid_t) = loop_job_clock;
	loop_job_clock = fake_clock;
	struct timed_job tj = {0};
	struct loop_job row = {"t", timed_step, &tj, &tj.stats, 1 * MS_NS};
	const uint64_t works[] = {50000, 100000, 100001, 3 * MS_NS, 100 * MS_NS};
	for (unsigned i = 0; i < 5; i++) {
		tj.work_ns = works[i];
		loop_jobs_run(&row, 1, NOW, 8 * MS_NS);
	}
	loop_job_clock = saved;
	assert_int_equal(tj.stats.slices, 5);
	assert_int_equal(tj.stats.slice_bucket[0], 2); /* 50 us, 100 us: le 0.0001 */
	assert_int_equal(tj.stats.slice_bucket[1], 1); /* 100.001 us: le 0.00025 */
	assert_int_equal(tj.stats.slice_bucket[5], 1); /* 3 ms: le 0.004 */
	uint64_t in_buckets = 0;
	for (unsigned b = 0; b < LOOP_JOB_BUCKETS; b++)
		in_buckets += tj.stats.slice_bucket[b];
	assert_int_equal(in_buckets, 4); /* 100 ms: beyond the last bound */
	assert_int_equal(tj.stats.slice_ns_sum, 50000 + 100000 + 100001 + 103 * MS_NS);
}

static void test_readiness(void **state)
{
	(void)state;
	char text[1024];
	dmn.sweep.last_start = NOW - 1;
	dmn.sweep.interval = 1;
	assert_true(metrics_readiness(&dmn, 1, NOW, text, sizeof(text)));
	assert_true(!strncmp(text, "ready\n", 6));
	assert_non_null(strstr(text, "[+]store ok"));
	assert_non_null(strstr(text, "[+]link up"));
	assert_non_null(strstr(text, "[+]loop ok"));
	assert_true(metrics_readiness(&dmn, -1, NOW, text, sizeof(text))); /* not known */
	assert_false(metrics_readiness(&dmn, 0, NOW, text, sizeof(text)));
	assert_true(!strncmp(text, "not ready\n", 10));
	assert_non_null(strstr(text, "[-]link down"));
	dmn.sweep.last_start = NOW - metrics_sweep_late(1) - 1;
	assert_false(metrics_readiness(&dmn, 1, NOW, text, sizeof(text)));
	assert_non_null(strstr(text, "[-]loop: the sweep is late"));
	dmn.sweep.last_start = NOW - metrics_sweep_late(1);
	assert_true(metrics_readiness(&dmn, 1, NOW, text, sizeof(text)));
	struct store *st = dmn.store;
	dmn.store = NULL;
	assert_false(metrics_readiness(&dmn, 1, NOW, text, sizeof(text)));
	assert_non_null(strstr(text, "[-]store: not open"));
	dmn.store = st;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_family_well_formed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_are_the_daemons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_in_bounded_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_stop_when_the_policy_changes, setup,
						teardown),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_every_http_counter_labelled),
		cmocka_unit_test(test_slice_buckets),
		cmocka_unit_test_setup_teardown(test_readiness, setup, teardown),
	};
	return TU_RUN(tests);
}
