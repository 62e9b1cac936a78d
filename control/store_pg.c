/*
 * The PostgreSQL backend of the store (see store_db.h), over libpq: one
 * connection, prepared statements (made again on each new connection),
 * the tables and statements of store_sql.h with PostgreSQL's type words.
 * What differs from SQLite, and why:
 *  - the contact checkpoint is one UPDATE ... FROM unnest() of arrays per
 *    CONTACT_CHUNK rows, not one statement per row (a round trip each:
 *    per-row updates cost ~28 % of this VM at 10 M endpoints, array
 *    batches under 1 %);
 *  - with several collectors (a change feed), a run of puts is written in
 *    groups of one INSERT ... SELECT FROM unnest() each (pg_put_many),
 *    not a savepoint, an insert and a release per row (an import: ~1.8 k
 *    rows/s before, ~16-21 k after, bench/cluster/import.sh);
 *  - the load reads through a cursor, 10,000 rows a FETCH, so 10 M rows
 *    are never held as one result besides the registry;
 *  - the connection string gets connect_timeout, tcp_user_timeout and a
 *    statement_timeout unless it says otherwise (a server that stops
 *    answering must fail a batch, not hang the writer), and a lost
 *    connection is made again from begin(), at most once per backoff
 *    (1 s doubling to BACKOFF_MAX_MS).
 * Error texts never hold the password: libpq's do not, and the string
 * itself is only ever shown masked (store_url.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/mono_clock.h"
#include "control/store_db.h"
#include "control/store_sql.h"
#include "control/store_url.h"
#define LOG_TAG "store"
#include "glournet/log.h"

/* 2 s, not more: after a failover the promoted standby is found at the
 * next attempt, and with a longer cap that attempt came up to 8 s after
 * it was writable (integration-fleet-failover: alarm cleared 7 s after
 * the promotion). A multi-host connect every 2 s costs a server nothing. */
#define BACKOFF_MAX_MS 2000u
#define CONTACT_CHUNK  20000u  /* rows per array statement: ~2 MB of parameter text */
#define LOAD_FETCH     "10000" /* rows per FETCH of the start-up load: ~2 MB a result */

/* PostgreSQL's type words for store_sql.h's tables: all integers 64-bit
 * (slots and times are uint32, beyond int4). */
#define PG_SLOT_PK "BIGINT PRIMARY KEY"
#define PG_INT     "BIGINT"
#define PG_BYTES   "BYTEA"

/* PostgreSQL-only: the checkpoint as arrays, one element per endpoint. */
#define PG_CONTACTS                                                                            \
	"UPDATE endpoints AS e SET last_heartbeat = c.hb, last_ctl_contact = c.ctl, "          \
	"status = c.st, reason = c.rs, status_since = c.ss, down_at = c.da, "                  \
	"notify_pending = c.np, notify_src = c.ns "                                            \
	"FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], " \
	"$7::int8[], $8::int8[], $9::int8[], $10::text[]) "                                    \
	"AS c(slot, id, hb, ctl, st, rs, ss, da, np, ns) "                                     \
	"WHERE e.slot = c.slot AND e.id = c.id"
#define PG_CONTACT_ARRAYS 10

/* Several collectors: a transaction's change rows (cluster_changes.h),
 * $1 the number before the first, $2 the slots, $3 the ids. */
#define PG_CHANGES                                                                         \
	"INSERT INTO endpoint_changes (seq, slot, id, collector) SELECT $1::int8 + c.n, "  \
	"c.slot, c.id, $4 FROM unnest($2::int8[], $3::int8[]) WITH ORDINALITY AS c(slot, " \
	"id, n)"

/* Several collectors: STORE_SQL_PUT, except that a put of the endpoint the
 * row already holds (a re-registration, a re-key) by a collector that is
 * not the lease's holder ($20) keeps the decider's status columns: its
 * view of them is older. A new endpoint in the slot starts from its own.
 * Not prepared with the others: the decider table is cluster.c's, made
 * after the store opened. */
/* clang-format off */
#define PG_KEEP(col)                                                                 \
	col " = CASE WHEN excluded.id = endpoints.id AND NOT EXISTS (SELECT 1 FROM " \
	"decider WHERE holder = $20) THEN endpoints." col " ELSE excluded." col " END"
#define PG_PUT_COLUMNS                                                                      \
	"INSERT INTO endpoints (id, slot, guid, key, hostname, ips, notify_port, "          \
	"registered, last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, " \
	"status, reason, ctl_reason, status_since, notify_pending, notify_src) "
#define PG_PUT_CLUSTER                                                                      \
	PG_PUT_COLUMNS                                                                      \
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "   \
	"$17, $18, $19) " PG_PUT_CLUSTER_SET
#define PG_PUT_CLUSTER_SET                                                                  \
	"ON CONFLICT (slot) DO UPDATE SET id = excluded.id, guid = excluded.guid, "         \
	"key = excluded.key, hostname = excluded.hostname, ips = excluded.ips, "            \
	"notify_port = excluded.notify_port, registered = excluded.registered, "            \
	"last_register = excluded.last_register, "                                          \
	"last_ctl_contact = excluded.last_ctl_contact, "                                    \
	"last_heartbeat = CASE WHEN excluded.id = endpoints.id AND "                        \
	"endpoints.last_heartbeat > excluded.last_heartbeat "                               \
	"THEN endpoints.last_heartbeat ELSE excluded.last_heartbeat END, "                  \
	"last_poll = excluded.last_poll, "                                                  \
	PG_KEEP("down_at") ", " PG_KEEP("status") ", " PG_KEEP("reason") ", "               \
	"ctl_reason = excluded.ctl_reason, " PG_KEEP("status_since") ", "                   \
	"notify_pending = excluded.notify_pending, notify_src = excluded.notify_src"
/* Several collectors, a group of puts (pg_put_many): PG_PUT_CLUSTER for
 * every row of 19 arrays (one per column, in its order; the key as hex
 * text), slots and guids all different. A row whose guid another slot
 * holds, one not in this group, is left out (a lost race: not in the
 * RETURNING); one whose guid a slot of this group holds now goes to the
 * unique index, which raises 23505 endpoints_guid unless that slot's put
 * came first. So does a concurrent uncommitted insert of the guid once
 * it commits. The guid test is a scalar subquery, not NOT EXISTS: that
 * one the planner made a hash anti join over a sequential scan of the
 * whole table (1.75 s a group of 10,000 at 1 M rows, against 0.17 s for
 * 10,000 probes of endpoints_guid). */
#define PG_PUT_MANY                                                                         \
	PG_PUT_COLUMNS                                                                      \
	"SELECT c.id, c.slot, c.guid, decode(c.key, 'hex'), c.hostname, c.ips, "            \
	"c.notify_port, c.registered, c.last_register, c.last_ctl_contact, "                \
	"c.last_heartbeat, c.last_poll, c.down_at, c.status, c.reason, c.ctl_reason, "      \
	"c.status_since, c.notify_pending, c.notify_src "                                   \
	"FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], "          \
	"$6::text[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], "        \
	"$12::int8[], $13::int8[], $14::int8[], $15::int8[], $16::int8[], $17::int8[], "    \
	"$18::int8[], $19::text[]) AS c(id, slot, guid, key, hostname, ips, notify_port, "  \
	"registered, last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, " \
	"status, reason, ctl_reason, status_since, notify_pending, notify_src) "            \
	"WHERE NOT coalesce((SELECT o.slot <> ALL ($2::int8[]) FROM endpoints o "           \
	"WHERE o.guid = c.guid), false) " PG_PUT_CLUSTER_SET " RETURNING endpoints.slot"
/* clang-format on */
#define PUT_CHUNK 10000u /* rows per PG_PUT_MANY: ~2 MB of parameter text */

enum pst { PS_PUT, PS_DELETE, PS_CONTACTS, PS_TRANSITION, PS_COUNT };
static const char *const pst_name[PS_COUNT] = {"gn_put", "gn_delete", "gn_contacts",
					       "gn_transition"};
static const char *const pst_sql[PS_COUNT] = {
	[PS_PUT] = STORE_SQL_PUT,
	[PS_DELETE] = STORE_SQL_DELETE,
	[PS_CONTACTS] = PG_CONTACTS,
	[PS_TRANSITION] = STORE_SQL_TRANSITION,
};

/* A growing text buffer for the arrays' literals. */
struct buf {
	char *p;
	size_t len, cap;
};

struct store_db {
	PGconn *conn;
	bool created;
	bool lost;     /* the last failure was the connection's */
	bool prepared; /* this connection has the statements */
	uint64_t reconnects;
	uint64_t next_try_ns; /* no new connection attempt before this */
	unsigned backoff_ms;
	struct buf arr[PG_CONTACT_ARRAYS];
	/* Several collectors (store_db_ops.changes): the slots and ids this
	 * transaction put or deleted, for its endpoint_changes rows. */
	char collector[64]; /* "": no change feed (one collector) */
	struct buf ch_slots, ch_ids;
	size_t nchanges;
	/* pg_put_many: the group's arrays, and its slots' and guids' table */
	struct buf put_arr[STORE_SQL_PUT_PARAMS];
	uint64_t *seen_key; /* 0: empty */
	uint32_t *seen_val; /* a slot's row in the group */
	size_t seen_cap;    /* a power of two */
	uint64_t fallbacks, fallbacks_logged, fallback_log_ns;
	char err[STORE_URL_MAX + 600];
	char shown[STORE_URL_MAX]; /* masked, for the messages */
	char target[];
};

static const char *pg_error(const struct store_db *d)
{
	return d->err;
}

/* libpq's message on one line. */
static void set_err(struct store_db *d, const char *what, const char *msg)
{
	int n = snprintf(d->err, sizeof(d->err), "%s: %s: %s", d->shown, what,
			 msg && *msg ? msg : "unknown error");
	for (int i = n < (int)sizeof(d->err) ? n : (int)sizeof(d->err) - 1; i > 0; i--) {
		if (d->err[i - 1] != '\n' && d->err[i - 1] != ' ')
			break;
		d->err[i - 1] = '\0';
	}
	for (char *p = d->err; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

/* A failed call: its message, and whether the connection went with it. */
static int fail_res(struct store_db *d, PGresult *r, const char *what)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	set_err(d, what, m && *m ? m : PQerrorMessage(d->conn));
	PQclear(r);
	if (PQstatus(d->conn) != CONNECTION_OK)
		d->lost = true;
	return -1;
}

static int exec_cmd(struct store_db *d, const char *sql, const char *what)
{
	PGresult *r = PQexec(d->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_res(d, r, what);
	PQclear(r);
	return 0;
}

static int prepare_all(struct store_db *d)
{
	for (int i = 0; i < PS_COUNT; i++) {
		PGresult *r = PQprepare(d->conn, pst_name[i], pst_sql[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return fail_res(d, r, "preparing statements");
		PQclear(r);
	}
	d->prepared = true;
	return 0;
}

/* Runs a prepared statement; params in text format except where
 * `binary` marks one (the key). */
static int run(struct store_db *d, enum pst i, int n, const char *const *v, const int *lens,
	       const int *fmts)
{
	PGresult *r = PQexecPrepared(d->conn, pst_name[i], n, v, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail_res(d, r, "write");
	PQclear(r);
	return 0;
}

/* ---- the connection ---- */

/* Our defaults go before the string in the arrays: libpq keeps the last
 * value of a keyword, so anything the string says wins. */
static PGconn *connect_to(const char *target)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout", "options",
					   "application_name", "dbname",           NULL};
	const char *vals[] = {"5",         "10000", "-c statement_timeout=30000",
			      "glournetd", target,  NULL};
	return PQconnectdbParams(keys, vals, 1);
}

/* A new connection after a loss, unless the backoff says not yet. */
static int reconnect(struct store_db *d)
{
	uint64_t now = gn_mono_ns();
	if (now < d->next_try_ns) {
		d->lost = true;
		return -1; /* d->err still says why the last attempt failed */
	}
	PQfinish(d->conn);
	d->conn = connect_to(d->target);
	d->prepared = false;
	if (PQstatus(d->conn) != CONNECTION_OK) {
		set_err(d, "connecting", PQerrorMessage(d->conn));
		d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : 1000;
		if (d->backoff_ms > BACKOFF_MAX_MS)
			d->backoff_ms = BACKOFF_MAX_MS;
		d->next_try_ns = now + (uint64_t)d->backoff_ms * 1000000ull;
		d->lost = true;
		return -1;
	}
	if (prepare_all(d) < 0)
		return -1;
	d->reconnects++;
	d->backoff_ms = 0;
	d->next_try_ns = 0;
	d->lost = false;
	LOG(INFO, "%s: connected again (reconnect %" PRIu64 ")", d->shown, d->reconnects);
	return 0;
}

static int pg_ping(struct store_db *d)
{
	if (PQstatus(d->conn) != CONNECTION_OK && reconnect(d) < 0)
		return -1;
	if (exec_cmd(d, "SELECT 1", "ping") == 0) {
		d->lost = false;
		return 0;
	}
	if (PQstatus(d->conn) == CONNECTION_OK || reconnect(d) < 0)
		return -1;
	return exec_cmd(d, "SELECT 1", "ping");
}

static bool pg_unreachable(const struct store_db *d)
{
	return d->lost;
}

static uint64_t pg_reconnects(const struct store_db *d)
{
	return d->reconnects;
}

/* ---- writes ---- */

static bool buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

/* The transaction's change rows, numbered from the gap-free sequence
 * 'changes' (FLEET.md point 2): the last statements before COMMIT, so the
 * sequence's row lock is held only for the commit itself, and a reader
 * that sees change k committed sees every change below k too. */
static int write_changes(struct store_db *d)
{
	if (!d->nchanges)
		return 0;
	char n[24];
	snprintf(n, sizeof(n), "%zu", d->nchanges);
	const char *tv[] = {"changes", n};
	PGresult *r = PQexecParams(d->conn, STORE_SQL_SEQ_TAKE, 2, NULL, tv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail_res(d, r, "numbering changes");
	char base[24];
	snprintf(base, sizeof(base), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!buf_add(&d->ch_slots, "}", 1) || !buf_add(&d->ch_ids, "}", 1)) {
		snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
		return -1;
	}
	const char *v[] = {base, d->ch_slots.p, d->ch_ids.p, d->collector};
	r = PQexecParams(d->conn, PG_CHANGES, 4, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail_res(d, r, "writing changes");
	PQclear(r);
	return 0;
}

static void changes_reset(struct store_db *d)
{
	d->nchanges = 0;
	d->ch_slots.len = d->ch_ids.len = 0;
}

/* One more change row for the transaction (no-op without a feed). */
static int change_add(struct store_db *d, uint32_t slot, uint64_t id)
{
	if (!d->collector[0])
		return 0;
	char a[32], b[32];
	int64_t i;
	memcpy(&i, &id, sizeof(i));
	int la = snprintf(a, sizeof(a), "%s%" PRIu32, d->nchanges ? "," : "{", slot);
	int lb = snprintf(b, sizeof(b), "%s%" PRId64, d->nchanges ? "," : "{", i);
	if (!buf_add(&d->ch_slots, a, (size_t)la) || !buf_add(&d->ch_ids, b, (size_t)lb)) {
		snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
		return -1;
	}
	d->nchanges++;
	return 0;
}

static void pg_changes(struct store_db *d, const char *collector)
{
	snprintf(d->collector, sizeof(d->collector), "%s", collector ? collector : "");
}

/* A writer's transaction never waits between its statements, so one idle
 * for a second is a collector stalled in it (SIGSTOP, a frozen VM): the
 * server ends that session, and the row locks it held (the decider row's
 * FOR SHARE of the fence, the stream's sequence row) no longer keep its
 * successor from taking the lease (--lease is 2 s at least). One round
 * trip, the BEGIN's. */
#define PG_BEGIN "BEGIN; SET LOCAL idle_in_transaction_session_timeout = 1000"
static int pg_begin(struct store_db *d)
{
	changes_reset(d);
	if (PQstatus(d->conn) != CONNECTION_OK && reconnect(d) < 0)
		return -1;
	if (exec_cmd(d, PG_BEGIN, "begin") == 0)
		return 0;
	/* A connection the server closed while idle (a restart): one new
	 * attempt at once, not an alarm. */
	if (PQstatus(d->conn) == CONNECTION_OK || reconnect(d) < 0)
		return -1;
	return exec_cmd(d, PG_BEGIN, "begin");
}

static int pg_commit(struct store_db *d)
{
	int rc = write_changes(d);
	changes_reset(d);
	if (rc < 0)
		return rc;
	PGresult *r = PQexec(d->conn, "COMMIT");
	/* An aborted transaction "commits" as ROLLBACK, without an error. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
		return fail_res(d, r, "commit");
	PQclear(r);
	return 0;
}

static void pg_rollback(struct store_db *d)
{
	PGTransactionStatusType t = PQtransactionStatus(d->conn);
	if (t != PQTRANS_INTRANS && t != PQTRANS_INERROR)
		return; /* nothing open, or no connection: the server rolled it back */
	PGresult *r = PQexec(d->conn, "ROLLBACK");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		LOG(ERR, "%s: rollback: %s", d->shown, PQerrorMessage(d->conn));
	PQclear(r);
}

/* An address's text, or NULL (SQL NULL) without one. */
static const char *notify_text(const struct store_notify *n, char text[INET6_ADDRSTRLEN])
{
	return n->src_family && inet_ntop(n->src_family, n->src, text, INET6_ADDRSTRLEN) ? text
											 : NULL;
}

/* Several collectors: the put inside a savepoint, so that losing a race
 * for the guid (the unique index endpoints_guid of cluster.c: another
 * collector's registration of it committed first) undoes this put alone,
 * not the batch: 1. */
static int put_guarded(struct store_db *d, const char *const *v, const int *lens, const int *fmts)
{
	if (exec_cmd(d, "SAVEPOINT gn_put", "write") < 0)
		return -1;
	PGresult *r = PQexecParams(d->conn, PG_PUT_CLUSTER, STORE_SQL_PUT_PARAMS + 1, NULL, v, lens,
				   fmts, 0);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return exec_cmd(d, "RELEASE SAVEPOINT gn_put", "write");
	}
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *con = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
	if (state && strcmp(state, "23505") == 0 && con && strcmp(con, "endpoints_guid") == 0) {
		PQclear(r);
		return exec_cmd(d, "ROLLBACK TO SAVEPOINT gn_put", "write") < 0 ? -1 : 1;
	}
	return fail_res(d, r, "write");
}

/* A put's parameters but the last (notify_src) as integers, in
 * STORE_SQL_LOAD's column order; 2-5 (guid, key, hostname, ips) are not
 * integers and left 0: one list for pg_put and the groups' arrays. */
#define PUT_INTS (STORE_SQL_PUT_PARAMS - 1)
static void put_ints(const struct store_row *r, int64_t ints[PUT_INTS])
{
	int64_t id;
	memcpy(&id, &r->id, sizeof(id));
	const int64_t v[PUT_INTS] = {id,
				     r->slot,
				     0,
				     0,
				     0,
				     0,
				     r->notify_port,
				     r->registered,
				     r->last_register,
				     r->last_ctl_contact,
				     r->last_heartbeat,
				     r->last_poll,
				     r->down_at,
				     r->status,
				     r->reason,
				     r->ctl_reason,
				     r->status_since,
				     r->notify.pending};
	memcpy(ints, v, sizeof(v));
}

static int pg_put(struct store_db *d, const struct store_row *r)
{
	char num[STORE_SQL_PUT_PARAMS][24], src[INET6_ADDRSTRLEN];
	/* One more for the cluster's put: the collector's name. */
	char *guid = strndup(r->guid, r->guid_len), *host = strndup(r->hostname, r->host_len),
	     *ips = strndup(r->ips, r->ips_len);
	const char *v[STORE_SQL_PUT_PARAMS + 1];
	int lens[STORE_SQL_PUT_PARAMS + 1] = {0}, fmts[STORE_SQL_PUT_PARAMS + 1] = {0};
	if (!guid || !host || !ips) {
		free(guid), free(host), free(ips);
		snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
		return -1;
	}
	int64_t ints[PUT_INTS];
	put_ints(r, ints);
	for (int i = 0; i < PUT_INTS; i++) {
		snprintf(num[i], sizeof(num[i]), "%" PRId64, ints[i]);
		v[i] = num[i];
	}
	v[2] = guid;
	v[3] = (const char *)r->key; /* binary: bytea's bytes as they are */
	lens[3] = (int)sizeof(r->key);
	fmts[3] = 1;
	v[4] = host;
	v[5] = ips;
	v[18] = notify_text(&r->notify, src);
	v[19] = d->collector;
	int rc = d->collector[0] ? put_guarded(d, v, lens, fmts)
				 : run(d, PS_PUT, STORE_SQL_PUT_PARAMS, v, lens, fmts);
	free(guid), free(host), free(ips);
	return rc != 0 ? rc : change_add(d, r->slot, r->id);
}

/* ---- several puts at once (store_db_ops.put_many) ---- */

static uint64_t seen_hash(uint64_t k)
{
	return k * 0x9e3779b97f4a7c15ull;
}

/* Room for `n` rows' two keys at most half full, emptied; false: out of memory. */
static bool seen_reset(struct store_db *d, size_t n)
{
	size_t cap = 64;
	while (cap < 4 * n)
		cap *= 2;
	if (cap > d->seen_cap) {
		uint64_t *k = realloc(d->seen_key, cap * sizeof(*k));
		if (k)
			d->seen_key = k;
		uint32_t *v = realloc(d->seen_val, cap * sizeof(*v));
		if (v)
			d->seen_val = v;
		if (!k || !v)
			return false;
		d->seen_cap = cap;
	}
	memset(d->seen_key, 0, d->seen_cap * sizeof(*d->seen_key));
	return true;
}

/* The slot of key k (its entry's index). */
static size_t seen_find(const struct store_db *d, uint64_t k)
{
	size_t mask = d->seen_cap - 1, i = (size_t)(seen_hash(k) >> 20) & mask;
	while (d->seen_key[i] && d->seen_key[i] != k)
		i = (i + 1) & mask;
	return i;
}

/* Keys: a slot's is odd, a guid's (its FNV-1a hash) even and not 0; two
 * guids with the same hash only end a group early. */
static uint64_t slot_key(uint32_t slot)
{
	return (uint64_t)slot << 1 | 1;
}

static uint64_t guid_key(const char *g, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)g[i]) * 0x100000001b3ull;
	return h << 1 ? h << 1 : 2;
}

/* A text as it is stored: up to its first NUL, as strndup in pg_put. */
static size_t text_len(const char *s, uint16_t n)
{
	const char *z = n ? memchr(s, '\0', n) : NULL;
	return z ? (size_t)(z - s) : n;
}

/* The end of the group that begins at rows[from]: at most PUT_CHUNK rows,
 * no slot nor guid twice (one statement cannot update a row twice, and
 * the second put of a guid must see the first). Leaves the group's slots
 * in the table, each with its row. SIZE_MAX: out of memory. */
static size_t group_end(struct store_db *d, const struct store_row *const *rows, size_t from,
			size_t n)
{
	size_t max = n - from < PUT_CHUNK ? n - from : PUT_CHUNK;
	if (!seen_reset(d, max))
		return SIZE_MAX;
	size_t i = from;
	for (; i < from + max; i++) {
		uint64_t ks = slot_key(rows[i]->slot),
			 kg = guid_key(rows[i]->guid, text_len(rows[i]->guid, rows[i]->guid_len));
		size_t es = seen_find(d, ks);
		if (d->seen_key[es] || d->seen_key[seen_find(d, kg)])
			break;
		d->seen_key[es] = ks;
		d->seen_val[es] = (uint32_t)(i - from);
		d->seen_key[seen_find(d, kg)] = kg;
	}
	return i;
}

/* One element of a text[] literal, quoted: any character may be in it. */
static bool arr_text(struct buf *b, bool first, const char *s, size_t n)
{
	bool ok = buf_add(b, first ? "\"" : ",\"", first ? 1 : 2);
	for (size_t i = 0; ok && i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ok = buf_add(b, "\\", 1);
		ok = ok && buf_add(b, s + i, 1);
	}
	return ok && buf_add(b, "\"", 1);
}

/* The group's 19 arrays, in PG_PUT_MANY's column order. */
static bool put_arrays(struct store_db *d, const struct store_row *const *rows, size_t n)
{
	struct buf *a = d->put_arr;
	bool ok = true;
	for (int k = 0; k < STORE_SQL_PUT_PARAMS; k++) {
		a[k].len = 0;
		ok &= buf_add(&a[k], "{", 1);
	}
	for (size_t i = 0; ok && i < n; i++) {
		const struct store_row *r = rows[i];
		int64_t ints[PUT_INTS];
		put_ints(r, ints);
		const char *sep = i ? "," : "";
		char t[40], src[INET6_ADDRSTRLEN];
		for (int k = 0; ok && k < PUT_INTS; k++) {
			if (k >= 2 && k <= 5)
				continue;
			int m = snprintf(t, sizeof(t), "%s%" PRId64, sep, ints[k]);
			ok &= buf_add(&a[k], t, (size_t)m);
		}
		ok = ok && arr_text(&a[2], !i, r->guid, text_len(r->guid, r->guid_len));
		ok = ok && buf_add(&a[3], sep, strlen(sep));
		for (size_t b = 0; ok && b < sizeof(r->key); b++) {
			snprintf(t, sizeof(t), "%02x", r->key[b]);
			ok = buf_add(&a[3], t, 2);
		}
		ok = ok && arr_text(&a[4], !i, r->hostname, text_len(r->hostname, r->host_len));
		ok = ok && arr_text(&a[5], !i, r->ips, text_len(r->ips, r->ips_len));
		/* An address has no character an array literal must quote. */
		const char *s = notify_text(&r->notify, src);
		int m = snprintf(t, sizeof(t), "%s%s", sep, s ? s : "NULL");
		ok = ok && buf_add(&a[18], t, (size_t)m);
	}
	for (int k = 0; k < STORE_SQL_PUT_PARAMS; k++)
		ok &= buf_add(&a[k], "}", 1);
	if (!ok)
		snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
	return ok;
}

/* A group (group_end) in one statement inside a savepoint: 0 with each
 * row's result (0 written, 1 a lost race), 2 the statement met a guid
 * being written (rolled back to the savepoint: the caller puts the rows
 * one by one), -1 an error. */
static int put_group(struct store_db *d, const struct store_row *const *rows, size_t n, int *res)
{
	if (!put_arrays(d, rows, n))
		return -1;
	const char *v[STORE_SQL_PUT_PARAMS + 1];
	for (int k = 0; k < STORE_SQL_PUT_PARAMS; k++)
		v[k] = d->put_arr[k].p;
	v[STORE_SQL_PUT_PARAMS] = d->collector;
	if (exec_cmd(d, "SAVEPOINT gn_puts", "write") < 0)
		return -1;
	PGresult *r = PQexecParams(d->conn, PG_PUT_MANY, STORE_SQL_PUT_PARAMS + 1, NULL, v, NULL,
				   NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *con = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
		if (!state || strcmp(state, "23505") != 0 || !con ||
		    strcmp(con, "endpoints_guid") != 0)
			return fail_res(d, r, "write");
		PQclear(r);
		if (exec_cmd(d, "ROLLBACK TO SAVEPOINT gn_puts", "write") < 0 ||
		    exec_cmd(d, "RELEASE SAVEPOINT gn_puts", "write") < 0)
			return -1;
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		res[i] = 1;
	for (int t = 0; t < PQntuples(r); t++) {
		size_t e = seen_find(d, slot_key((uint32_t)strtoul(PQgetvalue(r, t, 0), NULL, 10)));
		if (d->seen_key[e])
			res[d->seen_val[e]] = 0;
	}
	PQclear(r);
	if (exec_cmd(d, "RELEASE SAVEPOINT gn_puts", "write") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (res[i] == 0 && change_add(d, rows[i]->slot, rows[i]->id) < 0)
			return -1;
	return 0;
}

/* Several collectors: the puts in groups of different slots and guids,
 * one statement each (PG_PUT_MANY) instead of a savepoint, an insert and
 * a release per row: an import went from ~1.8 k rows/s to ~16-21 k
 * (docs/store.md). A group that meets a guid being written (a concurrent
 * registration not yet committed, or a guid moving between two slots of
 * the group) is written again one row at a time, as pg_put does. One
 * collector: pg_put for each, as before. */
static int pg_put_many(struct store_db *d, const struct store_row *const *rows, size_t n, int *res)
{
	for (size_t i = 0; i < n;) {
		size_t to = d->collector[0] ? group_end(d, rows, i, n) : i + 1;
		if (to == SIZE_MAX) {
			snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
			return -1;
		}
		int rc = to - i > 1 ? put_group(d, rows + i, to - i, res + i) : 2;
		if (rc < 0)
			return -1;
		if (rc == 2) {
			if (to - i > 1)
				d->fallbacks++;
			for (size_t k = i; k < to; k++)
				if ((res[k] = pg_put(d, rows[k])) < 0)
					return -1;
		}
		i = to;
	}
	uint64_t now = gn_mono_ns();
	if (d->fallbacks != d->fallbacks_logged && now >= d->fallback_log_ns) {
		LOG(INFO,
		    "%s: %" PRIu64 " group(s) of puts written again one by one (a guid being "
		    "written by another transaction, or moving in the group), %" PRIu64 " in all",
		    d->shown, d->fallbacks - d->fallbacks_logged, d->fallbacks);
		d->fallbacks_logged = d->fallbacks;
		d->fallback_log_ns = now + 1000000000ull;
	}
	return 0;
}

static int pg_delete(struct store_db *d, uint64_t id, uint32_t slot)
{
	char a[24], b[24];
	int64_t i;
	memcpy(&i, &id, sizeof(i));
	snprintf(a, sizeof(a), "%" PRIu32, slot);
	snprintf(b, sizeof(b), "%" PRId64, i);
	const char *v[] = {a, b};
	int rc = run(d, PS_DELETE, 2, v, NULL, NULL);
	return rc < 0 ? rc : change_add(d, slot, id);
}


/* Rows [from, to) of `c` as the ten arrays' literals ("{1,2,3}"). */
static bool contact_arrays(struct store_db *d, const struct store_contact *c, size_t from,
			   size_t to)
{
	bool ok = true;
	for (int a = 0; a < PG_CONTACT_ARRAYS; a++) {
		d->arr[a].len = 0;
		ok &= buf_add(&d->arr[a], "{", 1);
	}
	for (size_t i = from; ok && i < to; i++) {
		int64_t id;
		memcpy(&id, &c[i].id, sizeof(id));
		const int64_t ints[PG_CONTACT_ARRAYS - 1] = {
			c[i].slot,          id,          c[i].last_heartbeat, c[i].last_ctl_contact,
			c[i].status,        c[i].reason, c[i].status_since,   c[i].down_at,
			c[i].notify.pending};
		const char *sep = i == from ? "" : ",";
		char t[32], src[INET6_ADDRSTRLEN];
		for (int a = 0; ok && a < PG_CONTACT_ARRAYS - 1; a++) {
			int n = snprintf(t, sizeof(t), "%s%" PRId64, sep, ints[a]);
			ok &= buf_add(&d->arr[a], t, (size_t)n);
		}
		/* An address has no character an array literal must quote. */
		const char *s = notify_text(&c[i].notify, src);
		int n = snprintf(t, sizeof(t), "%s%s", sep, s ? s : "NULL");
		ok &= buf_add(&d->arr[PG_CONTACT_ARRAYS - 1], t, (size_t)n);
	}
	for (int a = 0; a < PG_CONTACT_ARRAYS; a++)
		ok &= buf_add(&d->arr[a], "}", 1);
	if (!ok)
		snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
	return ok;
}

static int pg_contacts(struct store_db *d, const struct store_contact *c, size_t n)
{
	for (size_t from = 0; from < n; from += CONTACT_CHUNK) {
		size_t to = n - from > CONTACT_CHUNK ? from + CONTACT_CHUNK : n;
		if (!contact_arrays(d, c, from, to))
			return -1;
		const char *v[PG_CONTACT_ARRAYS];
		for (int a = 0; a < PG_CONTACT_ARRAYS; a++)
			v[a] = d->arr[a].p;
		if (run(d, PS_CONTACTS, PG_CONTACT_ARRAYS, v, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static int pg_transition(struct store_db *d, const struct store_trans *t)
{
	if (t->kind != 0) /* unused: this backend numbers them, pg_transitions */
		return 0;
	char num[6][24];
	int64_t seq, id;
	memcpy(&seq, &t->seq, sizeof(seq));
	memcpy(&id, &t->id, sizeof(id));
	const int64_t ints[6] = {seq, id, t->time, t->old_status, t->new_status, t->reason};
	const char *v[6];
	for (int i = 0; i < 6; i++) {
		snprintf(num[i], sizeof(num[i]), "%" PRId64, ints[i]);
		v[i] = num[i];
	}
	return run(d, PS_TRANSITION, 6, v, NULL, NULL);
}

/* The transition stream (docs/store.md): n numbers of the gap-free
 * sequence, then the rows, one array statement. Not prepared: `sequences`
 * is cluster.c's table, made after this connection's statements are. A
 * collector alone on PostgreSQL (no cluster) has the table too: cluster.c
 * runs for every PostgreSQL store. */
#define PG_TRANS_ARRAYS 7
#define PG_TRANSITIONS                                                                           \
	"INSERT INTO transitions (seq, id, time, old_status, new_status, reason, kind, count) "  \
	"SELECT $1::int8 + t.o, t.id, t.tm, t.os, t.ns, t.rs, t.k, t.c FROM unnest($2::int8[], " \
	"$3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int2[], $8::int8[]) WITH "          \
	"ORDINALITY AS t(id, tm, os, ns, rs, k, c, o)"
static int pg_transitions(struct store_db *d, const struct store_trans *t, size_t n)
{
	_Static_assert(PG_TRANS_ARRAYS <= sizeof(d->arr) / sizeof(d->arr[0]), "arrays to build");
	for (int a = 0; a < PG_TRANS_ARRAYS; a++) {
		d->arr[a].len = 0;
		if (!buf_add(&d->arr[a], "{", 1))
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t id;
		memcpy(&id, &t[i].id, sizeof(id));
		const int64_t ints[PG_TRANS_ARRAYS] = {
			id,          t[i].time, t[i].old_status, t[i].new_status,
			t[i].reason, t[i].kind, t[i].count};
		char num[32];
		for (int a = 0; a < PG_TRANS_ARRAYS; a++) {
			int k = snprintf(num, sizeof(num), "%s%" PRId64, i ? "," : "", ints[a]);
			if (!buf_add(&d->arr[a], num, (size_t)k))
				goto oom;
		}
	}
	for (int a = 0; a < PG_TRANS_ARRAYS; a++)
		if (!buf_add(&d->arr[a], "}", 1))
			goto oom;
	/* The numbers, then at once the rows that use them: the sequence's row
	 * lock is held from here to the commit (a batch's later ops, if any,
	 * are the decider's own: no other writer waits on it but a stale
	 * decider, which the fence refuses anyway). */
	char count[24], base[24];
	snprintf(count, sizeof(count), "%zu", n);
	const char *sv[] = {"transitions", count};
	PGresult *r = PQexecParams(d->conn, STORE_SQL_SEQ_TAKE, 2, NULL, sv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail_res(d, r, "the transition sequence");
	snprintf(base, sizeof(base), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *v[PG_TRANS_ARRAYS + 1] = {base};
	for (int a = 0; a < PG_TRANS_ARRAYS; a++)
		v[a + 1] = d->arr[a].p;
	r = PQexecParams(d->conn, PG_TRANSITIONS, PG_TRANS_ARRAYS + 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail_res(d, r, "transitions");
	PQclear(r);
	return 0;
oom:
	snprintf(d->err, sizeof(d->err), "%s: write: out of memory", d->shown);
	return -1;
}

/* ---- schema ---- */

/* Runs `steps` in one transaction: all or nothing. */
/* The fence (store_db.h): the decider row, locked for share until the
 * commit. The table is cluster.c's; without it (one collector) there is
 * no fence to ask. */
#define PG_FENCE "SELECT 1 FROM decider WHERE holder = $1 AND epoch = $2 FOR SHARE"
static int pg_fence(struct store_db *d, const char *holder, int64_t epoch)
{
	char ep[24];
	snprintf(ep, sizeof(ep), "%" PRId64, epoch);
	const char *v[] = {holder, ep};
	PGresult *r = PQexecParams(d->conn, PG_FENCE, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_res(d, r, "fence");
	int held = PQntuples(r) == 1;
	PQclear(r);
	return held;
}

static int exec_tx(struct store_db *d, const char *const *steps, size_t n, const char *what)
{
	if (exec_cmd(d, "BEGIN", what) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (exec_cmd(d, steps[i], what) < 0) {
			pg_rollback(d);
			return -1;
		}
	return exec_cmd(d, "COMMIT", what);
}

/* No table meta: only a schema without tables may become a store. Views
 * do not count: pg_auto_failover (and many a production setup) installs
 * pg_stat_statements, whose views sit in public of the application's
 * database. */
static int create_schema(struct store_db *d)
{
	PGresult *r = PQexec(d->conn, "SELECT count(*) FROM information_schema.tables "
				      "WHERE table_schema = current_schema() AND "
				      "table_type = 'BASE TABLE'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_res(d, r, "opening");
	long tables = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (tables > 0) {
		snprintf(d->err, sizeof(d->err),
			 "%s: not a glournet store (a database with tables but no table meta)",
			 d->shown);
		return -1;
	}
	char ins[96];
	snprintf(ins, sizeof(ins), STORE_SQL_SET_VERSION, STORE_SCHEMA_VERSION);
	const char *const steps[] = {
		STORE_SQL_META,
		"CREATE TABLE endpoints " STORE_SQL_ENDPOINTS_V3(PG_SLOT_PK, PG_INT, PG_BYTES),
		STORE_SQL_TRANSITIONS(PG_INT),
		ins,
	};
	if (exec_tx(d, steps, sizeof(steps) / sizeof(steps[0]), "creating the schema") < 0)
		return -1;
	LOG(INFO, "%s: new store, schema version %d", d->shown, STORE_SCHEMA_VERSION);
	d->created = true;
	return 0;
}

/* Creates the schema in an empty database; checks (and migrates) the version otherwise. */
static int schema_check(struct store_db *d)
{
	/* PostgreSQL-only: asked first, so a new store logs no error on the server. */
	PGresult *r = PQexec(d->conn, "SELECT to_regclass('meta') IS NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail_res(d, r, "opening");
	bool none = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	if (none)
		return create_schema(d);
	r = PQexec(d->conn, STORE_SQL_SCHEMA_VERSION);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_res(d, r, "reading the schema version");
	const char *v = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
	char *endp = NULL;
	long ver = v ? strtol(v, &endp, 10) : -1;
	bool bad = !v || endp == v || *endp;
	PQclear(r);
	if (bad) {
		snprintf(d->err, sizeof(d->err),
			 "%s: not a glournet store (no schema_version in table meta)", d->shown);
		return -1;
	}
	if (ver == 2) {
		static const char *const steps[] = {STORE_SQL_MIGRATE_V2(PG_INT)};
		_Static_assert(STORE_SCHEMA_VERSION == 3, "a migration per version");
		if (exec_tx(d, steps, sizeof(steps) / sizeof(steps[0]), "migrating") < 0) {
			LOG(ERR, "%s: migrating the store from schema version 2 failed: %s",
			    d->shown, d->err);
			return -1;
		}
		LOG(INFO, "%s: store migrated from schema version 2 to 3 (notify state)", d->shown);
		return 0;
	}
	if (ver != STORE_SCHEMA_VERSION) {
		/* Version 1 was SQLite's alone: no PostgreSQL store had it. */
		snprintf(d->err, sizeof(d->err),
			 "%s: schema version %ld, but this glournet reads version %d only",
			 d->shown, ver, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static void pg_close(struct store_db *d)
{
	if (!d)
		return;
	PQfinish(d->conn);
	for (int a = 0; a < PG_CONTACT_ARRAYS; a++)
		free(d->arr[a].p);
	free(d->ch_slots.p);
	free(d->ch_ids.p);
	for (int a = 0; a < STORE_SQL_PUT_PARAMS; a++)
		free(d->put_arr[a].p);
	free(d->seen_key);
	free(d->seen_val);
	free(d);
}

static struct store_db *pg_open(const char *target, char *err, size_t errlen)
{
	size_t len = strlen(target) + 1;
	struct store_db *d = calloc(1, sizeof(*d) + len);
	if (!d) {
		snprintf(err, errlen, "postgresql: out of memory");
		return NULL;
	}
	memcpy(d->target, target, len);
	store_url_mask(target, d->shown, sizeof(d->shown));
	d->conn = connect_to(target);
	if (PQstatus(d->conn) != CONNECTION_OK)
		set_err(d, "connecting", PQerrorMessage(d->conn));
	if (PQstatus(d->conn) != CONNECTION_OK || schema_check(d) < 0 || prepare_all(d) < 0) {
		snprintf(err, errlen, "%s", d->err);
		pg_close(d);
		return NULL;
	}
	return d;
}

/* ---- meta ---- */

static bool pg_created(const struct store_db *d)
{
	return d->created;
}

static int pg_meta_get(struct store_db *d, const char *key, char *buf, size_t len)
{
	const char *v[] = {key};
	PGresult *r = PQexecParams(d->conn, STORE_SQL_META_GET, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail_res(d, r, "reading meta");
		return -EIO;
	}
	int ret = -ENOENT;
	if (PQntuples(r) == 1) {
		if (!PQgetisnull(r, 0, 0) && (size_t)PQgetlength(r, 0, 0) < len) {
			snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
			ret = 0;
		} else {
			snprintf(d->err, sizeof(d->err), "%s: meta %s: not a short text", d->shown,
				 key);
			ret = -EINVAL;
		}
	}
	PQclear(r);
	return ret;
}

static int pg_meta_set(struct store_db *d, const char *key, const char *value)
{
	const char *v[] = {key, value};
	PGresult *r = PQexecParams(d->conn, STORE_SQL_META_SET, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fail_res(d, r, "writing meta");
		return -EIO;
	}
	PQclear(r);
	return 0;
}

/* ---- load ---- */

/* Column `col` of row `row` as an integer in [0, max]; NULL reads as 0 where allowed. */
static bool col_uint(const PGresult *r, int row, int col, uint64_t max, bool nullable,
		     uint64_t *out)
{
	if (PQgetisnull(r, row, col)) {
		*out = 0;
		return nullable;
	}
	const char *s = PQgetvalue(r, row, col);
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || (uint64_t)v > max)
		return false;
	*out = (uint64_t)v;
	return true;
}

static bool col_text(const PGresult *r, int row, int col, char *buf, size_t size, bool nullable)
{
	if (PQgetisnull(r, row, col))
		return nullable;
	size_t n = (size_t)PQgetlength(r, row, col);
	if (n >= size)
		return false;
	memcpy(buf, PQgetvalue(r, row, col), n);
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Row `row`, columns as in STORE_SQL_LOAD, text format (bytea as "\x" and hex). */
static int row_to_endpoint(const PGresult *r, int row, struct store_endpoint *e)
{
	static const uint64_t max[] = {/* columns 6..16 */
				       UINT16_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
				       UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT8_MAX,
				       UINT8_MAX,  UINT8_MAX,  UINT32_MAX};
	uint64_t slot, v[11], pending;
	memset(e, 0, sizeof(*e));
	if (PQgetisnull(r, row, 0) || !col_uint(r, row, 1, UINT32_MAX, false, &slot) ||
	    !col_text(r, row, 2, e->guid, sizeof(e->guid), false) ||
	    !col_text(r, row, 4, e->hostname, sizeof(e->hostname), true) ||
	    !col_text(r, row, 5, e->ips, sizeof(e->ips), true))
		return -1;
	for (int i = 0; i < 11; i++)
		if (!col_uint(r, row, 6 + i, max[i], true, &v[i]))
			return -1;
	errno = 0;
	char *end;
	const char *ids = PQgetvalue(r, row, 0);
	long long id = strtoll(ids, &end, 10);
	const char *key = PQgetvalue(r, row, 3);
	if (errno || end == ids || *end || PQgetisnull(r, row, 3) ||
	    PQgetlength(r, row, 3) != 2 + 2 * (int)sizeof(e->key) || key[0] != '\\' ||
	    key[1] != 'x')
		return -1;
	for (size_t i = 0; i < sizeof(e->key); i++) {
		int hi = hexval(key[2 + 2 * i]), lo = hexval(key[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		e->key[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(&e->id, &id, sizeof(e->id));
	e->slot = (uint32_t)slot;
	e->notify_port = (uint16_t)v[0];
	e->registered = (uint32_t)v[1];
	e->last_register = (uint32_t)v[2];
	e->last_ctl_contact = (uint32_t)v[3];
	e->last_heartbeat = (uint32_t)v[4];
	e->last_poll = (uint32_t)v[5];
	e->down_at = (uint32_t)v[6];
	e->status = (uint8_t)v[7];
	e->reason = (uint8_t)v[8];
	e->ctl_reason = (uint8_t)v[9];
	e->status_since = (uint32_t)v[10];
	char src[INET6_ADDRSTRLEN] = "";
	if (!col_uint(r, row, 17, UINT8_MAX, true, &pending) ||
	    !col_text(r, row, 18, src, sizeof(src), true))
		return -1;
	e->notify.pending = (uint8_t)pending;
	if (src[0] && inet_pton(AF_INET, src, e->notify.src) == 1)
		e->notify.src_family = AF_INET;
	else if (src[0] && inet_pton(AF_INET6, src, e->notify.src) == 1)
		e->notify.src_family = AF_INET6;
	return 0;
}

int store_pg_row(const struct pg_result *r, int row, struct store_endpoint *e)
{
	return row_to_endpoint((const PGresult *)r, row, e);
}

static int64_t pg_slot_span(struct store_db *d)
{
	PGresult *r = PQexec(d->conn, STORE_SQL_SLOT_SPAN);
	int64_t span = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		span = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10) + 1;
	else
		fail_res(d, r, "reading the slot span"), r = NULL;
	PQclear(r);
	return span;
}

/* The rows come through a cursor, LOAD_FETCH at a time: 10 M rows are never
 * held as one result next to the registry being filled, and each FETCH is
 * a short statement (one SELECT of 10 M rows would outlast the
 * statement_timeout, which counts the time the server waits for us). */
static int pg_load(struct store_db *d, int (*fn)(void *ctx, const struct store_endpoint *e),
		   void *ctx)
{
	struct store_endpoint *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	int ret = 0;
	if (exec_cmd(d, "BEGIN", "loading endpoints") < 0 ||
	    exec_cmd(d, "DECLARE gn_load NO SCROLL CURSOR FOR " STORE_SQL_LOAD,
		     "loading endpoints") < 0)
		ret = -EIO;
	while (ret == 0) {
		PGresult *r = PQexec(d->conn, "FETCH " LOAD_FETCH " FROM gn_load");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fail_res(d, r, "loading endpoints");
			ret = -EIO;
			break;
		}
		int n = PQntuples(r);
		for (int i = 0; i < n && ret == 0; i++) {
			if (row_to_endpoint(r, i, e) < 0) {
				LOG(ERR,
				    "%s: endpoint row with id %s does not fit (type, size or "
				    "range)",
				    d->shown, PQgetvalue(r, i, 0));
				ret = -EINVAL;
			} else {
				ret = fn(ctx, e);
			}
		}
		PQclear(r);
		if (n == 0)
			break;
	}
	if (ret == -EIO)
		LOG(ERR, "%s", d->err);
	/* Read-only: the end of the transaction closes the cursor either way. */
	pg_rollback(d);
	free(e);
	return ret;
}

const struct store_db_ops store_db_pg = {
	.name = "postgresql",
	.how = "PostgreSQL, synchronous commit",
	.open = pg_open,
	.close = pg_close,
	.slot_span = pg_slot_span,
	.load = pg_load,
	.begin = pg_begin,
	.put = pg_put,
	.put_many = pg_put_many,
	.delete = pg_delete,
	.contacts = pg_contacts,
	.transition = pg_transition,
	.transitions = pg_transitions,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.error = pg_error,
	.created = pg_created,
	.meta_get = pg_meta_get,
	.meta_set = pg_meta_set,
	.unreachable = pg_unreachable,
	.reconnects = pg_reconnects,
	.ping = pg_ping,
	.fence = pg_fence,
	.changes = pg_changes,
};
