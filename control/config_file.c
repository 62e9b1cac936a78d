/*
 * The configuration file's reader (config_file.h): libyaml's events walked
 * into a list of keys with their values and lines. YAML because operators
 * write it already (Prometheus, Kubernetes, Ansible, Knot DNS); libyaml
 * because it is the reference parser, in Debian, and marks every event
 * with its line. Only YAML's shape is checked here; the values stay text
 * for the option code that checks the command line's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "control/config_file.h"

struct walk {
	yaml_parser_t parser;
	struct config_file *cf;
	char *err;
	size_t errlen, used;
	const char *name;
	unsigned soft; /* errors of a key, after which the walk goes on */
	unsigned total;
};

/* Appends "NAME:LINE: what" to the errors (one a line); -1. */
__attribute__((format(printf, 3, 4))) static int fail(struct walk *w, size_t line, const char *fmt,
						      ...)
{
	if (w->used + 1 >= w->errlen)
		return -1;
	char *p = w->err + w->used;
	size_t room = w->errlen - w->used;
	int n = snprintf(p, room, "%s%s:%zu: ", w->used ? "\n" : "", w->name, line + 1);
	if (n > 0 && (size_t)n < room) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p + n, room - (size_t)n, fmt, ap);
		va_end(ap);
	}
	w->used += strlen(p);
	return -1;
}

/* The next event, or -1 with libyaml's problem and line. */
static int next(struct walk *w, yaml_event_t *ev)
{
	if (yaml_parser_parse(&w->parser, ev))
		return 0;
	const yaml_parser_t *p = &w->parser;
	/* `http: [::]:8080` is the likely slip: [ opens a list. */
	const char *hint = p->context && strstr(p->context, "flow")
				   ? "; quote a value that starts with [ or { (\"[::]:8080\")"
				   : "";
	if (p->context)
		return fail(w, p->problem_mark.line, "YAML: %s %s (from line %zu)%s", p->problem,
			    p->context, p->context_mark.line + 1, hint);
	return fail(w, p->problem_mark.line, "YAML: %s",
		    p->problem ? p->problem : "cannot be parsed");
}

static bool is_null(const yaml_event_t *ev)
{
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)ev->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *what(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "a value";
	}
}

/* Past the rest of a list or mapping whose start `ev` was: 0 or -1. */
static int skip(struct walk *w, const yaml_event_t *ev)
{
	if (ev->type != YAML_MAPPING_START_EVENT && ev->type != YAML_SEQUENCE_START_EVENT)
		return 0;
	for (unsigned depth = 1; depth;) {
		yaml_event_t e;
		if (next(w, &e) < 0)
			return -1;
		if (e.type == YAML_MAPPING_START_EVENT || e.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		yaml_event_delete(&e);
	}
	return 0;
}

/* A key's error that leaves the rest of the file to check: said, the
 * value skipped; 1, or -1 when the skip itself fails. */
static int soft(struct walk *w, const yaml_event_t *ev)
{
	w->soft++;
	return skip(w, ev) < 0 ? -1 : 1;
}

/* One value of `e` (ev is a scalar, or not: a bad type): 0, 1 (a key's
 * error, said) or -1. */
static int add_value(struct walk *w, struct config_entry *e, const yaml_event_t *ev)
{
	size_t line = ev->start_mark.line;
	if (ev->type == YAML_ALIAS_EVENT) {
		fail(w, line, "%s: aliases (*%s) are not supported", e->key,
		     (const char *)ev->data.alias.anchor);
		return soft(w, ev);
	}
	if (ev->type != YAML_SCALAR_EVENT) {
		fail(w, line, "%s: bad type: %s%s, expected %s", e->key, what(ev),
		     e->is_list ? " inside its list" : "",
		     e->is_list ? "values" : "a value or a list of values");
		return soft(w, ev);
	}
	if (is_null(ev)) {
		fail(w, line, "%s: no value (write '%s: VALUE', or remove the line)", e->key,
		     e->key);
		return soft(w, ev);
	}
	if (++w->total > CONFIG_MAX_VALUES)
		return fail(w, line, "more than %d values", CONFIG_MAX_VALUES);
	struct config_value *v = realloc(e->vals, (e->n + 1) * sizeof(*v));
	if (!v)
		return fail(w, line, "out of memory");
	e->vals = v;
	v[e->n].text = strdup((const char *)ev->data.scalar.value);
	v[e->n].line = (unsigned)line + 1;
	if (!v[e->n].text)
		return fail(w, line, "out of memory");
	e->n++;
	return 0;
}

/* A key's value: one scalar, or a sequence of scalars. 0, 1 or -1. */
static int walk_value(struct walk *w, struct config_entry *e)
{
	yaml_event_t ev;
	if (next(w, &ev) < 0)
		return -1;
	int rc = 0;
	if (ev.type == YAML_SEQUENCE_START_EVENT) {
		e->is_list = true;
		yaml_event_delete(&ev);
		for (;;) {
			if (next(w, &ev) < 0)
				return -1;
			if (ev.type == YAML_SEQUENCE_END_EVENT)
				break;
			int r = add_value(w, e, &ev);
			yaml_event_delete(&ev);
			if (r < 0)
				return -1;
			rc |= r;
		}
		if (rc == 0 && e->n == 0) { /* []: the same as no line, say so */
			w->soft++;
			fail(w, ev.start_mark.line, "%s: an empty list (remove the line)", e->key);
			rc = 1;
		}
	} else {
		rc = add_value(w, e, &ev);
	}
	yaml_event_delete(&ev);
	return rc;
}

static void drop_last(struct config_file *cf)
{
	struct config_entry *e = &cf->e[--cf->n];
	for (unsigned j = 0; j < e->n; j++)
		free(e->vals[j].text);
	free(e->vals);
	free(e->key);
}

static int walk_key(struct walk *w, const yaml_event_t *ev)
{
	size_t line = ev->start_mark.line;
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    is_null(ev)) {
		fail(w, line, "a key must be a plain name (e.g. udp-port: 7100), not %s",
		     ev->type == YAML_SCALAR_EVENT ? "a quoted or empty one" : what(ev));
		/* its value too */
		yaml_event_t v;
		if (soft(w, ev) < 0 || next(w, &v) < 0)
			return -1;
		int rc = skip(w, &v);
		yaml_event_delete(&v);
		return rc < 0 ? -1 : 1;
	}
	const char *key = (const char *)ev->data.scalar.value;
	const struct config_entry *dup = config_file_find(w->cf, key);
	unsigned first = dup ? dup->line : 0; /* before the realloc below */
	struct config_file *cf = w->cf;
	if (cf->n == CONFIG_MAX_ENTRIES)
		return fail(w, line, "more than %d keys", CONFIG_MAX_ENTRIES);
	struct config_entry *e = realloc(cf->e, (cf->n + 1) * sizeof(*e));
	if (!e)
		return fail(w, line, "out of memory");
	cf->e = e;
	e += cf->n++;
	memset(e, 0, sizeof(*e));
	e->line = (unsigned)line + 1;
	if (!(e->key = strdup(key)))
		return fail(w, line, "out of memory");
	int rc = walk_value(w, e);
	if (rc == 0 && first) {
		w->soft++;
		fail(w, line, "%s: given twice (first on line %u)", key, first);
		rc = 1;
	}
	if (rc > 0)
		drop_last(cf); /* said; the others are still checked */
	return rc;
}

static int walk_document(struct walk *w)
{
	yaml_event_t ev;
	if (next(w, &ev) < 0)
		return -1;
	int rc = 0;
	if (ev.type == YAML_SCALAR_EVENT && is_null(&ev)) {
		/* "---" alone: an empty configuration */
	} else if (ev.type != YAML_MAPPING_START_EVENT) {
		rc = fail(w, ev.start_mark.line,
			  "the file must be a mapping of keys to values (key: value), not %s",
			  what(&ev));
	} else {
		for (;;) {
			yaml_event_t k;
			if (next(w, &k) < 0) {
				rc = -1;
				break;
			}
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			int r = walk_key(w, &k);
			yaml_event_delete(&k);
			if (r < 0) {
				rc = -1;
				break;
			}
		}
	}
	yaml_event_delete(&ev);
	return rc;
}

static int walk_stream(struct walk *w)
{
	int docs = 0;
	for (;;) {
		yaml_event_t ev;
		if (next(w, &ev) < 0)
			return -1;
		yaml_event_type_t t = ev.type;
		size_t line = ev.start_mark.line;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			return 0;
		if (t != YAML_DOCUMENT_START_EVENT)
			continue; /* STREAM_START, DOCUMENT_END */
		if (docs++)
			return fail(w, line, "one YAML document only (a second '---')");
		if (walk_document(w) < 0)
			return -1;
	}
}

void config_file_free(struct config_file *cf)
{
	for (unsigned i = 0; i < cf->n; i++) {
		for (unsigned j = 0; j < cf->e[i].n; j++)
			free(cf->e[i].vals[j].text);
		free(cf->e[i].vals);
		free(cf->e[i].key);
	}
	free(cf->e);
	free(cf->path);
	memset(cf, 0, sizeof(*cf));
}

const struct config_entry *config_file_find(const struct config_file *cf, const char *key)
{
	for (unsigned i = 0; i < cf->n; i++)
		if (cf->e[i].key && !strcmp(cf->e[i].key, key))
			return &cf->e[i];
	return NULL;
}

int config_file_parse(const char *name, const char *text, size_t len, struct config_file *cf,
		      char *err, size_t errlen)
{
	memset(cf, 0, sizeof(*cf));
	struct walk w = {.cf = cf, .err = err, .errlen = errlen, .name = name};
	err[0] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: binary content (a NUL byte): not a YAML file", name);
		return -1;
	}
	if (!yaml_parser_initialize(&w.parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&w.parser, (const unsigned char *)text, len);
	int rc = walk_stream(&w);
	yaml_parser_delete(&w.parser);
	if (rc == 0 && !(cf->path = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		rc = -1;
	}
	if (rc < 0)
		config_file_free(cf);
	return rc < 0 ? -1 : w.soft ? 1 : 0;
}

int config_file_read(const char *path, struct config_file *cf, char *err, size_t errlen)
{
	memset(cf, 0, sizeof(*cf));
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(CONFIG_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	int e = ferror(f) ? errno : 0;
	fclose(f);
	if (!buf || e || n > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: %s", path,
			 !buf ? "out of memory"
			 : e  ? strerror(e)
			      : "larger than 1 MiB");
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	int rc = config_file_parse(path, buf, n, cf, err, errlen);
	free(buf);
	return rc;
}
