/*
 * The main of a control-plane test: libsodium initialised (registry keys,
 * MACs), the daemon's log quiet below errors (refusals the tests provoke
 * log warnings), the thread registered with liburcu-qsbr (it reads the
 * slot table as the workers do), then the tests.
 *
 *     int main(void)
 *     {
 *             static const struct CMUnitTest tests[] = { ... };
 *             return TU_RUN(tests);
 *     }
 */
#ifndef GLOURNET_TU_RUN_H
#define GLOURNET_TU_RUN_H

#include <stddef.h>

struct CMUnitTest;

int tu_run(const char *name, const struct CMUnitTest *tests, size_t n);
#define TU_RUN(tests) tu_run(#tests, (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
