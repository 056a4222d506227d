/* Unit tests of message: header rules, RFC 2047, kinds and notices, MIME
 * part shapes and text choice, HTML to text, charsets, format=flowed,
 * attachments (RFC 2231, sha256), S/MIME, unreadable bodies, broken input,
 * and the public corpora in ../shared/corpora. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "message.h"
#include "util.h"

/* Parses s (LF line ends as written) and asserts success. */
static void parse_ok(const char *s, struct message *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(message_parse(s, strlen(s), m), 0);
}

static void t_headers(void **state)
{
	(void)state;
	static const char mail[] =
		"Return-Path: <jane@agency.ca.gov>\n"
		"Delivered-To: cgen@cdt.ca.gov\n"
		"X-Original-To: CGEN+abc@cdt.ca.gov\n"
		"Authentication-Results: mx.cdt.ca.gov;\n"
		"\tdkim=pass header.d=agency.ca.gov;\n"
		"  spf=pass\n"
		"Authentication-Results: other.example; spf=fail\n"
		"delivered-to: second@cdt.ca.gov\n"
		"FROM: \"Doe, Jane\" <Jane.Doe@Agency.CA.gov>\n"
		"Reply-To: Someone Else <Other@Example.ORG>\n"
		"To: cgen@cdt.ca.gov, Team: a@x.ca.gov, B <b@x.ca.gov>;\n"
		"Cc: <c@x.ca.gov>\n"
		"cc: d@x.ca.gov (Dee)\n"
		"Subject: CGEN request\n"
		"Message-ID: <abc.123@agency.ca.gov>\n"
		"In-Reply-To: <first@cdt.ca.gov> <second@cdt.ca.gov>\n"
		"References: <r1@x> <r2@y>\n"
		" <r3@z>\n"
		"Date: Mon, 2 Mar 2026 10:00:00 -0800\n"
		"\n"
		"Body\n";
	struct message m;

	parse_ok(mail, &m);
	assert_string_equal(m.from_addr, "jane.doe@agency.ca.gov");
	assert_string_equal(m.from_name, "Doe, Jane");
	assert_int_equal(m.from_count, 1);
	assert_string_equal(m.reply_to, "other@example.org");
	assert_int_equal(m.to.n, 5);
	assert_string_equal(m.to.v[0], "cgen@cdt.ca.gov");
	assert_string_equal(m.to.v[1], "a@x.ca.gov");
	assert_string_equal(m.to.v[2], "b@x.ca.gov");
	assert_string_equal(m.to.v[3], "c@x.ca.gov");
	assert_string_equal(m.to.v[4], "d@x.ca.gov");
	assert_int_equal(m.delivered_to.n, 3);
	assert_string_equal(m.delivered_to.v[0], "cgen@cdt.ca.gov");
	assert_string_equal(m.delivered_to.v[1], "cgen+abc@cdt.ca.gov");
	assert_string_equal(m.delivered_to.v[2], "second@cdt.ca.gov");
	assert_string_equal(m.subject, "CGEN request");
	assert_string_equal(m.message_id, "abc.123@agency.ca.gov");
	assert_string_equal(m.in_reply_to, "first@cdt.ca.gov");
	assert_int_equal(m.references.n, 3);
	assert_string_equal(m.references.v[0], "r1@x");
	assert_string_equal(m.references.v[2], "r3@z");
	assert_string_equal(m.date, "Mon, 2 Mar 2026 10:00:00 -0800");
	assert_string_equal(m.auth_results,
			    "mx.cdt.ca.gov; dkim=pass header.d=agency.ca.gov; spf=pass");
	assert_int_equal(m.kind, MSG_NORMAL);
	assert_null(m.kind_reason);
	assert_string_equal(m.text, "Body\n");
	assert_int_equal(m.n_att, 0);
	assert_int_equal(m.bounce_ids.n, 0);
	message_free(&m);
}

static void t_header_fallbacks(void **state)
{
	(void)state;
	struct message m;

	/* two From mailboxes; ids libetpan cannot parse; no Subject/Date */
	parse_ok("From: a@x.org, B <b@y.org>\n"
		 "To: \"broken <x@y.org>; z@w.org\n"
		 "Message-ID: plain-id@host\n"
		 "In-Reply-To: Your message of Monday <orig@host.example>\n"
		 "\n", &m);
	assert_null(m.from_addr);
	assert_int_equal(m.from_count, 2);
	assert_null(m.from_name);
	assert_string_equal(m.subject, "");
	assert_null(m.date);
	assert_null(m.reply_to);
	assert_string_equal(m.message_id, "plain-id@host");
	assert_string_equal(m.in_reply_to, "orig@host.example");
	assert_string_equal(m.text, "");
	message_free(&m);

	/* stray ')' in an address the fallback scanner must step over */
	parse_ok("From: a@x.org\nDelivered-To: cgen@cdt.ca.gov System)\nTo: b@x.org) c\n\n", &m);
	assert_int_equal(m.delivered_to.n, 1);
	assert_string_equal(m.delivered_to.v[0], "cgen@cdt.ca.gov");
	assert_int_equal(m.to.n, 1);
	assert_string_equal(m.to.v[0], "b@x.org");
	message_free(&m);

	/* a broken From falls back to the <addr-spec> */
	parse_ok("From: Jane [Agency] <Jane@Agency.ca.gov>\n\nx", &m);
	assert_string_equal(m.from_addr, "jane@agency.ca.gov");
	assert_int_equal(m.from_count, 1);
	assert_string_equal(m.from_name, "Jane [Agency]");
	message_free(&m);
}

static void t_rfc2047(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *want;
	} subj[] = {
		{ "=?UTF-8?B?4oKsIHJhdGVz?=", "\xe2\x82\xac rates" },
		/* one character split across two encoded words */
		{ "=?UTF-8?B?4o==?= =?UTF-8?B?gqw=?= rates", "\xe2\x82\xac rates" },
		{ "=?utf-8?q?=E2=82?=\n =?utf-8?q?=AC?=", "\xe2\x82\xac" },
		{ "=?ISO-8859-1?Q?Caf=E9_cr=E8me?= ok", "Caf\xc3\xa9 cr\xc3\xa8me ok" },
		{ "Re: =?iso-8859-1?q?d=E9j=E0?= vu", "Re: d\xc3\xa9j\xc3\xa0 vu" },
		{ "=?utf-8*en?Q?lang_tag?=", "lang tag" },
		{ "=?x-unknown?Q?caf=C3=A9?=", "caf\xc3\xa9" },
		{ "Stra\xc3\x9f" "e", "Stra\xc3\x9f" "e" },        /* raw UTF-8 kept */
		{ "Caf\xe9 \x80 5", "Caf\xc3\xa9 \xe2\x82\xac 5" }, /* raw windows-1252 */
		{ "not =?encoded", "not =?encoded" },
	};
	for (size_t i = 0; i < ARRAY_LEN(subj); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\nSubject: %s\n\nx\n", subj[i].raw);

		parse_ok(mail, &m);
		assert_string_equal(m.subject, subj[i].want);
		message_free(&m);
		free(mail);
	}

	struct message m;
	parse_ok("From: =?UTF-8?B?SsO8cmdlbg==?= =?ISO-8859-1?Q?_M=FCller?= <j@x.de>\n\nx", &m);
	assert_string_equal(m.from_name, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_string_equal(m.from_addr, "j@x.de");
	message_free(&m);
	parse_ok("From: \"Ingo L\xfc" "tkebohle\" <ingo@blank.pages.de>\n\nx", &m);
	assert_string_equal(m.from_name, "Ingo L\xc3\xbctkebohle");
	message_free(&m);
}

static void t_kinds(void **state)
{
	(void)state;
	static const struct {
		const char *headers;
		enum msg_kind kind;
		const char *reason;
	} cases[] = {
		{ "Auto-Submitted: auto-replied\n", MSG_AUTO_REPLY, "Auto-Submitted: auto-replied" },
		{ "Auto-Submitted: Auto-Generated; owner-email=x@y\n", MSG_AUTO_REPLY,
		  "Auto-Submitted: Auto-Generated" },
		{ "Auto-Submitted: No\n", MSG_NORMAL, NULL },
		{ "auto-submitted: no ; comment\n", MSG_NORMAL, NULL },
		{ "Precedence: bulk\n", MSG_AUTO_REPLY, "Precedence: bulk" },
		{ "Precedence: JUNK\n", MSG_AUTO_REPLY, "Precedence: junk" },
		{ "Precedence: list\n", MSG_AUTO_REPLY, "Precedence: list" },
		{ "Precedence: first-class\n", MSG_NORMAL, NULL },
		{ "X-Autoreply: yes\n", MSG_AUTO_REPLY, "X-Autoreply" },
		{ "X-Autorespond: on\n", MSG_AUTO_REPLY, "X-Autorespond" },
		{ "X-Auto-Response-Suppress: All\n", MSG_NORMAL, NULL },
		{ "Return-Path: <>\n", MSG_AUTO_REPLY, "Return-Path: <>" },
		{ "Return-Path: < >\n", MSG_AUTO_REPLY, "Return-Path: <>" },
		{ "Return-Path: <a@b.org>\n", MSG_NORMAL, NULL },
		{ "Subject: Out of Office: CGEN request\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Out of Office" },
		{ "Subject: Automatic reply: CGEN request\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Automatic reply:" },
		{ "Subject: AutoReply: x\n", MSG_AUTO_REPLY, "out-of-office subject: Autoreply" },
		{ "Subject: [Auto-Reply] x\n", MSG_AUTO_REPLY, "out-of-office subject: Auto-Reply" },
		{ "Subject: Auto reply: x\n", MSG_AUTO_REPLY, "out-of-office subject: Auto reply" },
		{ "Subject: Abwesenheitsnotiz: x\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Abwesenheitsnotiz" },
		{ "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_x?=\n", MSG_AUTO_REPLY,
		  "out-of-office subject: R\xc3\xa9ponse automatique" },
		{ "Subject: =?UTF-8?Q?Respuesta_autom=C3=A1tica:_x?=\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Respuesta autom\xc3\xa1tica" },
		{ "Subject: Fuori sede: x\n", MSG_AUTO_REPLY, "out-of-office subject: Fuori sede" },
		{ "Subject: Afwezig: x\n", MSG_AUTO_REPLY, "out-of-office subject: Afwezig" },
		{ "Subject: =?UTF-8?Q?Fr=C3=A5nvaro:_x?=\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Fr\xc3\xa5nvaro" },
		{ "Subject: =?UTF-8?Q?Frav=C3=A6r:_x?=\n", MSG_AUTO_REPLY,
		  "out-of-office subject: Frav\xc3\xa6r" },
		{ "Subject: Poissa: x\n", MSG_AUTO_REPLY, "out-of-office subject: Poissa" },
		{ "Subject: Re: the out of office policy\n", MSG_NORMAL, NULL },
		/* mailer-daemon notices are bounces, which win over auto-reply signals */
		{ "From: Mail Delivery System <MAILER-DAEMON@mx.example>\n"
		  "Auto-Submitted: auto-replied\nSubject: Undelivered Mail Returned to Sender\n",
		  MSG_BOUNCE, "mailer-daemon notice: Undelivered" },
		{ "From: postmaster@mx.example\nSubject: Delivery Status Notification (Failure)\n",
		  MSG_BOUNCE, "mailer-daemon notice: Delivery Status" },
		{ "From: MAILER-DAEMON <>\nSubject: Mail delivery failed: returning message\n",
		  MSG_BOUNCE, "mailer-daemon notice: Mail delivery failed" },
		{ "From: mailer-daemon@mx.example\nSubject: Returned mail: see transcript\n",
		  MSG_BOUNCE, "mailer-daemon notice: Returned mail" },
		{ "From: postmaster@mx.example\nSubject: Undeliverable: CGEN\n",
		  MSG_BOUNCE, "mailer-daemon notice: Undeliverable" },
		{ "From: postmaster@agency.ca.gov\nSubject: Question about CGEN\n", MSG_NORMAL, NULL },
		{ "From: postmaster@mx.example\nReturn-Path: <>\nSubject: Server notice\n",
		  MSG_BOUNCE, "mailer-daemon notice: Return-Path: <>" },
		{ "Return-Path: <>\nSubject: Undeliverable Message\n", MSG_BOUNCE,
		  "null sender notice: Undeliverable" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		const char *from = strstr(cases[i].headers, "From:") ? "" : "From: a@b.org\n";
		char *mail = xasprintf("%s%s\nHello\n", from, cases[i].headers);

		parse_ok(mail, &m);
		if (m.kind != cases[i].kind)
			fail_msg("case %zu: kind %d, want %d", i, m.kind, cases[i].kind);
		if (cases[i].reason == NULL)
			assert_null(m.kind_reason);
		else
			assert_string_equal(m.kind_reason, cases[i].reason);
		message_free(&m);
		free(mail);
	}
}

static const char dsn[] =
	"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
	"To: cgen@cdt.ca.gov\n"
	"Subject: Undelivered Mail Returned to Sender\n"
	"Message-ID: <dsn.1@mx.example.net>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=\"Delivery-Status\";\n"
	"\tboundary=\"B1\"\n"
	"\n"
	"This is a MIME-encapsulated message.\n"
	"\n"
	"--B1\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"I'm sorry to have to inform you that your message could not\n"
	"be delivered.\n"
	"\n"
	"--B1\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Reporting-MTA: dns; mx.example.net\n"
	"\n"
	"Final-Recipient: rfc822; nobody@agency.ca.gov\n"
	"Action: failed\n"
	"Status: 5.1.1\n"
	"\n"
	"--B1\n"
	"Content-Type: text/rfc822-headers\n"
	"\n"
	"From: CGEN <cgen@cdt.ca.gov>\n"
	"To: nobody@agency.ca.gov\n"
	"Subject: [CGEN-2026-0042] received\n"
	"Message-ID: <cgen.KEY123@cdt.ca.gov>\n"
	"In-Reply-To: <req.1@agency.ca.gov>\n"
	"\n"
	"--B1--\n";

static void t_dsn(void **state)
{
	(void)state;
	struct message m;

	parse_ok(dsn, &m);
	assert_int_equal(m.kind, MSG_BOUNCE);
	assert_string_equal(m.kind_reason, "delivery status report");
	assert_int_equal(m.bounce_ids.n, 2);
	assert_string_equal(m.bounce_ids.v[0], "cgen.KEY123@cdt.ca.gov");
	assert_string_equal(m.bounce_ids.v[1], "req.1@agency.ca.gov");
	assert_string_equal(m.text, "I'm sorry to have to inform you that your message could not\n"
			    "be delivered.\n");
	assert_string_equal(m.message_id, "dsn.1@mx.example.net");
	/* the machine-readable parts are non-text leaves */
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].type, "message/delivery-status");
	assert_null(m.att[0].name);
	message_free(&m);

	/* a plain mailer-daemon notice quoting the original header */
	parse_ok("From: MAILER-DAEMON@mx.example.net\n"
		 "Subject: failure notice\n"
		 "\n"
		 "Sorry, I couldn't deliver.\n"
		 "--- Below this line is a copy of the message.\n"
		 "\n"
		 "Return-Path: <cgen@cdt.ca.gov>\n"
		 "Message-Id: <cgen.KEY9@cdt.ca.gov>\n"
		 "Subject: x\n", &m);
	assert_int_equal(m.kind, MSG_BOUNCE);
	assert_string_equal(m.kind_reason, "mailer-daemon notice: failure notice");
	assert_int_equal(m.bounce_ids.n, 1);
	assert_string_equal(m.bounce_ids.v[0], "cgen.KEY9@cdt.ca.gov");
	message_free(&m);
}

static void t_arf(void **state)
{
	(void)state;
	static const char arf[] =
		"From: abuse@isp.example\n"
		"Subject: FW: complaint\n"
		"Auto-Submitted: auto-generated\n"
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"ARF\"\n"
		"\n"
		"--ARF\n"
		"Content-Type: text/plain\n"
		"\n"
		"This is an email abuse report.\n"
		"--ARF\n"
		"Content-Type: message/feedback-report\n"
		"\n"
		"Feedback-Type: abuse\n"
		"User-Agent: SomeGenerator/1.0\n"
		"Version: 1\n"
		"Original-Message-ID: <orig.arf@cdt.ca.gov>\n"
		"\n"
		"--ARF\n"
		"Content-Type: message/rfc822\n"
		"Content-Disposition: inline\n"
		"\n"
		"From: cgen@cdt.ca.gov\n"
		"Message-ID: <orig.arf@cdt.ca.gov>\n"
		"Subject: [CGEN-2026-0001]\n"
		"\n"
		"original body\n"
		"--ARF--\n";
	struct message m;

	parse_ok(arf, &m);
	assert_int_equal(m.kind, MSG_COMPLAINT);
	assert_string_equal(m.kind_reason, "feedback report");
	assert_int_equal(m.bounce_ids.n, 1);
	assert_string_equal(m.bounce_ids.v[0], "orig.arf@cdt.ca.gov");
	assert_string_equal(m.text, "This is an email abuse report.");
	message_free(&m);
}

static void t_alternative(void **state)
{
	(void)state;
	struct message m;

	parse_ok("From: a@b.org\n"
		 "Content-Type: multipart/mixed; boundary=out\n"
		 "\n"
		 "--out\n"
		 "Content-Type: multipart/alternative; boundary=\"in\"\n"
		 "\n"
		 "--in\n"
		 "Content-Type: text/html; charset=utf-8\n"
		 "\n"
		 "<p>HTML version</p>\n"
		 "--in\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "\n"
		 "APPROVE\n"
		 "--in--\n"
		 "--out\n"
		 "Content-Type: text/plain; name=notes.txt\n"
		 "\n"
		 "attached notes\n"
		 "--out--\n", &m);
	assert_string_equal(m.text, "APPROVE");
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].name, "notes.txt");
	assert_string_equal(m.att[0].type, "text/plain");
	message_free(&m);

	/* an empty plain part gives way to the HTML alternative */
	parse_ok("From: a@b.org\n"
		 "Content-Type: multipart/alternative; boundary=x\n"
		 "\n"
		 "--x\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 " \n"
		 "--x\n"
		 "Content-Type: text/html\n"
		 "\n"
		 "<div>DENY</div>\n"
		 "--x--\n", &m);
	assert_string_equal(m.text, "DENY\n");
	message_free(&m);
}

static void t_html(void **state)
{
	(void)state;
	static const struct {
		const char *html, *want;
	} cases[] = {
		{ "<html><head><title>T</title><style>p{}</style></head><body>"
		  "<script>var x;</script><p>Hello&nbsp;&amp;  \n  welcome</p>"
		  "<ul><li>one</li><li>two</li></ul>"
		  "<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>"
		  "line<br>break<h1>Title</h1></body></html>",
		  "Hello & welcome\n- one\n- two\na: b\nc\nline\nbreak\nTitle\n" },
		/* two-column tables read as "Label: value" (Outlook's cells hold <p>s) */
		{ "<table><tr><td><p><b>Entity</b></p></td><td><p>DWR</p></td></tr>"
		  "<tr><td>Total Cost:</td><td>$5</td></tr>"
		  "<tr><td><p>Services</p></td><td><p>2 x A at 1 Main St</p><p>1 x B at 2 Main St</p>"
		  "</td></tr><tr><td></td><td>no label</td></tr><tr><td>a</td><td>b</td><td>c</td></tr>"
		  "<tr><td>outer</td><td><table><tr><td>x</td><td>y</td></tr></table></td></tr></table>",
		  "Entity: DWR\nTotal Cost: $5\nServices: 2 x A at 1 Main St\n1 x B at 2 Main St\n"
		  "no label\na\tb\tc\nouter\t\nx: y\n" },
		/* Word's downlevel list markers: the bullet stays, the markers go */
		{ "<p class=MsoListParagraph><![if !supportLists]><span style='mso-list:Ignore'>"
		  "\xc2\xb7<span>&nbsp;&nbsp; </span></span><![endif]>2 x A at 1 Main St</p>"
		  "<!--[if gte mso 9]><xml>hidden</xml><![endif]--><p>after</p>",
		  "\xc2\xb7 2 x A at 1 Main St\nafter\n" },
		/* Outlook on the web: <li><div>text</div></li> */
		{ "<div>Services:</div><ul><li><div class=\"elementToProof\">2 x A at 1 Main St</div></li>"
		  "<li><div><span>1 x B</span></div><div>at 2 Main St</div></li><li></li></ul><div>end</div>",
		  "Services:\n- 2 x A at 1 Main St\n- 1 x B\nat 2 Main St\n- \nend\n" },
		/* Gmail: gmail_quote holds the attribution and the blockquote */
		{ "<div dir=\"ltr\">APPROVE<br></div><br><div class=\"gmail_quote\">"
		  "<div dir=\"ltr\" class=\"gmail_attr\">On Mon, CGEN wrote:<br></div>"
		  "<blockquote class=\"gmail_quote\" style=\"margin:0\">Please reply"
		  "<br><br>DENY</blockquote></div>",
		  "APPROVE\n\n> On Mon, CGEN wrote:\n> > Please reply\n> >\n> > DENY\n" },
		{ "<p>Looks fine</p><blockquote type=\"cite\"><p>quoted</p>"
		  "<blockquote><p>older</p></blockquote></blockquote><p>after</p>",
		  "Looks fine\n> quoted\n> > older\nafter\n" },
		/* Outlook: everything from divRplyFwdMsg on is history */
		{ "<div>APPROVE</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> CGEN<br>"
		  "<b>Sent:</b> Monday</div><div>Original text</div>",
		  "APPROVE\n> From: CGEN\n> Sent: Monday\n> Original text\n" },
		{ "<p>Yes</p><div style=\"border:none;border-top:solid #E1E1E1 1.0pt\">"
		  "<p><b>From:</b> x</p></div><p>old</p>",
		  "Yes\n> From: x\n> old\n" },
		{ "<div style=\"border-top: none\">not a separator</div>",
		  "not a separator\n" },
		{ "<pre>a  b\n  c</pre>", "a  b\n  c\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\nContent-Type: text/html; charset=UTF-8\n\n%s",
				       cases[i].html);

		parse_ok(mail, &m);
		assert_string_equal(m.text, cases[i].want);
		message_free(&m);
		free(mail);
	}
}

/* Text a reader cannot see is not read (css.c). */
static void t_invisible(void **state)
{
	(void)state;
	static const struct {
		const char *html, *want;
	} cases[] = {
		{ "<div style=\"display:none\">APPROVE</div><p>REJECT budget</p>", "REJECT budget\n" },
		{ "<div style=\"DISPLAY: None !important\">APPROVE</div>ok", "ok\n" },
		{ "<span hidden>APPROVE</span>I cannot approve this yet", "I cannot approve this yet\n" },
		{ "<span style=\"visibility:hidden\">APPROVE</span>later", "later\n" },
		{ "<p style=\"visibility:hidden\">x <b style=\"visibility:visible\">seen</b></p>", "seen\n" },
		{ "<span style=\"font-size:0\">APPROVE</span><br>Next week", "Next week\n" },
		{ "<span style=\"font-size:1px\">APPROVE</span>a", "a\n" },
		{ "<span style=\"font:0/0 a\">APPROVE</span>b", "b\n" },
		/* the inline-block whitespace trick: a child with a size is seen */
		{ "<div style=\"font-size:0\">x<span style=\"font-size:14px\">Hello</span></div>", "Hello\n" },
		{ "<font color=white>APPROVE</font><p>Questions below.</p>", "Questions below.\n" },
		{ "<span style=\"color:#fefefe\">APPROVE</span>c", "c\n" },
		{ "<span style=\"color:rgb(255, 255, 255)\">APPROVE</span>d", "d\n" },
		{ "<span style=\"color:transparent\">APPROVE</span>e", "e\n" },
		{ "<span style=\"color:rgba(0,0,0,0)\">APPROVE</span>f", "f\n" },
		{ "<div style=\"background:#000\">APPROVE</div>g", "g\n" },
		{ "<body bgcolor=\"#000000\" text=\"#ffffff\">white on black</body>", "white on black\n" },
		{ "<table bgcolor=black><tr><td><font color=black>APPROVE</font></td></tr></table>h", "h\n" },
		{ "<div style=\"background-image:url(x.png);color:#fff\">on a picture</div>", "on a picture\n" },
		{ "<span style=\"color:#777\">grey is readable</span>", "grey is readable\n" },
		{ "<span style=\"opacity:0\">APPROVE</span>i", "i\n" },
		{ "<span style=\"mso-hide:all\">APPROVE</span>j", "j\n" },
		{ "<div style=\"max-height:0;overflow:hidden\">APPROVE</div>k", "k\n" },
		{ "<div style=\"max-height:0\">shown</div>", "shown\n" },
		/* style sheets: simple selectors; @media blocks are not read */
		{ "<style>.h{display:none}</style><p class=\"x h\">APPROVE</p>l", "l\n" },
		{ "<style>#w { color: white }</style><p id=w>APPROVE</p>m", "m\n" },
		{ "<style>span.t, em {font-size:0}</style><span class=t>A</span><em>B</em><span>n</span>", "n\n" },
		{ "<style>@media (max-width:600px){.m{display:none}}</style><p class=m>o</p>", "o\n" },
		{ "<style>div p {display:none}</style><div><p>descendant rules are not read</p></div>",
		  "descendant rules are not read\n" },
		{ "<style><!-- /* x */ .q{visibility:hidden} --></style><p class=q>APPROVE</p>p", "p\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\nContent-Type: text/html; charset=UTF-8\n\n%s",
				       cases[i].html);

		parse_ok(mail, &m);
		if (strcmp(m.text, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, m.text, cases[i].want);
		message_free(&m);
		free(mail);
	}
}

/* The sender: one From field with one valid mailbox (message.h). */
static void t_sender(void **state)
{
	(void)state;
	static const struct {
		const char *head, *from, *why;
	} cases[] = {
		{ "From: aio@water.ca.gov\n", "aio@water.ca.gov", NULL },
		{ "From: AIO@WATER.CA.GOV\n", "aio@water.ca.gov", NULL },
		{ "From: \"aio\"@water.ca.gov\n", "aio@water.ca.gov", NULL },
		{ "From: aio@water.ca.gov\nFrom: eve@evil.example\n", NULL, "more than one From header" },
		{ "From : eve@evil.example\nFrom: aio@water.ca.gov\n", NULL, "more than one From header" },
		{ "From eve@evil.example Mon Dec  7 10:00:00 2026\nFrom: aio@water.ca.gov\n", "aio@water.ca.gov",
		  NULL },
		{ "From: aio@water.ca.gov, eve@evil.example\n", NULL, "more than one address in From" },
		{ "From: grp: aio@water.ca.gov;\n", NULL, "the From field is a group, not a mailbox" },
		{ "From: <@evil.example:aio@water.ca.gov>\n", NULL, "the From address is not a valid address" },
		{ "From: aio@water.ca.gov.\n", NULL, "the From address is not a valid address" },
		{ "From: aio@water.ca.gov\xe2\x80\x8b\n", NULL, "the From address is not a valid address" },
		{ "From: aio@water.ca.gov\x01@evil.example\n", NULL, "the From address is not a valid address" },
		{ "From: <=?utf-8?q?aio=40water.ca.gov?=>\n", NULL, "the From address is not a valid address" },
		{ "From: aio@water..ca.gov\n", NULL, "the From address is not a valid address" },
		{ "Subject: none\n", NULL, "no From header" },
		{ "From: aio@w\xd0\xb0ter.ca.gov\n", "aio@w\xd0\xb0ter.ca.gov", NULL },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("%sTo: cgen@cdt.ca.gov\nSubject: x\n\nAPPROVE\n", cases[i].head);

		parse_ok(mail, &m);
		if (cases[i].from ? !m.from_addr || strcmp(m.from_addr, cases[i].from) != 0 : m.from_addr != NULL)
			fail_msg("case %zu: from \"%s\"", i, m.from_addr ? m.from_addr : "(null)");
		if (cases[i].why ? !m.no_sender || strncmp(m.no_sender, cases[i].why, strlen(cases[i].why)) != 0 : m.no_sender != NULL)
			fail_msg("case %zu: no_sender \"%s\"", i, m.no_sender ? m.no_sender : "(null)");
		message_free(&m);
		free(mail);
	}
	/* the operator is shown what was written, control characters named */
	struct message m;
	parse_ok("From: aio@water.ca.gov\x01@evil.example\nTo: cgen@cdt.ca.gov\nSubject: x\n\nAPPROVE\n", &m);
	assert_non_null(strstr(m.no_sender, "\"aio@water.ca.gov\x01@evil.example\""));
	assert_non_null(strstr(m.no_sender, "(it holds control characters)"));
	message_free(&m);
}

/* A forwarded mail's text is marked; an HTML part beside a text part is kept. */
static void t_enclosed_and_alternative(void **state)
{
	(void)state;
	struct message m;

	parse_ok("From: a@b.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=X\n\n"
		 "--X\nContent-Type: message/rfc822\n\nFrom: c@d.org\nSubject: s\n\nAPPROVE\n--X--\n", &m);
	assert_int_equal(m.text_enclosed, 1);
	assert_string_equal(m.text, "APPROVE");
	message_free(&m);
	parse_ok("From: a@b.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=X\n\n"
		 "--X\nContent-Type: text/plain\n\nsee attached\n--X\nContent-Type: message/rfc822\n\n"
		 "From: c@d.org\nSubject: s\n\nAPPROVE\n--X--\n", &m);
	assert_int_equal(m.text_enclosed, 0);
	assert_string_equal(m.text, "see attached");
	message_free(&m);
	parse_ok("From: a@b.org\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=B\n\n"
		 "--B\nContent-Type: text/plain\n\nREJECT x\n--B\nContent-Type: text/html\n\n"
		 "<p>APPROVE</p>\n--B--\n", &m);
	assert_string_equal(m.text, "REJECT x");
	assert_non_null(m.alt_text);
	assert_string_equal(m.alt_text, "APPROVE\n");
	message_free(&m);
	/* a blank text part: the HTML is the text, no alternative beside it */
	parse_ok("From: a@b.org\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=B\n\n"
		 "--B\nContent-Type: text/plain\n\n\n--B\nContent-Type: text/html\n\n<p>APPROVE</p>\n--B--\n", &m);
	assert_string_equal(m.text, "APPROVE\n");
	assert_null(m.alt_text);
	message_free(&m);
	parse_ok("From: a@b.org\n\nAPPROVE\n", &m);
	assert_null(m.alt_text);
	assert_int_equal(m.text_enclosed, 0);
	message_free(&m);
}

static void t_charsets(void **state)
{
	(void)state;
	static const struct {
		const char *mail, *want;
	} cases[] = {
		{ "Content-Type: text/plain; charset=ISO-8859-1\n"
		  "Content-Transfer-Encoding: quoted-printable\n\n"
		  "Gr=FC=DFe aus K=F6ln, soft=\nbreak\n",
		  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, softbreak\n" },
		{ "Content-Type: text/plain; charset=\"utf-8\"\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "R3LDvMOfZSBhdXMgS8O2bG4g4oCTIDUg4oKsCg==\n",
		  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x80\x93 5 \xe2\x82\xac\n" },
		/* no Content-Type: 8-bit windows-1252 */
		{ "\n\x93Quoted\x94 \x96 caf\xe9\r\nline2\rline3\n",
		  "\xe2\x80\x9cQuoted\xe2\x80\x9d \xe2\x80\x93 caf\xc3\xa9\nline2\nline3\n" },
		/* unlabeled but valid UTF-8 stays */
		{ "Content-Type: text/plain\n\ncaf\xc3\xa9\n", "caf\xc3\xa9\n" },
		{ "Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n",
		  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n" },
		{ "Content-Type: text/plain; charset=x-no-such-charset\n\nd\xe9j\xe0\n",
		  "d\xc3\xa9j\xc3\xa0\n" },
		{ "Content-Type: text/plain; format=flowed\n\n"
		  "This is a \nflowed paragraph.\n"
		  " >not a quote\n"
		  "> quoted \n> text\n"
		  "-- \n"
		  "sig\n",
		  "This is a flowed paragraph.\n>not a quote\n> quoted text\n-- \nsig\n" },
		{ "Content-Type: text/plain; format=flowed; delsp=yes\n\n"
		  "long\xe2\x80\x8bword \nsplit here\n",
		  "long\xe2\x80\x8bwordsplit here\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\n%s", cases[i].mail);

		parse_ok(mail, &m);
		assert_string_equal(m.text, cases[i].want);
		message_free(&m);
		free(mail);
	}
}

static void t_attachments(void **state)
{
	(void)state;
	static const char mail[] =
		"From: a@b.org\n"
		"Content-Type: multipart/mixed; boundary=\"=_b\"\n"
		"\n"
		"--=_b\n"
		"Content-Type: text/plain\n"
		"\n"
		"See attached.\n"
		"--=_b\n"
		"Content-Type: Application/PDF\n"
		"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"JVBERi0xLjQgcmF0ZXMK\n"
		"--=_b\n"
		"Content-Type: text/csv\n"
		"Content-Disposition: attachment;\n"
		" filename*0*=iso-8859-1''Pr%E9;\n"
		" filename*1=\"sentation \";\n"
		" filename*2*=%E9t%E9.csv\n"
		"\n"
		"col1,col2\n"
		"1,2\n"
		"--=_b\n"
		"Content-Type: image/png; name=\"=?UTF-8?Q?logo=C3=A9.png?=\"\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"JVBERi0xLjQgcmF0ZXMK\n"
		"--=_b\n"
		"Content-Type: application/octet-stream\n"
		"Content-Disposition: attachment\n"
		"\n"
		"--=_b--\n";
	struct message m;

	parse_ok(mail, &m);
	assert_string_equal(m.text, "See attached.");
	assert_int_equal(m.n_att, 4);
	assert_string_equal(m.att[0].name, "\xe2\x82\xac rates.pdf");
	assert_string_equal(m.att[0].type, "application/pdf");
	assert_int_equal(m.att[0].size, 15);
	assert_string_equal(m.att[0].sha256,
			    "3a4a9773dfa6d563015e1695ed19a9c048422b00bd8b4c1df29dce1ce3b94882");
	assert_string_equal(m.att[1].name, "Pr\xc3\xa9sentation \xc3\xa9t\xc3\xa9.csv");
	assert_string_equal(m.att[1].type, "text/csv");
	/* text in canonical CRLF form */
	assert_int_equal(m.att[1].size, 14);
	assert_string_equal(m.att[1].sha256,
			    "78c6bb0f6cb535e59e498d11fbd9b3a2ed945604cf6e8adfad6e8901c7ad0a88");
	assert_string_equal(m.att[2].name, "logo\xc3\xa9.png");
	assert_string_equal(m.att[2].type, "image/png");
	assert_int_equal(m.att[2].size, 15);
	assert_null(m.att[3].name);
	assert_string_equal(m.att[3].type, "application/octet-stream");
	assert_int_equal(m.att[3].size, 0);
	assert_string_equal(m.att[3].sha256,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	message_free(&m);
}

/* The same mail with LF, CRLF and CR line ends parses alike. */
static void t_line_ends(void **state)
{
	(void)state;
	struct message ref, m;
	struct buf crlf = {0}, cr = {0};

	parse_ok(dsn, &ref);
	for (const char *p = dsn; *p; p++) {
		buf_adds(&crlf, *p == '\n' ? "\r\n" : (char[]){ *p, 0 });
		buf_addc(&cr, *p == '\n' ? '\r' : *p);
	}
	for (int i = 0; i < 2; i++) {
		parse_ok(i == 0 ? crlf.s : cr.s, &m);
		assert_string_equal(m.text, ref.text);
		assert_string_equal(m.subject, ref.subject);
		assert_int_equal(m.kind, ref.kind);
		assert_int_equal(m.bounce_ids.n, ref.bounce_ids.n);
		assert_string_equal(m.bounce_ids.v[0], ref.bounce_ids.v[0]);
		assert_int_equal(m.n_att, ref.n_att);
		assert_string_equal(m.att[0].sha256, ref.att[0].sha256);
		message_free(&m);
	}
	message_free(&ref);
	buf_free(&crlf);
	buf_free(&cr);
}

static void t_forwarded(void **state)
{
	(void)state;
	struct message m;

	/* the outer text wins over the forwarded mail */
	parse_ok("From: a@b.org\n"
		 "Content-Type: multipart/mixed; boundary=q\n"
		 "\n"
		 "--q\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "FYI\n"
		 "--q\n"
		 "Content-Type: message/rfc822\n"
		 "\n"
		 "From: c@d.org\n"
		 "Subject: inner\n"
		 "\n"
		 "inner text\n"
		 "--q--\n", &m);
	assert_string_equal(m.text, "FYI");
	assert_int_equal(m.n_att, 0);
	message_free(&m);

	/* nothing else: the forwarded text is the body */
	parse_ok("From: a@b.org\n"
		 "Content-Type: message/rfc822\n"
		 "\n"
		 "From: c@d.org\n"
		 "Subject: inner\n"
		 "\n"
		 "inner text\n", &m);
	assert_string_equal(m.text, "inner text\n");
	assert_string_equal(m.subject, "");
	message_free(&m);

	/* an attached .eml is an attachment */
	parse_ok("From: a@b.org\n"
		 "Content-Type: multipart/mixed; boundary=q\n"
		 "\n"
		 "--q\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "see file\n"
		 "--q\n"
		 "Content-Type: message/rfc822; name=\"orig.eml\"\n"
		 "Content-Disposition: attachment; filename=\"orig.eml\"\n"
		 "\n"
		 "From: c@d.org\n"
		 "\n"
		 "x\n"
		 "--q--\n", &m);
	assert_string_equal(m.text, "see file");
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].name, "orig.eml");
	assert_string_equal(m.att[0].type, "message/rfc822");
	assert_int_equal(m.att[0].size, strlen("From: c@d.org\r\n\r\nx"));
	message_free(&m);
}

static void t_broken(void **state)
{
	(void)state;
	static const char *const not_mail[] = { "", "\n\nbody", "just some text\nmore\n",
		"<html>\n", ": no name\n" };
	struct message m;

	for (size_t i = 0; i < ARRAY_LEN(not_mail); i++) {
		memset(&m, 0, sizeof(m));
		assert_int_equal(message_parse(not_mail[i], strlen(not_mail[i]), &m), -1);
		message_free(&m);
	}
	/* missing boundary, missing close boundary, no separator, mbox From line */
	parse_ok("Subject: Broken\nContent-Type: multipart/alternative;\n"
		 " boundary=\"Apple-Mail=_DDA99EBE\"\n\nsometext\n", &m);
	assert_string_equal(m.subject, "Broken");
	message_free(&m);
	parse_ok("Subject: t\nContent-Type: multipart/mixed; boundary=zz\n\n"
		 "--zz\nContent-Type: text/plain\n\nunterminated\n", &m);
	assert_string_equal(m.text, "unterminated");
	message_free(&m);
	parse_ok("From: a@b.org\nSubject: s\nbody without separator\n", &m);
	assert_string_equal(m.subject, "s");
	assert_string_equal(m.text, "body without separator\n");
	message_free(&m);
	parse_ok("From MAILER-DAEMON Fri Apr  6 16:46:09 2001\n   \nSubject: mbox\n\nx\n", &m);
	assert_string_equal(m.subject, "mbox");
	message_free(&m);

	/* regression (fuzz, tests/regress/mime-flowed-lone-space): a flowed
	 * delsp=yes line holding one space read a length of -1 */
	parse_ok("From: a@example.org\nContent-Type: text/plain; format=flowed; delsp=yes\n\n"
		 "Hello \n \nBye\n", &m);
	assert_string_equal(m.text, "Hello\nBye\n"); /* " " ends the flowed paragraph */
	message_free(&m);
	parse_ok("From: a@b.org\nContent-Type: text/plain; format=flowed\n\n> \n \n", &m);
	assert_string_equal(m.text, "> \n\n");
	message_free(&m);

	/* binary garbage after a header */
	unsigned char junk[4096];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	struct buf b = {0};
	buf_adds(&b, "Content-Type: multipart/mixed; boundary=\"\x01\"\n\n--\x01\n");
	buf_add(&b, (const char *)junk, sizeof(junk));
	memset(&m, 0, sizeof(m));
	assert_int_equal(message_parse(b.s, b.len, &m), 0);
	message_free(&m);
	buf_free(&b);
}

static void t_dedup(void **state)
{
	(void)state;
	static const char with[] = "From: a@b.c\nMessage-ID: <x@y>\n\nbody\n";
	static const char without[] = "From: a@b.c\nSubject: x\n\nbody\n";
	struct message m;
	char *id;

	parse_ok(with, &m);
	id = message_dedup_id(&m, with, strlen(with));
	assert_string_equal(id, "x@y");
	free(id);
	message_free(&m);
	parse_ok(without, &m);
	id = message_dedup_id(&m, without, strlen(without));
	assert_string_equal(id, "sha256:5f30e591795b9bb79b7071dde2666179cc6fad72fd0c35edb7a39a235bfc9a88");
	free(id);
	message_free(&m);
}

/* Every part shape: related, digest, 8bit, a boundary missing from the
 * header (guessed from the body), a multipart with no boundary at all. */
static void t_shapes(void **state)
{
	(void)state;
	static const struct {
		const char *mail, *text;
		size_t n_att;
		const char *att_type;
	} cases[] = {
		{ "Content-Type: multipart/related; boundary=r; type=\"text/html\"\n\n"
		  "--r\nContent-Type: text/html; charset=utf-8\n\n<p>See <b>logo</b></p>\n"
		  "--r\nContent-Type: image/png\nContent-ID: <logo>\n"
		  "Content-Transfer-Encoding: base64\n\niVBORw0K\n--r--\n",
		  "See logo\n", 1, "image/png" },
		/* digest parts default to message/rfc822: the first one gives the text */
		{ "Content-Type: multipart/digest; boundary=d\n\n"
		  "--d\n\nFrom: x@y.org\nSubject: one\n\nfirst digest text\n"
		  "--d\n\nFrom: z@y.org\nSubject: two\n\nsecond\n--d--\n",
		  "first digest text", 0, NULL },
		{ "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
		  "na\xc3\xafve 8bit\n", "na\xc3\xafve 8bit\n", 0, NULL },
		/* the boundary parameter sits on an unfolded line (Verizon, Apache James) */
		{ "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\n"
		  "Content-Type: multipart/alternative;\nboundary=\"----=_in\"\n\n"
		  "------=_in\nContent-Type: text/plain\n\nError: Invalid user address\n"
		  "------=_in--\n--o--\n",
		  "Error: Invalid user address", 0, NULL },
		{ "Content-Type: multipart/mixed\n\npreamble\n--xyz\nContent-Type: text/plain\n\n"
		  "guessed boundary\n--xyz\nContent-Type: application/pdf; name=a.pdf\n\n%PDF\n"
		  "--xyz--\n", "guessed boundary", 1, "application/pdf" },
		{ "Content-Type: multipart/mixed\n\njust text, no boundary at all\n",
		  "just text, no boundary at all\n", 0, NULL },
		/* quoted-printable soft breaks and =XX in a nested message/rfc822 */
		{ "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: message/rfc822\n\n"
		  "From: c@d.org\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: quoted-printable\n\nsoft=\n break =E2=82=AC\n--m--\n",
		  "soft break \xe2\x82\xac", 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\n%s", cases[i].mail);

		parse_ok(mail, &m);
		if (strcmp(m.text, cases[i].text) != 0)
			fail_msg("case %zu: text \"%s\"", i, m.text);
		assert_int_equal(m.n_att, cases[i].n_att);
		if (cases[i].att_type != NULL)
			assert_string_equal(m.att[0].type, cases[i].att_type);
		assert_null(m.unreadable);
		message_free(&m);
		free(mail);
	}
}

static char *b64(const char *s, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = {0};

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0)
			     | (i + 2 < n ? p[i + 2] : 0);

		buf_addc(&b, a[v >> 18 & 63]);
		buf_addc(&b, a[v >> 12 & 63]);
		buf_addc(&b, i + 1 < n ? a[v >> 6 & 63] : '=');
		buf_addc(&b, i + 2 < n ? a[v & 63] : '=');
	}
	return buf_steal(&b);
}

static char *qenc(const char *s)
{
	struct buf b = {0};

	for (; *s; s++) {
		char h[4];

		snprintf(h, sizeof(h), "=%02X", (unsigned char)*s);
		buf_adds(&b, h);
	}
	return buf_steal(&b);
}

/* Each charset: a body (text/plain; charset=), an RFC 2047 B-encoded
 * Subject and a Q-encoded From name decode to the exact UTF-8. The encoded
 * bytes were made once with `printf UTF8 | iconv -t CHARSET`. */
static void t_charset_table(void **state)
{
	(void)state;
	static const struct {
		const char *cs, *enc, *utf8;
	} cases[] = {
		{ "ISO-8859-1", "Gr\xfc\xdf" "e aus K\xf6ln",
		  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln" },
		{ "ISO-8859-2", "P\xf8\xedli\xb9 \xbelu\xbbou\xe8k\xfd k\xf9\xf2",
		  "P\xc5\x99\xc3\xadli\xc5\xa1 \xc5\xbelu\xc5\xa5ou\xc4\x8dk\xc3\xbd k\xc5\xaf\xc5\x88" },
		{ "ISO-8859-3", "\xa1" "a\xf5" "ar Qim",
		  "\xc4\xa6" "a\xc4\xa1" "ar Qim" },
		{ "ISO-8859-4", "\xbbimene \xf3\xba\xf3is",
		  "\xc4\xa3imene \xc4\xb7\xc4\x93\xc4\xb7is" },
		{ "ISO-8859-5", "\xbf\xe0\xd8\xd2\xd5\xe2 \xdc\xd8\xe0",
		  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80" },
		{ "ISO-8859-6", "\xe5\xd1\xcd\xc8\xc7",
		  "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
		{ "ISO-8859-7", "\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1 \xea\xfc\xf3\xec\xe5",
		  "\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1 \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5" },
		{ "ISO-8859-8", "\xf9\xec\xe5\xed \xf2\xe5\xec\xed",
		  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d" },
		{ "ISO-8859-9", "T\xfcrk\xe7" "e \xf0\xfd\xfe",
		  "T\xc3\xbcrk\xc3\xa7" "e \xc4\x9f\xc4\xb1\xc5\x9f" },
		{ "ISO-8859-10", "S\xe1megiella \xbf",
		  "S\xc3\xa1megiella \xc5\x8b" },
		{ "ISO-8859-13", "Lietuvi\xf8 \xe0\xe8\xe6",
		  "Lietuvi\xc5\xb3 \xc4\x85\xc4\x8d\xc4\x99" },
		{ "ISO-8859-14", "Cymraeg \xf0\xfe",
		  "Cymraeg \xc5\xb5\xc5\xb7" },
		{ "ISO-8859-15", "Prix: 5 \xa4 \xbduvre",
		  "Prix: 5 \xe2\x82\xac \xc5\x93uvre" },
		{ "ISO-8859-16", "Rom\xe2n\xe3 \xba\xfe",
		  "Rom\xc3\xa2n\xc4\x83 \xc8\x99\xc8\x9b" },
		{ "windows-1250", "Za\xbf\xf3\xb3\xe6 g\xea\x9cl\xb9 ja\x9f\xf1",
		  "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85 ja\xc5\xba\xc5\x84" },
		{ "windows-1251", "\xc7\xe4\xf0\xe0\xe2\xf1\xf2\xe2\xf3\xe9\xf2\xe5",
		  "\xd0\x97\xd0\xb4\xd1\x80\xd0\xb0\xd0\xb2\xd1\x81\xd1\x82\xd0\xb2\xd1\x83\xd0\xb9\xd1\x82\xd0\xb5" },
		{ "windows-1252", "\x93Quoted\x94 \x96 caf\xe9 \x80",
		  "\xe2\x80\x9cQuoted\xe2\x80\x9d \xe2\x80\x93 caf\xc3\xa9 \xe2\x82\xac" },
		{ "windows-1253", "\xc5\xf5\xf7\xe1\xf1\xe9\xf3\xf4\xfe",
		  "\xce\x95\xcf\x85\xcf\x87\xce\xb1\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xcf\x8e" },
		{ "windows-1256", "\xe3\xd1\xcd\xc8\xc7 \xc8\xc7\xe1\xda\xc7\xe1\xe3",
		  "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85" },
		{ "KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2",
		  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80" },
		{ "ISO-2022-JP", "\x1b\x24" "B\x24" "3\x24s\x24K\x24" "A\x24O\x40\x24" "3\x26\x1b\x28" "B",
		  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c" },
		{ "Shift_JIS", "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83" "e\x83L\x83X\x83g",
		  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
		{ "GB2312", "\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7",
		  "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c" },
		{ "GBK", "\xb7\xb1\xf3w\xd6\xd0\xce\xc4\x9cy\xd4\x87",
		  "\xe7\xb9\x81\xe9\xab\x94\xe4\xb8\xad\xe6\x96\x87\xe6\xb8\xac\xe8\xa9\xa6" },
		{ "GB18030", "\xba\xba\xd7\xd6 \xa2\xe3 \x94" "9\xfc" "6",
		  "\xe6\xb1\x89\xe5\xad\x97 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "Big5", "\xc1" "c\xc5\xe9\xa4\xa4\xa4\xe5",
		  "\xe7\xb9\x81\xe9\xab\x94\xe4\xb8\xad\xe6\x96\x87" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *b = b64(cases[i].enc, strlen(cases[i].enc)), *q = qenc(cases[i].enc);
		char *mail = xasprintf("From: =?%s?Q?%s?= <a@b.org>\nSubject: =?%s?B?%s?=\n"
				       "Content-Type: text/plain; charset=\"%s\"\n"
				       "Content-Transfer-Encoding: 8bit\n\n%s\n",
				       cases[i].cs, q, cases[i].cs, b, cases[i].cs, cases[i].enc);
		char *want = xasprintf("%s\n", cases[i].utf8);

		parse_ok(mail, &m);
		if (strcmp(m.text, want) != 0)
			fail_msg("%s body: \"%s\"", cases[i].cs, m.text);
		if (strcmp(m.subject, cases[i].utf8) != 0)
			fail_msg("%s subject: \"%s\"", cases[i].cs, m.subject);
		if (m.from_name == NULL || strcmp(m.from_name, cases[i].utf8) != 0)
			fail_msg("%s From name: \"%s\"", cases[i].cs, m.from_name);
		message_free(&m);
		free(mail);
		free(want);
		free(b);
		free(q);
	}
}

/* Labels read as the superset their senders really write (browsers do the
 * same), and the unlabeled windows-1252 subject. */
static void t_charset_aliases(void **state)
{
	(void)state;
	static const struct {
		const char *cs, *enc, *utf8;
	} cases[] = {
		{ "shift_jis", "\x87\x40", "\xe2\x91\xa0" },             /* CP932 circled 1 */
		{ "gb2312", "\xb7\xb1\xf3w", "\xe7\xb9\x81\xe9\xab\x94" }, /* GBK-only hanzi */
		{ "ks_c_5601-1987", "\xbe\xc8\xb3\xe7\xc7\xcf\xbc\xbc\xbf\xe4",
		  "\xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94" },
		{ "iso-8859-8-i", "\xf9\xec\xe5\xed", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
		{ "latin1", "caf\xe9", "caf\xc3\xa9" },
		{ "us-ascii", "caf\xe9", "caf\xc3\xa9" }, /* mislabeled 8-bit: windows-1252 */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\nContent-Type: text/plain; charset=%s\n\n%s\n",
				       cases[i].cs, cases[i].enc);
		char *want = xasprintf("%s\n", cases[i].utf8);

		parse_ok(mail, &m);
		assert_string_equal(m.text, want);
		message_free(&m);
		free(mail);
		free(want);
	}
	struct message m;
	parse_ok("From: \x93Jos\xe9\x94 <j@x.org>\nSubject: Re: caf\xe9 \x80 5\n\nx\n", &m);
	assert_string_equal(m.subject, "Re: caf\xc3\xa9 \xe2\x82\xac 5");
	assert_string_equal(m.from_name, "\xe2\x80\x9cJos\xc3\xa9\xe2\x80\x9d");
	message_free(&m);
}

/* RFC 2231: charset'lang' with a language, on Content-Type name*, and
 * continuations mixing encoded and plain segments. */
static void t_rfc2231(void **state)
{
	(void)state;
	static const struct {
		const char *params, *want;
	} cases[] = {
		{ "Content-Type: application/pdf; name*=iso-8859-2'cs'P%F8%EDloha.pdf\n",
		  "P\xc5\x99\xc3\xadloha.pdf" },
		{ "Content-Type: application/pdf\nContent-Disposition: attachment;\n"
		  " filename*=UTF-8'en-us'%E2%82%AC%20rates.pdf\n", "\xe2\x82\xac rates.pdf" },
		{ "Content-Type: application/pdf\nContent-Disposition: attachment;\n"
		  " filename*0*=windows-1251''%C7%E4; filename*1=\"-doc\"; filename*2*=%2Epdf\n",
		  "\xd0\x97\xd0\xb4-doc.pdf" },
		{ "Content-Type: application/pdf\nContent-Disposition: attachment;\n"
		  " filename*0=\"long name \"; filename*1=\"in parts.pdf\"\n", "long name in parts.pdf" },
		/* filename*= wins over the plain filename= */
		{ "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"x.pdf\";"
		  " filename*=utf-8''%C3%A9t%C3%A9.pdf\n", "\xc3\xa9t\xc3\xa9.pdf" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;
		char *mail = xasprintf("From: a@b.org\nContent-Type: multipart/mixed; boundary=b\n\n"
				       "--b\nContent-Type: text/plain\n\nsee\n--b\n%s\nJVBE\n--b--\n",
				       cases[i].params);

		parse_ok(mail, &m);
		assert_int_equal(m.n_att, 1);
		if (m.att[0].name == NULL || strcmp(m.att[0].name, cases[i].want) != 0)
			fail_msg("case %zu: name \"%s\"", i, m.att[0].name);
		message_free(&m);
		free(mail);
	}
}

/* DER PKCS#7 made once with a throw-away key:
 * openssl smime -sign -nodetach -binary -outform DER -noattr -nocerts
 * over a multipart/mixed entity holding "APPROVE signed" and a.pdf
 * ("%PDF-1"); and openssl smime -encrypt -aes128 -outform DER. */
static const char smime_signed_b64[] =
	"MIIBrQYJKoZIhvcNAQcCoIIBnjCCAZoCAQExDzANBglghkgBZQMEAgEFADCB7AYJ\n"
	"KoZIhvcNAQcBoIHeBIHbQ29udGVudC1UeXBlOiBtdWx0aXBhcnQvbWl4ZWQ7IGJv\n"
	"dW5kYXJ5PSJpbiINCg0KLS1pbg0KQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluOyBj\n"
	"aGFyc2V0PXV0Zi04DQoNCkFQUFJPVkUgc2lnbmVkDQotLWluDQpDb250ZW50LVR5\n"
	"cGU6IGFwcGxpY2F0aW9uL3BkZjsgbmFtZT0iYS5wZGYiDQpDb250ZW50LVRyYW5z\n"
	"ZmVyLUVuY29kaW5nOiBiYXNlNjQNCg0KSlZCRVJpMHgNCi0taW4tLQ0KMYGUMIGR\n"
	"AgEBMCcwDzENMAsGA1UEAwwEdGVzdAIURBZi/Cl0gw8xUcrH2tWCc5sg+KQwDQYJ\n"
	"YIZIAWUDBAIBBQAwCgYIKoZIzj0EAwIESDBGAiEAnOD1bQ4hk+xOmiyC0XDmfPkc\n"
	"86dyz/wNlN0aoi8J6PECIQCOpLeLTuXViWnmUrEGXQ2YyNneb1tPpeaeVkCRLhth\n"
	"ww==\n";
static const char smime_enveloped_b64[] =
	"MIIBNQYJKoZIhvcNAQcDoIIBJjCCASICAQAxgb4wgbsCAQAwJDAMMQowCAYDVQQD\n"
	"DAF0AhQT84/i6979uzAgjkVGL2hGBgxPSDANBgkqhkiG9w0BAQEFAASBgDtOn2ay\n"
	"PGKh5Gge3JPCyGIyhabd/0/K2G+WQoSx9sGSnFPUvVx0Rep9z58aDvfJA+U0xD6S\n"
	"8nRNl9d7N6UIPUHp7XCAvYtXiGg2yU7Y+GHxNPlXCP8VAHRAEkthjgLM7qOZm0jd\n"
	"LQyRWMychkZc1RukT5TCBYR0BpFtGS1OzCQyMFwGCSqGSIb3DQEHATAdBglghkgB\n"
	"ZQMEAQIEEBTCZwJMpWdh1n8416RDm5mAMID5wIqvrZLolGP4NVOmjaNQYKXytPnE\n"
	"XvPHYf+e9nm4mNjs6Sl3y+ClPgKhNxxQsQ==\n";
#define PDF1_SHA256 "21af8e71c8703196df7fe1ff901869a88fe64c07bbaa83d838efb45a52b4f303"
#define ENVELOPED_SHA256 "250cf63997833050352aa9775b9d28bad8bb3cfec720b0081e74ee48e88d2a09"

static void t_smime_signed(void **state)
{
	(void)state;
	static const char *const sig_types[] = { "application/pkcs7-signature",
		"application/x-pkcs7-signature", "application/pgp-signature" };
	struct message m;
	char *mail;

	/* multipart/signed: the first part is read, the signature is not listed */
	for (size_t i = 0; i < ARRAY_LEN(sig_types); i++) {
		mail = xasprintf("From: a@b.org\nContent-Type: multipart/signed;"
				 " protocol=\"%s\"; micalg=sha-256; boundary=s\n\n"
				 "--s\nContent-Type: multipart/mixed; boundary=in\n\n"
				 "--in\nContent-Type: text/plain\n\nAPPROVE\n"
				 "--in\nContent-Type: application/pdf; name=a.pdf\n"
				 "Content-Transfer-Encoding: base64\n\nJVBERi0x\n--in--\n"
				 "--s\nContent-Type: %s; name=smime.p7s\n"
				 "Content-Transfer-Encoding: base64\n\nMIIBrQYJKoZIhvcNAQcC\n--s--\n",
				 sig_types[i], sig_types[i]);
		parse_ok(mail, &m);
		assert_string_equal(m.text, "APPROVE");
		assert_int_equal(m.n_att, 1);
		assert_string_equal(m.att[0].name, "a.pdf");
		assert_string_equal(m.att[0].sha256, PDF1_SHA256);
		assert_null(m.unreadable);
		message_free(&m);
		free(mail);
	}

	/* opaque signed data, as the whole mail and as a part, both type spellings */
	for (int i = 0; i < 2; i++) {
		const char *t = i ? "application/x-pkcs7-mime" : "application/pkcs7-mime";

		mail = xasprintf("From: a@b.org\nContent-Type: %s; smime-type=signed-data;"
				 " name=smime.p7m\nContent-Transfer-Encoding: base64\n\n%s",
				 t, smime_signed_b64);
		parse_ok(mail, &m);
		assert_string_equal(m.text, "APPROVE signed");
		assert_int_equal(m.n_att, 1);
		assert_string_equal(m.att[0].name, "a.pdf");
		assert_string_equal(m.att[0].type, "application/pdf");
		assert_int_equal(m.att[0].size, 6);
		assert_string_equal(m.att[0].sha256, PDF1_SHA256);
		assert_null(m.unreadable);
		message_free(&m);
		free(mail);
	}
	/* no smime-type: signed data is recognised by its content */
	mail = xasprintf("From: a@b.org\nContent-Type: multipart/mixed; boundary=o\n\n"
			 "--o\nContent-Type: application/pkcs7-mime; name=\"smime.p7m\"\n"
			 "Content-Transfer-Encoding: base64\n\n%s--o--\n", smime_signed_b64);
	parse_ok(mail, &m);
	assert_string_equal(m.text, "APPROVE signed");
	assert_int_equal(m.n_att, 1);
	assert_null(m.unreadable);
	message_free(&m);
	free(mail);

	/* signed data that does not decode is kept as an attachment */
	parse_ok("From: a@b.org\nContent-Type: application/pkcs7-mime; smime-type=signed-data;"
		 " name=smime.p7m\nContent-Transfer-Encoding: base64\n\nMIIBrQYJKoZIhvcNAQcC\n", &m);
	assert_string_equal(m.text, "");
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].name, "smime.p7m");
	assert_null(m.unreadable);
	message_free(&m);
}

static void t_unreadable(void **state)
{
	(void)state;
	struct message m;
	char *mail;

	for (int i = 0; i < 2; i++) {
		mail = xasprintf("From: a@b.org\nContent-Type: application/pkcs7-mime;%s"
				 " name=smime.p7m\nContent-Disposition: attachment; filename=smime.p7m\n"
				 "Content-Transfer-Encoding: base64\n\n%s",
				 i ? "" : " smime-type=enveloped-data;", smime_enveloped_b64);
		parse_ok(mail, &m);
		assert_string_equal(m.unreadable, "encrypted (S/MIME)");
		assert_string_equal(m.text, "");
		assert_int_equal(m.n_att, 1);
		assert_string_equal(m.att[0].name, "smime.p7m");
		assert_string_equal(m.att[0].type, "application/pkcs7-mime");
		assert_int_equal(m.att[0].size, 313);
		assert_string_equal(m.att[0].sha256, ENVELOPED_SHA256);
		message_free(&m);
		free(mail);
	}

	parse_ok("From: a@b.org\n"
		 "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
		 " boundary=e\n\n"
		 "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
		 "--e\nContent-Type: application/octet-stream; name=encrypted.asc\n\n"
		 "-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n--e--\n", &m);
	assert_string_equal(m.unreadable, "encrypted (PGP)");
	assert_int_equal(m.n_att, 2);
	assert_string_equal(m.att[0].type, "application/pgp-encrypted");
	assert_string_equal(m.att[1].name, "encrypted.asc");
	message_free(&m);

	/* inline PGP */
	parse_ok("From: a@b.org\n\n\n-----BEGIN PGP MESSAGE-----\n\nhQEMA\n"
		 "-----END PGP MESSAGE-----\n", &m);
	assert_string_equal(m.unreadable, "encrypted (PGP)");
	message_free(&m);
	/* ... but a person quoting the marker in a sentence is readable */
	parse_ok("From: a@b.org\n\nIt said -----BEGIN PGP MESSAGE----- then junk\n", &m);
	assert_null(m.unreadable);
	message_free(&m);

	/* Outlook TNEF, by type or by name; the plain text is still read */
	static const char *const tnef[] = { "application/ms-tnef; name=\"winmail.dat\"",
		"application/octet-stream; name=\"WINMAIL.DAT\"", "application/vnd.ms-tnef" };
	for (size_t i = 0; i < ARRAY_LEN(tnef); i++) {
		mail = xasprintf("From: a@b.org\nContent-Type: multipart/mixed; boundary=t\n\n"
				 "--t\nContent-Type: text/plain\n\nsee attached\n"
				 "--t\nContent-Type: %s\nContent-Transfer-Encoding: base64\n\n"
				 "eJ8+IgEAAQ==\n--t--\n", tnef[i]);
		parse_ok(mail, &m);
		assert_string_equal(m.unreadable, "Outlook TNEF (winmail.dat)");
		assert_string_equal(m.text, "see attached");
		assert_int_equal(m.n_att, 1);
		assert_int_equal(m.att[0].size, 7);
		message_free(&m);
		free(mail);
	}

	/* an encrypted mail forwarded as an attachment leaves the mail readable */
	parse_ok("From: a@b.org\nContent-Type: multipart/mixed; boundary=f\n\n"
		 "--f\nContent-Type: text/plain\n\nFYI\n"
		 "--f\nContent-Type: message/rfc822\n\n"
		 "From: c@d.org\nContent-Type: multipart/encrypted; protocol=\"application/"
		 "pgp-encrypted\"; boundary=e\n\n--e\nContent-Type: application/pgp-encrypted\n\n"
		 "Version: 1\n--e--\n--f--\n", &m);
	assert_null(m.unreadable);
	assert_string_equal(m.text, "FYI");
	message_free(&m);
}

/* Bounce and complaint notices that are not multipart/report. */
static void t_notices(void **state)
{
	(void)state;
	static const struct {
		const char *mail;
		enum msg_kind kind;
		const char *reason, *id;
	} cases[] = {
		{ "From: SES <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n"
		  "x-amz-sns-message-id: 1\n\n{\"notificationType\":\"Bounce\",\"bounce\":{},\"mail\":"
		  "{\"headers\":[{\"name\":\"Message-ID\",\"value\":\"<cgen.1@cdt.ca.gov>\"}]}}\n",
		  MSG_BOUNCE, "Amazon SES notification: Bounce", "cgen.1@cdt.ca.gov" },
		{ "From: SES <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n\n"
		  "{\"Type\" : \"Notification\", \"Message\" : \"{\\\"notificationType\\\":"
		  "\\\"Complaint\\\",\\\"mail\\\":{\\\"commonHeaders\\\":{\\\"messageId\\\":"
		  "\\\"<cgen.2@cdt.ca.gov>\\\"}}}\"}\n",
		  MSG_COMPLAINT, "Amazon SES notification: Complaint", "cgen.2@cdt.ca.gov" },
		{ "From: x@sns.example\nx-amz-sns-message-id: 2\n\n{\"eventType\": \"Delivery\"}\n",
		  MSG_BOUNCE, "Amazon SES notification: Delivery", NULL },
		{ "From: x@sns.example\nx-amz-sns-message-id: 2\n\n{\"eventType\": \"Open\"}\n",
		  MSG_NORMAL, NULL, NULL },
		/* the same JSON from anyone else is a person's mail */
		{ "From: dev@agency.ca.gov\n\n{\"notificationType\":\"Bounce\"}\n",
		  MSG_NORMAL, NULL, NULL },
		{ "From: me@icloud.com\nSubject: unsubscribe\nAuto-Submitted: auto-replied\n"
		  "X-Apple-Unsubscribe: true\n\nApple Mail sent this email to unsubscribe\n",
		  MSG_COMPLAINT, "unsubscribe request: X-Apple-Unsubscribe", NULL },
		{ "From: post_master@vtext.example\nSubject: Re:Test message\n"
		  "In-Reply-To: <cgen.3@cdt.ca.gov>\n\nError: Invalid user address\n",
		  MSG_BOUNCE, "mailer-daemon notice: \"invalid user address\"", "cgen.3@cdt.ca.gov" },
		{ "From: no-reply@isp.example\nReturn-Path: <>\nSubject: Mail\n\n"
		  "Could not be delivered to: <x@isp.example>\n",
		  MSG_BOUNCE, "null sender notice: \"could not be delivered\"", NULL },
		{ "From: no-reply@isp.example\nSubject: notice\nContent-Type: multipart/mixed;"
		  " boundary=k\n\n--k\nContent-Type: text/plain\n\nAs their mailbox is full.\n"
		  "--k\nContent-Type: message/rfc822\n\nMessage-ID: <cgen.4@cdt.ca.gov>\n\nx\n--k--\n",
		  MSG_BOUNCE, "no-reply notice: \"mailbox is full\"", "cgen.4@cdt.ca.gov" },
		/* no-reply mail about a parcel, with nothing enclosed: not a bounce */
		{ "From: no-reply@shop.example\nSubject: Your parcel\n\nIt could not be delivered.\n",
		  MSG_NORMAL, NULL, NULL },
		{ "From: neko-admin@example.org\nX-MLServer: fml\nReferences: <cgen.5@cdt.ca.gov>\n"
		  "Subject: You are not member\n\nYou are not a member of this mailing list.\n",
		  MSG_BOUNCE, "mailing-list manager notice", "cgen.5@cdt.ca.gov" },
		{ "From: ppp-request@zzz.org\nX-Mailman-Version: 2.0.4\nSubject: Ppp digest\n\nx\n",
		  MSG_AUTO_REPLY, "mailing-list manager mail", NULL },
		/* a list post by a person is not the manager's */
		{ "From: jane@agency.ca.gov\nList-Id: <cgen.lists.example>\n"
		  "References: <cgen.6@cdt.ca.gov>\n\nmy mail could not be delivered, user unknown\n",
		  MSG_NORMAL, NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message m;

		parse_ok(cases[i].mail, &m);
		if (m.kind != cases[i].kind)
			fail_msg("case %zu: kind %d (%s)", i, m.kind, m.kind_reason);
		if (cases[i].reason == NULL)
			assert_null(m.kind_reason);
		else
			assert_string_equal(m.kind_reason, cases[i].reason);
		if (cases[i].id != NULL) {
			assert_int_equal(m.bounce_ids.n, 1);
			assert_string_equal(m.bounce_ids.v[0], cases[i].id);
		}
		message_free(&m);
	}
}

/* ---- corpora ---- */

static char *corpus_dir(const char *sub)
{
	const char *top = getenv("top_srcdir");
	struct stat st;
	char *d = xasprintf("%s/../shared/corpora/%s", top ? top : ".", sub);

	if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(d);
		return NULL;
	}
	return d;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t k;

	assert_non_null(f);
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, k);
	fclose(f);
	*n = b.len;
	return b.s ? b.s : xstrdup("");
}

/* Regular files under dir (recursive), sorted. */
static void list_files(const char *dir, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			list_files(p, out);
			free(p);
		} else {
			strv_add_own(out, p);
		}
	}
	closedir(d);
}

static int parse_file(const char *path, struct message *m)
{
	size_t n;
	char *raw = slurp(path, &n);
	int r;

	memset(m, 0, sizeof(*m));
	r = message_parse(raw, n, m);
	free(raw);
	return r;
}

/* Text up to the first line that starts with '>', white space removed. */
static char *before_quote(const char *text)
{
	struct buf b = {0};
	int bol = 1;

	for (const char *p = text; *p; p++) {
		if (bol && *p == '>')
			break;
		bol = *p == '\n';
		if (*p != ' ' && *p != '\n' && *p != '\t')
			buf_addc(&b, *p);
	}
	return buf_steal(&b);
}

static void t_corpus_talon(void **state)
{
	(void)state;
	char *dir = corpus_dir("talon/fixtures");
	static const char *const replies[] = { "android", "aol", "apple_mail", "apple_mail_2",
		"comcast", "gmail", "hotmail", "iphone", "outlook", "sparrow", "thunderbird",
		"yahoo" };
	/* HTML replies whose quote is marked in the markup: the quoted original
	 * must come out as "> " lines */
	static const struct {
		const char *name;
		int marked;
	} html[] = { { "gmail", 1 }, { "hotmail", 1 }, { "mail_ru", 1 }, { "ms_outlook_2003", 0 },
		{ "ms_outlook_2007", 1 }, { "ms_outlook_2010", 0 }, { "thunderbird", 1 },
		{ "windows_mail", 1 }, { "yandex_ru", 1 } };
	struct strv all = {0};
	struct message m;

	if (dir == NULL)
		skip();
	for (size_t i = 0; i < ARRAY_LEN(replies); i++) {
		char *p = xasprintf("%s/standard_replies/%s.eml", dir, replies[i]);

		assert_int_equal(parse_file(p, &m), 0);
		/* EXPECTED.md: the reply text is "Hello" (iPhone and Sparrow keep a signature) */
		const char *t = m.text + strspn(m.text, "\n");
		if (strcmp(replies[i], "thunderbird") == 0)
			assert_non_null(strstr(t, "\nHello"));
		else if (strncmp(t, "Hello", 5) != 0)
			fail_msg("%s: text starts \"%.20s\"", replies[i], t);
		if (strcmp(replies[i], "iphone") == 0)
			assert_non_null(strstr(t, "Hello\n\nSent from my iPhone\n"));
		/* a person's reply: no notice rule may make it automatic mail */
		if (m.kind != MSG_NORMAL || m.unreadable != NULL)
			fail_msg("%s: kind %d (%s)", replies[i], m.kind, m.kind_reason);
		if (strcmp(replies[i], "android") == 0) /* base64 UTF-8 */
			assert_non_null(strstr(t, "\xd0\xbd\xd0\xb0\xd0\xbf\xd0\xb8\xd1\x81\xd0\xb0\xd0\xbb:"));
		message_free(&m);
		free(p);
	}
	for (size_t i = 0; i < ARRAY_LEN(html); i++) {
		char *p = xasprintf("%s/html_replies/%s.html", dir, html[i].name), *body, *mail, *pre;
		size_t n;

		body = slurp(p, &n);
		mail = xasprintf("From: a@b.org\nContent-Type: text/html; charset=utf-8\n\n%s", body);
		parse_ok(mail, &m);
		pre = before_quote(m.text);
		if (strncmp(pre, "Hi.Iamfine.Thanks,Alex", 22) != 0)
			fail_msg("%s: visible text \"%.40s\"", html[i].name, pre);
		if (html[i].marked && strstr(pre, "Howareyou") != NULL)
			fail_msg("%s: quote not marked", html[i].name);
		assert_non_null(strstr(m.text, "Hello! How are you?"));
		free(pre);
		message_free(&m);
		free(mail);
		free(body);
		free(p);
	}
	/* every file parses; the bare HTML samples have no header */
	list_files(dir, &all);
	for (size_t i = 0; i < all.n; i++) {
		int r = parse_file(all.v[i], &m);

		if (strstr(all.v[i], ".eml") != NULL && r != 0)
			fail_msg("%s: %d", all.v[i], r);
		if (strstr(all.v[i], ".html") != NULL && r != -1)
			fail_msg("%s: %d", all.v[i], r);
		message_free(&m);
	}
	strv_free(&all);
	free(dir);
}

/* email_reply_parser's replies as bodies of a person's reply to the agent
 * stay MSG_NORMAL and readable. */
static void t_corpus_replies(void **state)
{
	(void)state;
	char *dir = corpus_dir("email_reply_parser/emails");
	struct strv all = {0};
	struct message m;

	if (dir == NULL)
		skip();
	list_files(dir, &all);
	assert_true(all.n >= 20);
	for (size_t i = 0; i < all.n; i++) {
		size_t n;
		char *body = slurp(all.v[i], &n);
		char *mail = xasprintf("From: Jane Doe <jane@agency.ca.gov>\nTo: cgen@cdt.ca.gov\n"
				       "Subject: Re: [CGEN-2026-0042] request\n"
				       "In-Reply-To: <cgen.1@cdt.ca.gov>\n"
				       "References: <cgen.1@cdt.ca.gov>\n\n%s", body);

		parse_ok(mail, &m);
		if (m.kind != MSG_NORMAL || m.unreadable != NULL || m.bounce_ids.n != 0)
			fail_msg("%s: kind %d (%s)", all.v[i], m.kind, m.kind_reason);
		message_free(&m);
		free(mail);
		free(body);
	}
	strv_free(&all);
	free(dir);
}

static void t_corpus_mime(void **state)
{
	(void)state;
	char *cpy = corpus_dir("cpython_email/data"), *fl = corpus_dir("flanker_messages/messages");
	static const struct {
		const char *file;
		enum msg_kind kind;
	} kinds[] = {
		{ "bounce/zed.eml", MSG_BOUNCE }, { "bounce/office365.eml", MSG_BOUNCE },
		{ "bounce/delayed.eml", MSG_BOUNCE }, { "bounce/mailbox-full.eml", MSG_BOUNCE },
		{ "bounce/no-mx.eml", MSG_BOUNCE }, { "bounce/gmail-no-dns.eml", MSG_BOUNCE },
		{ "bounce/gmail-invalid-address.eml", MSG_BOUNCE },
		{ "bounce/broken-mime.eml", MSG_BOUNCE },
		{ "complaints/aol.eml", MSG_COMPLAINT }, { "complaints/yahoo.eml", MSG_COMPLAINT },
		{ "signed.eml", MSG_NORMAL }, { "iphone.eml", MSG_NORMAL },
	};
	struct strv all = {0};
	struct message m;

	if (cpy == NULL || fl == NULL) {
		free(cpy);
		free(fl);
		skip();
	}
	list_files(cpy, &all);
	list_files(fl, &all);
	for (size_t i = 0; i < all.n; i++) {
		/* msg_19 is a digest body without any header */
		int want = strstr(all.v[i], "msg_19.txt") ? -1 : 0;

		if (parse_file(all.v[i], &m) != want)
			fail_msg("%s: want %d", all.v[i], want);
		message_free(&m);
	}
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		char *p = xasprintf("%s/%s", fl, kinds[i].file);

		assert_int_equal(parse_file(p, &m), 0);
		if (m.kind != kinds[i].kind)
			fail_msg("%s: kind %d", kinds[i].file, m.kind);
		message_free(&m);
		free(p);
	}
	/* flanker: the enclosed original of zed.eml; the raw Latin-1 From name */
	char *p = xasprintf("%s/bounce/zed.eml", fl);
	assert_int_equal(parse_file(p, &m), 0);
	assert_int_equal(m.bounce_ids.n, 1);
	assert_string_equal(m.bounce_ids.v[0], "20090708054735.GC7578@example.com");
	message_free(&m);
	free(p);
	p = xasprintf("%s/from-encoding.eml", fl);
	assert_int_equal(parse_file(p, &m), 0);
	assert_string_equal(m.from_name, "Ingo L\xc3\xbctkebohle");
	assert_string_equal(m.from_addr, "ingo@blank.pages.de");
	message_free(&m);
	free(p);
	p = xasprintf("%s/mailgun-pic.eml", fl);
	assert_int_equal(parse_file(p, &m), 0);
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].name, "mailgun.png");
	assert_string_equal(m.att[0].type, "image/png");
	message_free(&m);
	free(p);
	/* cpython msg_29: RFC 2231 title*0*= continuation is not a filename; msg_07 gif */
	p = xasprintf("%s/msg_07.txt", cpy);
	assert_int_equal(parse_file(p, &m), 0);
	assert_int_equal(m.n_att, 1);
	assert_string_equal(m.att[0].name, "dingusfish.gif");
	assert_string_equal(m.att[0].type, "image/gif");
	message_free(&m);
	free(p);
	strv_free(&all);
	free(cpy);
	free(fl);
}

/* Agreement with sisimai's expected classes, per file of EXPECTED.tsv
 * (bounces and "delivered" DSNs -> MSG_BOUNCE, vacation -> MSG_AUTO_REPLY,
 * feedback -> MSG_COMPLAINT): 589 of 590 (99.8 %). The one miss is
 * lhost-sendmail-14, a bounce forwarded by a person ("Fwd: Returned mail",
 * the report quoted with "> "): it is a person's mail and stays normal. */
#define SISIMAI_MIN_AGREE 589

static void t_corpus_sisimai(void **state)
{
	(void)state;
	char *dir = corpus_dir("sisimai_set_of_emails"), *tsv, *line, *save = NULL;
	struct strv seen = {0}, all = {0};
	size_t n, agree = 0;
	struct message m;

	if (dir == NULL)
		skip();
	line = xasprintf("%s/EXPECTED.tsv", dir);
	tsv = slurp(line, &n);
	free(line);
	for (line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct strv col = {0};
		enum msg_kind want;
		char *p;

		if (line[0] == '#')
			continue;
		strv_split(&col, line, '\t');
		assert_true(col.n >= 4);
		if (strv_contains_ci(&seen, col.v[0])) {
			strv_free(&col);
			continue;
		}
		strv_add(&seen, col.v[0]);
		/* the reason column: after status and (possibly empty) reply code */
		want = strstr(line, "\tfeedback\t") ? MSG_COMPLAINT
		       : strstr(line, "\tvacation\t") ? MSG_AUTO_REPLY : MSG_BOUNCE;
		p = xasprintf("%s/%s", dir, col.v[0]);
		assert_int_equal(parse_file(p, &m), 0);
		agree += m.kind == want;
		message_free(&m);
		free(p);
		strv_free(&col);
	}
	print_message("sisimai: %zu of %zu files classified as expected\n", agree, seen.n);
	assert_int_equal(seen.n, 590);
	assert_true(agree >= SISIMAI_MIN_AGREE);

	/* every copy (LF, CRLF, CR, mbox split) parses; the two non-bounces are normal */
	char *md = xasprintf("%s/maildir", dir);
	list_files(md, &all);
	for (size_t i = 0; i < all.n; i++) {
		assert_int_equal(parse_file(all.v[i], &m), 0);
		if (strstr(all.v[i], "/not/") != NULL)
			assert_int_equal(m.kind, MSG_NORMAL);
		message_free(&m);
	}
	free(md);
	strv_free(&all);
	strv_free(&seen);
	free(tsv);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_headers),
		cmocka_unit_test(t_header_fallbacks),
		cmocka_unit_test(t_rfc2047),
		cmocka_unit_test(t_kinds),
		cmocka_unit_test(t_dsn),
		cmocka_unit_test(t_arf),
		cmocka_unit_test(t_alternative),
		cmocka_unit_test(t_html),
		cmocka_unit_test(t_invisible),
		cmocka_unit_test(t_sender),
		cmocka_unit_test(t_enclosed_and_alternative),
		cmocka_unit_test(t_charsets),
		cmocka_unit_test(t_attachments),
		cmocka_unit_test(t_line_ends),
		cmocka_unit_test(t_forwarded),
		cmocka_unit_test(t_broken),
		cmocka_unit_test(t_dedup),
		cmocka_unit_test(t_shapes),
		cmocka_unit_test(t_charset_table),
		cmocka_unit_test(t_charset_aliases),
		cmocka_unit_test(t_rfc2231),
		cmocka_unit_test(t_smime_signed),
		cmocka_unit_test(t_unreadable),
		cmocka_unit_test(t_notices),
		cmocka_unit_test(t_corpus_talon),
		cmocka_unit_test(t_corpus_replies),
		cmocka_unit_test(t_corpus_mime),
		cmocka_unit_test(t_corpus_sisimai),
	};

	return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
