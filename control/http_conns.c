/*
 * Per-source connection limit and request deadline of the HTTP API
 * (http_conns.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOG_TAG "http"
#include "control/http_conns.h"
#include "control/text.h"
#include "control/mono_clock.h"
#include "glournet/log_ratelimit.h"

struct http_conn {
	struct http_conns *owner;
	struct MHD_Connection *mhd;
	int source; /* handle in owner->open, 0: none */
	uint64_t deadline_ms;
	bool on_clock; /* in the owner's list */
	bool expired;  /* shut down for its deadline */
	struct http_conn *prev, *next;
};

static uint64_t now_ms(void)
{
	return gn_mono_ns() / 1000000;
}

struct source_prefix http_conns_prefix(const struct gn_options *opt)
{
	return (struct source_prefix){(uint8_t)opt->source_v4_prefix,
				      (uint8_t)opt->source_v6_prefix};
}

int http_conns_init(struct http_conns *c, const struct gn_options *opt, uint32_t capacity,
		    struct http_counters *counters)
{
	memset(c, 0, sizeof(*c));
	int rc = sc_init(&c->open, capacity);
	if (rc < 0)
		return rc;
	c->prefix = http_conns_prefix(opt);
	c->per_source = opt->http_max_conns_per_source;
	c->timeout_ms = opt->http_request_timeout * 1000u;
	c->counters = counters;
	return 0;
}

void http_conns_destroy(struct http_conns *c)
{
	sc_destroy(&c->open);
	memset(c, 0, sizeof(*c));
}

static void clock_off(struct http_conn *k)
{
	struct http_conns *c = k->owner;
	if (!k->on_clock)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		c->tail = k->prev;
	k->prev = k->next = NULL;
	k->on_clock = false;
}

static void clock_on(struct http_conn *k, uint64_t now)
{
	struct http_conns *c = k->owner;
	if (k->expired)
		return;
	clock_off(k);
	k->deadline_ms = now + c->timeout_ms;
	k->prev = c->tail;
	if (c->tail)
		c->tail->next = k;
	else
		c->head = k;
	c->tail = k;
	k->on_clock = true;
}

enum MHD_Result http_conns_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)len;
	struct http_conns *c = cls;
	struct source_key key = source_key_of(addr, c->prefix);
	uint32_t held = sc_get(&c->open, &key);
	bool table_full = !held && c->open.sources == c->open.capacity;
	if (table_full || (c->per_source && held >= c->per_source)) {
		c->counters->by_result[HTTP_CONN_REFUSED]++;
		char a[INET6_ADDRSTRLEN], s[SOURCE_KEY_TEXT];
		LOG_RATELIMITED(WARN,
				"connection from %s refused: %s holds %u "
				"(--http-max-conns-per-source %u)",
				text_sockaddr(addr, a, sizeof(a)),
				source_key_text(&key, c->prefix, s), held, c->per_source);
		return MHD_NO;
	}
	return MHD_YES;
}

/* Our state of `conn`, or NULL (not tracked: its start could not be). */
static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void shut(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	/* Not close(): the socket stays libmicrohttpd's; it sees the end on
	 * its next run and closes the connection its own way. */
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

static void on_started(struct http_conns *c, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct source_key key = source_key_of(ci ? ci->client_addr : NULL, c->prefix);
	struct http_conn *k = calloc(1, sizeof(*k));
	int h = k ? sc_acquire(&c->open, &key) : -ENOMEM;
	if (h < 0) {
		/* Cannot be counted, so cannot be let in. */
		free(k);
		*socket_context = NULL;
		shut(conn);
		return;
	}
	k->owner = c;
	k->mhd = conn;
	k->source = h;
	*socket_context = k;
	c->n++;
	clock_on(k, now_ms());
}

void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	struct http_conns *c = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		on_started(c, conn, socket_context);
		return;
	}
	struct http_conn *k = *socket_context;
	if (!k)
		return;
	clock_off(k);
	sc_release(&c->open, k->source);
	c->n--;
	free(k);
	*socket_context = NULL;
}

void http_conns_request_in(struct http_conns *c, struct MHD_Connection *conn)
{
	(void)c;
	struct http_conn *k = conn_of(conn);
	if (k)
		clock_off(k);
}

void http_conns_request_done(struct http_conns *c, struct MHD_Connection *conn)
{
	(void)c;
	struct http_conn *k = conn_of(conn);
	if (k)
		clock_on(k, now_ms());
}

unsigned http_conns_expire(struct http_conns *c, uint64_t now)
{
	unsigned n = 0;
	while (c->head && c->head->deadline_ms <= now) {
		struct http_conn *k = c->head;
		clock_off(k);
		k->expired = true;
		c->counters->by_result[HTTP_CONN_TIMED_OUT]++;
		n++;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(k->mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		char a[INET6_ADDRSTRLEN];
		LOG_RATELIMITED(WARN,
				"connection from %s closed: no whole request within %u ms "
				"(--http-request-timeout)",
				text_sockaddr(ci ? ci->client_addr : NULL, a, sizeof(a)),
				c->timeout_ms);
		shut(k->mhd);
	}
	return n;
}
