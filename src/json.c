/* json.c: see json.h. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

void json_str(struct buf *b, const char *s)
{
	if (!s) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': buf_adds(b, "\\n"); break;
			case '\r': buf_adds(b, "\\r"); break;
			case '\t': buf_adds(b, "\\t"); break;
			default: buf_addf(b, "\\u%04x", c); break;
			}
			p++;
		} else {
			size_t n = utf8_valid_len(p, SIZE_MAX);
			if (n == 0) {
				buf_adds(b, "\xef\xbf\xbd");
				p++;
			} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
				/* C1 controls: escaped, so that no terminal acts on them */
				buf_addf(b, "\\u%04x", p[1]);
				p += n;
			} else {
				buf_add(b, (const char *)p, n);
				p += n;
			}
		}
	}
	buf_addc(b, '"');
}

void json_init(struct json *j, struct buf *b)
{
	memset(j, 0, sizeof *j);
	j->b = b;
	j->first[0] = 1;
}

static void json_sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (!j->first[j->depth])
		buf_addc(j->b, ',');
	j->first[j->depth] = 0;
}

static void json_open(struct json *j, char c)
{
	json_sep(j);
	buf_addc(j->b, c);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = 1;
}

static void json_close(struct json *j, char c)
{
	buf_addc(j->b, c);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j) { json_open(j, '{'); }
void json_obj_end(struct json *j) { json_close(j, '}'); }
void json_arr_begin(struct json *j) { json_open(j, '['); }
void json_arr_end(struct json *j) { json_close(j, ']'); }

void json_key(struct json *j, const char *key)
{
	json_sep(j);
	json_str(j->b, key);
	buf_addc(j->b, ':');
	j->after_key = 1;
}

void json_string(struct json *j, const char *s)
{
	json_sep(j);
	json_str(j->b, s);
}

void json_int(struct json *j, int64_t v)
{
	json_sep(j);
	buf_addf(j->b, "%" PRId64, v);
}

void json_bool(struct json *j, int v)
{
	json_sep(j);
	buf_adds(j->b, v ? "true" : "false");
}

void json_null(struct json *j)
{
	json_sep(j);
	buf_adds(j->b, "null");
}

void json_raw(struct json *j, const char *raw)
{
	json_sep(j);
	buf_adds(j->b, raw ? raw : "null");
}
