/*
 * The merged heartbeat addresses (hb_addrs.h).
 */
#include <string.h>

#include "control/cluster.h"
#include "control/hb_addrs.h"

/* Appends `a` (len bytes) unless present, too long, or the list is full. */
static void add(struct hb_addrs *l, const char *a, size_t len)
{
	if (!len || len >= HB_ADDR_LEN || l->n == HB_ADDRS_MAX)
		return;
	for (unsigned i = 0; i < l->n; i++)
		if (strlen(l->addr[i]) == len && !memcmp(l->addr[i], a, len))
			return;
	memcpy(l->addr[l->n], a, len);
	l->addr[l->n][len] = '\0';
	l->n++;
}

static void add_csv(struct hb_addrs *l, const char *csv)
{
	while (*csv) {
		size_t len = strcspn(csv, ",");
		size_t lead = 0;
		while (lead < len && csv[lead] == ' ')
			lead++;
		size_t end = len;
		while (end > lead && csv[end - 1] == ' ')
			end--;
		add(l, csv + lead, end - lead);
		csv += len;
		if (*csv == ',')
			csv++;
	}
}

static uint32_t hash_of(const struct hb_addrs *l)
{
	if (!l->n)
		return 0;
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < l->n; i++)
		for (const char *p = l->addr[i];; p++) {
			h = (h ^ (uint8_t)*p) * 16777619u; /* the NUL separates */
			if (!*p)
				break;
		}
	return h ? h : 1;
}

bool hb_addrs_merge(struct hb_addrs *out, const char *const *own, unsigned n_own,
		    const struct cluster_view *view, const char *self, double live_s)
{
	struct hb_addrs l = {0};
	for (unsigned i = 0; i < n_own; i++)
		add(&l, own[i], strlen(own[i]));
	for (unsigned i = 0; view && i < view->n && i < CLUSTER_VIEW_MAX; i++) {
		if (self && !strcmp(view->collectors[i].name, self))
			continue;
		if (view->collectors[i].seen_ago_s > live_s)
			continue; /* gone: its agents move on to the next address */
		add_csv(&l, view->collectors[i].addrs);
	}
	l.hash = hash_of(&l);
	bool changed = l.n != out->n || l.hash != out->hash ||
		       memcmp(l.addr, out->addr, sizeof(l.addr[0]) * l.n);
	*out = l;
	return changed;
}
