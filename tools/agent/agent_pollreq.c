/*
 * One GET /v2/poll for one endpoint (agent_pollreq.h), over the poller's
 * keep-alive libcurl handle: version 2 (issue 13), whose MAC covers the
 * X-Glournet-Ips it sends, so a captured poll cannot move its addresses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "glournet/heartbeat.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_http.h"
#include "agent_pollreq.h"

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agent_poller *pl = arg;
	size_t n = size * nmemb, k = 5;

	if (n > 5 && !strncasecmp(data, "ETag:", 5)) {
		while (k < n && (data[k] == ' ' || data[k] == '\t'))
			k++;
		while (n > k && isspace((unsigned char)data[n - 1]))
			n--;
		if (n - k < sizeof(pl->etag))
			snprintf(pl->etag, sizeof(pl->etag), "%.*s", (int)(n - k), data + k);
	}
	return size * nmemb;
}

int agent_poller_open(struct agent_poller *pl, const char *server, long timeout, bool insecure,
		      const char *cacert)
{
	char *url = agent_http_url(server, GN_API_PATH_POLL_V2);

	pl->c = url ? agent_http_handle(url, timeout, insecure, cacert, pl->errbuf, &pl->body)
		    : NULL;
	free(url); /* libcurl keeps its own copy */
	if (!pl->c) {
		fprintf(stderr, AGENT_PROG " %s: cannot initialise libcurl\n", pl->cmd);
		return -1;
	}
	curl_easy_setopt(pl->c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(pl->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(pl->c, CURLOPT_HEADERDATA, pl);
	return 0;
}

void agent_poller_close(struct agent_poller *pl)
{
	if (pl->c)
		curl_easy_cleanup(pl->c);
	free(pl->body.p);
	pl->c = NULL;
	pl->body = (struct agent_buf){0};
}

#define LOG_CHANGE(what, old, new)                                                              \
	do {                                                                                    \
		if (pl->verbose && v->answered && (old) != (new))                               \
			fprintf(stderr, AGENT_PROG " %s: %s: " what " %lld -> %lld\n", pl->cmd, \
				v->ep->guid, (long long)(old), (long long)(new));               \
	} while (0)

/* Applies a 200 answer to v; 0, or -1 with *why set. */
static int apply_answer(struct agent_poller *pl, struct agent_poll_view *v, const char **why)
{
	json_t *root = json_loadb(pl->body.p ? pl->body.p : "", pl->body.len, 0, NULL);
	json_int_t st, hbi, pi, rev = -1;
	int u, hbe, pe, rc = -1;

	if (!root)
		*why = "answer is not JSON";
	else if (json_unpack(root, "{s:I, s?I, s:b, s:{s:b, s:I}, s:{s:b, s:I}}", "server_time",
			     &st, "settings_rev", &rev, "unreachable", &u, "heartbeat", "enabled",
			     &hbe, "interval", &hbi, "poll", "enabled", &pe, "interval", &pi) < 0)
		*why = "answer lacks server_time, unreachable, heartbeat or poll";
	else if (hbi < 1 || pi < 1 || hbi > INT32_MAX || pi > INT32_MAX || st <= 0 ||
		 st > (json_int_t)UINT32_MAX)
		*why = "answer's intervals or server_time are out of range";
	else {
		LOG_CHANGE("unreachable", v->unreachable, u);
		LOG_CHANGE("heartbeat.enabled", v->hb_enabled, hbe);
		LOG_CHANGE("heartbeat.interval", v->hb_interval, hbi);
		LOG_CHANGE("poll.enabled", v->poll_enabled, pe);
		LOG_CHANGE("poll.interval", v->poll_interval, pi);
		LOG_CHANGE("settings_rev", v->rev, rev);
		if (pl->verbose && !v->answered)
			fprintf(stderr,
				AGENT_PROG " %s: %s: %s, heartbeat %s every %lld s, poll "
					   "%s every %lld s, settings_rev %lld\n",
				pl->cmd, v->ep->guid, u ? "unreachable" : "reachable",
				hbe ? "on" : "off", (long long)hbi, pe ? "on" : "off",
				(long long)pi, (long long)rev);
		v->unreachable = u;
		v->hb_enabled = hbe;
		v->poll_enabled = pe;
		v->hb_interval = hbi;
		v->poll_interval = pi;
		v->rev = rev;
		v->clock_offset = (int64_t)st - (int64_t)time(NULL);
		v->answered_at = (uint32_t)st;
		v->answered = true;
		rc = 0;
	}
	json_decref(root);
	return rc;
}

long agent_poll_once(struct agent_poller *pl, struct agent_poll_view *v, long *retry_after_s)
{
	struct curl_slist *h = NULL;
	char lines[3][AGENT_HTTP_AUTH_LINE], line[1100], emsg[256] = "", etext[208];
	long status = 0;
	curl_off_t retry_after = 0;
	const char *why = NULL;
	CURLcode cr;

	*retry_after_s = 0;
	const char *ips = pl->ips && !v->ips_sent ? pl->ips : NULL;
	agent_http_auth_headers_v2(v->ep, HB_AUTH_POLL_V2, v->clock_offset, ips,
				   ips ? strlen(ips) : 0, lines);
	for (int k = 0; k < 3; k++)
		h = curl_slist_append(h, lines[k]);
	h = curl_slist_append(h, "Accept: application/json");
	if (v->etag[0]) {
		snprintf(line, sizeof(line), "If-None-Match: %s", v->etag);
		h = curl_slist_append(h, line);
	}
	if (ips) {
		snprintf(line, sizeof(line), GN_API_HDR_IPS ": %s", ips);
		h = curl_slist_append(h, line);
	}
	pl->body.len = 0;
	pl->etag[0] = pl->errbuf[0] = '\0';
	curl_easy_setopt(pl->c, CURLOPT_HTTPHEADER, h);
	cr = curl_easy_perform(pl->c);
	curl_slist_free_all(h);
	if (cr == CURLE_OK)
		curl_easy_getinfo(pl->c, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK)
		snprintf(emsg, sizeof(emsg), "%s",
			 pl->errbuf[0] ? pl->errbuf : curl_easy_strerror(cr));
	else if (status == 304 && !v->answered)
		snprintf(emsg, sizeof(emsg), "HTTP 304 before any 200");
	else if (status != 200 && status != 304) {
		agent_http_error_text(&pl->body, etext, sizeof(etext));
		snprintf(emsg, sizeof(emsg), "HTTP %ld: %s", status, etext);
	} else if (status == 200 && apply_answer(pl, v, &why) < 0)
		snprintf(emsg, sizeof(emsg), "HTTP 200: %s", why);
	if (emsg[0]) {
		agent_http_failure(pl->cmd, v->ep->guid, emsg, pl->verbose, &pl->nerr);
		curl_easy_getinfo(pl->c, CURLINFO_RETRY_AFTER, &retry_after);
		*retry_after_s = retry_after > 0 ? (long)retry_after : 0;
		return -1;
	}
	v->ips_sent = true;
	if (status == 200) {
		pl->n200++;
		memcpy(v->etag, pl->etag, sizeof(v->etag)); /* none: no If-None-Match next time */
	} else {
		pl->n304++;
	}
	return status;
}
