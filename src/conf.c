/* conf.c: see conf.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#ifndef CGEN_TEMPLATES_DIR
#define CGEN_TEMPLATES_DIR "/usr/local/share/cgen-agent/templates"
#endif
#ifndef CGEN_DAEMON_USER
#define CGEN_DAEMON_USER "cgen"
#endif
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define MIN_SECRET_LEN 16

enum sect { S_MAILBOX, S_SMTP, S_STORE, S_WORKFLOW, S_TEMPLATES, S_SECURITY, S_DAEMON, NSECT,
	    S_NONE, S_UNKNOWN };

static const char *const sect_names[NSECT] = {
	"mailbox", "smtp", "store", "workflow", "templates", "security", "daemon",
};

enum kind {
	K_STR,       /* char *, as written */
	K_PATH,      /* char *, resolved against the config file's folder */
	K_BOOL,      /* int, yes/no */
	K_INT,       /* int > 0 */
	K_INT0,      /* int >= 0 */
	K_SIZE,      /* long long > 0 */
	K_AUTH,      /* enum conf_auth */
	K_MBOX_URL,
	K_SMTP_URL,
	K_FROM,
	K_CDT,
	K_CTO,
	K_DIGEST_AT,
	K_TIMEZONE,
	K_REPLY_TO,
	K_LOG_LEVEL,
	K_SELF_APPROVAL,
	K_DURATION,  /* long long seconds > 0: N, Ns, Nm, Nh, Nd or Nw (N alone: days) */
	K_EXPIRY_NOTICE,
};

struct key {
	enum sect sect;
	const char *name;
	enum kind kind;
	size_t off;       /* of the field in struct conf */
	const char *what; /* for numbers: what is expected */
};

#define F(member) offsetof(struct conf, member)

static const struct key keys[] = {
	{S_MAILBOX, "url", K_MBOX_URL, 0, NULL},
	{S_MAILBOX, "password_file", K_PATH, F(mailbox.password_file), NULL},
	{S_MAILBOX, "token_command", K_STR, F(mailbox.token_command), NULL},
	{S_MAILBOX, "auth", K_AUTH, F(mailbox.auth), NULL},
	{S_MAILBOX, "starttls", K_BOOL, F(mailbox.starttls), NULL},
	{S_MAILBOX, "ca_file", K_PATH, F(mailbox.ca_file), NULL},
	{S_MAILBOX, "processed_folder", K_STR, F(mailbox.processed_folder), NULL},
	{S_MAILBOX, "quarantine_folder", K_STR, F(mailbox.quarantine_folder), NULL},
	{S_MAILBOX, "poll_interval", K_INT, F(mailbox.poll_interval), "a positive number of seconds"},
	{S_MAILBOX, "max_message_size", K_SIZE, F(mailbox.max_message_size),
	 "a positive number of bytes"},
	{S_SMTP, "url", K_SMTP_URL, 0, NULL},
	{S_SMTP, "from", K_FROM, 0, NULL},
	{S_SMTP, "password_file", K_PATH, F(smtp.password_file), NULL},
	{S_SMTP, "token_command", K_STR, F(smtp.token_command), NULL},
	{S_SMTP, "auth", K_AUTH, F(smtp.auth), NULL},
	{S_SMTP, "starttls", K_BOOL, F(smtp.starttls), NULL},
	{S_SMTP, "ca_file", K_PATH, F(smtp.ca_file), NULL},
	{S_SMTP, "max_queue_lifetime", K_DURATION, F(smtp.max_queue_lifetime), NULL},
	{S_SMTP, "max_attachments_size", K_SIZE, F(smtp.max_attachments_size),
	 "a positive number of bytes"},
	{S_SMTP, "timeout", K_DURATION, F(smtp.timeout), NULL},
	{S_STORE, "path", K_PATH, F(store_path), NULL},
	{S_WORKFLOW, "cdt", K_CDT, 0, NULL},
	{S_WORKFLOW, "cto", K_CTO, 0, NULL},
	{S_WORKFLOW, "remind_after", K_INT, F(workflow.remind_after),
	 "a positive number of business days"},
	{S_WORKFLOW, "max_reminders", K_INT0, F(workflow.max_reminders), "a number, 0 or more"},
	{S_WORKFLOW, "digest_at", K_DIGEST_AT, 0, NULL},
	{S_WORKFLOW, "timezone", K_TIMEZONE, 0, NULL},
	{S_WORKFLOW, "holidays_file", K_PATH, F(workflow.holidays_file), NULL},
	{S_WORKFLOW, "approver_digest", K_BOOL, F(workflow.approver_digest), NULL},
	{S_WORKFLOW, "reply_to", K_REPLY_TO, 0, NULL},
	{S_WORKFLOW, "expiry_notice", K_EXPIRY_NOTICE, 0, NULL},
	{S_TEMPLATES, "dir", K_PATH, F(templates_dir), NULL},
	{S_SECURITY, "secret_file", K_PATH, F(secret_file), NULL},
	{S_SECURITY, "require_auth_results", K_BOOL, F(require_auth_results), NULL},
	{S_SECURITY, "authserv_id", K_STR, F(authserv_id), NULL},
	{S_SECURITY, "rate_limit", K_INT, F(rate_limit), "a positive number of replies per hour"},
	{S_SECURITY, "case_rate_limit", K_INT, F(case_rate_limit), "a positive number of replies per hour"},
	{S_STORE, "create", K_BOOL, F(store_create), NULL},
	{S_STORE, "central_file", K_PATH, F(central_file), NULL},
	{S_SECURITY, "answer_limit", K_INT, F(answer_limit),
	 "a positive number of answers per hour"},
	{S_SECURITY, "case_open_limit", K_INT, F(case_open_limit),
	 "a positive number of cases per entity per hour"},
	{S_WORKFLOW, "self_approval", K_SELF_APPROVAL, 0, NULL},
	{S_DAEMON, "pid_file", K_PATH, F(pid_file), NULL},
	{S_DAEMON, "log_level", K_LOG_LEVEL, F(log_level), NULL},
	{S_DAEMON, "user", K_STR, F(daemon_user), NULL},
};

#define NKEYS ARRAY_LEN(keys)

struct parser {
	const char *path;   /* as given */
	char *dir;          /* absolute folder of the file */
	struct conf *cfg;
	size_t line;
	size_t seen[NKEYS]; /* line of each key, 0 when absent */
	struct strv msgs;   /* line errors, "FILE:LINE: ..." */
	size_t *lines;      /* line of each of msgs, for the final order */
};

static void lerr(struct parser *p, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr(struct parser *p, size_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	p->lines = xrealloc(p->lines, (p->msgs.n + 1) * sizeof(*p->lines));
	p->lines[p->msgs.n] = line;
	strv_add_own(&p->msgs, xasprintf("%s:%zu: %s", p->path, line, m));
	free(m);
}

static char **str_field(struct conf *cfg, const struct key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static int *int_field(struct conf *cfg, const struct key *k)
{
	return (int *)(void *)((char *)cfg + k->off);
}

/* The absolute folder holding path. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (path[0] == '/')
		return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	char *cwd = getcwd(NULL, 0);
	char *dir;
	if (!cwd)
		dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	else if (slash)
		dir = xasprintf("%s/%.*s", cwd, (int)(slash - path), path);
	else
		dir = xstrdup(cwd);
	free(cwd);
	return dir;
}

static char *resolve(const struct parser *p, const char *v)
{
	if (v[0] == '/')
		return xstrdup(v);
	while (v[0] == '.' && v[1] == '/')
		v += 2;
	if (strcmp(p->dir, "/") == 0)
		return xasprintf("/%s", v);
	return xasprintf("%s/%s", p->dir, v);
}

/* Digits only, no sign; 0 and *out on success. */
static int parse_num(const char *v, long long max, long long *out)
{
	if (!*v)
		return -1;
	for (const char *q = v; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	long long n = strtoll(v, NULL, 10);
	if (errno || n > max)
		return -1;
	*out = n;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX-decodes n bytes of s; NULL on a bad escape or a NUL byte. */
static char *pct_decode(const char *s, size_t n)
{
	char *o = xmalloc(n + 1), *q = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*q++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(o);
			return NULL;
		}
		*q++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*q = '\0';
	return o;
}

static int host_valid(const char *h, size_t n)
{
	if (!n)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (size_t i = 1; i + 1 < n; i++)
			if (hexval(h[i]) < 0 && h[i] != ':' && h[i] != '.')
				return 0;
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* Parses "[user@]host[:port][/folder]" (s follows "scheme://"). Returns NULL,
 * or what is wrong. with_folder: a folder may follow, else only "/" may. */
static const char *parse_server(const char *s, int need_user, int with_folder, char **user,
				char **host, int *port, char **folder)
{
	const char *slash = strchr(s, '/');
	const char *end = slash ? slash : s + strlen(s);
	const char *at = NULL, *h = s;
	for (const char *q = s; q < end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		if (at == s)
			return "empty user name";
		if (memchr(s, ':', (size_t)(at - s)))
			return "a password does not belong in the url (use password_file)";
		if (!(*user = pct_decode(s, (size_t)(at - s))))
			return "bad %-escape in the user name";
		h = at + 1;
	} else if (need_user) {
		return "missing user name (user@host)";
	}
	const char *colon = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb && rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
	}
	const char *hend = colon ? colon : end;
	if (hend == h)
		return "missing host";
	if (!host_valid(h, (size_t)(hend - h)))
		return "bad host name";
	*host = str_lower(xstrndup(h, (size_t)(hend - h)));
	if (colon) {
		char *ps = xstrndup(colon + 1, (size_t)(end - colon - 1));
		long long n = 0;
		int bad = parse_num(ps, 65535, &n) < 0 || n < 1;
		free(ps);
		if (bad)
			return "port must be a number from 1 to 65535";
		*port = (int)n;
	}
	if (slash && with_folder) {
		if (slash[1] && !(*folder = pct_decode(slash + 1, strlen(slash + 1))))
			return "bad %-escape in the folder";
	} else if (slash && slash[1]) {
		return "unexpected path after the host";
	}
	return NULL;
}

static void set_mbox_url(struct parser *p, const char *v)
{
	struct conf_mailbox *m = &p->cfg->mailbox;
	static const char *const form = "imaps://user@host[:port]/FOLDER, imap://... or maildir:PATH";
	str_set(&m->url, v);
	if (str_startswith_ci(v, "maildir:")) {
		if (!v[8])
			lerr(p, p->line, "url: expected %s, got \"%s\"", form, v);
		else
			m->maildir = resolve(p, v + 8);
		return;
	}
	int tls = str_startswith_ci(v, "imaps://");
	if (!tls && !str_startswith_ci(v, "imap://")) {
		lerr(p, p->line, "url: expected %s, got \"%s\"", form, v);
		return;
	}
	char *user = NULL, *host = NULL, *folder = NULL;
	int port = tls ? 993 : 143;
	const char *why = parse_server(v + (tls ? 8 : 7), 1, 1, &user, &host, &port, &folder);
	if (why) {
		lerr(p, p->line, "url: %s in \"%s\" (expected %s)", why, v, form);
		free(user);
		free(host);
		free(folder);
		return;
	}
	m->user = user;
	m->host = host;
	m->folder = folder ? folder : xstrdup("INBOX");
	m->port = port;
	m->tls = tls;
}

static void set_smtp_url(struct parser *p, const char *v)
{
	struct conf_smtp *s = &p->cfg->smtp;
	static const char *const form = "smtps://host[:port], smtp://host[:port] or file:PATH";
	str_set(&s->url, v);
	if (str_startswith_ci(v, "file:")) {
		if (!v[5])
			lerr(p, p->line, "url: expected %s, got \"%s\"", form, v);
		else
			s->outdir = resolve(p, v + 5);
		return;
	}
	int tls = str_startswith_ci(v, "smtps://");
	if (!tls && !str_startswith_ci(v, "smtp://")) {
		lerr(p, p->line, "url: expected %s, got \"%s\"", form, v);
		return;
	}
	char *user = NULL, *host = NULL;
	int port = tls ? 465 : 25;
	const char *why = parse_server(v + (tls ? 8 : 7), 0, 0, &user, &host, &port, NULL);
	if (why) {
		lerr(p, p->line, "url: %s in \"%s\" (expected %s)", why, v, form);
		free(user);
		free(host);
		return;
	}
	s->user = user;
	s->host = host;
	s->port = port;
	s->tls = tls;
}

static void set_cdt(struct parser *p, const char *v)
{
	struct strv items = {0};
	struct strv *cdt = &p->cfg->workflow.cdt;
	strv_split(&items, v, ',');
	for (size_t i = 0; i < items.n; i++) {
		char *a = str_lower(items.v[i]);
		if (!addr_valid(a))
			lerr(p, p->line, "cdt: \"%s\" is not a valid address", a);
		else if (!strv_contains_ci(cdt, a))
			strv_add(cdt, a);
	}
	if (!items.n)
		lerr(p, p->line, "cdt: expected one or more addresses separated by commas, got \"%s\"",
		     v);
	strv_free(&items);
}

static int timezone_valid(const char *v)
{
	if (v[0] == '/' || strstr(v, ".."))
		return 0;
	for (const char *q = v; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || strchr("/_+-.", *q)))
			return 0;
	char *f = xasprintf("%s/%s", ZONEINFO_DIR, v);
	struct stat st;
	int ok = stat(f, &st) == 0 && S_ISREG(st.st_mode);
	free(f);
	return ok;
}

static int parse_hhmm(const char *v, int *h, int *m)
{
	size_t n = strlen(v);
	if ((n != 4 && n != 5) || v[n - 3] != ':')
		return -1;
	for (size_t i = 0; i < n; i++)
		if (i != n - 3 && (v[i] < '0' || v[i] > '9'))
			return -1;
	int hh = n == 5 ? (v[0] - '0') * 10 + (v[1] - '0') : v[0] - '0';
	int mm = (v[n - 2] - '0') * 10 + (v[n - 1] - '0');
	if (hh > 23 || mm > 59)
		return -1;
	*h = hh;
	*m = mm;
	return 0;
}

/* "5d", "120h", "30m", "90s", "2w", or a bare number of days. */
static int parse_duration(const char *v, long long *out)
{
	size_t n = strlen(v);
	long long mult = 86400;
	char *num = xstrdup(v);
	if (n > 1 && strchr("smhdw", v[n - 1])) {
		static const long long m[] = {1, 60, 3600, 86400, 604800};
		mult = m[strchr("smhdw", v[n - 1]) - "smhdw"];
		num[n - 1] = '\0';
	}
	long long x = 0;
	int rc = parse_num(num, LLONG_MAX / 604800, &x) == 0 && x > 0 ? 0 : -1;
	free(num);
	if (rc == 0)
		*out = x * mult;
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* expiry_notice = 90,30 (days before the end, any order), or none. */
static void set_expiry_notice(struct parser *p, const char *v)
{
	struct conf_workflow *w = &p->cfg->workflow;
	int days[CONF_MAX_EXPIRY_NOTICES];
	size_t n = 0;
	int bad = 0;
	if (strcasecmp(v, "none") == 0) {
		w->n_expiry_notice = 0;
		return;
	}
	char *copy = xstrdup(v);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long long d;
		str_trim(t);
		if (parse_num(t, 3650, &d) < 0 || d < 1 || n == CONF_MAX_EXPIRY_NOTICES) {
			bad = 1;
			break;
		}
		for (size_t i = 0; i < n; i++)
			bad |= days[i] == (int)d;
		days[n++] = (int)d;
	}
	free(copy);
	if (bad || n == 0) {
		lerr(p, p->line, "expiry_notice: expected days before the end, comma-separated (at most "
				 "%d distinct numbers from 1 to 3650, e.g. 90,30), or none, got \"%s\"",
		     CONF_MAX_EXPIRY_NOTICES, v);
		return;
	}
	qsort(days, n, sizeof *days, cmp_desc);
	memcpy(w->expiry_notice, days, n * sizeof *days);
	w->n_expiry_notice = n;
}

static void set_value(struct parser *p, const struct key *k, const char *v)
{
	struct conf *cfg = p->cfg;
	long long n = 0;

	if (!*v) {
		lerr(p, p->line, "%s: empty value (remove the line to use the default)", k->name);
		return;
	}
	switch (k->kind) {
	case K_STR:
		str_set(str_field(cfg, k), v);
		break;
	case K_PATH:
		free(*str_field(cfg, k));
		*str_field(cfg, k) = resolve(p, v);
		break;
	case K_BOOL:
		if (strcasecmp(v, "yes") == 0)
			*int_field(cfg, k) = 1;
		else if (strcasecmp(v, "no") == 0)
			*int_field(cfg, k) = 0;
		else
			lerr(p, p->line, "%s: expected yes or no, got \"%s\"", k->name, v);
		break;
	case K_INT:
	case K_INT0:
		if (parse_num(v, INT_MAX, &n) < 0 || (k->kind == K_INT && n < 1))
			lerr(p, p->line, "%s: expected %s, got \"%s\"", k->name, k->what, v);
		else
			*int_field(cfg, k) = (int)n;
		break;
	case K_SIZE:
		if (parse_num(v, LLONG_MAX, &n) < 0 || n < 1)
			lerr(p, p->line, "%s: expected %s, got \"%s\"", k->name, k->what, v);
		else
			*(long long *)(void *)((char *)cfg + k->off) = n;
		break;
	case K_AUTH:
		if (strcasecmp(v, "password") == 0)
			*(enum conf_auth *)(void *)((char *)cfg + k->off) = CONF_AUTH_PASSWORD;
		else if (strcasecmp(v, "xoauth2") == 0)
			*(enum conf_auth *)(void *)((char *)cfg + k->off) = CONF_AUTH_XOAUTH2;
		else
			lerr(p, p->line, "auth: expected password or xoauth2, got \"%s\"", v);
		break;
	case K_MBOX_URL:
		set_mbox_url(p, v);
		break;
	case K_SMTP_URL:
		set_smtp_url(p, v);
		break;
	case K_FROM:
		str_set(&cfg->smtp.from, v);
		if (conf_parse_mailbox(v, &cfg->smtp.from_addr, &cfg->smtp.from_name) < 0)
			lerr(p, p->line,
			     "from: expected an address such as CGEN Exemptions <cgen@cdt.ca.gov>, "
			     "got \"%s\"", v);
		break;
	case K_CDT:
		set_cdt(p, v);
		break;
	case K_CTO:
		if (!addr_valid(v))
			lerr(p, p->line, "cto: expected an address such as cto@cdt.ca.gov, got \"%s\"",
			     v);
		else
			cfg->workflow.cto = str_lower(xstrdup(v));
		break;
	case K_DIGEST_AT:
		if (parse_hhmm(v, &cfg->workflow.digest_hour, &cfg->workflow.digest_min) < 0)
			lerr(p, p->line, "digest_at: expected HH:MM (00:00 to 23:59), got \"%s\"", v);
		break;
	case K_TIMEZONE:
		if (!timezone_valid(v))
			lerr(p, p->line,
			     "timezone: expected a zone of " ZONEINFO_DIR
			     " such as America/Los_Angeles, got \"%s\"", v);
		else
			str_set(&cfg->workflow.timezone, v);
		break;
	case K_REPLY_TO:
		if (strcasecmp(v, "subaddress") == 0)
			cfg->workflow.reply_plain = 0;
		else if (strcasecmp(v, "plain") == 0)
			cfg->workflow.reply_plain = 1;
		else
			lerr(p, p->line, "reply_to: expected subaddress or plain, got \"%s\"", v);
		break;
	case K_SELF_APPROVAL:
		if (strcasecmp(v, "flag") == 0)
			cfg->self_approval_refuse = 0;
		else if (strcasecmp(v, "refuse") == 0)
			cfg->self_approval_refuse = 1;
		else
			lerr(p, p->line, "self_approval: expected refuse or flag, got \"%s\"", v);
		break;
	case K_DURATION:
		if (parse_duration(v, &n) < 0)
			lerr(p, p->line, "%s: expected a duration such as 5d, 36h, 90m or 600s, got \"%s\"",
			     k->name, v);
		else
			*(long long *)(void *)((char *)cfg + k->off) = n;
		break;
	case K_EXPIRY_NOTICE:
		set_expiry_notice(p, v);
		break;
	case K_LOG_LEVEL: {
		enum log_level lv;
		if (log_level_parse(v, &lv) < 0) {
			lerr(p, p->line, "log_level: expected err, warn, info or debug, got \"%s\"", v);
		} else {
			free(cfg->log_level);
			cfg->log_level = str_lower(xstrdup(v));
		}
		break;
	}
	}
}

static const struct key *find_key(enum sect s, const char *name, size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == s && strcasecmp(keys[i].name, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	return NULL;
}

static size_t seen(const struct parser *p, enum sect s, const char *name)
{
	size_t i = 0;
	return find_key(s, name, &i) ? p->seen[i] : 0;
}

static void parse_line(struct parser *p, char *line, enum sect *cur)
{
	str_trim(line);
	if (!*line || *line == '#' || *line == ';')
		return;
	size_t len = strlen(line);
	if (line[0] == '[') {
		if (line[len - 1] != ']') {
			lerr(p, p->line, "malformed line (expected [section] or key = value)");
			return;
		}
		line[len - 1] = '\0';
		char *name = str_trim(line + 1);
		*cur = S_UNKNOWN;
		for (int s = 0; s < NSECT; s++)
			if (strcasecmp(name, sect_names[s]) == 0)
				*cur = (enum sect)s;
		if (*cur == S_UNKNOWN)
			lerr(p, p->line, "unknown section [%s]", name);
		return;
	}
	char *eq = strchr(line, '=');
	if (!eq || eq == line) {
		lerr(p, p->line, "malformed line (expected [section] or key = value)");
		return;
	}
	*eq = '\0';
	char *k = str_trim(line), *v = str_trim(eq + 1);
	size_t idx = 0;
	const struct key *key;
	if (*cur == S_NONE) {
		lerr(p, p->line, "key \"%s\" outside a section", k);
	} else if (*cur == S_UNKNOWN) {
		/* already reported with its section */
	} else if (!(key = find_key(*cur, k, &idx))) {
		lerr(p, p->line, "unknown key \"%s\" in [%s]", k, sect_names[*cur]);
	} else if (p->seen[idx]) {
		lerr(p, p->line, "duplicate key \"%s\" in [%s] (first on line %zu)", key->name,
		     sect_names[*cur], p->seen[idx]);
	} else {
		p->seen[idx] = p->line;
		set_value(p, key, v);
	}
}

/* The checks that span keys, once the whole file is read. */
static void check_whole(struct parser *p, struct strv *errors)
{
	static const struct { enum sect s; const char *key; } required[] = {
		{S_MAILBOX, "url"}, {S_SMTP, "url"}, {S_SMTP, "from"}, {S_STORE, "path"},
		{S_WORKFLOW, "cdt"}, {S_WORKFLOW, "cto"}, {S_SECURITY, "secret_file"},
	};
	struct conf *cfg = p->cfg;
	const char *f = p->path;
	size_t ln;

	if (cfg->mailbox.starttls && (ln = seen(p, S_MAILBOX, "starttls")) &&
	    (cfg->mailbox.maildir || cfg->mailbox.tls))
		lerr(p, ln, "starttls: only for imap:// urls");
	if (cfg->smtp.starttls && (ln = seen(p, S_SMTP, "starttls")) &&
	    (cfg->smtp.outdir || cfg->smtp.tls))
		lerr(p, ln, "starttls: only for smtp:// urls");

	for (size_t i = 0; i < ARRAY_LEN(required); i++)
		if (!seen(p, required[i].s, required[i].key))
			strv_addf(errors, "%s: [%s] %s is required", f, sect_names[required[i].s],
				  required[i].key);
	if (cfg->mailbox.host && cfg->mailbox.auth == CONF_AUTH_PASSWORD &&
	    !cfg->mailbox.password_file)
		strv_addf(errors, "%s: [mailbox] password_file is required for imap with auth = password",
			  f);
	if (cfg->mailbox.auth == CONF_AUTH_XOAUTH2 && !cfg->mailbox.token_command)
		strv_addf(errors, "%s: [mailbox] token_command is required with auth = xoauth2", f);
	if (cfg->smtp.auth == CONF_AUTH_XOAUTH2 && !cfg->smtp.token_command)
		strv_addf(errors, "%s: [smtp] token_command is required with auth = xoauth2", f);
	if (cfg->require_auth_results && !cfg->authserv_id)
		strv_addf(errors,
			  "%s: [security] authserv_id is required when require_auth_results = yes", f);
}

static int read_file(const char *path, struct buf *b)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(b, chunk, n);
	int rc = ferror(fp) ? -1 : 0;
	int saved = errno;
	fclose(fp);
	errno = saved;
	if (!b->s)
		buf_add(b, "", 0);
	return rc;
}

static void set_defaults(struct conf *cfg)
{
	cfg->mailbox.processed_folder = xstrdup("Processed");
	cfg->mailbox.quarantine_folder = xstrdup("Quarantine");
	cfg->mailbox.poll_interval = 60;
	cfg->mailbox.max_message_size = 26214400;
	cfg->smtp.max_attachments_size = 10485760;
	cfg->workflow.remind_after = 3;
	cfg->workflow.max_reminders = 2;
	cfg->workflow.digest_hour = 7;
	cfg->workflow.digest_min = 0;
	cfg->workflow.timezone = xstrdup("America/Los_Angeles");
	cfg->workflow.expiry_notice[0] = 90;
	cfg->workflow.expiry_notice[1] = 30;
	cfg->workflow.n_expiry_notice = 2;
	cfg->templates_dir = xstrdup(CGEN_TEMPLATES_DIR);
	cfg->rate_limit = 20;
	cfg->case_rate_limit = 60;
	cfg->answer_limit = 50;
	cfg->case_open_limit = 10;
	cfg->log_level = xstrdup("info");
	cfg->smtp.max_queue_lifetime = 5 * 86400;
	cfg->smtp.timeout = 120;
}

int conf_load(const char *path, struct conf *cfg, struct strv *errors)
{
	struct parser p = {.path = path, .cfg = cfg};
	struct buf b = {0};
	struct strv file_errors = {0};
	enum sect cur = S_NONE;
	size_t before = errors->n;

	cfg->path = xstrdup(path);
	set_defaults(cfg);
	if (read_file(path, &b) < 0) {
		strv_addf(errors, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	p.dir = folder_of(path);
	const char *s = b.s;
	if (b.len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *line = xstrndup(s, n);
		p.line++;
		parse_line(&p, line, &cur);
		free(line);
		s += n + (nl ? 1 : 0);
	}
	check_whole(&p, &file_errors);

	/* Line errors in line order (a stable insertion sort), then file errors. */
	for (size_t i = 1; i < p.msgs.n; i++)
		for (size_t j = i; j > 0 && p.lines[j - 1] > p.lines[j]; j--) {
			size_t tl = p.lines[j];
			char *tm = p.msgs.v[j];
			p.lines[j] = p.lines[j - 1];
			p.msgs.v[j] = p.msgs.v[j - 1];
			p.lines[j - 1] = tl;
			p.msgs.v[j - 1] = tm;
		}
	for (size_t i = 0; i < p.msgs.n; i++)
		strv_add(errors, p.msgs.v[i]);
	for (size_t i = 0; i < file_errors.n; i++)
		strv_add(errors, file_errors.v[i]);
out:
	buf_free(&b);
	free(p.dir);
	free(p.lines);
	strv_free(&p.msgs);
	strv_free(&file_errors);
	return errors->n == before ? 0 : -1;
}

void conf_free(struct conf *cfg)
{
	struct conf_mailbox *m = &cfg->mailbox;
	struct conf_smtp *s = &cfg->smtp;
	char **strs[] = {
		&cfg->path, &m->url, &m->maildir, &m->user, &m->host, &m->folder,
		&m->password_file, &m->token_command, &m->ca_file, &m->processed_folder,
		&m->quarantine_folder, &s->url, &s->outdir, &s->user, &s->host, &s->from,
		&s->from_addr, &s->from_name, &s->password_file, &s->token_command, &s->ca_file,
		&cfg->workflow.cto, &cfg->workflow.timezone, &cfg->workflow.holidays_file,
		&cfg->store_path, &cfg->templates_dir, &cfg->secret_file, &cfg->authserv_id,
		&cfg->pid_file, &cfg->log_level, &cfg->central_file, &cfg->daemon_user,
	};
	for (size_t i = 0; i < ARRAY_LEN(strs); i++)
		free(*strs[i]);
	strv_free(&cfg->workflow.cdt);
	memset(cfg, 0, sizeof(*cfg));
}

static void wipe_strv(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		explicit_bzero(l->v[i], strlen(l->v[i]));
	strv_free(l);
}

int conf_read_secrets(const char *path, struct strv *secrets, char **err)
{
	struct strv found = {0};
	char *data = NULL;
	size_t len = 0;
	int rc = -1;
	struct stat st;

	*err = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err = xasprintf("%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		*err = xasprintf("%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("%s: readable by group or others (chmod 600 it)", path);
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = xasprintf("%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';

	size_t line = 0;
	for (const char *s = data; s < data + len;) {
		const char *nl = memchr(s, '\n', (size_t)(data + len - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(data + len - s);
		char *secret = str_trim(xstrndup(s, n));
		line++;
		s += n + (nl ? 1 : 0);
		size_t sl = strlen(secret);
		if (sl && sl < MIN_SECRET_LEN) {
			*err = xasprintf("%s:%zu: secret shorter than %d bytes", path, line,
					 MIN_SECRET_LEN);
			explicit_bzero(secret, sl);
			free(secret);
			goto out;
		}
		if (sl)
			strv_add_own(&found, secret);
		else
			free(secret);
	}
	if (!found.n) {
		*err = xasprintf("%s: holds no secret", path);
		goto out;
	}
	for (size_t i = 0; i < found.n; i++)
		strv_add_own(secrets, found.v[i]);
	free(found.v);
	found = (struct strv){0};
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	wipe_strv(&found);
	return rc;
}

/* Removes the quotes around a quoted display name, and its backslash escapes. */
static void unquote(char *s)
{
	size_t n = strlen(s);
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return;
	char *q = s;
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] == '\\' && i + 2 < n)
			i++;
		*q++ = s[i];
	}
	*q = '\0';
}

int conf_parse_mailbox(const char *s, char **addr, char **name)
{
	char *t = str_trim(xstrdup(s ? s : ""));
	char *a = NULL, *n = NULL, *lt = NULL;
	int inq = 0;

	*addr = *name = NULL;
	for (char *q = t; *q; q++) {
		if (inq && *q == '\\' && q[1])
			q++;
		else if (*q == '"')
			inq = !inq;
		else if (!inq && *q == '<') {
			lt = q;
			break;
		}
	}
	if (lt) {
		char *gt = strchr(lt, '>');
		if (!gt || gt[1])
			goto fail;
		a = str_trim(xstrndup(lt + 1, (size_t)(gt - lt - 1)));
		n = str_trim(xstrndup(t, (size_t)(lt - t)));
		unquote(n);
		str_trim(n);
		if (!*n) {
			free(n);
			n = NULL;
		}
	} else {
		if (inq)
			goto fail;
		a = xstrdup(t);
	}
	if (!addr_valid(a))
		goto fail;
	*addr = str_lower(a);
	*name = n;
	free(t);
	return 0;
fail:
	free(t);
	free(a);
	free(n);
	return -1;
}

int conf_check_private(const char *path, char **err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("%s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("%s: readable by group or others (chmod 600 it)", path);
		return -1;
	}
	return 0;
}
