/* mailview.c: see mailview.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "digest.h"
#include "engine.h"
#include "form.h"
#include "mailview.h"

#define WIDTH 72          /* text lines, as compose_flowed wraps them */
#define LABEL_COLS 19     /* the label column of the text tables */
#define FONT "font-family:Arial,Helvetica,sans-serif;"
#define C_TEXT "#1f2937"
#define C_MUTED "#4b5563"
#define C_RULE "#e5e7eb"

/* ---- the commands, as data ---- */

#define R(x) (1u << (x))
#define ANY_OPEN (-1)
#define ANY_STATE (-2)

/* How each command is offered. Who may send it, and when, is the engine's
 * table (engine_commands): a row is shown only when the engine allows its
 * command to the addressee on the case now, so the two never disagree. */
static const struct {
	unsigned roles;
	int state;                       /* a case_state, ANY_OPEN or ANY_STATE */
	enum cmd_word word;              /* CMD_NONE: the reply itself is the answer */
	struct mailview_command c;
} commands[] = {
	{R(ROLE_AIO) | R(ROLE_CIO), ST_AWAITING_APPROVALS, CMD_APPROVE,
	 {"APPROVE", "APPROVE [comment]", "Approve",
	  "approve the request; a comment may follow on the same line", MV_GO}},
	{R(ROLE_AIO) | R(ROLE_CIO), ST_AWAITING_APPROVALS, CMD_REJECT,
	 {"REJECT ", "REJECT reason", "Reject",
	  "reject the request; the reason is required and goes to the requester", MV_STOP}},
	{R(ROLE_CDT), ST_CDT_REVIEW, CMD_RECOMMEND,
	 {"RECOMMEND APPROVE ", "RECOMMEND APPROVE rationale", "Recommend approval",
	  "send the case to the CTO, recommending approval", MV_GO}},
	{R(ROLE_CDT), ST_CDT_REVIEW, CMD_RECOMMEND,
	 {"RECOMMEND DENY ", "RECOMMEND DENY rationale", "Recommend denial",
	  "send the case to the CTO, recommending denial", MV_STOP}},
	{R(ROLE_CDT), ST_CDT_REVIEW, CMD_INFO,
	 {"INFO ", "INFO question", "Ask the requester",
	  "mail a question to the requester; the case waits for the answer", MV_OTHER}},
	{R(ROLE_CDT), ST_CDT_REVIEW, CMD_PROPOSE,
	 {"PROPOSE ", "PROPOSE alternative", "Propose an alternative",
	  "propose a CGEN alternative to the requester; the case waits for their answer", MV_OTHER}},
	{R(ROLE_CDT), ANY_OPEN, CMD_NOTE,
	 {"NOTE ", "NOTE text", "Add a note", "record an internal note; nothing else changes",
	  MV_OTHER}},
	{R(ROLE_CTO), ST_CTO_DECISION, CMD_APPROVE,
	 {"APPROVE ", "APPROVE [conditions]", "Grant",
	  "grant the exemption; conditions may follow on the same line", MV_GO}},
	{R(ROLE_CTO), ST_CTO_DECISION, CMD_DENY,
	 {"DENY ", "DENY reason", "Deny", "deny the exemption; the reason is required", MV_STOP}},
	{R(ROLE_REQUESTER), ST_AWAITING_INFO, CMD_NONE,
	 {"", "your answer", "Answer CDT",
	  "reply with your answer above the quoted text; attachments are welcome", MV_GO}},
	{R(ROLE_REQUESTER), ST_INCOMPLETE, CMD_NONE,
	 {"", "the corrected form", "Send the corrected form",
	  "reply with the whole form, corrected; attachments are welcome", MV_GO}},
	{R(ROLE_REQUESTER), ST_ALTERNATIVE_PROPOSED, CMD_ACCEPT,
	 {"ACCEPT", "ACCEPT [comment]", "Accept the alternative",
	  "take CDT's alternative; the request then closes", MV_GO}},
	{R(ROLE_REQUESTER), ST_ALTERNATIVE_PROPOSED, CMD_DECLINE,
	 {"DECLINE ", "DECLINE reason", "Decline",
	  "decline the alternative; CDT reviews the request again", MV_STOP}},
	{R(ROLE_REQUESTER), ANY_OPEN, CMD_WITHDRAW,
	 {"WITHDRAW", "WITHDRAW [reason]", "Withdraw", "withdraw the request; the case closes",
	  MV_STOP}},
	{R(ROLE_REQUESTER) | R(ROLE_CDT), ST_GRANTED, CMD_EXTEND,
	 {"EXTEND ", "EXTEND length reason", "Ask for an extension",
	  "ask for a longer exemption, e.g. EXTEND 12 months and why; CDT approves it", MV_OTHER}},
	{R(ROLE_CDT), ST_GRANTED, CMD_APPROVE,
	 {"APPROVE", "APPROVE [comment]", "Approve the extension",
	  "approve the extension asked", MV_GO}},
	{R(ROLE_CDT), ST_GRANTED, CMD_DENY,
	 {"DENY ", "DENY reason", "Refuse the extension", "refuse the extension asked", MV_STOP}},
	{R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT) | R(ROLE_CTO), ANY_STATE, CMD_STATUS,
	 {"STATUS", "STATUS", "Status", "get the case's current status by mail", MV_OTHER}},
};

size_t mailview_commands(enum role r, const struct case_rec *c, const struct mailview_command **out,
			 size_t max)
{
	const struct engine_command *allowed[32];
	size_t na = engine_commands(c, r, allowed, ARRAY_LEN(allowed)), n = 0;
	for (size_t i = 0; i < ARRAY_LEN(commands) && n < max; i++) {
		int st = commands[i].state;
		if (!c || !(commands[i].roles & R(r)))
			continue;
		if (!(st == ANY_STATE || (st == ANY_OPEN && case_state_open(c->state)) || st == (int)c->state))
			continue;
		int ok = commands[i].word == CMD_STATUS; /* any party, any time */
		for (size_t k = 0; k < na && !ok; k++)
			ok = allowed[k]->word == commands[i].word;
		if (ok)
			out[n++] = &commands[i].c;
	}
	return n;
}

char *mailview_mailto(const char *reply_addr, const char *subject, const char *word,
		      const char *key)
{
	char *subj = xasprintf("Re: %s", subject ? subject : "");
	char *body = key && *key ? xasprintf("%s\n\n-- \nRef: %s\n", word ? word : "", key)
				 : xstrdup(word ? word : "");
	char *u = digest_mailto(reply_addr, subj, body);
	free(body);
	free(subj);
	return u;
}

const char *mailview_state_words(enum case_state s)
{
	switch (s) {
	case ST_RECEIVED: return "received";
	case ST_INCOMPLETE: return "incomplete";
	case ST_NOT_REQUIRED: return "not required";
	case ST_AWAITING_APPROVALS: return "waiting for approvals";
	case ST_CDT_REVIEW: return "under review at CDT";
	case ST_AWAITING_INFO: return "waiting for the requester";
	case ST_CTO_DECISION: return "with the CTO for decision";
	case ST_GRANTED: return "granted";
	case ST_DENIED: return "denied";
	case ST_REJECTED: return "rejected";
	case ST_WITHDRAWN: return "withdrawn";
	default: return case_state_name(s);
	}
}

/* ---- small text helpers ---- */

/* s with & < > " ' escaped; control characters (HTML forbids them) left
 * out, line breaks as spaces, or as <br> when br. */
static void esc_text(struct buf *b, const char *s, int br)
{
	while (s && *s) {
		/* a run of bytes that stand for themselves, copied at once */
		size_t run = strcspn(s, "\n\t&<>\"'\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\r"
				     "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
				     "\x1c\x1d\x1e\x1f\x7f\xc2");
		if (run) {
			buf_add(b, s, run);
			s += run;
			continue;
		}
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			buf_adds(b, br ? "<br>\n" : " ");
		else if (c == '\t')
			buf_addc(b, ' ');
		else if (c < 0x20 || c == 0x7f)
			;
		else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xa0)
			s++; /* C1 controls */
		else {
			char one[2] = {*s, 0};
			digest_html_escape(b, one);
		}
		s++;
	}
}

static void esc(struct buf *b, const char *s)
{
	esc_text(b, s, 0);
}

void mailview_html_text(struct buf *b, const char *s)
{
	esc_text(b, s, 1);
}

static size_t cps(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Bytes of the first want code points of s (n bytes). */
static size_t cp_prefix(const char *s, size_t n, size_t want)
{
	size_t i = 0, c = 0;
	while (i < n && c < want) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	return i;
}

/* s wrapped into lines of at most width code points (at spaces; a longer
 * word is cut), each line of s on its own; control characters as spaces. */
static void wrap(const char *s, size_t width, struct strv *out)
{
	char *t = xstrdup(s ? s : "");
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			*p = ' ';
	const char *p = t;
	while (1) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		while (n && *p == ' ')
			p++, n--;
		if (n == 0)
			strv_add(out, "");
		while (n) {
			size_t k = n;
			if (cps(p, n) > width) {
				size_t lim = cp_prefix(p, n, width + 1);
				k = 0;
				for (size_t i = 1; i < lim; i++)
					if (p[i] == ' ')
						k = i;
				if (k == 0)
					k = cp_prefix(p, n, width);
			}
			size_t keep = k;
			while (keep && p[keep - 1] == ' ')
				keep--;
			strv_add_own(out, xstrndup(p, keep));
			p += k;
			n -= k;
			while (n && *p == ' ')
				p++, n--;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	/* no trailing empty lines */
	while (out->n && !*out->v[out->n - 1]) {
		free(out->v[--out->n]);
	}
	free(t);
}

static void pad(struct buf *b, size_t cols)
{
	for (size_t i = 0; i < cols; i++)
		buf_addc(b, ' ');
}

/* One row of a two-column text table: left padded to lw columns (on its own
 * line when longer), right wrapped to the rest of WIDTH, indent before both. */
static void text_row(struct buf *b, size_t indent, const char *left, size_t lw, const char *right)
{
	struct strv l = {0};
	size_t rw = WIDTH - indent - lw;
	wrap(right, rw, &l);
	size_t ll = cps(left, strlen(left));
	pad(b, indent);
	buf_adds(b, left);
	if (ll + 1 > lw && l.n) {
		buf_addc(b, '\n');
		pad(b, indent);
		ll = 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (i) {
			buf_addc(b, '\n');
			pad(b, indent);
			ll = 0;
		}
		if (*l.v[i]) {
			pad(b, lw - ll);
			buf_adds(b, l.v[i]);
		}
	}
	buf_addc(b, '\n');
	strv_free(&l);
}

/* ---- the request ---- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *money_short(long long cents)
{
	char *m = money_format(cents);
	size_t n = strlen(m);
	if (n > 3 && strcmp(m + n - 3, ".00") == 0)
		m[n - 3] = '\0';
	return m;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* 1 when s is a state, a ZIP code, both, or a country: not the town. */
static int not_town(const char *s)
{
	size_t n = strlen(s);
	static const char *const words[] = {"usa", "us", "u.s.a.", "united states", "california",
					    "calif.", NULL};
	for (size_t i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	if (all_digits(s, n >= 5 ? 5 : n) && n >= 5)
		return 1;
	if (n >= 2 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
	    (n == 2 || (s[2] == ' ' && all_digits(s + 3, n - 3 >= 5 ? 5 : n - 3))))
		return 1;
	return strncasecmp(s, "california ", 11) == 0 && isdigit((unsigned char)s[11]);
}

/* The town of a street address ("3500 Industrial Blvd, West Sacramento, CA
 * 95691" -> "West Sacramento"); the address itself when it has no town. */
static char *site_of(const char *addr)
{
	struct strv parts = {0};
	strv_split(&parts, addr, ',');
	while (parts.n > 1 && not_town(parts.v[parts.n - 1]))
		free(parts.v[--parts.n]);
	char *s = xstrdup(parts.n ? parts.v[parts.n - 1] : addr);
	if (parts.n == 1) {
		/* "Pearblossom CA 93553" or "12 Main St Pearblossom" stay as written,
		 * less a trailing state and ZIP */
		size_t n = strlen(s);
		while (n && (isdigit((unsigned char)s[n - 1]) || s[n - 1] == '-'))
			n--;
		while (n && s[n - 1] == ' ')
			n--;
		if (n > 3 && s[n - 3] == ' ' && isupper((unsigned char)s[n - 2]) &&
		    isupper((unsigned char)s[n - 1]))
			n -= 3;
		if (n)
			s[n] = '\0';
	} else {
		size_t n = strlen(s);
		while (n && (isdigit((unsigned char)s[n - 1]) || s[n - 1] == '-'))
			n--;
		while (n && s[n - 1] == ' ')
			n--;
		if (n)
			s[n] = '\0';
	}
	strv_free(&parts);
	return s;
}

char *mailview_headline(const char *fields_json, const char *entity_code)
{
	struct strv parts = {0}, sites = {0};
	json_t *f = fields_json ? json_loads(fields_json, 0, NULL) : NULL;
	if (entity_code && *entity_code)
		strv_add(&parts, entity_code);
	else if (f && jstr(f, "entity"))
		strv_add(&parts, jstr(f, "entity"));
	json_t *sv = f ? json_object_get(f, "services") : NULL;
	for (size_t i = 0; json_is_array(sv) && i < json_array_size(sv); i++) {
		const char *a = jstr(json_array_get(sv, i), "address");
		if (!a)
			continue;
		char *s = site_of(a);
		if (*s && !strv_contains_ci(&sites, s))
			strv_add(&sites, s);
		free(s);
	}
	if (sites.n == 1)
		strv_add(&parts, sites.v[0]);
	else if (sites.n > 1)
		strv_addf(&parts, "%s and %zu more site%s", sites.v[0], sites.n - 1,
			  sites.n > 2 ? "s" : "");
	json_t *tc = f ? json_object_get(f, "total_cost") : NULL;
	if (json_is_integer(tc))
		strv_add_own(&parts, money_short((long long)json_integer_value(tc)));
	char *s = strv_join(&parts, ", ");
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	strv_free(&parts);
	strv_free(&sites);
	json_decref(f);
	return s;
}

static void html_th(struct buf *h, const char *label)
{
	buf_addf(h, "<tr><th scope=\"row\" align=\"left\" valign=\"top\" width=\"32%%\" "
		    "style=\"padding:9px 12px 9px 0;border-top:1px solid %s;" FONT
		    "font-size:14px;line-height:20px;font-weight:bold;color:%s\">",
		 C_RULE, C_MUTED);
	esc(h, label);
	buf_addf(h, "</th><td valign=\"top\" style=\"padding:9px 0;border-top:1px solid %s;" FONT
		    "font-size:15px;line-height:22px;color:#111827\">",
		 C_RULE);
}

static void html_row(struct buf *h, const char *label, const char *value)
{
	html_th(h, label);
	mailview_html_text(h, value);
	buf_adds(h, "</td></tr>\n");
}

/* The labels of the table, in the form's order. */
static const struct { const char *key, *label; } text_fields[] = {
	{"reason", "Reason"},
	{"reason_category", "Reason category"},
	{"contract_term", "Contract term"},
	{"early_termination", "Early termination"},
	{"extension_options", "Extension options"},
};
static const struct { const char *key, *label; } tail_fields[] = {
	{"provider", "Provider"},
	{"vendor_documentation", "Vendor documents"},
	{"service_levels", "Service levels"},
};

static void both_row(struct buf *text, struct buf *html, const char *label, const char *v,
		     size_t *rows)
{
	if (!v || !*v)
		return;
	if (text)
		text_row(text, 0, label, LABEL_COLS, v);
	if (html)
		html_row(html, label, v);
	(*rows)++;
}

size_t mailview_request(const char *fields_json, const char *entity_label, struct buf *text,
			struct buf *html)
{
	json_t *f = fields_json ? json_loads(fields_json, 0, NULL) : NULL;
	size_t rows = 0;
	if (!json_is_object(f)) {
		json_decref(f);
		return 0;
	}
	if (html)
		buf_adds(html, "<table role=\"table\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
			       "border=\"0\" style=\"border-collapse:collapse;width:100%;margin:0 0 8px 0\">\n");
	both_row(text, html, "Entity", entity_label ? entity_label : jstr(f, "entity"), &rows);
	json_t *sv = json_object_get(f, "services");
	size_t ns = json_is_array(sv) ? json_array_size(sv) : 0;
	for (size_t i = 0; i < ns; i++) {
		json_t *s = json_array_get(sv, i);
		json_t *q = json_object_get(s, "quantity");
		const char *type = jstr(s, "type"), *addr = jstr(s, "address");
		char *label = ns > 1 ? xasprintf("Service %zu of %zu", i + 1, ns) : xstrdup("Service");
		char *what = xasprintf("%lld x %s", json_is_integer(q) ? (long long)json_integer_value(q) : 0LL,
				       type ? type : "");
		if (text) {
			char *v = xasprintf("%s\n%s", what, addr ? addr : "");
			text_row(text, 0, label, LABEL_COLS, v);
			free(v);
		}
		if (html) {
			html_th(html, label);
			buf_adds(html, "<strong>");
			mailview_html_text(html, what);
			buf_addf(html, "</strong><br>\n<span style=\"color:%s\">", C_MUTED);
			mailview_html_text(html, addr);
			buf_adds(html, "</span></td></tr>\n");
		}
		free(what);
		free(label);
		rows++;
	}
	for (size_t i = 0; i < ARRAY_LEN(text_fields); i++)
		both_row(text, html, text_fields[i].label, jstr(f, text_fields[i].key), &rows);
	json_t *tc = json_object_get(f, "total_cost");
	if (json_is_integer(tc)) {
		char *m = money_format((long long)json_integer_value(tc));
		if (text)
			text_row(text, 0, "Total cost", LABEL_COLS, m);
		if (html) {
			html_th(html, "Total cost");
			buf_adds(html, "<strong>");
			esc(html, m);
			buf_adds(html, "</strong></td></tr>\n");
		}
		free(m);
		rows++;
	}
	json_t *ci = json_object_get(f, "cost_items");
	size_t nc = json_is_array(ci) ? json_array_size(ci) : 0;
	if (nc && html) {
		html_th(html, "Cost items");
		buf_adds(html, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
			       "cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse\">\n");
	}
	for (size_t i = 0; i < nc; i++) {
		json_t *it = json_array_get(ci, i);
		json_t *a = json_object_get(it, "amount");
		char *m = money_format(json_is_integer(a) ? (long long)json_integer_value(a) : 0);
		const char *item = jstr(it, "item") ? jstr(it, "item") : "";
		if (text) {
			/* item, then the amount flush right in the value column */
			size_t vw = WIDTH - LABEL_COLS, ml = strlen(m);
			struct strv l = {0};
			wrap(item, vw - ml - 2, &l);
			if (!l.n)
				strv_add(&l, "");
			for (size_t k = 0; k < l.n; k++) {
				const char *label = i == 0 && k == 0 ? "Cost items" : "";
				buf_adds(text, label);
				pad(text, LABEL_COLS - strlen(label));
				buf_adds(text, l.v[k]);
				if (k + 1 == l.n) {
					pad(text, vw - ml - cps(l.v[k], strlen(l.v[k])));
					buf_adds(text, m);
				}
				buf_addc(text, '\n');
			}
			strv_free(&l);
		}
		if (html) {
			buf_addf(html, "<tr><td valign=\"top\" style=\"padding:0 8px 4px 0;" FONT
				       "font-size:15px;line-height:22px;color:#111827\">");
			mailview_html_text(html, item);
			buf_addf(html, "</td><td valign=\"top\" align=\"right\" style=\"padding:0 0 4px 0;"
				       "white-space:nowrap;" FONT "font-size:15px;line-height:22px;"
				       "color:#111827\">");
			esc(html, m);
			buf_adds(html, "</td></tr>\n");
		}
		free(m);
	}
	if (nc) {
		if (html)
			buf_adds(html, "</table></td></tr>\n");
		rows++;
	}
	for (size_t i = 0; i < ARRAY_LEN(tail_fields); i++)
		both_row(text, html, tail_fields[i].label, jstr(f, tail_fields[i].key), &rows);
	if (html)
		buf_adds(html, "</table>\n");
	json_decref(f);
	return rows;
}

/* ---- people, history, documents ---- */

char *mailview_person(const struct strv *people, const char *addr)
{
	for (size_t i = 0; people && addr && i + 1 < people->n; i += 2)
		if (addr_equal(people->v[i], addr) && *people->v[i + 1]) {
			const char *nm = people->v[i + 1];
			/* a name that holds specials is quoted, as in a header */
			if (strpbrk(nm, ",;:<>@\"()[]\\"))
				return xasprintf("\"%s\" <%s>", nm, addr);
			return xasprintf("%s <%s>", nm, addr);
		}
	return xstrdup(addr ? addr : "");
}

/* The part of an event detail after "PREFIX: ", or "" when there is none. */
static const char *after_colon(const char *d)
{
	const char *p = strstr(d, ": ");
	return p ? p + 2 : "";
}

/* What one event says in the history: title and text (allocated), or 0 when
 * the history leaves the kind out. */
static int history_entry(const struct event_rec *e, char **title, char **body)
{
	const char *k = e->kind, *d = e->detail ? e->detail : "";
	*title = *body = NULL;
	if (strcmp(k, "received") == 0) {
		*title = xstrdup("Request received");
	} else if (strcmp(k, "corrected") == 0) {
		*title = xstrdup("Corrected request received");
	} else if (strcmp(k, "approved") == 0 || strcmp(k, "rejected") == 0) {
		int aio = strncmp(d, "AIO", 3) == 0, cio = strncmp(d, "CIO", 3) == 0;
		*title = xasprintf("%s%s", strcmp(k, "approved") == 0 ? "Approved" : "Rejected",
				   aio ? " as AIO" : cio ? " as CIO" : "");
		*body = xstrdup(after_colon(d));
	} else if (strcmp(k, "info_requested") == 0) {
		*title = xstrdup("CDT asked the requester");
		*body = xstrdup(d);
	} else if (strcmp(k, "info_answered") == 0) {
		*title = xstrdup("The requester answered");
		*body = xstrdup(d);
	} else if (strcmp(k, "note") == 0) {
		*title = xstrdup("Note");
		*body = xstrdup(d);
	} else if (strcmp(k, "recommended") == 0) {
		int approve = strncmp(d, "APPROVE", 7) == 0;
		*title = xstrdup(approve ? "CDT recommends approval" : "CDT recommends denial");
		const char *r = d + strcspn(d, " ");
		*body = xstrdup(r + strspn(r, " "));
	} else if (strcmp(k, "decided") == 0) {
		*title = xstrdup(strncmp(d, "granted", 7) == 0 ? "Granted by the CTO" : "Denied by the CTO");
		*body = xstrdup(after_colon(d));
	} else if (strcmp(k, "withdrawn") == 0) {
		*title = xstrdup("Withdrawn by the requester");
		*body = xstrdup(after_colon(d));
	} else
		return 0;
	return 1;
}

size_t mailview_history(const struct event_rec *ev, size_t n, const struct strv *people,
			struct buf *text, struct buf *html)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		char *title, *body;
		if (!history_entry(&ev[i], &title, &body))
			continue;
		char when[32];
		struct tm tm;
		localtime_r(&ev[i].at, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		char *who = ev[i].actor && strchr(ev[i].actor, '@') ? mailview_person(people, ev[i].actor)
								     : NULL;
		char *head = who ? xasprintf("%s, %s", title, who) : xstrdup(title);
		if (text) {
			if (count)
				buf_addc(text, '\n');
			text_row(text, 0, when, 18, head);
			if (body && *body)
				text_row(text, 0, "", 18, body);
		}
		if (html) {
			if (!count)
				buf_adds(html, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
					       "cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse;"
					       "margin:0 0 8px 0\">\n");
			buf_addf(html, "<tr><td valign=\"top\" width=\"26%%\" style=\"padding:9px 12px 9px 0;"
				       "border-top:1px solid %s;" FONT "font-size:13px;line-height:20px;"
				       "color:%s\">", C_RULE, C_MUTED);
			esc(html, when);
			buf_addf(html, "</td><td valign=\"top\" style=\"padding:9px 0;border-top:1px solid %s;"
				       FONT "font-size:15px;line-height:22px;color:#111827\"><strong>", C_RULE);
			esc(html, title);
			buf_adds(html, "</strong>");
			if (who) {
				buf_addf(html, "<br>\n<span style=\"font-size:13px;color:%s\">", C_MUTED);
				esc(html, who);
				buf_adds(html, "</span>");
			}
			if (body && *body) {
				buf_addf(html, "<div style=\"margin:6px 0 0 0;padding:2px 0 2px 10px;"
					       "border-left:3px solid #c7d2fe;color:%s\">", C_TEXT);
				mailview_html_text(html, body);
				buf_adds(html, "</div>");
			}
			buf_adds(html, "</td></tr>\n");
		}
		free(head);
		free(who);
		free(title);
		free(body);
		count++;
	}
	if (html && count)
		buf_adds(html, "</table>\n");
	return count;
}

void mailview_size_text(size_t n, char out[32])
{
	if (n < 1000)
		snprintf(out, 32, "%zu bytes", n);
	else if (n < 1000 * 1000)
		snprintf(out, 32, "%zu KB", (n + 500) / 1000);
	else
		snprintf(out, 32, "%.1f MB", (double)n / 1e6);
}

void mailview_documents(const struct mailview_doc *d, size_t n, long long limit,
			const char *case_id, struct buf *text, struct buf *html)
{
	char lim[32];
	mailview_size_text(limit > 0 ? (size_t)limit : 0, lim);
	if (html && n)
		buf_adds(html, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
			       "cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse;"
			       "margin:0 0 8px 0\">\n");
	int missing = 0;
	for (size_t i = 0; i < n; i++) {
		char sz[32];
		mailview_size_text(d[i].size, sz);
		const char *state = d[i].attached ? "attached" : "not attached";
		missing |= !d[i].attached;
		if (text) {
			char *line = xasprintf("- %s (%s), %s", d[i].name, sz, state);
			struct strv l = {0};
			wrap(line, WIDTH - 4, &l);
			for (size_t k = 0; k < l.n; k++) {
				pad(text, k ? 4 : 2);
				buf_adds(text, l.v[k]);
				buf_addc(text, '\n');
			}
			strv_free(&l);
			free(line);
		}
		if (html) {
			buf_addf(html, "<tr><td valign=\"top\" style=\"padding:6px 0;border-top:1px solid %s;"
				       FONT "font-size:15px;line-height:22px;color:#111827\"><strong>",
				 C_RULE);
			esc(html, d[i].name);
			buf_addf(html, "</strong> <span style=\"color:%s;font-size:13px\">(", C_MUTED);
			esc(html, sz);
			buf_addf(html, ", %s)</span></td></tr>\n", state);
		}
	}
	if (html && n)
		buf_adds(html, "</table>\n");
	if (missing) {
		char *why = xasprintf("Documents marked \"not attached\" would take this mail past the "
				      "limit of %s of attachments. CDT keeps every document with the "
				      "case: ask CDT for them (operators: cgenctl attachments %s).",
				      lim, case_id ? case_id : "CASE");
		if (text) {
			buf_addc(text, '\n');
			buf_adds(text, why);
			buf_addc(text, '\n');
		}
		if (html) {
			buf_addf(html, "<p style=\"margin:0 0 16px 0;" FONT "font-size:13px;line-height:19px;"
				       "color:%s\">", C_MUTED);
			esc(html, why);
			buf_adds(html, "</p>\n");
		}
		free(why);
	}
}

/* ---- templates as HTML ---- */

static const char *lookup(const struct strv *l, const char *name, size_t len)
{
	for (size_t i = 0; l && i + 1 < l->n; i += 2)
		if (strlen(l->v[i]) == len && memcmp(l->v[i], name, len) == 0)
			return l->v[i + 1];
	return NULL;
}

/* Expands src into b: {{x}} is the HTML of x when html_vars has it, else
 * the escaped text of x. Returns 0, or -1 with *err. */
static int expand_any(const char *tname, const char *src, const struct strv *vars,
		      const struct strv *html_vars, int literal_text, struct buf *b, char **err)
{
	for (const char *p = src; *p;) {
		if (p[0] == '{' && p[1] == '{') {
			const char *nm;
			size_t len, n = compose_placeholder(p, &nm, &len);
			if (n && !nm) {
				buf_adds(b, "{{");
				p += n;
				continue;
			}
			if (n) {
				const char *h = lookup(html_vars, nm, len);
				const char *v = h ? NULL : lookup(vars, nm, len);
				if (!h && !v) {
					*err = xasprintf("template %s: no value for {{%.*s}}", tname, (int)len, nm);
					return -1;
				}
				if (h)
					buf_adds(b, h);
				else
					mailview_html_text(b, v);
				p += n;
				continue;
			}
		}
		if (literal_text) {
			/* the text template's own words, escaped like values */
			size_t k = strcspn(p + 1, "{") + 1;
			char *lit = xstrndup(p, k);
			esc_text(b, lit, 1);
			free(lit);
			p += k;
		} else
			buf_addc(b, *p++);
	}
	return 0;
}

static int expand_html(const char *tname, const char *src, const struct strv *vars,
		       const struct strv *html_vars, struct buf *b, char **err)
{
	return expand_any(tname, src, vars, html_vars, 0, b, err);
}

/* "Case:", "Waiting on:": a line that starts with a short label. */
static int label_line(const char *s)
{
	size_t i = 0;
	while (s[i] && (isalpha((unsigned char)s[i]) || (s[i] == ' ' && i > 0)) && i < 24)
		i++;
	return i > 0 && s[i] == ':' && (s[i + 1] == ' ' || s[i + 1] == '\0');
}

/* The block a line holds when it is only "{{name}}" of an HTML block. */
static const char *block_line(const char *line, size_t n, const struct strv *html_vars)
{
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	if (n < 5 || line[0] != '{' || line[1] != '{')
		return NULL;
	const char *nm;
	size_t len, k = compose_placeholder(line, &nm, &len);
	return k == n && nm ? lookup(html_vars, nm, len) : NULL;
}

#define P_STYLE "margin:0 0 16px 0;" FONT "font-size:15px;line-height:22px;color:" C_TEXT
#define PRE_STYLE "margin:0 0 16px 0;font-family:Consolas,Menlo,'Courier New',monospace;" \
	"font-size:14px;line-height:20px;color:" C_TEXT

#define H2_STYLE "margin:8px 0 8px 0;" FONT "font-size:17px;line-height:24px;font-weight:bold;" \
	"color:#111827"

/* Ends the paragraph that starts at offset start of b: a paragraph of one
 * line that ends with ':' ("The request:") becomes a heading. */
static void close_par(struct buf *b, size_t start, size_t lines, int colon, int pre)
{
	if (lines == 1 && colon && !pre) {
		const char *in = strchr(b->s + start, '>') + 1;
		char *text = xstrndup(in, b->len - (size_t)(in - b->s) - 1); /* less the ':' */
		b->len = start;
		b->s[start] = '\0';
		buf_addf(b, "<h2 style=\"%s\">%s</h2>\n", H2_STYLE, text);
		free(text);
		return;
	}
	buf_adds(b, "</p>\n");
}

/* The fallback: text template body src as HTML paragraphs. Template lines
 * of one paragraph are joined (the source wraps prose at ~78 columns);
 * lines that start with a label, or indented lines, keep their breaks. */
static int text_to_html(const char *tname, const char *src, const struct strv *vars,
			const struct strv *html_vars, struct buf *b, char **err)
{
	int open = 0, pre = 0, colon = 0;
	size_t prev_len = 0, start = 0, lines = 0;
	const char *p = src;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n);
		const char *blk = block_line(p, n, html_vars);
		int blank = strspn(line, " \t") == n;
		int indented = !blank && (line[0] == ' ' || line[0] == '\t');
		if (blk || blank || (open && indented != pre)) {
			if (open)
				close_par(b, start, lines, colon, pre);
			open = 0;
		}
		if (blk)
			buf_adds(b, blk);
		else if (!blank) {
			if (!open) {
				start = b->len;
				lines = 0;
				buf_addf(b, "<p style=\"%s\">", indented ? PRE_STYLE : P_STYLE);
				pre = indented;
				open = 1;
			} else if (pre || prev_len < 56 || label_line(line))
				buf_adds(b, "<br>\n");
			else
				buf_addc(b, ' ');
			lines++;
			colon = n && line[n - 1] == ':';
			const char *s = line;
			if (pre)
				for (; *s == ' '; s++)
					buf_adds(b, "&#160;");
			if (expand_any(tname, s, vars, html_vars, 1, b, err) != 0) {
				free(line);
				return -1;
			}
		}
		prev_len = n;
		free(line);
		if (!nl)
			break;
		p = nl + 1;
	}
	if (open)
		close_par(b, start, lines, colon, pre);
	return 0;
}

/* The how-to-answer block: text lines and the buttons. */
static void answer_block(const struct mailview_in *in, const char *subject, struct buf *text,
			 struct buf *html)
{
	size_t uw = 0;
	for (size_t i = 0; i < in->n_cmds; i++) {
		size_t l = cps(in->cmds[i]->usage, strlen(in->cmds[i]->usage));
		uw = l > uw ? l : uw;
	}
	uw = uw + 3 > 32 ? 32 : uw + 3;
	buf_adds(text, "To answer, reply to this message with one of these on the first line\n"
		       "(the buttons of the HTML view prepare such a reply):\n");
	for (size_t i = 0; i < in->n_cmds; i++)
		text_row(text, 2, in->cmds[i]->usage, uw, in->cmds[i]->help);
	text->s[--text->len] = '\0'; /* the template ends the line */

	buf_addf(html, "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
		       "border=\"0\" style=\"margin:4px 0 16px 0\">\n<tr><td style=\"padding:0 0 10px 0;"
		       FONT "font-size:15px;line-height:22px;color:%s\">Answer with one click: each "
		       "button opens a reply with the command on its first line. Add a comment or the "
		       "reason after it, then send.</td></tr>\n<tr><td>\n", C_TEXT);
	for (size_t i = 0; i < in->n_cmds; i++) {
		const struct mailview_command *c = in->cmds[i];
		const char *bg = c->tone == MV_GO ? "#1a7f37" : c->tone == MV_STOP ? "#b42318" : "#ffffff";
		const char *fg = c->tone == MV_OTHER ? "#1d4ed8" : "#ffffff";
		const char *bd = c->tone == MV_OTHER ? "#1d4ed8" : bg;
		char *url = mailview_mailto(in->reply_addr, subject, c->word, in->key);
		buf_addf(html, "<table role=\"presentation\" align=\"left\" cellpadding=\"0\" "
			       "cellspacing=\"0\" border=\"0\" style=\"margin:0 10px 10px 0\"><tr>"
			       "<td bgcolor=\"%s\" style=\"background-color:%s;border:2px solid %s;"
			       "border-radius:6px;mso-padding-alt:10px 18px\"><a href=\"", bg, bg, bd);
		esc(html, url);
		buf_addf(html, "\" style=\"display:inline-block;padding:10px 18px;" FONT
			       "font-size:16px;line-height:20px;font-weight:bold;color:%s;"
			       "text-decoration:none;border-radius:6px\">", fg);
		esc(html, c->label);
		buf_adds(html, "</a></td></tr></table>\n");
		free(url);
	}
	buf_addf(html, "</td></tr>\n<tr><td style=\"padding:2px 0 0 0;" FONT "font-size:13px;"
		       "line-height:19px;color:%s\">Without the buttons, reply with one of these on the "
		       "first line:", C_MUTED);
	for (size_t i = 0; i < in->n_cmds; i++) {
		buf_adds(html, "<br>\n<code style=\"font-family:Consolas,Menlo,'Courier New',monospace;"
			       "color:#111827\">");
		esc(html, in->cmds[i]->usage);
		buf_adds(html, "</code> &#8211; ");
		esc(html, in->cmds[i]->help);
	}
	buf_adds(html, "</td></tr>\n</table>\n");
}

static void add2(struct strv *l, const char *name, const char *value)
{
	strv_add(l, name);
	strv_add(l, value ? value : "");
}

int mailview_render(const struct mailview_in *in, char **subject, char **text, char **html,
		    char **err)
{
	struct strv vars = {0}, hv = {0};
	struct buf at = {0}, ah = {0}, content = {0}, foot = {0}, body = {0};
	char *tbody = NULL, *heading = NULL, *pre = NULL;
	int rc = -1;
	*subject = *text = *html = NULL;
	const char *layout = templates_html(in->t, "layout");
	const char *src = templates_text(in->t, in->tmpl);
	if (!src) {
		*err = xasprintf("template %s: no such template", in->tmpl);
		return -1;
	}
	if (!layout) {
		*err = xasprintf("template %s: layout.html is missing", in->tmpl);
		return -1;
	}
	/* how_to_answer is the renderer's own */
	for (size_t i = 0; in->vars && i + 1 < in->vars->n; i += 2)
		if (strcmp(in->vars->v[i], "how_to_answer") != 0)
			add2(&vars, in->vars->v[i], in->vars->v[i + 1]);
	for (size_t i = 0; in->html_vars && i + 1 < in->html_vars->n; i += 2)
		if (strcmp(in->html_vars->v[i], "how_to_answer") != 0)
			add2(&hv, in->html_vars->v[i], in->html_vars->v[i + 1]);
	/* the subject first: the buttons' replies carry it */
	char *s0 = NULL, *b0 = NULL;
	add2(&vars, "how_to_answer", "");
	if (templates_render(in->t, in->tmpl, &vars, &s0, &b0, err) != 0)
		goto out;
	free(b0);
	*subject = s0;
	if (in->n_cmds)
		answer_block(in, *subject, &at, &ah);
	free(vars.v[vars.n - 1]);
	vars.v[vars.n - 1] = xstrdup(at.s ? at.s : "");
	add2(&hv, "how_to_answer", ah.s ? ah.s : "");
	/* where each part shows the commands: its template's {{how_to_answer}}, else the end */
	const char *own = templates_html(in->t, in->tmpl);
	int placed = strstr(src, "{{how_to_answer}}") != NULL;
	int placed_html = own ? strstr(own, "{{how_to_answer}}") != NULL : placed;

	/* text */
	char *s1;
	if (templates_render(in->t, in->tmpl, &vars, &s1, &tbody, err) != 0)
		goto out;
	free(s1);
	buf_adds(&body, tbody);
	if (in->n_cmds && !placed) {
		while (body.len && body.s[body.len - 1] == '\n')
			body.s[--body.len] = '\0';
		buf_addf(&body, "\n\n%s", at.s);
	}
	if (in->key && *in->key) {
		while (body.len && body.s[body.len - 1] == '\n')
			body.s[--body.len] = '\0';
		buf_addf(&body, "\n\n-- \nPlease reply above this line and keep this reference in your "
				"reply.\nRef: %s\n", in->key);
	}

	/* HTML: the kind's own template, or its text as paragraphs */
	if (own ? expand_html(in->tmpl, own, &vars, &hv, &content, err)
		: text_to_html(in->tmpl, src, &vars, &hv, &content, err))
		goto out;
	if (in->n_cmds && !placed_html)
		buf_adds(&content, ah.s);
	buf_addf(&foot, "This message was sent by the CGEN exemption agent");
	if (in->agent_name && *in->agent_name) {
		buf_adds(&foot, " (");
		esc(&foot, in->agent_name);
		buf_adds(&foot, ")");
	}
	buf_adds(&foot, ". Replies are read by the agent: put your command on the first line.");
	if (in->key && *in->key) {
		buf_adds(&foot, "<br>\nPlease keep this reference in your reply: <span style=\""
				"font-family:Consolas,Menlo,'Courier New',monospace\">Ref: ");
		esc(&foot, in->key);
		buf_adds(&foot, "</span>");
	}
	/* the heading is the subject without its case tag */
	const char *hd = *subject;
	if (hd[0] == '[' && strchr(hd, ']'))
		hd = strchr(hd, ']') + 1 + strspn(strchr(hd, ']') + 1, " ");
	heading = xstrdup(hd);
	const char *ph = lookup(&vars, "preheader", 9);
	if (!ph) {
		/* the first line of text */
		const char *t = body.s + strspn(body.s, " \n");
		pre = xstrndup(t, strcspn(t, "\n"));
		if (strlen(pre) > 140)
			pre[cp_prefix(pre, strlen(pre), 137)] = '\0';
	}
	struct strv lv = {0}, lh = {0};
	const char *tag = lookup(&vars, "case_id", 7);
	add2(&lv, "lang", "en");
	add2(&lv, "title", *subject);
	add2(&lv, "heading", heading);
	add2(&lv, "preheader", ph ? ph : pre);
	add2(&lv, "agent_name", in->agent_name && *in->agent_name ? in->agent_name : "CGEN Exemptions");
	char *tl = tag && *tag ? xasprintf("CGEN exemption requests \xc2\xb7 %s", tag)
			       : xstrdup("CGEN exemption requests");
	add2(&lv, "tagline", tl);
	free(tl);
	add2(&lh, "content", content.s ? content.s : "");
	add2(&lh, "footer", foot.s);
	struct buf page = {0};
	int r = expand_html("layout", layout, &lv, &lh, &page, err);
	strv_free(&lv);
	strv_free(&lh);
	if (r != 0) {
		buf_free(&page);
		goto out;
	}
	*html = buf_steal(&page);
	*text = buf_steal(&body);
	rc = 0;
out:
	if (rc != 0) {
		free(*subject);
		*subject = NULL;
	}
	free(pre);
	free(heading);
	free(tbody);
	buf_free(&at);
	buf_free(&ah);
	buf_free(&content);
	buf_free(&foot);
	buf_free(&body);
	strv_free(&vars);
	strv_free(&hv);
	return rc;
}
