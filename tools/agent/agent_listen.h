/*
 * `glournet-agent listen`'s options, parsed apart from the loop that uses
 * them (agent_listen_opts.c) so each file stays one concern.
 */
#ifndef GLOURNET_AGENT_LISTEN_H
#define GLOURNET_AGENT_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

#define AGENT_LISTEN_CMD       "listen"
#define AGENT_LISTEN_LOG_FIRST 20 /* lines per kind of event, all with -v */

struct agent_listen_opts {
	const char *state, *to, *bind, *server, *cacert;
	uint16_t port, notify_port;
	double poll_spread, duration;
	uint32_t window, skew;
	uint64_t timeout, first, count;
	bool have_count, insecure, json, verbose;
};

/* 0 to run, -1 after --help (exit 0), or AGENT_EXIT_USAGE after a message. */
int agent_listen_parse(int argc, char **argv, struct agent_listen_opts *o);

#endif
