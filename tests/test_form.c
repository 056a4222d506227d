/* Unit tests of the request form parser (DESIGN.md section 2). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "form.h"
#include "util.h"

/* A complete request, one block per field in the order of section 2. */
static const char *const blocks[] = {
	"Entity: Department of Technology\n",
	"Services:\n"
	"- 2 x 100 Mbps Ethernet at 1325 J Street, Sacramento, CA 95814\n"
	"- 1 x Dedicated Internet Access at 10860 Gold Center Drive,\n"
	"  Rancho Cordova, CA 95670\n",
	"Reason: CGEN has no fiber at the Rancho Cordova site.\n"
	"The nearest CGEN node is 30 miles away.\n",
	"Reason Category: Availability.\n",
	"Contract Term: 36 months\n",
	"Early Termination: none\n",
	"Extension Options: two 12-month extensions\n",
	"Total Cost: $97,560.00\n",
	"Cost Items:\n"
	"- Circuits: $90,000.00\n"
	"- Installation - 7,560\n",
	"Provider: AT&T\n",
	"Vendor Documentation: quote Q-1234 (attached)\n",
	"Service Levels: 99.9% availability;\n"
	"credits of 10% per hour of outage\n",
};
#define N_BLOCKS (sizeof blocks / sizeof blocks[0])

/* The complete request with block skip left out (skip < 0: none) and block
 * with_i replaced by with (with_i < 0: none), between a greeting and a
 * signature. Allocated. */
static char *request(int skip, int with_i, const char *with)
{
	struct buf b = {0};
	buf_adds(&b, "Hello,\n\nplease find our request below.\n\n");
	for (int i = 0; i < (int)N_BLOCKS; i++) {
		if (i == skip)
			continue;
		buf_adds(&b, i == with_i ? with : blocks[i]);
	}
	buf_adds(&b, "\n-- \nJane Doe\nProvider: not a field\n");
	return buf_steal(&b);
}

/* The problems as "field|message\n" lines. Allocated. */
static char *problems(const struct form *f)
{
	struct buf b = {0};
	for (size_t i = 0; i < f->n_problems; i++)
		buf_addf(&b, "%s|%s\n", f->problems[i].field, f->problems[i].message);
	return buf_steal(&b);
}

/* The services as "quantity|type|address\n" lines. Allocated. */
static char *services(const struct form *f)
{
	struct buf b = {0};
	for (size_t i = 0; i < f->n_services; i++)
		buf_addf(&b, "%ld|%s|%s\n", f->services[i].quantity, f->services[i].type,
			 f->services[i].address);
	return buf_steal(&b);
}

/* The cost items as "item|cents\n" lines. Allocated. */
static char *costs(const struct form *f)
{
	struct buf b = {0};
	for (size_t i = 0; i < f->n_cost_items; i++)
		buf_addf(&b, "%s|%lld\n", f->cost_items[i].item, f->cost_items[i].cents);
	return buf_steal(&b);
}

static void assert_problems(const struct form *f, const char *want)
{
	char *got = problems(f);
	assert_string_equal(got, want);
	free(got);
}

static void test_complete(void **state)
{
	(void)state;
	char *text = request(-1, -1, NULL);
	struct form f = {0};
	form_parse(text, &f);
	assert_int_equal(f.labels, 12);
	assert_true(form_is_request(&f));
	assert_problems(&f, "");
	assert_string_equal(f.entity, "Department of Technology");
	char *s = services(&f);
	assert_string_equal(s, "2|100 Mbps Ethernet|1325 J Street, Sacramento, CA 95814\n"
			       "1|Dedicated Internet Access|10860 Gold Center Drive, "
			       "Rancho Cordova, CA 95670\n");
	free(s);
	assert_string_equal(f.reason, "CGEN has no fiber at the Rancho Cordova site.\n"
				      "The nearest CGEN node is 30 miles away.");
	assert_string_equal(f.reason_category, "availability");
	assert_string_equal(f.contract_term, "36 months");
	assert_string_equal(f.early_termination, "none");
	assert_string_equal(f.extension_options, "two 12-month extensions");
	assert_int_equal(f.has_total_cost, 1);
	assert_int_equal(f.total_cost, 9756000);
	char *c = costs(&f);
	assert_string_equal(c, "Circuits|9000000\nInstallation|756000\n");
	free(c);
	assert_string_equal(f.provider, "AT&T");
	assert_string_equal(f.vendor_documentation, "quote Q-1234 (attached)");
	assert_string_equal(f.service_levels, "99.9% availability;\ncredits of 10% per hour of outage");
	form_free(&f);
	free(text);
}

static void test_missing(void **state)
{
	(void)state;
	static const char *const want[N_BLOCKS] = {
		"entity|Entity is missing.\n",
		("services|Services is missing: list each service as "
		 "\"- <quantity> x <type> at <street address>\".\n"),
		"reason|Reason is missing.\n",
		"reason_category|Reason Category is missing.\n",
		"contract_term|Contract Term is missing.\n",
		"early_termination|Early Termination is missing.\n",
		"extension_options|Extension Options is missing.\n",
		"total_cost|Total Cost is missing.\n",
		"cost_items|Cost Items is missing.\n",
		"provider|Provider is missing.\n",
		"",
		"",
	};
	for (int i = 0; i < (int)N_BLOCKS; i++) {
		char *text = request(i, -1, NULL);
		struct form f = {0};
		form_parse(text, &f);
		assert_int_equal(f.labels, 11);
		assert_problems(&f, want[i]);
		form_free(&f);
		free(text);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		int block;
		const char *with, *want;
	} cases[] = {
		{1, "Services:\n- 2 x Ethernet at 1325 J Street\n- Ethernet at 1 Main Street\n",
		 "services|Service 2 has no quantity.\n"},
		{1, "Services:\n- 2 x at 1325 J Street\n", "services|Service 1 has no service type.\n"},
		{1, "Services:\n- 2 x Ethernet at Sacramento\n",
		 "services|Service 1 has no street address.\n"},
		{1, "Services:\n- 2 x Ethernet\n", "services|Service 1 has no street address.\n"},
		{1, "Services:\n- 0 x Ethernet at 1 Main Street\n",
		 "services|Service 1 has no quantity.\n"},
		{1, "Services:\n- Ethernet\n",
		 "services|Service 1 has no quantity and no street address.\n"},
		{1, "Services:\n- @ \n",
		 "services|Service 1 has no quantity, no service type and no street address.\n"},
		{1, "Services:\n", "services|Services is missing: list each service as "
				   "\"- <quantity> x <type> at <street address>\".\n"},
		{1, "Services:\n- <quantity> x <service type> at <street address>\n",
		 "services|Services is missing: list each service as "
		 "\"- <quantity> x <type> at <street address>\".\n"},
		{3, "Reason Category: cheaper\n",
		 "reason_category|Reason Category must be features, functionality or availability.\n"},
		{3, "Reason Category: features and functionality\n",
		 "reason_category|Reason Category must be features, functionality or availability.\n"},
		{3, "Reason Category: <features, functionality or availability>\n",
		 "reason_category|Reason Category is missing.\n"},
		{4, "Contract Term: as long as the building stands\n",
		 "contract_term|Contract Term must give a length, e.g. 36 months.\n"},
		{4, "Contract Term:\n", "contract_term|Contract Term is missing.\n"},
		{7, "Total Cost: $2,710.00 per month\n",
		 "total_cost|Total Cost is not a money amount: \"$2,710.00 per month\".\n"},
		{7, "Total Cost: 1,20,000\n", "total_cost|Total Cost is not a money amount: \"1,20,000\".\n"},
		{7, "Total Cost: about one hundred thousand dollars, to be confirmed by the vendor\n",
		 "total_cost|Total Cost is not a money amount: "
		 "\"about one hundred thousand dollars, to be confirmed by the v...\".\n"},
		{8, "Cost Items:\n- Circuits: $90,000.00\n- Installation: TBD\n",
		 "cost_items|Cost item 2 has no amount.\n"},
		{8, "Cost Items:\n- $90,000.00\n- Installation: 7560\n",
		 "cost_items|Cost item 1 has no description.\n"},
		{8, "Cost Items:\n- Circuits: $90,000.00\n- Installation: $7,000\n",
		 "cost_items|Cost Items add up to $97,000.00, not the Total Cost of $97,560.00.\n"},
		{8, "Cost Items:\n- Circuits: $97,560.00\n- Installation: $0.01\n",
		 "cost_items|Cost Items add up to $97,560.01, not the Total Cost of $97,560.00.\n"},
		{9, "Provider:\n\n", "provider|Provider is missing.\n"},
		{0, "Entity:   \n", "entity|Entity is missing.\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = request(-1, cases[i].block, cases[i].with);
		struct form f = {0};
		form_parse(text, &f);
		char *got = problems(&f);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
		free(got);
		form_free(&f);
		free(text);
	}
}

static void test_money_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int ok;
		long long cents;
	} cases[] = {
		{"$97,560.00", 1, 9756000},
		{"$1,200,000", 1, 120000000},
		{"97560", 1, 9756000},
		{"97,560.5", 1, 9756050},
		{"USD 1,200.50", 1, 120050},
		{"1,200.50 USD", 1, 120050},
		{"usd 5", 1, 500},
		{"$ 12", 1, 1200},
		{"  $0.05  ", 1, 5},
		{"0", 1, 0},
		{"$999,999,999,999,999.99", 1, 99999999999999999LL},
		{"1234567", 1, 123456700},
		{"$1,000,000,000,000,000", 0, 0},
		{"1,20,000", 0, 0},
		{"1,2345", 0, 0},
		{"12,34", 0, 0},
		{"$", 0, 0},
		{"", 0, 0},
		{"12.345", 0, 0},
		{"-5", 0, 0},
		{"$-5", 0, 0},
		{".50", 0, 0},
		{"5.", 0, 0},
		{"$97,560.00 (three years)", 0, 0},
		{"five dollars", 0, 0},
		{"$5 $6", 0, 0},
		{"EUR 5", 0, 0},
		{"\xff" "5", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long cents = -1;
		int rc = money_parse(cases[i].in, &cents);
		if (rc != (cases[i].ok ? 0 : -1))
			fail_msg("\"%s\": rc %d", cases[i].in, rc);
		if (cases[i].ok && cents != cases[i].cents)
			fail_msg("\"%s\": %lld cents", cases[i].in, cents);
		if (!cases[i].ok)
			assert_int_equal(cents, -1); /* untouched */
	}
	long long cents = 7;
	assert_int_equal(money_parse(NULL, &cents), -1);
	assert_int_equal(cents, 7);
}

static void test_money_format(void **state)
{
	(void)state;
	static const struct {
		long long cents;
		const char *out;
	} cases[] = {
		{9756000, "$97,560.00"}, {5, "$0.05"}, {120000000, "$1,200,000.00"},
		{0, "$0.00"}, {99999, "$999.99"}, {100000, "$1,000.00"},
		{-150, "-$1.50"}, {99999999999999999LL, "$999,999,999,999,999.99"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = money_format(cases[i].cents);
		assert_string_equal(s, cases[i].out);
		long long back;
		if (cases[i].cents >= 0) {
			assert_int_equal(money_parse(s, &back), 0);
			assert_int_equal(back, cases[i].cents);
		}
		free(s);
	}
}

/* Form text around one field: services or cost items. */
static void parse_with(const char *field_text, struct form *f)
{
	char *text = xasprintf("Entity: CDT\n%sProvider: AT&T\n", field_text);
	form_parse(text, f);
	free(text);
}

static void test_services_variants(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"Services: 2 x Ethernet at 1325 J Street\n", "2|Ethernet|1325 J Street\n"},
		{"Services:\n3 X Ethernet @ 1325 J Street\n4 \xc3\x97 Wave | 1 Main St\n",
		 "3|Ethernet|1325 J Street\n4|Wave|1 Main St\n"},
		{"Services:\n* 1x MPLS; 1325 J Street\n\xe2\x80\xa2 2 x SD-WAN AT 400 Capitol Mall\n",
		 "1|MPLS|1325 J Street\n2|SD-WAN|400 Capitol Mall\n"},
		{"Services:\n1. 10 x 10 Gbps Wave at 1325-B J Street\n2) 1 x Internet at 12 Main St\n",
		 "10|10 Gbps Wave|1325-B J Street\n1|Internet|12 Main St\n"},
		{"Services: as follows\n- 2 x Ethernet at 1325 J Street,\n  Sacramento, CA 95814\n"
		 "\nBoth circuits are redundant.\n",
		 "2|Ethernet|1325 J Street, Sacramento, CA 95814\n"},
		{"Services:\n- 2 x Ethernet at State Capitol, 1315 10th Street at the corner\n",
		 "2|Ethernet|State Capitol, 1315 10th Street at the corner\n"},
		{"Services:\n- 1 x Fiber from Caf\xc3\xa9 Networks at 7 Rue \xc3\x89toile\n",
		 "1|Fiber from Caf\xc3\xa9 Networks|7 Rue \xc3\x89toile\n"},
		{"Services:\n- <quantity> x <service type> at <street address>\n"
		 "- 2 x Ethernet at 1325 J Street\n",
		 "2|Ethernet|1325 J Street\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form f = {0};
		parse_with(cases[i].in, &f);
		char *got = services(&f);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, got);
		for (size_t k = 0; k < f.n_problems; k++)
			if (strcmp(f.problems[k].field, FORM_F_SERVICES) == 0)
				fail_msg("case %zu: %s", i, f.problems[k].message);
		free(got);
		form_free(&f);
	}
}

static void test_cost_variants(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"Cost Items: Circuits: $90,000.00\n", "Circuits|9000000\n"},
		{"Cost Items:\nCircuits 90000\nInstallation = USD 7,560.50\n",
		 "Circuits|9000000\nInstallation|756050\n"},
		{"Cost Items:\n- Year 1-2 (24 months): 1,500\n- Router \xe2\x80\x93 $300 USD\n",
		 "Year 1-2 (24 months)|150000\nRouter|30000\n"},
		{"Cost Items:\n1. Circuits, 3 x 1 Gbps:\n   $36,000\n2. Setup:$5\n",
		 "Circuits, 3 x 1 Gbps|3600000\nSetup|500\n"},
		{"Cost Items:\n- <item>: <amount>\n- Support 12.50\n", "Support|1250\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form f = {0};
		parse_with(cases[i].in, &f);
		char *got = costs(&f);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, got);
		for (size_t k = 0; k < f.n_problems; k++)
			if (strcmp(f.problems[k].field, FORM_F_COST_ITEMS) == 0)
				fail_msg("case %zu: %s", i, f.problems[k].message);
		free(got);
		form_free(&f);
	}
}

static void test_labels(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int labels;
		const char *entity, *reason, *reason_category, *provider, *contract_term;
	} cases[] = {
		{"entity: A\r\nREASON: slow\r\n  still slow\r\nProvider: P\r\n", 3, "A",
		 "slow\nstill slow", NULL, "P", NULL},
		{"  - Entity Name: A\n* Reason : R\n\xe2\x80\xa2 Vendor: V\n", 3, "A", "R", NULL, "V", NULL},
		{"Agency:\n\n  A B\n\nsigned\nService Provider: P\nTerm: 3 years\n", 3, "A B", NULL,
		 NULL, "P", "3 years"},
		{"Department: D\nReason Category: Features\nReason: R\n", 3, "D", "R", "features",
		 NULL, NULL},
		{"Entity\xc2\xa0: A\xc2\xa0" "B\nContract  Term: 36-month\nSLAs: none\n", 3, "A B",
		 NULL, NULL, NULL, "36-month"},
		{"Entity: first\nAgency: second\nEntity: third\nReason: R\n", 2, "first", "R", NULL,
		 NULL, NULL},
		{"Dear CDT,\nEntity: D\xe9partement\n", 1, "D\xef\xbf\xbdpartement", NULL, NULL, NULL,
		 NULL},
		/* plurals and articles do not matter; quoted lines are not read */
		{"Entities: A\n> Reason: R\nThe reason: X\nReasons: Y\n", 2, "A", "X", NULL, NULL,
		 NULL},
		/* not labels: a web address, a time, a long phrase, no colon */
		{"https://x.example: y\n10:30: z\nOne two three four five six seven: w\nEntity A\n",
		 0, NULL, NULL, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form f = {0};
		form_parse(cases[i].in, &f);
		assert_int_equal(f.labels, cases[i].labels);
		const char *got[] = {f.entity, f.reason, f.reason_category, f.provider,
				     f.contract_term};
		const char *want[] = {cases[i].entity, cases[i].reason, cases[i].reason_category,
				      cases[i].provider, cases[i].contract_term};
		for (size_t k = 0; k < 5; k++) {
			if (!want[k])
				assert_null(got[k]);
			else if (!got[k] || strcmp(got[k], want[k]) != 0)
				fail_msg("case %zu field %zu: got \"%s\"", i, k, got[k] ? got[k] : "(null)");
		}
		form_free(&f);
	}
}

static void test_is_request(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int labels, request;
	} cases[] = {
		{"", 0, 0},
		{"Hello, what is CGEN?\n", 0, 0},
		{"Entity: CDT\nReason: slow\n", 2, 0},
		{"Entity: CDT\nAgency: CDT\nDepartment: CDT\n", 1, 0},
		{"Entity: CDT\nReason: slow\nProvider: AT&T\n", 3, 1},
		{"Entity:\nServices:\nSLA:\nVendor Documentation:\n", 4, 1},
		/* quoted lines kept between new text are not the form */
		{"> Entity: CDT\n> Reason: slow\n  > Provider: AT&T\nthanks\n", 0, 0},
		{"Entity: CDT\n> Reason: quoted\nReason: slow\nProvider: AT&T\n", 3, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form f = {0};
		form_parse(cases[i].in, &f);
		assert_int_equal(f.labels, cases[i].labels);
		assert_int_equal(form_is_request(&f), cases[i].request);
		form_free(&f);
	}
}

static void test_json(void **state)
{
	(void)state;
	char *text = request(-1, -1, NULL);
	struct form f = {0};
	form_parse(text, &f);
	char *j = form_fields_json(&f);
	assert_string_equal(j,
		"{\"entity\":\"Department of Technology\","
		"\"services\":[{\"quantity\":2,\"type\":\"100 Mbps Ethernet\","
		"\"address\":\"1325 J Street, Sacramento, CA 95814\"},"
		"{\"quantity\":1,\"type\":\"Dedicated Internet Access\","
		"\"address\":\"10860 Gold Center Drive, Rancho Cordova, CA 95670\"}],"
		"\"reason\":\"CGEN has no fiber at the Rancho Cordova site.\\n"
		"The nearest CGEN node is 30 miles away.\","
		"\"reason_category\":\"availability\","
		"\"contract_term\":\"36 months\","
		"\"early_termination\":\"none\","
		"\"extension_options\":\"two 12-month extensions\","
		"\"total_cost\":9756000,"
		"\"cost_items\":[{\"item\":\"Circuits\",\"amount\":9000000},"
		"{\"item\":\"Installation\",\"amount\":756000}],"
		"\"provider\":\"AT&T\","
		"\"vendor_documentation\":\"quote Q-1234 (attached)\","
		"\"service_levels\":\"99.9% availability;\\ncredits of 10% per hour of outage\"}");
	free(j);
	j = form_problems_json(&f);
	assert_string_equal(j, "[]");
	free(j);
	form_free(&f);
	free(text);

	form_parse("Entity: CDT\nTotal Cost: lots\nContract Term: 36 months\n", &f);
	j = form_fields_json(&f);
	assert_string_equal(j, "{\"entity\":\"CDT\",\"contract_term\":\"36 months\"}");
	free(j);
	form_add_problem(&f, FORM_F_ENTITY, "The sender's domain %s does not belong to %s.",
			 "example.com", "CDT");
	j = form_problems_json(&f);
	assert_string_equal(j,
		"[{\"field\":\"services\",\"message\":\"Services is missing: list each service as "
		"\\\"- <quantity> x <type> at <street address>\\\".\"},"
		"{\"field\":\"reason\",\"message\":\"Reason is missing.\"},"
		"{\"field\":\"reason_category\",\"message\":\"Reason Category is missing.\"},"
		"{\"field\":\"early_termination\",\"message\":\"Early Termination is missing.\"},"
		"{\"field\":\"extension_options\",\"message\":\"Extension Options is missing.\"},"
		"{\"field\":\"total_cost\",\"message\":\"Total Cost is not a money amount: \\\"lots\\\".\"},"
		"{\"field\":\"cost_items\",\"message\":\"Cost Items is missing.\"},"
		"{\"field\":\"provider\",\"message\":\"Provider is missing.\"},"
		"{\"field\":\"entity\",\"message\":\"The sender's domain example.com does not belong to CDT.\"}]");
	free(j);
	form_add_problem(&f, "attachments", "Attachment %d is empty.", 1);
	j = form_problems_text(&f);
	assert_string_equal(j,
		"- Services is missing: list each service as "
		"\"- <quantity> x <type> at <street address>\".\n"
		"- Reason is missing.\n"
		"- Reason Category is missing.\n"
		"- Early Termination is missing.\n"
		"- Extension Options is missing.\n"
		"- Total Cost is not a money amount: \"lots\".\n"
		"- Cost Items is missing.\n"
		"- Provider is missing.\n"
		"- The sender's domain example.com does not belong to CDT.\n"
		"- Attachment 1 is empty.\n");
	/* Pasted back unquoted, the problem lines are not read as form fields. */
	struct form back = {0};
	form_parse(j, &back);
	assert_int_equal(back.labels, 0);
	form_free(&back);
	free(j);
	form_free(&f);
	assert_int_equal(f.n_problems, 0);
	assert_null(f.entity);

	form_parse("", &f);
	j = form_fields_json(&f);
	assert_string_equal(j, "{}");
	free(j);
	form_free(&f);
}

static void test_summary(void **state)
{
	(void)state;
	char *text = request(-1, -1, NULL);
	struct form f = {0};
	form_parse(text, &f);
	char *s = form_summary_text(&f);
	assert_string_equal(s,
		"Entity: Department of Technology\n"
		"Services:\n"
		"- 2 x 100 Mbps Ethernet at 1325 J Street, Sacramento, CA 95814\n"
		"- 1 x Dedicated Internet Access at 10860 Gold Center Drive, Rancho Cordova, CA 95670\n"
		"Reason:\n"
		"  CGEN has no fiber at the Rancho Cordova site.\n"
		"  The nearest CGEN node is 30 miles away.\n"
		"Reason Category: availability\n"
		"Contract Term: 36 months\n"
		"Early Termination: none\n"
		"Extension Options: two 12-month extensions\n"
		"Total Cost: $97,560.00\n"
		"Cost Items:\n"
		"- Circuits: $90,000.00\n"
		"- Installation: $7,560.00\n"
		"Provider: AT&T\n"
		"Vendor Documentation: quote Q-1234 (attached)\n"
		"Service Levels:\n"
		"  99.9% availability;\n"
		"  credits of 10% per hour of outage\n");
	free(s);
	form_free(&f);
	free(text);

	form_parse("Reason: a\n\n\n\nb\nProvider: P\n\n"
		   "Vendor Documentation: see <quote.pdf>\n<https://x.example/q>\n"
		   "<optional, a hint> and text\n<bob@x.example>\n\nThanks,\nJane\n"
		   "Service Levels: after the sign-off: not read\n", &f);
	s = form_summary_text(&f);
	assert_string_equal(s, "Reason:\n  a\n\n  b\nProvider: P\nVendor Documentation:\n"
			       "  see <quote.pdf>\n  <https://x.example/q>\n  <bob@x.example>\n");
	free(s);
	form_free(&f);
}

/* ---- the lenient form, one table per rule ---- */

/* One field of f as text: strings as they are, services as
 * "quantity|type|address;", cost items as "item|cents;", Total Cost in
 * cents; "(null)" when absent. Allocated. */
static char *field_str(const struct form *f, const char *name)
{
	struct buf b = {0};
	if (strcmp(name, FORM_F_SERVICES) == 0) {
		for (size_t i = 0; i < f->n_services; i++)
			buf_addf(&b, "%ld|%s|%s;", f->services[i].quantity, f->services[i].type,
				 f->services[i].address);
	} else if (strcmp(name, FORM_F_COST_ITEMS) == 0) {
		for (size_t i = 0; i < f->n_cost_items; i++)
			buf_addf(&b, "%s|%lld;", f->cost_items[i].item, f->cost_items[i].cents);
	} else if (strcmp(name, FORM_F_TOTAL_COST) == 0) {
		if (f->has_total_cost)
			buf_addf(&b, "%lld", f->total_cost);
	} else {
		const struct {
			const char *name, *v;
		} m[] = {
			{FORM_F_ENTITY, f->entity}, {FORM_F_REASON, f->reason},
			{FORM_F_REASON_CATEGORY, f->reason_category},
			{FORM_F_CONTRACT_TERM, f->contract_term},
			{FORM_F_EARLY_TERMINATION, f->early_termination},
			{FORM_F_EXTENSION_OPTIONS, f->extension_options}, {FORM_F_PROVIDER, f->provider},
			{FORM_F_VENDOR_DOCUMENTATION, f->vendor_documentation},
			{FORM_F_SERVICE_LEVELS, f->service_levels},
		};
		for (size_t i = 0; i < ARRAY_LEN(m); i++)
			if (strcmp(m[i].name, name) == 0 && m[i].v)
				buf_adds(&b, m[i].v);
	}
	if (!b.len)
		buf_adds(&b, "(null)");
	return buf_steal(&b);
}

/* The problems of one field (or of every field when name is NULL), "soft"
 * ones marked with a leading '~', as "message\n" lines. Allocated. */
static char *field_problems(const struct form *f, const char *name)
{
	struct buf b = {0};
	for (size_t i = 0; i < f->n_problems; i++)
		if (!name || strcmp(f->problems[i].field, name) == 0)
			buf_addf(&b, "%s%s\n", f->problems[i].soft ? "~" : "", f->problems[i].message);
	if (!b.len)
		buf_adds(&b, "");
	return buf_steal(&b);
}

struct field_case {
	const char *text, *field, *want;
};

/* Parses each text and compares one field; with check_problems, that field
 * must have no problem either. */
static void run_field_cases(const struct field_case *cases, size_t n, int check_problems)
{
	for (size_t i = 0; i < n; i++) {
		struct form f = {0};
		form_parse(cases[i].text, &f);
		char *got = field_str(&f, cases[i].field);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i, cases[i].field, got,
				 cases[i].want);
		char *p = field_problems(&f, cases[i].field);
		if (check_problems && *p)
			fail_msg("case %zu (%s): problem %s", i, cases[i].field, p);
		free(p);
		free(got);
		form_free(&f);
	}
}

static void test_synonyms(void **state)
{
	(void)state;
	static const struct field_case cases[] = {
		{"ENTITY: DWR\n", FORM_F_ENTITY, "DWR"},
		{"Agency Name (Code): DWR\n", FORM_F_ENTITY, "DWR"},
		{"Entity / Agency: DWR\n", FORM_F_ENTITY, "DWR"},
		{"Requesting Department: DWR\n", FORM_F_ENTITY, "DWR"},
		{"Service(s) Requested:\n- 2 x Ethernet at 1 Main St\n", FORM_F_SERVICES,
		 "2|Ethernet|1 Main St;"},
		{"Services Requested: 2 x Ethernet at 1 Main St\n", FORM_F_SERVICES,
		 "2|Ethernet|1 Main St;"},
		{"Service: 2 x Ethernet at 1 Main St\n", FORM_F_SERVICES, "2|Ethernet|1 Main St;"},
		{"Reason for Exemption: slow\n", FORM_F_REASON, "slow"},
		{"Business Justification: slow\n", FORM_F_REASON, "slow"},
		{"Justification: slow\n", FORM_F_REASON, "slow"},
		{"The reason: slow\n", FORM_F_REASON, "slow"},
		{"Reason-Category: features\n", FORM_F_REASON_CATEGORY, "features"},
		{"Category: features\n", FORM_F_REASON_CATEGORY, "features"},
		{"Contract Length: 36 months\n", FORM_F_CONTRACT_TERM, "36 months"},
		{"Term: 36 months\n", FORM_F_CONTRACT_TERM, "36 months"},
		{"Contract Duration: 36 months\n", FORM_F_CONTRACT_TERM, "36 months"},
		{"Early termination terms: none\n", FORM_F_EARLY_TERMINATION, "none"},
		{"Early Termination Fee(s): none\n", FORM_F_EARLY_TERMINATION, "none"},
		{"Extension Option: none\n", FORM_F_EXTENSION_OPTIONS, "none"},
		{"Renewal Options: none\n", FORM_F_EXTENSION_OPTIONS, "none"},
		{"Total Cost (USD): 97,560.00\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total: $97,560\n", FORM_F_TOTAL_COST, "9756000"},
		{"Cost: $97,560\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Contract Value: $97,560\n", FORM_F_TOTAL_COST, "9756000"},
		{"Cost Breakdown:\n- a: $5\n", FORM_F_COST_ITEMS, "a|500;"},
		{"Itemized Costs:\n- a: $5\n", FORM_F_COST_ITEMS, "a|500;"},
		{"Cost Item: a: $5\n", FORM_F_COST_ITEMS, "a|500;"},
		{"Costs:\n- a: $5\n", FORM_F_COST_ITEMS, "a|500;"},
		{"Provider Name: AT&T\n", FORM_F_PROVIDER, "AT&T"},
		{"Vendor: AT&T\n", FORM_F_PROVIDER, "AT&T"},
		{"Carrier: AT&T\n", FORM_F_PROVIDER, "AT&T"},
		{"Proposed Vendor: AT&T\n", FORM_F_PROVIDER, "AT&T"},
		{"Vendor Documentation (optional): quote\n", FORM_F_VENDOR_DOCUMENTATION, "quote"},
		{"Vendor Quote: Q-1\n", FORM_F_VENDOR_DOCUMENTATION, "Q-1"},
		{"SLA: 99.9%\n", FORM_F_SERVICE_LEVELS, "99.9%"},
		{"Service Level Agreement (SLA): 99.9%\n", FORM_F_SERVICE_LEVELS, "99.9%"},
		{"Service Levels: 99.9%\n", FORM_F_SERVICE_LEVELS, "99.9%"},
		/* Gmail writes <b> as '*' in text; Markdown-like '**' and '_' too */
		{"*Entity:* DWR\n", FORM_F_ENTITY, "DWR"},
		{"**Entity**: DWR\n", FORM_F_ENTITY, "DWR"},
		{"_Provider:_ AT&T\n", FORM_F_PROVIDER, "AT&T"},
		/* list markers and indentation before a label */
		{"  - Entity: DWR\n", FORM_F_ENTITY, "DWR"},
		{"\xe2\x80\xa2 Provider: AT&T\n", FORM_F_PROVIDER, "AT&T"},
		{"1. Entity: DWR\n", FORM_F_ENTITY, "DWR"},
		/* a full-width colon */
		{"Entity\xef\xbc\x9a DWR\n", FORM_F_ENTITY, "DWR"},
	};
	run_field_cases(cases, ARRAY_LEN(cases), 0);
}

static void test_list_markers(void **state)
{
	(void)state;
	static const char *const marks[] = {
		"-", "*", "\xe2\x80\xa2", "\xc2\xb7", "o", "\xc2\xa7", "1.", "1)", "a.", "a)",
		"\xe2\x80\x93", "\xef\x82\xb7", "\xe2\x96\xaa",
	};
	for (size_t i = 0; i < ARRAY_LEN(marks); i++) {
		char *text = xasprintf("Services:\n    %s   2 x Ethernet at 1 Main St\n  %s 1 x Wave at "
				       "2 Main St\nCost Items:\n%s\tInstall: $5\n%s Service: $7\n",
				       marks[i], marks[i], marks[i], marks[i]);
		struct form f = {0};
		form_parse(text, &f);
		char *s = field_str(&f, FORM_F_SERVICES), *c = field_str(&f, FORM_F_COST_ITEMS);
		if (strcmp(s, "2|Ethernet|1 Main St;1|Wave|2 Main St;") != 0 ||
		    strcmp(c, "Install|500;Service|700;") != 0)
			fail_msg("marker \"%s\": %s / %s", marks[i], s, c);
		free(s);
		free(c);
		form_free(&f);
		free(text);
	}
}

static void test_service_shapes(void **state)
{
	(void)state;
	static const struct field_case cases[] = {
		/* TYPE, ADDRESS: the address found by its shape */
		{"Services:\n- 2 x 1 Gbps dedicated internet access, 1416 9th Street, Sacramento, CA 95814\n",
		 FORM_F_SERVICES, "2|1 Gbps dedicated internet access|1416 9th Street, Sacramento, CA 95814;"},
		{"Services:\n- 2 x Dedicated Internet, 1 Gbps, 1416 9th St., Sacramento\n",
		 FORM_F_SERVICES, "2|Dedicated Internet, 1 Gbps|1416 9th St., Sacramento;"},
		/* TYPE - ADDRESS, TYPE – ADDRESS, TYPE: ADDRESS */
		{"Services:\n- 1 x Broadband - 450 N Street, Sacramento\n", FORM_F_SERVICES,
		 "1|Broadband|450 N Street, Sacramento;"},
		{"Services:\n- 1 x Broadband \xe2\x80\x93 450 N Street\n", FORM_F_SERVICES,
		 "1|Broadband|450 N Street;"},
		{"Services:\n- 1 x Broadband: 450 N Street\n", FORM_F_SERVICES, "1|Broadband|450 N Street;"},
		/* TYPE at ADDRESS, @, |, ; and an inline Location: */
		{"Services:\n- 2x SD-WAN at 1 Capitol Mall\n", FORM_F_SERVICES, "2|SD-WAN|1 Capitol Mall;"},
		{"Services:\n- 2 X SD-WAN, Location: 1 Capitol Mall\n", FORM_F_SERVICES,
		 "2|SD-WAN|1 Capitol Mall;"},
		/* no separator at all */
		{"Services:\n- 2 x 100 Mbps internet 3500 Industrial Blvd, West Sacramento\n",
		 FORM_F_SERVICES, "2|100 Mbps internet|3500 Industrial Blvd, West Sacramento;"},
		/* the address on the next line, or on a Location:/Address:/Site: sub-line */
		{"Services:\n- 2 x 100 Mbps internet\n  3500 Industrial Blvd, West Sacramento, CA 95691\n",
		 FORM_F_SERVICES, "2|100 Mbps internet|3500 Industrial Blvd, West Sacramento, CA 95691;"},
		{"Services:\n- 2 x 100 Mbps internet\n  Location: 3500 Industrial Blvd\n"
		 "- 1 x 50 Mbps broadband\n  Site: 1416 9th Street\n", FORM_F_SERVICES,
		 "2|100 Mbps internet|3500 Industrial Blvd;1|50 Mbps broadband|1416 9th Street;"},
		{"Services:\n2 x 100 Mbps internet\nAddress: 3500 Industrial Blvd\n", FORM_F_SERVICES,
		 "2|100 Mbps internet|3500 Industrial Blvd;"},
		/* without markers: an address line continues the service above */
		{"Services:\n2 x 100 Mbps internet\n3500 Industrial Blvd\nSacramento, CA 95691\n"
		 "1 x Wave at 1 Main St\n", FORM_F_SERVICES,
		 "2|100 Mbps internet|3500 Industrial Blvd Sacramento, CA 95691;1|Wave|1 Main St;"},
		/* quantities: Qty 2, Qty: 2, two (2), (2), two, "2 circuits", x2 */
		{"Services:\n- Qty 2 SD-WAN at 1 Main St\n", FORM_F_SERVICES, "2|SD-WAN|1 Main St;"},
		{"Services:\n- Qty: 2 - SD-WAN at 1 Main St\n", FORM_F_SERVICES, "2|SD-WAN|1 Main St;"},
		{"Services:\n- two (2) Ethernet circuits at 1 Main St\n", FORM_F_SERVICES,
		 "2|Ethernet circuits|1 Main St;"},
		{"Services:\n- (3) MPLS ports at 1 Main St\n", FORM_F_SERVICES, "3|MPLS ports|1 Main St;"},
		{"Services:\n- Two 100 Mbps circuits at 1 Main St\n", FORM_F_SERVICES,
		 "2|100 Mbps circuits|1 Main St;"},
		{"Services:\n- 2 Ethernet circuits at 1 Main St\n", FORM_F_SERVICES,
		 "2|Ethernet circuits|1 Main St;"},
		{"Services:\n- Internet 100 Mbps, Qty: 4, 3321 Power Inn Road, Sacramento\n",
		 FORM_F_SERVICES, "4|Internet 100 Mbps|3321 Power Inn Road, Sacramento;"},
		{"Services:\n- Internet 100 Mbps x2, 3321 Power Inn Road\n", FORM_F_SERVICES,
		 "2|Internet 100 Mbps|3321 Power Inn Road;"},
		{"Services:\n- Dedicated Internet\n  Qty: 3\n  Location: 1 Main St\n", FORM_F_SERVICES,
		 "3|Dedicated Internet|1 Main St;"},
		/* the address first */
		{"Services:\n- 1416 9th Street, Sacramento, CA 95814 \xe2\x80\x93 2 x 100 Mbps internet\n",
		 FORM_F_SERVICES, "2|100 Mbps internet|1416 9th Street, Sacramento, CA 95814;"},
		/* a ZIP is an address shape too */
		{"Services:\n- 1 x Fiber, State Capitol, Sacramento, CA 95814\n", FORM_F_SERVICES,
		 "1|Fiber|State Capitol, Sacramento, CA 95814;"},
		/* numbered items: "Service 2:" */
		{"Service 1: 2 x Ethernet at 1 Main St\nService 2: 1 x Wave at 2 Main St\n",
		 FORM_F_SERVICES, "2|Ethernet|1 Main St;1|Wave|2 Main St;"},
		/* Service parts written as labels of their own */
		{"Service Type: Dedicated Internet\nQuantity: 2\nLocation: 1416 9th Street\n",
		 FORM_F_SERVICES, "2|Dedicated Internet|1416 9th Street;"},
		/* a lone Location is the address of the services without one */
		{"Location: 3500 Industrial Blvd\nServices:\n- 2 x 100 Mbps internet\n",
		 FORM_F_SERVICES, "2|100 Mbps internet|3500 Industrial Blvd;"},
		/* a bandwidth is no house number, AT&T is no " at " */
		{"Services:\n- 1 x AT&T 100 Mbps fiber at 12 G Street\n", FORM_F_SERVICES,
		 "1|AT&T 100 Mbps fiber|12 G Street;"},
	};
	run_field_cases(cases, ARRAY_LEN(cases), 1);
	/* what still lacks a part says so */
	static const struct field_case bad[] = {
		{"Services:\n- 2 x 100 Mbps internet, West Sacramento\n", FORM_F_SERVICES, "(null)"},
		{"Services:\n- Dedicated internet at 1 Main St\n", FORM_F_SERVICES, "(null)"},
		{"Services:\n- 100 Mbps internet at 1 Main St\n", FORM_F_SERVICES, "(null)"},
	};
	run_field_cases(bad, ARRAY_LEN(bad), 0);
	struct form f = {0};
	form_parse("Services:\n- 2 x 100 Mbps internet, West Sacramento\n"
		   "- 100 Mbps internet at 1 Main St\n", &f);
	char *p = field_problems(&f, FORM_F_SERVICES);
	assert_string_equal(p, "Service 1 has no street address.\nService 2 has no quantity.\n");
	free(p);
	int items = 0;
	for (size_t k = 0; k < f.n_problems; k++)
		if (strcmp(f.problems[k].field, FORM_F_SERVICES) == 0)
			assert_int_equal(f.problems[k].item, ++items);
	assert_int_equal(items, 2);
	form_free(&f);
}

static void test_cost_shapes(void **state)
{
	(void)state;
	static const struct field_case cases[] = {
		{"Cost Items:\n- $3,500.00 \xe2\x80\x93 installation\n- $94,060 for service\n",
		 FORM_F_COST_ITEMS, "installation|350000;service|9406000;"},
		{"Cost Items:\n- USD 3,500.00 - installation\n", FORM_F_COST_ITEMS, "installation|350000;"},
		{"Cost Items:\n- Installation: 3500.00 USD\n", FORM_F_COST_ITEMS, "Installation|350000;"},
		{"Cost Items:\n- Installation: $1,500.00 (one-time)\n", FORM_F_COST_ITEMS,
		 "Installation (one-time)|150000;"},
		{"Cost Items:\n- Service ($2,000/month x 36): $72,000\n", FORM_F_COST_ITEMS,
		 "Service ($2,000/month x 36)|7200000;"},
		{"Cost Items: Installation: $1,500; Service: $96,060\n", FORM_F_COST_ITEMS,
		 "Installation|150000;Service|9606000;"},
		{"Cost Items:\nOne-time:\nInstallation: $1,500\nRecurring:\nService: $96,060\n",
		 FORM_F_COST_ITEMS, "Installation|150000;Service|9606000;"},
		{"Cost Items:\nInstallation:\n$1,500\nMonthly service for\nthe warehouse: $96,060\n",
		 FORM_F_COST_ITEMS, "Installation|150000;Monthly service for the warehouse|9606000;"},
		/* a known label as a list item under Cost Items stays an item */
		{"Cost Items:\n- Circuits: $90,000\n- Installation: $7,560\n", FORM_F_COST_ITEMS,
		 "Circuits|9000000;Installation|756000;"},
	};
	run_field_cases(cases, ARRAY_LEN(cases), 1);
}

static void test_values(void **state)
{
	(void)state;
	static const struct field_case cases[] = {
		{"Reason Category: Availability \xe2\x80\x93 CGEN has no facilities at the site\n",
		 FORM_F_REASON_CATEGORY, "availability"},
		{"Reason Category: Features - CGEN has no managed SD-WAN option\n",
		 FORM_F_REASON_CATEGORY, "features"},
		{"Reason Category: Functional (no second carrier)\n", FORM_F_REASON_CATEGORY,
		 "functionality"},
		{"Reason Category: not available\n", FORM_F_REASON_CATEGORY, "availability"},
		{"Reason Category: FEATURE.\n", FORM_F_REASON_CATEGORY, "features"},
		/* the explanation is the reason when Reason is missing */
		{"Reason Category: Availability: CGEN has no fiber there\n", FORM_F_REASON,
		 "CGEN has no fiber there"},
		{"Contract Term: Two (2) years\n", FORM_F_CONTRACT_TERM, "Two (2) years"},
		{"Contract Term: 3 yrs\n", FORM_F_CONTRACT_TERM, "3 yrs"},
		{"Contract Term: 24 mo.\n", FORM_F_CONTRACT_TERM, "24 mo."},
		{"Contract Term: three years\n", FORM_F_CONTRACT_TERM, "three years"},
		{"Contract Term: 36-month agreement\n", FORM_F_CONTRACT_TERM, "36-month agreement"},
		{"Total Cost: $97,560\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Cost: 97560.00 USD\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Cost: USD 97,560.00\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Cost: $97,560.00 (36 months)\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Cost: approximately $97,560 over 36 months\n", FORM_F_TOTAL_COST, "9756000"},
		{"Total Cost: $97,560.00 total for the contract term\n", FORM_F_TOTAL_COST, "9756000"},
	};
	run_field_cases(cases, ARRAY_LEN(cases), 1);
	static const struct field_case bad[] = {
		{"Reason Category: Features/Functionality\n", FORM_F_REASON_CATEGORY, "(null)"},
		{"Reason Category: cost\n", FORM_F_REASON_CATEGORY, "(null)"},
		{"Contract Term: ongoing\n", FORM_F_CONTRACT_TERM, "(null)"},
		{"Total Cost: $2,710/month\n", FORM_F_TOTAL_COST, "(null)"},
		{"Total Cost: $2,710 per month\n", FORM_F_TOTAL_COST, "(null)"},
		{"Total Cost: $2,710 monthly\n", FORM_F_TOTAL_COST, "(null)"},
		{"Total Cost: $1,000 or $2,000\n", FORM_F_TOTAL_COST, "(null)"},
		{"Total Cost: TBD\n", FORM_F_TOTAL_COST, "(null)"},
	};
	run_field_cases(bad, ARRAY_LEN(bad), 0);
}

/* A complete form whose last field is Service Levels, then one tail. */
static const char form_head[] =
	"Entity: DWR\nServices:\n- 2 x 100 Mbps internet, 1416 9th Street, Sacramento\n"
	"Reason: no CGEN fiber\nReason Category: availability\nContract Term: 36 months\n"
	"Early Termination: none\nExtension Options: none\nTotal Cost: $5\nCost Items:\n"
	"- Service: $5\nProvider: Comcast Business\n";

static void test_signatures(void **state)
{
	(void)state;
	static const struct {
		const char *tail, *want;
	} cases[] = {
		{"Service Levels: 99.9%\n\nThanks,\nDana\n", "99.9%"},
		{"Service Levels: 99.9%\nThank you,\nMaria Garcia\nNetwork Engineer\n(916) 555-0199\n",
		 "99.9%"},
		{"Service Levels: 99.9%\nRegards, Dana Lee\n", "99.9%"},
		{"Service Levels: 99.9%\nBest,\nDana\n", "99.9%"},
		{"Service Levels: 99.9%\n\nV/r\nDana\n", "99.9%"},
		{"Service Levels: 99.9%\nThank you for your consideration.\n", "99.9%"},
		{"Service Levels: 99.9%\nPlease let me know if you need anything else.\n", "99.9%"},
		{"Service Levels: 99.9%\n-Dana\n", "99.9%"},
		{"Service Levels: 99.9%\n\nSent from my iPhone\n", "99.9%"},
		{"Service Levels: 99.9%\n-- \nDana Lee | DWR\n", "99.9%"},
		{"Service Levels: 99.9%\n\nDana Lee\nIT Manager | Network Services Section\n"
		 "California Department of Water Resources\n715 P Street, Sacramento, CA 95814 | "
		 "(916) 555-0142\ndana.lee@water.ca.gov\n", "99.9%"},
		{"Service Levels: 99.9%\nDana Lee\nDWR IT\n(916) 555-0142\n", "99.9%"},
		{"Service Levels: 99.9%\n\nDana Lee\nDWR IT\n", "99.9%"},
		{"Service Levels: 99.9%\n\nDana\n", "99.9%"},
		{"Service Levels: 99.9%\n\nCONFIDENTIALITY NOTICE: This communication and any "
		 "attachments may contain confidential information.\n", "99.9%"},
		{"Service Levels: 99.9%\n\nThis e-mail and any files transmitted with it are "
		 "intended solely for the addressee.\n", "99.9%"},
		{"Service Levels: 99.9%\n________________________________\nFrom: Bob\n", "99.9%"},
		/* what is no signature stays */
		{"Service Levels: 99.9%\n\nCredits of 10% per hour of outage.\n",
		 "99.9%\n\nCredits of 10% per hour of outage."},
		{"Service Levels: 99.9%\nPremium Support\n", "99.9%\nPremium Support"},
		{"Service Levels: see\n<https://vendor.example/sla>\n<sla@vendor.example>\n",
		 "see\n<https://vendor.example/sla>\n<sla@vendor.example>"},
		{"Service Levels: 99.9%\n\nNone\n", "99.9%\n\nNone"},
		{"Service Levels: thanks to the new router, 99.99%\n", "thanks to the new router, 99.99%"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *text = xasprintf("%s%s", form_head, cases[i].tail);
		struct form f = {0};
		form_parse(text, &f);
		char *got = field_str(&f, FORM_F_SERVICE_LEVELS);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, got);
		char *p = field_problems(&f, NULL);
		if (*p)
			fail_msg("case %zu: %s", i, p);
		free(p);
		free(got);
		form_free(&f);
		free(text);
	}
	/* A sign-off before the form does not end it: a greeting note. */
	struct form f = {0};
	char *text = xasprintf("Thanks in advance!\n\n%sThanks,\nDana\n", form_head);
	form_parse(text, &f);
	assert_int_equal(f.labels, 10);
	assert_string_equal(f.provider, "Comcast Business");
	form_free(&f);
	free(text);
	/* The provider, last and one line, loses a name block below it. */
	text = xasprintf("%s\nDana Lee\nDWR IT\n", form_head);
	form_parse(text, &f);
	assert_string_equal(f.provider, "Comcast Business");
	form_free(&f);
	free(text);
	text = xasprintf("%sDana Lee\nDWR IT\n(916) 555-0142\n", form_head);
	form_parse(text, &f);
	assert_string_equal(f.provider, "Comcast Business");
	form_free(&f);
	free(text);
}

static void test_unknown_labels(void **state)
{
	(void)state;
	static const struct {
		const char *text, *problems, *unread;
	} cases[] = {
		/* never glued to the field above; a soft problem beside real ones */
		{"Entity: DWR\nReason: slow\nContract Lenght: 36 months\n",
		 "~Unknown label \"Contract Lenght\" (did you mean Contract Term?).\n",
		 "- Contract Lenght: 36 months\n"},
		{"Entity: DWR\nReason: slow\nProject Code: 1234\n",
		 "~Unknown label \"Project Code\": its line was not read.\n", "- Project Code: 1234\n"},
		{"Entity: DWR\nReason: slow\nCircuit Locaton: 1 Main St\n",
		 "~Unknown label \"Circuit Locaton\" (did you mean Services?).\n",
		 "- Circuit Locaton: 1 Main St\n"},
		/* before the form, header and contact lines: not reported */
		{"Note: our request\nEntity: DWR\nPhone: 916\nFrom: Bob\nReason: slow\n", "", ""},
		/* marked or indented: part of the value */
		{"Entity: DWR\nReason: slow\n  Note: still slow\n- Also: yes\n", "", ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct form f = {0};
		form_parse(cases[i].text, &f);
		struct buf soft = {0};
		for (size_t k = 0; k < f.n_problems; k++)
			if (f.problems[k].soft)
				buf_addf(&soft, "~%s\n", f.problems[k].message);
		if (strcmp(soft.s ? soft.s : "", cases[i].problems) != 0)
			fail_msg("case %zu: problems \"%s\"", i, soft.s ? soft.s : "");
		buf_free(&soft);
		char *u = form_unread_text(&f);
		const char *body = strchr(u, '\n');
		if (strcmp(body ? body + 1 : u, cases[i].unread) != 0)
			fail_msg("case %zu: unread \"%s\"", i, u);
		free(u);
		form_free(&f);
	}
	/* Reason stays what it was, the unknown line not in it. */
	struct form f = {0};
	form_parse("Entity: DWR\nReason: slow\nProject Code: 1234\n", &f);
	assert_string_equal(f.reason, "slow");
	form_free(&f);
	/* A complete form with an unknown label has no problem at all. */
	char *text = xasprintf("%sService Levels: 99.9%%\nProject Code: 1234\n", form_head);
	form_parse(text, &f);
	assert_int_equal(f.n_problems, 0);
	assert_int_equal(f.n_unread, 1);
	assert_string_equal(f.service_levels, "99.9%");
	form_free(&f);
	free(text);
}

static void test_prefill(void **state)
{
	(void)state;
	struct form f = {0};
	form_parse("Entity: DWR\nServices:\n- 2 x 100 Mbps internet\n- 1 x fiber at 1 Main St\n"
		   "Reason: slow\nReason Category: cheaper\nContract Lenght: 36 months\n"
		   "Total Cost: lots\nCost Items:\n- a: $5\n- b: TBD\nProvider: P\n", &f);
	form_add_problem(&f, FORM_F_ENTITY, "Your address is not in DWR's domains.");
	form_add_problem(&f, "attachments", "Attachment 1 is empty.");
	char *p = form_prefill_text(&f);
	assert_string_equal(p,
		"Entity: DWR\n"
		"(!) Your address is not in DWR's domains.\n"
		"Services:\n"
		"- 2 x 100 Mbps internet\n"
		"(!) Service 1 has no street address.\n"
		"- 1 x fiber at 1 Main St\n"
		"Reason: slow\n"
		"Reason Category: cheaper\n"
		"(!) Reason Category must be features, functionality or availability.\n"
		"Contract Term: 36 months\n"
		"(!) Contract Term is missing; this was read from the line \"Contract Lenght: 36 "
		"months\": check it and send the form back.\n"
		"Early Termination:\n"
		"(!) Early Termination is missing.\n"
		"Extension Options:\n"
		"(!) Extension Options is missing.\n"
		"Total Cost: lots\n"
		"(!) Total Cost is not a money amount: \"lots\".\n"
		"Cost Items:\n"
		"- a: $5.00\n"
		"- b: TBD\n"
		"(!) Cost item 2 has no amount.\n"
		"Provider: P\n"
		"Vendor Documentation:\n"
		"Service Levels:\n"
		"(!) Attachment 1 is empty.\n");
	form_free(&f);
	/* Sent back as it is, the "(!)" lines are not read, the guess is. */
	form_parse(p, &f);
	char *pr = field_problems(&f, NULL);
	assert_string_equal(pr, "Service 1 has no street address.\n"
				"Reason Category must be features, functionality or availability.\n"
				"Early Termination is missing.\n"
				"Extension Options is missing.\n"
				"Total Cost is not a money amount: \"lots\".\n"
				"Cost item 2 has no amount.\n");
	assert_string_equal(f.contract_term, "36 months");
	free(pr);
	form_free(&f);
	free(p);

	/* A complete form survives the round trip unchanged. */
	char *text = request(-1, -1, NULL);
	form_parse(text, &f);
	char *j1 = form_fields_json(&f);
	p = form_prefill_text(&f);
	form_free(&f);
	form_parse(p, &f);
	char *j2 = form_fields_json(&f);
	assert_string_equal(j1, j2);
	assert_int_equal(f.n_problems, 0);
	free(j1);
	free(j2);
	free(p);
	form_free(&f);
	free(text);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A megabyte line of garbage in every kind of value parses in linear time
 * (seconds at most even under the sanitizers; a pattern that backtracks
 * catastrophically would take hours). */
static void test_garbage(void **state)
{
	(void)state;
	static const char *const fills[] = {"a", " ", "1", "1,", "<a", "$ ", "x 1 ", " at", "9 x "};
	size_t n = 1 << 20;
	for (size_t k = 0; k < sizeof fills / sizeof fills[0]; k++) {
		struct buf g = {0};
		while (g.len < n)
			buf_adds(&g, fills[k]);
		char *text = xasprintf("Entity: %s\nServices:\n- %s\nReason Category: %s\n"
				       "Contract Term: %s\nTotal Cost: %s\nCost Items:\n- %s\n"
				       "Provider: %s9\n",
				       g.s, g.s, g.s, g.s, g.s, g.s, g.s);
		struct form f = {0};
		double t0 = now_seconds();
		form_parse(text, &f);
		double dt = now_seconds() - t0;
		if (getenv("FORM_TIMES"))
			fprintf(stderr, "fill \"%s\": %.3f s\n", fills[k], dt);
		if (dt > 5.0)
			fail_msg("fill \"%s\": %.2f s", fills[k], dt);
		assert_int_equal(f.labels, 7);
		assert_int_equal(f.n_services, 0);
		assert_false(f.has_total_cost);
		assert_null(f.contract_term);
		assert_null(f.reason_category);
		form_free(&f);
		free(text);
		buf_free(&g);
	}
}

/* templates/request-form.txt without its Subject header. Allocated; NULL
 * (and the test skipped) when top_srcdir is not set. */
static char *template_body(void)
{
	const char *top = getenv("top_srcdir");
	if (!top || !*top)
		return NULL;
	char *path = xasprintf("%s/templates/request-form.txt", top);
	FILE *fp = fopen(path, "r");
	free(path);
	assert_non_null(fp);
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	assert_non_null(b.s);
	static const char subject[] = "Subject: CGEN exemption request form\n\n";
	assert_true(strncmp(b.s, subject, strlen(subject)) == 0);
	char *body = xstrdup(b.s + strlen(subject));
	buf_free(&b);
	return body;
}

static void test_template(void **state)
{
	(void)state;
	char *body = template_body();
	if (!body)
		skip();
	struct form f = {0};
	form_parse(body, &f);
	assert_int_equal(f.labels, 13);
	assert_problems(&f,
		"entity|Entity is missing.\n"
		"services|Services is missing: list each service as "
		"\"- <quantity> x <type> at <street address>\".\n"
		"reason|Reason is missing.\n"
		"reason_category|Reason Category is missing.\n"
		"contract_term|Contract Term is missing.\n"
		"early_termination|Early Termination is missing.\n"
		"extension_options|Extension Options is missing.\n"
		"total_cost|Total Cost is missing.\n"
		"cost_items|Cost Items is missing.\n"
		"provider|Provider is missing.\n");
	form_free(&f);

	/* Fill it in: each line holding a <hint> becomes its label's answer. */
	static const struct {
		const char *label, *answer;
	} answers[] = {
		{"Entity", "CDT"},
		{"Services", "- 1 x 1 Gbps Ethernet at 10860 Gold Center Drive, Rancho Cordova"},
		{"Reason", "CGEN has no circuit at this site."},
		{"Reason Category", "availability"},
		{"Contract Term", "36 months"},
		{"Early Termination", "none"},
		{"Extension Options", "none"},
		{"Total Cost", "$1,200.00"},
		{"Cost Items", "- Circuit: $1,000\n- Installation: $200"},
		{"Provider", "Comcast Business"},
		{"Vendor Documentation", "quote attached"},
		{"Service Levels", "99.99%"},
		{"Renews", "CGEN-2025-0012"},
	};
	struct buf out = {0};
	size_t cur = ARRAY_LEN(answers), used = 0;
	for (char *line = body; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int labelled = 0;
		for (size_t k = 0; k < ARRAY_LEN(answers); k++) {
			size_t n = strlen(answers[k].label);
			if (strncmp(line, answers[k].label, n) == 0 && line[n] == ':')
				cur = k, labelled = 1;
		}
		if (!memchr(line, '<', len) || cur == ARRAY_LEN(answers)) {
			buf_add(&out, line, len);
		} else {
			if (labelled)
				buf_addf(&out, "%s: ", answers[cur].label);
			buf_adds(&out, answers[cur].answer);
			used++;
		}
		buf_addc(&out, '\n');
		line = nl ? nl + 1 : line + len;
	}
	assert_int_equal(used, 13);
	/* The template's example of a request mail (its "  | " lines) is a
	 * complete request, signature left out. */
	struct buf ex = {0};
	for (const char *p = body; (p = strstr(p, "\n  |")) != NULL;) {
		p += 4;
		p += *p == ' ';
		size_t n = strcspn(p, "\n");
		buf_add(&ex, p, n);
		buf_addc(&ex, '\n');
	}
	assert_non_null(ex.s);
	form_parse(ex.s, &f);
	assert_int_equal(f.labels, 10);
	assert_problems(&f, "");
	assert_string_equal(f.provider, "Comcast Business");
	form_free(&f);
	buf_free(&ex);
	form_parse(out.s, &f);
	assert_int_equal(f.labels, 13);
	assert_problems(&f, "");
	assert_int_equal(f.total_cost, 120000);
	assert_int_equal(f.n_cost_items, 2);
	assert_string_equal(f.service_levels, "99.99%");
	assert_string_equal(f.renews, "CGEN-2025-0012");
	form_free(&f);
	buf_free(&out);
	free(body);
}

/* Renews: (optional) names the exemption a request renews; as a label it
 * ends the field before it, and it reaches the JSON and the summary. */
static void test_renews(void **state)
{
	(void)state;
	char *text = request(-1, (int)N_BLOCKS - 1,
			     "Service Levels: 99.9% availability\n\nRenewal of:  [CGEN-2025-0012]\n"
			     "the 2025 exemption\n");
	struct form f = {0};
	form_parse(text, &f);
	assert_problems(&f, "");
	assert_string_equal(f.service_levels, "99.9% availability");
	assert_string_equal(f.renews, "[CGEN-2025-0012]\nthe 2025 exemption");
	char *js = form_fields_json(&f);
	assert_non_null(strstr(js, "\"renews\":\"[CGEN-2025-0012]\\nthe 2025 exemption\"}"));
	char *sum = form_summary_text(&f);
	assert_non_null(strstr(sum, "Renews:\n  [CGEN-2025-0012]\n  the 2025 exemption\n"));
	free(sum);
	free(js);
	form_free(&f);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_services_variants),
		cmocka_unit_test(test_cost_variants),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_is_request),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_synonyms),
		cmocka_unit_test(test_list_markers),
		cmocka_unit_test(test_service_shapes),
		cmocka_unit_test(test_cost_shapes),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_unknown_labels),
		cmocka_unit_test(test_prefill),
		cmocka_unit_test(test_renews),
	};
	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
