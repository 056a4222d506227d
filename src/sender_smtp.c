/* sender_smtp.c: smtp:// and smtps:// as a sender (DESIGN.md sections 7-8),
 * over libcurl.
 *
 * One curl handle lives from open to close, so consecutive mails share one
 * connection (curl keeps it in the handle's cache and drops it once idle for
 * more than 118 s). After any failure the handle is replaced, so a connection
 * in an unknown state is never reused; the next mail connects afresh.
 *
 * The result comes from the server's last reply code, not from curl's exit
 * code: accepted -> SENDER_OK; 5xx -> SENDER_PERMFAIL (a wrong password too:
 * 535); 4xx, no reply at all (refused, dropped, timed out) and TLS failures ->
 * SENDER_TEMPFAIL. An untrusted certificate is a TEMPFAIL too: retrying will
 * not fix it, but the mail is kept until the operator fixes ca_file, and *err
 * says "certificate". A refused XOAUTH2 token is a TEMPFAIL that drops the
 * token: it has most likely expired, and the next mail gets a new one (servers
 * answer a bad token with a 334 error challenge, which curl reports as "Login
 * denied").
 * *err is "smtp HOST:PORT: " then the server's reply line, or curl's message
 * when there was no failing reply.
 *
 * Several recipients: one refused RCPT fails the whole mail (curl's
 * CURLOPT_MAIL_RCPT_ALLOWFAILS stays off), so a mail goes to all of its
 * recipients or to none, and a retry never duplicates it.
 *
 * Secrets: the password is the first line of password_file (refused when group
 * or others can read it), read at open. The XOAUTH2 token is the first line
 * printed by token_command, run before the first mail and again once the token
 * is 5 minutes old (a new token makes curl open a new connection). Neither is
 * logged or put in *err: only reply lines from the server are kept, never a
 * command we send. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "sender.h"
#include "util.h"

#define CONNECT_TIMEOUT 30L   /* seconds */
#define SEND_TIMEOUT 120L     /* default [smtp] timeout: seconds for one mail, plus 1 s per 64 KiB */
#define TOKEN_MAX_AGE 300     /* seconds before token_command runs again */
#define SECRET_MAX 8192       /* longest password or token line read */

struct smtp {
	CURL *h;
	char *url;            /* smtp[s]://HOST:PORT (curl says EHLO with the machine's name) */
	char *where;          /* HOST:PORT, for messages */
	char *user, *password, *token_command, *ca_file;
	int starttls, xoauth2;
	char *token;
	time_t token_at;
	/* the mail being sent */
	const char *data;
	size_t len, off;
	long timeout;         /* [smtp] timeout, seconds */
	char reply[200];      /* the last failing reply line, control bytes as '?' */
	char errbuf[CURL_ERROR_SIZE];
	long mails, connects; /* for the debug line at close */
};

static void secret_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

/* The first line of buf (n bytes), without its line end; NULL when empty. */
static char *first_line(const char *buf, size_t n)
{
	const char *nl = memchr(buf, '\n', n);
	size_t len = nl ? (size_t)(nl - buf) : n;
	if (len && buf[len - 1] == '\r')
		len--;
	return len ? xstrndup(buf, len) : NULL;
}

static char *read_password(const char *path, char **err)
{
	char buf[SECRET_MAX];
	char *pw = NULL;
	struct stat st;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = xasprintf("smtp password_file %s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("%s: readable by group or others (chmod 600 it)", path);
		goto out;
	}
	n = read(fd, buf, sizeof buf);
	if (n < 0) {
		*err = xasprintf("smtp password_file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!(pw = first_line(buf, (size_t)n)))
		*err = xasprintf("smtp password_file %s: no password on the first line", path);
out:
	if (n > 0)
		memset(buf, 0, (size_t)n);
	if (fd >= 0)
		close(fd);
	return pw;
}

/* Runs token_command; 0 with s->token replaced, or -1 with *err set. */
static int refresh_token(struct smtp *s, char **err)
{
	char buf[SECRET_MAX];
	size_t n = 0, r;
	FILE *fp = popen(s->token_command, "r");
	if (!fp) {
		*err = xasprintf("smtp %s: token_command: %s", s->where, strerror(errno));
		return -1;
	}
	while (n < sizeof buf && (r = fread(buf + n, 1, sizeof buf - n, fp)) > 0)
		n += r;
	char *tok = first_line(buf, n);
	while (fread(buf, 1, sizeof buf, fp) > 0) /* let the command finish writing */
		;
	int st = pclose(fp);
	memset(buf, 0, sizeof buf);
	if (st != 0 || !tok) {
		if (st == -1)
			*err = xasprintf("smtp %s: token_command: %s", s->where, strerror(errno));
		else if (st != 0)
			*err = xasprintf("smtp %s: token_command failed (%s %d)", s->where,
					 WIFEXITED(st) ? "exit status" : "signal",
					 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		else
			*err = xasprintf("smtp %s: token_command printed no token", s->where);
		secret_free(tok);
		return -1;
	}
	secret_free(s->token);
	s->token = tok;
	s->token_at = time(NULL);
	curl_easy_setopt(s->h, CURLOPT_XOAUTH2_BEARER, s->token);
	return 0;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	struct smtp *s = userp;
	size_t n = s->len - s->off;
	if (n > size * nitems)
		n = size * nitems;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return n;
}

/* Keeps the last failing (4xx, 5xx) line the server sent: after a failure
 * curl still says QUIT, and "221 Bye" says nothing. Nothing we send is looked
 * at. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	struct smtp *s = userp;
	(void)h;
	if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5'))
		return 0;
	while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (size >= sizeof s->reply)
		size = sizeof s->reply - 1;
	for (size_t i = 0; i < size; i++) {
		unsigned char c = (unsigned char)data[i];
		s->reply[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	s->reply[size] = 0;
	return 0;
}

/* A fresh handle with every option that does not change between mails. */
static void handle_new(struct smtp *s)
{
	if (s->h)
		curl_easy_cleanup(s->h);
	CURL *h = s->h = curl_easy_init();
	if (!h) {
		fputs("cgen: out of memory\n", stderr);
		abort();
	}
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 s->timeout < CONNECT_TIMEOUT ? s->timeout : CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	/* curl's smallest upload buffer: the default (64 KiB, and twice that for
	 * dot-stuffing) grew and trimmed the heap on every mail */
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (s->starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (s->user)
		curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
	if (s->password)
		curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
	if (s->token)
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, s->token);
}

static void sm_close(void *state)
{
	struct smtp *s = state;
	if (!s)
		return;
	if (s->h) {
		log_debug("smtp %s: %ld mails sent over %ld connections", s->where, s->mails,
			  s->connects);
		curl_easy_cleanup(s->h);
	}
	curl_global_cleanup();
	free(s->url);
	free(s->where);
	free(s->user);
	secret_free(s->password);
	free(s->token_command);
	free(s->ca_file);
	secret_free(s->token);
	free(s);
}

static int sm_open(const struct conf *cfg, void **state, char **err)
{
	const struct conf_smtp *c = &cfg->smtp;
	*state = NULL;
	if (!c->host) {
		*err = xasprintf("smtp %s: not an smtp:// or smtps:// url", c->url ? c->url : "");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*err = xstrdup("smtp: libcurl failed to initialise");
		return -1;
	}
	struct smtp *s = xcalloc(1, sizeof *s);
	s->url = xasprintf("%s://%s:%d", c->tls ? "smtps" : "smtp", c->host, c->port);
	s->where = xasprintf("%s:%d", c->host, c->port);
	s->user = xstrdup(c->user);
	s->ca_file = xstrdup(c->ca_file);
	s->starttls = c->starttls;
	s->timeout = c->timeout > 0 && c->timeout < 86400 ? (long)c->timeout : SEND_TIMEOUT;
	s->xoauth2 = c->auth == CONF_AUTH_XOAUTH2;
	if (s->xoauth2) {
		if (!c->user) {
			*err = xasprintf("smtp %s: auth = xoauth2 needs a user in the url "
					 "(smtps://user@host)", s->where);
			goto fail;
		}
		s->token_command = xstrdup(c->token_command);
	} else if (c->user) {
		if (!c->password_file) {
			*err = xasprintf("smtp %s: password_file is required to log in as %s", s->where,
					 c->user);
			goto fail;
		}
		if (!(s->password = read_password(c->password_file, err)))
			goto fail;
	} else if (c->password_file) {
		*err = xasprintf("smtp %s: password_file is set but the url names no user "
				 "(smtps://user@host)", s->where);
		goto fail;
	}
	if (c->user && !c->tls && !c->starttls)
		log_warn("smtp %s: credentials sent without TLS (use smtps:// or starttls = yes)",
			 s->where);
	handle_new(s);
	*state = s;
	return 0;
fail:
	sm_close(s);
	return -1;
}

/* An envelope address must not break the command line it is sent on. */
static int addr_ok(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

static int sm_send(void *state, int64_t outbox_id, const char *env_from,
		   const struct strv *rcpts, const char *data, size_t len, char **err)
{
	struct smtp *s = state;
	struct curl_slist *to = NULL;
	(void)outbox_id;
	if (!env_from)
		env_from = "";
	if (!addr_ok(env_from)) {
		*err = xstrdup("bad envelope sender: control character, '<' or '>'");
		return SENDER_PERMFAIL;
	}
	if (!rcpts || rcpts->n == 0) {
		*err = xstrdup("no recipient");
		return SENDER_PERMFAIL;
	}
	for (size_t i = 0; i < rcpts->n; i++)
		if (!*rcpts->v[i] || !addr_ok(rcpts->v[i])) {
			*err = xasprintf("bad recipient %zu: empty, control character, '<' or '>'",
					 i + 1);
			return SENDER_PERMFAIL;
		}
	if (s->xoauth2 && (!s->token || time(NULL) - s->token_at >= TOKEN_MAX_AGE) &&
	    refresh_token(s, err) < 0)
		return SENDER_TEMPFAIL;

	for (size_t i = 0; i < rcpts->n; i++) {
		struct curl_slist *t = curl_slist_append(to, rcpts->v[i]);
		if (!t) {
			fputs("cgen: out of memory\n", stderr);
			abort();
		}
		to = t;
	}
	s->data = data;
	s->len = len;
	s->off = 0;
	s->reply[0] = 0;
	s->errbuf[0] = 0;
	curl_easy_setopt(s->h, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(s->h, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(s->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, s->timeout + (long)(len >> 16));
	CURLcode rc = curl_easy_perform(s->h);
	long code = 0, conns = 0;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->h, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_setopt(s->h, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(to);
	s->connects += conns;
	if (conns)
		log_debug("smtp %s: connected", s->where);
	if (rc == CURLE_OK) {
		s->mails++;
		return SENDER_OK;
	}
	char num[8];
	snprintf(num, sizeof num, "%ld", code);
	int failed_reply = code >= 400 && code < 600 && strncmp(s->reply, num, 3) == 0;
	if (failed_reply)
		*err = xasprintf("smtp %s: %s", s->where, s->reply);
	else
		*err = xasprintf("smtp %s: %s", s->where,
				 s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
	int ret = failed_reply && code >= 500 ? SENDER_PERMFAIL : SENDER_TEMPFAIL;
	if (rc == CURLE_LOGIN_DENIED && s->xoauth2) {
		/* most likely an expired token: the next mail runs token_command */
		secret_free(s->token);
		s->token = NULL;
		ret = SENDER_TEMPFAIL;
	}
	handle_new(s);
	return ret;
}

/* Connects, says EHLO, STARTTLS when configured (certificate verified) and
 * AUTH: curl's SMTP connect phase, without a transfer. */
static int sm_check(void *state, char **err)
{
	struct smtp *s = state;
	if (s->xoauth2 && refresh_token(s, err) < 0)
		return -1;
	s->reply[0] = 0;
	s->errbuf[0] = 0;
	curl_easy_setopt(s->h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, s->timeout);
	CURLcode rc = curl_easy_perform(s->h);
	long code = 0;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		*err = xasprintf("smtp %s: %s", s->where,
				 s->reply[0] ? s->reply : s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
	handle_new(s); /* CONNECT_ONLY stays with the handle: a send needs a fresh one */
	return rc == CURLE_OK ? 0 : -1;
}

const struct sender_ops sender_smtp = {
	.name = "smtp",
	.open = sm_open,
	.send = sm_send,
	.close = sm_close,
	.check = sm_check,
};
