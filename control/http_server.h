/*
 * The HTTP server of the endpoint API, libmicrohttpd driven from the
 * control thread's event loop (no threads of its own).
 */
#ifndef GLOURNET_HTTP_SERVER_H
#define GLOURNET_HTTP_SERVER_H

#include "control/api.h"
#include "control/event_loop.h"

struct MHD_Daemon;

struct http_server {
	struct MHD_Daemon *mhd;
	struct loop_watch watch;
	struct api_ctx api;
};

/* `listen` is "ADDR:PORT", "[V6ADDR]:PORT" or "off" (then a no-op). */
int http_start(struct http_server *h, struct event_loop *loop, const char *listen,
	       const struct gn_options *opt);
/* Runs MHD's timers; returns the ms until it needs running again (-1: none). */
int http_tick(struct http_server *h);
void http_stop(struct http_server *h, struct event_loop *loop);

#endif
