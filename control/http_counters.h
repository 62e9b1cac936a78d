/*
 * Counters of the HTTP API: every request the server answers ends in
 * exactly one of them (deferred_failed aside: it counts again a request
 * whose answer was held for the store and then had to be a 503).
 * libmicrohttpd's own answers to a broken request (a 400 before any
 * handler runs) count as malformed. "requests" counts request lines.
 * The last two count connections, not requests: closed at accept (over
 * the per-source limit) and closed for taking too long to send a request.
 */
#ifndef GLOURNET_HTTP_COUNTERS_H
#define GLOURNET_HTTP_COUNTERS_H

#include <stdint.h>

/* clang-format off */
#define HTTP_COUNTERS(X)                                                     \
	X(REGISTER_NEW,    "register_new")     /* 201 */                    \
	X(REGISTER_KNOWN,  "register_known")   /* 200, key kept */          \
	X(REGISTER_REKEY,  "register_rekeyed") /* 200, new key (no proof) */ \
	X(REGISTER_CONFLICT, "register_conflict") /* 409: no proof, endpoint alive (register.replace_after) */ \
	X(MALFORMED,       "malformed")        /* 400: not JSON, wrong shape */ \
	X(BAD_FIELD,       "bad_field")        /* 400: a field out of range */ \
	X(UNSAFE_TEXT,     "unsafe_text")      /* 400: guid/hostname with control or bidi characters */ \
	X(POLL,            "poll")             /* 200 */                     \
	X(POLL_NOT_MODIFIED, "poll_not_modified") /* 304 */                  \
	X(POLL_IPS_IGNORED, "poll_v1_ips_ignored") /* 200/304: a v1 poll's X-Glournet-Ips not applied */ \
	X(EVENT,           "event")            /* 200 */                     \
	X(UNAUTHORIZED,    "unauthorized")     /* 401: bad enrollment token */ \
	X(BAD_MAC,         "bad_mac")          /* 401: X-Glournet-Mac wrong */ \
	X(STALE,           "stale_time")       /* 401: X-Glournet-Time outside the window */ \
	X(REPLAYED,        "replayed")         /* 409: a second request with the same id and time */ \
	X(UNKNOWN_ID,      "unknown_id")       /* 404: no such endpoint */   \
	X(NOT_FOUND,       "not_found")        /* 404: no such path */       \
	X(BAD_METHOD,      "bad_method")       /* 405 */                     \
	X(TOO_LARGE,       "too_large")        /* 413 */                     \
	X(FULL,            "full")             /* 503: no slot left */       \
	X(INTERNAL,        "internal")         /* 500 */                    \
	X(RATE_LIMITED,    "rate_limited")     /* 429: over --register-rate */ \
	X(HEADER_TOO_LARGE, "header_too_large") /* 431/413 from the library: over --http-max-header */ \
	X(DEFERRED_FAILED, "deferred_failed")  /* 503: the store did not commit (counted twice) */ \
	X(CONN_REFUSED,    "conn_refused")     /* closed at accept: over --http-max-conns-per-source */ \
	X(CONN_TIMED_OUT,  "conn_timed_out")   /* closed: no whole request within --http-request-timeout */
/* clang-format on */

enum http_counter {
#define HTTP_COUNTER_ENUM(name, str) HTTP_##name,
	HTTP_COUNTERS(HTTP_COUNTER_ENUM)
#undef HTTP_COUNTER_ENUM
		HTTP_COUNTER_COUNT
};

struct http_counters {
	uint64_t requests;
	uint64_t by_result[HTTP_COUNTER_COUNT];
};

const char *http_counter_name(enum http_counter c);

#endif
