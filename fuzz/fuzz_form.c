/* fuzz_form.c: libFuzzer harness for the request form: form_parse, then every
 * rendering the engine stores or sends (fields and problems as JSON, problems
 * and summary as text), and the money helpers on the same bytes. */
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

static void render(const struct form *f)
{
	free(form_fields_json(f));
	free(form_problems_json(f));
	free(form_problems_text(f));
	free(form_summary_text(f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct form f;
	long long cents;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&f, 0, sizeof(f));
	form_parse(text, &f);
	(void)form_is_request(&f);
	render(&f);
	form_add_problem(&f, FORM_F_ENTITY, "Entity %s is not in the directory.",
			 f.entity ? f.entity : "(none)");
	render(&f);
	form_free(&f);

	if (size <= 64 && money_parse(text, &cents) == 0)
		free(money_format(cents));
	free(text);
	return 0;
}
