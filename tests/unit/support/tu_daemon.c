/* The fake daemon (tu_daemon.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/policy_store.h"
#include "control/store.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "tu_daemon.h"

int tu_daemon_open(struct gn_daemon *d, const char *dir, uint32_t started)
{
	memset(d, 0, sizeof(*d));
	if (tu_registry_open(&d->table, &d->reg, &d->policy) < 0)
		return -1;
	if (snprintf(d->policy_path, sizeof(d->policy_path), "%s/policy.json", dir) >=
	    (int)sizeof(d->policy_path))
		return -1;
	d->nworkers = 2;
	d->started = d->sweep.started = started;
	return 0;
}

void tu_daemon_close(struct gn_daemon *d)
{
	if (d->store)
		store_close(d->store, 5000);
	d->store = NULL;
	if (d->reg.feed == d->feed)
		d->reg.feed = NULL;
	feed_free(d->feed);
	d->feed = NULL;
	sweep_state_free(&d->sweep);
	tu_registry_close(&d->table, &d->reg, &d->policy);
}

int tu_ctl_open(struct gn_daemon *d, struct tu_scratch *dir, const char *tag)
{
	if (tu_scratch_make(dir, tag, NULL) < 0 || tu_daemon_open(d, dir->dir, TU_NOW - 1000) < 0)
		return -1;
	d->policy->rev = 5;
	gn_coarse_set(TU_NOW);
	return 0;
}

int tu_ctl_close(struct gn_daemon *d, struct tu_scratch *dir)
{
	tu_daemon_close(d);
	return tu_scratch_remove(dir) < 0 ? -1 : 0;
}

json_t *tu_ctl(struct gn_daemon *d, const char *line, bool want_ok)
{
	char *out = ctl_dispatch(d, line, strlen(line));
	assert_non_null(out);
	assert_null(strchr(out, '\n'));                  /* one line */
	json_t *j = json_loads(out, 0, NULL);
	if (!json_is_object(j))
		fail_msg("'%s' answered non-JSON: %s", line, out);
	json_t *ok = json_object_get(j, "ok");
	if (!json_is_boolean(ok) || json_is_true(ok) != want_ok)
		fail_msg("'%s' answered %s", line, out);
	if (want_ok)
		assert_non_null(json_object_get(j, "result"));
	else if (!json_string_value(json_object_get(j, "error")) ||
		 !*json_string_value(json_object_get(j, "error")))
		fail_msg("'%s': failure without an error message: %s", line, out);
	free(out);
	return j;
}

json_t *tu_ctl_argv(struct gn_daemon *d, bool want_ok, const char *const *argv)
{
	json_t *a = json_array();
	for (; *argv; argv++)
		json_array_append_new(a, json_string(*argv));
	json_t *req = json_pack("{s:o}", "argv", a);
	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	assert_non_null(line);
	json_t *j = tu_ctl(d, line, want_ok);
	free(line);
	return j;
}

struct policy *tu_persisted(const struct gn_daemon *d)
{
	struct policy *p = NULL;
	char err[512];
	if (policy_load(d->policy_path, &p, err, sizeof(err)) < 0)
		fail_msg("policy_load: %s", err);
	return p;
}
