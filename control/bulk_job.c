/*
 * Bulk import/export jobs (bulk_job.h). The file formats are bulk_format's;
 * this file decides what a record does to the registry and the store, and
 * cuts the work into slices the event loop can interleave with requests.
 *
 * An imported endpoint is not contact (R4 speaks of registration): it
 * starts offline (or unreachable/offline, R1) until it heartbeats or polls,
 * without a transition, as a restored one does. Each is written to the
 * store like a registration; the import waits whenever the store falls
 * behind, so the store queue never refuses one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG "bulk"
#include "control/bulk_format.h"
#include "control/bulk_job.h"
#include "control/mono_clock.h"
#include "control/persist.h"
#include "control/safe_file.h"
#include "control/status.h"
#include "control/store.h"
#include "control/text.h"
#include "glournet/log.h"

/* The import pauses while the store has this many writes queued. */
#define IMPORT_BACKLOG (128 * 1024)

struct bulk_job {
	bool import;
	bool running;
	enum bulk_format fmt;
	char path[2048];
	struct safe_file out; /* export: named only when complete */
	FILE *f;
	struct bulk_reader rd;  /* import */
	struct bulk_header hdr; /* export (CSV) */
	uint32_t cursor;        /* export: next slot */
	uint64_t added, known, refused, exported, waits;
	char errors[BULK_ERRORS_KEPT][240];
	unsigned nerrors;
	char failure[2400]; /* why a job stopped early; "" if it did not */
	uint64_t begin_ns, end_ns;
	char *buf;
};


static void refuse(struct bulk_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct bulk_job *j, const char *fmt, ...)
{
	j->refused++;
	if (j->nerrors >= BULK_ERRORS_KEPT)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->errors[j->nerrors++], sizeof(j->errors[0]), fmt, ap);
	va_end(ap);
}

static void finish(struct bulk_job *j)
{
	j->running = false;
	j->end_ns = gn_mono_ns();
	double s = (double)(j->end_ns - j->begin_ns) / 1e9;
	if (j->import)
		LOG(INFO,
		    "import of %s %s after %.1f s: %llu added, %llu already known, %llu lines "
		    "refused%s%s",
		    j->path, j->failure[0] ? "stopped" : "done", s, (unsigned long long)j->added,
		    (unsigned long long)j->known, (unsigned long long)j->refused,
		    j->failure[0] ? ": " : "", j->failure);
	else
		LOG(INFO, "export to %s %s after %.1f s: %llu endpoints%s%s", j->path,
		    j->failure[0] ? "failed" : "done", s, (unsigned long long)j->exported,
		    j->failure[0] ? ": " : "", j->failure);
}

static int pick_format(const char *path, const char *format, enum bulk_format *fmt, char *err,
		       size_t errlen)
{
	const char *name = format && *format ? format : path;
	if (bulk_format_from_name(name, fmt) == 0)
		return 0;
	snprintf(err, errlen,
		 format && *format ? "unknown format '%s' (jsonl or csv)"
				   : "cannot tell the format of '%s' from its name "
				     "(.jsonl or .csv), give it: jsonl or csv",
		 name);
	return -EINVAL;
}

static struct bulk_job *new_job(struct bulk_job **slot, bool import, const char *path, char *err,
				size_t errlen)
{
	if (*slot && (*slot)->running) {
		snprintf(err, errlen, "an %s of %s is running already (show bulk)",
			 import ? "import" : "export", (*slot)->path);
		return NULL;
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "'%s': the daemon needs an absolute path", path);
		return NULL;
	}
	if (strlen(path) >= sizeof((*slot)->path)) {
		snprintf(err, errlen, "path too long (over %zu bytes)", sizeof((*slot)->path) - 1);
		return NULL;
	}
	struct bulk_job *j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->import = import;
	snprintf(j->path, sizeof(j->path), "%s", path);
	return j;
}

static void replace_job(struct bulk_job **slot, struct bulk_job *j)
{
	if (*slot) {
		free((*slot)->buf);
		free(*slot);
	}
	*slot = j;
	j->running = true;
	j->begin_ns = gn_mono_ns();
}

void bulk_jobs_init(struct bulk_jobs *b, struct registry *r, struct store *s,
		    struct policy *const *policy)
{
	*b = (struct bulk_jobs){.reg = r, .store = s, .policy = policy};
}

int bulk_import_start(struct bulk_jobs *b, const char *path, const char *format, char *err,
		      size_t errlen)
{
	enum bulk_format fmt;
	if (pick_format(path, format, &fmt, err, errlen) < 0)
		return -EINVAL;
	struct bulk_job *j = new_job(&b->import, true, path, err, errlen);
	if (!j)
		return -EBUSY;
	j->fmt = fmt;
	j->f = fopen(path, "re");
	if (!j->f) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		free(j);
		return -e;
	}
	char why[200] = "";
	int rc = bulk_reader_open(&j->rd, j->f, fmt, BULK_LINE_DEFAULT, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why[0] ? why : strerror(-rc));
		fclose(j->f);
		free(j);
		return rc;
	}
	replace_job(&b->import, j);
	LOG(INFO, "import of %s started (%s)", path, fmt == BULK_CSV ? "csv" : "jsonl");
	return 0;
}

int bulk_export_start(struct bulk_jobs *b, const char *path, const char *format, char *err,
		      size_t errlen)
{
	enum bulk_format fmt;
	if (pick_format(path, format, &fmt, err, errlen) < 0)
		return -EINVAL;
	struct bulk_job *j = new_job(&b->export, false, path, err, errlen);
	if (!j)
		return -EBUSY;
	j->fmt = fmt;
	j->buf = malloc(BULK_LINE_DEFAULT);
	if (!j->buf) {
		snprintf(err, errlen, "out of memory");
		free(j);
		return -ENOMEM;
	}
	/* Keys inside: created by us alone, 0600, never through a link (safe_file.h). */
	int rc = safe_file_create(&j->out, path, 0, err, errlen);
	if (rc == 0 && !(j->f = fdopen(j->out.fd, "w"))) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-rc));
		safe_file_abort(&j->out);
		close(j->out.fd);
	}
	if (rc < 0) {
		free(j->buf);
		free(j);
		return rc;
	}
	bulk_header_full(&j->hdr);
	if (fmt == BULK_CSV) {
		int n = bulk_format_csv_header(&j->hdr, j->buf, BULK_LINE_DEFAULT);
		if (n > 0)
			fwrite(j->buf, 1, (size_t)n, j->f);
	}
	replace_job(&b->export, j);
	LOG(INFO, "export to %s started (%s)", path, fmt == BULK_CSV ? "csv" : "jsonl");
	return 0;
}

/* One record into the registry and the store. */
static void import_record(struct bulk_jobs *b, struct bulk_job *j, const struct bulk_record *rec,
			  uint32_t now)
{
	struct registry *r = b->reg;
	const struct store_endpoint *e = &rec->e;
	struct endpoint *ep;
	int rc = registry_add_imported(r, e->guid, rec->has & BULK_HAS(ID) ? e->id : 0,
				       rec->has & BULK_HAS(KEY) ? e->key : NULL,
				       rec->has & BULK_HAS(SLOT) ? e->slot : UINT32_MAX, now, &ep);
	if (rc == -EEXIST) {
		if (registry_by_guid(r, e->guid)) {
			j->known++; /* already here: the file does not overwrite it */
			return;
		}
		/* Nothing of the line's content: the daemon may read files the
		 * operator cannot (issue 13: `import /etc/shadow`). */
		refuse(j, "line %lu: its id belongs to another endpoint", j->rd.line);
		return;
	}
	const char *bad_guid = rc == -EINVAL ? text_guid_problem(e->guid, strlen(e->guid)) : NULL;
	if (bad_guid) { /* the rule registration applies too */
		refuse(j, "line %lu: guid: %s", j->rd.line, bad_guid);
		return;
	}
	if (rc < 0) {
		refuse(j, "line %lu: %s", j->rd.line, strerror(-rc));
		if (rc == -ENOSPC || rc == -ENOMEM)
			snprintf(j->failure, sizeof(j->failure), "collector full at line %lu: %s",
				 j->rd.line, strerror(-rc));
		return;
	}
	struct gn_addr ips[EP_MAX_IPS];
	unsigned n = 0;
	if (e->ips[0] && text_parse_ips(e->ips, ips, EP_MAX_IPS, &n) < 0)
		n = 0; /* bulk_format checked them; cannot happen */
	if (registry_set_details(r, ep, e->hostname, ips, n, e->notify_port) < 0)
		refuse(j, "line %lu: out of memory for its hostname and addresses", j->rd.line);
	if (rec->has & BULK_HAS(REGISTERED))
		registry_set_registered(ep, e->registered);
	int32_t range;
	bool unreachable = status_classify(*b->policy, ep, &range);
	registry_set_range(r, ep, range);
	registry_restore_state(r, ep, unreachable, false, EP_REASON_NO_CONTACT, now);
	if (b->store && !persist_endpoint(b->store, r, ep))
		refuse(j,
		       "line %lu: the store refused it (queue full); it is in memory only, "
		       "export and import again",
		       j->rd.line);
	j->added++;
}

/* True when there is more to do at once; false when done or waiting for
 * the store. */
static bool import_slice(struct bulk_jobs *b, struct bulk_job *j, uint32_t now, uint64_t deadline)
{
	struct bulk_record *rec = malloc(sizeof(*rec));
	if (!rec)
		return true;
	for (unsigned k = 0; j->running; k++) {
		if ((k & 63) == 0) {
			if (gn_mono_ns() >= deadline)
				break;
			if (b->store) {
				struct store_stats st;
				store_get_stats(b->store, &st);
				if (st.queue_len > IMPORT_BACKLOG) {
					j->waits++;
					free(rec);
					/* Not "more": the loop sleeps until the
					 * store's eventfd says commits moved. */
					return false;
				}
			}
		}
		char why[200] = "";
		int rc = bulk_reader_next(&j->rd, rec, why, sizeof(why));
		if (rc == 1) {
			import_record(b, j, rec, now);
			if (j->failure[0])
				rc = -ENOSPC;
		} else if (rc == -EINVAL || rc == -E2BIG) {
			refuse(j, "%s", why);
			continue;
		} else if (rc < 0 && !j->failure[0]) {
			snprintf(j->failure, sizeof(j->failure), "read error: %s",
				 why[0] ? why : strerror(-rc));
		}
		if (rc <= 0 || j->failure[0]) {
			bulk_reader_close(&j->rd);
			fclose(j->f);
			j->f = NULL;
			finish(j);
		}
	}
	free(rec);
	return j->running;
}

static void export_done(struct bulk_job *j)
{
	if (!j->failure[0] && fflush(j->f) != 0)
		snprintf(j->failure, sizeof(j->failure), "writing %s: %s", j->path,
			 strerror(errno));
	if (!j->failure[0])
		safe_file_commit(&j->out, j->failure, sizeof(j->failure)); /* fsync, rename */
	else
		safe_file_abort(&j->out);
	if (fclose(j->f) != 0 && !j->failure[0])
		snprintf(j->failure, sizeof(j->failure), "closing %s: %s", j->path,
			 strerror(errno));
	j->f = NULL;
	finish(j);
}

static bool export_slice(struct bulk_jobs *b, struct bulk_job *j, uint64_t deadline)
{
	struct registry *r = b->reg;
	struct bulk_record *rec = malloc(sizeof(*rec));
	if (!rec)
		return true;
	for (unsigned k = 1; j->cursor < r->nslots; j->cursor++, k++) {
		struct endpoint *ep = registry_at(r, j->cursor);
		if (ep->id) {
			memset(rec, 0, sizeof(*rec));
			persist_fill(r, ep, &rec->e);
			rec->last_contact = registry_last_contact(r, ep);
			snprintf(rec->status, sizeof(rec->status), "%s",
				 ep_status_name(ep->status));
			rec->has = (1u << BULK_F_COUNT) - 1;
			int n = bulk_format_record(j->fmt, &j->hdr, rec, j->buf, BULK_LINE_DEFAULT);
			if (n < 0 || fwrite(j->buf, 1, (size_t)n, j->f) != (size_t)n) {
				snprintf(j->failure, sizeof(j->failure), "writing %s: %s", j->path,
					 n < 0 ? strerror(-n) : strerror(errno));
				break;
			}
			j->exported++;
		}
		if ((k & 1023) == 0 && gn_mono_ns() >= deadline) {
			j->cursor++;
			free(rec);
			return true;
		}
	}
	free(rec);
	export_done(j);
	return false;
}

bool bulk_import_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct bulk_jobs *b = self;
	if (!b->import || !b->import->running)
		return false;
	loop_job_pass_begin(&b->import_stats);
	bool more = import_slice(b, b->import, now, gn_mono_ns() + budget_ns);
	if (!b->import->running)
		loop_job_pass_end(&b->import_stats);
	return more;
}

bool bulk_export_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	struct bulk_jobs *b = self;
	if (!b->export || !b->export->running)
		return false;
	loop_job_pass_begin(&b->export_stats);
	bool more = export_slice(b, b->export, gn_mono_ns() + budget_ns);
	if (!b->export->running)
		loop_job_pass_end(&b->export_stats);
	return more;
}

static json_t *job_json(const struct bulk_job *j)
{
	if (!j)
		return json_null();
	json_t *errors = json_array();
	for (unsigned i = 0; i < j->nerrors; i++)
		json_array_append_new(errors, json_string(j->errors[i]));
	uint64_t end = j->running ? gn_mono_ns() : j->end_ns;
	double secs = (double)(end - j->begin_ns) / 1e9;
	uint64_t done = j->import ? j->added : j->exported;
	json_t *o = json_pack("{s:s, s:s, s:b, s:f, s:f, s:o}", "path", j->path, "format",
			      j->fmt == BULK_CSV ? "csv" : "jsonl", "running", j->running,
			      "seconds", secs, "per_second", secs > 0 ? (double)done / secs : 0.0,
			      "errors", errors);
	if (j->import) {
		json_object_set_new(o, "line", json_integer((json_int_t)j->rd.line));
		json_object_set_new(o, "added", json_integer((json_int_t)j->added));
		json_object_set_new(o, "known", json_integer((json_int_t)j->known));
		json_object_set_new(o, "refused", json_integer((json_int_t)j->refused));
		json_object_set_new(o, "store_waits", json_integer((json_int_t)j->waits));
	} else {
		json_object_set_new(o, "exported", json_integer((json_int_t)j->exported));
	}
	json_object_set_new(o, "failure", json_string(j->failure));
	return o;
}

json_t *bulk_status_json(const struct bulk_jobs *b)
{
	return json_pack("{s:o, s:o}", "import", job_json(b->import), "export",
			 job_json(b->export));
}

void bulk_jobs_free(struct bulk_jobs *b)
{
	struct bulk_job *jobs[2] = {b->import, b->export};
	for (int i = 0; i < 2; i++) {
		struct bulk_job *j = jobs[i];
		if (!j)
			continue;
		if (j->f) {
			if (j->import)
				bulk_reader_close(&j->rd);
			else
				safe_file_abort(&j->out); /* an export cut short is not a file */
			fclose(j->f);
		}
		free(j->buf);
		free(j);
	}
	b->import = b->export = NULL;
}
