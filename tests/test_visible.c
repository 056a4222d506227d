/* test_visible.c: the visible part of replies from common mail clients, and the
 * github/email_reply_parser corpus (read in place from ../shared/corpora). */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"
#include "visible.h"

static const struct row {
	const char *name, *in, *out;
} rows[] = {
	{ "no quote: unchanged", "APPROVE\n\nLooks fine.\n  indented line\nlast", NULL },
	{ "trailing blank lines", "APPROVE\n\n \n\t\n", "APPROVE" },
	{ "empty", "", "" },
	{ "gmail", "APPROVE\n\nOn Tue, Mar 3, 2026 at 10:00 AM John Doe <j@x.org> wrote:\n\n> Please approve.\n",
	  "APPROVE" },
	{ "gmail wrapped", "REJECT no budget\n\nOn Tue, 2026 Mar 3 at 10:00,\nJohn <j@x.org> wrote:\n> hi\n",
	  "REJECT no budget" },
	{ "gmail wrapped, no space", "ok\r\n\r\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris\r\n<c@x.org>wrote:\r\n\r\n> x\r\n",
	  "ok" },
	{ "attribution over three lines", "yes\n\nOn Dec 16, 2011, at 12:47 PM, Corey\n<c@x.org>\nwrote:\n\n> x",
	  "yes" },
	{ "yahoo attribution", "yes\n\n--- On Wed, 4/4/12, a@x.org <a@x.org> wrote:\n\nFrom: a\nold text",
	  "yes" },
	{ "any attribution followed by a quote", "yes\nJohn Doe <j@x.org> wrote:\n> old", "yes" },
	{ "on without wrote is text", "On second thought, approve.\nThanks\n\nOn a side note: nothing",
	  NULL },
	{ "outlook desktop",
	  "APPROVE\n\nFrom: Jane Roe <jane@x.gov>\nSent: Tuesday, March 3, 2026 10:00 AM\nTo: CGEN <cgen@x.gov>\n"
	  "Subject: RE: CGEN-2026-0042\n\nPlease approve.\n",
	  "APPROVE" },
	{ "outlook, To before Sent", "APPROVE\nFrom: a\nTo: b\nCc: c\nSent: today\nSubject: s\nold",
	  "APPROVE" },
	{ "from without sent is text", "From: the start it was clear.\nTo: all\nCc: x\nSubject: y\nz", NULL },
	{ "outlook bold", "APPROVE\n\n*From:* Google <g@x.org>\n*Sent:* Thursday, February 09, 2012 1:36 PM\n"
	  "*To:* a@x.org\n",
	  "APPROVE" },
	{ "original message", "DENY too costly\n\n-----Original Message-----\nFrom: a\nAPPROVE\n",
	  "DENY too costly" },
	{ "original message, spaced", "DENY x\n----- Original Message -----\nFrom: a\n", "DENY x" },
	{ "outlook web underscores",
	  "APPROVE\n________________________________\nFrom: CRM <crm@x.org>\nSent: Friday\nold\n", "APPROVE" },
	{ "rule above the header block is dropped",
	  "APPROVE\n\n\n ------------------------------\n\n*From:* a\n*Sent:* b\n", "APPROVE" },
	{ "iphone", "APPROVE\n\nSent from my iPhone\n\n> On Mar 3, 2026, at 10:00, J <j@x.org> wrote:\n> x\n",
	  "APPROVE" },
	{ "mobile, several words", "ok\n\nSent from my Verizon Wireless BlackBerry", "ok" },
	{ "mobile device", "ok\nSent from my mobile device.", "ok" },
	{ "sent from my, as prose", "ok\n\nSent from my desk, is much easier then my mobile phone.", NULL },
	{ "outlook mobile", "ok\n\nGet Outlook for iOS\n", "ok" },
	{ "outlook android", "ok\nGet Outlook for Android", "ok" },
	{ "mail for windows", "ok\n\nSent from Mail for Windows 10\n", "ok" },
	{ "yahoo mail", "ok\n\nSent from Yahoo Mail on Android\n", "ok" },
	{ "german mobile", "ok\n\nVon meinem iPhone gesendet\n", "ok" },
	{ "apple mail forward", "FYI\n\nBegin forwarded message:\n\nFrom: a\nSubject: s\n", "FYI" },
	{ "gmail forward", "FYI\n\n---------- Forwarded message ---------\nFrom: a\nDate: b\n", "FYI" },
	{ "signature", "APPROVE\n\n-- \nJane Roe\nAIO", "APPROVE" },
	{ "signature without space", "APPROVE\n--\nJane", "APPROVE" },
	{ "dashes inside a line", "Fix -- not a signature.\n\nkthx", NULL },
	{ "bullets are text", "One:\n- first\n- second", NULL },
	{ "crlf", "APPROVE\r\nsecond line\r\n\r\n> quoted\r\n", "APPROVE\nsecond line" },
	{ "quote after spaces", "ok\n   > quoted\n", "ok" },
	{ "german", "GENEHMIGT\n\nAm Di., 3. März 2026 um 10:00 Uhr schrieb Hans <h@x.de>:\n> x", "GENEHMIGT" },
	{ "german outlook", "ok\n\nVon: Hans <h@x.de>\nGesendet: Dienstag, 3. März 2026 10:00\nAn: b\n",
	  "ok" },
	{ "french", "ok\n\nLe mar. 3 mars 2026 à 10:00, Jean <j@x.fr> a écrit :\n> x", "ok" },
	{ "french, no-break space", "ok\n\nLe mar. 3 mars 2026, Jean <j@x.fr> a écrit\xc2\xa0:\n\n> x", "ok" },
	{ "french outlook", "ok\n\nDe : Jean <j@x.fr>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : b\n", "ok" },
	{ "danish", "ok\n\nDen tir. 3. mar. 2026 kl. 10.00 skrev Jens <j@x.dk>:\n> x", "ok" },
	{ "danish outlook", "ok\n\nFra: Jens <j@x.dk>\nSendt: 3. marts 2026 10:00\nTil: b\n", "ok" },
	{ "spanish", "ok\n\nEl mar, 3 mar 2026 a las 10:00, Juan (<j@x.es>) escribió:\n> x", "ok" },
	{ "spanish outlook", "ok\n\nDe: Juan <j@x.es>\nEnviado: martes, 3 de marzo de 2026 10:00\n", "ok" },
	{ "italian", "ok\n\nIl giorno mar 3 mar 2026 alle ore 10:00 Gio <g@x.it> ha scritto:\n> x", "ok" },
	{ "dutch", "ok\n\nOp di 3 mrt 2026 om 10:00 schreef Jan <j@x.nl>:\n> x", "ok" },
	{ "dutch outlook", "ok\nVan: Jan\nVerzonden: dinsdag\nAan: b\n", "ok" },
	{ "portuguese", "ok\n\nEm ter., 3 de mar. de 2026 às 10:00, Ana <a@x.br> escreveu:\n> x", "ok" },
	{ "swedish", "ok\n\nDen tis 3 mars 2026 kl 10:00 skrev Sven <s@x.se>:\n> x", "ok" },
	{ "swedish outlook", "ok\nFrån: Sven\nSkickat: den 3 mars 2026\n", "ok" },
	/* the reply below the quote */
	{ "bottom post", "> question\nanswer", "answer" },
	{ "bottom post with attribution",
	  "On Mon, Apr 2, 2012 at 6:26 PM, Megan <m@x.org> wrote:\n> Hi\n\nAPPROVE\n\n-- \nJane\n", "APPROVE" },
	{ "inline answers",
	  "\nOn Tue, Apr 29, 2014 at 4:22 PM, Dev <d@x.org>wrote:\n\n> one\n>\n\nfirst answer\n\n>\n> two\n>\n\n"
	  "second answer\n\n> > older\n\n--\nsig\n",
	  "first answer\n\nsecond answer" },
	{ "attribution without quote is a cut", "On Mon, Apr 2, 2012, Megan <m@x.org> wrote:\nold text", "" },
	{ "only quote", "> a\n> b\n", "" },
	{ "invalid utf-8", "ok \xff\xfe\n\nOn \xff wrote:\n> x", "ok \xff\xfe" },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const char *want = rows[i].out ? rows[i].out : rows[i].in;
		char *got = visible_text(rows[i].in);
		if (strcmp(got, want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", rows[i].name, got, want);
		free(got);
	}
}

/* --- the email_reply_parser corpus --- */

static char *corpus_dir(void)
{
	const char *top = getenv("top_srcdir");
	if (!top)
		return NULL;
	char *dir = xasprintf("%s/../shared/corpora/email_reply_parser", top);
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return NULL;
	}
	closedir(d);
	return dir;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	assert_false(ferror(f));
	fclose(f);
	return buf_steal(&b);
}

/* First line holding more than white space, without its trailing white space
 * (the reference implementation drops it); "" when none. */
static char *first_line(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		char *l = xstrndup(s, n);
		if (*str_trim(l)) {
			free(l);
			while (n && strchr(" \t\r", s[n - 1]))
				n--;
			return xstrndup(s, n);
		}
		free(l);
		s += n + (s[n] != '\0');
	}
	return xstrdup("");
}

/* Fixtures where our first line differs from the reference's visible text on
 * purpose: the line we give instead, and why. */
static const struct known {
	const char *fixture, *ours, *why;
} known[] = {
	{ "email_1_8", "I will reply under this one",
	  "the reference keeps a quote that sits above new text visible; the command is in "
	  "the text below it (EXPECTED.md, visible non-quoted column)" },
};

static void test_corpus(void **state)
{
	(void)state;
	char *dir = corpus_dir();
	if (!dir)
		skip();
	char *exp_dir = xasprintf("%s/expected_visible", dir);
	DIR *d = opendir(exp_dir);
	assert_non_null(d);
	struct strv names = { 0 };
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name), suf = strlen(".visible.txt");
		if (n > suf && strcmp(e->d_name + n - suf, ".visible.txt") == 0)
			strv_add_own(&names, xstrndup(e->d_name, n - suf));
	}
	closedir(d);

	size_t matched = 0, known_seen = 0;
	for (size_t i = 0; i < names.n; i++) {
		char *mail_path = xasprintf("%s/emails/%s.txt", dir, names.v[i]);
		char *exp_path = xasprintf("%s/%s.visible.txt", exp_dir, names.v[i]);
		char *mail = slurp(mail_path), *expected = slurp(exp_path);
		char *vis = visible_text(mail);
		char *ours = first_line(vis), *ref = first_line(expected);
		const struct known *k = NULL;
		for (size_t j = 0; j < ARRAY_LEN(known); j++)
			if (strcmp(known[j].fixture, names.v[i]) == 0)
				k = &known[j];
		if (k) {
			known_seen++;
			if (strcmp(ours, ref) == 0 || strcmp(ours, k->ours) != 0)
				fail_msg("%s (known difference): got \"%s\", reference \"%s\", listed \"%s\"",
					 names.v[i], ours, ref, k->ours);
		} else if (strcmp(ours, ref) == 0) {
			matched++;
		} else {
			fail_msg("%s: first line \"%s\", reference \"%s\"", names.v[i], ours, ref);
		}
		free(ours);
		free(ref);
		free(vis);
		free(mail);
		free(expected);
		free(mail_path);
		free(exp_path);
	}
	printf("# email_reply_parser: first visible line matches the reference in %zu of %zu "
	       "fixtures; %zu known difference(s)\n",
	       matched, names.n, known_seen);
	assert_int_equal(names.n, 21);
	assert_int_equal(known_seen, ARRAY_LEN(known));
	assert_int_equal(matched + known_seen, names.n);
	strv_free(&names);
	free(exp_dir);
	free(dir);
}

static double seconds_for(const char *mail, char **out)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	*out = visible_text(mail);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

/* Guards against catastrophic backtracking, not a benchmark. */
static void test_corpus_time(void **state)
{
	(void)state;
	char *dir = corpus_dir();
	if (!dir)
		skip();
	char *path = xasprintf("%s/emails/pathological.txt", dir);
	char *mail = slurp(path), *vis;
	double t = seconds_for(mail, &vis);
	printf("# pathological.txt: %.4f s\n", t);
	assert_true(t < 1.0);
	assert_string_equal(vis, "I think you're onto something. I will try to fix the problem as soon as I\n"
				 "get back to a computer.");
	free(vis);
	free(mail);
	free(path);

	path = xasprintf("%s/emails/email_long_quote.txt", dir);
	mail = slurp(path);
	assert_true(strlen(mail) > 700000);
	t = seconds_for(mail, &vis);
	printf("# email_long_quote.txt: %.4f s\n", t);
	assert_true(t < 1.0);
	assert_string_equal(vis, "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\n"
				 "running a test?");
	free(vis);
	free(mail);
	free(path);
	free(dir);
}

/* A 1 MB line that almost looks like an attribution or a header. */
static void test_long_lines(void **state)
{
	(void)state;
	static const char *const heads[] = { "On ", "From: ", "Sent from my ", "Am ", "ok\nOn " };
	for (size_t i = 0; i < ARRAY_LEN(heads); i++) {
		struct buf b = { 0 };
		buf_adds(&b, heads[i]);
		for (size_t k = 0; k < 100000; k++)
			buf_adds(&b, "wrote: a ");
		buf_adds(&b, "\n> q\n");
		char *in = buf_steal(&b), *vis;
		double t = seconds_for(in, &vis);
		assert_true(t < 1.0);
		assert_true(strlen(vis) > 900000);
		free(vis);
		free(in);
	}
	/* Just under the attribution length limit: many candidate verbs. */
	struct buf b = { 0 };
	buf_adds(&b, "Am ");
	for (size_t k = 0; k < 120; k++)
		buf_adds(&b, "schrieb ");
	char *line = xstrdup(b.s);
	buf_adds(&b, "\n> q\n");
	char *in = buf_steal(&b), *vis;
	assert_true(seconds_for(in, &vis) < 1.0);
	assert_string_equal(vis, line);
	free(vis);
	free(in);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_time),
		cmocka_unit_test(test_long_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
