/* request.h: where the request form of a mail is (DESIGN.md section 2).
 *
 * The form is read from the first of these places that holds one:
 *  1. the visible text (what the sender wrote this time);
 *  2. the message below the visible text, read whole, when the mail
 *     forwards it (Outlook's "FW:" with its From:/Sent: block, Gmail's
 *     "---------- Forwarded message ---------", Apple's "Begin forwarded
 *     message:") or when it is the agent's own mail quoted under an Outlook
 *     header (a blank form filled in inline in a reply to FORM);
 *  3. an attached message (message/rfc822);
 *  4. a text/plain or .docx attachment.
 * The visible text counts when three form labels start its lines (as
 * form_is_request); every other place when three labels there have a value.
 * Places 2 and 3 are looked at only for a new mail (with_history), place 4
 * also for a corrected form. No I/O: bytes in memory. */
#ifndef CGEN_REQUEST_H
#define CGEN_REQUEST_H

#include <stddef.h>

#include "form.h"
#include "message.h"

enum request_place {
	REQUEST_BODY = 0,
	REQUEST_FORWARDED,       /* the forwarded message in the body */
	REQUEST_QUOTED,          /* the agent's mail quoted under an Outlook header */
	REQUEST_ATTACHED_MESSAGE,/* a message/rfc822 part */
	REQUEST_ATTACHMENT,      /* a text/plain or .docx attachment */
};

struct request_read {
	enum request_place place;
	char *note;         /* for the acknowledgment: where the form was read, one
			       sentence; NULL for the body */
	int forwarded;      /* the mail forwards a message (subject "FW:"/"Fwd:", a
			       forward separator, or an attached message) */
};

/* Reads the form of the mail raw[0..len) into *form (zeroed by the caller;
 * free with form_free); m is that mail parsed by message_parse, visible its
 * visible text, agent_addr the agent's own address (lowercase; may be NULL).
 * When no place holds a form, *form is the visible text's, or, for a
 * forward, whatever the forwarded message held. *out is overwritten; free
 * with request_read_free. */
void request_read(const char *raw, size_t len, const struct message *m, const char *visible,
		  const char *agent_addr, int with_history, struct form *form,
		  struct request_read *out);
void request_read_free(struct request_read *r);

/* The line where the history below a mail's own text starts (a forward
 * separator, an Outlook rule or From:/Sent: header block, "-----Original
 * Message-----"): a pointer into text, or NULL when there is none. */
const char *request_history(const char *text);

#endif
