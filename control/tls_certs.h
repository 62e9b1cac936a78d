/*
 * The HTTPS listener's certificate and key, replaceable while it runs
 * (SIGHUP): GnuTLS asks for them at every handshake (a certificate
 * callback), and gets whichever pair was loaded last.
 */
#ifndef GLOURNET_TLS_CERTS_H
#define GLOURNET_TLS_CERTS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* Parses a PEM certificate chain and its private key and checks that they
 * belong together; on success they become what new handshakes get (the
 * pairs before stay valid for the sessions that use them, until
 * tls_certs_free). 0, or -1 with `err` set; then nothing changes. */
int tls_certs_load(const char *cert_pem, const char *key_pem, char *err, size_t errlen);

/* The function to give libmicrohttpd as MHD_OPTION_HTTPS_CERT_CALLBACK:
 * the pair loaded last. */
gnutls_certificate_retrieve_function2 tls_certs_retrieve;

/* How many pairs were loaded since the start (1 after the first). */
unsigned tls_certs_generation(void);

void tls_certs_free(void);

#endif
