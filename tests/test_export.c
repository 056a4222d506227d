/* test_export.c: the central file (export.h) against a real store and real
 * folders in a temporary directory: names, dates, the exported bytes, the
 * index and SHA256SUMS, idempotence, filters and verify's findings. */
#include "config.h"

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
#include <gnutls/crypto.h>

#include "export.h"
#include "message.h"
#include "report.h"
#include "store.h"

static char tmpdir[] = "/tmp/test_export.XXXXXX";
static int nstore;

/* 2026-11-20 and 2026-11-26, 09:00 Pacific. */
#define DAY20 ((time_t)1795161600 + 9 * 3600)
#define DAY26 ((time_t)1795680000 + 9 * 3600)

static const char request1[] =
	"From: Dana Lee <dana.lee@water.ca.gov>\r\n"
	"To: cgen@cdt.ca.gov\r\n"
	"Subject: Exemption\r\n"
	"Message-ID: <req1@water.ca.gov>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Entity: DWR\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n"
	"\r\n"
	"root:x:0:0\r\n"
	"--b1\r\n"
	"Content-Type: application/pdf\r\n"
	"Content-Disposition: attachment; filename=\"quote.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"--b1\r\n"
	"Content-Type: application/pdf\r\n"
	"Content-Disposition: attachment; filename=\"Quote.PDF\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0yCg==\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAEC/w==\r\n"
	"--b1--\r\n";

static const char request2[] =
	"From: Pat Kim <pat.kim@dmv.ca.gov>\n"
	"To: cgen@cdt.ca.gov\n"
	"Subject: DMV exemption\n"
	"Message-ID: <req2@dmv.ca.gov>\n"
	"\n"
	"Entity: DMV\n";

static const char decision1[] = "From: cgen@cdt.ca.gov\r\nSubject: [CGEN-2026-0001] Decision\r\n\r\ngranted\r\n";
static const char decision2[] = "From: cgen@cdt.ca.gov\r\nSubject: [CGEN-2026-0002] Decision\r\n\r\ngranted\r\n";

/* ---- helpers ---- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_file(const char *dir, const char *rel, const char *data, size_t len)
{
	char *p = xasprintf("%s/%s", dir, rel);
	size_t n;
	char *got = slurp(p, &n);
	if (!got)
		fail_msg("%s: missing", rel);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
	free(p);
}

static void assert_absent(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat sb;
	if (lstat(p, &sb) == 0)
		fail_msg("%s: should not exist", rel);
	free(p);
}

static struct strv found; /* file paths below a folder, for list_files */
static size_t found_skip;

static int add_found(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_F)
		strv_add(&found, p + found_skip);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file below dir, relative and sorted, joined with spaces. */
static char *list_files(const char *dir)
{
	strv_free(&found);
	found_skip = strlen(dir) + 1;
	nftw(dir, add_found, 16, FTW_PHYS);
	qsort(found.v, found.n, sizeof *found.v, cmp);
	char *s = strv_join(&found, " ");
	strv_free(&found);
	return s;
}

static void put_case(struct store *st, const char *id, const char *entity, const char *requester,
		     enum case_state state, time_t created, time_t since, const char *fields,
		     const char *decision)
{
	struct case_rec c = {0};
	snprintf(c.id, sizeof c.id, "%s", id);
	c.state = state;
	c.entity = (char *)entity;
	c.requester = (char *)requester;
	c.aio = c.cio = AP_APPROVED;
	c.step = 5;
	c.subject = (char *)"Exemption";
	c.fields_json = (char *)fields;
	c.problems_json = (char *)"[]";
	c.decision = (char *)decision;
	c.created = created;
	c.updated = since;
	c.state_since = since;
	assert_int_equal(store_case_put(st, &c), STORE_OK);
}

/* A granted case with its request, events and the decision mailed to the
 * requester (outbox). A dedup id "sha256:..." stands for a request without
 * Message-ID: the case then has no request_msgid. */
static void granted_case(struct store *st, const char *id, const char *entity,
			 const char *requester, const char *raw, const char *msgid,
			 const char *fields, const char *decision_mail, time_t at)
{
	int64_t row, ob;
	struct strv rcpts = {0};
	put_case(st, id, entity, requester, ST_GRANTED, at - 86400, at, fields, "review at renewal");
	struct case_rec c;
	assert_int_equal(store_case_get(st, id, &c), STORE_OK);
	free(c.request_msgid);
	c.request_msgid = strncmp(msgid, "sha256:", 7) != 0 ? xstrdup(msgid) : NULL;
	assert_int_equal(store_case_put(st, &c), STORE_OK);
	case_clear(&c);
	assert_int_equal(store_message_add(st, msgid, "m1", raw, strlen(raw), "request", requester,
					   "Exemption", id, at - 86400, &row), STORE_OK);
	assert_int_equal(store_event_add(st, id, at - 86400, "received", requester, "request"), STORE_OK);
	strv_add(&rcpts, requester);
	/* an earlier mail to the requester, then the decision to the CDT and the requester */
	assert_int_equal(store_outbox_add(st, id, "cgen@cdt.ca.gov", &rcpts, "ack", 3, at - 86400, &ob),
			 STORE_OK);
	char *d = xasprintf("ack to %s (requester, outbox %lld)", requester, (long long)ob);
	assert_int_equal(store_event_add(st, id, at - 86400, "mailed", "agent", d), STORE_OK);
	free(d);
	assert_int_equal(store_event_add(st, id, at, "decided", "cto@cdt.ca.gov", "granted: review at renewal"),
			 STORE_OK);
	assert_int_equal(store_outbox_add(st, id, "cgen@cdt.ca.gov", &rcpts, "to cdt", 6, at, &ob), STORE_OK);
	d = xasprintf("decision to review1@cdt.ca.gov (cdt, outbox %lld)", (long long)ob);
	assert_int_equal(store_event_add(st, id, at, "mailed", "agent", d), STORE_OK);
	free(d);
	assert_int_equal(store_outbox_add(st, id, "cgen@cdt.ca.gov", &rcpts, decision_mail,
					  strlen(decision_mail), at, &ob), STORE_OK);
	d = xasprintf("decision to %s (requester, outbox %lld)", requester, (long long)ob);
	assert_int_equal(store_event_add(st, id, at, "mailed", "agent", d), STORE_OK);
	free(d);
	strv_free(&rcpts);
}

#define FIELDS1 "{\"entity\":\"DWR\",\"total_cost\":9756000,\"cost_items\":[{\"item\":\"a\",\"amount\":1}]," \
		"\"provider\":\"Comcast \\\"Business\\\", Inc.\",\"reason\":\"x\\\",\\\"provider\\\":\\\"no\"}"
#define FIELDS2 "{\"entity\":\"DMV\",\"provider\":\"AT\\u0026T\",\"total_cost\":120000}"

/* A store with two granted cases (DWR granted on the 20th, DMV on the 26th)
 * and one under review. *dir is a fresh, not yet existing export folder. */
static struct store *fixture(char **dir)
{
	char *path = xasprintf("%s/s%d.db", tmpdir, ++nstore), *err = NULL;
	struct store *st = NULL;
	if (store_open(path, &st, &err) != STORE_OK)
		fail_msg("store_open: %s", err);
	free(path);
	granted_case(st, "CGEN-2026-0001", "DWR", "dana.lee@water.ca.gov", request1,
		     "req1@water.ca.gov", FIELDS1, decision1, DAY20);
	granted_case(st, "CGEN-2026-0002", "DMV", "pat.kim@dmv.ca.gov", request2, "sha256:2",
		     FIELDS2, decision2, DAY26);
	put_case(st, "CGEN-2026-0003", "DWR", "dana.lee@water.ca.gov", ST_CDT_REVIEW, DAY20, DAY20,
		 "{}", NULL);
	*dir = xasprintf("%s/export%d", tmpdir, nstore);
	return st;
}

static void export_ok(struct store *st, const char *dir, const struct export_filter *f,
		      struct export_stats *stats)
{
	char *err = NULL;
	if (export_granted(st, dir, f, stats, &err) != EXPORT_OK)
		fail_msg("export: %s", err);
	assert_null(err);
}

/* verify's findings joined with "\n" ("" when none). */
static char *verify(struct store *st, const char *dir, size_t *ncases)
{
	struct strv fl = {0};
	char *err = NULL;
	if (export_verify(st, dir, &fl, ncases, &err) != EXPORT_OK)
		fail_msg("verify: %s", err);
	char *s = strv_join(&fl, "\n");
	strv_free(&fl);
	return s;
}

static void assert_finding(const char *findings, const char *want)
{
	if (!strstr(findings, want))
		fail_msg("finding \"%s\" not in:\n%s", want, findings);
}

/* ---- tests ---- */

static void test_names(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} t[] = {
		{"../../etc/passwd", "_._etc_passwd"},
		{"/etc/passwd", "_etc_passwd"},
		{"..", "attachment-3"},
		{NULL, "attachment-4"},
		{"", "attachment-5"},
		{".hidden", "hidden"},
		{"a\x01" "b\tc.txt", "a_b_c.txt"},
		{"C:\\Users\\x\\doc.pdf", "C__Users_x_doc.pdf"},
		{"report..pdf", "report.pdf"},
		{"name. . ", "name"},
		{"con.txt", "_con.txt"},
		{"LPT1", "_LPT1"},
		{"COM10.txt", "COM10.txt"},
		{"bad\xff\xfe.txt", "bad__.txt"},
		{"evil\xe2\x80\xae" "fdp.exe", "evil_fdp.exe"},
		{"c1\xc2\x85x", "c1_x"},
		{"Kostenvoranschlag-Gr\xc3\xb6\xc3\x9f" "e.pdf", "Kostenvoranschlag-Gr\xc3\xb6\xc3\x9f" "e.pdf"},
		{"a?b*c:d|e<f>g\"h", "a_b_c_d_e_f_g_h"},
		{"quote.pdf", "quote.pdf"},
		{"Quote.PDF", "Quote-2.PDF"},
		{"quote-2.pdf", "quote-2-2.pdf"},
		{"quote.pdf", "quote-3.pdf"},
		{"noext", "noext"},
		{"NOEXT", "NOEXT-2"},
	};
	struct message m = {0};
	m.n_att = ARRAY_LEN(t);
	m.att = xcalloc(m.n_att, sizeof *m.att);
	for (size_t i = 0; i < m.n_att; i++)
		m.att[i].name = xstrdup(t[i].in);
	struct strv out = {0};
	strv_add(&out, "kept"); /* names are appended after what out holds */
	export_attachment_names(&m, &out);
	assert_int_equal(out.n, m.n_att + 1);
	assert_string_equal(out.v[0], "kept");
	for (size_t i = 0; i < m.n_att; i++) {
		if (strcmp(out.v[i + 1], t[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", t[i].in ? t[i].in : "(null)",
				 out.v[i + 1], t[i].want);
	}
	strv_free(&out);
	message_free(&m);
}

static void test_long_names(void **state)
{
	(void)state;
	struct message m = {0};
	m.n_att = 3;
	m.att = xcalloc(m.n_att, sizeof *m.att);
	char longname[301];
	memset(longname, 'a', 300);
	longname[300] = '\0';
	m.att[0].name = xasprintf("%s.pdf", longname);
	/* two-byte characters across the cut: never split */
	struct buf b = {0};
	for (int i = 0; i < 80; i++)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, ".txt");
	m.att[1].name = buf_steal(&b);
	m.att[2].name = xasprintf("%s.averyveryverylongextension", longname);
	struct strv out = {0};
	export_attachment_names(&m, &out);
	char *want = xasprintf("%.96s.pdf", longname);
	assert_string_equal(out.v[0], want);
	free(want);
	assert_int_equal(strlen(out.v[1]), 96 + 4);
	assert_int_equal(utf8_valid_len((const unsigned char *)out.v[1], SIZE_MAX), 2);
	assert_string_equal(out.v[1] + 96, ".txt");
	assert_int_equal(strlen(out.v[2]), 100);
	assert_memory_equal(out.v[2], longname, 100);
	strv_free(&out);
	message_free(&m);
}

static void test_parse_date(void **state)
{
	(void)state;
	time_t t = 0;
	assert_int_equal(export_parse_date("2026-11-26", &t), 0);
	assert_int_equal(t, 1795680000); /* midnight Pacific (UTC-8) */
	assert_int_equal(export_parse_date("2026-07-01", &t), 0);
	assert_int_equal(t, 1782889200); /* midnight Pacific daylight time (UTC-7) */
	static const char *const bad[] = {"", "2026-11-2", "2026-11-26x", "2026/11/26", "2026-02-30",
					  "2026-13-01", "2026-00-10", "26-11-2026", "2026-1-126"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		t = 7;
		if (export_parse_date(bad[i], &t) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(t, 7);
	}
}

static void test_attachment_data(void **state)
{
	(void)state;
	struct message m = {0};
	struct buf *data = NULL;
	assert_int_equal(message_parse_data(request1, strlen(request1), &m, &data), 0);
	assert_int_equal(m.n_att, 4);
	assert_non_null(data);
	static const struct {
		const char *bytes;
		size_t len;
	} want[] = {{"root:x:0:0", 10}, {"%PDF-1.4\n", 9}, {"%PDF-2\n", 7}, {"\x00\x01\x02\xff", 4}};
	for (size_t i = 0; i < m.n_att; i++) {
		unsigned char dig[32];
		char hex[65];
		assert_int_equal(data[i].len, want[i].len);
		assert_memory_equal(data[i].s, want[i].bytes, want[i].len);
		assert_int_equal(m.att[i].size, want[i].len);
		gnutls_hash_fast(GNUTLS_DIG_SHA256, data[i].s, data[i].len, dig);
		hex_encode(dig, sizeof dig, hex);
		assert_string_equal(hex, m.att[i].sha256);
	}
	message_data_free(data, m.n_att);
	message_free(&m);

	/* no attachments: NULL; not a mail: -1 and NULL */
	assert_int_equal(message_parse_data(request2, strlen(request2), &m, &data), 0);
	assert_int_equal(m.n_att, 0);
	assert_null(data);
	message_free(&m);
	data = (struct buf *)&m;
	assert_int_equal(message_parse_data("\r\n\r\nno header", 13, &m, &data), -1);
	assert_null(data);
	message_free(&m);
}

/* CSV formula injection (security review, finding 6): a cell that starts
 * with = + - @, TAB or CR is quoted with a leading '. */
static void test_index_formulas(void **state)
{
	(void)state;
	struct case_rec c = {.id = "CGEN-2026-0001", .state = ST_GRANTED, .created = 1795708800,
			     .state_since = 1795719600};
	c.entity = xstrdup("DWR");
	c.requester = xstrdup("@dana@water.ca.gov");
	c.fields_json = xstrdup("{\"provider\":\"=HYPERLINK(\\\"https://evil.example/\\\",\\\"x\\\")\","
				"\"total_cost\":9756000}");
	c.decision = xstrdup("-2+3+cmd|' /C calc'!A0");
	struct buf b = {0};
	export_index_row(&b, &c);
	assert_string_equal(b.s, "CGEN-2026-0001,DWR,\"'@dana@water.ca.gov\","
				 "\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"x\"\")\",9756000,"
				 "2026-11-26T16:00:00Z,2026-11-26T19:00:00Z,\"'-2+3+cmd|' /C calc'!A0\"\r\n");
	buf_free(&b);
	static const char *const starts[] = {"+1", "\tx", "\r=1", "=1", "-1", "@x"};
	for (size_t i = 0; i < ARRAY_LEN(starts); i++) {
		str_set(&c.decision, starts[i]);
		export_index_row(&b, &c);
		char *want = xasprintf(",\"'%s\"\r\n", starts[i]);
		assert_non_null(strstr(b.s, want));
		free(want);
		buf_free(&b);
	}
	/* plain text and a number inside stay as they were */
	str_set(&c.decision, "none, see the contract");
	export_index_row(&b, &c);
	assert_non_null(strstr(b.s, ",\"none, see the contract\"\r\n"));
	buf_free(&b);
	case_clear(&c);
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir;
	struct store *st = fixture(&dir);
	struct export_stats s;
	export_ok(st, dir, NULL, &s);
	assert_int_equal(s.cases, 2);
	assert_int_equal(s.written, 15);
	assert_int_equal(s.unchanged, 0);

	char *files = list_files(dir);
	assert_string_equal(files,
		"CGEN-2026-0001/attachments/Quote-2.PDF "
		"CGEN-2026-0001/attachments/_._etc_passwd "
		"CGEN-2026-0001/attachments/attachment-4 "
		"CGEN-2026-0001/attachments/quote.pdf "
		"CGEN-2026-0001/case.json CGEN-2026-0001/decision.eml CGEN-2026-0001/events.jsonl "
		"CGEN-2026-0001/request.eml "
		"CGEN-2026-0002/case.json CGEN-2026-0002/decision.eml CGEN-2026-0002/events.jsonl "
		"CGEN-2026-0002/request.eml SHA256SUMS index.csv index.html");
	free(files);
	/* ../../etc/passwd stayed inside its folder */
	char *outside = xasprintf("%s/etc", tmpdir);
	struct stat sb;
	assert_int_not_equal(lstat(outside, &sb), 0);
	free(outside);
	assert_file(dir, "CGEN-2026-0001/attachments/_._etc_passwd", "root:x:0:0", 10);
	assert_file(dir, "CGEN-2026-0001/attachments/quote.pdf", "%PDF-1.4\n", 9);
	assert_file(dir, "CGEN-2026-0001/attachments/Quote-2.PDF", "%PDF-2\n", 7);
	assert_file(dir, "CGEN-2026-0001/attachments/attachment-4", "\x00\x01\x02\xff", 4);
	assert_file(dir, "CGEN-2026-0001/request.eml", request1, strlen(request1));
	assert_file(dir, "CGEN-2026-0002/request.eml", request2, strlen(request2));
	assert_file(dir, "CGEN-2026-0001/decision.eml", decision1, strlen(decision1));
	assert_file(dir, "CGEN-2026-0002/decision.eml", decision2, strlen(decision2));
	assert_absent(dir, "CGEN-2026-0002/attachments");
	assert_absent(dir, "CGEN-2026-0003");

	/* case.json: the show --json object as of the grant */
	struct case_rec c;
	struct event_rec *ev;
	size_t nev;
	struct buf b = {0};
	assert_int_equal(store_case_get(st, "CGEN-2026-0001", &c), STORE_OK);
	assert_int_equal(store_events(st, c.id, &ev, &nev), STORE_OK);
	assert_int_equal(nev, 5);
	report_show_json(&b, &c, ev, nev, c.state_since);
	assert_file(dir, "CGEN-2026-0001/case.json", b.s, b.len);
	assert_non_null(strstr(b.s, "\"age_days\":1,"));
	buf_free(&b);
	/* events.jsonl: one object a line, with the chain */
	for (size_t i = 0; i < nev; i++) {
		char at[32];
		report_rfc3339(ev[i].at, at);
		buf_addf(&b, "{\"seq\":%lld,\"at\":\"%s\",\"kind\":\"%s\",\"actor\":\"%s\",\"detail\":\"%s\","
			      "\"prev\":\"%s\",\"hash\":\"%s\"}\n",
			 (long long)ev[i].seq, at, ev[i].kind, ev[i].actor, ev[i].detail, ev[i].prev, ev[i].hash);
	}
	assert_file(dir, "CGEN-2026-0001/events.jsonl", b.s, b.len);
	buf_free(&b);
	store_events_free(ev, nev);
	case_clear(&c);

	static const char index[] =
		"id,entity,requester,provider,total_cost_cents,received,granted,conditions\r\n"
		"CGEN-2026-0001,DWR,dana.lee@water.ca.gov,\"Comcast \"\"Business\"\", Inc.\",9756000,"
		"2026-11-19T17:00:00Z,2026-11-20T17:00:00Z,review at renewal\r\n"
		"CGEN-2026-0002,DMV,pat.kim@dmv.ca.gov,AT&T,120000,"
		"2026-11-25T17:00:00Z,2026-11-26T17:00:00Z,review at renewal\r\n";
	assert_file(dir, "index.csv", index, strlen(index));

	/* SHA256SUMS: sha256sum lines, sorted by path, over every other file */
	char *sums = xasprintf("%s/SHA256SUMS", dir);
	char *text = slurp(sums, NULL);
	free(sums);
	char *line = strtok(text, "\n");
	const char *prev = "";
	size_t nlines = 0;
	for (; line; line = strtok(NULL, "\n"), nlines++) {
		assert_int_equal(strspn(line, "0123456789abcdef"), 64);
		assert_memory_equal(line + 64, "  ", 2);
		assert_true(strcmp(prev, line + 66) < 0);
		prev = line + 66;
		char *p = xasprintf("%s/%s", dir, line + 66), hex[65];
		size_t n;
		char *data = slurp(p, &n);
		unsigned char dig[32];
		gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, dig);
		hex_encode(dig, sizeof dig, hex);
		assert_memory_equal(hex, line, 64);
		free(data);
		free(p);
	}
	assert_int_equal(nlines, 14);
	free(text);

	size_t ncases = 0;
	char *f = verify(st, dir, &ncases);
	assert_string_equal(f, "");
	assert_int_equal(ncases, 2);
	free(f);
	store_close(st);
	free(dir);
}

static void test_idempotent(void **state)
{
	(void)state;
	char *dir;
	struct store *st = fixture(&dir);
	struct export_stats s;
	export_ok(st, dir, NULL, &s);
	char *files = list_files(dir);
	struct strv names = {0};
	strv_split(&names, files, ' ');
	struct stat *before = xcalloc(names.n, sizeof *before);
	for (size_t i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		assert_int_equal(stat(p, &before[i]), 0);
		free(p);
	}
	sleep(1); /* a rewrite would show in the mtime */
	export_ok(st, dir, NULL, &s);
	assert_int_equal(s.cases, 2);
	assert_int_equal(s.written, 0);
	assert_int_equal(s.unchanged, 15);
	char *again = list_files(dir);
	assert_string_equal(again, files);
	for (size_t i = 0; i < names.n; i++) {
		struct stat sb;
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_ino, before[i].st_ino);
		assert_int_equal(sb.st_mtim.tv_sec, before[i].st_mtim.tv_sec);
		assert_int_equal(sb.st_mtim.tv_nsec, before[i].st_mtim.tv_nsec);
		free(p);
	}

	/* a new event changes exactly that case's files, the index stays */
	assert_int_equal(store_event_add(st, "CGEN-2026-0002", DAY26 + 60, "status", "pat.kim@dmv.ca.gov",
					 "status asked"), STORE_OK);
	export_ok(st, dir, NULL, &s);
	assert_int_equal(s.written, 3); /* case.json, events.jsonl, SHA256SUMS */
	assert_int_equal(s.unchanged, 12);
	char *f = verify(st, dir, NULL);
	assert_string_equal(f, "");
	free(f);
	free(again);
	free(before);
	strv_free(&names);
	free(files);
	store_close(st);
	free(dir);
}

static void test_tamper(void **state)
{
	(void)state;
	char *dir;
	struct store *st = fixture(&dir);
	export_ok(st, dir, NULL, NULL);
	char *p = xasprintf("%s/CGEN-2026-0001/case.json", dir);
	size_t n;
	char *orig = slurp(p, &n);
	char *edited = xstrdup(orig);
	edited[n - 3] = 'X';
	spit(p, edited);
	char *f = verify(st, dir, NULL);
	assert_finding(f, "CGEN-2026-0001/case.json: does not match its SHA256SUMS line");
	assert_finding(f, "CGEN-2026-0001/case.json: differs from the store");
	assert_null(strstr(f, "0002"));
	free(f);

	/* SHA256SUMS rewritten to fit: the store still tells */
	char *sp = xasprintf("%s/SHA256SUMS", dir);
	char *sums = slurp(sp, NULL);
	unsigned char dig[32];
	char hex[65];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, edited, n, dig);
	hex_encode(dig, sizeof dig, hex);
	char *line = strstr(sums, "  CGEN-2026-0001/case.json\n");
	assert_non_null(line);
	memcpy(line - 64, hex, 64);
	spit(sp, sums);
	f = verify(st, dir, NULL);
	assert_string_equal(f, "CGEN-2026-0001/case.json: differs from the store\n"
			       "SHA256SUMS: differs from the store");
	free(f);

	/* a file removed, a file added, a case folder the store does not know */
	spit(p, orig);
	char *att = xasprintf("%s/CGEN-2026-0001/attachments/quote.pdf", dir);
	assert_int_equal(unlink(att), 0);
	char *extra = xasprintf("%s/CGEN-2026-0002/notes.txt", dir);
	spit(extra, "mine");
	char *stray = xasprintf("%s/CGEN-2026-0099", dir);
	assert_int_equal(mkdir(stray, 0700), 0);
	f = verify(st, dir, NULL);
	assert_finding(f, "CGEN-2026-0001/attachments/quote.pdf: listed in SHA256SUMS but missing");
	assert_finding(f, "CGEN-2026-0001/attachments/quote.pdf: missing (the store has it)");
	assert_finding(f, "CGEN-2026-0002/notes.txt: not listed in SHA256SUMS");
	assert_finding(f, "CGEN-2026-0099: not a granted case in the store");
	free(f);

	/* export refuses a folder that is not a granted case, and writes nothing */
	char *err = NULL;
	assert_int_equal(export_granted(st, dir, NULL, NULL, &err), EXPORT_ERR);
	assert_non_null(strstr(err, "CGEN-2026-0099: not a granted case of this store"));
	free(err);
	assert_absent(dir, "CGEN-2026-0001/attachments/quote.pdf");

	/* re-export repairs what the store holds; the stray files are the operator's */
	assert_int_equal(rmdir(stray), 0);
	assert_int_equal(unlink(extra), 0);
	export_ok(st, dir, NULL, NULL);
	f = verify(st, dir, NULL);
	assert_string_equal(f, "");
	free(f);

	/* SHA256SUMS gone */
	assert_int_equal(unlink(sp), 0);
	f = verify(st, dir, NULL);
	assert_finding(f, "SHA256SUMS: missing");
	free(f);

	free(stray);
	free(extra);
	free(att);
	free(sums);
	free(sp);
	free(edited);
	free(orig);
	free(p);
	store_close(st);
	free(dir);
}

static void test_filters(void **state)
{
	(void)state;
	char *dir;
	struct store *st = fixture(&dir);
	struct export_stats s;
	struct export_filter f = {.entity = "dmv"};
	export_ok(st, dir, &f, &s);
	assert_int_equal(s.cases, 1);
	char *files = list_files(dir);
	assert_string_equal(files, "CGEN-2026-0002/case.json CGEN-2026-0002/decision.eml "
				   "CGEN-2026-0002/events.jsonl CGEN-2026-0002/request.eml SHA256SUMS index.csv index.html");
	free(files);
	char *v = verify(st, dir, NULL);
	assert_string_equal(v, "");
	free(v);

	/* granted on or after the 21st: only DMV (the 26th); DWR (the 20th) is not added */
	f.entity = NULL;
	assert_int_equal(export_parse_date("2026-11-21", &f.since), 0);
	export_ok(st, dir, &f, &s);
	assert_int_equal(s.cases, 1);
	assert_absent(dir, "CGEN-2026-0001");
	/* on the grant day itself (local time) the case is in */
	assert_int_equal(export_parse_date("2026-11-20", &f.since), 0);
	f.entity = "DWR";
	export_ok(st, dir, &f, &s);
	assert_int_equal(s.cases, 2); /* DWR added, DMV kept and refreshed */
	char *p = xasprintf("%s/index.csv", dir);
	char *index = slurp(p, NULL);
	assert_non_null(strstr(index, "\r\nCGEN-2026-0001,DWR,"));
	assert_non_null(strstr(index, "\r\nCGEN-2026-0002,DMV,"));
	free(index);
	free(p);
	v = verify(st, dir, NULL);
	assert_string_equal(v, "");
	free(v);

	/* an entity with no granted case: an export with an index and no case */
	char *dir2 = xasprintf("%s-empty", dir);
	f.entity = "CHP";
	f.since = 0;
	export_ok(st, dir2, &f, &s);
	assert_int_equal(s.cases, 0);
	files = list_files(dir2);
	assert_string_equal(files, "SHA256SUMS index.csv index.html");
	free(files);
	v = verify(st, dir2, NULL);
	assert_string_equal(v, "");
	free(v);
	free(dir2);
	store_close(st);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rm_tree(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_attachment_data),
		cmocka_unit_test(test_index_formulas),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_filters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
