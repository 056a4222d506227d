/* source_maildir.c: maildir:PATH as a source (DESIGN.md section 7).
 *
 * libetpan lists the folder: maildir_update() keeps the listing of new/ and cur/
 * and reads the directories again when their mtime changes. The renames are done
 * here, because libetpan's maildir_message_change_flags() writes the flags out of
 * ASCII order, drops the ones it does not know, never fsyncs, and takes a failed
 * link() for success. Nothing is ever deleted: a processed mail gets the S flag in
 * cur/, a quarantined one moves to PATH/.Quarantine/cur/. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* struct maildir embeds char[HOST_NAME_MAX]: it must be the system's value, the
 * one libetpan was built with, or every field after it is misread. */
#ifndef HOST_NAME_MAX
#error "HOST_NAME_MAX undefined: struct maildir would not match libetpan"
#endif
#include <libetpan/carray.h>
#include <libetpan/chash.h>
#include <libetpan/maildir.h>

#include "conf.h"
#include "fs.h"
#include "log.h"
#include "source.h"
#include "store.h"
#include "util.h"

#define QUARANTINE ".Quarantine"

struct mdir {
	char *path;
	struct maildir *md;
	chash *handled;     /* refs given to done or quarantine in this session */
	time_t scanned;     /* when the listing was last read from disk */
	int quarantine_ok;  /* PATH/.Quarantine/{tmp,new,cur} exist */
	long long max_size; /* [mailbox] max_message_size; 0: no limit */
	chash *replay;      /* seen mails of cur/ to read again (restore), refs */
	char *key;          /* "maildir:PATH": the mailbox's name in the store */
};

static void out_of_memory(void)
{
	log_err("out of memory");
	abort();
}

/* Creates the missing tmp/, new/ and cur/ of the existing folder path. */
static int make_maildir(const char *path, char **err)
{
	static const char *const sub[] = {"tmp", "new", "cur"};
	int created = 0;
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		char *p = xasprintf("%s/%s", path, sub[i]);
		int r = fs_mkdir(p);
		if (r < 0)
			*err = xasprintf("maildir %s: %s", p, strerror(errno));
		free(p);
		if (r < 0)
			return -1;
		created |= r;
	}
	if (created && fs_sync_dir(path) < 0) {
		*err = xasprintf("maildir %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int is_unseen(const struct maildir_msg *m)
{
	return (m->msg_flags & MAILDIR_FLAG_NEW) || !(m->msg_flags & MAILDIR_FLAG_SEEN);
}

static int is_handled(struct mdir *st, const char *ref)
{
	chashdatum key = {(void *)ref, (unsigned int)strlen(ref)}, val;
	return chash_get(st->handled, &key, &val) == 0;
}

static void set_add(chash *set, const char *ref)
{
	chashdatum key = {(void *)ref, (unsigned int)strlen(ref)}, val = {NULL, 0};
	if (chash_set(set, &key, &val, NULL) < 0)
		out_of_memory();
}

/* After a fresh listing, keep only the handled refs that still look unseen on
 * disk: the others cannot come back, so the set stays small. */
static void prune(struct mdir *st)
{
	if (chash_count(st->handled) == 0)
		return;
	chash *keep = chash_new(CHASH_DEFAULTSIZE, CHASH_COPYKEY);
	if (!keep)
		out_of_memory();
	carray *list = st->md->mdir_msg_list;
	for (unsigned int i = 0; i < carray_count(list); i++) {
		struct maildir_msg *m = carray_get(list, i);
		if (is_unseen(m) && is_handled(st, m->msg_uid))
			set_add(keep, m->msg_uid);
	}
	chash_free(st->handled);
	st->handled = keep;
}

/* Brings libetpan's listing up to date. It compares whole-second mtimes, so a
 * change made in the second of the last reading (or the one before: file
 * systems stamp with a coarse clock) would go unseen: such a listing, or any
 * when force is set, is read again. Otherwise an unchanged folder costs two
 * stat() calls. */
static int scan(struct mdir *st, int force, char **err)
{
	struct maildir *md = st->md;
	time_t now = time(NULL);
	if (force || md->mdir_mtime_new >= st->scanned - 1 || md->mdir_mtime_cur >= st->scanned - 1)
		md->mdir_mtime_new = md->mdir_mtime_cur = (time_t)-1;
	time_t was_new = md->mdir_mtime_new, was_cur = md->mdir_mtime_cur;
	errno = 0;
	if (maildir_update(md) != MAILDIR_NO_ERROR) {
		*err = xasprintf("maildir %s: cannot list new/ and cur/: %s", st->path,
				 errno ? strerror(errno) : "unknown error");
		return -1;
	}
	if (md->mdir_mtime_new != was_new || md->mdir_mtime_cur != was_cur) {
		st->scanned = now;
		prune(st);
	}
	return 0;
}

static const char *msg_sub(const struct maildir_msg *m)
{
	return (m->msg_flags & MAILDIR_FLAG_NEW) ? "new" : "cur";
}

static char *msg_path(const struct mdir *st, const struct maildir_msg *m)
{
	return xasprintf("%s/%s/%s", st->path, msg_sub(m), m->msg_filename);
}

/* What an entry that is not a regular file is, for people. */
static const char *kind_of(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
	     : S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISDIR(m) ? "a folder"
	     : "not a regular file";
}

/* Reads the file at path into b. A file of more than max bytes (max > 0) is
 * read only up to the end of its header (at most 256 KiB); *size is the
 * file's whole size. Never follows a symbolic link nor blocks (O_NOFOLLOW |
 * O_NONBLOCK), and reads only a regular file (fstat after open): for any
 * other entry returns -2 with *what set. -1 with errno set on an error. */
static int read_file(const char *path, struct buf *b, long long max, size_t *size,
		     const char **what)
{
	struct stat sb;
	int ret = -1, e = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		if ((e == ELOOP || e == ENXIO || e == EISDIR) && lstat(path, &sb) == 0) {
			*what = kind_of(sb.st_mode);
			return -2;
		}
		errno = e;
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		e = errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		*what = kind_of(sb.st_mode);
		ret = -2;
		goto out;
	}
	*size = (size_t)sb.st_size;
	int head_only = max > 0 && sb.st_size > max;
	for (;;) {
		if (head_only && (b->len >= 262144 || (b->s && (strstr(b->s, "\n\n") || strstr(b->s, "\r\n\r\n")))))
			break;
		char chunk[65536];
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto out;
		}
		if (r == 0)
			break;
		buf_add(b, chunk, (size_t)r);
	}
	ret = 0;
out:
	close(fd);
	errno = e;
	return ret;
}

static int cmp_uid(const void *a, const void *b)
{
	const struct maildir_msg *x = *(struct maildir_msg *const *)a;
	const struct maildir_msg *y = *(struct maildir_msg *const *)b;
	return strcmp(x->msg_uid, y->msg_uid);
}

/* The listed entry of ref whose file is still in place, with its path; the
 * listing is read again once when stale. -1 with *err when there is none. */
static int locate(struct mdir *st, const char *ref, struct maildir_msg **out, char **path,
		  char **err)
{
	for (int pass = 0; pass < 2; pass++) {
		chashdatum key = {(void *)ref, (unsigned int)strlen(ref)}, val;
		struct stat sb;
		if (pass == 1 && scan(st, 1, err) < 0)
			return -1;
		if (chash_get(st->md->mdir_msg_hash, &key, &val) < 0)
			continue;
		char *p = msg_path(st, val.data);
		if (lstat(p, &sb) == 0) {
			*out = val.data;
			*path = p;
			return 0;
		}
		free(p);
	}
	*err = xasprintf("maildir %s: no message %s", st->path, ref);
	return -1;
}

/* "UID:2,FLAGS": the flags of m's file name plus S, each once and in ASCII
 * order as the Maildir specification asks. */
static char *seen_name(const struct maildir_msg *m)
{
	const char *info = m->msg_filename + strlen(m->msg_uid);
	char flags['~' - '!' + 2];
	size_t n = 0;
	info = strncmp(info, ":2,", 3) == 0 ? info + 3 : "";
	for (int c = '!'; c <= '~'; c++)
		if (c == 'S' || (c != ',' && strchr(info, c)))
			flags[n++] = (char)c;
	flags[n] = '\0';
	return xasprintf("%s:2,%s", m->msg_uid, flags);
}

/* Renames m's file to dir/seen_name and makes both directory entries durable. */
static int move_seen(struct mdir *st, const struct maildir_msg *m, const char *src,
		     const char *dir, char **err)
{
	char *name = seen_name(m);
	char *dst = xasprintf("%s/%s", dir, name);
	char *srcdir = xasprintf("%s/%s", st->path, msg_sub(m));
	int ret = -1;
	if (strcmp(src, dst) == 0) {
		ret = 0;
		goto out;
	}
	if (rename(src, dst) < 0) {
		*err = xasprintf("maildir %s: cannot rename %s to %s: %s", st->path, src, dst,
				 strerror(errno));
		goto out;
	}
	if (fs_sync_dir(dir) < 0 || (strcmp(srcdir, dir) != 0 && fs_sync_dir(srcdir) < 0)) {
		*err = xasprintf("maildir %s: fsync after renaming %s: %s", st->path, dst,
				 strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(name);
	free(dst);
	free(srcdir);
	return ret;
}

static void md_close(void *state)
{
	struct mdir *st = state;
	if (!st)
		return;
	if (st->md)
		maildir_free(st->md);
	if (st->handled)
		chash_free(st->handled);
	if (st->replay)
		chash_free(st->replay);
	free(st->path);
	free(st->key);
	free(st);
}

/* After a restore: the seen mails of cur/ renamed since the store's mark
 * (the time of the last batch committed before the backup, less 2 s for
 * clock steps) whose name the store does not know are read again; the agent
 * skips any it has by Message-ID. */
static int find_replay(struct mdir *st, struct store *store, char **err)
{
	int64_t validity, mark;
	int r = store_mark_get(store, st->key, &validity, &mark);
	if (r == STORE_NOTFOUND)
		return 0; /* a store that never read this Maildir: nothing to read again */
	if (r != STORE_OK) {
		*err = xasprintf("maildir %s: store: %s", st->path, store_errmsg(store));
		return -1;
	}
	carray *list = st->md->mdir_msg_list;
	size_t n = 0;
	for (unsigned int i = 0; i < carray_count(list); i++) {
		struct maildir_msg *m = carray_get(list, i);
		struct stat sb;
		if (is_unseen(m))
			continue;
		char *p = msg_path(st, m);
		int ok = lstat(p, &sb) == 0 && sb.st_ctim.tv_sec >= mark - 2;
		free(p);
		if (!ok)
			continue;
		r = store_message_ref_seen(store, m->msg_uid);
		if (r == STORE_ERR) {
			*err = xasprintf("maildir %s: store: %s", st->path, store_errmsg(store));
			return -1;
		}
		if (r == STORE_NOTFOUND) {
			set_add(st->replay, m->msg_uid);
			n++;
		}
	}
	if (n)
		log_warn("maildir %s: %zu mail(s) in cur/ were handled after the store's last mark but "
			 "are not in it (was it restored from a backup?): reading them again", st->path, n);
	return 0;
}

static int md_position(void *state, struct store *store, char **err)
{
	struct mdir *st = state;
	if (store_mark_set(store, st->key, 0, (int64_t)time(NULL)) != STORE_OK) {
		*err = xasprintf("maildir %s: store: %s", st->path, store_errmsg(store));
		return -1;
	}
	return 0;
}

static int md_open(const struct conf *cfg, struct store *store, void **state, char **err)
{
	/* Seen flags live in the file names; the store keeps the mark of the last
	 * batch, for a restore (find_replay). */
	const char *path = cfg->mailbox.maildir;
	struct stat sb;
	*state = NULL;
	if (!path || !*path) {
		*err = xstrdup("maildir: no folder configured");
		return -1;
	}
	/* libetpan keeps the path in char[PATH_MAX] and builds names below it */
	if (strlen(path) > PATH_MAX - 256) {
		*err = xasprintf("maildir %s: path too long", path);
		return -1;
	}
	if (stat(path, &sb) < 0) {
		*err = errno == ENOENT ? xasprintf("maildir %s: no such folder", path)
				       : xasprintf("maildir %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*err = xasprintf("maildir %s: not a folder", path);
		return -1;
	}
	if (make_maildir(path, err) < 0)
		return -1;
	struct mdir *st = xcalloc(1, sizeof *st);
	st->path = xstrdup(path);
	st->max_size = cfg->mailbox.max_message_size;
	st->md = maildir_new(path);
	st->handled = chash_new(CHASH_DEFAULTSIZE, CHASH_COPYKEY);
	st->replay = chash_new(CHASH_DEFAULTSIZE, CHASH_COPYKEY);
	st->key = xasprintf("maildir:%s", path);
	if (!st->md || !st->handled || !st->replay)
		out_of_memory();
	if (scan(st, 1, err) < 0 || (store && find_replay(st, store, err) < 0)) {
		md_close(st);
		return -1;
	}
	*state = st;
	return 0;
}

static int md_fetch(void *state, size_t max, struct source_msg **msgs, size_t *n, char **err)
{
	struct mdir *st = state;
	*msgs = NULL;
	*n = 0;
	if (scan(st, 0, err) < 0)
		return -1;
	carray *list = st->md->mdir_msg_list;
	struct maildir_msg **cand = xcalloc(carray_count(list), sizeof *cand);
	size_t ncand = 0;
	for (unsigned int i = 0; i < carray_count(list); i++) {
		struct maildir_msg *m = carray_get(list, i);
		chashdatum key = {(void *)m->msg_uid, (unsigned int)strlen(m->msg_uid)}, val;
		if ((is_unseen(m) || chash_get(st->replay, &key, &val) == 0) &&
		    !is_handled(st, m->msg_uid))
			cand[ncand++] = m;
	}
	qsort(cand, ncand, sizeof *cand, cmp_uid);
	struct source_msg *out = xcalloc(ncand < max ? ncand : max, sizeof *out);
	size_t nout = 0;
	for (size_t i = 0; i < ncand && nout < max; i++) {
		if (i > 0 && strcmp(cand[i]->msg_uid, cand[i - 1]->msg_uid) == 0)
			continue; /* one uid in both new/ and cur/: once */
		char *path = msg_path(st, cand[i]);
		struct buf b = {0};
		size_t size = 0;
		const char *what = NULL;
		int r = read_file(path, &b, st->max_size, &size, &what);
		if (r == -2) {
			/* Not a mail file: never read, never followed; moved aside and
			 * listed for the operator with the reason. */
			log_warn("maildir %s: %s is %s, not a mail file: not read; quarantined", st->path,
				 path, what);
			out[nout].ref = xstrdup(cand[i]->msg_uid);
			out[nout].data = xstrdup("");
			out[nout].why = xasprintf("%s in the Maildir, not a mail file: not read", what);
			nout++;
		} else if (r == 0) {
			out[nout].ref = xstrdup(cand[i]->msg_uid);
			out[nout].len = b.len;
			out[nout].size = size;
			out[nout].oversize = st->max_size > 0 && (long long)size > st->max_size;
			if (out[nout].oversize) {
				/* Keep the header only: up to the first empty line. */
				char *e = strstr(b.s, "\n\n");
				char *e2 = strstr(b.s, "\r\n\r\n");
				if (e2 && (!e || e2 < e))
					out[nout].len = (size_t)(e2 - b.s) + 4;
				else if (e)
					out[nout].len = (size_t)(e - b.s) + 2;
			}
			out[nout].data = buf_steal(&b);
			nout++;
		} else if (errno == ENOENT) {
			st->md->mdir_mtime_new = (time_t)-1; /* moved away meanwhile: list again */
		} else {
			log_warn("maildir %s: %s; skipped", path, strerror(errno));
		}
		buf_free(&b);
		free(path);
	}
	free(cand);
	if (nout == 0) {
		free(out);
		out = NULL;
	}
	*msgs = out;
	*n = nout;
	return 0;
}

static int md_done(void *state, const char *ref, char **err)
{
	struct mdir *st = state;
	struct maildir_msg *m;
	char *src = NULL, *cur = NULL;
	int ret = -1;
	set_add(st->handled, ref);
	if (locate(st, ref, &m, &src, err) < 0)
		goto out;
	cur = xasprintf("%s/cur", st->path);
	ret = move_seen(st, m, src, cur, err);
out:
	free(src);
	free(cur);
	return ret;
}

static int make_quarantine(struct mdir *st, char **err)
{
	char *q = xasprintf("%s/" QUARANTINE, st->path);
	int ret = -1;
	int r = fs_mkdir(q);
	if (r < 0 || (r == 1 && fs_sync_dir(st->path) < 0)) {
		*err = xasprintf("maildir %s: %s", q, strerror(errno));
		goto out;
	}
	if (make_maildir(q, err) < 0)
		goto out;
	st->quarantine_ok = 1;
	ret = 0;
out:
	free(q);
	return ret;
}

static int md_quarantine(void *state, const char *ref, char **err)
{
	struct mdir *st = state;
	struct maildir_msg *m;
	char *src = NULL, *qcur = NULL;
	int ret = -1;
	set_add(st->handled, ref);
	if (locate(st, ref, &m, &src, err) < 0)
		goto out;
	if (!st->quarantine_ok && make_quarantine(st, err) < 0)
		goto out;
	qcur = xasprintf("%s/" QUARANTINE "/cur", st->path);
	ret = move_seen(st, m, src, qcur, err);
out:
	free(src);
	free(qcur);
	return ret;
}

/* Polls new/ and cur/ once a second: a delivery renames a file into one of
 * them, which changes that folder's mtime. */
static int md_wait(void *state, int timeout, volatile sig_atomic_t *stop, char **err)
{
	struct mdir *st = state;
	char *dirs[2] = {xasprintf("%s/new", st->path), xasprintf("%s/cur", st->path)};
	struct timespec seen[2] = {{0, 0}, {0, 0}};
	for (int i = 0; i < 2; i++) {
		struct stat sb;
		if (stat(dirs[i], &sb) == 0)
			seen[i] = sb.st_mtim;
	}
	for (int s = 0; s < timeout && !*stop; s++) {
		sleep(1);
		int changed = 0;
		for (int i = 0; i < 2; i++) {
			struct stat sb;
			if (stat(dirs[i], &sb) == 0 && (sb.st_mtim.tv_sec != seen[i].tv_sec ||
							sb.st_mtim.tv_nsec != seen[i].tv_nsec))
				changed = 1;
		}
		if (changed)
			break;
	}
	free(dirs[0]);
	free(dirs[1]);
	(void)err;
	return 0;
}

const struct source_ops source_maildir = {
	.name = "maildir",
	.open = md_open,
	.fetch = md_fetch,
	.done = md_done,
	.quarantine = md_quarantine,
	.wait = md_wait,
	.close = md_close,
	.position = md_position,
};
