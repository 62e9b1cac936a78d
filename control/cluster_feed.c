/*
 * The contact feed (cluster_feed.h): a thread that, every FEED_PERIOD_MS,
 * either sends this collector's batch (not deciding) or takes everyone
 * else's (deciding), and keeps, for the decider, when each live collector's
 * last batch arrived.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/cluster.h"
#include "control/cluster_feed.h"
#include "control/ep_names.h"
#include "control/mono_clock.h"
#include "control/pg_worker.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define SQL_SEND                                                                \
	"INSERT INTO contact_batches (collector, sent_at, ids, ages, reasons) " \
	"VALUES ($1, now(), $2::int8[], $3::int4[], $4::int2[])"
/* Fenced: only the lease's holder, at its epoch, takes the batches. */
#define SQL_TAKE                                                                             \
	"DELETE FROM contact_batches WHERE EXISTS (SELECT 1 FROM decider WHERE holder = $1 " \
	"AND epoch = $2) RETURNING collector, ids, ages, reasons"
#define SQL_LIVE                                                                \
	"SELECT name FROM collectors WHERE name <> $1 AND last_seen > now() - " \
	"$2::bigint * interval '1 millisecond'"

#define MAX_PEERS 64
#define MS        1000000ull

struct pairs {
	uint64_t *ids;
	uint32_t *ages;
	uint32_t *reasons; /* enum ep_reason */
	size_t n, cap;
};

struct peer {
	char name[64];
	uint64_t arrived_ns; /* its last batch reached us */
	uint64_t back_ns;    /* it joined or came back then (0: never seen go) */
	bool live;
};

struct cluster_feed {
	char *name;
	uint32_t lease_ms;
	struct cluster *c;
	struct pairs out;     /* the thread's: the batch being sent */
	uint64_t last_sent;   /* the thread's */
	struct pg_worker *w;  /* its lock: all below */
	struct pairs pending; /* to send (non-decider) */
	struct feed_contact *in;
	size_t nin, in_cap; /* read, not yet taken (decider) */
	struct peer peers[MAX_PEERS];
	unsigned npeers;
	bool was_deciding;
	uint64_t losses; /* live collectors that stopped counting (cluster_feed_losses) */
	uint64_t decide_since_ns;
	struct feed_info info;
};

static bool pairs_add(struct pairs *p, const uint64_t *ids, const uint32_t *ages,
		      const uint32_t *reasons, size_t n)
{
	if (!n)
		return true; /* no memcpy from or to NULL */
	if (p->n + n > FEED_MAX_PENDING)
		return false;
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap < p->n + n)
			cap *= 2;
		uint64_t *i = realloc(p->ids, cap * sizeof(*i));
		if (!i)
			return false;
		p->ids = i;
		uint32_t *a = realloc(p->ages, cap * sizeof(*a));
		if (!a)
			return false;
		p->ages = a;
		uint32_t *k = realloc(p->reasons, cap * sizeof(*k));
		if (!k)
			return false;
		p->reasons = k;
		p->cap = cap;
	}
	memcpy(p->ids + p->n, ids, n * sizeof(*ids));
	memcpy(p->ages + p->n, ages, n * sizeof(*ages));
	memcpy(p->reasons + p->n, reasons, n * sizeof(*reasons));
	p->n += n;
	return true;
}

/* '{1,2,3}' of n numbers; NULL when out of memory. */
static char *array_text(const void *v, size_t n, bool wide)
{
	char *t = malloc(n * 21 + 3), *w = t;
	if (!t)
		return NULL;
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (wide)
			w += sprintf(w, "%s%" PRId64, i ? "," : "",
				     (int64_t)((const uint64_t *)v)[i]);
		else
			w += sprintf(w, "%s%" PRIu32, i ? "," : "", ((const uint32_t *)v)[i]);
	}
	*w++ = '}';
	*w = 0;
	return t;
}

/* The next number of an array's text, advancing *p; false at its end. */
static bool array_next(const char **p, int64_t *out)
{
	const char *s = *p;
	while (*s == '{' || *s == ',' || *s == ' ')
		s++;
	if (*s == '}' || !*s)
		return false;
	char *end;
	*out = strtoll(s, &end, 10);
	if (end == s)
		return false;
	*p = end;
	return true;
}

/* Not deciding: sends what is pending (an empty batch too, every
 * FEED_BATCH_MS). False on an error (the batch is kept for the next try). */
static bool send_batch(struct cluster_feed *f, PGconn *conn, struct pairs *out)
{
	pg_worker_lock(f->w);
	bool ok = pairs_add(out, f->pending.ids, f->pending.ages, f->pending.reasons, f->pending.n);
	if (ok)
		f->pending.n = 0;
	pg_worker_unlock(f->w);
	char *ids = array_text(out->ids, out->n, true);
	char *ages = array_text(out->ages, out->n, false);
	char *reasons = array_text(out->reasons, out->n, false);
	bool sent = false;
	if (ids && ages && reasons) {
		const char *v[] = {f->name, ids, ages, reasons};
		PGresult *r = PQexecParams(conn, SQL_SEND, 4, NULL, v, NULL, NULL, 0);
		sent = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!sent)
			LOG(WARN, "contact batch: %s", PQerrorMessage(conn));
		PQclear(r);
	}
	free(ids);
	free(ages);
	free(reasons);
	pg_worker_lock(f->w);
	if (sent) {
		f->info.batches_sent++;
		f->info.contacts_sent += out->n;
		out->n = 0;
	} else {
		f->info.errors++;
	}
	pg_worker_unlock(f->w);
	return sent;
}

static struct peer *peer_of(struct cluster_feed *f, const char *name, uint64_t now)
{
	for (unsigned i = 0; i < f->npeers; i++)
		if (strcmp(f->peers[i].name, name) == 0)
			return &f->peers[i];
	if (f->npeers == MAX_PEERS)
		return NULL;
	struct peer *p = &f->peers[f->npeers++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	/* First seen: as if its batch came now (R9 covers a takeover). */
	p->arrived_ns = now;
	return p;
}

/* Deciding: takes every batch, then marks which collectors are live. */
static bool take_batches(struct cluster_feed *f, PGconn *conn)
{
	char holder[256], ep[24];
	int64_t epoch;
	if (!cluster_fence_current(f->c, holder, sizeof(holder), &epoch))
		return true;
	snprintf(ep, sizeof(ep), "%" PRId64, epoch);
	const char *v[] = {holder, ep};
	PGresult *r = PQexecParams(conn, SQL_TAKE, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "reading contact batches: %s", PQerrorMessage(conn));
		PQclear(r);
		return false;
	}
	uint64_t now = gn_mono_ns();
	pg_worker_lock(f->w);
	for (int row = 0; row < PQntuples(r); row++) {
		struct peer *p = peer_of(f, PQgetvalue(r, row, 0), now);
		if (p)
			p->arrived_ns = now;
		const char *ids = PQgetvalue(r, row, 1), *ages = PQgetvalue(r, row, 2);
		/* NULL (an older sender): every contact a heartbeat. */
		const char *reasons = PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3);
		int64_t id, age, reason;
		while (array_next(&ids, &id) && array_next(&ages, &age)) {
			if (!reasons || !array_next(&reasons, &reason) || reason < 0 ||
			    reason >= EP_REASON_COUNT)
				reason = EP_REASON_HEARTBEAT;
			if (f->nin == f->in_cap) {
				size_t cap = f->in_cap ? f->in_cap * 2 : 4096;
				struct feed_contact *in =
					cap > FEED_MAX_PENDING ? NULL
							       : realloc(f->in, cap * sizeof(*in));
				if (!in) { /* the control thread is far behind: counted */
					f->info.errors++;
					break;
				}
				f->in = in;
				f->in_cap = cap;
			}
			f->in[f->nin++] = (struct feed_contact){.id = (uint64_t)id,
								.age = age < 0 ? 0 : (uint32_t)age,
								.reason = (uint8_t)reason,
								.read_ns = now};
			f->info.contacts_read++;
		}
		f->info.batches_read++;
	}
	pg_worker_unlock(f->w);
	PQclear(r);

	char lease[16];
	snprintf(lease, sizeof(lease), "%u", f->lease_ms);
	const char *lv[] = {f->name, lease};
	r = PQexecParams(conn, SQL_LIVE, 2, NULL, lv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return false;
	}
	pg_worker_lock(f->w);
	bool was[MAX_PEERS];
	for (unsigned i = 0; i < f->npeers; i++) {
		was[i] = f->peers[i].live;
		f->peers[i].live = false;
	}
	unsigned known = f->npeers;
	for (int row = 0; row < PQntuples(r); row++) {
		struct peer *p = peer_of(f, PQgetvalue(r, row, 0), now);
		if (p)
			p->live = true;
	}
	/* A loss is R9's grace for the endpoints last heard through it; one
	 * that joins or comes back is awaited until a batch it made since
	 * (cluster_feed_behind), not for a whole offline_after. */
	for (unsigned i = 0; i < f->npeers; i++) {
		struct peer *p = &f->peers[i];
		bool before = i < known && was[i];
		if (before && !p->live) {
			f->losses++;
			LOG(WARN, "collector %s stopped counting (no sign of it for a lease)",
			    p->name);
		} else if (!before && p->live) {
			p->back_ns = now;
			if (i < known)
				LOG(INFO,
				    "collector %s counts again: offlines held until a batch it made since",
				    p->name);
		}
	}
	pg_worker_unlock(f->w);
	PQclear(r);
	return true;
}

static bool pending_now(struct cluster_feed *f)
{
	pg_worker_lock(f->w);
	bool any = f->pending.n > 0;
	pg_worker_unlock(f->w);
	return any;
}

/* The worker's round, every FEED_PERIOD_MS. */
static uint64_t feed_round(void *ctx, PGconn *conn)
{
	struct cluster_feed *f = ctx;
	bool deciding = cluster_deciding(f->c);
	uint64_t now = gn_mono_ns();
	pg_worker_lock(f->w);
	if (deciding && !f->was_deciding) {
		/* A new decider: everyone counts as caught up from now. */
		f->decide_since_ns = now;
		for (unsigned i = 0; i < f->npeers; i++)
			f->peers[i].arrived_ns = now;
	}
	f->was_deciding = deciding;
	pg_worker_unlock(f->w);
	if (conn) {
		if (deciding)
			take_batches(f, conn);
		else if ((now - f->last_sent >= FEED_BATCH_MS * MS || pending_now(f)) &&
			 send_batch(f, conn, &f->out))
			f->last_sent = now;
	}
	return FEED_PERIOD_MS * MS;
}

void cluster_feed_close(struct cluster_feed *f)
{
	if (!f)
		return;
	pg_worker_close(f->w);
	free(f->out.ids);
	free(f->out.ages);
	free(f->out.reasons);
	free(f->pending.ids);
	free(f->pending.ages);
	free(f->pending.reasons);
	free(f->in);
	free(f->name);
	free(f);
}

struct cluster_feed *cluster_feed_open(const char *target, const char *shown, const char *name,
				       uint32_t lease_ms, struct cluster *c, char *err,
				       size_t errlen)
{
	struct cluster_feed *f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name))) {
		snprintf(err, errlen, "contact feed: out of memory");
		goto fail;
	}
	f->lease_ms = lease_ms;
	f->c = c;
	f->w = pg_worker_open(&(struct pg_worker_conf){.target = target,
						       .shown = shown,
						       .what = "contact feed",
						       .app_name = "glournetd-feed",
						       .thread_name = "gn-feed",
						       .statement_timeout_ms = 10000,
						       .tcp_user_timeout_ms = 5000,
						       .round = feed_round,
						       .ctx = f},
			      err, errlen);
	if (!f->w || pg_worker_start(f->w, err, errlen) < 0)
		goto fail;
	return f;
fail:
	cluster_feed_close(f);
	return NULL;
}

bool cluster_feed_send(struct cluster_feed *f, const uint64_t *ids, const uint32_t *ages,
		       const uint32_t *reasons, size_t n)
{
	pg_worker_lock(f->w);
	bool ok = pairs_add(&f->pending, ids, ages, reasons, n);
	pg_worker_unlock(f->w);
	return ok;
}

size_t cluster_feed_take(struct cluster_feed *f, struct feed_contact *out, size_t max)
{
	pg_worker_lock(f->w);
	size_t n = f->nin < max ? f->nin : max;
	if (n) { /* f->in is NULL until the first batch */
		memcpy(out, f->in, n * sizeof(*out));
		memmove(f->in, f->in + n, (f->nin - n) * sizeof(*out));
	}
	f->nin -= n;
	pg_worker_unlock(f->w);
	return n;
}

/* Under the worker's lock: the oldest live peer's last batch, ns ago (0: none live). */
static uint64_t worst_lag(const struct cluster_feed *f, uint64_t now, unsigned *live)
{
	uint64_t worst = 0;
	*live = 0;
	for (unsigned i = 0; i < f->npeers; i++) {
		if (!f->peers[i].live)
			continue;
		++*live;
		uint64_t lag = now > f->peers[i].arrived_ns ? now - f->peers[i].arrived_ns : 0;
		if (lag > worst)
			worst = lag;
	}
	return worst;
}

/* A live collector that joined or came back is awaited until a batch read
 * a batch period after that: one it made since (the first may have been
 * made before a stall). */
static bool awaited(const struct peer *p)
{
	return p->live && p->back_ns && p->arrived_ns < p->back_ns + FEED_BATCH_MS * MS;
}

bool cluster_feed_behind(struct cluster_feed *f)
{
	unsigned live;
	pg_worker_lock(f->w);
	bool behind = worst_lag(f, gn_mono_ns(), &live) > FEED_BEHIND_MS * MS || f->nin > 0;
	for (unsigned i = 0; i < f->npeers && !behind; i++)
		behind = awaited(&f->peers[i]);
	pg_worker_unlock(f->w);
	return behind;
}

uint64_t cluster_feed_losses(struct cluster_feed *f)
{
	pg_worker_lock(f->w);
	uint64_t m = f->losses;
	pg_worker_unlock(f->w);
	return m;
}

void cluster_feed_get_info(struct cluster_feed *f, struct feed_info *out)
{
	pg_worker_lock(f->w);
	*out = f->info;
	uint64_t lag = worst_lag(f, gn_mono_ns(), &out->live);
	out->lag_s = out->live ? (double)lag / 1e9 : -1;
	pg_worker_unlock(f->w);
}
