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
 * Exit codes (sysexits): 0 ok, 1 a run failed (store or mailbox error,
 * another cgend holds the store, the store was deleted or replaced while it
 * ran), 64 usage, 75 a failure that may pass by itself (the IMAP server
 * cannot be reached, the disk is full: EX_TEMPFAIL, so that
 * RestartPreventExitStatus=78 only stops real configuration mistakes), 78
 * configuration error (a missing store included: it is created only with
 * [store] create = yes).
 *
 * While the store cannot commit (disk full) the daemon takes no new mail and
 * sends nothing; it says so once in the log and in STORE.state (runstate.h),
 * tries a small write with backoff (1 s doubling to 60 s) and goes on by
 * itself once the write works. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sysexits.h>

#include "agent.h"
#include "conf.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "runstate.h"
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
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		log_err("%s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
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

/* Sleeps about seconds, in short steps so that SIGTERM ends the pause (a
 * SIGHUP waits: the reload comes once the store commits again). */
static void pause_for(unsigned seconds)
{
	for (long long ms = 1000LL * seconds; ms > 0 && !got_term; ms -= 200) {
		struct timespec ts = {0, (ms < 200 ? ms : 200) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* STORE.state (runstate.h): the file and what it says now. */
struct state_file {
	int fd;                  /* -1 when it could not be made */
	struct runstate rs;
};

static void state_set(struct state_file *sf, const char *state, int store_ok, const char *error)
{
	time_t now = time(NULL);
	if (strcmp(sf->rs.state, state) != 0 || sf->rs.store_ok != store_ok)
		sf->rs.since = now;
	snprintf(sf->rs.state, sizeof sf->rs.state, "%s", state);
	sf->rs.store_ok = store_ok;
	snprintf(sf->rs.error, sizeof sf->rs.error, "%s", error ? error : "");
	sf->rs.updated = now;
	if (sf->fd >= 0 && runstate_write(sf->fd, &sf->rs) < 0)
		log_warn("%s.state: %s", "store", strerror(errno));
}

static void rfc3339(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 1 when the configured store is missing and may not be created (reported). */
static int store_absent(const struct conf *cfg)
{
	struct stat sb;
	if (cfg->store_create || stat(cfg->store_path, &sb) == 0 || errno != ENOENT)
		return 0;
	log_err("store %s: no store here; nothing was created. Check [store] path, or create the "
		"store with cgenctl init (or set [store] create = yes)", cfg->store_path);
	return 1;
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
	umask(077); /* every file the daemon writes is private, whatever the umask */
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
	unsigned store_flags = STORE_OPEN_MIGRATE | (cfg.store_create ? STORE_OPEN_CREATE : 0);
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
		/* Everything a start would check, without touching the mailbox or
		 * writing the store (read-only: never created, never migrated);
		 * with --connect the servers too. */
		int rc = agent_open_flags(&a, &cfg, 0, STORE_OPEN_RDONLY, &err);
		if (rc != 0) {
			log_err("%s", err);
			free(err);
			conf_free(&cfg);
			return rc == -2 ? EX_TEMPFAIL : EX_CONFIG;
		}
		size_t problems = connect ? check_connect(&cfg, &a) : 0;
		agent_close(&a);
		if (!cfg.require_auth_results)
			log_warn("%s: [security] require_auth_results = no: a forged From: address is "
				 "believed; the production setting is yes (with authserv_id)", path);
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

	if (store_absent(&cfg)) {
		conf_free(&cfg);
		return EX_CONFIG;
	}
	int lockfd = lock_store(cfg.store_path);
	if (lockfd < 0) {
		conf_free(&cfg);
		return errno == ENOSPC || errno == EDQUOT || errno == EIO ? EX_TEMPFAIL : 1;
	}
	int orc = agent_open_flags(&a, &cfg, 1, store_flags, &err);
	if (orc != 0) {
		log_err("%s", err);
		free(err);
		conf_free(&cfg);
		close(lockfd);
		return orc == -2 ? EX_TEMPFAIL : EX_CONFIG;
	}
	a.stop = &got_term;
	if (cfg.pid_file && write_pid_file(cfg.pid_file) != 0) {
		agent_close(&a);
		conf_free(&cfg);
		close(lockfd);
		return errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : 1;
	}
	struct state_file sf = {.fd = runstate_open(cfg.store_path, &err)};
	if (sf.fd < 0) {
		log_warn("%s", err);
		free(err);
		err = NULL;
	}
	sf.rs.pid = (long)getpid();
	state_set(&sf, "running", 1, NULL);
	log_info("started on %s (store %s)", cfg.mailbox.url, cfg.store_path);
	if (agent_reconcile(&a, now_of(fixed, fixed_now)) != 0 && !a.store_down) {
		agent_close(&a);
		conf_free(&cfg);
		close(lockfd);
		return 1;
	}
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
	unsigned store_backoff = 0;
	time_t down_since = 0;
	char *down_error = NULL;
	while (!got_term) {
		size_t handled = 0, sent = 0, expired = 0;
		wake = 0;
		/* Each round: is the store still the file opened? A store deleted
		 * under the daemon is never written on as if nothing happened. */
		if (store_file_check(a.st) != STORE_OK) {
			log_err("%s; stopping (the daemon never re-creates a store: restore it, then start "
				"cgend again)", store_errmsg(a.st));
			status = 1;
			break;
		}
		if (a.store_down && !down_since) {
			/* Said once; then a trial write with backoff until one works. */
			down_since = time(NULL);
			free(down_error);
			down_error = xstrdup(store_errmsg(a.st));
			log_err("store %s cannot commit (%s): no new mail is taken and nothing is sent "
				"until it can; trying again with backoff", cfg.store_path, down_error);
			state_set(&sf, "paused", 0, down_error);
		}
		if (a.store_down) {
			if (store_probe(a.st, now_of(fixed, fixed_now)) == STORE_OK &&
			    agent_record_results(&a, now_of(fixed, fixed_now)) == 0) {
				char t0[32], t1[32];
				rfc3339(down_since, t0);
				rfc3339(time(NULL), t1);
				char *d = xasprintf("the store could not commit from %s to %s (%s); no mail was "
						    "taken and none sent meanwhile", t0, t1, down_error);
				a.store_down = 0;
				store_event_add(a.st, NULL, now_of(fixed, fixed_now), "store_paused", "agent", d);
				free(d);
				log_info("store %s commits again (it could not since %s): taking mail again",
					 cfg.store_path, t0);
				state_set(&sf, "running", 1, NULL);
				down_since = 0;
				store_backoff = 0;
			} else {
				a.store_down = 1;
				if (once) {
					status = EX_TEMPFAIL;
					break;
				}
				store_backoff = store_backoff ? (store_backoff * 2 > 60 ? 60 : store_backoff * 2) : 1;
				pause_for(store_backoff);
				continue;
			}
		}
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
		int rc3 = 0, rc2 = 0;
		if (!a.store_down && !got_term) {
			rc3 = agent_tick(&a, now_of(fixed, fixed_now), &reminded);
			int due = agent_digest_due(&a, now_of(fixed, fixed_now));
			if (due < 0 || (due == 1 && agent_digest(&a, now_of(fixed, fixed_now), 0, NULL) < 0))
				rc3 = -1;
			if (rc3 != 0 && store_error_transient(a.st))
				a.store_down = 1;
		}
		if (!a.store_down)
			rc2 = agent_flush_outbox(&a, now_of(fixed, fixed_now), &sent);
		if (handled || sent)
			log_info("handled %zu mail(s), sent %zu", handled, sent);
		if (a.store_down) {
			if (once) {
				log_err("store %s cannot commit (%s): nothing more is taken", cfg.store_path,
					store_errmsg(a.st));
				status = EX_TEMPFAIL;
				break;
			}
			continue; /* said once above, then retried with backoff */
		}
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
			if (a.n_unrecorded) {
				log_warn("reload postponed: send results wait for the store");
				got_hup = 1;
				continue;
			}
			struct conf ncfg;
			if (load_conf(path, &ncfg) != 0) {
				log_err("reload: configuration has errors; keeping the running one");
				conf_free(&ncfg);
				continue;
			}
			struct agent na;
			if (agent_open_flags(&na, &ncfg, 1, STORE_OPEN_MIGRATE, &err) != 0) {
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
			a.stop = &got_term;
			log_open("cgend", fg, log_level_parse(cfg.log_level, &lvl) == 0 ? lvl : LOGL_INFO);
			log_info("reloaded configuration and templates");
		}
	}
	free(down_error);
	if (a.n_unrecorded && agent_record_results(&a, now_of(fixed, fixed_now)) != 0)
		log_err("stopping with %zu send result(s) the store could not record; they are settled "
			"at the next start", a.n_unrecorded);
	state_set(&sf, "stopped", !a.store_down, a.store_down ? store_errmsg(a.st) : NULL);
	if (sf.fd >= 0)
		close(sf.fd);
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
