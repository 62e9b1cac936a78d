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

#include "control/loop_job.h"

struct bulk_job;
struct policy;
struct registry;
struct store;

#define BULK_ERRORS_KEPT 10 /* first refused lines, with their reasons */

/* The two jobs of the loop ("import", "export") and what they work on. */
struct bulk_jobs {
	struct registry *reg;
	struct store *store;              /* NULL: in memory only (tests) */
	struct policy *const *policy;     /* the snapshot in force: imports are classified by it */
	struct bulk_job *import, *export; /* the last of each kind */
	struct loop_job_stats import_stats, export_stats; /* a pass: one file */
};

void bulk_jobs_init(struct bulk_jobs *b, struct registry *r, struct store *s,
		    struct policy *const *policy);

/* Starts an import of `path` (format from its name, or `format`: "jsonl",
 * "csv"). 0, or -errno with `err` naming the problem (the file, the format,
 * the CSV header, an import already running). */
int bulk_import_start(struct bulk_jobs *b, const char *path, const char *format, char *err,
		      size_t errlen);
/* Starts an export to `path`: mode 0600 since it holds keys, created by
 * glournetd alone and named only when complete (safe_file.h). */
int bulk_export_start(struct bulk_jobs *b, const char *path, const char *format, char *err,
		      size_t errlen);
/* The loop's jobs (loop_job.h), `self` the struct bulk_jobs: work on the
 * running import or export for about `budget_ns`; true while it has more
 * to do at once (an import waiting for the store has not: the store's
 * eventfd wakes the loop when commits move). */
bool bulk_import_step(void *self, uint32_t now, uint64_t budget_ns);
bool bulk_export_step(void *self, uint32_t now, uint64_t budget_ns);
/* {"import": {...}, "export": {...}}: the last job of each kind. */
json_t *bulk_status_json(const struct bulk_jobs *b);
void bulk_jobs_free(struct bulk_jobs *b);

#endif
