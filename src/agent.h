/* agent.h: the pipeline of DESIGN.md section 8, shared by cgend and cgenctl.
 *
 * source -> message -> intent -> engine -> store (one transaction per batch)
 * -> mark the mails processed -> outbox -> sender. */
#ifndef CGEN_AGENT_H
#define CGEN_AGENT_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "directory.h"
#include "sender.h"
#include "source.h"
#include "store.h"
#include "util.h"

struct templates;

struct agent {
	const struct conf *cfg;
	struct store *st;
	struct templates *tpl;
	struct strv secrets;
	const struct source_ops *src;
	void *src_state;
	const struct sender_ops *snd;
	void *snd_state;
	struct directory dir;
	size_t batch;            /* mails per transaction */
};

/* The templates the engine and the agent use; all must exist. */
extern const char *const agent_templates[];

/* Opens the store, loads templates and secrets. With mail != 0 also opens the
 * mailbox source and the sender. Returns 0, or -1 with *err allocated (the
 * agent is then closed). */
int agent_open(struct agent *a, const struct conf *cfg, int mail, char **err);
void agent_close(struct agent *a);

/* Processes every waiting mail in batches (each batch one transaction, then
 * marked processed on the source). *handled counts the mails handled. Returns 0,
 * or -1 after a store or source error (logged; nothing half-written). */
int agent_run_inbox(struct agent *a, time_t now, size_t *handled);

/* Handles one raw mail inside the caller's transaction. Returns 0, 1 when the
 * mail is not a mail at all and must be quarantined, or -1 on a store error. */
int agent_handle_raw(struct agent *a, const char *raw, size_t len, const char *ref, time_t now);

/* Sends what the outbox holds and is due. *sent counts the mails accepted.
 * Returns 0, or -1 when the sender cannot be used at all. */
int agent_flush_outbox(struct agent *a, time_t now, size_t *sent);

#endif
