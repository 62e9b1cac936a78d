/*
 * glournetd's durations: glournet/duration.h's grammar, the same that
 * glournetctl, the agent and the load generator take, in whole seconds.
 */
#include <errno.h>

#include "control/duration.h"
#include "glournet/duration.h"

int duration_parse(const char *text, uint32_t *seconds)
{
	return gn_duration_parse_s(text, seconds);
}

int duration_take_s(const char *what, const char *text, uint32_t lo, uint32_t hi, uint32_t *seconds,
		    char *err, size_t errlen)
{
	uint64_t ms;
	int rc = gn_duration_take(what, text, (uint64_t)lo * 1000, (uint64_t)hi * 1000, 1, &ms, err,
				  errlen);
	if (rc == 0)
		*seconds = (uint32_t)(ms / 1000);
	return rc;
}
