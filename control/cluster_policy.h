/*
 * The policy of several collectors (issue 16; docs/store.md): ONE document
 * for the fleet in PostgreSQL, the single-row table
 * `policy (one, rev, doc)`, doc being what policy.json holds
 * (policy_store.h) and rev the fleet's settings_rev.
 *
 * A change is written with compare-and-set on the revision it was made
 * on (UPDATE ... WHERE rev = expected): of two changes made at once on two
 * collectors on the same revision exactly one commits; the other is
 * refused, nothing applied, and its operator retries on the revision the
 * watch brings. Every collector watches the row (a thread with its own
 * connection, every CLUSTER_POLICY_PERIOD_MS) and applies a newer
 * document through the path a local change takes (daemon_policy_tick:
 * validated, reclassified in slices, R11 campaigns on the decider only).
 *
 * Threads: open/close/load/take on the control thread; write on the
 * policy saver's thread (policy_apply.c: one write at a time), or on the
 * control thread before the loop runs.
 */
#ifndef GLOURNET_CLUSTER_POLICY_H
#define GLOURNET_CLUSTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster_policy;

#define CLUSTER_POLICY_PERIOD_MS 500u

/* Connects twice (the watch, the writes). NULL with err set. */
struct cluster_policy *cluster_policy_open(const char *target, const char *shown, char *err,
					   size_t errlen);
void cluster_policy_close(struct cluster_policy *cp);

/* At start: seeds the row with `seed_doc` at `seed_rev` if the table is
 * empty (the first collector's local policy), then reads the row. 0 with
 * *doc (malloc'd) and *rev, or -1 with err set. Starts the watch from *rev. */
int cluster_policy_load(struct cluster_policy *cp, const char *seed_doc, uint64_t seed_rev,
			char **doc, uint64_t *rev, char *err, size_t errlen);

/* Writes `doc` as revision `rev` if the row still holds `expected`.
 * 0: committed. -ESTALE: another collector's change came first (err says
 * which revision the store holds; nothing written). -EIO: the store did
 * not answer (err says why; the change may or may not have committed: the
 * watch tells). */
int cluster_policy_write(struct cluster_policy *cp, uint64_t expected, uint64_t rev,
			 const char *doc, char *err, size_t errlen);

/* A document newer than `in_force` that the watch read, if any: true with
 * *doc (malloc'd, the caller frees) and *rev. */
bool cluster_policy_take(struct cluster_policy *cp, uint64_t in_force, char **doc, uint64_t *rev);

/* The compare-and-set's answer (pure, for the unit tests): `ok` the
 * statement ran, `updated` rows it changed, `found` the revision the row
 * holds (read after a miss; 0 unknown). 0, -ESTALE or -EIO with err set. */
int cluster_policy_cas_outcome(bool ok, int updated, uint64_t expected, uint64_t found,
			       const char *why, char *err, size_t errlen);

/* Whether a watched revision replaces the one in force (pure): only a
 * newer one; an older one is a late read of a change already applied. */
static inline bool cluster_policy_newer(uint64_t in_force, uint64_t watched)
{
	return watched > in_force;
}

#endif
