/* Unit tests of util: buffers, string lists, address helpers, ISO 8601 times. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void t_buf(void **state)
{
	(void)state;
	struct buf b = {0};
	buf_adds(&b, "abc");
	buf_addc(&b, '-');
	buf_addf(&b, "%d/%s", 42, "x");
	buf_add(&b, "\0z", 2);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.s, "abc-42/x\0z", 11); /* with the NUL after */
	char *s = buf_steal(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	free(s);
	s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
}

static void t_strv(void **state)
{
	(void)state;
	struct strv l = {0};
	strv_split(&l, " a@x.ca.gov ;; B@Y.ca.gov; ", ';');
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a@x.ca.gov");
	assert_string_equal(l.v[1], "B@Y.ca.gov");
	assert_null(l.v[2]);
	assert_true(strv_contains_ci(&l, "b@y.CA.gov"));
	assert_false(strv_contains_ci(&l, "c@y.ca.gov"));
	assert_false(strv_contains_ci(&l, NULL));
	char *j = strv_join(&l, ", ");
	assert_string_equal(j, "a@x.ca.gov, B@Y.ca.gov");
	free(j);
	strv_free(&l);
	j = strv_join(&l, ",");
	assert_string_equal(j, "");
	free(j);
}

static void t_strings(void **state)
{
	(void)state;
	char s[] = "  \tHello World \r\n";
	assert_string_equal(str_trim(s), "Hello World");
	assert_string_equal(str_lower(s), "hello world");
	assert_true(str_startswith_ci("APPROVE it", "approve"));
	assert_false(str_startswith_ci("APP", "approve"));
	char *d = NULL;
	str_set(&d, "x");
	str_set(&d, "y");
	assert_string_equal(d, "y");
	str_set(&d, NULL);
	assert_null(d);
	char hex[9];
	hex_encode((const unsigned char *)"\x00\xff\x10\xab", 4, hex);
	assert_string_equal(hex, "00ff10ab");
}

static void t_addresses(void **state)
{
	(void)state;
	static const struct { const char *a; int valid; } v[] = {
		{"aio@water.ca.gov", 1}, {"a.b+c@x.org", 1}, {"@x.org", 0}, {"a@", 0},
		{"a@b", 0}, {"a@b.", 0}, {"a@.b", 0}, {"a b@x.org", 0}, {"a@x.org\r\nBcc: e@v.il", 0},
		{"<a@x.org>", 0}, {"a@b@c.org", 0}, {"a,b@x.org", 0}, {"", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		assert_int_equal(addr_valid(v[i].a), v[i].valid);
	assert_false(addr_valid(NULL));
	assert_string_equal(addr_domain("x@Water.ca.gov"), "Water.ca.gov");
	assert_string_equal(addr_domain("nodomain"), "");
	assert_true(addr_equal("AIO@water.ca.gov", "aio@WATER.ca.gov"));
	assert_false(addr_equal(NULL, NULL));
	assert_false(addr_equal("", ""));
}

/* Terminal escapes (security review, finding 8). */
static void t_controls(void **state)
{
	(void)state;
	assert_false(str_has_controls(NULL));
	assert_false(str_has_controls("dana@water.ca.gov"));
	assert_false(str_has_controls("Jos\xc3\xa9 \xe5\x90\x8d"));
	assert_true(str_has_controls("eve\x1b[8m@evil.example"));
	assert_true(str_has_controls("a\x7f"));
	assert_true(str_has_controls("a\xc2\x9b" "2J"));        /* C1 CSI */
	assert_true(str_has_controls("x\xe2\x80\xaey"));       /* RIGHT-TO-LEFT OVERRIDE */
	assert_true(str_has_controls("bad \xff utf-8"));
	assert_true(str_has_controls("two\nlines"));
	char *e = str_escape_controls("hello\x1b]0;owned\x07\x1b[2J\tend\r\n", 0);
	assert_string_equal(e, "hello\\x1b]0;owned\\x07\\x1b[2J\\tend\\r\\n");
	free(e);
	e = str_escape_controls("line one\n\tline two\x1b[31m", 1);
	assert_string_equal(e, "line one\n\tline two\\x1b[31m");
	free(e);
	e = str_escape_controls("C1 \xc2\x9b bidi \xe2\x80\xae bad \xff ok \xc3\xa9", 0);
	assert_string_equal(e, "C1 \\u009b bidi \\u202e bad \\xff ok \xc3\xa9");
	free(e);
	assert_null(str_escape_controls(NULL, 0));
}

static void t_iso8601(void **state)
{
	(void)state;
	static const struct { const char *s; long long t; } ok[] = {
		{"2026-11-26T17:00:00Z", 1795712400},
		{"2026-11-26T09:00:00-08:00", 1795712400},
		{"2026-11-26T09:00-0800", 1795712400},
		{"2026-11-26 18:30:00+01:30", 1795712400},
		{"2026-11-26T17:00:00.250Z", 1795712400},
		{"2026-03-08T10:00:00-07:00", 1772989200},
	};
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		time_t t = 0;
		assert_int_equal(parse_iso8601(ok[i].s, &t), 0);
		assert_int_equal((long long)t, ok[i].t);
	}
	static const char *bad[] = {
		"2026-11-26T17:00:00", "2026-11-26", "2026-13-01T00:00Z", "2026-11-26T25:00Z",
		"2026-11-26T17:00:00+2", "yesterday", "2026-11-26T17:00:00Zjunk", "",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		time_t t;
		assert_int_equal(parse_iso8601(bad[i], &t), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_buf), cmocka_unit_test(t_strv), cmocka_unit_test(t_strings),
		cmocka_unit_test(t_addresses), cmocka_unit_test(t_iso8601), cmocka_unit_test(t_controls),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
