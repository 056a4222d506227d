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

#endif
