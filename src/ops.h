/* ops.h: what an operator sees of a running agent (cgenctl status and
 * cgenctl outbox), gathered from the store and its files, as text for people
 * and as stable JSON for monitors (keys may be added, never renamed). */
#ifndef CGEN_OPS_H
#define CGEN_OPS_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "store.h"
#include "util.h"

struct ops_status {
	const char *store_path;
	int running;             /* a cgend holds the store's lock */
	int have_beat;           /* cgend ever wrote its heartbeat */
	struct heartbeat hb;
	int handled_today;       /* inbound mails stored since local midnight */
	int pending, retrying, failed;
	time_t oldest_pending;   /* 0 when nothing waits */
	int queue;               /* open operator queue entries */
	long long size;          /* bytes of the store with its WAL */
	int schema_version;      /* of the store's file */
	char head[65];           /* event chain head */
	int64_t events;
	struct strv problems;    /* what needs a person; empty when healthy */
};

/* Gathers the status of the agent whose configuration is cfg and store st at
 * now. Returns 0, or -1 with *err allocated (a store error). Free with
 * ops_status_free. A problem is: cgend not running, no heartbeat for longer
 * than three polls (and at least five minutes), the last mailbox round
 * failed, the last send failed while mail waits, mail waiting for more than
 * an hour, mail that failed for good and was not dropped. */
int ops_status_gather(const struct conf *cfg, struct store *st, time_t now, struct ops_status *s,
		      char **err);
void ops_status_free(struct ops_status *s);
void ops_status_text(struct buf *b, const struct ops_status *s, time_t now);
/* {healthy, problems, daemon {running, pid, host, since, heartbeat, stopped},
 * last_poll {at, ok, result} | null, last_send {at, ok, result} | null,
 * handled_today, outbox {pending, oldest_pending, retrying, failed}, queue,
 * last_error {at, text} | null, store {path, size, schema_version},
 * chain_head {hash, events}}; times RFC 3339 UTC, null when unknown. */
void ops_status_json(struct buf *b, const struct ops_status *s);

/* cgenctl outbox: waiting and failed mails like mailq. JSON: array of {id,
 * case, status, from, to (array), size, created, attempts, next_try, error}. */
void ops_outbox_text(struct buf *b, const struct outbox_item *v, size_t n, time_t now);
void ops_outbox_json(struct buf *b, const struct outbox_item *v, size_t n);

#endif
