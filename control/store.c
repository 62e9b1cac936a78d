/*
 * The store (see store.h): the queue and the writer thread, over one
 * backend connection (store_db.h). The control thread copies each write
 * into a heap op and links it onto the queue under a mutex held for a few
 * stores; the writer takes the whole queue at once and applies it in
 * order, in transactions of up to BATCH_ROWS rows, so one fsync covers
 * thousands of writes. A failed transaction is rolled back and the same
 * batch retried every second: nothing accepted is ever dropped, the queue
 * bound (refusals) is the only back-pressure, store_degraded() the alarm.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "control/mono_clock.h"
#include "control/store.h"
#include "control/store_db.h"
#define LOG_TAG "store"
#include "glournet/log.h"

#define BATCH_ROWS      10000      /* rows per transaction (one op is never split) */
#define BATCH_LINGER_NS 5000000ull /* a batch closes 5 ms after its first op, or when full */
#define RETRY_NS        1000000000ull

/* OP_DROPPED: a status write the fence refused (store_set_fence); it
 * commits as nothing, so the tickets still move in order. */
/* OP_TRANSITIONS: transitions and the status rows of the endpoints they
 * moved, one op, so one transaction commits both (a transition is never
 * durable without its status change, nor the status without it). */
enum op_kind { OP_PUT, OP_DELETE, OP_CONTACTS, OP_TRANSITION, OP_TRANSITIONS, OP_DROPPED };

/* One queued write. Its payload (the endpoint's text, or the contact
 * array) follows at op + 1, in the same allocation: a queued put is about
 * 200 bytes, not the 1.1 KiB of struct store_endpoint. */
struct op {
	struct op *next;
	uint64_t ticket;
	size_t bytes;  /* the allocation, for the byte bound */
	uint32_t rows; /* weight in a batch */
	uint8_t kind;
	bool rejected; /* a put the database refused as a lost guid race (store_take_rejected) */
	union {
		struct store_row ep;
		struct {
			uint64_t id;
			uint32_t slot;
		} del;    /* OP_DELETE */
		size_t n; /* OP_CONTACTS */
		struct store_trans tr;
		struct {
			size_t nt, nc; /* store_trans[nt], then store_contact[nc] */
		} trs;                 /* OP_TRANSITIONS */
	} u;
};

struct store {
	const struct store_db_ops *ops;
	struct store_db *db;
	pthread_mutex_t db_mu; /* the connection: writer batches vs store_load_endpoints */
	char *path;
	int efd;
	_Atomic uint64_t committed;
	pthread_t writer;

	pthread_mutex_t mu;     /* everything below */
	pthread_cond_t wake;    /* the writer: first op, batch full, stop */
	struct op *head, *tail; /* queued, not yet taken by the writer */
	uint64_t head_rows;     /* rows in head..tail */
	uint64_t head_ns;       /* when the current head was queued */
	size_t queue_bytes;     /* accepted, not yet committed (the writer's batch too) */
	uint64_t next_ticket;
	bool writer_waiting;
	bool stop;
	uint64_t stop_deadline_ns;
	bool degraded;
	uint64_t degraded_ns;       /* when it began */
	uint64_t errors_at_degrade; /* stats.commit_errors then */
	char why[400];
	bool unreachable;         /* the backend lost its server (store_unreachable) */
	uint64_t last_ping_ns;    /* the idle writer's last ops->ping */
	uint64_t busy_since_ns;   /* the writer's transaction began; 0: none running */
	bool stall_logged;        /* the running one was logged as stalled */
	struct store_fence fence; /* current NULL: none (SQLite, one collector) */
	struct store_stats stats;
	struct store_rejected rejected[STORE_REJECTED_MAX]; /* committed, not taken yet */
	size_t nrejected;
};


/* Under s->mu; the condition variable runs on CLOCK_MONOTONIC. */
static void wait_until(struct store *s, uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

static void free_ops(struct op *op)
{
	while (op) {
		struct op *next = op->next;
		free(op);
		op = next;
	}
}

/* ---- the writer thread ---- */

static int apply_op(const struct store_db_ops *ops, struct store_db *db, const struct op *op)
{
	switch (op->kind) {
	case OP_PUT:
		return ops->put(db, &op->u.ep);
	case OP_DELETE:
		return ops->delete (db, op->u.del.id, op->u.del.slot);
	case OP_CONTACTS:
		return ops->contacts(db, (const struct store_contact *)(op + 1), op->u.n);
	case OP_TRANSITION: /* numbered by the database where it numbers them */
		return ops->transitions ? ops->transitions(db, &op->u.tr, 1)
					: ops->transition(db, &op->u.tr);
	case OP_TRANSITIONS: {
		const struct store_trans *t = (const struct store_trans *)(op + 1);
		const struct store_contact *c = (const struct store_contact *)(t + op->u.trs.nt);
		if (op->u.trs.nc && ops->contacts(db, c, op->u.trs.nc) < 0)
			return -1;
		if (ops->transitions)
			return op->u.trs.nt ? ops->transitions(db, t, op->u.trs.nt) : 0;
		for (size_t i = 0; i < op->u.trs.nt; i++)
			if (ops->transition(db, &t[i]) < 0)
				return -1;
		return 0;
	}
	case OP_DROPPED:
		return 0;
	}
	return -1;
}

/* The writes only the decider makes: statuses (the checkpoint) and transitions. */
static bool is_status(const struct op *op)
{
	return op->kind == OP_CONTACTS || op->kind == OP_TRANSITION || op->kind == OP_TRANSITIONS;
}

/* The first op not in the batch that begins at `ops`. */
static struct op *batch_end(struct op *ops)
{
	uint64_t rows = 0;
	struct op *op = ops;
	for (; op && (op == ops || rows + op->rows <= BATCH_ROWS); op = op->next)
		rows += op->rows;
	return op;
}

/* Turns the status writes from `from` to `end` into nothing: this
 * collector does not decide (any more). Logged once per batch. */
static void drop_status(struct store *s, struct op *from, struct op *end, bool lost)
{
	uint32_t n = 0;
	for (struct op *op = from; op != end; op = op->next)
		if (is_status(op)) {
			op->kind = OP_DROPPED;
			n++;
		}
	if (!n)
		return;
	pthread_mutex_lock(&s->mu);
	s->stats.fenced_ops += n;
	pthread_mutex_unlock(&s->mu);
	if (lost)
		LOG(WARN, "%s: fenced: %u status writes dropped (another collector decides)",
		    s->path, (unsigned)n);
}

/* The fence of a batch with status writes, in its transaction (begun):
 * 0 go on, 1 the epoch is gone (rolled back; the caller drops them and
 * tries again), -1 an error. */
static int fence_batch(struct store *s, struct op *ops, struct op *end, bool *none)
{
	*none = true;
	bool any = false;
	for (struct op *op = ops; op != end && !any; op = op->next)
		any = is_status(op);
	pthread_mutex_lock(&s->mu);
	struct store_fence f = s->fence;
	pthread_mutex_unlock(&s->mu);
	if (!any || !f.current || !s->ops->fence)
		return 0;
	char holder[256];
	int64_t epoch;
	if (!f.current(f.ctx, holder, sizeof(holder), &epoch)) {
		drop_status(s, ops, end, false);
		return 0;
	}
	*none = false;
	int rc = s->ops->fence(s->db, holder, epoch);
	if (rc == 0) {
		f.lost(f.ctx, epoch);
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

/* The run of consecutive puts that begins at *op (before `stop`) in one
 * put_many call: each one's result before the commit, the order of the
 * ops kept (a delete after a put ends the run). *op moves past the run. */
static int apply_puts(struct store *s, struct op **op, struct op *stop, uint32_t *nops)
{
	size_t n = 0;
	for (struct op *o = *op; o != stop && o->kind == OP_PUT; o = o->next)
		n++;
	const struct store_row **rows = malloc(n * sizeof(*rows));
	int *res = malloc(n * sizeof(*res));
	int rc = -1;
	if (rows && res) {
		struct op *o = *op;
		for (size_t i = 0; i < n; i++, o = o->next)
			rows[i] = &o->u.ep;
		rc = s->ops->put_many(s->db, rows, n, res);
	}
	if (rc == 0) {
		for (size_t i = 0; i < n; i++, *op = (*op)->next) {
			(*op)->rejected = res[i] == 1;
			++*nops;
		}
	} else if (!rows || !res) { /* out of memory: one at a time */
		rc = s->ops->put(s->db, &(*op)->u.ep);
		(*op)->rejected = rc == 1;
		rc = rc == 1 ? 0 : rc;
		*op = (*op)->next;
		++*nops;
	}
	free(rows);
	free(res);
	return rc;
}

/* One transaction over the first ops of `ops` (up to BATCH_ROWS rows, at
 * least one op): 0 with *end the first op not in it, or -1, rolled back. */
static int apply_batch(struct store *s, struct op *ops, struct op **end, uint32_t *nops, bool *lost,
		       uint64_t *reconnects)
{
	struct op *stop = batch_end(ops), *op;
	int rc;
	pthread_mutex_lock(&s->db_mu);
	for (;;) {
		bool none;
		op = ops;
		*nops = 0;
		rc = s->ops->begin(s->db);
		int f = rc == 0 ? fence_batch(s, ops, stop, &none) : 0;
		if (f == 1) { /* fenced: drop the status writes and go again */
			s->ops->rollback(s->db);
			drop_status(s, ops, stop, true);
			continue;
		}
		if (f < 0)
			rc = -1;
		break;
	}
	while (rc == 0 && op != stop) {
		if (op->kind == OP_PUT && s->ops->put_many) {
			rc = apply_puts(s, &op, stop, nops);
			continue;
		}
		rc = apply_op(s->ops, s->db, op);
		op->rejected =
			rc == 1; /* the guid is another slot's: not written, the rest goes on */
		if (rc == 1)
			rc = 0;
		++*nops;
		op = op->next;
	}
	if (rc == 0)
		rc = s->ops->commit(s->db);
	if (rc < 0)
		s->ops->rollback(s->db);
	*lost = rc < 0 && s->ops->unreachable && s->ops->unreachable(s->db);
	*reconnects = s->ops->reconnects ? s->ops->reconnects(s->db) : 0;
	pthread_mutex_unlock(&s->db_mu);
	*end = op;
	return rc;
}

/* The ops from `ops` to `end` are durable: free them, publish, wake the control thread. */
static void publish(struct store *s, struct op *ops, struct op *end, uint32_t nops, double ms)
{
	uint64_t last = 0;
	size_t bytes = 0;
	pthread_mutex_lock(&s->mu); /* stats first: they are current once the ticket moves */
	while (ops != end) {
		struct op *next = ops->next;
		last = ops->ticket;
		bytes += ops->bytes;
		if (ops->rejected) {
			s->stats.rejected_puts++;
			if (s->nrejected < STORE_REJECTED_MAX)
				s->rejected[s->nrejected++] =
					(struct store_rejected){.ticket = ops->ticket,
								.id = ops->u.ep.id,
								.slot = ops->u.ep.slot};
			else
				s->stats.rejected_lost++;
		}
		free(ops);
		ops = next;
	}
	uint64_t took = gn_mono_ns() - s->busy_since_ns;
	bool was_stalled = s->stall_logged;
	s->busy_since_ns = 0;
	s->stall_logged = false;
	s->stats.committed_ops += nops;
	s->stats.batches++;
	s->stats.queue_len -= nops;
	s->stats.last_commit_ms = ms;
	s->queue_bytes -= bytes;
	bool recovered = s->degraded;
	s->degraded = false;
	uint64_t failed = s->stats.commit_errors - s->errors_at_degrade;
	uint32_t left = s->stats.queue_len;
	pthread_mutex_unlock(&s->mu);
	atomic_store_explicit(&s->committed, last, memory_order_release);
	uint64_t one = 1;
	if (write(s->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, so the fd is readable anyway */
	}
	if (was_stalled) /* logged outside the lock: stderr may block */
		LOG(INFO, "%s: the stalled commit finished after %.1f s", s->path,
		    (double)took / 1e9);
	if (recovered)
		LOG(INFO,
		    "%s: commits work again after %llu failed attempts over %.1f s; %u ops "
		    "still queued",
		    s->path, (unsigned long long)failed,
		    (double)(gn_mono_ns() - s->degraded_ns) / 1e9, (unsigned)left);
}

/* Under s->mu, which it drops for the call: the idle writer's question to
 * a server backend. A failure raises the alarm as a failed commit does (and
 * marks the server unreachable); an answer clears it when nothing waits. */
static void idle_ping(struct store *s)
{
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->db_mu);
	int rc = s->ops->ping(s->db);
	bool lost = rc < 0 && s->ops->unreachable && s->ops->unreachable(s->db);
	uint64_t reconnects = s->ops->reconnects ? s->ops->reconnects(s->db) : 0;
	char err[sizeof(s->why) - 40];
	snprintf(err, sizeof(err), "%s", rc < 0 ? s->ops->error(s->db) : "");
	pthread_mutex_unlock(&s->db_mu);
	pthread_mutex_lock(&s->mu);
	s->last_ping_ns = gn_mono_ns();
	s->stats.reconnects = reconnects;
	bool raised = false, cleared = false;
	double secs = 0;
	if (rc < 0) {
		s->unreachable = lost;
		if (!s->degraded) {
			s->degraded = raised = true;
			s->degraded_ns = gn_mono_ns();
			s->errors_at_degrade = s->stats.commit_errors;
			snprintf(s->why, sizeof(s->why), "the database does not answer: %s", err);
		}
	} else if (s->degraded && !s->stats.queue_len) {
		s->degraded = s->unreachable = false;
		cleared = true;
		secs = (double)(gn_mono_ns() - s->degraded_ns) / 1e9;
	}
	pthread_mutex_unlock(&s->mu); /* stderr may block */
	if (raised)
		LOG(ERR, "%s; nothing queued, asking again every %u s", err, STORE_PING_MS / 1000);
	if (cleared)
		LOG(INFO, "%s: the database answers again after %.1f s", s->path, secs);
	pthread_mutex_lock(&s->mu);
}

static bool past_deadline(const struct store *s)
{
	return s->stop && gn_mono_ns() >= s->stop_deadline_ns;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct op *pending = NULL; /* taken from the queue, not yet committed, in order */
	/* A throughput thread: where it shares a CPU with the control thread
	 * (2 cores: one for the worker), the control thread's requests must
	 * preempt it, not wait out its time slice. */
	struct sched_param none = {0};
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (!pending) {
			s->writer_waiting = true;
			while (!s->head && !s->stop) {
				if (!s->ops->ping) {
					pthread_cond_wait(&s->wake, &s->mu);
					continue;
				}
				uint64_t due = s->last_ping_ns + STORE_PING_MS * 1000000ull;
				if (gn_mono_ns() < due)
					wait_until(s, due);
				else
					idle_ping(s);
			}
			/* Let the batch gather, unless it is full already. */
			while (s->head && !s->stop && s->head_rows < BATCH_ROWS &&
			       gn_mono_ns() < s->head_ns + BATCH_LINGER_NS)
				wait_until(s, s->head_ns + BATCH_LINGER_NS);
			s->writer_waiting = false;
			if (!s->head)
				break; /* stopped, and everything is on disk */
			pending = s->head;
			s->head = s->tail = NULL;
			s->head_rows = 0;
		}
		if (past_deadline(s))
			break;
		s->busy_since_ns = gn_mono_ns();
		pthread_mutex_unlock(&s->mu);

		struct op *end;
		uint32_t nops;
		bool lost;
		uint64_t reconnects, t0 = gn_mono_ns();
		int rc = apply_batch(s, pending, &end, &nops, &lost, &reconnects);
		pthread_mutex_lock(&s->mu);
		s->unreachable = lost;
		s->stats.reconnects = reconnects;
		pthread_mutex_unlock(&s->mu);
		if (rc == 0) {
			publish(s, pending, end, nops, (double)(gn_mono_ns() - t0) / 1e6);
			pending = end;
			pthread_mutex_lock(&s->mu);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		s->busy_since_ns = 0;
		s->stall_logged = false;
		s->stats.commit_errors++;
		if (!s->degraded) {
			s->degraded = true;
			s->degraded_ns = gn_mono_ns();
			s->errors_at_degrade = s->stats.commit_errors - 1;
			snprintf(s->why, sizeof(s->why),
				 "commits failing, retrying every second: %s",
				 s->ops->error(s->db));
			uint32_t queued = s->stats.queue_len;
			pthread_mutex_unlock(&s->mu); /* stderr may block */
			LOG(ERR, "%s; keeping %u queued ops, retrying every second",
			    s->ops->error(s->db), (unsigned)queued);
			pthread_mutex_lock(&s->mu);
		}
		uint64_t retry = gn_mono_ns() + RETRY_NS;
		while (gn_mono_ns() < retry && !past_deadline(s))
			wait_until(s, s->stop && s->stop_deadline_ns < retry ? s->stop_deadline_ns
									     : retry);
	}
	uint32_t lost = s->stats.queue_len;
	uint64_t last = s->next_ticket;
	pthread_mutex_unlock(&s->mu);
	if (lost)
		LOG(ERR, "%s: closed with %u ops not on disk (durable up to ticket %llu of %llu)",
		    s->path, (unsigned)lost, (unsigned long long)atomic_load(&s->committed),
		    (unsigned long long)last);
	free_ops(pending);
	return NULL;
}

/* ---- open, load, close ---- */

struct store *store_open(const char *path, char *err, size_t errlen)
{
	return store_open_with(&store_db_sqlite, path, path, err, errlen);
}

struct store *store_open_with(const struct store_db_ops *ops, const char *target, const char *shown,
			      char *err, size_t errlen)
{
	const char *path = shown;
	struct store *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(s);
		return NULL;
	}
	s->efd = -1;
	s->stats.queue_max = STORE_QUEUE_MAX_OPS;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->db_mu, NULL);
	s->ops = ops;
	if (!(s->db = ops->open(target, err, errlen)))
		goto fail;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", path, strerror(errno));
		goto fail;
	}
	/* The writer takes no signals: the control thread's signalfd gets them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->writer, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "%s: writer thread: %s", path, strerror(rc));
		goto fail;
	}
	pthread_setname_np(s->writer, "gn-store");
	LOG(INFO, "%s: open (%s, schema version %d)", path, ops->how, STORE_SCHEMA_VERSION);
	return s;
fail:
	if (s->db)
		s->ops->close(s->db);
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->db_mu);
	free(s->path);
	free(s);
	return NULL;
}

void store_close(struct store *s, unsigned drain_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	s->stop_deadline_ns = gn_mono_ns() + (uint64_t)drain_ms * 1000000ull;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->writer, NULL);
	free_ops(s->head);
	if (s->db)
		s->ops->close(s->db);
	close(s->efd);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->db_mu);
	free(s->path);
	free(s);
}

bool store_created(const struct store *s)
{
	return s->ops->created(s->db);
}

int store_get_id(struct store *s, char *id, size_t len)
{
	pthread_mutex_lock(&s->db_mu);
	int rc = s->ops->meta_get(s->db, "store_id", id, len);
	pthread_mutex_unlock(&s->db_mu);
	if (rc < 0 && rc != -ENOENT)
		LOG(ERR, "%s", s->ops->error(s->db));
	return rc;
}

int store_set_id(struct store *s, const char *id)
{
	pthread_mutex_lock(&s->db_mu);
	int rc = s->ops->meta_set(s->db, "store_id", id);
	pthread_mutex_unlock(&s->db_mu);
	if (rc < 0)
		LOG(ERR, "%s", s->ops->error(s->db));
	return rc;
}

int64_t store_slot_span(struct store *s)
{
	pthread_mutex_lock(&s->db_mu);
	int64_t span = s->ops->slot_span(s->db);
	pthread_mutex_unlock(&s->db_mu);
	return span;
}

int store_load_endpoints(struct store *s, int (*fn)(void *ctx, const struct store_endpoint *e),
			 void *ctx)
{
	pthread_mutex_lock(&s->db_mu);
	int rc = s->ops->load(s->db, fn, ctx);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

/* ---- the queue, control thread side ---- */

static uint64_t enqueue(struct store *s, struct op *op)
{
	uint64_t ticket = 0;
	op->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->stats.queue_len == 0 || (s->stats.queue_len < STORE_QUEUE_MAX_OPS &&
					s->queue_bytes + op->bytes <= STORE_QUEUE_MAX_BYTES)) {
		ticket = op->ticket = ++s->next_ticket;
		if (s->tail) {
			s->tail->next = op;
		} else {
			s->head = op;
			s->head_ns = gn_mono_ns();
		}
		s->tail = op;
		s->head_rows += op->rows;
		s->queue_bytes += op->bytes;
		s->stats.queue_len++;
		s->stats.queued++;
		if (s->writer_waiting && (s->head == op || s->head_rows >= BATCH_ROWS))
			pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->mu);
	if (!ticket)
		free(op);
	return ticket;
}

static struct op *op_new(uint8_t kind, size_t extra, uint32_t rows)
{
	struct op *op = malloc(sizeof(*op) + extra);
	if (op) {
		op->kind = kind;
		op->rows = rows;
		op->bytes = sizeof(*op) + extra;
	}
	return op;
}

uint64_t store_put_endpoint(struct store *s, const struct store_endpoint *e)
{
	size_t gl = strnlen(e->guid, sizeof(e->guid) - 1);
	size_t hl = strnlen(e->hostname, sizeof(e->hostname) - 1);
	size_t il = strnlen(e->ips, sizeof(e->ips) - 1);
	struct op *op = op_new(OP_PUT, gl + hl + il, 1);
	if (!op)
		return 0;
	char *text = (char *)(op + 1);
	memcpy(text, e->guid, gl);
	memcpy(text + gl, e->hostname, hl);
	memcpy(text + gl + hl, e->ips, il);
	op->u.ep = (struct store_row){
		.id = e->id,
		.slot = e->slot,
		.registered = e->registered,
		.last_register = e->last_register,
		.last_ctl_contact = e->last_ctl_contact,
		.last_heartbeat = e->last_heartbeat,
		.last_poll = e->last_poll,
		.down_at = e->down_at,
		.status_since = e->status_since,
		.notify_port = e->notify_port,
		.guid_len = (uint16_t)gl,
		.host_len = (uint16_t)hl,
		.ips_len = (uint16_t)il,
		.status = e->status,
		.reason = e->reason,
		.ctl_reason = e->ctl_reason,
		.notify = e->notify,
		.guid = text,
		.hostname = text + gl,
		.ips = text + gl + hl,
	};
	memcpy(op->u.ep.key, e->key, sizeof(op->u.ep.key));
	return enqueue(s, op);
}

uint64_t store_delete_endpoint(struct store *s, uint64_t id, uint32_t slot)
{
	struct op *op = op_new(OP_DELETE, 0, 1);
	if (!op)
		return 0;
	op->u.del.id = id;
	op->u.del.slot = slot;
	return enqueue(s, op);
}

uint64_t store_put_contacts(struct store *s, const struct store_contact *c, size_t n)
{
	if (n > (SIZE_MAX - sizeof(struct op)) / sizeof(*c))
		return 0;
	/* One op, one transaction, however large: weigh it so it travels alone. */
	uint32_t rows = n > BATCH_ROWS ? BATCH_ROWS : n ? (uint32_t)n : 1;
	struct op *op = op_new(OP_CONTACTS, n * sizeof(*c), rows);
	if (!op)
		return 0;
	op->u.n = n;
	if (n)
		memcpy(op + 1, c, n * sizeof(*c));
	return enqueue(s, op);
}

uint64_t store_put_transition(struct store *s, uint64_t seq, uint64_t id, uint32_t time,
			      uint8_t old_status, uint8_t new_status, uint8_t reason)
{
	struct op *op = op_new(OP_TRANSITION, 0, 1);
	if (!op)
		return 0;
	op->u.tr = (struct store_trans){.seq = seq,
					.id = id,
					.time = time,
					.old_status = old_status,
					.new_status = new_status,
					.reason = reason};
	return enqueue(s, op);
}

uint64_t store_put_transitions(struct store *s, const struct store_trans *t, size_t nt,
			       const struct store_contact *c, size_t nc)
{
	if (nt > STORE_TRANSITIONS_MAX || nc > STORE_TRANSITIONS_MAX)
		return 0;
	size_t bytes = nt * sizeof(*t) + nc * sizeof(*c);
	struct op *op = op_new(OP_TRANSITIONS, bytes, (uint32_t)(nt + nc ? nt + nc : 1));
	if (!op)
		return 0;
	op->u.trs.nt = nt;
	op->u.trs.nc = nc;
	struct store_trans *to = (struct store_trans *)(op + 1);
	if (nt)
		memcpy(to, t, nt * sizeof(*t));
	if (nc)
		memcpy(to + nt, c, nc * sizeof(*c));
	return enqueue(s, op);
}

void store_set_fence(struct store *s, const struct store_fence *f)
{
	pthread_mutex_lock(&s->mu);
	s->fence = *f;
	pthread_mutex_unlock(&s->mu);
}

size_t store_take_rejected(struct store *s, struct store_rejected *out, size_t max)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->nrejected < max ? s->nrejected : max;
	memcpy(out, s->rejected, n * sizeof(*out));
	memmove(s->rejected, s->rejected + n, (s->nrejected - n) * sizeof(*out));
	s->nrejected -= n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void store_set_changes(struct store *s, const char *collector)
{
	if (!s->ops->changes)
		return;
	pthread_mutex_lock(&s->db_mu); /* the writer's connection: between its batches */
	s->ops->changes(s->db, collector);
	pthread_mutex_unlock(&s->db_mu);
}

/* ---- state, for the control thread ---- */

int store_event_fd(const struct store *s)
{
	return s->efd;
}

uint64_t store_committed(const struct store *s)
{
	return atomic_load_explicit(&s->committed, memory_order_acquire);
}

/* A commit that fails is one alarm; one that does not return is the other
 * (a disk that stalls, a lock held by another process): nothing fails, yet
 * nothing commits and every held registration waits. Noticed here, by the
 * control thread, since the writer is the one stuck. */
bool store_degraded(const struct store *s, char *why, size_t len)
{
	struct store *m = (struct store *)s; /* the lock and the logged flag only */
	pthread_mutex_lock(&m->mu);
	bool d = s->degraded;
	uint64_t busy = s->busy_since_ns ? gn_mono_ns() - s->busy_since_ns : 0;
	bool stalled = !d && busy >= (uint64_t)STORE_STALL_MS * 1000000ull;
	bool log_it = stalled && !s->stall_logged;
	if (log_it)
		m->stall_logged = true;
	uint32_t queued = s->stats.queue_len;
	pthread_mutex_unlock(&m->mu);
	char text[400];
	if (stalled)
		snprintf(text, sizeof(text),
			 "%s: a commit has not finished after %.1f s (a stalled "
			 "disk, or another process holding the database locked?)",
			 s->path, (double)busy / 1e9);
	if (log_it)
		LOG(ERR, "%s; %u writes queued", text, (unsigned)queued);
	if (why && len) {
		if (stalled)
			snprintf(why, len, "%s", text);
		else {
			pthread_mutex_lock(&m->mu);
			snprintf(why, len, "%s", s->degraded ? s->why : "");
			pthread_mutex_unlock(&m->mu);
		}
	}
	return d || stalled;
}

bool store_unreachable(const struct store *s)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&s->mu;
	pthread_mutex_lock(mu);
	bool u = s->unreachable;
	pthread_mutex_unlock(mu);
	return u;
}

const char *store_backend(const struct store *s)
{
	return s->ops->name;
}

const char *store_shown(const struct store *s)
{
	return s->path;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&s->mu;
	pthread_mutex_lock(mu);
	*out = s->stats;
	pthread_mutex_unlock(mu);
}
