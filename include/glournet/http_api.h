/*
 * The names of the HTTP API (docs/protocol.md §3): its paths and the
 * X-Glournet-* headers, shared by the server (control/http_server.c and
 * the api_*.c handlers) and its clients (the agent, the load generator),
 * so that the two sides cannot spell them differently. String literals, so
 * that they also concatenate into header lines and messages.
 */
#ifndef GLOURNET_HTTP_API_H
#define GLOURNET_HTTP_API_H

#define GN_API_PATH_REGISTER "/v1/register"   /* POST, enrollment token */
#define GN_API_PATH_POLL     "/v1/poll"       /* GET, MAC headers */
#define GN_API_PATH_EVENT    "/v1/event"      /* POST, MAC headers */
/* Version 2 (issue 13): the MAC covers X-Glournet-Ips and the body too. */
#define GN_API_PATH_POLL_V2  "/v2/poll"       /* GET, MAC over GLPOL2 + ips */
#define GN_API_PATH_EVENT_V2 "/v2/event"      /* POST, MAC over GLEVN2 + body */

/* The endpoint's proof on poll and event (and on register, to keep its key). */
#define GN_API_HDR_ID   "X-Glournet-Id"       /* 16 lowercase hex digits */
#define GN_API_HDR_TIME "X-Glournet-Time"     /* decimal Unix seconds */
#define GN_API_HDR_MAC  "X-Glournet-Mac"      /* 16 hex digits */
/* Poll only: the endpoint's own addresses, when they changed (R1). */
#define GN_API_HDR_IPS  "X-Glournet-Ips"

#endif
