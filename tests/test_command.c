/* test_command.c: the command grammar of DESIGN.md section 3, as a table. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "message.h"
#include "visible.h"
#include "util.h"

#define AMBIG 1, CMD_NONE, NULL
#define NONE 0, CMD_NONE, NULL

static const struct row {
	const char *in;
	int ambiguous;
	enum cmd_word word;
	const char *arg;
} rows[] = {
	/* APPROVE and its forms, punctuation, separators, case */
	{ "APPROVE", 0, CMD_APPROVE, "" },
	{ "approve", 0, CMD_APPROVE, "" },
	{ "Approve.", 0, CMD_APPROVE, "" },
	{ "APPROVED!", 0, CMD_APPROVE, "" },
	{ "Approved - thanks", 0, CMD_APPROVE, "thanks" },
	/* a signature kept above quoted history is not part of the argument */
	{ "APPROVE for 36 months\n\nSent from my iPhone", 0, CMD_APPROVE, "for 36 months" },
	{ "REJECT no budget\n-- \nJane Roe\nCIO", 0, CMD_REJECT, "no budget" },
	{ "APPROVE: budget ok", 0, CMD_APPROVE, "budget ok" },
	{ "Approve \xe2\x80\x93 looks fine", 0, CMD_APPROVE, "looks fine" },
	{ "Approve \xe2\x80\x94 looks fine", 0, CMD_APPROVE, "looks fine" },
	{ "approve, with the usual conditions", 0, CMD_APPROVE, "with the usual conditions" },
	{ "   aPpRoVeD;  ", 0, CMD_APPROVE, "" },
	{ "\n\n  \nAPPROVE\n", 0, CMD_APPROVE, "" },
	{ "\xc2\xa0" "APPROVE", 0, CMD_APPROVE, "" },
	{ "APPROVE\nFirst condition.\nSecond condition.", 0, CMD_APPROVE,
	  "First condition.\nSecond condition." },
	{ "APPROVE subject to review\n\nin 2027", 0, CMD_APPROVE, "subject to review\n\nin 2027" },
	{ "APPROVE\r\nline two\r\n", 0, CMD_APPROVE, "line two" },
	{ "Approve approve", 0, CMD_APPROVE, "approve" },
	/* the other words */
	{ "REJECT no business case", 0, CMD_REJECT, "no business case" },
	{ "Rejected: the form is incomplete", 0, CMD_REJECT, "the form is incomplete" },
	{ "INFO What is the annual cost?", 0, CMD_INFO, "What is the annual cost?" },
	{ "info: who maintains it", 0, CMD_INFO, "who maintains it" },
	{ "NOTE called the requester", 0, CMD_NOTE, "called the requester" },
	{ "Note: the AIO will approve next week", 0, CMD_NOTE, "the AIO will approve next week" },
	{ "DENY no CGEN service", 0, CMD_DENY, "no CGEN service" },
	{ "Denied.", 0, CMD_DENY, "" },
	{ "WITHDRAW", 0, CMD_WITHDRAW, "" },
	{ "Withdrawn, project cancelled", 0, CMD_WITHDRAW, "project cancelled" },
	{ "STATUS CGEN-2026-0042", 0, CMD_STATUS, "CGEN-2026-0042" },
	{ "status", 0, CMD_STATUS, "" },
	{ "AUDIT DWR", 0, CMD_AUDIT, "DWR" },
	{ "HELP", 0, CMD_HELP, "" },
	{ "Help!", 0, CMD_HELP, "" },
	{ "FORM", 0, CMD_FORM, "" },
	{ "form please", 0, CMD_FORM, "please" },
	/* the words of an exemption's life: alternatives and extensions */
	{ "PROPOSE CGEN's 1 Gbps service reaches the site in March", 0, CMD_PROPOSE,
	  "CGEN's 1 Gbps service reaches the site in March" },
	{ "Propose: move the site to CGEN SD-WAN\nIt is live in Fresno.", 0, CMD_PROPOSE,
	  "move the site to CGEN SD-WAN\nIt is live in Fresno." },
	{ "propose - could CGEN serve it by June?", 0, CMD_PROPOSE, "could CGEN serve it by June?" },
	{ "ACCEPT", 0, CMD_ACCEPT, "" },
	{ "Accepted.", 0, CMD_ACCEPT, "" },
	{ "accept - we will move to CGEN in March", 0, CMD_ACCEPT, "we will move to CGEN in March" },
	{ "ACCEPT\n\nSent from my iPhone", 0, CMD_ACCEPT, "" },
	{ "DECLINE the site needs service before March", 0, CMD_DECLINE,
	  "the site needs service before March" },
	{ "Declined: CGEN's offer is too slow", 0, CMD_DECLINE, "CGEN's offer is too slow" },
	{ "EXTEND 12 months first extension option", 0, CMD_EXTEND, "12 months first extension option" },
	{ "extend: 1 year, the new site is late", 0, CMD_EXTEND, "1 year, the new site is late" },
	/* they never make another command's line ambiguous, nor are they one
	 * anywhere but first */
	{ "APPROVE - we accept the costs", 0, CMD_APPROVE, "we accept the costs" },
	{ "REJECT we decline to fund it", 0, CMD_REJECT, "we decline to fund it" },
	{ "We accept", NONE },
	{ "Please extend it", NONE },
	{ "Do not accept", NONE },
	{ "Accept?", AMBIG },
	{ "DECLINE? not sure", AMBIG },
	{ "Accept-ish", AMBIG },
	/* RECOMMEND */
	{ "RECOMMEND APPROVE no CGEN service at this site", 0, CMD_RECOMMEND,
	  "APPROVE no CGEN service at this site" },
	{ "recommend approved: low risk", 0, CMD_RECOMMEND, "APPROVE low risk" },
	{ "Recommend deny - duplicates CalNet", 0, CMD_RECOMMEND, "DENY duplicates CalNet" },
	{ "RECOMMEND DENIED", 0, CMD_RECOMMEND, "DENY" },
	{ "RECOMMEND: Approve\nrationale below\nsecond line", 0, CMD_RECOMMEND,
	  "APPROVE rationale below\nsecond line" },
	{ "RECOMMEND", AMBIG },
	{ "RECOMMEND approval", 0, CMD_RECOMMEND, "APPROVE" },
	{ "RECOMMEND REJECT", AMBIG },
	{ "recommend that we approve", AMBIG },
	{ "RECOMMEND APPROVE or DENY", AMBIG },
	{ "RECOMMEND DENY?", AMBIG },
	/* negations */
	{ "not approve", AMBIG },
	{ "Do not approve", AMBIG },
	{ "don't approve", AMBIG },
	{ "Don\xe2\x80\x99t approve", AMBIG },
	{ "I cannot approve this", AMBIG },
	{ "can't approve", AMBIG },
	{ "Won't approve", AMBIG },
	{ "Disapprove", AMBIG },
	{ "disapproved.", AMBIG },
	{ "Unapproved", AMBIG },
	{ "APPROVE unapproved items", AMBIG },
	{ "Do not reject", AMBIG },
	{ "don\xe2\x80\x99t deny it", AMBIG },
	{ "Not withdrawn", AMBIG },
	/* questions */
	{ "approve?", AMBIG },
	{ "Approve??", AMBIG },
	{ "Approve ?", AMBIG },
	{ "APPROVE this one?", AMBIG },
	{ "Reject?", AMBIG },
	{ "Deny? I think so", AMBIG },
	{ "Withdraw?", AMBIG },
	{ "STATUS?", 0, CMD_STATUS, "" },
	{ "help?", 0, CMD_HELP, "" },
	/* two commands, or a command word not at the start */
	{ "APPROVE or REJECT", AMBIG },
	{ "approve, no wait, reject", AMBIG },
	{ "Approved. Withdraw the second item", AMBIG },
	{ "I approve", 0, CMD_APPROVE, "" },
	{ "We reject this", 0, CMD_REJECT, "" },
	{ "Yes, approved", 0, CMD_APPROVE, "" },
	{ "OK to deny", AMBIG },
	{ "We withdraw", 0, CMD_WITHDRAW, "" },
	{ "I recommend approval", 0, CMD_RECOMMEND, "APPROVE" },
	{ "*APPROVE*", AMBIG },
	/* not a command */
	{ "", NONE },
	{ "\n  \n\t\n", NONE },
	{ "Yes", NONE },
	{ "Thanks", NONE },
	{ "Approvedly so", NONE },
	{ "Approval granted", NONE },
	{ "rejection letter attached", NONE },
	{ "information to follow", NONE },
	{ "Noted", NONE },
	{ "notes from the meeting", NONE },
	{ "Thanks for your help", NONE },
	{ "Please note the attached budget", NONE },
	{ "Approve's", NONE },
	{ "approve2", NONE },
	{ "\xc3\xa1pprove", NONE },
	{ "\xff\xfe APPROVE", AMBIG },
	{ "Thanks\nAPPROVE", NONE },
	/* whole words only */
	{ "Approve-ish", AMBIG },
	{ "pre-approved", AMBIG },
	{ "Re-approve", AMBIG },
	{ "APPROVE- fine", 0, CMD_APPROVE, "fine" },
	{ "Approves", AMBIG },
	{ "Approving.", AMBIG },
	{ "Thanks for approving", AMBIG },
	{ "Approve - do not approve", AMBIG },
	/* every decision word and INFO: negations, questions, other forms */
	{ "not reject", AMBIG },
	{ "Don't reject", AMBIG },
	{ "cannot reject", AMBIG },
	{ "reject?", AMBIG },
	{ "Rejecting", AMBIG },
	{ "REJECT - never reject", AMBIG },
	{ "not deny", AMBIG },
	{ "Don't deny", AMBIG },
	{ "cannot deny", AMBIG },
	{ "deny?", AMBIG },
	{ "Denying", AMBIG },
	{ "No deny", AMBIG },
	{ "do not recommend approve", AMBIG },
	{ "Don't recommend", AMBIG },
	{ "cannot recommend deny", AMBIG },
	{ "recommend?", AMBIG },
	{ "Recommending approve", AMBIG },
	{ "Recommended: approve", AMBIG },
	{ "RECOMMEND APPROVE - not approve", AMBIG },
	{ "not withdraw", AMBIG },
	{ "Don't withdraw", AMBIG },
	{ "cannot withdraw", AMBIG },
	{ "withdraw?", AMBIG },
	{ "Withdrawing", AMBIG },
	{ "We withdrew it", AMBIG },
	{ "No info", AMBIG },
	{ "not INFO", AMBIG },
	{ "Don't info", AMBIG },
	{ "info?", AMBIG },
	{ "INFO? what", AMBIG },
	{ "Not now, thanks", NONE },
	{ "No need, thanks", NONE },
	{ "APPROVE no conditions", 0, CMD_APPROVE, "no conditions" },
	/* quotes kept visible above new text are passed over */
	{ "> Please reply APPROVE or REJECT\nAPPROVE", 0, CMD_APPROVE, "" },
	{ "  > REJECT\n\nDENY too costly", 0, CMD_DENY, "too costly" },
	{ "On Tue, Mar 3, 2026 at 10:00 AM CGEN <cgen@x.gov> wrote:\n\n> Reply APPROVE\n\nREJECT no budget",
	  0, CMD_REJECT, "no budget" },
	{ "Am 03.03.2026 um 10:00 schrieb CGEN <cgen@x.gov>:\n> x\nAPPROVE", 0, CMD_APPROVE, "" },
	{ "On Tue, Mar 3, 2026 at 10:00 AM CGEN <cgen@x.gov> wrote:\nAPPROVE", NONE },
	{ "APPROVE\n\n> quoted question\n>\n\ncondition one\n> more\ncondition two", 0, CMD_APPROVE,
	  "condition one\ncondition two" },
	{ "APPROVE\nOn Tue, 3 Mar 2026, J <j@x.org> wrote:\n> q\nlast", 0, CMD_APPROVE, "last" },
	{ "APPROVE\n\n\n\nlast", 0, CMD_APPROVE, "last" },
	{ "APPROVE\nfirst\n\n\n\nlast", 0, CMD_APPROVE, "first\n\nlast" },
	{ "> APPROVE\n> REJECT", NONE },
	/* a command on the first line after a greeting */
	{ "Hi team,\n\nAPPROVE\n\nThanks,\nChris", 0, CMD_APPROVE, "" },
	{ "Hello,\nAPPROVE", 0, CMD_APPROVE, "" },
	{ "Good morning Ana,\n\nApproved.", 0, CMD_APPROVE, "" },
	{ "Dear all,\n\nREJECT the budget is gone", 0, CMD_REJECT, "the budget is gone" },
	{ "Hi Ana, APPROVE", 0, CMD_APPROVE, "" },
	{ "Hello CGEN team!\nDENY no CGEN service", 0, CMD_DENY, "no CGEN service" },
	{ "Ana,\nAPPROVE", 0, CMD_APPROVE, "" },
	{ "Hi\n\nHello\n\nINFO why?", 0, CMD_INFO, "why?" },
	{ "Hi\nHello\nHey\nAPPROVE", NONE },                /* two greetings at most */
	{ "Hello CGEN team,\nplease note I'm out", NONE },
	{ "Hi approve", AMBIG },                                 /* no greeting: a command word in it */
	{ "Ana,\nBob,\nAPPROVE", NONE },                      /* a bare name only on the first line */
	{ "Yes,\nAPPROVE", 0, CMD_APPROVE, "" },
	/* common phrasings, when unambiguous */
	{ "I approve.", 0, CMD_APPROVE, "" },
	{ "Approved.", 0, CMD_APPROVE, "" },
	{ "Yes, approved", 0, CMD_APPROVE, "" },
	{ "Looks good, approved", 0, CMD_APPROVE, "" },
	{ "Looks good to me, I approve this request.", 0, CMD_APPROVE, "" },
	{ "LGTM - approved", 0, CMD_APPROVE, "" },
	{ "OK, I approve: budget confirmed", 0, CMD_APPROVE, "budget confirmed" },
	{ "This request is approved.", 0, CMD_APPROVE, "" },
	{ "Thank you, approved", 0, CMD_APPROVE, "" },
	{ "We hereby approve", 0, CMD_APPROVE, "" },
	{ "Yes, I reject: no budget", 0, CMD_REJECT, "no budget" },
	{ "I deny", 0, CMD_DENY, "" },
	{ "Please withdraw our request", 0, CMD_WITHDRAW, "our request" },
	{ "I would like to withdraw the request", 0, CMD_WITHDRAW, "" },
	{ "We recommend denial: CGEN serves the site", 0, CMD_RECOMMEND, "DENY CGEN serves the site" },
	{ "Recommend approve - CGEN build would take 14 months", 0, CMD_RECOMMEND,
	  "APPROVE CGEN build would take 14 months" },
	/* ... and never when negated, hedged, asked or unclear */
	{ "I do not approve", AMBIG },
	{ "not approved yet", AMBIG },
	{ "Not yet approved", AMBIG },
	{ "This cannot be approved", AMBIG },
	{ "I am not able to approve", AMBIG },
	{ "I cannot approve this yet, more later", AMBIG },
	{ "No, approved", AMBIG },
	{ "I would approve if the cost were lower", AMBIG },
	{ "I approve if the cost is lower", AMBIG },
	{ "I approve, but let me check the budget", AMBIG },
	{ "Yes, approved once finance agrees", AMBIG },
	{ "I approve?", AMBIG },
	{ "I'd approve", AMBIG },
	{ "Please approve", AMBIG },                             /* someone asking for it */
	{ "The budget is approved", AMBIG },
	{ "Yes, approve or reject, your call", AMBIG },
	{ "I will approve tomorrow", AMBIG },
	{ "Maybe approve", AMBIG },
	{ "Looks good", NONE },
	/* a question naming a case, or its status, is STATUS */
	{ "What is the status of CGEN-2026-0001?", 0, CMD_STATUS, "CGEN-2026-0001" },
	{ "Hi, what is the status of cgen-2026-0042?", 0, CMD_STATUS, "CGEN-2026-0042" },
	{ "Any update on CGEN-2026-12345?", 0, CMD_STATUS, "CGEN-2026-12345" },
	{ "Has CGEN-2026-0001 been approved?", 0, CMD_STATUS, "CGEN-2026-0001" },
	{ "What is the status?", 0, CMD_STATUS, "" },
	{ "status update on CGEN-2026-0007 please", 0, CMD_STATUS, "CGEN-2026-0007" },
	{ "Status?", 0, CMD_STATUS, "" },
	{ "Where is my request?", NONE },
	{ "CGEN-2026-0001 is fine", NONE },
	{ "XCGEN-2026-0001?", NONE },
	/* other quote prefixes are passed over */
	{ "| APPROVE\nREJECT no", 0, CMD_REJECT, "no" },
	{ "C> APPROVE\nC> x\n\nREJECT no", 0, CMD_REJECT, "no" },
};

/* command_parse_from: the argument stops at the sender's signature. */
static const struct named_row {
	const char *in, *name, *addr;
	enum cmd_word word;
	const char *arg;
} named_rows[] = {
	{ "Approved.\n\nAna Ruiz\nAgency Information Officer\nDepartment of Water Resources", "Ruiz, Ana@DWR",
	  "aio@water.ca.gov", CMD_APPROVE, "" },
	{ "APPROVE\n\nChris Wu\nChief Information Officer", "Wu, Chris@DWR", "cio@water.ca.gov", CMD_APPROVE, "" },
	{ "Hi team,\n\nAPPROVE\n\nThanks,\nChris", "Wu, Chris@DWR", NULL, CMD_APPROVE, "" },
	{ "INFO Can you send the signed quote?\n\nThanks,\nRevi Ewer\nCDT Network Services", "Revi Ewer",
	  "review1@cdt.ca.gov", CMD_INFO, "Can you send the signed quote?" },
	{ "APPROVE - looks good\n\n-Chris", NULL, NULL, CMD_APPROVE, "looks good" },
	{ "APPROVE on condition A\nand B\n\nBest regards,\nAna Ruiz\n(916) 555-0142", "Ana Ruiz", NULL,
	  CMD_APPROVE, "on condition A\nand B" },
	{ "NOTE called the vendor\n\nRevi", "Revi Ewer", NULL, CMD_NOTE, "called the vendor" },
	{ "NOTE called the vendor\nThey confirm 14 months.\n\nRevi Ewer\nCDT", "Revi Ewer", NULL, CMD_NOTE,
	  "called the vendor\nThey confirm 14 months." },
	{ "APPROVE\n\nThanks!\n\nThe quote is attached, please file it with the case.", NULL, NULL, CMD_APPROVE,
	  "Thanks!\n\nThe quote is attached, please file it with the case." },
	{ "REJECT no budget\n\nCONFIDENTIALITY NOTICE: for the addressee only", NULL, NULL, CMD_REJECT,
	  "no budget" },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct row *r = &rows[i];
		struct command c;
		command_parse(r->in, &c);
		if (c.word != r->word || c.ambiguous != r->ambiguous ||
		    (r->arg ? !c.argument || strcmp(c.argument, r->arg) != 0 : c.argument != NULL))
			fail_msg("row %zu \"%s\": got word %d ambiguous %d argument \"%s\"", i, r->in,
				 (int)c.word, c.ambiguous, c.argument ? c.argument : "(null)");
		command_free(&c);
	}
	assert_true(ARRAY_LEN(rows) >= 60);
}

static void test_null(void **state)
{
	(void)state;
	struct command c = { CMD_APPROVE, NULL, 1 };
	command_parse(NULL, &c);
	assert_int_equal(c.word, CMD_NONE);
	assert_int_equal(c.ambiguous, 0);
	assert_null(c.argument);
	command_free(&c);
	command_free(NULL);
}

static void test_names(void **state)
{
	(void)state;
	static const struct {
		enum cmd_word w;
		const char *name;
	} n[] = {
		{ CMD_APPROVE, "APPROVE" }, { CMD_REJECT, "REJECT" }, { CMD_INFO, "INFO" },
		{ CMD_RECOMMEND, "RECOMMEND" }, { CMD_NOTE, "NOTE" }, { CMD_DENY, "DENY" },
		{ CMD_WITHDRAW, "WITHDRAW" }, { CMD_STATUS, "STATUS" }, { CMD_AUDIT, "AUDIT" },
		{ CMD_HELP, "HELP" }, { CMD_FORM, "FORM" }, { CMD_PROPOSE, "PROPOSE" },
		{ CMD_ACCEPT, "ACCEPT" }, { CMD_DECLINE, "DECLINE" }, { CMD_EXTEND, "EXTEND" },
	};
	for (size_t i = 0; i < ARRAY_LEN(n); i++)
		assert_string_equal(command_name(n[i].w), n[i].name);
	assert_null(command_name(CMD_NONE));
	assert_null(command_name((enum cmd_word)(CMD_EXTEND + 1)));
}

static void test_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(named_rows); i++) {
		const struct named_row *r = &named_rows[i];
		struct command c;
		command_parse_from(r->in, r->name, r->addr, &c);
		if (c.word != r->word || !c.argument || strcmp(c.argument, r->arg) != 0)
			fail_msg("named row %zu \"%s\": got word %d argument \"%s\"", i, r->in, c.word,
				 c.argument ? c.argument : "(null)");
		command_free(&c);
	}
}

/* command_read: a forwarded mail gives no command; an HTML part that says
 * another thing makes the mail unclear. */
static void test_read(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		enum cmd_word word;
		int ambiguous;
	} mails[] = {
		{ "From: aio@water.ca.gov\nSubject: Fw: x\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: message/rfc822\n\n"
		  "From: Dana <dana@water.ca.gov>\nSubject: q\n\nApprove the CGEN request please\n--XX--\n",
		  CMD_NONE, 0 },
		{ "From: aio@water.ca.gov\nSubject: x\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
		  "From: cio@water.ca.gov\nSubject: x\n\nAPPROVE\n", CMD_NONE, 0 },
		{ "From: aio@water.ca.gov\nSubject: x\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
		  "REJECT too expensive\n--B\nContent-Type: text/html\n\n<html><body>APPROVE</body></html>\n--B--\n",
		  CMD_NONE, 1 },
		{ "From: aio@water.ca.gov\nSubject: x\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
		  "APPROVE\n--B\nContent-Type: text/html\n\n<p>I do not approve</p>\n--B--\n", CMD_NONE, 1 },
		{ "From: aio@water.ca.gov\nSubject: x\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
		  "Approved.\n\nAna\n--B\nContent-Type: text/html\n\n<div>Approved.</div><div>Ana</div>\n--B--\n",
		  CMD_APPROVE, 0 },
		/* a banner only in the HTML part leaves the text part's command */
		{ "From: aio@water.ca.gov\nSubject: x\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
		  "APPROVE\n--B\nContent-Type: text/html\n\n<p>CAUTION: external sender</p><p>APPROVE</p>\n--B--\n",
		  CMD_APPROVE, 0 },
		{ "From: aio@water.ca.gov\nSubject: x\n\nYes, approved\n", CMD_APPROVE, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(mails); i++) {
		struct message m = {0};
		assert_int_equal(message_parse(mails[i].raw, strlen(mails[i].raw), &m), 0);
		char *vis = visible_text(m.text);
		struct command c;
		command_read(&m, vis, &c);
		if (c.word != mails[i].word || c.ambiguous != mails[i].ambiguous)
			fail_msg("read row %zu: got word %d ambiguous %d", i, c.word, c.ambiguous);
		command_free(&c);
		free(vis);
		message_free(&m);
	}
	struct command c;
	command_read(NULL, "APPROVE", &c);
	assert_int_equal(c.word, CMD_NONE);
}

/* Every name reads back as its own command. */
static void test_round_trip(void **state)
{
	(void)state;
	for (int w = CMD_APPROVE; w <= CMD_EXTEND; w++) {
		if (w == CMD_RECOMMEND)
			continue;
		char *in = xasprintf("%s x", command_name((enum cmd_word)w));
		struct command c;
		command_parse(in, &c);
		assert_int_equal(c.word, w);
		assert_string_equal(c.argument, "x");
		command_free(&c);
		free(in);
	}
}

/* A long first line is read in linear time (no backtracking blow-up). */
static void test_long_line(void **state)
{
	(void)state;
	size_t n = 200000;
	char *s = xmalloc(n + 1);
	memcpy(s, "APPROVE ", 8);
	for (size_t i = 8; i < n; i++)
		s[i] = i % 7 ? 'a' : '\'';
	s[n] = '\0';
	struct command c;
	command_parse(s, &c);
	assert_int_equal(c.word, CMD_APPROVE);
	assert_int_equal(strlen(c.argument), n - 8);
	command_free(&c);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_long_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
