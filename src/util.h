/* util.h: allocation that aborts on out-of-memory, growable buffers, string
 * lists and small string helpers shared by every module. Pure: no I/O. */
#ifndef CGEN_UTIL_H
#define CGEN_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The x* family never returns NULL: out of memory aborts the process. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);            /* s may be NULL: returns NULL */
char *xstrndup(const char *s, size_t n); /* copies at most n bytes, NUL-terminates */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Replace *dst with a copy of src (freeing the old value). */
void str_set(char **dst, const char *src);

/* Growable byte buffer, always NUL-terminated when s != NULL.
 * A zeroed struct buf is a valid empty buffer. */
struct buf {
	char *s;
	size_t len, cap;
};
void buf_add(struct buf *b, const char *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc_slow(struct buf *b, char c);
/* Appends one byte; inline, as parsers and encoders call it per byte. */
static inline void buf_addc(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
	} else
		buf_addc_slow(b, c);
}
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents (never NULL; "" for empty) and resets b; caller frees. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* Growable list of owned strings. A zeroed struct strv is a valid empty list. */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_add(struct strv *l, const char *s);      /* copies s */
void strv_add_own(struct strv *l, char *s);        /* takes ownership of s */
void strv_addf(struct strv *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strv_contains_ci(const struct strv *l, const char *s); /* ASCII case-insensitive */
void strv_free(struct strv *l);
/* Split s at sep, trimming white space, dropping empty items. */
void strv_split(struct strv *l, const char *s, char sep);
/* Join with sep; returns allocated "" for an empty list. */
char *strv_join(const struct strv *l, const char *sep);

/* In-place helpers; each returns its argument. */
char *str_trim(char *s);  /* strips leading/trailing ASCII white space */
char *str_lower(char *s); /* ASCII lower-case */
int str_startswith_ci(const char *s, const char *prefix);

/* Addresses: bare "local@domain" strings. */
const char *addr_domain(const char *addr); /* part after the last '@', or "" */
int addr_equal(const char *a, const char *b); /* case-insensitive; NULLs never equal */
/* Light syntax check: one '@', non-empty local part and a dotted domain, no
 * white space, no control characters. */
int addr_valid(const char *addr);

/* Length (1..4) of the valid UTF-8 sequence at p, of which at most avail
 * bytes may be read (SIZE_MAX for a NUL-terminated string: a NUL ends any
 * sequence); 0 when the bytes there are not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included). */
size_t utf8_valid_len(const unsigned char *p, size_t avail);

/* Terminal safety: 1 when s holds a byte a terminal may act on: an ASCII
 * control character (below 0x20, or 0x7f), a C1 control (U+0080..U+009F),
 * a bidirectional override (U+202A..U+202E, U+2066..U+2069) or bytes that are
 * not UTF-8. NULL holds none. */
int str_has_controls(const char *s);
/* A copy of s (allocated; NULL for NULL) with each such character written as
 * text: \t \n \r, \xNN for other bytes, \uNNNN for C1 and bidi
 * characters. keep_newlines: '\n' and '\t' stay as they are. */
char *str_escape_controls(const char *s, int keep_newlines);

/* Lowercase hex of n bytes; out must hold 2n+1. */
void hex_encode(const unsigned char *in, size_t n, char *out);

#include <time.h>
/* ISO 8601 / RFC 3339 date-time with an offset: "2026-11-26T09:00:00-08:00",
 * "2026-11-26T17:00:00Z", "2026-11-26 09:00+0800" (seconds optional). Returns 0
 * with *out set, or -1 when s is not such a time or has no offset. */
int parse_iso8601(const char *s, time_t *out);

#endif
