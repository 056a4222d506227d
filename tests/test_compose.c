/* test_compose.c: templates and outgoing messages. Every message built here is
 * decoded again (RFC 2047 words, quoted-printable, base64) and compared with
 * its input. */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "compose.h"
#include "util.h"

/* --- decoders written for the test --- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	fail_msg("bad hex digit %c", c);
	return 0;
}

/* Quoted-printable with CRLF lines back to LF text; checks the encoding rules. */
static char *qp_decode(const char *s)
{
	struct buf b = {0};
	size_t col = 0;
	while (*s) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			assert_true(col + 1 <= 76);
			s += 3;
			col = 0;
		} else if (s[0] == '=') {
			buf_addc(&b, (char)(hexval(s[1]) * 16 + hexval(s[2])));
			s += 3;
			col += 3;
		} else if (s[0] == '\r') {
			assert_int_equal(s[1], '\n');
			assert_true(col <= 76);
			if (b.len > 0 && col > 0)
				assert_true(s[-1] != ' ' && s[-1] != '\t');
			buf_addc(&b, '\n');
			s += 2;
			col = 0;
		} else {
			unsigned char c = (unsigned char)*s;
			assert_true((c >= 0x20 && c < 0x7f) || c == '\t');
			if (col == 0)
				assert_false(strncmp(s, "From ", 5) == 0);
			buf_addc(&b, *s++);
			col++;
		}
	}
	assert_true(col <= 76);
	return buf_steal(&b);
}

static unsigned char *b64_decode(const char *s, size_t n, size_t *out_len)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char *out = xmalloc(n);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '=')
			continue;
		const char *p = strchr(al, s[i]);
		assert_non_null(p);
		acc = (acc << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_len = o;
	return out;
}

/* 1 when the n bytes are whole UTF-8 sequences. */
static int utf8_whole(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : s[i] < 0xe0 ? 2 : s[i] < 0xf0 ? 3 : 4;
		if (i + len > n)
			return 0;
		for (size_t j = 1; j < len; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/* An unfolded header value of RFC 2047 B words (or plain text) decoded. */
static char *words_decode(const char *v)
{
	if (strncmp(v, "=?", 2) != 0)
		return xstrdup(v);
	struct buf b = {0};
	char *copy = xstrdup(v);
	char *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		size_t n = strlen(w);
		assert_true(n <= 75);
		assert_true(strncmp(w, "=?UTF-8?B?", 10) == 0);
		assert_string_equal(w + n - 2, "?=");
		size_t dl;
		unsigned char *d = b64_decode(w + 10, n - 12, &dl);
		assert_true(utf8_whole(d, dl));
		buf_add(&b, (char *)d, dl);
		free(d);
	}
	free(copy);
	return buf_steal(&b);
}

/* --- message helpers --- */

/* Checks CRLF only, lines <= 998 and, in the header, <= 78. */
static void check_lines(const char *msg, size_t len)
{
	assert_int_equal(strlen(msg), len);
	const char *end_hdr = strstr(msg, "\r\n\r\n");
	assert_non_null(end_hdr);
	size_t col = 0;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n') {
			assert_true(i > 0 && msg[i - 1] == '\r');
			col = 0;
			continue;
		}
		if (msg[i] == '\r')
			assert_int_equal(msg[i + 1], '\n');
		else
			col++;
		assert_true(col <= 998);
		if (msg + i < end_hdr)
			assert_true(col <= 78);
	}
}

/* Unfolded value of the n-th (0-based) header called name, or NULL. */
static char *header_get(const char *msg, const char *name, int nth)
{
	size_t nl = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p < end; p = strstr(p, "\r\n") + 2) {
		if (strncasecmp(p, name, nl) != 0 || p[nl] != ':' || nth-- > 0)
			continue;
		struct buf b = {0};
		const char *v = p + nl + 1;
		for (;;) {
			const char *e = strstr(v, "\r\n");
			buf_add(&b, v, (size_t)(e - v));
			if (e[2] != ' ' && e[2] != '\t')
				break;
			v = e + 2;
		}
		char *s = buf_steal(&b);
		memmove(s, s + strspn(s, " "), strlen(s + strspn(s, " ")) + 1);
		return s;
	}
	return NULL;
}

static int header_count(const char *msg, const char *name)
{
	int n = 0;
	char *v;
	while ((v = header_get(msg, name, n)) != NULL) {
		free(v);
		n++;
	}
	return n;
}

static const char *body_of(const char *msg)
{
	return strstr(msg, "\r\n\r\n") + 4;
}

static struct strv one_to;

static struct outmail basic_mail(void)
{
	if (!one_to.n)
		strv_add(&one_to, "aio@water.ca.gov");
	struct outmail m = {
		.from = "CGEN Exemptions <cgen@cdt.ca.gov>",
		.to = &one_to,
		.subject = "[CGEN-2026-0001] Approval needed",
		.body = "Hello.\n",
		.message_id = "cgen.abc.1@cdt.ca.gov",
		.date = 1795694400,
	};
	return m;
}

static int teardown_all(void **state)
{
	(void)state;
	strv_free(&one_to);
	return 0;
}

/* --- template folders --- */

struct tdir {
	char path[32];
	struct strv made; /* removed in reverse order */
};

static void tdir_make(struct tdir *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->path, "/tmp/cgen-tpl-XXXXXX");
	assert_non_null(mkdtemp(d->path));
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void tdir_put(struct tdir *d, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", d->path, name);
	write_file(path, content);
	strv_add_own(&d->made, path);
}

static void tdir_mkdir(struct tdir *d, const char *name)
{
	char *path = xasprintf("%s/%s", d->path, name);
	assert_int_equal(mkdir(path, 0700), 0);
	strv_add_own(&d->made, path);
}

static void tdir_remove(struct tdir *d)
{
	for (size_t i = d->made.n; i > 0; i--)
		assert_int_equal(remove(d->made.v[i - 1]), 0);
	assert_int_equal(rmdir(d->path), 0);
	strv_free(&d->made);
}

static void test_load_errors(void **state)
{
	(void)state;
	static const struct {
		const char *content;
		const char *errors[2]; /* after the file's path */
	} t[] = {
		{"Hello\n\nbody\n", {":1: first line must be \"Subject: ...\""}},
		{"", {":1: first line must be \"Subject: ...\""}},
		{"Subject:   \n\nbody\n", {":1: first line must be \"Subject: ...\""}},
		{"subject: x\n\nbody\n", {":1: first line must be \"Subject: ...\""}},
		{" Subject: x\n\nbody\n", {":1: first line must be \"Subject: ...\""}},
		{"Subject: x\nbody\n", {":2: expected an empty line after Subject"}},
		{"Subject: x", {":2: expected an empty line after Subject"}},
		{"Subject: x\n", {":2: expected an empty line after Subject"}},
		{"Subject: x\r\nbody\r\n", {":2: expected an empty line after Subject"}},
		{"Subject: x {{Bad}}\n\nbody\n", {":1: bad placeholder"}},
		{"Subject: x\n\n{{}}\n", {":3: bad placeholder"}},
		{"Subject: x\n\nok\n{{a-b}}\n", {":4: bad placeholder"}},
		{"Subject: x\n\none\ntwo {{name\nthree }}\n", {":4: bad placeholder"}},
		{"Subject: x\n\n{{ name }}\n", {":3: bad placeholder"}},
		{"Subject: x\n\n{{{name}}}\n", {":3: bad placeholder"}},
		{"Subject: x\n\nends with {{", {":3: bad placeholder"}},
		{"Subject: x\r\n\r\nok {{x}}\r\nbad {{y\r\n", {":4: bad placeholder"}},
		{"Subject: x\n\n{{a\nfine {{ok}}\n{{b}} {{c\n", {":3: bad placeholder",
							       ":5: bad placeholder"}},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct tdir d;
		tdir_make(&d);
		tdir_put(&d, "good.txt", "Subject: fine\n\nfine\n");
		tdir_put(&d, "bad.txt", t[i].content);
		struct templates *tp = (struct templates *)&d; /* overwritten */
		struct strv errors = {0};
		assert_int_equal(templates_load(d.path, NULL, &tp, &errors), -1);
		assert_null(tp);
		char *path = xasprintf("%s/bad.txt", d.path);
		size_t want = t[i].errors[1] ? 2 : 1;
		assert_int_equal(errors.n, want);
		for (size_t j = 0; j < want; j++) {
			char *e = xasprintf("%s%s", path, t[i].errors[j]);
			assert_string_equal(errors.v[j], e);
			free(e);
		}
		free(path);
		strv_free(&errors);
		tdir_remove(&d);
	}
}

static void test_load_required_and_skips(void **state)
{
	(void)state;
	struct tdir d;
	tdir_make(&d);
	tdir_put(&d, "ack.txt", "Subject: ack\n\nbody\n");
	tdir_put(&d, "notes.md", "not a template");
	tdir_put(&d, "ack.txt~", "not a template");
	tdir_put(&d, ".hidden.txt", "not a template");
	tdir_put(&d, "broken.txt", "no subject\n");
	tdir_mkdir(&d, "folder.txt");

	static const char *const required[] = {"ack", "status", "broken", "folder", NULL};
	struct templates *tp = NULL;
	struct strv errors = {0};
	assert_int_equal(templates_load(d.path, required, &tp, &errors), -1);
	assert_null(tp);
	assert_int_equal(errors.n, 3);
	char *e0 = xasprintf("%s/broken.txt:1: first line must be \"Subject: ...\"", d.path);
	char *e1 = xasprintf("%s: template status.txt is missing", d.path);
	char *e2 = xasprintf("%s: template folder.txt is missing", d.path);
	assert_string_equal(errors.v[0], e0);
	assert_string_equal(errors.v[1], e1);
	assert_string_equal(errors.v[2], e2);
	free(e0);
	free(e1);
	free(e2);
	strv_free(&errors);

	/* without the broken file, the rest loads; junk files are not templates */
	write_file(d.made.v[4], "Subject: fixed\n\n");
	static const char *const required2[] = {"ack", "broken", NULL};
	char *slashed = xasprintf("%s/", d.path);
	assert_int_equal(templates_load(slashed, required2, &tp, &errors), 0);
	free(slashed);
	assert_int_equal(errors.n, 0);
	assert_true(templates_has(tp, "ack"));
	assert_true(templates_has(tp, "broken"));
	assert_false(templates_has(tp, "notes"));
	assert_false(templates_has(tp, "ack.txt~"));
	assert_false(templates_has(tp, ".hidden"));
	assert_false(templates_has(tp, "folder"));
	assert_false(templates_has(NULL, "ack"));
	templates_free(tp);
	templates_free(NULL);
	tdir_remove(&d);

	assert_int_equal(templates_load("/nonexistent/cgen-templates", NULL, &tp, &errors), -1);
	assert_null(tp);
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], "/nonexistent/cgen-templates: No such file or directory");
	strv_free(&errors);
}

/* A custom folder holds only what it changes; the rest comes from the
 * installed folder, and a template missing from both is named. */
static void test_load_fallback(void **state)
{
	(void)state;
	struct tdir custom, inst;
	tdir_make(&custom);
	tdir_make(&inst);
	tdir_put(&custom, "ack.txt", "Subject: custom ack\n\nours\n");
	tdir_put(&inst, "ack.txt", "Subject: installed ack\n\ntheirs\n");
	tdir_put(&inst, "status.txt", "Subject: installed status\n\n{{x}}\n");
	static const char *const required[] = {"ack", "status", NULL};
	struct templates *tp = NULL;
	struct strv errors = {0};
	size_t from = 99;
	assert_int_equal(templates_load_fallback(custom.path, inst.path, required, &tp, &errors, &from), 0);
	assert_int_equal(errors.n, 0);
	assert_int_equal(from, 1);
	struct strv vars = {0};
	strv_add(&vars, "x");
	strv_add(&vars, "v");
	char *subj = NULL, *body = NULL, *err = NULL;
	assert_int_equal(templates_render(tp, "ack", &vars, &subj, &body, &err), 0);
	assert_string_equal(subj, "custom ack");
	free(subj);
	free(body);
	assert_int_equal(templates_render(tp, "status", &vars, &subj, &body, &err), 0);
	assert_string_equal(subj, "installed status");
	free(subj);
	free(body);
	strv_free(&vars);
	templates_free(tp);

	/* the same folder twice, or no fallback: templates_load */
	assert_int_equal(templates_load_fallback(custom.path, NULL, required, &tp, &errors, &from), -1);
	assert_int_equal(from, 0);
	assert_int_equal(errors.n, 1);
	strv_free(&errors);
	assert_int_equal(templates_load_fallback(inst.path, inst.path, required, &tp, &errors, NULL), 0);
	templates_free(tp);

	static const char *const more[] = {"ack", "status", "help", NULL};
	assert_int_equal(templates_load_fallback(custom.path, inst.path, more, &tp, &errors, NULL), -1);
	assert_null(tp);
	assert_int_equal(errors.n, 1);
	char *want = xasprintf("%s: template help.txt is missing (and from %s too)", custom.path, inst.path);
	assert_string_equal(errors.v[0], want);
	free(want);
	strv_free(&errors);
	tdir_remove(&custom);
	tdir_remove(&inst);
}

static struct templates *load_one(struct tdir *d, const char *name, const char *content)
{
	tdir_make(d);
	tdir_put(d, name, content);
	struct templates *tp = NULL;
	struct strv errors = {0};
	assert_int_equal(templates_load(d->path, NULL, &tp, &errors), 0);
	assert_int_equal(errors.n, 0);
	assert_non_null(tp);
	return tp;
}

static void test_render(void **state)
{
	(void)state;
	struct tdir d;
	struct templates *tp = load_one(&d, "ack.txt",
		"Subject: [{{case}}] Received: {{title}}\r\n"
		"\r\n"
		"Hello {{name}},\r\n"
		"\r\n"
		"Case {{case}}: {{title}}.\r\n"
		"Literal {{{{not}} here, and } {x} }} stay.\r\n"
		"{{note}}\r\n");
	struct strv vars = {0};
	static const char *const kv[] = {
		"case", "CGEN-2026-0001", "name", "Ana Núñez", "title", "Line one\r\nline two",
		"note", "Use {{case}} and {{{{ as they are", "unused", "x", "case", "ignored",
	};
	for (size_t i = 0; i < ARRAY_LEN(kv); i++)
		strv_add(&vars, kv[i]);
	char *subject = NULL, *body = NULL, *err = NULL;
	assert_int_equal(templates_render(tp, "ack", &vars, &subject, &body, &err), 0);
	assert_null(err);
	assert_string_equal(subject, "[CGEN-2026-0001] Received: Line one line two");
	assert_string_equal(body,
		"Hello Ana Núñez,\n"
		"\n"
		"Case CGEN-2026-0001: Line one\nline two.\n"
		"Literal {{not}} here, and } {x} }} stay.\n"
		"Use {{case}} and {{{{ as they are\n");
	free(subject);
	free(body);

	/* a missing value renders nothing */
	struct strv few = {0};
	strv_add(&few, "case");
	strv_add(&few, "CGEN-2026-0001");
	strv_add(&few, "title");
	strv_add(&few, "t");
	subject = body = (char *)"stale";
	assert_int_equal(templates_render(tp, "ack", &few, &subject, &body, &err), -1);
	assert_null(subject);
	assert_null(body);
	assert_string_equal(err, "template ack: no value for {{name}}");
	free(err);
	err = NULL;
	strv_free(&few);

	assert_int_equal(templates_render(tp, "ack", NULL, &subject, &body, &err), -1);
	assert_string_equal(err, "template ack: no value for {{case}}");
	free(err);
	err = NULL;

	assert_int_equal(templates_render(tp, "nope", &vars, &subject, &body, &err), -1);
	assert_string_equal(err, "template nope: no such template");
	free(err);
	strv_free(&vars);
	templates_free(tp);
	tdir_remove(&d);
}

/* --- messages --- */

static void test_message_ascii_exact(void **state)
{
	(void)state;
	struct strv to = {0};
	strv_add(&to, "aio@water.ca.gov");
	strv_add(&to, "cio@water.ca.gov");
	struct outmail m = {
		.from = "CGEN Exemptions <cgen@cdt.ca.gov>",
		.reply_to = "cgen+abc@cdt.ca.gov",
		.to = &to,
		.subject = "[CGEN-2026-0001] Approval needed",
		.body = "Hello,\n\nPlease reply APPROVE.\n",
		.message_id = "cgen.abc.1@cdt.ca.gov",
		.in_reply_to = "orig@x.gov",
		.references = "a@x.gov  <orig@x.gov>",
		.date = 1795694400,
	};
	size_t len;
	char *msg = compose_message(&m, &len);
	static const char want[] =
		"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n"
		"From: CGEN Exemptions <cgen@cdt.ca.gov>\r\n"
		"To: aio@water.ca.gov, cio@water.ca.gov\r\n"
		"Subject: [CGEN-2026-0001] Approval needed\r\n"
		"Message-ID: <cgen.abc.1@cdt.ca.gov>\r\n"
		"In-Reply-To: <orig@x.gov>\r\n"
		"References: <a@x.gov> <orig@x.gov>\r\n"
		"Reply-To: cgen+abc@cdt.ca.gov\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"X-Auto-Response-Suppress: All\r\n"
		"\r\n"
		"Hello,\r\n"
		"\r\n"
		"Please reply APPROVE.\r\n";
	assert_string_equal(msg, want);
	assert_int_equal(len, strlen(want));
	free(msg);

	/* optional headers left out; auto-replied; a body without a final LF */
	m.reply_to = NULL;
	m.in_reply_to = NULL;
	m.references = NULL;
	m.auto_replied = 1;
	m.body = "Done";
	m.date = 1801814589;
	msg = compose_message(&m, &len);
	static const char want2[] =
		"Date: Fri, 5 Feb 2027 08:03:09 +0000\r\n"
		"From: CGEN Exemptions <cgen@cdt.ca.gov>\r\n"
		"To: aio@water.ca.gov, cio@water.ca.gov\r\n"
		"Subject: [CGEN-2026-0001] Approval needed\r\n"
		"Message-ID: <cgen.abc.1@cdt.ca.gov>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"X-Auto-Response-Suppress: All\r\n"
		"\r\n"
		"Done\r\n";
	assert_string_equal(msg, want2);
	free(msg);
	strv_free(&to);
}

static void test_header_text(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} t[] = {
		{"Plain ASCII [CGEN-2026-0001]", "Plain ASCII [CGEN-2026-0001]"},
		{"", ""},
		{"é", "=?UTF-8?B?w6k=?="},
		{"Équipe CGEN", "=?UTF-8?B?w4lxdWlwZSBDR0VO?="},
		{"looks =?encoded?=", "=?UTF-8?B?bG9va3MgPT9lbmNvZGVkPz0=?="},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *s = compose_header_text(t[i].in);
		assert_string_equal(s, t[i].out);
		free(s);
	}
}

static void test_subjects(void **state)
{
	(void)state;
	struct buf longword = {0}, longascii = {0}, longutf8 = {0};
	for (int i = 0; i < 30; i++)
		buf_adds(&longword, "abc");
	for (int i = 0; i < 40; i++)
		buf_addf(&longascii, "%sword%02d", i ? " " : "", i);
	for (int i = 0; i < 40; i++)
		buf_adds(&longutf8, "é中😀 a");
	const char *subjects[] = {
		"[CGEN-2026-0001] Approbation requise : système",
		"中文主题 [CGEN-2026-0001]",
		"emoji 😀🎉 test",
		"Re: =?UTF-8?B?eA==?= literal",
		"  padded  inside  ",
		longword.s,
		longascii.s,
		longutf8.s,
		"",
	};
	for (size_t i = 0; i < ARRAY_LEN(subjects); i++) {
		struct outmail m = basic_mail();
		m.subject = subjects[i];
		size_t len;
		char *msg = compose_message(&m, &len);
		check_lines(msg, len);
		assert_int_equal(header_count(msg, "Subject"), 1);
		char *v = header_get(msg, "Subject", 0);
		char *dec = words_decode(v);
		char *want = str_trim(xstrdup(subjects[i]));
		assert_string_equal(dec, want);
		free(want);
		free(dec);
		free(v);
		free(msg);
	}
	buf_free(&longword);
	buf_free(&longascii);
	buf_free(&longutf8);
}

static void test_from_header(void **state)
{
	(void)state;
	static const struct {
		const char *from, *line;
	} t[] = {
		{"CGEN Exemptions <cgen@cdt.ca.gov>", "From: CGEN Exemptions <cgen@cdt.ca.gov>\r\n"},
		{"cgen@cdt.ca.gov", "From: cgen@cdt.ca.gov\r\n"},
		{"Équipe CGEN <cgen@cdt.ca.gov>", "From: =?UTF-8?B?w4lxdWlwZSBDR0VO?= <cgen@cdt.ca.gov>\r\n"},
		{"\"Équipe CGEN\" <cgen@cdt.ca.gov>",
		 "From: =?UTF-8?B?w4lxdWlwZSBDR0VO?= <cgen@cdt.ca.gov>\r\n"},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct outmail m = basic_mail();
		m.from = t[i].from;
		size_t len;
		char *msg = compose_message(&m, &len);
		check_lines(msg, len);
		assert_non_null(strstr(msg, t[i].line));
		free(msg);
	}
}

static void test_to_folding(void **state)
{
	(void)state;
	struct strv to = {0};
	for (int i = 0; i < 12; i++)
		strv_addf(&to, "person-number-%02d@department.ca.gov", i);
	struct outmail m = basic_mail();
	m.to = &to;
	size_t len;
	char *msg = compose_message(&m, &len);
	check_lines(msg, len);
	char *v = header_get(msg, "To", 0);
	char *want = strv_join(&to, ", ");
	assert_string_equal(v, want);
	free(want);
	free(v);
	free(msg);

	/* no usable address at all */
	struct strv bad = {0};
	strv_add(&bad, "not an address");
	m.to = &bad;
	msg = compose_message(&m, &len);
	assert_non_null(strstr(msg, "\r\nTo: undisclosed-recipients:;\r\n"));
	free(msg);
	strv_free(&bad);
	strv_free(&to);
}

static void test_header_injection(void **state)
{
	(void)state;
	struct strv to = {0};
	strv_add(&to, "ok@water.ca.gov");
	strv_add(&to, "a@b.gov\r\nBcc: evil@x.com");
	strv_add(&to, "bad addr@x.com");
	strv_add(&to, "<c@d.gov>");
	strv_add(&to, "e@f.gov, g@h.gov");
	strv_add(&to, "i@j.gov\nCc: evil@x.com");
	struct outmail m = basic_mail();
	m.to = &to;
	m.subject = "x\r\nBcc: evil@x.com\r\n\r\nbody";
	m.message_id = "id@x.gov>\r\nBcc: evil@x.com";
	m.in_reply_to = "<r@x.gov>\nBcc: evil@x.com";
	m.references = "a@x.gov\r\nBcc: evil@x.com <b@x.gov>";
	m.reply_to = "r@x.gov\nBcc: evil@x.com";
	m.from = "CGEN <cgen@cdt.ca.gov>\r\nBcc: evil@x.com";
	size_t len;
	char *msg = compose_message(&m, &len);
	check_lines(msg, len);
	assert_int_equal(header_count(msg, "Bcc"), 0);
	assert_int_equal(header_count(msg, "Cc"), 0);
	assert_int_equal(header_count(msg, "Reply-To"), 0);
	assert_int_equal(header_count(msg, "Subject"), 1);
	assert_int_equal(header_count(msg, "From"), 1);
	assert_int_equal(header_count(msg, "Message-ID"), 1);
	static const struct {
		const char *name, *value;
	} want[] = {
		{"To", "ok@water.ca.gov"},
		{"Subject", "xBcc: evil@x.combody"},
		{"Message-ID", "<id@x.govBcc:evil@x.com>"},
		{"In-Reply-To", "<r@x.govBcc:evil@x.com>"},
		{"From", "CGEN <cgen@cdt.ca.gov>Bcc: evil@x.com"},
	};
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		char *v = header_get(msg, want[i].name, 0);
		assert_non_null(v);
		assert_string_equal(v, want[i].value);
		free(v);
	}
	char *refs = header_get(msg, "References", 0);
	assert_string_equal(refs, "<a@x.gov> <Bcc:> <evil@x.com> <b@x.gov>");
	free(refs);
	/* the header ends where it should: the body is the one QP line */
	assert_string_equal(body_of(msg), "Hello.\r\n");
	free(msg);
	strv_free(&to);
}

static const char *const qp_inputs[] = {
	"Hello, world.\n",
	"Café crème, 中文, emoji 😀🎉\n",
	"trailing spaces   \nand a tab\t\nlast line without newline   ",
	"a=b==c\n=\n=41\n=\n",
	"From the start\nFrom \nFrom\n>From x\nnot From here\n",
	".\n..\n.\n",
	"\n\n\n",
	"",
	"x",
	"ctrl \x01\x7f bytes, cr\rinside\n",
	"tab\tin the middle \t and end\t",
};

static void qp_roundtrip(const char *in)
{
	char *qp = compose_qp(in);
	char *back = qp_decode(qp);
	assert_string_equal(back, in);
	free(back);
	free(qp);

	struct outmail m = basic_mail();
	m.body = in;
	size_t len;
	char *msg = compose_message(&m, &len);
	check_lines(msg, len);
	back = qp_decode(body_of(msg));
	size_t n = strlen(in);
	char *want = n == 0 || in[n - 1] == '\n' ? xstrdup(in) : xasprintf("%s\n", in);
	assert_string_equal(back, want);
	free(want);
	free(back);
	free(msg);
}

static void test_qp_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(qp_inputs); i++)
		qp_roundtrip(qp_inputs[i]);

	/* long lines: no spaces, all encoded, and the 76-column edges */
	struct buf b = {0};
	for (int i = 0; i < 300; i++)
		buf_addc(&b, (char)('a' + i % 26));
	buf_addc(&b, '\n');
	for (int i = 0; i < 150; i++)
		buf_adds(&b, "é");
	buf_addc(&b, '\n');
	for (int i = 0; i < 100; i++)
		buf_adds(&b, "中😀=");
	buf_addc(&b, '\n');
	char *s = buf_steal(&b);
	qp_roundtrip(s);
	free(s);
	static const char ends[] = {'x', '=', ' ', '\t', 'F'};
	for (size_t e = 0; e < sizeof(ends); e++)
		for (int len = 70; len <= 160; len++) {
			for (int i = 0; i < len - 1; i++)
				buf_addc(&b, i % 10 == 9 ? ' ' : 'y');
			buf_addc(&b, ends[e]);
			buf_adds(&b, len % 2 ? "\n" : "");
			s = buf_steal(&b);
			qp_roundtrip(s);
			free(s);
		}
}

static void test_qp_exact(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} t[] = {
		{"a=b \n", "a=3Db=20\r\n"},
		{"From x\n", "=46rom x\r\n"},
		{"é\tz\t\n", "=C3=A9\tz=09\r\n"},
		{".\n", ".\r\n"},
		{"x", "x"},
		{"", ""},
		{"\n", "\r\n"},
		/* 76 columns fit; a 77th needs a soft break after 75 */
		{"1234567890123456789012345678901234567890123456789012345678901234567890123456",
		 "1234567890123456789012345678901234567890123456789012345678901234567890123456"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567",
		 "123456789012345678901234567890123456789012345678901234567890123456789012345=\r\n67"},
		/* "=3D" ending at column 76, then at 77 */
		{"1234567890123456789012345678901234567890123456789012345678901234567890123=",
		 "1234567890123456789012345678901234567890123456789012345678901234567890123=3D"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234=",
		 "12345678901234567890123456789012345678901234567890123456789012345678901234=\r\n=3D"},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *qp = compose_qp(t[i].in);
		assert_string_equal(qp, t[i].out);
		free(qp);
	}
}

/* Splits a multipart body at "--boundary" lines; returns the parts. */
static void split_parts(const char *body, const char *boundary, struct strv *parts)
{
	char *open = xasprintf("--%s\r\n", boundary);
	char *delim = xasprintf("\r\n--%s", boundary);
	assert_true(strncmp(body, open, strlen(open)) == 0);
	const char *p = body + strlen(open);
	for (;;) {
		const char *e = strstr(p, delim);
		assert_non_null(e);
		strv_add_own(parts, xstrndup(p, (size_t)(e - p)));
		e += strlen(delim);
		if (strcmp(e, "--\r\n") == 0)
			break;
		assert_true(strncmp(e, "\r\n", 2) == 0);
		p = e + 2;
	}
	free(open);
	free(delim);
}

static void test_attachment(void **state)
{
	(void)state;
	unsigned char data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	static const struct {
		const char *name, *type, *disposition, *ctype, *filename;
	} t[] = {
		{"granted-2026.csv", "text/csv; charset=UTF-8",
		 "attachment;\r\n filename=\"granted-2026.csv\"", "text/csv; charset=UTF-8",
		 "granted-2026.csv"},
		{"a\"b\r\nc\\.csv", "text/csv\r\nBcc: evil@x.com", "attachment;\r\n filename=\"abc.csv\"",
		 "text/csvBcc: evil@x.com", "abc.csv"},
		{"résumé.csv", NULL, "attachment;\r\n filename*=UTF-8''r%C3%A9sum%C3%A9.csv",
		 "application/octet-stream", "résumé.csv"},
		{"très long nom de fichier pour 中文 et les continuations de paramètres.csv", "",
		 NULL, "application/octet-stream",
		 "très long nom de fichier pour 中文 et les continuations de paramètres.csv"},
		{"", "text/plain", "attachment;\r\n filename=\"attachment\"", "text/plain", "attachment"},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct outmail m = basic_mail();
		m.body = "See the attached file.\nFrom CDT, café =\n";
		m.attach_name = t[i].name;
		m.attach_type = t[i].type;
		m.attach_data = (const char *)data;
		m.attach_len = sizeof(data);
		size_t len;
		char *msg = compose_message(&m, &len);
		check_lines(msg, len);
		assert_int_equal(header_count(msg, "Content-Transfer-Encoding"), 0);
		char *ct = header_get(msg, "Content-Type", 0);
		assert_true(strncmp(ct, "multipart/mixed; boundary=\"=_cgen_", 34) == 0);
		char *boundary = xstrndup(ct + 27, strlen(ct) - 28);
		assert_int_equal(ct[strlen(ct) - 1], '"');

		struct strv parts = {0};
		split_parts(body_of(msg), boundary, &parts);
		assert_int_equal(parts.n, 2);
		const char *text = strstr(parts.v[0], "\r\n\r\n");
		assert_non_null(text);
		assert_true(strncmp(parts.v[0],
				    "Content-Type: text/plain; charset=UTF-8\r\n"
				    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
				    (size_t)(text - parts.v[0]) + 4) == 0);
		char *dec = qp_decode(text + 4);
		assert_string_equal(dec, m.body);
		free(dec);

		char *v = header_get(parts.v[1], "Content-Type", 0);
		assert_string_equal(v, t[i].ctype);
		free(v);
		v = header_get(parts.v[1], "Content-Transfer-Encoding", 0);
		assert_string_equal(v, "base64");
		free(v);
		const char *phdr_end = strstr(parts.v[1], "\r\n\r\n");
		for (const char *l = parts.v[1]; l < phdr_end; l = strstr(l, "\r\n") + 2)
			assert_true(strstr(l, "\r\n") - l <= 78);
		const char *cd = strstr(parts.v[1], "Content-Disposition: ");
		assert_non_null(cd);
		cd += strlen("Content-Disposition: ");
		if (t[i].disposition)
			assert_true(strncmp(cd, t[i].disposition, strlen(t[i].disposition)) == 0);
		/* the file name read back, whichever form it took */
		v = header_get(parts.v[1], "Content-Disposition", 0);
		struct buf fname = {0};
		const char *q = strstr(v, "filename=\"");
		if (q) {
			q += 10;
			buf_add(&fname, q, strcspn(q, "\""));
		} else {
			for (const char *p = strstr(v, "filename*"); p; p = strstr(p + 1, "filename*")) {
				p = strchr(p, '=') + 1;
				if (strncmp(p, "UTF-8''", 7) == 0)
					p += 7;
				for (; *p && *p != ';'; p++) {
					if (*p == '%') {
						buf_addc(&fname, (char)(hexval(p[1]) * 16 + hexval(p[2])));
						p += 2;
					} else {
						buf_addc(&fname, *p);
					}
				}
			}
		}
		char *fn = buf_steal(&fname);
		assert_string_equal(fn, t[i].filename);
		free(fn);
		free(v);

		const char *b64 = strstr(parts.v[1], "\r\n\r\n") + 4;
		for (const char *l = b64; *l;) {
			size_t n = strcspn(l, "\r");
			assert_true(n <= 76);
			l += n;
			if (*l)
				l += 2;
		}
		size_t dl;
		unsigned char *bin = b64_decode(b64, strlen(b64), &dl);
		assert_int_equal(dl, sizeof(data));
		assert_memory_equal(bin, data, sizeof(data));
		free(bin);
		strv_free(&parts);
		free(boundary);
		free(ct);
		free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_required_and_skips),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_message_ascii_exact),
		cmocka_unit_test(test_header_text),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_from_header),
		cmocka_unit_test(test_to_folding),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_qp_roundtrip),
		cmocka_unit_test(test_qp_exact),
		cmocka_unit_test(test_attachment),
		cmocka_unit_test(test_load_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
