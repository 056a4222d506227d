/* report.h: what cgenctl prints (DESIGN.md section 7): list, show and queue, as
 * text for people and as stable JSON for tools. Pure over store records. */
#ifndef CGEN_REPORT_H
#define CGEN_REPORT_H

#include <stddef.h>
#include <time.h>

#include "case.h"
#include "store.h"
#include "util.h"

/* Whole calendar days between t and now in the local time zone (TZ). */
int report_age_days(time_t t, time_t now);
/* RFC 3339 UTC, "2026-11-26T12:00:00Z"; out holds >= 21 bytes. */
void report_rfc3339(time_t t, char out[32]);

/* Array of {id, state, entity, waiting_on, age_days, overdue}. */
void report_list_json(struct buf *b, const struct case_rec *v, size_t n, time_t now);
void report_list_text(struct buf *b, const struct case_rec *v, size_t n, time_t now);
/* list --expiring: granted cases with their end date, days left and
 * conditions; as JSON, an array of the list keys plus ends ("YYYY-MM-DD"),
 * days_left, conditions and renewed_by (or null). */
void report_expiring_json(struct buf *b, const struct case_rec *v, size_t n, time_t now);
void report_expiring_text(struct buf *b, const struct case_rec *v, size_t n, time_t now);
struct json;
/* One event as a JSON object {at, kind, actor, detail}; with chain also seq,
 * prev and hash (the central file's events.jsonl). */
void report_event_json(struct json *j, const struct event_rec *e, int chain);

/* The list keys plus requester, approvals, fields, problems, events, and the
 * exemption's life: ends (the end date of a granted exemption, "YYYY-MM-DD",
 * or null), conditions (the CTO's text of a granted case, else null),
 * decided (RFC 3339 or null), term_months (or null), extension_months,
 * extension_pending ({months, reason, by} or null), alternative, renews,
 * renewed_by (strings or null). */
void report_show_json(struct buf *b, const struct case_rec *c, const struct event_rec *ev,
		      size_t nev, time_t now);
void report_show_text(struct buf *b, const struct case_rec *c, const struct event_rec *ev,
		      size_t nev, time_t now);
/* Array of {id, message, at, from, subject, reason}. */
void report_queue_json(struct buf *b, const struct queue_rec *v, size_t n);
void report_queue_text(struct buf *b, const struct queue_rec *v, size_t n);

/* What the agent reads in one raw mail, without touching the store
 * (cgenctl parse): from, subject, kind ("request" | "reply" | "auto-reply" |
 * "bounce" | "complaint" | "other"), visible, command {word, argument} or
 * null, ambiguous, attachments [{name, type, size, sha256}]. */
void report_parse(struct buf *b, const char *raw, size_t len, int json);

#endif
