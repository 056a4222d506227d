/* log.c: see log.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "util.h"

static int log_fg = 1;
static enum log_level log_lvl = LOGL_INFO;
static const char *log_ident = "cgen";
static int log_kprefix; /* stderr is the journal's stream: "<N>" prefixes */

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr goes to
 * the journal; a child that inherited the variable but writes elsewhere
 * must not prefix, so the stream itself is compared. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(const char *ident, int foreground, enum log_level level)
{
	log_ident = ident;
	log_lvl = level;
	if (!foreground && log_fg)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_fg = foreground;
	log_kprefix = foreground && stderr_is_journal();
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = {"err", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static char last_problem[512];
static time_t last_problem_at;

const char *log_last_problem(time_t *at)
{
	*at = last_problem_at;
	return last_problem_at ? last_problem : NULL;
}

static void log_v(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl <= LOGL_WARN) {
		va_list cp;
		va_copy(cp, ap);
		vsnprintf(last_problem, sizeof last_problem, fmt, cp);
		va_end(cp);
		for (char *p = last_problem; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		last_problem_at = time(NULL);
	}
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *tag[] = {"error", "warning", "info", "debug"};
	if (lvl > log_lvl)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Never let a value from a mail forge a log line or reach the
	 * operator's terminal raw: control characters are written as text. */
	char *safe = str_escape_controls(msg, 0);
	if (!log_fg)
		syslog(prio[lvl], "%s", safe);
	else if (log_kprefix) /* sd-daemon(3) priority prefix; the journal adds the name */
		fprintf(stderr, "<%d>%s: %s\n", prio[lvl], tag[lvl], safe);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, tag[lvl], safe);
	free(safe);
}

#define LOG_FN(name, lvl)                        \
	void name(const char *fmt, ...)          \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		log_v(lvl, fmt, ap);             \
		va_end(ap);                      \
	}
LOG_FN(log_err, LOGL_ERR)
LOG_FN(log_warn, LOGL_WARN)
LOG_FN(log_info, LOGL_INFO)
LOG_FN(log_debug, LOGL_DEBUG)
