/* conf.h: the INI configuration of DESIGN.md section 7.
 *
 * Every key of the table is parsed and validated; unknown sections, unknown keys
 * and bad values are reported as "FILE:LINE: message", all of them at once.
 * Relative paths in the file are resolved against the folder holding it. */
#ifndef CGEN_CONF_H
#define CGEN_CONF_H

#include <time.h>
#include "util.h"

enum conf_auth { CONF_AUTH_PASSWORD = 0, CONF_AUTH_XOAUTH2 };

#define CONF_MAX_EXPIRY_NOTICES 8

struct conf_mailbox {
	char *url;               /* required: imaps://, imap:// or maildir:PATH */
	char *maildir;           /* for maildir: URLs, the resolved PATH; else NULL */
	/* For imap:// and imaps:// URLs (else NULL/0): user (the part before the
	 * last '@') and folder %XX-decoded, host lowercase, port 143 or 993 unless
	 * given, folder "INBOX" unless given; tls = 1 for imaps. */
	char *user, *host, *folder;
	int port, tls;
	char *password_file, *token_command, *ca_file;
	enum conf_auth auth;
	int starttls;            /* default 0 */
	char *processed_folder;  /* default "Processed" */
	char *quarantine_folder; /* default "Quarantine" */
	int poll_interval;       /* seconds, default 60, > 0 */
	long long max_message_size; /* bytes, default 26214400, > 0 */
};

struct conf_smtp {
	char *url;               /* required: smtps://, smtp:// or file:PATH */
	char *outdir;            /* for file: URLs, the resolved PATH; else NULL */
	/* For smtp:// and smtps://[user@]host[:port] (else NULL/0): user %XX-decoded
	 * or NULL, host lowercase, port 25 or 465 unless given; tls = 1 for smtps. */
	char *user, *host;
	int port, tls;
	char *from;              /* required, as written: "CGEN Exemptions <cgen@cdt.ca.gov>" */
	char *from_addr;         /* derived: bare lowercase address of from */
	char *from_name;         /* derived: display name, or NULL */
	char *password_file, *token_command, *ca_file;
	enum conf_auth auth;
	int starttls;
	/* [smtp] max_queue_lifetime: seconds a mail may wait in the outbox for
	 * a successful send before it expires (default 5 days) */
	long long max_queue_lifetime;
	long long max_attachments_size; /* bytes of documents one mail carries, default
					   10485760 (10 MB), > 0; past it they are listed */
	/* [smtp] timeout: seconds one mail may take from connect to the server's
	 * last reply (plus 1 s per 64 KiB), and at most this long to connect
	 * (never more than 30 s); default 120 */
	long long timeout;
};

struct conf_workflow {
	struct strv cdt;         /* required, >= 1 address, lowercase */
	char *cto;               /* required, lowercase */
	int remind_after;        /* business days, default 3, >= 1 */
	int max_reminders;       /* default 2, >= 0 */
	int digest_hour, digest_min; /* default 07:00 */
	char *timezone;          /* default "America/Los_Angeles" (must exist in zoneinfo) */
	char *holidays_file;     /* NULL when unset */
	int approver_digest;     /* default 0 */
	int reply_plain;         /* reply_to = plain: 1; subaddress (default): 0 */
	/* expiry_notice: days before a granted exemption's end when the requester
	 * and CDT are told, largest first, distinct, 1..3650; default 90,30;
	 * "none": no notice (n_expiry_notice = 0). */
	int expiry_notice[CONF_MAX_EXPIRY_NOTICES];
	size_t n_expiry_notice;
};

struct conf {
	char *path;              /* the file read */
	struct conf_mailbox mailbox;
	struct conf_smtp smtp;
	struct conf_workflow workflow;
	char *store_path;        /* [store] path, required */
	char *templates_dir;     /* [templates] dir, default the installed templates */
	char *secret_file;       /* [security] secret_file, required */
	int require_auth_results;/* default 0 */
	char *authserv_id;       /* NULL, an id, or "@topmost"; required when require_auth_results */
	int rate_limit;          /* replies to one address per hour, default 20, >= 1 */
	int case_rate_limit;     /* mails about one case per hour, default 60, >= 1 */
	char *pid_file;          /* NULL when unset */
	char *log_level;         /* err|warn|info|debug, default "info" */
	/* Safe by default (schema version 5): */
	int store_create;        /* [store] create: cgend may create a missing store, default 0 */
	char *central_file;      /* [store] central_file: the export folder whose index.csv
				    case numbers are never given again; NULL when unset */
	int answer_limit;        /* [security] answers per hour to mail that opened no
				    case, all senders together, default 50, >= 1 */
	int case_open_limit;     /* [security] cases opened per entity per hour, default 10 */
	int self_approval_refuse;/* [workflow] self_approval = refuse: 1; flag (default): 0 */
	char *daemon_user;       /* [daemon] user: the account cgend and cgenctl run as
				    when started as root; NULL when unset: then "cgen"
				    when that account exists (privs.h) */
};

/* Reads and validates path into *cfg (which the caller zeroes first). Returns 0
 * when valid; otherwise -1 with every problem appended to errors as
 * "FILE:LINE: message" in line order, then those of the whole file as "FILE:
 * message" (cannot be read, a required key missing, a key another one needs).
 * FILE is path as given. *cfg must be freed with conf_free either way. */
int conf_load(const char *path, struct conf *cfg, struct strv *errors);
void conf_free(struct conf *cfg);

/* Reads the secret file: one secret a non-empty line (white space trimmed),
 * the first signs, all verify; each is appended to *secrets in file order.
 * Refuses a file that group or others can read ("PATH: readable by group or
 * others (chmod 600 it)"), a secret shorter than 16 bytes ("PATH:LINE: secret
 * shorter than 16 bytes"), or a file without secret. Returns 0, or -1 with
 * *secrets unchanged and *err set (allocated, never contains a secret). */
int conf_read_secrets(const char *path, struct strv *secrets, char **err);

/* Refuses a password or secret file that is not a regular file or that group
 * or others may read. Returns 0, or -1 with *err allocated. */
int conf_check_private(const char *path, char **err);

/* Parses "Display Name <addr@dom>", "\"Name, X\" <addr@dom>", "<addr@dom>" or
 * "addr@dom": bare lowercase address into *addr and the display name (quotes
 * and backslash escapes removed; NULL when empty) into *name, both allocated.
 * Returns 0, or -1 with both NULL when no valid address is found. */
int conf_parse_mailbox(const char *s, char **addr, char **name);

#endif
