/*
 * `glournet-agent poll`: GET /v1/poll (docs/protocol.md §3) for the state file's
 * endpoints over one keep-alive libcurl handle, each endpoint on its own
 * schedule (a min-heap of due times); the request itself and what each
 * 200 answer says are agent_pollreq.c's, so the next poll comes when the
 * server asked for it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "glournet/heartbeat.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_heap.h"
#include "agent_http.h"
#include "agent_pollreq.h"

#define CMD         "poll"
#define NS          1000000000ull
#define RETRY_MAX_S 60 /* after an error, try again within a minute */

struct poll_opts {
	const char *server, *state, *cacert, *ips;
	double interval, duration; /* interval 0: the server's */
	uint64_t first, count, timeout, print_times;
	bool have_count, insecure, verbose, print_headers;
};

/* One endpoint's poll state: the server's view, and when it polls next. */
struct pep {
	struct agent_poll_view v;
	uint64_t due;
};

struct poll_run {
	const struct poll_opts *o;
	struct pep *eps;
	size_t n;
	struct agent_heap heap; /* by due time */
	struct agent_poller pl;
	uint64_t ndisabled;
};

static volatile sig_atomic_t poll_stop;

static void on_signal(int sig)
{
	(void)sig;
	poll_stop = 1;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: " AGENT_PROG " poll --server URL --state FILE [OPTIONS]\n"
		"\n"
		"Polls every selected endpoint (GET URL" GN_API_PATH_POLL_V2
		") with the X-Glournet MAC headers\n"
		"and If-None-Match set to its last ETag, then again after the poll interval of\n"
		"its last 200 answer. An endpoint whose answer says poll.enabled=false is not\n"
		"polled again unless --interval is given. Intervals, enabled flags and the\n"
		"clock offset learned from answers are kept in memory only.\n"
		"\n"
		"  --server URL        http://HOST:PORT or https://HOST:PORT (required)\n"
		"  --state FILE        state file written by 'register' (required)\n"
		"  --first K           first state-file endpoint to use (default 0)\n"
		"  --count N           number of endpoints to use (default: all from K)\n"
		"  --interval DUR      poll every DUR whatever the answers say; the first\n"
		"                      round is spread over SEC (default: the server's interval)\n"
		"  --duration DUR      run time; 0 = until SIGINT/SIGTERM (default 60)\n"
		"  --ips A,B           send " GN_API_HDR_IPS
		": A,B with each endpoint's first poll\n"
		"  --insecure          do not verify the server's TLS certificate\n"
		"  --cacert FILE       CA certificate(s) to verify the server with\n"
		"  --timeout DUR       per-request timeout (default 30)\n"
		"  --print-headers     print each selected endpoint's three X-Glournet headers,\n"
		"                      valid now, and exit (for curl or wrk); no --server needed\n"
		"  --print-times N     with --print-headers: N sets for each endpoint, signed\n"
		"                      now, 1 s before, ... N-1 s before (the server's replay\n"
		"                      cache takes each time once: N distinct polls an\n"
		"                      endpoint; keep N under its --window); default 1\n"
		"  -v, --verbose       print every failure and every change an answer brings\n"
		"  -h, --help          this text\n"
		"\n"
		"Prints 'polled N times for M endpoints: X 200, Y 304, E errors'. Exit 1 if E > 0.\n");
}

static int parse_opts(int argc, char **argv, struct poll_opts *o)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'},
		{"state", required_argument, NULL, 'f'},
		{"first", required_argument, NULL, 'k'},
		{"count", required_argument, NULL, 'n'},
		{"interval", required_argument, NULL, 'i'},
		{"duration", required_argument, NULL, 'd'},
		{"ips", required_argument, NULL, 'a'},
		{"insecure", no_argument, NULL, 'I'},
		{"cacert", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'T'},
		{"print-headers", no_argument, NULL, 'H'},
		{"print-times", required_argument, NULL, 'P'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

#define USAGE(...)                                   \
	do {                                         \
		agent_usage_error(CMD, __VA_ARGS__); \
		return AGENT_EXIT_USAGE;             \
	} while (0)
	*o = (struct poll_opts){.duration = 60, .timeout = 30, .print_times = 1};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 'f':
			o->state = optarg;
			break;
		case 'a':
			o->ips = optarg;
			break;
		case 'C':
			o->cacert = optarg;
			break;
		case 'I':
			o->insecure = true;
			break;
		case 'H':
			o->print_headers = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'k':
			bad = agent_opt_u64(CMD, "--first", optarg, 0, UINT32_MAX, &o->first);
			break;
		case 'n':
			bad = agent_opt_u64(CMD, "--count", optarg, 1, UINT32_MAX, &o->count);
			o->have_count = true;
			break;
		case 'i':
			bad = agent_opt_duration(CMD, "--interval", optarg, 0.001, 86400,
						 &o->interval);
			break;
		case 'd':
			bad = agent_opt_duration(CMD, "--duration", optarg, 0, 1e9, &o->duration);
			break;
		case 'T':
			bad = agent_opt_seconds(CMD, "--timeout", optarg, 1, 3600, &o->timeout);
			break;
		case 'P':
			bad = agent_opt_u64(CMD, "--print-times", optarg, 1, 86400,
					    &o->print_times);
			break;
		case 'h':
			help(stdout);
			return -1;
		default:
			return agent_bad_option(CMD, c, argv);
		}
		if (bad)
			return AGENT_EXIT_USAGE;
	}
	if (optind < argc)
		USAGE("unexpected argument '%s'", argv[optind]);
	if (o->print_times > 1 && !o->print_headers)
		USAGE("--print-times goes with --print-headers");
	if (!o->state || (!o->server && !o->print_headers))
		USAGE("--server and --state are required");
	if (o->server && strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8))
		USAGE("--server: '%s' is not an http:// or https:// URL", o->server);
	if (o->ips) {
		char buf[1024], *save = NULL;
		unsigned n = 0;
		uint8_t a[16];

		if (strlen(o->ips) >= sizeof(buf))
			USAGE("--ips: list too long");
		strcpy(buf, o->ips);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
			if (inet_pton(AF_INET, t, a) != 1 && inet_pton(AF_INET6, t, a) != 1)
				USAGE("--ips: '%s' is not an IPv4 or IPv6 address", t);
		if (n == 0 || n > 16 || strstr(o->ips, ",,") || o->ips[strlen(o->ips) - 1] == ',')
			USAGE("--ips: 1..16 comma-separated addresses, no blanks");
	}
#undef USAGE
	return 0;
}

/* Polls p once and sets its next due time (UINT64_MAX: never). */
static void poll_one(struct poll_run *r, struct pep *p)
{
	const struct poll_opts *o = r->o;
	long retry_after = 0;
	uint64_t wait_ns;

	if (agent_poll_once(&r->pl, &p->v, &retry_after) < 0) {
		wait_ns = o->interval > 0 && o->interval < RETRY_MAX_S
				  ? (uint64_t)(o->interval * 1e9)
			  : p->v.poll_interval > 0 && p->v.poll_interval < RETRY_MAX_S
				  ? (uint64_t)p->v.poll_interval * NS
				  : RETRY_MAX_S * NS;
		if (retry_after > 0 && (uint64_t)retry_after * NS > wait_ns)
			wait_ns = (uint64_t)(retry_after < 3600 ? retry_after : 3600) * NS;
		p->due = agent_mono_ns() + wait_ns;
		return;
	}
	if (o->interval > 0)
		p->due = agent_mono_ns() + (uint64_t)(o->interval * 1e9);
	else if (p->v.poll_enabled)
		p->due = agent_mono_ns() + (uint64_t)p->v.poll_interval * NS;
	else
		p->due = UINT64_MAX;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void run(struct poll_run *r, uint64_t deadline)
{
	while (!poll_stop && r->heap.n > 0) {
		size_t i = agent_heap_top(&r->heap)->i;
		uint64_t now = agent_mono_ns();

		if (now >= deadline)
			return;
		if (r->eps[i].due > now) {
			sleep_until(r->eps[i].due < deadline ? r->eps[i].due : deadline);
			continue; /* re-check signals and the deadline */
		}
		agent_heap_pop(&r->heap);
		poll_one(r, &r->eps[i]);
		if (r->eps[i].due != UINT64_MAX)
			agent_heap_push(&r->heap, r->eps[i].due, i);
		else if (r->o->verbose)
			fprintf(stderr,
				AGENT_PROG " " CMD ": %s: polling disabled by the server, "
					   "not polled again\n",
				r->eps[i].v.ep->guid);
	}
}

int agent_poll_main(int argc, char **argv)
{
	struct poll_opts o;
	struct agent_state st = {0};
	struct poll_run r = {.o = &o, .pl = {.cmd = CMD}};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t t0, deadline;
	bool curl_up = false;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? AGENT_EXIT_OK : rc;
	rc = AGENT_EXIT_FAIL;
	if (agent_state_load(o.state, &st, false) < 0)
		goto out;
	if (st.n == 0) {
		fprintf(stderr, AGENT_PROG " " CMD ": %s has no endpoints\n", o.state);
		goto out;
	}
	if (o.first >= st.n || (o.have_count && o.first + o.count > st.n)) {
		agent_usage_error(CMD, "--first %" PRIu64 "%s selects past the %zu endpoints of %s",
				  o.first, o.have_count ? " with --count" : "", st.n, o.state);
		rc = AGENT_EXIT_USAGE;
		goto out;
	}
	r.n = o.have_count ? o.count : st.n - o.first;
	if (o.print_headers) {
		/* All endpoints at one time, then all one second earlier...,
		 * from one reading of the clock: no time twice for an endpoint. */
		int64_t now = (int64_t)time(NULL);
		for (uint64_t k = 0; k < o.print_times; k++) {
			for (size_t i = 0; i < r.n; i++) {
				char lines[3][AGENT_HTTP_AUTH_LINE];
				const struct agent_ep *ep = &st.eps[o.first + i];
				uint32_t t = (uint32_t)(now + ep->clock_offset - (int64_t)k);

				agent_http_auth_headers_at(ep, HB_AUTH_POLL, t, NULL, 0, lines);
				printf("%s%s\n%s\n%s\n", i || k ? "\n" : "", lines[0], lines[1],
				       lines[2]);
			}
		}
		rc = AGENT_EXIT_OK;
		goto out;
	}
	r.eps = calloc(r.n, sizeof(*r.eps));
	if (!r.eps || agent_heap_init(&r.heap, r.n) < 0) {
		fprintf(stderr, AGENT_PROG " " CMD ": out of memory\n");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, AGENT_PROG " " CMD ": cannot initialise libcurl\n");
		goto out;
	}
	curl_up = true;
	r.pl.ips = o.ips;
	r.pl.verbose = o.verbose;
	if (agent_poller_open(&r.pl, o.server, (long)o.timeout, o.insecure, o.cacert) < 0)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = agent_mono_ns();
	deadline = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	for (size_t i = 0; i < r.n; i++) {
		/* with --interval the first round is spread over it; otherwise all are due now */
		r.eps[i] = (struct pep){
			.v = {.ep = &st.eps[o.first + i],
			      .rev = -1,
			      .clock_offset = st.eps[o.first + i].clock_offset},
			.due = t0 + (uint64_t)(o.interval * 1e9 * (double)i / (double)r.n)};
		agent_heap_push(&r.heap, r.eps[i].due, i);
	}
	if (o.verbose)
		fprintf(stderr, AGENT_PROG " " CMD ": %zu endpoints to %s, %s\n", r.n, o.server,
			o.interval > 0 ? "fixed interval" : "intervals from the answers");
	run(&r, deadline);
	for (size_t i = 0; i < r.n; i++)
		r.ndisabled += r.eps[i].v.answered && !r.eps[i].v.poll_enabled;
	if (r.ndisabled && o.interval <= 0)
		fprintf(stderr,
			AGENT_PROG " " CMD ": %" PRIu64 " endpoint(s) had polling disabled "
				   "by the server (reachable network)\n",
			r.ndisabled);
	printf("polled %" PRIu64 " times for %zu endpoints: %" PRIu64 " 200, %" PRIu64
	       " 304, %" PRIu64 " errors\n",
	       r.pl.n200 + r.pl.n304 + r.pl.nerr, r.n, r.pl.n200, r.pl.n304, r.pl.nerr);
	rc = r.pl.nerr ? AGENT_EXIT_FAIL : AGENT_EXIT_OK;
out:
	agent_poller_close(&r.pl);
	if (curl_up)
		curl_global_cleanup();
	free(r.eps);
	agent_heap_free(&r.heap);
	agent_state_free(&st);
	return rc;
}
