/* runstate.c: see runstate.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runstate.h"
#include "util.h"

char *runstate_path(const char *store_path)
{
	return xasprintf("%s.state", store_path);
}

static void rfc3339(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int runstate_open(const char *store_path, char **err)
{
	char *p = runstate_path(store_path);
	int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat sb;
	if (fd < 0 || fchmod(fd, 0600) < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*err = xasprintf("%s: %s", p, fd >= 0 && errno == 0 ? "not a regular file" : strerror(errno));
		if (fd >= 0)
			close(fd);
		free(p);
		return -1;
	}
	/* The whole size once, now: later writes overwrite, never extend. */
	if (sb.st_size < RUNSTATE_SIZE) {
		char pad[RUNSTATE_SIZE];
		memset(pad, ' ', sizeof pad);
		pad[sizeof pad - 1] = '\n';
		if (pwrite(fd, pad, sizeof pad, 0) != (ssize_t)sizeof pad || fsync(fd) < 0) {
			*err = xasprintf("%s: %s", p, strerror(errno));
			close(fd);
			free(p);
			return -1;
		}
	}
	free(p);
	return fd;
}

int runstate_write(int fd, const struct runstate *rs)
{
	char since[32], updated[32], text[RUNSTATE_SIZE];
	rfc3339(rs->since, since);
	rfc3339(rs->updated, updated);
	char *error = str_escape_controls(rs->error, 0);
	int n = snprintf(text, sizeof text, "pid: %ld\nstate: %s\nstore: %s\nsince: %s\nupdated: %s\n"
			 "error: %s\n", rs->pid, rs->state, rs->store_ok ? "ok" : "cannot-commit",
			 since, updated, error);
	free(error);
	if (n < 0 || n >= (int)sizeof text)
		n = (int)sizeof text - 1, text[n - 1] = '\n';
	/* the rest of the fixed size: spaces, a last newline */
	memset(text + n, ' ', sizeof text - (size_t)n);
	text[sizeof text - 1] = '\n';
	if (pwrite(fd, text, sizeof text, 0) != (ssize_t)sizeof text)
		return -1;
	return fdatasync(fd);
}

int runstate_read(const char *store_path, struct runstate *out, char **err)
{
	char *p = runstate_path(store_path);
	FILE *f = fopen(p, "r");
	memset(out, 0, sizeof *out);
	if (!f) {
		int e = errno;
		if (e != ENOENT)
			*err = xasprintf("%s: %s", p, strerror(e));
		free(p);
		return e == ENOENT ? 1 : -1;
	}
	char line[RUNSTATE_SIZE];
	int seen = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = str_trim(colon + 1);
		seen++;
		if (strcmp(line, "pid") == 0)
			out->pid = strtol(v, NULL, 10);
		else if (strcmp(line, "state") == 0)
			snprintf(out->state, sizeof out->state, "%s", v);
		else if (strcmp(line, "store") == 0)
			out->store_ok = strcmp(v, "ok") == 0;
		else if (strcmp(line, "since") == 0)
			parse_iso8601(v, &out->since);
		else if (strcmp(line, "updated") == 0)
			parse_iso8601(v, &out->updated);
		else if (strcmp(line, "error") == 0)
			snprintf(out->error, sizeof out->error, "%s", v);
	}
	fclose(f);
	if (!seen || !out->state[0]) {
		*err = xasprintf("%s: not a state file of cgend", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}
