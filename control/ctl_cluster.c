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
#include "control/cluster_feed.h"
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
	return json_pack(
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
}
