/* sender_file.c: file:PATH as a sender (DESIGN.md section 7). Each mail goes
 * through PATH/tmp/<id>.eml, fsync, rename to PATH/new/<id>.eml and fsync of
 * PATH/new; a file in new/ counts as sent. Sending an id again replaces its file
 * atomically. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fs.h"
#include "sender.h"
#include "util.h"

struct outdir {
	char *path;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* An envelope address must stay on its header line and inside its brackets. */
static int addr_ok(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

static void fo_close(void *state)
{
	struct outdir *o = state;
	if (!o)
		return;
	free(o->path);
	free(o);
}

static int fo_open(const struct conf *cfg, void **state, char **err)
{
	static const char *const sub[] = {"", "/tmp", "/new"};
	const char *path = cfg->smtp.outdir;
	*state = NULL;
	if (!path || !*path) {
		*err = xstrdup("outbox: no folder configured");
		return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		char *p = xasprintf("%s%s", path, sub[i]);
		int r = fs_mkdir(p);
		if (r == 1 && i > 0 && fs_sync_dir(path) < 0)
			r = -1;
		if (r < 0)
			*err = xasprintf("outbox %s: %s", p, strerror(errno));
		free(p);
		if (r < 0)
			return -1;
	}
	struct outdir *o = xcalloc(1, sizeof *o);
	o->path = xstrdup(path);
	*state = o;
	return 0;
}

static int fo_send(void *state, int64_t outbox_id, const char *env_from,
		   const struct strv *rcpts, const char *data, size_t len, char **err)
{
	struct outdir *o = state;
	struct buf head = {0};
	char *tmp = NULL, *dst = NULL, *newdir = NULL;
	int fd = -1, ret = SENDER_PERMFAIL;
	if (!env_from)
		env_from = "";
	if (!addr_ok(env_from)) {
		*err = xstrdup("bad envelope sender: control character, '<' or '>'");
		goto out;
	}
	if (!rcpts || rcpts->n == 0) {
		*err = xstrdup("no recipient");
		goto out;
	}
	for (size_t i = 0; i < rcpts->n; i++)
		if (!*rcpts->v[i] || !addr_ok(rcpts->v[i])) {
			*err = xasprintf("bad recipient %zu: empty, control character, '<' or '>'",
					 i + 1);
			goto out;
		}
	buf_addf(&head, "X-Envelope-From: <%s>\r\n", env_from);
	for (size_t i = 0; i < rcpts->n; i++)
		buf_addf(&head, "X-Envelope-To: <%s>\r\n", rcpts->v[i]);

	ret = SENDER_TEMPFAIL;
	tmp = xasprintf("%s/tmp/%" PRId64 ".eml", o->path, outbox_id);
	dst = xasprintf("%s/new/%" PRId64 ".eml", o->path, outbox_id);
	newdir = xasprintf("%s/new", o->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = xasprintf("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, head.s, head.len) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		*err = xasprintf("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	int r = close(fd);
	fd = -1;
	if (r < 0) {
		*err = xasprintf("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		*err = xasprintf("rename %s to %s: %s", tmp, dst, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL; /* in new/ now: not to be removed */
	if (fs_sync_dir(newdir) < 0) {
		*err = xasprintf("fsync %s: %s", newdir, strerror(errno));
		goto out;
	}
	ret = SENDER_OK;
out:
	if (fd >= 0)
		close(fd);
	if (ret != SENDER_OK && tmp)
		unlink(tmp);
	buf_free(&head);
	free(tmp);
	free(dst);
	free(newdir);
	return ret;
}

/* A file in new/ got there by rename after fsync: it is whole. */
static int fo_was_sent(void *state, int64_t outbox_id, size_t len)
{
	struct outdir *o = state;
	struct stat sb;
	char *dst = xasprintf("%s/new/%" PRId64 ".eml", o->path, outbox_id);
	int r = stat(dst, &sb);
	int e = errno;
	free(dst);
	if (r < 0)
		return e == ENOENT ? 0 : -1;
	return S_ISREG(sb.st_mode) && (size_t)sb.st_size >= len ? 1 : 0;
}

static int64_t fo_last_id(void *state)
{
	struct outdir *o = state;
	char *newdir = xasprintf("%s/new", o->path);
	DIR *d = opendir(newdir);
	int64_t max = 0;
	free(newdir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long long n = strtoll(e->d_name, &end, 10);
		if (end != e->d_name && strcmp(end, ".eml") == 0 && n > max)
			max = n;
	}
	closedir(d);
	return max;
}

const struct sender_ops sender_file = {
	.name = "file",
	.open = fo_open,
	.send = fo_send,
	.close = fo_close,
	.was_sent = fo_was_sent,
	.last_id = fo_last_id,
};
