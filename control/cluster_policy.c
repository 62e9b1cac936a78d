/*
 * The fleet's policy row (cluster_policy.h). The table is made with the
 * other cluster tables (cluster.c's schema list). The watch reads the row
 * only when its revision moved: one small SELECT a period otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/cluster_policy.h"
#include "control/pg_worker.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define SQL_SEED "INSERT INTO policy (one, rev, doc) VALUES (true, $1, $2) ON CONFLICT DO NOTHING"
#define SQL_READ "SELECT rev, doc FROM policy"
/* The doc only when it is newer than what the watch has. */
#define SQL_WATCH "SELECT rev, CASE WHEN rev > $1::bigint THEN doc END FROM policy"
#define SQL_CAS   "UPDATE policy SET rev = $2, doc = $3 WHERE one AND rev = $1 RETURNING rev"
#define SQL_REV   "SELECT rev FROM policy"

struct cluster_policy {
	char *target, *shown;
	PGconn *write_conn;  /* the policy saver's */
	struct pg_worker *w; /* the watch; its lock: all below */
	bool running;        /* the watch started (the control thread's) */
	uint64_t seen;       /* the newest revision the watch read */
	char *doc;           /* its document, until taken */
	uint64_t doc_rev;
	uint64_t errors;
};

/* The write connection, connected again if it broke; false if it cannot
 * be. (The watch's is the worker's.) */
static bool ensure(struct cluster_policy *cp, PGconn **conn, const char *app)
{
	if (*conn && PQstatus(*conn) == CONNECTION_OK)
		return true;
	PQfinish(*conn);
	*conn = pg_worker_connect(cp->target, app, 5000, 5000);
	return PQstatus(*conn) == CONNECTION_OK;
}

int cluster_policy_cas_outcome(bool ok, int updated, uint64_t expected, uint64_t found,
			       const char *why, char *err, size_t errlen)
{
	if (!ok) {
		snprintf(err, errlen,
			 "policy store: %s; the change may not have committed (show settings "
			 "tells)",
			 why && *why ? why : "no answer");
		return -EIO;
	}
	if (updated == 1)
		return 0;
	if (found)
		snprintf(err, errlen,
			 "policy changed on another collector meanwhile: the store holds "
			 "revision %" PRIu64 ", this change was made on revision %" PRIu64
			 "; nothing applied, retry",
			 found, expected);
	else
		snprintf(err, errlen,
			 "policy changed on another collector meanwhile (this change was made on "
			 "revision %" PRIu64 "); nothing applied, retry",
			 expected);
	return -ESTALE;
}

int cluster_policy_write(struct cluster_policy *cp, uint64_t expected, uint64_t rev,
			 const char *doc, char *err, size_t errlen)
{
	if (!ensure(cp, &cp->write_conn, "glournetd-policy"))
		return cluster_policy_cas_outcome(false, 0, expected, 0,
						  PQerrorMessage(cp->write_conn), err, errlen);
	char e[24], r[24];
	snprintf(e, sizeof(e), "%" PRIu64, expected);
	snprintf(r, sizeof(r), "%" PRIu64, rev);
	const char *v[] = {e, r, doc};
	PGresult *res = PQexecParams(cp->write_conn, SQL_CAS, 3, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQstatus(cp->write_conn) == CONNECTION_BAD) {
		/* Idle since the last change, the connection may have died with
		 * the primary (a failover): libpq learns it only on this use. One
		 * new connection and one more try (integration-fleet-failover: the
		 * first set after the failover was refused); the compare-and-set
		 * on the revision makes a repeat harmless. */
		PQclear(res);
		if (!ensure(cp, &cp->write_conn, "glournetd-policy"))
			return cluster_policy_cas_outcome(
				false, 0, expected, 0, PQerrorMessage(cp->write_conn), err, errlen);
		res = PQexecParams(cp->write_conn, SQL_CAS, 3, NULL, v, NULL, NULL, 0);
	}
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	int updated = ok ? PQntuples(res) : 0;
	PQclear(res);
	uint64_t found = 0;
	if (ok && updated != 1) {
		res = PQexec(cp->write_conn, SQL_REV);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			found = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		pg_worker_kick(cp->w); /* the winner's document: now */
	}
	return cluster_policy_cas_outcome(ok, updated, expected, found,
					  PQerrorMessage(cp->write_conn), err, errlen);
}

/* One look at the row; false when the store did not answer. */
static bool watch_once(struct cluster_policy *cp, PGconn *conn)
{
	pg_worker_lock(cp->w);
	char s[24];
	snprintf(s, sizeof(s), "%" PRIu64, cp->seen);
	pg_worker_unlock(cp->w);
	const char *v[] = {s};
	PGresult *r = PQexecParams(conn, SQL_WATCH, 1, NULL, v, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok && PQntuples(r) == 1 && !PQgetisnull(r, 0, 1)) {
		uint64_t rev = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		char *doc = strdup(PQgetvalue(r, 0, 1));
		pg_worker_lock(cp->w);
		if (doc && rev > cp->seen) {
			free(cp->doc);
			cp->doc = doc;
			cp->doc_rev = rev;
			cp->seen = rev;
			doc = NULL;
		}
		pg_worker_unlock(cp->w);
		free(doc);
	} else if (!ok) {
		LOG(WARN, "policy watch: %s", PQerrorMessage(conn));
	}
	PQclear(r);
	return ok;
}

/* The worker's round, every CLUSTER_POLICY_PERIOD_MS. */
static uint64_t watch_round(void *ctx, PGconn *conn)
{
	struct cluster_policy *cp = ctx;
	if (!conn || !watch_once(cp, conn)) {
		pg_worker_lock(cp->w);
		cp->errors++;
		pg_worker_unlock(cp->w);
	}
	return CLUSTER_POLICY_PERIOD_MS * 1000000ull;
}

void cluster_policy_close(struct cluster_policy *cp)
{
	if (!cp)
		return;
	pg_worker_close(cp->w);
	PQfinish(cp->write_conn);
	free(cp->doc);
	free(cp->target);
	free(cp->shown);
	free(cp);
}

struct cluster_policy *cluster_policy_open(const char *target, const char *shown, char *err,
					   size_t errlen)
{
	struct cluster_policy *cp = calloc(1, sizeof(*cp));
	if (!cp || !(cp->target = strdup(target)) || !(cp->shown = strdup(shown))) {
		snprintf(err, errlen, "cluster policy: out of memory");
		goto fail;
	}
	if (!ensure(cp, &cp->write_conn, "glournetd-policy")) {
		snprintf(err, errlen, "%s: policy connection: %s", cp->shown,
			 PQerrorMessage(cp->write_conn));
		goto fail;
	}
	/* The watch connects in its first round (cluster_policy_load starts it). */
	cp->w = pg_worker_open(&(struct pg_worker_conf){.target = target,
							.shown = shown,
							.what = "policy watch",
							.app_name = "glournetd-policy-watch",
							.thread_name = "gn-policy",
							.statement_timeout_ms = 5000,
							.tcp_user_timeout_ms = 5000,
							.connect_later = true,
							.round = watch_round,
							.ctx = cp},
			       err, errlen);
	if (!cp->w)
		goto fail;
	return cp;
fail:
	cluster_policy_close(cp);
	return NULL;
}

int cluster_policy_load(struct cluster_policy *cp, const char *seed_doc, uint64_t seed_rev,
			char **doc, uint64_t *rev, char *err, size_t errlen)
{
	char r[24];
	snprintf(r, sizeof(r), "%" PRIu64, seed_rev);
	const char *v[] = {r, seed_doc};
	PGresult *res = PQexecParams(cp->write_conn, SQL_SEED, 2, NULL, v, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	bool seeded = ok && strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (ok) {
		res = PQexec(cp->write_conn, SQL_READ);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
		if (ok) {
			*rev = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			*doc = strdup(PQgetvalue(res, 0, 1));
			ok = *doc != NULL;
		}
		PQclear(res);
	}
	if (!ok) {
		snprintf(err, errlen, "%s: the fleet's policy: %s", cp->shown,
			 PQerrorMessage(cp->write_conn));
		return -1;
	}
	LOG(INFO, "the fleet's policy: revision %" PRIu64 "%s", *rev,
	    seeded ? " (seeded from this collector's)" : "");
	pg_worker_lock(cp->w);
	cp->seen = *rev;
	pg_worker_unlock(cp->w);
	if (cp->running)
		return 0;
	if (pg_worker_start(cp->w, err, errlen) < 0) {
		free(*doc);
		*doc = NULL;
		return -1;
	}
	cp->running = true;
	return 0;
}

bool cluster_policy_take(struct cluster_policy *cp, uint64_t in_force, char **doc, uint64_t *rev)
{
	pg_worker_lock(cp->w);
	bool got = cp->doc && cluster_policy_newer(in_force, cp->doc_rev);
	if (got) {
		*doc = cp->doc;
		*rev = cp->doc_rev;
	} else {
		free(cp->doc); /* none, or older than what is in force */
	}
	cp->doc = NULL;
	pg_worker_unlock(cp->w);
	return got;
}
