/*
 * glournetd's TLS options: the certificate and key files (options_tls.c).
 */
#ifndef GLOURNET_OPTIONS_TLS_H
#define GLOURNET_OPTIONS_TLS_H

struct gn_options;

/* The whole of a PEM file (up to 1 MiB) into *out (malloc'd; the old one
 * freed), checked for the block --`opt` must hold; 0, or -1 after printing
 * why. `what` names the file's role in the message. */
int options_read_pem(const char *opt, const char *path, const char *what, char **out);

/* --https needs its certificate and key, and they mean nothing without it;
 * reads both. 0, or -1 after printing why. */
int options_check_tls(struct gn_options *o);

#endif
