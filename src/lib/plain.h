/*
 * plain.h: where a JSON string's plain run ends, shared by json.c and
 * the scanners that read records without it (relations' scan.c).
 */
#ifndef PLAIN_H
#define PLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * The first byte from pos on (before len) that a JSON string cannot
 * hold as it is: a quote, a backslash or a control character, or that
 * starts UTF-8 to check (0x80 and above); len if none.  Sixteen bytes
 * at a time with SSE2 (x86-64 always has it), then eight (the lowest
 * flag of each test is exact), then one.
 */
static inline __attribute__((__always_inline__)) size_t
plain_end(const char *s, size_t pos, size_t len)
{
#ifdef __SSE2__
	while (pos + 16 <= len) {
		__m128i	 v = _mm_loadu_si128((const void *)(s + pos));
		__m128i	 ctl = _mm_set1_epi8(0x1f);
		/* the high bit of a byte of UTF-8 counts too */
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(v,
		    _mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
		    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		    _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl))));

		if (m != 0)
			return pos + (size_t)__builtin_ctz(m);
		pos += 16;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (pos + 8 <= len) {
		uint64_t w, q, b, m;

		memcpy(&w, s + pos, 8);
		q = w ^ (ONES * '"');
		b = w ^ (ONES * '\\');
		m = (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
		    ((b - ONES) & ~b) | w) & HIGHS;
		if (m != 0)
			return pos + (size_t)__builtin_ctzll(m) / 8;
		pos += 8;
	}
#endif
	while (pos < len && (unsigned char)s[pos] >= 0x20 &&
	    (unsigned char)s[pos] < 0x80 && s[pos] != '"' && s[pos] != '\\')
		pos++;
	return pos;
}

#endif
