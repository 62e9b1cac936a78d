/* The tests' main (tu_run.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <urcu-qsbr.h>

#define LOG_TAG "test"
#include "glournet/log.h"
#include "tu_run.h"

int tu_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
	if (sodium_init() < 0)
		return 1;
	gn_log_max_level = GN_LOG_ERR;
	rcu_register_thread();
	int rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
