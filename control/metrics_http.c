/*
 * The labels glournet_http_responses_total puts on each counter of
 * http_counters.h: the route it is counted on and the status code it
 * answers (the comments of the counter list say the same). The counters
 * are kept by result, not by route: a result several routes produce
 * (a bad MAC on poll or event) has route "any", and "other" is a path
 * that is no route. The connections closed before any answer
 * (http_conns.c) are counted apart, by why. A counter added to the list
 * needs its row here; the unit test test_metrics fails until it has one.
 */
#include "control/metrics_families.h"
#include "glournet/http_api.h"

/* clang-format off */
const struct metrics_http_label metrics_http_labels[HTTP_COUNTER_COUNT] = {
	[HTTP_REGISTER_NEW]       = {GN_API_PATH_REGISTER, "201"},
	[HTTP_REGISTER_KNOWN]     = {GN_API_PATH_REGISTER, "200"},
	[HTTP_REGISTER_REKEY]     = {GN_API_PATH_REGISTER, "200"},
	[HTTP_REGISTER_CONFLICT]  = {GN_API_PATH_REGISTER, "409"},
	[HTTP_MALFORMED]          = {"any",                "400"},
	[HTTP_BAD_FIELD]          = {"any",                "400"},
	[HTTP_UNSAFE_TEXT]        = {GN_API_PATH_REGISTER, "400"},
	[HTTP_POLL]               = {GN_API_PATH_POLL,     "200"},
	[HTTP_POLL_NOT_MODIFIED]  = {GN_API_PATH_POLL,     "304"},
	[HTTP_POLL_IPS_IGNORED]   = {GN_API_PATH_POLL,     "200"}, /* or 304 */
	[HTTP_EVENT]              = {GN_API_PATH_EVENT,    "200"},
	[HTTP_UNAUTHORIZED]       = {GN_API_PATH_REGISTER, "401"},
	[HTTP_BAD_MAC]            = {"any",                "401"},
	[HTTP_STALE]              = {"any",                "401"},
	[HTTP_REPLAYED]           = {"any",                "409"},
	[HTTP_UNKNOWN_ID]         = {"any",                "404"},
	[HTTP_NOT_FOUND]          = {"other",              "404"},
	[HTTP_BAD_METHOD]         = {"any",                "405"},
	[HTTP_TOO_LARGE]          = {"any",                "413"},
	[HTTP_FULL]               = {GN_API_PATH_REGISTER, "503"},
	[HTTP_INTERNAL]           = {"any",                "5xx"}, /* 500, or 503 when the store is busy */
	[HTTP_RATE_LIMITED]       = {GN_API_PATH_REGISTER, "429"},
	[HTTP_HEADER_TOO_LARGE]   = {"any",                "431"}, /* or the library's 413/414 */
	[HTTP_DEFERRED_FAILED]    = {GN_API_PATH_REGISTER, "503"},
	[HTTP_CONN_REFUSED]       = {.closed = "refused"},   /* over --http-max-conns-per-source */
	[HTTP_CONN_TIMED_OUT]     = {.closed = "timed_out"}, /* no whole request in --http-request-timeout */
};
/* clang-format on */
