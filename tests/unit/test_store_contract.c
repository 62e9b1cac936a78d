/*
 * The contract of control/store_db.h, the same for every backend: run on
 * SQLite (a scratch file) always, and on PostgreSQL too when GN_TEST_PG
 * holds a libpq connection string to an empty database that may be wiped
 * (integration-store-pg runs it so on its throwaway cluster). Proves, on
 * each: every field comes back from a reopened store (an id with the top
 * bit set, a key with zero bytes, IPv4 and IPv6 notify addresses, the
 * largest integers); a put keeps the checkpointed last heartbeat of the
 * same endpoint (high-water) but not of a new owner of the slot; a
 * contacts batch of several rows updates only the rows whose slot still
 * holds the id and never brings back a deleted one; a delete with another
 * id keeps the row; slot_span is max(slot) + 1; meta (the store id) reads
 * back, -ENOENT before; `created` is true for the open that made the
 * schema only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "control/store.h"
#include "control/store_db.h"
#include "support/tu_scratch.h"

#define T0  1795000000u
#define TOP 0x8000000000000000ull

struct backend {
	const struct store_db_ops *ops;
	char target[1024];
	struct tu_scratch s; /* SQLite's file */
};

/* A clean PostgreSQL database: the store's tables dropped. */
static void pg_wipe(const char *target)
{
	PGconn *c = PQconnectdb(target);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("GN_TEST_PG: %s", PQerrorMessage(c));
	PGresult *r = PQexec(c, "DROP TABLE IF EXISTS meta, endpoints, transitions");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("GN_TEST_PG: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static int setup_sqlite(void **state)
{
	struct backend *b = calloc(1, sizeof(*b));
	if (!b || tu_scratch_make(&b->s, "contract", "store.db") < 0)
		return -1;
	b->ops = &store_db_sqlite;
	snprintf(b->target, sizeof(b->target), "%s", b->s.path);
	*state = b;
	return 0;
}

static int setup_pg(void **state)
{
	const char *t = getenv("GN_TEST_PG");
	if (!t || !*t)
		return -1; /* not registered without it (main) */
	struct backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->ops = &store_db_pg;
	snprintf(b->target, sizeof(b->target), "%s", t);
	pg_wipe(t);
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct backend *b = *state;
	if (b->s.dir[0])
		tu_scratch_remove(&b->s);
	free(b);
	return 0;
}

static struct store *open_ok(const struct backend *b)
{
	char err[1024] = "";
	struct store *st = store_open_with(b->ops, b->target, b->ops->name, err, sizeof(err));
	if (!st)
		fail_msg("%s: open: %s", b->ops->name, err);
	return st;
}

static void wait_committed(struct store *st, uint64_t ticket)
{
	for (int i = 0; i < 1000 && store_committed(st) < ticket; i++) {
		struct pollfd p = {.fd = store_event_fd(st), .events = POLLIN};
		if (poll(&p, 1, 10) == 1) {
			uint64_t v;
			assert_int_equal(read(p.fd, &v, sizeof(v)), sizeof(v));
		}
	}
	assert_true(store_committed(st) >= ticket);
}

static struct store_endpoint make_ep(uint64_t id, uint32_t slot)
{
	struct store_endpoint e;
	memset(&e, 0, sizeof(e));
	e.id = id;
	e.slot = slot;
	snprintf(e.guid, sizeof(e.guid), "guid-%u-%llx", slot, (unsigned long long)id);
	for (int i = 0; i < 16; i++)
		e.key[i] = (uint8_t)(i % 3 ? id + slot + (uint64_t)i * 17 : 0);
	snprintf(e.hostname, sizeof(e.hostname), "host-%u.example.org", slot);
	snprintf(e.ips, sizeof(e.ips), "10.0.0.%u,fd00::%x", slot & 255, slot);
	e.notify_port = (uint16_t)(1000 + slot);
	e.registered = T0 + 1;
	e.last_register = T0 + 2;
	e.last_ctl_contact = T0 + 3;
	e.last_poll = T0 + 4;
	e.down_at = T0 + 5;
	e.status_since = T0 + 6;
	e.last_heartbeat = T0 + 7;
	e.status = 1;
	e.reason = 5;
	e.ctl_reason = 3;
	e.notify.pending = 0x0c;
	if (slot % 3 == 1) {
		e.notify.src_family = AF_INET;
		memcpy(e.notify.src, (uint8_t[]){198, 51, 100, (uint8_t)slot}, 4);
	} else if (slot % 3 == 2) {
		e.notify.src_family = AF_INET6;
		e.notify.src[0] = 0x20, e.notify.src[1] = 0x01, e.notify.src[15] = (uint8_t)slot;
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

struct loaded {
	struct store_endpoint eps[16];
	size_t n;
};

static int collect(void *ctx, const struct store_endpoint *e)
{
	struct loaded *l = ctx;
	assert_true(l->n < 16);
	l->eps[l->n++] = *e;
	return 0;
}

/* Reopened, so the database is read, not a cache; slot order. */
static struct loaded reload(struct store **st, const struct backend *b)
{
	store_close(*st, 5000);
	*st = open_ok(b);
	static struct loaded l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_load_endpoints(*st, collect, &l), 0);
	for (size_t i = 1; i < l.n; i++) /* a few rows: insertion sort */
		for (size_t j = i; j > 0 && l.eps[j - 1].slot > l.eps[j].slot; j--) {
			struct store_endpoint t = l.eps[j];
			l.eps[j] = l.eps[j - 1];
			l.eps[j - 1] = t;
		}
	return l;
}

static void test_roundtrip(void **state)
{
	const struct backend *b = *state;
	struct store *st = open_ok(b);
	assert_true(store_created(st));
	char id[40];
	assert_int_equal(store_get_id(st, id, sizeof(id)), -ENOENT);
	assert_int_equal(store_set_id(st, "0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(store_slot_span(st), 0);
	struct store_endpoint e[4] = {make_ep(TOP | 7, 0), make_ep(UINT64_MAX, 1), make_ep(42, 2),
				      make_ep(43, 9)};
	e[3].registered = e[3].last_heartbeat = UINT32_MAX;
	e[3].notify_port = UINT16_MAX;
	e[3].status = e[3].reason = e[3].ctl_reason = UINT8_MAX;
	e[3].hostname[0] = e[3].ips[0] = '\0';
	uint64_t t = 0;
	for (int i = 0; i < 4; i++)
		t = store_put_endpoint(st, &e[i]);
	wait_committed(st, t);
	struct loaded l = reload(&st, b);
	assert_false(store_created(st));
	assert_int_equal(store_get_id(st, id, sizeof(id)), 0);
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(store_slot_span(st), 10);
	assert_int_equal(l.n, 4);
	for (int i = 0; i < 4; i++)
		assert_ep_equal(&l.eps[i], &e[i]);
	store_close(st, 5000);
}

static void test_put_delete_contacts(void **state)
{
	const struct backend *b = *state;
	struct store *st = open_ok(b);
	struct store_endpoint a = make_ep(100, 0), c = make_ep(101, 1), d = make_ep(102, 2);
	store_put_endpoint(st, &a);
	store_put_endpoint(st, &c);
	uint64_t t = store_put_endpoint(st, &d);
	/* The same endpoint put again without its last heartbeat keeps it. */
	struct store_endpoint a0 = a;
	a0.last_heartbeat = 0;
	a0.last_poll = T0 + 40;
	store_put_endpoint(st, &a0);
	/* Deletes: another id keeps the row, the right one removes it. */
	store_delete_endpoint(st, 999, 1);
	t = store_delete_endpoint(st, 102, 2);
	/* One batch of contacts: the right id, a stale id, a deleted endpoint. */
	struct store_contact k[3] = {
		{.id = 100,
		 .slot = 0,
		 .last_heartbeat = T0 + 100,
		 .last_ctl_contact = T0 + 101,
		 .status = 0,
		 .reason = 2,
		 .status_since = T0 + 102,
		 .down_at = 0,
		 .notify = {.pending = 1, .src_family = AF_INET, .src = {192, 0, 2, 9}}},
		{.id = 555, .slot = 1, .last_heartbeat = T0 + 200, .status = 0},
		{.id = 102, .slot = 2, .last_heartbeat = T0 + 300, .status = 0},
	};
	t = store_put_contacts(st, k, 3);
	wait_committed(st, t);
	struct loaded l = reload(&st, b);
	assert_int_equal(l.n, 2); /* the deleted one is not brought back */
	assert_int_equal(l.eps[0].last_heartbeat, T0 + 100);
	assert_int_equal(l.eps[0].last_ctl_contact, T0 + 101);
	assert_int_equal(l.eps[0].status, 0);
	assert_int_equal(l.eps[0].reason, 2);
	assert_int_equal(l.eps[0].status_since, T0 + 102);
	assert_int_equal(l.eps[0].down_at, 0);
	assert_int_equal(l.eps[0].last_poll, T0 + 40);
	assert_int_equal(l.eps[0].notify.pending, 1);
	assert_int_equal(l.eps[0].notify.src_family, AF_INET);
	assert_memory_equal(l.eps[0].notify.src, ((uint8_t[]){192, 0, 2, 9}), 4);
	assert_ep_equal(&l.eps[1], &c); /* a stale id changes nothing */
	/* The high-water mark is the same endpoint's only: a new owner of the
	 * slot starts from its own last heartbeat. */
	struct store_endpoint n = make_ep(777, 0);
	n.last_heartbeat = T0 + 1;
	t = store_put_endpoint(st, &n);
	struct store_endpoint back = make_ep(777, 0);
	back.last_heartbeat = T0; /* older, the same id: kept at T0 + 1 */
	t = store_put_endpoint(st, &back);
	wait_committed(st, t);
	l = reload(&st, b);
	assert_int_equal(l.n, 2);
	assert_true(l.eps[0].id == 777);
	assert_int_equal(l.eps[0].last_heartbeat, T0 + 1);
	store_close(st, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{"sqlite: roundtrip", test_roundtrip, setup_sqlite, teardown, NULL},
		{"sqlite: put, delete, contacts", test_put_delete_contacts, setup_sqlite, teardown,
		 NULL},
		{"postgresql: roundtrip", test_roundtrip, setup_pg, teardown, NULL},
		{"postgresql: put, delete, contacts", test_put_delete_contacts, setup_pg, teardown,
		 NULL},
	};
	const char *pg = getenv("GN_TEST_PG");
	/* Without GN_TEST_PG, the SQLite half only. */
	size_t n = pg && *pg ? 4 : 2;
	return _cmocka_run_group_tests("store_contract", tests, n, NULL, NULL);
}
