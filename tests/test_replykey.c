/* test_replykey.c: reply keys (DESIGN.md section 4). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "message.h"
#include "replykey.h"
#include "util.h"

/* Expected values computed outside this program:
 * printf 'CGEN-2026-0001\n1\naio\naio@water.ca.gov' | openssl dgst -sha256 -hmac s3cret-one -binary
 * then python3 base64.b32encode(first 16 bytes).lower().rstrip('='). */
static void test_known_answer(void **state)
{
	(void)state;
	static const struct {
		const char *secret, *case_id;
		int step;
		const char *role, *addressee, *key;
	} t[] = {
		{"s3cret-one", "CGEN-2026-0001", 1, "aio", "aio@water.ca.gov",
		 "puzfkq536ted4w6qjaghuqepby"},
		{"s3cret-two", "CGEN-2026-0042", 3, "cio", "cio@cdt.ca.gov",
		 "6t6b47gws5ntrigxwikzbz5b3i"},
		/* the addressee is lower-cased before hashing */
		{"s3cret-one", "CGEN-2026-0001", 1, "aio", "AIO@Water.CA.gov",
		 "puzfkq536ted4w6qjaghuqepby"},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char key[REPLYKEY_LEN + 1];
		replykey_make(t[i].secret, t[i].case_id, t[i].step, t[i].role, t[i].addressee, key);
		assert_string_equal(key, t[i].key);
		assert_int_equal(strlen(key), REPLYKEY_LEN);
		assert_true(replykey_syntax(key));
	}
}

static void test_inputs_change_key(void **state)
{
	(void)state;
	static const struct {
		const char *secret, *case_id;
		int step;
		const char *role, *addressee;
	} t[] = {
		{"s", "CGEN-2026-0001", 1, "aio", "a@x.gov"},
		{"t", "CGEN-2026-0001", 1, "aio", "a@x.gov"},
		{"s", "CGEN-2026-0002", 1, "aio", "a@x.gov"},
		{"s", "CGEN-2026-0001", 2, "aio", "a@x.gov"},
		{"s", "CGEN-2026-0001", 1, "cio", "a@x.gov"},
		{"s", "CGEN-2026-0001", 1, "aio", "b@x.gov"},
		{"s", "CGEN-2026-0001", 11, "aio", "a@x.gov"},
	};
	char keys[ARRAY_LEN(t)][REPLYKEY_LEN + 1];
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		replykey_make(t[i].secret, t[i].case_id, t[i].step, t[i].role, t[i].addressee,
			      keys[i]);
		assert_int_equal(strlen(keys[i]), REPLYKEY_LEN);
		for (const char *p = keys[i]; *p; p++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", *p));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
	}
}

static void test_check_rotation(void **state)
{
	(void)state;
	struct strv secrets = {0};
	strv_add(&secrets, "new-secret");
	strv_add(&secrets, "old-secret");
	char k_old[REPLYKEY_LEN + 1], k_new[REPLYKEY_LEN + 1], k_bad[REPLYKEY_LEN + 1];
	replykey_make("old-secret", "CGEN-2026-0007", 2, "cio", "cio@x.gov", k_old);
	replykey_make("new-secret", "CGEN-2026-0007", 2, "cio", "cio@x.gov", k_new);
	replykey_make("other", "CGEN-2026-0007", 2, "cio", "cio@x.gov", k_bad);

	assert_int_equal(replykey_check(&secrets, k_new, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 1);
	assert_int_equal(replykey_check(&secrets, k_old, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 1);
	assert_int_equal(replykey_check(&secrets, k_old, "CGEN-2026-0007", 2, "cio", "CIO@X.GOV"), 1);
	assert_int_equal(replykey_check(&secrets, k_bad, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, k_new, "CGEN-2026-0007", 3, "cio", "cio@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, k_new, "CGEN-2026-0008", 2, "cio", "cio@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, k_new, "CGEN-2026-0007", 2, "aio", "cio@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, k_new, "CGEN-2026-0007", 2, "cio", "ci0@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, NULL, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);
	assert_int_equal(replykey_check(&secrets, "", "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);

	/* the key must match whole: a longer or shorter text or another case fails */
	char *longer = xasprintf("%sa", k_new);
	assert_int_equal(replykey_check(&secrets, longer, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);
	free(longer);
	char shorter[REPLYKEY_LEN + 1];
	memcpy(shorter, k_new, REPLYKEY_LEN);
	shorter[REPLYKEY_LEN - 1] = '\0';
	assert_int_equal(replykey_check(&secrets, shorter, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);
	char upper[REPLYKEY_LEN + 1];
	memcpy(upper, k_new, sizeof(upper));
	str_lower(upper);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(replykey_check(&secrets, upper, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);

	struct strv none = {0};
	assert_int_equal(replykey_check(&none, k_new, "CGEN-2026-0007", 2, "cio", "cio@x.gov"), 0);
	strv_free(&secrets);
}

static void test_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
	} t[] = {
		{"abcdefghijklmnopqrstuvwxyz", 1},
		{"234567234567234567234567ab", 1},
		{"abcdefghijklmnopqrstuvwxy", 0},   /* 25 */
		{"abcdefghijklmnopqrstuvwxyza", 0}, /* 27 */
		{"Abcdefghijklmnopqrstuvwxyz", 0},  /* upper case */
		{"abcdefghijklmnopqrstuvwxy1", 0},  /* 1 is not base32 */
		{"abcdefghijklmnopqrstuvwxy8", 0},
		{"abcdefghijklmnopqrstuvwxy=", 0},
		{"abcdefghijklm opqrstuvwxyz", 0},
		{"", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		assert_int_equal(replykey_syntax(t[i].s), t[i].ok);
}

static void message_clear(struct message *m)
{
	strv_free(&m->to);
	strv_free(&m->delivered_to);
	strv_free(&m->references);
	free(m->in_reply_to);
	free(m->text);
}

static void make_keys(char k[][REPLYKEY_LEN + 1], int n)
{
	for (int i = 0; i < n; i++)
		replykey_make("test", "CGEN-2026-0001", i + 1, "aio", "a@x.gov", k[i]);
}

static void upcase(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

static void test_find_order_and_dedup(void **state)
{
	(void)state;
	char k[6][REPLYKEY_LEN + 1];
	make_keys(k, 6);
	char k2up[REPLYKEY_LEN + 1];
	memcpy(k2up, k[1], sizeof(k2up));
	upcase(k2up);

	struct message m = {0};
	strv_add(&m.to, "someone@water.ca.gov");
	strv_add_own(&m.to, xasprintf("cgen+%s@cdt.ca.gov", k[0]));
	strv_add_own(&m.delivered_to, xasprintf("CGEN+%s@CDT.CA.GOV", k2up));
	strv_add_own(&m.delivered_to, xasprintf("cgen+%s@cdt.ca.gov", k[0]));
	m.in_reply_to = xasprintf("cgen.%s.17@cdt.ca.gov", k[2]);
	strv_add(&m.references, "unrelated.1@mail.example.com");
	strv_add_own(&m.references, xasprintf("cgen.%s.3@cdt.ca.gov", k[1]));
	strv_add_own(&m.references, xasprintf("CGEN.%s.abc.def@cdt.ca.gov", k[3]));
	m.text = xasprintf("Approved.\n"
			   "\n"
			   "On Monday the agent wrote:\n"
			   "> Ref: %s\n"
			   " >> > ref:\t%s  \n"
			   "REF: %s\n"
			   "Ref: %s\n",
			   k[2], k[4], k[0], k[5]);

	struct strv keys = {0};
	replykey_find(&m, "cgen@cdt.ca.gov", &keys);
	assert_int_equal(keys.n, 6);
	static const int order[] = {0, 1, 2, 3, 4, 5};
	for (size_t i = 0; i < ARRAY_LEN(order); i++)
		assert_string_equal(keys.v[i], k[order[i]]);

	/* keys already in the list are not added again */
	replykey_find(&m, "cgen@cdt.ca.gov", &keys);
	assert_int_equal(keys.n, 6);
	strv_free(&keys);
	message_clear(&m);
}

static void test_find_each_place_alone(void **state)
{
	(void)state;
	char k[1][REPLYKEY_LEN + 1];
	make_keys(k, 1);
	for (int place = 0; place < 5; place++) {
		struct message m = {0};
		switch (place) {
		case 0: strv_add_own(&m.to, xasprintf("Cgen+%s@Cdt.Ca.Gov", k[0])); break;
		case 1: strv_add_own(&m.delivered_to, xasprintf("cgen+%s@cdt.ca.gov", k[0])); break;
		case 2: m.in_reply_to = xasprintf("cgen.%s.9@cdt.ca.gov", k[0]); break;
		case 3: strv_add_own(&m.references, xasprintf("cgen.%s.9@h", k[0])); break;
		default: m.text = xasprintf("> > Ref: %s", k[0]); break;
		}
		struct strv keys = {0};
		replykey_find(&m, "CGEN@cdt.ca.gov", &keys);
		assert_int_equal(keys.n, 1);
		assert_string_equal(keys.v[0], k[0]);
		strv_free(&keys);
		message_clear(&m);
	}
}

static void test_find_ignores(void **state)
{
	(void)state;
	char k[1][REPLYKEY_LEN + 1];
	make_keys(k, 1);
	const char *key = k[0];
	char shortk[REPLYKEY_LEN];
	memcpy(shortk, key, REPLYKEY_LEN - 1);
	shortk[REPLYKEY_LEN - 1] = '\0';

	struct message m = {0};
	strv_add_own(&m.to, xasprintf("cgen+%s@other.example.com", key));  /* other domain */
	strv_add_own(&m.to, xasprintf("cgen+%s@sub.cdt.ca.gov", key));     /* other domain */
	strv_add_own(&m.to, xasprintf("other+%s@cdt.ca.gov", key));        /* other local */
	strv_add_own(&m.to, xasprintf("cgenx+%s@cdt.ca.gov", key));        /* other local */
	strv_add_own(&m.to, xasprintf("xcgen+%s@cdt.ca.gov", key));        /* other local */
	strv_add_own(&m.to, xasprintf("cgen-%s@cdt.ca.gov", key));         /* no '+' */
	strv_add_own(&m.to, xasprintf("cgen+%s@cdt.ca.gov", shortk));      /* 25 chars */
	strv_add_own(&m.to, xasprintf("cgen+%s1@cdt.ca.gov", shortk));     /* '1' */
	strv_add_own(&m.delivered_to, xasprintf("cgen+%sa@cdt.ca.gov", key)); /* 27 chars */
	strv_add(&m.delivered_to, "cgen@cdt.ca.gov");
	m.in_reply_to = xasprintf("cgen.%s@cdt.ca.gov", key);             /* no second dot */
	strv_add_own(&m.references, xasprintf("xcgen.%s.1@cdt.ca.gov", key));
	strv_add_own(&m.references, xasprintf("cgen.%s.1", key));         /* no '@' */
	strv_add_own(&m.references, xasprintf("cgen.%s.@cdt.ca.gov", key)); /* nothing after */
	strv_add_own(&m.references, xasprintf("cgen.%s8.1@cdt.ca.gov", shortk));
	m.text = xasprintf("Ref: %s trailing\n"
			   "Ref: %sx\n"
			   "See Ref: %s\n"
			   "Ref %s\n"
			   "Reference: %s\n"
			   "Ref: %s\n"
			   "# Ref: %s\n",
			   key, key, key, key, key, shortk, key);
	struct strv keys = {0};
	replykey_find(&m, "cgen@cdt.ca.gov", &keys);
	assert_int_equal(keys.n, 0);
	/* an agent address without '@' finds nothing in addresses */
	replykey_find(&m, "cgen", &keys);
	assert_int_equal(keys.n, 0);
	strv_free(&keys);
	message_clear(&m);

	struct message empty = {0};
	replykey_find(&empty, "cgen@cdt.ca.gov", &keys);
	assert_int_equal(keys.n, 0);
}

static void test_case_tag(void **state)
{
	(void)state;
	static const struct {
		const char *subject, *tag;
	} t[] = {
		{"[CGEN-2026-0042] Approval needed", "CGEN-2026-0042"},
		{"[EXTERNAL] RE: [CGEN-2026-0042] Approval needed", "CGEN-2026-0042"},
		{"Re: Fwd: [cgen-2027-12345]", "CGEN-2027-12345"},
		{"RE:[Cgen-2026-0001]x", "CGEN-2026-0001"},
		{"[CGEN-2026-042] short number", ""},
		{"[CGEN-26-0042] short year", ""},
		{"[CGEN-20266-0042] long year", ""},
		{"CGEN-2026-0042 without brackets", ""},
		{"[CGEN-2026-0042 unclosed", ""},
		{"[CGEN-2026-00a2]", ""},
		{"[XCGEN-2026-0042]", ""},
		{"[[CGEN-2026-0042]]", "CGEN-2026-0042"},
		{"[CGEN-2026-0042x] [CGEN-2026-0043]", "CGEN-2026-0043"},
		{"[CGEN-2026-0001] [CGEN-2026-0002]", "CGEN-2026-0001"},
		{"[CGEN-2026-1234567890123]", "CGEN-2026-1234567890123"},
		{"[CGEN-2026-12345678901234]", ""}, /* does not fit */
		{"", ""},
		{NULL, ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char out[REPLYKEY_TAG_MAX];
		memset(out, 'x', sizeof(out));
		replykey_find_case_tag(t[i].subject, out);
		assert_string_equal(out, t[i].tag);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_inputs_change_key),
		cmocka_unit_test(test_check_rotation),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_find_order_and_dedup),
		cmocka_unit_test(test_find_each_place_alone),
		cmocka_unit_test(test_find_ignores),
		cmocka_unit_test(test_case_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
