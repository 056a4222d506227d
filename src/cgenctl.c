/* cgenctl: the operator's tool (DESIGN.md section 7).
 *
 *   cgenctl -c FILE [--now TIMESTAMP] COMMAND
 *     list [--state S] [--json]     show CASE [--json]
 *     list --expiring 90d [--json]
 *     directory import FILE         queue [--json]
 *     parse FILE [--json]           verify [--head HASH] [DIR]
 *     digest [--print]              export --granted DIR [--entity CODE] [--since DATE]
 *
 * "digest" queues the CDT digest (and the approver digests) in the outbox at
 * once, whatever the time of day, unless the local day of --now already had
 * its digest; cgend sends it on its next pass. "digest --print" writes the
 * digest's text on stdout and neither sends nor records anything.
 *
 * Exit codes: 0 ok, 1 a finding (verify failed, published head not in the
 * chain, case not found, bad import, the day's digest already sent), 2 usage,
 * 78 configuration error. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "calendar.h"
#include "case.h"
#include "conf.h"
#include "directory.h"
#include "exemption.h"
#include "export.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "util.h"

#define EX_CONFIG 78

static void usage(FILE *f)
{
	fputs("usage: cgenctl -c FILE [--now TIMESTAMP] COMMAND\n"
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
	      "                              write or update the central file of granted cases\n", f);
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

static void emit(struct buf *b)
{
	if (b->len)
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
	emit(&b);
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
		return 2;
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

static int cmd_digest(const struct conf *cfg, time_t now, int print_only, struct buf *b)
{
	struct agent a;
	char *err = NULL;
	if (agent_open(&a, cfg, 0, &err) != 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return EX_CONFIG;
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
		return 2;
	}
	struct agent a;
	char *err = NULL;
	if (agent_open(&a, cfg, 0, &err) != 0) {
		fprintf(stderr, "cgenctl: %s\n", err);
		free(err);
		return EX_CONFIG;
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"now", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	time_t now = time(NULL);
	int c;
	/* '+': stop at the command word; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n':
			if (parse_iso8601(optarg, &now) != 0) {
				fprintf(stderr, "cgenctl: --now: not an ISO 8601 time with offset: %s\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	struct cmd_opts o;
	int sub = strcmp(cmd, "directory") == 0;
	if (split_opts(argc - optind - 1 - sub, argv + optind + 1 + sub, &o) != 0 ||
	    (sub && (optind + 1 >= argc || strcmp(argv[optind + 1], "import") != 0))) {
		usage(stderr);
		return 2;
	}
	int want = strcmp(cmd, "show") == 0 || strcmp(cmd, "parse") == 0 || sub ? 1 : 0;
	int is_export = strcmp(cmd, "export") == 0, is_verify = strcmp(cmd, "verify") == 0;
	int known = want || strcmp(cmd, "list") == 0 || strcmp(cmd, "queue") == 0 ||
		    is_verify || strcmp(cmd, "digest") == 0 || is_export;
	int reprocess = strcmp(cmd, "queue") == 0 && o.nargs == 2 && strcmp(o.args[0], "reprocess") == 0;
	if (!known || (o.nargs != want && !(is_verify && o.nargs == 1) && !reprocess) ||
	    (o.print && strcmp(cmd, "digest") != 0) || (o.head && !is_verify) ||
	    (is_export != (o.granted != NULL)) || (!is_export && (o.entity || o.since)) ||
	    (o.expiring && (strcmp(cmd, "list") != 0 || o.state || parse_days(o.expiring) < 0))) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "parse") == 0)
		return cmd_parse(o.args[0], o.json);
	if (!path) {
		usage(stderr);
		return 2;
	}

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

	struct store *st = NULL;
	char *err = NULL;
	if (store_open(cfg.store_path, &st, &err) != STORE_OK) {
		fprintf(stderr, "cgenctl: store %s: %s\n", cfg.store_path, err ? err : "cannot open");
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
			rc = 2;
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
	emit(&b);
	store_close(st);
	conf_free(&cfg);
	return rc;
}
