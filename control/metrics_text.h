/*
 * The Prometheus text exposition format (version 0.0.4), written into a
 * growable buffer: one family's # HELP and # TYPE, then its samples, each
 * `name{label="value",...} value`. The one place that escapes label
 * values and formats numbers, so every family reads the same.
 */
#ifndef GLOURNET_METRICS_TEXT_H
#define GLOURNET_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mtext {
	char *buf;
	size_t len, cap;
	bool oom; /* a write did not fit and the buffer could not grow: the text is cut */
};

/* An empty text with room for `cap` bytes; 0 or -ENOMEM. */
int mt_init(struct mtext *t, size_t cap);
void mt_free(struct mtext *t);

/* Appends `n` bytes as they are (text already in the format). */
void mt_append(struct mtext *t, const char *s, size_t n);

/* # HELP and # TYPE for `name`; `type` is counter, gauge or histogram. */
void mt_family(struct mtext *t, const char *name, const char *type, const char *help);

/* One sample: `name`, the label pairs that follow (name, value, ...; NULL
 * ends them), then the value. Integers are written exactly, and so is a
 * double that holds a whole number; other doubles as %.9g (NaN, +Inf and
 * -Inf as Prometheus spells them). */
void mt_u64(struct mtext *t, const char *name, uint64_t v, ...) __attribute__((sentinel));
void mt_f64(struct mtext *t, const char *name, double v, ...) __attribute__((sentinel));

#endif
