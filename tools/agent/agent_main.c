/*
 * glournet-agent entry point: picks the subcommand. The option helpers
 * every subcommand shares are in agent_options.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: " AGENT_PROG " COMMAND [OPTIONS]\n"
		   "\n"
		   "The reference endpoint agent of glournet (docs/agent.md, docs/protocol.md):\n"
		   "registers simulated endpoints, sends their UDP heartbeats, polls for them and\n"
		   "answers the notifies the server sends them.\n"
		   "\n"
		   "commands:\n"
		   "  register   register endpoints over HTTP(S) and write the state file\n"
		   "  heartbeat  send the state file's endpoints' heartbeats over UDP\n"
		   "  poll       poll the server (GET /v1/poll) for the state file's endpoints\n"
		   "  listen     receive, check and ack notifies; poll after SETTINGS/COMPONENTS\n"
		   "  help       this text (also --help)\n"
		   "  --version  glournet-agent's version\n"
		   "\n"
		   "'" AGENT_PROG " COMMAND --help' describes each command's options.\n"
		   "Durations (DUR): 500ms, 15s, 5m, 1h, 2d; no unit: seconds.\n"
		   "exit status: 0 ok, 1 failure, 2 usage error\n");
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return AGENT_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return AGENT_EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf(AGENT_PROG " %s\n",
		       GN_VERSION); /* the project's, as every program says it */
		return AGENT_EXIT_OK;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, AGENT_PROG ": sodium_init failed\n");
		return AGENT_EXIT_FAIL;
	}
	/* Unbuffered-enough: summaries must reach a pipe even if we are killed later. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "register"))
		return agent_register_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "heartbeat"))
		return agent_heartbeat_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "poll"))
		return agent_poll_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "listen"))
		return agent_listen_main(argc - 1, argv + 1);
	agent_usage_error(NULL, "unknown command '%s' (register, heartbeat, poll, listen, help)",
			  cmd);
	return AGENT_EXIT_USAGE;
}
