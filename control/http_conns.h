/*
 * The HTTP API's connections, as libmicrohttpd reports them: what one
 * source (source_key.h) may hold, and how long a connection may take to
 * send a request. libmicrohttpd's own limits cannot stop one client taking
 * the API down: its per-IP limit counts IPv6 per address (a host has a
 * whole /64), and its idle timeout restarts with every byte, so 1,100
 * connections trickling a byte each fill every listener for good. Here:
 *
 * - a connection from a source that already holds --http-max-conns-per-source
 *   (both listeners together) is refused in the accept policy: closed at
 *   once, counted (conn_refused) and logged, rate-limited;
 * - every connection must deliver each request's header and body within
 *   --http-request-timeout of its opening or of its previous answer,
 *   however it paces the bytes; past it the connection is shut down from
 *   the loop (conn_timed_out). A request fully received is off the clock:
 *   its answer is the server's business (held answers have their own
 *   timeout).
 *
 * Control thread only, like the rest of the HTTP server.
 */
#ifndef GLOURNET_HTTP_CONNS_H
#define GLOURNET_HTTP_CONNS_H

#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "control/http_counters.h"
#include "control/options.h"
#include "control/source_count.h"
#include "control/source_key.h"

struct http_conn;

struct http_conns {
	struct source_count open; /* connections held per source */
	struct source_prefix prefix;
	uint32_t per_source; /* 0: no limit */
	uint32_t timeout_ms; /* for a whole request */
	/* Connections a request is awaited from, earliest deadline first (all
	 * deadlines are an event's time + timeout_ms, so appending keeps the
	 * order). */
	struct http_conn *head, *tail;
	uint32_t n; /* connections open */
	struct http_counters *counters;
};

/* What one source is, from --source-v4-prefix and --source-v6-prefix
 * (also the registration rate limit's). */
struct source_prefix http_conns_prefix(const struct gn_options *opt);

/* `capacity`: the most connections all listeners together can hold. */
int http_conns_init(struct http_conns *c, const struct gn_options *opt, uint32_t capacity,
		    struct http_counters *counters);
/* After the listeners stopped (they report every connection closed). */
void http_conns_destroy(struct http_conns *c);

/* libmicrohttpd's accept policy and connection notifier; cls: the
 * struct http_conns. */
enum MHD_Result http_conns_accept(void *cls, const struct sockaddr *addr, socklen_t len);
void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);

/* The request's header and body are all in: off the clock. */
void http_conns_request_in(struct http_conns *c, struct MHD_Connection *conn);
/* The request ended (answered, or refused by the library): the next one's
 * time starts now. */
void http_conns_request_done(struct http_conns *c, struct MHD_Connection *conn);

/* Shuts down every connection past its deadline at `now_ms` (monotonic);
 * libmicrohttpd closes them on its next run. Returns how many. */
unsigned http_conns_expire(struct http_conns *c, uint64_t now_ms);

#endif
