/* json.h: a small JSON writer (RFC 8259) into a struct buf, and string escaping. */
#ifndef CGEN_JSON_H
#define CGEN_JSON_H

#include <stdint.h>
#include "util.h"

/* Appends s as a JSON string (with quotes), escaping ", \\, control characters
 * and invalid UTF-8 (replaced by U+FFFD). s NULL writes null. */
void json_str(struct buf *b, const char *s);
/* Writer with automatic commas. Nesting up to 32 levels. */
struct json {
	struct buf *b;
	int depth;
	int first[32];
	int after_key;
};
void json_init(struct json *j, struct buf *b);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);   /* NULL -> null */
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
void json_raw(struct json *j, const char *raw);    /* already-valid JSON text */

#endif
