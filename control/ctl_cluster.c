/*
 * show cluster: several collectors on one PostgreSQL store (cluster.h,
 * cluster_feed.h; docs/store.md). This collector's view, without a
 * round trip: the lease as it holds it, the database's rows as of the
 * lease thread's last round (with the store primary's standbys from its
 * pg_stat_replication: `replication`, empty when it has none), and the
 * contact feed's state.
 */
#include <stdio.h>

#include "control/cluster.h"
#include "control/cluster_changes.h"
#include "control/cluster_feed.h"
#include "control/cluster_stream.h"
#include "control/ctl_commands.h"
#include "control/daemon.h"
#include "control/store.h"

static json_t *collectors_json(const struct cluster_view *v)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < v->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:b}", "name",
						   v->collectors[i].name, "addrs",
						   v->collectors[i].addrs, "seen_ago_s",
						   v->collectors[i].seen_ago_s, "decides",
						   strcmp(v->collectors[i].name, v->holder) == 0 &&
							   v->expires_in_s > 0));
	return a;
}

/* The change feed (cluster_changes.h) and what the changes job made of it. */
static json_t *changes_json(struct gn_daemon *d)
{
	struct changes_info ci;
	cluster_changes_get_info(d->cluster_changes, &ci);
	const struct changes_job *j = &d->changes_job;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "cursor", (json_int_t)ci.cursor, "read", (json_int_t)ci.read, "pending",
			 (json_int_t)(ci.pending + (j->n - j->at)), "reads", (json_int_t)ci.reads,
			 "errors", (json_int_t)ci.errors, "lag_s", ci.lag_s, "applied",
			 (json_int_t)j->applied, "unchanged", (json_int_t)j->same, "failed",
			 (json_int_t)j->failed, "retries", (json_int_t)j->retries, "guid_races",
			 (json_int_t)j->guid_races, "slot_blocks", (json_int_t)ci.blocks,
			 "slots_left", (json_int_t)ci.slots_left);
}

/* The transition stream here: its cursor (the last number taken), the
 * stream's head as of the last read, and the lag between them. */
static json_t *stream_json(struct gn_daemon *d)
{
	struct stream_info si;
	cluster_stream_get_info(d->cluster_stream, &si);
	const struct stream_job *j = &d->stream_job;
	uint64_t cursor = j->cur.last;
	return json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I}",
			 "cursor", (json_int_t)cursor, "head", (json_int_t)si.head, "lag",
			 (json_int_t)(si.head > cursor ? si.head - cursor : 0), "read_age_s",
			 si.age_s, "rows_read", (json_int_t)si.rows_read, "applied",
			 (json_int_t)j->applied, "unknown", (json_int_t)j->unknown, "late",
			 (json_int_t)j->late, "gaps", (json_int_t)j->cur.gaps, "errors",
			 (json_int_t)si.errors, "catching_up", j->catching_up, "resyncs",
			 (json_int_t)si.resyncs, "resynced", (json_int_t)j->resynced);
}

/* The primary's standbys (pg_stat_replication), as of the lease thread's last round. */
static json_t *standbys_json(const struct cluster_view *v)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < v->n_standbys; i++) {
		const struct cluster_standby *sb = &v->standbys[i];
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:f}", "name", sb->name, "client",
				     sb->client, "state", sb->state, "sync_state", sb->sync_state,
				     "lag_bytes", (json_int_t)sb->lag_bytes, "lag_s", sb->lag_s));
	}
	return a;
}

json_t *cmd_show_cluster(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	if (!d->cluster)
		return json_pack("{s:b, s:s, s:b}", "cluster", false, "store",
				 d->store ? store_backend(d->store) : "none", "deciding", true);
	struct cluster_info ci;
	struct cluster_view v;
	struct feed_info fi = {0};
	cluster_get_info(d->cluster, &ci);
	cluster_get_view(d->cluster, &v);
	if (d->cluster_feed)
		cluster_feed_get_info(d->cluster_feed, &fi);
	json_t *o = json_pack(
		"{s:b, s:s, s:b, s:I, s:I, s:f, s:f, s:I, s:I, s:{s:s, s:I, s:f}, s:o, s:s, s:o, s:s, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:f, s:I}}",
		"cluster", true, "name", ci.name, "deciding", ci.deciding, "epoch",
		(json_int_t)ci.epoch, "lease_ms", (json_int_t)ci.lease_ms, "lease_age_s",
		ci.renewed_age_s, "view_age_s", v.age_s, "took", (json_int_t)ci.took, "lost",
		(json_int_t)ci.lost, "decider", "holder", v.holder, "epoch", (json_int_t)v.epoch,
		"expires_in_s", v.expires_in_s, "collectors", collectors_json(&v), "primary",
		v.primary, "replication", standbys_json(&v), "store_url", store_shown(d->store),
		"feed", "batches_sent", (json_int_t)fi.batches_sent, "contacts_sent",
		(json_int_t)fi.contacts_sent, "batches_read", (json_int_t)fi.batches_read,
		"contacts_read", (json_int_t)fi.contacts_read, "errors", (json_int_t)fi.errors,
		"lag_s", fi.lag_s, "live_peers", (json_int_t)fi.live);
	if (o && d->cluster_changes)
		json_object_set_new(o, "changes", changes_json(d));
	if (o && d->cluster_stream)
		json_object_set_new(o, "stream", stream_json(d));
	return o;
}
