/* cgend: the agent daemon (DESIGN.md section 7).
 *
 *   cgend [-c FILE] [--once] [--foreground] [--now TIMESTAMP]
 *         [--check-config [--connect]] [--version] [--help]
 *
 * FILE defaults to CGEN_DEFAULT_CONF (/etc/cgen/cgen.conf). Started as root,
 * it becomes [daemon] user before it opens the store. Under systemd
 * (Type=notify) it reports READY, STATUS, WATCHDOG and STOPPING, and writes a
 * heartbeat to the store each round for `cgenctl status`.
 *
 * Exit codes (sysexits): 0 ok, 1 a run failed (store or mailbox error, or
 * another cgend holds the store), 64 usage, 78 configuration error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sysexits.h>

#include "agent.h"
#include "conf.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "store.h"
#include "util.h"

#ifndef CGEN_DEFAULT_CONF
#define CGEN_DEFAULT_CONF "/etc/cgen/cgen.conf"
#endif

static volatile sig_atomic_t got_term, got_hup, wake;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	wake = 1; /* ends a wait for mail */
}

static void usage(FILE *f)
{
	fputs("usage: cgend [-c FILE] [--once] [--foreground] [--now TIMESTAMP]\n"
	      "             [--check-config [--connect]] [--version] [--help]\n"
	      "  -c FILE           configuration (default " CGEN_DEFAULT_CONF ")\n"
	      "  --once            handle what is waiting, send what is due, and exit\n"
	      "  --foreground      log to stderr instead of syslog\n"
	      "  --now TIMESTAMP   run as if it were that moment (ISO 8601 with offset)\n"
	      "  --check-config    check the configuration, templates, secrets and store\n"
	      "  --connect         with --check-config: also log in to IMAP and SMTP\n"
	      "See cgend(8) and cgen.conf(5).\n", f);
}

/* What `cgend --check-config --connect` finds, one line each. */
struct findings {
	struct strv ok, fix;
};

/* --check-config --connect: logs in to the mailbox and the SMTP server (TLS
 * verified), looks at the folders, templates and the entity directory, and
 * says what to fix. Returns the number of problems. */
static size_t check_connect(const struct conf *cfg, struct agent *a)
{
	struct findings f = {0};
	char *err = NULL;
	const struct source_ops *src = source_for(cfg);
	void *ss = NULL;
	if (!src)
		strv_addf(&f.fix, "mailbox %s: not supported by this version", cfg->mailbox.url);
	else if (src->open(cfg, NULL, &ss, &err) != 0) {
		strv_addf(&f.fix, "mailbox: %s (check [mailbox] url, password_file or token_command, "
			  "ca_file)", err);
		free(err);
		err = NULL;
	} else {
		strv_addf(&f.ok, "mailbox %s: logged in%s, folder opened", cfg->mailbox.url,
			  cfg->mailbox.host ? " with the server certificate verified" : "");
		if (src->check)
			src->check(ss, &f.ok, &f.fix);
		src->close(ss);
	}
	const struct sender_ops *snd = sender_for(cfg);
	void *so = NULL;
	if (!snd)
		strv_addf(&f.fix, "smtp %s: not supported by this version", cfg->smtp.url);
	else if (snd->open(cfg, &so, &err) != 0) {
		strv_addf(&f.fix, "smtp: %s (check [smtp] url and password_file)", err);
		free(err);
		err = NULL;
	} else {
		if (!snd->check)
			strv_addf(&f.ok, "smtp %s: ready", cfg->smtp.url);
		else if (snd->check(so, &err) != 0) {
			strv_addf(&f.fix, "%s (check [smtp] url, starttls, password_file or "
				  "token_command, ca_file)", err);
			free(err);
			err = NULL;
		} else
			strv_addf(&f.ok, "smtp %s: connected, %slogged in", cfg->smtp.url,
				  cfg->smtp.host ? "TLS verified where used, " : "");
		snd->close(so);
	}
	strv_addf(&f.ok, "templates: every template found (%s, then the installed ones)",
		  cfg->templates_dir);
	struct directory d = {0};
	if (store_directory_load(a->st, &d) != STORE_OK)
		strv_addf(&f.fix, "directory: %s", store_errmsg(a->st));
	else if (d.n == 0)
		strv_addf(&f.fix, "directory: the entity directory is empty (cgenctl directory import "
			  "FILE; an example is etc/entities.csv)");
	else
		strv_addf(&f.ok, "directory: %zu entities", d.n);
	directory_free(&d);
	for (size_t i = 0; i < f.ok.n; i++)
		printf("ok: %s\n", f.ok.v[i]);
	for (size_t i = 0; i < f.fix.n; i++)
		printf("FIX: %s\n", f.fix.v[i]);
	size_t n = f.fix.n;
	strv_free(&f.ok);
	strv_free(&f.fix);
	return n;
}

/* The heartbeat of DESIGN.md's `cgenctl status`: what this process is doing,
 * written to the store once a round. A failed write is logged, never fatal. */
static void heartbeat(struct agent *a, struct heartbeat *hb, time_t now)
{
	static time_t seen; /* the last problem already in the heartbeat */
	time_t at;
	const char *e = log_last_problem(&at);
	hb->beat_at = now;
	if (e && at && at != seen) {
		seen = at;
		str_set(&hb->error, e);
		hb->error_at = now;
	}
	if (store_heartbeat_put(a->st, hb) != STORE_OK)
		log_warn("heartbeat: %s", store_errmsg(a->st));
}

static int load_conf(const char *path, struct conf *cfg)
{
	struct strv errs = {0};
	memset(cfg, 0, sizeof *cfg);
	int rc = conf_load(path, cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_err("%s", errs.v[i]);
	strv_free(&errs);
	if (rc == 0) {
		setenv("TZ", cfg->workflow.timezone, 1);
		tzset();
	}
	return rc;
}

/* Holds an exclusive lock on STORE.lock for the life of the process. */
static int lock_store(const char *store_path)
{
	char *p = xasprintf("%s.lock", store_path);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("%s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_err("another cgend is already running on the store %s (lock %s held)", store_path, p);
		close(fd);
		free(p);
		return -1;
	}
	free(p);
	return fd;
}

static int write_pid_file(const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int ok = f && fprintf(f, "%ld\n", (long)getpid()) > 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		log_err("pid file %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static time_t now_of(int fixed, time_t fixed_now)
{
	return fixed ? fixed_now : time(NULL);
}

/* Closes the mailbox source and opens it again after about delay seconds
 * (plus up to a quarter more, at random, so that agents do not reconnect in
 * step), sleeping in short steps so that signals end the pause. On failure
 * a->src_state stays NULL and the caller tries again later. */
static void reopen_source(struct agent *a, unsigned delay)
{
	if (a->src_state) {
		a->src->close(a->src_state);
		a->src_state = NULL;
	}
	static int seeded;
	if (!seeded) {
		srandom((unsigned)getpid() ^ (unsigned)time(NULL));
		seeded = 1;
	}
	long long ms = 1000LL * delay + random() % (250LL * delay + 1);
	log_info("mailbox: reconnecting in %lld ms", ms);
	for (; ms > 0 && !got_term && !got_hup; ms -= 200) {
		struct timespec ts = {0, (ms < 200 ? ms : 200) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (got_term)
		return;
	char *err = NULL;
	if (a->src->open(a->cfg, a->st, &a->src_state, &err) != 0) {
		log_warn("mailbox: %s", err);
		free(err);
		a->src_state = NULL;
		return;
	}
	log_info("mailbox: reconnected");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, 'o'},
		{"foreground", no_argument, NULL, 'f'},
		{"now", required_argument, NULL, 'n'},
		{"check-config", no_argument, NULL, 'k'},
		{"connect", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = CGEN_DEFAULT_CONF;
	umask(0077); /* every file the agent writes is private */
	int once = 0, fg = 0, check = 0, fixed = 0, connect = 0, c;
	time_t fixed_now = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': once = 1; break;
		case 'f': fg = 1; break;
		case 'k': check = 1; break;
		case 'C': connect = 1; break;
		case 'n':
			if (parse_iso8601(optarg, &fixed_now) != 0) {
				fprintf(stderr, "cgend: --now: not an ISO 8601 time with offset: %s\n", optarg);
				return EX_USAGE;
			}
			fixed = 1;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cgend (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc || (connect && !check)) {
		usage(stderr);
		return EX_USAGE;
	}
	log_open("cgend", fg || check || once, LOGL_INFO);

	struct conf cfg;
	if (load_conf(path, &cfg) != 0) {
		conf_free(&cfg);
		return EX_CONFIG;
	}
	enum log_level lvl = LOGL_INFO;
	log_level_parse(cfg.log_level, &lvl);
	log_open("cgend", fg || check || once, lvl);

	struct agent a;
	char *err = NULL;
	/* As root: the service account before anything is opened for writing. */
	int dropped = privs_drop(cfg.daemon_user, &err);
	if (dropped < 0) {
		log_err("%s", err);
		free(err);
		conf_free(&cfg);
		return EX_CONFIG;
	}
	if (dropped == 1)
		log_warn("running as root: there is no account %s to run as (create it, or set "
			 "[daemon] user)", PRIVS_DEFAULT_USER);
	if (check) {
		/* Everything a start would check; with --connect the servers too. */
		int rc = agent_open(&a, &cfg, 0, &err);
		if (rc != 0) {
			log_err("%s", err);
			free(err);
			conf_free(&cfg);
			return EX_CONFIG;
		}
		size_t problems = connect ? check_connect(&cfg, &a) : 0;
		agent_close(&a);
		if (problems)
			printf("%s: %zu problem(s) to fix\n", path, problems);
		else
			printf("%s: configuration ok\n", path);
		conf_free(&cfg);
		return problems ? EX_CONFIG : 0;
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lockfd = lock_store(cfg.store_path);
	if (lockfd < 0) {
		conf_free(&cfg);
		return 1;
	}
	if (agent_open(&a, &cfg, 1, &err) != 0) {
		log_err("%s", err);
		free(err);
		conf_free(&cfg);
		close(lockfd);
		return EX_CONFIG;
	}
	if (cfg.pid_file && write_pid_file(cfg.pid_file) != 0) {
		agent_close(&a);
		conf_free(&cfg);
		close(lockfd);
		return 1;
	}
	log_info("started on %s (store %s)", cfg.mailbox.url, cfg.store_path);
	struct heartbeat hb = {.pid = getpid(), .started_at = now_of(fixed, fixed_now)};
	{
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		hb.host = xstrdup(host);
	}
	unsigned wd = notify_watchdog_sec();
	notify_send("READY=1\nSTATUS=started");

	int status = 0;
	unsigned backoff = 0; /* seconds before reopening the mailbox; 0 while healthy */
	while (!got_term) {
		size_t handled = 0, sent = 0, expired = 0;
		wake = 0;
		/* src_state is NULL while the mailbox could not be reopened */
		int rc = a.src_state ? agent_run_inbox(&a, now_of(fixed, fixed_now), &handled) : -1;
		hb.poll_at = now_of(fixed, fixed_now);
		hb.poll_ok = rc == 0;
		if (rc == 0) {
			free(hb.poll_result);
			hb.poll_result = xasprintf("%zu mail(s) handled", handled);
		} else {
			time_t at;
			const char *e = log_last_problem(&at);
			str_set(&hb.poll_result, e ? e : "the mailbox could not be read");
		}
		if (agent_expire_outbox(&a, now_of(fixed, fixed_now), &expired) != 0)
			rc = -1;
		/* The clock: reminders, then the digest when due (DESIGN.md section 5). */
		size_t reminded = 0;
		int rc3 = agent_tick(&a, now_of(fixed, fixed_now), &reminded);
		int due = agent_digest_due(&a, now_of(fixed, fixed_now));
		if (due < 0 || (due == 1 && agent_digest(&a, now_of(fixed, fixed_now), 0, NULL) < 0))
			rc3 = -1;
		int rc2 = agent_flush_outbox(&a, now_of(fixed, fixed_now), &sent);
		if (handled || sent)
			log_info("handled %zu mail(s), sent %zu", handled, sent);
		if (sent || a.send_failures || rc2) {
			hb.send_at = now_of(fixed, fixed_now);
			hb.send_ok = !a.send_failures && !rc2;
			free(hb.send_result);
			hb.send_result = hb.send_ok ? xasprintf("%zu mail(s) sent", sent)
				       : xasprintf("%zu sent, %zu not: %s", sent, a.send_failures,
						   a.send_error ? a.send_error : "the sender cannot be used");
		}
		heartbeat(&a, &hb, now_of(fixed, fixed_now));
		{
			char *st = xasprintf("STATUS=%s; %s%s\nWATCHDOG=1", hb.poll_ok ? hb.poll_result
										    : "mailbox unreachable",
					     hb.send_result ? "last send: " : "nothing sent yet",
					     hb.send_result ? hb.send_result : "");
			notify_send(st);
			free(st);
		}
		if (once) {
			status = rc || rc2 || rc3 ? 1 : 0;
			break;
		}
		if (rc == 0) {
			char *werr = NULL;
			int timeout = cfg.mailbox.poll_interval;
			if (wd && (unsigned)timeout > wd / 2)
				timeout = wd / 2 ? (int)(wd / 2) : 1;
			if (a.src->wait(a.src_state, timeout, &wake, &werr) != 0) {
				log_warn("mailbox: %s", werr);
				free(werr);
				rc = -1;
			} else {
				backoff = 0;
			}
		}
		if (rc != 0 && !got_term) {
			backoff = backoff ? (backoff * 2 > 60 ? 60 : backoff * 2) : 1;
			reopen_source(&a, backoff);
		}
		if (got_hup) {
			got_hup = 0;
			struct conf ncfg;
			if (load_conf(path, &ncfg) != 0) {
				log_err("reload: configuration has errors; keeping the running one");
				conf_free(&ncfg);
				continue;
			}
			struct agent na;
			if (agent_open(&na, &ncfg, 1, &err) != 0) {
				log_err("reload: %s; keeping the running configuration", err);
				free(err);
				err = NULL;
				conf_free(&ncfg);
				continue;
			}
			agent_close(&a);
			conf_free(&cfg);
			cfg = ncfg;
			a = na;
			a.cfg = &cfg;
			log_open("cgend", fg, log_level_parse(cfg.log_level, &lvl) == 0 ? lvl : LOGL_INFO);
			log_info("reloaded configuration and templates");
		}
	}
	log_info("stopping");
	notify_send("STOPPING=1\nSTATUS=stopping");
	if (!once) {
		hb.stopped_at = now_of(fixed, fixed_now);
		heartbeat(&a, &hb, hb.stopped_at);
	}
	store_heartbeat_clear(&hb);
	agent_close(&a);
	if (cfg.pid_file)
		unlink(cfg.pid_file);
	conf_free(&cfg);
	close(lockfd);
	return status;
}
