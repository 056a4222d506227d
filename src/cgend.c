/* cgend: the agent daemon (DESIGN.md section 7).
 *
 *   cgend -c FILE [--once] [--foreground] [--now TIMESTAMP] [--check-config]
 *
 * Exit codes: 0 ok, 1 a run failed (store or mailbox error, another cgend
 * holds the store, the store was deleted or replaced while it ran), 2 usage,
 * 75 a failure that may pass by itself (the IMAP server cannot be reached, the
 * disk is full: EX_TEMPFAIL, so that RestartPreventExitStatus=78 only stops
 * real configuration mistakes), 78 configuration error (a missing store
 * included: it is created only with [store] create = yes).
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

#include "agent.h"
#include "conf.h"
#include "log.h"
#include "runstate.h"
#include "store.h"
#include "util.h"

#define EX_TEMPFAIL 75
#define EX_CONFIG 78

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
	fputs("usage: cgend -c FILE [--once] [--foreground] [--now TIMESTAMP] [--check-config]\n", f);
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int once = 0, fg = 0, check = 0, fixed = 0, c;
	time_t fixed_now = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': once = 1; break;
		case 'f': fg = 1; break;
		case 'k': check = 1; break;
		case 'n':
			if (parse_iso8601(optarg, &fixed_now) != 0) {
				fprintf(stderr, "cgend: --now: not an ISO 8601 time with offset: %s\n", optarg);
				return 2;
			}
			fixed = 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
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
	if (check) {
		/* Everything a start would check, without touching the mailbox or
		 * writing the store (read-only: never created, never migrated). */
		int rc = agent_open_flags(&a, &cfg, 0, STORE_OPEN_RDONLY, &err);
		if (rc != 0) {
			log_err("%s", err);
			free(err);
			conf_free(&cfg);
			return rc == -2 ? EX_TEMPFAIL : EX_CONFIG;
		}
		agent_close(&a);
		if (!cfg.require_auth_results)
			log_warn("%s: [security] require_auth_results = no: a forged From: address is "
				 "believed; the production setting is yes (with authserv_id)", path);
		printf("%s: configuration ok\n", path);
		conf_free(&cfg);
		return 0;
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

	int status = 0;
	unsigned backoff = 0; /* seconds before reopening the mailbox; 0 while healthy */
	unsigned store_backoff = 0;
	time_t down_since = 0;
	char *down_error = NULL;
	while (!got_term) {
		size_t handled = 0, sent = 0;
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
		if (once) {
			status = rc || rc2 || rc3 ? 1 : 0;
			break;
		}
		if (rc == 0) {
			char *werr = NULL;
			if (a.src->wait(a.src_state, cfg.mailbox.poll_interval, &wake, &werr) != 0) {
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
	agent_close(&a);
	if (cfg.pid_file)
		unlink(cfg.pid_file);
	conf_free(&cfg);
	close(lockfd);
	return status;
}
