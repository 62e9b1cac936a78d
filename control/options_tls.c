/*
 * The TLS files of glournetd's options (--tls-cert, --tls-key): read whole
 * and checked for the PEM block each must hold, at start and again on
 * SIGHUP (options_reload), with messages naming the option and the fix.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/options.h"
#include "control/options_tls.h"
#include "control/options_say.h"

/* The whole of a PEM file, checked for the block it must hold. */
int options_read_pem(const char *opt, const char *path, const char *what, char **out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return options_bad(opt, path, strerror(errno));
	size_t cap = 1u << 20, n = 0;
	char *buf = malloc(cap + 1);
	if (buf)
		n = fread(buf, 1, cap, f);
	int err = ferror(f) ? errno : 0;
	bool more = buf && n == cap && fgetc(f) != EOF;
	fclose(f);
	if (!buf || err) {
		const char *why = buf ? strerror(err) : "out of memory";
		free(buf);
		return options_bad(opt, path, why);
	}
	buf[n] = '\0';
	char *fit = realloc(buf, n + 1);
	if (fit)
		buf = fit;
	const char *why = NULL;
	if (more)
		why = "larger than 1 MiB: not a PEM file";
	else if (memchr(buf, '\0', n))
		why = "binary content: expected PEM (DER is not accepted)";
	else if (!strcmp(opt, "tls-cert") && !strstr(buf, "-----BEGIN CERTIFICATE-----"))
		why = "no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate";
	else if (!strcmp(opt, "tls-key") && (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
					     strstr(buf, "Proc-Type: 4,ENCRYPTED")))
		why = "the key is encrypted: give an unencrypted PEM key (keep the file mode 0600)";
	else if (!strcmp(opt, "tls-key") && !strstr(buf, "PRIVATE KEY-----"))
		why = "no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key";
	if (why) {
		char says[256];
		snprintf(says, sizeof(says), "%s (%s)", why, what);
		options_bad(opt, path, says);
		if (buf)
			explicit_bzero(buf, n);
		free(buf);
		return -1;
	}
	free(*out);
	*out = buf;
	return 0;
}

/* --https needs its certificate and key, and they mean nothing without it. */
int options_check_tls(struct gn_options *o)
{
	bool https = strcmp(o->https_listen, "off") != 0;
	if (!https) {
		if (o->tls_cert_file || o->tls_key_file) {
			return options_say("--tls-cert/--tls-key given but --https is off "
					   "(pass --https ADDR:PORT, e.g. [::]:8443)");
		}
		return 0;
	}
	if (!o->tls_cert_file || !o->tls_key_file) {
		return options_say("--https '%s' needs --tls-cert FILE and --tls-key FILE "
				   "(PEM; tools/make-cert.sh DIR makes a self-signed pair)",
				   o->https_listen);
	}
	if (strcmp(o->http_listen, "off") != 0 && !strcmp(o->http_listen, o->https_listen)) {
		return options_say("--http and --https both '%s': give them different ports",
				   o->https_listen);
	}
	options_say_from(o->tls_from[0].file, o->tls_from[0].line);
	int rc = options_read_pem("tls-cert", o->tls_cert_file, "the server certificate",
				  &o->tls_cert_pem);
	options_say_from(o->tls_from[1].file, o->tls_from[1].line);
	if (rc == 0)
		rc = options_read_pem("tls-key", o->tls_key_file, "the certificate's private key",
				      &o->tls_key_pem);
	options_say_from(NULL, 0);
	return rc;
}
