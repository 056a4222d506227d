/* sendlog.c: the send log beside the store (see sendlog.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sendlog.h"
#include "util.h"

char *sendlog_path(const char *store_path)
{
	return xasprintf("%s.sending", store_path);
}

int sendlog_open(const char *store_path, char **err)
{
	char *p = sendlog_path(store_path);
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat sb;
	errno = 0;
	if (fd < 0 || fchmod(fd, 0600) < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*err = xasprintf("%s: %s", p, fd >= 0 && errno == 0 ? "not a regular file" : strerror(errno));
		if (fd >= 0)
			close(fd);
		free(p);
		return -1;
	}
	free(p);
	return fd;
}

static int put(int fd, char kind, long long n)
{
	char line[32];
	int len = snprintf(line, sizeof line, "%c %lld\n", kind, n);
	/* one write() of one line: O_APPEND keeps lines whole */
	return fd >= 0 && write(fd, line, (size_t)len) == len ? 0 : -1;
}

int sendlog_round(int fd, time_t started, const int64_t *ids, size_t n)
{
	/* one write(): the round and its rows, or (a short write) a round whose
	 * unnamed rows read as "cannot tell" */
	struct buf b = {0};
	buf_addf(&b, "R %lld\n", (long long)started);
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "M %lld\n", (long long)ids[i]);
	int rc = fd >= 0 && write(fd, b.s, b.len) == (ssize_t)b.len ? 0 : -1;
	buf_free(&b);
	return rc;
}

int sendlog_begin(int fd, int64_t id)
{
	return put(fd, 'T', (long long)id);
}

int sendlog_done(int fd, int64_t id, int accepted)
{
	return put(fd, accepted ? 'S' : 'F', (long long)id);
}

int sendlog_clear(int fd)
{
	return fd >= 0 && ftruncate(fd, 0) == 0 ? 0 : -1;
}

static void note(struct sendlog_view *v, int64_t id, enum sendlog_state s)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->ids[i] == id) {
			v->state[i] = (signed char)s;
			return;
		}
	v->ids = xrealloc(v->ids, (v->n + 1) * sizeof *v->ids);
	v->state = xrealloc(v->state, (v->n + 1) * sizeof *v->state);
	v->ids[v->n] = id;
	v->state[v->n++] = (signed char)s;
}

int sendlog_read(const char *store_path, struct sendlog_view *v, char **err)
{
	memset(v, 0, sizeof *v);
	char *p = sendlog_path(store_path);
	FILE *f = fopen(p, "re");
	if (!f) {
		int e = errno;
		if (e == ENOENT) {
			free(p);
			return 0;
		}
		*err = xasprintf("%s: %s", p, strerror(e));
		free(p);
		return -1;
	}
	char line[64];
	while (fgets(line, sizeof line, f)) {
		char kind;
		long long n;
		char end;
		/* a line cut by a power loss (no newline) or garbage is ignored */
		if (sscanf(line, "%c %lld%c", &kind, &n, &end) != 3 || end != '\n')
			continue;
		if (kind == 'R') {
			/* only the last round counts */
			v->n = 0;
			v->have_round = 1;
			v->started = (time_t)n;
		} else if (v->have_round && (kind == 'M' || kind == 'F')) {
			note(v, n, SENDLOG_NOT_SENT);
		} else if (v->have_round && kind == 'T') {
			note(v, n, SENDLOG_IN_FLIGHT);
		} else if (v->have_round && kind == 'S') {
			note(v, n, SENDLOG_SENT);
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		*err = xasprintf("%s: read error", p);
		free(p);
		sendlog_view_free(v);
		return -1;
	}
	free(p);
	return 0;
}

enum sendlog_state sendlog_state_of(const struct sendlog_view *v, int64_t id, time_t started)
{
	if (!v->have_round || v->started != started)
		return SENDLOG_UNKNOWN;
	for (size_t i = 0; i < v->n; i++)
		if (v->ids[i] == id)
			return (enum sendlog_state)v->state[i];
	return SENDLOG_UNKNOWN; /* not in the round the log holds */
}

void sendlog_view_free(struct sendlog_view *v)
{
	free(v->ids);
	free(v->state);
	memset(v, 0, sizeof *v);
}
