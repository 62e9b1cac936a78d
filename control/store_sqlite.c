/*
 * The SQLite backend of the store (see store_db.h): WAL, synchronous=FULL
 * (durable at each commit), prepared statements made once and reused.
 * The tables and statements both backends run are store_sql.h's; what is
 * SQLite-only (the pragmas, sqlite_master, the per-row contact update) is
 * marked. Ids are uint64 stored as their int64 bit pattern.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "control/store_db.h"
#include "control/store_sql.h"
#define LOG_TAG "store"
#include "glournet/log.h"

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT,
	ST_DELETE,
	ST_CONTACT,
	ST_TRANSITION,
	ST_LOAD,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PUT] = STORE_SQL_PUT,
	[ST_DELETE] = STORE_SQL_DELETE,
	/* SQLite-only: one row a statement, which is cheap in process. */
	[ST_CONTACT] = "UPDATE endpoints SET last_heartbeat = ?, last_ctl_contact = ?, status = ?, "
		       "reason = ?, status_since = ?, down_at = ?, notify_pending = ?, "
		       "notify_src = ? WHERE slot = ? AND id = ?",
	[ST_TRANSITION] = STORE_SQL_TRANSITION,
	/* SQLite-only order: the slot is the rowid, so this is the table's own. */
	[ST_LOAD] = STORE_SQL_LOAD " ORDER BY slot",
};

/* SQLite's type words: the slot is the rowid (the b-tree's key). */
#define ENDPOINTS_V2 STORE_SQL_ENDPOINTS_V2("INTEGER PRIMARY KEY", "INTEGER", "BLOB") ")"

static const char *const schema_sql[] = {
	STORE_SQL_META,
	"CREATE TABLE endpoints " STORE_SQL_ENDPOINTS_V3("INTEGER PRIMARY KEY", "INTEGER", "BLOB"),
	STORE_SQL_TRANSITIONS("INTEGER"),
};

struct store_db {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool created; /* the schema was made by this open */
	char err[320];
	char path[];
};

static sqlite3_int64 i64(uint64_t v)
{
	sqlite3_int64 r;
	memcpy(&r, &v, sizeof(r));
	return r;
}

static int fail(struct store_db *d, int rc, const char *what)
{
	/* The OS error says more than SQLite's generic text ("disk I/O error"). */
	int os = d->db ? sqlite3_system_errno(d->db) : 0;
	snprintf(d->err, sizeof(d->err), "%s: %s: %s%s%s%s", d->path, what,
		 d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc), os ? " (" : "",
		 os ? strerror(os) : "", os ? ")" : "");
	return -1;
}

/* Runs a bound statement to completion and leaves it ready for reuse. */
static int run(struct store_db *d, enum stmt i, const char *what)
{
	int rc = sqlite3_step(d->st[i]);
	int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(d, rc, what);
	sqlite3_reset(d->st[i]);
	return ret;
}

static int exec1(struct store_db *d, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		snprintf(d->err, sizeof(d->err), "%s: %s: %s", d->path, sql,
			 msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- writes ---- */

static int sq_begin(struct store_db *d)
{
	return run(d, ST_BEGIN, "begin");
}

static int sq_commit(struct store_db *d)
{
	return run(d, ST_COMMIT, "commit");
}

static void sq_rollback(struct store_db *d)
{
	if (sqlite3_get_autocommit(d->db))
		return; /* SQLite rolled back already (e.g. after SQLITE_FULL) */
	int rc = sqlite3_step(d->st[ST_ROLLBACK]);
	sqlite3_reset(d->st[ST_ROLLBACK]);
	if (rc != SQLITE_DONE)
		LOG(ERR, "%s: rollback: %s", d->path, sqlite3_errmsg(d->db));
}

static const char *sq_error(const struct store_db *d)
{
	return d->err;
}

static void bind_row(sqlite3_stmt *st, const struct store_row *r)
{
	sqlite3_bind_int64(st, 1, i64(r->id));
	sqlite3_bind_int64(st, 2, r->slot);
	sqlite3_bind_text(st, 3, r->guid, r->guid_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, r->key, sizeof(r->key), SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->hostname, r->host_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->ips, r->ips_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->notify_port);
	sqlite3_bind_int64(st, 8, r->registered);
	sqlite3_bind_int64(st, 9, r->last_register);
	sqlite3_bind_int64(st, 10, r->last_ctl_contact);
	sqlite3_bind_int64(st, 11, r->last_heartbeat);
	sqlite3_bind_int64(st, 12, r->last_poll);
	sqlite3_bind_int64(st, 13, r->down_at);
	sqlite3_bind_int64(st, 14, r->status);
	sqlite3_bind_int64(st, 15, r->reason);
	sqlite3_bind_int64(st, 16, r->ctl_reason);
	sqlite3_bind_int64(st, 17, r->status_since);
}

/* The notify state's two columns at `col` and `col` + 1; `text` holds the
 * address's text while the statement runs. */
static void bind_notify(sqlite3_stmt *st, int col, const struct store_notify *n,
			char text[INET6_ADDRSTRLEN])
{
	sqlite3_bind_int64(st, col, n->pending);
	if (n->src_family && inet_ntop(n->src_family, n->src, text, INET6_ADDRSTRLEN))
		sqlite3_bind_text(st, col + 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col + 1);
}

static int sq_put(struct store_db *d, const struct store_row *r)
{
	sqlite3_stmt *st = d->st[ST_PUT];
	char src[INET6_ADDRSTRLEN];
	bind_row(st, r);
	bind_notify(st, 18, &r->notify, src);
	return run(d, ST_PUT, "write");
}

static int sq_delete(struct store_db *d, uint64_t id, uint32_t slot)
{
	sqlite3_bind_int64(d->st[ST_DELETE], 1, slot);
	sqlite3_bind_int64(d->st[ST_DELETE], 2, i64(id));
	return run(d, ST_DELETE, "write");
}

static int sq_contacts(struct store_db *d, const struct store_contact *c, size_t n)
{
	sqlite3_stmt *st = d->st[ST_CONTACT];
	char src[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, c[i].last_heartbeat);
		sqlite3_bind_int64(st, 2, c[i].last_ctl_contact);
		sqlite3_bind_int64(st, 3, c[i].status);
		sqlite3_bind_int64(st, 4, c[i].reason);
		sqlite3_bind_int64(st, 5, c[i].status_since);
		sqlite3_bind_int64(st, 6, c[i].down_at);
		bind_notify(st, 7, &c[i].notify, src);
		sqlite3_bind_int64(st, 9, c[i].slot);
		sqlite3_bind_int64(st, 10, i64(c[i].id));
		if (run(d, ST_CONTACT, "write") < 0)
			return -1;
	}
	return 0;
}

static int sq_transition(struct store_db *d, const struct store_trans *t)
{
	if (t->kind != 0)
		return 0; /* a removal or guard event: transitions.log has it (store_db.h) */
	sqlite3_stmt *st = d->st[ST_TRANSITION];
	sqlite3_bind_int64(st, 1, i64(t->seq));
	sqlite3_bind_int64(st, 2, i64(t->id));
	sqlite3_bind_int64(st, 3, t->time);
	sqlite3_bind_int64(st, 4, t->old_status);
	sqlite3_bind_int64(st, 5, t->new_status);
	sqlite3_bind_int64(st, 6, t->reason);
	return run(d, ST_TRANSITION, "write");
}

/* ---- open and close ---- */

/* Version 1 to 2 (see ENDPOINTS_V2), in one transaction: all or nothing.
 * Portable SQL. */
static int migrate_v1(struct store_db *d)
{
	static const char *const steps[] = {
		"BEGIN",
		"CREATE TABLE endpoints_v2 " ENDPOINTS_V2,
		"INSERT INTO endpoints_v2 SELECT slot, id, guid, key, hostname, ips, notify_port, "
		"registered, last_register, last_ctl_contact, last_heartbeat, last_poll, down_at, "
		"status, reason, ctl_reason, status_since FROM endpoints",
		"DROP TABLE endpoints",
		"ALTER TABLE endpoints_v2 RENAME TO endpoints",
		"UPDATE meta SET value = '2' WHERE key = 'schema_version'",
		"COMMIT",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (exec1(d, steps[i]) < 0) {
			if (!sqlite3_get_autocommit(d->db))
				sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
			LOG(ERR, "%s: migrating the store from schema version 1 failed: %s",
			    d->path, d->err);
			return -1;
		}
	LOG(INFO, "%s: store migrated from schema version 1 to 2 (endpoints keyed by slot)",
	    d->path);
	return 0;
}

/* Version 2 to 3: the notify columns, NULL in every row (nothing pending,
 * no source address: the endpoints' next contact gives it). One
 * transaction; portable SQL. */
static int migrate_v2(struct store_db *d)
{
	static const char *const steps[] = {
		"BEGIN",
		STORE_SQL_MIGRATE_V2("INTEGER"),
		"COMMIT",
	};
	_Static_assert(STORE_SCHEMA_VERSION == 3, "a migration per version");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (exec1(d, steps[i]) < 0) {
			if (!sqlite3_get_autocommit(d->db))
				sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
			LOG(ERR, "%s: migrating the store from schema version 2 failed: %s",
			    d->path, d->err);
			return -1;
		}
	LOG(INFO, "%s: store migrated from schema version 2 to 3 (notify state)", d->path);
	return 0;
}

/* Creates the schema in an empty database; checks the version otherwise. */
static int schema_check(struct store_db *d)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, STORE_SQL_SCHEMA_VERSION, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		char *endp = NULL;
		long ver = v ? strtol(v, &endp, 10) : -1;
		int ret = -1;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			fail(d, rc, "reading the schema version");
		else if (!v || endp == v || *endp)
			snprintf(d->err, sizeof(d->err),
				 "%s: not a glournet store (no schema_version "
				 "in table meta)",
				 d->path);
		else if (ver == 1 || ver == 2)
			ret = (int)ver; /* migrated below, once this statement is done */
		else if (ver != STORE_SCHEMA_VERSION)
			snprintf(d->err, sizeof(d->err),
				 "%s: schema version %ld, but this glournet "
				 "reads version %d only",
				 d->path, ver, STORE_SCHEMA_VERSION);
		else
			ret = 0;
		sqlite3_finalize(st);
		if (ret == 1 && migrate_v1(d) < 0)
			return -1;
		return ret == 1 || ret == 2 ? migrate_v2(d) : ret;
	}
	/* No table meta: only an empty database may become a store (SQLite-only query). */
	if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) !=
	    SQLITE_OK)
		return fail(d, sqlite3_extended_errcode(d->db), "opening");
	rc = sqlite3_step(st);
	sqlite3_int64 objects = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (objects < 0)
		return fail(d, rc, "opening");
	if (objects > 0) {
		snprintf(d->err, sizeof(d->err),
			 "%s: not a glournet store (a database without "
			 "table meta)",
			 d->path);
		return -1;
	}
	char ins[96];
	snprintf(ins, sizeof(ins), STORE_SQL_SET_VERSION, STORE_SCHEMA_VERSION);
	if (exec1(d, "BEGIN") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(schema_sql) / sizeof(schema_sql[0]); i++)
		if (exec1(d, schema_sql[i]) < 0)
			goto undo;
	if (exec1(d, ins) < 0 || exec1(d, "COMMIT") < 0)
		goto undo;
	LOG(INFO, "%s: new store, schema version %d", d->path, STORE_SCHEMA_VERSION);
	d->created = true;
	return 0;
undo:
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int db_setup(struct store_db *d)
{
	int rc = sqlite3_open_v2(d->path, &d->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK)
		return fail(d, rc, "opening");
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, 5000); /* another process reading, e.g. the sqlite3 shell */
	/* SQLite-only: WAL, and durable at each commit. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return fail(d, sqlite3_extended_errcode(d->db), "opening");
	rc = sqlite3_step(st);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = mode && strcmp(mode, "wal") == 0;
	if (rc != SQLITE_ROW)
		fail(d, rc, "opening");
	else if (!wal)
		snprintf(d->err, sizeof(d->err), "%s: cannot use WAL (journal mode stays %s)",
			 d->path, mode ? mode : "?");
	sqlite3_finalize(st);
	/* A large checkpoint grows the WAL; keep what stays on disk afterwards bounded. */
	/* 10 M endpoints are ~2.5 GB of b-tree with random ids: the default 2 MB
	 * page cache turns each insert into preads; 256 MiB of cache and reads
	 * through mmap keep the writer and the start-up load off the syscalls. */
	if (!wal || exec1(d, "PRAGMA synchronous=FULL") < 0 ||
	    exec1(d, "PRAGMA journal_size_limit=67108864") < 0 ||
	    exec1(d, "PRAGMA cache_size=-262144") < 0 ||
	    exec1(d, "PRAGMA mmap_size=4294967296") < 0 || schema_check(d) < 0)
		return -1;
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(d->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->st[i],
				       NULL) != SQLITE_OK)
			return fail(d, sqlite3_extended_errcode(d->db), "preparing statements");
	return 0;
}

static void sq_close(struct store_db *d);

static struct store_db *sq_open(const char *path, char *err, size_t errlen)
{
	size_t len = strlen(path) + 1;
	struct store_db *d = calloc(1, sizeof(*d) + len);
	if (!d) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	memcpy(d->path, path, len);
	if (db_setup(d) < 0) {
		snprintf(err, errlen, "%s", d->err);
		sq_close(d);
		return NULL;
	}
	return d;
}

static void sq_close(struct store_db *d)
{
	if (!d)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(d->st[i]);
	if (d->db && sqlite3_close(d->db) != SQLITE_OK)
		LOG(ERR, "%s: close: %s", d->path, sqlite3_errmsg(d->db));
	free(d);
}

/* ---- meta ---- */

static bool sq_created(const struct store_db *d)
{
	return d->created;
}

static int sq_meta_get(struct store_db *d, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, STORE_SQL_META_GET, -1, &st, NULL) != SQLITE_OK) {
		fail(d, sqlite3_extended_errcode(d->db), "reading meta");
		return -EIO;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), ret;
	const unsigned char *v = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (rc == SQLITE_ROW && v && (size_t)sqlite3_column_bytes(st, 0) < len) {
		snprintf(buf, len, "%s", (const char *)v);
		ret = 0;
	} else if (rc == SQLITE_ROW) {
		snprintf(d->err, sizeof(d->err), "%s: meta %s: not a short text", d->path, key);
		ret = -EINVAL;
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		fail(d, rc, "reading meta");
		ret = -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

/* Its own transaction, committed (durable) on return. Portable SQL. */
static int sq_meta_set(struct store_db *d, const char *key, const char *value)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, STORE_SQL_META_SET, -1, &st, NULL) != SQLITE_OK) {
		fail(d, sqlite3_extended_errcode(d->db), "writing meta");
		return -EIO;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fail(d, rc, "writing meta");
		return -EIO;
	}
	return 0;
}

/* ---- load ---- */

/* An integer column into [0, max]; NULL reads as 0 where allowed. */
static bool col_uint(sqlite3_stmt *st, int col, uint64_t max, bool nullable, uint64_t *out)
{
	int t = sqlite3_column_type(st, col);
	if (t == SQLITE_NULL && nullable) {
		*out = 0;
		return true;
	}
	if (t != SQLITE_INTEGER)
		return false;
	sqlite3_int64 v = sqlite3_column_int64(st, col);
	if (v < 0 || (uint64_t)v > max)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* A text column into buf, NUL-terminated (buf is zeroed); NULL reads as "" where allowed. */
static bool col_text(sqlite3_stmt *st, int col, char *buf, size_t size, bool nullable)
{
	int t = sqlite3_column_type(st, col);
	if (t == SQLITE_NULL)
		return nullable;
	if (t != SQLITE_TEXT)
		return false;
	const unsigned char *p = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (!p || n >= size || memchr(p, 0, n))
		return false;
	memcpy(buf, p, n);
	return true;
}

/* Columns as in ST_LOAD. 0, or -1 when the row does not fit the struct. */
static int row_to_endpoint(sqlite3_stmt *st, struct store_endpoint *e)
{
	static const uint64_t max[] = {/* columns 6..16 */
				       UINT16_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
				       UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT8_MAX,
				       UINT8_MAX,  UINT8_MAX,  UINT32_MAX};
	uint64_t slot, v[11];
	memset(e, 0, sizeof(*e));
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
	    !col_uint(st, 1, UINT32_MAX, false, &slot) ||
	    !col_text(st, 2, e->guid, sizeof(e->guid), false) ||
	    sqlite3_column_type(st, 3) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, 3) != sizeof(e->key) ||
	    !col_text(st, 4, e->hostname, sizeof(e->hostname), true) ||
	    !col_text(st, 5, e->ips, sizeof(e->ips), true))
		return -1;
	for (int i = 0; i < 11; i++)
		if (!col_uint(st, 6 + i, max[i], true, &v[i]))
			return -1;
	sqlite3_int64 id = sqlite3_column_int64(st, 0);
	memcpy(&e->id, &id, sizeof(e->id));
	memcpy(e->key, sqlite3_column_blob(st, 3), sizeof(e->key));
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
	/* The notify columns (NULL in rows a migration kept): an unreadable
	 * address is no address, the next contact gives it again. */
	uint64_t pending;
	char src[INET6_ADDRSTRLEN] = "";
	if (!col_uint(st, 17, UINT8_MAX, true, &pending) ||
	    !col_text(st, 18, src, sizeof(src), true))
		return -1;
	e->notify.pending = (uint8_t)pending;
	if (src[0] && inet_pton(AF_INET, src, e->notify.src) == 1)
		e->notify.src_family = AF_INET;
	else if (src[0] && inet_pton(AF_INET6, src, e->notify.src) == 1)
		e->notify.src_family = AF_INET6;
	return 0;
}

static int64_t sq_slot_span(struct store_db *d)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, STORE_SQL_SLOT_SPAN, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int64_t span = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		span = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0
								 : sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	return span;
}

static int sq_load(struct store_db *d, int (*fn)(void *ctx, const struct store_endpoint *e),
		   void *ctx)
{
	struct store_endpoint *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	sqlite3_stmt *st = d->st[ST_LOAD];
	int ret = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_to_endpoint(st, e) < 0) {
			LOG(ERR, "%s: endpoint row with id %lld does not fit (type, size or range)",
			    d->path, (long long)sqlite3_column_int64(st, 0));
			ret = -EINVAL;
			break;
		}
		if ((ret = fn(ctx, e)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		LOG(ERR, "%s: loading endpoints: %s", d->path, sqlite3_errmsg(d->db));
		ret = (rc & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	sqlite3_reset(st);
	free(e);
	return ret;
}

const struct store_db_ops store_db_sqlite = {
	.name = "sqlite",
	.how = "WAL, synchronous=FULL",
	.open = sq_open,
	.close = sq_close,
	.slot_span = sq_slot_span,
	.load = sq_load,
	.begin = sq_begin,
	.put = sq_put,
	.delete = sq_delete,
	.contacts = sq_contacts,
	.transition = sq_transition,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.error = sq_error,
	.created = sq_created,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
};
