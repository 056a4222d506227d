/* test_source.c: the maildir:PATH source and the file:PATH sender, on real
 * folders under /tmp. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "sender.h"
#include "source.h"
#include "util.h"

struct fx {
	char dir[64];       /* the temporary root */
	char *md;           /* dir/Maildir */
	struct conf cfg;
	void *state;
};

static void put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void putf(struct fx *f, const char *sub, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s/%s", f->md, sub, name);
	put(p, text, strlen(text));
	free(p);
}

/* The whole file, or NULL when it does not exist. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	struct buf b = {0};
	char chunk[4096];
	size_t r;
	while ((r = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, r);
	fclose(fp);
	*len = b.len;
	return buf_steal(&b);
}

static int exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat sb;
	int r = lstat(p, &sb) == 0;
	free(p);
	return r;
}

/* Sorted names in a folder, joined by spaces ("" when empty). */
static char *names(const char *dir, const char *sub)
{
	char *p = xasprintf("%s/%s", dir, sub);
	struct dirent **v;
	int n = scandir(p, &v, NULL, alphasort);
	free(p);
	assert_true(n >= 0);
	struct strv l = {0};
	for (int i = 0; i < n; i++) {
		if (v[i]->d_name[0] != '.')
			strv_add(&l, v[i]->d_name);
		free(v[i]);
	}
	free(v);
	char *s = strv_join(&l, " ");
	strv_free(&l);
	return s;
}

static void assert_names(const char *dir, const char *sub, const char *want)
{
	char *got = names(dir, sub);
	assert_string_equal(got, want);
	free(got);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static int setup(void **st)
{
	struct fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/cgen-source-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->md = xasprintf("%s/Maildir", f->dir);
	static const char *const sub[] = {"", "/new", "/cur", "/tmp"};
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		char *p = xasprintf("%s%s", f->md, sub[i]);
		int r = mkdir(p, 0700);
		free(p);
		if (r < 0)
			return -1;
	}
	f->cfg.mailbox.maildir = f->md;
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;
	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->md);
	free(f->cfg.smtp.outdir);
	free(f);
	return 0;
}

static void md_open_ok(struct fx *f)
{
	char *err = NULL;
	assert_int_equal(source_maildir.open(&f->cfg, NULL, &f->state, &err), 0);
	assert_null(err);
}

static void fetch(struct fx *f, size_t max, struct source_msg **v, size_t *n)
{
	char *err = NULL;
	assert_int_equal(source_maildir.fetch(f->state, max, v, n, &err), 0);
	assert_null(err);
}

static void done_all(struct fx *f, struct source_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *err = NULL;
		assert_int_equal(source_maildir.done(f->state, v[i].ref, &err), 0);
		assert_null(err);
	}
}

static void test_backend_choice(void **st)
{
	(void)st;
	struct conf cfg;
	memset(&cfg, 0, sizeof cfg);
	assert_null(source_for(&cfg));
	assert_null(sender_for(&cfg));
	cfg.mailbox.maildir = "/var/mail/cgen";
	cfg.smtp.outdir = "/var/spool/cgen";
	assert_ptr_equal(source_for(&cfg), &source_maildir);
	assert_ptr_equal(sender_for(&cfg), &sender_file);
	assert_string_equal(source_maildir.name, "maildir");
	assert_string_equal(sender_file.name, "file");
}

static void test_open_errors(void **st)
{
	struct fx *f = *st;
	static const struct {
		const char *sub;
		const char *msg;
	} cases[] = {
		{"nope", "no such folder"},
		{"Maildir/new/file", "not a folder"},
	};
	putf(f, "new", "file", "x");
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct conf cfg;
		memset(&cfg, 0, sizeof cfg);
		cfg.mailbox.maildir = xasprintf("%s/%s", f->dir, cases[i].sub);
		void *state = (void *)1;
		char *err = NULL;
		assert_int_equal(source_maildir.open(&cfg, NULL, &state, &err), -1);
		assert_null(state);
		char *want = xasprintf("maildir %s: %s", cfg.mailbox.maildir, cases[i].msg);
		assert_string_equal(err, want);
		free(want);
		free(err);
		free(cfg.mailbox.maildir);
	}
}

static void test_open_creates_subfolders(void **st)
{
	struct fx *f = *st;
	char *bare = xasprintf("%s/Bare", f->dir);
	assert_int_equal(mkdir(bare, 0755), 0);
	f->cfg.mailbox.maildir = bare;
	md_open_ok(f);
	static const char *const sub[] = {"tmp", "new", "cur"};
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		char *p = xasprintf("%s/%s", bare, sub[i]);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
		assert_int_equal(sb.st_mode & 07777, 0700);
		free(p);
	}
	struct source_msg *v;
	size_t n;
	fetch(f, 10, &v, &n);
	assert_int_equal(n, 0);
	assert_null(v);
	source_maildir.close(f->state);
	f->cfg.mailbox.maildir = f->md;
	free(bare);
}

/* The unseen mails of new/ and cur/, exact bytes, ordered by unique name
 * (the order of this table). */
static const struct {
	const char *sub, *file, *uid, *text, *after; /* after: name in cur/ after done */
} mails[] = {
	{"cur", "1700000001.M1P9.host:2,S", NULL, "Subject: seen\r\n\r\n", NULL},
	{"cur", "1700000002.M1P9.host:2,F", "1700000002.M1P9.host", "Subject: f\r\n\r\nF\r\n",
	 "1700000002.M1P9.host:2,FS"},
	{"new", "1700000003.M1P9.host", "1700000003.M1P9.host", "Subject: a\r\n\r\nA\r\n",
	 "1700000003.M1P9.host:2,S"},
	{"cur", "1700000004.M1P9.host", "1700000004.M1P9.host", "Subject: bare\r\n\r\n",
	 "1700000004.M1P9.host:2,S"},
	{"cur", "1700000005.M1P9.host:2,TRa", "1700000005.M1P9.host", "Subject: t\r\n\r\n",
	 "1700000005.M1P9.host:2,RSTa"},
	{"cur", "1700000006.M1P9.host:2,RS", NULL, "Subject: replied\r\n\r\n", NULL},
};

static void put_mails(struct fx *f)
{
	for (size_t i = 0; i < ARRAY_LEN(mails); i++)
		putf(f, mails[i].sub, mails[i].file, mails[i].text);
}

static void test_fetch_unseen(void **st)
{
	struct fx *f = *st;
	put_mails(f);
	/* a body with a NUL byte and a bare LF comes back byte for byte */
	static const char raw[] = "Subject: z\r\n\r\nnul\0byte\nend";
	char *p = xasprintf("%s/new/1700000009.M1P9.host", f->md);
	put(p, raw, sizeof raw - 1);
	free(p);
	md_open_ok(f);
	struct source_msg *v;
	size_t n;
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 5);
	size_t k = 0;
	for (size_t i = 0; i < ARRAY_LEN(mails); i++) {
		if (!mails[i].uid)
			continue;
		assert_string_equal(v[k].ref, mails[i].uid);
		assert_int_equal(v[k].len, strlen(mails[i].text));
		assert_memory_equal(v[k].data, mails[i].text, v[k].len);
		k++;
	}
	assert_string_equal(v[4].ref, "1700000009.M1P9.host");
	assert_int_equal(v[4].len, sizeof raw - 1);
	assert_memory_equal(v[4].data, raw, sizeof raw - 1);
	source_msgs_free(v, n);
	source_maildir.close(f->state);
}

static void test_done_marks_seen(void **st)
{
	struct fx *f = *st;
	put_mails(f);
	md_open_ok(f);
	struct source_msg *v;
	size_t n;
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 4);
	done_all(f, v, n);
	assert_names(f->md, "new", "");
	assert_names(f->md, "cur",
		     "1700000001.M1P9.host:2,S 1700000002.M1P9.host:2,FS "
		     "1700000003.M1P9.host:2,S 1700000004.M1P9.host:2,S "
		     "1700000005.M1P9.host:2,RSTa 1700000006.M1P9.host:2,RS");
	for (size_t i = 0; i < ARRAY_LEN(mails); i++) {
		if (!mails[i].after)
			continue;
		char *path = xasprintf("%s/cur/%s", f->md, mails[i].after);
		size_t len;
		char *data = slurp(path, &len);
		assert_non_null(data);
		assert_string_equal(data, mails[i].text);
		free(data);
		free(path);
	}
	/* done again, and done on a mail that was seen before: no change */
	done_all(f, v, n);
	char *err = NULL;
	assert_int_equal(source_maildir.done(f->state, "1700000001.M1P9.host", &err), 0);
	assert_null(err);
	assert_names(f->md, "cur",
		     "1700000001.M1P9.host:2,S 1700000002.M1P9.host:2,FS "
		     "1700000003.M1P9.host:2,S 1700000004.M1P9.host:2,S "
		     "1700000005.M1P9.host:2,RSTa 1700000006.M1P9.host:2,RS");
	source_msgs_free(v, n);

	fetch(f, 100, &v, &n);
	assert_int_equal(n, 0);
	source_maildir.close(f->state);

	/* a new session finds nothing either: the flags are on disk */
	md_open_ok(f);
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 0);
	source_maildir.close(f->state);
}

static void test_unknown_ref(void **st)
{
	struct fx *f = *st;
	md_open_ok(f);
	static const char *const refs[] = {"nope", "../cur", ""};
	for (size_t i = 0; i < ARRAY_LEN(refs); i++) {
		char *err = NULL;
		assert_int_equal(source_maildir.done(f->state, refs[i], &err), -1);
		char *want = xasprintf("maildir %s: no message %s", f->md, refs[i]);
		assert_string_equal(err, want);
		free(want);
		free(err);
		err = NULL;
		assert_int_equal(source_maildir.quarantine(f->state, refs[i], &err), -1);
		assert_non_null(err);
		free(err);
	}
	source_maildir.close(f->state);
}

/* A mail delivered in the second of the previous listing, which libetpan's
 * mtime check alone would miss, is returned by the next fetch. */
static void test_same_second(void **st)
{
	struct fx *f = *st;
	putf(f, "new", "1700000000.first", "Subject: first\r\n\r\n");
	md_open_ok(f);
	char *newdir = xasprintf("%s/new", f->md);
	int tries, same = 0;
	for (tries = 0; tries < 20 && !same; tries++) {
		struct source_msg *v;
		size_t n;
		struct stat before, after;
		char name[32];
		fetch(f, 100, &v, &n);
		assert_int_equal(n, 1);
		assert_string_equal(v[0].ref, "1700000000.first");
		source_msgs_free(v, n);
		assert_int_equal(stat(newdir, &before), 0);
		snprintf(name, sizeof name, "1700000001.try%02d", tries);
		putf(f, "new", name, "Subject: second\r\n\r\n");
		assert_int_equal(stat(newdir, &after), 0);
		same = before.st_mtime == after.st_mtime;
		fetch(f, 100, &v, &n);
		assert_int_equal(n, 2);
		assert_string_equal(v[1].ref, name);
		assert_memory_equal(v[1].data, "Subject: second\r\n\r\n", v[1].len);
		done_all(f, v + 1, 1);
		source_msgs_free(v, n);
	}
	assert_true(same); /* the case above did happen */
	free(newdir);
	source_maildir.close(f->state);
}

static void test_batches(void **st)
{
	struct fx *f = *st;
	for (int i = 0; i < 25; i++) {
		char name[32], text[32];
		snprintf(name, sizeof name, "17000000%02d.M%dP1.host", 24 - i, i);
		snprintf(text, sizeof text, "Subject: %d\r\n\r\n", 24 - i);
		putf(f, i % 2 ? "new" : "cur", name, text);
	}
	md_open_ok(f);
	static const size_t sizes[] = {10, 10, 5, 0};
	int next = 0;
	for (size_t b = 0; b < ARRAY_LEN(sizes); b++) {
		struct source_msg *v;
		size_t n;
		fetch(f, 10, &v, &n);
		assert_int_equal(n, sizes[b]);
		for (size_t i = 0; i < n; i++, next++) {
			char text[32];
			snprintf(text, sizeof text, "Subject: %d\r\n\r\n", next);
			assert_int_equal(v[i].len, strlen(text));
			assert_memory_equal(v[i].data, text, v[i].len);
		}
		done_all(f, v, n);
		source_msgs_free(v, n);
	}
	assert_int_equal(next, 25);
	char *cur = names(f->md, "cur");
	size_t seen = 0;
	for (char *p = cur; (p = strstr(p, ":2,S")); p++)
		seen++;
	assert_int_equal(seen, 25);
	free(cur);
	assert_names(f->md, "new", "");
	source_maildir.close(f->state);
}

static void test_quarantine(void **st)
{
	struct fx *f = *st;
	putf(f, "new", "1700000001.a", "Subject: a\r\n\r\n");
	putf(f, "new", "1700000002.b", "Subject: bad\r\n\r\n");
	putf(f, "cur", "1700000003.c:2,F", "Subject: c\r\n\r\n");
	md_open_ok(f);
	assert_false(exists(f->md, ".Quarantine")); /* created when needed */
	struct source_msg *v;
	size_t n;
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 3);
	char *err = NULL;
	assert_int_equal(source_maildir.quarantine(f->state, "1700000002.b", &err), 0);
	assert_null(err);
	assert_int_equal(source_maildir.quarantine(f->state, "1700000003.c", &err), 0);
	assert_null(err);
	source_msgs_free(v, n);
	assert_names(f->md, ".Quarantine/cur", "1700000002.b:2,S 1700000003.c:2,FS");
	assert_names(f->md, ".Quarantine/new", "");
	assert_names(f->md, ".Quarantine/tmp", "");
	char *q = xasprintf("%s/.Quarantine/cur/1700000002.b:2,S", f->md);
	size_t len;
	char *data = slurp(q, &len);
	assert_string_equal(data, "Subject: bad\r\n\r\n");
	free(data);
	free(q);

	fetch(f, 100, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].ref, "1700000001.a");
	done_all(f, v, n);
	source_msgs_free(v, n);
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 0);
	/* three mails in, three mails on disk */
	assert_names(f->md, "new", "");
	assert_names(f->md, "cur", "1700000001.a:2,S");
	source_maildir.close(f->state);
}

/* A mail handed to done is not returned again in the session even when it looks
 * unseen on disk once more; a new session reads the disk. */
static void test_handled_not_refetched(void **st)
{
	struct fx *f = *st;
	putf(f, "new", "1700000001.a", "Subject: a\r\n\r\n");
	md_open_ok(f);
	struct source_msg *v;
	size_t n;
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 1);
	done_all(f, v, n);
	source_msgs_free(v, n);
	char *from = xasprintf("%s/cur/1700000001.a:2,S", f->md);
	char *to = xasprintf("%s/new/1700000001.a", f->md);
	assert_int_equal(rename(from, to), 0);
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 0);
	source_maildir.close(f->state);
	md_open_ok(f);
	fetch(f, 100, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].ref, "1700000001.a");
	source_msgs_free(v, n);
	source_maildir.close(f->state);
	free(from);
	free(to);
}

/* --- file:PATH --- */

static void fo_open_ok(struct fx *f)
{
	char *err = NULL;
	assert_int_equal(sender_file.open(&f->cfg, &f->state, &err), 0);
	assert_null(err);
}

static void test_sender_writes(void **st)
{
	struct fx *f = *st;
	f->cfg.smtp.outdir = xasprintf("%s/out", f->dir);
	fo_open_ok(f);
	assert_names(f->cfg.smtp.outdir, "tmp", "");
	assert_names(f->cfg.smtp.outdir, "new", "");
	struct strv rcpts = {0};
	strv_add(&rcpts, "aio@dgs.ca.gov");
	strv_add(&rcpts, "cio@dgs.ca.gov");
	static const char body[] = "From: CGEN <cgen@cdt.ca.gov>\r\nSubject: x\r\n\r\nbody\r\n";
	char *err = NULL;
	assert_int_equal(sender_file.send(f->state, 42, "cgen@cdt.ca.gov", &rcpts, body,
					  sizeof body - 1, &err),
			 SENDER_OK);
	assert_null(err);
	assert_names(f->cfg.smtp.outdir, "new", "42.eml");
	assert_names(f->cfg.smtp.outdir, "tmp", "");
	char *path = xasprintf("%s/new/42.eml", f->cfg.smtp.outdir);
	size_t len;
	char *data = slurp(path, &len);
	assert_string_equal(data, "X-Envelope-From: <cgen@cdt.ca.gov>\r\n"
				  "X-Envelope-To: <aio@dgs.ca.gov>\r\n"
				  "X-Envelope-To: <cio@dgs.ca.gov>\r\n"
				  "From: CGEN <cgen@cdt.ca.gov>\r\nSubject: x\r\n\r\nbody\r\n");
	free(data);

	/* sent again after a crash: replaced, one file; a null sender is <> */
	strv_free(&rcpts);
	strv_add(&rcpts, "req@parks.ca.gov");
	assert_int_equal(sender_file.send(f->state, 42, "", &rcpts, "Subject: y\r\n\r\n", 14, &err),
			 SENDER_OK);
	assert_names(f->cfg.smtp.outdir, "new", "42.eml");
	assert_names(f->cfg.smtp.outdir, "tmp", "");
	data = slurp(path, &len);
	assert_string_equal(data, "X-Envelope-From: <>\r\n"
				  "X-Envelope-To: <req@parks.ca.gov>\r\n"
				  "Subject: y\r\n\r\n");
	free(data);
	free(path);
	strv_free(&rcpts);
	sender_file.close(f->state);

	/* a second open of the existing folder is fine */
	fo_open_ok(f);
	sender_file.close(f->state);
}

static void test_sender_bad_address(void **st)
{
	struct fx *f = *st;
	static const struct {
		const char *from, *rcpt;
	} cases[] = {
		{"cgen@cdt.ca.gov", "a@b.gov\r\nBcc: x@evil.com"},
		{"cgen@cdt.ca.gov", "a@b.gov\nX: y"},
		{"cgen@cdt.ca.gov", "a@b.gov\r"},
		{"cgen@cdt.ca.gov", "a@b.gov> <x@evil.com"},
		{"cgen@cdt.ca.gov", "<a@b.gov"},
		{"cgen@cdt.ca.gov", ""},
		{"cgen@cdt.ca.gov\r\nX: y", "a@b.gov"},
		{"cgen@cdt.ca.gov>", "a@b.gov"},
		{"cgen@cdt.ca.gov", NULL}, /* no recipient */
	};
	f->cfg.smtp.outdir = xasprintf("%s/out", f->dir);
	fo_open_ok(f);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct strv rcpts = {0};
		if (cases[i].rcpt) {
			strv_add(&rcpts, "ok@b.gov");
			strv_add(&rcpts, cases[i].rcpt);
		}
		char *err = NULL;
		assert_int_equal(sender_file.send(f->state, (int64_t)i + 1, cases[i].from, &rcpts,
						  "x\r\n", 3, &err),
				 SENDER_PERMFAIL);
		assert_non_null(err);
		assert_null(strchr(err, '\n'));
		free(err);
		strv_free(&rcpts);
	}
	assert_names(f->cfg.smtp.outdir, "new", "");
	assert_names(f->cfg.smtp.outdir, "tmp", "");
	sender_file.close(f->state);
}

static void send_tempfail(struct fx *f, int64_t id, const char *data, const char *want)
{
	struct strv rcpts = {0};
	strv_add(&rcpts, "a@b.gov");
	char *err = NULL;
	assert_int_equal(sender_file.send(f->state, id, "c@d.gov", &rcpts, data, strlen(data), &err),
			 SENDER_TEMPFAIL);
	assert_string_equal(err, want);
	free(err);
	strv_free(&rcpts);
	assert_names(f->cfg.smtp.outdir, "tmp", "");
	assert_names(f->cfg.smtp.outdir, "new", "");
}

/* Writing fails: a temporary failure with the reason, nothing left behind. */
static void test_sender_tempfail(void **st)
{
	struct fx *f = *st;
	char *out = xasprintf("%s/out", f->dir);
	f->cfg.smtp.outdir = out;
	fo_open_ok(f);

	/* the write itself fails (as on a full disk): a file size limit binds root too */
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64;
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	char *want = xasprintf("write %s/tmp/5.eml: File too large", out);
	send_tempfail(f, 5, big, want);
	free(want);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);

	/* new/ replaced by a file: the rename fails */
	char *newdir = xasprintf("%s/new", out);
	assert_int_equal(rmdir(newdir), 0);
	put(newdir, "", 0);
	want = xasprintf("rename %s/tmp/7.eml to %s/new/7.eml: Not a directory", out, out);
	struct strv rcpts = {0};
	strv_add(&rcpts, "a@b.gov");
	char *err = NULL;
	assert_int_equal(sender_file.send(f->state, 7, "c@d.gov", &rcpts, "x\r\n", 3, &err),
			 SENDER_TEMPFAIL);
	assert_string_equal(err, want);
	assert_names(out, "tmp", "");
	free(err);
	free(want);
	strv_free(&rcpts);
	assert_int_equal(unlink(newdir), 0);
	assert_int_equal(mkdir(newdir, 0700), 0);
	free(newdir);

	/* permissions bind everyone but root */
	if (geteuid() != 0) {
		char *tmp = xasprintf("%s/tmp", out);
		assert_int_equal(chmod(tmp, 0500), 0);
		want = xasprintf("write %s/9.eml: Permission denied", tmp);
		send_tempfail(f, 9, "x\r\n", want);
		free(want);
		assert_int_equal(chmod(tmp, 0700), 0);
		free(tmp);
	}
	sender_file.close(f->state);

	/* an outdir to create under a read-only parent: open fails */
	if (geteuid() != 0) {
		char *ro = xasprintf("%s/ro", f->dir);
		assert_int_equal(mkdir(ro, 0500), 0);
		f->cfg.smtp.outdir = xasprintf("%s/out", ro);
		void *state = (void *)1;
		assert_int_equal(sender_file.open(&f->cfg, &state, &err), -1);
		assert_null(state);
		want = xasprintf("outbox %s: Permission denied", f->cfg.smtp.outdir);
		assert_string_equal(err, want);
		free(want);
		free(err);
		free(ro);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_choice),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_creates_subfolders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_unseen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_marks_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_second, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handled_not_refetched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_bad_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_tempfail, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
