/*
 * The notify engine's metric families (metrics_families.h; the names
 * docs/metrics.md gives them, which the alert GlournetNotifyGivingUp and
 * the dashboard's "Notify campaigns" row use): per kind, change (R11) and
 * verify (R12), what the engine counted, and the endpoints the registry
 * counts with a notify pending. Plain reads of the control thread's own
 * counters.
 */
#include "control/metrics_families.h"
#include "control/notify.h"

static const char *const kinds[NOTIFY_KINDS] = {"change", "verify"};

static size_t by_kind(struct metrics_scrape *s, const struct metrics_family *f,
		      enum notify_kind_counter k)
{
	for (int i = 0; i < NOTIFY_KINDS; i++)
		mt_u64(&s->text, f->name, s->d->notify.by_kind[i][k], "kind", kinds[i], NULL);
	return 0;
}

size_t mf_notify_campaigns(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return by_kind(s, f, NOTIFY_K_CAMPAIGNS);
}

size_t mf_notify_running(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	for (int i = 0; i < NOTIFY_KINDS; i++)
		mt_u64(&s->text, f->name, s->d->notify.cur[i].state == NOTIFY_RUNNING, "kind",
		       kinds[i], NULL);
	return 0;
}

size_t mf_notify_sent(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return by_kind(s, f, NOTIFY_K_SENT);
}

size_t mf_notify_resent(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return by_kind(s, f, NOTIFY_K_RESENT);
}

size_t mf_notify_acked(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return by_kind(s, f, NOTIFY_K_ACKED);
}

size_t mf_notify_gave_up(struct metrics_scrape *s, const struct metrics_family *f, size_t cursor)
{
	(void)cursor;
	return by_kind(s, f, NOTIFY_K_GAVE_UP);
}

double mv_notify_pending(const struct metrics_scrape *s)
{
	return s->d->reg.notify_pending;
}
