/* Unit tests of the clock: business days, holidays, the digest time across
 * daylight-saving changes (America/Los_Angeles), and engine_tick's reminders
 * and overdue notice. */
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

#include "calendar.h"
#include "directory.h"
#include "engine.h"

static time_t at(const char *iso)
{
	time_t t;
	assert_int_equal(parse_iso8601(iso, &t), 0);
	return t;
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	return 0;
}

static void test_parse(void **state)
{
	(void)state;
	struct calendar cal = {0};
	struct strv errs = {0};
	const char *text = "# California state holidays\n"
			   "2026-12-25\n"
			   "\n"
			   "2026-11-27   # day after Thanksgiving\n"
			   "  2026-11-26\n"
			   "2026-12-25\n";
	assert_int_equal(calendar_parse(&cal, text, "h.txt", &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(cal.n, 3); /* sorted, the duplicate once */
	assert_int_equal(cal.days[0], calendar_day_number(2026, 11, 26));
	assert_int_equal(cal.days[1], calendar_day_number(2026, 11, 27));
	assert_int_equal(cal.days[2], calendar_day_number(2026, 12, 25));

	const char *bad = "2026-02-29\n2026-13-01\nnext friday\n2028-02-29\n26-11-26\n";
	assert_int_equal(calendar_parse(&cal, bad, "h.txt", &errs), -1);
	assert_int_equal(errs.n, 4);
	assert_string_equal(errs.v[0], "h.txt:1: not a date (YYYY-MM-DD): \"2026-02-29\"");
	assert_string_equal(errs.v[1], "h.txt:2: not a date (YYYY-MM-DD): \"2026-13-01\"");
	assert_string_equal(errs.v[2], "h.txt:3: not a date (YYYY-MM-DD): \"next friday\"");
	assert_string_equal(errs.v[3], "h.txt:5: not a date (YYYY-MM-DD): \"26-11-26\"");
	assert_int_equal(cal.n, 3); /* unchanged */
	strv_free(&errs);

	assert_int_equal(calendar_load(&cal, NULL, &errs), 0);
	assert_int_equal(calendar_load(&cal, "/nonexistent/holidays", &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.v[0], "/nonexistent/holidays: cannot read"));
	strv_free(&errs);
	calendar_free(&cal);
	assert_int_equal(cal.n, 0);
}

static void test_business_day(void **state)
{
	(void)state;
	struct calendar cal = {0};
	struct strv errs = {0};
	assert_int_equal(calendar_parse(&cal, "2026-11-26\n", "h", &errs), 0);
	static const struct { int y, m, d, plain, holidays; } t[] = {
		{2026, 11, 23, 1, 1}, /* Monday */
		{2026, 11, 26, 1, 0}, /* Thursday, a holiday */
		{2026, 11, 27, 1, 1}, /* Friday */
		{2026, 11, 28, 0, 0}, /* Saturday */
		{2026, 11, 29, 0, 0}, /* Sunday */
		{1970, 1, 1, 1, 1},   /* Thursday */
		{2027, 3, 14, 0, 0},  /* Sunday */
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		long day = calendar_day_number(t[i].y, t[i].m, t[i].d);
		assert_int_equal(calendar_business_day(NULL, day), t[i].plain);
		assert_int_equal(calendar_business_day(&cal, day), t[i].holidays);
	}
	calendar_free(&cal);
}

static void test_add_business_days(void **state)
{
	(void)state;
	struct calendar hol = {0};
	struct strv errs = {0};
	assert_int_equal(calendar_parse(&hol, "2026-11-27\n2026-12-25\n", "h", &errs), 0);
	static const struct { const char *from; int n; int holidays; const char *want; } t[] = {
		{"2026-11-26T09:00:00-08:00", 0, 0, "2026-11-26T09:00:00-08:00"},
		{"2026-11-26T09:00:00-08:00", 1, 0, "2026-11-27T09:00:00-08:00"},
		{"2026-11-26T09:00:00-08:00", 3, 0, "2026-12-01T09:00:00-08:00"}, /* Thu -> Tue */
		{"2026-11-26T09:00:00-08:00", 3, 1, "2026-12-02T09:00:00-08:00"}, /* Fri 27 off */
		{"2026-11-28T10:30:00-08:00", 1, 0, "2026-11-30T10:30:00-08:00"}, /* Sat -> Mon */
		{"2026-12-24T16:00:00-08:00", 1, 1, "2026-12-28T16:00:00-08:00"}, /* over Christmas */
		/* daylight-saving ends 2026-11-01: same wall time, one hour more */
		{"2026-10-30T09:00:00-07:00", 1, 0, "2026-11-02T09:00:00-08:00"},
		{"2026-10-29T23:30:00-07:00", 3, 0, "2026-11-03T23:30:00-08:00"},
		/* and starts 2027-03-14: one hour less */
		{"2027-03-12T09:00:00-08:00", 1, 0, "2027-03-15T09:00:00-07:00"},
		{"2027-03-11T02:30:00-08:00", 2, 0, "2027-03-15T02:30:00-07:00"},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		time_t got = calendar_add_business_days(t[i].holidays ? &hol : NULL, at(t[i].from), t[i].n);
		if (got != at(t[i].want))
			fail_msg("row %zu: %s + %d: got %lld, want %s", i, t[i].from, t[i].n,
				 (long long)got, t[i].want);
	}
	/* whole business days between */
	time_t since = at("2026-11-26T09:00:00-08:00");
	assert_int_equal(calendar_business_days_between(NULL, since, at("2026-11-27T08:59:00-08:00"), 9), 0);
	assert_int_equal(calendar_business_days_between(NULL, since, at("2026-11-27T09:00:00-08:00"), 9), 1);
	assert_int_equal(calendar_business_days_between(NULL, since, at("2026-11-30T12:00:00-08:00"), 9), 2);
	assert_int_equal(calendar_business_days_between(&hol, since, at("2026-11-30T12:00:00-08:00"), 9), 1);
	assert_int_equal(calendar_business_days_between(NULL, since, at("2027-01-30T12:00:00-08:00"), 9), 9);
	calendar_free(&hol);
}

/* Runs a clock from first to last in steps of step seconds and records the
 * moments the digest went out (calendar_digest_due, then "sent"). */
static size_t sweep(const char *first, const char *last, int step, int hour, int min,
		    time_t started, time_t *sent, size_t max)
{
	char last_day[11] = "", day[11];
	size_t n = 0;
	for (time_t t = at(first); t <= at(last); t += step) {
		if (calendar_digest_due(t, hour, min, *last_day ? last_day : NULL, started, day)) {
			assert_true(n < max);
			sent[n++] = t;
			memcpy(last_day, day, sizeof day);
		}
	}
	return n;
}

static void test_digest_due_dst(void **state)
{
	(void)state;
	time_t sent[8];
	time_t long_ago = at("2026-01-01T00:00:00Z");
	/* Hourly passes over the end of daylight-saving time: once a day at 07:00. */
	size_t n = sweep("2026-10-31T00:00:00-07:00", "2026-11-03T06:00:00-08:00", 3600, 7, 0,
			 long_ago, sent, 8);
	assert_int_equal(n, 3);
	assert_int_equal(sent[0], at("2026-10-31T07:00:00-07:00"));
	assert_int_equal(sent[1], at("2026-11-01T07:00:00-08:00"));
	assert_int_equal(sent[2], at("2026-11-02T07:00:00-08:00"));
	/* ... and over its start. */
	n = sweep("2027-03-13T00:00:00-08:00", "2027-03-16T06:00:00-07:00", 3600, 7, 0, long_ago, sent, 8);
	assert_int_equal(n, 3);
	assert_int_equal(sent[0], at("2027-03-13T07:00:00-08:00"));
	assert_int_equal(sent[1], at("2027-03-14T07:00:00-07:00"));
	assert_int_equal(sent[2], at("2027-03-15T07:00:00-07:00"));
	/* digest_at 01:30 on 2026-11-01, an hour that happens twice: once. */
	n = sweep("2026-11-01T00:00:00-07:00", "2026-11-01T23:00:00-08:00", 900, 1, 30, long_ago, sent, 8);
	assert_int_equal(n, 1);
	assert_int_equal(sent[0], at("2026-11-01T01:30:00-07:00"));
	/* digest_at 02:30 on 2027-03-14, an hour that does not happen: at 03:00. */
	n = sweep("2027-03-14T00:00:00-08:00", "2027-03-14T23:00:00-07:00", 900, 2, 30, long_ago, sent, 8);
	assert_int_equal(n, 1);
	assert_int_equal(sent[0], at("2027-03-14T03:00:00-07:00"));
}

static void test_digest_due_rules(void **state)
{
	(void)state;
	char day[11];
	time_t started = at("2026-11-26T09:00:00-08:00");
	static const struct { const char *now, *last; int due; const char *day; } t[] = {
		{"2026-11-26T06:59:00-08:00", NULL, 0, "2026-11-26"},         /* before 07:00 */
		{"2026-11-26T10:00:00-08:00", NULL, 0, "2026-11-26"},         /* record began after 07:00 */
		{"2026-11-27T06:00:00-08:00", NULL, 0, "2026-11-27"},
		{"2026-11-27T07:00:00-08:00", NULL, 1, "2026-11-27"},
		{"2026-11-27T07:00:00-08:00", "2026-11-26", 1, "2026-11-27"},
		{"2026-11-27T23:59:00-08:00", "2026-11-27", 0, "2026-11-27"}, /* sent today */
		{"2026-11-28T07:00:00Z", NULL, 1, "2026-11-27"},              /* 23:00 local: late, still that day */
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		int due = calendar_digest_due(at(t[i].now), 7, 0, t[i].last, started, day);
		if (due != t[i].due)
			fail_msg("row %zu: %s: due %d, want %d", i, t[i].now, due, t[i].due);
		assert_string_equal(day, t[i].day);
	}
	/* No event at all: nothing to report. */
	assert_int_equal(calendar_digest_due(at("2026-11-27T08:00:00-08:00"), 7, 0, NULL, (time_t)-1, day), 0);
	/* A record that began at 06:00 gets that day's 07:00 digest. */
	assert_int_equal(calendar_digest_due(at("2026-11-26T07:00:00-08:00"), 7, 0, NULL,
					     at("2026-11-26T06:00:00-08:00"), day), 1);
}

/* ---- engine_tick ---- */

static const char csv[] =
	"code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n"
	"DWR,Department of Water Resources,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,,,\n"
	"CHP,California Highway Patrol,chp.ca.gov,it.chief@chp.ca.gov,it.chief@chp.ca.gov,,,\n";

struct fx {
	struct directory dir;
	struct strv cdt;
	struct engine_env env;
	struct engine_timing t;
	struct calendar cal;
	struct case_rec c;
};

static void fx_init(struct fx *f, enum case_state s, const char *entity, const char *since)
{
	memset(f, 0, sizeof *f);
	struct strv errs = {0};
	assert_int_equal(directory_parse_csv(csv, strlen(csv), "t.csv", &f->dir, &errs), 0);
	strv_free(&errs);
	strv_add(&f->cdt, "review1@cdt.ca.gov");
	strv_add(&f->cdt, "review2@cdt.ca.gov");
	f->env.dir = &f->dir;
	f->env.cdt = &f->cdt;
	f->env.cto = "cto@cdt.ca.gov";
	f->env.agent_addr = "cgen@cdt.ca.gov";
	f->t.cal = &f->cal;
	f->t.remind_after = 3;
	f->t.max_reminders = 2;
	snprintf(f->c.id, sizeof f->c.id, "CGEN-2026-0001");
	f->c.state = s;
	f->c.entity = xstrdup(entity);
	f->c.requester = xstrdup("dana.lee@water.ca.gov");
	f->c.step = 1;
	f->c.created = f->c.state_since = f->c.updated = at(since);
}

static void fx_free(struct fx *f)
{
	case_clear(&f->c);
	directory_free(&f->dir);
	strv_free(&f->cdt);
	calendar_free(&f->cal);
}

/* Ticks every hour from the state's start to last; the case as stored after
 * each tick is kept. Returns what was mailed, "TIME tmpl to role" a line. */
static char *run_clock(struct fx *f, const char *last, int *overdue_events)
{
	struct buf log = {0};
	*overdue_events = 0;
	for (time_t t = f->c.state_since; t <= at(last); t += 3600) {
		struct engine_out o;
		f->env.now = t;
		engine_tick(&f->env, &f->c, &f->t, &o);
		if (o.changed) {
			case_clear(&f->c);
			case_copy(&f->c, &o.c);
		} else
			assert_int_equal(o.n_mails, 0);
		for (size_t i = 0; i < o.n_events; i++)
			*overdue_events += strcmp(o.events[i].kind, "overdue") == 0;
		for (size_t i = 0; i < o.n_mails; i++) {
			struct tm tm;
			char when[32];
			localtime_r(&t, &tm);
			strftime(when, sizeof when, "%a %m-%d %H:%M", &tm);
			assert_int_equal(o.mails[i].keyed, 1);
			buf_addf(&log, "%s %s %s %s\n", when, o.mails[i].tmpl, o.mails[i].to,
				 role_name(o.mails[i].role));
		}
		engine_out_free(&o);
	}
	return buf_steal(&log);
}

static void test_tick_approvals(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, ST_AWAITING_APPROVALS, "DWR", "2026-11-26T09:00:00-08:00");
	int overdue;
	char *log = run_clock(&f, "2026-12-31T00:00:00-08:00", &overdue);
	/* every 3 business days from Thu 11-26 09:00, twice, then overdue once */
	assert_string_equal(log,
		"Tue 12-01 09:00 reminder aio@water.ca.gov aio\n"
		"Tue 12-01 09:00 reminder cio@water.ca.gov cio\n"
		"Fri 12-04 09:00 reminder aio@water.ca.gov aio\n"
		"Fri 12-04 09:00 reminder cio@water.ca.gov cio\n"
		"Wed 12-09 09:00 overdue review1@cdt.ca.gov cdt\n"
		"Wed 12-09 09:00 overdue review2@cdt.ca.gov cdt\n");
	assert_int_equal(overdue, 1);
	assert_int_equal(f.c.overdue, 1);
	assert_int_equal(f.c.reminders, 2);
	assert_int_equal(f.c.step, 1); /* the step, and with it the reply key, stays */
	free(log);
	fx_free(&f);
}

static void test_tick_partial_and_shared(void **state)
{
	(void)state;
	struct fx f;
	/* The AIO approved: only the CIO is reminded. Friday after Thanksgiving off. */
	fx_init(&f, ST_AWAITING_APPROVALS, "DWR", "2026-11-25T15:00:00-08:00");
	struct strv errs = {0};
	assert_int_equal(calendar_parse(&f.cal, "2026-11-26\n2026-11-27\n", "h", &errs), 0);
	f.c.aio = AP_APPROVED;
	f.t.max_reminders = 1;
	f.t.remind_after = 2;
	int overdue;
	char *log = run_clock(&f, "2026-12-31T00:00:00-08:00", &overdue);
	assert_string_equal(log,
		"Tue 12-01 15:00 reminder cio@water.ca.gov cio\n"
		"Thu 12-03 15:00 overdue review1@cdt.ca.gov cdt\n"
		"Thu 12-03 15:00 overdue review2@cdt.ca.gov cdt\n");
	free(log);
	fx_free(&f);

	/* One address as AIO and CIO: one reminder, as the AIO (as the request went). */
	fx_init(&f, ST_AWAITING_APPROVALS, "CHP", "2026-11-26T09:00:00-08:00");
	f.t.max_reminders = 1;
	log = run_clock(&f, "2026-12-31T00:00:00-08:00", &overdue);
	assert_string_equal(log,
		"Tue 12-01 09:00 reminder it.chief@chp.ca.gov aio\n"
		"Fri 12-04 09:00 overdue review1@cdt.ca.gov cdt\n"
		"Fri 12-04 09:00 overdue review2@cdt.ca.gov cdt\n");
	free(log);
	fx_free(&f);
}

static void test_tick_roles(void **state)
{
	(void)state;
	static const struct { enum case_state s; const char *first; } t[] = {
		{ST_CDT_REVIEW, "Tue 12-01 09:00 reminder review1@cdt.ca.gov cdt\n"
				"Tue 12-01 09:00 reminder review2@cdt.ca.gov cdt\n"},
		{ST_CTO_DECISION, "Tue 12-01 09:00 reminder cto@cdt.ca.gov cto\n"},
		{ST_AWAITING_INFO, "Tue 12-01 09:00 reminder dana.lee@water.ca.gov requester\n"},
		{ST_INCOMPLETE, "Tue 12-01 09:00 reminder dana.lee@water.ca.gov requester\n"},
		{ST_RECEIVED, ""},
		{ST_GRANTED, ""},
		{ST_WITHDRAWN, ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct fx f;
		fx_init(&f, t[i].s, "DWR", "2026-11-26T09:00:00-08:00");
		f.t.max_reminders = 1;
		f.t.remind_after = 3;
		int overdue;
		char *log = run_clock(&f, "2026-12-03T00:00:00-08:00", &overdue);
		assert_string_equal(log, t[i].first);
		assert_int_equal(overdue, 0);
		free(log);
		fx_free(&f);
	}
}

static void test_tick_late_and_vars(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, ST_CTO_DECISION, "DWR", "2026-10-30T09:00:00-07:00");
	/* Across the end of daylight-saving time: reminder 1 at 09:00 PST. */
	f.env.now = at("2026-11-04T08:59:00-08:00");
	struct engine_out o;
	engine_tick(&f.env, &f.c, &f.t, &o);
	assert_int_equal(o.changed, 0);
	engine_out_free(&o);
	f.env.now = at("2026-11-04T09:00:00-08:00");
	engine_tick(&f.env, &f.c, &f.t, &o);
	assert_int_equal(o.changed, 1);
	assert_int_equal(o.c.reminders, 1);
	assert_int_equal(o.n_mails, 1);
	int found = 0;
	for (size_t i = 0; i + 1 < o.mails[0].vars.n; i += 2) {
		if (strcmp(o.mails[0].vars.v[i], "since") == 0) {
			assert_string_equal(o.mails[0].vars.v[i + 1], "2026-10-30 09:00 PDT");
			found++;
		}
		if (strcmp(o.mails[0].vars.v[i], "commands") == 0) {
			assert_non_null(strstr(o.mails[0].vars.v[i + 1], "APPROVE [conditions]"));
			assert_non_null(strstr(o.mails[0].vars.v[i + 1], "DENY reason"));
			found++;
		}
	}
	assert_int_equal(found, 2);
	assert_int_equal(o.n_events, 1);
	assert_string_equal(o.events[0].kind, "reminder");
	engine_out_free(&o);

	/* Ticking late (the daemon was stopped) past the overdue deadline: overdue,
	 * once, without a burst of reminders. */
	f.env.now = at("2026-12-20T12:00:00-08:00");
	engine_tick(&f.env, &f.c, &f.t, &o);
	assert_int_equal(o.c.overdue, 1);
	assert_int_equal(o.n_mails, 2);
	assert_string_equal(o.mails[0].tmpl, "overdue");
	struct case_rec after;
	case_copy(&after, &o.c);
	engine_out_free(&o);
	f.env.now += 86400 * 10;
	engine_tick(&f.env, &after, &f.t, &o);
	assert_int_equal(o.changed, 0);
	assert_int_equal(o.n_mails, 0);
	engine_out_free(&o);
	case_clear(&after);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_business_day),
		cmocka_unit_test(test_add_business_days),
		cmocka_unit_test(test_digest_due_dst),
		cmocka_unit_test(test_digest_due_rules),
		cmocka_unit_test(test_tick_approvals),
		cmocka_unit_test(test_tick_partial_and_shared),
		cmocka_unit_test(test_tick_roles),
		cmocka_unit_test(test_tick_late_and_vars),
	};
	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
