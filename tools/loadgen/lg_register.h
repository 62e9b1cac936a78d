/*
 * Bulk registration for glournet-loadgen: POST /v1/register for --count
 * endpoints over many concurrent keep-alive connections (libcurl multi),
 * so a million-endpoint test is set up in minutes, not hours.
 */
#ifndef GLOURNET_LG_REGISTER_H
#define GLOURNET_LG_REGISTER_H

#include "lg_endpoints.h"
#include "lg_options.h"

/* Registers o->count endpoints lg-<prefix>-<n> into set, in order of n.
 * Prints the rate; returns 0, or -EIO when any registration failed
 * (those endpoints are left out of the set). */
int lg_register_all(const struct lg_opts *o, struct lg_endpoints *set);

#endif
