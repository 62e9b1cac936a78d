/*
 * The restore pipeline (control/persist_restore.c): a loader thread reads
 * the store while the control thread builds the registry, batch by batch.
 * Proves: more rows than the batches in flight (the ring wraps, the loader
 * waits for the builder) all come back with their fields; and a row the
 * registry cannot take stops the restore with its error, the loader
 * cancelled mid-load (a hang here is a test timeout: a failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/daemon.h"
#include "control/persist.h"
#include "control/store.h"
#include "support/tu_daemon.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"

#define ROWS 8000 /* > 8 batches of 256 in flight, after row 3000 too */
#define NOW  1795000000u

static struct tu_scratch dir;
static struct gn_daemon dmn;

static struct store_endpoint row(uint32_t i, uint32_t slot)
{
	struct store_endpoint e = {
		.id = 0x100000 + i,
		.slot = slot,
		.notify_port = (uint16_t)(20000 + i % 1000),
		.registered = NOW - 100,
		.last_register = NOW - 100,
		.last_ctl_contact = NOW - 10,
		.last_heartbeat = NOW - 5,
		.status = i % 3 ? EP_ONLINE : EP_OFFLINE,
		.status_since = NOW - 50,
		.notify = {.src_family = AF_INET},
	};
	snprintf(e.guid, sizeof(e.guid), "restore-%05u", i);
	snprintf(e.hostname, sizeof(e.hostname), "host-%u", i);
	snprintf(e.ips, sizeof(e.ips), "10.1.%u.%u", i >> 8 & 255, i & 255);
	for (unsigned k = 0; k < sizeof(e.key); k++)
		e.key[k] = (uint8_t)(i * 7 + k);
	uint32_t a = htonl(0x0a020000 + i);
	memcpy(e.notify.src, &a, 4);
	return e;
}

/* A store at `file` in the scratch directory with ROWS rows; row `bad`
 * (if < ROWS) gets a slot past the default slot table's capacity. */
static void make_store(const char *file, uint32_t bad)
{
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/%s", dir.dir, file);
	struct store *s = store_open(path, err, sizeof(err));
	if (!s)
		fail_msg("store_open %s: %s", path, err);
	for (uint32_t i = 0; i < ROWS; i++) {
		struct store_endpoint e = row(i, i == bad ? (1u << 20) + 5 : i);
		while (!store_put_endpoint(s, &e))
			; /* queue full: the writer catches up */
	}
	store_close(s, 60000); /* drains */
}

static void open_daemon(const char *file)
{
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/%s", dir.dir, file);
	assert_int_equal(tu_daemon_open(&dmn, dir.dir, NOW - 1000), 0);
	dmn.store = store_open(path, err, sizeof(err));
	if (!dmn.store)
		fail_msg("store_open %s: %s", path, err);
}

static void test_restore_many(void **state)
{
	(void)state;
	make_store("many.db", UINT32_MAX);
	open_daemon("many.db");
	assert_int_equal(persist_restore(&dmn), 0);
	struct registry *r = &dmn.reg;
	assert_int_equal(r->count, ROWS);
	tu_check_counts(r);
	for (uint32_t i = 0; i < ROWS; i += 37) {
		struct store_endpoint want = row(i, i);
		struct endpoint *ep = registry_by_guid(r, want.guid);
		if (!ep)
			fail_msg("%s not restored", want.guid);
		assert_int_equal(ep->slot, i);
		assert_true(ep->id == want.id);
		assert_ptr_equal(registry_by_id(r, want.id), ep);
		assert_memory_equal(registry_key(r, ep), want.key, sizeof(want.key));
		assert_string_equal(ep_hostname(ep), want.hostname);
		assert_int_equal(ep_notify_port(ep), want.notify_port);
		assert_int_equal(ep->status, want.status);
		assert_true(ep_notifiable(ep));
	}
	/* Every regular one has a notify address (the registry's tally). */
	assert_int_equal(r->notifiable, ROWS);
	tu_daemon_close(&dmn);
}

/* A slot table that holds 3000 slots: rows 3000.. (slot order, the
 * store's) fail; 5000 rows, 20 batches, are still to come, so the loader
 * is waiting on a full ring when the builder stops it. */
static void test_restore_stops_on_error(void **state)
{
	(void)state;
	make_store("bad.db", UINT32_MAX);
	open_daemon("bad.db");
	registry_destroy(&dmn.reg);
	slot_table_destroy(&dmn.table);
	assert_int_equal(slot_table_init(&dmn.table, 2, 3000), 0);
	assert_int_equal(registry_init(&dmn.reg, &dmn.table), 0);
	assert_int_equal(registry_reset_ranges(&dmn.reg, 0), 0);
	assert_int_equal(persist_restore(&dmn), -ENOSPC);
	/* The rows before it came back; none after it was taken. */
	assert_int_equal(dmn.reg.count, 3000);
	assert_null(registry_by_guid(&dmn.reg, "restore-03000"));
	assert_non_null(registry_by_guid(&dmn.reg, "restore-02999"));
	tu_daemon_close(&dmn);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore_many),
		cmocka_unit_test(test_restore_stops_on_error),
	};
	if (tu_scratch_make(&dir, "restore", NULL) < 0)
		return 1;
	int rc = TU_RUN(tests);
	tu_scratch_remove(&dir);
	return rc;
}
