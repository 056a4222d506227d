/* engine.h: the case engine of DESIGN.md section 3, a pure function.
 *
 * (case, what one mail says) -> (new case, events, mails to send, queue entry).
 * No socket, no SQLite, no clock: everything it needs is in its arguments, so
 * every transition is unit-tested alone. The caller (agent.c) found the case,
 * looked the reply key up and checked its HMAC; the engine decides whether the
 * sender may do what the mail asks. */
#ifndef CGEN_ENGINE_H
#define CGEN_ENGINE_H

#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "case.h"
#include "command.h"
#include "directory.h"
#include "form.h"
#include "message.h"
#include "util.h"

struct engine_env {
	const struct directory *dir;
	const struct strv *cdt;      /* CDT reviewer addresses, lowercase */
	const char *cto;             /* lowercase */
	const char *agent_addr;      /* our own address, lowercase */
	time_t now;
	const char *next_case_id;    /* the id a new case takes ("CGEN-2026-0007") */
	/* Safe by default (schema version 5): */
	int self_approval_refuse;    /* [workflow] self_approval = refuse (else flag) */
	const struct strv *case_open_full; /* codes of the entities that reached
					      [security] case_open_limit this hour (may be NULL) */
};

/* A reply key found in the mail, known to the store and whose HMAC checked. */
struct engine_key {
	const char *case_id;
	int step;
	enum role role;
	const char *addressee;
};

struct engine_in {
	const char *from;            /* bare lowercase From, NULL when none or several */
	const char *from_name;       /* display name or NULL */
	const char *subject;         /* decoded */
	const char *message_id;      /* inbound Message-ID (for In-Reply-To), may be NULL */
	enum msg_kind kind;          /* automatic mail is never answered */
	const char *kind_reason;
	const char *visible;         /* visible text (never NULL) */
	const struct command *cmd;
	const struct form *form;     /* form parsed from the visible text */
	const struct engine_key *key;/* NULL when no valid key was found */
	const char *tag_case;        /* case id from the subject tag, or NULL */
	int n_att;                   /* attachments in the mail */
	int own_address;             /* From is one of the agent's own addresses */
	int rate_limited;            /* From (or the case) already had its replies this hour */
	const char *auth_failed;     /* require_auth_results is on and the sender is not
				        authenticated: why (NULL when it passed or is off) */
	const char *unreadable;      /* the mail cannot be read (encrypted, TNEF): why, or NULL */
	int answer_limited;          /* the hour's answers to mail that opened no case
				        ([security] answer_limit) are used up */
	const struct strv *approvers;/* who already approved the case (actors of its
				        "approved" events), may be NULL */
	const char *form_note;       /* where the form was read when not in the visible text
				        (one sentence, for the acknowledgment), or NULL */
	int forwarded;               /* the mail forwards a message (request.h) */
	const char *no_sender;       /* from is NULL: why ("more than one From header"), or NULL */
	const struct case_rec *open_cases; /* every open case, for HELP and for STATUS without a
					      case (may be NULL: then none are listed) */
	size_t n_open_cases;
	const struct case_rec *renews; /* the case the form's Renews: field names, as the
					  caller found it (NULL: no such field, no case id
					  in it, or no case with that id) */
};

/* One mail to send: one recipient, rendered from template tmpl. */
struct engine_mail {
	char *tmpl;
	char *to;
	enum role role;              /* addressee's role in the case (ROLE_NONE: none) */
	int keyed;                   /* carries the reply key of (case, step, role, to) */
	int answer;                  /* 1: answers the inbound mail (auto-replied) */
	struct strv vars;            /* name, value, name, value ... */
	int caseless;                /* an answer to someone who is no party of a case
				        (counts against [security] answer_limit) */
	char *key_addressee;         /* keyed: the addressee the key is made for, when not
				        `to` (the key of the step a refusal answers, so that
				        the answer carries that very key); NULL: `to` */
	int attach;                  /* ENGINE_ATTACH_*: documents that go with the mail */
};

/* Documents attached to a mail (up to [smtp] max_attachments_size in all). */
enum {
	ENGINE_ATTACH_NONE = 0,
	ENGINE_ATTACH_CASE,          /* every document the requester sent on the case */
	ENGINE_ATTACH_MAIL,          /* the attachments of the inbound mail (an INFO answer) */
};

struct engine_event {
	char *kind, *actor, *detail;
};

struct engine_out {
	int has_case;                /* 1: c holds the case after the mail */
	int created;                 /* the mail opened the case */
	int changed;                 /* case must be stored */
	struct case_rec c;
	const char *mail_kind;       /* "request" | "reply" | "auto-reply" | "bounce" |
				        "complaint" | "other" (static) */
	struct engine_event *events;
	size_t n_events;
	struct engine_mail *mails;
	size_t n_mails;
	char *queue_reason;          /* non-NULL: put the mail in the operator queue */
};

/* Handles one mail. c is the case the mail refers to (NULL when none was
 * found); *out is overwritten and must be freed with engine_out_free.
 *
 * A refusal or a "not understood" answer to a mail that carried a valid key
 * of the case's current step, from a holder of the key's role, carries that
 * same key (keyed, role of the key, key_addressee): replying APPROVE to it
 * works. Every mail that did not do what its sender wanted gets a queue
 * entry: refused commands ("refused: ..."), replies not understood ("not
 * understood: ..."), unreadable mail, and mail that looks like a request
 * (a form label, or "CGEN" or "exemption" in its subject or text) but is
 * none ("not recognised as a request: ..."). HELP, and STATUS without a
 * case, answer by role (template "help-role" or "status-list"): CDT gets
 * its commands and every open case, the CTO the cases waiting on it, an
 * AIO or CIO (or delegate) of the directory the open cases of their
 * entities, a requester their own open cases; anyone else the plain help. */
void engine_handle(const struct engine_env *env, const struct case_rec *c,
		   const struct engine_in *in, struct engine_out *out);
void engine_out_free(struct engine_out *out);

/* The clock's numbers (DESIGN.md section 5, [workflow] of the config). */
struct engine_timing {
	const struct calendar *cal;  /* business days and holidays */
	int remind_after;            /* business days, >= 1 */
	int max_reminders;           /* >= 0 */
	/* Expiry notices of granted exemptions ([workflow] expiry_notice): days
	 * before the end, largest first (may be empty), sent at notice_hour:
	 * notice_min local time ([workflow] digest_at). */
	const int *expiry_notice;
	size_t n_expiry_notice;
	int notice_hour, notice_min;
};

/* The end of the k-th remind_after period (k >= 1) of c's current state:
 * k * remind_after business days after c->state_since. Reminder k is due at
 * engine_deadline(k) for k = 1..max_reminders; the case is overdue at
 * engine_deadline(max_reminders + 1). */
time_t engine_deadline(const struct case_rec *c, const struct engine_timing *t, int k);

/* What the clock does to one case at env->now (env->next_case_id unused).
 * For an open case that waits on someone and is not yet overdue: once the
 * overdue deadline passed, c->overdue = 1, an "overdue" event and one
 * "overdue" mail to each CDT address (keyed, role cdt); otherwise, when more
 * reminder deadlines passed than c->reminders counts, one "reminder" mail to
 * each party the case waits on (keyed with the role and addressee of the
 * step's original request, so the reply key is the same), a "reminder" event,
 * and c->reminders = the number of deadlines passed. out->changed tells
 * whether the case must be stored. *out is overwritten; free with
 * engine_out_free. */
void engine_tick(const struct engine_env *env, const struct case_rec *c,
		 const struct engine_timing *t, struct engine_out *out);
/* For a granted case with a known end (exemption_end_day), engine_tick sends
 * instead the expiry notices: when the notice of d days before the end
 * (exemption_notice_at) is due, d is smaller than the last one sent
 * (c->expiry_notice), and it was not due before the end date was set
 * (c->end_set: the decision mail or the extension's mail gave the date), one
 * keyed "expiry-notice" mail to the requester and to each CDT address, an
 * "expiry_notice" event, and c->expiry_notice = d (of several due at once,
 * only the smallest d is sent). At notice_hour:notice_min on the end day,
 * an "ended" event and c->expiry_notice = -1; nothing more after that. */

/* One command a party may send: the table of DESIGN.md section 3 and its
 * additions, the only list of who may send what in which state (refusals,
 * reminders and the commands offered in mails are made from it). */
enum engine_when {
	ENGINE_WHEN_STATE = 0,       /* whenever the case is in one of the states */
	ENGINE_WHEN_NO_EXTENSION,    /* granted, no extension waiting, not ended */
	ENGINE_WHEN_EXTENSION,       /* granted, an extension waiting on CDT */
};
struct engine_command {
	unsigned roles;              /* bitmask of 1 << ROLE_x that may send it */
	unsigned states;             /* bitmask of 1 << ST_x in which it applies */
	enum engine_when when;
	enum cmd_word word;          /* CMD_NONE: a reply that is not a command word
				        (an answer, a corrected form) */
	const char *usage;           /* as people write it: "APPROVE [comment]" */
	const char *hint;            /* what it does: "to approve the request" */
};
/* The commands the holder of role r may send on case c (NULL: no case) now,
 * in the order people read them: up to max pointers into a static table are
 * written to out, and their number returned. STATUS, HELP and FORM, which
 * any party may send at any time, are not listed. */
size_t engine_commands(const struct case_rec *c, enum role r, const struct engine_command **out,
		       size_t max);

/* Who case c waits on, for people: "the AIO (aio@x.gov) and the CIO
 * (cio@x.gov)", "CDT", "nobody (the case is closed)". Allocated. */
char *engine_waiting_text(const struct engine_env *env, const struct case_rec *c);

/* Roles addr holds in case c (bitmask of 1 << ROLE_x): requester, aio/cio by
 * the directory (delegates included), cdt, cto. */
unsigned engine_roles_of(const struct engine_env *env, const struct case_rec *c,
			 const char *addr);

/* ---- an operator's acts on one case (cgenctl), outside mail ---- */

enum engine_op {
	OP_APPROVE,   /* an approval given outside mail (paper, phone, a meeting) */
	OP_REASSIGN,  /* another address holds a party's role in this case */
	OP_CANCEL,    /* an open case ends as withdrawn */
	OP_REOPEN,    /* a closed case is open again */
};

struct engine_op_in {
	enum engine_op op;
	const char *by;          /* the operator, named in every event ("operator:BY") */
	const char *reason;      /* why; required, non-empty */
	enum role role;          /* APPROVE: aio, cio or cto; REASSIGN: requester, aio or cio */
	const char *addr;        /* REASSIGN: the new address (lowercase) */
	const char *old_addr;    /* REASSIGN: the address it replaces (for the record) */
	enum case_state state;   /* REOPEN: the open state to return to */
};

/* Applies an operator's act to case c. For REASSIGN of aio or cio the caller
 * stores the new address and passes an env whose directory already shows it
 * for this case; the engine records the event and sends the new addressee
 * the step's request when the case waits on that role. Returns 0 with *out
 * filled (free with engine_out_free), or -1 with *why allocated (nothing
 * changed: the case's state does not allow it, say) and *out empty. */
int engine_operator(const struct engine_env *env, const struct case_rec *c,
		    const struct engine_op_in *in, struct engine_out *out, char **why);

#endif
