/* util.c: see util.h. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void oom(void)
{
	fputs("cgen: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void str_set(char **dst, const char *src)
{
	char *n = xstrdup(src);
	free(*dst);
	*dst = n;
}

static void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const char *data, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc_slow(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	/* formatted in place: into the room left, or once more after growing */
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	buf_grow(b, 0);
	int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	b->len += (size_t)n;
}

char *buf_steal(struct buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void strv_add_own(struct strv *l, char *s)
{
	if (l->n + 1 >= l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

void strv_add(struct strv *l, const char *s)
{
	strv_add_own(l, xstrdup(s));
}

void strv_addf(struct strv *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_add_own(l, xvasprintf(fmt, ap));
	va_end(ap);
}

int strv_contains_ci(const struct strv *l, const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void strv_split(struct strv *l, const char *s, char sep)
{
	if (!s)
		return;
	const char *p = s;
	for (;;) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *item = xstrndup(p, n);
		str_trim(item);
		if (*item)
			strv_add_own(l, item);
		else
			free(item);
		if (!e)
			break;
		p = e + 1;
	}
}

char *strv_join(const struct strv *l, const char *sep)
{
	struct buf b = {0};
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_adds(&b, sep);
		buf_adds(&b, l->v[i]);
	}
	return buf_steal(&b);
}

char *str_trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t i = 0;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	if (i)
		memmove(s, s + i, n - i + 1);
	return s;
}

char *str_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

int str_startswith_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

const char *addr_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	return at ? at + 1 : "";
}

int addr_equal(const char *a, const char *b)
{
	return a && b && *a && strcasecmp(a, b) == 0;
}

int addr_valid(const char *addr)
{
	if (!addr)
		return 0;
	const char *at = strchr(addr, '@');
	if (!at || at == addr || strchr(at + 1, '@'))
		return 0;
	const char *dom = at + 1;
	const char *dot = strchr(dom, '.');
	if (!*dom || !dot || dot == dom || dom[strlen(dom) - 1] == '.')
		return 0;
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == ';' || *p == '"')
			return 0;
	return 1;
}

size_t utf8_valid_len(const unsigned char *p, size_t avail)
{
	unsigned c = *p, cp, min;
	size_t k;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (avail <= k)
		return 0;
	for (size_t i = 1; i <= k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k + 1;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int parse_iso8601(const char *s, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	s += n;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (sscanf(s, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
		return -1;
	s += n;
	if (*s == ':') {
		if (sscanf(s + 1, "%2d%n", &sec, &n) != 1 || n != 2)
			return -1;
		s += 3;
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s); s++)
				;
	}
	long off;
	if (*s == 'Z' || *s == 'z') {
		off = 0;
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1, oh, om;
		s++;
		if (sscanf(s, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5)
			s += 5;
		else if (sscanf(s, "%2d%2d%n", &oh, &om, &n) == 2 && n == 4)
			s += 4;
		else
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600L + om * 60L);
	} else
		return -1;
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = t - off;
	return 0;
}

/* The code point of the UTF-8 sequence of n bytes at p. */
static unsigned utf8_cp(const unsigned char *p, size_t n)
{
	switch (n) {
	case 1: return p[0];
	case 2: return ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
	case 3: return ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
	default:
		return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
		       (p[3] & 0x3fu);
	}
}

static int cp_is_control(unsigned c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

int str_has_controls(const char *s)
{
	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_valid_len(p, SIZE_MAX);
		if (n == 0 || cp_is_control(utf8_cp(p, n)))
			return 1;
		p += n;
	}
	return 0;
}

char *str_escape_controls(const char *s, int keep_newlines)
{
	if (!s)
		return NULL;
	struct buf b = {0};
	buf_add(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_valid_len(p, SIZE_MAX);
		unsigned c = n ? utf8_cp(p, n) : *p;
		if (n && !cp_is_control(c)) {
			buf_add(&b, (const char *)p, n);
			p += n;
			continue;
		}
		if (!n)
			buf_addf(&b, "\\x%02x", c);
		else if (keep_newlines && (c == '\n' || c == '\t'))
			buf_addc(&b, (char)c);
		else if (c == '\n')
			buf_adds(&b, "\\n");
		else if (c == '\r')
			buf_adds(&b, "\\r");
		else if (c == '\t')
			buf_adds(&b, "\\t");
		else if (c < 0x80)
			buf_addf(&b, "\\x%02x", c);
		else
			buf_addf(&b, "\\u%04x", c);
		p += n ? n : 1;
	}
	return buf_steal(&b);
}
