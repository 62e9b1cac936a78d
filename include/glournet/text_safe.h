/*
 * Which characters of a guid or hostname could drive an operator's
 * terminal or reorder what it shows, written once for both sides: the
 * collector refuses them where names enter (control/text.c, registration
 * and import), and glournetctl escapes them (and anything else that is not
 * valid UTF-8) wherever it prints a name the daemon sent, so that a name
 * stored before the rule, or read from an old store, still cannot.
 *
 * Unsafe: C0 controls and DEL, C1 controls (U+0080..U+009F, which some
 * terminals take as CSI, OSC... even UTF-8 encoded), and Unicode's
 * Bidi_Control characters: U+061C, U+200E, U+200F, the embeddings and
 * overrides U+202A..U+202E and the isolates U+2066..U+2069.
 */
#ifndef GLOURNET_TEXT_SAFE_H
#define GLOURNET_TEXT_SAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GN_CP_INVALID UINT32_MAX

static inline bool gn_cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The code point of the UTF-8 sequence at s[0, n) (n >= 1) and its length;
 * GN_CP_INVALID and length 1 for a byte that starts no valid sequence
 * (overlong, surrogate, past U+10FFFF, cut short). */
static inline size_t gn_utf8_next(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	size_t k;
	uint32_t v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		k = 1, v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 2, v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 3, v = c & 0x07;
	} else {
		*cp = GN_CP_INVALID;
		return 1;
	}
	if (k >= n) {
		*cp = GN_CP_INVALID;
		return 1;
	}
	for (size_t j = 1; j <= k; j++) {
		if ((s[j] & 0xc0) != 0x80) {
			*cp = GN_CP_INVALID;
			return 1;
		}
		v = v << 6 | (s[j] & 0x3f);
	}
	if ((k == 2 && v < 0x800) || (k == 3 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff)) {
		*cp = GN_CP_INVALID;
		return 1;
	}
	*cp = v;
	return k + 1;
}

/* The worst growth of gn_text_escape: one byte of input, 4 of output
 * ("\xHH"); a 2- or 3-byte unsafe character becomes "\u202e" (6). */
#define GN_TEXT_ESCAPE_SIZE(n) (4 * (n) + 1)

/* s[0, n) with every unsafe character written as \uXXXX (C1, bidi) or \xHH
 * (C0, DEL, a byte of invalid UTF-8), the rest as it is (a backslash
 * too: a guid shown is a guid an operator can copy into a command);
 * NUL-terminated into out, which holds at least GN_TEXT_ESCAPE_SIZE(n)
 * bytes. Returns the length written. */
static inline size_t gn_text_escape(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = gn_utf8_next(s + i, n - i, &cp);
		if (cp == GN_CP_INVALID || cp < 0x20 || cp == 0x7f) {
			unsigned char b = (unsigned char)s[i];
			out[o++] = '\\', out[o++] = 'x', out[o++] = hex[b >> 4], out[o++] = hex[b & 15];
		} else if (gn_cp_unsafe(cp)) {
			o += (size_t)snprintf(out + o, 7, "\\u%04x", (unsigned)cp);
		} else {
			for (size_t j = 0; j < len; j++)
				out[o++] = s[i + j];
		}
		i += len;
	}
	out[o] = '\0';
	return o;
}

/* Whether gn_text_escape would change s[0, n). */
static inline bool gn_text_needs_escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += gn_utf8_next(s + i, n - i, &cp);
		if (cp == GN_CP_INVALID || gn_cp_unsafe(cp))
			return true;
	}
	return false;
}

#endif
