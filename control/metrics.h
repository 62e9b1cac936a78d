/*
 * glournetd's metrics in the Prometheus text format (docs/metrics.md):
 * one scrape is a walk over the table of families (metrics.c), written a
 * chunk at a time as the client reads, so a scrape costs a bounded buffer
 * and a bounded slice of the control loop whatever the fleet's size. Every
 * count comes from a counter the daemon keeps already (the registry counts
 * by status and by range as statuses change); a scrape never walks the
 * endpoints.
 */
#ifndef GLOURNET_METRICS_H
#define GLOURNET_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/metrics_text.h"

struct gn_daemon;

/* A chunk is cut after the family (or the rows of a long family) that
 * takes it past this. */
#define METRICS_CHUNK (32 * 1024)

/* What a scrape reads besides the daemon, taken when it begins. */
struct metrics_env {
	int link;         /* the port's link: 1 up, 0 down, -1 not known */
	uint64_t scrapes; /* scrapes so far, this one included */
};

struct metrics_scrape {
	struct gn_daemon *d;
	struct metrics_env env;
	uint32_t now;      /* the coarse clock when the scrape began */
	uint64_t rev;      /* settings_rev then: the range rows stop if it moves */
	unsigned family;   /* the next family of the table */
	size_t cursor;     /* its next row (long families); 0: from the start */
	bool in_family;    /* its HELP and TYPE are out */
	struct mtext text; /* the chunk being handed out */
	size_t sent;       /* bytes of it handed out */
};

/* 0 or -ENOMEM. */
int metrics_scrape_begin(struct metrics_scrape *s, struct gn_daemon *d,
			 const struct metrics_env *env);
/* Replaces s->text with the next chunk (about METRICS_CHUNK bytes, more
 * when one family's rows are longer). False when nothing was left; the
 * chunk may be empty while it returns true. s->text.oom: out of memory. */
bool metrics_scrape_next(struct metrics_scrape *s);
void metrics_scrape_end(struct metrics_scrape *s);

/* The whole text at once (tests, and `glournetctl`-side debugging);
 * malloc'd, NULL on allocation failure. */
char *metrics_render(struct gn_daemon *d, const struct metrics_env *env, size_t *len);

/* The families, in the order they are written (the docs test lists them). */
unsigned metrics_family_count(void);
const char *metrics_family_name(unsigned i);

#endif
