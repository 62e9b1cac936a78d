/*
 * libmicrohttpd glue: collect the body, route, hand the request to the API
 * functions, send what they answer. All HTTP (and TLS) parsing is the
 * library's. Responses are queued on a later call than the first
 * (FACTS.md: answering on the first call costs keep-alive).
 *
 * Two listeners (plain, TLS) share this handler and the API context. What
 * one source may hold and how long a request may take are http_conns.c's.
 * An HTTP/1.1 request without Host is a 400 (RFC 7230 section 5.4). A
 * registration is rate-limited per source before its body is read. An
 * answer the store must make durable first is held: the connection is
 * suspended until http_resume_durable() says its ticket committed, then
 * the handler runs again and sends what was held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>
#include <sys/epoll.h>

#define LOG_TAG "http"
#include "control/mono_clock.h"
#include "control/http_server.h"
#include "control/tls_certs.h"
#include "glournet/http_api.h"
#include "glournet/log.h"
#include "glournet/log_ratelimit.h"

/* Past the body limit, this much more is read and thrown away so the
 * client still gets its 413 on a kept-alive connection. A Content-Length
 * beyond it is answered at once (libmicrohttpd can only queue an answer
 * before the body, and then closes the connection); a chunked body that
 * runs past it loses its connection without an answer. */
#define DISCARD_MAX ((size_t)1 << 20)

/* Answers held at shutdown get this long to go out. */
#define STOP_DRAIN_MS 500

/* A held answer the store did not commit in time is a 503 with this
 * Retry-After: a full or stalled disk is not over in a second. */
#define HELD_RETRY_AFTER_S 5

enum rq_phase {
	RQ_NEW,      /* request line seen (URI callback) */
	RQ_READING,  /* headers seen, body arriving */
	RQ_DEFERRED, /* answer held, connection suspended */
	RQ_RESUMED,  /* ticket committed, waiting for the handler to send it */
	RQ_ANSWERED,
};

/* One request (MHD's con_cls): made by the URI callback, freed by the
 * completed callback, whatever happens in between. */
struct http_request {
	struct http_server *h;
	struct MHD_Connection *conn;
	enum rq_phase phase;
	char *body;
	size_t len;
	size_t discarded;
	bool too_large;
	bool no_host; /* 400: HTTP/1.1 without Host */
	bool limited; /* 429: no registration token left */
	uint32_t retry_after;
	const char *allow;        /* 405: the method the path takes */
	struct api_response resp; /* the held answer */
	uint64_t arrived_ms;      /* request line seen: the client's clock starts about here */
	uint64_t deadline_ms;     /* held: a 503 from then on */
	struct http_request *prev, *next; /* h->deferred_* */
};

static uint64_t mono_ms(void)
{
	return gn_mono_ns() / 1000000;
}

/* Queues `r` (its body passes to MHD); `retry_after` (429) and `allow`
 * (405) add their headers when set. */
static enum MHD_Result send_json(struct MHD_Connection *conn, struct api_response *r,
				 uint32_t retry_after, const char *allow)
{
	size_t n = r->body ? strlen(r->body) : 0;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		r->body = NULL;
		return MHD_NO;
	}
	r->body = NULL;
	if (n)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	if (retry_after) {
		char s[16];
		snprintf(s, sizeof(s), "%u", retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
	}
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static const struct sockaddr *peer_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci ? ci->client_addr : NULL;
}

struct api_route {
	const char *path;
	const char *method;
	void (*fn)(const struct api_ctx *, const struct api_request *, struct api_response *);
};

static const struct api_route routes[] = {
	{GN_API_PATH_REGISTER, MHD_HTTP_METHOD_POST, api_register},
	{GN_API_PATH_POLL, MHD_HTTP_METHOD_GET, api_poll},
	{GN_API_PATH_EVENT, MHD_HTTP_METHOD_POST, api_event},
	{GN_API_PATH_POLL_V2, MHD_HTTP_METHOD_GET, api_poll_v2},
	{GN_API_PATH_EVENT_V2, MHD_HTTP_METHOD_POST, api_event_v2},
};

static void route(struct http_server *h, struct MHD_Connection *conn, const char *url,
		  const char *method, struct http_request *rq, struct api_response *resp)
{
	const struct api_ctx *ctx = &h->api;
	if (rq->no_host) {
		api_error(ctx, resp, 400, HTTP_MALFORMED,
			  "HTTP/1.1 request without a Host header (RFC 7230 section 5.4)");
		return;
	}
	const struct api_route *r = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(url, routes[i].path))
			r = &routes[i];
	if (!r) {
		api_error(ctx, resp, 404, HTTP_NOT_FOUND, "no such resource");
		return;
	}
	if (strcmp(method, r->method) != 0) {
		char msg[64];
		snprintf(msg, sizeof(msg), "use %s", r->method);
		api_error(ctx, resp, 405, HTTP_BAD_METHOD, msg);
		rq->allow = r->method;
		return;
	}
	if (rq->limited) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "too many registrations from this address; retry in %u s",
			 rq->retry_after);
		api_error(ctx, resp, 429, HTTP_RATE_LIMITED, msg);
		return;
	}
	if (rq->too_large) {
		char msg[64];
		snprintf(msg, sizeof(msg), "body over %u bytes", ctx->opt->http_max_body);
		api_error(ctx, resp, 413, HTTP_TOO_LARGE, msg);
		return;
	}
	struct api_request req = {
		.body = rq->body ? rq->body : "",
		.body_len = rq->len,
		.authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
		.hdr_id = header(conn, GN_API_HDR_ID),
		.hdr_time = header(conn, GN_API_HDR_TIME),
		.hdr_mac = header(conn, GN_API_HDR_MAC),
		.hdr_ips = header(conn, GN_API_HDR_IPS),
		.if_none_match = header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH),
		.peer = peer_of(conn),
	};
	r->fn(ctx, &req, resp);
}

/* ---- answers held for the store ---- */

static void held_unlink(struct http_server *h, struct http_request *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		h->deferred_head = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	else
		h->deferred_tail = rq->prev;
	rq->prev = rq->next = NULL;
	h->n_deferred--;
}

static void hold(struct http_server *h, struct http_request *rq, const struct api_response *resp)
{
	rq->resp = *resp;
	rq->phase = RQ_DEFERRED;
	/* From the request's arrival, not from now: a client whose timeout is
	 * --http-timeout gets its 503 before it gives up, however long the
	 * body took or the store took to refuse. */
	rq->deadline_ms = rq->arrived_ms + h->defer_timeout_ms;
	if (!h->n_deferred || rq->deadline_ms < h->next_expiry_ms)
		h->next_expiry_ms = rq->deadline_ms;
	rq->next = NULL;
	rq->prev = h->deferred_tail;
	if (h->deferred_tail)
		h->deferred_tail->next = rq;
	else
		h->deferred_head = rq;
	h->deferred_tail = rq;
	h->n_deferred++;
	MHD_suspend_connection(rq->conn);
}

/* MHD calls the handler again for it on its next run (its ITC wakes the loop). */
static void release(struct http_server *h, struct http_request *rq)
{
	held_unlink(h, rq);
	rq->phase = RQ_RESUMED;
	h->n_resumed++;
	MHD_resume_connection(rq->conn);
}

static void fail_one(struct http_server *h, struct http_request *rq, const char *why)
{
	free(rq->resp.body);
	rq->resp = (struct api_response){0};
	api_error(&h->api, &rq->resp, 503, HTTP_DEFERRED_FAILED, why);
	rq->retry_after = HELD_RETRY_AFTER_S;
	release(h, rq);
}

void http_resume_durable(struct http_server *h, uint64_t committed)
{
	if (committed > h->committed)
		h->committed = committed;
	struct http_request *rq = h->deferred_head, *next;
	for (; rq; rq = next) {
		next = rq->next;
		if (rq->resp.durable_ticket <= committed)
			release(h, rq);
	}
}

void http_fail_ticket(struct http_server *h, uint64_t ticket, const char *why)
{
	struct http_request *rq = h->deferred_head, *next;
	for (; rq; rq = next) {
		next = rq->next;
		if (rq->resp.durable_ticket == ticket)
			fail_one(h, rq, why);
	}
}

void http_fail_deferred(struct http_server *h, const char *why)
{
	if (h->n_deferred)
		LOG_RATELIMITED(WARN, "%u held answer(s) failed with 503: %s", h->n_deferred, why);
	while (h->deferred_head)
		fail_one(h, h->deferred_head, why);
}

/* ---- MHD callbacks ---- */

static struct http_request *rq_new(struct http_server *h, struct MHD_Connection *conn)
{
	struct http_request *rq = calloc(1, sizeof(*rq));
	if (rq) {
		rq->h = h;
		rq->conn = conn;
		rq->arrived_ms = mono_ms();
	}
	return rq;
}

/* Called once per request line, before the headers: every request is
 * counted and gets its state here, even one the library refuses itself. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)uri;
	struct http_server *h = cls;
	h->api.counters->requests++;
	return rq_new(h, conn);
}

static bool take_token(struct http_server *h, struct MHD_Connection *conn, uint32_t *retry_after)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return rl_take(&h->rl, ci ? ci->client_addr : NULL, mono_ms(), retry_after);
}

static enum MHD_Result answer(struct http_server *h, struct http_request *rq,
			      struct MHD_Connection *conn, const char *url, const char *method)
{
	struct api_response resp = {0};
	http_conns_request_in(&h->conns, conn);
	route(h, conn, url, method, rq, &resp);
	if (resp.durable_ticket > h->committed) {
		hold(h, rq, &resp);
		return MHD_YES;
	}
	rq->phase = RQ_ANSWERED;
	return send_json(conn, &resp, resp.status == 429 ? rq->retry_after : resp.retry_after,
			 resp.status == 405 ? rq->allow : NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct http_request *rq = *con_cls;
	if (!rq) { /* on_uri could not allocate (and counted it already) */
		rq = rq_new(h, conn);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
	}
	switch (rq->phase) {
	case RQ_NEW:
		rq->phase = RQ_READING;
		rq->conn = conn;
		rq->no_host = strcmp(version, MHD_HTTP_VERSION_1_0) != 0 &&
			      !header(conn, MHD_HTTP_HEADER_HOST);
		/* Decided now, so a refused registration's body is never kept. */
		if (h->limit_register && !rq->no_host && !strcmp(url, GN_API_PATH_REGISTER) &&
		    !strcmp(method, MHD_HTTP_METHOD_POST))
			rq->limited = !take_token(h, conn, &rq->retry_after);
		const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
		if (len > h->api.opt->http_max_body)
			rq->too_large = true;
		if (len > h->api.opt->http_max_body + DISCARD_MAX)
			return answer(h, rq, conn, url, method);
		return MHD_YES;
	case RQ_RESUMED:
		h->n_resumed--;
		rq->phase = RQ_ANSWERED;
		return send_json(conn, &rq->resp, rq->resp.status == 503 ? rq->retry_after : 0,
				 NULL);
	case RQ_DEFERRED:
	case RQ_ANSWERED:
		return MHD_YES; /* not expected: nothing more to do */
	case RQ_READING:
		break;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (!rq->limited && !rq->no_host && !rq->too_large &&
		    rq->len + n > h->api.opt->http_max_body) {
			rq->too_large = true;
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (rq->limited || rq->too_large || rq->no_host) {
			rq->discarded += n;
			return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		char *b = realloc(rq->body, rq->len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + rq->len, upload, n);
		rq->body = b;
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	return answer(h, rq, conn, url, method);
}

/* A request the handler never saw was answered by the library itself
 * (431 header block too large, 400 broken request) or abandoned. */
static void count_library_answer(struct http_server *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
	unsigned status = ci ? ci->http_status : 0;
	if (status == MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE ||
	    status == MHD_HTTP_CONTENT_TOO_LARGE || status == MHD_HTTP_URI_TOO_LONG)
		h->api.counters->by_result[HTTP_HEADER_TOO_LARGE]++;
	else if (status >= 400)
		h->api.counters->by_result[HTTP_MALFORMED]++;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct http_server *h = cls;
	http_conns_request_done(&h->conns, conn);
	struct http_request *rq = *con_cls;
	if (!rq)
		return;
	switch (rq->phase) {
	case RQ_NEW:
		count_library_answer(h, conn);
		break;
	case RQ_DEFERRED: /* closed while held (shutdown): nobody to answer */
		held_unlink(h, rq);
		break;
	case RQ_RESUMED: /* released, but the client was gone */
		h->n_resumed--;
		break;
	default:
		break;
	}
	free(rq->resp.body);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void on_ready(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct http_listener *l = w->ctx;
	MHD_run(l->mhd);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *h = cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	/* Kept while starting, so the error says what the library said. */
	size_t have = strlen(h->start_err), room = sizeof(h->start_err) - have;
	if (h->starting && room > 3)
		snprintf(h->start_err + have, room, "%s%.*s", have ? "; " : "", (int)(room - 3),
			 line);
	/* Once running, what it says is mostly about one client's connection. */
	if (h->starting)
		LOG(WARN, "libmicrohttpd: %s", line);
	else
		LOG_RATELIMITED(WARN, "libmicrohttpd: %s", line);
}

/* ---- listeners ---- */

/* GnuTLS priorities: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static int start_listener(struct http_server *h, struct event_loop *loop, int which,
			  const char *listen, const struct gn_options *opt)
{
	bool tls = which == HTTP_TLS;
	const char *name = tls ? "https" : "http";
	struct sockaddr_storage ss;
	socklen_t sl;
	if (options_parse_listen(listen, &ss, &sl) < 0) {
		LOG(ERR, "--%s '%s': expected ADDR:PORT, [IPV6]:PORT or off", name, listen);
		return -EINVAL;
	}
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		LOG(ERR, "--https: this libmicrohttpd was built without TLS support");
		return -ENOTSUP;
	}
	if (tls && (!opt->tls_cert_pem || !opt->tls_key_pem)) {
		LOG(ERR, "--https '%s' needs --tls-cert and --tls-key", listen);
		return -EINVAL;
	}
	/* Through a callback, so that SIGHUP can replace them (tls_certs.h). */
	char terr[256];
	if (tls && tls_certs_load(opt->tls_cert_pem, opt->tls_key_pem, terr, sizeof(terr)) < 0) {
		LOG(ERR, "--https: cannot use --tls-cert '%s' with --tls-key '%s': %s",
		    opt->tls_cert_file, opt->tls_key_file, terr);
		return -EINVAL;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (tls)
		flags |= MHD_USE_TLS;
	if (ss.ss_family == AF_INET6) {
		struct in6_addr any = IN6ADDR_ANY_INIT;
		bool wildcard =
			!memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &any, sizeof(any));
		flags |= wildcard ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	}
	uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	h->start_err[0] = '\0';
	h->starting = true;
	/* The TLS options come last: for plain HTTP the list ends before them. */
	struct http_listener *l = &h->l[which];
	l->mhd = MHD_start_daemon(
		flags, port, http_conns_accept, &h->conns, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->http_max_conns,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->http_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)opt->http_max_header,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
		http_conns_notify, &h->conns, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
		tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, &tls_certs_retrieve,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
	h->starting = false;
	if (!l->mhd) {
		if (tls && (strstr(h->start_err, "TLS") || strstr(h->start_err, "x509")))
			LOG(ERR, "--https: cannot use --tls-cert '%s' with --tls-key '%s': %s",
			    opt->tls_cert_file, opt->tls_key_file, h->start_err);
		else
			LOG(ERR, "cannot listen for %s on %s: %s", tls ? "HTTPS" : "HTTP", listen,
			    h->start_err[0] ? h->start_err : "address in use or not available?");
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	l->server = h;
	l->watch = (struct loop_watch){.fd = info->epoll_fd, .fn = on_ready, .ctx = l};
	int rc = loop_add(loop, &l->watch, EPOLLIN);
	if (rc < 0) {
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
		return rc;
	}
	LOG(INFO, "%s API listening on %s%s", tls ? "HTTPS" : "HTTP", listen,
	    ss.ss_family == AF_INET6 && (flags & MHD_USE_DUAL_STACK) ? " (IPv4 and IPv6)" : "");
	return 0;
}

int http_start(struct http_server *h, struct event_loop *loop, const char *listen,
	       const struct gn_options *opt)
{
	for (int i = 0; i < HTTP_LISTENERS; i++)
		h->l[i] = (struct http_listener){0};
	h->deferred_head = h->deferred_tail = NULL;
	h->n_deferred = h->n_resumed = h->expired_unlogged = 0;
	h->expired_logged_ms = 0;
	h->committed = 0;
	h->conns_ready = false;
	/* Answered ahead of --http-timeout by a tenth of it (1 s .. 5 s, at
	 * most half), so the 503 reaches a client that waits that long. */
	uint32_t timeout_ms = opt->http_timeout * 1000u, margin = timeout_ms / 10;
	margin = margin < 1000 ? 1000 : margin > 5000 ? 5000 : margin;
	h->defer_timeout_ms = timeout_ms - (margin > timeout_ms / 2 ? timeout_ms / 2 : margin);
	h->limit_register = opt->register_rate > 0;
	if (h->limit_register) {
		int rc = rl_init(&h->rl, opt->register_rate, opt->register_burst, RL_MAX_SOURCES);
		if (rc < 0) {
			LOG(ERR, "registration rate limit: %s", strerror(-rc));
			return rc;
		}
		(void)rl_set_prefix(&h->rl, http_conns_prefix(opt)); /* options.c checked it */
	}
	int crc = replay_init(&h->replay, opt->http_replay_cache);
	if (crc < 0) {
		LOG(ERR, "replay cache of %u requests: %s", opt->http_replay_cache, strerror(-crc));
		http_stop(h, loop);
		return crc;
	}
	h->api.replay = &h->replay;
	h->api.poll_cache = &h->poll_cache;
	crc = http_conns_init(&h->conns, opt, HTTP_LISTENERS * opt->http_max_conns,
			      h->api.counters);
	if (crc < 0) {
		LOG(ERR, "HTTP connection table: %s", strerror(-crc));
		http_stop(h, loop);
		return crc;
	}
	h->conns_ready = true;
	const char *https = opt->https_listen ? opt->https_listen : "off";
	int rc = 0;
	if (strcmp(listen, "off") != 0)
		rc = start_listener(h, loop, HTTP_PLAIN, listen, opt);
	if (rc == 0 && strcmp(https, "off") != 0)
		rc = start_listener(h, loop, HTTP_TLS, https, opt);
	/* GnuTLS has its copy; ours need not stay in memory. */
	if (opt->tls_key_pem)
		explicit_bzero(opt->tls_key_pem, strlen(opt->tls_key_pem));
	if (rc < 0) {
		http_stop(h, loop);
		return rc;
	}
	if (!h->l[HTTP_PLAIN].mhd && !h->l[HTTP_TLS].mhd)
		LOG(WARN, "no HTTP API (--http off, no --https): endpoints can neither register "
			  "nor poll");
	else if (!h->limit_register)
		LOG(WARN, "--register-rate 0: registrations are not rate-limited");
	return 0;
}

/* Held answers the store never committed in time get a 503: the
 * connection must not stay suspended (it is out of MHD's timeouts).
 * Deadlines follow arrival, not the order held (a slow body is held
 * late): the list is walked only when the earliest deadline has come. */
static void expire_held(struct http_server *h)
{
	uint64_t now = mono_ms();
	if (!h->deferred_head || now < h->next_expiry_ms)
		return;
	uint64_t next = UINT64_MAX;
	for (struct http_request *rq = h->deferred_head, *after; rq; rq = after) {
		after = rq->next;
		if (now >= rq->deadline_ms) {
			fail_one(h, rq, "the store did not commit in time; retry");
			h->expired_unlogged++;
		} else if (rq->deadline_ms < next) {
			next = rq->deadline_ms;
		}
	}
	h->next_expiry_ms = next;
	/* A line every few seconds at most, however many expire. */
	if (h->expired_unlogged && now - h->expired_logged_ms >= 5000) {
		LOG(WARN,
		    "%u held answer(s) got 503 + Retry-After: the store did not commit them "
		    "within %u ms of their request (show status: store)",
		    h->expired_unlogged, h->defer_timeout_ms);
		h->expired_unlogged = 0;
		h->expired_logged_ms = now;
	}
}

int http_tick(struct http_server *h)
{
	expire_held(h);
	uint64_t now = mono_ms();
	if (h->conns_ready)
		http_conns_expire(&h->conns, now);
	gn_log_rl_flush(now);
	int best = -1;
	for (int i = 0; i < HTTP_LISTENERS; i++) {
		struct MHD_Daemon *d = h->l[i].mhd;
		if (!d)
			continue;
		MHD_run(d);
		MHD_UNSIGNED_LONG_LONG ms;
		int t = MHD_get_timeout(d, &ms) == MHD_YES ? (ms > 1000 ? 1000 : (int)ms) : 1000;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

void http_stop(struct http_server *h, struct event_loop *loop)
{
	http_fail_deferred(h, "shutting down");
	/* Let the released answers go out: the handler queues them on a run. */
	uint64_t until = mono_ms() + STOP_DRAIN_MS;
	for (int quiet = 0; quiet < 3 && mono_ms() < until;) {
		for (int i = 0; i < HTTP_LISTENERS; i++)
			if (h->l[i].mhd)
				MHD_run(h->l[i].mhd);
		quiet = h->n_resumed ? 0 : quiet + 1;
		nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
	}
	for (int i = 0; i < HTTP_LISTENERS; i++) {
		struct http_listener *l = &h->l[i];
		if (!l->mhd)
			continue;
		loop_del(loop, &l->watch);
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
	}
	if (h->limit_register) {
		rl_destroy(&h->rl);
		h->limit_register = false;
	}
	h->api.replay = NULL;
	replay_destroy(&h->replay);
	h->api.poll_cache = NULL;
	api_poll_cache_free(&h->poll_cache);
	/* After the listeners: stopping them reported every connection closed. */
	if (h->conns_ready) {
		http_conns_destroy(&h->conns);
		h->conns_ready = false;
	}
	tls_certs_free();
}
