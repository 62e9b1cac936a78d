/*
 * The transition stream of several collectors (issue 16; docs/store.md):
 * the table `transitions`, numbered by the gap-free sequence 'transitions'
 * in the decider's fenced transaction that also writes the status change
 * (store.h store_put_transitions), read back by every collector by cursor
 * (seq > last), so each shows the same stream with the same numbers and a
 * non-decider's statuses follow the decider's (stream_apply.h).
 *
 * A thread of its own with its own connection reads every STREAM_PERIOD_MS
 * (at once again while a read comes back full) into a bounded buffer the
 * control thread takes from.
 * Threads: open/close/take/get_info on the control thread.
 */
#ifndef GLOURNET_CLUSTER_STREAM_H
#define GLOURNET_CLUSTER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "control/store_db.h"

#define STREAM_PERIOD_MS   500u
#define STREAM_READ_ROWS   10000        /* rows per SELECT */
#define STREAM_MAX_PENDING (256u << 10) /* rows read, not yet taken: the bound */

struct cluster_stream;

/* Connects and reads where the stream stands (head: its last number);
 * the reader starts `history` numbers before it, so watch --from finds
 * the recent past on any collector. NULL with err set. */
struct cluster_stream *cluster_stream_open(const char *target, const char *shown, uint64_t history,
					   char *err, size_t errlen);
void cluster_stream_close(struct cluster_stream *s);

/* The number the stream stood at when opened (rows up to it are history:
 * the statuses loaded after it already hold them), and where reading
 * starts (the first row read has a number above it). */
uint64_t cluster_stream_start_head(const struct cluster_stream *s);
uint64_t cluster_stream_start_cursor(const struct cluster_stream *s);

/* Up to `max` rows read, in order (taken). *synced_ns: when the last read
 * that reached the stream's end began (monotonic), if every row it read is
 * now taken; 0 otherwise. A takeover is caught up once that is after it. */
size_t cluster_stream_take(struct cluster_stream *s, struct store_trans *out, size_t max,
			   uint64_t *synced_ns);

/* A collector that stops deciding may hold statuses it decided whose
 * writes the fence then dropped (a stall past its lease: they never reach
 * the stream). Resync: the thread reads every endpoint's stored status
 * (paged by slot, after each stream read) for the control thread to take;
 * the stream's rows, applied in order after them, can only make them
 * newer. Asking again restarts a resync under way. */
struct stream_status {
	uint64_t id;
	uint32_t since;
	uint8_t status, reason;
};
void cluster_stream_resync(struct cluster_stream *s);
size_t cluster_stream_take_statuses(struct cluster_stream *s, struct stream_status *out,
				    size_t max);

struct stream_info {
	uint64_t head;      /* the last number as of the last read */
	uint64_t read;      /* the last number read */
	uint64_t rows_read; /* since start */
	uint64_t errors;    /* failed reads */
	uint64_t resyncs;   /* resyncs read to the end */
	double age_s;       /* since the last good read; -1 none */
};
void cluster_stream_get_info(struct cluster_stream *s, struct stream_info *out);

#endif
