/*
 * `remove client`: the operator forgets endpoints (issue #5), named or by
 * filter (issue 14).
 *
 * Named: every name is resolved before anything is removed, so a typo in
 * a list removes nothing (or, with --missing-ok, is skipped and listed);
 * then each endpoint leaves the registry and the store (persist_remove).
 * A request holds as many names as its line does; glournetctl sends a
 * longer list, or a file's, in several requests, each checked first with
 * --dry-run. By filter: a query (ctl_clients.h) that removes what matches
 * as it walks, and streams each removal.
 *
 * A client that asks to confirm ("force": false) gets what would go: the
 * names resolved, or the filter's count, and nothing is removed. The
 * answer does not wait for the store's commit (the control socket answers
 * synchronously); the help says so.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "ctl"
#include "control/ctl_clients.h"
#include "control/ctl_commands.h"
#include "control/persist.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

/* clang-format off */
const struct ctl_opt ctl_remove_opts[] = {
	CTL_FILTER_OPTS,
	{"--dry-run", NULL, NULL, "say what would be removed, remove nothing"},
	{"--missing-ok", NULL, NULL, "skip names that are no client (listed in \"missing\")"},
	{"--file", "FILE", NULL, "read by glournetctl: the ids or guids in FILE (- for stdin), "
	 "one a line"},
	{NULL, NULL, NULL, NULL},
};
/* clang-format on */

static json_t *removed_json(const struct endpoint *ep)
{
	char id[17];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "guid", ep_guid(ep), "slot",
			      (json_int_t)ep->slot, "status", ep_status_name(ep->status));
	if (!o) /* a guid that is not UTF-8 */
		o = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "guid", "", "slot",
			      (json_int_t)ep->slot, "status", ep_status_name(ep->status));
	return o;
}

struct request {
	const char **names;
	int nnames;
	struct ctl_filter f;
	bool dry_run, missing_ok;
};

static int read_request(struct gn_daemon *d, int argc, const char **argv, struct request *rq,
			char *err, size_t errlen)
{
	struct ctl_args it = ctl_args_start(ctl_remove_opts, argc, argv);
	struct ctl_arg a;
	int rc;
	while ((rc = ctl_args_next(&it, &a, err, errlen)) > 0) {
		if (!a.opt) {
			rq->names[rq->nnames++] = a.value;
		} else if (!strcmp(a.opt->name, "--dry-run")) {
			rq->dry_run = true;
		} else if (!strcmp(a.opt->name, "--missing-ok")) {
			rq->missing_ok = true;
		} else if (!strcmp(a.opt->name, "--file")) {
			snprintf(err, errlen,
				 "usage: remove client --file: glournetctl reads the file and "
				 "sends the names it lists");
			return -1;
		} else if ((rc = ctl_filter_take(&rq->f, &a, d, gn_coarse_steady(), err, errlen)) <
			   0) {
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (rq->nnames && rq->f.given) {
		snprintf(err, errlen, "usage: remove client: names or a filter, not both");
		return -1;
	}
	if (!rq->nnames && !rq->f.given) {
		snprintf(err, errlen,
			 "usage: remove client <id|guid>... | FILTER... (a filter: --status, "
			 "--not-seen-since, ...; see help remove client)");
		return -1;
	}
	return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	const struct endpoint *x = *(struct endpoint *const *)a, *y = *(struct endpoint *const *)b;
	return x < y ? -1 : x > y;
}

/* Each name to its endpoint, once (named by id and by guid, say). The
 * ones that are no client go to `missing`, or fail the whole request. */
static int resolve(struct gn_daemon *d, struct request *rq, struct endpoint **eps, int *n,
		   json_t *missing, char *err, size_t errlen)
{
	*n = 0;
	for (int i = 0; i < rq->nnames; i++) {
		struct endpoint *ep = ctl_find_client(d, rq->names[i]);
		if (ep) {
			eps[(*n)++] = ep;
		} else if (rq->missing_ok) {
			json_array_append_new(missing, json_string(rq->names[i]));
		} else {
			snprintf(err, errlen,
				 "remove client: no client with id or guid '%.100s' "
				 "(nothing removed)",
				 rq->names[i]);
			return -1;
		}
	}
	qsort(eps, (size_t)*n, sizeof(*eps), cmp_ptr);
	int k = 0;
	for (int i = 0; i < *n; i++)
		if (!k || eps[k - 1] != eps[i])
			eps[k++] = eps[i];
	*n = k;
	return 0;
}

/* What a confirmation shows: how many, and the first few by guid. */
static json_t *preview_json(struct endpoint **eps, int n)
{
	char what[600];
	size_t len =
		(size_t)snprintf(what, sizeof(what), "remove %d client%s:", n, n == 1 ? "" : "s");
	for (int i = 0; i < n && i < 5 && len < sizeof(what); i++)
		len += (size_t)snprintf(what + len, sizeof(what) - len, "%s %.64s", i ? "," : "",
					ep_guid(eps[i]));
	if (n > 5 && len < sizeof(what))
		len += (size_t)snprintf(what + len, sizeof(what) - len, " and %d more", n - 5);
	if (len < sizeof(what))
		snprintf(what + len, sizeof(what) - len, " (their heartbeats are refused at once)");
	return json_pack("{s:s, s:i}", "confirm", what, "count", n);
}

static json_t *remove_named(struct gn_daemon *d, struct request *rq, struct ctl_call *call,
			    char *err, size_t errlen)
{
	struct endpoint **eps = malloc((size_t)rq->nnames * sizeof(*eps));
	json_t *missing = json_array(), *list = json_array();
	int n = 0;
	json_t *result = NULL;
	if (!eps || !missing || !list) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (resolve(d, rq, eps, &n, missing, err, errlen) < 0)
		goto out;
	if (call->ask && !rq->dry_run) {
		json_t *p = preview_json(eps, n);
		snprintf(err, errlen, "%s", json_string_value(json_object_get(p, "confirm")));
		call->code = CTL_CODE_CONFIRM;
		call->extra = json_pack("{s:o}", "preview", p);
		goto out;
	}
	uint32_t now = gn_coarse_steady();
	for (int i = 0; i < n; i++) {
		json_t *o = removed_json(eps[i]);
		if (rq->dry_run) {
			json_array_append_new(list, o);
			continue;
		}
		uint64_t id = eps[i]->id;
		uint32_t slot = eps[i]->slot;
		if (persist_remove(d, eps[i], EP_REMOVED_OPERATOR, now) < 0) {
			snprintf(err, errlen,
				 "remove client: the store is busy: %d of %d removed; "
				 "'%.64s' and any after it were not, retry them",
				 i, n, ep_guid(eps[i]));
			LOG(WARN, "%s", err);
			json_decref(o);
			goto out;
		}
		LOG(INFO, "client %016llx (slot %u) removed by an operator", (unsigned long long)id,
		    slot);
		json_array_append_new(list, o);
	}
	result = json_pack("{s:O, s:I}", rq->dry_run ? "would_remove" : "removed", list, "clients",
			   (json_int_t)d->reg.count);
	if (result && rq->missing_ok)
		json_object_set(result, "missing", missing);
out:
	json_decref(list);
	json_decref(missing);
	free(eps);
	return result;
}

json_t *cmd_remove_client(struct gn_daemon *d, int argc, const char **argv, struct ctl_call *call,
			  char *err, size_t errlen)
{
	struct request rq = {.names = malloc(((size_t)argc + 1) * sizeof(char *))};
	ctl_filter_init(&rq.f);
	json_t *result = NULL;
	if (!rq.names)
		snprintf(err, errlen, "out of memory");
	else if (read_request(d, argc, argv, &rq, err, errlen) < 0)
		;
	else if (rq.nnames)
		result = remove_named(d, &rq, call, err, errlen);
	else {
		enum ctl_query_kind kind = rq.dry_run  ? CTL_Q_DRY_RUN
					   : call->ask ? CTL_Q_PREVIEW
						       : CTL_Q_REMOVE;
		struct ctl_query *q = ctl_query_new(d, kind, &rq.f);
		result = q ? ctl_query_head(q) : NULL;
		if (!result) {
			ctl_query_free(q);
			snprintf(err, errlen, "out of memory");
		} else {
			call->query = q;
		}
	}
	ctl_filter_free(&rq.f);
	free(rq.names);
	return result;
}
