/*
 * libmicrohttpd glue: collect the body, route, hand the request to the API
 * functions, send what they answer. All HTTP parsing is the library's.
 * Responses are queued on a later call than the first (FACTS.md: answering
 * on the first call costs keep-alive).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include <sys/epoll.h>

#define LOG_TAG "http"
#include "control/http_server.h"
#include "glournet/log.h"

struct http_request {
	char *body;
	size_t len;
	bool too_large;
};

static enum MHD_Result send_json(struct MHD_Connection *conn, struct api_response *r)
{
	size_t n = r->body ? strlen(r->body) : 0;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	if (r->body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

struct api_route {
	const char *path;
	const char *method;
	void (*fn)(const struct api_ctx *, const struct api_request *, struct api_response *);
};

static const struct api_route routes[] = {
	{"/v1/register", MHD_HTTP_METHOD_POST, api_register},
	{"/v1/poll", MHD_HTTP_METHOD_GET, api_poll},
	{"/v1/event", MHD_HTTP_METHOD_POST, api_event},
};

static void route(struct http_server *h, struct MHD_Connection *conn, const char *url,
		  const char *method, struct http_request *rq, struct api_response *resp)
{
	const struct api_ctx *ctx = &h->api;
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
		return;
	}
	if (rq->too_large) {
		api_error(ctx, resp, 413, HTTP_TOO_LARGE, "body over 16384 bytes");
		return;
	}
	struct api_request req = {
		.body = rq->body ? rq->body : "",
		.body_len = rq->len,
		.authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
		.hdr_id = header(conn, "X-Glournet-Id"),
		.hdr_time = header(conn, "X-Glournet-Time"),
		.hdr_mac = header(conn, "X-Glournet-Mac"),
		.hdr_ips = header(conn, "X-Glournet-Ips"),
		.if_none_match = header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH),
	};
	r->fn(ctx, &req, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct http_server *h = cls;
	struct http_request *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		h->api.counters->requests++;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (rq->too_large || rq->len + n > API_MAX_BODY) {
			rq->too_large = true;   /* keep reading, answer 413 at the end */
			return MHD_YES;
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
	struct api_response resp = {0};
	route(h, conn, url, method, rq, &resp);
	return send_json(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls; (void)conn; (void)toe;
	struct http_request *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void on_ready(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct http_server *h = w->ctx;
	MHD_run(h->mhd);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	LOG(WARN, "libmicrohttpd: %s", line);
}

/* "1.2.3.4:80", "[::1]:80", "[::]:8080" -> sockaddr. */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || strlen(colon + 1) == 0)
		return -EINVAL;
	size_t hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hl < 2 || text[hl - 1] != ']' || hl - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hl);
		host[hl] = '\0';
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	return 0;
}

int http_start(struct http_server *h, struct event_loop *loop, const char *listen,
	       const struct gn_options *opt)
{
	h->mhd = NULL;
	if (!strcmp(listen, "off"))
		return 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_listen(listen, &ss, &sl) < 0) {
		LOG(ERR, "--http '%s': expected ADDR:PORT, [IPV6]:PORT or off", listen);
		return -EINVAL;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6) {
		struct in6_addr any = IN6ADDR_ANY_INIT;
		bool wildcard = !memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &any, sizeof(any));
		flags |= wildcard ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	}
	uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->http_max_conns,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->http_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_END);
	if (!h->mhd) {
		LOG(ERR, "cannot listen for HTTP on %s (address in use or not available?)", listen);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	h->watch = (struct loop_watch){.fd = info->epoll_fd, .fn = on_ready, .ctx = h};
	int rc = loop_add(loop, &h->watch, EPOLLIN);
	if (rc < 0) {
		MHD_stop_daemon(h->mhd);
		h->mhd = NULL;
		return rc;
	}
	LOG(INFO, "HTTP API listening on %s", listen);
	return 0;
}

int http_tick(struct http_server *h)
{
	if (!h->mhd)
		return -1;
	MHD_run(h->mhd);
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 1000 ? 1000 : (int)ms;
}

void http_stop(struct http_server *h, struct event_loop *loop)
{
	if (!h->mhd)
		return;
	loop_del(loop, &h->watch);
	MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
}
