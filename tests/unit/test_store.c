/*
 * The persistent store, on real SQLite files in a scratch directory.
 * Proves: what is put comes back from a reopened store field for field
 * (a key with zero bytes, an id and a sequence number with the top bit
 * set, maximal texts and integers); tickets increase and the eventfd
 * wakes a poll(2) once they are durable; put replaces by id (but never
 * moves last_heartbeat back), delete removes, contacts change only their
 * six columns and never bring back a deleted endpoint; ops apply in order; 100,000 puts take far fewer
 * transactions than ops and load back in slot order; close drains the
 * queue; a disk that fails (full tmpfs, or a file size limit: an I/O
 * error) raises the alarm, keeps every op and catches up once the disk
 * works again; a wrong schema version, a foreign database and a file that
 * is no database are refused with a message that says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "control/store.h"
#include "support/tu_scratch.h"

#define T0 1795000000u
#define TOP 0x8000000000000000ull

struct scratch {
	struct tu_scratch s;   /* s.path: the store */
	char mnt[128];         /* a tmpfs mounted here, when a test did */
	bool mounted;
};

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));
	if (!sc || tu_scratch_make(&sc->s, "store", "store.db") < 0) {
		free(sc);
		return -1;
	}
	*state = sc;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;
	if (sc->mounted)
		umount2(sc->mnt, MNT_DETACH);
	int rc = tu_scratch_remove(&sc->s);
	free(sc);
	return rc < 0 ? -1 : 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* As the control thread does: poll the eventfd, read it to clear it. */
static void wait_committed(struct store *st, uint64_t ticket, unsigned ms)
{
	uint64_t deadline = now_ms() + ms;
	while (store_committed(st) < ticket) {
		uint64_t now = now_ms();
		if (now >= deadline)
			fail_msg("ticket %llu not committed after %u ms (committed %llu)",
				 (unsigned long long)ticket, ms,
				 (unsigned long long)store_committed(st));
		struct pollfd p = {.fd = store_event_fd(st), .events = POLLIN};
		int rc = poll(&p, 1, (int)(deadline - now));
		assert_true(rc >= 0);
		if (rc == 1) {
			uint64_t v;
			assert_int_equal(read(p.fd, &v, sizeof(v)), sizeof(v));
			assert_true(v >= 1);
		}
	}
}

static struct store *open_ok(const char *path)
{
	char err[512] = "";
	struct store *st = store_open(path, err, sizeof(err));
	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

/* Every field set, none equal to another. */
static struct store_endpoint make_ep(uint64_t id, uint32_t slot)
{
	struct store_endpoint e;
	memset(&e, 0, sizeof(e));
	e.id = id;
	e.slot = slot;
	snprintf(e.guid, sizeof(e.guid), "guid-%u-%llx", slot, (unsigned long long)id);
	for (int i = 0; i < 16; i++)
		e.key[i] = (uint8_t)(id + slot + (uint64_t)i * 17);
	snprintf(e.hostname, sizeof(e.hostname), "host-%u.example.org", slot);
	snprintf(e.ips, sizeof(e.ips), "10.%u.%u.%u,fd00::%x", (slot >> 16) & 255, (slot >> 8) & 255,
		 slot & 255, slot);
	e.notify_port = (uint16_t)(1000 + slot % 50000);
	e.registered = T0 + 1;
	e.last_register = T0 + 2;
	e.last_ctl_contact = T0 + 3;
	e.last_poll = T0 + 4;
	e.down_at = T0 + 5;
	e.status_since = T0 + 6;
	e.last_heartbeat = T0 + 7;
	e.status = 2;
	e.reason = 5;
	e.ctl_reason = 3;
	e.notify.pending = (uint8_t)(slot & 0x0c);
	if (slot % 2) {
		e.notify.src_family = AF_INET;
		memcpy(e.notify.src, (uint8_t[]){198, 51, (uint8_t)(slot >> 8), (uint8_t)slot}, 4);
	}
	return e;
}

static void assert_ep_equal(const struct store_endpoint *a, const struct store_endpoint *b)
{
	assert_true(a->id == b->id);
	assert_int_equal(a->slot, b->slot);
	assert_string_equal(a->guid, b->guid);
	assert_memory_equal(a->key, b->key, sizeof(a->key));
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->ips, b->ips);
	assert_int_equal(a->notify_port, b->notify_port);
	assert_int_equal(a->registered, b->registered);
	assert_int_equal(a->last_register, b->last_register);
	assert_int_equal(a->last_ctl_contact, b->last_ctl_contact);
	assert_int_equal(a->last_poll, b->last_poll);
	assert_int_equal(a->down_at, b->down_at);
	assert_int_equal(a->status_since, b->status_since);
	assert_int_equal(a->last_heartbeat, b->last_heartbeat);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->ctl_reason, b->ctl_reason);
	assert_int_equal(a->notify.pending, b->notify.pending);
	assert_int_equal(a->notify.src_family, b->notify.src_family);
	assert_memory_equal(a->notify.src, b->notify.src, sizeof(a->notify.src));
}

/* ---- loading into an array ---- */

struct loaded {
	struct store_endpoint *eps;
	size_t n, cap;
	size_t stop_after;   /* 0: never stop */
};

static int collect(void *ctx, const struct store_endpoint *e)
{
	struct loaded *l = ctx;
	if (l->stop_after && l->n == l->stop_after)
		return -ECANCELED;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->eps = realloc(l->eps, l->cap * sizeof(*l->eps));
		assert_non_null(l->eps);
	}
	l->eps[l->n++] = *e;
	return 0;
}

static int by_slot(const void *a, const void *b)
{
	uint32_t x = ((const struct store_endpoint *)a)->slot, y = ((const struct store_endpoint *)b)->slot;
	return (x > y) - (x < y);
}

/* Every endpoint, sorted by slot (the store gives them in its own order). */
static struct loaded load_all(struct store *st)
{
	struct loaded l = {0};
	assert_int_equal(store_load_endpoints(st, collect, &l), 0);
	if (l.n)
		qsort(l.eps, l.n, sizeof(*l.eps), by_slot);
	return l;
}

/* Closes and reopens, so every check reads the file, not a cache. */
static struct loaded reload(struct store **st, const char *path)
{
	store_close(*st, 5000);
	*st = open_ok(path);
	return load_all(*st);
}

/* ================= tests ================= */

static void test_open_close_reopen(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct loaded l = load_all(st);
	assert_int_equal(l.n, 0);
	struct store_endpoint e[50];
	for (uint32_t i = 0; i < 50; i++) {
		e[i] = make_ep(1000 + i, i);
		assert_true(store_put_endpoint(st, &e[i]) > 0);
	}
	store_close(st, 5000);   /* drains: nothing waited for before */
	st = open_ok(sc->s.path);
	l = load_all(st);
	assert_int_equal(l.n, 50);
	for (uint32_t i = 0; i < 50; i++)
		assert_ep_equal(&l.eps[i], &e[i]);
	free(l.eps);
	l = reload(&st, sc->s.path);   /* and again: opening an existing store changes nothing */
	assert_int_equal(l.n, 50);
	free(l.eps);
	store_close(st, 5000);
}

static void test_roundtrip_every_field(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct store_endpoint big;
	memset(&big, 0, sizeof(big));
	big.id = UINT64_MAX - 1;          /* top bit set */
	big.slot = UINT32_MAX;
	memset(big.guid, 'g', sizeof(big.guid) - 1);
	static const uint8_t key[16] = {0, 1, 0, 0, 0xff, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0};
	memcpy(big.key, key, sizeof(key));
	memset(big.hostname, 'h', sizeof(big.hostname) - 1);
	memset(big.ips, '1', sizeof(big.ips) - 1);
	big.notify_port = UINT16_MAX;
	big.registered = UINT32_MAX;
	big.last_register = UINT32_MAX - 1;
	big.last_ctl_contact = UINT32_MAX - 2;
	big.last_poll = UINT32_MAX - 3;
	big.down_at = UINT32_MAX - 4;
	big.status_since = UINT32_MAX - 5;
	big.last_heartbeat = UINT32_MAX - 6;
	big.status = UINT8_MAX;
	big.reason = UINT8_MAX - 1;
	big.ctl_reason = UINT8_MAX - 2;

	struct store_endpoint small;
	memset(&small, 0, sizeof(small));   /* all-zero key, empty texts, zero times */
	small.id = TOP;
	strcpy(small.guid, "g");

	struct store_endpoint mid = make_ep(TOP | 0x1234, 7);

	uint64_t t1 = store_put_endpoint(st, &big);
	uint64_t t2 = store_put_endpoint(st, &small);
	uint64_t t3 = store_put_endpoint(st, &mid);
	assert_true(t1 > 0);
	assert_true(t2 == t1 + 1 && t3 == t2 + 1);
	wait_committed(st, t3, 5000);
	assert_true(store_committed(st) == t3);

	struct loaded l = load_all(st);   /* the same store, after the commit */
	assert_int_equal(l.n, 3);
	assert_ep_equal(&l.eps[0], &small);   /* slot order: 0, 7, UINT32_MAX */
	assert_ep_equal(&l.eps[1], &mid);
	assert_ep_equal(&l.eps[2], &big);
	free(l.eps);

	l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 3);
	assert_ep_equal(&l.eps[0], &small);
	assert_ep_equal(&l.eps[1], &mid);
	assert_ep_equal(&l.eps[2], &big);
	free(l.eps);

	/* a fresh store numbers from 1 again; committed starts at 0 */
	assert_true(store_committed(st) == 0);
	struct store_stats stats;
	store_get_stats(st, &stats);
	assert_int_equal(stats.queued, 0);
	assert_int_equal(stats.queue_len, 0);
	assert_int_equal(stats.queue_max, STORE_QUEUE_MAX_OPS);
	char why[64] = "x";
	assert_false(store_degraded(st, why, sizeof(why)));
	assert_string_equal(why, "");
	store_close(st, 5000);
}

static void test_replace_and_delete(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct store_endpoint a = make_ep(TOP | 1, 10), b = make_ep(2, 20), c = make_ep(3, 30);
	store_put_endpoint(st, &a);
	store_put_endpoint(st, &b);
	store_put_endpoint(st, &c);
	/* a again (a re-registration): new guid, key, texts and times, same slot */
	struct store_endpoint a2 = make_ep(TOP | 1, 10);
	strcpy(a2.guid, "renamed");
	strcpy(a2.hostname, "");
	a2.status = 0;
	store_put_endpoint(st, &a2);
	store_delete_endpoint(st, b.id, b.slot);
	store_delete_endpoint(st, c.id + 1, c.slot);   /* the slot holds another id: kept */
	uint64_t t = store_delete_endpoint(st, 999, 999);   /* unknown: nothing to do, no error */
	wait_committed(st, t, 5000);
	struct loaded l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 2);
	assert_ep_equal(&l.eps[0], &a2);
	assert_ep_equal(&l.eps[1], &c);
	free(l.eps);

	/* a slot given to a new owner (reuse after removal): the row is the new one's */
	store_delete_endpoint(st, a.id, a.slot);
	struct store_endpoint d = make_ep(4, 10);
	strcpy(d.guid, a.guid);
	t = store_put_endpoint(st, &d);
	wait_committed(st, t, 5000);
	char why[256];
	assert_false(store_degraded(st, why, sizeof(why)));
	l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 2);
	assert_ep_equal(&l.eps[0], &d);
	free(l.eps);
	store_close(st, 5000);
}

/* A put for a slot whose row another id still holds (its delete was lost:
 * a caller's bug) replaces it, and later ops go through: the registry,
 * which gave the slot out, is the truth. */
static void test_clash_does_not_wedge(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct store_endpoint a = make_ep(1, 5), b = make_ep(2, 5);
	a.last_heartbeat = T0 + 999;
	store_put_endpoint(st, &a);
	store_put_endpoint(st, &b);   /* slot 5 held by a */
	struct store_endpoint d = make_ep(4, 7);
	uint64_t t = store_put_endpoint(st, &d);
	wait_committed(st, t, 5000);
	assert_false(store_degraded(st, NULL, 0));
	struct loaded l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 2);
	assert_ep_equal(&l.eps[0], &b);   /* b's own last_heartbeat, not a's high-water mark */
	assert_ep_equal(&l.eps[1], &d);
	free(l.eps);
	store_close(st, 5000);
}

/* A store of schema version 1 (keyed by id) is migrated on open, every
 * row kept. */
static void test_migrate_v1(void **state)
{
	struct scratch *sc = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->s.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
		"INSERT INTO meta VALUES ('schema_version', '1');"
		"CREATE TABLE endpoints (id INTEGER PRIMARY KEY, slot INTEGER UNIQUE NOT NULL, "
		"guid TEXT UNIQUE NOT NULL, key BLOB NOT NULL, hostname TEXT, ips TEXT, "
		"notify_port INTEGER, registered INTEGER, last_register INTEGER, "
		"last_ctl_contact INTEGER, last_heartbeat INTEGER, last_poll INTEGER, down_at INTEGER, "
		"status INTEGER, reason INTEGER, ctl_reason INTEGER, status_since INTEGER);"
		"CREATE TABLE transitions (seq INTEGER, id INTEGER, time INTEGER, old_status INTEGER, "
		"new_status INTEGER, reason INTEGER);"
		"INSERT INTO endpoints VALUES (-5, 3, 'g3', x'00112233445566778899aabbccddeeff', 'h', "
		"'10.0.0.1', 21112, 100, 101, 102, 103, 104, 0, 1, 2, 3, 105);"
		"INSERT INTO endpoints VALUES (7, 1, 'g1', x'ffeeddccbbaa99887766554433221100', '', "
		"'', 0, 200, 201, 0, 0, 0, 0, 1, 0, 0, 205);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *st = open_ok(sc->s.path);
	struct loaded l = load_all(st);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.eps[0].slot, 1);
	assert_string_equal(l.eps[0].guid, "g1");
	assert_true(l.eps[0].id == 7);
	assert_int_equal(l.eps[1].slot, 3);
	assert_true(l.eps[1].id == (uint64_t)-5);
	assert_string_equal(l.eps[1].ips, "10.0.0.1");
	assert_int_equal(l.eps[1].last_heartbeat, 103);
	assert_int_equal(l.eps[1].status_since, 105);
	assert_int_equal(l.eps[1].notify.pending, 0);   /* the notify columns, migrated too */
	assert_int_equal(l.eps[1].notify.src_family, 0);
	free(l.eps);
	l.eps = NULL;
	/* and it is a version 3 store now: writes by slot work */
	struct store_endpoint e = make_ep(9, 2);
	uint64_t t = store_put_endpoint(st, &e);
	wait_committed(st, t, 5000);
	store_close(st, 5000);
	assert_int_equal(sqlite3_open(sc->s.path, &db), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
					    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "3");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void expect_version(const char *path, const char *want)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
					    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), want);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A store of schema version 2 (no notify state) gains the notify columns
 * on open, every row kept, nothing pending and no source address in them;
 * then they take what is written. */
static void test_migrate_v2(void **state)
{
	struct scratch *sc = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->s.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
		"INSERT INTO meta VALUES ('schema_version', '2');"
		"CREATE TABLE endpoints (slot INTEGER PRIMARY KEY, id INTEGER NOT NULL, "
		"guid TEXT NOT NULL, key BLOB NOT NULL, hostname TEXT, ips TEXT, "
		"notify_port INTEGER, registered INTEGER, last_register INTEGER, "
		"last_ctl_contact INTEGER, last_heartbeat INTEGER, last_poll INTEGER, down_at INTEGER, "
		"status INTEGER, reason INTEGER, ctl_reason INTEGER, status_since INTEGER);"
		"CREATE TABLE transitions (seq INTEGER, id INTEGER, time INTEGER, old_status INTEGER, "
		"new_status INTEGER, reason INTEGER);"
		"INSERT INTO endpoints VALUES (3, -5, 'g3', x'00112233445566778899aabbccddeeff', 'h', "
		"'10.0.0.1', 21112, 100, 101, 102, 103, 104, 0, 1, 2, 3, 105);", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	struct store *st = open_ok(sc->s.path);
	struct loaded l = load_all(st);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.eps[0].guid, "g3");
	assert_int_equal(l.eps[0].last_heartbeat, 103);
	assert_int_equal(l.eps[0].notify.pending, 0);
	assert_int_equal(l.eps[0].notify.src_family, 0);
	struct store_contact c = {.id = l.eps[0].id, .slot = 3, .last_heartbeat = 110, .status = 1,
				  .notify = {.pending = 0x0c, .src_family = AF_INET6}};
	c.notify.src[0] = 0xfd;
	c.notify.src[15] = 7;
	free(l.eps);
	uint64_t t = store_put_contacts(st, &c, 1);
	wait_committed(st, t, 5000);
	l = reload(&st, sc->s.path);
	assert_int_equal(l.eps[0].notify.pending, 0x0c);
	assert_int_equal(l.eps[0].notify.src_family, AF_INET6);
	assert_memory_equal(l.eps[0].notify.src, c.notify.src, 16);
	free(l.eps);
	store_close(st, 5000);
	expect_version(sc->s.path, "3");
}

static void test_contacts(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct store_endpoint a = make_ep(TOP | 1, 1), b = make_ep(2, 2);
	store_put_endpoint(st, &a);
	store_put_endpoint(st, &b);
	store_delete_endpoint(st, b.id, b.slot);
	struct store_contact c[3] = {
		{.id = a.id, .slot = a.slot, .last_heartbeat = T0 + 100, .last_ctl_contact = T0 + 101, .status = 1,
		 .reason = 4, .status_since = T0 + 102, .down_at = 0},
		{.id = b.id, .slot = b.slot, .last_heartbeat = T0 + 200, .status = 1},   /* deleted */
		{.id = 77, .slot = a.slot, .last_heartbeat = T0 + 300, .status = 1},     /* not its slot */
	};
	uint64_t t = store_put_contacts(st, c, 3);
	memset(c, 0xee, sizeof(c));   /* the store copied them */
	assert_true(store_put_contacts(st, NULL, 0) == t + 1);   /* empty: a no-op, still a ticket */
	wait_committed(st, t + 1, 5000);
	struct loaded l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 1);
	struct store_endpoint want = a;
	want.last_heartbeat = T0 + 100;
	want.last_ctl_contact = T0 + 101;
	want.status = 1;
	want.reason = 4;
	want.status_since = T0 + 102;
	want.down_at = 0;
	want.notify = (struct store_notify){0};   /* contacts carry the notify state too */
	assert_ep_equal(&l.eps[0], &want);
	free(l.eps);

	/* a put carries last_heartbeat too, but never moves it back: a record
	 * built without it (0) keeps the checkpointed time */
	struct store_endpoint a3 = want;
	a3.last_heartbeat = T0 + 500;
	a3.status = 3;
	store_put_endpoint(st, &a3);
	struct store_endpoint a4 = a3;
	a4.last_heartbeat = 0;
	a4.status = 0;
	t = store_put_endpoint(st, &a4);
	wait_committed(st, t, 5000);
	l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 1);
	a4.last_heartbeat = T0 + 500;
	assert_ep_equal(&l.eps[0], &a4);
	free(l.eps);

	/* contacts set it as given: the checkpoint is the sweep's word */
	struct store_contact back = {.id = a.id, .slot = a.slot, .last_heartbeat = T0 + 50, .status = 1};
	t = store_put_contacts(st, &back, 1);
	wait_committed(st, t, 5000);
	l = reload(&st, sc->s.path);
	assert_int_equal(l.eps[0].last_heartbeat, T0 + 50);
	free(l.eps);
	store_close(st, 5000);
}

static void test_order_preserved(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	struct store_endpoint x = make_ep(5, 5), x2 = make_ep(5, 5), y = make_ep(6, 7);
	strcpy(x2.hostname, "second");
	store_put_endpoint(st, &x);
	store_delete_endpoint(st, x.id, x.slot);
	store_put_endpoint(st, &x2);   /* put, delete, put: present, as last put */
	store_put_endpoint(st, &y);
	store_delete_endpoint(st, y.id, y.slot);
	store_put_endpoint(st, &y);
	uint64_t t = store_delete_endpoint(st, y.id, y.slot);   /* ..., delete: absent */
	wait_committed(st, t, 5000);
	struct loaded l = reload(&st, sc->s.path);
	assert_int_equal(l.n, 1);
	assert_ep_equal(&l.eps[0], &x2);
	free(l.eps);
	store_close(st, 5000);
}

static void test_transitions_stored(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	store_put_transition(st, 1, TOP | 9, T0, 0, 1, 4);
	uint64_t t = store_put_transition(st, UINT64_MAX, 10, UINT32_MAX, 3, 2, 7);
	store_close(st, 5000);
	assert_true(t == 2);

	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(sc->s.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, id, time, old_status, new_status, reason "
					    "FROM transitions ORDER BY rowid", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), 1);
	assert_true((uint64_t)sqlite3_column_int64(q, 1) == (TOP | 9));
	assert_int_equal(sqlite3_column_int64(q, 2), T0);
	assert_int_equal(sqlite3_column_int64(q, 3), 0);
	assert_int_equal(sqlite3_column_int64(q, 4), 1);
	assert_int_equal(sqlite3_column_int64(q, 5), 4);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true((uint64_t)sqlite3_column_int64(q, 0) == UINT64_MAX);
	assert_int_equal(sqlite3_column_int64(q, 1), 10);
	assert_int_equal(sqlite3_column_int64(q, 2), UINT32_MAX);
	assert_int_equal(sqlite3_column_int64(q, 5), 7);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_many_batched_slot_order(void **state)
{
	struct scratch *sc = *state;
	enum { N = 100000 };
	struct store *st = open_ok(sc->s.path);
	uint64_t t = 0;
	for (uint32_t i = 0; i < N; i++) {
		/* slots in a scrambled order (7919 is prime to N), ids with the top bit */
		struct store_endpoint e = make_ep(TOP | i, (uint32_t)(((uint64_t)i * 7919) % N));
		uint64_t ti = store_put_endpoint(st, &e);
		assert_true(ti == t + 1);
		t = ti;
	}
	wait_committed(st, t, 60000);
	struct store_stats stats;
	store_get_stats(st, &stats);
	assert_int_equal(stats.queued, N);
	assert_int_equal(stats.committed_ops, N);
	assert_int_equal(stats.queue_len, 0);
	assert_int_equal(stats.commit_errors, 0);
	assert_true(stats.batches >= N / 10000);
	if (stats.batches * 50 > N)
		fail_msg("%llu transactions for %d puts: not batched",
			 (unsigned long long)stats.batches, N);
	print_message("    %d puts in %llu transactions (last %.2f ms)\n", N,
		      (unsigned long long)stats.batches, stats.last_commit_ms);

	struct loaded l = reload(&st, sc->s.path);
	assert_int_equal(l.n, N);
	for (uint32_t s = 0; s < N; s++) {
		assert_int_equal(l.eps[s].slot, s);
		/* i * 7919 = s (mod N); check via the forward map */
		uint64_t i = l.eps[s].id & ~TOP;
		assert_true(l.eps[s].id & TOP);
		assert_int_equal((i * 7919) % N, s);
	}
	struct store_endpoint want = make_ep(l.eps[N / 2].id, N / 2);
	assert_ep_equal(&l.eps[N / 2], &want);
	free(l.eps);

	/* the loader stops where the callback says, and passes its error on */
	struct loaded part = {.stop_after = 10};
	assert_int_equal(store_load_endpoints(st, collect, &part), -ECANCELED);
	assert_int_equal(part.n, 10);
	free(part.eps);
	store_close(st, 5000);
}

/* ---- a disk that fails ---- */

/* Puts that need more room than the disk has; returns the last ticket. */
static uint64_t put_bulky(struct store *st, uint32_t first, uint32_t n)
{
	uint64_t t = 0;
	for (uint32_t i = first; i < first + n; i++) {
		struct store_endpoint e = make_ep(100 + i, i);
		memset(e.ips, 'a' + (char)(i % 26), sizeof(e.ips) - 1);
		memset(e.hostname, 'z' - (char)(i % 26), sizeof(e.hostname) - 1);
		t = store_put_endpoint(st, &e);
		assert_true(t > 0);
	}
	return t;
}

static void wait_degraded(struct store *st, char *why, size_t len)
{
	uint64_t deadline = now_ms() + 5000;
	while (!store_degraded(st, why, len)) {
		if (now_ms() >= deadline)
			fail_msg("the store did not notice the failing disk");
		usleep(10000);
	}
}

/* While the disk fails: alarm with a message, nothing committed, nothing
 * lost; `heal` makes it work; then the store catches up on its own. */
static void fail_and_heal(struct store **st, const char *path, uint32_t before,
			  void (*heal)(void *), void *ctx, const char *expect)
{
	char why[512];
	uint64_t t_ok = (*st) ? store_committed(*st) : 0;
	uint64_t t = put_bulky(*st, before, 200);
	wait_degraded(*st, why, sizeof(why));
	print_message("    degraded: %s\n", why);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, expect));
	struct store_stats stats;
	uint64_t deadline = now_ms() + 10000;
	do {   /* at least one retry, still failing */
		if (now_ms() >= deadline)
			fail_msg("no retry within 10 s");
		usleep(50000);
		store_get_stats(*st, &stats);
	} while (stats.commit_errors < 2);
	assert_true(store_degraded(*st, NULL, 0));
	assert_true(store_committed(*st) == t_ok);
	assert_int_equal(stats.queue_len, 200);

	heal(ctx);
	wait_committed(*st, t, 5000);
	assert_false(store_degraded(*st, why, sizeof(why)));
	struct loaded l = reload(st, path);
	assert_int_equal(l.n, before + 200);
	struct store_endpoint want = make_ep(100 + before + 199, before + 199);
	memset(want.ips, 'a' + (char)((before + 199) % 26), sizeof(want.ips) - 1);
	memset(want.hostname, 'z' - (char)((before + 199) % 26), sizeof(want.hostname) - 1);
	assert_ep_equal(&l.eps[before + 199], &want);
	free(l.eps);
}

static void unlink_filler(void *ctx)
{
	assert_int_equal(unlink(ctx), 0);
}

static void test_disk_full(void **state)
{
	struct scratch *sc = *state;
	snprintf(sc->mnt, sizeof(sc->mnt), "%s/fs", sc->s.dir);
	assert_int_equal(mkdir(sc->mnt, 0700), 0);
	if (mount("tmpfs", sc->mnt, "tmpfs", 0, "size=1m") != 0) {
		print_message("    mount tmpfs: %s (needs root): skipped\n", strerror(errno));
		skip();
	}
	sc->mounted = true;
	char path[192], filler[192];
	snprintf(path, sizeof(path), "%s/store.db", sc->mnt);
	snprintf(filler, sizeof(filler), "%s/filler", sc->mnt);
	struct store *st = open_ok(path);
	uint64_t t = put_bulky(st, 0, 10);
	wait_committed(st, t, 5000);

	int fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	static char chunk[4096];
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);

	fail_and_heal(&st, path, 10, unlink_filler, filler, "full");
	store_close(st, 5000);
}

/* From now on the WAL cannot grow (EFBIG): the next commit fails, however
 * small. Only a checkpoint writes the database file, and none is due. */
static void limit_to_wal(const char *db)
{
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", db);
	struct stat sb;
	assert_int_equal(stat(wal, &sb), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	struct rlimit lim = {.rlim_cur = (rlim_t)sb.st_size, .rlim_max = rl.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void unlimit(void *ctx)
{
	(void)ctx;
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, SIG_DFL);
}

/* A write error that is not ENOSPC (EFBIG past RLIMIT_FSIZE): needs no root. */
static void test_io_error(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	uint64_t t = put_bulky(st, 0, 10);
	wait_committed(st, t, 5000);

	limit_to_wal(sc->s.path);
	fail_and_heal(&st, sc->s.path, 10, unlimit, NULL, "I/O");
	store_close(st, 5000);
}

/* A store that cannot commit still closes within its drain time. */
static void test_close_bounded_when_failing(void **state)
{
	struct scratch *sc = *state;
	struct store *st = open_ok(sc->s.path);
	uint64_t t = put_bulky(st, 0, 2);
	wait_committed(st, t, 5000);
	limit_to_wal(sc->s.path);
	put_bulky(st, 2, 200);
	wait_degraded(st, NULL, 0);
	uint64_t t0 = now_ms();
	store_close(st, 300);
	uint64_t took = now_ms() - t0;
	unlimit(NULL);
	if (took > 2000)
		fail_msg("close took %llu ms with a 300 ms drain", (unsigned long long)took);
	st = open_ok(sc->s.path);   /* what was committed is intact */
	struct loaded l = load_all(st);
	assert_int_equal(l.n, 2);
	free(l.eps);
	store_close(st, 5000);
}

/* ---- what store_open refuses ---- */

static void sql(const char *path, const char *stmt)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", stmt, msg);
	sqlite3_close(db);
}

static void expect_refused(const char *path, const char *words)
{
	char err[512] = "";
	struct store *st = store_open(path, err, sizeof(err));
	if (st)
		fail_msg("%s opened; expected: %s", path, words);
	print_message("    refused: %s\n", err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, words));
}

static void test_refused(void **state)
{
	struct scratch *sc = *state;
	store_close(open_ok(sc->s.path), 5000);
	sql(sc->s.path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	expect_refused(sc->s.path, "schema version 99");
	sql(sc->s.path, "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
	store_close(open_ok(sc->s.path), 5000);   /* the right version opens again */

	char other[160];
	snprintf(other, sizeof(other), "%s/other.db", sc->s.dir);
	sql(other, "CREATE TABLE t (x INTEGER)");
	expect_refused(other, "not a glournet store");

	char junk[160];
	snprintf(junk, sizeof(junk), "%s/junk.db", sc->s.dir);
	FILE *fp = fopen(junk, "w");
	assert_non_null(fp);
	for (int i = 0; i < 512; i++)
		fputs("this is not a database ", fp);
	fclose(fp);
	expect_refused(junk, "not a database");

	char nodir[160];
	snprintf(nodir, sizeof(nodir), "%s/missing/dir/store.db", sc->s.dir);
	expect_refused(nodir, "unable to open");
}

#define SCRATCH(t) cmocka_unit_test_setup_teardown(t, scratch_setup, scratch_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SCRATCH(test_open_close_reopen),
		SCRATCH(test_roundtrip_every_field),
		SCRATCH(test_replace_and_delete),
		SCRATCH(test_clash_does_not_wedge),
		SCRATCH(test_migrate_v1),
		SCRATCH(test_migrate_v2),
		SCRATCH(test_contacts),
		SCRATCH(test_order_preserved),
		SCRATCH(test_transitions_stored),
		SCRATCH(test_many_batched_slot_order),
		SCRATCH(test_disk_full),
		SCRATCH(test_io_error),
		SCRATCH(test_close_bounded_when_failing),
		SCRATCH(test_refused),
	};
	/* e.g. CMOCKA_SKIP_FILTER=test_many* for a run under helgrind */
	if (getenv("CMOCKA_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
	if (getenv("CMOCKA_SKIP_FILTER"))
		cmocka_set_skip_filter(getenv("CMOCKA_SKIP_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
