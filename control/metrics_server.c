/*
 * libmicrohttpd glue for the metrics endpoint (metrics_server.h). A scrape
 * is a response read through a callback: each time the socket can take
 * more, the next chunk of families is written (metrics_scrape_next), so a
 * scrape holds one chunk of memory and costs the loop one chunk of
 * formatting per turn, however many ranges and workers there are. As in
 * http_server.c, answers are queued on the handler's second call, which
 * keeps the connection alive for the next scrape.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include <sys/epoll.h>

#define LOG_TAG "metrics"
#include "control/daemon.h"
#include "control/metrics.h"
#include "control/metrics_health.h"
#include "control/metrics_server.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

int metrics_link(const struct metrics_server *m)
{
	return m->link ? m->link(m->d->port_id) : -1;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text,
				 const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD asks for up to `max` bytes at offset `pos` (which only grows). */
static ssize_t scrape_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct metrics_scrape *s = cls;
	while (s->sent == s->text.len) {
		if (!metrics_scrape_next(s))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->text.oom) {
			LOG(WARN, "a scrape ran out of memory: cut short");
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	size_t n = s->text.len - s->sent < max ? s->text.len - s->sent : max;
	memcpy(buf, s->text.buf + s->sent, n);
	s->sent += n;
	return (ssize_t)n;
}

static void scrape_free(void *cls)
{
	metrics_scrape_end(cls);
	free(cls);
}

static enum MHD_Result send_metrics(struct metrics_server *m, struct MHD_Connection *conn)
{
	struct metrics_scrape *s = malloc(sizeof(*s));
	struct metrics_env env = {.link = metrics_link(m), .scrapes = m->scrapes + 1};
	if (!s || metrics_scrape_begin(s, m->d, &env) < 0) {
		free(s);
		return send_text(conn, 503, "out of memory\n", NULL);
	}
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, METRICS_CHUNK,
								   scrape_read, s, scrape_free);
	if (!r) {
		scrape_free(s);
		return MHD_NO;
	}
	m->scrapes++;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	static char seen;
	struct metrics_server *m = cls;
	if (!*con_cls) { /* headers only: answer on the next call (keep-alive) */
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_size) { /* a body means nothing here: read and dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET\n", "GET, HEAD");
	if (!strcmp(url, "/metrics"))
		return send_metrics(m, conn);
	if (!strcmp(url, "/healthz"))
		return send_text(conn, MHD_HTTP_OK, "ok\n", NULL);
	if (!strcmp(url, "/readyz")) {
		char text[1024];
		bool ready = metrics_readiness(m->d, metrics_link(m), gn_coarse_steady(), text,
					       sizeof(text));
		return send_text(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text,
				 NULL);
	}
	return send_text(conn, MHD_HTTP_NOT_FOUND, "not found: /metrics, /healthz, /readyz\n",
			 NULL);
}

static void on_ready(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct metrics_server *m = w->ctx;
	MHD_run(m->mhd);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics_server *m = cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	size_t have = strlen(m->start_err), room = sizeof(m->start_err) - have;
	if (m->starting && room > 3)
		snprintf(m->start_err + have, room, "%s%.*s", have ? "; " : "", (int)(room - 3),
			 line);
	LOG(WARN, "libmicrohttpd: %s", line);
}

int metrics_start(struct metrics_server *m, struct event_loop *loop, struct gn_daemon *d,
		  const char *listen, metrics_link_fn *link)
{
	*m = (struct metrics_server){.d = d, .link = link};
	if (!listen || !strcmp(listen, "off"))
		return 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (options_parse_listen(listen, &ss, &sl) < 0) {
		LOG(ERR, "--metrics '%s': expected ADDR:PORT, [IPV6]:PORT or off", listen);
		return -EINVAL;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	bool dual = false;
	if (ss.ss_family == AF_INET6) {
		struct in6_addr any = IN6ADDR_ANY_INIT;
		dual = !memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &any, sizeof(any));
		flags |= dual ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	}
	uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	m->starting = true;
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)METRICS_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)d->opt.http_timeout, MHD_OPTION_END);
	m->starting = false;
	if (!m->mhd) {
		LOG(ERR, "cannot listen for metrics on %s: %s", listen,
		    m->start_err[0] ? m->start_err : "address in use or not available?");
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->watch = (struct loop_watch){.fd = info->epoll_fd, .fn = on_ready, .ctx = m};
	int rc = loop_add(loop, &m->watch, EPOLLIN);
	if (rc < 0) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return rc;
	}
	LOG(INFO, "metrics on http://%s/metrics (and /healthz, /readyz)%s", listen,
	    dual ? ", IPv4 and IPv6" : "");
	return 0;
}

int metrics_tick(struct metrics_server *m)
{
	if (!m->mhd)
		return -1;
	MHD_run(m->mhd);
	MHD_UNSIGNED_LONG_LONG ms;
	return MHD_get_timeout(m->mhd, &ms) == MHD_YES ? (ms > 1000 ? 1000 : (int)ms) : 1000;
}

void metrics_stop(struct metrics_server *m, struct event_loop *loop)
{
	if (!m->mhd)
		return;
	loop_del(loop, &m->watch);
	MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
}
