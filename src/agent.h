/* agent.h: the pipeline of DESIGN.md section 8, shared by cgend and cgenctl.
 *
 * source -> message -> intent -> engine -> store (one transaction per batch)
 * -> mark the mails processed -> outbox -> sender. */
#ifndef CGEN_AGENT_H
#define CGEN_AGENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "conf.h"
#include "directory.h"
#include "engine.h"
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
	char *form_text;         /* the blank request form, rendered once */
	size_t batch;            /* mails per transaction */
	struct calendar cal;     /* [workflow] holidays_file */
	/* Safe by default (schema version 5): */
	volatile sig_atomic_t *stop; /* non-zero (SIGTERM): a run ends after the mail in
				        hand; NULL: never */
	int store_down;          /* the last commit failed in a way that may pass (disk
				    full): no new mail is taken until store_probe works */
	struct agent_result *unrecorded; /* sends done whose results could not be
				    committed yet (never sent again meanwhile) */
	size_t n_unrecorded;
	/* The last agent_flush_outbox round: mails it could not send (temporary
	 * or permanent failures) and the last error (allocated, or NULL). */
	size_t send_failures;
	char *send_error;
	/* What the mails of one case share while one mail (or one tick) is
	 * handled: its headline, request table and documents, rendered once
	 * (agent.c, struct case_cache). */
	struct case_cache *cache;
	int sendlog;             /* the send log's descriptor + 1 (0: not open; sendlog.h) */
	int sendlog_warned;      /* it could not be opened: said once */
};

/* The outcome of one send, kept while the store cannot commit it. */
struct agent_result {
	int64_t id;
	int result;              /* enum sender_result, or -1: not tried */
	char *error;
	int attempts;
	char *case_id;
	char *rcpt;
	struct strv keys;        /* reply keys the mail carries, removed from the stored
				    copy once it is sent */
};

/* The templates the engine and the agent use; all must exist. */
extern const char *const agent_templates[];

/* Opens the store, loads templates and secrets. With mail != 0 also opens the
 * mailbox source and the sender. Returns 0, or -1 with *err allocated (the
 * agent is then closed). */
int agent_open(struct agent *a, const struct conf *cfg, int mail, char **err);
/* agent_open with the store opened as store_flags say (STORE_OPEN_*: cgenctl's
 * read-only commands pass STORE_OPEN_RDONLY; agent_open passes CREATE |
 * MIGRATE). Returns 0, -1 (configuration: a missing store, bad templates,
 * secrets...) or -2 (may pass by itself: disk full, the IMAP server cannot be
 * reached), *err allocated on failure. */
int agent_open_flags(struct agent *a, const struct conf *cfg, int mail, unsigned store_flags,
		     char **err);
void agent_close(struct agent *a);

/* At daemon start, before the first run: sends that a crash (or a store that
 * could not commit) left between "sending" and their result are settled:
 * what the sender holds (file:) is marked sent, the rest goes out again
 * (SMTP cannot tell: same Message-ID, an event says so); with a file: sender
 * the next outbox id is made greater than any it holds (after a restore).
 * Returns 0, or -1 on a store error (logged). */
int agent_reconcile(struct agent *a, time_t now);

/* Commits the results held in a->unrecorded. 0 when none is left, -1 when
 * the store still cannot commit (a->store_down stays set). */
int agent_record_results(struct agent *a, time_t now);

/* Processes every waiting mail in batches (each batch one transaction, then
 * marked processed on the source). *handled counts the mails handled. Returns 0,
 * or -1 after a store or source error (logged; nothing half-written). */
int agent_run_inbox(struct agent *a, time_t now, size_t *handled);

/* Handles one raw mail inside the caller's transaction. Returns 0, 1 when the
 * mail is not a mail at all and must be quarantined, or -1 on a store error. */
int agent_handle_raw(struct agent *a, const char *raw, size_t len, const char *ref, time_t now);

/* Handles the mail of operator queue entry queue_id again (after the
 * directory was fixed, say), in one transaction, and resolves the entry; its
 * answers are queued in the outbox like any other. Returns 0, 1 when there is
 * no such open entry (*err says so), -1 on a store error (*err allocated). */
int agent_reprocess(struct agent *a, int64_t queue_id, time_t now, char **err);

/* Sends what the outbox holds and is due. *sent counts the mails accepted.
 * Returns 0, or -1 when the sender cannot be used at all. */
int agent_flush_outbox(struct agent *a, time_t now, size_t *sent);

/* The clock's pass (DESIGN.md section 5): reminders and overdue notices for
 * every open case at now, stored with their events and outbox rows in one
 * transaction. *reminded counts the cases that changed. Returns 0, or -1 on a
 * store error (logged; nothing half-written). */
int agent_tick(struct agent *a, time_t now, size_t *reminded);

/* 1 when the CDT digest is due at now (calendar_digest_due: at or after
 * digest_at local time, none sent this local day, the record started before
 * digest_at that day), 0 when not, -1 on a store error. */
int agent_digest_due(struct agent *a, time_t now);

/* The CDT digest at now. print_only: its text is appended to out (may be NULL
 * otherwise) and nothing is sent or recorded. Else, in one transaction: when
 * no digest was recorded for the local day of now, one mail (text and HTML)
 * per CDT address and, with approver_digest, one mail per approver with more
 * than one case waiting, go to the outbox, and the day is recorded with a
 * "digest" event; out (when not NULL) gets a one-line summary. Returns 0 when
 * built (and sent), 1 when the day already had its digest (nothing done), -1
 * on a store error. */
int agent_digest(struct agent *a, time_t now, int print_only, struct buf *out);

/* ---- an operator's work (cgenctl); mails go out with cgend's next pass ---- */

/* engine_operator on case_id in one transaction. For REASSIGN of aio or cio
 * the new address is stored for the case first (in->old_addr is filled in
 * here); for REOPEN with in->state == ST_RECEIVED the case returns to the
 * state it was in before it closed. Returns 0; 1 when there is no such case
 * or the act is refused (*err says why); -1 on a store error (*err). */
int agent_operator(struct agent *a, const char *case_id, struct engine_op_in *in, time_t now,
		   char **err);

/* Queues again the mail(s) of case_id queued at its latest moment (only
 * those to addr when addr is not NULL), with a "resent" event naming the
 * operator. *count receives how many. 0, 1 (no case, nothing to resend: *err)
 * or -1 (store error: *err). */
int agent_resend(struct agent *a, const char *case_id, const char *addr, const char *by,
		 const char *reason, time_t now, size_t *count, char **err);

/* outbox drop ID: the mail is never sent; an "outbox_dropped" event names the
 * operator and the reason on its case. 0, 1 (no such mail, or sent or dropped
 * already: *err) or -1 (*err). */
int agent_outbox_drop(struct agent *a, int64_t id, const char *by, const char *reason, time_t now,
		      char **err);

/* Mails that waited in the outbox longer than [smtp] max_queue_lifetime fail
 * with a "send_expired" event on their case (the CDT digest lists it), in one
 * transaction. *expired counts them. 0, or -1 on a store error (logged). */
int agent_expire_outbox(struct agent *a, time_t now, size_t *expired);

#endif
