/* fuzz_visible.c: libFuzzer harness for the visible-part reader: visible_text,
 * then command_parse of its result, as the agent does with every body, and
 * visible_signature_at and command_parse_from with a sender's name. The
 * result is checked against visible.h. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "log.h"
#include "visible.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_visible", 1, LOGL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *vis;
	struct command cmd;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	vis = visible_text(text);
	/* visible.h: LF line ends, trailing blank lines removed. */
	if (strstr(vis, "\r\n") || (*vis && vis[strlen(vis) - 1] == '\n'))
		abort();
	command_parse(vis, &cmd);
	command_free(&cmd);
	/* The signature starts at a line start inside the text. */
	size_t sig = visible_signature_at(vis, "Ana Ruiz", "ana.ruiz@water.ca.gov"), len = strlen(vis);
	if (sig > len || (sig > 0 && sig < len && vis[sig - 1] != '\n'))
		abort();
	command_parse_from(vis, "Wu, Chris@DWR", "cio@water.ca.gov", &cmd);
	command_free(&cmd);
	free(vis);
	free(text);
	return 0;
}
