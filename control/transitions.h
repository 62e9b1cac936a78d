/*
 * The transition feed (R8): every change of an endpoint's status, every
 * raise and release of the mass-offline guard (R10), and every removal of
 * an endpoint, as one numbered event.
 * A bounded ring in memory lets control-socket watchers follow and resume
 * by sequence number; each event is also appended to a JSON-lines log until
 * the store takes over. Owned by the control thread: no locks.
 */
#ifndef GLOURNET_TRANSITIONS_H
#define GLOURNET_TRANSITIONS_H

#include <stdbool.h>
#include <stdint.h>

/* TK_REMOVED: an endpoint left the registry (glournetctl remove, expiry).
 * Not a change of status (R8 counts those); old_status = new_status = the
 * status it had, reason = enum ep_removal. */
enum transition_kind { TK_STATUS, TK_GUARD_RAISED, TK_GUARD_RELEASED, TK_REMOVED };

struct transition {
	uint64_t seq; /* assigned by feed_push, from 1, +1 each */
	uint64_t id;  /* endpoint id (TK_STATUS, TK_REMOVED) */
	uint32_t slot;
	uint32_t time;  /* Unix seconds */
	uint32_t count; /* TK_GUARD_*: endpoints held / released */
	uint8_t kind, old_status, new_status,
		reason; /* status/reason: enum values from ep_names.h */
};

struct transition_feed;

/* capacity: a power of two (e.g. 65536); log_path NULL: no log. The log is
 * opened (O_APPEND) here and, if that fails, again at each flush. NULL with
 * errno set when capacity is not a power of two or memory is short. */
struct transition_feed *feed_new(uint32_t capacity, const char *log_path);
/* Writes what it can of the pending log lines first. */
void feed_free(struct transition_feed *f);

/* Copies t, sets its seq, returns it; O(1); overwrites the oldest when full. */
uint64_t feed_push(struct transition_feed *f, const struct transition *t);
/* Copies t as number `seq` (>= feed_next_seq, or -EINVAL): a feed that
 * mirrors numbers given elsewhere (the transition stream of several
 * collectors, cluster_stream.h). Numbers it skips are not held (feed_get:
 * NULL). Not for a feed with a log (-EINVAL). */
int feed_push_at(struct transition_feed *f, const struct transition *t, uint64_t seq);
/* Numbers this run's events from `next` on instead of 1: the numbering of
 * the previous run goes on (feed_log_last_seq + 1), so a watcher that
 * resumes across a restart is told what it missed, and no number names
 * two events. Only before the first push: 0, or -EBUSY. */
int feed_start_at(struct transition_feed *f, uint64_t next);
/* The last seq a transition log names (its last whole line); 0 without
 * one. Reads the file's last 64 KiB only. */
uint64_t feed_log_last_seq(const char *path);
uint64_t feed_next_seq(const struct transition_feed *f); /* seq the next push will get */
uint64_t feed_oldest_seq(
	const struct transition_feed *f); /* oldest seq still held (== next when empty) */
const struct transition *feed_get(const struct transition_feed *f,
				  uint64_t seq); /* NULL when not held (or skipped) */

/* Writes pending log lines (at most about 1 MiB per call, so the event loop
 * never stalls on a backlog) as JSON lines; once per event-loop tick.
 * 0, or -errno: the unwritten lines stay pending (in the ring) and the
 * failure is counted. Events overwritten in the ring before they reached
 * the log are not lost silently: a {"missed":K,"resume":S} line takes their
 * place in the log. */
int feed_flush(struct transition_feed *f);
/* Lines not yet written to the log (false without a log). */
bool feed_log_pending(const struct transition_feed *f);
/* Failed flushes (open or write errors) so far. */
uint64_t feed_log_errors(const struct transition_feed *f);
/* Writes of the log that did not return within a second (a stalled disk):
 * the control loop went on and the lines stayed pending. */
uint64_t feed_log_stalls(const struct transition_feed *f);

/*
 * The one JSON form of an event, for the log and for `watch` alike: "seq",
 * "time", then by kind
 *   TK_STATUS:   "id", WHO, "old", "new", "reason"
 *   TK_REMOVED:  "kind": "removed", "id", WHO, "status", "cause"
 *   TK_GUARD_*:  "kind": "guard-raised" | "guard-released", "count"
 * where WHO is "guid": guid when guid is not NULL (watch: the control
 * socket knows the endpoint), else "slot" (the log: the feed knows no
 * guids). Strings are escaped; a guid must be valid UTF-8 (the caller
 * checks). Writes at most cap bytes, NUL included, and returns the length
 * of the whole object, as snprintf does: a larger buffer is needed when
 * that is cap or more. No newline.
 */
size_t transition_json(char *buf, size_t cap, const struct transition *t, const char *guid);

#endif
