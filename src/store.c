/* store.c: see store.h. Every statement is prepared once per store (lazily) and
 * reset after each use; nothing builds SQL from data. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sqlite3.h>

#include "fs.h"
#include "log.h"
#include "store.h"
#include "src/schema.h" /* generated in the build tree from schema.sql */

enum q {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_DATA_VERSION,
	Q_MSG_SEEN,
	Q_MSG_ADD,
	Q_MSG_SET_CASE,
	Q_MSG_RAW,
	Q_MSG_REQUEST_BY_ID,
	Q_MSG_REQUEST,
	Q_CASE_MAXNUM,
	Q_CASE_GET,
	Q_CASE_PUT,
	Q_CASE_LIST,
	Q_CASE_LIST_STATE,
	Q_EV_HEAD,
	Q_EV_ADD,
	Q_EV_ALL,
	Q_EV_CASE,
	Q_KEY_ADD,
	Q_KEY_GET,
	Q_OB_ADD,
	Q_OB_NEXT_ID,
	Q_OB_DUE,
	Q_OB_SENT,
	Q_OB_RETRY,
	Q_OB_FAILED,
	Q_OB_COUNT_TO,
	Q_OB_RCPT_ADD,
	Q_OB_COUNTS,
	Q_OB_DATA,
	Q_QUEUE_ADD,
	Q_QUEUE_LIST,
	Q_QUEUE_GET,
	Q_QUEUE_RESOLVE,
	Q_ENT_CLEAR,
	Q_ENT_ADD,
	Q_ENT_LOAD,
	Q_MBOX_GET,
	Q_MBOX_SET,
	Q_EV_SINCE,
	Q_EV_FIRST_AT,
	Q_EV_FIND,
	Q_DIGEST_GET,
	Q_DIGEST_ADD,
	Q_OB_SENDING_ADD,
	Q_OB_SENDING_AT,
	Q_OB_SENDING_DEL,
	Q_OB_IN_DOUBT,
	Q_OB_SEQ_SET,
	Q_OB_IS_SENT,
	Q_OB_REDACT,
	Q_OB_SENT_REDACT,
	Q_CASE_PAGE,
	Q_LIMIT_ADD,
	Q_LIMIT_COUNT,
	Q_LIMIT_OVER,
	Q_LIMIT_PRUNE,
	Q_MARK_GET,
	Q_MARK_SET,
	Q_MSG_REF_SEEN,
	Q_MSG_REF_QUAR,
	Q_PROBE,
	Q_HB_PUT,
	Q_HB_GET,
	Q_OB_LIST,
	Q_OB_SUMMARY,
	Q_OB_REQUEUE,
	Q_OB_REQUEUE_ALL,
	Q_OB_DROP,
	Q_OB_CASE_OF,
	Q_OB_EXPIRING,
	Q_OB_EXPIRE,
	Q_OB_LATEST,
	Q_OB_COPY,
	Q_OB_RCPT_COPY,
	Q_QUEUE_COUNT,
	Q_MSG_COUNT_SINCE,
	Q_USER_VERSION,
	Q_PARTY_GET,
	Q_PARTY_SET,
	Q_LIFE_GET,
	Q_LIFE_PUT,
	Q__COUNT
};

#define CASE_COLS                                                                  \
	"id, state, entity, requester, aio, cio, step, subject, request_msgid, "   \
	"fields_json, problems_json, summary, recommendation, decision, reminders, " \
	"overdue, created, updated, state_since"
#define EVENT_COLS "seq, case_id, at, kind, actor, detail, prev, hash"
#define LIFE_COLS                                                                  \
	"alternative, decided, term_months, extension_months, end_set, ext_months, " \
	"ext_reason, ext_by, renews, renews_text, renewed_by, expiry_notice"

static const char *const sql[Q__COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_DATA_VERSION] = "PRAGMA data_version",
	[Q_MSG_SEEN] = "SELECT 1 FROM messages WHERE dedup_id = ?1",
	[Q_MSG_ADD] = "INSERT INTO messages (dedup_id, source_ref, raw, kind, from_addr, "
		      "subject, case_id, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_MSG_SET_CASE] = "UPDATE messages SET case_id = ?2 WHERE id = ?1",
	[Q_MSG_RAW] = "SELECT raw FROM messages WHERE id = ?1",
	/* By the unique dedup_id first: a scan must read past every raw blob. */
	[Q_MSG_REQUEST_BY_ID] = "SELECT raw FROM messages WHERE dedup_id = ?2 AND case_id = ?1 "
				"AND kind = 'request'",
	[Q_MSG_REQUEST] = "SELECT raw FROM messages WHERE case_id = ?1 AND kind = 'request' "
			  "ORDER BY id LIMIT 1",
	[Q_CASE_MAXNUM] = "SELECT coalesce(max(num), 0) FROM cases WHERE year = ?1",
	[Q_CASE_GET] = "SELECT " CASE_COLS " FROM cases WHERE id = ?1",
	[Q_CASE_PUT] = "INSERT OR REPLACE INTO cases (" CASE_COLS ", year, num) VALUES "
		       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		       "?16, ?17, ?18, ?19, ?20, ?21)",
	[Q_CASE_LIST] = "SELECT " CASE_COLS " FROM cases ORDER BY created, id",
	[Q_CASE_LIST_STATE] = "SELECT " CASE_COLS " FROM cases WHERE state = ?1 "
			      "ORDER BY created, id",
	[Q_CASE_PAGE] = "SELECT " CASE_COLS " FROM cases WHERE state = ?1 AND (created, id) > (?2, ?3) "
			"ORDER BY created, id LIMIT ?4",
	[Q_EV_HEAD] = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
	[Q_EV_ADD] = "INSERT INTO events (" EVENT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_EV_ALL] = "SELECT " EVENT_COLS " FROM events ORDER BY seq",
	[Q_EV_CASE] = "SELECT " EVENT_COLS " FROM events WHERE case_id = ?1 ORDER BY seq",
	[Q_KEY_ADD] = "INSERT OR REPLACE INTO reply_keys (key, case_id, step, role, addressee) "
		      "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_KEY_GET] = "SELECT case_id, step, role, addressee FROM reply_keys WHERE key = ?1",
	[Q_OB_ADD] = "INSERT INTO outbox (case_id, env_from, rcpts, data, created, next_try) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	/* AUTOINCREMENT takes one past the larger of these two. */
	[Q_OB_NEXT_ID] = "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
			 "'outbox'), 0), coalesce((SELECT max(id) FROM outbox), 0)) + 1",
	/* rows in outbox_sending were handed to the sender: never twice */
	[Q_OB_DUE] = "SELECT id, case_id, env_from, rcpts, data, attempts, next_try FROM outbox "
		     "WHERE status = 'pending' AND next_try <= ?1 AND id NOT IN "
		     "(SELECT outbox_id FROM outbox_sending) ORDER BY id LIMIT ?2",
	[Q_OB_SENT] = "UPDATE outbox SET status = 'sent', sent_at = ?2 WHERE id = ?1",
	[Q_OB_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_try = ?2, error = ?3 "
		       "WHERE id = ?1",
	[Q_OB_FAILED] = "UPDATE outbox SET status = 'failed', failed_at = ?2, error = ?3 "
			"WHERE id = ?1",
	/* rcpts holds one address a line: match whole lines only. */
	[Q_OB_COUNT_TO] = "SELECT count(*) FROM outbox_rcpts WHERE addr = lower(?1) AND created >= ?2",
	[Q_OB_RCPT_ADD] = "INSERT INTO outbox_rcpts (outbox_id, addr, created) VALUES (?1, lower(?2), ?3)",
	[Q_OB_COUNTS] = "SELECT status, count(*) FROM outbox GROUP BY status",
	[Q_OB_DATA] = "SELECT data FROM outbox WHERE id = ?1 AND case_id = ?2",
	[Q_QUEUE_ADD] = "INSERT INTO queue (message_id, at, reason) VALUES (?1, ?2, ?3)",
	[Q_QUEUE_LIST] = "SELECT q.id, q.message_id, q.at, m.from_addr, m.subject, q.reason "
			 "FROM queue q JOIN messages m ON m.id = q.message_id "
			 "WHERE q.resolved = 0 ORDER BY q.id",
	[Q_QUEUE_GET] = "SELECT message_id FROM queue WHERE id = ?1 AND resolved = 0",
	[Q_QUEUE_RESOLVE] = "UPDATE queue SET resolved = 1 WHERE id = ?1",
	[Q_ENT_CLEAR] = "DELETE FROM entities",
	[Q_ENT_ADD] = "INSERT INTO entities (code, name, domains, aio, cio, aio_delegates, "
		      "cio_delegates, exempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_ENT_LOAD] = "SELECT code, name, domains, aio, cio, aio_delegates, cio_delegates, "
		       "exempt FROM entities ORDER BY rowid",
	[Q_MBOX_GET] = "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1",
	[Q_MBOX_SET] = "INSERT OR REPLACE INTO mailbox_state (mailbox, uidvalidity, last_uid) "
		       "VALUES (?1, ?2, ?3)",
	[Q_EV_SINCE] = "SELECT " EVENT_COLS " FROM events INDEXED BY events_at WHERE at >= ?1 "
		       "ORDER BY seq",
	[Q_EV_FIRST_AT] = "SELECT at FROM events ORDER BY seq LIMIT 1",
	[Q_EV_FIND] = "SELECT seq FROM events WHERE hash = ?1 ORDER BY seq LIMIT 1",
	[Q_DIGEST_GET] = "SELECT sent_at FROM digests WHERE day = ?1",
	[Q_DIGEST_ADD] = "INSERT INTO digests (day, sent_at) VALUES (?1, ?2)",
	[Q_OB_SENDING_ADD] = "INSERT OR REPLACE INTO outbox_sending (outbox_id, started) VALUES (?1, ?2)",
	[Q_OB_SENDING_AT] = "SELECT started FROM outbox_sending WHERE outbox_id = ?1",
	[Q_OB_SENDING_DEL] = "DELETE FROM outbox_sending WHERE outbox_id = ?1",
	[Q_OB_IN_DOUBT] = "SELECT outbox_id FROM outbox_sending ORDER BY outbox_id",
	[Q_OB_SEQ_SET] = "INSERT OR REPLACE INTO sqlite_sequence (rowid, name, seq) VALUES "
			 "((SELECT rowid FROM sqlite_sequence WHERE name = 'outbox'), 'outbox', ?1)",
	[Q_OB_IS_SENT] = "SELECT status = 'sent' FROM outbox WHERE id = ?1",
	/* outgoing mail is 7-bit (quoted-printable, base64): text is safe */
	[Q_OB_REDACT] = "UPDATE outbox SET data = CAST(replace(CAST(data AS TEXT), ?2, ?3) AS BLOB) "
			"WHERE id = ?1",
	/* sent, and one reply key removed from the copy: the row (and its
	 * mail) written once, not twice */
	[Q_OB_SENT_REDACT] = "UPDATE outbox SET status = 'sent', sent_at = ?2, "
			     "data = CAST(replace(CAST(data AS TEXT), ?3, ?4) AS BLOB) WHERE id = ?1",
	[Q_LIMIT_ADD] = "INSERT INTO limit_hits (kind, key, at, n) VALUES (?1, ?2, ?3, "
			"coalesce((SELECT max(n) FROM limit_hits WHERE kind = ?1 AND key = ?2), 0) + 1)",
	[Q_LIMIT_COUNT] = "SELECT count(*) FROM limit_hits WHERE kind = ?1 AND key = ?2 AND at >= ?3",
	/* Each key reached by a skip along the index (kind, key, at); its hits
	 * since ?2 from the running numbers (schema version 10): a few look-ups
	 * per key, however many hits. */
	[Q_LIMIT_OVER] = "WITH RECURSIVE keys(k) AS ("
			 "SELECT min(key) FROM limit_hits WHERE kind = ?1 UNION ALL "
			 "SELECT (SELECT min(key) FROM limit_hits WHERE kind = ?1 AND key > k) "
			 "FROM keys WHERE k IS NOT NULL) "
			 "SELECT k FROM keys WHERE k IS NOT NULL AND "
			 "(SELECT max(n) FROM limit_hits WHERE kind = ?1 AND key = k) - "
			 "coalesce((SELECT n FROM limit_hits WHERE kind = ?1 AND key = k AND at >= ?2 "
			 "ORDER BY at, n LIMIT 1), 1 << 62) + 1 >= ?3 ORDER BY k",
	[Q_LIMIT_PRUNE] = "DELETE FROM limit_hits WHERE at < ?1",
	[Q_MARK_GET] = "SELECT validity, mark FROM mailbox_mark WHERE mailbox = ?1",
	[Q_MARK_SET] = "INSERT OR REPLACE INTO mailbox_mark (mailbox, validity, mark) VALUES (?1, ?2, ?3)",
	[Q_MSG_REF_SEEN] = "SELECT 1 FROM messages WHERE source_ref = ?1 LIMIT 1",
	[Q_MSG_REF_QUAR] = "SELECT 1 FROM messages WHERE source_ref = ?1 AND kind = 'quarantined' "
			   "LIMIT 1",
	[Q_PROBE] = "INSERT OR REPLACE INTO store_probe (id, at) VALUES (1, ?1)",
	[Q_HB_PUT] = "INSERT OR REPLACE INTO heartbeat (id, pid, host, started_at, beat_at, poll_at, "
		     "poll_ok, poll_result, send_at, send_ok, send_result, error_at, error, stopped_at) "
		     "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[Q_HB_GET] = "SELECT pid, host, started_at, beat_at, poll_at, poll_ok, poll_result, send_at, "
		     "send_ok, send_result, error_at, error, stopped_at FROM heartbeat WHERE id = 1",
	/* Waiting mail, and failed mail no operator has dropped yet. */
	[Q_OB_LIST] = "SELECT id, case_id, env_from, rcpts, length(data), created, attempts, next_try, "
		      "status, error, coalesce(requeued_at, created) FROM outbox "
		      "WHERE status = 'pending' OR (status = 'failed' AND dropped_at IS NULL) ORDER BY id",
	[Q_OB_SUMMARY] = "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'), "
			 "(SELECT min(created) FROM outbox WHERE status = 'pending'), "
			 "(SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts > 0), "
			 "(SELECT count(*) FROM outbox WHERE status = 'failed' AND dropped_at IS NULL)",
	[Q_OB_REQUEUE] = "UPDATE outbox SET status = 'pending', next_try = ?2, requeued_at = CASE "
			 "WHEN status = 'failed' THEN ?2 ELSE requeued_at END, failed_at = NULL, "
			 "expired_at = NULL WHERE id = ?1 AND dropped_at IS NULL AND status <> 'sent'",
	[Q_OB_REQUEUE_ALL] = "UPDATE outbox SET status = 'pending', next_try = ?1, requeued_at = CASE "
			     "WHEN status = 'failed' THEN ?1 ELSE requeued_at END, failed_at = NULL, "
			     "expired_at = NULL WHERE dropped_at IS NULL AND status <> 'sent'",
	[Q_OB_DROP] = "UPDATE outbox SET status = 'failed', failed_at = coalesce(failed_at, ?2), "
		      "dropped_at = ?2, dropped_by = ?3, drop_reason = ?4 "
		      "WHERE id = ?1 AND dropped_at IS NULL AND status <> 'sent'",
	[Q_OB_CASE_OF] = "SELECT case_id, rcpts, status, dropped_at FROM outbox WHERE id = ?1",
	[Q_OB_EXPIRING] = "SELECT id, case_id, env_from, rcpts, length(data), created, attempts, "
			  "next_try, status, error, coalesce(requeued_at, created) FROM outbox "
			  "WHERE status = 'pending' AND coalesce(requeued_at, created) <= ?1 ORDER BY id",
	[Q_OB_EXPIRE] = "UPDATE outbox SET status = 'failed', failed_at = ?2, expired_at = ?2, "
			"error = ?3 WHERE id = ?1 AND status = 'pending'",
	/* The mails of a case queued at its latest moment (to one address: ?2). */
	[Q_OB_LATEST] = "SELECT id FROM outbox WHERE case_id = ?1 AND (?2 IS NULL OR id IN "
			"(SELECT outbox_id FROM outbox_rcpts WHERE addr = lower(?2))) AND created = "
			"(SELECT max(created) FROM outbox WHERE case_id = ?1 AND (?2 IS NULL OR id IN "
			"(SELECT outbox_id FROM outbox_rcpts WHERE addr = lower(?2)))) ORDER BY id",
	[Q_OB_COPY] = "INSERT INTO outbox (case_id, env_from, rcpts, data, created, next_try) "
		      "SELECT case_id, env_from, rcpts, data, ?2, ?2 FROM outbox WHERE id = ?1",
	[Q_OB_RCPT_COPY] = "INSERT INTO outbox_rcpts (outbox_id, addr, created) "
			   "SELECT ?2, addr, ?3 FROM outbox_rcpts WHERE outbox_id = ?1",
	[Q_QUEUE_COUNT] = "SELECT count(*) FROM queue WHERE resolved = 0",
	[Q_MSG_COUNT_SINCE] = "SELECT count(*) FROM messages WHERE received_at >= ?1",
	[Q_USER_VERSION] = "PRAGMA user_version",
	[Q_PARTY_GET] = "SELECT role, addr FROM case_parties WHERE case_id = ?1 ORDER BY role",
	[Q_PARTY_SET] = "INSERT OR REPLACE INTO case_parties (case_id, role, addr) VALUES (?1, ?2, lower(?3))",
	[Q_LIFE_GET] = "SELECT " LIFE_COLS " FROM case_life WHERE case_id = ?1",
	[Q_LIFE_PUT] = "INSERT OR REPLACE INTO case_life (case_id, " LIFE_COLS ") VALUES "
		       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
};

struct store {
	char *path;              /* as opened: named in every sqlite error */
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	char *err;
	/* Head of the event chain, cached after the first read. Valid while
	 * head_ok; dropped on rollback or error, and re-read when another
	 * connection has committed since (PRAGMA data_version changed). */
	int head_ok;
	int64_t head_seq, head_dv;
	char head[65];
	dev_t dev;               /* of the file opened (store_file_check) */
	ino_t ino;
	int readonly;
	int last_code;           /* SQLite's code of the last failure, 0 when none */
	struct {                 /* statements of once(), by their text's address */
		const char *sql;
		sqlite3_stmt *s;
	} more[16];
};

static const char zero_hash[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* --- errors, statements, bindings --- */

static int failf(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct store *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	free(st->err);
	st->err = m;
	st->head_ok = 0; /* the transaction may be gone with the error */
	st->last_code = 0;
	return STORE_ERR;
}

static int sqlfail(struct store *st)
{
	/* the first thing an operator must know when the store fails is which
	 * file it is, and for a read-only one whose account can write it */
	int code = sqlite3_errcode(st->db);
	failf(st, "%s: sqlite: %s%s", st->path ? st->path : "store", sqlite3_errmsg(st->db),
	      code == SQLITE_READONLY ? " (the file or its folder belongs to another account: "
					"run as the store's owner)" : "");
	st->last_code = code;
	return STORE_ERR;
}

/* The cached statement id, prepared on first use; NULL (error set) on failure. */
static sqlite3_stmt *stmt(struct store *st, enum q id)
{
	if (!st->q[id] && sqlite3_prepare_v3(st->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					     &st->q[id], NULL) != SQLITE_OK) {
		sqlfail(st);
		st->q[id] = NULL;
	}
	return st->q[id];
}

/* Ready for reuse: no lingering read transaction, no dangling bindings. */
static void done(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* Binds parameters 1, 2, ... by fmt: t text (NULL binds NULL), d int,
 * l int64_t, T time_t, b blob (const char *, size_t). Bound values must
 * outlive the statement's use (they are not copied). */
static int bindv(struct store *st, sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int rc = SQLITE_OK, i = 1;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		switch (*f) {
		case 't':
			rc = sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'd':
			rc = sqlite3_bind_int(s, i, va_arg(ap, int));
			break;
		case 'l':
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		case 'T':
			rc = sqlite3_bind_int64(s, i, (sqlite3_int64)va_arg(ap, time_t));
			break;
		case 'b': {
			const char *p = va_arg(ap, const char *);
			size_t n = va_arg(ap, size_t);
			/* a NULL pointer would bind NULL: an empty blob is still a blob */
			rc = n ? sqlite3_bind_blob64(s, i, p, n, SQLITE_STATIC)
			       : sqlite3_bind_zeroblob(s, i, 0);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	va_end(ap);
	return rc == SQLITE_OK ? STORE_OK : sqlfail(st);
}

/* One step: STORE_OK with a row, STORE_NOTFOUND when done, STORE_ERR. */
static int row(struct store *st, sqlite3_stmt *s)
{
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_DONE:
		return STORE_NOTFOUND;
	default:
		return sqlfail(st);
	}
}

/* Runs a statement that returns no rows. */
static int run(struct store *st, sqlite3_stmt *s)
{
	int rc = row(st, s);
	return rc == STORE_NOTFOUND ? STORE_OK : rc == STORE_OK ? failf(st, "unexpected row") : rc;
}

/* Runs a statement without parameters nor rows, by id. */
static int run_id(struct store *st, enum q id)
{
	sqlite3_stmt *s = stmt(st, id);
	int rc = s ? run(st, s) : STORE_ERR;
	done(s);
	return rc;
}

static char *col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* Like col_str, but "" for NULL. */
static char *col_str0(sqlite3_stmt *s, int i)
{
	char *t = col_str(s, i);
	return t ? t : xstrdup("");
}

/* A blob column as an allocated, NUL-terminated copy. */
static char *col_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(s, i);
	size_t n = (size_t)sqlite3_column_bytes(s, i);
	char *o = xmalloc(n + 1);
	if (n)
		memcpy(o, p, n);
	o[n] = '\0';
	*len = n;
	return o;
}

/* Grows *v (elements of size sz) to hold at least n+1, doubling. */
static void *grow(void *v, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	v = xrealloc(v, *cap * sz);
	memset((char *)v + n * sz, 0, (*cap - n) * sz);
	return v;
}

/* --- open, schema, transactions --- */

/* The next "-- version N" line at or after p, or NULL; *n is N and *body the
 * text after that line. */
static const char *next_section(const char *p, int *n, const char **body)
{
	static const char mark[] = "-- version ";
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (strncmp(p, mark, sizeof mark - 1) == 0 &&
		    isdigit((unsigned char)p[sizeof mark - 1])) {
			*n = (int)strtol(p + sizeof mark - 1, NULL, 10);
			*body = eol ? eol + 1 : p + strlen(p);
			return p;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

int store_schema_version(void)
{
	int n, latest = 0;
	const char *p = schema_sql, *body;
	while ((p = next_section(p, &n, &body)))
		latest = n, p = body;
	return latest;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(s);
	*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* "h:" and the lowercase hex SHA-256 of a reply key: what the store keeps
 * instead of the key (out holds 67 bytes). */
static int key_digest(const char *key, char out[67])
{
	unsigned char dig[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key, strlen(key), dig) < 0)
		return -1;
	memcpy(out, "h:", 2);
	hex_encode(dig, sizeof dig, out + 2);
	return 0;
}

/* What a schema section needs beyond its SQL, run in the same transaction
 * right after it. Version 5: reply keys stored before it are replaced by
 * their digest. 0, or -1 (the SQLite error is on db). */
static int section_code(sqlite3 *db, int n)
{
	if (n != 5)
		return 0;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = -1, r;
	if (sqlite3_prepare_v2(db, "SELECT key FROM reply_keys WHERE key NOT LIKE 'h:%'", -1, &sel,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE reply_keys SET key = ?2 WHERE key = ?1", -1, &upd,
			       NULL) != SQLITE_OK)
		goto out;
	struct strv keys = {0};
	while ((r = sqlite3_step(sel)) == SQLITE_ROW)
		strv_add(&keys, (const char *)sqlite3_column_text(sel, 0));
	rc = r == SQLITE_DONE ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < keys.n; i++) {
		char dig[67];
		if (key_digest(keys.v[i], dig) < 0 ||
		    sqlite3_bind_text(upd, 1, keys.v[i], -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(upd, 2, dig, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_step(upd) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(upd);
	}
	for (size_t i = 0; i < keys.n; i++)
		explicit_bzero(keys.v[i], strlen(keys.v[i]));
	strv_free(&keys);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* Applies every schema section newer than user_version in one transaction.
 * Returns 0, or -1 with *msg allocated. */
static int schema_apply(sqlite3 *db, char **msg)
{
	int cur, latest = store_schema_version();
	if (user_version(db, &cur) < 0)
		goto sqlerr;
	if (cur == latest)
		return 0;
	if (cur < latest) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			goto sqlerr;
		/* another process may have migrated while we waited for the lock */
		if (user_version(db, &cur) < 0)
			goto sqlerr_rollback;
	}
	if (cur > latest) {
		*msg = xasprintf("schema version %d is newer than this program knows (%d)",
				 cur, latest);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	int n;
	const char *p = schema_sql, *body;
	while ((p = next_section(p, &n, &body))) {
		int next_n;
		const char *next_body, *end = next_section(body, &next_n, &next_body);
		if (n > cur) {
			char *text = xstrndup(body, end ? (size_t)(end - body) : strlen(body));
			/* n is the program's own section number, not data */
			char pragma[48];
			snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", n);
			int bad = sqlite3_exec(db, text, NULL, NULL, NULL) != SQLITE_OK ||
				  section_code(db, n) != 0 ||
				  sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK;
			free(text);
			if (bad)
				goto sqlerr_rollback;
		}
		p = body;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto sqlerr_rollback;
	return 0;
sqlerr_rollback:
	*msg = xasprintf("sqlite: %s", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
sqlerr:
	*msg = xasprintf("sqlite: %s", sqlite3_errmsg(db));
	return -1;
}

/* Connection settings; 0 or -1 with *msg allocated. */
static int configure(sqlite3 *db, char **msg)
{
	sqlite3_stmt *s = NULL;
	int ok = 0;
	if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto sqlerr;
	ok = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	s = NULL;
	if (!ok) {
		*msg = xstrdup("cannot switch to WAL mode");
		return -1;
	}
	/* FULL: in WAL mode each commit is synced before it returns; NORMAL would
	 * lose the last commits on power loss, and with them mails already
	 * flagged as processed on the server. */
	if (sqlite3_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL,
			 NULL) != SQLITE_OK)
		goto sqlerr;
	return 0;
sqlerr:
	*msg = xasprintf("sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return -1;
}

/* SQLite codes after which trying again later may work. */
static int code_transient(int code)
{
	switch (code & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return 1;
	default:
		return 0;
	}
}

static int errno_transient(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EAGAIN || e == EINTR;
}

/* The store file and its -wal and -shm, where they exist, must be private.
 * Returns 0, 1 when path does not exist (*msg NULL), or -1 with *msg. */
static int check_files(const char *path, char **msg)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	struct buf open_to = {0}, existing = {0};
	struct stat sb;
	int rc = 0;
	for (size_t i = 0; i < ARRAY_LEN(suffix); i++) {
		char *p = xasprintf("%s%s", path, suffix[i]);
		if (stat(p, &sb) < 0) {
			if (i == 0 && errno == ENOENT)
				rc = 1;
			else if (errno != ENOENT) {
				*msg = xasprintf("%s: %s", p, strerror(errno));
				rc = -1;
			}
			free(p);
			if (rc)
				goto out;
			continue;
		}
		if (!S_ISREG(sb.st_mode)) {
			*msg = xasprintf("%s: not a regular file", p);
			free(p);
			rc = -1;
			goto out;
		}
		buf_addf(&existing, " %s", p);
		if (sb.st_mode & 077)
			buf_addf(&open_to, " %s", p);
		free(p);
	}
	if (open_to.len) {
		*msg = xasprintf("%s: the store is readable or writable by group or others (%s); it "
				 "holds every mail and case: run  chmod 600%s", path, open_to.s + 1,
				 existing.s);
		rc = -1;
	}
out:
	buf_free(&open_to);
	buf_free(&existing);
	return rc;
}

/* Creates an empty store file, mode 0600 whatever the umask (SQLite gives its
 * -wal and -shm the mode of the file). 0, or -1 with *msg; *transient set. */
static int create_file(const char *path, char **msg, int *transient)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0; /* created meanwhile by another process */
	if (fd < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		int e = errno;
		*msg = xasprintf("cannot create: %s", strerror(e));
		*transient = errno_transient(e);
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	close(fd);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int r = fs_sync_dir(slash ? dir : ".");
	free(dir);
	if (r < 0) {
		*msg = xasprintf("cannot create: fsync of its folder: %s", strerror(errno));
		*transient = errno_transient(errno);
		return -1;
	}
	return 0;
}

/* Settings of a read-only connection. */
static int configure_ro(sqlite3 *db, char **msg)
{
	if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK) {
		*msg = xasprintf("sqlite: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* Counts of a store that a backup must reproduce, as one line. */
static int snapshot_text(sqlite3 *db, char **out)
{
	sqlite3_stmt *s = NULL;
	int v, rc = -1;
	*out = NULL;
	if (user_version(db, &v) < 0 ||
	    sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM "
				   "messages), (SELECT count(*) FROM events), (SELECT hash FROM "
				   "events ORDER BY seq DESC LIMIT 1)", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	const char *head = (const char *)sqlite3_column_text(s, 3);
	*out = xasprintf("schema %d, %lld cases, %lld mails, %lld events, chain head %s", v,
			 (long long)sqlite3_column_int64(s, 0), (long long)sqlite3_column_int64(s, 1),
			 (long long)sqlite3_column_int64(s, 2), head ? head : zero_hash);
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* The online backup of src to dest (see store_backup). 0 with *summary, or
 * -1 with *msg; *transient set when it may work later. */
static int backup_db(sqlite3 *src, const char *dest, char **summary, char **msg, int *transient)
{
	char *tmp = xasprintf("%s.tmp", dest), *journal = xasprintf("%s.tmp-journal", dest);
	char *want = NULL, *got = NULL;
	sqlite3 *d = NULL;
	int rc = -1, own = sqlite3_get_autocommit(src);
	*transient = 0;
	unlink(tmp);
	unlink(journal);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		*msg = xasprintf("%s: %s", tmp, strerror(errno));
		*transient = errno_transient(errno);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	/* One read transaction: the counts and the copy are the same snapshot. */
	if ((own && sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) ||
	    snapshot_text(src, &want) < 0) {
		*msg = xasprintf("sqlite: %s", sqlite3_errmsg(src));
		*transient = code_transient(sqlite3_errcode(src));
		goto out_tx;
	}
	if (sqlite3_open_v2(tmp, &d, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		*msg = xasprintf("%s: sqlite: %s", tmp, d ? sqlite3_errmsg(d) : "out of memory");
		goto out_tx;
	}
	sqlite3_backup *b = sqlite3_backup_init(d, "main", src, "main");
	int r = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(d);
	int fr = b ? sqlite3_backup_finish(b) : r;
	if (r != SQLITE_DONE || fr != SQLITE_OK) {
		*msg = xasprintf("%s: backup: %s", tmp, sqlite3_errmsg(d));
		*transient = code_transient(sqlite3_errcode(d));
		goto out_tx;
	}
	/* one self-contained file: no -wal beside it */
	if (sqlite3_exec(d, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		*msg = xasprintf("%s: sqlite: %s", tmp, sqlite3_errmsg(d));
		*transient = code_transient(sqlite3_errcode(d));
		goto out_tx;
	}
	sqlite3_close(d);
	d = NULL;
	if (own)
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	own = 0;
	/* The check, on a connection of its own. */
	sqlite3_stmt *s = NULL;
	int ok = sqlite3_open_v2(tmp, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		 sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
		 sqlite3_step(s) == SQLITE_ROW &&
		 strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
	sqlite3_finalize(s);
	if (!ok) {
		*msg = xasprintf("%s: the copy fails its integrity check: %s", tmp,
				 d ? sqlite3_errmsg(d) : "cannot open");
		goto out;
	}
	if (snapshot_text(d, &got) < 0 || strcmp(want, got) != 0) {
		*msg = xasprintf("%s: the copy does not match the store (store: %s; copy: %s)", tmp, want,
				 got ? got : sqlite3_errmsg(d));
		goto out;
	}
	sqlite3_close(d);
	d = NULL;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	char *dir = xstrdup(dest), *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (fd < 0 || fsync(fd) < 0 || rename(tmp, dest) < 0 || fs_sync_dir(slash ? dir : ".") < 0) {
		*msg = xasprintf("%s: %s", dest, strerror(errno));
		*transient = errno_transient(errno);
		free(dir);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	free(dir);
	close(fd);
	*summary = got;
	got = NULL;
	rc = 0;
	goto out;
out_tx:
	if (own)
		sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
out:
	if (d)
		sqlite3_close(d);
	if (rc != 0) {
		unlink(tmp);
		unlink(journal);
	}
	free(want);
	free(got);
	free(tmp);
	free(journal);
	return rc;
}

int store_open_flags(const char *path, unsigned flags, struct store **out, char **err)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int transient = 0, ro = (flags & STORE_OPEN_RDONLY) != 0;
	struct stat sb;
	*out = NULL;
	int exists = check_files(path, &msg);
	if (exists < 0)
		goto fail;
	if (exists == 1) {
		if (!(flags & STORE_OPEN_CREATE) || ro) {
			msg = xstrdup("no store here (nothing was created: check [store] path, or create "
				      "the store with cgenctl init)");
			goto fail;
		}
		if (create_file(path, &msg, &transient) < 0)
			goto fail;
	}
	int oflags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (sqlite3_open_v2(path, &db, oflags, NULL) != SQLITE_OK) {
		msg = xasprintf("sqlite: %s", db ? sqlite3_errmsg(db) : "out of memory");
		transient = db && code_transient(sqlite3_errcode(db));
		goto fail;
	}
	if ((ro ? configure_ro(db, &msg) : configure(db, &msg)) < 0) {
		transient = code_transient(sqlite3_errcode(db));
		goto fail;
	}
	int cur, latest = store_schema_version();
	if (user_version(db, &cur) < 0) {
		msg = xasprintf("sqlite: %s", sqlite3_errmsg(db));
		transient = code_transient(sqlite3_errcode(db));
		goto fail;
	}
	if (cur > latest) {
		msg = xasprintf("schema version %d is newer than this program knows (%d)", cur, latest);
		goto fail;
	}
	if (cur == 0 && cur < latest && !(flags & STORE_OPEN_CREATE)) {
		msg = xstrdup("not an initialised store (create it with cgenctl init)");
		goto fail;
	}
	if (cur > 0 && cur < latest && (ro || !(flags & STORE_OPEN_MIGRATE))) {
		msg = xasprintf("schema version %d is older than this program's (%d): run cgenctl "
				"migrate (or start cgend), which backs the store up first", cur, latest);
		goto fail;
	}
	if (cur > 0 && cur < latest) {
		char *bak = xasprintf("%s.v%d.bak", path, cur), *summary = NULL;
		if (backup_db(db, bak, &summary, &msg, &transient) < 0) {
			char *m = xasprintf("backup before migrating: %s", msg);
			free(msg);
			msg = m;
			free(bak);
			goto fail;
		}
		log_info("store %s: schema version %d -> %d; backup of version %d in %s (%s)", path,
			 cur, latest, cur, bak, summary);
		free(summary);
		free(bak);
	}
	if (cur < latest && schema_apply(db, &msg) < 0) {
		transient = code_transient(sqlite3_errcode(db));
		goto fail;
	}
	if (stat(path, &sb) < 0) {
		msg = xasprintf("%s", strerror(errno));
		goto fail;
	}
	struct store *st = xcalloc(1, sizeof *st);
	st->db = db;
	st->path = xstrdup(path);
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->readonly = ro;
	*out = st;
	return STORE_OK;
fail:
	*err = xasprintf("%s: %s", path, msg);
	free(msg);
	sqlite3_close(db);
	return transient ? STORE_TEMPFAIL : STORE_ERR;
}

int store_open(const char *path, struct store **out, char **err)
{
	int rc = store_open_flags(path, STORE_OPEN_CREATE | STORE_OPEN_MIGRATE, out, err);
	return rc == STORE_OK ? STORE_OK : STORE_ERR;
}

int store_version(struct store *st, int *version)
{
	return user_version(st->db, version) == 0 ? STORE_OK : sqlfail(st);
}

int store_readonly(const struct store *st)
{
	return st->readonly;
}

int store_backup(struct store *st, const char *dest, char **summary)
{
	char *msg = NULL, *sum = NULL;
	int transient = 0;
	if (backup_db(st->db, dest, &sum, &msg, &transient) < 0) {
		failf(st, "%s", msg);
		st->last_code = transient ? SQLITE_FULL : 0;
		free(msg);
		return STORE_ERR;
	}
	if (summary)
		*summary = sum;
	else
		free(sum);
	return STORE_OK;
}

int store_file_check(struct store *st)
{
	struct stat sb;
	if (stat(st->path, &sb) < 0)
		return failf(st, "%s: %s: the store was deleted or moved while the daemon ran",
			     st->path, strerror(errno));
	if (sb.st_dev != st->dev || sb.st_ino != st->ino)
		return failf(st, "%s: the store was replaced by another file while the daemon ran",
			     st->path);
	return STORE_OK;
}

static int tx_start(struct store *st, int *own);
static int tx_end(struct store *st, int own, int rc);

int store_probe(struct store *st, time_t now)
{
	int own, rc;
	if ((rc = tx_start(st, &own)) != STORE_OK)
		return rc;
	sqlite3_stmt *s = stmt(st, Q_PROBE);
	rc = STORE_ERR;
	if (s && bindv(st, s, "T", now) == STORE_OK)
		rc = run(st, s);
	done(s);
	return tx_end(st, own, rc);
}

int store_error_transient(const struct store *st)
{
	return code_transient(st->last_code);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(st->q[i]);
	for (size_t i = 0; i < ARRAY_LEN(st->more); i++)
		sqlite3_finalize(st->more[i].s);
	sqlite3_close(st->db);
	free(st->err);
	free(st->path);
	free(st);
}

const char *store_errmsg(const struct store *st)
{
	return st->err ? st->err : "";
}

int store_begin(struct store *st)
{
	return run_id(st, Q_BEGIN);
}

int store_commit(struct store *st)
{
	int rc = run_id(st, Q_COMMIT);
	if (rc != STORE_OK && !sqlite3_get_autocommit(st->db)) {
		/* leave no half transaction behind; keep the commit's error */
		char *e = st->err;
		st->err = NULL;
		run_id(st, Q_ROLLBACK);
		free(st->err);
		st->err = e;
	}
	if (rc != STORE_OK)
		st->head_ok = 0;
	return rc;
}

int store_rollback(struct store *st)
{
	st->head_ok = 0;
	/* Nothing to roll back (a failed COMMIT already did): keep its error. */
	if (sqlite3_get_autocommit(st->db))
		return STORE_OK;
	return run_id(st, Q_ROLLBACK);
}

/* For functions that must be atomic: opens a transaction unless the caller
 * has one (*own tells which). */
static int tx_start(struct store *st, int *own)
{
	*own = sqlite3_get_autocommit(st->db);
	return *own ? store_begin(st) : STORE_OK;
}

/* Ends what tx_start opened: commit when rc is not STORE_ERR, else rollback
 * (keeping the first error). Returns rc, or STORE_ERR if the commit failed. */
static int tx_end(struct store *st, int own, int rc)
{
	if (!own)
		return rc;
	if (rc != STORE_ERR)
		return store_commit(st) == STORE_OK ? rc : STORE_ERR;
	char *e = st->err;
	st->err = NULL;
	store_rollback(st);
	free(st->err);
	st->err = e;
	return rc;
}

/* --- inbound mail --- */

/* STORE_OK when query q, bound to text t, has a row; else STORE_NOTFOUND. */
static int text_has_row(struct store *st, enum q q, const char *t)
{
	sqlite3_stmt *s = stmt(st, q);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", t) == STORE_OK)
		rc = row(st, s);
	done(s);
	return rc;
}

int store_message_seen(struct store *st, const char *dedup_id)
{
	return text_has_row(st, Q_MSG_SEEN, dedup_id);
}

int store_message_add(struct store *st, const char *dedup_id, const char *source_ref,
		      const char *raw, size_t len, const char *kind, const char *from,
		      const char *subject, const char *case_id, time_t at, int64_t *id)
{
	sqlite3_stmt *s = stmt(st, Q_MSG_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttbttttT", dedup_id, source_ref, raw, len, kind, from, subject,
		      case_id, at) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && id)
		*id = sqlite3_last_insert_rowid(st->db);
	done(s);
	return rc;
}

int store_message_set_case(struct store *st, int64_t id, const char *case_id)
{
	sqlite3_stmt *s = stmt(st, Q_MSG_SET_CASE);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "lt", id, case_id) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	done(s);
	return rc;
}

int store_message_raw(struct store *st, int64_t id, char **raw, size_t *len)
{
	sqlite3_stmt *s = stmt(st, Q_MSG_RAW);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*raw = col_blob(s, 0, len);
	done(s);
	return rc;
}

int store_case_request_raw(struct store *st, const struct case_rec *c, char **raw, size_t *len)
{
	int rc = STORE_NOTFOUND;
	for (int by_id = c->request_msgid != NULL; rc == STORE_NOTFOUND && by_id >= 0; by_id--) {
		sqlite3_stmt *s = stmt(st, by_id ? Q_MSG_REQUEST_BY_ID : Q_MSG_REQUEST);
		rc = STORE_ERR;
		if (s && bindv(st, s, by_id ? "tt" : "t", c->id, c->request_msgid) == STORE_OK)
			rc = row(st, s);
		if (rc == STORE_OK)
			*raw = col_blob(s, 0, len);
		done(s);
	}
	return rc;
}

/* --- cases --- */

/* "CGEN-YEAR-NUM" into its numbers; 0 or -1. */
static int case_id_parse(const char *id, int *year, int64_t *num)
{
	char *end;
	if (strncmp(id, "CGEN-", 5) != 0 || !isdigit((unsigned char)id[5]))
		return -1;
	long y = strtol(id + 5, &end, 10);
	if (*end != '-' || !isdigit((unsigned char)end[1]) || y > 999999)
		return -1;
	long long n = strtoll(end + 1, &end, 10);
	if (*end || n < 1)
		return -1;
	*year = (int)y;
	*num = n;
	return 0;
}

int store_case_next_id(struct store *st, int year, char out[24])
{
	sqlite3_stmt *s = stmt(st, Q_CASE_MAXNUM);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "d", year) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		long long next = (long long)sqlite3_column_int64(s, 0) + 1;
		if (snprintf(out, 24, "CGEN-%d-%04lld", year, next) >= 24)
			rc = failf(st, "case number out of range");
	} else if (rc == STORE_NOTFOUND) {
		rc = failf(st, "no result for the next case number");
	}
	done(s);
	return rc;
}

/* The current row (CASE_COLS) into *c (zeroed first). */
static int case_from_row(struct store *st, sqlite3_stmt *s, struct case_rec *c)
{
	memset(c, 0, sizeof *c);
	const char *id = (const char *)sqlite3_column_text(s, 0);
	const char *state = (const char *)sqlite3_column_text(s, 1);
	if (!id || strlen(id) >= sizeof c->id)
		return failf(st, "bad case id in store");
	memcpy(c->id, id, strlen(id) + 1);
	if (case_state_parse(state, &c->state) < 0 ||
	    approval_parse((const char *)sqlite3_column_text(s, 4), &c->aio) < 0 ||
	    approval_parse((const char *)sqlite3_column_text(s, 5), &c->cio) < 0)
		return failf(st, "case %s: unknown state or approval in store", c->id);
	c->entity = col_str(s, 2);
	c->requester = col_str(s, 3);
	c->step = sqlite3_column_int(s, 6);
	c->subject = col_str(s, 7);
	c->request_msgid = col_str(s, 8);
	c->fields_json = col_str(s, 9);
	c->problems_json = col_str(s, 10);
	c->summary = col_str(s, 11);
	c->recommendation = col_str(s, 12);
	c->decision = col_str(s, 13);
	c->reminders = sqlite3_column_int(s, 14);
	c->overdue = sqlite3_column_int(s, 15);
	c->created = (time_t)sqlite3_column_int64(s, 16);
	c->updated = (time_t)sqlite3_column_int64(s, 17);
	c->state_since = (time_t)sqlite3_column_int64(s, 18);
	return STORE_OK;
}

/* The case_life row of c into c (a case without one keeps the defaults). */
static int life_get(struct store *st, struct case_rec *c)
{
	sqlite3_stmt *s = stmt(st, Q_LIFE_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", c->id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		c->alternative = col_str(s, 0);
		c->decided = (time_t)sqlite3_column_int64(s, 1);
		c->term_months = sqlite3_column_int(s, 2);
		c->extension_months = sqlite3_column_int(s, 3);
		c->end_set = (time_t)sqlite3_column_int64(s, 4);
		c->ext_months = sqlite3_column_int(s, 5);
		c->ext_reason = col_str(s, 6);
		c->ext_by = col_str(s, 7);
		c->renews = col_str(s, 8);
		c->renews_text = col_str(s, 9);
		c->renewed_by = col_str(s, 10);
		c->expiry_notice = sqlite3_column_int(s, 11);
	}
	done(s);
	return rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

static int life_put(struct store *st, const struct case_rec *c)
{
	sqlite3_stmt *s = stmt(st, Q_LIFE_PUT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttTddTdtttttd", c->id, c->alternative, c->decided, c->term_months,
		      c->extension_months, c->end_set, c->ext_months, c->ext_reason, c->ext_by,
		      c->renews, c->renews_text, c->renewed_by, c->expiry_notice) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_case_get(struct store *st, const char *id, struct case_rec *out)
{
	sqlite3_stmt *s = stmt(st, Q_CASE_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		rc = case_from_row(st, s, out);
	done(s);
	if (rc == STORE_OK)
		rc = life_get(st, out);
	return rc;
}

int store_case_put(struct store *st, const struct case_rec *c)
{
	int year;
	int64_t num;
	if (case_id_parse(c->id, &year, &num) < 0)
		return failf(st, "bad case id \"%s\"", c->id);
	sqlite3_stmt *s = stmt(st, Q_CASE_PUT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttttttdtttttttddTTTdl", c->id, case_state_name(c->state),
		      c->entity, c->requester, approval_name(c->aio), approval_name(c->cio),
		      c->step, c->subject, c->request_msgid, c->fields_json, c->problems_json,
		      c->summary, c->recommendation, c->decision, c->reminders, c->overdue,
		      c->created, c->updated, c->state_since, year, num) == STORE_OK)
		rc = run(st, s);
	done(s);
	if (rc == STORE_OK)
		rc = life_put(st, c);
	return rc;
}

static int case_rows(struct store *st, sqlite3_stmt *s, struct case_rec **out, size_t *n);

int store_case_list(struct store *st, const char *state, struct case_rec **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, state ? Q_CASE_LIST_STATE : Q_CASE_LIST);
	if (s && state && bindv(st, s, "t", state) != STORE_OK) {
		done(s);
		s = NULL;
	}
	return case_rows(st, s, out, n);
}

int store_case_page(struct store *st, const char *state, time_t after_created,
		    const char *after_id, size_t max, struct case_rec **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_CASE_PAGE);
	if (s && bindv(st, s, "tTtd", state, after_created, after_id ? after_id : "",
		       (int)max) != STORE_OK) {
		done(s);
		s = NULL;
	}
	return case_rows(st, s, out, n);
}

/* The cases of the bound statement s (NULL: the error is set), with their
 * life; s is reset. */
static int case_rows(struct store *st, sqlite3_stmt *s, struct case_rec **out, size_t *n)
{
	struct case_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (!s)
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		v = grow(v, len, &cap, sizeof *v);
		if ((rc = case_from_row(st, s, &v[len])) != STORE_OK)
			break;
		len++;
		if ((rc = life_get(st, &v[len - 1])) != STORE_OK)
			break;
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	if (rc != STORE_OK) {
		store_cases_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

void store_cases_free(struct case_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		case_clear(&v[i]);
	free(v);
}

/* --- events --- */

/* The decimal digits of v (with a '-' when negative) at the end of out[24];
 * returns where they start. snprintf's cost, paid three times an event,
 * was a third of the chain's verification. */
static const char *dec(int64_t v, char out[24])
{
	char *p = out + 23;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	*p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return p;
}

/* Appends "LEN:" and s (NULL: "") to b. */
static void hash_field(struct buf *b, const char *s)
{
	char num[24];
	size_t len = s ? strlen(s) : 0;
	const char *d = dec((int64_t)len, num);
	buf_add(b, d, (size_t)(num + 23 - d));
	buf_add(b, ":", 1);
	buf_add(b, s ? s : "", len);
}

static void hash_number(struct buf *b, int64_t v)
{
	char num[24];
	hash_field(b, dec(v, num));
}

/* hex SHA-256 of prev || each field as "LEN:TEXT", built in b (emptied
 * first; a caller hashing many events passes the same buffer). */
static int event_hash_in(struct store *st, struct buf *b, const char *prev, int64_t seq,
			 const char *case_id, int64_t at, const char *kind, const char *actor,
			 const char *detail, char out[65])
{
	unsigned char dig[32];
	b->len = 0;
	buf_adds(b, prev);
	hash_number(b, seq);
	hash_field(b, case_id);
	hash_number(b, at);
	hash_field(b, kind);
	hash_field(b, actor);
	hash_field(b, detail);
	int r = gnutls_hash_fast(GNUTLS_DIG_SHA256, b->s, b->len, dig);
	if (r < 0)
		return failf(st, "gnutls: %s", gnutls_strerror(r));
	hex_encode(dig, sizeof dig, out);
	return STORE_OK;
}

static int event_hash(struct store *st, const char *prev, int64_t seq, const char *case_id,
		      time_t at, const char *kind, const char *actor, const char *detail,
		      char out[65])
{
	struct buf b = {0};
	int rc = event_hash_in(st, &b, prev, seq, case_id, (int64_t)at, kind, actor, detail, out);
	buf_free(&b);
	return rc;
}

static int64_t data_version(struct store *st)
{
	sqlite3_stmt *s = stmt(st, Q_DATA_VERSION);
	int64_t v = -1;
	if (s && row(st, s) == STORE_OK)
		v = sqlite3_column_int64(s, 0);
	done(s);
	return v;
}

/* Makes st->head/head_seq current. */
static int head_load(struct store *st)
{
	int64_t dv = data_version(st);
	if (dv < 0)
		return STORE_ERR;
	if (st->head_ok && dv == st->head_dv)
		return STORE_OK;
	sqlite3_stmt *s = stmt(st, Q_EV_HEAD);
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK) {
		const char *h = (const char *)sqlite3_column_text(s, 1);
		st->head_seq = sqlite3_column_int64(s, 0);
		snprintf(st->head, sizeof st->head, "%s", h ? h : "");
	} else if (rc == STORE_NOTFOUND) {
		st->head_seq = 0;
		memcpy(st->head, zero_hash, sizeof st->head);
		rc = STORE_OK;
	}
	done(s);
	if (rc == STORE_OK) {
		st->head_ok = 1;
		st->head_dv = dv;
	}
	return rc;
}

int store_event_add(struct store *st, const char *case_id, time_t at, const char *kind,
		    const char *actor, const char *detail)
{
	int own, rc;
	char hash[65];
	if ((rc = tx_start(st, &own)) != STORE_OK)
		return rc;
	actor = actor ? actor : "";
	detail = detail ? detail : "";
	int64_t seq = 0;
	sqlite3_stmt *s = NULL;
	if ((rc = head_load(st)) != STORE_OK)
		goto out;
	seq = st->head_seq + 1;
	if ((rc = event_hash(st, st->head, seq, case_id, at, kind, actor, detail, hash)) !=
	    STORE_OK)
		goto out;
	rc = STORE_ERR;
	s = stmt(st, Q_EV_ADD);
	if (s && bindv(st, s, "ltTttttt", seq, case_id, at, kind, actor, detail, st->head,
		      hash) == STORE_OK)
		rc = run(st, s);
	done(s);
	if (rc == STORE_OK) {
		st->head_seq = seq;
		memcpy(st->head, hash, sizeof st->head);
	}
out:
	return tx_end(st, own, rc);
}

static void event_clear(struct event_rec *e)
{
	free(e->case_id);
	free(e->kind);
	free(e->actor);
	free(e->detail);
}

static void event_from_row(sqlite3_stmt *s, struct event_rec *e)
{
	const char *prev = (const char *)sqlite3_column_text(s, 6);
	const char *hash = (const char *)sqlite3_column_text(s, 7);
	e->seq = sqlite3_column_int64(s, 0);
	e->case_id = col_str(s, 1);
	e->at = (time_t)sqlite3_column_int64(s, 2);
	e->kind = col_str0(s, 3);
	e->actor = col_str0(s, 4);
	e->detail = col_str0(s, 5);
	snprintf(e->prev, sizeof e->prev, "%s", prev ? prev : "");
	snprintf(e->hash, sizeof e->hash, "%s", hash ? hash : "");
}

int store_events(struct store *st, const char *case_id, struct event_rec **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, case_id ? Q_EV_CASE : Q_EV_ALL);
	struct event_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (!s || (case_id && bindv(st, s, "t", case_id) != STORE_OK))
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		v = grow(v, len, &cap, sizeof *v);
		event_from_row(s, &v[len++]);
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	if (rc != STORE_OK) {
		store_events_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

void store_events_free(struct event_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		event_clear(&v[i]);
	free(v);
}

/* Verifies the events that s returns (in seq order, EVENT_COLS), the first
 * of which must be seq n + 1 and follow prev. The columns are read in place
 * and one buffer serves every event: the chain is read at the speed of the
 * hash. On return prev and *n are the last good event's hash and seq. */
static int verify_rows(struct store *st, sqlite3_stmt *s, char prev[65], int64_t *n, char **finding)
{
	struct buf b = {0};
	char hash[65];
	int rc;
	while ((rc = row(st, s)) == STORE_OK) {
		int64_t seq = sqlite3_column_int64(s, 0);
		const char *ehash = (const char *)sqlite3_column_text(s, 7);
		const char *eprev = (const char *)sqlite3_column_text(s, 6);
		if (seq != *n + 1) {
			*finding = xasprintf("event %lld missing", (long long)(*n + 1));
		} else if (strcmp(eprev ? eprev : "", prev) != 0) {
			*finding = xasprintf("chain broken (prev does not match event %lld)", (long long)*n);
		} else {
			/* the columns read in place, one buffer for every event */
			rc = event_hash_in(st, &b, prev, seq, (const char *)sqlite3_column_text(s, 1),
					   sqlite3_column_int64(s, 2),
					   (const char *)sqlite3_column_text(s, 3),
					   (const char *)sqlite3_column_text(s, 4),
					   (const char *)sqlite3_column_text(s, 5), hash);
			if (rc != STORE_OK)
				break;
			if (strcmp(hash, ehash ? ehash : "") != 0)
				*finding = xstrdup("hash does not match its contents");
		}
		if (*finding) {
			/* name the event: "event 17 (case CGEN-2026-0003, approved): ..." */
			const char *cid = (const char *)sqlite3_column_text(s, 1);
			const char *kind = (const char *)sqlite3_column_text(s, 3);
			char *f = cid ? xasprintf("event %lld (case %s, %s): %s", (long long)seq, cid,
						  kind ? kind : "", *finding)
				      : xasprintf("event %lld (%s): %s", (long long)seq, kind ? kind : "",
						  *finding);
			if (strncmp(*finding, "event ", 6) == 0) {
				free(f);
			} else {
				free(*finding);
				*finding = f;
			}
			rc = STORE_NOTFOUND;
			break;
		}
		(*n)++;
		memcpy(prev, ehash, 64);
		prev[64] = '\0';
	}
	buf_free(&b);
	if (rc == STORE_NOTFOUND && !*finding)
		rc = STORE_OK;
	return rc;
}

int store_verify(struct store *st, char **finding, char head[65], int64_t *count)
{
	sqlite3_stmt *s = stmt(st, Q_EV_ALL);
	char prev[65];
	int64_t n = 0;
	int rc = STORE_ERR;
	memcpy(prev, zero_hash, sizeof prev);
	*finding = NULL;
	if (s)
		rc = verify_rows(st, s, prev, &n, finding);
	done(s);
	if (head)
		memcpy(head, prev, 65);
	if (count)
		*count = n;
	return rc;
}

/* --- reply keys --- */

int store_key_add(struct store *st, const char *key, const char *case_id, int step,
		  const char *role, const char *addressee)
{
	char dig[67];
	if (key_digest(key, dig) < 0)
		return failf(st, "gnutls: cannot hash the reply key");
	sqlite3_stmt *s = stmt(st, Q_KEY_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttdtt", dig, case_id, step, role, addressee) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_key_get(struct store *st, const char *key, struct key_rec *out)
{
	char dig[67];
	if (key_digest(key, dig) < 0)
		return failf(st, "gnutls: cannot hash the reply key");
	sqlite3_stmt *s = stmt(st, Q_KEY_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", dig) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		out->case_id = col_str0(s, 0);
		out->step = sqlite3_column_int(s, 1);
		out->role = col_str0(s, 2);
		out->addressee = col_str0(s, 3);
	}
	done(s);
	return rc;
}

void store_key_clear(struct key_rec *k)
{
	free(k->case_id);
	free(k->role);
	free(k->addressee);
	memset(k, 0, sizeof *k);
}

/* --- outbox --- */

int store_outbox_add(struct store *st, const char *case_id, const char *env_from,
		     const struct strv *rcpts, const char *data, size_t len, time_t at,
		     int64_t *id)
{
	char *to = strv_join(rcpts, "\n");
	sqlite3_stmt *s = stmt(st, Q_OB_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tttbT", case_id, env_from, to, data, len, at) == STORE_OK)
		rc = run(st, s);
	int64_t row = rc == STORE_OK ? sqlite3_last_insert_rowid(st->db) : 0;
	done(s);
	free(to);
	for (size_t i = 0; rc == STORE_OK && i < rcpts->n; i++) {
		sqlite3_stmt *r = stmt(st, Q_OB_RCPT_ADD);
		rc = STORE_ERR;
		if (r && bindv(st, r, "ltT", row, rcpts->v[i], at) == STORE_OK)
			rc = run(st, r);
		done(r);
	}
	if (rc == STORE_OK && id)
		*id = row;
	return rc;
}

int store_outbox_next_id(struct store *st, int64_t *id)
{
	sqlite3_stmt *s = stmt(st, Q_OB_NEXT_ID);
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK)
		*id = sqlite3_column_int64(s, 0);
	else if (rc == STORE_NOTFOUND)
		rc = failf(st, "no result for the next outbox id");
	done(s);
	return rc;
}

int store_outbox_due(struct store *st, time_t now, size_t max, struct outbox_rec **out,
		     size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_OB_DUE);
	struct outbox_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (!s || bindv(st, s, "Tl", now, max > INT64_MAX ? INT64_MAX : (int64_t)max) != STORE_OK)
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		v = grow(v, len, &cap, sizeof *v);
		struct outbox_rec *o = &v[len++];
		o->id = sqlite3_column_int64(s, 0);
		o->case_id = col_str(s, 1);
		o->env_from = col_str0(s, 2);
		strv_split(&o->rcpts, (const char *)sqlite3_column_text(s, 3), '\n');
		o->data = col_blob(s, 4, &o->len);
		o->attempts = sqlite3_column_int(s, 5);
		o->next_try = (time_t)sqlite3_column_int64(s, 6);
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	if (rc != STORE_OK) {
		store_outbox_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

void store_outbox_free(struct outbox_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].case_id);
		free(v[i].env_from);
		strv_free(&v[i].rcpts);
		free(v[i].data);
	}
	free(v);
}

/* Runs an UPDATE of one outbox row; STORE_NOTFOUND when no such id. */
static int outbox_update(struct store *st, enum q id, int64_t row_id, time_t at,
			 const char *error)
{
	sqlite3_stmt *s = stmt(st, id);
	int rc = STORE_ERR;
	if (s && bindv(st, s, id == Q_OB_SENT ? "lT" : "lTt", row_id, at, error) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	done(s);
	/* a result ends the send in flight */
	if (rc == STORE_OK)
		rc = store_outbox_sending_clear(st, row_id);
	return rc;
}

int store_outbox_sent(struct store *st, int64_t id, time_t at)
{
	return outbox_update(st, Q_OB_SENT, id, at, NULL);
}

int store_outbox_sent_redact(struct store *st, int64_t id, time_t at, const char *text,
			     const char *with)
{
	sqlite3_stmt *s = stmt(st, Q_OB_SENT_REDACT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "lTtt", id, at, text, with) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	done(s);
	if (rc == STORE_OK)
		rc = store_outbox_sending_clear(st, id);
	return rc;
}

int store_outbox_retry(struct store *st, int64_t id, time_t retry_at, const char *error)
{
	return outbox_update(st, Q_OB_RETRY, id, retry_at, error);
}

int store_outbox_failed(struct store *st, int64_t id, time_t at, const char *error)
{
	return outbox_update(st, Q_OB_FAILED, id, at, error);
}

int store_outbox_count_to(struct store *st, const char *addr, time_t since, int *count)
{
	sqlite3_stmt *s = stmt(st, Q_OB_COUNT_TO);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tT", addr, since) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*count = sqlite3_column_int(s, 0);
	else if (rc == STORE_NOTFOUND)
		rc = failf(st, "no result for the outbox count");
	done(s);
	return rc;
}

int store_outbox_counts(struct store *st, int *pending, int *sent, int *failed)
{
	sqlite3_stmt *s = stmt(st, Q_OB_COUNTS);
	int rc = STORE_ERR;
	*pending = *sent = *failed = 0;
	if (!s)
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		const char *status = (const char *)sqlite3_column_text(s, 0);
		int c = sqlite3_column_int(s, 1);
		if (!status)
			continue;
		if (strcmp(status, "pending") == 0)
			*pending = c;
		else if (strcmp(status, "sent") == 0)
			*sent = c;
		else if (strcmp(status, "failed") == 0)
			*failed = c;
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	return rc;
}

int store_outbox_data(struct store *st, int64_t id, const char *case_id, char **data,
		      size_t *len)
{
	sqlite3_stmt *s = stmt(st, Q_OB_DATA);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "lt", id, case_id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*data = col_blob(s, 0, len);
	done(s);
	return rc;
}

/* --- operator queue --- */

int store_queue_add(struct store *st, int64_t message_id, time_t at, const char *reason)
{
	sqlite3_stmt *s = stmt(st, Q_QUEUE_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "lTt", message_id, at, reason) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_queue_get(struct store *st, int64_t id, int64_t *message_id)
{
	sqlite3_stmt *s = stmt(st, Q_QUEUE_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*message_id = sqlite3_column_int64(s, 0);
	done(s);
	return rc;
}

int store_queue_resolve(struct store *st, int64_t id)
{
	sqlite3_stmt *s = stmt(st, Q_QUEUE_RESOLVE);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_queue_list(struct store *st, struct queue_rec **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_QUEUE_LIST);
	struct queue_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (!s)
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		v = grow(v, len, &cap, sizeof *v);
		struct queue_rec *r = &v[len++];
		r->id = sqlite3_column_int64(s, 0);
		r->message_id = sqlite3_column_int64(s, 1);
		r->at = (time_t)sqlite3_column_int64(s, 2);
		r->from = col_str0(s, 3);
		r->subject = col_str0(s, 4);
		r->reason = col_str0(s, 5);
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	if (rc != STORE_OK) {
		store_queue_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

void store_queue_free(struct queue_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].from);
		free(v[i].subject);
		free(v[i].reason);
	}
	free(v);
}

/* --- entity directory --- */

static int entity_insert(struct store *st, const struct entity *e)
{
	char *domains = strv_join(&e->domains, ";");
	char *aio_d = strv_join(&e->aio_delegates, ";");
	char *cio_d = strv_join(&e->cio_delegates, ";");
	sqlite3_stmt *s = stmt(st, Q_ENT_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tttttttt", e->code, e->name, domains, e->aio, e->cio, aio_d, cio_d,
		      e->exempt) == STORE_OK)
		rc = run(st, s);
	done(s);
	free(domains);
	free(aio_d);
	free(cio_d);
	return rc;
}

int store_directory_replace(struct store *st, const struct directory *d)
{
	int own, rc;
	if ((rc = tx_start(st, &own)) != STORE_OK)
		return rc;
	rc = run_id(st, Q_ENT_CLEAR);
	for (size_t i = 0; i < d->n && rc == STORE_OK; i++)
		rc = entity_insert(st, &d->v[i]);
	return tx_end(st, own, rc);
}

int store_directory_load(struct store *st, struct directory *out)
{
	sqlite3_stmt *s = stmt(st, Q_ENT_LOAD);
	size_t cap = 0;
	int rc = STORE_ERR;
	out->v = NULL;
	out->n = 0;
	if (!s)
		goto out;
	while ((rc = row(st, s)) == STORE_OK) {
		out->v = grow(out->v, out->n, &cap, sizeof *out->v);
		struct entity *e = &out->v[out->n++];
		e->code = col_str0(s, 0);
		e->name = col_str0(s, 1);
		strv_split(&e->domains, (const char *)sqlite3_column_text(s, 2), ';');
		e->aio = col_str(s, 3);
		e->cio = col_str(s, 4);
		strv_split(&e->aio_delegates, (const char *)sqlite3_column_text(s, 5), ';');
		strv_split(&e->cio_delegates, (const char *)sqlite3_column_text(s, 6), ';');
		e->exempt = col_str(s, 7);
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
out:
	done(s);
	if (rc != STORE_OK)
		directory_free(out);
	return rc;
}

/* --- mailbox state --- */

int store_mailbox_get(struct store *st, const char *mailbox, uint32_t *uidvalidity,
		      uint32_t *last_uid)
{
	sqlite3_stmt *s = stmt(st, Q_MBOX_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", mailbox) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		*uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
		*last_uid = (uint32_t)sqlite3_column_int64(s, 1);
	}
	done(s);
	return rc;
}

int store_mailbox_set(struct store *st, const char *mailbox, uint32_t uidvalidity,
		      uint32_t last_uid)
{
	sqlite3_stmt *s = stmt(st, Q_MBOX_SET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tll", mailbox, (int64_t)uidvalidity, (int64_t)last_uid) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

/* --- digests --- */

int store_events_since(struct store *st, time_t since, struct event_rec **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_EV_SINCE);
	struct event_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (s && bindv(st, s, "T", since) == STORE_OK) {
		while ((rc = row(st, s)) == STORE_OK) {
			v = grow(v, len, &cap, sizeof *v);
			event_from_row(s, &v[len++]);
		}
		if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	done(s);
	if (rc != STORE_OK) {
		store_events_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

int store_event_first_at(struct store *st, time_t *at)
{
	sqlite3_stmt *s = stmt(st, Q_EV_FIRST_AT);
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK)
		*at = (time_t)sqlite3_column_int64(s, 0);
	done(s);
	return rc;
}

int store_event_find(struct store *st, const char *hash, int64_t *seq)
{
	sqlite3_stmt *s = stmt(st, Q_EV_FIND);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", hash) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*seq = sqlite3_column_int64(s, 0);
	done(s);
	return rc;
}

int store_digest_get(struct store *st, const char *day, time_t *sent_at)
{
	sqlite3_stmt *s = stmt(st, Q_DIGEST_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", day) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK && sent_at)
		*sent_at = (time_t)sqlite3_column_int64(s, 0);
	done(s);
	return rc;
}

int store_digest_add(struct store *st, const char *day, time_t sent_at)
{
	sqlite3_stmt *s = stmt(st, Q_DIGEST_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tT", day, sent_at) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

/* --- outbox: sends in flight --- */

int store_outbox_sending(struct store *st, const int64_t *ids, size_t n, time_t now)
{
	int own, rc;
	if ((rc = tx_start(st, &own)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		sqlite3_stmt *s = stmt(st, Q_OB_SENDING_ADD);
		rc = STORE_ERR;
		if (s && bindv(st, s, "lT", ids[i], now) == STORE_OK)
			rc = run(st, s);
		done(s);
	}
	return tx_end(st, own, rc);
}

int store_outbox_in_doubt(struct store *st, int64_t **ids, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_OB_IN_DOUBT);
	int64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	if (s) {
		while ((rc = row(st, s)) == STORE_OK) {
			v = grow(v, len, &cap, sizeof *v);
			v[len++] = sqlite3_column_int64(s, 0);
		}
		if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	done(s);
	if (rc != STORE_OK) {
		free(v);
		v = NULL;
		len = 0;
	}
	*ids = v;
	*n = len;
	return rc;
}

int store_outbox_sending_clear(struct store *st, int64_t id)
{
	sqlite3_stmt *s = stmt(st, Q_OB_SENDING_DEL);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_outbox_sending_started(struct store *st, int64_t id, time_t *started)
{
	sqlite3_stmt *s = stmt(st, Q_OB_SENDING_AT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK && (rc = row(st, s)) == STORE_OK)
		*started = (time_t)sqlite3_column_int64(s, 0);
	done(s);
	return rc;
}

int store_outbox_id_floor(struct store *st, int64_t id)
{
	int64_t next;
	int rc = store_outbox_next_id(st, &next);
	if (rc != STORE_OK || next > id)
		return rc;
	sqlite3_stmt *s = stmt(st, Q_OB_SEQ_SET);
	rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_outbox_is_sent(struct store *st, int64_t id)
{
	sqlite3_stmt *s = stmt(st, Q_OB_IS_SENT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		rc = sqlite3_column_int(s, 0) ? 1 : 0;
	else if (rc == STORE_NOTFOUND)
		rc = 0;
	done(s);
	return rc;
}

/* --- global limits --- */

int store_limit_add(struct store *st, const char *kind, const char *key, time_t at)
{
	sqlite3_stmt *s = stmt(st, Q_LIMIT_ADD);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttT", kind, key ? key : "", at) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_limit_count(struct store *st, const char *kind, const char *key, time_t since,
		      int *count)
{
	sqlite3_stmt *s = stmt(st, Q_LIMIT_COUNT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttT", kind, key ? key : "", since) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*count = sqlite3_column_int(s, 0);
	else if (rc == STORE_NOTFOUND)
		rc = failf(st, "no result for the limit count");
	done(s);
	return rc;
}

int store_limit_over(struct store *st, const char *kind, time_t since, int limit,
		     struct strv *keys)
{
	sqlite3_stmt *s = stmt(st, Q_LIMIT_OVER);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tTd", kind, since, limit) == STORE_OK) {
		while ((rc = row(st, s)) == STORE_OK)
			strv_add(keys, (const char *)sqlite3_column_text(s, 0));
		if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	done(s);
	return rc;
}

int store_limit_prune(struct store *st, time_t before)
{
	sqlite3_stmt *s = stmt(st, Q_LIMIT_PRUNE);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "T", before) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

/* --- mailbox position --- */

int store_mark_get(struct store *st, const char *mailbox, int64_t *validity, int64_t *mark)
{
	sqlite3_stmt *s = stmt(st, Q_MARK_GET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "t", mailbox) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		*validity = sqlite3_column_int64(s, 0);
		*mark = sqlite3_column_int64(s, 1);
	}
	done(s);
	return rc;
}

int store_mark_set(struct store *st, const char *mailbox, int64_t validity, int64_t mark)
{
	sqlite3_stmt *s = stmt(st, Q_MARK_SET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "tll", mailbox, validity, mark) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_message_ref_seen(struct store *st, const char *source_ref)
{
	return text_has_row(st, Q_MSG_REF_SEEN, source_ref);
}

int store_message_ref_quarantined(struct store *st, const char *source_ref)
{
	return text_has_row(st, Q_MSG_REF_QUAR, source_ref);
}

int store_outbox_redact(struct store *st, int64_t id, const char *text, const char *with)
{
	sqlite3_stmt *s = stmt(st, Q_OB_REDACT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ltt", id, text, with) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

/* --- operations: heartbeat, outbox, counts --- */

int store_heartbeat_put(struct store *st, const struct heartbeat *hb)
{
	sqlite3_stmt *s = stmt(st, Q_HB_PUT);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ltTTTdtTdtTtT", hb->pid, hb->host, hb->started_at, hb->beat_at,
		       hb->poll_at, hb->poll_ok, hb->poll_result, hb->send_at, hb->send_ok,
		       hb->send_result, hb->error_at, hb->error, hb->stopped_at) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_heartbeat_get(struct store *st, struct heartbeat *out)
{
	sqlite3_stmt *s = stmt(st, Q_HB_GET);
	int rc = s ? row(st, s) : STORE_ERR;
	memset(out, 0, sizeof *out);
	if (rc == STORE_OK) {
		out->pid = sqlite3_column_int64(s, 0);
		out->host = col_str(s, 1);
		out->started_at = (time_t)sqlite3_column_int64(s, 2);
		out->beat_at = (time_t)sqlite3_column_int64(s, 3);
		out->poll_at = (time_t)sqlite3_column_int64(s, 4);
		out->poll_ok = sqlite3_column_int(s, 5);
		out->poll_result = col_str(s, 6);
		out->send_at = (time_t)sqlite3_column_int64(s, 7);
		out->send_ok = sqlite3_column_int(s, 8);
		out->send_result = col_str(s, 9);
		out->error_at = (time_t)sqlite3_column_int64(s, 10);
		out->error = col_str(s, 11);
		out->stopped_at = (time_t)sqlite3_column_int64(s, 12);
	}
	done(s);
	return rc;
}

void store_heartbeat_clear(struct heartbeat *hb)
{
	free(hb->host);
	free(hb->poll_result);
	free(hb->send_result);
	free(hb->error);
	memset(hb, 0, sizeof *hb);
}

void store_outbox_items_free(struct outbox_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].case_id);
		free(v[i].env_from);
		strv_free(&v[i].rcpts);
		free(v[i].status);
		free(v[i].error);
	}
	free(v);
}

/* Rows of Q_OB_LIST's shape (bound by the caller) into *out. */
static int outbox_items(struct store *st, sqlite3_stmt *s, struct outbox_item **out, size_t *n)
{
	struct outbox_item *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = row(st, s)) == STORE_OK) {
		v = grow(v, len, &cap, sizeof *v);
		struct outbox_item *o = &v[len++];
		o->id = sqlite3_column_int64(s, 0);
		o->case_id = col_str(s, 1);
		o->env_from = col_str0(s, 2);
		char *r = col_str0(s, 3);
		strv_split(&o->rcpts, r, '\n');
		free(r);
		o->size = sqlite3_column_int64(s, 4);
		o->created = (time_t)sqlite3_column_int64(s, 5);
		o->attempts = sqlite3_column_int(s, 6);
		o->next_try = (time_t)sqlite3_column_int64(s, 7);
		o->status = col_str0(s, 8);
		o->error = col_str(s, 9);
		o->since = (time_t)sqlite3_column_int64(s, 10);
	}
	if (rc == STORE_ERR) {
		store_outbox_items_free(v, len);
		return STORE_ERR;
	}
	*out = v;
	*n = len;
	return STORE_OK;
}

int store_outbox_list(struct store *st, struct outbox_item **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_OB_LIST);
	*out = NULL;
	*n = 0;
	int rc = s ? outbox_items(st, s, out, n) : STORE_ERR;
	done(s);
	return rc;
}

int store_outbox_summary(struct store *st, int *pending, time_t *oldest, int *retrying,
			 int *failed)
{
	sqlite3_stmt *s = stmt(st, Q_OB_SUMMARY);
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK) {
		*pending = sqlite3_column_int(s, 0);
		*oldest = (time_t)sqlite3_column_int64(s, 1);
		*retrying = sqlite3_column_int(s, 2);
		*failed = sqlite3_column_int(s, 3);
	} else if (rc == STORE_NOTFOUND)
		rc = failf(st, "no outbox summary");
	done(s);
	return rc;
}

int store_outbox_requeue(struct store *st, int64_t id, time_t now)
{
	sqlite3_stmt *s = stmt(st, Q_OB_REQUEUE);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "lT", id, now) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	done(s);
	return rc;
}

int store_outbox_requeue_all(struct store *st, time_t now, int *count)
{
	sqlite3_stmt *s = stmt(st, Q_OB_REQUEUE_ALL);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "T", now) == STORE_OK)
		rc = run(st, s);
	*count = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	done(s);
	return rc;
}

int store_outbox_drop(struct store *st, int64_t id, time_t at, const char *by, const char *reason,
		      char **case_id)
{
	*case_id = NULL;
	sqlite3_stmt *s = stmt(st, Q_OB_CASE_OF);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*case_id = col_str(s, 0);
	done(s);
	if (rc != STORE_OK)
		return rc;
	s = stmt(st, Q_OB_DROP);
	rc = STORE_ERR;
	if (s && bindv(st, s, "lTtt", id, at, by, reason) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	done(s);
	if (rc != STORE_OK) {
		free(*case_id);
		*case_id = NULL;
	}
	return rc;
}

int store_outbox_rcpt(struct store *st, int64_t id, char **rcpt)
{
	*rcpt = NULL;
	sqlite3_stmt *s = stmt(st, Q_OB_CASE_OF);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "l", id) == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK) {
		const char *r = (const char *)sqlite3_column_text(s, 1);
		*rcpt = r ? xstrndup(r, strcspn(r, "\n")) : NULL;
	}
	done(s);
	return rc;
}

int store_outbox_expire(struct store *st, time_t before, time_t now, struct outbox_item **out,
			size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_OB_EXPIRING);
	*out = NULL;
	*n = 0;
	int rc = STORE_ERR;
	if (s && bindv(st, s, "T", before) == STORE_OK)
		rc = outbox_items(st, s, out, n);
	done(s);
	for (size_t i = 0; rc == STORE_OK && i < *n; i++) {
		struct outbox_item *o = &(*out)[i];
		char *e = xasprintf("expired: not sent within the queue lifetime after %d attempt(s)%s%s",
				    o->attempts, o->error ? "; last error: " : "", o->error ? o->error : "");
		sqlite3_stmt *u = stmt(st, Q_OB_EXPIRE);
		rc = STORE_ERR;
		if (u && bindv(st, u, "lTt", o->id, now, e) == STORE_OK)
			rc = run(st, u);
		done(u);
		free(e);
	}
	if (rc != STORE_OK) {
		store_outbox_items_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int store_outbox_latest(struct store *st, const char *case_id, const char *addr, int64_t **ids,
			size_t *n)
{
	sqlite3_stmt *s = stmt(st, Q_OB_LATEST);
	int64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc = STORE_ERR;
	*ids = NULL;
	*n = 0;
	if (s && bindv(st, s, "tt", case_id, addr) == STORE_OK) {
		while ((rc = row(st, s)) == STORE_OK) {
			v = grow(v, len, &cap, sizeof *v);
			v[len++] = sqlite3_column_int64(s, 0);
		}
	}
	done(s);
	if (rc == STORE_ERR) {
		free(v);
		return rc;
	}
	*ids = v;
	*n = len;
	return STORE_OK;
}

int store_outbox_copy(struct store *st, int64_t id, time_t now, int64_t *new_id)
{
	int own, rc = tx_start(st, &own);
	sqlite3_stmt *s = rc == STORE_OK ? stmt(st, Q_OB_COPY) : NULL;
	rc = STORE_ERR;
	if (s && bindv(st, s, "lT", id, now) == STORE_OK)
		rc = run(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	int64_t row_id = rc == STORE_OK ? sqlite3_last_insert_rowid(st->db) : 0;
	done(s);
	if (rc == STORE_OK) {
		sqlite3_stmt *r = stmt(st, Q_OB_RCPT_COPY);
		rc = STORE_ERR;
		if (r && bindv(st, r, "llT", id, row_id, now) == STORE_OK)
			rc = run(st, r);
		done(r);
	}
	if (rc == STORE_OK)
		*new_id = row_id;
	return tx_end(st, own, rc);
}

/* A statement returning one integer, with parameters bound by fmt. */
static int count_of(struct store *st, enum q id, int *out, const char *fmt, ...)
{
	sqlite3_stmt *s = stmt(st, id);
	int rc = s ? STORE_OK : STORE_ERR;
	if (rc == STORE_OK && fmt && *fmt) {
		/* only one time_t parameter is used here */
		va_list ap;
		va_start(ap, fmt);
		time_t t = va_arg(ap, time_t);
		va_end(ap);
		rc = bindv(st, s, "T", t);
	}
	if (rc == STORE_OK)
		rc = row(st, s);
	if (rc == STORE_OK)
		*out = sqlite3_column_int(s, 0);
	else if (rc == STORE_NOTFOUND)
		rc = failf(st, "no count");
	done(s);
	return rc;
}

int store_queue_count(struct store *st, int *n)
{
	return count_of(st, Q_QUEUE_COUNT, n, NULL);
}

int store_messages_count_since(struct store *st, time_t since, int *n)
{
	return count_of(st, Q_MSG_COUNT_SINCE, n, "T", since);
}

int store_file_version(struct store *st, int *version)
{
	return count_of(st, Q_USER_VERSION, version, NULL);
}

int store_event_head(struct store *st, char head[65], int64_t *seq)
{
	sqlite3_stmt *s = stmt(st, Q_EV_HEAD);
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK) {
		*seq = sqlite3_column_int64(s, 0);
		const unsigned char *h = sqlite3_column_text(s, 1);
		snprintf(head, 65, "%s", h ? (const char *)h : zero_hash);
	} else if (rc == STORE_NOTFOUND) {
		*seq = 0;
		memcpy(head, zero_hash, 65);
		rc = STORE_OK;
	}
	done(s);
	return rc;
}

int store_party_get(struct store *st, const char *case_id, char **aio, char **cio)
{
	sqlite3_stmt *s = stmt(st, Q_PARTY_GET);
	int rc = STORE_ERR;
	*aio = *cio = NULL;
	if (s && bindv(st, s, "t", case_id) == STORE_OK) {
		while ((rc = row(st, s)) == STORE_OK) {
			const char *role = (const char *)sqlite3_column_text(s, 0);
			if (role && strcmp(role, "aio") == 0)
				str_set(aio, (const char *)sqlite3_column_text(s, 1));
			else if (role && strcmp(role, "cio") == 0)
				str_set(cio, (const char *)sqlite3_column_text(s, 1));
		}
	}
	done(s);
	if (rc == STORE_ERR) {
		free(*aio);
		free(*cio);
		*aio = *cio = NULL;
		return rc;
	}
	return STORE_OK;
}

int store_party_set(struct store *st, const char *case_id, const char *role, const char *addr)
{
	sqlite3_stmt *s = stmt(st, Q_PARTY_SET);
	int rc = STORE_ERR;
	if (s && bindv(st, s, "ttt", case_id, role, addr) == STORE_OK)
		rc = run(st, s);
	done(s);
	return rc;
}

int store_lock_held(const char *path, char **err)
{
	char *p = xasprintf("%s.lock", path);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;
	if (fd < 0) {
		if (errno != ENOENT) {
			*err = xasprintf("%s: %s", p, strerror(errno));
			rc = -1;
		}
	} else if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			rc = 1;
		else {
			*err = xasprintf("%s: %s", p, strerror(errno));
			rc = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return rc;
}

long long store_file_size(const char *path)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	long long total = -1;
	for (size_t i = 0; i < ARRAY_LEN(ext); i++) {
		char *p = xasprintf("%s%s", path, ext[i]);
		struct stat sb;
		if (stat(p, &sb) == 0)
			total = (total < 0 ? 0 : total) + (long long)sb.st_size;
		free(p);
		if (i == 0 && total < 0)
			break;
	}
	return total;
}

/* --- people, request versions, a case's mails --- */

/* The statement of the text q (a string literal: its address is the key),
 * prepared on first use and kept; the caller hands it back with done(). */
static sqlite3_stmt *once(struct store *st, const char *q)
{
	size_t i;
	for (i = 0; i < ARRAY_LEN(st->more) && st->more[i].sql; i++)
		if (st->more[i].sql == q)
			return st->more[i].s;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(st->db, q, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		sqlfail(st);
		return NULL;
	}
	if (i < ARRAY_LEN(st->more)) {
		st->more[i].sql = q;
		st->more[i].s = s;
	}
	return s;
}

/* Hands back a statement of once(). */
static void once_done(struct store *st, sqlite3_stmt *s)
{
	for (size_t i = 0; i < ARRAY_LEN(st->more) && st->more[i].sql; i++)
		if (st->more[i].s == s) {
			done(s);
			return;
		}
	sqlite3_finalize(s);
}

int store_person_set(struct store *st, const char *addr, const char *name, time_t at)
{
	if (!addr || !name || !*name)
		return STORE_OK;
	sqlite3_stmt *s = once(st, "INSERT INTO people (addr, name, updated) VALUES (lower(?1), ?2, ?3) "
				   "ON CONFLICT (addr) DO UPDATE SET name = ?2, updated = ?3 "
				   "WHERE name <> ?2");
	int rc = s && bindv(st, s, "ttT", addr, name, at) == STORE_OK ? run(st, s) : STORE_ERR;
	once_done(st, s);
	return rc;
}

int store_people(struct store *st, const struct strv *addrs, struct strv *out)
{
	sqlite3_stmt *s = once(st, "SELECT addr, name FROM people WHERE addr = lower(?1)");
	int rc = s ? STORE_OK : STORE_ERR;
	for (size_t i = 0; rc == STORE_OK && i < addrs->n; i++) {
		if (bindv(st, s, "t", addrs->v[i]) != STORE_OK) {
			rc = STORE_ERR;
			break;
		}
		int r = row(st, s);
		if (r == STORE_OK) {
			strv_add_own(out, col_str0(s, 0));
			strv_add_own(out, col_str0(s, 1));
		} else if (r == STORE_ERR)
			rc = STORE_ERR;
		sqlite3_reset(s);
	}
	once_done(st, s);
	return rc;
}

int store_request_version_add(struct store *st, const char *case_id, int64_t message_id,
			      time_t at)
{
	sqlite3_stmt *s = once(st, "INSERT INTO request_versions (case_id, version, message_id, at) "
				   "SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3 "
				   "FROM request_versions WHERE case_id = ?1");
	int rc = s && bindv(st, s, "tlT", case_id, message_id, at) == STORE_OK ? run(st, s) : STORE_ERR;
	once_done(st, s);
	return rc;
}

int store_request_versions(struct store *st, const char *case_id, int64_t **ids, size_t *n)
{
	sqlite3_stmt *s = once(st, "SELECT message_id FROM request_versions WHERE case_id = ?1 "
				   "ORDER BY version");
	size_t cap = 0;
	*ids = NULL;
	*n = 0;
	int rc = s && bindv(st, s, "t", case_id) == STORE_OK ? STORE_OK : STORE_ERR;
	while (rc == STORE_OK && (rc = row(st, s)) == STORE_OK) {
		*ids = grow(*ids, *n, &cap, sizeof **ids);
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	once_done(st, s);
	if (rc == STORE_ERR) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return STORE_ERR;
	}
	return STORE_OK;
}

int store_case_msgs(struct store *st, const char *case_id, struct case_msg **out, size_t *n)
{
	sqlite3_stmt *s = once(st, "SELECT id, from_addr, kind, received_at, raw FROM messages "
				   "WHERE case_id = ?1 ORDER BY id");
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc = s && bindv(st, s, "t", case_id) == STORE_OK ? STORE_OK : STORE_ERR;
	while (rc == STORE_OK && (rc = row(st, s)) == STORE_OK) {
		*out = grow(*out, *n, &cap, sizeof **out);
		struct case_msg *m = &(*out)[(*n)++];
		m->id = sqlite3_column_int64(s, 0);
		m->from = col_str0(s, 1);
		m->kind = col_str0(s, 2);
		m->at = (time_t)sqlite3_column_int64(s, 3);
		m->raw = col_blob(s, 4, &m->len);
	}
	once_done(st, s);
	if (rc == STORE_ERR) {
		store_case_msgs_free(*out, *n);
		*out = NULL;
		*n = 0;
		return STORE_ERR;
	}
	return STORE_OK;
}

void store_case_msgs_free(struct case_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].from);
		free(v[i].kind);
		free(v[i].raw);
	}
	free(v);
}

/* --- the clock at scale --- */

int store_case_granted_due(struct store *st, time_t before_end, struct case_rec **out, size_t *n)
{
	/* The WHERE terms are those of the partial index case_life_due. */
	sqlite3_stmt *s = once(st, "SELECT case_id FROM case_life "
				   "WHERE decided > 0 AND expiry_notice >= 0 AND term_months > 0 "
				   "AND decided + 2678400 * (term_months + extension_months) <= ?1 "
				   "ORDER BY decided + 2678400 * (term_months + extension_months)");
	struct case_rec *v = NULL;
	size_t len = 0, cap = 0;
	struct strv ids = {0};
	int rc = s && bindv(st, s, "T", before_end) == STORE_OK ? STORE_OK : STORE_ERR;
	while (rc == STORE_OK && (rc = row(st, s)) == STORE_OK)
		strv_add(&ids, (const char *)sqlite3_column_text(s, 0));
	once_done(st, s);
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
	for (size_t i = 0; rc == STORE_OK && i < ids.n; i++) {
		v = grow(v, len, &cap, sizeof *v);
		int r = store_case_get(st, ids.v[i], &v[len]);
		if (r == STORE_OK && v[len].state != ST_GRANTED)
			case_clear(&v[len]);
		else if (r == STORE_OK)
			len++;
		else if (r == STORE_ERR)
			rc = STORE_ERR;
	}
	strv_free(&ids);
	if (rc != STORE_OK) {
		store_cases_free(v, len);
		v = NULL;
		len = 0;
	}
	*out = v;
	*n = len;
	return rc;
}

/* --- the digest's checkpoint of the chain --- */

int store_checkpoint_get(struct store *st, int64_t *seq, char hash[65])
{
	sqlite3_stmt *s = once(st, "SELECT seq, hash FROM chain_checkpoint WHERE id = 1");
	int rc = s ? row(st, s) : STORE_ERR;
	if (rc == STORE_OK) {
		const char *h = (const char *)sqlite3_column_text(s, 1);
		*seq = sqlite3_column_int64(s, 0);
		snprintf(hash, 65, "%s", h ? h : "");
	}
	once_done(st, s);
	return rc;
}

int store_checkpoint_set(struct store *st, int64_t seq, const char *hash, time_t at)
{
	sqlite3_stmt *s = once(st, "INSERT OR REPLACE INTO chain_checkpoint (id, seq, hash, at) "
				   "VALUES (1, ?1, ?2, ?3)");
	int rc = s && bindv(st, s, "ltT", seq, hash, at) == STORE_OK ? run(st, s) : STORE_ERR;
	once_done(st, s);
	return rc;
}

int store_verify_from(struct store *st, int64_t seq, const char *hash, char **finding,
		      char head[65], int64_t *count)
{
	char prev[65] = "";
	int64_t n = seq;
	int rc = STORE_ERR;
	*finding = NULL;
	sqlite3_stmt *c = once(st, "SELECT hash FROM events WHERE seq = ?1");
	if (c && bindv(st, c, "l", seq) == STORE_OK && (rc = row(st, c)) == STORE_OK) {
		const char *h = (const char *)sqlite3_column_text(c, 0);
		snprintf(prev, sizeof prev, "%s", h ? h : "");
	}
	once_done(st, c);
	if (rc == STORE_NOTFOUND || (rc == STORE_OK && strcmp(prev, hash) != 0)) {
		/* the history changed under the checkpoint: the whole chain
		 * is read to name the first bad event */
		return store_verify(st, finding, head, count);
	} else if (rc == STORE_OK) {
		sqlite3_stmt *s = once(st, "SELECT " EVENT_COLS " FROM events WHERE seq > ?1 ORDER BY seq");
		rc = s && bindv(st, s, "l", seq) == STORE_OK ? verify_rows(st, s, prev, &n, finding)
							     : STORE_ERR;
		once_done(st, s);
	}
	if (head)
		memcpy(head, prev, 65);
	if (count)
		*count = n;
	return rc;
}

/* --- cases per state --- */

int store_case_counts(struct store *st, int counts[ST__COUNT])
{
	sqlite3_stmt *s = once(st, "SELECT state, count(*) FROM cases GROUP BY state");
	int rc = s ? STORE_OK : STORE_ERR;
	memset(counts, 0, ST__COUNT * sizeof *counts);
	while (rc == STORE_OK && (rc = row(st, s)) == STORE_OK) {
		enum case_state cs;
		if (case_state_parse((const char *)sqlite3_column_text(s, 0), &cs) == 0)
			counts[cs] = sqlite3_column_int(s, 1);
	}
	once_done(st, s);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}
