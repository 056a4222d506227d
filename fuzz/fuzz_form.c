/* fuzz_form.c: libFuzzer harness for the request form: form_parse, then every
 * rendering the engine stores or sends (fields and problems as JSON, problems
 * and summary as text, the prefilled form, parsed again), and the money
 * helpers on the same bytes; the values are checked against form.h. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_form", 1, LOGL_ERR);
	return 0;
}

/* The promises of form.h about parsed values. */
static void check(const struct form *f)
{
	const char *rc = f->reason_category;

	for (size_t i = 0; i < f->n_services; i++)
		if (f->services[i].quantity < 1 || !f->services[i].type ||
		    !f->services[i].address)
			abort();
	for (size_t i = 0; i < f->n_cost_items; i++)
		if (!f->cost_items[i].item)
			abort();
	if (rc && strcmp(rc, "features") != 0 && strcmp(rc, "functionality") != 0 &&
	    strcmp(rc, "availability") != 0)
		abort();
	for (size_t i = 0; i < f->n_problems; i++)
		if (!f->problems[i].field || !f->problems[i].message)
			abort();
}

static void render(const struct form *f)
{
	free(form_fields_json(f));
	free(form_problems_json(f));
	free(form_problems_text(f));
	free(form_summary_text(f));
	free(form_unread_text(f));
}

/* The prefilled form renders, and parses again (inputs of fuzzing size:
 * a large reproducer runs once, in bounded time). */
static void prefill(const struct form *f, int reparse)
{
	char *p = form_prefill_text(f);
	struct form again;

	for (size_t i = 0; i < f->n_problems; i++)
		if (f->problems[i].item < 0)
			abort();
	if (reparse) {
		memset(&again, 0, sizeof(again));
		form_parse(p, &again);
		check(&again);
		form_free(&again);
	}
	free(p);
}

/* money_format writes what money_parse reads back. */
static void money(const char *s)
{
	long long cents, again;
	char *text;

	if (money_parse(s, &cents) != 0)
		return;
	if (cents < 0)
		abort();
	text = money_format(cents);
	if (money_parse(text, &again) != 0 || again != cents)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct form f;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&f, 0, sizeof(f));
	form_parse(text, &f);
	(void)form_is_request(&f);
	check(&f);
	render(&f);
	form_add_problem(&f, FORM_F_ENTITY, "Entity %s is not in the directory.",
			 f.entity ? f.entity : "(none)");
	render(&f);
	prefill(&f, size <= 65536);
	form_free(&f);

	if (size <= 64)
		money(text);
	free(text);
	return 0;
}
