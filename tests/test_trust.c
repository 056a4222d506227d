/* Unit tests of the Authentication-Results check. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trust.h"

static void t_table(void **state)
{
	(void)state;
	static const struct {
		const char *ar, *id, *from;
		int pass;
		const char *why; /* part of the reason when it fails */
	} v[] = {
		{"mx.cdt.ca.gov; dmarc=pass (p=reject) header.from=water.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 1, NULL},
		{"MX.CDT.CA.GOV 1; spf=pass smtp.mailfrom=water.ca.gov; dmarc=pass header.from=water.ca.gov",
		 "mx.cdt.ca.gov", "water.ca.gov", 1, NULL},
		{"mx.cdt.ca.gov; dkim=pass header.d=water.ca.gov header.s=sel", "mx.cdt.ca.gov", "water.ca.gov", 1, NULL},
		{"mx.cdt.ca.gov; dkim=pass header.d=ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 1, NULL},
		{"mx.cdt.ca.gov; dkim=pass header.i=@water.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 1, NULL},
		{"mx.cdt.ca.gov; dkim=pass (good signature) header.d=evil.example", "mx.cdt.ca.gov", "water.ca.gov", 0, "not aligned"},
		{"mx.cdt.ca.gov; dkim=pass header.d=gov", "mx.cdt.ca.gov", "water.ca.gov", 0, "not aligned"},
		{"mx.cdt.ca.gov; dkim=pass header.d=otherwater.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 0, "not aligned"},
		{"mx.cdt.ca.gov; dmarc=fail header.from=water.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 0, "DMARC did not pass"},
		{"mx.cdt.ca.gov; dmarc=pass header.from=evil.example", "mx.cdt.ca.gov", "water.ca.gov", 0, "another domain"},
		{"mx.cdt.ca.gov; spf=pass smtp.mailfrom=water.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 0, "no DMARC"},
		{"evil.example; dmarc=pass header.from=water.ca.gov", "mx.cdt.ca.gov", "water.ca.gov", 0, "\"evil.example\""},
		{"evil.example; dmarc=pass header.from=water.ca.gov", "@topmost", "water.ca.gov", 1, NULL},
		{"mx.cdt.ca.gov; dmarc=passed", "mx.cdt.ca.gov", "water.ca.gov", 0, "DMARC did not pass"},
		{"mx.cdt.ca.gov (dmarc=pass header.from=water.ca.gov); none", "mx.cdt.ca.gov", "water.ca.gov", 0, "no DMARC"},
		{"mx.cdt.ca.gov; none", "mx.cdt.ca.gov", "water.ca.gov", 0, "no DMARC"},
		{"", "mx.cdt.ca.gov", "water.ca.gov", 0, "no Authentication-Results"},
		{NULL, "mx.cdt.ca.gov", "water.ca.gov", 0, "no Authentication-Results"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *why = NULL;
		int r = trust_auth_results(v[i].ar, v[i].id, v[i].from, &why);
		if (r != v[i].pass)
			fail_msg("row %zu: %s -> %d (%s)", i, v[i].ar ? v[i].ar : "NULL", r, why ? why : "");
		if (v[i].why) {
			assert_non_null(why);
			if (!strstr(why, v[i].why))
				fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why, v[i].why);
		} else
			assert_null(why);
		free(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_table)};
	return cmocka_run_group_tests_name("trust", tests, NULL, NULL);
}
