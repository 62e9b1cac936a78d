/*
 * Durations as glournetd reads them (its options, the settings, filters
 * such as --not-seen-since): the one grammar of glournet/duration.h
 * (15 = 15s, 500ms, 5m, 1h, 2d), held in whole seconds.
 */
#ifndef GLOURNET_DURATION_H
#define GLOURNET_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* 0 on success; -EINVAL when malformed, -EDOM for a part of a second,
 * -ERANGE when over UINT32_MAX s. Nothing written unless 0. */
int duration_parse(const char *text, uint32_t *seconds);

/* Whole seconds in [lo, hi]: 0, or the grammar's one message
 * ("WHAT: 'TEXT' is not a duration: write ...", "... is out of range:
 * 1s .. 1h") in err and a negative errno. */
int duration_take_s(const char *what, const char *text, uint32_t lo, uint32_t hi, uint32_t *seconds,
		    char *err, size_t errlen);

#endif
