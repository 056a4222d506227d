/* request.c: see request.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docx.h"
#include "request.h"
#include "util.h"
#include "visible.h"

/* Lines of the history header an Outlook block holds within this many lines
 * of its From: line. */
#define HEADER_LINES 6

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* s (one line, n bytes) starts with word (ASCII case-insensitive), after
 * white space and a '*' (Outlook's bold in text), and a ':' follows. */
static int field_line(const char *s, size_t n, const char *word)
{
	const char *e = s + n;
	size_t k = strlen(word);

	s = skip_ws(s);
	if (s < e && *s == '*')
		s++;
	if ((size_t)(e - s) < k + 1 || strncasecmp(s, word, k) != 0)
		return 0;
	s += k;
	if (s < e && *s == '*')
		s++;
	s = skip_ws(s);
	return s < e && *s == ':';
}

static int line_has_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return 1;
	return 0;
}

/* A line that opens forwarded or quoted history by itself. */
static int separator_line(const char *s, size_t n)
{
	const char *t = skip_ws(s);
	size_t m = n - (size_t)(t - s), u = 0;

	while (m > 0 && (t[m - 1] == ' ' || t[m - 1] == '\t' || t[m - 1] == '\r'))
		m--;
	while (u < m && t[u] == '_')
		u++;
	if (u >= 8 && u == m)
		return 1; /* Outlook's rule above its header block */
	if (m >= 4 && t[0] == '-' && t[1] == '-' &&
	    (line_has_ci(t, m, "forwarded message") || line_has_ci(t, m, "original message")))
		return 1;
	return m > 0 && t[m - 1] == ':' && line_has_ci(t, m, "begin forwarded message");
}

const char *request_history(const char *text)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (separator_line(line, n))
			return line;
		if (field_line(line, n, "from")) {
			/* an Outlook header block: From: with Sent: or Date: below it */
			const char *p = nl ? nl + 1 : NULL;
			for (int k = 0; p && *p && k < HEADER_LINES; k++) {
				const char *e = strchr(p, '\n');
				size_t pn = e ? (size_t)(e - p) : strlen(p);

				if (field_line(p, pn, "sent") || field_line(p, pn, "date"))
					return line;
				p = e ? e + 1 : NULL;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* "FW:", "Fwd:", "TR:", "WG:", "RV:", "I:", "Enc:", "VS:", "Doorst:" first
 * in the subject (after gateway tags). */
static int forward_subject(const char *subject)
{
	static const char *const prefixes[] = {"fw", "fwd", "tr", "wg", "rv", "i", "enc", "vs",
					       "vb", "doorst", "fs"};
	const char *s = skip_ws(subject ? subject : "");

	while (*s == '[') {
		const char *e = strchr(s, ']');
		if (!e)
			break;
		s = skip_ws(e + 1);
	}
	for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
		size_t k = strlen(prefixes[i]);
		if (strncasecmp(s, prefixes[i], k) == 0 && (s[k] == ':' || (s[k] == ' ' && s[k + 1] == ':')))
			return 1;
	}
	return 0;
}

/* The history is the agent's own mail: its From: line holds agent_addr. */
static int history_from(const char *hist, const char *agent_addr)
{
	if (!agent_addr || !*agent_addr)
		return 0;
	const char *line = hist;
	for (int k = 0; line && *line && k < HEADER_LINES + 1; k++) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (field_line(line, n, "from"))
			return line_has_ci(line, n, agent_addr);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* A place's form counts when three of its labels have a value. */
static int holds_form(const struct form *f)
{
	return f->labels >= 3 && f->filled >= 3;
}

/* Keeps candidate c as *best when it holds more; frees what is dropped. */
static void keep_best(struct form *best, struct form *c)
{
	if (c->filled > best->filled) {
		form_free(best);
		*best = *c;
	} else {
		form_free(c);
	}
	memset(c, 0, sizeof *c);
}

static int is_text_plain(const char *name, const char *type)
{
	size_t n = name ? strlen(name) : 0;

	return (type && strcasecmp(type, "text/plain") == 0) ||
	       (n >= 4 && strcasecmp(name + n - 4, ".txt") == 0);
}

/* Text of a text/plain attachment: CRLF as is (form_parse takes both). */
static char *attachment_text(const struct msg_attachment *a, const struct buf *d, const char **why)
{
	char *t = NULL;
	*why = NULL;
	if (docx_is(a->name, a->type)) {
		if (docx_text(d->s ? d->s : "", d->len, &t, why) != 0)
			return NULL;
		return t;
	}
	if (is_text_plain(a->name, a->type) && d->len <= DOCX_MAX_XML)
		return xstrndup(d->s ? d->s : "", d->len);
	return NULL;
}

static void read_attachments(const char *raw, size_t len, const struct message *m, struct form *best,
			     struct request_read *out, int *found)
{
	int wanted = 0;
	for (size_t i = 0; i < m->n_att; i++)
		wanted |= docx_is(m->att[i].name, m->att[i].type) ||
			  is_text_plain(m->att[i].name, m->att[i].type);
	if (!wanted)
		return;
	struct message dm = {0};
	struct buf *data = NULL;
	if (message_parse_data(raw, len, &dm, &data) != 0 || !data) {
		message_data_free(data, dm.n_att);
		message_free(&dm);
		return;
	}
	for (size_t i = 0; i < dm.n_att && !*found; i++) {
		const char *why;
		char *t = attachment_text(&dm.att[i], &data[i], &why);
		if (!t)
			continue;
		struct form c = {0};
		form_parse(t, &c);
		free(t);
		if (holds_form(&c)) {
			form_free(best);
			*best = c;
			*found = 1;
			out->place = REQUEST_ATTACHMENT;
			out->note = xasprintf("The form was read from the attachment \"%s\".",
					      dm.att[i].name ? dm.att[i].name : "(no name)");
		} else {
			keep_best(best, &c);
		}
	}
	message_data_free(data, dm.n_att);
	message_free(&dm);
}

/* text with one level of quoting removed from each line: HTML mail turned to
 * text marks Outlook's forwarded or quoted block with "> ". Allocated. */
static char *unquote(const char *text)
{
	struct buf b = {0};
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *t = skip_ws(p);
		if (*t == '>') {
			t++;
			if (*t == ' ')
				t++;
			n -= (size_t)(t - p);
			p = t;
		}
		buf_add(&b, p, n);
		p += n;
	}
	return buf_steal(&b);
}

void request_read(const char *raw, size_t len, const struct message *m, const char *visible,
		  const char *agent_addr, int with_history, struct form *form,
		  struct request_read *out)
{
	memset(out, 0, sizeof *out);
	form_parse(visible ? visible : "", form);
	char *text = unquote(m->text ? m->text : "");
	const char *hist = request_history(text);
	out->forwarded = forward_subject(m->subject) || m->inner_text != NULL ||
			 (hist && separator_line(hist, strcspn(hist, "\n")) &&
			  line_has_ci(hist, strcspn(hist, "\n"), "forward"));
	if (form_is_request(form)) {
		free(text);
		return;
	}

	/* The best of the other places, kept for a forward's answer. */
	struct form best = {0}, c = {0};
	int found = 0;
	if (with_history && hist && (out->forwarded || history_from(hist, agent_addr))) {
		form_parse(hist, &c);
		if (holds_form(&c)) {
			best = c;
			memset(&c, 0, sizeof c);
			found = 1;
			out->place = out->forwarded ? REQUEST_FORWARDED : REQUEST_QUOTED;
			out->note = xstrdup(out->forwarded
				? "The form was read from the message you forwarded; you are the "
				  "requester of this case."
				: "The form was read from the text below the quoted header of your "
				  "reply.");
		} else {
			keep_best(&best, &c);
		}
	}
	if (with_history && !found && m->inner_text) {
		form_parse(m->inner_text, &c);
		if (holds_form(&c)) {
			form_free(&best);
			best = c;
			memset(&c, 0, sizeof c);
			found = 1;
			out->place = REQUEST_ATTACHED_MESSAGE;
			out->note = xstrdup("The form was read from the message attached to your mail; "
					    "you are the requester of this case.");
		} else {
			keep_best(&best, &c);
		}
	}
	if (!found)
		read_attachments(raw, len, m, &best, out, &found);
	if (found || (out->forwarded && best.filled > form->filled)) {
		form_free(form);
		*form = best;
	} else {
		form_free(&best);
	}
	free(text);
}

void request_read_free(struct request_read *r)
{
	free(r->note);
	memset(r, 0, sizeof *r);
}
