/*
 * The store's backend: one database connection behind a handful of calls,
 * so the queue, batching, retries and tickets of store.c serve any database.
 * SQLite (store_sqlite.c) is the embedded default; a PostgreSQL backend
 * implements these same calls. A connection is used by one thread at a
 * time: store.c serialises its writer thread and the start-up load.
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

struct store_trans {
	uint64_t seq, id;
	uint32_t time;
	uint8_t old_status, new_status, reason;
};

struct store_db;

/* Opens or creates the database with the current schema; NULL with err set
 * (a schema version other than STORE_SCHEMA_VERSION is refused). */
struct store_db *store_db_open(const char *path, char *err, size_t errlen);
void store_db_close(struct store_db *db);
/* As store_load_endpoints. */
int64_t store_db_slot_span(struct store_db *db); /* max(slot) + 1, 0 empty, -1 error */
int store_db_load(struct store_db *db, int (*fn)(void *ctx, const struct store_endpoint *e),
		  void *ctx);

/* One transaction: begin, writes, commit. Each returns 0, or -1 with
 * store_db_error() set; after a failure the caller rolls back, which
 * discards the whole transaction and keeps the error text. */
int store_db_begin(struct store_db *db);
int store_db_put(struct store_db *db, const struct store_row *r); /* upsert by slot */
int store_db_delete(struct store_db *db, uint64_t id, uint32_t slot);
int store_db_contacts(struct store_db *db, const struct store_contact *c, size_t n);
int store_db_transition(struct store_db *db, const struct store_trans *t);
int store_db_commit(struct store_db *db);
void store_db_rollback(struct store_db *db);
const char *store_db_error(const struct store_db *db);

/* True when this open made the schema: the file was missing or empty. */
bool store_db_created(const struct store_db *db);
/* Table meta, outside the batches (start-up): get gives 0, -ENOENT (no
 * such key) or -EIO/-EINVAL (store_db_error says why); set commits its own
 * transaction. */
int store_db_meta_get(struct store_db *db, const char *key, char *buf, size_t len);
int store_db_meta_set(struct store_db *db, const char *key, const char *value);

#endif
