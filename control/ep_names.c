/*
 * The names of ep_names.h's lists, as the CLI, the store and the feed
 * write them.
 */
#include "control/ep_names.h"

#define EP_NAME(name, str) str,
static const char *const status_names[EP_STATUS_COUNT] = {EP_STATUSES(EP_NAME)};
static const char *const reason_names[EP_REASON_COUNT] = {EP_REASONS(EP_NAME)};
static const char *const removal_names[EP_REMOVAL_COUNT] = {EP_REMOVALS(EP_NAME)};
#undef EP_NAME

const char *ep_status_name(enum ep_status st)
{
	return (unsigned)st < EP_STATUS_COUNT ? status_names[st] : "unknown";
}

const char *ep_reason_name(enum ep_reason reason)
{
	return (unsigned)reason < EP_REASON_COUNT ? reason_names[reason] : "unknown";
}

const char *ep_removal_name(enum ep_removal cause)
{
	return (unsigned)cause < EP_REMOVAL_COUNT ? removal_names[cause] : "unknown";
}
