/*
 * One GET /v1/poll (docs/protocol.md §3) for one endpoint, shared by `poll`
 * (each endpoint on its own schedule) and `listen` (a poll soon after a
 * SETTINGS or COMPONENTS notify): the MAC headers, If-None-Match with the
 * last ETag, and what a 200 answer says kept in the endpoint's view, so
 * the next poll and the next notify check use the server's latest word.
 */
#ifndef GLOURNET_AGENT_POLLREQ_H
#define GLOURNET_AGENT_POLLREQ_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "agent.h"
#include "agent_http.h"

/* One endpoint as its poll answers describe it; the intervals are 0 and
 * rev -1 until the first 200. */
struct agent_poll_view {
	const struct agent_ep *ep;
	int64_t clock_offset; /* from the last 200's server_time (first: the state file's) */
	uint32_t answered_at; /* server_time of the last 200; 0: none yet */
	int64_t hb_interval, poll_interval, rev;
	bool hb_enabled, poll_enabled, unreachable, answered, ips_sent;
	char etag[72];
};

struct agent_poller {
	const char *cmd; /* the subcommand, for messages */
	const char *ips; /* X-Glournet-Ips for an endpoint's polls until one succeeds */
	bool verbose;
	CURL *c;
	struct agent_buf body;
	char etag[72], errbuf[CURL_ERROR_SIZE];
	uint64_t n200, n304, nerr;
};

/* A keep-alive handle for SERVER/v1/poll; 0, or -1 (printed). The caller
 * has called curl_global_init. */
int agent_poller_open(struct agent_poller *pl, const char *server, long timeout, bool insecure,
		      const char *cacert);
void agent_poller_close(struct agent_poller *pl);

/* Polls once for v: returns 200 or 304 (v updated, counted), or -1 after
 * printing the failure (agent_http_failure) and counting it, with
 * *retry_after_s the server's Retry-After (0: none). */
long agent_poll_once(struct agent_poller *pl, struct agent_poll_view *v, long *retry_after_s);

#endif
