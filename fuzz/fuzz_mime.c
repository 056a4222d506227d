/* fuzz_mime.c: libFuzzer harness for the inbound path of a mail, as the agent
 * runs it: message_parse, the de-duplication key, visible_text of the body,
 * then command_parse of the visible text and request_read (the form of the
 * visible text, a forwarded or attached message, a text or .docx
 * attachment) and the prefilled form. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "form.h"
#include "log.h"
#include "message.h"
#include "request.h"
#include "visible.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_mime", 1, LOGL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that a read past the end is caught. */
	char *raw = malloc(size ? size : 1);
	struct message m;
	struct command cmd;
	struct form f;

	if (!raw)
		return 0;
	memcpy(raw, data, size);
	memset(&m, 0, sizeof(m));
	if (message_parse(raw, size, &m) == 0) {
		char *id = message_dedup_id(&m, raw, size);
		char *vis = visible_text(m.text);

		command_read(&m, vis, &cmd);
		(void)command_name(cmd.word);
		/* message.h: no sender means a reason, a sender means none */
		if ((m.from_addr == NULL) != (m.no_sender != NULL) || (m.text_enclosed && cmd.word != CMD_NONE))
			abort();
		command_free(&cmd);
		struct request_read rr;

		memset(&f, 0, sizeof(f));
		request_read(raw, size, &m, vis, "cgen@cdt.ca.gov", 1, &f, &rr);
		(void)form_is_request(&f);
		free(form_prefill_text(&f));
		form_free(&f);
		request_read_free(&rr);
		free(vis);
		free(id);
	}
	message_free(&m);
	free(raw);
	return 0;
}
