/*
 * The HTTP server of the endpoint API, libmicrohttpd driven from the
 * control thread's event loop (no threads of its own): plain HTTP and
 * HTTPS, two listeners on one loop, one handler, one API context.
 */
#ifndef GLOURNET_HTTP_SERVER_H
#define GLOURNET_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "control/api.h"
#include "control/event_loop.h"
#include "control/http_conns.h"
#include "control/rate_limit.h"
#include "control/replay_cache.h"

struct MHD_Daemon;
struct http_request;

enum { HTTP_PLAIN, HTTP_TLS, HTTP_LISTENERS };

struct http_listener {
	struct MHD_Daemon *mhd; /* NULL: off */
	struct loop_watch watch;
	struct http_server *server;
};

struct http_server {
	struct http_listener l[HTTP_LISTENERS];
	struct api_ctx api;               /* the caller fills it before http_start */
	struct rate_limit rl;             /* POST /v1/register per source */
	bool limit_register;              /* --register-rate > 0 */
	struct http_conns conns;          /* connections per source, request deadlines */
	struct replay_cache replay;       /* api.replay: requests already accepted */
	struct api_poll_cache poll_cache; /* api.poll_cache: rendered poll bodies */
	bool conns_ready;
	/* Answers held until the store commits their ticket, oldest first. */
	struct http_request *deferred_head, *deferred_tail;
	unsigned n_deferred;       /* suspended, waiting for their ticket */
	unsigned n_resumed;        /* resumed, answer not queued yet */
	uint64_t committed;        /* highest ticket http_resume_durable was told */
	uint32_t defer_timeout_ms; /* a held answer this long after its request arrived: 503 */
	uint64_t next_expiry_ms;   /* the earliest deadline held (valid while n_deferred) */
	unsigned expired_unlogged; /* 503s at their deadline since the last line about them */
	uint64_t expired_logged_ms;
	bool starting;       /* MHD_start_daemon running: collect its messages */
	char start_err[256]; /* what libmicrohttpd said while starting */
};

/* Starts the listeners of `opt`: --http (`listen`; "off": none) and
 * --https (opt->https_listen, with opt->tls_cert_pem/tls_key_pem). Both off
 * is allowed (the operator said --http off and gave no --https) and
 * warned about. 0 or a negative errno, after logging why. */
int http_start(struct http_server *h, struct event_loop *loop, const char *listen,
	       const struct gn_options *opt);
/* Runs MHD's timers, expires held answers, shuts connections past their
 * request deadline, flushes rate-limited log counts; returns the ms until
 * it needs running again (-1: no listener). */
int http_tick(struct http_server *h);
/* Answers every held request with 503 {"error": "shutting down"}, lets the
 * answers go out (briefly), then closes everything. */
void http_stop(struct http_server *h, struct event_loop *loop);

/* The store's committed ticket advanced to `committed`: every request held
 * for a ticket <= committed gets its answer. Call from the control thread. */
void http_resume_durable(struct http_server *h, uint64_t committed);
/* The held answer waiting on `ticket` becomes 503 with Retry-After (its
 * write was undone: store_take_rejected). Before http_resume_durable. */
void http_fail_ticket(struct http_server *h, uint64_t ticket, const char *why);
/* Answers every held request with 503 {"error": why} (the store refused,
 * or shutdown). */
void http_fail_deferred(struct http_server *h, const char *why);

#endif
