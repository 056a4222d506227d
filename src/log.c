/* log.c: see log.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "util.h"

static int log_fg = 1;
static enum log_level log_lvl = LOGL_INFO;
static const char *log_ident = "cgen";

void log_open(const char *ident, int foreground, enum log_level level)
{
	log_ident = ident;
	log_lvl = level;
	if (!foreground && log_fg)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_fg = foreground;
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

static void log_v(enum log_level lvl, const char *fmt, va_list ap)
{
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
