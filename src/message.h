/* message.h: one raw inbound mail read into plain fields (libetpan MIME).
 *
 * No I/O: parses bytes in memory. The raw buffer may be freed after
 * message_parse returns (everything is copied).
 *
 * S/MIME: signed mail is read through its content (multipart/signed: the
 * first part; opaque application/pkcs7-mime signed-data: the MIME entity
 * embedded in the PKCS#7 structure). Signatures are NOT verified: a signed
 * mail is trusted no more than an unsigned one. */
#ifndef CGEN_MESSAGE_H
#define CGEN_MESSAGE_H

#include <stddef.h>
#include "util.h"

enum msg_kind {
	MSG_NORMAL = 0,     /* written by a person */
	MSG_AUTO_REPLY,     /* RFC 3834 Auto-Submitted (not "no"), Precedence bulk/junk/list,
			       X-Autoreply, X-Autorespond, out-of-office subject, null return path */
	MSG_BOUNCE,         /* DSN: multipart/report; report-type=delivery-status, or a
			       mailer-daemon notice */
	MSG_COMPLAINT,      /* ARF: multipart/report; report-type=feedback-report */
};

struct msg_attachment {
	char *name;         /* decoded filename, or NULL */
	char *type;         /* "application/pdf", lowercase */
	size_t size;        /* decoded size in bytes */
	char sha256[65];    /* lowercase hex of the decoded bytes */
};

struct message {
	char *from_addr;    /* bare lowercase address when exactly one From header holds
			       exactly one valid mailbox; else NULL (see no_sender). A
			       quoted local part that needs no quotes is unquoted. Valid:
			       one '@', a non-empty local part and a domain of labels
			       (no empty label, no trailing dot), no control or
			       invisible format character (zero-width, bidi) anywhere */
	char *from_name;    /* decoded display name, or NULL */
	int from_count;     /* number of From mailboxes */
	char *reply_to;     /* bare lowercase address of Reply-To, or NULL (never used for answers) */
	struct strv to;     /* bare lowercase addresses of To and Cc */
	struct strv delivered_to; /* Delivered-To and X-Original-To, lowercase */
	char *subject;      /* decoded UTF-8 (RFC 2047), "" when none */
	char *message_id;   /* without angle brackets, or NULL */
	char *in_reply_to;  /* first id, without brackets, or NULL */
	struct strv references; /* ids without brackets, in order */
	char *date;         /* Date header as written, or NULL */
	char *auth_results; /* topmost Authentication-Results, unfolded, or NULL */
	enum msg_kind kind;
	char *kind_reason;  /* why kind is not MSG_NORMAL, e.g. "Auto-Submitted: auto-replied" */
	char *text;         /* best text body, UTF-8, LF line ends: text/plain preferred,
			       else HTML turned to text; "" when none */
	struct msg_attachment *att;
	size_t n_att;
	struct strv bounce_ids; /* for bounces/complaints: Message-IDs of the original
				   mail found in the report (without brackets) */
	char *inner_text;   /* the text of the first attached message (message/rfc822),
			       UTF-8, LF line ends (text/plain preferred, else HTML
			       turned to text); NULL when the mail attaches none */
	char *unreadable;   /* NULL, or why the body cannot be read: "encrypted (S/MIME)",
			       "encrypted (PGP)", "Outlook TNEF (winmail.dat)"; the
			       opaque part is still listed in att. Only the mail itself
			       counts, not a message/rfc822 attached to it. */
	char *no_sender;    /* why from_addr is NULL: "no From header", "more than one
			       From header", "more than one address in From", "the From
			       address is not a valid address"; NULL when from_addr is set */
	int text_enclosed;  /* 1: text was read from a message/rfc822 part (a forwarded
			       or attached mail), the outer mail having no text of its own:
			       it is not the sender's own writing and never their command */
	char *alt_text;     /* when text came from a text/plain part and the mail also
			       has an HTML part (an alternative, or an inline part beside
			       it), that part turned into text; else NULL. What a reader
			       sees may be either one. */
};

/* Parses raw (len bytes, CRLF or LF) into *out (zeroed by the caller). Returns 0,
 * or -1 when the bytes are not a mail at all (no header); *out is then still
 * safe to message_free. */
int message_parse(const char *raw, size_t len, struct message *out);
void message_free(struct message *m);

/* Like message_parse, and also the decoded bytes of every attachment: *data
 * is an allocated array of out->n_att buffers (NULL when there are none),
 * data[i] holding the bytes of out->att[i] (those its size and sha256
 * describe; data[i].s is NULL when they are empty). *data is NULL when -1 is
 * returned. Free with message_data_free(*data, out->n_att). */
int message_parse_data(const char *raw, size_t len, struct message *out, struct buf **data);
void message_data_free(struct buf *data, size_t n);

/* The de-duplication key of DESIGN.md section 8: the Message-ID, or
 * "sha256:HEX" of the raw bytes when there is none. Allocated. */
char *message_dedup_id(const struct message *m, const char *raw, size_t len);

#endif
