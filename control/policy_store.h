/*
 * The policy on disk: one JSON file, written whole to a temporary file,
 * fsynced and renamed, so a crash leaves the old policy or the new one,
 * never half of either. (The SQLite store replaces it later, behind the
 * same two calls.)
 */
#ifndef GLOURNET_POLICY_STORE_H
#define GLOURNET_POLICY_STORE_H

#include <stddef.h>

#include "control/policy.h"

/* Loads `path` onto a default policy, validating every value as the CLI
 * does. A missing file gives the defaults. 0, or -errno with `err` naming
 * the file and the bad entry. */
int policy_load(const char *path, struct policy **out, char *err, size_t errlen);
/* The same document as text (several collectors keep it in PostgreSQL,
 * cluster_policy.h): policy_to_text gives it compact (malloc'd; NULL when
 * out of memory), policy_from_text reads it as policy_load reads the file,
 * `what` naming it in errors. */
char *policy_to_text(const struct policy *p);
int policy_from_text(const char *text, const char *what, struct policy **out, char *err,
		     size_t errlen);
int policy_save(const char *path, const struct policy *p, char *err, size_t errlen);

#endif
