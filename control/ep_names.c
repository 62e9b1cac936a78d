/*
 * The names of ep_names.h's lists, as the CLI, the store and the feed
 * write them.
 */
#include "control/ep_names.h"

const char *ep_status_name(enum ep_status st)
{
	static const char *const names[] = {
#define EP_STATUS_NAME(name, str) str,
		EP_STATUSES(EP_STATUS_NAME)
#undef EP_STATUS_NAME
	};
	return (unsigned)st < EP_STATUS_COUNT ? names[st] : "unknown";
}

const char *ep_reason_name(enum ep_reason reason)
{
	static const char *const names[] = {
#define EP_REASON_NAME(name, str) str,
		EP_REASONS(EP_REASON_NAME)
#undef EP_REASON_NAME
	};
	return (unsigned)reason < EP_REASON_COUNT ? names[reason] : "unknown";
}

const char *ep_removal_name(enum ep_removal cause)
{
	static const char *const names[] = {
#define EP_REMOVAL_NAME(name, str) str,
		EP_REMOVALS(EP_REMOVAL_NAME)
#undef EP_REMOVAL_NAME
	};
	return (unsigned)cause < EP_REMOVAL_COUNT ? names[cause] : "unknown";
}
