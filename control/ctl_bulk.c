/*
 * The bulk commands of the control socket: start an import or an export
 * (they run as jobs of the event loop, bulk_job.c) and show how far they got.
 */
#include <stdio.h>

#include "control/bulk_job.h"
#include "control/ctl_commands.h"

json_t *cmd_import(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	if (bulk_import_start(&d->bulk, argv[0], argc > 1 ? argv[1] : NULL, err, errlen) < 0)
		return NULL;
	return json_pack("{s:s, s:s}", "import", "started", "path", argv[0]);
}

json_t *cmd_export(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	if (bulk_export_start(&d->bulk, argv[0], argc > 1 ? argv[1] : NULL, err, errlen) < 0)
		return NULL;
	return json_pack("{s:s, s:s}", "export", "started", "path", argv[0]);
}

json_t *cmd_show_bulk(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	return bulk_status_json(&d->bulk);
}
