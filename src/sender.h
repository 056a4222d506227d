/* sender.h: where outgoing mail goes. One table of functions per backend
 * (file:PATH now, SMTP later). */
#ifndef CGEN_SENDER_H
#define CGEN_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct conf;

enum sender_result { SENDER_OK = 0, SENDER_TEMPFAIL = 1, SENDER_PERMFAIL = 2 };

struct sender_ops {
	const char *name;
	int (*open)(const struct conf *cfg, void **state, char **err);
	/* Sends one message. Returns a sender_result; on failure *err is allocated.
	 * env_from may be NULL or "" (null sender); rcpts holds at least one
	 * address. */
	int (*send)(void *state, int64_t outbox_id, const char *env_from,
		    const struct strv *rcpts, const char *data, size_t len, char **err);
	void (*close)(void *state);
	/* Optional (NULL when the backend cannot tell, as SMTP): 1 when the mail
	 * of outbox_id was handed over whole before (file: PATH/new/<id>.eml
	 * exists with len bytes of data after its envelope lines), 0 when not,
	 * -1 on error. Used at start for sends a crash left in doubt. */
	int (*was_sent)(void *state, int64_t outbox_id, size_t len);
	/* Optional: the highest outbox id the backend holds a mail of (file: the
	 * largest N of PATH/new/N.eml), 0 when none. After a restore the store's
	 * next outbox id is made greater, so that no file is overwritten. */
	int64_t (*last_id)(void *state);
	/* For `cgend --check-config --connect` (may be NULL): connects and logs
	 * in as a send would, sending nothing. 0, or -1 with *err allocated. */
	int (*check)(void *state, char **err);
};

/* file:PATH: writes PATH/tmp/<id>.eml (X-Envelope-From, X-Envelope-To lines,
 * then the exact message), fsync, rename to PATH/new/<id>.eml, fsync PATH/new.
 * open creates PATH, PATH/tmp and PATH/new when missing (the parent must exist).
 * send: SENDER_PERMFAIL for no recipient or an address holding a control
 * character, '<' or '>'; SENDER_TEMPFAIL when writing fails. */
extern const struct sender_ops sender_file;

/* smtp://, smtps:// (libcurl): see sender_smtp.c. */
extern const struct sender_ops sender_smtp;

const struct sender_ops *sender_for(const struct conf *cfg);

#endif
