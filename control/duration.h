/*
 * Durations as operators write them: 30s, 10m, 2h, 1d, or plain seconds.
 */
#ifndef GLOURNET_DURATION_H
#define GLOURNET_DURATION_H

#include <stdint.h>

/* 0 on success; -EINVAL when malformed, -ERANGE when over UINT32_MAX s. */
int duration_parse(const char *text, uint32_t *seconds);

#endif
