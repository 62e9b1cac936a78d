/*
 * The store alarm for the control socket (ctl_store.h). The store keeps
 * every write it accepted and retries each second while commits fail;
 * what the operator needs is that this is happening, why (the database's
 * own error, e.g. "database or disk is full (No space left on device)"),
 * and its cost: how many writes wait, and that registrations wait with
 * them (their answers go out once committed, or 503 after --http-timeout);
 * with PostgreSQL out of reach ("unreachable"), new registrations get 503
 * at once. "where" is the store's name with any password masked.
 */
#include <stdio.h>

#include "control/ctl_store.h"
#include "control/store.h"

json_t *ctl_store_json(const struct gn_daemon *d, bool full)
{
	if (!d->store)
		return json_null();
	char why[400], alarm[600] = "";
	struct store_stats st;
	bool degraded = store_degraded(d->store, why, sizeof(why));
	store_get_stats(d->store, &st);
	bool gone = store_unreachable(d->store);
	if (degraded)
		snprintf(alarm, sizeof(alarm), "store: %s; %u writes queued, registrations %s", why,
			 (unsigned)st.queue_len,
			 gone ? "refused (503) until it is back" : "held until they commit");
	json_t *o = json_pack("{s:b, s:s, s:I, s:I, s:s, s:s, s:b, s:I}", "ok", !degraded, "alarm",
			      alarm, "queue_len", (json_int_t)st.queue_len, "commit_errors",
			      (json_int_t)st.commit_errors, "backend", store_backend(d->store),
			      "where", store_shown(d->store), "unreachable",
			      store_unreachable(d->store), "reconnects", (json_int_t)st.reconnects);
	if (o && full) {
		json_object_set_new(o, "queue_max", json_integer((json_int_t)st.queue_max));
		json_object_set_new(o, "queued", json_integer((json_int_t)st.queued));
		json_object_set_new(o, "committed_ops", json_integer((json_int_t)st.committed_ops));
		json_object_set_new(o, "batches", json_integer((json_int_t)st.batches));
		json_object_set_new(o, "last_commit_ms", json_real(st.last_commit_ms));
	}
	return o;
}
