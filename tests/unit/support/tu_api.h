/*
 * The endpoint API's fixture: what api_register, api_poll and api_event
 * are handed (options, counters, the context) over a tu_registry, and
 * calls that check the status, the answer's shape and that exactly the
 * expected counter moved. For a test file's
 *
 *     static struct tu_registry fx;
 *     static struct tu_api api = {.fx = &fx};
 *     ... cmocka_unit_test_prestate_setup_teardown(f, tu_api_setup,
 *                                                  tu_api_teardown, &api)
 */
#ifndef GLOURNET_TU_API_H
#define GLOURNET_TU_API_H

#include <stdint.h>
#include <jansson.h>

#include "control/api.h"
#include "tu_registry.h"

#define TU_TOKEN "enroll-7f3a9c"
#define TU_AUTH  "Bearer " TU_TOKEN

struct tu_api {
	struct tu_registry *fx;                /* set by the test file */
	struct gn_options opt;
	struct http_counters ctr;
	uint64_t want[HTTP_COUNTER_COUNT];     /* what ctr must hold */
	struct api_ctx ctx;
	const struct sockaddr *peer;           /* the requests' client address (NULL: none) */
};

/* A registration body with every field (guid "3f2b-agent-A", hostname
 * "pc-a", 10.1.2.3 and 2001:db8::5, install, notify port 21112). */
extern const char tu_body_a[];

/* *state is a struct tu_api: its registry set up (tu_registry_setup),
 * options with the token, window 300, skew 30, port 7100 and two
 * heartbeat addresses; a policy with heartbeat interval 900, poll interval
 * 2700 and revision 7 (not the defaults, so that an answer taking them
 * from anywhere but the policy in force shows) and register.replace_after
 * 0; counters at 0; now TU_NOW. */
int tu_api_setup(void **state);
int tu_api_teardown(void **state);

/* Every counter is what the test expects (a->want). */
void tu_api_check_counters(const struct tu_api *a, const char *what);

/* The three X-Glournet-* header values, MAC over `context` under `key`. */
struct tu_proof {
	char id[17], time[24], mac[17];
};
void tu_proof_make(struct tu_proof *p, const char *context, uint64_t id, uint32_t time,
		   const uint8_t key[HB_KEY_LEN]);

/* The same for version 2: the MAC also covers `content` (the
 * X-Glournet-Ips value or the body; NULL: nothing), at most 1024 bytes. */
void tu_proof_make_v2(struct tu_proof *p, const char *context, uint64_t id, uint32_t time,
		      const uint8_t key[HB_KEY_LEN], const char *content);

/* One registration; asserts the status, that exactly counter c went up by
 * one, and a JSON object (with an error message when >= 400). */
json_t *tu_api_register(struct tu_api *a, const char *body, const char *auth,
			const struct tu_proof *pf, unsigned want_status, enum http_counter c);

typedef void tu_api_fn(const struct api_ctx *, const struct api_request *,
		       struct api_response *);
struct tu_answer {
	unsigned status;
	json_t *j;                 /* NULL for 304 */
	char etag[48];
};
/* One poll or event (fn) with proof pf (NULL: no headers), body, ips and
 * If-None-Match (each may be NULL); the same checks as tu_api_register. */
struct tu_answer tu_api_call(struct tu_api *a, tu_api_fn *fn, const char *what,
			     const struct tu_proof *pf, const char *body, const char *ips,
			     const char *inm, unsigned want_status, enum http_counter c);

/* The key and the id an answer hands out, checked for form. */
void tu_key_of(json_t *o, uint8_t key[HB_KEY_LEN]);
uint64_t tu_id_of(json_t *o);

#endif
