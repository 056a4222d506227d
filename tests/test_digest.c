/* Unit tests of the digests: the CDT digest's content and order, escaping in
 * the HTML, the approver digest's mailto: links, and the time to build one
 * over 1,000 open cases. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "digest.h"
#include "directory.h"

static const char csv[] =
	"code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n"
	"DWR,Department of Water Resources,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,,,\n"
	"CHP,California Highway Patrol <&>,chp.ca.gov,it.chief@chp.ca.gov,it.chief@chp.ca.gov,,,\n";

static time_t at(const char *iso)
{
	time_t t;
	assert_int_equal(parse_iso8601(iso, &t), 0);
	return t;
}

struct fx {
	struct directory dir;
	struct strv cdt;
	struct engine_env env;
	struct engine_timing t;
	struct calendar cal;
};

static int setup(void **state)
{
	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	struct fx *f = xcalloc(1, sizeof *f);
	struct strv errs = {0};
	assert_int_equal(directory_parse_csv(csv, strlen(csv), "t.csv", &f->dir, &errs), 0);
	strv_free(&errs);
	strv_add(&f->cdt, "review1@cdt.ca.gov");
	f->env.dir = &f->dir;
	f->env.cdt = &f->cdt;
	f->env.cto = "cto@cdt.ca.gov";
	f->env.agent_addr = "cgen@cdt.ca.gov";
	f->env.now = at("2026-12-04T07:00:00-08:00");
	f->t.cal = &f->cal;
	f->t.remind_after = 3;
	f->t.max_reminders = 2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	directory_free(&f->dir);
	strv_free(&f->cdt);
	free(f);
	return 0;
}

static void mkcase(struct case_rec *c, const char *id, enum case_state s, const char *entity,
		   const char *since, int overdue)
{
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	c->state = s;
	c->entity = xstrdup(entity);
	c->requester = xstrdup("dana.lee@water.ca.gov");
	c->subject = xstrdup("Delta <b>field</b> office & \"annex\" 'B'");
	c->step = 2;
	c->created = c->state_since = at(since);
	c->overdue = overdue;
}

static void test_escape_and_mailto(void **state)
{
	(void)state;
	struct buf b = {0};
	digest_html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>");
	assert_string_equal(b.s, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	buf_free(&b);
	char *u = digest_mailto("cgen+abc@cdt.ca.gov", "Re: [CGEN-2026-0001] Approval needed (AIO): é&?",
				"APPROVE\n\nRef: abc\n");
	assert_string_equal(u, "mailto:cgen+abc@cdt.ca.gov?subject=Re%3A%20%5BCGEN-2026-0001%5D%20"
			       "Approval%20needed%20%28AIO%29%3A%20%C3%A9%26%3F"
			       "&body=APPROVE%0D%0A%0D%0ARef%3A%20abc%0D%0A");
	free(u);
}

static void test_cdt_digest(void **state)
{
	struct fx *f = *state;
	struct case_rec c[5];
	mkcase(&c[0], "CGEN-2026-0001", ST_CDT_REVIEW, "DWR", "2026-12-03T09:00:00-08:00", 0);
	mkcase(&c[1], "CGEN-2026-0002", ST_AWAITING_APPROVALS, "CHP", "2026-11-20T09:00:00-08:00", 1);
	mkcase(&c[2], "CGEN-2026-0003", ST_GRANTED, "DWR", "2026-11-01T09:00:00-07:00", 0);
	mkcase(&c[3], "CGEN-2026-0004", ST_AWAITING_APPROVALS, "DWR", "2026-11-30T09:00:00-08:00", 0);
	mkcase(&c[4], "CGEN-2026-0005", ST_CTO_DECISION, "<script>", "2026-11-25T09:00:00-08:00", 0);
	c[3].aio = AP_APPROVED;
	struct event_rec ev[4] = {
		{.seq = 10, .case_id = "CGEN-2026-0003", .at = at("2026-12-03T14:00:00-08:00"),
		 .kind = "decided", .actor = "cto@cdt.ca.gov", .detail = "granted: review <at> renewal"},
		{.seq = 11, .case_id = NULL, .at = at("2026-12-03T15:00:00-08:00"), .kind = "bounce",
		 .actor = "mailer-daemon@x.gov", .detail = "bounce ignored (DSN)"},
		{.seq = 12, .case_id = "CGEN-2026-0001", .at = at("2026-12-03T16:00:00-08:00"),
		 .kind = "refused", .actor = "eve@evil.test", .detail = "APPROVE: only the parties\ncan act"},
		{.seq = 13, .case_id = "CGEN-2026-0001", .at = at("2026-12-03T16:00:00-08:00"),
		 .kind = "mailed", .actor = "agent", .detail = "not listed"},
	};
	struct digest_in in = {
		.env = &f->env, .timing = &f->t, .cases = c, .n_cases = 5, .events = ev, .n_events = 4,
		.head = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff", .chain_len = 13,
	};
	struct digest_mail m;
	digest_cdt(&in, &m);
	assert_string_equal(m.subject, "CGEN digest Friday 2026-12-04: 4 open cases, 1 overdue");
	const char *x = m.text;
	assert_non_null(strstr(x, "Open cases: 4 (1 overdue)\n"));
	assert_non_null(strstr(x, "  waiting for approvals          2\n"));
	assert_non_null(strstr(x, "  granted                        1  (closed)\n"));
	/* overdue first, then oldest first; the closed case is not listed */
	const char *p2 = strstr(x, "\n  CGEN-2026-0002"), *p5 = strstr(x, "\n  CGEN-2026-0005"),
		   *p4 = strstr(x, "\n  CGEN-2026-0004"), *p1 = strstr(x, "\n  CGEN-2026-0001");
	assert_true(p2 && p5 && p4 && p1 && p2 < p5 && p5 < p4 && p4 < p1);
	assert_null(strstr(x, "\n  CGEN-2026-0003  "));
	assert_non_null(strstr(x, "  CGEN-2026-0002  CHP        14 days  waiting for approvals  OVERDUE\n"
				  "      waits on the AIO and CIO (it.chief@chp.ca.gov) since 2026-11-20 09:00 PST;"
				  " reminders sent: 0; 9 of 9 business days\n"));
	assert_non_null(strstr(x, "waits on the CIO (cio@water.ca.gov) since 2026-11-30 09:00 PST"));
	assert_non_null(strstr(x, "  CGEN-2026-0001  DWR         1 day   under review at CDT\n"
				  "      waits on CDT since 2026-12-03 09:00 PST; reminders sent: 0; 0 of 9"));
	assert_non_null(strstr(x, "Decisions, last 24 hours:\n  2026-12-03 14:00  CGEN-2026-0003  "
				  "decided: granted; conditions: review <at> renewal (cto@cdt.ca.gov)\n"));
	assert_non_null(strstr(x, "Bounces and failed sends, last 24 hours:\n  2026-12-03 15:00  -"));
	assert_non_null(strstr(x, "refused: APPROVE: only the parties can act (eve@evil.test)\n"));
	assert_null(strstr(x, "not listed"));
	assert_non_null(strstr(x, "Event chain: 13 events, head 00ff00ff"));

	/* HTML: inline styles only, every value escaped, a bar per open case */
	const char *h = m.html;
	assert_null(strstr(h, "<style"));
	assert_null(strstr(h, "<script"));
	assert_non_null(strstr(h, "&lt;script&gt;"));
	assert_non_null(strstr(h, "California Highway Patrol &lt;&amp;&gt;"));
	assert_non_null(strstr(h, "review &lt;at&gt; renewal"));
	assert_non_null(strstr(h, "00ff00ff00ff"));
	size_t bars = 0;
	for (const char *p = h; (p = strstr(p, "business days</div>")); p++)
		bars++;
	assert_int_equal(bars, 4);
	/* the overdue bar is full and red; the fresh case's is empty */
	assert_non_null(strstr(h, "bgcolor=\"#c62828\" style=\"width:120px;"));
	assert_non_null(strstr(h, ">0 of 9 business days</div>"));
	digest_mail_free(&m);

	/* a broken chain is said loudly */
	in.chain_problem = "event 7 (decided): hash does not match its contents";
	digest_cdt(&in, &m);
	assert_non_null(strstr(m.text, "THE HASH CHAIN DOES NOT VERIFY: event 7 (decided)"));
	digest_mail_free(&m);
	for (int i = 0; i < 5; i++)
		case_clear(&c[i]);
}

static void test_approver_digest(void **state)
{
	struct fx *f = *state;
	struct case_rec c[2];
	mkcase(&c[0], "CGEN-2026-0001", ST_AWAITING_APPROVALS, "DWR", "2026-12-01T09:00:00-08:00", 0);
	mkcase(&c[1], "CGEN-2026-0007", ST_AWAITING_APPROVALS, "DWR", "2026-12-02T09:00:00-08:00", 0);
	struct digest_item it[2] = {
		{.c = &c[0], .role = ROLE_AIO, .key = "aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{.c = &c[1], .role = ROLE_AIO, .key = "bbbbbbbbbbbbbbbbbbbbbbbbbb"},
	};
	struct digest_approver_in in = {
		.env = &f->env, .to = "aio@water.ca.gov", .items = it, .n = 2,
		.agent_addr = "cgen@cdt.ca.gov", .reply_plain = 0,
	};
	struct digest_mail m;
	digest_approver(&in, &m);
	assert_string_equal(m.subject, "CGEN exemptions: 2 requests wait on your approval");
	assert_non_null(strstr(m.text, "   APPROVE: mailto:cgen+aaaaaaaaaaaaaaaaaaaaaaaaaa@cdt.ca.gov?subject=Re%3A%20"
				       "%5BCGEN-2026-0001%5D%20Approval%20needed%20%28AIO%29%3A%20DWR"
				       "&body=APPROVE%0D%0A\n"));
	assert_non_null(strstr(m.text, "   REJECT: mailto:cgen+bbbbbbbbbbbbbbbbbbbbbbbbbb@cdt.ca.gov?subject=Re%3A%20"
				       "%5BCGEN-2026-0007%5D"));
	assert_non_null(strstr(m.text, "&body=REJECT%20%0D%0A\n"));
	/* in HTML the & of the URI is escaped */
	assert_non_null(strstr(m.html, "href=\"mailto:cgen+aaaaaaaaaaaaaaaaaaaaaaaaaa@cdt.ca.gov?subject="));
	assert_non_null(strstr(m.html, "&amp;body=APPROVE%0D%0A\""));
	assert_non_null(strstr(m.html, "Delta &lt;b&gt;field&lt;/b&gt; office &amp; &quot;annex&quot; &#39;B&#39;"));
	assert_null(strstr(m.html, "<b>field"));
	digest_mail_free(&m);

	/* plain reply address: the key travels as "Ref: KEY"; the CTO gets DENY */
	it[0].role = it[1].role = ROLE_CTO;
	c[0].state = c[1].state = ST_CTO_DECISION;
	in.reply_plain = 1;
	in.to = "cto@cdt.ca.gov";
	digest_approver(&in, &m);
	assert_string_equal(m.subject, "CGEN exemptions: 2 requests wait on your decision");
	assert_non_null(strstr(m.text, "   APPROVE: mailto:cgen@cdt.ca.gov?subject=Re%3A%20%5BCGEN-2026-0001%5D%20"
				       "For%20decision%3A%20DWR"
				       "&body=APPROVE%0D%0A%0D%0ARef%3A%20aaaaaaaaaaaaaaaaaaaaaaaaaa%0D%0A\n"));
	assert_non_null(strstr(m.text, "   DENY: mailto:cgen@cdt.ca.gov?"));
	assert_null(strstr(m.text, "REJECT:"));
	digest_mail_free(&m);
	case_clear(&c[0]);
	case_clear(&c[1]);
}

/* A loose guard of the bench figure (bench/digest.sh): 1,000 open cases. */
static void test_thousand_cases(void **state)
{
	struct fx *f = *state;
	size_t n = 1000;
	struct case_rec *c = xcalloc(n, sizeof *c);
	static const enum case_state st[] = {ST_AWAITING_APPROVALS, ST_CDT_REVIEW, ST_AWAITING_INFO,
					     ST_CTO_DECISION, ST_INCOMPLETE};
	time_t base = at("2026-09-01T09:00:00-07:00");
	for (size_t i = 0; i < n; i++) {
		char id[24];
		snprintf(id, sizeof id, "CGEN-2026-%04zu", i + 1);
		mkcase(&c[i], id, st[i % ARRAY_LEN(st)], i % 2 ? "DWR" : "CHP", "2026-09-01T09:00:00-07:00", i % 7 == 0);
		c[i].created = c[i].state_since = base + (time_t)i * 7919;
	}
	struct digest_in in = {
		.env = &f->env, .timing = &f->t, .cases = c, .n_cases = n,
		.head = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff", .chain_len = 1,
	};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct digest_mail m;
	digest_cdt(&in, &m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# 1000 open cases: digest built in %.3f s (%zu bytes text, %zu bytes HTML)\n", s,
	       strlen(m.text), strlen(m.html));
	assert_true(s < 1.0);
	assert_non_null(strstr(m.text, "Open cases: 1000 (143 overdue)"));
	digest_mail_free(&m);
	for (size_t i = 0; i < n; i++)
		case_clear(&c[i]);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_and_mailto),
		cmocka_unit_test(test_cdt_digest),
		cmocka_unit_test(test_approver_digest),
		cmocka_unit_test(test_thousand_cases),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
