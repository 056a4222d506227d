/* fuzz_command.c: libFuzzer harness for the command grammar: command_parse of
 * the input as visible text, with the invariants of command.h checked. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_command", 1, LOGL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct command cmd;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	command_parse(text, &cmd);
	/* command.h: no word means no argument; a word always has one; an
	 * ambiguous line has no word. */
	if ((cmd.word == CMD_NONE) != (cmd.argument == NULL) ||
	    (cmd.ambiguous && cmd.word != CMD_NONE) ||
	    (cmd.word != CMD_NONE) != (command_name(cmd.word) != NULL))
		abort();
	/* A recommendation always carries its verdict first. */
	if (cmd.word == CMD_RECOMMEND && strncmp(cmd.argument, "APPROVE", 7) != 0 &&
	    strncmp(cmd.argument, "DENY", 4) != 0)
		abort();
	/* With a sender's name the argument can only be shorter. */
	struct command named;
	command_parse_from(text, "Ruiz, Ana@DWR", "aio@water.ca.gov", &named);
	if (named.word != cmd.word || named.ambiguous != cmd.ambiguous ||
	    (cmd.argument && strlen(named.argument) > strlen(cmd.argument)))
		abort();
	command_free(&named);
	command_free(&cmd);
	free(text);
	return 0;
}
