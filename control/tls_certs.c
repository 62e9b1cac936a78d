/*
 * The HTTPS certificate, reloadable (tls_certs.h). libmicrohttpd 0.9.75
 * cannot swap a running daemon's certificate, but it lets GnuTLS ask a
 * callback for one at every handshake (MHD_OPTION_HTTPS_CERT_CALLBACK):
 * the callback hands out the pair loaded last. The callback runs inside
 * MHD_run on the control thread, as tls_certs_load does: no lock. Old
 * pairs are kept until shutdown (a reload is rare, a pair small): GnuTLS
 * may refer to the one a session started with for as long as it lives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

#include "control/tls_certs.h"

#define MAX_CHAIN 8

struct pair {
	gnutls_pcert_st pcert[MAX_CHAIN];
	unsigned ncert;
	gnutls_privkey_t key;
	struct pair *older;
};

static struct pair *current;
static unsigned generation;

static void pair_free(struct pair *p)
{
	for (unsigned i = 0; i < p->ncert; i++)
		gnutls_pcert_deinit(&p->pcert[i]);
	if (p->key)
		gnutls_privkey_deinit(p->key);
	free(p);
}

static int fail(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
	return -1;
}

int tls_certs_load(const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
	gnutls_datum_t c = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
	gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
	/* The same check libmicrohttpd made: the key must be the certificate's. */
	gnutls_certificate_credentials_t check;
	int rc = gnutls_certificate_allocate_credentials(&check);
	if (rc < 0)
		return fail(err, errlen, "credentials", rc);
	rc = gnutls_certificate_set_x509_key_mem2(check, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(check);
	if (rc < 0)
		return fail(err, errlen, "the certificate and key do not load together", rc);
	struct pair *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->ncert = MAX_CHAIN;
	rc = gnutls_pcert_list_import_x509_raw(p->pcert, &p->ncert, &c, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0) {
		p->ncert = 0;
		pair_free(p);
		return fail(err, errlen, "certificate chain", rc);
	}
	rc = gnutls_privkey_init(&p->key);
	if (rc == 0)
		rc = gnutls_privkey_import_x509_raw(p->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		pair_free(p);
		return fail(err, errlen, "private key", rc);
	}
	p->older = current;
	current = p;
	generation++;
	return 0;
}

int tls_certs_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		       gnutls_pcert_st **pcert, unsigned int *pcert_length,
		       gnutls_privkey_t *privkey)
{
	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!current)
		return -1;
	*pcert = current->pcert;
	*pcert_length = current->ncert;
	*privkey = current->key;
	return 0;
}

unsigned tls_certs_generation(void)
{
	return generation;
}

void tls_certs_free(void)
{
	while (current) {
		struct pair *older = current->older;
		pair_free(current);
		current = older;
	}
	generation = 0;
}
