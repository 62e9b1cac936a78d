/*
 * The store's backends: one database connection behind a table of calls
 * (struct store_db_ops), so the queue, batching, retries and tickets of
 * store.c serve any database. SQLite (store_sqlite.c, store_db_sqlite) is
 * the embedded default; PostgreSQL (store_pg.c, store_db_pg) the shared
 * one. What both say in SQL is written once, in store_sql.h. A connection
 * is used by one thread at a time: store.c serialises its writer thread
 * and the start-up load.
 */
#ifndef GLOURNET_STORE_DB_H
#define GLOURNET_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/store.h"

/* An endpoint row as queued: struct store_endpoint with its text by length
 * instead of in fixed buffers (texts are not NUL-terminated). */
struct store_row {
	uint64_t id;
	uint32_t slot, registered, last_register, last_ctl_contact, last_heartbeat, last_poll,
		down_at, status_since;
	uint16_t notify_port, guid_len, host_len, ips_len;
	uint8_t status, reason, ctl_reason;
	uint8_t key[16];
	struct store_notify notify;
	const char *guid, *hostname, *ips;
};

/* A transition (transitions.h): a status change (kind TK_STATUS, 0), or,
 * for the fleet's stream only, a removal (old = new = the status it had,
 * reason its enum ep_removal) or a raise or release of the guard (id 0,
 * count the endpoints held or released). */
struct store_trans {
	uint64_t seq, id;
	uint32_t time;
	uint32_t count;
	uint8_t kind; /* enum transition_kind */
	uint8_t old_status, new_status, reason;
};

struct store_db;

/* Every backend implements each call with the contract stated here. */
struct store_db_ops {
	const char *name; /* "sqlite", "postgresql" */
	const char *how;  /* what the open log line says of it */
	/* Opens or creates the database with the current schema (`target`: a
	 * file for SQLite, a libpq connection string for PostgreSQL); NULL
	 * with err set (a schema version other than STORE_SCHEMA_VERSION
	 * that no migration reaches is refused). err never holds a password. */
	struct store_db *(*open)(const char *target, char *err, size_t errlen);
	void (*close)(struct store_db *db);
	/* As store_slot_span and store_load_endpoints. */
	int64_t (*slot_span)(struct store_db *db); /* max(slot) + 1, 0 empty, -1 error */
	int (*load)(struct store_db *db, int (*fn)(void *ctx, const struct store_endpoint *e),
		    void *ctx);

	/* One transaction: begin, writes, commit. Each returns 0, or -1 with
	 * error() set; after a failure the caller rolls back, which discards
	 * the whole transaction and keeps the error text. begin() on a lost
	 * connection tries to connect again (PostgreSQL, with backoff). */
	int (*begin)(struct store_db *db);
	/* Upsert by slot. With a change feed (changes() below) also 1: not
	 * written, another slot holds the guid (a lost race with another
	 * collector), and the transaction goes on. */
	int (*put)(struct store_db *db, const struct store_row *r);
	/* Optional (NULL: put() for each): n consecutive puts of the
	 * transaction, as n calls of put() in this order would write them;
	 * results[i] is what put() would have said of rows[i] (0, or 1 a
	 * lost race). 0, or -1 as the others. (PostgreSQL with a change
	 * feed: groups of rows in one statement each, store_pg.c.) */
	int (*put_many)(struct store_db *db, const struct store_row *const *rows, size_t n,
			int *results);
	int (*delete)(struct store_db *db, uint64_t id, uint32_t slot);
	/* Updates only the rows whose slot still holds the contact's id. */
	int (*contacts)(struct store_db *db, const struct store_contact *c, size_t n);
	/* A transition of another kind than TK_STATUS is written only by a
	 * backend that holds the fleet's stream (transitions() below); the
	 * others write nothing for it (SQLite: its one collector's
	 * transitions.log has them). */
	int (*transition)(struct store_db *db, const struct store_trans *t);
	/* Optional (NULL: transition() for each): n transitions in order,
	 * numbered by the database rather than by t->seq (PostgreSQL: the
	 * gap-free sequence 'transitions', STORE_SQL_SEQ_TAKE, in this
	 * transaction, so the numbers are in commit order across collectors),
	 * every kind with its kind and count. */
	int (*transitions)(struct store_db *db, const struct store_trans *t, size_t n);
	int (*commit)(struct store_db *db);
	void (*rollback)(struct store_db *db);
	const char *(*error)(const struct store_db *db);

	/* True when this open made the schema: the database was missing or empty. */
	bool (*created)(const struct store_db *db);
	/* Table meta, outside the batches (start-up): get gives 0, -ENOENT (no
	 * such key) or -EIO/-EINVAL (error() says why); set commits its own
	 * transaction. */
	int (*meta_get)(struct store_db *db, const char *key, char *buf, size_t len);
	int (*meta_set)(struct store_db *db, const char *key, const char *value);

	/* Optional (NULL: never): true while the last failure was the loss of
	 * the database server itself, not of one statement; and how often the
	 * connection was made again since open. Writer thread, after a batch. */
	bool (*unreachable)(const struct store_db *db);
	uint64_t (*reconnects)(const struct store_db *db);
	/* Optional: 0 when the server answers (connecting again first if the
	 * connection was lost), -1 with error() set. The idle writer calls it
	 * every STORE_PING_MS, so a lost server raises the alarm even when
	 * nothing is written. */
	int (*ping)(struct store_db *db);
	/* Optional (several collectors, store.h store_set_fence): the first
	 * statement of a transaction with status writes; locks the decider
	 * row for share until the commit, so a takeover waits for it. 1 the
	 * lease is (holder, epoch), 0 it is not (the caller rolls back), -1
	 * an error. */
	int (*fence)(struct store_db *db, const char *holder, int64_t epoch);
	/* Optional (several collectors, store.h store_set_changes): from now
	 * on every transaction that puts or deletes endpoints also writes one
	 * endpoint_changes row per put or delete, by `collector` (NULL: no
	 * more), numbered from the sequence 'changes', before its commit. */
	void (*changes)(struct store_db *db, const char *collector);
};

/* PostgreSQL: row `row` of a result with STORE_SQL_LOAD's columns first
 * (text format), as an endpoint; -1 when it does not fit. */
struct pg_result;
int store_pg_row(const struct pg_result *r, int row, struct store_endpoint *e);

extern const struct store_db_ops store_db_sqlite;
extern const struct store_db_ops store_db_pg;

#endif
