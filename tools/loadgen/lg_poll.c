/*
 * Polls after notifies (lg_poll.h). No If-None-Match: an ETag per endpoint
 * would cost 70 bytes each at ten million, and a 200 is what a test wants
 * to see anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "glournet/hb_mac.h"
#include "glournet/http_api.h"
#include "lg_notify.h"
#include "lg_poll.h"

#define POLL_BODY 4096

struct lg_poll_req { /* one request in flight */
	CURL *h;
	uint32_t ep;
	bool busy;
	struct curl_slist *hdrs;
	char body[POLL_BODY + 1];
	size_t len;
};

struct lg_poll_due {
	uint64_t due;
	uint32_t ep;
};

static uint64_t rng_next(struct lg_polls *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 0x2545F4914F6CDD1Dull;
}

static void pq_push(struct lg_polls *p, uint64_t due, uint32_t ep)
{
	size_t k = p->npq++;

	p->pq[k] = (struct lg_poll_due){due, ep};
	for (; k && p->pq[k].due < p->pq[(k - 1) / 2].due; k = (k - 1) / 2) {
		struct lg_poll_due t = p->pq[k];
		p->pq[k] = p->pq[(k - 1) / 2];
		p->pq[(k - 1) / 2] = t;
	}
}

static struct lg_poll_due pq_pop(struct lg_polls *p)
{
	struct lg_poll_due top = p->pq[0];
	size_t k = 0;

	p->pq[0] = p->pq[--p->npq];
	for (;;) {
		size_t l = 2 * k + 1, m = k;
		struct lg_poll_due t;

		if (l < p->npq && p->pq[l].due < p->pq[m].due)
			m = l;
		if (l + 1 < p->npq && p->pq[l + 1].due < p->pq[m].due)
			m = l + 1;
		if (m == k)
			return top;
		t = p->pq[k];
		p->pq[k] = p->pq[m];
		p->pq[m] = t;
		k = m;
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lg_poll_req *r = arg;
	size_t n = size * nmemb, room = POLL_BODY - r->len;

	memcpy(r->body + r->len, data, n < room ? n : room); /* the head is enough */
	r->len += n < room ? n : room;
	r->body[r->len] = '\0';
	return n;
}

static void start(struct lg_polls *p, struct lg_poll_req *r, uint32_t ep)
{
	const struct lg_ep *e = &p->set->eps[ep];
	uint8_t msg[HB_AUTH_MSG_LEN], mac[HB_MAC_LEN];
	char line[3][64], hex[2 * HB_MAC_LEN + 1];
	uint32_t t = (uint32_t)((int64_t)time(NULL) + p->o->time_offset);

	/* Version 2 (docs/protocol.md §3): no X-Glournet-Ips, so nothing after
	 * the time. */
	hb_auth_message_v2(msg, HB_AUTH_POLL_V2, e->id, t, NULL, 0);
	hb_mac_compute(e->key, msg, sizeof(msg), mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(line[0], sizeof(line[0]), GN_API_HDR_ID ": %016" PRIx64, e->id);
	snprintf(line[1], sizeof(line[1]), GN_API_HDR_TIME ": %" PRIu32, t);
	snprintf(line[2], sizeof(line[2]), GN_API_HDR_MAC ": %s", hex);
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	for (int k = 0; k < 3; k++)
		r->hdrs = curl_slist_append(r->hdrs, line[k]);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
	r->ep = ep;
	r->len = 0;
	r->busy = true;
	curl_multi_add_handle(p->multi, r->h);
	p->started++;
}

static void done(struct lg_polls *p, struct lg_poll_req *r, CURLcode cr)
{
	long status = 0;
	json_t *root;
	json_int_t st;

	curl_multi_remove_handle(p->multi, r->h);
	r->busy = false;
	p->pending[r->ep] = 0;
	if (cr != CURLE_OK) {
		p->failed++;
		return;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		p->other_status++;
		return;
	}
	p->ok_200++;
	root = json_loadb(r->body, r->len, 0, NULL);
	st = json_integer_value(json_object_get(root, "server_time"));
	if (st > 0 && st <= (json_int_t)UINT32_MAX)
		p->answered_at[r->ep] = (uint32_t)st;
	json_decref(root);
}

void lg_polls_notified(struct lg_polls *p, uint32_t ep, uint16_t flags, uint32_t time,
		       uint64_t now_ns)
{
	if (!(flags & (HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS)))
		return;
	if (p->pending[ep]) {
		p->coalesced++;
		return;
	}
	/* Strictly newer: a change in the very second of the answer may have
	 * come after it. */
	if (p->answered_at[ep] && time < p->answered_at[ep]) {
		p->fresh++;
		return;
	}
	p->pending[ep] = 1;
	pq_push(p, now_ns + lg_jitter_ns(rng_next(p), (uint64_t)(p->o->poll_spread_s * 1e9)), ep);
}

void lg_polls_run(struct lg_polls *p, uint64_t now_ns)
{
	int running, left;
	CURLMsg *m;

	for (unsigned i = 0; i < p->nreq && p->npq && p->pq[0].due <= now_ns; i++)
		if (!p->req[i].busy)
			start(p, &p->req[i], pq_pop(p).ep);
	curl_multi_perform(p->multi, &running);
	while ((m = curl_multi_info_read(p->multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			struct lg_poll_req *r;

			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			done(p, r, m->data.result);
		}
}

uint64_t lg_polls_next_due(const struct lg_polls *p)
{
	return p->npq ? p->pq[0].due : UINT64_MAX;
}

int lg_polls_open(struct lg_polls *p, const struct lg_opts *o, const struct lg_endpoints *set)
{
	size_t ulen = strlen(o->poll_url), n = set->n ? set->n : 1;

	memset(p, 0, sizeof(*p));
	p->o = o;
	p->set = set;
	p->url = malloc(ulen + sizeof(GN_API_PATH_POLL_V2));
	p->pq = malloc(n * sizeof(*p->pq));
	p->pending = calloc(n, 1);
	p->answered_at = calloc(n, sizeof(*p->answered_at));
	p->nreq = o->poll_concurrency;
	p->req = calloc(p->nreq, sizeof(*p->req));
	if (!p->url || !p->pq || !p->pending || !p->answered_at || !p->req)
		return -ENOMEM;
	memcpy(p->url, o->poll_url, ulen + 1);
	while (ulen && p->url[ulen - 1] == '/')
		p->url[--ulen] = '\0';
	strcat(p->url, GN_API_PATH_POLL_V2);
	randombytes_buf(&p->rng, sizeof(p->rng));
	p->rng |= 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	p->curl_up = true;
	if (!(p->multi = curl_multi_init()))
		return -ENOMEM;
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)p->nreq);
	for (unsigned i = 0; i < p->nreq; i++) {
		CURL *h = curl_easy_init();

		if (!(p->req[i].h = h))
			return -ENOMEM;
		curl_easy_setopt(h, CURLOPT_URL, p->url);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_USERAGENT, LG_PROG "/1");
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &p->req[i]);
		curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)&p->req[i]);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
		if (o->insecure) {
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (o->cacert)
			curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	}
	return 0;
}

void lg_polls_close(struct lg_polls *p)
{
	if (p->req)
		for (unsigned i = 0; i < p->nreq; i++)
			if (p->req[i].h) {
				if (p->req[i].busy)
					curl_multi_remove_handle(p->multi, p->req[i].h);
				curl_easy_cleanup(p->req[i].h);
				curl_slist_free_all(p->req[i].hdrs);
			}
	if (p->multi)
		curl_multi_cleanup(p->multi);
	if (p->curl_up)
		curl_global_cleanup();
	free(p->req);
	free(p->url);
	free(p->pq);
	free(p->pending);
	free(p->answered_at);
	memset(p, 0, sizeof(*p));
}
