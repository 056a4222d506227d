/* log.h: the one logging module. Syslog by default, stderr in the foreground.
 * Never log a password, a secret, a reply key or a whole mail body. */
#ifndef CGEN_LOG_H
#define CGEN_LOG_H

#include <time.h>

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* ident: program name for syslog; foreground: stderr instead of syslog. May be
 * called again (SIGHUP) to change the level. Before log_open, messages go to
 * stderr at level info. */
void log_open(const char *ident, int foreground, enum log_level level);
/* Parses err|warn|info|debug; returns 0 on success, -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);

/* The last error or warning logged (at any level setting), with its time;
 * NULL (and *at 0) when none was. Valid until the next log call. */
const char *log_last_problem(time_t *at);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
