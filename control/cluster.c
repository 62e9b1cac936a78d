/*
 * The collectors' table and the decider lease (cluster.h), on a
 * connection of their own. Every lease/3 the thread upserts this
 * collector's row (last_seen = now() on the primary's clock) and either
 * renews the lease (holder and epoch ours) or tries to take it (expired
 * on the primary's clock, or held by this collector's name: a restart of
 * it, whose old run is gone or fenced by the new epoch: epoch + 1), one
 * autocommitted UPDATE each, so
 * two collectors racing for an expired lease serialise on its row and
 * exactly one gets it. The answers go through cluster_lease.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/cluster.h"
#include "control/cluster_lease.h"
#include "control/mono_clock.h"
#include "control/pg_worker.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

/* Made by whichever collector comes first, under this advisory lock. */
#define CLUSTER_LOCK_KEY "7163820411"
static const char *const schema[] = {
	"SELECT pg_advisory_xact_lock(" CLUSTER_LOCK_KEY ")",
	"CREATE TABLE IF NOT EXISTS collectors (name TEXT PRIMARY KEY, addrs TEXT, "
	"started TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL)",
	/* One row: `one` is its key and can only be true. */
	"CREATE TABLE IF NOT EXISTS decider (one BOOLEAN PRIMARY KEY DEFAULT true "
	"CHECK (one), holder TEXT NOT NULL, epoch BIGINT NOT NULL, "
	"expires_at TIMESTAMPTZ NOT NULL)",
	/* cluster_feed.h: one row per batch, contacts as arrays */
	"CREATE TABLE IF NOT EXISTS contact_batches (seq BIGSERIAL PRIMARY KEY, "
	"collector TEXT NOT NULL, sent_at TIMESTAMPTZ NOT NULL, ids INT8[] NOT NULL, "
	"ages INT4[] NOT NULL)",
	"INSERT INTO decider (one, holder, epoch, expires_at) VALUES (true, '', 0, "
	"'-infinity') ON CONFLICT DO NOTHING",
	/* The gap-free sequences (store_sql.h STORE_SQL_SEQ_TAKE): the change
	 * feed's and the transition stream's numbers. */
	"CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, last INT8 NOT NULL)",
	"INSERT INTO sequences VALUES ('changes', 0), ('transitions', 0) ON CONFLICT DO NOTHING",
	/* cluster_changes.h: the change feed by cursor, slot blocks */
	"CREATE TABLE IF NOT EXISTS endpoint_changes (seq INT8 PRIMARY KEY, slot INT8 NOT NULL, "
	"id INT8 NOT NULL, collector TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS slot_blocks (block INT4 PRIMARY KEY, collector TEXT NOT NULL)",
	/* one endpoint per guid fleet-wide: a second collector's put of it fails (store_pg.c) */
	"CREATE UNIQUE INDEX IF NOT EXISTS endpoints_guid ON endpoints (guid)",
	/* cluster_stream.h: the transition stream's key; a store whose
	 * transitions were numbered before the sequence (one collector) goes
	 * on after them. Once, before the key exists: rows numbered by each collector's own
	 * feed (before the stream) may repeat numbers; renumbered 1..n in
	 * time order. */
	"DO $$ BEGIN IF to_regclass('transitions_seq') IS NULL THEN UPDATE transitions t SET "
	"seq = r.n FROM (SELECT ctid, row_number() OVER (ORDER BY time, seq) AS n FROM "
	"transitions) r WHERE t.ctid = r.ctid; END IF; END $$",
	"UPDATE sequences SET last = (SELECT max(seq) FROM transitions) WHERE name = "
	"'transitions' AND last < (SELECT coalesce(max(seq), 0) FROM transitions)",
	"CREATE UNIQUE INDEX IF NOT EXISTS transitions_seq ON transitions (seq)",
	/* store_db.h struct store_trans: a removal or a guard event in the
	 * stream beside the status changes (kind 0: a status change) */
	"ALTER TABLE transitions ADD COLUMN IF NOT EXISTS kind INT2 NOT NULL DEFAULT 0",
	"ALTER TABLE transitions ADD COLUMN IF NOT EXISTS count INT8 NOT NULL DEFAULT 0",
	/* cluster_policy.h: the fleet's one policy document and its settings_rev */
	"CREATE TABLE IF NOT EXISTS policy (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), "
	"rev INT8 NOT NULL, doc TEXT NOT NULL)",
	/* cluster_feed.h: each contact's kind (enum ep_reason: heartbeat, or a
	 * registration, poll or event heard by the control plane); NULL: all
	 * heartbeats (a batch from a collector before this column) */
	"ALTER TABLE contact_batches ADD COLUMN IF NOT EXISTS reasons INT2[]",
};

#define SQL_SEEN                                                                  \
	"INSERT INTO collectors (name, addrs, started, last_seen) "               \
	"VALUES ($1, $2, now(), now()) ON CONFLICT (name) DO UPDATE SET "         \
	"addrs = excluded.addrs, last_seen = now(), started = CASE WHEN $3 THEN " \
	"now() ELSE collectors.started END"
#define SQL_OTHERS                                                                  \
	"SELECT count(*) FROM collectors WHERE name <> $1 AND last_seen > now() - " \
	"$2::bigint * interval '1 millisecond'"
#define SQL_RENEW                                                                        \
	"UPDATE decider SET expires_at = now() + $3::bigint * interval '1 millisecond' " \
	"WHERE holder = $1 AND epoch = $2 RETURNING epoch"
#define SQL_TAKE                                                      \
	"UPDATE decider SET holder = $1, epoch = epoch + 1, "         \
	"expires_at = now() + $2::bigint * interval '1 millisecond' " \
	"WHERE expires_at < now() OR holder = $1 RETURNING epoch"
#define SQL_GIVE_UP "UPDATE decider SET expires_at = '-infinity' WHERE holder = $1 AND epoch = $2"

#define SQL_VIEW_COLLECTORS                                                             \
	"SELECT name, coalesce(addrs, ''), extract(epoch FROM now() - last_seen) FROM " \
	"collectors ORDER BY name LIMIT 16"
#define SQL_VIEW_DECIDER                                                 \
	"SELECT holder, epoch, extract(epoch FROM expires_at - now()), " \
	"coalesce(host(inet_server_addr()), 'local socket') || ':' || "  \
	"current_setting('port') FROM decider"

/* The store primary's standbys (cluster_view). replay_lag is NULL once a
 * standby has replayed everything and nothing new came: that is 0 s. */
#define SQL_VIEW_STANDBYS                                                                   \
	"SELECT coalesce(application_name, ''), coalesce(host(client_addr), ''), "          \
	"coalesce(state, ''), coalesce(sync_state, ''), "                                   \
	"coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8, -1), "           \
	"CASE WHEN state IS NULL THEN -1 ELSE coalesce(extract(epoch FROM replay_lag), 0) " \
	"END FROM pg_stat_replication ORDER BY application_name LIMIT 8"

struct cluster {
	char *name, *addrs;
	uint32_t lease_ms;
	struct pg_worker *w; /* its lock: everything below */
	bool started_sent;   /* the first SEEN of this run set `started` (the thread's) */
	struct lease_state lease;
	uint64_t rounds, round_errors;
	struct cluster_view view;
	uint64_t view_ns;   /* when it was read */
	bool told_deciding; /* what cluster_take_event last said */
	int64_t told_epoch;
};

static bool command_ok(PGconn *conn, const char *sql, int n, const char *const *v, const char *what,
		       bool log)
{
	PGresult *r = PQexecParams(conn, sql, n, NULL, v, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok && log)
		LOG(ERR, "%s: %s", what, PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

static int make_schema(PGconn *conn, char *err, size_t errlen)
{
	if (!command_ok(conn, "BEGIN", 0, NULL, "begin", false))
		goto fail;
	for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		if (!command_ok(conn, schema[i], 0, NULL, "schema", false))
			goto fail;
	if (command_ok(conn, "COMMIT", 0, NULL, "commit", false))
		return 0;
fail:
	snprintf(err, errlen, "cluster tables: %s", PQerrorMessage(conn));
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}

/* One round of the lease statements; false when the database did not answer. */
static bool lease_round(struct cluster *c, PGconn *conn)
{
	pg_worker_lock(c->w);
	bool renew = lease_wants_renewal(&c->lease);
	int64_t epoch = c->lease.epoch;
	bool first = !c->started_sent;
	pg_worker_unlock(c->w);
	const char *seen[] = {c->name, c->addrs, first ? "true" : "false"};
	if (!command_ok(conn, SQL_SEEN, 3, seen, "collectors", false))
		return false;
	c->started_sent = true;
	char ep[24], lease[16];
	snprintf(ep, sizeof(ep), "%" PRId64, epoch);
	snprintf(lease, sizeof(lease), "%u", c->lease_ms);
	const char *others_v[] = {c->name, lease};
	PGresult *o = PQexecParams(conn, SQL_OTHERS, 2, NULL, others_v, NULL, NULL, 0);
	bool known = PQresultStatus(o) == PGRES_TUPLES_OK && PQntuples(o) == 1;
	bool alone = known && strcmp(PQgetvalue(o, 0, 0), "0") == 0;
	PQclear(o);
	if (!known)
		return false;
	const char *renew_v[] = {c->name, ep, lease};
	const char *take_v[] = {c->name, lease};
	uint64_t sent = gn_mono_ns();
	PGresult *r = renew ? PQexecParams(conn, SQL_RENEW, 3, NULL, renew_v, NULL, NULL, 0)
			    : PQexecParams(conn, SQL_TAKE, 2, NULL, take_v, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	bool row = ok && PQntuples(r) == 1;
	int64_t got = row ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	if (!ok)
		LOG(WARN, "lease %s: %s", renew ? "renewal" : "take", PQerrorMessage(conn));
	PQclear(r);
	pg_worker_lock(c->w);
	enum lease_event e = lease_answer(&c->lease, ok, row, got, sent);
	if (ok)
		c->lease.alone = alone;
	pg_worker_unlock(c->w);
	if (e == LEASE_TOOK)
		LOG(WARN, "%s decides now: took the lease, epoch %" PRId64, c->name, got);
	else if (e == LEASE_LOST)
		LOG(WARN, "%s stops deciding: the lease (epoch %" PRId64 ") is another's", c->name,
		    epoch);
	return ok;
}

/* The database's view for show cluster (cluster_get_view): a failure
 * keeps the last one (its age says how old). */
static void read_view(struct cluster *c, PGconn *conn)
{
	struct cluster_view v = {0};
	PGresult *r = PQexec(conn, SQL_VIEW_COLLECTORS);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	for (int i = 0; ok && i < PQntuples(r) && i < CLUSTER_VIEW_MAX; i++, v.n++) {
		snprintf(v.collectors[i].name, sizeof(v.collectors[i].name), "%s",
			 PQgetvalue(r, i, 0));
		snprintf(v.collectors[i].addrs, sizeof(v.collectors[i].addrs), "%s",
			 PQgetvalue(r, i, 1));
		v.collectors[i].seen_ago_s = strtod(PQgetvalue(r, i, 2), NULL);
	}
	PQclear(r);
	r = PQexec(conn, SQL_VIEW_DECIDER);
	ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (ok) {
		snprintf(v.holder, sizeof(v.holder), "%s", PQgetvalue(r, 0, 0));
		v.epoch = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		v.expires_in_s = strtod(PQgetvalue(r, 0, 2), NULL);
		snprintf(v.primary, sizeof(v.primary), "%s", PQgetvalue(r, 0, 3));
	}
	PQclear(r);
	/* A standby (in recovery) has no pg_stat_replication of its own
	 * primary: the lease thread only ever talks to a primary (read-write). */
	r = PQexec(conn, SQL_VIEW_STANDBYS);
	ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
	for (int i = 0; ok && i < PQntuples(r) && i < CLUSTER_STANDBYS_MAX; i++, v.n_standbys++) {
		struct cluster_standby *sb = &v.standbys[i];
		snprintf(sb->name, sizeof(sb->name), "%s", PQgetvalue(r, i, 0));
		snprintf(sb->client, sizeof(sb->client), "%s", PQgetvalue(r, i, 1));
		snprintf(sb->state, sizeof(sb->state), "%s", PQgetvalue(r, i, 2));
		snprintf(sb->sync_state, sizeof(sb->sync_state), "%s", PQgetvalue(r, i, 3));
		sb->lag_bytes = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		sb->lag_s = strtod(PQgetvalue(r, i, 5), NULL);
	}
	PQclear(r);
	if (!ok)
		return;
	pg_worker_lock(c->w);
	c->view = v;
	c->view_ns = gn_mono_ns();
	pg_worker_unlock(c->w);
}

/* The worker's round: the lease, then the view. A failed round is retried
 * sooner: the validity is running out. */
static uint64_t cluster_round(void *ctx, PGconn *conn)
{
	struct cluster *c = ctx;
	uint64_t period = (uint64_t)c->lease_ms * 1000000ull / 3;
	bool ok = conn && lease_round(c, conn);
	if (ok)
		read_view(c, conn);
	pg_worker_lock(c->w);
	c->rounds++;
	if (!ok)
		c->round_errors++;
	pg_worker_unlock(c->w);
	return ok ? period : period / 3;
}

/* At close, on the thread: a decider gives the lease up. */
static void cluster_stop(void *ctx, PGconn *conn)
{
	struct cluster *c = ctx;
	pg_worker_lock(c->w);
	bool give_up = c->lease.deciding;
	int64_t epoch = c->lease.epoch;
	c->lease.deciding = false;
	pg_worker_unlock(c->w);
	if (give_up && conn) {
		char ep[24];
		snprintf(ep, sizeof(ep), "%" PRId64, epoch);
		const char *v[] = {c->name, ep};
		if (command_ok(conn, SQL_GIVE_UP, 2, v, "giving the lease up", true))
			LOG(INFO, "%s: gave the lease (epoch %" PRId64 ") up", c->name, epoch);
	}
}

void cluster_close(struct cluster *c)
{
	if (!c)
		return;
	pg_worker_close(c->w);
	free(c->name);
	free(c->addrs);
	free(c);
}

struct cluster *cluster_open(const struct cluster_conf *conf, char *err, size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(conf->name)) || !(c->addrs = strdup(conf->addrs))) {
		snprintf(err, errlen, "cluster: out of memory");
		goto fail;
	}
	c->lease_ms = conf->lease_ms;
	c->lease.lease_ns = (uint64_t)conf->lease_ms * 1000000ull;
	/* A statement must not outlive the renewal it is: half a lease. */
	c->w = pg_worker_open(&(struct pg_worker_conf){.target = conf->target,
						       .shown = conf->shown,
						       .what = "cluster",
						       .app_name = "glournetd-cluster",
						       .thread_name = "gn-cluster",
						       .statement_timeout_ms = c->lease_ms / 2,
						       .tcp_user_timeout_ms = c->lease_ms / 2,
						       .say_reconnect = true,
						       .round = cluster_round,
						       .on_stop = cluster_stop,
						       .ctx = c},
			      err, errlen);
	if (!c->w || make_schema(pg_worker_conn(c->w), err, errlen) < 0 ||
	    pg_worker_start(c->w, err, errlen) < 0)
		goto fail;
	LOG(INFO, "collector %s on %s, lease %u ms", c->name, conf->shown, c->lease_ms);
	return c;
fail:
	cluster_close(c);
	return NULL;
}

/* Under the worker's lock: the lease as of now, stepping down when it ran out. */
static bool deciding_locked(struct cluster *c)
{
	if (lease_tick(&c->lease, gn_mono_ns()) == LEASE_LOST)
		LOG(WARN,
		    "%s stops deciding: no renewal of the lease (epoch %" PRId64
		    ") for %u ms less the margin",
		    c->name, c->lease.epoch, c->lease_ms);
	return c->lease.deciding;
}

bool cluster_deciding(struct cluster *c)
{
	if (!c)
		return true;
	pg_worker_lock(c->w);
	bool d = deciding_locked(c);
	pg_worker_unlock(c->w);
	return d;
}

int cluster_take_event(struct cluster *c, int64_t *epoch)
{
	if (!c)
		return 0;
	pg_worker_lock(c->w);
	bool d = deciding_locked(c);
	int64_t e = c->lease.epoch;
	int ev = 0;
	if (d && (!c->told_deciding || e != c->told_epoch))
		ev = 1;
	else if (!d && c->told_deciding)
		ev = -1;
	c->told_deciding = d;
	c->told_epoch = e;
	pg_worker_unlock(c->w);
	*epoch = e;
	return ev;
}

/* The epoch of the last lease we held, even after a step-down: a write
 * decided under it commits if the database still has it (nobody took
 * over: a lease that ran out while the store was away), and is dropped if
 * someone did. Never held in this run: nothing to commit. */
bool cluster_fence_current(void *ctx, char *holder, size_t len, int64_t *epoch)
{
	struct cluster *c = ctx;
	pg_worker_lock(c->w);
	bool d = c->lease.took > 0;
	*epoch = c->lease.epoch;
	pg_worker_unlock(c->w);
	snprintf(holder, len, "%s", c->name);
	return d;
}

void cluster_fence_lost(void *ctx, int64_t epoch)
{
	struct cluster *c = ctx;
	pg_worker_lock(c->w);
	bool was = c->lease.deciding && c->lease.epoch == epoch;
	if (was) {
		c->lease.deciding = false;
		c->lease.lost++;
	}
	pg_worker_unlock(c->w);
	if (was)
		LOG(WARN,
		    "%s stops deciding: the fence found epoch %" PRId64
		    " no longer in the database; its status writes are dropped",
		    c->name, epoch);
}

void cluster_get_info(struct cluster *c, struct cluster_info *out)
{
	pg_worker_lock(c->w);
	bool d = deciding_locked(c);
	*out = (struct cluster_info){
		.name = c->name,
		.deciding = d,
		.epoch = c->lease.epoch,
		.renewed_age_s = c->lease.renewed_ns
					 ? (double)(gn_mono_ns() - c->lease.renewed_ns) / 1e9
					 : -1,
		.took = c->lease.took,
		.lost = c->lease.lost,
		.rounds = c->rounds,
		.round_errors = c->round_errors,
		.lease_ms = c->lease_ms,
	};
	pg_worker_unlock(c->w);
}

void cluster_get_view(struct cluster *c, struct cluster_view *out)
{
	pg_worker_lock(c->w);
	*out = c->view;
	out->age_s = c->view_ns ? (double)(gn_mono_ns() - c->view_ns) / 1e9 : -1;
	pg_worker_unlock(c->w);
}
