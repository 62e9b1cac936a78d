/*
 * `glournet-agent register`: POST /v1/register (docs/protocol.md §3) for N
 * simulated endpoints over one keep-alive libcurl handle, proving the held
 * key for endpoints already in the state file so their key survives, and
 * recording id, slot, key and clock offset for the heartbeat command.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "glournet/heartbeat.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_http.h"

#define CMD "register"

struct reg_opts {
	const char *server, *token, *prefix, *reason, *state, *cacert;
	uint64_t count, first, notify_port, retries, timeout;
	uint32_t ip4_base;
	bool have_ip6;
	uint8_t ip6_base[16];
	bool insecure, verbose;
};

static volatile sig_atomic_t reg_stop;

static void on_signal(int sig)
{
	(void)sig;
	reg_stop = 1;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: " AGENT_PROG " register --server URL --token TOKEN --state FILE [OPTIONS]\n"
		"\n"
		"Registers endpoints P-000000.. (POST URL" GN_API_PATH_REGISTER
		") and writes their id, slot,\n"
		"key and clock offset to the state file (FILE.tmp, then renamed). Endpoints\n"
		"already in the state file prove their key, so id, slot and key stay.\n"
		"\n"
		"  --server URL        http://HOST:PORT or https://HOST:PORT (required)\n"
		"  --token TOKEN       enrollment token, sent as 'Authorization: Bearer' (required)\n"
		"  --state FILE        state file to read and rewrite (required)\n"
		"  --count N           endpoints to register (default 1)\n"
		"  --first K           start at endpoint K: guids P-K..P-(K+N-1) (default 0)\n"
		"  --guid-prefix P     guid prefix (default 'demo')\n"
		"  --ips-base A.B.C.D  endpoint i's own IPv4 address is base+i\n"
		"                      (default: 198.51.100.1+i)\n"
		"  --ips6-base PREFIX  also give endpoint i the IPv6 address PREFIX+(i+1)\n"
		"  --reason R          install | restart | reload (default install)\n"
		"  --notify-port PORT  UDP port for notifies (default 21112)\n"
		"  --insecure          do not verify the server's TLS certificate\n"
		"  --cacert FILE       CA certificate(s) to verify the server with\n"
		"  --retries N         retry an answer 429 or 503 up to N times, waiting\n"
		"                      Retry-After (at most 30 s; default 0)\n"
		"  --timeout DUR       per-request timeout (default 30)\n"
		"  -v, --verbose       print every failure and progress every 10 s\n"
		"  -h, --help          this text\n"
		"\n"
		"Prints 'registered N (new A, known B), failed F in T s'. Exit 1 if any failed.\n");
}

static json_t *ips_for(const struct reg_opts *o, uint64_t i)
{
	json_t *ips = json_array();
	struct in_addr a4 = {.s_addr = htonl(o->ip4_base + (uint32_t)i)};
	char txt[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, &a4, txt, sizeof(txt));
	json_array_append_new(ips, json_string(txt));
	if (o->have_ip6) {
		uint8_t a6[16];
		uint64_t add = i + 1;
		unsigned carry = 0;

		memcpy(a6, o->ip6_base, 16);
		for (int k = 15; k >= 0; k--) {
			unsigned v = a6[k] + (unsigned)(add & 0xff) + carry;
			a6[k] = (uint8_t)v;
			carry = v >> 8;
			add >>= 8;
		}
		inet_ntop(AF_INET6, a6, txt, sizeof(txt));
		json_array_append_new(ips, json_string(txt));
	}
	return ips;
}

static struct curl_slist *build_headers(const struct reg_opts *o, const struct agent_ep *known)
{
	struct curl_slist *h = NULL;
	char line[256 + 4096];

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	snprintf(line, sizeof(line), "Authorization: Bearer %s", o->token);
	h = curl_slist_append(h, line);
	if (known) {
		char lines[3][AGENT_HTTP_AUTH_LINE];

		agent_http_auth_headers(known, HB_AUTH_REGISTER, known->clock_offset, lines);
		for (int k = 0; k < 3; k++)
			h = curl_slist_append(h, lines[k]);
	}
	return h;
}

static int parse_opts(int argc, char **argv, struct reg_opts *o)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 't'},
		{"state", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"first", required_argument, NULL, 'k'},
		{"guid-prefix", required_argument, NULL, 'p'},
		{"ips-base", required_argument, NULL, '4'},
		{"ips6-base", required_argument, NULL, '6'},
		{"reason", required_argument, NULL, 'r'},
		{"notify-port", required_argument, NULL, 'P'},
		{"insecure", no_argument, NULL, 'I'},
		{"cacert", required_argument, NULL, 'C'},
		{"retries", required_argument, NULL, 'R'},
		{"timeout", required_argument, NULL, 'T'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct in_addr a4;
	bool have_ip4 = false;
	int c;

#define USAGE(...)                                   \
	do {                                         \
		agent_usage_error(CMD, __VA_ARGS__); \
		return AGENT_EXIT_USAGE;             \
	} while (0)
	*o = (struct reg_opts){.prefix = "demo",
			       .reason = "install",
			       .count = 1,
			       .notify_port = AGENT_NOTIFY_PORT,
			       .timeout = 30};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'f':
			o->state = optarg;
			break;
		case 'p':
			o->prefix = optarg;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'C':
			o->cacert = optarg;
			break;
		case 'I':
			o->insecure = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'n':
			bad = agent_opt_u64(CMD, "--count", optarg, 1, 10000000, &o->count);
			break;
		case 'k':
			bad = agent_opt_u64(CMD, "--first", optarg, 0, 99999999, &o->first);
			break;
		case 'R':
			bad = agent_opt_u64(CMD, "--retries", optarg, 0, 100, &o->retries);
			break;
		case 'T':
			bad = agent_opt_seconds(CMD, "--timeout", optarg, 1, 3600, &o->timeout);
			break;
		case 'P':
			bad = agent_opt_u64(CMD, "--notify-port", optarg, 1, 65535,
					    &o->notify_port);
			break;
		case '4':
			if (inet_pton(AF_INET, optarg, &a4) != 1)
				USAGE("--ips-base: '%s' is not an IPv4 address", optarg);
			o->ip4_base = ntohl(a4.s_addr);
			have_ip4 = true;
			break;
		case '6':
			if (inet_pton(AF_INET6, optarg, o->ip6_base) != 1)
				USAGE("--ips6-base: '%s' is not an IPv6 address", optarg);
			o->have_ip6 = true;
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
	if (!o->server || !o->token || !o->state)
		USAGE("--server, --token and --state are required");
	if (strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8))
		USAGE("--server: '%s' is not an http:// or https:// URL", o->server);
	for (const char *p = o->token; *p || p == o->token; p++)
		if (!isgraph((unsigned char)*p) || p - o->token >= 4096)
			USAGE("--token: must be 1..4096 printable characters, no blanks");
	if (strcmp(o->reason, "install") && strcmp(o->reason, "restart") &&
	    strcmp(o->reason, "reload"))
		USAGE("--reason: '%s' is not install, restart or reload", o->reason);
	if (strlen(o->prefix) > AGENT_GUID_MAX - 9 || !agent_guid_valid(o->prefix))
		USAGE("--guid-prefix: '%s' must be 1..%d printable characters, no blanks or '#'",
		      o->prefix, AGENT_GUID_MAX - 9);
	if (o->first + o->count > 100000000)
		USAGE("--first + --count must stay within 100000000 endpoints");
	if (!have_ip4)
		o->ip4_base = (198u << 24 | 51u << 16 | 100u << 8) + 1; /* 198.51.100.1 + i */
	if ((uint64_t)o->ip4_base + o->first + o->count - 1 > UINT32_MAX)
		USAGE("--ips-base: base + %" PRIu64 " endpoints goes past 255.255.255.255",
		      o->first + o->count);
#undef USAGE
	return 0;
}

int agent_register_main(int argc, char **argv)
{
	struct reg_opts o;
	struct agent_state st = {0};
	struct agent_buf body = {0};
	char errbuf[CURL_ERROR_SIZE], *url = NULL;
	uint64_t n_new = 0, n_known = 0, n_failed = 0, n_rekeyed = 0, t0, next_progress;
	bool changed = false;
	CURL *c = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? AGENT_EXIT_OK : rc;
	if (agent_state_load(o.state, &st, true) < 0 || agent_state_index(&st) < 0)
		return AGENT_EXIT_FAIL;
	if (!(url = agent_http_url(o.server, GN_API_PATH_REGISTER)))
		return AGENT_EXIT_FAIL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(c = agent_http_handle(url, (long)o.timeout, o.insecure, o.cacert, errbuf, &body))) {
		fprintf(stderr, AGENT_PROG " " CMD ": cannot initialise libcurl\n");
		free(url);
		return AGENT_EXIT_FAIL;
	}
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t0 = agent_mono_ns();
	next_progress = t0 + 10000000000ull;
	for (uint64_t i = o.first; i < o.first + o.count && !reg_stop; i++) {
		struct agent_ep ep = {0};
		long at = -1, status = 0;
		const struct agent_ep *known;
		char *json;
		json_t *req;
		const char *why = NULL;
		char emsg[256];
		CURLcode cr;

		snprintf(ep.guid, sizeof(ep.guid), "%s-%06" PRIu64, o.prefix, i);
		at = agent_state_find(&st, ep.guid);
		known = at >= 0 ? &st.eps[at] : NULL;
		req = json_pack("{s:s, s:s, s:o, s:s, s:I}", "guid", ep.guid, "hostname", ep.guid,
				"ips", ips_for(&o, i), "reason", o.reason, "notify_port",
				(json_int_t)o.notify_port);
		json = req ? json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		if (!json) {
			fprintf(stderr, AGENT_PROG " " CMD ": out of memory\n");
			break;
		}
		for (uint64_t attempt = 0;; attempt++) {
			struct curl_slist *hdrs = build_headers(&o, known);
			curl_off_t retry_after = 0;

			body.len = 0;
			errbuf[0] = '\0';
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
			cr = curl_easy_perform(c);
			curl_slist_free_all(hdrs);
			status = 0;
			if (cr == CURLE_OK)
				curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			if ((status != 429 && status != 503) || attempt >= o.retries || reg_stop)
				break;
			curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
			sleep((unsigned)(retry_after < 1    ? 1
					 : retry_after > 30 ? 30
							    : retry_after));
		}
		free(json);

		if (cr != CURLE_OK) {
			snprintf(emsg, sizeof(emsg), "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(cr));
		} else if (status != 200 && status != 201) {
			char etext[208];
			agent_http_error_text(&body, etext, sizeof(etext));
			snprintf(emsg, sizeof(emsg), "HTTP %ld: %s", status, etext);
		} else if (agent_ep_from_answer(body.p, body.len, &ep, &why) < 0) {
			snprintf(emsg, sizeof(emsg), "HTTP %ld: %s", status, why);
		} else {
			emsg[0] = '\0';
		}
		if (emsg[0]) {
			agent_http_failure(CMD, ep.guid, emsg, o.verbose, &n_failed);
		} else {
			if (status == 201)
				n_new++;
			else
				n_known++;
			if (known && memcmp(known->key, ep.key, HB_KEY_LEN)) {
				n_rekeyed++;
				if (o.verbose)
					fprintf(stderr,
						AGENT_PROG " " CMD ": %s: the server issued a "
							   "new key\n",
						ep.guid);
			}
			ep.notify_port = (uint16_t)o.notify_port;
			if (known)
				st.eps[at] = ep;
			else if (agent_state_append(&st, &ep) < 0) {
				fprintf(stderr, AGENT_PROG " " CMD ": out of memory\n");
				break;
			}
			changed = true;
		}
		if (o.verbose && agent_mono_ns() >= next_progress) {
			next_progress += 10000000000ull;
			fprintf(stderr,
				AGENT_PROG " " CMD ": %" PRIu64 "/%" PRIu64 " done, %" PRIu64
					   " failed\n",
				i - o.first + 1, o.count, n_failed);
		}
	}
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(url);
	free(body.p);

	rc = AGENT_EXIT_OK;
	if (changed && agent_state_save(o.state, &st) < 0)
		rc = AGENT_EXIT_FAIL;
	if (n_rekeyed)
		fprintf(stderr,
			AGENT_PROG " " CMD ": note: %" PRIu64 " known endpoint(s) got a new "
				   "key (the server did not accept the key proof)\n",
			n_rekeyed);
	if (reg_stop) {
		fprintf(stderr,
			AGENT_PROG " " CMD ": interrupted after %" PRIu64 " of %" PRIu64
				   " endpoints\n",
			n_new + n_known + n_failed, o.count);
		rc = AGENT_EXIT_FAIL;
	}
	printf("registered %" PRIu64 " (new %" PRIu64 ", known %" PRIu64 "), failed %" PRIu64
	       " in %.1f s\n",
	       n_new + n_known, n_new, n_known, n_failed, (double)(agent_mono_ns() - t0) / 1e9);
	agent_state_free(&st);
	return n_failed ? AGENT_EXIT_FAIL : rc;
}
