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
	{ "RECOMMEND approval", AMBIG },
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
	{ "STATUS?", AMBIG },
	{ "help?", AMBIG },
	/* two commands, or a command word not at the start */
	{ "APPROVE or REJECT", AMBIG },
	{ "approve, no wait, reject", AMBIG },
	{ "Approved. Withdraw the second item", AMBIG },
	{ "I approve", AMBIG },
	{ "We reject this", AMBIG },
	{ "Yes, approved", AMBIG },
	{ "OK to deny", AMBIG },
	{ "We withdraw", AMBIG },
	{ "I recommend approval", AMBIG },
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
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_long_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
