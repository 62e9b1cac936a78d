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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/cluster_changes.h"
#include "control/mono_clock.h"
#include "control/pg_worker.h"
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
	char *name;
	struct pg_worker *w; /* its lock: all below */
	bool want_block;
	struct slot_blocks blocks;
	uint32_t asked_from; /* the last `from` the registry asked for */
	struct registry_slots hook;
	struct change *q; /* ring of CHANGES_MAX_PENDING */
	size_t qhead, qlen;
	uint64_t caught_up_ns;
	struct changes_info info;
};

/* One claim of a block; 0 with it added, -1 (logged) when none was had. */
static int claim_block(struct cluster_changes *c, PGconn *conn)
{
	for (int tries = 0; tries < 5; tries++) {
		const char *v[] = {c->name};
		PGresult *r = PQexecParams(conn, SQL_CLAIM, 1, NULL, v, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		uint32_t block = ok ? (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10) : 0;
		if (!ok && tries == 4)
			LOG(WARN, "claiming a slot block: %s", PQerrorMessage(conn));
		PQclear(r);
		if (!ok)
			continue; /* another claimed the same number first */
		pg_worker_lock(c->w);
		int rc = slot_blocks_add(&c->blocks, block);
		pg_worker_unlock(c->w);
		if (rc < 0)
			return -1;
		LOG(INFO, "%s claimed slot block %u (slots %u..%u)", c->name, block,
		    block << SLOT_BLOCK_SHIFT, (block << SLOT_BLOCK_SHIFT) + SLOT_BLOCK_SIZE - 1);
		return 0;
	}
	pg_worker_lock(c->w);
	c->info.errors++;
	pg_worker_unlock(c->w);
	return -1;
}

/* One read after the cursor; the number of changes it read, -1 on an error. */
static int read_changes(struct cluster_changes *c, PGconn *conn)
{
	pg_worker_lock(c->w);
	bool room = c->qlen + CHANGES_FETCH <= CHANGES_MAX_PENDING;
	uint64_t cursor = c->info.cursor;
	pg_worker_unlock(c->w);
	if (!room)
		return 0; /* the control thread is behind: bounded, it catches up */
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRIu64, cursor);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(conn, SQL_READ, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "reading the change feed: %s", PQerrorMessage(conn));
		PQclear(r);
		pg_worker_lock(c->w);
		c->info.errors++;
		pg_worker_unlock(c->w);
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
		pg_worker_lock(c->w);
		c->q[(c->qhead + c->qlen) % CHANGES_MAX_PENDING] = *ch;
		c->qlen++;
		c->info.cursor = ch->seq;
		c->info.read++;
		pg_worker_unlock(c->w);
	}
	free(ch);
	PQclear(r);
	pg_worker_lock(c->w);
	c->info.reads++;
	if (n < CHANGES_FETCH)
		c->caught_up_ns = gn_mono_ns();
	pg_worker_unlock(c->w);
	return n;
}

/* The worker's round: a claim when asked, one read. */
static uint64_t changes_round(void *ctx, PGconn *conn)
{
	struct cluster_changes *c = ctx;
	pg_worker_lock(c->w);
	bool want = c->want_block;
	pg_worker_unlock(c->w);
	int n = -1;
	if (conn) {
		if (want && claim_block(c, conn) == 0) {
			pg_worker_lock(c->w);
			c->want_block =
				slot_blocks_left(&c->blocks, c->asked_from) < SLOT_BLOCKS_LOW;
			pg_worker_unlock(c->w);
		}
		n = read_changes(c, conn);
	}
	if (n == CHANGES_FETCH)
		return 0; /* more waiting: at once */
	/* A block still wanted (the claim failed): at once too. One asked for
	 * during this round kicked the worker (hook_next). */
	pg_worker_lock(c->w);
	bool again = c->want_block;
	pg_worker_unlock(c->w);
	return again ? 0 : CHANGES_PERIOD_MS * MS;
}

static bool hook_mine(void *ctx, uint32_t slot)
{
	struct cluster_changes *c = ctx;
	pg_worker_lock(c->w);
	bool m = slot_blocks_mine(&c->blocks, slot);
	pg_worker_unlock(c->w);
	return m;
}

static uint32_t hook_next(void *ctx, uint32_t from)
{
	struct cluster_changes *c = ctx;
	pg_worker_lock(c->w);
	uint32_t s = slot_blocks_next(&c->blocks, from);
	c->asked_from = s == UINT32_MAX ? from : s + 1;
	if (!c->want_block && slot_blocks_left(&c->blocks, c->asked_from) < SLOT_BLOCKS_LOW) {
		c->want_block = true; /* the thread claims one; we never wait for it */
		pg_worker_kick_locked(c->w);
	}
	pg_worker_unlock(c->w);
	return s;
}

void cluster_changes_close(struct cluster_changes *c)
{
	if (!c)
		return;
	pg_worker_close(c->w);
	slot_blocks_free(&c->blocks);
	free(c->q);
	free(c->name);
	free(c);
}

/* At open, synchronous: our blocks (one claimed when none) and the cursor. */
static int start_state(struct cluster_changes *c, const char *shown, char *err, size_t errlen)
{
	PGconn *conn = pg_worker_conn(c->w);
	const char *v[] = {c->name};
	PGresult *r = PQexecParams(conn, SQL_BLOCKS, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: slot blocks: %s", shown, PQerrorMessage(conn));
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
	if (!c->blocks.n && claim_block(c, conn) < 0) {
		snprintf(err, errlen, "%s: claiming a slot block: %s", shown, PQerrorMessage(conn));
		return -1;
	}
	r = PQexec(conn, SQL_CURSOR);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "%s: the change feed's cursor: %s", shown,
			 PQerrorMessage(conn));
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
	if (!c || !(c->name = strdup(name)) ||
	    !(c->q = malloc(CHANGES_MAX_PENDING * sizeof(*c->q)))) {
		snprintf(err, errlen, "change feed: out of memory");
		cluster_changes_close(c);
		return NULL;
	}
	c->hook = (struct registry_slots){.mine = hook_mine, .next = hook_next, .ctx = c};
	c->w = pg_worker_open(&(struct pg_worker_conf){.target = target,
						       .shown = shown,
						       .what = "change feed",
						       .app_name = "glournetd-changes",
						       .thread_name = "gn-changes",
						       .statement_timeout_ms = 10000,
						       .tcp_user_timeout_ms = 5000,
						       .round = changes_round,
						       .ctx = c},
			      err, errlen);
	if (!c->w || start_state(c, shown, err, errlen) < 0 ||
	    pg_worker_start(c->w, err, errlen) < 0) {
		cluster_changes_close(c);
		return NULL;
	}
	return c;
}

const struct registry_slots *cluster_changes_slots(struct cluster_changes *c)
{
	return &c->hook;
}

size_t cluster_changes_take(struct cluster_changes *c, struct change *out, size_t max)
{
	pg_worker_lock(c->w);
	size_t n = 0;
	for (; n < max && c->qlen; n++, c->qlen--) {
		out[n] = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % CHANGES_MAX_PENDING;
	}
	pg_worker_unlock(c->w);
	return n;
}

void cluster_changes_get_info(struct cluster_changes *c, struct changes_info *out)
{
	pg_worker_lock(c->w);
	*out = c->info;
	out->pending = (uint32_t)c->qlen;
	out->blocks = c->blocks.n;
	out->slots_left = slot_blocks_left(&c->blocks, c->asked_from);
	out->lag_s = c->caught_up_ns ? (double)(gn_mono_ns() - c->caught_up_ns) / 1e9 : -1;
	pg_worker_unlock(c->w);
}
