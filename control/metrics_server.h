/*
 * The metrics endpoint (--metrics ADDR:PORT, off by default): a second
 * libmicrohttpd daemon driven from the control thread's event loop like
 * the endpoint API's (http_server.h), with no threads of its own, apart
 * from the API so that a scraper never competes with a million agents for
 * connections. GET /metrics (Prometheus text, metrics.h), /healthz and
 * /readyz (metrics_health.h).
 */
#ifndef GLOURNET_METRICS_SERVER_H
#define GLOURNET_METRICS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "control/event_loop.h"

struct MHD_Daemon;
struct gn_daemon;

/* The port's link: 1 up, 0 down, -1 not known. The dataplane's, which the
 * control library does not link: glournetd passes it, tests a fake. */
typedef int metrics_link_fn(uint16_t port_id);

/* Scrapes in flight at once, at most; more connections wait in the kernel. */
#define METRICS_MAX_CONNS 16

struct metrics_server {
	struct MHD_Daemon *mhd; /* NULL: off */
	struct loop_watch watch;
	struct gn_daemon *d;
	metrics_link_fn *link;
	uint64_t scrapes; /* GET /metrics answered */
	bool starting;    /* MHD_start_daemon running: keep what it says */
	char start_err[256];
};

/* Listens on `listen` ("off": nothing, 0). 0 or a negative errno, logged. */
int metrics_start(struct metrics_server *m, struct event_loop *loop, struct gn_daemon *d,
		  const char *listen, metrics_link_fn *link);
/* Runs MHD's timers; the ms until it needs running again (-1: off). */
int metrics_tick(struct metrics_server *m);
void metrics_stop(struct metrics_server *m, struct event_loop *loop);

/* The link as the metrics and /readyz see it (-1 without a link function). */
int metrics_link(const struct metrics_server *m);

#endif
