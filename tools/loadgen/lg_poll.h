/*
 * The fleet's polls after notifies (docs/protocol.md §2): a SETTINGS or
 * COMPONENTS notify makes its endpoint poll GET /v2/poll at a random delay
 * in [0, --poll-spread), so a fleet notified within seconds does not poll
 * within the same second; at most --poll-concurrency requests in flight
 * over one libcurl multi handle, driven by the receiver's loop.
 */
#ifndef GLOURNET_LG_POLL_H
#define GLOURNET_LG_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "lg_endpoints.h"
#include "lg_options.h"

struct lg_poll_req;

struct lg_polls {
	const struct lg_opts *o;
	const struct lg_endpoints *set;
	CURLM *multi;
	struct lg_poll_req *req;
	unsigned nreq;
	char *url;
	struct lg_poll_due *pq; /* min-heap by due time */
	size_t npq;
	uint8_t *pending;      /* per endpoint: a poll is due or in flight */
	uint32_t *answered_at; /* per endpoint: server_time of its last 200 */
	uint64_t rng;
	bool curl_up;
	/* figures */
	uint64_t started, ok_200, other_status, failed, coalesced, fresh;
};

/* 0, or a negative errno. */
int lg_polls_open(struct lg_polls *p, const struct lg_opts *o, const struct lg_endpoints *set);
void lg_polls_close(struct lg_polls *p);
/* An accepted notify with these flags and time for endpoint ep, received at
 * now_ns: a poll is planned unless one is due already (coalesced) or the
 * endpoint's last answer is newer than the notify (fresh). */
void lg_polls_notified(struct lg_polls *p, uint32_t ep, uint16_t flags, uint32_t time,
		       uint64_t now_ns);
/* Starts the due ones (as many as are free), then lets libcurl work. */
void lg_polls_run(struct lg_polls *p, uint64_t now_ns);
/* The next due time, or UINT64_MAX; and how many are planned, not started. */
uint64_t lg_polls_next_due(const struct lg_polls *p);
static inline uint64_t lg_polls_waiting(const struct lg_polls *p)
{
	return p->npq;
}

#endif
