/* compose.h: templates and outgoing RFC 5322 messages (pure).
 *
 * A template is a file NAME.txt in the template folder: a first line
 * "Subject: ...", an empty line, then the body. Placeholders are {{name}}
 * (letters, digits, '_'); every placeholder must be given a value when
 * rendering; "{{{{" writes a literal "{{". */
#ifndef CGEN_COMPOSE_H
#define CGEN_COMPOSE_H

#include <stddef.h>
#include <time.h>
#include "util.h"

struct templates;

/* Loads every *.txt of dir. Returns 0, or -1 with problems appended to errors as
 * "PATH:LINE: message" (missing Subject line, unterminated placeholder, ...).
 * Templates named in required (NULL-terminated, may be NULL) must exist. */
int templates_load(const char *dir, const char *const *required,
		   struct templates **out, struct strv *errors);
/* Like templates_load, but a template named in required that dir lacks is
 * taken from fallback (the installed templates), so a custom folder holds
 * only the files it changes. fallback may be NULL or dir itself (then this
 * is templates_load). *from_fallback (may be NULL) counts the templates taken
 * from fallback. */
int templates_load_fallback(const char *dir, const char *fallback, const char *const *required,
			    struct templates **out, struct strv *errors, size_t *from_fallback);
void templates_free(struct templates *t);
int templates_has(const struct templates *t, const char *name);
/* Renders template name with vars (flat list: name, value, name, value...).
 * Values are inserted as they are (UTF-8 text). Returns 0 with *subject and *body
 * allocated (LF line ends), or -1 with *err (unknown template, placeholder
 * without a value). */
int templates_render(const struct templates *t, const char *name, const struct strv *vars,
		     char **subject, char **body, char **err);

/* The bodies of template name: its text (NULL when there is no NAME.txt) and
 * its HTML (NAME.html in the same folder; NULL when there is none). A .html
 * file has no Subject line; its placeholders follow the same syntax. */
const char *templates_text(const struct templates *t, const char *name);
const char *templates_html(const struct templates *t, const char *name);
/* The Subject line of template name (after "Subject:"), or NULL. */
const char *templates_subject(const struct templates *t, const char *name);
/* 1 when the subject, text or HTML of template name holds {{var}}. */
int templates_uses(const struct templates *t, const char *name, const char *var);
/* p starts with "{{": the length of "{{name}}" with *name and *name_len set,
 * 4 with *name NULL for the escape "{{{{", 0 when malformed. */
size_t compose_placeholder(const char *p, const char **name, size_t *name_len);

/* One attachment of an outgoing mail (bytes are not copied). */
struct outmail_att {
	const char *name;        /* file name (RFC 2231 when not ASCII) */
	const char *type;        /* MIME type; NULL: application/octet-stream */
	const char *data;
	size_t len;
};

struct outmail {
	const char *from;        /* header as configured: "CGEN Exemptions <cgen@cdt.ca.gov>" */
	const char *reply_to;    /* bare address or NULL */
	const struct strv *to;   /* bare addresses, >= 1 */
	const char *subject;     /* UTF-8; CR/LF/NUL are removed */
	const char *body;        /* UTF-8 text with LF line ends */
	const char *message_id;  /* without brackets */
	const char *in_reply_to; /* without brackets, or NULL */
	const char *references;  /* space-separated ids without brackets, or NULL */
	time_t date;
	int auto_replied;        /* 1: "Auto-Submitted: auto-replied", 0: "auto-generated" */
	const char *attach_name; /* optional one attachment (e.g. CSV), or NULL */
	const char *attach_type;
	const char *attach_data;
	size_t attach_len;
	const char *html;        /* optional HTML alternative of body (UTF-8), or NULL */
	const struct outmail_att *atts; /* more attachments, after attach_name's */
	size_t n_atts;
	int flowed;              /* body is compose_flowed text: format=flowed; delsp=yes */
};

/* Builds the whole message: CRLF, Date, From, To, Subject (RFC 2047 B or Q when
 * not ASCII, folded at 78), Message-ID, In-Reply-To/References when given,
 * Reply-To when given, MIME-Version, Content-Type text/plain; charset=UTF-8,
 * Content-Transfer-Encoding: quoted-printable, Auto-Submitted,
 * X-Auto-Response-Suppress: All. With html, the text is a multipart/alternative
 * of text/plain and text/html (both UTF-8, quoted-printable), inside the
 * multipart/mixed when there is an attachment. Header values from mail data cannot inject
 * headers. Returns the allocated message and its length in *len. */
char *compose_message(const struct outmail *m, size_t *len);

/* RFC 2047 encoding of a header text (unchanged when printable ASCII). */
char *compose_header_text(const char *s);
/* text (UTF-8, LF) as RFC 3676 format=flowed with DelSp=yes: lines of at
 * most 72 characters (code points) of content. A line that fits stays as it
 * is (trailing white space dropped, "-- " kept). A longer line that starts
 * with a non-blank is broken at spaces with soft breaks (a word longer than a
 * line is cut, losslessly under DelSp); an indented one (lists, tables) gets
 * fixed breaks and a hanging indent. Lines starting with ' ', '>' or "From "
 * are space-stuffed. No output line passes 75 characters. Allocated. */
char *compose_flowed(const char *text);
/* Quoted-printable (RFC 2045) of UTF-8 text with LF ends, output with CRLF. */
char *compose_qp(const char *text);

#endif
