/* Every mail kind, as the agent renders it (mailview_render, compose_flowed,
 * compose_message), with hostile and long values: the message is
 * multipart/alternative (text/plain format=flowed and text/html), no text
 * line passes 78 characters and the text reads back to the values, the HTML
 * parses with libxml2 without a single error, holds no script, no event
 * attribute and no link but the command buttons, and every button is a
 * mailto: to the keyed address of that recipient and step, with the subject
 * and the command's first line. Templates of the folder that the agent does
 * not list yet (new mail kinds) are rendered too: they get the HTML fallback. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "agent.h"
#include "compose.h"
#include "form.h"
#include "mailview.h"
#include "message.h"
#include "replykey.h"

static const char *const secret = "0123456789abcdef0123456789abcdef";
static char *long_word, *long_text;

static const char *hostile(size_t i)
{
	static const char *v[] = {
		"x\r\nBcc: eve@evil.example",
		"line one\nSubject: forged\n\nbody injection",
		"<script>alert(1)</script> & \"quotes\" 'single'",
		"\"><img src=x onerror=alert(1)><a href=\"javascript:alert(2)\">click</a>",
		"\xe2\x80\xae" "evil.exe\xe2\x80\xac" "pdf.txt (right-to-left override)",
		"ctl\x01\x02\x7f bytes\tand tab",
		"=?UTF-8?B?PGZvcmdlZD4=?= encoded word {{case_id}} {{{{",
		"From the start\n> quoted\n  indented line with a tail that runs on and on past the end "
		"of any reasonable line width for mail",
		"Fran\xc3\xa7ois M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x93\x8e",
		NULL, /* a 2,000-character word */
		NULL, /* 3,000 characters of words */
	};
	size_t n = ARRAY_LEN(v);
	if (v[i % n])
		return v[i % n];
	return i % n == n - 2 ? long_word : long_text;
}

/* Every {{name}} of text, once each, into out. */
static void placeholders(const char *text, struct strv *out)
{
	for (const char *p = text; p && (p = strstr(p, "{{"));) {
		const char *nm;
		size_t len, n = compose_placeholder(p, &nm, &len);
		if (nm) {
			char *name = xstrndup(nm, len);
			if (!strv_contains_ci(out, name))
				strv_add(out, name);
			free(name);
		}
		p += n ? n : 2;
	}
}

static int hexv(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Quoted-printable (CRLF) to LF text. */
static char *qp_decode(const char *s, size_t n)
{
	struct buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
			i += 2;
		else if (s[i] == '=' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			buf_addc(&b, (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2])));
			i += 2;
		} else if (s[i] != '\r')
			buf_addc(&b, s[i]);
	}
	if (!b.s)
		buf_adds(&b, "");
	return buf_steal(&b);
}

/* The decoded body of the part whose Content-Type starts with type. */
static char *part(const char *msg, const char *type, char *ctype_out, size_t ctype_len)
{
	char *needle = xasprintf("Content-Type: %s", type);
	const char *p = strstr(msg, needle);
	free(needle);
	if (!p)
		return NULL;
	const char *eol = strstr(p, "\r\n");
	snprintf(ctype_out, ctype_len, "%.*s", (int)(eol - p), p);
	const char *body = strstr(p, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	const char *end = strstr(body, "\r\n--=_cgen");
	assert_non_null(end);
	return qp_decode(body, (size_t)(end - body));
}

static size_t cps(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static char *pct_decode(const char *s, size_t n)
{
	struct buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n + 0 + 1 && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			buf_addc(&b, (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2])));
			i += 2;
		} else {
			/* RFC 6068: everything else in a query value is encoded */
			assert_true(strchr("%&=?#<>\"' ", s[i]) == NULL);
			buf_addc(&b, s[i]);
		}
	}
	if (!b.s)
		buf_adds(&b, "");
	return buf_steal(&b);
}

/* text without white space and control characters: what must survive
 * wrapping, stuffing and the reader's unwrapping, character for character. */
static char *normal(const char *s)
{
	struct buf b = {0};
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p > 0x20 && *p != 0x7f)
			buf_addc(&b, (char)*p);
	if (!b.s)
		buf_adds(&b, "");
	return buf_steal(&b);
}

struct expect {
	const char *addr;        /* the keyed reply address */
	const char *subject;
	const char *key;
	const struct mailview_command *const *cmds;
	size_t n_cmds;
	size_t links;
	const char *tmpl;
};

/* One mailto: link checked against what the recipient's step allows. */
static void check_mailto(const char *href, struct expect *e)
{
	if (strncmp(href, "mailto:", 7) != 0)
		fail_msg("%s: a link that is not mailto: %s", e->tmpl, href);
	const char *q = strchr(href + 7, '?');
	assert_non_null(q);
	char *to = xstrndup(href + 7, (size_t)(q - href - 7));
	assert_string_equal(to, e->addr);
	free(to);
	char *subject = NULL, *body = NULL;
	for (const char *p = q + 1; *p;) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		assert_non_null(eq);
		char *v = pct_decode(eq + 1, n - (size_t)(eq + 1 - p));
		if ((size_t)(eq - p) == 7 && strncmp(p, "subject", 7) == 0)
			subject = v;
		else if ((size_t)(eq - p) == 4 && strncmp(p, "body", 4) == 0)
			body = v;
		else
			fail_msg("%s: unexpected mailto field %.*s", e->tmpl, (int)(eq - p), p);
		p += n + (p[n] == '&');
	}
	assert_non_null(subject);
	assert_non_null(body);
	char *want = xasprintf("Re: %s", e->subject);
	assert_string_equal(subject, want);
	free(want);
	/* the first line is one of the recipient's commands, the key below */
	char *first = xstrndup(body, strcspn(body, "\r\n"));
	int found = 0;
	for (size_t i = 0; i < e->n_cmds && !found; i++) {
		char *w = xstrdup(e->cmds[i]->word);
		found = strcmp(str_trim(w), str_trim(first)) == 0;
		free(w);
	}
	if (!found)
		fail_msg("%s: first line \"%s\" is no command of this recipient", e->tmpl, first);
	char *ref = xasprintf("\r\n-- \r\nRef: %s", e->key);
	assert_non_null(strstr(body, ref));
	free(ref);
	free(first);
	free(subject);
	free(body);
	e->links++;
}

static void walk(xmlNode *n, struct expect *e, int *hostile_text)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE) {
			const char *name = (const char *)n->name;
			if (strcasecmp(name, "script") == 0 || strcasecmp(name, "img") == 0 ||
			    strcasecmp(name, "iframe") == 0 || strcasecmp(name, "style") == 0)
				fail_msg("%s: element <%s> in the HTML", e->tmpl, name);
			for (xmlAttr *a = n->properties; a; a = a->next) {
				if (strncasecmp((const char *)a->name, "on", 2) == 0)
					fail_msg("%s: event attribute %s", e->tmpl, a->name);
				xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
				int url = strcasecmp((const char *)a->name, "href") == 0 ||
					  strcasecmp((const char *)a->name, "src") == 0 ||
					  strcasecmp((const char *)a->name, "action") == 0 ||
					  strcasecmp((const char *)a->name, "background") == 0 ||
					  strcasecmp((const char *)a->name, "style") == 0;
				if (v && url && strcasestr((const char *)v, "javascript:"))
					fail_msg("%s: javascript: in attribute %s", e->tmpl, a->name);
				if (strcasecmp(name, "a") == 0 && strcasecmp((const char *)a->name, "href") == 0)
					check_mailto((const char *)v, e);
				xmlFree(v);
			}
		} else if (n->type == XML_TEXT_NODE && n->content &&
			   strstr((const char *)n->content, "<script>alert(1)</script>"))
			(*hostile_text)++;
		walk(n->children, e, hostile_text);
	}
}

static int html_errors;
static void count_error(void *ctx, xmlErrorPtr err)
{
	(void)ctx;
	if (err->level >= XML_ERR_ERROR) {
		html_errors++;
		print_message("# libxml2: line %d: %s", err->line, err->message);
	}
}

/* Renders template tmpl for a recipient in role r of a case in state s and
 * checks the whole message. Returns the number of command links. */
static size_t check_one(const struct templates *t, const char *tmpl, enum role r,
			enum case_state s, size_t salt, int keyed)
{
	struct strv names = {0}, vars = {0}, hv = {0};
	placeholders(templates_subject(t, tmpl), &names);
	placeholders(templates_text(t, tmpl), &names);
	placeholders(templates_html(t, tmpl), &names);
	/* the blocks, built from hostile data as the agent builds them */
	char *fj = NULL;
	{
		struct form f = {0};
		struct form_service sv[2] = {{3, xstrdup(hostile(salt + 2)), xstrdup(hostile(salt + 9))},
					     {1, xstrdup(hostile(salt + 3)), xstrdup(hostile(salt + 10))}};
		struct form_cost ci[2] = {{xstrdup(hostile(salt + 4)), 120000}, {xstrdup(long_word), 9636000}};
		f.entity = xstrdup(hostile(salt));
		f.services = sv;
		f.n_services = 2;
		f.reason = xstrdup(hostile(salt + 10));
		f.provider = xstrdup(hostile(salt + 3));
		f.has_total_cost = 1;
		f.total_cost = 9756000;
		f.cost_items = ci;
		f.n_cost_items = 2;
		fj = form_fields_json(&f);
		for (int i = 0; i < 2; i++) {
			free(sv[i].type);
			free(sv[i].address);
			free(ci[i].item);
		}
		f.services = NULL;
		f.n_services = 0;
		f.cost_items = NULL;
		f.n_cost_items = 0;
		form_free(&f);
	}
	struct buf bt = {0}, bh = {0};
	assert_true(mailview_request(fj, hostile(salt + 1), &bt, &bh) > 5);
	strv_add(&hv, "summary");
	strv_add(&hv, bh.s);
	buf_free(&bh);
	struct event_rec ev[4] = {
		{.kind = "approved", .actor = "aio@water.ca.gov", .detail = (char *)hostile(salt + 2), .at = 1795708800},
		{.kind = "info_requested", .actor = "review1@cdt.ca.gov", .detail = (char *)hostile(salt + 3), .at = 1795712400},
		{.kind = "info_answered", .actor = (char *)hostile(salt + 1), .detail = long_text, .at = 1795716000},
		{.kind = "note", .actor = "review1@cdt.ca.gov", .detail = (char *)hostile(salt + 6), .at = 1795719600},
	};
	struct strv people = {0};
	strv_add(&people, "aio@water.ca.gov");
	strv_add(&people, hostile(salt + 3));
	struct buf ht = {0};
	assert_int_equal(mailview_history(ev, 4, &people, &ht, &bh), 4);
	strv_add(&hv, "history");
	strv_add(&hv, bh.s);
	buf_free(&bh);
	struct mailview_doc docs[2] = {{hostile(salt + 4), "application/pdf", 123456, 1},
				       {long_word, "application/pdf", 20000000, 0}};
	struct buf dt = {0};
	mailview_documents(docs, 2, 10485760, "CGEN-2026-0007", &dt, &bh);
	strv_add(&hv, "documents");
	strv_add(&hv, bh.s);
	buf_free(&bh);
	for (size_t i = 0; i < names.n; i++) {
		strv_add(&vars, names.v[i]);
		if (strcmp(names.v[i], "summary") == 0)
			strv_add(&vars, bt.s);
		else if (strcmp(names.v[i], "history") == 0)
			strv_add(&vars, ht.s);
		else if (strcmp(names.v[i], "documents") == 0)
			strv_add(&vars, dt.s);
		else if (strcmp(names.v[i], "case_id") == 0)
			strv_add(&vars, "CGEN-2026-0007");
		else
			strv_add(&vars, hostile(i + salt));
	}

	const char *to = "dana.lee@water.ca.gov";
	char key[REPLYKEY_LEN + 1];
	replykey_make(secret, "CGEN-2026-0007", 3, role_name(r), to, key);
	char *reply = xasprintf("cgen+%s@cdt.ca.gov", key);
	const struct mailview_command *cmds[16];
	struct case_rec cs = {.id = "CGEN-2026-0007", .state = s};
	size_t ncmds = keyed ? mailview_commands(r, &cs, cmds, ARRAY_LEN(cmds)) : 0;
	struct mailview_in mi = {
		.t = t,
		.tmpl = tmpl,
		.vars = &vars,
		.html_vars = &hv,
		.key = keyed ? key : NULL,
		.reply_addr = reply,
		.cmds = cmds,
		.n_cmds = ncmds,
		.agent_name = "<script>alert(1)</script> Agent",
	};
	char *subject, *text, *html, *err = NULL;
	if (mailview_render(&mi, &subject, &text, &html, &err) != 0)
		fail_msg("%s: %s", tmpl, err);
	char *flowed = compose_flowed(text);
	struct strv rc = {0};
	strv_add(&rc, to);
	struct outmail_att att = {hostile(salt + 4), "application/pdf", "%PDF-1.4 test", 13};
	struct outmail om = {
		.from = "CGEN Exemptions <cgen@cdt.ca.gov>",
		.reply_to = reply,
		.to = &rc,
		.subject = subject,
		.body = flowed,
		.message_id = "cgen.test.1@cdt.ca.gov",
		.date = 1795712400,
		.html = html,
		.atts = &att,
		.n_atts = salt % 2,
		.flowed = 1,
	};
	size_t len;
	char *msg = compose_message(&om, &len);

	/* multipart/alternative of flowed text and HTML */
	assert_non_null(strstr(msg, "Content-Type: multipart/alternative;"));
	char ct[200];
	char *tp = part(msg, "text/plain", ct, sizeof ct);
	assert_non_null(tp);
	assert_non_null(strstr(ct, "format=flowed; delsp=yes"));
	char *hp = part(msg, "text/html", ct, sizeof ct);
	assert_non_null(hp);
	assert_string_equal(hp, html);
	/* text: no line over 78 characters */
	for (const char *p = tp; *p;) {
		size_t n = strcspn(p, "\n");
		if (cps(p, n) > 78)
			fail_msg("%s: text line of %zu characters: %.*s", tmpl, cps(p, n), (int)n, p);
		p += n + (p[n] == '\n');
	}
	/* and it reads back (format=flowed undone) to the text rendered */
	struct message m = {0};
	assert_int_equal(message_parse(msg, len, &m), 0);
	char *got = normal(m.text), *want = normal(text);
	if (strcmp(got, want) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		fail_msg("%s: text reads back differently at byte %zu: \"%.40s\" vs \"%.40s\"", tmpl, i,
			 got + i, want + i);
	}
	assert_int_equal(m.n_att, (size_t)(salt % 2));
	message_free(&m);
	free(got);
	free(want);

	/* HTML: libxml2 reads it without an error */
	html_errors = 0;
	htmlParserCtxtPtr ctx = htmlNewParserCtxt();
	xmlSetStructuredErrorFunc(NULL, count_error);
	htmlDocPtr doc = htmlCtxtReadMemory(ctx, html, (int)strlen(html), "mail.html", "UTF-8",
					    HTML_PARSE_NONET);
	assert_non_null(doc);
	if (html_errors)
		fail_msg("%s: %d libxml2 errors in the HTML", tmpl, html_errors);
	xmlNode *root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "html");
	xmlChar *lang = xmlGetProp(root, (const xmlChar *)"lang");
	assert_non_null(lang);
	assert_string_equal((const char *)lang, "en");
	xmlFree(lang);
	assert_null(strcasestr(html, "<script"));
	assert_null(strcasestr(html, "<img"));
	struct expect e = {reply, subject, key, cmds, ncmds, 0, tmpl};
	int hostile_text = 0;
	walk(root, &e, &hostile_text);
	/* one button per command, all checked; hostile markup shows as text */
	assert_int_equal(e.links, ncmds);
	assert_true(hostile_text > 0);
	assert_non_null(strstr(html, "role=\"presentation\""));
	if (keyed) {
		char *ref = xasprintf("Ref: %s", key);
		assert_non_null(strstr(tp, ref));
		assert_non_null(strstr(html, ref));
		free(ref);
		/* every command is spelled out in the text too */
		for (size_t i = 0; i < ncmds; i++)
			if (!strstr(tp, cmds[i]->usage))
				fail_msg("%s: command %s not in the text", tmpl, cmds[i]->usage);
	}
	xmlFreeDoc(doc);
	htmlFreeParserCtxt(ctx);
	xmlSetStructuredErrorFunc(NULL, NULL);

	size_t links = e.links;
	free(tp);
	free(hp);
	free(msg);
	strv_free(&rc);
	free(flowed);
	free(subject);
	free(text);
	free(html);
	free(reply);
	free(fj);
	buf_free(&bt);
	buf_free(&ht);
	buf_free(&dt);
	strv_free(&people);
	strv_free(&names);
	strv_free(&vars);
	strv_free(&hv);
	return links;
}

static struct templates *load(void)
{
	const char *top = getenv("top_srcdir");
	if (!top)
		return NULL;
	char *dir = xasprintf("%s/templates", top);
	struct templates *t = NULL;
	struct strv errs = {0};
	if (templates_load(dir, agent_templates, &t, &errs) != 0)
		fail_msg("templates: %s", errs.n ? errs.v[0] : "?");
	strv_free(&errs);
	free(dir);
	return t;
}

static void setup_values(void)
{
	long_word = xmalloc(2001);
	memset(long_word, 'N', 2000);
	long_word[2000] = '\0';
	struct buf b = {0};
	while (b.len < 3000)
		buf_adds(&b, "lorem ipsum dolor sit amet, consectetur adipiscing elit, ");
	long_text = buf_steal(&b);
}

static void free_values(void)
{
	free(long_word);
	free(long_text);
}

/* Every template of the folder, each for a keyed recipient. */
static void t_every_kind(void **state)
{
	(void)state;
	struct templates *t = load();
	if (!t)
		skip();
	setup_values();
	const char *top = getenv("top_srcdir");
	char *dir = xasprintf("%s/templates", top);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	size_t kinds = 0, links = 0;
	static const enum role roles[] = {ROLE_REQUESTER, ROLE_AIO, ROLE_CIO, ROLE_CDT, ROLE_CTO};
	static const enum case_state states[] = {ST_INCOMPLETE, ST_AWAITING_APPROVALS, ST_AWAITING_APPROVALS,
						 ST_CDT_REVIEW, ST_CTO_DECISION};
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
			continue;
		char *name = xstrndup(de->d_name, n - 4);
		for (size_t k = 0; k < ARRAY_LEN(roles); k++)
			links += check_one(t, name, roles[k], states[k], kinds + k, 1);
		check_one(t, name, ROLE_NONE, ST_GRANTED, kinds, 0);
		free(name);
		kinds++;
	}
	closedir(d);
	free(dir);
	assert_true(kinds >= 25);
	assert_true(links >= kinds * 5);
	free_values();
	templates_free(t);
}

/* The approval request, for each role in each state: the buttons are those of
 * the recipient and step, and nothing else. */
static void t_buttons_follow_the_data(void **state)
{
	(void)state;
	struct templates *t = load();
	if (!t)
		skip();
	setup_values();
	for (int r = ROLE_REQUESTER; r < ROLE__COUNT; r++)
		for (int s = 0; s < ST__COUNT; s++) {
			const struct mailview_command *c[16];
			struct case_rec cs = {.id = "CGEN-2026-0007", .state = (enum case_state)s};
			size_t n = mailview_commands((enum role)r, &cs, c, 16);
			assert_int_equal(check_one(t, "approval-request", (enum role)r, (enum case_state)s,
						   (size_t)(r * 11 + s), 1), n);
			/* STATUS always; the decisions only in their state */
			int approve = 0, status = 0;
			for (size_t i = 0; i < n; i++) {
				approve |= strncmp(c[i]->word, "APPROVE", 7) == 0;
				status |= strcmp(c[i]->word, "STATUS") == 0;
			}
			assert_true(status);
			assert_int_equal(approve, ((r == ROLE_AIO || r == ROLE_CIO) && s == ST_AWAITING_APPROVALS) ||
						  (r == ROLE_CTO && s == ST_CTO_DECISION));
		}
	free_values();
	templates_free(t);
}

static void t_headline(void **state)
{
	(void)state;
	struct { const char *json, *code, *want; } cases[] = {
		{"{\"services\":[{\"quantity\":2,\"type\":\"DIA\",\"address\":\"34534 116th St E, Pearblossom, CA 93553\"}],\"total_cost\":9756000}",
		 "DWR", "DWR, Pearblossom, $97,560"},
		{"{\"services\":[{\"quantity\":1,\"type\":\"x\",\"address\":\"1325 J Street, Sacramento\"},"
		 "{\"quantity\":1,\"type\":\"y\",\"address\":\"3500 Industrial Blvd, West Sacramento, CA 95691\"},"
		 "{\"quantity\":1,\"type\":\"z\",\"address\":\"1 Main St, Sacramento, California\"}],\"total_cost\":120050}",
		 "CDT", "CDT, Sacramento and 1 more site, $1,200.50"},
		{"{\"entity\":\"Water\"}", NULL, "Water"},
		{"not json", "DMV", "DMV"},
		{NULL, NULL, ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *h = mailview_headline(cases[i].json, cases[i].code);
		assert_string_equal(h, cases[i].want);
		free(h);
	}
}

/* format=flowed: long prose and long words come back exactly. */
static void t_flowed(void **state)
{
	(void)state;
	setup_values();
	char *in = xasprintf("Short line.\n%s\n  - an indented item %s\n>not a quote\nFrom here\n-- \nRef: k\n",
			     long_text, long_text);
	char *out = compose_flowed(in);
	for (const char *p = out; *p;) {
		size_t n = strcspn(p, "\n");
		assert_true(cps(p, n) <= 78);
		p += n + 1;
	}
	assert_non_null(strstr(out, "\n >not a quote\n"));
	assert_non_null(strstr(out, "\n From here\n"));
	assert_non_null(strstr(out, "\n-- \nRef: k\n"));
	char *w = compose_flowed(long_word);
	/* the 2,000-character word: soft breaks (a trailing space) only */
	size_t letters = 0;
	for (const char *p = w; *p; p++)
		letters += *p == 'N';
	assert_int_equal(letters, 2000);
	free(w);
	free(out);
	free(in);
	free_values();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_headline),
		cmocka_unit_test(t_flowed),
		cmocka_unit_test(t_every_kind),
		cmocka_unit_test(t_buttons_follow_the_data),
	};
	return cmocka_run_group_tests_name("mails", tests, NULL, NULL);
}
