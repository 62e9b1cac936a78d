/*
 * The store's SQL that every backend (store_db.h) runs as written: one
 * text per statement, so SQLite and PostgreSQL cannot drift apart. Ids are
 * uint64 stored as their int64 bit pattern (SQL has no unsigned integers).
 * Parameters are $1..$N, each first used in its number's order: SQLite
 * reads "$1" as a named parameter, numbered by first appearance, so the
 * indexes are the same in both. What one backend alone says (SQLite's
 * pragmas and per-row contact update, PostgreSQL's arrays) stays in its
 * own file.
 */
#ifndef GLOURNET_STORE_SQL_H
#define GLOURNET_STORE_SQL_H

/* The columns of table endpoints, version 2 (keyed by slot, no other
 * index: slots are handed out densely, so new rows append and a load reads
 * the table in order; version 1 was keyed by the random id with unique
 * indexes on slot and guid, three b-trees written at random pages per
 * insert, 14 k inserts/s at 1.4 M rows against ~60 k). The type words are
 * the backend's: SLOT_PK the key (SQLite's rowid alias "INTEGER PRIMARY
 * KEY"), INT a 64-bit integer, BYTES a blob. */
#define STORE_SQL_ENDPOINTS_V2(SLOT_PK, INT, BYTES)                                         \
	"(slot " SLOT_PK ", id " INT " NOT NULL, "                                          \
	"guid TEXT NOT NULL, key " BYTES " NOT NULL, hostname TEXT, ips TEXT, "             \
	"notify_port " INT ", registered " INT ", last_register " INT ", "                  \
	"last_ctl_contact " INT ", last_heartbeat " INT ", last_poll " INT ", down_at " INT \
	", status " INT ", reason " INT ", ctl_reason " INT ", status_since " INT
/* Version 3: the notify state a restart must keep (store.h, struct
 * store_notify), two columns more. */
#define STORE_SQL_NOTIFY_V3(INT) "notify_pending " INT ", notify_src TEXT"
#define STORE_SQL_ENDPOINTS_V3(SLOT_PK, INT, BYTES) \
	STORE_SQL_ENDPOINTS_V2(SLOT_PK, INT, BYTES) ", " STORE_SQL_NOTIFY_V3(INT) ")"

#define STORE_SQL_META "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)"
#define STORE_SQL_TRANSITIONS(INT)                                                         \
	"CREATE TABLE transitions (seq " INT ", id " INT ", time " INT ", old_status " INT \
	", new_status " INT ", reason " INT ")"

#define STORE_SQL_SCHEMA_VERSION "SELECT value FROM meta WHERE key = 'schema_version'"
#define STORE_SQL_SET_VERSION    "INSERT INTO meta (key, value) VALUES ('schema_version', '%d')"

/* Version 2 to 3: the notify columns, NULL in every row (nothing pending,
 * no source address: the endpoints' next contact gives it). Run in one
 * transaction by the backend. */
#define STORE_SQL_MIGRATE_V2(INT)                                   \
	"ALTER TABLE endpoints ADD COLUMN notify_pending " INT,     \
		"ALTER TABLE endpoints ADD COLUMN notify_src TEXT", \
		"UPDATE meta SET value = '3' WHERE key = 'schema_version'"

/* Replaces the slot's row, except that last_heartbeat is a high-water
 * mark for the same endpoint: a put built without it (0) does not erase
 * the checkpointed time; a new owner of the slot starts from its own.
 * Parameters in STORE_SQL_LOAD's column order, then the two notify ones. */
#define STORE_SQL_PUT                                                                       \
	"INSERT INTO endpoints (id, slot, guid, key, hostname, ips, notify_port, "          \
	"registered, last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, " \
	"status, reason, ctl_reason, status_since, notify_pending, notify_src) "            \
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "   \
	"$17, $18, $19) "                                                                   \
	"ON CONFLICT (slot) DO UPDATE SET id = excluded.id, guid = excluded.guid, "         \
	"key = excluded.key, hostname = excluded.hostname, ips = excluded.ips, "            \
	"notify_port = excluded.notify_port, registered = excluded.registered, "            \
	"last_register = excluded.last_register, "                                          \
	"last_ctl_contact = excluded.last_ctl_contact, "                                    \
	"last_heartbeat = CASE WHEN excluded.id = endpoints.id AND "                        \
	"endpoints.last_heartbeat > excluded.last_heartbeat "                               \
	"THEN endpoints.last_heartbeat ELSE excluded.last_heartbeat END, "                  \
	"last_poll = excluded.last_poll, "                                                  \
	"down_at = excluded.down_at, status = excluded.status, reason = excluded.reason, "  \
	"ctl_reason = excluded.ctl_reason, status_since = excluded.status_since, "          \
	"notify_pending = excluded.notify_pending, notify_src = excluded.notify_src"
#define STORE_SQL_PUT_PARAMS 19

/* By slot, and only while the slot still holds that endpoint. */
#define STORE_SQL_DELETE "DELETE FROM endpoints WHERE slot = $1 AND id = $2"

#define STORE_SQL_TRANSITION                                                       \
	"INSERT INTO transitions (seq, id, time, old_status, new_status, reason) " \
	"VALUES ($1, $2, $3, $4, $5, $6)"

/* Gap-free sequences in commit order (docs/store.md; cluster.c's table
 * `sequences`): takes $2 numbers of the sequence named $1, which are
 * (returned value) + 1 .. + $2. Run last before the COMMIT of the
 * transaction whose rows use them: its row lock serialises the writers, so
 * a reader that sees number k committed sees every number below k too. */
#define STORE_SQL_SEQ_TAKE \
	"UPDATE sequences SET last = last + $2 WHERE name = $1 RETURNING last - $2"

/* The load's columns; every backend reads them in this order. */
#define STORE_SQL_LOAD_COLUMNS                                                          \
	"id, slot, guid, key, hostname, ips, notify_port, registered, "                 \
	"last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, status, " \
	"reason, ctl_reason, status_since, notify_pending, notify_src"
#define STORE_SQL_LOAD "SELECT " STORE_SQL_LOAD_COLUMNS " FROM endpoints"

#define STORE_SQL_SLOT_SPAN "SELECT max(slot) FROM endpoints"
#define STORE_SQL_META_GET  "SELECT value FROM meta WHERE key = $1"
#define STORE_SQL_META_SET                                           \
	"INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT " \
	"(key) DO UPDATE SET value = excluded.value"

#endif
