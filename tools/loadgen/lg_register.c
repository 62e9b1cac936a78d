/*
 * Bulk registration (lg_register.h). C easy handles share one multi handle
 * and its connection cache: each handle, once done, takes the next endpoint
 * and reuses its kept-alive connection. 429 and 503 are retried after
 * Retry-After (at most 30 s), --retries times.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "glournet/http_api.h"
#include "lg_register.h"
#include "lg_run.h"

#define LG_REG_MAX_BODY 16384

enum lg_req_state { REQ_IDLE, REQ_BUSY, REQ_WAIT };

struct lg_req {
	CURL *h;
	enum lg_req_state state;
	uint64_t n; /* endpoint number */
	unsigned attempts;
	double retry_at;
	char req[512];
	char resp[LG_REG_MAX_BODY + 1];
	size_t resp_len;
	char errbuf[CURL_ERROR_SIZE];
};

struct lg_reg {
	const struct lg_opts *o;
	struct lg_ep *eps; /* by n */
	uint8_t *ok;
	uint64_t next, done, failed, n_new, n_known, shown_failures;
	long max_skew;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lg_req *r = arg;
	size_t n = size * nmemb;

	if (r->resp_len + n > LG_REG_MAX_BODY)
		return 0;
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

static void guid_of(const struct lg_opts *o, uint64_t n, char *out, size_t len)
{
	snprintf(out, len, "lg-%s-%" PRIu64, o->guid_prefix, n);
}

static void req_start(CURLM *m, struct lg_req *r, const struct lg_opts *o)
{
	char guid[LG_GUID_MAX + 1], ip[INET_ADDRSTRLEN];
	struct in_addr a;

	guid_of(o, r->n, guid, sizeof(guid));
	a.s_addr = htonl(o->ips_base + (uint32_t)r->n);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	/* guid and prefix were checked: no character needs JSON escaping. */
	snprintf(r->req, sizeof(r->req),
		 "{\"guid\":\"%s\",\"hostname\":\"%s\",\"ips\":[\"%s\"],"
		 "\"reason\":\"install\",\"notify_port\":%u}",
		 guid, guid, ip, (unsigned)lg_notify_port_of(o, r->n));
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->req);
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->req));
	r->resp_len = 0;
	r->resp[0] = '\0';
	r->errbuf[0] = '\0';
	r->state = REQ_BUSY;
	r->attempts++;
	curl_multi_add_handle(m, r->h);
}

static void fail_one(struct lg_reg *g, struct lg_req *r, const char *why)
{
	char guid[LG_GUID_MAX + 1];

	g->failed++;
	g->done++;
	if (g->shown_failures++ < 5) {
		guid_of(g->o, r->n, guid, sizeof(guid));
		fprintf(stderr, LG_PROG ": register %s: %s\n", guid, why);
	}
	r->state = REQ_IDLE;
}

static void req_done(struct lg_reg *g, struct lg_req *r, CURLcode cr)
{
	long status = 0;
	char why[256];
	json_error_t jerr;
	json_t *ans;
	curl_off_t retry_after = 0;

	if (cr != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(cr));
		fail_one(g, r, why);
		return;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if ((status == 429 || status == 503) && r->attempts <= g->o->reg_retries) {
		curl_easy_getinfo(r->h, CURLINFO_RETRY_AFTER, &retry_after);
		r->retry_at = now_s() + (retry_after < 1 ? 1 : retry_after > 30 ? 30 : retry_after);
		r->state = REQ_WAIT;
		return;
	}
	if (status != 200 && status != 201) {
		snprintf(why, sizeof(why), "HTTP %ld: %.200s", status, r->resp);
		fail_one(g, r, why);
		return;
	}
	ans = json_loadb(r->resp, r->resp_len, 0, &jerr);
	if (!ans || lg_ep_from_json(ans, &g->eps[r->n], why, sizeof(why)) < 0) {
		if (!ans)
			snprintf(why, sizeof(why), "answer is not JSON: %s", jerr.text);
		json_decref(ans);
		fail_one(g, r, why);
		return;
	}
	{
		json_t *st = json_object_get(ans, "server_time");
		long skew = json_is_integer(st) ? labs((long)(json_integer_value(st) - time(NULL) -
							      g->o->time_offset))
						: 0;
		if (skew > g->max_skew)
			g->max_skew = skew;
	}
	json_decref(ans);
	g->eps[r->n].notify_port = lg_notify_port_of(g->o, r->n);
	g->ok[r->n] = 1;
	if (status == 201)
		g->n_new++;
	else
		g->n_known++;
	g->done++;
	r->state = REQ_IDLE;
}

static CURL *req_handle(const struct lg_opts *o, struct lg_req *r, const char *url,
			struct curl_slist *hdrs)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, LG_PROG "/1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (o->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	return h;
}

int lg_register_all(const struct lg_opts *o, struct lg_endpoints *set)
{
	struct lg_reg g = {.o = o};
	size_t nreq = o->concurrency < o->count ? o->concurrency : o->count;
	struct lg_req *reqs = calloc(nreq, sizeof(*reqs));
	struct curl_slist *hdrs = NULL;
	char *url = NULL, line[4200];
	CURLM *m = NULL;
	double t0 = now_s(), next_progress = t0 + 1;
	int rc = 0;
	size_t ulen = strlen(o->register_url);

	g.eps = calloc(o->count, sizeof(*g.eps));
	g.ok = calloc(o->count, 1);
	url = malloc(ulen + sizeof(GN_API_PATH_REGISTER));
	if (!reqs || !g.eps || !g.ok || !url) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(url, o->register_url, ulen + 1);
	while (ulen && url[ulen - 1] == '/')
		url[--ulen] = '\0';
	strcat(url, GN_API_PATH_REGISTER);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(m = curl_multi_init())) {
		fprintf(stderr, LG_PROG ": cannot initialise libcurl\n");
		rc = -EIO;
		goto out;
	}
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nreq);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)nreq);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	snprintf(line, sizeof(line), "Authorization: Bearer %s", o->token);
	hdrs = curl_slist_append(hdrs, line);
	for (size_t i = 0; i < nreq; i++)
		if (!(reqs[i].h = req_handle(o, &reqs[i], url, hdrs))) {
			rc = -ENOMEM;
			goto out;
		}

	while (g.done < o->count && !lg_stop) {
		int running = 0;
		CURLMsg *msg;
		int left;
		double now = now_s();

		for (size_t i = 0; i < nreq; i++) {
			struct lg_req *r = &reqs[i];

			if (r->state == REQ_IDLE && g.next < o->count) {
				r->n = g.next++;
				r->attempts = 0;
				req_start(m, r, o);
			} else if (r->state == REQ_WAIT && now >= r->retry_at) {
				req_start(m, r, o);
			}
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < nreq; i++)
				if (reqs[i].h == msg->easy_handle) {
					CURLcode cr = msg->data.result;
					curl_multi_remove_handle(m, reqs[i].h);
					req_done(&g, &reqs[i], cr);
					break;
				}
		}
		curl_multi_poll(m, NULL, 0, 50, NULL);
		if (!o->quiet && now >= next_progress) {
			next_progress += 1;
			fprintf(stderr,
				LG_PROG ": registered %" PRIu64 "/%" PRIu64 ", failed %" PRIu64
					", %.0f/s\n",
				g.done - g.failed, o->count, g.failed,
				(double)(g.done - g.failed) / (now - t0));
		}
	}
	for (uint64_t n = 0; n < o->count && rc == 0; n++) {
		char guid[LG_GUID_MAX + 1];

		if (!g.ok[n])
			continue;
		guid_of(o, n, guid, sizeof(guid));
		rc = lg_endpoints_add(set, guid, &g.eps[n]);
	}
	{
		double secs = now_s() - t0;
		uint64_t okn = g.n_new + g.n_known;

		fprintf(o->json ? stderr : stdout,
			"registered %" PRIu64 " (new %" PRIu64 ", known %" PRIu64
			"), failed %" PRIu64 " in %.2f s: %.0f registrations/s "
			"over %zu connections\n",
			okn, g.n_new, g.n_known, g.failed, secs, secs > 0 ? okn / secs : 0.0, nreq);
	}
	if (g.max_skew > 2)
		fprintf(stderr,
			LG_PROG ": note: the server's clock differs from ours by up to %ld s: "
				"consider --time-offset\n",
			g.max_skew);
	if (!rc && (g.failed || g.done < o->count))
		rc = -EIO;
out:
	if (reqs)
		for (size_t i = 0; i < nreq; i++)
			if (reqs[i].h) {
				if (reqs[i].state == REQ_BUSY)
					curl_multi_remove_handle(m, reqs[i].h);
				curl_easy_cleanup(reqs[i].h);
			}
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	free(reqs);
	free(g.eps);
	free(g.ok);
	free(url);
	return rc;
}
