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
		{4, "Contract Term: three years\n",
		 "contract_term|Contract Term must give a length, e.g. 36 months.\n"},
		{4, "Contract Term:\n", "contract_term|Contract Term is missing.\n"},
		{7, "Total Cost: $97,560.00 (three years)\n",
		 "total_cost|Total Cost is not a money amount: \"$97,560.00 (three years)\".\n"},
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
		{"Entities: A\n> Reason: R\nThe reason: X\nReasons: Y\n", 0, NULL, NULL, NULL, NULL,
		 NULL},
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

	form_parse("Reason: a\n\n\n\nb\nProvider: P\n\nThanks,\nJane\n"
		   "Vendor Documentation: see <quote.pdf>\n<https://x.example/q>\n"
		   "<optional, a hint> and text\n<bob@x.example>\n", &f);
	s = form_summary_text(&f);
	assert_string_equal(s, "Reason:\n  a\n\n  b\nProvider: P\nVendor Documentation:\n"
			       "  see <quote.pdf>\n  <https://x.example/q>\n  <bob@x.example>\n");
	free(s);
	form_free(&f);
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
		cmocka_unit_test(test_renews),
	};
	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
