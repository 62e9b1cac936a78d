/* The metrics of several collectors: the change feed (cluster_changes.h,
 * cluster_apply.h). 0 without a cluster (SQLite). */
#include "control/cluster_changes.h"
#include "control/metrics_families.h"

static struct changes_info info_of(const struct metrics_scrape *s)
{
	struct changes_info ci = {.lag_s = 0};
	if (s->d->cluster_changes)
		cluster_changes_get_info(s->d->cluster_changes, &ci);
	return ci;
}

double mv_changes_cursor(const struct metrics_scrape *s)
{
	return (double)info_of(s).cursor;
}

double mv_changes_lag(const struct metrics_scrape *s)
{
	double lag = info_of(s).lag_s;
	return lag < 0 ? 0 : lag;
}

double mv_changes_applied(const struct metrics_scrape *s)
{
	return (double)s->d->changes_job.applied;
}

double mv_changes_failed(const struct metrics_scrape *s)
{
	return (double)s->d->changes_job.failed;
}

double mv_changes_guid_races(const struct metrics_scrape *s)
{
	return (double)s->d->changes_job.guid_races;
}
