/*
 * What `register` and `poll` share to speak HTTP(S) to the server: one
 * keep-alive libcurl handle set up the same way, the answer body collected
 * in a buffer, the server's {"error": ...} made printable, failures
 * printed the same way (the first 20, all with -v), and the three headers
 * that prove an endpoint holds its key.
 */
#ifndef GLOURNET_AGENT_HTTP_H
#define GLOURNET_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define AGENT_HTTP_MAX_BODY      (1u << 20)
#define AGENT_HTTP_PRINTED_FAILS 20
#define AGENT_HTTP_AUTH_LINE     64

struct agent_ep;

struct agent_buf {
	char *p; /* NUL-terminated once anything arrived */
	size_t len;
};

/* A handle for url: no signals, TCP_NODELAY, http/https only, the timeout,
 * TLS verification as asked, the body into *body, errors into errbuf
 * (CURL_ERROR_SIZE). NULL on failure. */
CURL *agent_http_handle(const char *url, long timeout, bool insecure, const char *cacert,
			char *errbuf, struct agent_buf *body);

/* server (trailing '/' dropped) + path, malloc'd; NULL when out of memory. */
char *agent_http_url(const char *server, const char *path);

/* The server's {"error": ...}, or the start of whatever it sent, printable. */
void agent_http_error_text(const struct agent_buf *b, char *out, size_t cap);

/* The X-Glournet-Id, -Time and -Mac header lines ("Name: value") that prove
 * ep holds its key: the MAC over `ctx` (HB_AUTH_POLL, HB_AUTH_REGISTER, ...),
 * the id and the time now on the server's clock (local + clock_offset). */
void agent_http_auth_headers(const struct agent_ep *ep, const char ctx[6], int64_t clock_offset,
			     char lines[3][AGENT_HTTP_AUTH_LINE]);
/* The same for version 2 (HB_AUTH_POLL_V2, HB_AUTH_EVENT_V2): the MAC also
 * covers content[0, len) (the X-Glournet-Ips value, the body); NULL:
 * nothing after the time. */
void agent_http_auth_headers_v2(const struct agent_ep *ep, const char ctx[6], int64_t clock_offset,
				const char *content, size_t len,
				char lines[3][AGENT_HTTP_AUTH_LINE]);
/* The same, signed at the server-clock time `t` (poll --print-times). */
void agent_http_auth_headers_at(const struct agent_ep *ep, const char ctx[6], uint32_t t,
				const char *content, size_t len,
				char lines[3][AGENT_HTTP_AUTH_LINE]);

/* Prints "glournet-agent CMD: WHO: MSG" for the first failures (all with
 * verbose), then says once that the rest are not shown; counts *n_failed. */
void agent_http_failure(const char *cmd, const char *who, const char *msg, bool verbose,
			uint64_t *n_failed);

#endif
