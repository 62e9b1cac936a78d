/*
 * The transition stream's reader (cluster_stream.h): a SELECT by cursor
 * on its own connection, so a slow store writer or lease round never
 * delays it, nor it them. The cursor is the last number read: the
 * sequence's row lock makes numbers commit in order, so `seq > cursor`
 * never skips a row that commits later with a smaller number.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "control/cluster_stream.h"
#include "control/mono_clock.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define MS 1000000ull

#define SQL_HEAD "SELECT last FROM sequences WHERE name = 'transitions'"
#define SQL_READ                                                                             \
	"SELECT seq, id, time, old_status, new_status, reason FROM transitions WHERE seq > " \
	"$1::int8 ORDER BY seq LIMIT " STREAM_READ_ROWS_TEXT
#define STREAM_READ_ROWS_TEXT "10000"
_Static_assert(STREAM_READ_ROWS == 10000, "SQL_READ's LIMIT");

/* A resync's page of endpoint statuses (cluster_stream_resync). */
#define SQL_STATUSES                                                                          \
	"SELECT slot, id, status, reason, status_since FROM endpoints WHERE slot > $1::int8 " \
	"ORDER BY slot LIMIT " STREAM_READ_ROWS_TEXT

struct cluster_stream {
	char *target, *shown;
	PGconn *conn;
	pthread_t thread;
	pthread_mutex_t mu; /* all below */
	pthread_cond_t wake;
	bool stop;
	uint64_t start_head, start_cursor;
	uint64_t cursor; /* the last number read */
	struct store_trans *rows;
	size_t n, cap; /* read, not yet taken */
	uint64_t synced_ns;
	uint64_t good_ns;
	bool failing;
	/* A resync: the endpoints' stored statuses, paged by slot. */
	bool resync;         /* asked, or under way */
	int64_t resync_slot; /* the last slot read; -1 from the start */
	struct stream_status *st;
	size_t nst, st_cap;
	struct stream_info info;
};

static PGconn *connect_db(const char *target)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout", "options",
					   "application_name", "dbname",           NULL};
	const char *vals[] = {"2",    "5000", "-c statement_timeout=10000", "glournetd-stream",
			      target, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

/* The sequence's last number; -1 on an error. */
static int64_t read_head(PGconn *conn)
{
	PGresult *r = PQexec(conn, SQL_HEAD);
	int64_t head = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return head;
}

static uint64_t col_u64(const PGresult *r, int row, int col)
{
	return (uint64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* One read; the number of rows, -1 on an error, -2 when the buffer is full. */
static int read_rows(struct cluster_stream *s)
{
	pthread_mutex_lock(&s->mu);
	bool full = s->n + STREAM_READ_ROWS > STREAM_MAX_PENDING;
	uint64_t cursor = s->cursor;
	pthread_mutex_unlock(&s->mu);
	if (full)
		return -2; /* the control thread is behind: the database keeps them */
	uint64_t began = gn_mono_ns();
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRIu64, cursor);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(s->conn, SQL_READ, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pthread_mutex_lock(&s->mu);
		bool first = !s->failing;
		s->failing = true;
		s->info.errors++;
		pthread_mutex_unlock(&s->mu);
		if (first)
			LOG(WARN, "transition stream: %s", PQerrorMessage(s->conn));
		PQclear(r);
		return -1;
	}
	int n = PQntuples(r);
	int64_t head = read_head(s->conn);
	pthread_mutex_lock(&s->mu);
	if (s->n + (size_t)n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->n + (size_t)n)
			cap *= 2;
		struct store_trans *p = realloc(s->rows, cap * sizeof(*p));
		if (!p) {
			s->info.errors++;
			pthread_mutex_unlock(&s->mu);
			PQclear(r);
			return -1;
		}
		s->rows = p;
		s->cap = cap;
	}
	for (int i = 0; i < n; i++) {
		struct store_trans *t = &s->rows[s->n++];
		*t = (struct store_trans){.seq = col_u64(r, i, 0),
					  .id = col_u64(r, i, 1),
					  .time = (uint32_t)col_u64(r, i, 2),
					  .old_status = (uint8_t)col_u64(r, i, 3),
					  .new_status = (uint8_t)col_u64(r, i, 4),
					  .reason = (uint8_t)col_u64(r, i, 5)};
		s->cursor = t->seq;
	}
	if (n < STREAM_READ_ROWS)
		s->synced_ns = began; /* the end, as of a read that began then */
	bool was_failing = s->failing;
	s->failing = false;
	s->good_ns = gn_mono_ns();
	s->info.rows_read += (uint64_t)n;
	s->info.read = s->cursor;
	if (head >= 0)
		s->info.head = (uint64_t)head;
	pthread_mutex_unlock(&s->mu);
	PQclear(r);
	if (was_failing)
		LOG(INFO, "transition stream: reading again from seq %" PRIu64, cursor + 1);
	return n;
}

/* One page of a resync; false on an error or a full buffer (again later). */
static bool resync_page(struct cluster_stream *s)
{
	pthread_mutex_lock(&s->mu);
	bool full = s->nst + STREAM_READ_ROWS > STREAM_MAX_PENDING;
	int64_t from = s->resync_slot;
	pthread_mutex_unlock(&s->mu);
	if (full)
		return false;
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRId64, from);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(s->conn, SQL_STATUSES, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "transition stream: resync: %s", PQerrorMessage(s->conn));
		PQclear(r);
		pthread_mutex_lock(&s->mu);
		s->info.errors++;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	int n = PQntuples(r);
	pthread_mutex_lock(&s->mu);
	if (s->nst + (size_t)n > s->st_cap) {
		size_t cap = s->st_cap ? s->st_cap : 4096;
		while (cap < s->nst + (size_t)n)
			cap *= 2;
		struct stream_status *p = realloc(s->st, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&s->mu);
			PQclear(r);
			return false;
		}
		s->st = p;
		s->st_cap = cap;
	}
	for (int i = 0; i < n; i++) {
		s->st[s->nst++] = (struct stream_status){.id = col_u64(r, i, 1),
							 .status = (uint8_t)col_u64(r, i, 2),
							 .reason = (uint8_t)col_u64(r, i, 3),
							 .since = (uint32_t)col_u64(r, i, 4)};
		s->resync_slot = (int64_t)col_u64(r, i, 0);
	}
	if (n < STREAM_READ_ROWS) {
		s->resync = false;
		s->info.resyncs++;
	}
	pthread_mutex_unlock(&s->mu);
	PQclear(r);
	return true;
}

static void *stream_main(void *arg)
{
	struct cluster_stream *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		if (PQstatus(s->conn) != CONNECTION_OK) {
			PQfinish(s->conn);
			s->conn = connect_db(s->target);
		}
		int n = PQstatus(s->conn) == CONNECTION_OK ? read_rows(s) : -1;
		pthread_mutex_lock(&s->mu);
		bool resync = s->resync;
		pthread_mutex_unlock(&s->mu);
		/* After the stream's read: its rows from here on are applied
		 * after the statuses, which they may only make newer. */
		bool paged = resync && PQstatus(s->conn) == CONNECTION_OK && resync_page(s);
		pthread_mutex_lock(&s->mu);
		if (n == STREAM_READ_ROWS || (paged && s->resync))
			continue; /* more waiting: at once */
		uint64_t due = gn_mono_ns() + STREAM_PERIOD_MS * MS;
		while (!s->stop && gn_mono_ns() < due) {
			struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
					      .tv_nsec = (long)(due % 1000000000ull)};
			pthread_cond_timedwait(&s->wake, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct cluster_stream *cluster_stream_open(const char *target, const char *shown, uint64_t history,
					   char *err, size_t errlen)
{
	struct cluster_stream *s = calloc(1, sizeof(*s));
	if (!s || !(s->target = strdup(target)) || !(s->shown = strdup(shown))) {
		snprintf(err, errlen, "transition stream: out of memory");
		goto fail;
	}
	s->conn = connect_db(target);
	int64_t head = PQstatus(s->conn) == CONNECTION_OK ? read_head(s->conn) : -1;
	if (head < 0) {
		snprintf(err, errlen, "%s: transition stream: %s", shown, PQerrorMessage(s->conn));
		goto fail;
	}
	s->start_head = (uint64_t)head;
	s->start_cursor = s->cursor = s->start_head > history ? s->start_head - history : 0;
	s->info.head = s->info.read = s->start_head;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, stream_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "transition stream thread: %s", strerror(rc));
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->mu);
		goto fail;
	}
	pthread_setname_np(s->thread, "gn-stream");
	LOG(INFO, "transition stream at seq %" PRIu64 ", reading from seq %" PRIu64, s->start_head,
	    s->start_cursor + 1);
	return s;
fail:
	if (s) {
		PQfinish(s->conn);
		free(s->target);
		free(s->shown);
		free(s);
	}
	return NULL;
}

void cluster_stream_close(struct cluster_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	PQfinish(s->conn);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s->rows);
	free(s->st);
	free(s->target);
	free(s->shown);
	free(s);
}

uint64_t cluster_stream_start_head(const struct cluster_stream *s)
{
	return s->start_head;
}

uint64_t cluster_stream_start_cursor(const struct cluster_stream *s)
{
	return s->start_cursor;
}

size_t cluster_stream_take(struct cluster_stream *s, struct store_trans *out, size_t max,
			   uint64_t *synced_ns)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n < max ? s->n : max;
	memcpy(out, s->rows, n * sizeof(*out));
	memmove(s->rows, s->rows + n, (s->n - n) * sizeof(*out));
	s->n -= n;
	*synced_ns = s->n ? 0 : s->synced_ns;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void cluster_stream_resync(struct cluster_stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->resync = true;
	s->resync_slot = -1;
	s->nst = 0; /* a resync under way begins again */
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

size_t cluster_stream_take_statuses(struct cluster_stream *s, struct stream_status *out, size_t max)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->nst < max ? s->nst : max;
	memcpy(out, s->st, n * sizeof(*out));
	memmove(s->st, s->st + n, (s->nst - n) * sizeof(*out));
	s->nst -= n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void cluster_stream_get_info(struct cluster_stream *s, struct stream_info *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->info;
	out->age_s = s->good_ns ? (double)(gn_mono_ns() - s->good_ns) / 1e9 : -1;
	pthread_mutex_unlock(&s->mu);
}
