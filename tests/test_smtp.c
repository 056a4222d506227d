/* test_smtp.c: sender_smtp against a real SMTP server on 127.0.0.1
 * (tests/smtpd.py, aiosmtpd), started and stopped by PID for each test, with
 * a test CA and server certificates made by openssl in a temporary folder. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "sender.h"
#include "util.h"

#define PYTHON "/usr/bin/python3"

static char *tmp;    /* the temporary folder of this run */
static char *smtpd;  /* path of tests/smtpd.py */

struct server {
	pid_t pid;
	char *dir;
	int port;
};
static struct server srv; /* the running server, stopped by teardown */

/* Runs argv with stdout and stderr to /dev/null; returns its exit status. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *path(const char *name)
{
	return xasprintf("%s/%s", tmp, name);
}

static char *slurp(const char *p, size_t *len)
{
	FILE *fp = fopen(p, "rb");
	if (!fp)
		return NULL;
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

static void spew(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* --- the server --- */

/* Starts smtpd.py with the given options (NULL-terminated) in a new folder. */
static void server_start(const char *opt, ...)
{
	static int n;
	char *argv[12];
	int argc = 0;
	va_list ap;
	srv.dir = xasprintf("%s/srv%d", tmp, ++n);
	assert_int_equal(mkdir(srv.dir, 0700), 0);
	argv[argc++] = (char *)PYTHON;
	argv[argc++] = smtpd;
	argv[argc++] = srv.dir;
	va_start(ap, opt);
	for (const char *o = opt; o && argc < 11; o = va_arg(ap, const char *))
		argv[argc++] = (char *)o;
	va_end(ap);
	argv[argc] = NULL;
	char *log = xasprintf("%s/log", srv.dir);
	srv.pid = fork();
	assert_true(srv.pid >= 0);
	if (srv.pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(PYTHON, argv);
		_exit(127);
	}
	free(log);
	char *portfile = xasprintf("%s/port", srv.dir);
	for (int i = 0; i < 1000; i++) { /* up to 10 s */
		char *s = slurp(portfile, NULL);
		if (s) {
			srv.port = atoi(s);
			free(s);
			break;
		}
		int st;
		assert_int_equal(waitpid(srv.pid, &st, WNOHANG), 0);
		usleep(10000);
	}
	free(portfile);
	assert_true(srv.port > 0);
}

static int server_stop(void **state)
{
	(void)state;
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
	}
	free(srv.dir);
	memset(&srv, 0, sizeof srv);
	return 0;
}

static void server_mode(const char *mode)
{
	char *p = xasprintf("%s/mode", srv.dir);
	spew(p, mode, 0600);
	free(p);
}

static int server_connections(void)
{
	char *p = xasprintf("%s/connections", srv.dir);
	char *s = slurp(p, NULL);
	int n = 0;
	for (char *q = s; q && *q; q++)
		n += *q == '\n';
	free(s);
	free(p);
	return n;
}

/* Mail number i as kept by the server: its bytes, or its envelope. */
static char *server_mail(int i, const char *ext, size_t *len)
{
	char *p = xasprintf("%s/mail/%d.%s", srv.dir, i, ext);
	char *s = slurp(p, len);
	free(p);
	return s;
}

static int server_mails(void)
{
	int n = 0;
	for (;;) {
		char *s = server_mail(n + 1, "env", NULL);
		if (!s)
			return n;
		free(s);
		n++;
	}
}

/* --- the sender --- */

static struct conf cfg;

/* A configuration for the running server; the test sets the rest. */
static void cfg_for(const char *scheme, const char *host)
{
	static char url[200];
	memset(&cfg, 0, sizeof cfg);
	snprintf(url, sizeof url, "%s://%s:%d", scheme, host, srv.port);
	cfg.smtp.url = url;
	cfg.smtp.host = (char *)host;
	cfg.smtp.port = srv.port;
	cfg.smtp.tls = strcmp(scheme, "smtps") == 0;
	cfg.smtp.from_addr = (char *)"cgen@cdt.ca.gov";
}

static void *sender_open(void)
{
	void *st = NULL;
	char *err = NULL;
	int r = sender_smtp.open(&cfg, &st, &err);
	if (r != 0)
		print_error("open: %s\n", err);
	assert_int_equal(r, 0);
	assert_null(err);
	return st;
}

static const char small[] = "From: cgen@cdt.ca.gov\r\nTo: a@example.org\r\n"
			    "Subject: test\r\n\r\nHello.\r\n";

/* Sends data to the given recipients (NULL-terminated); returns the result
 * with *err set on failure (else NULL). */
static int send_to(void *st, const char *from, const char *data, char **err, ...)
{
	struct strv rcpts = {0};
	va_list ap;
	va_start(ap, err);
	for (const char *r; (r = va_arg(ap, const char *));)
		strv_add(&rcpts, r);
	va_end(ap);
	*err = NULL;
	int res = sender_smtp.send(st, 1, from, &rcpts, data, strlen(data), err);
	strv_free(&rcpts);
	if (res == SENDER_OK)
		assert_null(*err);
	else
		assert_non_null(*err);
	return res;
}

static void send_ok(void *st)
{
	char *err;
	int r = send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL);
	if (r != SENDER_OK)
		print_error("send: %s\n", err);
	assert_int_equal(r, SENDER_OK);
}

/* "smtp 127.0.0.1:PORT: " then rest */
static void assert_err(const char *err, const char *rest)
{
	char *want = xasprintf("smtp 127.0.0.1:%d: %s", srv.port, rest);
	assert_string_equal(err, want);
	free(want);
}

/* --- tests --- */

static void test_sender_for(void **state)
{
	static const struct {
		const char *url, *outdir;
		const struct sender_ops *want;
	} t[] = {
		{"smtp://mail.example.org", NULL, &sender_smtp},
		{"smtps://mail.example.org:465", NULL, &sender_smtp},
		{"SMTPS://mail.example.org", NULL, &sender_smtp},
		{"file:out", "/x/out", &sender_file},
		{"imap://mail.example.org", NULL, NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct conf c = {0};
		c.smtp.url = (char *)t[i].url;
		c.smtp.outdir = (char *)t[i].outdir;
		assert_ptr_equal(sender_for(&c), t[i].want);
	}
}

/* The exact bytes and envelope arrive: dot-stuffing is undone by the server,
 * a 998-byte line (the longest RFC 5322 allows) and 8-bit text are kept. */
static void test_exact_bytes(void **state)
{
	(void)state;
	server_start(NULL);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	struct buf m = {0};
	buf_adds(&m, "From: CGEN <cgen@cdt.ca.gov>\r\nTo: a@example.org\r\n"
		     "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\n");
	buf_adds(&m, ".starts with a dot\r\n.\r\n..\r\nend.\r\n");
	for (int i = 0; i < 998; i++)
		buf_addc(&m, (char)('a' + i % 26));
	buf_adds(&m, "\r\ncaf\xc3\xa9 8-bit\r\n\r\n. \r\nlast line\r\n");
	char *err;
	assert_int_equal(send_to(st, "cgen@cdt.ca.gov", m.s, &err, "A.Person@Example.org", NULL),
			 SENDER_OK);
	assert_int_equal(send_to(st, "", small, &err, "a@example.org", "b@example.org", NULL),
			 SENDER_OK);
	assert_int_equal(send_to(st, NULL, small, &err, "c@example.org", NULL), SENDER_OK);
	sender_smtp.close(st);

	size_t len;
	char *got = server_mail(1, "eml", &len);
	assert_non_null(got);
	assert_int_equal(len, m.len);
	assert_memory_equal(got, m.s, len);
	free(got);
	static const char *const env[] = {
		"cgen@cdt.ca.gov\nA.Person@Example.org\n",
		"<>\na@example.org\nb@example.org\n",
		"<>\nc@example.org\n",
	};
	for (int i = 0; i < 3; i++) {
		char *e = server_mail(i + 1, "env", NULL);
		assert_non_null(e);
		assert_string_equal(e, env[i]);
		free(e);
	}
	got = server_mail(2, "eml", &len);
	assert_int_equal(len, strlen(small));
	assert_memory_equal(got, small, len);
	free(got);
	buf_free(&m);
}

/* Addresses that would break the command line are refused before connecting. */
static void test_bad_address(void **state)
{
	(void)state;
	server_start(NULL);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	char *err;
	static const char *const bad[] = {"a@example.org>\r\nRCPT TO:<b@example.org", "<a@x.org>",
					  ""};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, bad[i], NULL),
				 SENDER_PERMFAIL);
		assert_string_equal(err, "bad recipient 1: empty, control character, '<' or '>'");
		free(err);
	}
	assert_int_equal(send_to(st, "x\r\n@y", small, &err, "a@example.org", NULL),
			 SENDER_PERMFAIL);
	assert_string_equal(err, "bad envelope sender: control character, '<' or '>'");
	free(err);
	struct strv none = {0};
	assert_int_equal(sender_smtp.send(st, 1, "", &none, small, strlen(small), &err),
			 SENDER_PERMFAIL);
	assert_string_equal(err, "no recipient");
	free(err);
	sender_smtp.close(st);
	assert_int_equal(server_connections(), 0);
}

/* 20 mails, one connection. */
static void test_reuse(void **state)
{
	(void)state;
	server_start(NULL);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	for (int i = 0; i < 20; i++)
		send_ok(st);
	sender_smtp.close(st);
	assert_int_equal(server_mails(), 20);
	assert_int_equal(server_connections(), 1);
}

/* Each failing answer, then the retry once the server accepts again. */
static void test_replies(void **state)
{
	static const struct {
		const char *mode;
		int want;
		const char *err;
	} t[] = {
		{"tempfail-rcpt", SENDER_TEMPFAIL, "451 4.3.0 try again later"},
		{"tempfail-data", SENDER_TEMPFAIL, "451 4.3.0 try again later"},
		{"reject-rcpt", SENDER_PERMFAIL, "550 5.1.1 user unknown"},
	};
	(void)state;
	server_start(NULL);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *err;
		server_mode(t[i].mode);
		assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL),
				 t[i].want);
		assert_err(err, t[i].err);
		free(err);
		assert_int_equal(server_mails(), (int)i);
		server_mode("accept");
		send_ok(st);
		assert_int_equal(server_mails(), (int)i + 1);
	}
	/* One refused recipient of two: nothing is sent. */
	server_mode("reject-rcpt");
	char *err;
	assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org",
				 "b@example.org", NULL),
			 SENDER_PERMFAIL);
	free(err);
	sender_smtp.close(st);
	assert_int_equal(server_mails(), 3);
	/* a fresh connection after each failure */
	assert_int_equal(server_connections(), 4);
}

/* The server drops the connection: TEMPFAIL, then a new connection. */
static void test_drop(void **state)
{
	(void)state;
	server_start(NULL);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	send_ok(st);
	server_mode("drop");
	char *err;
	assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL),
			 SENDER_TEMPFAIL);
	char *prefix = xasprintf("smtp 127.0.0.1:%d: ", srv.port);
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	free(prefix);
	free(err);
	server_mode("accept");
	send_ok(st);
	send_ok(st);
	sender_smtp.close(st);
	assert_int_equal(server_mails(), 3);
	assert_int_equal(server_connections(), 2);
}

/* Nobody listening: TEMPFAIL. */
static void test_refused(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd); /* bound, never listening: now a free port */
	srv.port = ntohs(a.sin_port);
	cfg_for("smtp", "127.0.0.1");
	void *st = sender_open();
	char *err;
	assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL),
			 SENDER_TEMPFAIL);
	char *prefix = xasprintf("smtp 127.0.0.1:%d: ", srv.port);
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	free(prefix);
	free(err);
	sender_smtp.close(st);
}

/* STARTTLS and smtps://: trusted through ca_file, refused without it or when
 * the certificate names another host. */
static void test_tls(void **state)
{
	static const struct {
		const char *tls, *cert, *scheme, *host;
		int with_ca, want;
	} t[] = {
		{"--starttls", "srv", "smtp", "127.0.0.1", 1, SENDER_OK},
		{"--starttls", "srv", "smtp", "127.0.0.1", 0, SENDER_TEMPFAIL},
		{"--starttls", "other", "smtp", "127.0.0.1", 1, SENDER_TEMPFAIL},
		{"--smtps", "srv", "smtps", "localhost", 1, SENDER_OK},
		{"--smtps", "srv", "smtps", "127.0.0.1", 0, SENDER_TEMPFAIL},
		{"--smtps", "other", "smtps", "localhost", 1, SENDER_TEMPFAIL},
	};
	(void)state;
	char *ca = path("ca.pem");
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *cert = xasprintf("%s/%s.pem", tmp, t[i].cert);
		char *key = xasprintf("%s/%s.key", tmp, t[i].cert);
		server_start(t[i].tls, cert, key, NULL);
		cfg_for(t[i].scheme, t[i].host);
		cfg.smtp.starttls = !cfg.smtp.tls;
		cfg.smtp.ca_file = t[i].with_ca ? ca : NULL;
		void *st = sender_open();
		char *err;
		int r = send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL);
		if (r != t[i].want)
			print_error("row %zu: %s\n", i, err ? err : "sent");
		assert_int_equal(r, t[i].want);
		if (r != SENDER_OK)
			assert_non_null(strstr(err, "certificate"));
		free(err);
		sender_smtp.close(st);
		assert_int_equal(server_mails(), r == SENDER_OK);
		server_stop(NULL);
		free(cert);
		free(key);
	}
	free(ca);
}

/* AUTH PLAIN, and LOGIN when PLAIN is not offered, over STARTTLS with the
 * password file's first line. */
static void test_auth_password(void **state)
{
	static const struct {
		const char *content;
		int want;
	} t[] = {
		{"pass word:1\n", SENDER_OK},
		{"pass word:1\r\nsecond line\n", SENDER_OK},
		{"pass word:1", SENDER_OK},
		{"pass word:2\n", SENDER_PERMFAIL},
	};
	(void)state;
	char *ca = path("ca.pem"), *cert = path("srv.pem"), *key = path("srv.key");
	char *pw = path("password");
	server_start("--starttls", cert, key, "--auth", NULL);
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		cfg_for("smtp", "127.0.0.1");
		cfg.smtp.starttls = 1;
		cfg.smtp.ca_file = ca;
		cfg.smtp.user = (char *)"agent";
		cfg.smtp.password_file = pw;
		spew(pw, t[i].content, 0600);
		void *st = sender_open();
		char *err;
		assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL),
				 t[i].want);
		if (t[i].want != SENDER_OK)
			assert_err(err, "535 5.7.8 Authentication credentials invalid");
		free(err);
		sender_smtp.close(st);
	}
	assert_int_equal(server_mails(), 3);

	/* a password file others can read, or none at all, is refused at open */
	spew(pw, "pass word:1\n", 0644);
	void *st = NULL;
	char *err = NULL;
	assert_int_equal(sender_smtp.open(&cfg, &st, &err), -1);
	char *want = xasprintf("%s: readable by group or others (chmod 600 it)", pw);
	assert_string_equal(err, want);
	free(want);
	free(err);
	cfg.smtp.password_file = NULL;
	assert_int_equal(sender_smtp.open(&cfg, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err, "password_file is required"));
	free(err);

	/* a server that offers LOGIN but not PLAIN */
	server_stop(NULL);
	server_start("--starttls", cert, key, "--auth", "--no-plain", NULL);
	spew(pw, "pass word:1\n", 0600);
	cfg_for("smtp", "127.0.0.1");
	cfg.smtp.starttls = 1;
	cfg.smtp.ca_file = ca;
	cfg.smtp.user = (char *)"agent";
	cfg.smtp.password_file = pw;
	st = sender_open();
	send_ok(st);
	sender_smtp.close(st);
	assert_int_equal(server_mails(), 1);
	free(ca);
	free(cert);
	free(key);
	free(pw);
}

/* XOAUTH2 over smtps:// with the token token_command prints. */
static void test_xoauth2(void **state)
{
	static const struct {
		const char *command;
		int want;
		const char *err;
	} t[] = {
		{"echo token-1234", SENDER_OK, NULL},
		{"printf 'token-1234\\r\\nmore'", SENDER_OK, NULL},
		{"echo token-9999", SENDER_TEMPFAIL, "Login denied"},
		{"echo token-1234; exit 3", SENDER_TEMPFAIL, "token_command failed (exit status 3)"},
		{"true", SENDER_TEMPFAIL, "token_command printed no token"},
	};
	(void)state;
	char *ca = path("ca.pem"), *cert = path("srv.pem"), *key = path("srv.key");
	server_start("--smtps", cert, key, "--auth", NULL);
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		cfg_for("smtps", "127.0.0.1");
		cfg.smtp.ca_file = ca;
		cfg.smtp.user = (char *)"agent";
		cfg.smtp.auth = CONF_AUTH_XOAUTH2;
		cfg.smtp.token_command = (char *)t[i].command;
		void *st = sender_open();
		char *err;
		int r = send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL);
		if (r != t[i].want)
			print_error("row %zu: %s\n", i, err ? err : "sent");
		assert_int_equal(r, t[i].want);
		if (t[i].err)
			assert_err(err, t[i].err);
		free(err);
		if (r == SENDER_OK)
			send_ok(st); /* the token is reused, and so is the connection */
		sender_smtp.close(st);
	}
	assert_int_equal(server_mails(), 4);

	/* A refused token is asked for again at the next mail. */
	char *tokfile = path("token"), *cmd = xasprintf("cat '%s'", tokfile);
	cfg.smtp.token_command = cmd;
	spew(tokfile, "token-expired\n", 0600);
	void *st = sender_open();
	char *err;
	assert_int_equal(send_to(st, "cgen@cdt.ca.gov", small, &err, "a@example.org", NULL),
			 SENDER_TEMPFAIL);
	assert_err(err, "Login denied");
	free(err);
	spew(tokfile, "token-1234\n", 0600);
	send_ok(st);
	sender_smtp.close(st);
	assert_int_equal(server_mails(), 5);
	free(tokfile);
	free(cmd);
	free(ca);
	free(cert);
	free(key);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The CA, a certificate for localhost and 127.0.0.1, and one for another
 * host, both signed by the CA. */
static int make_certs(void)
{
	char *ca = path("ca.pem"), *cakey = path("ca.key"), *ext = path("ext.cnf");
	int rc = 0;
	char *const mkca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			      "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
			      "/CN=cgen test CA", "-keyout", cakey, "-out", ca, NULL};
	rc |= run(mkca);
	static const char *const certs[][2] = {
		{"srv", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"},
		{"other", "subjectAltName=DNS:elsewhere.test\n"},
	};
	for (size_t i = 0; i < ARRAY_LEN(certs); i++) {
		char *key = xasprintf("%s/%s.key", tmp, certs[i][0]);
		char *csr = xasprintf("%s/%s.csr", tmp, certs[i][0]);
		char *pem = xasprintf("%s/%s.pem", tmp, certs[i][0]);
		FILE *fp = fopen(ext, "w");
		fputs(certs[i][1], fp);
		fclose(fp);
		char *const req[] = {"openssl", "req", "-newkey", "ec", "-pkeyopt",
				     "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=test server",
				     "-keyout", key, "-out", csr, NULL};
		char *const sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
				      cakey, "-CAcreateserial", "-days", "2", "-extfile", ext,
				      "-out", pem, NULL};
		rc |= run(req) | run(sign);
		free(key);
		free(csr);
		free(pem);
	}
	free(ca);
	free(cakey);
	free(ext);
	return rc;
}

static int group_setup(void **state)
{
	(void)state;
	char t[] = "/tmp/cgen-smtp.XXXXXX";
	if (!mkdtemp(t))
		return -1;
	tmp = xstrdup(t);
	return make_certs() == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	return 0;
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char *check = xasprintf("%s -c 'import aiosmtpd' 2>/dev/null", PYTHON);
	int have = system(check) == 0;
	free(check);
	if (!have) {
		puts("1..0 # SKIP aiosmtpd not installed");
		return 0;
	}
	if (top) {
		smtpd = xasprintf("%s/tests/smtpd.py", top);
	} else { /* run by hand: next to this source file */
		const char *slash = strrchr(__FILE__, '/');
		int n = slash ? (int)(slash - __FILE__) : 1;
		smtpd = xasprintf("%.*s/smtpd.py", n, slash ? __FILE__ : ".");
	}
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_for),
		cmocka_unit_test_teardown(test_exact_bytes, server_stop),
		cmocka_unit_test_teardown(test_bad_address, server_stop),
		cmocka_unit_test_teardown(test_reuse, server_stop),
		cmocka_unit_test_teardown(test_replies, server_stop),
		cmocka_unit_test_teardown(test_drop, server_stop),
		cmocka_unit_test_teardown(test_refused, server_stop),
		cmocka_unit_test_teardown(test_tls, server_stop),
		cmocka_unit_test_teardown(test_auth_password, server_stop),
		cmocka_unit_test_teardown(test_xoauth2, server_stop),
	};
	int r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	free(smtpd);
	return r;
}
