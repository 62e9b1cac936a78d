#!/usr/bin/env bash
# make-cert.sh DIR: a self-signed certificate and key for glournetd's
# --https in the demo and the tests (never for production: agents would
# have to trust this one certificate by hand).
#
#   DIR/glournet.crt  PEM certificate, CN glournet-demo,
#                     SAN DNS:localhost, IP:127.0.0.1, IP:::1 (valid 825 days)
#   DIR/glournet.key  PEM private key (EC P-256), mode 0600
#
# Idempotent: an existing pair that still matches and is valid for another
# day is kept; otherwise both are made afresh. Prints the certificate's path.
# Clients trust it with: curl --cacert DIR/glournet.crt,
# SSL_CERT_FILE=DIR/glournet.crt (Python), glournet-agent --cacert.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $0 DIR   (writes DIR/glournet.crt and DIR/glournet.key)" >&2
	exit 2
fi
command -v openssl >/dev/null || { echo "$0: openssl not found (apt-get install openssl)" >&2; exit 1; }

dir=$1
crt=$dir/glournet.crt
key=$dir/glournet.key
mkdir -p "$dir"

pubkey() { openssl "$@" -pubout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum; }

if [ -s "$crt" ] && [ -s "$key" ] &&
   openssl x509 -in "$crt" -noout -checkend 86400 >/dev/null 2>&1 &&
   [ "$(openssl x509 -in "$crt" -noout -pubkey 2>/dev/null |
	openssl pkey -pubin -outform DER 2>/dev/null | sha256sum)" = "$(pubkey pkey -in "$key")" ]; then
	echo "$crt"
	exit 0
fi

tmp=$(mktemp -d "$dir/.make-cert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(umask 077
 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
	-days 825 -subj "/CN=glournet-demo" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=serverAuth" \
	-keyout "$tmp/key" -out "$tmp/crt" 2>"$tmp/err") ||
	{ cat "$tmp/err" >&2; echo "$0: openssl req failed" >&2; exit 1; }
chmod 600 "$tmp/key"
chmod 644 "$tmp/crt"
mv -f "$tmp/key" "$key"
mv -f "$tmp/crt" "$crt"
echo "$crt"
