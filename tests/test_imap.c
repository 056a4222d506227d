/* test_imap.c: the IMAP source against a real Dovecot on 127.0.0.1, started
 * here (tests/dovecot.sh) in a temporary folder and stopped by PID. Each test
 * has its own Dovecot user, so its own mailbox. Mail is delivered as Maildir
 * files (tmp/ then rename into new/), as a delivery agent would. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "source.h"
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/dcXXXXXX";
static char *plain_dir;  /* DIR/b: a second Dovecot without IDLE nor MOVE */
static const char *base; /* the Dovecot the helpers below act on */
static const char *srcdir;
static int imap_port, imaps_port;
static struct store *store;
static char pwfile[64], cafile[64], host[] = "127.0.0.1", inbox[] = "INBOX",
	processed[] = "Processed", quarantine[] = "Quarantine";

/* --- helpers --- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs a function of tests/dovecot.sh on the folder d; 0 on success. */
static int dovecot_in(const char *d, const char *fn)
{
	char *cmd = xasprintf(". '%s/tests/dovecot.sh' && %s '%s' >/dev/null", srcdir, fn, d);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

static char *mdir(const char *user, const char *folder)
{
	return folder ? xasprintf("%s/mail/%s/Maildir/.%s", base, user, folder)
		      : xasprintf("%s/mail/%s/Maildir", base, user);
}

static void mkdir_owned(const char *p)
{
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	if (getuid() == 0)
		assert_int_equal(chown(p, 65534, 65534), 0);
}

/* An empty INBOX for a Dovecot user. */
/* The users t1..t11 are in the password file from the start (Dovecot would
 * not see a change made within the same second). */
static void add_user(const char *user)
{
	char *p;
	static const char *const sub[] = {"", "/Maildir", "/Maildir/new", "/Maildir/cur",
					  "/Maildir/tmp"};
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		p = xasprintf("%s/mail/%s%s", base, user, sub[i]);
		mkdir_owned(p);
		free(p);
	}
}

/* Delivers data into user's INBOX: tmp/ then rename into new/. */
static void deliver(const char *user, const char *data, size_t len)
{
	static int seq;
	char *md = mdir(user, NULL);
	char *name = xasprintf("%ld.M%dP%d.cgentest", (long)time(NULL), ++seq, (int)getpid());
	char *tmp = xasprintf("%s/tmp/%s", md, name), *nw = xasprintf("%s/new/%s", md, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	if (getuid() == 0)
		assert_int_equal(fchown(fd, 65534, 65534), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(rename(tmp, nw), 0);
	free(md);
	free(name);
	free(tmp);
	free(nw);
}

/* A small mail, CRLF, distinct per n. */
static char *mail_text(const char *user, int n)
{
	return xasprintf("From: sender%d@example.org\r\nTo: %s@example.org\r\n"
			 "Subject: test %d\r\nMessage-ID: <%s.%d@example.org>\r\n\r\n"
			 "Body of mail %d.\r\n",
			 n, user, n, user, n, n);
}

static void deliver_n(const char *user, int n)
{
	char *m = mail_text(user, n);
	deliver(user, m, strlen(m));
	free(m);
}

/* Mails in the folder (new/ and cur/) of user; with want non-NULL, also checks
 * that one of them has exactly these bytes. */
static int count_files(const char *user, const char *folder, const char *want)
{
	char *md = mdir(user, folder);
	int n = 0, found = 0;
	for (int i = 0; i < 2; i++) {
		char *cmd = xasprintf("ls -1 '%s/%s' 2>/dev/null", md, i ? "cur" : "new");
		FILE *p = popen(cmd, "r");
		char line[512];
		while (p && fgets(line, sizeof line, p)) {
			line[strcspn(line, "\n")] = '\0';
			n++;
			if (!want)
				continue;
			char *path = xasprintf("%s/%s/%s", md, i ? "cur" : "new", line);
			FILE *f = fopen(path, "rb");
			char buf[4096];
			size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
			if (f)
				fclose(f);
			found |= len == strlen(want) && memcmp(buf, want, len) == 0;
			free(path);
		}
		if (p)
			pclose(p);
		free(cmd);
	}
	free(md);
	if (want && !found)
		fail_msg("%s/%s: no mail with the expected bytes", user, folder ? folder : "INBOX");
	return n;
}

struct fx {
	struct conf cfg;
	void *state;
	char user[16], url[96];
};

static void cfg_init(struct fx *f, const char *user, int tls, int starttls, int with_ca)
{
	memset(f, 0, sizeof *f);
	snprintf(f->user, sizeof f->user, "%s", user);
	struct conf_mailbox *m = &f->cfg.mailbox;
	m->tls = tls;
	m->starttls = starttls;
	m->port = tls ? imaps_port : imap_port;
	snprintf(f->url, sizeof f->url, "%s://%s@127.0.0.1:%d/INBOX", tls ? "imaps" : "imap", user,
		 m->port);
	m->url = f->url;
	m->user = f->user;
	m->host = host;
	m->folder = inbox;
	m->password_file = pwfile;
	m->ca_file = with_ca ? cafile : NULL;
	m->auth = CONF_AUTH_PASSWORD;
	m->processed_folder = processed;
	m->quarantine_folder = quarantine;
	m->poll_interval = 1;
	m->max_message_size = 26214400;
}

static void open_ok(struct fx *f)
{
	char *err = NULL;
	if (source_imap.open(&f->cfg, store, &f->state, &err) != 0)
		fail_msg("open %s: %s", f->url, err);
	assert_null(err);
	assert_non_null(f->state);
}

static void close_fx(struct fx *f)
{
	source_imap.close(f->state);
	f->state = NULL;
}

static size_t fetch_ok(struct fx *f, size_t max, struct source_msg **msgs)
{
	char *err = NULL;
	size_t n = 99999;
	if (source_imap.fetch(f->state, max, msgs, &n, &err) != 0)
		fail_msg("fetch: %s", err);
	assert_null(err);
	return n;
}

static void done_ok(struct fx *f, const char *ref, int quarantine_it)
{
	char *err = NULL;
	int rc = quarantine_it ? source_imap.quarantine(f->state, ref, &err)
			       : source_imap.done(f->state, ref, &err);
	if (rc != 0)
		fail_msg("%s %s: %s", quarantine_it ? "quarantine" : "done", ref, err);
}

static uint32_t ref_uv(const char *ref)
{
	return (uint32_t)strtoul(ref, NULL, 10);
}

static uint32_t ref_uid(const char *ref)
{
	const char *c = strchr(ref, ':');
	assert_non_null(c);
	return (uint32_t)strtoul(c + 1, NULL, 10);
}

/* The mail of msgs whose bytes are want, or fails. */
static const struct source_msg *find_msg(const struct source_msg *msgs, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (msgs[i].len == strlen(want) && memcmp(msgs[i].data, want, msgs[i].len) == 0)
			return &msgs[i];
	fail_msg("no fetched mail has the expected bytes");
	return NULL;
}

/* --- tests --- */

static void test_fetch_done_quarantine(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t1", 0, 0, 0);
	add_user("t1");
	char *m1 = mail_text("t1", 1), *m2 = mail_text("t1", 2);
	deliver("t1", m1, strlen(m1));
	deliver("t1", m2, strlen(m2));
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 2);
	const struct source_msg *a = find_msg(msgs, n, m1), *b = find_msg(msgs, n, m2);
	assert_int_equal(a->size, strlen(m1));
	assert_int_equal(a->oversize, 0);
	assert_int_equal(b->size, strlen(m2));
	assert_true(ref_uid(msgs[0].ref) < ref_uid(msgs[1].ref)); /* ascending UIDs */
	assert_int_equal(ref_uv(msgs[0].ref), ref_uv(msgs[1].ref));
	assert_true(ref_uv(msgs[0].ref) > 0);
	char *bad = xasprintf("%u:%u", ref_uv(a->ref) + 1, ref_uid(a->ref));
	char *err = NULL;
	assert_int_equal(source_imap.done(f.state, bad, &err), -1);
	assert_non_null(strstr(err, "is stale"));
	free(err);
	err = NULL;
	assert_int_equal(source_imap.done(f.state, "12x", &err), -1);
	assert_non_null(strstr(err, "bad mail reference \"12x\""));
	free(err);
	free(bad);
	assert_int_equal(count_files("t1", NULL, NULL), 2); /* nothing moved yet */
	done_ok(&f, a->ref, 0);
	done_ok(&f, b->ref, 1);
	done_ok(&f, a->ref, 0); /* idempotent */
	assert_int_equal(count_files("t1", NULL, NULL), 0);
	assert_int_equal(count_files("t1", "Processed", m1), 1);
	assert_int_equal(count_files("t1", "Quarantine", m2), 1);
	source_msgs_free(msgs, n);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	/* both done: the stored last UID is the higher one */
	uint32_t uv = 0, last = 0;
	char *key = xasprintf("imap://t1@127.0.0.1:%d/INBOX", imap_port);
	assert_int_equal(store_mailbox_get(store, key, &uv, &last), STORE_OK);
	assert_true(uv > 0);
	assert_int_equal(last, 2);
	free(key);
	close_fx(&f);
	free(m1);
	free(m2);
}

/* TLS: imaps with the test CA, imaps against the system trust (refused),
 * STARTTLS with the CA and without. Host name checked on IP and DNS names. */
static void test_tls(void **st)
{
	(void)st;
	static const struct {
		int tls, starttls, ca;
		const char *host;
		int ok;
	} cases[] = {
		{1, 0, 1, "127.0.0.1", 1},
		{1, 0, 1, "localhost", 1},
		{1, 0, 0, "127.0.0.1", 0},
		{0, 1, 1, "127.0.0.1", 1},
		{0, 1, 0, "127.0.0.1", 0},
	};
	add_user("t2");
	char *m = mail_text("t2", 1);
	deliver("t2", m, strlen(m));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct fx f;
		cfg_init(&f, "t2", cases[i].tls, cases[i].starttls, cases[i].ca);
		char hbuf[16];
		snprintf(hbuf, sizeof hbuf, "%s", cases[i].host);
		f.cfg.mailbox.host = hbuf;
		char *err = NULL;
		int rc = source_imap.open(&f.cfg, store, &f.state, &err);
		if (!cases[i].ok) {
			assert_int_equal(rc, -1);
			assert_null(f.state);
			char *want = xasprintf("%s://%s:%d: certificate not trusted: ",
					       cases[i].tls ? "imaps" : "imap", cases[i].host,
					       f.cfg.mailbox.port);
			if (strncmp(err, want, strlen(want)) != 0 || !err[strlen(want)])
				fail_msg("case %zu: got \"%s\"", i, err);
			free(want);
			free(err);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu: %s", i, err);
		struct source_msg *msgs;
		assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
		assert_int_equal(msgs[0].len, strlen(m));
		assert_memory_equal(msgs[0].data, m, strlen(m));
		source_msgs_free(msgs, 1);
		close_fx(&f);
	}
	free(m);
}

static void test_batches(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t3", 0, 0, 0);
	add_user("t3");
	for (int i = 1; i <= 7; i++)
		deliver_n("t3", i);
	open_ok(&f);
	static const size_t want[] = {3, 3, 1, 0};
	for (size_t round = 0; round < ARRAY_LEN(want); round++) {
		struct source_msg *msgs, *again;
		size_t n = fetch_ok(&f, 3, &msgs);
		assert_int_equal(n, want[round]);
		/* not done yet: the same mails again */
		size_t n2 = fetch_ok(&f, 3, &again);
		assert_int_equal(n2, n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(again[i].ref, msgs[i].ref);
			done_ok(&f, msgs[i].ref, 0);
		}
		source_msgs_free(msgs, n);
		source_msgs_free(again, n2);
	}
	assert_int_equal(count_files("t3", "Processed", NULL), 7);
	close_fx(&f);
}

static void test_oversize(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t4", 0, 0, 0);
	f.cfg.mailbox.max_message_size = 1000;
	add_user("t4");
	const char *hdr = "From: big@example.org\r\nSubject: big\r\nMessage-ID: <big@example.org>\r\n\r\n";
	struct buf big = {0};
	buf_adds(&big, hdr);
	while (big.len < 5000)
		buf_adds(&big, "0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
	char *small = mail_text("t4", 1);
	deliver("t4", small, strlen(small));
	deliver("t4", big.s, big.len);
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 2);
	const struct source_msg *s = find_msg(msgs, n, small), *b = find_msg(msgs, n, hdr);
	assert_int_equal(s->oversize, 0);
	assert_int_equal(b->oversize, 1);
	assert_int_equal(b->size, big.len);
	assert_int_equal(b->len, strlen(hdr));
	source_msgs_free(msgs, n);
	close_fx(&f);
	buf_free(&big);
	free(small);
}

/* The last UID lives in the store across open/close and is honoured. */
static void test_store_state(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t5", 0, 0, 0);
	add_user("t5");
	for (int i = 1; i <= 3; i++)
		deliver_n("t5", i);
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 3);
	uint32_t uv = ref_uv(msgs[0].ref), u2 = ref_uid(msgs[1].ref), u3 = ref_uid(msgs[2].ref);
	done_ok(&f, msgs[1].ref, 0); /* out of order: the last UID cannot move yet */
	uint32_t suv = 0, last = 99;
	assert_int_equal(store_mailbox_get(store, f.url, &suv, &last), STORE_OK);
	assert_int_equal(suv, uv);
	assert_int_equal(last, 0);
	done_ok(&f, msgs[0].ref, 0);
	assert_int_equal(store_mailbox_get(store, f.url, &suv, &last), STORE_OK);
	assert_int_equal(last, u2);
	source_msgs_free(msgs, n);
	close_fx(&f);
	/* the third mail is still in INBOX: with the stored last UID below it,
	 * it is read again */
	open_ok(&f);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
	assert_int_equal(ref_uid(msgs[0].ref), u3);
	source_msgs_free(msgs, 1);
	close_fx(&f);
	/* a stored last UID at it: committed, but its move never happened (the
	 * server or cgend died mid-MOVE); the next session moves it, unread */
	assert_int_equal(store_mailbox_set(store, f.url, uv, u3), STORE_OK);
	open_ok(&f);
	assert_int_equal(count_files("t5", NULL, NULL), 0);
	assert_int_equal(count_files("t5", "Processed", NULL), 3);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	close_fx(&f);
	/* and is not taken for mails moved there after a restore */
	open_ok(&f);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	close_fx(&f);
}

/* Puts data into user's folder as the server's copy would (Maildir new/). */
static void put_in(const char *user, const char *folder, const char *data)
{
	static int seq;
	char *md = mdir(user, folder);
	static const char *const sub[] = {"", "/new", "/cur", "/tmp"};
	for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
		char *d = xasprintf("%s%s", md, sub[i]);
		mkdir_owned(d);
		free(d);
	}
	char *path = xasprintf("%s/new/%ld.C%dP%d.cgentest", md, (long)time(NULL), ++seq,
			       (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	if (getuid() == 0)
		assert_int_equal(fchown(fd, 65534, 65534), 0);
	assert_int_equal(close(fd), 0);
	free(path);
	free(md);
}

/* A MOVE broken off after its copy (Dovecot copies, then expunges) leaves
 * a committed mail both in INBOX and in Processed: the next session removes
 * it from INBOX without a second copy. A mail in Processed with the same
 * Message-ID but other bytes is not taken for its copy. */
static void test_broken_move(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t10", 0, 0, 0);
	add_user("t10");
	char *m[4];
	for (int i = 1; i <= 3; i++) {
		m[i] = mail_text("t10", i);
		deliver("t10", m[i], strlen(m[i]));
	}
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 3);
	uint32_t uv = ref_uv(msgs[0].ref), last = ref_uid(msgs[2].ref);
	done_ok(&f, find_msg(msgs, n, m[1])->ref, 0);
	source_msgs_free(msgs, n);
	close_fx(&f);
	/* mails 2 and 3 committed; 2's move broke off after the copy; in
	 * Processed, a mail with 3's Message-ID but another body */
	put_in("t10", "Processed", m[2]);
	char *other = xasprintf("%sand more\r\n", m[3]);
	put_in("t10", "Processed", other);
	assert_int_equal(store_mailbox_set(store, f.url, uv, last), STORE_OK);
	open_ok(&f);
	assert_int_equal(count_files("t10", NULL, NULL), 0);
	assert_int_equal(count_files("t10", "Processed", m[1]), 4); /* 1, 2, 3 and other */
	count_files("t10", "Processed", m[2]);
	count_files("t10", "Processed", m[3]);
	count_files("t10", "Processed", other);
	/* a new session cannot tell the copies from mails moved there after a
	 * restore: they are read again from Processed (the agent skips them by
	 * Message-ID), once */
	n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(msgs[i].ref[0], 'P');
		done_ok(&f, msgs[i].ref, 0);
	}
	find_msg(msgs, n, m[2]);
	find_msg(msgs, n, other);
	source_msgs_free(msgs, n);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	char *err = NULL;
	assert_int_equal(source_imap.position(f.state, store, &err), 0); /* as the agent's commit */
	assert_int_equal(count_files("t10", "Processed", NULL), 4);
	close_fx(&f);
	open_ok(&f);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	close_fx(&f);
	for (int i = 1; i <= 3; i++)
		free(m[i]);
	free(other);
}

/* done_many records at once but moves later: before the next wait for mail
 * or at close (the round's replies go out first), or as soon as 100 wait. */
static void test_done_many_later(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t11", 0, 0, 0);
	add_user("t11");
	for (int i = 1; i <= 3; i++)
		deliver_n("t11", i);
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 3);
	const char *refs[3] = {msgs[0].ref, msgs[1].ref, msgs[2].ref};
	char *err = NULL;
	assert_int_equal(source_imap.done_many(f.state, refs, 3, &err), 0);
	uint32_t suv = 0, last = 0;
	assert_int_equal(store_mailbox_get(store, f.url, &suv, &last), STORE_OK);
	assert_int_equal(last, ref_uid(msgs[2].ref)); /* recorded at once */
	source_msgs_free(msgs, n);
	assert_int_equal(count_files("t11", NULL, NULL), 3); /* not moved yet */
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);        /* nor read again */
	source_msgs_free(msgs, 0);
	volatile sig_atomic_t stop = 1;
	assert_int_equal(source_imap.wait(f.state, 5, &stop, &err), 0);
	assert_int_equal(count_files("t11", NULL, NULL), 0);
	assert_int_equal(count_files("t11", "Processed", NULL), 3);
	/* at close */
	deliver_n("t11", 4);
	n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 1);
	refs[0] = msgs[0].ref;
	assert_int_equal(source_imap.done_many(f.state, refs, 1, &err), 0);
	source_msgs_free(msgs, n);
	assert_int_equal(source_imap.position(f.state, store, &err), 0);
	close_fx(&f);
	assert_int_equal(count_files("t11", NULL, NULL), 0);
	assert_int_equal(count_files("t11", "Processed", NULL), 4);
	/* the mark followed the moves (COPYUID): nothing taken for a restore */
	open_ok(&f);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	close_fx(&f);
	/* 100 waiting are moved at once */
	for (int i = 5; i <= 104; i++)
		deliver_n("t11", i);
	open_ok(&f);
	const char *many[100];
	size_t got = 0;
	struct source_msg *all[100];
	size_t nall[100], k = 0;
	while (got < 100) {
		n = fetch_ok(&f, 100, &msgs);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			many[got++] = msgs[i].ref;
		all[k] = msgs;
		nall[k++] = n;
	}
	assert_int_equal(source_imap.done_many(f.state, many, 99, &err), 0);
	assert_int_equal(count_files("t11", NULL, NULL), 100);
	assert_int_equal(source_imap.done_many(f.state, many + 99, 1, &err), 0);
	assert_int_equal(count_files("t11", NULL, NULL), 0);
	assert_int_equal(count_files("t11", "Processed", NULL), 104);
	for (size_t i = 0; i < k; i++)
		source_msgs_free(all[i], nall[i]);
	close_fx(&f);
}

/* A new UIDVALIDITY (the index and UID list rebuilt) forgets the stored UID:
 * mails come back under new refs; an old ref is refused. */
static void test_uidvalidity_change(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t6", 0, 0, 0);
	add_user("t6");
	deliver_n("t6", 1);
	deliver_n("t6", 2);
	open_ok(&f);
	struct source_msg *msgs;
	assert_int_equal(fetch_ok(&f, 10, &msgs), 2);
	uint32_t uv = ref_uv(msgs[0].ref), top = ref_uid(msgs[1].ref);
	char *old_ref = xstrdup(msgs[0].ref);
	/* the first handled: the stored last UID of that UIDVALIDITY hides it */
	done_ok(&f, old_ref, 0);
	source_msgs_free(msgs, 2);
	close_fx(&f);
	assert_int_equal(count_files("t6", NULL, NULL), 1);
	open_ok(&f);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
	assert_int_equal(ref_uid(msgs[0].ref), top);
	source_msgs_free(msgs, 1);
	close_fx(&f);
	sleep(1); /* Dovecot's UIDVALIDITY counts seconds */
	char *md = mdir("t6", NULL);
	char *cmd = xasprintf("rm -f '%s'/dovecot-uidlist '%s'/dovecot.index* '%s'/dovecot.list.index*",
			      md, md, md);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(md);
	open_ok(&f);
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 1);
	uint32_t nuv = ref_uv(msgs[0].ref);
	assert_int_not_equal(nuv, uv);
	uint32_t suv = 0, last = 99;
	assert_int_equal(store_mailbox_get(store, f.url, &suv, &last), STORE_OK);
	assert_int_equal(suv, nuv);
	assert_int_equal(last, 0);
	char *err = NULL;
	assert_int_equal(source_imap.done(f.state, old_ref, &err), -1);
	assert_non_null(strstr(err, "is stale"));
	free(err);
	assert_int_equal(count_files("t6", NULL, NULL), 1);
	source_msgs_free(msgs, n);
	close_fx(&f);
	free(old_ref);
}

struct delivery {
	pid_t pid;
	int fd;
};

/* Delivers one mail from a child process after delay_ms; the child writes the
 * delivery time (monotonic ms) to the pipe. */
static struct delivery deliver_later(const char *user, int n, int delay_ms)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		usleep((useconds_t)delay_ms * 1000);
		char *m = mail_text(user, n);
		deliver(user, m, strlen(m));
		long long t = now_ms();
		ssize_t w = write(p[1], &t, sizeof t);
		_exit(w == (ssize_t)sizeof t ? 0 : 1);
	}
	close(p[1]);
	return (struct delivery){pid, p[0]};
}

static long long delivery_end(struct delivery d)
{
	long long t = 0;
	int status;
	assert_int_equal(read(d.fd, &t, sizeof t), (ssize_t)sizeof t);
	close(d.fd);
	assert_int_equal(waitpid(d.pid, &status, 0), d.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return t;
}

static long long idle_latency_ms = -1;

static void test_idle(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t7", 0, 0, 0);
	add_user("t7");
	open_ok(&f);
	struct source_msg *msgs;
	assert_int_equal(fetch_ok(&f, 10, &msgs), 0);
	source_msgs_free(msgs, 0);
	/* stop set: returns at once */
	volatile sig_atomic_t stop = 1;
	char *err = NULL;
	long long t0 = now_ms();
	assert_int_equal(source_imap.wait(f.state, 30, &stop, &err), 0);
	assert_true(now_ms() - t0 < 1500);
	/* timeout without mail */
	stop = 0;
	t0 = now_ms();
	assert_int_equal(source_imap.wait(f.state, 1, &stop, &err), 0);
	long long dt = now_ms() - t0;
	assert_true(dt >= 900 && dt < 2500);
	/* a delivery ends the wait within Dovecot's 500 ms delay plus margin */
	struct delivery d = deliver_later("t7", 1, 300);
	if (source_imap.wait(f.state, 10, &stop, &err) != 0)
		fail_msg("wait: %s", err);
	long long woke = now_ms(), delivered = delivery_end(d);
	idle_latency_ms = woke - delivered;
	if (idle_latency_ms < 0 || idle_latency_ms > 1500)
		fail_msg("IDLE woke %lld ms after the delivery", idle_latency_ms);
	assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
	char *m = mail_text("t7", 1);
	assert_memory_equal(msgs[0].data, m, strlen(m));
	free(m);
	source_msgs_free(msgs, 1);
	close_fx(&f);
}

static void restart_dovecot(void)
{
	assert_int_equal(dovecot_in(dir, "dovecot_stop"), 0);
	assert_int_equal(dovecot_in(dir, "dovecot_start"), 0);
}

/* Dovecot restarted under an open source: wait reports the error, close +
 * open works again; a fetch on a dead connection reconnects by itself once. */
static void test_restart(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t8", 0, 0, 0);
	add_user("t8");
	open_ok(&f);
	restart_dovecot();
	volatile sig_atomic_t stop = 0;
	char *err = NULL;
	long long t0 = now_ms();
	assert_int_equal(source_imap.wait(f.state, 5, &stop, &err), -1);
	assert_true(now_ms() - t0 < 3000); /* a dead connection does not block */
	char *want = xasprintf("imap://127.0.0.1:%d: ", imap_port);
	if (!err || strncmp(err, want, strlen(want)) != 0)
		fail_msg("wait error: %s", err ? err : "(none)");
	free(want);
	free(err);
	t0 = now_ms();
	close_fx(&f);
	assert_true(now_ms() - t0 < 1000);
	open_ok(&f);
	deliver_n("t8", 1);
	struct source_msg *msgs;
	assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
	source_msgs_free(msgs, 1);
	restart_dovecot();
	/* not done: fetched again, over a new connection */
	assert_int_equal(fetch_ok(&f, 10, &msgs), 1);
	done_ok(&f, msgs[0].ref, 0);
	source_msgs_free(msgs, 1);
	assert_int_equal(count_files("t8", "Processed", NULL), 1);
	close_fx(&f);
}

/* 1,000 small mails in one fetch (exact count and bytes), then 100 of them
 * done: the figures are printed as TAP comments. */
static void test_volume(void **st)
{
	(void)st;
	struct fx f;
	cfg_init(&f, "t9", 0, 0, 0);
	add_user("t9");
	for (int i = 1; i <= 1000; i++)
		deliver_n("t9", i);
	open_ok(&f);
	struct source_msg *msgs;
	long long t0 = now_ms();
	size_t n = fetch_ok(&f, 1000, &msgs);
	long long tf = now_ms() - t0;
	assert_int_equal(n, 1000);
	char *last = mail_text("t9", 1000);
	find_msg(msgs, n, last);
	free(last);
	t0 = now_ms();
	for (size_t i = 0; i < 100; i++)
		done_ok(&f, msgs[i].ref, 0);
	long long td = now_ms() - t0;
	assert_int_equal(count_files("t9", "Processed", NULL), 100);
	uint32_t uv = 0, lastuid = 0;
	assert_int_equal(store_mailbox_get(store, f.url, &uv, &lastuid), STORE_OK);
	assert_int_equal(lastuid, ref_uid(msgs[99].ref));
	source_msgs_free(msgs, n);
	fprintf(stderr, "# fetch of 1000 small mails: %lld ms (%.0f mails/s); done (UID MOVE + "
		"store): %.1f ms per mail\n", tf, tf ? 1000.0 * 1000 / (double)tf : 0.0,
		(double)td / 100);
	close_fx(&f);
}

/* A server without IDLE nor MOVE: UID COPY + \\Deleted + UID EXPUNGE, and
 * wait sleeps (1-s steps, stop seen). */
static void test_no_idle_no_move(void **st)
{
	(void)st;
	setenv("DOVECOT_EXTRA_CONF", "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS", 1);
	int rc = dovecot_in(plain_dir, "dovecot_setup");
	unsetenv("DOVECOT_EXTRA_CONF");
	assert_int_equal(rc, 0);
	assert_int_equal(dovecot_in(plain_dir, "dovecot_start"), 0);
	char *p = xasprintf("%s/ports", plain_dir);
	FILE *pf = fopen(p, "r");
	free(p);
	int port = 0, sport = 0;
	assert_non_null(pf);
	assert_int_equal(fscanf(pf, "IMAP_PORT=%d IMAPS_PORT=%d", &port, &sport), 2);
	fclose(pf);
	base = plain_dir;
	struct fx f;
	cfg_init(&f, "u", 0, 0, 0);
	f.cfg.mailbox.port = port;
	char *m1 = mail_text("u", 1), *m2 = mail_text("u", 2);
	deliver("u", m1, strlen(m1));
	deliver("u", m2, strlen(m2));
	open_ok(&f);
	struct source_msg *msgs;
	size_t n = fetch_ok(&f, 10, &msgs);
	assert_int_equal(n, 2);
	done_ok(&f, find_msg(msgs, n, m1)->ref, 0);
	done_ok(&f, find_msg(msgs, n, m2)->ref, 1);
	source_msgs_free(msgs, n);
	assert_int_equal(count_files("u", NULL, NULL), 0); /* expunged by UID */
	assert_int_equal(count_files("u", "Processed", m1), 1);
	assert_int_equal(count_files("u", "Quarantine", m2), 1);
	volatile sig_atomic_t stop = 0;
	char *err = NULL;
	long long t0 = now_ms();
	assert_int_equal(source_imap.wait(f.state, 2, &stop, &err), 0);
	long long dt = now_ms() - t0;
	assert_true(dt >= 1900 && dt < 3000);
	stop = 1;
	t0 = now_ms();
	assert_int_equal(source_imap.wait(f.state, 30, &stop, &err), 0);
	assert_true(now_ms() - t0 < 1000);
	close_fx(&f);
	base = dir;
	free(m1);
	free(m2);
	assert_int_equal(dovecot_in(plain_dir, "dovecot_stop"), 0);
}

/* --- setup --- */

static int group_setup(void **st)
{
	(void)st;
	char *sp = xasprintf("%s/store.db", dir), *err = NULL;
	int rc = store_open(sp, &store, &err);
	free(sp);
	if (rc != STORE_OK) {
		fprintf(stderr, "# %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **st)
{
	(void)st;
	store_close(store);
	return 0;
}

/* Starts Dovecot and reads its ports; writes the password file. */
static int start_server(void)
{
	if (dovecot_in(dir, "dovecot_setup") != 0)
		return -1;
	char *pw = xasprintf("%s/passwd", dir);
	FILE *f = fopen(pw, "a");
	free(pw);
	if (!f)
		return -1;
	for (int i = 1; i <= 11; i++)
		fprintf(f, "t%d:{PLAIN}secret::::::\n", i);
	fclose(f);
	if (dovecot_in(dir, "dovecot_start") != 0) {
		fprintf(stderr, "# cannot start dovecot in %s\n", dir);
		return -1;
	}
	char *p = xasprintf("%s/ports", dir);
	f = fopen(p, "r");
	free(p);
	int ok = f && fscanf(f, "IMAP_PORT=%d IMAPS_PORT=%d", &imap_port, &imaps_port) == 2;
	if (f)
		fclose(f);
	snprintf(pwfile, sizeof pwfile, "%s/pw", dir);
	snprintf(cafile, sizeof cafile, "%s/ca.pem", dir);
	f = ok ? fopen(pwfile, "w") : NULL;
	if (!f)
		return -1;
	fputs("secret\n", f);
	fclose(f);
	return chmod(pwfile, 0600);
}

static int have_dovecot(void)
{
	return system("command -v dovecot >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1") == 0;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!have_dovecot()) {
		puts("1..0 # SKIP dovecot not installed");
		return 0;
	}
	srcdir = getenv("top_srcdir");
	if (!srcdir) {
		fputs("test_imap: set top_srcdir to the source folder\n", stderr);
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	base = dir;
	plain_dir = xasprintf("%s/b", dir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_done_quarantine),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_store_state),
		cmocka_unit_test(test_broken_move),
		cmocka_unit_test(test_done_many_later),
		cmocka_unit_test(test_uidvalidity_change),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_volume),
		cmocka_unit_test(test_no_idle_no_move),
	};
	/* the tests run in a child, so that Dovecot is stopped and its log shown
	 * even when a sanitizer aborts them */
	int rc = 1;
	if (start_server() == 0) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			int r = cmocka_run_group_tests(tests, group_setup, group_teardown);
			if (idle_latency_ms >= 0)
				fprintf(stderr, "# IDLE: delivery to wake-up %lld ms\n", idle_latency_ms);
			exit(r ? 1 : 0); /* not _exit: LeakSanitizer runs at exit */
		}
		int status;
		if (pid > 0 && waitpid(pid, &status, 0) == pid)
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	if (rc != 0) {
		char *cmd = xasprintf("sed 's/^/# dovecot: /' '%s/dovecot.log' >&2; "
				      "sed 's/^/# dovecot (b): /' '%s/dovecot.log' >&2 2>/dev/null",
				      dir, plain_dir);
		if (system(cmd) != 0)
			fputs("# no dovecot log\n", stderr);
		free(cmd);
	}
	dovecot_in(dir, "dovecot_stop");
	dovecot_in(plain_dir, "dovecot_stop");
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
	free(cmd);
	free(plain_dir);
	return rc;
}
