/* cgenctl: the operator's tool (DESIGN.md section 7).
 *
 *   cgenctl -c FILE [--now TIMESTAMP] COMMAND
 *     list [--state S] [--json]     show CASE [--json]
 *     list --expiring 90d [--json]
 *     directory import FILE         queue [--json]
 *     parse FILE [--json]           verify [--head HASH] [DIR]
 *     digest [--print]              export --granted DIR [--entity CODE] [--since DATE]
 *     init                          migrate                      backup FILE
 *     attachments CASE [--out DIR]
 *
 * "digest" queues the CDT digest (and the approver digests) in the outbox at
 * once, whatever the time of day, unless the local day of --now already had
 * its digest; cgend sends it on its next pass. "digest --print" writes the
 * digest's text on stdout and neither sends nor records anything.
 *
 * "init" creates the store (no other command does: a mistyped [store] path is
 * an error and nothing is created); "migrate" brings an older store up to
 * this program's schema after an online backup to PATH.vN.bak; "backup FILE"
 * writes a checked copy with SQLite's online backup. list, show, queue,
 * verify, export, digest --print, status and outbox open the store read-only
 * and never migrate it. Text output shows control characters as text (\x1b...).
 *
 * Operations (cgenctl(1)): status [--json], outbox [--json], outbox retry
 * ID|all, outbox drop ID, approve CASE --as ROLE, reassign CASE ROLE ADDRESS,
 * cancel CASE, reopen CASE [--state S], resend CASE [--to ADDRESS]; the acts
 * on a case take --reason R and --by WHO (default the login name) and are
 * events naming that operator; their mails go out with cgend's next pass.
 *
 * FILE defaults to CGEN_DEFAULT_CONF. Run as root on a store that belongs to
 * another account, cgenctl becomes that account first, so that it never
 * leaves a file the daemon cannot write.
 *
 * Exit codes (sysexits): 0 ok, 1 a finding (verify failed, published head
 * not in the chain, case not found, bad import, the day's digest already
 * sent, no store at the configured path, status: something needs a person),
 * 64 usage, 75 a failure that may pass (disk full, store busy), 78
 * configuration error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pwd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"
#include "calendar.h"
#include "case.h"
#include "conf.h"
#include "directory.h"
#include "exemption.h"
#include "export.h"
#include "fs.h"
#include "log.h"
#include "ops.h"
#include "privs.h"
#include "report.h"
#include "store.h"
#include "util.h"

#ifndef CGEN_DEFAULT_CONF
#define CGEN_DEFAULT_CONF "/etc/cgen/cgen.conf"
#endif

static void usage(FILE *f)
{
	fputs("usage: cgenctl [-c FILE] [--now TIMESTAMP] COMMAND   (FILE: default "
	      CGEN_DEFAULT_CONF ")\n"
	      "  list [--state S] [--json]   cases, oldest first\n"
	      "  list --expiring DAYS[d] [--json]\n"
	      "                              granted exemptions that end within DAYS days,\n"
	      "                              soonest first\n"
	      "  show CASE [--json]          one case with its events\n"
	      "  directory import FILE       replace the entity directory from CSV\n"
	      "  queue [--json]              mails waiting for an operator\n"
	      "  queue reprocess ID          handle queued mail ID again (directory fixed)\n"
	      "  parse FILE [--json]         what the agent reads in one raw mail\n"
	      "  verify [--head HASH]        check the event hash chain (and that a published\n"
	      "                              head is in it)\n"
	      "  verify ... DIR              also check that export folder DIR matches the store\n"
	      "  digest [--print]            queue today's CDT digest now, unless it was sent\n"
	      "                              today; --print: only show it\n"
	      "  export --granted DIR [--entity CODE] [--since YYYY-MM-DD]\n"
	      "                              write or update the central file of granted cases\n"
	      "  init                        create the store (the only command that does)\n"
	      "  migrate                     update an older store's schema, after a backup\n"
	      "                              to PATH.vN.bak\n"
	      "  backup FILE                 a checked copy of the store (SQLite online backup)\n"
	      "  status [--json]             is cgend running, is mail flowing (exit 1: needs a\n"
	      "                              person)\n"
	      "  outbox [--json]             mails waiting to be sent, and those that failed\n"
	      "  outbox retry ID|all         send again now (a failed mail gets a new lifetime)\n"
	      "  outbox drop ID --reason R   never send it\n"
	      "  approve CASE --as aio|cio|cto --reason R   record an approval given outside mail\n"
	      "  reassign CASE requester|aio|cio ADDRESS --reason R   another address for one case\n"
	      "  cancel CASE --reason R      close an open case (withdrawn)\n"
	      "  reopen CASE [--state S] --reason R   open a closed case again\n"
	      "  resend CASE [--to ADDRESS] [--reason R]   queue its latest mail(s) again\n"
	      "  (operator acts take --by WHO, default the login name; they are events on the case)\n"
	      "  attachments CASE [--out DIR] the documents of a case's mails; --out: write them\n"
	      "                              to DIR (created, owner-only)\n"
	      "  --version, --help\n"
	      "See cgenctl(1).\n", f);
}

/* The operator's name for events: --by, else the login name (the one sudo
 * was called from first). Looked up before privileges change. */
static char *login_name(void)
{
	const char *s = getenv("SUDO_USER");
	if (s && *s)
		return xstrdup(s);
	struct passwd *pw = getpwuid(getuid());
	if (pw)
		return xstrdup(pw->pw_name);
	s = getlogin();
	return xstrdup(s && *s ? s : "operator");
}

/* Run as root: become the store's owner (privs.h). 0, or an exit code. */
static int become_store_owner(const struct conf *cfg)
{
	uid_t uid;
	gid_t gid;
	char *err = NULL;
	if (getuid() != 0 && geteuid() != 0)
		return 0;
	int r = privs_store_owner(cfg->store_path, cfg->daemon_user, &uid, &gid, &err);
	if (r < 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return EX_NOPERM;
	}
	if (r == 0)
		return 0;
	if (privs_drop_uid(uid, gid, &err) != 0) {
		struct passwd *pw = getpwuid(uid);
		fprintf(stderr, "cgenctl: %s; run it as the store's owner instead: runuser -u %s -- "
			"cgenctl -c %s ...\n", err, pw ? pw->pw_name : "OWNER", cfg->path);
		free(err);
		return EX_NOPERM;
	}
	return 0;
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		buf_free(&b);
		return -1;
	}
	*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

/* Writes b to stdout. Text meant for a terminal shows control characters
 * as text (JSON escapes them itself). */
static void emit(struct buf *b, int json)
{
	if (b->len && !json && str_has_controls(b->s)) {
		char *safe = str_escape_controls(b->s, 1);
		fputs(safe, stdout);
		free(safe);
	} else if (b->len)
		fwrite(b->s, 1, b->len, stdout);
	buf_free(b);
}

/* Pulls "--json" and "--state S" out of the command's arguments. */
struct cmd_opts {
	int json;
	int print;               /* digest --print */
	const char *state;
	const char *head;        /* verify --head HASH */
	const char *granted, *entity, *since; /* export */
	const char *out;         /* attachments --out DIR */
	const char *expiring;    /* list --expiring 90d */
	const char *args[4];
	int nargs;
};

static int split_opts(int argc, char **argv, struct cmd_opts *o)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o->json = 1;
		else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			o->state = argv[++i];
		else if (strcmp(argv[i], "--print") == 0)
			o->print = 1;
		else if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			o->head = argv[++i];
		else if (strcmp(argv[i], "--granted") == 0 && i + 1 < argc)
			o->granted = argv[++i];
		else if (strcmp(argv[i], "--entity") == 0 && i + 1 < argc)
			o->entity = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			o->since = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			o->out = argv[++i];
		else if (strcmp(argv[i], "--expiring") == 0 && i + 1 < argc)
			o->expiring = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			return -1;
		else if (o->nargs < 4)
			o->args[o->nargs++] = argv[i];
		else
			return -1;
	}
	return 0;
}

/* "90d" or "90": a number of days, 0..36500; -1 when not. */
static long parse_days(const char *s)
{
	char *end;
	long d = strtol(s, &end, 10);
	if (end == s || (*end && strcmp(end, "d") != 0) || d < 0 || d > 36500 || *s == '-' || *s == '+')
		return -1;
	return d;
}

struct ending {
	long day;
	struct case_rec *c;
};

static int ending_cmp(const void *a, const void *b)
{
	const struct ending *x = a, *y = b;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->c->id, y->c->id);
}

/* list --expiring DAYS: granted exemptions whose end is today or within DAYS
 * days (local time), soonest first. */
static int cmd_expiring(struct store *st, long days, int json, time_t now, struct buf *b)
{
	struct case_rec *v = NULL;
	size_t n = 0;
	if (store_case_list(st, case_state_name(ST_GRANTED), &v, &n) != STORE_OK) {
		fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
		return 1;
	}
	long today = calendar_local_day(now);
	struct ending *e = xcalloc(n + 1, sizeof *e);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		long end = exemption_end_day(&v[i]);
		if (end >= today && end <= today + days) {
			e[k].day = end;
			e[k++].c = &v[i];
		}
	}
	qsort(e, k, sizeof *e, ending_cmp);
	struct case_rec *sel = xcalloc(k + 1, sizeof *sel);
	for (size_t i = 0; i < k; i++)
		sel[i] = *e[i].c; /* shallow: v still owns the members */
	if (json)
		report_expiring_json(b, sel, k, now);
	else
		report_expiring_text(b, sel, k, now);
	free(sel);
	free(e);
	store_cases_free(v, n);
	return 0;
}

static int cmd_parse(const char *file, int json)
{
	char *raw;
	size_t len;
	if (read_file(file, &raw, &len) != 0) {
		fprintf(stderr, "cgenctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	struct buf b = {0};
	report_parse(&b, raw, len, json);
	emit(&b, json);
	free(raw);
	return 0;
}

static int cmd_import(struct store *st, const char *file)
{
	char *data;
	size_t len;
	if (read_file(file, &data, &len) != 0) {
		fprintf(stderr, "cgenctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	struct directory d = {0};
	struct strv errs = {0};
	int rc = directory_parse_csv(data, len, file, &d, &errs);
	free(data);
	if (rc != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		fprintf(stderr, "cgenctl: %s: not imported; the directory is unchanged\n", file);
		strv_free(&errs);
		directory_free(&d);
		return 1;
	}
	strv_free(&errs);
	if (store_directory_replace(st, &d) != STORE_OK) {
		fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
		directory_free(&d);
		return 1;
	}
	printf("imported %zu entities from %s\n", d.n, file);
	directory_free(&d);
	return 0;
}

/* The chain is intact (count events): is the published head one of them? */
static int verify_head(struct store *st, const char *published, int64_t count)
{
	char h[65];
	snprintf(h, sizeof h, "%s", published);
	str_lower(h);
	int64_t seq = 0;
	int r = strlen(published) == 64 ? store_event_find(st, h, &seq) : STORE_NOTFOUND;
	if (r == STORE_OK) {
		printf("event chain intact: %lld events; published head found at event %lld of %lld\n",
		       (long long)count, (long long)seq, (long long)count);
		return 0;
	}
	if (r == STORE_NOTFOUND) {
		printf("published head %s not found in the event chain (%lld events): the record "
		       "was rewritten or cut after it was published\n", h, (long long)count);
		return 1;
	}
	fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
	return 1;
}

static int cmd_export(struct store *st, const struct cmd_opts *o)
{
	struct export_filter f = {.entity = o->entity};
	struct export_stats s;
	char *err = NULL;
	if (o->since && export_parse_date(o->since, &f.since) != 0) {
		fprintf(stderr, "cgenctl: --since: not a date (YYYY-MM-DD): %s\n", o->since);
		return EX_USAGE;
	}
	if (export_granted(st, o->granted, &f, &s, &err) != EXPORT_OK) {
		fprintf(stderr, "cgenctl: export: %s\n", err);
		free(err);
		return 1;
	}
	printf("exported %zu granted cases to %s: %zu files written, %zu unchanged\n", s.cases,
	       o->granted, s.written, s.unchanged);
	return 0;
}

/* verify DIR: the export folder against the store; each finding on a line. */
static int cmd_verify_export(struct store *st, const char *dir)
{
	struct strv findings = {0};
	size_t cases = 0;
	char *err = NULL;
	if (export_verify(st, dir, &findings, &cases, &err) != EXPORT_OK) {
		fprintf(stderr, "cgenctl: verify: %s\n", err);
		free(err);
		return 1;
	}
	for (size_t i = 0; i < findings.n; i++)
		printf("%s\n", findings.v[i]);
	if (findings.n)
		printf("export %s does not match the store: %zu findings\n", dir, findings.n);
	else
		printf("export %s matches the store: %zu cases\n", dir, cases);
	int rc = findings.n ? 1 : 0;
	strv_free(&findings);
	return rc;
}

/* 1 when the configured store file does not exist. */
static int store_missing(const struct conf *cfg)
{
	struct stat sb;
	return stat(cfg->store_path, &sb) < 0 && errno == ENOENT;
}

/* init: creates the store. An existing store at this program's version is
 * left as it is. */
static int cmd_init(const struct conf *cfg)
{
	int existed = !store_missing(cfg);
	struct store *st = NULL;
	char *err = NULL;
	if (store_open_flags(cfg->store_path, STORE_OPEN_CREATE, &st, &err) != STORE_OK) {
		fprintf(stderr, "cgenctl: store %s\n", err);
		free(err);
		return 1;
	}
	store_close(st);
	if (existed)
		printf("store %s already exists (schema version %d); nothing changed\n",
		       cfg->store_path, store_schema_version());
	else
		printf("created store %s (schema version %d)\n", cfg->store_path,
		       store_schema_version());
	return 0;
}

/* migrate: the only migration outside cgend's start; the store module logs
 * the backup it makes first. */
static int cmd_migrate(const struct conf *cfg)
{
	struct store *st = NULL;
	char *err = NULL;
	log_open("cgenctl", 1, LOGL_INFO);
	int r = store_open_flags(cfg->store_path, STORE_OPEN_MIGRATE, &st, &err);
	log_open("cgenctl", 1, LOGL_WARN);
	if (r != STORE_OK) {
		fprintf(stderr, "cgenctl: store %s\n", err);
		free(err);
		return 1;
	}
	store_close(st);
	printf("store %s is at schema version %d\n", cfg->store_path, store_schema_version());
	return 0;
}

/* backup FILE: a checked copy; an existing FILE is not overwritten. */
static int cmd_backup(const struct conf *cfg, const char *file)
{
	struct stat sb;
	if (lstat(file, &sb) == 0) {
		fprintf(stderr, "cgenctl: backup: %s exists; remove it or name another file\n", file);
		return 1;
	}
	struct store *st = NULL;
	char *err = NULL, *summary = NULL;
	if (store_open_flags(cfg->store_path, STORE_OPEN_RDONLY, &st, &err) != STORE_OK) {
		fprintf(stderr, "cgenctl: store %s\n", err);
		free(err);
		return 1;
	}
	int rc = 0;
	if (store_backup(st, file, &summary) != STORE_OK) {
		fprintf(stderr, "cgenctl: backup: %s\n", store_errmsg(st));
		rc = 1;
	} else
		printf("backup of %s written to %s and checked: %s\n", cfg->store_path, file, summary);
	free(summary);
	store_close(st);
	return rc;
}

/* Writes data to dir/name, owner-only, never through a link. 0 or -1. */
static int write_private(const char *dir, const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -1 : 0;
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rc = -1;
		else
			off += (size_t)w;
	}
	if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0))
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "cgenctl: %s: %s\n", path, strerror(errno));
	free(path);
	return rc;
}

/* attachments CASE [--out DIR]: the documents of every mail of the case (the
 * requester's quotes and SLAs, the answers' documents), one a line; with
 * --out, written to DIR under the names the central file uses. */
static int cmd_attachments(struct store *st, const char *arg, const char *dir)
{
	char id[24];
	snprintf(id, sizeof id, "%s", arg);
	for (char *p = id; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	struct case_rec cr = {0};
	int r = store_case_get(st, id, &cr);
	if (r != STORE_OK) {
		fprintf(stderr, r == STORE_NOTFOUND ? "cgenctl: no case %s\n" : "cgenctl: store: %s\n",
			r == STORE_NOTFOUND ? arg : store_errmsg(st));
		return 1;
	}
	case_clear(&cr);
	struct case_doc *d = NULL;
	size_t n = 0;
	char *err = NULL;
	if (export_case_docs(st, id, NULL, &d, &n, &err) != EXPORT_OK) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return 1;
	}
	int rc = 0;
	if (dir && fs_mkdir(dir) < 0) {
		fprintf(stderr, "cgenctl: %s: %s\n", dir, strerror(errno));
		rc = 1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char when[32];
		report_rfc3339(d[i].at, when);
		printf("%s\t%zu bytes\t%s\tsha256 %s\tfrom %s at %s\n", d[i].name, d[i].size, d[i].type,
		       d[i].sha256, *d[i].from ? d[i].from : "?", when);
		if (dir && write_private(dir, d[i].name, d[i].data, d[i].size) != 0)
			rc = 1;
	}
	if (rc == 0)
		printf("%zu document%s on case %s%s%s\n", n, n == 1 ? "" : "s", id, dir ? ", written to " : "",
		       dir ? dir : "");
	export_case_docs_free(d, n);
	return rc;
}

static int cmd_digest(const struct conf *cfg, time_t now, int print_only, struct buf *b)
{
	struct agent a;
	char *err = NULL;
	if (agent_open_flags(&a, cfg, 0, print_only ? STORE_OPEN_RDONLY : 0, &err) != 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return store_missing(cfg) ? 1 : EX_CONFIG;
	}
	int r = agent_digest(&a, now, print_only, b);
	agent_close(&a);
	if (r < 0)
		fprintf(stderr, "cgenctl: the digest could not be built or queued\n");
	return r == 0 ? 0 : 1;
}

/* queue reprocess ID: the queued mail handled again (after the directory was
 * fixed); what it causes is mailed by cgend's next pass. */
static int cmd_reprocess(const struct conf *cfg, const char *arg, time_t now)
{
	char *end;
	long long id = strtoll(arg, &end, 10);
	if (!*arg || *end || id <= 0) {
		fprintf(stderr, "cgenctl: queue reprocess: not a queue entry number: %s\n", arg);
		return EX_USAGE;
	}
	struct agent a;
	char *err = NULL;
	if (agent_open_flags(&a, cfg, 0, 0, &err) != 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return store_missing(cfg) ? 1 : EX_CONFIG;
	}
	int r = agent_reprocess(&a, id, now, &err);
	agent_close(&a);
	if (r != 0) {
		fprintf(stderr, "cgenctl: queue reprocess %lld: %s\n", id, err);
		free(err);
		return 1;
	}
	printf("queue entry %lld reprocessed; its mails go out with cgend's next pass\n", id);
	return 0;
}

/* ---- operations: status, outbox and the operator's acts on a case ---- */

struct ops_opts {
	int json;
	const char *by, *reason, *as, *state, *to;
	const char *args[4];
	int nargs;
};

static int ops_split(int argc, char **argv, struct ops_opts *o)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char **v = strcmp(argv[i], "--by") == 0       ? &o->by
				 : strcmp(argv[i], "--reason") == 0 ? &o->reason
				 : strcmp(argv[i], "--as") == 0     ? &o->as
				 : strcmp(argv[i], "--state") == 0  ? &o->state
				 : strcmp(argv[i], "--to") == 0     ? &o->to
								    : NULL;
		if (v && i + 1 < argc && !*v)
			*v = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			o->json = 1;
		else if (v || (argv[i][0] == '-' && argv[i][1] == '-') || o->nargs == 4)
			return -1;
		else
			o->args[o->nargs++] = argv[i];
	}
	return 0;
}

static int is_ops_command(const char *cmd)
{
	static const char *const names[] = {"status", "outbox", "approve", "reassign", "cancel",
					    "reopen", "resend"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(cmd, names[i]) == 0)
			return 1;
	return 0;
}

/* "CGEN-2026-0042" from what the operator typed (any case, brackets). */
static void case_id_of(const char *s, char out[24])
{
	while (*s == '[')
		s++;
	snprintf(out, 24, "%s", s);
	out[strcspn(out, "]")] = '\0';
	for (char *p = out; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static int cmd_status(const struct conf *cfg, struct store *st, int json, time_t now)
{
	struct ops_status s;
	char *err = NULL;
	if (ops_status_gather(cfg, st, now, &s, &err) != 0) {
		fprintf(stderr, "cgenctl: store %s: %s\n", cfg->store_path, err);
		free(err);
		return 1;
	}
	struct buf b = {0};
	if (json)
		ops_status_json(&b, &s);
	else
		ops_status_text(&b, &s, now);
	emit(&b, json);
	int rc = s.problems.n ? 1 : 0;
	ops_status_free(&s);
	return rc;
}

static int cmd_outbox(struct store *st, const struct ops_opts *o, time_t now)
{
	if (o->nargs == 0) {
		struct outbox_item *v = NULL;
		size_t n = 0;
		if (store_outbox_list(st, &v, &n) != STORE_OK) {
			fprintf(stderr, "cgenctl: %s\n", store_errmsg(st));
			return 1;
		}
		struct buf b = {0};
		if (o->json)
			ops_outbox_json(&b, v, n);
		else
			ops_outbox_text(&b, v, n, now);
		emit(&b, o->json);
		store_outbox_items_free(v, n);
		return 0;
	}
	/* outbox retry ID|all */
	if (strcmp(o->args[1], "all") == 0) {
		int count = 0;
		if (store_outbox_requeue_all(st, now, &count) != STORE_OK) {
			fprintf(stderr, "cgenctl: %s\n", store_errmsg(st));
			return 1;
		}
		printf("%d mail(s) due now; cgend sends them on its next round\n", count);
		return 0;
	}
	char *end;
	long long id = strtoll(o->args[1], &end, 10);
	if (!*o->args[1] || *end || id <= 0) {
		fprintf(stderr, "cgenctl: outbox retry: not an outbox id: %s\n", o->args[1]);
		return EX_USAGE;
	}
	int r = store_outbox_requeue(st, id, now);
	if (r == STORE_NOTFOUND) {
		fprintf(stderr, "cgenctl: no outbox mail %lld waiting or failed (sent, dropped, or "
			"never existed)\n", id);
		return 1;
	}
	if (r != STORE_OK) {
		fprintf(stderr, "cgenctl: %s\n", store_errmsg(st));
		return 1;
	}
	printf("outbox %lld due now; cgend sends it on its next round\n", id);
	return 0;
}

static int ops_main(const char *path, time_t now, const char *cmd, int argc, char **argv)
{
	struct ops_opts o;
	if (ops_split(argc, argv, &o) != 0)
		goto usage;
	int is_status = strcmp(cmd, "status") == 0, is_outbox = strcmp(cmd, "outbox") == 0;
	int is_reassign = strcmp(cmd, "reassign") == 0, is_resend = strcmp(cmd, "resend") == 0;
	int is_approve = strcmp(cmd, "approve") == 0, is_reopen = strcmp(cmd, "reopen") == 0;
	int drop = is_outbox && o.nargs == 2 && strcmp(o.args[0], "drop") == 0;
	int retry = is_outbox && o.nargs == 2 && strcmp(o.args[0], "retry") == 0;
	int acts = !is_status && !is_outbox;
	if ((is_status && o.nargs) || (is_outbox && o.nargs && !drop && !retry) ||
	    (acts && o.nargs != (is_reassign ? 3 : 1)) || (o.json && !is_status && !(is_outbox && !o.nargs)) ||
	    (o.as && !is_approve) || (is_approve && !o.as) || (o.state && !is_reopen) ||
	    (o.to && !is_resend) || ((o.by || o.reason) && !acts && !drop) ||
	    ((acts || drop) && !is_resend && !o.reason))
		goto usage;
	if (o.reason && !*o.reason) {
		fprintf(stderr, "cgenctl: --reason must say why\n");
		return EX_USAGE;
	}
	char *by = o.by ? xstrdup(o.by) : login_name();
	struct engine_op_in in = {.by = by, .reason = o.reason};
	if (is_approve && role_parse(o.as, &in.role) != 0) {
		fprintf(stderr, "cgenctl: --as: aio, cio or cto, not \"%s\"\n", o.as);
		free(by);
		return EX_USAGE;
	}
	if (is_reassign && role_parse(o.args[1], &in.role) != 0) {
		fprintf(stderr, "cgenctl: reassign: requester, aio or cio, not \"%s\"\n", o.args[1]);
		free(by);
		return EX_USAGE;
	}
	in.state = ST_RECEIVED; /* reopen: the state before it closed */
	if (o.state && case_state_parse(o.state, &in.state) != 0) {
		fprintf(stderr, "cgenctl: unknown state \"%s\"\n", o.state);
		free(by);
		return EX_USAGE;
	}
	char *addr = NULL;
	if (is_reassign)
		addr = str_lower(xstrdup(o.args[2]));
	in.addr = addr;
	in.op = is_approve ? OP_APPROVE : is_reassign ? OP_REASSIGN : is_reopen ? OP_REOPEN : OP_CANCEL;

	log_open("cgenctl", 1, LOGL_WARN);
	struct conf cfg = {0};
	struct strv errs = {0};
	int rc = 0;
	if (conf_load(path, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		rc = EX_CONFIG;
		goto out;
	}
	setenv("TZ", cfg.workflow.timezone, 1);
	tzset();
	if ((rc = become_store_owner(&cfg)) != 0)
		goto out;
	char *err = NULL;
	if (is_status || (is_outbox && !drop)) {
		struct store *st = NULL;
		/* status and the outbox list only read; nothing here creates or
		 * migrates the store */
		if (store_open_flags(cfg.store_path, retry ? 0 : STORE_OPEN_RDONLY, &st, &err) != STORE_OK) {
			fprintf(stderr, "cgenctl: store %s\n", err ? err : "cannot open");
			free(err);
			rc = 1;
			goto out;
		}
		rc = is_status ? cmd_status(&cfg, st, o.json, now) : cmd_outbox(st, &o, now);
		store_close(st);
		goto out;
	}
	struct agent a;
	int ar = agent_open_flags(&a, &cfg, 0, 0, &err);
	if (ar != 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		rc = ar == -2 ? EX_TEMPFAIL : 1;
		goto out;
	}
	char id[24];
	if (drop) {
		char *end;
		long long oid = strtoll(o.args[1], &end, 10);
		if (!*o.args[1] || *end || oid <= 0) {
			fprintf(stderr, "cgenctl: outbox drop: not an outbox id: %s\n", o.args[1]);
			rc = EX_USAGE;
		} else if ((rc = agent_outbox_drop(&a, oid, by, o.reason, now, &err)) == 0)
			printf("outbox %lld dropped by %s\n", oid, by);
	} else if (is_resend) {
		size_t n = 0;
		case_id_of(o.args[0], id);
		rc = agent_resend(&a, id, o.to, by, o.reason ? o.reason : "asked by an operator", now,
				  &n, &err);
		if (rc == 0)
			printf("%zu mail(s) of %s queued again; cgend sends them on its next round\n", n, id);
	} else {
		case_id_of(o.args[0], id);
		rc = agent_operator(&a, id, &in, now, &err);
		if (rc == 0)
			printf("%s: %s recorded as an act of %s; its mails go out with cgend's next round\n",
			       id, cmd, by);
	}
	if (rc != 0 && err)
		fprintf(stderr, "cgenctl: %s: %s\n", cmd, err);
	if (rc < 0)
		rc = 1;
	free(err);
	agent_close(&a);
out:
	strv_free(&errs);
	conf_free(&cfg);
	free(addr);
	free(by);
	return rc;
usage:
	usage(stderr);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"now", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = CGEN_DEFAULT_CONF;
	umask(0077); /* every file the agent writes is private */
	time_t now = time(NULL);
	int c;
	/* '+': stop at the command word; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n':
			if (parse_iso8601(optarg, &now) != 0) {
				fprintf(stderr, "cgenctl: --now: not an ISO 8601 time with offset: %s\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cgenctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *cmd = argv[optind];
	if (is_ops_command(cmd))
		return ops_main(path, now, cmd, argc - optind - 1, argv + optind + 1);
	struct cmd_opts o;
	int sub = strcmp(cmd, "directory") == 0;
	if (split_opts(argc - optind - 1 - sub, argv + optind + 1 + sub, &o) != 0 ||
	    (sub && (optind + 1 >= argc || strcmp(argv[optind + 1], "import") != 0))) {
		usage(stderr);
		return EX_USAGE;
	}
	int is_backup = strcmp(cmd, "backup") == 0;
	int is_admin = strcmp(cmd, "init") == 0 || strcmp(cmd, "migrate") == 0;
	int is_att = strcmp(cmd, "attachments") == 0;
	int want = strcmp(cmd, "show") == 0 || strcmp(cmd, "parse") == 0 || sub || is_backup || is_att ? 1 : 0;
	int is_export = strcmp(cmd, "export") == 0, is_verify = strcmp(cmd, "verify") == 0;
	int known = want || strcmp(cmd, "list") == 0 || strcmp(cmd, "queue") == 0 ||
		    is_verify || strcmp(cmd, "digest") == 0 || is_export || is_admin;
	int reprocess = strcmp(cmd, "queue") == 0 && o.nargs == 2 && strcmp(o.args[0], "reprocess") == 0;
	if (!known || (o.nargs != want && !(is_verify && o.nargs == 1) && !reprocess) ||
	    (o.print && strcmp(cmd, "digest") != 0) || (o.head && !is_verify) ||
	    (is_export != (o.granted != NULL)) || (!is_export && (o.entity || o.since)) ||
	    (o.out && !is_att) ||
	    (o.expiring && (strcmp(cmd, "list") != 0 || o.state || parse_days(o.expiring) < 0))) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(cmd, "parse") == 0)
		return cmd_parse(o.args[0], o.json);

	log_open("cgenctl", 1, LOGL_WARN);
	struct conf cfg = {0};
	struct strv errs = {0};
	if (conf_load(path, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		strv_free(&errs);
		conf_free(&cfg);
		return EX_CONFIG;
	}
	strv_free(&errs);
	setenv("TZ", cfg.workflow.timezone, 1);
	tzset();
	int become = become_store_owner(&cfg);
	if (become != 0) {
		conf_free(&cfg);
		return become;
	}

	if (is_admin || is_backup) {
		int r = strcmp(cmd, "init") == 0 ? cmd_init(&cfg)
		      : is_backup ? cmd_backup(&cfg, o.args[0]) : cmd_migrate(&cfg);
		conf_free(&cfg);
		return r;
	}
	/* Only what changes the store opens it for writing; nothing migrates it
	 * but cgend's start and "migrate", nothing creates it but "init". */
	int writes = sub || reprocess || (strcmp(cmd, "digest") == 0 && !o.print);
	struct store *st = NULL;
	char *err = NULL;
	if (store_open_flags(cfg.store_path, writes ? 0 : STORE_OPEN_RDONLY, &st, &err) != STORE_OK) {
		fprintf(stderr, "cgenctl: store %s\n", err ? err : "cannot open");
		free(err);
		conf_free(&cfg);
		return 1;
	}
	int rc = 0;
	struct buf b = {0};
	if (strcmp(cmd, "list") == 0 && o.expiring) {
		rc = cmd_expiring(st, parse_days(o.expiring), o.json, now, &b);
	} else if (strcmp(cmd, "list") == 0) {
		enum case_state s;
		if (o.state && case_state_parse(o.state, &s) != 0) {
			fprintf(stderr, "cgenctl: unknown state \"%s\"\n", o.state);
			rc = EX_USAGE;
		} else {
			struct case_rec *v = NULL;
			size_t n = 0;
			if (store_case_list(st, o.state, &v, &n) != STORE_OK) {
				fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
				rc = 1;
			} else if (o.json)
				report_list_json(&b, v, n, now);
			else
				report_list_text(&b, v, n, now);
			store_cases_free(v, n);
		}
	} else if (strcmp(cmd, "show") == 0) {
		struct case_rec cr = {0};
		char id[24];
		snprintf(id, sizeof id, "%s", o.args[0]);
		for (char *p = id; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		int r = store_case_get(st, id, &cr);
		if (r == STORE_NOTFOUND) {
			fprintf(stderr, "cgenctl: no case %s\n", o.args[0]);
			rc = 1;
		} else if (r != STORE_OK) {
			fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
			rc = 1;
		} else {
			struct event_rec *ev = NULL;
			size_t n = 0;
			if (store_events(st, cr.id, &ev, &n) != STORE_OK) {
				fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
				rc = 1;
			} else if (o.json)
				report_show_json(&b, &cr, ev, n, now);
			else
				report_show_text(&b, &cr, ev, n, now);
			store_events_free(ev, n);
			case_clear(&cr);
		}
	} else if (sub) {
		rc = cmd_import(st, o.args[0]);
	} else if (is_att) {
		rc = cmd_attachments(st, o.args[0], o.out);
	} else if (reprocess) {
		rc = cmd_reprocess(&cfg, o.args[1], now);
	} else if (strcmp(cmd, "queue") == 0) {
		struct queue_rec *v = NULL;
		size_t n = 0;
		if (store_queue_list(st, &v, &n) != STORE_OK) {
			fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
			rc = 1;
		} else if (o.json)
			report_queue_json(&b, v, n);
		else
			report_queue_text(&b, v, n);
		store_queue_free(v, n);
	} else if (strcmp(cmd, "verify") == 0) {
		char *finding = NULL, head[65] = "";
		int64_t count = 0;
		int r = store_verify(st, &finding, head, &count);
		if (r == STORE_OK && o.head)
			rc = verify_head(st, o.head, count);
		else if (r == STORE_OK)
			printf("event chain intact: %lld events, head %s\n", (long long)count, head);
		else if (r == STORE_NOTFOUND) {
			printf("event chain broken: %s\n", finding);
			rc = 1;
		} else {
			fprintf(stderr, "cgenctl: store: %s\n", store_errmsg(st));
			rc = 1;
		}
		free(finding);
		if (o.nargs == 1 && cmd_verify_export(st, o.args[0]) != 0)
			rc = 1;
	} else if (strcmp(cmd, "digest") == 0) {
		rc = cmd_digest(&cfg, now, o.print, &b);
	} else if (is_export) {
		rc = cmd_export(st, &o);
	}
	emit(&b, o.json);
	store_close(st);
	conf_free(&cfg);
	return rc;
}
