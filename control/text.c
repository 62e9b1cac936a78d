/*
 * The text rules of text.h. Each is small; the point is that there is one
 * of each, so a guid, an address or a key that one door accepts, every
 * door accepts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/text.h"
#include "glournet/text_safe.h"

bool text_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, cp = c & 0x07;
		} else {
			return false; /* a continuation byte, an overlong lead, or past U+10FFFF */
		}
		if (k >= n - i)
			return false; /* cut short */
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

size_t text_control_at(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 || c == 0x7f) && (c == 0 || !allowed || !strchr(allowed, c)))
			return i;
	}
	return n;
}

size_t text_unsafe_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = gn_utf8_next(s + i, n - i, &cp);
		if (cp != GN_CP_INVALID && gn_cp_unsafe(cp))
			return i;
		i += len;
	}
	return n;
}

const char *text_guid_problem(const char *s, size_t n)
{
	if (n >= 1 && n <= TEXT_GUID_MAX && text_unsafe_at(s, n) != n)
		return TEXT_UNSAFE_PHRASE;
	if (n < 1 || n > TEXT_GUID_MAX || !text_printable(s, n))
		return "required, 1..64 printable characters";
	_Static_assert(TEXT_GUID_MAX == 64, "the phrase above names the limit");
	if (memchr(s, ' ', n))
		return "must not contain spaces";
	return NULL;
}

static int hex_digit(char c, enum text_hex_case hc)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (hc == TEXT_HEX_ANY_CASE && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int text_hex_decode(const char *s, size_t n, uint8_t *out, size_t bytes, enum text_hex_case hc)
{
	if (n != 2 * bytes)
		return -EINVAL;
	for (size_t i = 0; i < bytes; i++) {
		int hi = hex_digit(s[2 * i], hc), lo = hex_digit(s[2 * i + 1], hc);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int text_parse_addr(const char *s, size_t n, struct gn_addr *out)
{
	char buf[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return gn_addr_parse(buf, out);
}

const char *text_list_next(const char *s, size_t n, const char *seps, size_t *pos, size_t *len)
{
	size_t i = *pos;
	while (i < n && strchr(seps, s[i]) && s[i])
		i++;
	size_t j = i;
	while (j < n && !(strchr(seps, s[j]) && s[j]))
		j++;
	*pos = j;
	*len = j - i;
	return j > i ? s + i : NULL;
}

int text_parse_ips(const char *list, struct gn_addr *out, unsigned max, unsigned *n)
{
	size_t len = strlen(list), pos = 0, k;
	const char *item;
	*n = 0;
	while ((item = text_list_next(list, len, ",", &pos, &k))) {
		while (k && item[0] == ' ')
			item++, k--;
		while (k && item[k - 1] == ' ')
			k--;
		if (*n == max || text_parse_addr(item, k, &out[*n]) < 0)
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

const char *text_sockaddr(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;
	int af = sa ? sa->sa_family : AF_UNSPEC;
	if (af == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (af == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		a = a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			af = AF_INET;
			a = a6->s6_addr + 12;
		}
	}
	if (!a || !inet_ntop(af, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
