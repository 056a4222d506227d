/* test_store.c: the SQLite store against real files in a temporary folder. */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "src/schema.h" /* schema_sql, generated in the build tree */

static char tmpdir[] = "/tmp/test_store.XXXXXX";
static int nfile;

/* A fresh store file path (allocated). */
static char *new_path(void)
{
	return xasprintf("%s/s%d.db", tmpdir, ++nfile);
}

static struct store *open_ok(const char *path)
{
	struct store *st = NULL;
	char *err = NULL;
	int rc = store_open(path, &st, &err);
	if (rc != STORE_OK)
		fail_msg("store_open %s: %s", path, err);
	assert_null(err);
	assert_non_null(st);
	return st;
}

/* Runs SQL on the file through a separate raw connection; returns the sqlite
 * result code and the error text in msg (allocated, or NULL). */
static int raw_exec(const char *path, const char *sql, char **msg)
{
	sqlite3 *db;
	char *e = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);
	if (msg)
		*msg = e ? xstrdup(e) : NULL;
	sqlite3_free(e);
	sqlite3_close(db);
	return rc;
}

static void raw_ok(const char *path, const char *sql)
{
	char *msg = NULL;
	if (raw_exec(path, sql, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* First column of the first row of a query, as text (allocated). */
static char *raw_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	char *t = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return t;
}

static void assert_raw_text(const char *path, const char *sql, const char *want)
{
	char *t = raw_text(path, sql);
	assert_string_equal(t, want);
	free(t);
}

static void test_open_reopen(void **state)
{
	(void)state;
	char *path = new_path(), *err = NULL;
	struct store *st = open_ok(path), *st2 = NULL;
	struct case_rec c = {.id = "CGEN-2026-0001", .state = ST_RECEIVED, .created = 5};
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	assert_string_equal(store_errmsg(st), "");
	store_close(st);
	char *ver = xasprintf("%d", store_schema_version());
	assert_true(store_schema_version() >= 2);
	assert_raw_text(path, "PRAGMA user_version", ver);
	assert_raw_text(path, "PRAGMA journal_mode", "wal");

	st = open_ok(path); /* reopening keeps the data and the version */
	struct case_rec got;
	assert_int_equal(store_case_get(st, "CGEN-2026-0001", &got), STORE_OK);
	assert_int_equal(got.created, 5);
	case_clear(&got);
	store_close(st);
	assert_raw_text(path, "PRAGMA user_version", ver);

	raw_ok(path, "PRAGMA user_version = 99");
	assert_int_equal(store_open(path, &st2, &err), STORE_ERR);
	assert_null(st2);
	free(ver);
	char *want = xasprintf("%s: schema version 99 is newer than this program knows (%d)", path,
			       store_schema_version());
	assert_string_equal(err, want);
	free(want);
	free(err);
	err = NULL;

	/* not a database */
	char *junk = xasprintf("%s/junk.db", tmpdir);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("this is not a database file, just text long enough to be read....", f);
	fclose(f);
	chmod(junk, 0600);
	assert_int_equal(store_open(junk, &st2, &err), STORE_ERR);
	assert_non_null(strstr(err, "sqlite: file is not a database"));
	free(err);
	err = NULL;
	free(junk);

	junk = xasprintf("%s/no/such/dir.db", tmpdir);
	assert_int_equal(store_open(junk, &st2, &err), STORE_ERR);
	want = xasprintf("%s: cannot create: No such file or directory", junk);
	assert_string_equal(err, want);
	free(want);
	free(err);
	free(junk);
	free(path);
}

static void test_case_roundtrip(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct case_rec c = {
		.id = "CGEN-2026-0042",
		.state = ST_CTO_DECISION,
		.entity = "DWR",
		.requester = "ann@water.ca.gov",
		.aio = AP_APPROVED,
		.cio = AP_REJECTED,
		.step = 4,
		.subject = "Exemption: fiber to the dam",
		.request_msgid = "<abc@water.ca.gov>",
		.fields_json = "{\"entity\":\"DWR\"}",
		.problems_json = "[]",
		.summary = "Entity: DWR\nTotal: $1.00",
		.recommendation = "APPROVE cheaper",
		.decision = "with conditions",
		.reminders = 2,
		.overdue = 1,
		.created = 1767225600,
		.updated = 1767312000,
		.state_since = 1767300000,
	};
	struct case_rec got;
	assert_int_equal(store_case_get(st, c.id, &got), STORE_NOTFOUND);
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	assert_int_equal(store_case_get(st, c.id, &got), STORE_OK);
	assert_string_equal(got.id, c.id);
	assert_int_equal(got.state, ST_CTO_DECISION);
	assert_string_equal(got.entity, c.entity);
	assert_string_equal(got.requester, c.requester);
	assert_int_equal(got.aio, AP_APPROVED);
	assert_int_equal(got.cio, AP_REJECTED);
	assert_int_equal(got.step, 4);
	assert_string_equal(got.subject, c.subject);
	assert_string_equal(got.request_msgid, c.request_msgid);
	assert_string_equal(got.fields_json, c.fields_json);
	assert_string_equal(got.problems_json, c.problems_json);
	assert_string_equal(got.summary, c.summary);
	assert_string_equal(got.recommendation, c.recommendation);
	assert_string_equal(got.decision, c.decision);
	assert_int_equal(got.reminders, 2);
	assert_int_equal(got.overdue, 1);
	assert_int_equal(got.created, 1767225600);
	assert_int_equal(got.updated, 1767312000);
	assert_int_equal(got.state_since, 1767300000);
	case_clear(&got);

	/* replace: NULLs stay NULL */
	struct case_rec c2 = {.id = "CGEN-2026-0042", .state = ST_GRANTED, .created = 9};
	assert_int_equal(store_case_put(st, &c2), STORE_OK);
	assert_int_equal(store_case_get(st, c.id, &got), STORE_OK);
	assert_int_equal(got.state, ST_GRANTED);
	assert_null(got.entity);
	assert_null(got.decision);
	assert_int_equal(got.aio, AP_PENDING);
	assert_int_equal(got.created, 9);
	case_clear(&got);
	assert_raw_text(path, "SELECT year || '/' || num || '/' || state FROM cases",
			"2026/42/granted");

	struct case_rec bad = {.id = "CASE-1"};
	assert_int_equal(store_case_put(st, &bad), STORE_ERR);
	assert_string_equal(store_errmsg(st), "bad case id \"CASE-1\"");
	store_close(st);
	free(path);
}

/* The exemption's life (schema version 8) is stored with the case. */
static void test_case_life(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct case_rec c = {
		.id = "CGEN-2026-0007", .state = ST_GRANTED, .created = 1767225600,
		.decision = "review at renewal", .alternative = "CGEN SD-WAN", .decided = 1767300000,
		.term_months = 36, .extension_months = 12, .end_set = 1767400000, .ext_months = 6,
		.ext_reason = "late site", .ext_by = "ann@water.ca.gov", .renews = "CGEN-2025-0012",
		.renews_text = "CGEN-2025-0012, granted 2025-03-02", .renewed_by = "CGEN-2028-0001",
		.expiry_notice = 30,
	};
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	struct case_rec *v = NULL;
	size_t n = 0;
	assert_int_equal(store_case_list(st, "granted", &v, &n), STORE_OK);
	assert_int_equal(n, 1);
	struct case_rec got;
	assert_int_equal(store_case_get(st, c.id, &got), STORE_OK);
	for (int k = 0; k < 2; k++) {
		const struct case_rec *g = k ? &v[0] : &got;
		assert_string_equal(g->alternative, "CGEN SD-WAN");
		assert_int_equal(g->decided, 1767300000);
		assert_int_equal(g->term_months, 36);
		assert_int_equal(g->extension_months, 12);
		assert_int_equal(g->end_set, 1767400000);
		assert_int_equal(g->ext_months, 6);
		assert_string_equal(g->ext_reason, "late site");
		assert_string_equal(g->ext_by, "ann@water.ca.gov");
		assert_string_equal(g->renews, "CGEN-2025-0012");
		assert_string_equal(g->renews_text, "CGEN-2025-0012, granted 2025-03-02");
		assert_string_equal(g->renewed_by, "CGEN-2028-0001");
		assert_int_equal(g->expiry_notice, 30);
	}
	store_cases_free(v, n);
	case_clear(&got);
	/* a case put again keeps one row of each */
	c.expiry_notice = -1;
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	assert_raw_text(path, "SELECT count(*) || '/' || expiry_notice FROM case_life", "1/-1");
	store_close(st);

	/* A store of version 7 gets its granted cases' dates and terms. (This
	 * re-applies every section after 7: they must stay re-runnable on an
	 * upgraded store, as they are on a new one.) */
	char *old = new_path();
	st = open_ok(old);
	struct case_rec a = {.id = "CGEN-2026-0001", .state = ST_GRANTED, .created = 1,
			     .state_since = 1767300000,
			     .fields_json = "{\"contract_term\":\"3 years, no renewal\"}"};
	struct case_rec b = {.id = "CGEN-2026-0002", .state = ST_CDT_REVIEW, .created = 2,
			     .state_since = 5, .fields_json = "{\"contract_term\":\"24 months\"}"};
	struct case_rec d = {.id = "CGEN-2026-0003", .state = ST_INCOMPLETE, .created = 3,
			     .fields_json = "not json"};
	assert_int_equal(store_case_put(st, &a), STORE_OK);
	assert_int_equal(store_case_put(st, &b), STORE_OK);
	assert_int_equal(store_case_put(st, &d), STORE_OK);
	store_close(st);
	raw_ok(old, "DROP TABLE case_life; PRAGMA user_version = 7;");
	st = open_ok(old);
	assert_int_equal(store_case_get(st, a.id, &got), STORE_OK);
	assert_int_equal(got.decided, 1767300000);
	assert_int_equal(got.end_set, 1767300000);
	assert_int_equal(got.term_months, 36);
	case_clear(&got);
	assert_int_equal(store_case_get(st, b.id, &got), STORE_OK);
	assert_int_equal(got.decided, 0);
	assert_int_equal(got.term_months, 24);
	case_clear(&got);
	assert_int_equal(store_case_get(st, d.id, &got), STORE_OK);
	assert_int_equal(got.term_months, 0);
	case_clear(&got);
	store_close(st);
	free(old);
	free(path);
}

static void put_case(struct store *st, const char *id, enum case_state s, time_t created)
{
	struct case_rec c = {.state = s, .created = created};
	snprintf(c.id, sizeof c.id, "%s", id);
	assert_int_equal(store_case_put(st, &c), STORE_OK);
}

static void assert_next_id(struct store *st, int year, const char *want)
{
	char id[24];
	assert_int_equal(store_case_next_id(st, year, id), STORE_OK);
	assert_string_equal(id, want);
}

static void test_case_next_id(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	assert_next_id(st, 2026, "CGEN-2026-0001");
	put_case(st, "CGEN-2026-0001", ST_RECEIVED, 1);
	assert_next_id(st, 2026, "CGEN-2026-0002");

	/* a case inserted earlier in the same transaction counts */
	assert_int_equal(store_begin(st), STORE_OK);
	put_case(st, "CGEN-2026-0002", ST_RECEIVED, 2);
	assert_next_id(st, 2026, "CGEN-2026-0003");
	assert_int_equal(store_rollback(st), STORE_OK);
	assert_next_id(st, 2026, "CGEN-2026-0002");

	/* a new year starts again at 1 */
	assert_next_id(st, 2027, "CGEN-2027-0001");
	put_case(st, "CGEN-2027-0001", ST_RECEIVED, 3);
	assert_next_id(st, 2027, "CGEN-2027-0002");
	assert_next_id(st, 2026, "CGEN-2026-0002");

	/* past 9999 the number grows */
	put_case(st, "CGEN-2026-9999", ST_RECEIVED, 4);
	assert_next_id(st, 2026, "CGEN-2026-10000");
	put_case(st, "CGEN-2026-10000", ST_RECEIVED, 5);
	assert_next_id(st, 2026, "CGEN-2026-10001");
	store_close(st);
	free(path);
}

static void test_case_list(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct case_rec *v;
	size_t n;
	assert_int_equal(store_case_list(st, NULL, &v, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_cases_free(v, n);

	put_case(st, "CGEN-2026-0003", ST_CDT_REVIEW, 100);
	put_case(st, "CGEN-2026-0001", ST_GRANTED, 300);
	put_case(st, "CGEN-2026-0004", ST_CDT_REVIEW, 200);
	put_case(st, "CGEN-2026-0002", ST_CDT_REVIEW, 100);

	static const struct {
		const char *state;
		size_t n;
		const char *ids[4];
	} cases[] = {
		{NULL, 4, {"CGEN-2026-0002", "CGEN-2026-0003", "CGEN-2026-0004", "CGEN-2026-0001"}},
		{"cdt_review", 3, {"CGEN-2026-0002", "CGEN-2026-0003", "CGEN-2026-0004"}},
		{"granted", 1, {"CGEN-2026-0001"}},
		{"withdrawn", 0, {NULL}},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(store_case_list(st, cases[i].state, &v, &n), STORE_OK);
		assert_int_equal(n, cases[i].n);
		for (size_t j = 0; j < n; j++)
			assert_string_equal(v[j].id, cases[i].ids[j]);
		store_cases_free(v, n);
	}
	store_close(st);
	free(path);
}

static const char hash1[] = "4b99feac672721e8b4477e29f9e8a38556728370daaf2cbbd3f04d487f2c387a";
static const char hash2[] = "91922e0ef7d7e54ae854aebdeea127b7c5415a87d294507a27fbc1b43c472ea3";

static void add_events(struct store *st)
{
	assert_int_equal(store_event_add(st, "CGEN-2026-0001", 1767225600, "received",
					 "ann@dwr.ca.gov", "request"), STORE_OK);
	assert_int_equal(store_event_add(st, NULL, 1767225700, "digest", NULL, NULL), STORE_OK);
	assert_int_equal(store_event_add(st, "CGEN-2026-0001", 1767225800, "approved",
					 "aio@dwr.ca.gov", "ok"), STORE_OK);
	assert_int_equal(store_event_add(st, "CGEN-2026-0002", 1767225900, "received",
					 "bob@cdt.ca.gov", "second"), STORE_OK);
}

static void assert_verify_ok(struct store *st, int64_t want_count)
{
	char *finding = NULL, head[65];
	int64_t count = -1;
	int rc = store_verify(st, &finding, head, &count);
	if (rc != STORE_OK)
		fail_msg("verify: %d %s", rc, finding ? finding : store_errmsg(st));
	assert_null(finding);
	assert_int_equal(count, want_count);
	struct event_rec *v;
	size_t n;
	assert_int_equal(store_events(st, NULL, &v, &n), STORE_OK);
	assert_int_equal(n, (size_t)want_count);
	assert_string_equal(head, n ? v[n - 1].hash : "0000000000000000000000000000000000000000000000000000000000000000");
	store_events_free(v, n);
}

static void assert_verify_finding(struct store *st, const char *want, int64_t want_count)
{
	char *finding = NULL, head[65];
	int64_t count = -1;
	assert_int_equal(store_verify(st, &finding, head, &count), STORE_NOTFOUND);
	assert_non_null(finding);
	assert_string_equal(finding, want);
	assert_int_equal(count, want_count);
	free(finding);
}

static void test_events_chain(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	assert_verify_ok(st, 0);
	add_events(st);
	assert_verify_ok(st, 4);

	struct event_rec *v;
	size_t n;
	assert_int_equal(store_events(st, NULL, &v, &n), STORE_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].seq, (int64_t)i + 1);
		if (i)
			assert_string_equal(v[i].prev, v[i - 1].hash);
	}
	/* the exact hash format: prev || "LEN:FIELD" for seq, case, at, kind, actor, detail */
	assert_string_equal(v[0].prev, "0000000000000000000000000000000000000000000000000000000000000000");
	assert_string_equal(v[0].hash, hash1);
	assert_string_equal(v[1].hash, hash2);
	assert_null(v[1].case_id);
	assert_string_equal(v[1].actor, "");
	assert_string_equal(v[1].detail, "");
	assert_string_equal(v[2].kind, "approved");
	assert_int_equal(v[2].at, 1767225800);
	store_events_free(v, n);

	assert_int_equal(store_events(st, "CGEN-2026-0001", &v, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, 1);
	assert_int_equal(v[1].seq, 3);
	assert_string_equal(v[1].actor, "aio@dwr.ca.gov");
	assert_string_equal(v[1].detail, "ok");
	store_events_free(v, n);

	/* the chain continues across reopening */
	store_close(st);
	st = open_ok(path);
	assert_int_equal(store_event_add(st, "CGEN-2026-0002", 1767226000, "note", "cdt@cdt.ca.gov",
					 "x"), STORE_OK);
	assert_verify_ok(st, 5);
	store_close(st);
	free(path);
}

static void test_events_tamper(void **state)
{
	(void)state;
	static const struct {
		const char *sql;
		const char *finding;
		int64_t count; /* events verified before the finding */
	} cases[] = {
		{"DROP TRIGGER events_no_update; UPDATE events SET detail = 'no' WHERE seq = 3",
		 "event 3 (case CGEN-2026-0001, approved): hash does not match its contents", 2},
		{"DROP TRIGGER events_no_update; UPDATE events SET at = at + 1 WHERE seq = 2",
		 "event 2 (digest): hash does not match its contents", 1},
		{"DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 2",
		 "event 2 missing", 1},
		{"DROP TRIGGER events_no_update; UPDATE events SET prev = "
		 "(SELECT prev FROM events WHERE seq = 3) WHERE seq = 4",
		 "event 4 (case CGEN-2026-0002, received): chain broken (prev does not match "
		 "event 3)", 3},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *path = new_path();
		struct store *st = open_ok(path);
		add_events(st);
		assert_verify_ok(st, 4);
		raw_ok(path, cases[i].sql);
		assert_verify_finding(st, cases[i].finding, cases[i].count);
		store_close(st);
		free(path);
	}
}

static void test_events_append_only(void **state)
{
	(void)state;
	char *path = new_path(), *msg = NULL;
	struct store *st = open_ok(path);
	add_events(st);
	static const char *const sqls[] = {
		"UPDATE events SET detail = 'no' WHERE seq = 3",
		"DELETE FROM events WHERE seq = 3",
		"DELETE FROM events",
	};
	for (size_t i = 0; i < ARRAY_LEN(sqls); i++) {
		assert_int_equal(raw_exec(path, sqls[i], &msg), SQLITE_CONSTRAINT);
		assert_string_equal(msg, "events are append-only");
		free(msg);
	}
	assert_verify_ok(st, 4);
	store_close(st);
	free(path);
}

static void test_keys(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct key_rec k;
	assert_int_equal(store_key_get(st, "abcdefghijklmnopqrstuvwxyz", &k), STORE_NOTFOUND);
	assert_int_equal(store_key_add(st, "abcdefghijklmnopqrstuvwxyz", "CGEN-2026-0001", 2, "aio",
				       "aio@dwr.ca.gov"), STORE_OK);
	assert_int_equal(store_key_add(st, "bbcdefghijklmnopqrstuvwxyz", "CGEN-2026-0002", 5, "cto",
				       "cto@cdt.ca.gov"), STORE_OK);
	assert_int_equal(store_key_get(st, "abcdefghijklmnopqrstuvwxyz", &k), STORE_OK);
	assert_string_equal(k.case_id, "CGEN-2026-0001");
	assert_int_equal(k.step, 2);
	assert_string_equal(k.role, "aio");
	assert_string_equal(k.addressee, "aio@dwr.ca.gov");
	store_key_clear(&k);
	assert_null(k.case_id);
	assert_int_equal(store_key_get(st, "bbcdefghijklmnopqrstuvwxyz", &k), STORE_OK);
	assert_string_equal(k.case_id, "CGEN-2026-0002");
	assert_int_equal(k.step, 5);
	assert_string_equal(k.role, "cto");
	store_key_clear(&k);
	/* adding the same key again (a reminder) keeps one row */
	assert_int_equal(store_key_add(st, "abcdefghijklmnopqrstuvwxyz", "CGEN-2026-0001", 2, "aio",
				       "aio@dwr.ca.gov"), STORE_OK);
	assert_raw_text(path, "SELECT count(*) FROM reply_keys", "2");
	store_close(st);
	free(path);
}

static void outbox_add(struct store *st, const char *case_id, const char *rcpts, const char *data,
		       time_t at, int64_t want_id)
{
	struct strv r = {0};
	int64_t id = -1, next = -1;
	strv_split(&r, rcpts, ',');
	assert_int_equal(store_outbox_next_id(st, &next), STORE_OK);
	assert_int_equal(next, want_id);
	assert_int_equal(store_outbox_add(st, case_id, "cgen@cdt.ca.gov", &r, data, strlen(data),
					  at, &id), STORE_OK);
	assert_int_equal(id, want_id);
	strv_free(&r);
}

static void assert_due(struct store *st, time_t now, size_t max, size_t want_n,
		       const int64_t *want_ids)
{
	struct outbox_rec *v;
	size_t n;
	assert_int_equal(store_outbox_due(st, now, max, &v, &n), STORE_OK);
	assert_int_equal(n, want_n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].id, want_ids[i]);
	store_outbox_free(v, n);
}

static void test_outbox(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	outbox_add(st, "CGEN-2026-0001", "ann@dwr.ca.gov,aio@dwr.ca.gov", "Subject: a\r\n\r\nA\r\n",
		   1000, 1);
	outbox_add(st, NULL, "xann@dwr.ca.gov", "Subject: b\r\n\r\nB\r\n", 1100, 2);
	outbox_add(st, "CGEN-2026-0002", "ANN@dwr.ca.gov", "Subject: c\r\n\r\nC\r\n", 1200, 3);

	struct outbox_rec *v;
	size_t n;
	assert_int_equal(store_outbox_due(st, 1200, 10, &v, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, 1);
	assert_string_equal(v[0].case_id, "CGEN-2026-0001");
	assert_string_equal(v[0].env_from, "cgen@cdt.ca.gov");
	assert_int_equal(v[0].rcpts.n, 2);
	assert_string_equal(v[0].rcpts.v[0], "ann@dwr.ca.gov");
	assert_string_equal(v[0].rcpts.v[1], "aio@dwr.ca.gov");
	assert_int_equal(v[0].len, strlen("Subject: a\r\n\r\nA\r\n"));
	assert_memory_equal(v[0].data, "Subject: a\r\n\r\nA\r\n", v[0].len + 1);
	assert_int_equal(v[0].attempts, 0);
	assert_int_equal(v[0].next_try, 1000);
	assert_null(v[1].case_id);
	store_outbox_free(v, n);

	static const int64_t ids123[] = {1, 2, 3}, ids3[] = {3}, ids23[] = {2, 3};
	assert_due(st, 1100, 10, 2, ids123);
	assert_due(st, 1200, 2, 2, ids123);
	assert_due(st, 999, 10, 0, NULL);

	/* rate limit: whole lines, case-insensitive, since a time */
	static const struct {
		const char *addr;
		time_t since;
		int want;
	} counts[] = {
		{"ann@dwr.ca.gov", 0, 2},    {"ann@dwr.ca.gov", 1001, 1}, {"aio@dwr.ca.gov", 0, 1},
		{"xann@dwr.ca.gov", 0, 1},   {"nn@dwr.ca.gov", 0, 0},     {"dwr.ca.gov", 0, 0},
		{"ann@dwr.ca.gov", 1201, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(counts); i++) {
		int c = -1;
		assert_int_equal(store_outbox_count_to(st, counts[i].addr, counts[i].since, &c),
				 STORE_OK);
		assert_int_equal(c, counts[i].want);
	}

	assert_int_equal(store_outbox_sent(st, 1, 1300), STORE_OK);
	assert_due(st, 2000, 10, 2, ids23);
	assert_int_equal(store_outbox_retry(st, 2, 1900, "421 try later"), STORE_OK);
	assert_due(st, 1899, 10, 1, ids3); /* retry in the future: not due */
	assert_int_equal(store_outbox_due(st, 1900, 10, &v, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, 2);
	assert_int_equal(v[0].attempts, 1);
	assert_int_equal(v[0].next_try, 1900);
	store_outbox_free(v, n);
	assert_int_equal(store_outbox_failed(st, 3, 1400, "550 no such user"), STORE_OK);
	assert_due(st, 5000, 10, 1, ids23);
	assert_raw_text(path, "SELECT error FROM outbox WHERE id = 3", "550 no such user");
	assert_raw_text(path, "SELECT error FROM outbox WHERE id = 2", "421 try later");
	assert_raw_text(path, "SELECT sent_at FROM outbox WHERE id = 1", "1300");

	int p = -1, s = -1, f = -1;
	assert_int_equal(store_outbox_counts(st, &p, &s, &f), STORE_OK);
	assert_int_equal(p, 1);
	assert_int_equal(s, 1);
	assert_int_equal(f, 1);

	assert_int_equal(store_outbox_sent(st, 99, 1), STORE_NOTFOUND);
	assert_int_equal(store_outbox_retry(st, 99, 1, "x"), STORE_NOTFOUND);
	assert_int_equal(store_outbox_failed(st, 99, 1, "x"), STORE_NOTFOUND);

	/* ids are never reused, even after the newest row is deleted */
	raw_ok(path, "DELETE FROM outbox WHERE id >= 2");
	outbox_add(st, NULL, "a@b.org", "x", 3000, 4);
	store_close(st);
	st = open_ok(path);
	raw_ok(path, "DELETE FROM outbox");
	outbox_add(st, NULL, "a@b.org", "y", 3000, 5);
	store_close(st);
	free(path);
}

static void test_queue(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	int64_t m1, m2;
	assert_int_equal(store_message_add(st, "<1@x>", "1.eml", "a", 1, "request", "eve@evil.com",
					   "Exemption", NULL, 10, &m1), STORE_OK);
	assert_int_equal(store_message_add(st, "<2@x>", "2.eml", "b", 1, "other", NULL, NULL, NULL,
					   11, &m2), STORE_OK);
	assert_int_equal(store_queue_add(st, m1, 20, "unknown entity"), STORE_OK);
	assert_int_equal(store_queue_add(st, m2, 21, "no domain"), STORE_OK);
	assert_int_equal(store_queue_add(st, m1, 22, "again"), STORE_OK);
	/* the mail must exist */
	assert_int_equal(store_queue_add(st, 999, 23, "ghost"), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "sqlite: FOREIGN KEY constraint failed"));
	raw_ok(path, "UPDATE queue SET resolved = 1 WHERE reason = 'again'");

	struct queue_rec *v;
	size_t n;
	assert_int_equal(store_queue_list(st, &v, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, 1);
	assert_int_equal(v[0].message_id, m1);
	assert_int_equal(v[0].at, 20);
	assert_string_equal(v[0].from, "eve@evil.com");
	assert_string_equal(v[0].subject, "Exemption");
	assert_string_equal(v[0].reason, "unknown entity");
	assert_int_equal(v[1].message_id, m2);
	assert_string_equal(v[1].from, "");
	assert_string_equal(v[1].subject, "");
	assert_string_equal(v[1].reason, "no domain");
	store_queue_free(v, n);
	store_close(st);
	free(path);
}

static void make_entity(struct entity *e, const char *code, const char *domains,
			const char *aio, const char *aio_d, const char *exempt)
{
	memset(e, 0, sizeof *e);
	e->code = xstrdup(code);
	e->name = xasprintf("Department %s", code);
	strv_split(&e->domains, domains, ';');
	e->aio = xstrdup(aio);
	e->cio = aio ? xasprintf("cio@%s", e->domains.v[0]) : NULL;
	strv_split(&e->aio_delegates, aio_d, ';');
	e->exempt = xstrdup(exempt);
}

static void assert_strv(const struct strv *l, size_t n, const char *const *want)
{
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

static void test_directory(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct directory d = {.v = xcalloc(3, sizeof(struct entity)), .n = 3}, got;
	make_entity(&d.v[0], "DWR", "water.ca.gov;dwr.ca.gov", "aio@water.ca.gov",
		    "d1@water.ca.gov;d2@water.ca.gov", NULL);
	make_entity(&d.v[1], "UC", "ucop.edu", NULL, NULL, "college/university");
	make_entity(&d.v[2], "CDT", "cdt.ca.gov", "aio@cdt.ca.gov", NULL, NULL);

	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 0);
	directory_free(&got);

	assert_int_equal(store_directory_replace(st, &d), STORE_OK);
	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.v[0].code, "DWR");
	assert_string_equal(got.v[0].name, "Department DWR");
	static const char *const dwr_domains[] = {"water.ca.gov", "dwr.ca.gov"};
	static const char *const dwr_delegates[] = {"d1@water.ca.gov", "d2@water.ca.gov"};
	assert_strv(&got.v[0].domains, 2, dwr_domains);
	assert_string_equal(got.v[0].aio, "aio@water.ca.gov");
	assert_string_equal(got.v[0].cio, "cio@water.ca.gov");
	assert_strv(&got.v[0].aio_delegates, 2, dwr_delegates);
	assert_int_equal(got.v[0].cio_delegates.n, 0);
	assert_null(got.v[0].exempt);
	assert_string_equal(got.v[1].code, "UC");
	assert_null(got.v[1].aio);
	assert_null(got.v[1].cio);
	assert_string_equal(got.v[1].exempt, "college/university");
	assert_string_equal(got.v[2].code, "CDT");
	directory_free(&got);

	/* a failing replace (duplicate code) leaves the directory unchanged */
	struct directory dup = {.v = xcalloc(2, sizeof(struct entity)), .n = 2};
	make_entity(&dup.v[0], "X", "x.gov", "a@x.gov", NULL, NULL);
	make_entity(&dup.v[1], "X", "y.gov", "a@y.gov", NULL, NULL);
	assert_int_equal(store_directory_replace(st, &dup), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "UNIQUE constraint failed: entities.code"));
	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 3);
	directory_free(&got);

	/* inside the caller's transaction: the caller's rollback undoes it */
	struct directory one = {.v = xcalloc(1, sizeof(struct entity)), .n = 1};
	make_entity(&one.v[0], "CDT", "cdt.ca.gov", "boss@cdt.ca.gov", NULL, NULL);
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_directory_replace(st, &one), STORE_OK);
	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 1);
	directory_free(&got);
	assert_int_equal(store_rollback(st), STORE_OK);
	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 3);
	directory_free(&got);

	assert_int_equal(store_directory_replace(st, &one), STORE_OK);
	assert_int_equal(store_directory_load(st, &got), STORE_OK);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.v[0].aio, "boss@cdt.ca.gov");
	directory_free(&got);

	directory_free(&d);
	directory_free(&dup);
	directory_free(&one);
	store_close(st);
	free(path);
}

static void test_rollback(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	add_events(st);

	assert_int_equal(store_begin(st), STORE_OK);
	put_case(st, "CGEN-2026-0005", ST_RECEIVED, 1);
	assert_int_equal(store_event_add(st, "CGEN-2026-0005", 2, "received", "a@b.gov", "x"),
			 STORE_OK);
	int64_t mid;
	assert_int_equal(store_message_add(st, "<r@x>", "r", "raw", 3, "request", "a@b.gov", "s",
					   NULL, 2, &mid), STORE_OK);
	assert_int_equal(store_rollback(st), STORE_OK);

	struct case_rec c;
	assert_int_equal(store_case_get(st, "CGEN-2026-0005", &c), STORE_NOTFOUND);
	assert_int_equal(store_message_seen(st, "<r@x>"), STORE_NOTFOUND);
	assert_verify_ok(st, 4);
	/* the cached head went with the rollback: the next event links to event 4 */
	assert_int_equal(store_event_add(st, "CGEN-2026-0005", 3, "received", "a@b.gov", "y"),
			 STORE_OK);
	assert_verify_ok(st, 5);

	/* a commit keeps it */
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_event_add(st, NULL, 4, "digest", NULL, NULL), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_verify_ok(st, 6);

	/* another connection appends: this one's cached head must follow */
	struct store *other = open_ok(path);
	assert_int_equal(store_event_add(other, NULL, 5, "digest", NULL, NULL), STORE_OK);
	store_close(other);
	assert_int_equal(store_event_add(st, NULL, 6, "digest", NULL, NULL), STORE_OK);
	assert_verify_ok(st, 8);
	store_close(st);
	free(path);
}

static void test_messages(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	static const char raw[] = "From: a@b.gov\r\n\r\nbin\0ary\r\n\0";
	const size_t len = sizeof raw - 1; /* the NUL at the end is part of the mail */
	int64_t id = -1, id2 = -1;
	char *got;
	size_t n;

	assert_int_equal(store_message_seen(st, "<m1@b.gov>"), STORE_NOTFOUND);
	assert_int_equal(store_message_add(st, "<m1@b.gov>", "1700000000.M1.host", raw, len,
					   "request", "a@b.gov", "Hello", NULL, 1767225600, &id),
			 STORE_OK);
	assert_int_equal(id, 1);
	assert_int_equal(store_message_seen(st, "<m1@b.gov>"), STORE_OK);
	assert_int_equal(store_message_raw(st, id, &got, &n), STORE_OK);
	assert_int_equal(n, len);
	assert_memory_equal(got, raw, len);
	assert_int_equal(got[n], '\0');
	free(got);

	/* the same dedup id twice is refused */
	assert_int_equal(store_message_add(st, "<m1@b.gov>", "x", "y", 1, "other", NULL, NULL, NULL,
					   0, &id2), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "UNIQUE constraint failed: messages.dedup_id"));

	/* an empty mail is stored as an empty blob */
	assert_int_equal(store_message_add(st, "<m2@b.gov>", "2", "", 0, "other", NULL, NULL,
					   "CGEN-2026-0001", 0, &id2), STORE_OK);
	assert_int_equal(id2, 2);
	assert_int_equal(store_message_raw(st, id2, &got, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_string_equal(got, "");
	free(got);

	assert_int_equal(store_message_set_case(st, id, "CGEN-2026-0007"), STORE_OK);
	assert_raw_text(path, "SELECT case_id || ' ' || kind || ' ' || source_ref || ' ' || "
			"received_at FROM messages WHERE id = 1",
			"CGEN-2026-0007 request 1700000000.M1.host 1767225600");
	assert_int_equal(store_message_set_case(st, 99, "CGEN-2026-0007"), STORE_NOTFOUND);
	assert_int_equal(store_message_raw(st, 99, &got, &n), STORE_NOTFOUND);
	store_close(st);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The mode bits of path; -1 when it does not exist. */
static int mode_of(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static int exists(const char *path)
{
	return mode_of(path) >= 0;
}

/* Finding 1: private files whatever the umask; a store others can read is
 * refused with the chmod to run. */
static void test_private_files(void **state)
{
	(void)state;
	char *path = new_path(), *err = NULL;
	mode_t old = umask(022);
	struct store *st = NULL;
	assert_int_equal(store_open_flags(path, STORE_OPEN_CREATE, &st, &err), STORE_OK);
	struct case_rec c = {.id = "CGEN-2026-0001", .state = ST_RECEIVED, .created = 5};
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(mode_of(shm), 0600);
	store_close(st);
	umask(old);

	chmod(path, 0644);
	assert_int_equal(store_open_flags(path, 0, &st, &err), STORE_ERR);
	assert_null(st);
	assert_non_null(strstr(err, "readable or writable by group or others"));
	char *want = xasprintf("run  chmod 600 %s", path);
	assert_non_null(strstr(err, want));
	free(want);
	free(err);
	err = NULL;
	/* the legacy open refuses it too, and so does a read-only one */
	assert_int_equal(store_open(path, &st, &err), STORE_ERR);
	free(err);
	err = NULL;
	assert_int_equal(store_open_flags(path, STORE_OPEN_RDONLY, &st, &err), STORE_ERR);
	free(err);
	err = NULL;
	chmod(path, 0600);
	st = open_ok(path);
	store_close(st);
	/* a -wal others may write is refused as well */
	if (exists(wal)) {
		chmod(wal, 0606);
		assert_int_equal(store_open_flags(path, 0, &st, &err), STORE_ERR);
		assert_non_null(strstr(err, wal));
		free(err);
		chmod(wal, 0600);
	}
	free(wal);
	free(shm);
	free(path);
}

/* Finding 11: nothing is created unless asked; a read-only store cannot be
 * written. */
static void test_open_flags(void **state)
{
	(void)state;
	char *path = new_path(), *err = NULL;
	struct store *st = NULL;
	assert_int_equal(store_open_flags(path, STORE_OPEN_MIGRATE, &st, &err), STORE_ERR);
	assert_non_null(strstr(err, "no store here"));
	assert_false(exists(path));
	free(err);
	err = NULL;
	assert_int_equal(store_open_flags(path, STORE_OPEN_RDONLY | STORE_OPEN_CREATE, &st, &err),
			 STORE_ERR);
	assert_false(exists(path));
	free(err);
	err = NULL;

	st = open_ok(path);
	struct case_rec c = {.id = "CGEN-2026-0001", .state = ST_RECEIVED, .created = 5};
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	store_close(st);
	assert_int_equal(store_open_flags(path, STORE_OPEN_RDONLY, &st, &err), STORE_OK);
	assert_true(store_readonly(st));
	struct case_rec got;
	assert_int_equal(store_case_get(st, "CGEN-2026-0001", &got), STORE_OK);
	case_clear(&got);
	c.created = 6;
	assert_int_equal(store_case_put(st, &c), STORE_ERR);
	assert_int_equal(store_event_add(st, NULL, 1, "x", "y", "z"), STORE_ERR);
	store_close(st);
	free(path);
}

/* Makes path a store as schema version 4 left it (the schema's sections up
 * to version 4, as store_open applied them then), with a reply key kept in
 * clear as version 4 did. */
static void make_v4(const char *path)
{
	const char *end = strstr(schema_sql, "\n-- version 5\n");
	assert_non_null(end);
	char *v4 = xstrndup(schema_sql, (size_t)(end - schema_sql) + 1);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	raw_ok(path, v4);
	free(v4);
	raw_ok(path, "PRAGMA user_version = 4;"
		     "INSERT INTO reply_keys VALUES ('abcdefghijklmnopqrstuvwxyz', 'CGEN-2026-0001', 2, "
		     "'aio', 'aio@water.ca.gov');");
}

/* Finding 12: an older store is migrated only when asked, after a backup. */
static void test_migrate(void **state)
{
	(void)state;
	char *path = new_path(), *err = NULL;
	struct store *st = NULL;
	make_v4(path);
	char *bak = xasprintf("%s.v4.bak", path);
	assert_int_equal(store_open_flags(path, 0, &st, &err), STORE_ERR);
	assert_non_null(strstr(err, "schema version 4 is older"));
	assert_non_null(strstr(err, "cgenctl migrate"));
	free(err);
	err = NULL;
	assert_int_equal(store_open_flags(path, STORE_OPEN_RDONLY, &st, &err), STORE_ERR);
	free(err);
	err = NULL;
	assert_raw_text(path, "PRAGMA user_version", "4");
	assert_false(exists(bak));

	assert_int_equal(store_open_flags(path, STORE_OPEN_MIGRATE, &st, &err), STORE_OK);
	int v = 0;
	assert_int_equal(store_version(st, &v), STORE_OK);
	assert_int_equal(v, store_schema_version());
	/* the key of version 4 is now kept hashed, and still found */
	struct key_rec k;
	assert_int_equal(store_key_get(st, "abcdefghijklmnopqrstuvwxyz", &k), STORE_OK);
	assert_string_equal(k.case_id, "CGEN-2026-0001");
	store_key_clear(&k);
	store_close(st);
	assert_raw_text(path, "SELECT count(*) FROM reply_keys WHERE key LIKE '%abcdefghij%'", "0");
	assert_int_equal(mode_of(bak), 0600);
	assert_raw_text(bak, "PRAGMA user_version", "4");
	assert_raw_text(bak, "SELECT key FROM reply_keys", "abcdefghijklmnopqrstuvwxyz");
	free(bak);
	free(path);
}

/* Finding 1: the store keeps no reply key that a mail could carry. */
static void test_keys_hashed(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	const char *key = "k2h4vyq6c3xyz7ab5mn2op3qrs";
	assert_int_equal(store_key_add(st, key, "CGEN-2026-0001", 3, "cio", "cio@x.gov"), STORE_OK);
	struct key_rec k;
	assert_int_equal(store_key_get(st, key, &k), STORE_OK);
	assert_string_equal(k.role, "cio");
	store_key_clear(&k);
	assert_int_equal(store_key_get(st, "k2h4vyq6c3xyz7ab5mn2op3qrt", &k), STORE_NOTFOUND);
	store_close(st);
	char *t = raw_text(path, "SELECT key FROM reply_keys");
	assert_true(strncmp(t, "h:", 2) == 0);
	assert_int_equal(strlen(t), 66);
	assert_null(strstr(t, key));
	free(t);
	free(path);
}

/* cgenctl backup: a checked, private, self-contained copy. */
static void test_backup(void **state)
{
	(void)state;
	char *path = new_path(), *dest = xasprintf("%s.copy", path), *summary = NULL;
	struct store *st = open_ok(path);
	struct case_rec c = {.id = "CGEN-2026-0001", .state = ST_RECEIVED, .created = 5};
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	assert_int_equal(store_event_add(st, "CGEN-2026-0001", 5, "received", "a", "b"), STORE_OK);
	mode_t old = umask(0);
	assert_int_equal(store_backup(st, dest, &summary), STORE_OK);
	umask(old);
	assert_non_null(strstr(summary, "1 cases, 0 mails, 1 events, chain head "));
	free(summary);
	store_close(st);
	assert_int_equal(mode_of(dest), 0600);
	char *wal = xasprintf("%s-wal", dest), *tmp = xasprintf("%s.tmp", dest);
	assert_false(exists(wal));
	assert_false(exists(tmp));
	assert_raw_text(dest, "PRAGMA journal_mode", "delete");
	assert_raw_text(dest, "SELECT id FROM cases", "CGEN-2026-0001");
	/* the copy opens as a store (restore) */
	st = open_ok(dest);
	char *finding = NULL;
	assert_int_equal(store_verify(st, &finding, NULL, NULL), STORE_OK);
	store_close(st);
	/* a folder that does not exist: an error, nothing half-written */
	st = open_ok(path);
	char *bad = xasprintf("%s/no/such/copy.db", tmpdir);
	assert_int_equal(store_backup(st, bad, NULL), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "no/such"));
	store_close(st);
	free(bad);
	free(wal);
	free(tmp);
	free(dest);
	free(path);
}

/* Finding 10: a send in flight is never handed out again. */
static void test_outbox_sending(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	struct strv to = {0};
	strv_add(&to, "a@x.gov");
	int64_t id1, id2;
	assert_int_equal(store_outbox_add(st, NULL, "cgen@cdt.ca.gov", &to, "m1", 2, 10, &id1), STORE_OK);
	assert_int_equal(store_outbox_add(st, NULL, "cgen@cdt.ca.gov", &to, "m2", 2, 10, &id2), STORE_OK);
	int64_t ids[] = {id1, id2};
	assert_int_equal(store_outbox_sending(st, ids, 2, 11), STORE_OK);
	struct outbox_rec *v;
	size_t n;
	assert_int_equal(store_outbox_due(st, 100, 10, &v, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_outbox_free(v, n);
	int64_t *doubt;
	assert_int_equal(store_outbox_in_doubt(st, &doubt, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_true(doubt[0] == id1 && doubt[1] == id2);
	free(doubt);
	/* a result ends the send; an untried one goes back to the queue */
	assert_int_equal(store_outbox_sent(st, id1, 12), STORE_OK);
	assert_int_equal(store_outbox_is_sent(st, id1), 1);
	assert_int_equal(store_outbox_sending_clear(st, id2), STORE_OK);
	assert_int_equal(store_outbox_in_doubt(st, &doubt, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(doubt);
	assert_int_equal(store_outbox_due(st, 100, 10, &v, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_true(v[0].id == id2);
	store_outbox_free(v, n);
	/* the stored copy of a sent mail loses its keys */
	const char *mail = "Message-ID: <cgen.abcdefghijklmnopqrstuvwxyz.3@x>\r\n\r\n"
			   "Ref: abcdefghijklmnopqrstuvwxyz\r\n";
	assert_int_equal(store_outbox_add(st, NULL, "cgen@cdt.ca.gov", &to, mail, strlen(mail), 10,
					  &id1), STORE_OK);
	assert_int_equal(store_outbox_redact(st, id1, "abcdefghijklmnopqrstuvwxyz", "removed"), STORE_OK);
	store_close(st);
	char *q = xasprintf("SELECT CAST(data AS TEXT) FROM outbox WHERE id = %lld", (long long)id1);
	char *t = raw_text(path, q);
	assert_string_equal(t, "Message-ID: <cgen.removed.3@x>\r\n\r\nRef: removed\r\n");
	free(t);
	free(q);
	st = open_ok(path);
	/* after a restore the next id passes what the sender already holds */
	assert_int_equal(store_outbox_id_floor(st, 40), STORE_OK);
	int64_t next;
	assert_int_equal(store_outbox_next_id(st, &next), STORE_OK);
	assert_true(next == 41);
	assert_int_equal(store_outbox_id_floor(st, 7), STORE_OK);
	assert_int_equal(store_outbox_next_id(st, &next), STORE_OK);
	assert_true(next == 41);
	strv_free(&to);
	store_close(st);
	free(path);
}

static void test_limits_marks(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_limit_add(st, "case_open", "DWR", 100 + i), STORE_OK);
	assert_int_equal(store_limit_add(st, "case_open", "CHP", 100), STORE_OK);
	assert_int_equal(store_limit_add(st, "answer", "", 50), STORE_OK);
	int n = 0;
	assert_int_equal(store_limit_count(st, "case_open", "DWR", 101, &n), STORE_OK);
	assert_int_equal(n, 2);
	struct strv over = {0};
	assert_int_equal(store_limit_over(st, "case_open", 0, 3, &over), STORE_OK);
	assert_int_equal(over.n, 1);
	assert_string_equal(over.v[0], "DWR");
	strv_free(&over);
	assert_int_equal(store_limit_prune(st, 100), STORE_OK);
	assert_int_equal(store_limit_count(st, "answer", "", 0, &n), STORE_OK);
	assert_int_equal(n, 0);

	int64_t va, mk;
	assert_int_equal(store_mark_get(st, "maildir:/x", &va, &mk), STORE_NOTFOUND);
	assert_int_equal(store_mark_set(st, "maildir:/x", 0, 1795708800), STORE_OK);
	assert_int_equal(store_mark_get(st, "maildir:/x", &va, &mk), STORE_OK);
	assert_true(mk == 1795708800 && va == 0);
	int64_t row;
	assert_int_equal(store_message_ref_seen(st, "1.M2P3.host"), STORE_NOTFOUND);
	assert_int_equal(store_message_add(st, "<a@b>", "1.M2P3.host", "x", 1, "other", NULL, NULL,
					   NULL, 5, &row), STORE_OK);
	assert_int_equal(store_message_ref_seen(st, "1.M2P3.host"), STORE_OK);
	store_close(st);
	free(path);
}

/* Finding 11: a store deleted or replaced under the daemon is noticed. */
static void test_file_check(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	assert_int_equal(store_file_check(st), STORE_OK);
	assert_int_equal(store_probe(st, 5), STORE_OK);
	char *moved = xasprintf("%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(store_file_check(st), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "deleted or moved"));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(store_file_check(st), STORE_ERR);
	assert_non_null(strstr(store_errmsg(st), "replaced"));
	store_close(st);
	free(moved);
	free(path);
}

/* The digest's checkpoint (event 2 here): the chain verified from it gives
 * what the whole verification gives for the events after it; an event
 * rewritten before it is left to cgenctl verify, unless the rewrite changed
 * the checkpoint's own hash or removed it: then the whole chain is read and
 * the first bad event named. */
static void test_verify_from(void **state)
{
	(void)state;
	static const struct {
		const char *sql;        /* NULL: untouched */
		int rc;                 /* of store_verify_from */
		const char *finding;
		int64_t count;
	} cases[] = {
		{NULL, STORE_OK, NULL, 4},
		{"DROP TRIGGER events_no_update; UPDATE events SET detail = 'no' WHERE seq = 4", STORE_NOTFOUND,
		 "event 4 (case CGEN-2026-0002, received): hash does not match its contents", 3},
		{"DROP TRIGGER events_no_update; UPDATE events SET detail = 'no' WHERE seq = 1", STORE_OK,
		 NULL, 4},
		{"DROP TRIGGER events_no_update; UPDATE events SET hash = prev WHERE seq = 2", STORE_NOTFOUND,
		 "event 2 (digest): hash does not match its contents", 1},
		{"DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq >= 2", STORE_OK, NULL, 1},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *path = new_path(), *finding = NULL;
		struct store *st = open_ok(path);
		char head[65], cp_hash[65];
		int64_t count = 0, seq = 0;
		assert_int_equal(store_checkpoint_get(st, &seq, cp_hash), STORE_NOTFOUND);
		add_events(st);
		struct event_rec *ev = NULL;
		size_t n = 0;
		assert_int_equal(store_events(st, NULL, &ev, &n), STORE_OK);
		assert_int_equal(n, 4);
		assert_int_equal(store_checkpoint_set(st, 2, ev[1].hash, 1767226000), STORE_OK);
		assert_int_equal(store_checkpoint_get(st, &seq, cp_hash), STORE_OK);
		assert_int_equal(seq, 2);
		assert_string_equal(cp_hash, ev[1].hash);
		char last[65];
		memcpy(last, ev[cases[i].count - 1].hash, sizeof last);
		store_events_free(ev, n);
		if (cases[i].sql)
			raw_ok(path, cases[i].sql);
		assert_int_equal(store_verify_from(st, seq, cp_hash, &finding, head, &count), cases[i].rc);
		assert_int_equal(count, cases[i].count);
		if (cases[i].finding) {
			assert_non_null(finding);
			assert_string_equal(finding, cases[i].finding);
		} else {
			assert_null(finding);
			assert_string_equal(head, last);
		}
		free(finding);
		store_close(st);
		free(path);
	}
}

/* The clock's grants: those whose end can be near, not ended, oldest first;
 * and the counts per state. */
static void test_granted_due(void **state)
{
	(void)state;
	char *path = new_path();
	struct store *st = open_ok(path);
	const time_t month = 2678400, t0 = 1700000000;
	struct case_rec a = {.id = "CGEN-2026-0001", .state = ST_GRANTED, .created = 1, .state_since = 1,
			     .decided = t0, .term_months = 12, .end_set = t0};
	struct case_rec b = {.id = "CGEN-2026-0002", .state = ST_GRANTED, .created = 2, .state_since = 2,
			     .decided = t0 - 6 * month, .term_months = 12, .end_set = t0};
	struct case_rec c = {.id = "CGEN-2026-0003", .state = ST_GRANTED, .created = 3, .state_since = 3,
			     .decided = t0 - 24 * month, .term_months = 12, .end_set = t0,
			     .expiry_notice = -1};
	struct case_rec d = {.id = "CGEN-2026-0004", .state = ST_GRANTED, .created = 4, .state_since = 4,
			     .decided = t0, .term_months = 0};
	struct case_rec e = {.id = "CGEN-2026-0005", .state = ST_CDT_REVIEW, .created = 5, .state_since = 5};
	struct case_rec f = {.id = "CGEN-2026-0006", .state = ST_GRANTED, .created = 6, .state_since = 6,
			     .decided = t0 - 12 * month, .term_months = 6, .extension_months = 12,
			     .end_set = t0};
	const struct case_rec *all[] = {&a, &b, &c, &d, &e, &f};
	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		assert_int_equal(store_case_put(st, all[i]), STORE_OK);
	struct case_rec *v = NULL;
	size_t n = 0;
	assert_int_equal(store_case_granted_due(st, t0 + 6 * month, &v, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, b.id); /* ends t0 + 6 months */
	assert_string_equal(v[1].id, f.id); /* t0 + 6 months too, later id */
	store_cases_free(v, n);
	assert_int_equal(store_case_granted_due(st, t0 + 12 * month, &v, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].id, a.id);
	store_cases_free(v, n);
	assert_int_equal(store_case_granted_due(st, t0, &v, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_cases_free(v, n);
	int counts[ST__COUNT];
	assert_int_equal(store_case_counts(st, counts), STORE_OK);
	assert_int_equal(counts[ST_GRANTED], 5);
	assert_int_equal(counts[ST_CDT_REVIEW], 1);
	assert_int_equal(counts[ST_DENIED], 0);
	store_close(st);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_reopen),
		cmocka_unit_test(test_case_roundtrip),
		cmocka_unit_test(test_case_life),
		cmocka_unit_test(test_case_next_id),
		cmocka_unit_test(test_case_list),
		cmocka_unit_test(test_events_chain),
		cmocka_unit_test(test_events_tamper),
		cmocka_unit_test(test_events_append_only),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_private_files),
		cmocka_unit_test(test_open_flags),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_keys_hashed),
		cmocka_unit_test(test_backup),
		cmocka_unit_test(test_outbox_sending),
		cmocka_unit_test(test_limits_marks),
		cmocka_unit_test(test_file_check),
		cmocka_unit_test(test_verify_from),
		cmocka_unit_test(test_granted_due),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
