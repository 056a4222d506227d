/* Unit tests of the case engine: every transition and every refusal of
 * DESIGN.md section 3, on plain structs (no store, no mail). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "command.h"
#include "directory.h"
#include "engine.h"
#include "form.h"

static const char csv[] =
	"code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n"
	"DWR,Department of Water Resources,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,deputy.aio@water.ca.gov,,\n"
	"CHP,California Highway Patrol,chp.ca.gov,it.chief@chp.ca.gov,it.chief@chp.ca.gov,,,\n"
	"CSU,California State University,calstate.edu,aio@calstate.edu,cio@calstate.edu,,,College/University\n";

static const char request[] =
	"Entity: Department of Water Resources\n"
	"Services:\n"
	"- 2 x 100 Mbps Dedicated Internet Access at 3500 Industrial Blvd, West Sacramento, CA 95691\n"
	"Reason: no CGEN service at the site\n"
	"Reason Category: availability\n"
	"Contract Term: 36 months\n"
	"Early Termination: none\n"
	"Extension Options: none\n"
	"Total Cost: $97,560.00\n"
	"Cost Items:\n"
	"- Installation: $1,200.00\n"
	"- Monthly service: $96,360.00\n"
	"Provider: Comcast Business\n";

struct fx {
	struct directory dir;
	struct strv cdt;
	struct engine_env env;
	struct case_rec c;      /* the case as the store would hold it */
	int has_case;
	struct engine_out out;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	struct strv errs = {0};
	assert_int_equal(directory_parse_csv(csv, strlen(csv), "t.csv", &f->dir, &errs), 0);
	strv_free(&errs);
	strv_add(&f->cdt, "review1@cdt.ca.gov");
	strv_add(&f->cdt, "review2@cdt.ca.gov");
	f->env.dir = &f->dir;
	f->env.cdt = &f->cdt;
	f->env.cto = "cto@cdt.ca.gov";
	f->env.agent_addr = "cgen@cdt.ca.gov";
	f->env.now = 1795000000;
	f->env.next_case_id = "CGEN-2026-0001";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	engine_out_free(&f->out);
	case_clear(&f->c);
	directory_free(&f->dir);
	strv_free(&f->cdt);
	free(f);
	return 0;
}

/* Runs one mail: from, body, and an optional key (role, step) of case f->c.
 * The resulting case becomes f->c, as the store would keep it. */
static void mail_full(struct fx *f, const char *from, const char *body, enum role krole, int kstep,
		      const char *kcase, enum msg_kind kind, int rate_limited)
{
	struct command cmd = {0};
	struct form form = {0};
	command_parse(body, &cmd);
	form_parse(body, &form);
	struct engine_key key = {kcase ? kcase : f->c.id, kstep, krole, "addressee@x"};
	struct engine_in in = {
		.from = from,
		.subject = "subject",
		.message_id = "m1@x",
		.kind = kind,
		.visible = body,
		.cmd = &cmd,
		.form = &form,
		.key = krole ? &key : NULL,
		.rate_limited = rate_limited,
	};
	engine_out_free(&f->out);
	engine_handle(&f->env, f->has_case ? &f->c : NULL, &in, &f->out);
	if (f->out.has_case && (f->out.changed || f->out.created)) {
		case_clear(&f->c);
		case_copy(&f->c, &f->out.c);
		f->has_case = 1;
	}
	form_free(&form);
	command_free(&cmd);
}

static void mail_as(struct fx *f, const char *from, const char *body, enum role krole)
{
	mail_full(f, from, body, krole, f->c.step, NULL, MSG_NORMAL, 0);
}

/* The number of mails out, and mail i's template, recipient, key role. */
static void expect_mail(struct fx *f, size_t i, const char *tmpl, const char *to, enum role role, int keyed)
{
	assert_true(i < f->out.n_mails);
	assert_string_equal(f->out.mails[i].tmpl, tmpl);
	assert_string_equal(f->out.mails[i].to, to);
	assert_int_equal(f->out.mails[i].role, role);
	assert_int_equal(f->out.mails[i].keyed, keyed);
}

static int has_event(struct fx *f, const char *kind)
{
	for (size_t i = 0; i < f->out.n_events; i++)
		if (strcmp(f->out.events[i].kind, kind) == 0)
			return 1;
	return 0;
}

static void open_case(struct fx *f)
{
	mail_as(f, "dana@water.ca.gov", request, ROLE_NONE);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
}

static void to_cdt_review(struct fx *f)
{
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "APPROVE", ROLE_AIO);
	mail_as(f, "cio@water.ca.gov", "APPROVE", ROLE_CIO);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
}

static void to_cto(struct fx *f)
{
	to_cdt_review(f);
	mail_as(f, "review1@cdt.ca.gov", "RECOMMEND APPROVE no CGEN at the site", ROLE_CDT);
	assert_int_equal(f->c.state, ST_CTO_DECISION);
}

/* ---- intake ---- */

static void t_complete_request(void **state)
{
	struct fx *f = *state;
	open_case(f);
	assert_true(f->out.created);
	assert_string_equal(f->c.id, "CGEN-2026-0001");
	assert_string_equal(f->c.entity, "DWR");
	assert_string_equal(f->c.requester, "dana@water.ca.gov");
	assert_int_equal(f->c.step, 1);
	assert_int_equal(f->out.n_mails, 3);
	expect_mail(f, 0, "ack", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	expect_mail(f, 1, "approval-request", "aio@water.ca.gov", ROLE_AIO, 1);
	expect_mail(f, 2, "approval-request", "cio@water.ca.gov", ROLE_CIO, 1);
	assert_true(has_event(f, "received"));
	assert_string_equal(f->out.mail_kind, "request");
	assert_string_equal(f->c.problems_json, "[]");
	assert_non_null(strstr(f->c.fields_json, "\"total_cost\":9756000"));
	assert_null(f->out.queue_reason);
}

static void t_incomplete_then_corrected(void **state)
{
	struct fx *f = *state;
	char *partial = xstrdup(request);
	*strstr(partial, "Total Cost:") = '\0'; /* drops Total Cost, Cost Items, Provider */
	mail_as(f, "dana@water.ca.gov", partial, ROLE_NONE);
	assert_int_equal(f->c.state, ST_INCOMPLETE);
	assert_int_equal(f->out.n_mails, 1);
	expect_mail(f, 0, "incomplete", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	assert_non_null(strstr(f->c.problems_json, "\"field\":\"total_cost\""));
	assert_non_null(strstr(f->c.problems_json, "\"field\":\"provider\""));
	int step = f->c.step;

	/* Still incomplete: stays incomplete, new problems listed. */
	mail_as(f, "dana@water.ca.gov", partial, ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_INCOMPLETE);
	expect_mail(f, 0, "incomplete", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	assert_true(f->c.step > step);

	mail_as(f, "dana@water.ca.gov", request, ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	assert_string_equal(f->c.problems_json, "[]");
	assert_int_equal(f->out.n_mails, 3);
	assert_true(has_event(f, "corrected"));
	free(partial);
}

static void t_corrected_form_from_someone_else(void **state)
{
	struct fx *f = *state;
	char *partial = xstrdup(request);
	*strstr(partial, "Provider:") = '\0';
	mail_as(f, "dana@water.ca.gov", partial, ROLE_NONE);
	assert_int_equal(f->c.state, ST_INCOMPLETE);
	mail_as(f, "eve@water.ca.gov", request, ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_INCOMPLETE);
	assert_true(has_event(f, "refused"));
	free(partial);
}

static void t_exempt_entity(void **state)
{
	struct fx *f = *state;
	char *body = xasprintf("Entity: CSU\n%s", strchr(request, '\n') + 1);
	mail_as(f, "lee@calstate.edu", body, ROLE_NONE);
	assert_int_equal(f->c.state, ST_NOT_REQUIRED);
	assert_int_equal(f->out.n_mails, 1);
	expect_mail(f, 0, "not-required", "lee@calstate.edu", ROLE_REQUESTER, 0);
	free(body);
}

static void t_unknown_entity(void **state)
{
	struct fx *f = *state;
	char *body = xasprintf("Entity: Ministry of Magic\n%s", strchr(request, '\n') + 1);
	mail_as(f, "harry@gmail.com", body, ROLE_NONE);
	assert_false(f->out.has_case);
	assert_false(f->has_case);
	assert_int_equal(f->out.n_mails, 1);
	expect_mail(f, 0, "not-accepted", "harry@gmail.com", ROLE_NONE, 0);
	assert_non_null(f->out.queue_reason);
	free(body);
}

static void t_sender_outside_entity_domains(void **state)
{
	struct fx *f = *state;
	mail_as(f, "mallory@chp.ca.gov", request, ROLE_NONE); /* names DWR */
	assert_false(f->out.has_case);
	expect_mail(f, 0, "not-accepted", "mallory@chp.ca.gov", ROLE_NONE, 0);
	assert_non_null(strstr(f->out.queue_reason, "not in the mail domains"));
}

static void t_entity_from_domain(void **state)
{
	struct fx *f = *state;
	char *body = xasprintf("Entity: Water Dept.\n%s", strchr(request, '\n') + 1);
	mail_as(f, "dana@water.ca.gov", body, ROLE_NONE);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	assert_string_equal(f->c.entity, "DWR");
	assert_true(has_event(f, "entity_from_domain"));
	free(body);
}

static void t_not_a_request_gets_help(void **state)
{
	struct fx *f = *state;
	mail_as(f, "someone@water.ca.gov", "Entity: DWR\nReason: we want out\nHi there", ROLE_NONE);
	assert_false(f->out.has_case);
	assert_int_equal(f->out.n_mails, 1);
	expect_mail(f, 0, "help", "someone@water.ca.gov", ROLE_NONE, 0);
	mail_full(f, "someone@water.ca.gov", "hello?", ROLE_NONE, 0, NULL, MSG_NORMAL, 1);
	assert_int_equal(f->out.n_mails, 0);
	assert_true(has_event(f, "rate_limited"));
	mail_as(f, "someone@water.ca.gov", "FORM", ROLE_NONE);
	expect_mail(f, 0, "request-form", "someone@water.ca.gov", ROLE_NONE, 0);
}

static void t_automatic_mail_ignored(void **state)
{
	struct fx *f = *state;
	open_case(f);
	static const enum msg_kind kinds[] = {MSG_AUTO_REPLY, MSG_BOUNCE, MSG_COMPLAINT};
	for (size_t i = 0; i < 3; i++) {
		mail_full(f, "aio@water.ca.gov", "APPROVE", ROLE_AIO, f->c.step, NULL, kinds[i], 0);
		assert_int_equal(f->out.n_mails, 0);
		assert_false(f->out.changed);
		assert_int_equal(f->c.aio, AP_PENDING);
	}
	mail_full(f, "x@gmail.com", request, ROLE_NONE, 0, NULL, MSG_AUTO_REPLY, 0);
	assert_int_equal(f->out.n_mails, 0);
}

static void t_no_from_is_queued(void **state)
{
	struct fx *f = *state;
	mail_as(f, NULL, request, ROLE_NONE);
	assert_int_equal(f->out.n_mails, 0);
	assert_non_null(f->out.queue_reason);
}

/* ---- approvals ---- */

static void t_both_approve(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "APPROVE fine by me", ROLE_AIO);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	assert_int_equal(f->c.aio, AP_APPROVED);
	assert_int_equal(f->c.cio, AP_PENDING);
	expect_mail(f, 0, "approval-recorded", "aio@water.ca.gov", ROLE_AIO, 0);
	mail_as(f, "aio@water.ca.gov", "APPROVE", ROLE_AIO);
	assert_true(has_event(f, "approval_repeated"));
	assert_int_equal(f->c.cio, AP_PENDING);
	mail_as(f, "cio@water.ca.gov", "Approved - thanks", ROLE_CIO);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_int_equal(f->c.step, 2);
	assert_int_equal(f->out.n_mails, 4);
	expect_mail(f, 0, "approval-recorded", "cio@water.ca.gov", ROLE_CIO, 0);
	expect_mail(f, 1, "cdt-review", "review1@cdt.ca.gov", ROLE_CDT, 1);
	expect_mail(f, 2, "cdt-review", "review2@cdt.ca.gov", ROLE_CDT, 1);
	expect_mail(f, 3, "notice", "dana@water.ca.gov", ROLE_REQUESTER, 1);
}

static void t_one_address_both_roles(void **state)
{
	struct fx *f = *state;
	char *body = xasprintf("Entity: CHP\n%s", strchr(request, '\n') + 1);
	mail_as(f, "sam@chp.ca.gov", body, ROLE_NONE);
	assert_int_equal(f->out.n_mails, 2);
	expect_mail(f, 1, "approval-request", "it.chief@chp.ca.gov", ROLE_AIO, 1);
	mail_as(f, "it.chief@chp.ca.gov", "APPROVE", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_APPROVED);
	assert_int_equal(f->c.cio, AP_APPROVED);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	free(body);
}

static void t_delegate_approves(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "deputy.aio@water.ca.gov", "APPROVE", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_APPROVED);
	/* A delegate of the AIO is not the CIO. */
	mail_as(f, "deputy.aio@water.ca.gov", "APPROVE", ROLE_CIO);
	assert_int_equal(f->c.cio, AP_PENDING);
	assert_true(has_event(f, "refused"));
}

static void t_reject(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "cio@water.ca.gov", "REJECT", ROLE_CIO);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	expect_mail(f, 0, "refused", "cio@water.ca.gov", ROLE_NONE, 0);
	mail_as(f, "aio@water.ca.gov", "APPROVE", ROLE_AIO);
	mail_as(f, "aio@water.ca.gov", "REJECT changed my mind", ROLE_AIO);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	assert_true(has_event(f, "refused"));
	mail_as(f, "cio@water.ca.gov", "REJECT budget frozen", ROLE_CIO);
	assert_int_equal(f->c.state, ST_REJECTED);
	assert_int_equal(f->c.cio, AP_REJECTED);
	assert_int_equal(f->out.n_mails, 3);
	expect_mail(f, 0, "rejected", "dana@water.ca.gov", ROLE_REQUESTER, 0);
	expect_mail(f, 1, "rejected", "aio@water.ca.gov", ROLE_AIO, 0);
	expect_mail(f, 2, "rejected", "cio@water.ca.gov", ROLE_CIO, 0);
	/* Closed: further commands are refused. */
	mail_as(f, "aio@water.ca.gov", "APPROVE", ROLE_AIO);
	assert_int_equal(f->c.state, ST_REJECTED);
	expect_mail(f, 0, "refused", "aio@water.ca.gov", ROLE_NONE, 0);
}

/* ---- trust ---- */

static void t_spoofed_from_with_key(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "eve@evil.example", "APPROVE", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_PENDING);
	assert_true(has_event(f, "refused"));
	assert_non_null(f->out.queue_reason);
	expect_mail(f, 0, "refused", "eve@evil.example", ROLE_NONE, 0);
}

static void t_key_of_other_role(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "cio@water.ca.gov", "APPROVE", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_PENDING);
	assert_int_equal(f->c.cio, AP_PENDING);
	assert_true(has_event(f, "refused"));
	assert_non_null(f->out.queue_reason);
}

static void t_no_key(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "APPROVE", ROLE_NONE);
	assert_int_equal(f->c.aio, AP_PENDING);
	assert_true(has_event(f, "refused"));
}

static void t_stale_key_and_other_case(void **state)
{
	struct fx *f = *state;
	to_cdt_review(f);
	mail_full(f, "review1@cdt.ca.gov", "RECOMMEND APPROVE ok", ROLE_CDT, f->c.step - 1, NULL, MSG_NORMAL, 0);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_true(has_event(f, "refused"));
	mail_full(f, "review1@cdt.ca.gov", "RECOMMEND APPROVE ok", ROLE_CDT, f->c.step, "CGEN-2026-0099",
		  MSG_NORMAL, 0);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_true(has_event(f, "refused"));
}

static void t_ambiguous(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "I do not approve", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_PENDING);
	expect_mail(f, 0, "unclear", "aio@water.ca.gov", ROLE_NONE, 0);
	mail_as(f, "aio@water.ca.gov", "approve?", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_PENDING);
	mail_as(f, "aio@water.ca.gov", "Looks fine to me", ROLE_AIO);
	assert_int_equal(f->c.aio, AP_PENDING);
	expect_mail(f, 0, "unclear", "aio@water.ca.gov", ROLE_NONE, 0);
}

/* ---- CDT and CTO ---- */

static void t_info_round_trip(void **state)
{
	struct fx *f = *state;
	to_cdt_review(f);
	mail_as(f, "review1@cdt.ca.gov", "INFO", ROLE_CDT);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_true(has_event(f, "refused"));
	mail_as(f, "review1@cdt.ca.gov", "INFO Is the site leased?", ROLE_CDT);
	assert_int_equal(f->c.state, ST_AWAITING_INFO);
	expect_mail(f, 0, "info-request", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	/* CDT may still add notes with its (older) key. */
	mail_full(f, "review2@cdt.ca.gov", "NOTE called the entity", ROLE_CDT, f->c.step - 1, NULL, MSG_NORMAL, 0);
	assert_true(has_event(f, "note"));
	assert_int_equal(f->c.state, ST_AWAITING_INFO);
	mail_as(f, "dana@water.ca.gov", "Note: the lease runs until 2032.", ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_int_equal(f->out.n_mails, 3);
	expect_mail(f, 0, "info-answer", "review1@cdt.ca.gov", ROLE_CDT, 1);
	expect_mail(f, 1, "info-answer", "review2@cdt.ca.gov", ROLE_CDT, 1);
	expect_mail(f, 2, "notice", "dana@water.ca.gov", ROLE_REQUESTER, 1);
}

static void t_note_rules(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "NOTE hello", ROLE_AIO);
	assert_false(has_event(f, "note"));
	assert_true(has_event(f, "refused"));
}

static void t_recommend_and_decide(void **state)
{
	struct fx *f = *state;
	to_cdt_review(f);
	mail_as(f, "review1@cdt.ca.gov", "RECOMMEND APPROVE", ROLE_CDT);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	mail_as(f, "review1@cdt.ca.gov", "APPROVE", ROLE_CDT);
	assert_int_equal(f->c.state, ST_CDT_REVIEW);
	assert_true(has_event(f, "refused"));
	mail_as(f, "review1@cdt.ca.gov", "RECOMMEND APPROVE no CGEN at the site", ROLE_CDT);
	assert_int_equal(f->c.state, ST_CTO_DECISION);
	assert_string_equal(f->c.recommendation, "APPROVE no CGEN at the site");
	expect_mail(f, 0, "cto-review", "cto@cdt.ca.gov", ROLE_CTO, 1);
	expect_mail(f, 1, "notice", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	mail_as(f, "cto@cdt.ca.gov", "DENY", ROLE_CTO);
	assert_int_equal(f->c.state, ST_CTO_DECISION);
	mail_as(f, "cto@cdt.ca.gov", "APPROVE for 36 months only", ROLE_CTO);
	assert_int_equal(f->c.state, ST_GRANTED);
	assert_string_equal(f->c.decision, "for 36 months only");
	assert_int_equal(f->out.n_mails, 5);
	/* The requester and CDT may answer the grant (EXTEND): their mails are keyed. */
	expect_mail(f, 0, "decision", "dana@water.ca.gov", ROLE_REQUESTER, 1);
	expect_mail(f, 1, "decision", "aio@water.ca.gov", ROLE_AIO, 0);
	expect_mail(f, 2, "decision", "cio@water.ca.gov", ROLE_CIO, 0);
	expect_mail(f, 3, "decision", "review1@cdt.ca.gov", ROLE_CDT, 1);
	expect_mail(f, 4, "decision", "review2@cdt.ca.gov", ROLE_CDT, 1);
}

static void t_deny(void **state)
{
	struct fx *f = *state;
	to_cto(f);
	mail_as(f, "review1@cdt.ca.gov", "DENY no", ROLE_CTO);
	assert_int_equal(f->c.state, ST_CTO_DECISION);
	mail_as(f, "cto@cdt.ca.gov", "DENY use CGEN", ROLE_CTO);
	assert_int_equal(f->c.state, ST_DENIED);
	assert_string_equal(f->c.decision, "use CGEN");
}

static void t_withdraw(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "aio@water.ca.gov", "WITHDRAW", ROLE_AIO);
	assert_int_equal(f->c.state, ST_AWAITING_APPROVALS);
	assert_true(has_event(f, "refused"));
	mail_as(f, "dana@water.ca.gov", "WITHDRAW not needed", ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_WITHDRAWN);
	assert_int_equal(f->out.n_mails, 3);
	expect_mail(f, 0, "withdrawn", "dana@water.ca.gov", ROLE_REQUESTER, 0);
	expect_mail(f, 1, "withdrawn", "aio@water.ca.gov", ROLE_AIO, 0);
	expect_mail(f, 2, "withdrawn", "cio@water.ca.gov", ROLE_CIO, 0);
}

static void t_withdraw_at_cto(void **state)
{
	struct fx *f = *state;
	to_cto(f);
	mail_as(f, "dana@water.ca.gov", "withdraw", ROLE_REQUESTER);
	assert_int_equal(f->c.state, ST_WITHDRAWN);
	assert_int_equal(f->out.n_mails, 4); /* requester, cto, 2 x cdt */
}

static void t_status(void **state)
{
	struct fx *f = *state;
	open_case(f);
	mail_as(f, "cio@water.ca.gov", "STATUS", ROLE_NONE);
	expect_mail(f, 0, "status", "cio@water.ca.gov", ROLE_NONE, 0);
	mail_as(f, "review2@cdt.ca.gov", "STATUS CGEN-2026-0001", ROLE_NONE);
	expect_mail(f, 0, "status", "review2@cdt.ca.gov", ROLE_NONE, 0);
	mail_as(f, "eve@evil.example", "STATUS", ROLE_NONE);
	expect_mail(f, 0, "refused", "eve@evil.example", ROLE_NONE, 0);
	assert_non_null(f->out.queue_reason);
}

static void t_roles_of(void **state)
{
	struct fx *f = *state;
	open_case(f);
	assert_int_equal(engine_roles_of(&f->env, &f->c, "dana@water.ca.gov"), 1u << ROLE_REQUESTER);
	assert_int_equal(engine_roles_of(&f->env, &f->c, "AIO@water.ca.gov"), 1u << ROLE_AIO);
	assert_int_equal(engine_roles_of(&f->env, &f->c, "review2@cdt.ca.gov"), 1u << ROLE_CDT);
	assert_int_equal(engine_roles_of(&f->env, &f->c, "cto@cdt.ca.gov"), 1u << ROLE_CTO);
	assert_int_equal(engine_roles_of(&f->env, &f->c, "eve@evil.example"), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(t_complete_request), T(t_incomplete_then_corrected), T(t_corrected_form_from_someone_else),
		T(t_exempt_entity), T(t_unknown_entity), T(t_sender_outside_entity_domains),
		T(t_entity_from_domain), T(t_not_a_request_gets_help), T(t_automatic_mail_ignored),
		T(t_no_from_is_queued), T(t_both_approve), T(t_one_address_both_roles),
		T(t_delegate_approves), T(t_reject), T(t_spoofed_from_with_key), T(t_key_of_other_role),
		T(t_no_key), T(t_stale_key_and_other_case), T(t_ambiguous), T(t_info_round_trip),
		T(t_note_rules), T(t_recommend_and_decide), T(t_deny), T(t_withdraw),
		T(t_withdraw_at_cto), T(t_status), T(t_roles_of),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
