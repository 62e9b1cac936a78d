/*
 * Bulk import and export of endpoints (issue #5), run as jobs of the event
 * loop: a file of 10 M lines is read or written a slice at a time, so the
 * control socket and HTTP keep answering. One import and one export at a
 * time; `show bulk` tells how far each got and what it refused, by line.
 */
#ifndef GLOURNET_BULK_JOB_H
#define GLOURNET_BULK_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct gn_daemon;
struct bulk_job;

#define BULK_ERRORS_KEPT 10   /* first refused lines, with their reasons */

/* Starts an import of `path` (format from its name, or `format`: "jsonl",
 * "csv"). 0, or -errno with `err` naming the problem (the file, the format,
 * the CSV header, an import already running). */
int bulk_import_start(struct gn_daemon *d, const char *path, const char *format, char *err,
		      size_t errlen);
/* Starts an export to `path` (written to path.tmp, mode 0600 since it holds
 * keys, renamed when complete). */
int bulk_export_start(struct gn_daemon *d, const char *path, const char *format, char *err,
		      size_t errlen);
/* Works on the running jobs for about `budget_ns`; true while any has more
 * to do at once (an import waiting for the store is not: the store's
 * eventfd wakes the loop when commits move). */
bool bulk_tick(struct gn_daemon *d, uint32_t now, uint64_t budget_ns);
/* {"import": {...}, "export": {...}}: the last job of each kind. */
json_t *bulk_status_json(const struct gn_daemon *d);
void bulk_jobs_free(struct gn_daemon *d);

#endif
