/*
 * The persistent store: endpoints, last-contact checkpoints and transitions
 * in one database (SQLite in WAL mode by default), so a restart restores
 * everything. The control thread never waits on the disk: writes are copied
 * into a bounded queue and applied in order, in batched transactions, by the
 * store's own writer thread; each write gets a ticket, and the eventfd says
 * when the durable ticket moved. Kept small and backend-neutral so a shared
 * PostgreSQL store can plug in behind the same calls.
 *
 * Threads: every call is made from one thread (the control thread); the
 * writer thread is internal.
 */
#ifndef GLOURNET_STORE_H
#define GLOURNET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Schema this code reads and writes; a store with another version is refused. */
/* 1 (keyed by id) and 2 (no notify state) are migrated on open */
#define STORE_SCHEMA_VERSION 3

/* Bounds of the write queue (ops accepted but not yet committed). An op is
 * always accepted into an empty queue, however large its copy. */
#define STORE_QUEUE_MAX_OPS   (1u << 20)
#define STORE_QUEUE_MAX_BYTES ((size_t)512 << 20)

struct store;

/* What a restart must not forget of an endpoint's notifies (R11): the
 * change flags it has not acked (HB_FLAG_SETTINGS, _COMPONENTS) and the
 * source address they go to, with notify_port. Stored as an integer and
 * the address's text (NULL: none known). */
struct store_notify {
	uint8_t pending;
	uint8_t src_family; /* AF_INET, AF_INET6; 0: no source address */
	uint8_t src[16];
};

struct store_endpoint {
	uint64_t id;
	uint32_t slot;
	char guid[65];
	uint8_t key[16];
	char hostname[256];
	char ips[16 * 46]; /* comma-separated text, as given */
	uint16_t notify_port;
	uint32_t registered, last_register, last_ctl_contact, last_poll, down_at, status_since;
	uint32_t last_heartbeat; /* as of the last sweep; store_put_contacts keeps it current */
	uint8_t status, reason, ctl_reason; /* enum values from registry.h, stored as integers */
	struct store_notify notify;
};

struct store_contact {
	uint64_t id;
	uint32_t slot; /* the row is the slot's while it holds `id` */
	uint32_t last_heartbeat;
	uint32_t last_ctl_contact;
	uint8_t status, reason;
	uint32_t status_since;
	uint32_t down_at;
	struct store_notify notify;
};

struct store_db_ops;

/* Opens or creates the SQLite store `path` (schema created if absent, schema version
 * checked). NULL with err set. */
struct store *store_open(const char *path, char *err, size_t errlen);
/* The same on any backend (store_db.h): `target` is what its open takes (it may hold a
 * password), `shown` what the log and the operator see of it (store_url.h masks it). */
struct store *store_open_with(const struct store_db_ops *ops, const char *target, const char *shown,
			      char *err, size_t errlen);
/* Waits for the queue to drain (bounded: at most `drain_ms`), stops the writer, closes.
 * Ops still queued when the time is up are lost, and logged as such. */
void store_close(struct store *s, unsigned drain_ms);

/* True when store_open made the database (the file was missing or empty). */
bool store_created(const struct store *s);
/* The store's identity (state_dir.h): a random text given once, kept in the
 * database, so the state directory can tell its own store from a new or
 * foreign one. Start-up only. get: 0, -ENOENT (none yet), -EIO; set
 * commits before it returns. */
int store_get_id(struct store *s, char *id, size_t len);
int store_set_id(struct store *s, const char *id);

/* Highest stored slot + 1 (0: no endpoint, -1: error): what a load will fill, so the
 * registry can size itself once instead of growing through the load. */
int64_t store_slot_span(struct store *s);

/* Loading at start-up, synchronous, before the writer has work: calls `fn` for every endpoint
 * in no particular order (the table's: ordering by slot reads one random page a row, 10x
 * slower at 10 M); returns 0 or -errno. A non-zero return from `fn` stops the load and is
 * returned; a row that does not fit struct store_endpoint gives -EINVAL (logged). */
int store_load_endpoints(struct store *s, int (*fn)(void *ctx, const struct store_endpoint *e),
			 void *ctx);

/* Queued writes; return a ticket, or 0 when the queue is full (refused). Tickets increase
 * by one per accepted op; ops are applied in ticket order. */
/* Insert or replace the slot's row; last_heartbeat only moves forward for the same id (a put
 * that leaves it 0 keeps the checkpointed time). */
uint64_t store_put_endpoint(struct store *s, const struct store_endpoint *e);
/* Deletes the slot's row if it still holds `id`. */
uint64_t store_delete_endpoint(struct store *s, uint64_t id, uint32_t slot);
/* Checkpoint of last contact + status for many endpoints, one op (one transaction). Updates
 * only endpoints still present (slot and id): a deleted endpoint is not recreated. `c` is
 * copied. */
uint64_t store_put_contacts(struct store *s, const struct store_contact *c, size_t n);
uint64_t store_put_transition(struct store *s, uint64_t seq, uint64_t id, uint32_t time,
			      uint8_t old_status, uint8_t new_status, uint8_t reason);
/* Transitions (each as store_put_transition's arguments; seq is the
 * feed's) with the status rows of the endpoints they moved (as
 * store_put_contacts), ONE op: one transaction commits both or neither.
 * At most STORE_TRANSITIONS_MAX of each; copied. On PostgreSQL the store
 * numbers them from the gap-free sequence 'transitions' in that
 * transaction (docs/store.md, the transition stream), ignoring t->seq. */
#define STORE_TRANSITIONS_MAX 4096
struct store_trans;
uint64_t store_put_transitions(struct store *s, const struct store_trans *t, size_t nt,
			       const struct store_contact *c, size_t nc);

/* The fence of several collectors (cluster.h): from now on, every
 * transaction with status writes (contacts, transitions) first asks
 * `current` for the lease's holder and epoch and checks them in the same
 * transaction (store_db_ops.fence) before writing; when `current` says we
 * do not decide, or the database has another epoch (then `lost` is told
 * and the transaction rolled back), those writes are dropped (counted in
 * stats.fenced_ops; their tickets still commit) and the rest commit. So a
 * stale decider never commits a status after its successor took over.
 * Without a fence (SQLite), nothing is checked. */
struct store_fence {
	bool (*current)(void *ctx, char *holder, size_t len, int64_t *epoch);
	void (*lost)(void *ctx, int64_t epoch);
	void *ctx;
};
void store_set_fence(struct store *s, const struct store_fence *f);
/* The change feed of several collectors (cluster_changes.h): from now on
 * every put and delete also writes its endpoint_changes row, by
 * `collector`, in the same transaction. A no-op on a backend without it. */
void store_set_changes(struct store *s, const char *collector);
/* Several collectors: the puts the database refused because another slot
 * holds the guid (the same guid registered on another collector first;
 * PostgreSQL's unique index on guid). The rest of their batch committed;
 * their tickets count as committed, so the control thread takes these
 * first, when the eventfd says the ticket moved, and undoes them (drops
 * the endpoint, answers 503). Bounded: beyond STORE_REJECTED_MAX untaken,
 * counted in stats.rejected_lost. */
#define STORE_REJECTED_MAX 4096
struct store_rejected {
	uint64_t ticket, id;
	uint32_t slot;
};
size_t store_take_rejected(struct store *s, struct store_rejected *out, size_t max);

/* Readable when the committed ticket moved; the control thread reads it (8 bytes) to clear it. */
int store_event_fd(const struct store *s);
/* Highest durable ticket: every op with a ticket <= this is on disk. */
uint64_t store_committed(const struct store *s);
/* A commit running longer than this raises the alarm (a stalled disk), as
 * a failed one does; a batch of 10,000 rows commits in well under 1 s. */
#define STORE_STALL_MS 3000
/* How often an idle writer asks a server backend whether it is still there. */
#define STORE_PING_MS 2000

/* The alarm: true + text while commits fail (the writer retries every second, keeping
 * every queued op) or while one has been running for STORE_STALL_MS. The text says
 * which, with the database's own error. */
bool store_degraded(const struct store *s, char *why, size_t len);
/* True while the last batch failed because the database server is gone
 * (PostgreSQL down or unreachable; never for SQLite): a registration then
 * gets 503 + Retry-After at once rather than waiting for a commit that
 * cannot come soon. Cleared by the next commit. */
bool store_unreachable(const struct store *s);
/* "sqlite" or "postgresql"; and the store's name as shown (a path, or a
 * connection string with its password masked). */
const char *store_backend(const struct store *s);
const char *store_shown(const struct store *s);

struct store_stats {
	uint64_t queued;        /* ops accepted since open */
	uint64_t committed_ops; /* ops durable since open */
	uint64_t batches;       /* transactions committed */
	uint64_t commit_errors; /* failed attempts (each retry counts) */
	uint64_t reconnects;    /* connections made again after a loss (PostgreSQL) */
	uint64_t fenced_ops;    /* status writes dropped by the fence (store_set_fence) */
	uint64_t rejected_puts; /* puts refused as lost guid races (store_take_rejected) */
	uint64_t rejected_lost; /* of those, not kept for the control thread (full) */
	uint32_t queue_len;     /* ops accepted, not yet committed */
	uint32_t queue_max;     /* the bound: STORE_QUEUE_MAX_OPS */
	double last_commit_ms;  /* duration of the last successful transaction */
};
void store_get_stats(const struct store *s, struct store_stats *out);

#endif
