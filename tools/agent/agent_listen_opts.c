/*
 * `glournet-agent listen`: --help and the option parser (agent_listen.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "glournet/heartbeat.h"
#include "agent.h"
#include "agent_listen.h"
#include "agent_notify.h"

#define CMD       AGENT_LISTEN_CMD
#define LOG_FIRST AGENT_LISTEN_LOG_FIRST

static void help(FILE *f)
{
	fprintf(f,
		"usage: " AGENT_PROG " listen --state FILE --to ADDR [OPTIONS]\n"
		"\n"
		"Receives notifies for the state file's endpoints on their notify ports (one\n"
		"UDP socket per port, demultiplexed by slot), checks each as docs/protocol.md\n"
		"section 2 says (slot, id, MAC under the endpoint's key, the server's time\n"
		"within [now - window, now + skew] of the endpoint's clock), answers each\n"
		"accepted one with its notify-ack to ADDR:PORT, and with --server polls soon\n"
		"after a SETTINGS or COMPONENTS notify, at a delay uniform in\n"
		"[0, min(--poll-spread, poll.interval)). Refused datagrams are counted by\n"
		"reason and never answered.\n"
		"\n"
		"  --state FILE        state file written by 'register' (required)\n"
		"  --to ADDR           the collector's heartbeat address, where acks go (required)\n"
		"  --port PORT         the collector's heartbeat UDP port (default 7100)\n"
		"  --notify-port PORT  port for endpoints whose state line has none (default %d)\n"
		"  --bind ADDR         local address to listen on (default: all, IPv4 and IPv6)\n"
		"  --server URL        poll here after SETTINGS/COMPONENTS (default: no polls)\n"
		"  --poll-spread DUR   upper bound of the random poll delay (default %d)\n"
		"  --window DUR        accept a notify at most DUR old (default %d)\n"
		"  --skew DUR          accept a notify at most DUR ahead (default %d)\n"
		"  --insecure          do not verify the server's TLS certificate\n"
		"  --cacert FILE       CA certificate(s) to verify the server with\n"
		"  --timeout DUR       per-poll timeout (default 10)\n"
		"  --first K           first state-file endpoint to use (default 0)\n"
		"  --count N           number of endpoints to use (default: all from K)\n"
		"  --duration DUR      run time; 0 = until SIGINT/SIGTERM (default 0)\n"
		"  --json              the summary as one JSON object on stdout\n"
		"  -v, --verbose       a line for every notify and refusal (else the first %d)\n"
		"  -h, --help          this text\n"
		"\n"
		"Prints the counts per kind and per refusal reason, acks and polls at the end.\n"
		"Exit 1 if an ack could not be sent or a poll failed.\n",
		AGENT_NOTIFY_PORT, AGENT_POLL_SPREAD_S, AGENT_NOTIFY_WINDOW, AGENT_NOTIFY_SKEW,
		LOG_FIRST);
}

int agent_listen_parse(int argc, char **argv, struct agent_listen_opts *o)
{
	static const struct option longopts[] = {
		{"state", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"port", required_argument, NULL, 'p'},
		{"notify-port", required_argument, NULL, 'P'},
		{"bind", required_argument, NULL, 'b'},
		{"server", required_argument, NULL, 's'},
		{"poll-spread", required_argument, NULL, 'J'},
		{"window", required_argument, NULL, 'W'},
		{"skew", required_argument, NULL, 'S'},
		{"insecure", no_argument, NULL, 'I'},
		{"cacert", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'T'},
		{"first", required_argument, NULL, 'k'},
		{"count", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t u;
	int c;

	*o = (struct agent_listen_opts){.port = HB_DEFAULT_PORT,
					.notify_port = AGENT_NOTIFY_PORT,
					.poll_spread = AGENT_POLL_SPREAD_S,
					.window = AGENT_NOTIFY_WINDOW,
					.skew = AGENT_NOTIFY_SKEW,
					.timeout = 10};
	optind = 0; /* GNU: re-initialise, so tests may parse again */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'f':
			o->state = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'b':
			o->bind = optarg;
			break;
		case 's':
			o->server = optarg;
			break;
		case 'C':
			o->cacert = optarg;
			break;
		case 'I':
			o->insecure = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'p':
			bad = agent_opt_u64(CMD, "--port", optarg, 1, 65535, &u);
			o->port = (uint16_t)u;
			break;
		case 'P':
			bad = agent_opt_u64(CMD, "--notify-port", optarg, 1, 65535, &u);
			o->notify_port = (uint16_t)u;
			break;
		case 'J':
			bad = agent_opt_duration(CMD, "--poll-spread", optarg, 0, 86400,
						 &o->poll_spread);
			break;
		case 'W':
			bad = agent_opt_seconds(CMD, "--window", optarg, 0, 86400, &u);
			o->window = (uint32_t)u;
			break;
		case 'S':
			bad = agent_opt_seconds(CMD, "--skew", optarg, 0, 86400, &u);
			o->skew = (uint32_t)u;
			break;
		case 'T':
			bad = agent_opt_seconds(CMD, "--timeout", optarg, 1, 3600, &o->timeout);
			break;
		case 'k':
			bad = agent_opt_u64(CMD, "--first", optarg, 0, UINT32_MAX, &o->first);
			break;
		case 'n':
			bad = agent_opt_u64(CMD, "--count", optarg, 1, UINT32_MAX, &o->count);
			o->have_count = true;
			break;
		case 'd':
			bad = agent_opt_duration(CMD, "--duration", optarg, 0, 1e9, &o->duration);
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
	if (optind < argc) {
		agent_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (!o->state || !o->to) {
		agent_usage_error(CMD, "--state and --to are required");
		return AGENT_EXIT_USAGE;
	}
	if (o->server && strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8)) {
		agent_usage_error(CMD, "--server: '%s' is not an http:// or https:// URL",
				  o->server);
		return AGENT_EXIT_USAGE;
	}
	if ((o->insecure || o->cacert) && !o->server) {
		agent_usage_error(CMD, "--insecure and --cacert go with --server");
		return AGENT_EXIT_USAGE;
	}
	return 0;
}
