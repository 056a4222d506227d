/* Safe output: every template rendered with hostile values (CR/LF header
 * injection, NUL-like control bytes, <script>, 2,000-character names,
 * right-to-left marks) composes to a well-formed message whose headers are
 * exactly the agent's, and reads back to the same text. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "compose.h"
#include "message.h"

static char *long_name;

static const char *hostile(size_t i)
{
	static const char *v[] = {
		"x\r\nBcc: eve@evil.example",
		"line one\nSubject: forged\n\nbody injection",
		"<script>alert(1)</script> & \"quotes\"",
		"\xe2\x80\xae" "evil.exe\xe2\x80\xac" "pdf.txt (right-to-left override)",
		"ctl\x01\x02\x7f bytes\tand tab",
		"=?UTF-8?B?PGZvcmdlZD4=?= encoded word",
		NULL, /* the 2,000-character name */
	};
	size_t n = sizeof v / sizeof v[0];
	return v[i % n] ? v[i % n] : long_name;
}

/* Every {{name}} of a template file, once each. */
static void placeholders(const char *path, struct strv *out)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		for (char *p = line; (p = strstr(p, "{{")); ) {
			char *e = strstr(p + 2, "}}");
			if (!e)
				break;
			char *name = xstrndup(p + 2, (size_t)(e - p - 2));
			if (!strv_contains_ci(out, name))
				strv_add(out, name);
			free(name);
			p = e + 2;
		}
	}
	fclose(f);
}

static int count_headers(const char *msg, const char *name)
{
	int n = 0;
	size_t l = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncasecmp(p, name, l) == 0 && p[l] == ':')
			n++;
	return n;
}

static void t_every_template(void **state)
{
	(void)state;
	const char *top = getenv("top_srcdir");
	if (!top)
		skip();
	char *dir = xasprintf("%s/templates", top);
	struct templates *t = NULL;
	struct strv errs = {0};
	assert_int_equal(templates_load(dir, agent_templates, &t, &errs), 0);
	long_name = xmalloc(2001);
	memset(long_name, 'N', 2000);
	long_name[2000] = '\0';
	int rendered = 0;
	for (size_t k = 0; agent_templates[k]; k++) {
		char *path = xasprintf("%s/%s.txt", dir, agent_templates[k]);
		struct strv names = {0}, vars = {0};
		placeholders(path, &names);
		for (size_t i = 0; i < names.n; i++) {
			strv_add(&vars, names.v[i]);
			strv_add(&vars, hostile(i + k));
		}
		char *subject = NULL, *body = NULL, *err = NULL;
		if (templates_render(t, agent_templates[k], &vars, &subject, &body, &err) != 0)
			fail_msg("%s: %s", agent_templates[k], err);
		struct strv to = {0};
		strv_add(&to, "dana@water.ca.gov");
		strv_add(&to, "x\r\nBcc: eve@evil.example");
		struct outmail om = {
			.from = "CGEN Exemptions <cgen@cdt.ca.gov>",
			.reply_to = "cgen+abc@cdt.ca.gov\r\nBcc: eve@evil.example",
			.to = &to,
			.subject = subject,
			.body = body,
			.message_id = "cgen.n1.1@cdt.ca.gov>\r\nBcc: eve@evil.example",
			.in_reply_to = "a@b\r\nX-Injected: 1",
			.references = "a@b",
			.date = 1795712400,
			.auto_replied = 1,
		};
		size_t len;
		char *msg = compose_message(&om, &len);
		assert_int_equal(strlen(msg), len);
		/* Lines: CRLF only, none over 998 bytes. */
		for (const char *p = msg; *p;) {
			const char *e = strstr(p, "\r\n");
			assert_non_null(e);
			assert_true(e - p <= 998);
			assert_null(memchr(p, '\n', (size_t)(e - p)));
			assert_null(memchr(p, '\r', (size_t)(e - p)));
			p = e + 2;
		}
		static const char *once[] = {"From", "To", "Subject", "Date", "Message-ID",
					     "MIME-Version", "Auto-Submitted"};
		for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
			if (count_headers(msg, once[i]) != 1)
				fail_msg("%s: %d %s headers", agent_templates[k], count_headers(msg, once[i]), once[i]);
		assert_int_equal(count_headers(msg, "Bcc"), 0);
		assert_int_equal(count_headers(msg, "X-Injected"), 0);
		/* It reads back: one From, our subject without line breaks, the body. */
		struct message m = {0};
		assert_int_equal(message_parse(msg, len, &m), 0);
		assert_string_equal(m.from_addr, "cgen@cdt.ca.gov");
		assert_null(strpbrk(m.subject, "\r\n"));
		assert_int_equal(m.to.n, 1);
		assert_string_equal(m.to.v[0], "dana@water.ca.gov");
		/* The body reads back exactly (values are text, not markup). */
		char *crlf_free = xstrdup(body);
		size_t bl = strlen(crlf_free);
		while (bl && crlf_free[bl - 1] == '\n')
			crlf_free[--bl] = '\0';
		if (!strstr(m.text, crlf_free))
			fail_msg("%s: body does not read back", agent_templates[k]);
		free(crlf_free);
		message_free(&m);
		rendered++;
		free(msg);
		strv_free(&to);
		free(subject);
		free(body);
		free(err);
		strv_free(&names);
		strv_free(&vars);
		free(path);
	}
	assert_true(rendered >= 20);
	templates_free(t);
	strv_free(&errs);
	free(long_name);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_every_template)};
	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
