/*
 * `show clients` and `show counts`: their options (the command table's
 * rows point here) read into a filter and an order, and the query that
 * streams the answer (ctl_clients.h) handed to the transport.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_clients.h"
#include "control/ctl_commands.h"
#include "glournet/coarse_clock.h"

/* clang-format off */
#define ORDER_OPTS                                                                         \
	{"--sort", "KEY", "slot|status|guid|last_contact", "order: slot (default) and status "\
	 "stream; guid and last_contact (oldest first) need --limit"},                       \
	{"--reverse", NULL, NULL, "the other way round (with --sort guid or last_contact)"}, \
	{"--limit", "N", NULL, "at most N clients"},                                         \
	{"--after", "SLOT", NULL, "from the slot after SLOT on: the next page (the last "     \
	 "line's \"after\")"}
/* clang-format on */

const struct ctl_opt ctl_list_opts[] = {CTL_FILTER_OPTS, ORDER_OPTS, {NULL, NULL, NULL, NULL}};
const struct ctl_opt ctl_count_opts[] = {CTL_FILTER_OPTS, {NULL, NULL, NULL, NULL}};

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		     char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		snprintf(err, errlen, "usage: %s: '%.32s' is not a number in %llu..%llu", opt, s,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

struct order {
	enum ctl_query_sort sort;
	bool reverse, has_after;
	uint64_t limit, after;
};

/* One option of ORDER_OPTS: 0, or -EINVAL. */
static int take_order(struct order *o, const struct ctl_arg *a, char *err, size_t errlen)
{
	static const char *const sorts[] = {"slot", "status", "guid", "last_contact"};
	const char *name = a->opt->name;
	if (!strcmp(name, "--sort")) {
		for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
			if (!strcmp(a->value, sorts[i]))
				o->sort = (enum ctl_query_sort)i;
		return 0;
	}
	if (!strcmp(name, "--reverse")) {
		o->reverse = true;
		return 0;
	}
	if (!strcmp(name, "--limit"))
		return parse_u64(name, a->value, 1, UINT64_MAX, &o->limit, err, errlen);
	o->has_after = true;
	return parse_u64(name, a->value, 0, UINT32_MAX, &o->after, err, errlen);
}

/* Reads the options of a query; the filter filled, the order when `o`. */
static int read_opts(struct gn_daemon *d, const struct ctl_opt *opts, int argc, const char **argv,
		     struct ctl_filter *f, struct order *o, char *err, size_t errlen)
{
	struct ctl_args it = ctl_args_start(opts, argc, argv);
	struct ctl_arg a;
	uint32_t now = gn_coarse_steady();
	int rc;
	while ((rc = ctl_args_next(&it, &a, err, errlen)) > 0) {
		if (!a.opt)
			continue; /* the table allows none: the dispatcher refused them */
		rc = ctl_filter_take(f, &a, d, now, err, errlen);
		if (rc == 0 && o)
			rc = take_order(o, &a, err, errlen);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* The query begins: its head is the first answer, the rest streams. */
static json_t *open_query(struct gn_daemon *d, enum ctl_query_kind kind, struct ctl_filter *f,
			  const struct order *o, struct ctl_call *call, char *err, size_t errlen)
{
	struct ctl_query *q = ctl_query_new(d, kind, f);
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (o && ctl_query_order(q, o->sort, o->reverse, o->limit, o->has_after, (uint32_t)o->after,
				 err, errlen) < 0) {
		ctl_query_free(q);
		return NULL;
	}
	json_t *head = ctl_query_head(q);
	if (!head) {
		ctl_query_free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	call->query = q;
	return head;
}

json_t *cmd_show_clients(struct gn_daemon *d, int argc, const char **argv, struct ctl_call *call,
			 char *err, size_t errlen)
{
	struct ctl_filter f;
	struct order o = {.sort = CTL_SORT_SLOT};
	ctl_filter_init(&f);
	if (read_opts(d, ctl_list_opts, argc, argv, &f, &o, err, errlen) < 0) {
		ctl_filter_free(&f);
		return NULL;
	}
	return open_query(d, CTL_Q_LIST, &f, &o, call, err, errlen);
}

json_t *cmd_show_counts(struct gn_daemon *d, int argc, const char **argv, struct ctl_call *call,
			char *err, size_t errlen)
{
	struct ctl_filter f;
	ctl_filter_init(&f);
	if (read_opts(d, ctl_count_opts, argc, argv, &f, NULL, err, errlen) < 0) {
		ctl_filter_free(&f);
		return NULL;
	}
	return open_query(d, CTL_Q_COUNT, &f, NULL, call, err, errlen);
}
