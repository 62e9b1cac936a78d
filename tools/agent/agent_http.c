/*
 * The agent's HTTP(S) plumbing, shared by `register` and `poll`
 * (agent_http.h).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "glournet/hb_mac.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_http.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agent_buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > AGENT_HTTP_MAX_BODY)
		return 0;
	p = realloc(b->p, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

CURL *agent_http_handle(const char *url, long timeout, bool insecure, const char *cacert,
			char *errbuf, struct agent_buf *body)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "glournet-agent/1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
	if (insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	return c;
}

char *agent_http_url(const char *server, const char *path)
{
	size_t len = strlen(server);
	char *url;

	while (len > 8 && server[len - 1] == '/')
		len--;
	if (asprintf(&url, "%.*s%s", (int)len, server, path) < 0)
		return NULL;
	return url;
}

void agent_http_error_text(const struct agent_buf *b, char *out, size_t cap)
{
	json_t *root = json_loadb(b->p ? b->p : "", b->len, 0, NULL);
	const char *msg = NULL;
	size_t k = 0;

	if (root && json_is_object(root))
		msg = json_string_value(json_object_get(root, "error"));
	if (!msg)
		msg = b->len ? b->p : "(empty answer)";
	for (; *msg && k + 1 < cap && k < 200; msg++)
		out[k++] = isprint((unsigned char)*msg) ? *msg : '.';
	out[k] = '\0';
	json_decref(root);
}

void agent_http_failure(const char *cmd, const char *who, const char *msg, bool verbose,
			uint64_t *n_failed)
{
	if (verbose || *n_failed < AGENT_HTTP_PRINTED_FAILS)
		fprintf(stderr, AGENT_PROG " %s: %s: %s\n", cmd, who, msg);
	else if (*n_failed == AGENT_HTTP_PRINTED_FAILS)
		fprintf(stderr,
			AGENT_PROG " %s: further failures not shown (--verbose shows all)\n", cmd);
	(*n_failed)++;
}

void agent_http_auth_headers_v2(const struct agent_ep *ep, const char ctx[6], int64_t clock_offset,
				const char *content, size_t len,
				char lines[3][AGENT_HTTP_AUTH_LINE])
{
	agent_http_auth_headers_at(ep, ctx, (uint32_t)((int64_t)time(NULL) + clock_offset), content,
				   len, lines);
}

void agent_http_auth_headers_at(const struct agent_ep *ep, const char ctx[6], uint32_t t,
				const char *content, size_t len,
				char lines[3][AGENT_HTTP_AUTH_LINE])
{
	uint8_t small[HB_AUTH_MSG_LEN + 1024], *msg = small, mac[HB_MAC_LEN];
	char hex[2 * HB_MAC_LEN + 1];
	size_t n = HB_AUTH_MSG_LEN + (content ? len : 0);

	if (n > sizeof(small) && !(msg = malloc(n)))
		abort(); /* a body over 1 KiB and no memory: nothing sensible to send */
	if (content)
		hb_auth_message_v2(msg, ctx, ep->id, t, content, len);
	else
		hb_auth_message(msg, ctx, ep->id, t);
	hb_mac_compute(ep->key, msg, n, mac);
	if (msg != small)
		free(msg);
	agent_hex_encode(mac, sizeof(mac), hex);
	snprintf(lines[0], AGENT_HTTP_AUTH_LINE, GN_API_HDR_ID ": %016" PRIx64, ep->id);
	snprintf(lines[1], AGENT_HTTP_AUTH_LINE, GN_API_HDR_TIME ": %" PRIu32, t);
	snprintf(lines[2], AGENT_HTTP_AUTH_LINE, GN_API_HDR_MAC ": %s", hex);
}

void agent_http_auth_headers(const struct agent_ep *ep, const char ctx[6], int64_t clock_offset,
			     char lines[3][AGENT_HTTP_AUTH_LINE])
{
	agent_http_auth_headers_v2(ep, ctx, clock_offset, NULL, 0, lines);
}
