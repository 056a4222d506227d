/* cgend: the agent daemon (DESIGN.md section 7).
 *
 *   cgend -c FILE [--once] [--foreground] [--now TIMESTAMP] [--check-config]
 *
 * Exit codes: 0 ok, 1 a run failed (store or mailbox error, or another cgend
 * holds the store), 2 usage, 78 configuration error. */
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

#include "agent.h"
#include "conf.h"
#include "log.h"
#include "util.h"

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
	if (check) {
		/* Everything a start would check, without touching the mailbox. */
		int rc = agent_open(&a, &cfg, 0, &err);
		if (rc != 0) {
			log_err("%s", err);
			free(err);
			conf_free(&cfg);
			return EX_CONFIG;
		}
		agent_close(&a);
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

	int status = 0;
	unsigned backoff = 0; /* seconds before reopening the mailbox; 0 while healthy */
	while (!got_term) {
		size_t handled = 0, sent = 0;
		wake = 0;
		/* src_state is NULL while the mailbox could not be reopened */
		int rc = a.src_state ? agent_run_inbox(&a, now_of(fixed, fixed_now), &handled) : -1;
		/* The clock: reminders, then the digest when due (DESIGN.md section 5). */
		size_t reminded = 0;
		int rc3 = agent_tick(&a, now_of(fixed, fixed_now), &reminded);
		int due = agent_digest_due(&a, now_of(fixed, fixed_now));
		if (due < 0 || (due == 1 && agent_digest(&a, now_of(fixed, fixed_now), 0, NULL) < 0))
			rc3 = -1;
		int rc2 = agent_flush_outbox(&a, now_of(fixed, fixed_now), &sent);
		if (handled || sent)
			log_info("handled %zu mail(s), sent %zu", handled, sent);
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
	agent_close(&a);
	if (cfg.pid_file)
		unlink(cfg.pid_file);
	conf_free(&cfg);
	close(lockfd);
	return status;
}
