/*
 * What a destructive command would do, for a client that asks its
 * operator first (ctl_commands.h, CTL_F_CONFIRM): each preview reads the
 * state and changes nothing. remove client's is in ctl_remove.c, which
 * resolves the names anyway.
 */
#include <stdio.h>

#include "control/ctl_commands.h"

json_t *cmd_guard_release_preview(struct gn_daemon *d, int argc, const char **argv, char *err,
				  size_t errlen)
{
	(void)argc;
	(void)argv;
	const struct guard_state *g = &d->sweep.guard;
	if (!g->active) {
		snprintf(err, errlen, "guard release: the mass-offline guard is not raised");
		return NULL;
	}
	char what[300];
	snprintf(what, sizeof(what),
		 "guard release: %u endpoints held by the mass-offline guard go offline now "
		 "(R10)",
		 (unsigned)g->held);
	return json_pack("{s:s, s:I}", "confirm", what, "count", (json_int_t)g->held);
}
