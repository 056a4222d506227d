/* store.h: the SQLite store (WAL, versioned schema, prepared statements only).
 *
 * Everything the agent knows lives here: inbound mails (exact bytes), cases,
 * append-only hash-chained events, reply keys, the outbox, the operator queue
 * and the entity directory. Writers group work in store_begin/store_commit;
 * each function returns STORE_OK (0), STORE_NOTFOUND (1) or STORE_ERR (-1) and
 * on STORE_ERR sets the store's error text (store_errmsg). */
#ifndef CGEN_STORE_H
#define CGEN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "case.h"
#include "directory.h"
#include "util.h"

enum { STORE_OK = 0, STORE_NOTFOUND = 1, STORE_ERR = -1 };

struct store;

/* Opens (creating and migrating as needed) the store at path. Returns STORE_OK,
 * or STORE_ERR with *err allocated. */
int store_open(const char *path, struct store **out, char **err);
void store_close(struct store *st);
/* The schema version this program creates and migrates to (user_version). */
int store_schema_version(void);
const char *store_errmsg(const struct store *st);

int store_begin(struct store *st);     /* BEGIN IMMEDIATE */
/* A failed commit rolls the transaction back (its error is kept). */
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* --- inbound mail --- */
/* STORE_OK when a mail with this dedup id was already stored, else STORE_NOTFOUND. */
int store_message_seen(struct store *st, const char *dedup_id);
/* Records one inbound mail. source_ref: mailbox reference (maildir name, or
 * "UIDVALIDITY:UID"); kind: request|reply|auto-reply|bounce|complaint|other;
 * case_id may be NULL. Returns its row id in *id. */
int store_message_add(struct store *st, const char *dedup_id, const char *source_ref,
		      const char *raw, size_t len, const char *kind, const char *from,
		      const char *subject, const char *case_id, time_t at, int64_t *id);
/* Sets the case of a stored mail (when the case is created after the mail).
 * STORE_NOTFOUND when no mail has that id. */
int store_message_set_case(struct store *st, int64_t id, const char *case_id);
/* Exact bytes of a stored mail (allocated, with a NUL after the len bytes).
 * STORE_NOTFOUND when no mail has that id. */
int store_message_raw(struct store *st, int64_t id, char **raw, size_t *len);
/* Exact bytes of case c's original request: the first stored mail of kind
 * "request" with that case (looked up by c->request_msgid first when not
 * NULL). Allocated, NUL after the len bytes. STORE_NOTFOUND when none. */
int store_case_request_raw(struct store *st, const struct case_rec *c, char **raw, size_t *len);

/* --- cases --- */
/* The next free id for year: "CGEN-YEAR-NNNN" (at least 4 digits, one past the
 * highest stored that year). out holds >= 24 bytes. */
int store_case_next_id(struct store *st, int year, char out[24]);
/* Fills *out (free with case_clear); STORE_NOTFOUND when absent. */
int store_case_get(struct store *st, const char *id, struct case_rec *out);
/* Inserts or replaces the whole case. STORE_ERR when c->id is not
 * "CGEN-YEAR-NUM". */
int store_case_put(struct store *st, const struct case_rec *c);
/* All cases (state filter optional: NULL for all), oldest first. *out is an
 * allocated array of n cases; free with store_cases_free. */
int store_case_list(struct store *st, const char *state, struct case_rec **out, size_t *n);
/* At most max cases in state after (after_created, after_id) in the order of
 * store_case_list: a long list read a page at a time. */
int store_case_page(struct store *st, const char *state, time_t after_created,
		    const char *after_id, size_t max, struct case_rec **out, size_t *n);
void store_cases_free(struct case_rec *v, size_t n);

/* --- events (append-only, hash chain) --- */
struct event_rec {
	int64_t seq;             /* 1, 2, 3... over the whole store */
	char *case_id;           /* may be NULL (events not tied to a case) */
	time_t at;
	char *kind, *actor, *detail;
	char prev[65], hash[65]; /* lowercase hex SHA-256 */
};
/* Appends one event; hash = SHA-256 of prev hash, seq, case id, at, kind,
 * actor and detail (each length-prefixed). actor/detail may be NULL (stored "").*/
int store_event_add(struct store *st, const char *case_id, time_t at, const char *kind,
		    const char *actor, const char *detail);
/* Events of one case (case_id non-NULL) or all (NULL), in order. */
int store_events(struct store *st, const char *case_id, struct event_rec **out, size_t *n);
void store_events_free(struct event_rec *v, size_t n);
/* Recomputes the whole chain. STORE_OK when intact; STORE_NOTFOUND when it is
 * not, with *finding allocated naming the first bad event ("event 17 (case
 * CGEN-2026-0003, approved): hash does not match its contents"). Head and
 * length of the chain in *head (65 bytes) and *count when not NULL. */
int store_verify(struct store *st, char **finding, char head[65], int64_t *count);

/* --- reply keys --- */
struct key_rec {
	char *case_id;
	int step;
	char *role;
	char *addressee;
};
/* Adding a key that exists replaces it. store_key_get fills *out (free with
 * store_key_clear); STORE_NOTFOUND when absent. */
int store_key_add(struct store *st, const char *key, const char *case_id, int step,
		  const char *role, const char *addressee);
int store_key_get(struct store *st, const char *key, struct key_rec *out);
void store_key_clear(struct key_rec *k);

/* --- outbox --- */
struct outbox_rec {
	int64_t id;
	char *case_id;           /* may be NULL */
	char *env_from;
	struct strv rcpts;
	char *data;              /* the whole message, CRLF (NUL after len bytes) */
	size_t len;
	int attempts;
	time_t next_try;
};
/* Queues one message for sending. *id receives its outbox id. */
int store_outbox_add(struct store *st, const char *case_id, const char *env_from,
		     const struct strv *rcpts, const char *data, size_t len, time_t at,
		     int64_t *id);
/* The id the next store_outbox_add will get (to name Message-IDs before insert). */
int store_outbox_next_id(struct store *st, int64_t *id);
/* Unsent messages whose next_try <= now, oldest first, at most max. */
int store_outbox_due(struct store *st, time_t now, size_t max, struct outbox_rec **out, size_t *n);
void store_outbox_free(struct outbox_rec *v, size_t n);
int store_outbox_sent(struct store *st, int64_t id, time_t at);
/* store_outbox_sent, and text replaced by with in the stored copy, at once. */
int store_outbox_sent_redact(struct store *st, int64_t id, time_t at, const char *text,
			     const char *with);
/* sent, retry and failed return STORE_NOTFOUND when no row has that id. */
/* Temporary failure: attempts+1, next_try = retry_at, last error kept. */
int store_outbox_retry(struct store *st, int64_t id, time_t retry_at, const char *error);
/* Permanent failure: never retried; error kept. */
int store_outbox_failed(struct store *st, int64_t id, time_t at, const char *error);
/* Number of outbox messages addressed to addr queued since since (rate limit);
 * addresses compare whole, ASCII case-insensitively; every status counts. */
int store_outbox_count_to(struct store *st, const char *addr, time_t since, int *count);
/* The message of outbox row id when it belongs to case_id (allocated, CRLF,
 * NUL after the len bytes); STORE_NOTFOUND when no such row. */
int store_outbox_data(struct store *st, int64_t id, const char *case_id, char **data,
		      size_t *len);
/* Summary for cgenctl: counts of pending, sent and failed rows. */
int store_outbox_counts(struct store *st, int *pending, int *sent, int *failed);

/* --- operator queue --- */
struct queue_rec {
	int64_t id;
	int64_t message_id;      /* row id of the stored mail */
	time_t at;
	char *from, *subject, *reason; /* never NULL: "" when the mail had none */
};
int store_queue_add(struct store *st, int64_t message_id, time_t at, const char *reason);
/* Unresolved entries, oldest first, with the From: and Subject of their mail. */
int store_queue_list(struct store *st, struct queue_rec **out, size_t *n);
/* The stored mail of open queue entry id (STORE_NOTFOUND when there is none
 * or it was resolved). */
int store_queue_get(struct store *st, int64_t id, int64_t *message_id);
/* Marks queue entry id handled: it leaves `cgenctl queue`. */
int store_queue_resolve(struct store *st, int64_t id);
void store_queue_free(struct queue_rec *v, size_t n);

/* --- entity directory --- */
/* Replaces the whole directory (inside the caller's transaction, or its own). */
int store_directory_replace(struct store *st, const struct directory *d);
/* The stored directory, in import order (free with directory_free). */
int store_directory_load(struct store *st, struct directory *out);

/* --- mailbox state (IMAP sources) --- */
/* The UIDVALIDITY and last UID stored for mailbox (its URL without password);
 * STORE_NOTFOUND when none is. */
int store_mailbox_get(struct store *st, const char *mailbox, uint32_t *uidvalidity,
		      uint32_t *last_uid);
/* Inserts or replaces the state of mailbox. */
int store_mailbox_set(struct store *st, const char *mailbox, uint32_t uidvalidity,
		      uint32_t last_uid);

/* --- digests (DESIGN.md section 5) --- */
/* Events with at >= since, in chain order (free with store_events_free). */
int store_events_since(struct store *st, time_t since, struct event_rec **out, size_t *n);
/* The time of the first event; STORE_NOTFOUND when there is none. */
int store_event_first_at(struct store *st, time_t *at);
/* The seq of the event whose hash is hash (lowercase hex); STORE_NOTFOUND
 * when no event has it. */
int store_event_find(struct store *st, const char *hash, int64_t *seq);
/* When the digest of local day "YYYY-MM-DD" was sent (sent_at may be NULL);
 * STORE_NOTFOUND when it was not. */
int store_digest_get(struct store *st, const char *day, time_t *sent_at);
/* Records the digest of day; STORE_ERR when that day already has one. */
int store_digest_add(struct store *st, const char *day, time_t sent_at);

/* --- opening with intent (schema version 5) ---
 *
 * store_open above keeps its meaning (create and migrate as needed) for
 * tests and tools; the daemon and cgenctl say what they mean: */
enum {
	STORE_OPEN_RDONLY = 1,  /* read-only connection: never writes, never migrates */
	STORE_OPEN_CREATE = 2,  /* create the file (mode 0600) and its schema when missing */
	STORE_OPEN_MIGRATE = 4, /* bring an older schema up to date, after an online
				   backup to PATH.vN.bak (N: the old version), logged */
};
/* Returned by store_open_flags (only) for a failure that may pass by itself:
 * disk full, I/O error, the file locked by another process. */
enum { STORE_TEMPFAIL = -2 };
/* Opens the store at path as flags say. Whatever the flags, a store file (or
 * its -wal or -shm) that group or others may read or write is refused with
 * the chmod to run, and a missing file is created only with
 * STORE_OPEN_CREATE ("no store at PATH" otherwise; nothing is created). A
 * schema older than this program's is an error without STORE_OPEN_MIGRATE
 * (the message names `cgenctl migrate`); a newer one always is. Returns
 * STORE_OK, or STORE_ERR / STORE_TEMPFAIL with *err allocated ("PATH: ...")
 * and *out NULL. */
int store_open_flags(const char *path, unsigned flags, struct store **out, char **err);
/* The schema version of the open store (PRAGMA user_version). */
int store_version(struct store *st, int *version);
/* 1 when the connection is read-only. */
int store_readonly(const struct store *st);

/* SQLite's online backup of the whole store to dest (written to dest.tmp,
 * mode 0600, in rollback-journal mode so that it is one self-contained file,
 * synced, renamed over dest), then checked: integrity_check, schema version,
 * and the same number of cases, mails and events with the same chain head as
 * the store at the time of the copy. *summary (may be NULL) gets a line such
 * as "schema 5, 3 cases, 12 mails, 40 events, chain head 1f0c...". Returns
 * STORE_OK, or STORE_ERR with the store's error text set (dest is then left
 * untouched). */
int store_backup(struct store *st, const char *dest, char **summary);

/* The store's file is still the one that was opened (same device and inode):
 * STORE_OK, or STORE_ERR ("PATH was deleted" / "PATH was replaced") with the
 * error text set. The daemon asks each round. */
int store_file_check(struct store *st);
/* One tiny write transaction (a row rewritten): STORE_OK once the store can
 * commit again after a failed commit (disk full), else STORE_ERR. */
int store_probe(struct store *st, time_t now);
/* 1 when the last error of st was one that may pass by itself (SQLITE_FULL,
 * SQLITE_IOERR, SQLITE_BUSY, SQLITE_LOCKED), else 0. */
int store_error_transient(const struct store *st);

/* --- outbox: sends in flight --- */
/* Marks outbox rows ids as handed to the sender, in its own small transaction
 * (or the caller's). store_outbox_due no longer returns them; sent, retry and
 * failed clear the mark with the result. */
int store_outbox_sending(struct store *st, const int64_t *ids, size_t n, time_t now);
/* Outbox rows still marked at start: a crash or a failed commit came between
 * the send and its result (*ids allocated, n of them). */
int store_outbox_in_doubt(struct store *st, int64_t **ids, size_t *n);
/* Clears the mark of id without a result: the mail was not sent and goes out
 * with the next flush. */
int store_outbox_sending_clear(struct store *st, int64_t id);
/* The time id was marked as being sent (store_outbox_sending's now);
 * STORE_NOTFOUND when it is not marked. */
int store_outbox_sending_started(struct store *st, int64_t id, time_t *started);
/* Makes the next outbox id greater than id (after a restore, so that ids the
 * sender has already used are not given again). */
int store_outbox_id_floor(struct store *st, int64_t id);
/* 1 when outbox row id is marked sent, 0 when not, STORE_ERR on error. */
int store_outbox_is_sent(struct store *st, int64_t id);
/* Replaces every occurrence of text in the stored copy of outbox row id by
 * with (a sent mail's reply keys: the copy keeps no usable key). */
int store_outbox_redact(struct store *st, int64_t id, const char *text, const char *with);

/* --- global limits ([security] answer_limit, case_open_limit) --- */
/* One hit of kind ("answer", key "") or ("case_open", key entity code) at at. */
int store_limit_add(struct store *st, const char *kind, const char *key, time_t at);
/* Hits of (kind, key) at or after since. */
int store_limit_count(struct store *st, const char *kind, const char *key, time_t since,
		      int *count);
/* The keys of kind with at least limit hits at or after since, appended to keys. */
int store_limit_over(struct store *st, const char *kind, time_t since, int limit,
		     struct strv *keys);
/* Forgets hits older than before. */
int store_limit_prune(struct store *st, time_t before);

/* --- mailbox position (restore replay) --- */
/* The mark of mailbox (see schema.sql, version 5); STORE_NOTFOUND when none. */
int store_mark_get(struct store *st, const char *mailbox, int64_t *validity, int64_t *mark);
int store_mark_set(struct store *st, const char *mailbox, int64_t validity, int64_t mark);
/* STORE_OK when a stored mail has this mailbox reference, else STORE_NOTFOUND. */
int store_message_ref_seen(struct store *st, const char *source_ref);
/* STORE_OK when the mail stored under this reference was quarantined. */
int store_message_ref_quarantined(struct store *st, const char *source_ref);
/* --- operations: cgend's heartbeat, the outbox as an operator sees it --- */
/* What cgend last said about itself (one row, rewritten each round). Times
 * are 0 and texts NULL when unknown; *_ok is 1 for success, 0 for failure. */
struct heartbeat {
	int64_t pid;
	char *host;
	time_t started_at, beat_at;
	time_t poll_at;          /* last mailbox round */
	int poll_ok;
	char *poll_result;       /* "3 mails handled", or the error */
	time_t send_at;          /* last outbox round that tried to send */
	int send_ok;
	char *send_result;       /* "2 sent", or the last error */
	time_t error_at;         /* last error of any kind */
	char *error;
	time_t stopped_at;       /* cgend stopped cleanly (0 while it runs) */
};
int store_heartbeat_put(struct store *st, const struct heartbeat *hb);
/* STORE_NOTFOUND when cgend never ran on this store. */
int store_heartbeat_get(struct store *st, struct heartbeat *out);
void store_heartbeat_clear(struct heartbeat *hb);

/* One outbox row without its bytes. */
struct outbox_item {
	int64_t id;
	char *case_id;           /* may be NULL */
	char *env_from;
	struct strv rcpts;
	int64_t size;            /* bytes */
	time_t created, next_try;
	time_t since;            /* start of its lifetime: created, or the last requeue */
	int attempts;
	char *status;            /* "pending" or "failed" */
	char *error;             /* last error, or NULL */
};
void store_outbox_items_free(struct outbox_item *v, size_t n);
/* Pending rows and failed rows not dropped, by id. */
int store_outbox_list(struct store *st, struct outbox_item **out, size_t *n);
/* pending: waiting rows; oldest: creation of the oldest (0 when none);
 * retrying: waiting rows that failed at least once; failed: failed rows no
 * operator dropped. */
int store_outbox_summary(struct store *st, int *pending, time_t *oldest, int *retrying,
			 int *failed);
/* outbox retry: a pending row is due at now; a failed row (not dropped) is
 * pending again, its lifetime restarting at now. STORE_NOTFOUND when no row
 * has that id, or it was sent or dropped. */
int store_outbox_requeue(struct store *st, int64_t id, time_t now);
/* The same for every row that can be; *count receives how many. */
int store_outbox_requeue_all(struct store *st, time_t now, int *count);
/* outbox drop: never sent, kept with who dropped it and why; it no longer
 * counts as failed. *case_id (allocated, may be NULL) names its case.
 * STORE_NOTFOUND when no row has that id, or it was sent or dropped already. */
int store_outbox_drop(struct store *st, int64_t id, time_t at, const char *by, const char *reason,
		      char **case_id);
/* Pending rows whose lifetime began at or before before, now failed with
 * error "expired: ..." (the last error kept in it); *out lists them as they
 * were (free with store_outbox_items_free). Inside the caller's transaction. */
int store_outbox_expire(struct store *st, time_t before, time_t now, struct outbox_item **out,
			size_t *n);
/* The ids of the mails of case_id queued at its latest moment (only those to
 * addr when addr is not NULL); *ids allocated. */
int store_outbox_latest(struct store *st, const char *case_id, const char *addr, int64_t **ids,
			size_t *n);
/* The first recipient of outbox row id (*rcpt allocated, NULL when none);
 * STORE_NOTFOUND when there is no such row. */
int store_outbox_rcpt(struct store *st, int64_t id, char **rcpt);
/* A copy of outbox row id (same bytes and recipients), pending at now. */
int store_outbox_copy(struct store *st, int64_t id, time_t now, int64_t *new_id);

/* Open operator queue entries. */
int store_queue_count(struct store *st, int *n);
/* Inbound mails stored at or after since. */
int store_messages_count_since(struct store *st, time_t since, int *n);
/* The schema version of the store's file (PRAGMA user_version). */
int store_file_version(struct store *st, int *version);
/* The hash and seq of the last event (zero hash and 0 when there is none),
 * without verifying the chain. */
int store_event_head(struct store *st, char head[65], int64_t *seq);

/* --- a case's parties changed by an operator (cgenctl reassign) --- */
/* The address that stands for role ("requester", "aio" or "cio") in case_id
 * instead of the directory's, set by store_party_set. *aio and *cio
 * (allocated) are NULL when the directory's address holds. */
int store_party_get(struct store *st, const char *case_id, char **aio, char **cio);
int store_party_set(struct store *st, const char *case_id, const char *role, const char *addr);

/* --- the store's files, for cgenctl status (no connection needed) --- */
/* 1 when a cgend holds the lock file of the store at path (path ".lock"),
 * 0 when none does, -1 when that cannot be told (*err allocated). */
int store_lock_held(const char *path, char **err);
/* Bytes of the store at path with its -wal and -shm files; -1 when absent. */
long long store_file_size(const char *path);
/* --- people, request versions, a case's mails (mail views, the central file) --- */
/* Records the display name of addr (lowercase address; an empty name is
 * ignored). */
int store_person_set(struct store *st, const char *addr, const char *name, time_t at);
/* The display names known for addrs, as flat address, name pairs appended
 * to out (addresses without a name are left out). */
int store_people(struct store *st, const struct strv *addrs, struct strv *out);
/* Records the next version of case_id's request: the stored mail message_id. */
int store_request_version_add(struct store *st, const char *case_id, int64_t message_id,
			      time_t at);
/* The stored mails of each version of case_id's request, in order
 * (allocated array of *n row ids; NULL when none). */
int store_request_versions(struct store *st, const char *case_id, int64_t **ids, size_t *n);
/* One stored inbound mail of a case. */
struct case_msg {
	int64_t id;
	char *from;              /* "" when none */
	char *kind;
	time_t at;
	char *raw;               /* exact bytes, NUL after len */
	size_t len;
};
/* The stored mails of case_id, in arrival order; free with store_case_msgs_free. */
int store_case_msgs(struct store *st, const char *case_id, struct case_msg **out, size_t *n);
void store_case_msgs_free(struct case_msg *v, size_t n);

/* The number of cases in each state (counts indexed by enum case_state). */
int store_case_counts(struct store *st, int counts[ST__COUNT]);

/* --- the clock at scale (schema version 9) --- */
/* Granted cases whose exemption is not yet recorded as ended and whose end
 * can fall on or before before_end: the grant's time plus 31 days for each
 * month of the term and extensions is at most before_end (so every granted
 * case whose end day is on or before before_end is among them; the caller
 * passes now plus the largest notice, and decides exactly). Oldest grant
 * first; free with store_cases_free. */
int store_case_granted_due(struct store *st, time_t before_end, struct case_rec **out, size_t *n);
/* The chain as the last digest verified it (schema version 9): STORE_OK
 * with the seq and hash of that event, STORE_NOTFOUND when no digest
 * recorded one. */
int store_checkpoint_get(struct store *st, int64_t *seq, char hash[65]);
int store_checkpoint_set(struct store *st, int64_t seq, const char *hash, time_t at);
/* store_verify from a checkpoint: checks that event seq still has hash,
 * then recomputes the events after it only. Same results as store_verify
 * (*count is the whole chain's length); a checkpoint event that is gone or
 * whose hash changed is a finding. */
int store_verify_from(struct store *st, int64_t seq, const char *hash, char **finding,
		      char head[65], int64_t *count);

#endif
