/* test_conformance.c: the public mail corpora of ../shared/corpora, read in
 * place, with a table of figures per corpus (DESIGN.md section 7, cgenctl
 * parse). Plain TAP: one test point per corpus and one per failed file.
 *
 *  email_reply_parser  visible_text equals expected_visible/<name>.visible.txt;
 *                      email_long_quote (no expected file) has the length and
 *                      pieces EXPECTED.md gives
 *  talon               standard replies reduce to "Hello" or <name>_reply_text
 *                      (trimmed); HTML replies to "Hi. I am fine. Thanks, Alex"
 *                      (white space removed)
 *  cpython_email,      message_parse returns 0 (-1 allowed only for files that
 *  flanker_messages    are not mail), and report_parse's JSON has exactly the
 *                      keys of DESIGN.md section 7 with a valid kind
 *  sisimai             message_parse's kind agrees with EXPECTED.tsv's class
 *                      in at least SISIMAI_FLOOR percent of the files */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "report.h"
#include "util.h"
#include "visible.h"

/* What message.c reaches today; the goal is SISIMAI_TARGET. */
#define SISIMAI_FLOOR 99.8
#define SISIMAI_TARGET 99.0

static int points;
static int failures;

static void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(int ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s %d - ", ok ? "ok" : "not ok", ++points);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

struct tally {
	const char *corpus;
	size_t files, passed, failed, known;
};

static void json_of(const char *name, const char *raw, size_t len);

static struct tally tallies[6];
static size_t n_tallies;

static struct tally *tally_new(const char *corpus)
{
	struct tally *t = &tallies[n_tallies++];
	*t = (struct tally){ .corpus = corpus };
	return t;
}

/* One file's outcome: a failure is a test point of its own. */
static void file_result(struct tally *t, int ok, const char *name, const char *why)
{
	t->files++;
	if (ok) {
		t->passed++;
		return;
	}
	t->failed++;
	tap(0, "%s %s: %s", t->corpus, name, why);
}

static int slurp(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[65536];
	size_t n;
	b->len = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(b, chunk, n);
	int err = ferror(f);
	fclose(f);
	if (!b->s)
		buf_add(b, "", 0);
	return err ? -1 : 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir (relative names, sorted), recursing into
 * sub-folders when deep is set. */
static void list_files(const char *dir, const char *prefix, int deep, struct strv *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		char *rel = xasprintf("%s%s", prefix, e->d_name);
		DIR *sub = deep ? opendir(path) : NULL;
		if (sub) {
			closedir(sub);
			char *p = xasprintf("%s/", rel);
			list_files(path, p, deep, out);
			free(p);
		} else {
			strv_add(out, rel);
		}
		free(rel);
		free(path);
	}
	closedir(d);
	qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

/* --- email_reply_parser --- */

static void email_reply_parser(const char *top)
{
	struct tally *t = tally_new("email_reply_parser");
	char *dir = xasprintf("%s/email_reply_parser", top);
	char *exp_dir = xasprintf("%s/expected_visible", dir);
	struct strv names = { 0 };
	struct buf mail = { 0 }, want = { 0 };
	list_files(exp_dir, "", 0, &names);
	for (size_t i = 0; i < names.n; i++) {
		if (!has_suffix(names.v[i], ".visible.txt"))
			continue;
		char *name = xstrndup(names.v[i], strlen(names.v[i]) - strlen(".visible.txt"));
		char *mp = xasprintf("%s/emails/%s.txt", dir, name), *ep = xasprintf("%s/%s", exp_dir, names.v[i]);
		int ok = slurp(mp, &mail) == 0 && slurp(ep, &want) == 0;
		if (ok)
			json_of(name, mail.s, mail.len);
		char *vis = visible_text(ok ? mail.s : "");
		file_result(t, ok && strcmp(vis, want.s) == 0, name, "visible text differs from the reference");
		free(vis);
		free(mp);
		free(ep);
		free(name);
	}
	/* EXPECTED.md: 766715 characters, from "Hi folks" to "...Java HTTP API.". */
	char *lq = xasprintf("%s/emails/email_long_quote.txt", dir);
	if (slurp(lq, &mail) == 0) {
		char *vis = visible_text(mail.s);
		const char *tail = "\nI am currently using the Java HTTP API.";
		size_t n = strlen(vis);
		int ok = n == 766715 && strncmp(vis, "Hi folks\n", 9) == 0 && strstr(vis, "\nasdf\n") &&
			 strcmp(vis + n - strlen(tail), tail) == 0;
		file_result(t, ok, "email_long_quote", "visible text is not the reference's 766715 characters");
		free(vis);
	}
	free(lq);
	buf_free(&mail);
	buf_free(&want);
	strv_free(&names);
	free(exp_dir);
	free(dir);
}

static const char *check_parse_json(const char *json);

/* cgenctl parse --json over every corpus mail: the keys of DESIGN.md 7. */
static struct tally parse_json = { .corpus = "parse --json (all)" };

static void json_of(const char *name, const char *raw, size_t len)
{
	struct buf json = { 0 };
	report_parse(&json, raw, len, 1);
	const char *bad = check_parse_json(json.s ? json.s : "");
	file_result(&parse_json, bad == NULL, name, bad ? bad : "");
	buf_free(&json);
}

/* --- talon --- */

/* s with the white space at each line's end removed (visible_text's
 * documented normalisation; talon's files keep a client's trailing space). */
static void trim_line_ends(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		*w++ = *r;
		if (*r == '\n' || !r[1]) {
			char *e = *r == '\n' ? w - 1 : w;
			char *b = e;
			while (b > s && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b != e) {
				if (*r == '\n')
					*b++ = '\n';
				w = b;
			}
		}
	}
	*w = '\0';
}

static char *squeeze(const char *s)
{
	struct buf b = { 0 };
	for (; *s; s++)
		if (!strchr(" \t\r\n\v\f", *s))
			buf_addc(&b, *s);
	return b.s ? buf_steal(&b) : xstrdup("");
}

/* message_parse then visible_text; NULL when message_parse fails. */
static char *reply_of(const char *raw, size_t len)
{
	struct message m = { 0 };
	char *vis = message_parse(raw, len, &m) == 0 ? visible_text(m.text) : NULL;
	message_free(&m);
	return vis;
}

static void talon(const char *top)
{
	struct tally *t = tally_new("talon");
	char *dir = xasprintf("%s/talon/fixtures/standard_replies", top);
	struct strv names = { 0 };
	struct buf raw = { 0 }, want = { 0 };
	list_files(dir, "", 0, &names);
	for (size_t i = 0; i < names.n; i++) {
		if (!has_suffix(names.v[i], ".eml"))
			continue;
		char *name = xstrndup(names.v[i], strlen(names.v[i]) - 4);
		char *path = xasprintf("%s/%s", dir, names.v[i]), *rp = xasprintf("%s/%s_reply_text", dir, name);
		char *expect = slurp(rp, &want) == 0 ? str_trim(xstrdup(want.s)) : xstrdup("Hello");
		char *vis = slurp(path, &raw) == 0 ? reply_of(raw.s, raw.len) : NULL;
		if (vis)
			json_of(names.v[i], raw.s, raw.len);
		if (vis) {
			str_trim(vis);
			trim_line_ends(vis);
		}
		trim_line_ends(expect);
		file_result(t, vis && strcmp(vis, expect) == 0, names.v[i],
			    vis ? "reply text differs from talon's" : "message_parse failed");
		free(vis);
		free(expect);
		free(rp);
		free(path);
		free(name);
	}
	strv_free(&names);
	free(dir);

	dir = xasprintf("%s/talon/fixtures/html_replies", top);
	list_files(dir, "", 0, &names);
	for (size_t i = 0; i < names.n; i++) {
		if (!has_suffix(names.v[i], ".html"))
			continue;
		char *path = xasprintf("%s/%s", dir, names.v[i]);
		char *vis = NULL;
		if (slurp(path, &raw) == 0) {
			char *mail = xasprintf("Content-Type: text/html; charset=utf-8\r\n\r\n%s", raw.s);
			vis = reply_of(mail, strlen(mail));
			free(mail);
		}
		char *got = vis ? squeeze(vis) : NULL;
		file_result(t, got && strcmp(got, "Hi.Iamfine.Thanks,Alex") == 0, names.v[i],
			    got ? "reply text is not \"Hi. I am fine. Thanks, Alex\"" : "message_parse failed");
		free(got);
		free(vis);
		free(path);
	}
	buf_free(&raw);
	buf_free(&want);
	strv_free(&names);
	free(dir);
}

/* --- cgenctl parse JSON: a key checker --- */

static const char *skip_ws(const char *p)
{
	while (*p && strchr(" \t\r\n", *p))
		p++;
	return p;
}

/* End of the JSON string starting at p ('"'), after its closing quote; NULL
 * when unterminated. */
static const char *skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* End of the JSON value at p, or NULL. Strings are skipped whole, so the
 * brackets counted are the structure's own. */
static const char *skip_value(const char *p)
{
	int depth = 0;
	do {
		p = skip_ws(p);
		if (*p == '"') {
			if (!(p = skip_string(p)))
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (!depth)
				return NULL;
			p++;
		} else if (*p) {
			size_t n = strcspn(p, ",:]} \t\r\n");
			if (!n)
				return NULL;
			p += n;
		} else {
			return NULL;
		}
	} while (depth > 0);
	return p;
}

static const char *const parse_keys[] = { "from", "subject", "kind", "visible", "command", "ambiguous",
					  "attachments" };
static const char *const parse_kinds[] = { "request", "reply", "auto-reply", "bounce", "complaint", "other" };

/* NULL when json is one object with exactly the keys of cgenctl parse, each
 * once, and a valid kind; else what is wrong. */
static const char *check_parse_json(const char *json)
{
	int seen[ARRAY_LEN(parse_keys)] = { 0 };
	const char *p = skip_ws(json);
	if (*p++ != '{')
		return "not an object";
	p = skip_ws(p);
	if (*p == '}')
		return "empty object";
	for (;;) {
		p = skip_ws(p);
		if (*p != '"')
			return "a key is not a string";
		const char *k = p + 1, *e = skip_string(p);
		if (!e)
			return "unterminated key";
		size_t kn = (size_t)(e - 1 - k), idx = ARRAY_LEN(parse_keys);
		for (size_t i = 0; i < ARRAY_LEN(parse_keys); i++)
			if (strlen(parse_keys[i]) == kn && strncmp(parse_keys[i], k, kn) == 0)
				idx = i;
		if (idx == ARRAY_LEN(parse_keys))
			return "unknown key";
		if (seen[idx]++)
			return "duplicate key";
		p = skip_ws(e);
		if (*p++ != ':')
			return "no ':' after a key";
		const char *v = skip_ws(p);
		if (!(p = skip_value(v)))
			return "bad value";
		if (strcmp(parse_keys[idx], "kind") == 0) {
			int ok = 0;
			for (size_t i = 0; i < ARRAY_LEN(parse_kinds); i++) {
				size_t n = strlen(parse_kinds[i]);
				ok |= (size_t)(p - v) == n + 2 && v[0] == '"' && strncmp(v + 1, parse_kinds[i], n) == 0;
			}
			if (!ok)
				return "kind is not one of the six values";
		}
		p = skip_ws(p);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return "no ',' between members";
	}
	if (*skip_ws(p + 1))
		return "text after the object";
	for (size_t i = 0; i < ARRAY_LEN(parse_keys); i++)
		if (!seen[i])
			return "a key is missing";
	return NULL;
}

/* Files that are not mail: message_parse may return -1 for them. */
static const char *const not_mail[] = { "cpython_email/data/msg_19.txt" };

static void mime_corpus(const char *top, const char *corpus, const char *sub)
{
	struct tally *t = tally_new(corpus);
	char *dir = xasprintf("%s/%s/%s", top, corpus, sub);
	struct strv names = { 0 };
	struct buf raw = { 0 }, json = { 0 };
	list_files(dir, "", 1, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", dir, names.v[i]);
		char *rel = xasprintf("%s/%s/%s", corpus, sub, names.v[i]);
		const char *why = NULL;
		if (slurp(path, &raw) != 0) {
			why = "unreadable";
		} else {
			struct message m = { 0 };
			int rc = message_parse(raw.s, raw.len, &m);
			message_free(&m);
			int allowed = 0;
			for (size_t k = 0; k < ARRAY_LEN(not_mail); k++)
				allowed |= strcmp(rel, not_mail[k]) == 0;
			if (rc != 0 && !(rc == -1 && allowed))
				why = "message_parse failed";
			json.len = 0;
			report_parse(&json, raw.s, raw.len, 1);
			const char *bad = check_parse_json(json.s ? json.s : "");
			if (!why && bad)
				why = bad;
		}
		file_result(t, why == NULL, names.v[i], why ? why : "");
		free(rel);
		free(path);
	}
	buf_free(&raw);
	buf_free(&json);
	strv_free(&names);
	free(dir);
}

/* --- sisimai --- */

static const char *class_of_kind(enum msg_kind k)
{
	switch (k) {
	case MSG_BOUNCE:
		return "bounce";
	case MSG_COMPLAINT:
		return "complaint";
	case MSG_AUTO_REPLY:
		return "auto-reply";
	default:
		return "normal";
	}
}

/* EXPECTED.tsv's class of a file: feedback is a complaint, vacation an
 * auto-reply, every other reason a bounce (the three "delivered" reports
 * are delivery status notifications too). */
static const char *class_of_reason(const char *reason)
{
	if (strcmp(reason, "feedback") == 0)
		return "complaint";
	if (strcmp(reason, "vacation") == 0)
		return "auto-reply";
	return "bounce";
}

struct expect {
	struct strv names; /* file names of maildir/bsd */
	struct strv classes;
};

static void read_expected(const char *path, struct expect *x)
{
	struct buf b = { 0 };
	if (slurp(path, &b) != 0) {
		buf_free(&b);
		return;
	}
	for (char *line = b.s; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		struct strv col = { 0 };
		if (*line != '#') {
			for (char *p = line;;) {
				char *tab = strchr(p, '\t');
				strv_add_own(&col, xstrndup(p, tab ? (size_t)(tab - p) : strlen(p)));
				if (!tab)
					break;
				p = tab + 1;
			}
		}
		const char *pre = "maildir/bsd/";
		if (col.n >= 5 && strncmp(col.v[0], pre, strlen(pre)) == 0) {
			const char *name = col.v[0] + strlen(pre), *cls = class_of_reason(col.v[4]);
			size_t k = 0;
			while (k < x->names.n && strcmp(x->names.v[k], name) != 0)
				k++;
			if (k == x->names.n) {
				strv_add(&x->names, name);
				strv_add(&x->classes, cls);
			} else if (strcmp(cls, "bounce") != 0) {
				free(x->classes.v[k]);
				x->classes.v[k] = xstrdup(cls);
			}
		}
		strv_free(&col);
		line = nl ? nl + 1 : NULL;
	}
	buf_free(&b);
}

static void sisimai(const char *top)
{
	struct tally *t = tally_new("sisimai_set_of_emails");
	char *dir = xasprintf("%s/sisimai_set_of_emails", top);
	char *tsv = xasprintf("%s/EXPECTED.tsv", dir);
	struct expect x = { 0 };
	struct buf raw = { 0 };
	read_expected(tsv, &x);
	static const char *const subs[] = { "maildir/bsd", "maildir/dos", "maildir/mac", "maildir/not" };
	for (size_t s = 0; s < ARRAY_LEN(subs); s++) {
		char *sd = xasprintf("%s/%s", dir, subs[s]);
		struct strv names = { 0 };
		list_files(sd, "", 0, &names);
		for (size_t i = 0; i < names.n; i++) {
			const char *want = s == 3 ? "normal" : NULL;
			for (size_t k = 0; !want && k < x.names.n; k++)
				if (strcmp(x.names.v[k], names.v[i]) == 0)
					want = x.classes.v[k];
			if (!want)
				continue; /* no public expectation */
			char *path = xasprintf("%s/%s", sd, names.v[i]);
			const char *got = "unreadable";
			if (slurp(path, &raw) == 0) {
				struct message m = { 0 };
				json_of(names.v[i], raw.s, raw.len);
				got = message_parse(raw.s, raw.len, &m) == 0 ? class_of_kind(m.kind) : "not mail";
				message_free(&m);
			}
			t->files++;
			if (strcmp(got, want) == 0) {
				t->passed++;
			} else {
				t->failed++;
				printf("# sisimai %s/%s: expected %s, got %s\n", subs[s], names.v[i], want, got);
			}
			free(path);
		}
		strv_free(&names);
		free(sd);
	}
	double pct = t->files ? 100.0 * (double)t->passed / (double)t->files : 0.0;
	printf("# sisimai classification agreement: %.1f%% (floor %.1f%%, target %.0f%%)\n", pct,
	       SISIMAI_FLOOR, SISIMAI_TARGET);
	tap(t->files >= 600 && pct >= SISIMAI_FLOOR, "sisimai_set_of_emails: %zu of %zu classified as expected (%.1f%%)",
	    t->passed, t->files, pct);
	buf_free(&raw);
	strv_free(&x.names);
	strv_free(&x.classes);
	free(tsv);
	free(dir);
}

int main(void)
{
	const char *src = getenv("top_srcdir");
	char *top = xasprintf("%s/../shared/corpora", src ? src : ".");
	DIR *d = opendir(top);
	if (!d) {
		puts("1..0 # SKIP corpora absent");
		free(top);
		return 0;
	}
	closedir(d);

	email_reply_parser(top);
	tap(tallies[0].files == 22 && !tallies[0].failed, "email_reply_parser: %zu of %zu fixtures as the reference",
	    tallies[0].passed, tallies[0].files);
	talon(top);
	tap(tallies[1].files == 21 && !tallies[1].failed,
	    "talon: %zu of %zu replies as expected, %zu known differences", tallies[1].passed, tallies[1].files,
	    tallies[1].known);
	mime_corpus(top, "cpython_email", "data");
	tap(tallies[2].files >= 48 && !tallies[2].failed, "cpython_email: %zu of %zu parsed", tallies[2].passed,
	    tallies[2].files);
	mime_corpus(top, "flanker_messages", "messages");
	tap(tallies[3].files >= 46 && !tallies[3].failed, "flanker_messages: %zu of %zu parsed", tallies[3].passed,
	    tallies[3].files);
	sisimai(top);
	/* cpython and flanker files are checked inside mime_corpus */
	parse_json.files += tallies[2].files + tallies[3].files;
	parse_json.passed += tallies[2].files + tallies[3].files - tallies[2].failed - tallies[3].failed;
	tap(parse_json.files >= 800 && !parse_json.failed, "parse --json: the keys of DESIGN.md 7 for all %zu corpus mails",
	    parse_json.files);
	tallies[n_tallies++] = parse_json;

	printf("# %-24s %6s %7s %7s %6s\n", "corpus", "files", "passed", "failed", "known");
	for (size_t i = 0; i < n_tallies; i++)
		printf("# %-24s %6zu %7zu %7zu %6zu\n", tallies[i].corpus, tallies[i].files, tallies[i].passed,
		       tallies[i].failed, tallies[i].known);
	printf("1..%d\n", points);
	free(top);
	return failures ? 1 : 0;
}
