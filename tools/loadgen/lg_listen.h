/*
 * The fleet's receiver (docs/loadgen.md, "Notifies"): a thread of its own
 * beside the send loop, with one kernel UDP socket per notify port. It
 * checks every datagram (lg_notify.c), acks at once, later or never as
 * each endpoint's role says, from the socket it came in on to the
 * collector's heartbeat address and port, and polls over HTTP soon after
 * SETTINGS or COMPONENTS when asked to. The send loop reads a few live
 * figures for its progress line; the rest is read after the thread ended.
 */
#ifndef GLOURNET_LG_LISTEN_H
#define GLOURNET_LG_LISTEN_H

#include <stdint.h>

#include "lg_endpoints.h"
#include "lg_options.h"
#include "lg_sched.h"

struct lg_listen;

/* The live figures, for the progress line. */
struct lg_listen_live {
	uint64_t accepted, refused, acks, late_waiting, polls;
};

/*
 * Opens the sockets (errors are printed: a busy port fails the run before
 * it starts) and starts the thread. `s` gives the silent and shutdown
 * endpoints and when they die; t0_ns is the run's start (CLOCK_MONOTONIC).
 * 0, or a negative errno.
 */
int lg_listen_start(struct lg_listen **out, const struct lg_opts *o, const struct lg_endpoints *set,
		    const struct lg_sched *s, uint64_t t0_ns);
void lg_listen_live(struct lg_listen *ln, struct lg_listen_live *live);
/* Stops and joins the thread; the figures are final after it. */
void lg_listen_stop(struct lg_listen *ln);

/* The final figures, for the summary (after lg_listen_stop). */
struct lg_listen_figures {
	const struct lg_notify *nt; /* what each endpoint received, by verdict, flag, role */
	const uint8_t *hb_role;     /* enum lg_role per endpoint */
	unsigned sockets;
	uint64_t acks, late_sent, late_unsent, ack_errors;
	uint64_t polls_started, polls_200, polls_other, polls_failed, polls_coalesced, polls_fresh,
		polls_unstarted;
	int first_errno;
};
void lg_listen_figures(const struct lg_listen *ln, struct lg_listen_figures *f);
void lg_listen_free(struct lg_listen *ln);

#endif
