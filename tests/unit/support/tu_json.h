/*
 * Reading answers in tests: a member that must be there with its type,
 * else the test fails naming it.
 */
#ifndef GLOURNET_TU_JSON_H
#define GLOURNET_TU_JSON_H

#include <jansson.h>

const char *tu_jstr(json_t *o, const char *key);
json_int_t tu_jint(json_t *o, const char *key);

#endif
