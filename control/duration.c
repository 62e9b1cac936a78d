/*
 * Duration parsing, strict: a number, at most one unit, nothing else.
 */
#include <errno.h>
#include <stdlib.h>

#include "control/duration.h"

int duration_parse(const char *text, uint32_t *seconds)
{
	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno)
		return -ERANGE;
	unsigned long long mul = 1;
	switch (*end) {
	case '\0':
		break;
	case 's':
		mul = 1;
		end++;
		break;
	case 'm':
		mul = 60;
		end++;
		break;
	case 'h':
		mul = 3600;
		end++;
		break;
	case 'd':
		mul = 86400;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	if (v > UINT32_MAX / mul)
		return -ERANGE;
	*seconds = (uint32_t)(v * mul);
	return 0;
}
