/* Unit tests of the entity directory. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "directory.h"

#define HEADER "code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n"

/* The sample of etc/entities.csv, and one more entity sharing a domain. */
static const char sample[] =
	HEADER
	"DWR,Department of Water Resources,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,"
	"deputy.aio@water.ca.gov,,\n"
	"CHP,California Highway Patrol,chp.ca.gov,it.chief@chp.ca.gov,it.chief@chp.ca.gov,,,\n"
	"DMV,Department of Motor Vehicles,dmv.ca.gov;dmv.gov,aio@dmv.ca.gov,cio@dmv.ca.gov,,"
	"cio.office@dmv.ca.gov,\n"
	"CSU,California State University,calstate.edu,aio@calstate.edu,cio@calstate.edu,,,"
	"College/University\n"
	"LOT,California State Lottery,calottery.com,aio@calottery.com,cio@calottery.com,,,Lottery\n"
	"NMV,New Motor Vehicle Board,nmvb.ca.gov;DMV.gov,aio@nmvb.ca.gov,cio@nmvb.ca.gov,,,\n";

static void parse_ok(const char *csv, struct directory *d)
{
	struct strv errors = {0};
	int rc = directory_parse_csv(csv, strlen(csv), "t.csv", d, &errors);
	for (size_t i = 0; i < errors.n; i++)
		print_message("# got: %s\n", errors.v[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(errors.n, 0);
	strv_free(&errors);
}

static void assert_strv(const struct strv *l, const char *joined)
{
	char *s = strv_join(l, ";");
	assert_string_equal(s, joined);
	free(s);
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

static void test_sample_file(void **state)
{
	(void)state;
	static const struct {
		const char *code, *name, *domains, *aio, *cio, *aio_del, *cio_del, *exempt;
	} want[] = {
		{"DWR", "Department of Water Resources", "water.ca.gov", "aio@water.ca.gov",
		 "cio@water.ca.gov", "deputy.aio@water.ca.gov", "", NULL},
		{"CHP", "California Highway Patrol", "chp.ca.gov", "it.chief@chp.ca.gov",
		 "it.chief@chp.ca.gov", "", "", NULL},
		{"DMV", "Department of Motor Vehicles", "dmv.ca.gov;dmv.gov", "aio@dmv.ca.gov",
		 "cio@dmv.ca.gov", "", "cio.office@dmv.ca.gov", NULL},
		{"CSU", "California State University", "calstate.edu", "aio@calstate.edu",
		 "cio@calstate.edu", "", "", "College/University"},
		{"LOT", "California State Lottery", "calottery.com", "aio@calottery.com",
		 "cio@calottery.com", "", "", "Lottery"},
	};
	const char *top = getenv("top_srcdir");
	if (!top)
		skip();
	char *path = xasprintf("%s/etc/entities.csv", top);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);

	struct directory d = {0};
	parse_ok(b.s, &d);
	assert_int_equal(d.n, ARRAY_LEN(want));
	for (size_t i = 0; i < d.n; i++) {
		const struct entity *e = &d.v[i];
		assert_string_equal(e->code, want[i].code);
		assert_string_equal(e->name, want[i].name);
		assert_strv(&e->domains, want[i].domains);
		assert_string_equal(e->aio, want[i].aio);
		assert_string_equal(e->cio, want[i].cio);
		assert_strv(&e->aio_delegates, want[i].aio_del);
		assert_strv(&e->cio_delegates, want[i].cio_del);
		assert_str_or_null(e->exempt, want[i].exempt);
	}
	directory_free(&d);
	assert_null(d.v);
	assert_int_equal(d.n, 0);
	buf_free(&b);
	free(path);
}

/* BOM, CRLF, columns in another order, quoted fields, blank lines, white space,
 * upper-case addresses, no newline at the end, exempt without approvers. */
static void test_rfc4180(void **state)
{
	(void)state;
	static const char csv[] =
		"\xEF\xBB\xBF"
		"Name,code,exempt,domains,aio,cio,cio_delegates,aio_delegates\r\n"
		"\r\n"
		"\"Department of \"\"Special\"\" Projects, West\",SPW,,  spw.ca.gov ; SPW.CA.GOV;"
		"west.spw.ca.gov ,AIO@SPW.ca.gov,\"cio@spw.ca.gov\",\"c1@spw.ca.gov;\r\nc2@spw.ca.gov\","
		"\r\n"
		"   \r\n"
		"\"Two\nLines\", TWO ,SCIF,two.ca.gov,,,,\r\n"
		"\"\",  ,,x.gov,a@x.gov,c@x.gov,,";
	struct directory d = {0};
	struct strv errors = {0};
	/* The last record is bad: its line proves the count across quoted breaks. */
	assert_int_equal(directory_parse_csv(csv, sizeof csv - 1, "in.csv", &d, &errors), -1);
	assert_int_equal(errors.n, 2);
	assert_string_equal(errors.v[0], "in.csv:8: empty code");
	assert_string_equal(errors.v[1], "in.csv:8: empty name");
	assert_null(d.v);
	assert_int_equal(d.n, 0);
	strv_free(&errors);

	/* Without the bad record the rest is read exactly. */
	char *good = xstrndup(csv, (size_t)(strstr(csv, "\"\",  ,") - csv));
	parse_ok(good, &d);
	assert_int_equal(d.n, 2);
	const struct entity *e = &d.v[0];
	assert_string_equal(e->code, "SPW");
	assert_string_equal(e->name, "Department of \"Special\" Projects, West");
	assert_strv(&e->domains, "spw.ca.gov;west.spw.ca.gov");
	assert_string_equal(e->aio, "aio@spw.ca.gov");
	assert_string_equal(e->cio, "cio@spw.ca.gov");
	assert_strv(&e->aio_delegates, "");
	assert_strv(&e->cio_delegates, "c1@spw.ca.gov;c2@spw.ca.gov");
	assert_null(e->exempt);
	e = &d.v[1];
	assert_string_equal(e->code, "TWO");
	assert_string_equal(e->name, "Two\nLines");
	assert_string_equal(e->exempt, "SCIF");
	assert_null(e->aio);
	assert_null(e->cio);
	directory_free(&d);
	free(good);

	/* A quoted last field closing the data, with no newline. */
	parse_ok(HEADER "A,B,a.gov,a@a.gov,c@a.gov,,,\"\"", &d);
	assert_int_equal(d.n, 1);
	assert_null(d.v[0].exempt);
	directory_free(&d);
	/* Header only: an empty directory. */
	parse_ok(HEADER, &d);
	assert_int_equal(d.n, 0);
	directory_free(&d);
}

/* Each bad row alone (on line 2): the exact message. */
static void test_bad_rows(void **state)
{
	(void)state;
	static const struct {
		const char *row, *msg;
	} cases[] = {
		{"A,B,a.gov,a@a.gov,c@a.gov,,", "expected 8 fields, found 7"},
		{"A,B,a.gov,a@a.gov,c@a.gov,,,,", "expected 8 fields, found 9"},
		{",B,a.gov,a@a.gov,c@a.gov,,,", "empty code"},
		{"A, ,a.gov,a@a.gov,c@a.gov,,,", "empty name"},
		{"A,B, ; ,a@a.gov,c@a.gov,,,", "no domains"},
		{"A,B,a.gov;localhost,a@a.gov,c@a.gov,,,", "invalid domain \"localhost\""},
		{"A,B,a_b.gov,a@a.gov,c@a.gov,,,", "invalid domain \"a_b.gov\""},
		{"A,B,a..gov,a@a.gov,c@a.gov,,,", "invalid domain \"a..gov\""},
		{"A,B,@a.gov,a@a.gov,c@a.gov,,,", "invalid domain \"@a.gov\""},
		{"A,B,a.gov.,a@a.gov,c@a.gov,,,", "invalid domain \"a.gov.\""},
		{"A,B,a.gov,Someone,c@a.gov,,,", "invalid aio address \"someone\""},
		{"A,B,a.gov,a@a.gov,c@,,,", "invalid cio address \"c@\""},
		{"A,B,a.gov,a@a.gov,c@a.gov,d@a.gov;x y@a.gov,,",
		 "invalid aio_delegates address \"x y@a.gov\""},
		{"A,B,a.gov,a@a.gov,c@a.gov,,Boss <b@a.gov>,",
		 "invalid cio_delegates address \"boss <b@a.gov>\""},
		{"A,B,a.gov,,c@a.gov,,,", "missing aio (required unless exempt)"},
		{"A,B,a.gov,a@a.gov,,,,", "missing cio (required unless exempt)"},
		{"A,B,a.gov,a@a.gov,c@a.gov,,,\"SCIF\" x", "unexpected text after a closing quote"},
		{"A,B\"C,a.gov,a@a.gov,c@a.gov,,,",
		 "quote inside an unquoted field (quote the whole field)"},
		{"A,\"B,a.gov,a@a.gov,c@a.gov,,,", "unterminated quoted field"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *csv = xasprintf(HEADER "%s\n", cases[i].row);
		char *want = xasprintf("f.csv:2: %s", cases[i].msg);
		struct directory d = {.n = 99};
		struct strv errors = {0};
		int rc = directory_parse_csv(csv, strlen(csv), "f.csv", &d, &errors);
		if (errors.n != 1 || strcmp(errors.v[0], want) != 0) {
			print_message("# want: %s\n", want);
			for (size_t k = 0; k < errors.n; k++)
				print_message("# got:  %s\n", errors.v[k]);
		}
		assert_int_equal(rc, -1);
		assert_int_equal(errors.n, 1);
		assert_string_equal(errors.v[0], want);
		assert_null(d.v);
		assert_int_equal(d.n, 0);
		strv_free(&errors);
		free(want);
		free(csv);
	}
}

/* Every bad row at once, in order, with the line its record starts on; the
 * good rows among them are not kept. */
static void test_many_bad_rows(void **state)
{
	(void)state;
	static const char csv[] =
		HEADER                                                   /* 1 */
		"DWR,Water,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,,,\n" /* 2 */
		"\n"                                                     /* 3 */
		"CHP,\"Highway\nPatrol\",chp,it@chp.ca.gov,,,,\n"        /* 4-5 */
		"dwr,Water again,w2.ca.gov,a@w2.ca.gov,c@w2.ca.gov,,,\n" /* 6 */
		"OK,Fine,ok.ca.gov,a@ok.ca.gov,c@ok.ca.gov,,,\n"         /* 7 */
		"short,row\n"                                            /* 8 */
		"DWR,Third,w3.ca.gov,bad,c@w3.ca.gov,,,\n";              /* 9 */
	static const char *const want[] = {
		"e.csv:4: invalid domain \"chp\"",
		"e.csv:4: missing cio (required unless exempt)",
		"e.csv:6: duplicate code \"dwr\" (first on line 2)",
		"e.csv:8: expected 8 fields, found 2",
		"e.csv:9: invalid aio address \"bad\"",
		"e.csv:9: duplicate code \"DWR\" (first on line 2)",
	};
	struct directory d = {0};
	struct strv errors = {0};
	assert_int_equal(directory_parse_csv(csv, sizeof csv - 1, "e.csv", &d, &errors), -1);
	if (errors.n != ARRAY_LEN(want))
		for (size_t i = 0; i < errors.n; i++)
			print_message("# got: %s\n", errors.v[i]);
	assert_int_equal(errors.n, ARRAY_LEN(want));
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		assert_string_equal(errors.v[i], want[i]);
	assert_null(d.v);
	assert_int_equal(d.n, 0);
	strv_free(&errors);
}

static void test_header(void **state)
{
	(void)state;
	static const struct {
		const char *csv;
		const char *msgs[4];
	} cases[] = {
		{"code,name,domains,aio,cio,aio_delegates,exempt\n",
		 {"h.csv:1: missing column \"cio_delegates\""}},
		{"code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt,notes\n",
		 {"h.csv:1: unknown column \"notes\""}},
		{"code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt,Code\n",
		 {"h.csv:1: duplicate column \"code\""}},
		{"code,nom,domains,aio,cio,aio_delegates,cio_delegates,cio\n",
		 {"h.csv:1: unknown column \"nom\"", "h.csv:1: duplicate column \"cio\"",
		  "h.csv:1: missing column \"name\"", "h.csv:1: missing column \"exempt\""}},
		{"code,\"name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n",
		 {"h.csv:1: unterminated quoted field"}},
		{"", {"h.csv:1: no header row (expected "
		      "code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt)"}},
		{"\xEF\xBB\xBF\r\n\r\n", {"h.csv:1: no header row (expected "
					  "code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt)"}},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		/* A good row after the header is not read when the header is bad. */
		char *csv = xasprintf("%s%s", cases[i].csv,
				      strchr(cases[i].csv, ',') ? "A,B,a.gov,a@a.gov,c@a.gov,,,\n" : "");
		struct directory d = {0};
		struct strv errors = {0};
		assert_int_equal(directory_parse_csv(csv, strlen(csv), "h.csv", &d, &errors), -1);
		size_t n = 0;
		while (n < ARRAY_LEN(cases[i].msgs) && cases[i].msgs[n])
			n++;
		if (errors.n != n)
			for (size_t k = 0; k < errors.n; k++)
				print_message("# case %zu got: %s\n", i, errors.v[k]);
		assert_int_equal(errors.n, n);
		for (size_t k = 0; k < n; k++)
			assert_string_equal(errors.v[k], cases[i].msgs[k]);
		assert_int_equal(d.n, 0);
		strv_free(&errors);
		free(csv);
	}
}

static void test_find(void **state)
{
	(void)state;
	static const struct {
		const char *text, *code; /* code NULL: no match */
	} cases[] = {
		{"DWR", "DWR"},
		{"dwr", "DWR"},
		{"D.W.R.", "DWR"},
		{" d w r ", "DWR"},
		{"Department of Water Resources", "DWR"},
		{"Department of water resources!", "DWR"},
		{"DEPARTMENT-OF-WATER-RESOURCES", "DWR"},
		{"Dept. of Water Resources", NULL},
		{"Water Resources", NULL},
		{"California State Lottery", "LOT"},
		{"lot", "LOT"},
		{"CHP", "CHP"},
		{"", NULL},
		{"...", NULL},
		{"DWRX", NULL},
	};
	struct directory d = {0};
	parse_ok(sample, &d);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct entity *e = directory_find(&d, cases[i].text);
		if (!e != !cases[i].code)
			print_message("# case %zu: %s\n", i, cases[i].text);
		if (cases[i].code) {
			assert_non_null(e);
			assert_string_equal(e->code, cases[i].code);
		} else {
			assert_null(e);
		}
	}
	assert_null(directory_find(&d, NULL));

	assert_ptr_equal(directory_by_code(&d, "DMV"), &d.v[2]);
	assert_ptr_equal(directory_by_code(&d, "dmv"), &d.v[2]);
	assert_null(directory_by_code(&d, "D.M.V."));
	assert_null(directory_by_code(&d, "Department of Motor Vehicles"));
	assert_null(directory_by_code(&d, NULL));
	directory_free(&d);
}

static void test_by_domain(void **state)
{
	(void)state;
	static const struct {
		const char *domain, *first;
		size_t n;
	} cases[] = {
		{"water.ca.gov", "DWR", 1},
		{"WATER.CA.GOV", "DWR", 1},
		{"dmv.ca.gov", "DMV", 1},
		{"dmv.gov", "DMV", 2}, /* shared with NMV */
		{"Dmv.Gov", "DMV", 2},
		{"nmvb.ca.gov", "NMV", 1},
		{"ca.gov", NULL, 0},
		{"sub.water.ca.gov", NULL, 0},
		{"", NULL, 0},
	};
	struct directory d = {0};
	parse_ok(sample, &d);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct entity *first = &d.v[0];
		assert_int_equal(directory_by_domain(&d, cases[i].domain, &first), cases[i].n);
		if (cases[i].first)
			assert_string_equal(first->code, cases[i].first);
		else
			assert_null(first);
		assert_int_equal(directory_by_domain(&d, cases[i].domain, NULL), cases[i].n);
	}
	assert_true(entity_has_domain(&d.v[2], "DMV.gov"));
	assert_false(entity_has_domain(&d.v[2], "water.ca.gov"));
	assert_false(entity_has_domain(&d.v[2], NULL));
	directory_free(&d);
}

static void test_roles(void **state)
{
	(void)state;
	static const struct {
		const char *code, *addr;
		int aio, cio;
	} cases[] = {
		{"DWR", "aio@water.ca.gov", 1, 0},
		{"DWR", "AIO@Water.CA.gov", 1, 0},
		{"DWR", "deputy.aio@water.ca.gov", 1, 0},
		{"DWR", "cio@water.ca.gov", 0, 1},
		{"DWR", "requester@water.ca.gov", 0, 0},
		{"DWR", "aio@dmv.ca.gov", 0, 0},
		{"CHP", "it.chief@chp.ca.gov", 1, 1},
		{"DMV", "cio.office@dmv.ca.gov", 0, 1},
		{"DMV", "CIO.Office@DMV.ca.gov", 0, 1},
		{"DMV", "aio@dmv.ca.gov", 1, 0},
		{"DMV", "", 0, 0},
		{"DMV", NULL, 0, 0},
	};
	struct directory d = {0};
	parse_ok(sample, &d);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct entity *e = directory_by_code(&d, cases[i].code);
		assert_non_null(e);
		assert_int_equal(entity_is_aio(e, cases[i].addr), cases[i].aio);
		assert_int_equal(entity_is_cio(e, cases[i].addr), cases[i].cio);
	}
	directory_free(&d);

	/* An exempt entity without approvers matches nobody. */
	parse_ok(HEADER "SCF,Secure Facility,scf.ca.gov,,,,,SCIF\n", &d);
	assert_int_equal(entity_is_aio(&d.v[0], "aio@scf.ca.gov"), 0);
	assert_int_equal(entity_is_cio(&d.v[0], "cio@scf.ca.gov"), 0);
	directory_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_rfc4180),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_many_bad_rows),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_by_domain),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests_name("directory", tests, NULL, NULL);
}
