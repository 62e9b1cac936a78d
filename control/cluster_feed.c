/*
 * The contact feed (cluster_feed.h): a thread that, every FEED_PERIOD_MS,
 * either sends this collector's batch (not deciding) or takes everyone
 * else's (deciding), and keeps, for the decider, when each live collector's
 * last batch arrived.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "control/cluster.h"
#include "control/cluster_feed.h"
#include "control/ep_names.h"
#include "control/mono_clock.h"
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
	char *target, *shown, *name;
	uint32_t lease_ms;
	struct cluster *c;
	PGconn *conn;
	pthread_t thread;
	pthread_mutex_t mu; /* all below */
	pthread_cond_t wake;
	bool stop;
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

static PGconn *connect_db(const struct cluster_feed *f)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout", "options",
					   "application_name", "dbname",           NULL};
	const char *vals[] = {"2",       "5000", "-c statement_timeout=10000", "glournetd-feed",
			      f->target, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

/* Not deciding: sends what is pending (an empty batch too, every
 * FEED_BATCH_MS). False on an error (the batch is kept for the next try). */
static bool send_batch(struct cluster_feed *f, struct pairs *out)
{
	pthread_mutex_lock(&f->mu);
	bool ok = pairs_add(out, f->pending.ids, f->pending.ages, f->pending.reasons, f->pending.n);
	if (ok)
		f->pending.n = 0;
	pthread_mutex_unlock(&f->mu);
	char *ids = array_text(out->ids, out->n, true);
	char *ages = array_text(out->ages, out->n, false);
	char *reasons = array_text(out->reasons, out->n, false);
	bool sent = false;
	if (ids && ages && reasons) {
		const char *v[] = {f->name, ids, ages, reasons};
		PGresult *r = PQexecParams(f->conn, SQL_SEND, 4, NULL, v, NULL, NULL, 0);
		sent = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!sent)
			LOG(WARN, "contact batch: %s", PQerrorMessage(f->conn));
		PQclear(r);
	}
	free(ids);
	free(ages);
	free(reasons);
	pthread_mutex_lock(&f->mu);
	if (sent) {
		f->info.batches_sent++;
		f->info.contacts_sent += out->n;
		out->n = 0;
	} else {
		f->info.errors++;
	}
	pthread_mutex_unlock(&f->mu);
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
static bool take_batches(struct cluster_feed *f)
{
	char holder[256], ep[24];
	int64_t epoch;
	if (!cluster_fence_current(f->c, holder, sizeof(holder), &epoch))
		return true;
	snprintf(ep, sizeof(ep), "%" PRId64, epoch);
	const char *v[] = {holder, ep};
	PGresult *r = PQexecParams(f->conn, SQL_TAKE, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "reading contact batches: %s", PQerrorMessage(f->conn));
		PQclear(r);
		return false;
	}
	uint64_t now = gn_mono_ns();
	pthread_mutex_lock(&f->mu);
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
	pthread_mutex_unlock(&f->mu);
	PQclear(r);

	char lease[16];
	snprintf(lease, sizeof(lease), "%u", f->lease_ms);
	const char *lv[] = {f->name, lease};
	r = PQexecParams(f->conn, SQL_LIVE, 2, NULL, lv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return false;
	}
	pthread_mutex_lock(&f->mu);
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
	pthread_mutex_unlock(&f->mu);
	PQclear(r);
	return true;
}

static bool pending_now(struct cluster_feed *f)
{
	pthread_mutex_lock(&f->mu);
	bool any = f->pending.n > 0;
	pthread_mutex_unlock(&f->mu);
	return any;
}

static void *feed_main(void *arg)
{
	struct cluster_feed *f = arg;
	struct pairs out = {0};
	uint64_t last_sent = 0;
	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		pthread_mutex_unlock(&f->mu);
		if (PQstatus(f->conn) != CONNECTION_OK) {
			PQfinish(f->conn);
			f->conn = connect_db(f);
		}
		bool deciding = cluster_deciding(f->c);
		uint64_t now = gn_mono_ns();
		pthread_mutex_lock(&f->mu);
		if (deciding && !f->was_deciding) {
			/* A new decider: everyone counts as caught up from now. */
			f->decide_since_ns = now;
			for (unsigned i = 0; i < f->npeers; i++)
				f->peers[i].arrived_ns = now;
		}
		f->was_deciding = deciding;
		pthread_mutex_unlock(&f->mu);
		if (PQstatus(f->conn) == CONNECTION_OK) {
			if (deciding)
				take_batches(f);
			else if ((now - last_sent >= FEED_BATCH_MS * MS || pending_now(f)) &&
				 send_batch(f, &out))
				last_sent = now;
		}
		pthread_mutex_lock(&f->mu);
		uint64_t due = gn_mono_ns() + FEED_PERIOD_MS * MS;
		while (!f->stop && gn_mono_ns() < due) {
			struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
					      .tv_nsec = (long)(due % 1000000000ull)};
			pthread_cond_timedwait(&f->wake, &f->mu, &ts);
		}
	}
	pthread_mutex_unlock(&f->mu);
	free(out.ids);
	free(out.ages);
	free(out.reasons);
	return NULL;
}

struct cluster_feed *cluster_feed_open(const char *target, const char *shown, const char *name,
				       uint32_t lease_ms, struct cluster *c, char *err,
				       size_t errlen)
{
	struct cluster_feed *f = calloc(1, sizeof(*f));
	if (!f || !(f->target = strdup(target)) || !(f->shown = strdup(shown)) ||
	    !(f->name = strdup(name))) {
		snprintf(err, errlen, "contact feed: out of memory");
		goto fail;
	}
	f->lease_ms = lease_ms;
	f->c = c;
	f->conn = connect_db(f);
	if (PQstatus(f->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s: contact feed connection: %s", shown,
			 PQerrorMessage(f->conn));
		goto fail;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&f->mu, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&f->thread, NULL, feed_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "contact feed thread: %s", strerror(rc));
		pthread_cond_destroy(&f->wake);
		pthread_mutex_destroy(&f->mu);
		goto fail;
	}
	pthread_setname_np(f->thread, "gn-feed");
	return f;
fail:
	if (f) {
		PQfinish(f->conn);
		free(f->target);
		free(f->shown);
		free(f->name);
		free(f);
	}
	return NULL;
}

void cluster_feed_close(struct cluster_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	PQfinish(f->conn);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->mu);
	free(f->pending.ids);
	free(f->pending.ages);
	free(f->pending.reasons);
	free(f->in);
	free(f->target);
	free(f->shown);
	free(f->name);
	free(f);
}

bool cluster_feed_send(struct cluster_feed *f, const uint64_t *ids, const uint32_t *ages,
		       const uint32_t *reasons, size_t n)
{
	pthread_mutex_lock(&f->mu);
	bool ok = pairs_add(&f->pending, ids, ages, reasons, n);
	pthread_mutex_unlock(&f->mu);
	return ok;
}

size_t cluster_feed_take(struct cluster_feed *f, struct feed_contact *out, size_t max)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->nin < max ? f->nin : max;
	memcpy(out, f->in, n * sizeof(*out));
	memmove(f->in, f->in + n, (f->nin - n) * sizeof(*out));
	f->nin -= n;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* Under f->mu: the oldest live peer's last batch, ns ago (0: none live). */
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
	pthread_mutex_lock(&f->mu);
	bool behind = worst_lag(f, gn_mono_ns(), &live) > FEED_BEHIND_MS * MS || f->nin > 0;
	for (unsigned i = 0; i < f->npeers && !behind; i++)
		behind = awaited(&f->peers[i]);
	pthread_mutex_unlock(&f->mu);
	return behind;
}

uint64_t cluster_feed_losses(struct cluster_feed *f)
{
	pthread_mutex_lock(&f->mu);
	uint64_t m = f->losses;
	pthread_mutex_unlock(&f->mu);
	return m;
}

void cluster_feed_get_info(struct cluster_feed *f, struct feed_info *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->info;
	uint64_t lag = worst_lag(f, gn_mono_ns(), &out->live);
	out->lag_s = out->live ? (double)lag / 1e9 : -1;
	pthread_mutex_unlock(&f->mu);
}
