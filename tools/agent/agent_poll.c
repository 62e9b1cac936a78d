/*
 * `glournet-agent poll`: GET /v1/poll (docs/protocol.md §3) for the state file's
 * endpoints over one keep-alive libcurl handle, each endpoint on its own
 * schedule (a min-heap of due times): the MAC headers, If-None-Match with
 * the last ETag, and the intervals and enabled flags of each 200 answer
 * kept in memory, so the next poll comes when the server asked for it.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>

#include "glournet/heartbeat.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_http.h"

#define CMD         "poll"
#define NS          1000000000ull
#define RETRY_MAX_S 60 /* after an error, try again within a minute */

struct poll_opts {
	const char *server, *state, *cacert, *ips;
	double interval, duration; /* interval 0: the server's */
	uint64_t first, count, timeout;
	bool have_count, insecure, verbose, print_headers;
};

/* One endpoint's poll state; the intervals are 0 until the first answer. */
struct pep {
	const struct agent_ep *ep;
	uint64_t due;
	int64_t clock_offset;
	json_int_t hb_interval, poll_interval, rev;
	bool hb_enabled, poll_enabled, unreachable, answered, ips_sent;
	char etag[72];
};

struct poll_run {
	const struct poll_opts *o;
	struct pep *eps;
	size_t n, *heap, nheap;
	CURL *c;
	struct agent_buf body;
	char etag[72], errbuf[CURL_ERROR_SIZE];
	uint64_t n200, n304, nerr, ndisabled;
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
		"Polls every selected endpoint (GET URL" GN_API_PATH_POLL
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
		"  --interval SEC      poll every SEC seconds whatever the answers say; the first\n"
		"                      round is spread over SEC (default: the server's interval)\n"
		"  --duration SEC      run time; 0 = until SIGINT/SIGTERM (default 60)\n"
		"  --ips A,B           send " GN_API_HDR_IPS
		": A,B with each endpoint's first poll\n"
		"  --insecure          do not verify the server's TLS certificate\n"
		"  --cacert FILE       CA certificate(s) to verify the server with\n"
		"  --timeout SEC       per-request timeout (default 30)\n"
		"  --print-headers     print each selected endpoint's three X-Glournet headers,\n"
		"                      valid now, and exit (for curl or wrk); no --server needed\n"
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
	*o = (struct poll_opts){.duration = 60, .timeout = 30};
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
			bad = agent_opt_double(CMD, "--interval", optarg, 0.001, 86400,
					       &o->interval);
			break;
		case 'd':
			bad = agent_opt_double(CMD, "--duration", optarg, 0, 1e9, &o->duration);
			break;
		case 'T':
			bad = agent_opt_u64(CMD, "--timeout", optarg, 1, 3600, &o->timeout);
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

/* ---- the schedule: a binary min-heap of endpoint indices by due time ---- */

static bool earlier(const struct poll_run *r, size_t a, size_t b)
{
	return r->eps[r->heap[a]].due < r->eps[r->heap[b]].due;
}

static void swap_at(struct poll_run *r, size_t a, size_t b)
{
	size_t t = r->heap[a];
	r->heap[a] = r->heap[b];
	r->heap[b] = t;
}

static void heap_push(struct poll_run *r, size_t i)
{
	size_t k = r->nheap++;

	r->heap[k] = i;
	for (; k > 0 && earlier(r, k, (k - 1) / 2); k = (k - 1) / 2)
		swap_at(r, k, (k - 1) / 2);
}

static size_t heap_pop(struct poll_run *r)
{
	size_t top = r->heap[0], k = 0;

	r->heap[0] = r->heap[--r->nheap];
	for (;;) {
		size_t l = 2 * k + 1, m = k;
		if (l < r->nheap && earlier(r, l, m))
			m = l;
		if (l + 1 < r->nheap && earlier(r, l + 1, m))
			m = l + 1;
		if (m == k)
			return top;
		swap_at(r, k, m);
		k = m;
	}
}

/* ---- one request ---- */

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct poll_run *r = arg;
	size_t n = size * nmemb, k = 5;

	if (n > 5 && !strncasecmp(data, "ETag:", 5)) {
		while (k < n && (data[k] == ' ' || data[k] == '\t'))
			k++;
		while (n > k && isspace((unsigned char)data[n - 1]))
			n--;
		if (n - k < sizeof(r->etag))
			snprintf(r->etag, sizeof(r->etag), "%.*s", (int)(n - k), data + k);
	}
	return size * nmemb;
}

#define LOG_CHANGE(what, old, new)                                                          \
	do {                                                                                \
		if (r->o->verbose && p->answered && (old) != (new))                         \
			fprintf(stderr, AGENT_PROG " " CMD ": %s: " what " %lld -> %lld\n", \
				p->ep->guid, (long long)(old), (long long)(new));           \
	} while (0)

/* Applies a 200 answer to p; 0, or -1 with *why set. */
static int apply_answer(struct poll_run *r, struct pep *p, const char **why)
{
	json_t *root = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
	json_int_t st, hbi, pi, rev = -1;
	int u, hbe, pe, rc = -1;

	if (!root)
		*why = "answer is not JSON";
	else if (json_unpack(root, "{s:I, s?I, s:b, s:{s:b, s:I}, s:{s:b, s:I}}", "server_time",
			     &st, "settings_rev", &rev, "unreachable", &u, "heartbeat", "enabled",
			     &hbe, "interval", &hbi, "poll", "enabled", &pe, "interval", &pi) < 0)
		*why = "answer lacks server_time, unreachable, heartbeat or poll";
	else if (hbi < 1 || pi < 1 || hbi > INT32_MAX || pi > INT32_MAX || st <= 0)
		*why = "answer's intervals or server_time are out of range";
	else {
		LOG_CHANGE("unreachable", p->unreachable, u);
		LOG_CHANGE("heartbeat.enabled", p->hb_enabled, hbe);
		LOG_CHANGE("heartbeat.interval", p->hb_interval, hbi);
		LOG_CHANGE("poll.enabled", p->poll_enabled, pe);
		LOG_CHANGE("poll.interval", p->poll_interval, pi);
		LOG_CHANGE("settings_rev", p->rev, rev);
		if (r->o->verbose && !p->answered)
			fprintf(stderr,
				AGENT_PROG " " CMD ": %s: %s, heartbeat %s every %lld s, poll "
					   "%s every %lld s, settings_rev %lld\n",
				p->ep->guid, u ? "unreachable" : "reachable", hbe ? "on" : "off",
				(long long)hbi, pe ? "on" : "off", (long long)pi, (long long)rev);
		p->unreachable = u;
		p->hb_enabled = hbe;
		p->poll_enabled = pe;
		p->hb_interval = hbi;
		p->poll_interval = pi;
		p->rev = rev;
		p->clock_offset = (int64_t)st - (int64_t)time(NULL);
		p->answered = true;
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* Polls p once and sets its next due time (UINT64_MAX: never). */
static void poll_one(struct poll_run *r, struct pep *p)
{
	const struct poll_opts *o = r->o;
	struct curl_slist *h = NULL;
	char lines[3][AGENT_HTTP_AUTH_LINE], line[1100], emsg[256] = "", etext[208];
	long status = 0;
	curl_off_t retry_after = 0;
	const char *why = NULL;
	uint64_t wait_ns;
	CURLcode cr;

	agent_http_auth_headers(p->ep, HB_AUTH_POLL, p->clock_offset, lines);
	for (int k = 0; k < 3; k++)
		h = curl_slist_append(h, lines[k]);
	h = curl_slist_append(h, "Accept: application/json");
	if (p->etag[0]) {
		snprintf(line, sizeof(line), "If-None-Match: %s", p->etag);
		h = curl_slist_append(h, line);
	}
	if (o->ips && !p->ips_sent) {
		snprintf(line, sizeof(line), GN_API_HDR_IPS ": %s", o->ips);
		h = curl_slist_append(h, line);
	}
	r->body.len = 0;
	r->etag[0] = r->errbuf[0] = '\0';
	curl_easy_setopt(r->c, CURLOPT_HTTPHEADER, h);
	cr = curl_easy_perform(r->c);
	curl_slist_free_all(h);
	if (cr == CURLE_OK)
		curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK)
		snprintf(emsg, sizeof(emsg), "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(cr));
	else if (status == 304 && !p->answered)
		snprintf(emsg, sizeof(emsg), "HTTP 304 before any 200");
	else if (status != 200 && status != 304) {
		agent_http_error_text(&r->body, etext, sizeof(etext));
		snprintf(emsg, sizeof(emsg), "HTTP %ld: %s", status, etext);
	} else if (status == 200 && apply_answer(r, p, &why) < 0)
		snprintf(emsg, sizeof(emsg), "HTTP 200: %s", why);
	if (emsg[0]) {
		agent_http_failure(CMD, p->ep->guid, emsg, o->verbose, &r->nerr);
		curl_easy_getinfo(r->c, CURLINFO_RETRY_AFTER, &retry_after);
		wait_ns = o->interval > 0 && o->interval < RETRY_MAX_S
				  ? (uint64_t)(o->interval * 1e9)
			  : p->poll_interval > 0 && p->poll_interval < RETRY_MAX_S
				  ? (uint64_t)p->poll_interval * NS
				  : RETRY_MAX_S * NS;
		if (retry_after > 0 && (uint64_t)retry_after * NS > wait_ns)
			wait_ns = (uint64_t)(retry_after < 3600 ? retry_after : 3600) * NS;
		p->due = agent_mono_ns() + wait_ns;
		return;
	}
	p->ips_sent = true;
	if (status == 200) {
		r->n200++;
		memcpy(p->etag, r->etag, sizeof(p->etag)); /* none: no If-None-Match next time */
	} else {
		r->n304++;
	}
	if (o->interval > 0)
		p->due = agent_mono_ns() + (uint64_t)(o->interval * 1e9);
	else if (p->poll_enabled)
		p->due = agent_mono_ns() + (uint64_t)p->poll_interval * NS;
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
	while (!poll_stop && r->nheap > 0) {
		size_t i = r->heap[0];
		uint64_t now = agent_mono_ns();

		if (now >= deadline)
			return;
		if (r->eps[i].due > now) {
			sleep_until(r->eps[i].due < deadline ? r->eps[i].due : deadline);
			continue; /* re-check signals and the deadline */
		}
		heap_pop(r);
		poll_one(r, &r->eps[i]);
		if (r->eps[i].due != UINT64_MAX)
			heap_push(r, i);
		else if (r->o->verbose)
			fprintf(stderr,
				AGENT_PROG " " CMD ": %s: polling disabled by the server, "
					   "not polled again\n",
				r->eps[i].ep->guid);
	}
}

int agent_poll_main(int argc, char **argv)
{
	struct poll_opts o;
	struct agent_state st = {0};
	struct poll_run r = {.o = &o};
	struct sigaction sa = {.sa_handler = on_signal};
	char *url = NULL;
	uint64_t t0, deadline;
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
		for (size_t i = 0; i < r.n; i++) {
			char lines[3][AGENT_HTTP_AUTH_LINE];

			agent_http_auth_headers(&st.eps[o.first + i], HB_AUTH_POLL,
						st.eps[o.first + i].clock_offset, lines);
			printf("%s%s\n%s\n%s\n", i ? "\n" : "", lines[0], lines[1], lines[2]);
		}
		rc = AGENT_EXIT_OK;
		goto out;
	}
	r.eps = calloc(r.n, sizeof(*r.eps));
	r.heap = calloc(r.n, sizeof(*r.heap));
	url = agent_http_url(o.server, GN_API_PATH_POLL);
	if (!r.eps || !r.heap || !url) {
		fprintf(stderr, AGENT_PROG " " CMD ": out of memory\n");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(r.c = agent_http_handle(url, (long)o.timeout, o.insecure, o.cacert, r.errbuf,
				      &r.body))) {
		fprintf(stderr, AGENT_PROG " " CMD ": cannot initialise libcurl\n");
		goto out;
	}
	curl_easy_setopt(r.c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(r.c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r.c, CURLOPT_HEADERDATA, &r);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = agent_mono_ns();
	deadline = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	for (size_t i = 0; i < r.n; i++) {
		/* with --interval the first round is spread over it; otherwise all are due now */
		r.eps[i] = (struct pep){
			.ep = &st.eps[o.first + i],
			.rev = -1,
			.clock_offset = st.eps[o.first + i].clock_offset,
			.due = t0 + (uint64_t)(o.interval * 1e9 * (double)i / (double)r.n)};
		heap_push(&r, i);
	}
	if (o.verbose)
		fprintf(stderr, AGENT_PROG " " CMD ": %zu endpoints to %s, %s\n", r.n, url,
			o.interval > 0 ? "fixed interval" : "intervals from the answers");
	run(&r, deadline);
	for (size_t i = 0; i < r.n; i++)
		r.ndisabled += r.eps[i].answered && !r.eps[i].poll_enabled;
	if (r.ndisabled && o.interval <= 0)
		fprintf(stderr,
			AGENT_PROG " " CMD ": %" PRIu64 " endpoint(s) had polling disabled "
				   "by the server (reachable network)\n",
			r.ndisabled);
	printf("polled %" PRIu64 " times for %zu endpoints: %" PRIu64 " 200, %" PRIu64
	       " 304, %" PRIu64 " errors\n",
	       r.n200 + r.n304 + r.nerr, r.n, r.n200, r.n304, r.nerr);
	rc = r.nerr ? AGENT_EXIT_FAIL : AGENT_EXIT_OK;
out:
	if (r.c) {
		curl_easy_cleanup(r.c);
		curl_global_cleanup();
	}
	free(url);
	free(r.body.p);
	free(r.eps);
	free(r.heap);
	agent_state_free(&st);
	return rc;
}
