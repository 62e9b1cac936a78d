/*
 * The change feed's thread and the slot blocks' claims
 * (cluster_changes.h). Each round: a claim when the control thread ran
 * low, then one read of the changes after the cursor with each slot's row
 * as it is now (LEFT JOIN LATERAL: a slot with no row any more says so),
 * unless the control thread is CHANGES_MAX_PENDING behind. A read that
 * filled its fetch goes again at once; one that found less waits
 * CHANGES_PERIOD_MS.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "control/cluster_changes.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/slot_blocks.h"
#include "control/store_db.h"
#include "control/store_sql.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define SQL_READ                                                                            \
	"SELECT x.*, c.seq, c.slot, c.id FROM (SELECT seq, slot, id FROM endpoint_changes " \
	"WHERE seq > $1 ORDER BY seq LIMIT " GN_STR(                                        \
		CHANGES_FETCH) ") c LEFT JOIN LATERAL "                                     \
			       "(SELECT " STORE_SQL_LOAD_COLUMNS                            \
			       " FROM endpoints e WHERE e.slot = c.slot) x ON "             \
			       "true ORDER BY c.seq"
#define GN_STR2(x) #x
#define GN_STR(x)  GN_STR2(x)
#define SQL_CURSOR "SELECT last FROM sequences WHERE name = 'changes'"
#define SQL_BLOCKS "SELECT block FROM slot_blocks WHERE collector = $1"
/* The next block past every block and every stored slot (a store that had
 * endpoints before it had blocks keeps them where they are). Two claims at
 * once may pick the same number: the key refuses one, which tries again. */
#define SQL_CLAIM                                                                                  \
	"INSERT INTO slot_blocks (block, collector) SELECT greatest((SELECT coalesce(max(block) "  \
	"+ 1, 0) FROM slot_blocks), (SELECT coalesce(max(slot) / 65536 + 1, 0) FROM endpoints)), " \
	"$1 RETURNING block"
_Static_assert(SLOT_BLOCK_SIZE == 65536, "SQL_CLAIM says 65536");
#define MS 1000000ull

struct cluster_changes {
	char *target, *shown, *name;
	PGconn *conn;
	pthread_t thread;
	pthread_mutex_t mu; /* all below */
	pthread_cond_t wake;
	bool stop, want_block;
	struct slot_blocks blocks;
	uint32_t asked_from; /* the last `from` the registry asked for */
	struct registry_slots hook;
	struct change *q; /* ring of CHANGES_MAX_PENDING */
	size_t qhead, qlen;
	uint64_t caught_up_ns;
	struct changes_info info;
};

static PGconn *connect_db(const char *target)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout", "options",
					   "application_name", "dbname",           NULL};
	const char *vals[] = {"2",    "5000", "-c statement_timeout=10000", "glournetd-changes",
			      target, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

/* One claim of a block; 0 with it added, -1 (logged) when none was had. */
static int claim_block(struct cluster_changes *c)
{
	for (int tries = 0; tries < 5; tries++) {
		const char *v[] = {c->name};
		PGresult *r = PQexecParams(c->conn, SQL_CLAIM, 1, NULL, v, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		uint32_t block = ok ? (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10) : 0;
		if (!ok && tries == 4)
			LOG(WARN, "claiming a slot block: %s", PQerrorMessage(c->conn));
		PQclear(r);
		if (!ok)
			continue; /* another claimed the same number first */
		pthread_mutex_lock(&c->mu);
		int rc = slot_blocks_add(&c->blocks, block);
		pthread_mutex_unlock(&c->mu);
		if (rc < 0)
			return -1;
		LOG(INFO, "%s claimed slot block %u (slots %u..%u)", c->name, block,
		    block << SLOT_BLOCK_SHIFT, (block << SLOT_BLOCK_SHIFT) + SLOT_BLOCK_SIZE - 1);
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	c->info.errors++;
	pthread_mutex_unlock(&c->mu);
	return -1;
}

/* One read after the cursor; the number of changes it read, -1 on an error. */
static int read_changes(struct cluster_changes *c)
{
	pthread_mutex_lock(&c->mu);
	bool room = c->qlen + CHANGES_FETCH <= CHANGES_MAX_PENDING;
	uint64_t cursor = c->info.cursor;
	pthread_mutex_unlock(&c->mu);
	if (!room)
		return 0; /* the control thread is behind: bounded, it catches up */
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRIu64, cursor);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(c->conn, SQL_READ, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "reading the change feed: %s", PQerrorMessage(c->conn));
		PQclear(r);
		pthread_mutex_lock(&c->mu);
		c->info.errors++;
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	int n = PQntuples(r), cols = PQnfields(r);
	struct change *ch = malloc(sizeof(*ch));
	for (int i = 0; ch && i < n; i++) {
		memset(ch, 0, sizeof(*ch));
		ch->seq = strtoull(PQgetvalue(r, i, cols - 3), NULL, 10);
		ch->slot = (uint32_t)strtoul(PQgetvalue(r, i, cols - 2), NULL, 10);
		int64_t id = strtoll(PQgetvalue(r, i, cols - 1), NULL, 10);
		memcpy(&ch->id, &id, sizeof(ch->id));
		ch->present = !PQgetisnull(r, i, 0);
		if (ch->present && store_pg_row((const struct pg_result *)r, i, &ch->e) < 0) {
			LOG(WARN, "change %" PRIu64 ": the row of slot %u does not fit; skipped",
			    ch->seq, ch->slot);
			ch->present = false;
			ch->id = 0; /* applies as nothing */
		}
		pthread_mutex_lock(&c->mu);
		c->q[(c->qhead + c->qlen) % CHANGES_MAX_PENDING] = *ch;
		c->qlen++;
		c->info.cursor = ch->seq;
		c->info.read++;
		pthread_mutex_unlock(&c->mu);
	}
	free(ch);
	PQclear(r);
	pthread_mutex_lock(&c->mu);
	c->info.reads++;
	if (n < CHANGES_FETCH)
		c->caught_up_ns = gn_mono_ns();
	pthread_mutex_unlock(&c->mu);
	return n;
}

static void *changes_main(void *arg)
{
	struct cluster_changes *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		bool want = c->want_block;
		pthread_mutex_unlock(&c->mu);
		if (PQstatus(c->conn) != CONNECTION_OK) {
			PQfinish(c->conn);
			c->conn = connect_db(c->target);
		}
		int n = -1;
		if (PQstatus(c->conn) == CONNECTION_OK) {
			if (want && claim_block(c) == 0) {
				pthread_mutex_lock(&c->mu);
				c->want_block = slot_blocks_left(&c->blocks, c->asked_from) <
						SLOT_BLOCKS_LOW;
				pthread_mutex_unlock(&c->mu);
			}
			n = read_changes(c);
		}
		pthread_mutex_lock(&c->mu);
		if (n == CHANGES_FETCH)
			continue; /* more waiting: at once */
		uint64_t due = gn_mono_ns() + CHANGES_PERIOD_MS * MS;
		while (!c->stop && !c->want_block && gn_mono_ns() < due) {
			struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
					      .tv_nsec = (long)(due % 1000000000ull)};
			pthread_cond_timedwait(&c->wake, &c->mu, &ts);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static bool hook_mine(void *ctx, uint32_t slot)
{
	struct cluster_changes *c = ctx;
	pthread_mutex_lock(&c->mu);
	bool m = slot_blocks_mine(&c->blocks, slot);
	pthread_mutex_unlock(&c->mu);
	return m;
}

static uint32_t hook_next(void *ctx, uint32_t from)
{
	struct cluster_changes *c = ctx;
	pthread_mutex_lock(&c->mu);
	uint32_t s = slot_blocks_next(&c->blocks, from);
	c->asked_from = s == UINT32_MAX ? from : s + 1;
	if (!c->want_block && slot_blocks_left(&c->blocks, c->asked_from) < SLOT_BLOCKS_LOW) {
		c->want_block = true; /* the thread claims one; we never wait for it */
		pthread_cond_broadcast(&c->wake);
	}
	pthread_mutex_unlock(&c->mu);
	return s;
}

static void free_changes(struct cluster_changes *c)
{
	if (!c)
		return;
	PQfinish(c->conn);
	slot_blocks_free(&c->blocks);
	free(c->q);
	free(c->target);
	free(c->shown);
	free(c->name);
	free(c);
}

/* At open, synchronous: our blocks (one claimed when none) and the cursor. */
static int start_state(struct cluster_changes *c, char *err, size_t errlen)
{
	const char *v[] = {c->name};
	PGresult *r = PQexecParams(c->conn, SQL_BLOCKS, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: slot blocks: %s", c->shown, PQerrorMessage(c->conn));
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (slot_blocks_add(&c->blocks, (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10)) <
		    0) {
			snprintf(err, errlen, "slot blocks: out of memory");
			PQclear(r);
			return -1;
		}
	PQclear(r);
	if (!c->blocks.n && claim_block(c) < 0) {
		snprintf(err, errlen, "%s: claiming a slot block: %s", c->shown,
			 PQerrorMessage(c->conn));
		return -1;
	}
	r = PQexec(c->conn, SQL_CURSOR);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "%s: the change feed's cursor: %s", c->shown,
			 PQerrorMessage(c->conn));
		PQclear(r);
		return -1;
	}
	c->info.cursor = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	LOG(INFO, "%s: %u slot blocks of its own; following the change feed from %" PRIu64, c->name,
	    c->blocks.n, c->info.cursor);
	return 0;
}

struct cluster_changes *cluster_changes_open(const char *target, const char *shown,
					     const char *name, char *err, size_t errlen)
{
	struct cluster_changes *c = calloc(1, sizeof(*c));
	if (!c || !(c->target = strdup(target)) || !(c->shown = strdup(shown)) ||
	    !(c->name = strdup(name)) || !(c->q = malloc(CHANGES_MAX_PENDING * sizeof(*c->q)))) {
		snprintf(err, errlen, "change feed: out of memory");
		free_changes(c);
		return NULL;
	}
	c->hook = (struct registry_slots){.mine = hook_mine, .next = hook_next, .ctx = c};
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	c->conn = connect_db(target);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s: change feed connection: %s", shown,
			 PQerrorMessage(c->conn));
		goto fail;
	}
	if (start_state(c, err, errlen) < 0)
		goto fail;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&c->thread, NULL, changes_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "change feed thread: %s", strerror(rc));
		goto fail;
	}
	pthread_setname_np(c->thread, "gn-changes");
	return c;
fail:
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	free_changes(c);
	return NULL;
}

void cluster_changes_close(struct cluster_changes *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	free_changes(c);
}

const struct registry_slots *cluster_changes_slots(struct cluster_changes *c)
{
	return &c->hook;
}

size_t cluster_changes_take(struct cluster_changes *c, struct change *out, size_t max)
{
	pthread_mutex_lock(&c->mu);
	size_t n = 0;
	for (; n < max && c->qlen; n++, c->qlen--) {
		out[n] = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % CHANGES_MAX_PENDING;
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

void cluster_changes_get_info(struct cluster_changes *c, struct changes_info *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->info;
	out->pending = (uint32_t)c->qlen;
	out->blocks = c->blocks.n;
	out->slots_left = slot_blocks_left(&c->blocks, c->asked_from);
	out->lag_s = c->caught_up_ns ? (double)(gn_mono_ns() - c->caught_up_ns) / 1e9 : -1;
	pthread_mutex_unlock(&c->mu);
}
