/*
 * The transition stream's reader (cluster_stream.h): a SELECT by cursor
 * on its own connection, so a slow store writer or lease round never
 * delays it, nor it them. The cursor is the last number read: the
 * sequence's row lock makes numbers commit in order, so `seq > cursor`
 * never skips a row that commits later with a smaller number.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/cluster_stream.h"
#include "control/mono_clock.h"
#include "control/pg_worker.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define MS 1000000ull

#define SQL_HEAD "SELECT last FROM sequences WHERE name = 'transitions'"
#define SQL_READ                                                                              \
	"SELECT seq, id, time, old_status, new_status, reason, kind, count FROM transitions " \
	"WHERE seq > "                                                                        \
	"$1::int8 ORDER BY seq LIMIT " STREAM_READ_ROWS_TEXT
#define STREAM_READ_ROWS_TEXT "10000"
_Static_assert(STREAM_READ_ROWS == 10000, "SQL_READ's LIMIT");

/* A resync's page of endpoint statuses (cluster_stream_resync). */
#define SQL_STATUSES                                                                          \
	"SELECT slot, id, status, reason, status_since FROM endpoints WHERE slot > $1::int8 " \
	"ORDER BY slot LIMIT " STREAM_READ_ROWS_TEXT

struct cluster_stream {
	struct pg_worker *w; /* its lock: all below */
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
static int read_rows(struct cluster_stream *s, PGconn *conn)
{
	pg_worker_lock(s->w);
	bool full = s->n + STREAM_READ_ROWS > STREAM_MAX_PENDING;
	uint64_t cursor = s->cursor;
	pg_worker_unlock(s->w);
	if (full)
		return -2; /* the control thread is behind: the database keeps them */
	uint64_t began = gn_mono_ns();
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRIu64, cursor);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(conn, SQL_READ, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_worker_lock(s->w);
		bool first = !s->failing;
		s->failing = true;
		s->info.errors++;
		pg_worker_unlock(s->w);
		if (first)
			LOG(WARN, "transition stream: %s", PQerrorMessage(conn));
		PQclear(r);
		return -1;
	}
	int n = PQntuples(r);
	int64_t head = read_head(conn);
	pg_worker_lock(s->w);
	if (s->n + (size_t)n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->n + (size_t)n)
			cap *= 2;
		struct store_trans *p = realloc(s->rows, cap * sizeof(*p));
		if (!p) {
			s->info.errors++;
			pg_worker_unlock(s->w);
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
					  .reason = (uint8_t)col_u64(r, i, 5),
					  .kind = (uint8_t)col_u64(r, i, 6),
					  .count = (uint32_t)col_u64(r, i, 7)};
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
	pg_worker_unlock(s->w);
	PQclear(r);
	if (was_failing)
		LOG(INFO, "transition stream: reading again from seq %" PRIu64, cursor + 1);
	return n;
}

/* One page of a resync; false on an error or a full buffer (again later). */
static bool resync_page(struct cluster_stream *s, PGconn *conn)
{
	pg_worker_lock(s->w);
	bool full = s->nst + STREAM_READ_ROWS > STREAM_MAX_PENDING;
	int64_t from = s->resync_slot;
	pg_worker_unlock(s->w);
	if (full)
		return false;
	char cur[24];
	snprintf(cur, sizeof(cur), "%" PRId64, from);
	const char *v[] = {cur};
	PGresult *r = PQexecParams(conn, SQL_STATUSES, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		LOG(WARN, "transition stream: resync: %s", PQerrorMessage(conn));
		PQclear(r);
		pg_worker_lock(s->w);
		s->info.errors++;
		pg_worker_unlock(s->w);
		return false;
	}
	int n = PQntuples(r);
	pg_worker_lock(s->w);
	if (s->nst + (size_t)n > s->st_cap) {
		size_t cap = s->st_cap ? s->st_cap : 4096;
		while (cap < s->nst + (size_t)n)
			cap *= 2;
		struct stream_status *p = realloc(s->st, cap * sizeof(*p));
		if (!p) {
			pg_worker_unlock(s->w);
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
	pg_worker_unlock(s->w);
	PQclear(r);
	return true;
}

/* The worker's round: one read, then a resync's page when one is asked. */
static uint64_t stream_round(void *ctx, PGconn *conn)
{
	struct cluster_stream *s = ctx;
	int n = conn ? read_rows(s, conn) : -1;
	pg_worker_lock(s->w);
	bool resync = s->resync;
	pg_worker_unlock(s->w);
	/* After the stream's read: its rows from here on are applied
	 * after the statuses, which they may only make newer. */
	bool paged = resync && PQstatus(conn) == CONNECTION_OK && resync_page(s, conn);
	pg_worker_lock(s->w);
	bool again = n == STREAM_READ_ROWS || (paged && s->resync);
	pg_worker_unlock(s->w);
	return again ? 0 : STREAM_PERIOD_MS * MS; /* more waiting: at once */
}

void cluster_stream_close(struct cluster_stream *s)
{
	if (!s)
		return;
	pg_worker_close(s->w);
	free(s->rows);
	free(s->st);
	free(s);
}

struct cluster_stream *cluster_stream_open(const char *target, const char *shown, uint64_t history,
					   char *err, size_t errlen)
{
	struct cluster_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "transition stream: out of memory");
		return NULL;
	}
	s->w = pg_worker_open(&(struct pg_worker_conf){.target = target,
						       .shown = shown,
						       .what = "transition stream",
						       .app_name = "glournetd-stream",
						       .thread_name = "gn-stream",
						       .statement_timeout_ms = 10000,
						       .tcp_user_timeout_ms = 5000,
						       .round = stream_round,
						       .ctx = s},
			      err, errlen);
	if (!s->w)
		goto fail;
	int64_t head = read_head(pg_worker_conn(s->w));
	if (head < 0) {
		snprintf(err, errlen, "%s: transition stream: %s", shown,
			 PQerrorMessage(pg_worker_conn(s->w)));
		goto fail;
	}
	s->start_head = (uint64_t)head;
	s->start_cursor = s->cursor = s->start_head > history ? s->start_head - history : 0;
	s->info.head = s->info.read = s->start_head;
	if (pg_worker_start(s->w, err, errlen) < 0)
		goto fail;
	LOG(INFO, "transition stream at seq %" PRIu64 ", reading from seq %" PRIu64, s->start_head,
	    s->start_cursor + 1);
	return s;
fail:
	cluster_stream_close(s);
	return NULL;
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
	pg_worker_lock(s->w);
	size_t n = s->n < max ? s->n : max;
	if (n) { /* s->rows is NULL until the first row */
		memcpy(out, s->rows, n * sizeof(*out));
		memmove(s->rows, s->rows + n, (s->n - n) * sizeof(*out));
	}
	s->n -= n;
	*synced_ns = s->n ? 0 : s->synced_ns;
	pg_worker_unlock(s->w);
	return n;
}

void cluster_stream_resync(struct cluster_stream *s)
{
	pg_worker_lock(s->w);
	s->resync = true;
	s->resync_slot = -1;
	s->nst = 0; /* a resync under way begins again */
	/* No kick: it begins after the next read, as before pg_worker (the old
	 * loop's broadcast did not end its wait). */
	pg_worker_unlock(s->w);
}

size_t cluster_stream_take_statuses(struct cluster_stream *s, struct stream_status *out, size_t max)
{
	pg_worker_lock(s->w);
	size_t n = s->nst < max ? s->nst : max;
	if (n) { /* s->st is NULL until the first row */
		memcpy(out, s->st, n * sizeof(*out));
		memmove(s->st, s->st + n, (s->nst - n) * sizeof(*out));
	}
	s->nst -= n;
	pg_worker_unlock(s->w);
	return n;
}

void cluster_stream_get_info(struct cluster_stream *s, struct stream_info *out)
{
	pg_worker_lock(s->w);
	*out = s->info;
	out->age_s = s->good_ns ? (double)(gn_mono_ns() - s->good_ns) / 1e9 : -1;
	pg_worker_unlock(s->w);
}
