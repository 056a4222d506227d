/* Unit tests of the JSON writer. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "json.h"

static void test_escapes(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } cases[] = {
		{"plain", "\"plain\""},
		{"q\"b\\", "\"q\\\"b\\\\\""},
		{"a\nb\r\tc", "\"a\\nb\\r\\tc\""},
		{"\x01", "\"\\u0001\""},
		{"caf\xc3\xa9", "\"caf\xc3\xa9\""},
		{"bad\xff", "\"bad\xef\xbf\xbd\""},
		{"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},      /* overlong */
		{"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = {0};
		json_str(&b, cases[i].in);
		assert_string_equal(b.s, cases[i].out);
		buf_free(&b);
	}
	struct buf b = {0};
	json_str(&b, NULL);
	assert_string_equal(b.s, "null");
	buf_free(&b);
}

static void test_nesting(void **state)
{
	(void)state;
	struct buf b = {0};
	struct json j;
	json_init(&j, &b);
	json_arr_begin(&j);
	json_obj_begin(&j);
	json_key(&j, "id");
	json_string(&j, "CGEN-2026-0001");
	json_key(&j, "age_days");
	json_int(&j, 3);
	json_key(&j, "overdue");
	json_bool(&j, 0);
	json_key(&j, "waiting_on");
	json_arr_begin(&j);
	json_string(&j, "aio");
	json_string(&j, "cio");
	json_arr_end(&j);
	json_key(&j, "command");
	json_null(&j);
	json_key(&j, "fields");
	json_raw(&j, "{\"a\":1}");
	json_obj_end(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_end(&j);
	assert_string_equal(b.s, "[{\"id\":\"CGEN-2026-0001\",\"age_days\":3,\"overdue\":false,"
				 "\"waiting_on\":[\"aio\",\"cio\"],\"command\":null,\"fields\":{\"a\":1}},{}]");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_nesting),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
