/* Unit tests of the configuration reader. */
#include "config.h"

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

#include "conf.h"

#ifndef CGEN_TEMPLATES_DIR /* as in conf.c, when built outside the Makefile */
#define CGEN_TEMPLATES_DIR "/usr/local/share/cgen-agent/templates"
#endif

/* Writes text to a new file under /tmp with the given mode; returns its path. */
static char *write_tmp(const char *text, mode_t mode)
{
	char *path = xstrdup("/tmp/cgen-test-conf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void drop_tmp(char *path)
{
	unlink(path);
	free(path);
}

/* The required keys, one a line, with relative paths. */
static const struct {
	const char *sect, *line;
} base[] = {
	{"mailbox", "url = maildir:Maildir"},
	{"smtp", "url = file:outbox"},
	{"smtp", "from = CGEN Exemptions <cgen@cdt.ca.gov>"},
	{"store", "path = cgen.db"},
	{"workflow", "cdt = review1@cdt.ca.gov"},
	{"workflow", "cto = cto@cdt.ca.gov"},
	{"security", "secret_file = secret"},
};

/* 1 when one of the lines of text sets key ("key =" at the start of a line). */
static int sets_key(const char *text, const char *key, size_t klen)
{
	for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, klen) == 0 && strncmp(l + klen, " =", 2) == 0)
			return 1;
	return 0;
}

/* "[sect]\nlines\n" first (so its first line is line 2), then the required
 * keys that lines does not set. sect NULL: the required keys only. */
static char *build_conf(const char *sect, const char *lines)
{
	struct buf b = {0};
	if (sect)
		buf_addf(&b, "[%s]\n%s\n", sect, lines);
	for (size_t i = 0; i < ARRAY_LEN(base); i++) {
		size_t klen = strcspn(base[i].line, " ");
		if (sect && strcmp(base[i].sect, sect) == 0 && sets_key(lines, base[i].line, klen))
			continue;
		buf_addf(&b, "[%s]\n%s\n", base[i].sect, base[i].line);
	}
	return buf_steal(&b);
}

/* Loads text and checks the errors: each expected entry is what follows the
 * file's path. */
static void expect_errors(const char *text, const char *const *want, size_t n)
{
	char *path = write_tmp(text, 0600);
	struct conf cfg = {0};
	struct strv errors = {0};
	int rc = conf_load(path, &cfg, &errors);
	int same = errors.n == n;
	for (size_t i = 0; same && i < n; i++) {
		char *full = xasprintf("%s%s", path, want[i]);
		same = strcmp(errors.v[i], full) == 0;
		free(full);
	}
	if (!same) {
		for (size_t i = 0; i < n; i++)
			print_message("# want: %s%s\n", path, want[i]);
		for (size_t i = 0; i < errors.n; i++)
			print_message("# got:  %s\n", errors.v[i]);
	}
	assert_true(same);
	assert_int_equal(rc, n ? -1 : 0);
	strv_free(&errors);
	conf_free(&cfg);
	drop_tmp(path);
}

static void test_every_key(void **state)
{
	(void)state;
	char *path = write_tmp("# every key\n"
			       "[mailbox]\n"
			       "url = imaps://cgen%40cdt.ca.gov@Mail.CDT.ca.gov:9993/Shared%20Box/CGEN\n"
			       "password_file = imap.pw\n"
			       "token_command = /usr/bin/token imap\n"
			       "auth = password\n"
			       "starttls = no\n"
			       "ca_file = /etc/ssl/cdt.pem\n"
			       "processed_folder = Done\n"
			       "quarantine_folder = Held\n"
			       "poll_interval = 30\n"
			       "max_message_size = 1048576\n"
			       "\n"
			       "; smtp\n"
			       "[ smtp ]\n"
			       "  url=smtp://relay@smtp.cdt.ca.gov:587  \n"
			       "from = \"CGEN, Exemptions\" <CGEN@CDT.ca.gov>\n"
			       "password_file = ./smtp.pw\n"
			       "token_command = /usr/bin/token smtp\n"
			       "auth = xoauth2\n"
			       "starttls = yes\n"
			       "ca_file = certs/ca.pem\n"
			       "max_queue_lifetime = 36h\n"
			       "[store]\n"
			       "path = /var/lib/cgen/cgen.db\n"
			       "[workflow]\n"
			       "cdt = Review1@cdt.ca.gov, review2@CDT.ca.gov ,review1@cdt.ca.gov\n"
			       "cto = CTO@cdt.ca.gov\n"
			       "remind_after = 5\n"
			       "max_reminders = 0\n"
			       "digest_at = 6:05\n"
			       "timezone = Europe/Paris\n"
			       "holidays_file = holidays.txt\n"
			       "approver_digest = yes\n"
			       "reply_to = plain\n"
			       "expiry_notice = 30, 120,7\n"
			       "[templates]\n"
			       "dir = tpl\n"
			       "[security]\n"
			       "secret_file = /etc/cgen/secret\n"
			       "require_auth_results = yes\n"
			       "authserv_id = mx.cdt.ca.gov\n"
			       "rate_limit = 7\n"
			       "case_rate_limit = 9\n"
			       "[daemon]\n"
			       "pid_file = /run/cgend.pid\n"
			       "log_level = DEBUG\n"
			       "user = cgen-svc\n",
			       0600);
	struct conf cfg = {0};
	struct strv errors = {0};
	int rc = conf_load(path, &cfg, &errors);
	for (size_t i = 0; i < errors.n; i++)
		print_message("# got: %s\n", errors.v[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(errors.n, 0);

	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.mailbox.url,
			    "imaps://cgen%40cdt.ca.gov@Mail.CDT.ca.gov:9993/Shared%20Box/CGEN");
	assert_null(cfg.mailbox.maildir);
	assert_string_equal(cfg.mailbox.user, "cgen@cdt.ca.gov");
	assert_string_equal(cfg.mailbox.host, "mail.cdt.ca.gov");
	assert_int_equal(cfg.mailbox.port, 9993);
	assert_string_equal(cfg.mailbox.folder, "Shared Box/CGEN");
	assert_int_equal(cfg.mailbox.tls, 1);
	assert_string_equal(cfg.mailbox.password_file, "/tmp/imap.pw");
	assert_string_equal(cfg.mailbox.token_command, "/usr/bin/token imap");
	assert_int_equal(cfg.mailbox.auth, CONF_AUTH_PASSWORD);
	assert_int_equal(cfg.mailbox.starttls, 0);
	assert_string_equal(cfg.mailbox.ca_file, "/etc/ssl/cdt.pem");
	assert_string_equal(cfg.mailbox.processed_folder, "Done");
	assert_string_equal(cfg.mailbox.quarantine_folder, "Held");
	assert_int_equal(cfg.mailbox.poll_interval, 30);
	assert_int_equal(cfg.mailbox.max_message_size, 1048576);

	assert_string_equal(cfg.smtp.url, "smtp://relay@smtp.cdt.ca.gov:587");
	assert_null(cfg.smtp.outdir);
	assert_string_equal(cfg.smtp.user, "relay");
	assert_string_equal(cfg.smtp.host, "smtp.cdt.ca.gov");
	assert_int_equal(cfg.smtp.port, 587);
	assert_int_equal(cfg.smtp.tls, 0);
	assert_string_equal(cfg.smtp.from, "\"CGEN, Exemptions\" <CGEN@CDT.ca.gov>");
	assert_string_equal(cfg.smtp.from_addr, "cgen@cdt.ca.gov");
	assert_string_equal(cfg.smtp.from_name, "CGEN, Exemptions");
	assert_string_equal(cfg.smtp.password_file, "/tmp/smtp.pw");
	assert_string_equal(cfg.smtp.token_command, "/usr/bin/token smtp");
	assert_int_equal(cfg.smtp.auth, CONF_AUTH_XOAUTH2);
	assert_int_equal(cfg.smtp.starttls, 1);
	assert_string_equal(cfg.smtp.ca_file, "/tmp/certs/ca.pem");

	assert_string_equal(cfg.store_path, "/var/lib/cgen/cgen.db");
	assert_int_equal(cfg.workflow.cdt.n, 2);
	assert_string_equal(cfg.workflow.cdt.v[0], "review1@cdt.ca.gov");
	assert_string_equal(cfg.workflow.cdt.v[1], "review2@cdt.ca.gov");
	assert_string_equal(cfg.workflow.cto, "cto@cdt.ca.gov");
	assert_int_equal(cfg.workflow.remind_after, 5);
	assert_int_equal(cfg.workflow.max_reminders, 0);
	assert_int_equal(cfg.workflow.digest_hour, 6);
	assert_int_equal(cfg.workflow.digest_min, 5);
	assert_string_equal(cfg.workflow.timezone, "Europe/Paris");
	assert_string_equal(cfg.workflow.holidays_file, "/tmp/holidays.txt");
	assert_int_equal(cfg.workflow.approver_digest, 1);
	assert_int_equal(cfg.workflow.reply_plain, 1);
	assert_int_equal(cfg.workflow.n_expiry_notice, 3); /* largest first */
	assert_int_equal(cfg.workflow.expiry_notice[0], 120);
	assert_int_equal(cfg.workflow.expiry_notice[1], 30);
	assert_int_equal(cfg.workflow.expiry_notice[2], 7);
	assert_string_equal(cfg.templates_dir, "/tmp/tpl");
	assert_string_equal(cfg.secret_file, "/etc/cgen/secret");
	assert_int_equal(cfg.require_auth_results, 1);
	assert_string_equal(cfg.authserv_id, "mx.cdt.ca.gov");
	assert_int_equal(cfg.rate_limit, 7);
	assert_int_equal(cfg.case_rate_limit, 9);
	assert_string_equal(cfg.pid_file, "/run/cgend.pid");
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.daemon_user, "cgen-svc");
	assert_int_equal(cfg.smtp.max_queue_lifetime, 36 * 3600);

	conf_free(&cfg);
	assert_null(cfg.path);
	assert_null(cfg.workflow.cdt.v);
	strv_free(&errors);
	drop_tmp(path);
}

static void test_defaults(void **state)
{
	(void)state;
	char *text = build_conf(NULL, NULL);
	char *path = write_tmp(text, 0600);
	struct conf cfg = {0};
	struct strv errors = {0};
	assert_int_equal(conf_load(path, &cfg, &errors), 0);
	assert_int_equal(errors.n, 0);

	assert_string_equal(cfg.mailbox.url, "maildir:Maildir");
	assert_string_equal(cfg.mailbox.maildir, "/tmp/Maildir");
	assert_null(cfg.mailbox.user);
	assert_null(cfg.mailbox.host);
	assert_null(cfg.mailbox.folder);
	assert_int_equal(cfg.mailbox.port, 0);
	assert_null(cfg.mailbox.password_file);
	assert_null(cfg.mailbox.token_command);
	assert_null(cfg.mailbox.ca_file);
	assert_int_equal(cfg.mailbox.auth, CONF_AUTH_PASSWORD);
	assert_int_equal(cfg.mailbox.starttls, 0);
	assert_string_equal(cfg.mailbox.processed_folder, "Processed");
	assert_string_equal(cfg.mailbox.quarantine_folder, "Quarantine");
	assert_int_equal(cfg.mailbox.poll_interval, 60);
	assert_int_equal(cfg.mailbox.max_message_size, 26214400);
	assert_int_equal(cfg.smtp.max_queue_lifetime, 5 * 86400);
	assert_null(cfg.daemon_user);

	assert_string_equal(cfg.smtp.outdir, "/tmp/outbox");
	assert_null(cfg.smtp.host);
	assert_string_equal(cfg.smtp.from_addr, "cgen@cdt.ca.gov");
	assert_string_equal(cfg.smtp.from_name, "CGEN Exemptions");
	assert_int_equal(cfg.smtp.auth, CONF_AUTH_PASSWORD);
	assert_int_equal(cfg.smtp.starttls, 0);
	assert_null(cfg.smtp.password_file);

	assert_string_equal(cfg.store_path, "/tmp/cgen.db");
	assert_int_equal(cfg.workflow.cdt.n, 1);
	assert_string_equal(cfg.workflow.cdt.v[0], "review1@cdt.ca.gov");
	assert_int_equal(cfg.workflow.remind_after, 3);
	assert_int_equal(cfg.workflow.max_reminders, 2);
	assert_int_equal(cfg.workflow.digest_hour, 7);
	assert_int_equal(cfg.workflow.digest_min, 0);
	assert_string_equal(cfg.workflow.timezone, "America/Los_Angeles");
	assert_null(cfg.workflow.holidays_file);
	assert_int_equal(cfg.workflow.approver_digest, 0);
	assert_int_equal(cfg.workflow.reply_plain, 0);
	assert_int_equal(cfg.workflow.n_expiry_notice, 2);
	assert_int_equal(cfg.workflow.expiry_notice[0], 90);
	assert_int_equal(cfg.workflow.expiry_notice[1], 30);
	assert_string_equal(cfg.templates_dir, CGEN_TEMPLATES_DIR);
	assert_string_equal(cfg.secret_file, "/tmp/secret");
	assert_int_equal(cfg.require_auth_results, 0);
	assert_null(cfg.authserv_id);
	assert_int_equal(cfg.rate_limit, 20);
	assert_int_equal(cfg.case_rate_limit, 60);
	assert_null(cfg.pid_file);
	assert_string_equal(cfg.log_level, "info");
	/* safe by default */
	assert_int_equal(cfg.store_create, 0);
	assert_null(cfg.central_file);
	assert_int_equal(cfg.answer_limit, 50);
	assert_int_equal(cfg.case_open_limit, 10);
	assert_int_equal(cfg.self_approval_refuse, 0);

	conf_free(&cfg);
	strv_free(&errors);
	drop_tmp(path);
	free(text);
}

/* The keys of the security review (store creation, limits, self-approval). */
static void test_safety_keys(void **state)
{
	(void)state;
	char *text = xasprintf("[store]\npath = cgen.db\ncreate = yes\ncentral_file = central\n"
			       "[security]\nsecret_file = secret\nanswer_limit = 7\n"
			       "case_open_limit = 3\n[workflow]\ncdt = review1@cdt.ca.gov\n"
			       "cto = cto@cdt.ca.gov\nself_approval = refuse\n"
			       "[mailbox]\nurl = maildir:Maildir\n[smtp]\nurl = file:outbox\n"
			       "from = cgen@cdt.ca.gov\n");
	char *path = write_tmp(text, 0600);
	struct conf cfg = {0};
	struct strv errors = {0};
	assert_int_equal(conf_load(path, &cfg, &errors), 0);
	assert_int_equal(cfg.store_create, 1);
	assert_string_equal(cfg.central_file, "/tmp/central");
	assert_int_equal(cfg.answer_limit, 7);
	assert_int_equal(cfg.case_open_limit, 3);
	assert_int_equal(cfg.self_approval_refuse, 1);
	conf_free(&cfg);
	strv_free(&errors);
	drop_tmp(path);
	free(text);

	char *t1 = build_conf("workflow", "self_approval = maybe");
	const char *w1[] = {":2: self_approval: expected refuse or flag, got \"maybe\""};
	expect_errors(t1, w1, 1);
	free(t1);
	char *t2 = build_conf("security", "answer_limit = 0\ncase_open_limit = x");
	const char *w2[] = {
		":2: answer_limit: expected a positive number of answers per hour, got \"0\"",
		":3: case_open_limit: expected a positive number of cases per entity per hour, got \"x\"",
	};
	expect_errors(t2, w2, 2);
	free(t2);
	char *t3 = build_conf("store", "create = maybe");
	const char *w3[] = {":2: create: expected yes or no, got \"maybe\""};
	expect_errors(t3, w3, 1);
	free(t3);
}

/* expiry_notice = none: no notice at all. */
static void test_expiry_none(void **state)
{
	(void)state;
	char *text = build_conf("workflow", "expiry_notice = None");
	char *path = write_tmp(text, 0600);
	struct conf cfg = {0};
	struct strv errors = {0};
	assert_int_equal(conf_load(path, &cfg, &errors), 0);
	assert_int_equal(cfg.workflow.n_expiry_notice, 0);
	conf_free(&cfg);
	strv_free(&errors);
	drop_tmp(path);
	free(text);
}

/* Server URLs: what each part becomes. */
static void test_urls(void **state)
{
	(void)state;
	static const struct {
		const char *sect, *url, *user, *host, *folder;
		int port, tls;
	} cases[] = {
		{"mailbox", "imap://cgen@imap.cdt.ca.gov", "cgen", "imap.cdt.ca.gov", "INBOX", 143, 0},
		{"mailbox", "imaps://cgen@imap.cdt.ca.gov/", "cgen", "imap.cdt.ca.gov", "INBOX", 993, 1},
		{"mailbox", "IMAPS://a@b@[::1]:1/X", "a@b", "[::1]", "X", 1, 1},
		{"smtp", "smtps://smtp.cdt.ca.gov", NULL, "smtp.cdt.ca.gov", NULL, 465, 1},
		{"smtp", "smtp://127.0.0.1:2525/", NULL, "127.0.0.1", NULL, 2525, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *line = xasprintf("url = %s", cases[i].url);
		/* IMAP with a password needs its password file. */
		char *extra = xasprintf("%s\npassword_file = pw", line);
		char *text = build_conf(cases[i].sect, extra);
		char *path = write_tmp(text, 0600);
		struct conf cfg = {0};
		struct strv errors = {0};
		assert_int_equal(conf_load(path, &cfg, &errors), 0);
		int mbox = strcmp(cases[i].sect, "mailbox") == 0;
		const char *user = mbox ? cfg.mailbox.user : cfg.smtp.user;
		const char *host = mbox ? cfg.mailbox.host : cfg.smtp.host;
		if (cases[i].user)
			assert_string_equal(user, cases[i].user);
		else
			assert_null(user);
		assert_string_equal(host, cases[i].host);
		assert_int_equal(mbox ? cfg.mailbox.port : cfg.smtp.port, cases[i].port);
		assert_int_equal(mbox ? cfg.mailbox.tls : cfg.smtp.tls, cases[i].tls);
		if (mbox)
			assert_string_equal(cfg.mailbox.folder, cases[i].folder);
		conf_free(&cfg);
		strv_free(&errors);
		drop_tmp(path);
		free(text);
		free(extra);
		free(line);
	}
}

static void test_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *sect, *line, *msg;
	} cases[] = {
		{"mailbox", "poll_interval = abc",
		 "poll_interval: expected a positive number of seconds, got \"abc\""},
		{"mailbox", "poll_interval = 0",
		 "poll_interval: expected a positive number of seconds, got \"0\""},
		{"mailbox", "poll_interval = -5",
		 "poll_interval: expected a positive number of seconds, got \"-5\""},
		{"mailbox", "poll_interval = 99999999999",
		 "poll_interval: expected a positive number of seconds, got \"99999999999\""},
		{"mailbox", "max_message_size = 10MB",
		 "max_message_size: expected a positive number of bytes, got \"10MB\""},
		{"mailbox", "starttls = true", "starttls: expected yes or no, got \"true\""},
		{"mailbox", "auth = plain", "auth: expected password or xoauth2, got \"plain\""},
		{"mailbox", "url = pop3://cgen@pop.cdt.ca.gov",
		 "url: expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH, "
		 "got \"pop3://cgen@pop.cdt.ca.gov\""},
		{"mailbox", "url = maildir:",
		 "url: expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH, "
		 "got \"maildir:\""},
		{"mailbox", "url = imaps://imap.cdt.ca.gov/INBOX",
		 "url: missing user name (user@host) in \"imaps://imap.cdt.ca.gov/INBOX\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"mailbox", "url = imaps://cgen@imap.cdt.ca.gov:99999/INBOX",
		 "url: port must be a number from 1 to 65535 in "
		 "\"imaps://cgen@imap.cdt.ca.gov:99999/INBOX\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"mailbox", "url = imap://cgen:hunter2@imap.cdt.ca.gov/INBOX",
		 "url: a password does not belong in the url (use password_file) in "
		 "\"imap://cgen:hunter2@imap.cdt.ca.gov/INBOX\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"mailbox", "url = imaps://cgen@/INBOX",
		 "url: missing host in \"imaps://cgen@/INBOX\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"mailbox", "url = imaps://cgen@imap_x.gov/INBOX",
		 "url: bad host name in \"imaps://cgen@imap_x.gov/INBOX\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"mailbox", "url = imaps://cgen@imap.cdt.ca.gov/In%2",
		 "url: bad %-escape in the folder in \"imaps://cgen@imap.cdt.ca.gov/In%2\" "
		 "(expected imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH)"},
		{"smtp", "url = smtp://smtp.cdt.ca.gov/relay",
		 "url: unexpected path after the host in \"smtp://smtp.cdt.ca.gov/relay\" "
		 "(expected smtps://host[:port], smtp://host[:port] or file:PATH)"},
		{"smtp", "url = smtp://smtp.cdt.ca.gov:0",
		 "url: port must be a number from 1 to 65535 in \"smtp://smtp.cdt.ca.gov:0\" "
		 "(expected smtps://host[:port], smtp://host[:port] or file:PATH)"},
		{"smtp", "url = lmtp://localhost",
		 "url: expected smtps://host[:port], smtp://host[:port] or file:PATH, "
		 "got \"lmtp://localhost\""},
		{"smtp", "from = CGEN Exemptions",
		 "from: expected an address such as CGEN Exemptions <cgen@cdt.ca.gov>, "
		 "got \"CGEN Exemptions\""},
		{"workflow", "cdt = review1@cdt.ca.gov, bogus",
		 "cdt: \"bogus\" is not a valid address"},
		{"workflow", "cdt = ,",
		 "cdt: expected one or more addresses separated by commas, got \",\""},
		{"workflow", "cto = CTO", "cto: expected an address such as cto@cdt.ca.gov, got \"CTO\""},
		{"workflow", "remind_after = 0",
		 "remind_after: expected a positive number of business days, got \"0\""},
		{"workflow", "max_reminders = -1",
		 "max_reminders: expected a number, 0 or more, got \"-1\""},
		{"workflow", "digest_at = 24:00",
		 "digest_at: expected HH:MM (00:00 to 23:59), got \"24:00\""},
		{"workflow", "digest_at = 07:60",
		 "digest_at: expected HH:MM (00:00 to 23:59), got \"07:60\""},
		{"workflow", "digest_at = 0700",
		 "digest_at: expected HH:MM (00:00 to 23:59), got \"0700\""},
		{"workflow", "timezone = ../../../etc/passwd",
		 "timezone: expected a zone of /usr/share/zoneinfo such as America/Los_Angeles, "
		 "got \"../../../etc/passwd\""},
		{"workflow", "timezone = /usr/share/zoneinfo/UTC",
		 "timezone: expected a zone of /usr/share/zoneinfo such as America/Los_Angeles, "
		 "got \"/usr/share/zoneinfo/UTC\""},
		{"workflow", "timezone = Mars/Olympus_Mons",
		 "timezone: expected a zone of /usr/share/zoneinfo such as America/Los_Angeles, "
		 "got \"Mars/Olympus_Mons\""},
		{"workflow", "timezone = America",
		 "timezone: expected a zone of /usr/share/zoneinfo such as America/Los_Angeles, "
		 "got \"America\""},
		{"workflow", "approver_digest = 1", "approver_digest: expected yes or no, got \"1\""},
		{"workflow", "reply_to = none", "reply_to: expected subaddress or plain, got \"none\""},
		{"workflow", "expiry_notice = 90,90",
		 "expiry_notice: expected days before the end, comma-separated (at most 8 distinct "
		 "numbers from 1 to 3650, e.g. 90,30), or none, got \"90,90\""},
		{"workflow", "expiry_notice = 90d",
		 "expiry_notice: expected days before the end, comma-separated (at most 8 distinct "
		 "numbers from 1 to 3650, e.g. 90,30), or none, got \"90d\""},
		{"workflow", "expiry_notice = 0",
		 "expiry_notice: expected days before the end, comma-separated (at most 8 distinct "
		 "numbers from 1 to 3650, e.g. 90,30), or none, got \"0\""},
		{"workflow", "expiry_notice = 1,2,3,4,5,6,7,8,9",
		 "expiry_notice: expected days before the end, comma-separated (at most 8 distinct "
		 "numbers from 1 to 3650, e.g. 90,30), or none, got \"1,2,3,4,5,6,7,8,9\""},
		{"workflow", "expiry_notice = ,",
		 "expiry_notice: expected days before the end, comma-separated (at most 8 distinct "
		 "numbers from 1 to 3650, e.g. 90,30), or none, got \",\""},
		{"security", "rate_limit = 0",
		 "rate_limit: expected a positive number of replies per hour, got \"0\""},
		{"security", "require_auth_results = on",
		 "require_auth_results: expected yes or no, got \"on\""},
		{"smtp", "max_queue_lifetime = 5 days",
		 "max_queue_lifetime: expected a duration such as 5d, 36h, 90m or 600s, got \"5 days\""},
		{"smtp", "max_queue_lifetime = 0d",
		 "max_queue_lifetime: expected a duration such as 5d, 36h, 90m or 600s, got \"0d\""},
		{"smtp", "max_queue_lifetime = d",
		 "max_queue_lifetime: expected a duration such as 5d, 36h, 90m or 600s, got \"d\""},
		{"daemon", "user =", "user: empty value (remove the line to use the default)"},
		{"daemon", "log_level = verbose",
		 "log_level: expected err, warn, info or debug, got \"verbose\""},
		{"daemon", "pid_file =", "pid_file: empty value (remove the line to use the default)"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *text = build_conf(cases[i].sect, cases[i].line);
		char *want = xasprintf(":2: %s", cases[i].msg);
		const char *wants[] = {want};
		expect_errors(text, wants, 1);
		free(want);
		free(text);
	}
}

static void test_many_errors(void **state)
{
	(void)state;
	static const char text[] =
		"log_level = info\n"                /* 1 */
		"[mailbox]\n"                       /* 2 */
		"url = imaps://cgen@imap.cdt.ca.gov\n" /* 3 */
		"colour = blue\n"                   /* 4 */
		"url = maildir:/srv/mail\n"         /* 5 */
		"this line has no equals sign\n"    /* 6 */
		"[extra]\n"                         /* 7 */
		"foo = bar\n"                       /* 8 */
		"[smtp\n"                           /* 9 */
		"starttls = yes\n"                  /* 10: in [extra], ignored */
		"[mailbox]\n"                       /* 11 */
		"starttls = yes\n"                  /* 12 */
		"= value\n"                         /* 13 */
		"[workflow]\n"                      /* 14 */
		"cto = cto@cdt.ca.gov\n"            /* 15 */
		"digest_at = noon\n"                /* 16 */
		"[security]\n"                      /* 17 */
		"require_auth_results = yes\n";     /* 18 */
	static const char *const want[] = {
		":1: key \"log_level\" outside a section",
		":4: unknown key \"colour\" in [mailbox]",
		":5: duplicate key \"url\" in [mailbox] (first on line 3)",
		":6: malformed line (expected [section] or key = value)",
		":7: unknown section [extra]",
		":9: malformed line (expected [section] or key = value)",
		":12: starttls: only for imap:// urls",
		":13: malformed line (expected [section] or key = value)",
		":16: digest_at: expected HH:MM (00:00 to 23:59), got \"noon\"",
		": [smtp] url is required",
		": [smtp] from is required",
		": [store] path is required",
		": [workflow] cdt is required",
		": [security] secret_file is required",
		": [mailbox] password_file is required for imap with auth = password",
		": [security] authserv_id is required when require_auth_results = yes",
	};
	expect_errors(text, want, ARRAY_LEN(want));
}

static void test_cross_checks(void **state)
{
	(void)state;
	static const struct {
		const char *sect, *lines, *msg;
	} cases[] = {
		{"mailbox", "url = imaps://cgen@imap.cdt.ca.gov/INBOX\nauth = xoauth2",
		 ": [mailbox] token_command is required with auth = xoauth2"},
		{"mailbox", "url = imaps://cgen@imap.cdt.ca.gov/INBOX",
		 ": [mailbox] password_file is required for imap with auth = password"},
		{"smtp", "url = smtps://smtp.cdt.ca.gov\nstarttls = yes",
		 ":3: starttls: only for smtp:// urls"},
		{"smtp", "url = file:out\nstarttls = yes", ":3: starttls: only for smtp:// urls"},
		{"mailbox", "starttls = yes\nurl = imaps://c@imap.cdt.ca.gov\npassword_file = pw",
		 ":2: starttls: only for imap:// urls"},
		{"smtp", "auth = xoauth2", ": [smtp] token_command is required with auth = xoauth2"},
		{"security", "require_auth_results = yes",
		 ": [security] authserv_id is required when require_auth_results = yes"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *text = build_conf(cases[i].sect, cases[i].lines);
		const char *wants[] = {cases[i].msg};
		expect_errors(text, wants, 1);
		free(text);
	}
	/* The same settings where they are meaningful are fine. */
	char *ok = build_conf("mailbox", "url = imap://cgen@imap.cdt.ca.gov/INBOX\n"
					 "starttls = yes\nauth = xoauth2\ntoken_command = tok");
	expect_errors(ok, NULL, 0);
	free(ok);
	ok = build_conf("security", "require_auth_results = yes\nauthserv_id = @topmost");
	expect_errors(ok, NULL, 0);
	free(ok);
}

static void test_unreadable(void **state)
{
	(void)state;
	struct conf cfg = {0};
	struct strv errors = {0};
	assert_int_equal(conf_load("/tmp/cgen-test-conf-absent/cgen.conf", &cfg, &errors), -1);
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], "/tmp/cgen-test-conf-absent/cgen.conf: cannot read: "
					 "No such file or directory");
	conf_free(&cfg);
	strv_free(&errors);
}

/* Every key of DESIGN.md section 7, by section. */
static const struct {
	const char *sect, *key;
} all_keys[] = {
	{"mailbox", "url"}, {"mailbox", "password_file"}, {"mailbox", "token_command"},
	{"mailbox", "auth"}, {"mailbox", "starttls"}, {"mailbox", "ca_file"},
	{"mailbox", "processed_folder"}, {"mailbox", "quarantine_folder"},
	{"mailbox", "poll_interval"}, {"mailbox", "max_message_size"},
	{"smtp", "url"}, {"smtp", "from"}, {"smtp", "password_file"}, {"smtp", "token_command"},
	{"smtp", "auth"}, {"smtp", "starttls"}, {"smtp", "ca_file"}, {"smtp", "max_queue_lifetime"},
	{"store", "path"},
	{"workflow", "cdt"}, {"workflow", "cto"}, {"workflow", "remind_after"},
	{"workflow", "max_reminders"}, {"workflow", "digest_at"}, {"workflow", "timezone"},
	{"workflow", "holidays_file"}, {"workflow", "approver_digest"}, {"workflow", "reply_to"},
	{"workflow", "expiry_notice"},
	{"templates", "dir"},
	{"security", "secret_file"}, {"security", "require_auth_results"},
	{"security", "authserv_id"}, {"security", "rate_limit"}, {"security", "case_rate_limit"},
	{"daemon", "pid_file"}, {"daemon", "log_level"}, {"daemon", "user"},
	{"store", "create"}, {"store", "central_file"}, {"security", "answer_limit"},
	{"security", "case_open_limit"}, {"workflow", "self_approval"},
};

/* 1 when the example names sect/key as "key =" or "# key =" inside [sect]. */
static int example_has(const char *text, const char *sect, const char *key)
{
	char *copy = xstrdup(text), *save = NULL;
	char cur[64] = "";
	int found = 0;
	for (char *l = strtok_r(copy, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '[') {
			snprintf(cur, sizeof cur, "%.*s", (int)strcspn(l + 1, "]"), l + 1);
			continue;
		}
		if (strcmp(cur, sect) != 0)
			continue;
		if (l[0] == '#')
			l += 1 + strspn(l + 1, " ");
		size_t n = strlen(key);
		found = strncmp(l, key, n) == 0 && strncmp(l + n, " =", 2) == 0;
	}
	free(copy);
	return found;
}

static void test_example(void **state)
{
	(void)state;
	const char *top = getenv("top_srcdir");
	if (!top)
		skip();
	char *path = xasprintf("%s/etc/cgen.conf.example", top);
	struct conf cfg = {0};
	struct strv errors = {0};
	int rc = conf_load(path, &cfg, &errors);
	for (size_t i = 0; i < errors.n; i++)
		print_message("# got: %s\n", errors.v[i]);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.mailbox.maildir, "/var/lib/cgen/Maildir");
	assert_string_equal(cfg.smtp.outdir, "/var/lib/cgen/outbox");
	assert_string_equal(cfg.smtp.from_addr, "cgen@cdt.ca.gov");
	assert_string_equal(cfg.smtp.from_name, "CGEN Exemptions");
	assert_string_equal(cfg.store_path, "/var/lib/cgen/cgen.db");
	assert_int_equal(cfg.workflow.cdt.n, 2);
	assert_string_equal(cfg.workflow.cdt.v[0], "review1@cdt.ca.gov");
	assert_string_equal(cfg.workflow.cdt.v[1], "review2@cdt.ca.gov");
	assert_string_equal(cfg.workflow.cto, "cto@cdt.ca.gov");
	assert_string_equal(cfg.secret_file, "/etc/cgen/secret");

	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	for (size_t i = 0; i < ARRAY_LEN(all_keys); i++) {
		if (!example_has(b.s, all_keys[i].sect, all_keys[i].key))
			print_message("# missing [%s] %s\n", all_keys[i].sect, all_keys[i].key);
		assert_true(example_has(b.s, all_keys[i].sect, all_keys[i].key));
	}
	/* The checker itself tells a missing key. */
	assert_false(example_has(b.s, "store", "cdt"));
	buf_free(&b);
	conf_free(&cfg);
	strv_free(&errors);
	free(path);
}

static void test_secrets(void **state)
{
	(void)state;
	struct strv secrets = {0};
	char *err = NULL;

	/* 0600: accepted, first line first, blank lines skipped, white space trimmed. */
	char *path = write_tmp("  first-secret-0123456789  \r\n\n second-secret-abcdefgh\n", 0600);
	strv_add(&secrets, "kept");
	assert_int_equal(conf_read_secrets(path, &secrets, &err), 0);
	assert_null(err);
	assert_int_equal(secrets.n, 3);
	assert_string_equal(secrets.v[1], "first-secret-0123456789");
	assert_string_equal(secrets.v[2], "second-secret-abcdefgh");
	strv_free(&secrets);

	/* Group or others may read: refused, whatever the content. */
	static const mode_t modes[] = {0644, 0640, 0604, 0620};
	for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		assert_int_equal(conf_read_secrets(path, &secrets, &err), -1);
		char *want = xasprintf("%s: readable by group or others (chmod 600 it)", path);
		assert_string_equal(err, want);
		assert_int_equal(secrets.n, 0);
		free(want);
		free(err);
		err = NULL;
	}
	drop_tmp(path);

	/* A short secret: refused, its line named, the secret never shown. */
	path = write_tmp("long-enough-secret-000000\nshortsecret\n", 0600);
	assert_int_equal(conf_read_secrets(path, &secrets, &err), -1);
	char *want = xasprintf("%s:2: secret shorter than 16 bytes", path);
	assert_string_equal(err, want);
	assert_null(strstr(err, "shortsecret"));
	assert_null(strstr(err, "long-enough"));
	assert_int_equal(secrets.n, 0);
	free(want);
	free(err);
	err = NULL;
	drop_tmp(path);

	/* Exactly 16 bytes is enough. */
	path = write_tmp("0123456789abcdef", 0600);
	assert_int_equal(conf_read_secrets(path, &secrets, &err), 0);
	assert_int_equal(secrets.n, 1);
	assert_string_equal(secrets.v[0], "0123456789abcdef");
	strv_free(&secrets);
	drop_tmp(path);

	/* No secret at all. */
	path = write_tmp("\n   \n", 0600);
	assert_int_equal(conf_read_secrets(path, &secrets, &err), -1);
	want = xasprintf("%s: holds no secret", path);
	assert_string_equal(err, want);
	free(want);
	free(err);
	err = NULL;
	drop_tmp(path);

	assert_int_equal(conf_read_secrets("/tmp/cgen-test-conf-absent/secret", &secrets, &err), -1);
	assert_string_equal(err, "/tmp/cgen-test-conf-absent/secret: cannot read: "
				 "No such file or directory");
	free(err);
	assert_int_equal(secrets.n, 0);
}

static void test_parse_mailbox(void **state)
{
	(void)state;
	static const struct {
		const char *in, *addr, *name; /* addr NULL: refused */
	} cases[] = {
		{"CGEN Exemptions <cgen@cdt.ca.gov>", "cgen@cdt.ca.gov", "CGEN Exemptions"},
		{"\"Name, X\" <A@B.gov>", "a@b.gov", "Name, X"},
		{"a@b.gov", "a@b.gov", NULL},
		{"<a@b.gov>", "a@b.gov", NULL},
		{"  Jane Doe   < Jane.Doe@Water.CA.gov >  ", "jane.doe@water.ca.gov", "Jane Doe"},
		{"\"Doe, \\\"JD\\\" Jane\" <jd@x.gov>", "jd@x.gov", "Doe, \"JD\" Jane"},
		{"\"<tricky>\" <t@x.gov>", "t@x.gov", "<tricky>"},
		{"\"\" <a@b.gov>", "a@b.gov", NULL},
		{"", NULL, NULL},
		{"nobody", NULL, NULL},
		{"Name <a@b.gov", NULL, NULL},
		{"Name <a@b.gov> trailing", NULL, NULL},
		{"Name <>", NULL, NULL},
		{"\"unterminated <a@b.gov>", NULL, NULL},
		{"a@b.gov c@d.gov", NULL, NULL},
		{"<a@@b.gov>", NULL, NULL},
		{"a@localhost", NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *addr = (char *)"unset", *name = (char *)"unset";
		int rc = conf_parse_mailbox(cases[i].in, &addr, &name);
		if (rc != (cases[i].addr ? 0 : -1))
			print_message("# case %zu: %s\n", i, cases[i].in);
		if (!cases[i].addr) {
			assert_int_equal(rc, -1);
			assert_null(addr);
			assert_null(name);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(addr, cases[i].addr);
		if (cases[i].name)
			assert_string_equal(name, cases[i].name);
		else
			assert_null(name);
		free(addr);
		free(name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_safety_keys),
		cmocka_unit_test(test_expiry_none),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_parse_mailbox),
	};
	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
