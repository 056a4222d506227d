/* source.h: where inbound mail comes from. One small table of functions per
 * backend (Maildir now, IMAP later); the pipeline never knows which. */
#ifndef CGEN_SOURCE_H
#define CGEN_SOURCE_H

#include <signal.h>
#include <stddef.h>

struct conf;
struct store;
struct strv;

struct source_msg {
	char *ref;          /* backend reference, stable until done/quarantine
			       (Maildir: unique file name; IMAP: "UIDVALIDITY:UID") */
	char *data;         /* exact bytes; for an oversize mail only its header */
	size_t len;
	size_t size;        /* the mail's whole size in bytes */
	int oversize;       /* 1: larger than [mailbox] max_message_size, not
			       fetched whole: the agent answers and quarantines it */
	char *why;          /* non-NULL: the entry is not a mail the backend can read
			       (Maildir: a symbolic link, a FIFO...); data is "" and
			       the agent quarantines it with this reason */
};
/* A mail the backend cannot read at all (IMAP: its FETCH fails to parse even
 * alone) comes back with data "" (allocated), len 0 and oversize 0: the agent
 * quarantines it, so one poisonous mail never blocks the mailbox. */

struct source_ops {
	const char *name;
	/* Opens the mailbox named by cfg. st is the agent's store, where a backend
	 * keeps what it must remember (IMAP: UIDVALIDITY and the last UID seen);
	 * it may be NULL (tests), and the backend then remembers nothing. 0, or -1
	 * with *err allocated. */
	int (*open)(const struct conf *cfg, struct store *st, void **state, char **err);
	/* Next batch of at most max unprocessed mails (*msgs allocated array of *n).
	 * A mail returned stays unprocessed until done or quarantine is called. */
	int (*fetch)(void *state, size_t max, struct source_msg **msgs, size_t *n, char **err);
	/* After the durable commit: mark processed (Maildir: seen flag in cur/).
	 * Idempotent. Once done or quarantine was called for a ref, even when it
	 * failed, fetch does not return that ref again in this session. */
	int (*done)(void *state, const char *ref, char **err);
	/* done for n refs at once, where the backend does better than n calls
	 * (IMAP: one UID MOVE). NULL when it does not; the agent then calls done.
	 * 0, or -1 with *err set (the refs that could be parsed are still done). */
	int (*done_many)(void *state, const char *const *refs, size_t n, char **err);
	/* Move aside a mail that cannot be handled (Maildir: PATH/.Quarantine/). */
	int (*quarantine)(void *state, const char *ref, char **err);
	/* Waits until new mail may have arrived, at most timeout seconds, or until
	 * *stop becomes non-zero (checked at least once a second). Returns 0, or
	 * -1 with *err allocated after a connection error (the caller reconnects
	 * with backoff by close + open). */
	int (*wait)(void *state, int timeout, volatile sig_atomic_t *stop, char **err);
	void (*close)(void *state);
	/* Optional (NULL: nothing to record): records where the mailbox is now
	 * (store_mark_set), inside the agent's transaction of a batch, before its
	 * mails are marked done. After the store was restored from an older
	 * backup, open reads again what was finished after the stored mark (the
	 * agent skips what it has by Message-ID). 0, or -1 with *err allocated. */
	int (*position)(void *state, struct store *st, char **err);
	/* For `cgend --check-config --connect`, right after open (may be NULL):
	 * appends what it found to ok and what to fix to fix, one line each. */
	void (*check)(void *state, struct strv *ok, struct strv *fix);
};

/* maildir:PATH (cfg->mailbox.maildir): open fails when PATH is missing and
 * creates its missing tmp/ new/ cur/; fetch returns the mails of new/ and those
 * of cur/ without the S flag, ordered by unique name, ref = that name; done
 * renames to cur/NAME:2,FLAGS with S added; quarantine renames to
 * PATH/.Quarantine/cur/ likewise. Nothing is deleted. Entries are opened with
 * O_NOFOLLOW | O_NONBLOCK and read only when fstat shows a regular file; any
 * other entry (symbolic link, FIFO, device, folder) comes back with why set.
 * position stores the time of the commit; open then also returns the mails of
 * cur/ renamed since the stored mark whose name the store does not know. */
extern const struct source_ops source_maildir;
/* imap://[user@]host[:port]/FOLDER (STARTTLS when [mailbox] starttls = yes) and
 * imaps://...: certificates are verified (system trust, or ca_file) with the host
 * name; UIDVALIDITY and the last UID handled live in the store (mailbox state);
 * done and quarantine move the mail to processed_folder or quarantine_folder
 * (created when missing); wait uses IDLE when offered, else sleeps. */
extern const struct source_ops source_imap;

/* The backend for cfg's mailbox URL, or NULL when not supported. */
const struct source_ops *source_for(const struct conf *cfg);
void source_msgs_free(struct source_msg *v, size_t n);

#endif
