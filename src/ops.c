/* ops.c: see ops.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ops.h"
#include "report.h"

#define STALE_MIN 300     /* seconds without heartbeat before it is a problem, at least */
#define PENDING_MAX 3600  /* seconds mail may wait before it is a problem */

static time_t local_midnight(time_t now)
{
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* "3 min ago", "2 h ago", "4 days ago" (or "in ..." for the future). */
static void ago(char *out, size_t n, time_t t, time_t now)
{
	long long d = (long long)(now - t);
	const char *pre = "", *post = " ago";
	if (d < 0) {
		d = -d;
		pre = "in ";
		post = "";
	}
	if (d < 120)
		snprintf(out, n, "%s%lld s%s", pre, d, post);
	else if (d < 7200)
		snprintf(out, n, "%s%lld min%s", pre, d / 60, post);
	else if (d < 172800)
		snprintf(out, n, "%s%lld h%s", pre, d / 3600, post);
	else
		snprintf(out, n, "%s%lld days%s", pre, d / 86400, post);
}

int ops_status_gather(const struct conf *cfg, struct store *st, time_t now, struct ops_status *s,
		      char **err)
{
	memset(s, 0, sizeof *s);
	s->store_path = cfg->store_path;
	char *lerr = NULL;
	int held = store_lock_held(cfg->store_path, &lerr);
	if (held < 0) {
		strv_addf(&s->problems, "cannot tell whether cgend runs: %s", lerr);
		free(lerr);
	}
	s->running = held == 1;
	int r = store_heartbeat_get(st, &s->hb);
	if (r == STORE_ERR)
		goto store_err;
	s->have_beat = r == STORE_OK;
	if (store_messages_count_since(st, local_midnight(now), &s->handled_today) != STORE_OK ||
	    store_outbox_summary(st, &s->pending, &s->oldest_pending, &s->retrying, &s->failed) !=
		    STORE_OK ||
	    store_queue_count(st, &s->queue) != STORE_OK ||
	    store_file_version(st, &s->schema_version) != STORE_OK ||
	    store_event_head(st, s->head, &s->events) != STORE_OK)
		goto store_err;
	s->size = store_file_size(cfg->store_path);

	char when[32];
	if (!s->running)
		strv_add(&s->problems, s->have_beat && s->hb.stopped_at
				       ? "cgend is stopped" : "cgend is not running");
	long long stale = 3LL * cfg->mailbox.poll_interval;
	if (stale < STALE_MIN)
		stale = STALE_MIN;
	if (s->running && s->have_beat && now - s->hb.beat_at > stale) {
		ago(when, sizeof when, s->hb.beat_at, now);
		strv_addf(&s->problems, "cgend runs but wrote no heartbeat since %s: it may hang", when);
	}
	if (s->have_beat && s->hb.poll_at && !s->hb.poll_ok)
		strv_addf(&s->problems, "the last mailbox round failed: %s",
			  s->hb.poll_result ? s->hb.poll_result : "unknown error");
	if (s->have_beat && s->hb.send_at && !s->hb.send_ok && s->pending)
		strv_addf(&s->problems, "the last send failed and %d mail(s) wait: %s", s->pending,
			  s->hb.send_result ? s->hb.send_result : "unknown error");
	else if (s->pending && s->oldest_pending && now - s->oldest_pending > PENDING_MAX) {
		ago(when, sizeof when, s->oldest_pending, now);
		strv_addf(&s->problems, "%d mail(s) wait to be sent, the oldest since %s", s->pending,
			  when);
	}
	if (s->failed)
		strv_addf(&s->problems, "%d mail(s) could not be sent and were not dropped (cgenctl "
			  "outbox; retry or drop them)", s->failed);
	return 0;
store_err:
	*err = xstrdup(store_errmsg(st));
	ops_status_free(s);
	return -1;
}

void ops_status_free(struct ops_status *s)
{
	store_heartbeat_clear(&s->hb);
	strv_free(&s->problems);
}

static void line_at(struct buf *b, const char *label, time_t t, time_t now, const char *text)
{
	char at[32], rel[32];
	report_rfc3339(t, at);
	ago(rel, sizeof rel, t, now);
	buf_addf(b, "%-14s %s (%s)%s%s\n", label, at, rel, text ? ": " : "", text ? text : "");
}

void ops_status_text(struct buf *b, const struct ops_status *s, time_t now)
{
	const struct heartbeat *hb = &s->hb;
	buf_addf(b, "%-14s %s\n", "health", s->problems.n ? "NEEDS A PERSON" : "ok");
	for (size_t i = 0; i < s->problems.n; i++)
		buf_addf(b, "  - %s\n", s->problems.v[i]);
	if (s->running && s->have_beat)
		buf_addf(b, "%-14s running, pid %lld on %s\n", "cgend", (long long)hb->pid,
			 hb->host ? hb->host : "?");
	else
		buf_addf(b, "%-14s %s\n", "cgend", s->running ? "running" : "not running");
	if (s->have_beat) {
		line_at(b, s->running ? "since" : "last started", hb->started_at, now, NULL);
		line_at(b, "heartbeat", hb->beat_at, now, NULL);
		if (hb->stopped_at && !s->running)
			line_at(b, "stopped", hb->stopped_at, now, NULL);
		if (hb->poll_at)
			line_at(b, hb->poll_ok ? "last poll" : "last poll FAIL", hb->poll_at, now,
				hb->poll_result);
		if (hb->send_at)
			line_at(b, hb->send_ok ? "last send" : "last send FAIL", hb->send_at, now,
				hb->send_result);
	} else
		buf_addf(b, "%-14s never (cgend has not run on this store)\n", "heartbeat");
	buf_addf(b, "%-14s %d\n", "handled today", s->handled_today);
	buf_addf(b, "%-14s %d pending", "outbox", s->pending);
	if (s->oldest_pending) {
		char rel[32];
		ago(rel, sizeof rel, s->oldest_pending, now);
		buf_addf(b, " (oldest %s, %d retrying)", rel, s->retrying);
	}
	buf_addf(b, ", %d failed\n", s->failed);
	buf_addf(b, "%-14s %d waiting for an operator\n", "queue", s->queue);
	if (hb->error_at)
		line_at(b, "last error", hb->error_at, now, hb->error);
	else
		buf_addf(b, "%-14s none\n", "last error");
	buf_addf(b, "%-14s %s, %lld bytes, schema %d\n", "store", s->store_path, s->size,
		 s->schema_version);
	buf_addf(b, "%-14s %s (%lld events)\n", "chain head", s->head, (long long)s->events);
}

static void json_time(struct json *j, const char *key, time_t t)
{
	char at[32];
	json_key(j, key);
	if (!t) {
		json_null(j);
		return;
	}
	report_rfc3339(t, at);
	json_string(j, at);
}

static void json_round(struct json *j, const char *key, time_t at, int ok, const char *result)
{
	json_key(j, key);
	if (!at) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_time(j, "at", at);
	json_key(j, "ok");
	json_bool(j, ok);
	json_key(j, "result");
	json_string(j, result);
	json_obj_end(j);
}

void ops_status_json(struct buf *b, const struct ops_status *s)
{
	const struct heartbeat *hb = &s->hb;
	struct json j;
	json_init(&j, b);
	json_obj_begin(&j);
	json_key(&j, "healthy");
	json_bool(&j, s->problems.n == 0);
	json_key(&j, "problems");
	json_arr_begin(&j);
	for (size_t i = 0; i < s->problems.n; i++)
		json_string(&j, s->problems.v[i]);
	json_arr_end(&j);
	json_key(&j, "daemon");
	json_obj_begin(&j);
	json_key(&j, "running");
	json_bool(&j, s->running);
	json_key(&j, "pid");
	if (s->have_beat)
		json_int(&j, hb->pid);
	else
		json_null(&j);
	json_key(&j, "host");
	json_string(&j, hb->host);
	json_time(&j, "since", hb->started_at);
	json_time(&j, "heartbeat", hb->beat_at);
	json_time(&j, "stopped", hb->stopped_at);
	json_obj_end(&j);
	json_round(&j, "last_poll", hb->poll_at, hb->poll_ok, hb->poll_result);
	json_round(&j, "last_send", hb->send_at, hb->send_ok, hb->send_result);
	json_key(&j, "handled_today");
	json_int(&j, s->handled_today);
	json_key(&j, "outbox");
	json_obj_begin(&j);
	json_key(&j, "pending");
	json_int(&j, s->pending);
	json_time(&j, "oldest_pending", s->oldest_pending);
	json_key(&j, "retrying");
	json_int(&j, s->retrying);
	json_key(&j, "failed");
	json_int(&j, s->failed);
	json_obj_end(&j);
	json_key(&j, "queue");
	json_int(&j, s->queue);
	json_key(&j, "last_error");
	if (hb->error_at) {
		json_obj_begin(&j);
		json_time(&j, "at", hb->error_at);
		json_key(&j, "text");
		json_string(&j, hb->error);
		json_obj_end(&j);
	} else
		json_null(&j);
	json_key(&j, "store");
	json_obj_begin(&j);
	json_key(&j, "path");
	json_string(&j, s->store_path);
	json_key(&j, "size");
	json_int(&j, s->size);
	json_key(&j, "schema_version");
	json_int(&j, s->schema_version);
	json_obj_end(&j);
	json_key(&j, "chain_head");
	json_obj_begin(&j);
	json_key(&j, "hash");
	json_string(&j, s->head);
	json_key(&j, "events");
	json_int(&j, s->events);
	json_obj_end(&j);
	json_obj_end(&j);
	buf_adds(b, "\n");
}

void ops_outbox_text(struct buf *b, const struct outbox_item *v, size_t n, time_t now)
{
	if (n == 0) {
		buf_adds(b, "outbox is empty: nothing waits, nothing failed\n");
		return;
	}
	int pending = 0;
	for (size_t i = 0; i < n; i++) {
		char created[32], next[32];
		report_rfc3339(v[i].created, created);
		int p = strcmp(v[i].status, "pending") == 0;
		pending += p;
		char *to = strv_join(&v[i].rcpts, ", ");
		buf_addf(b, "%-6lld %-8s %-16s %8lld B  %s  to %s\n", (long long)v[i].id, v[i].status,
			 v[i].case_id ? v[i].case_id : "-", (long long)v[i].size, created, to);
		free(to);
		if (p && v[i].attempts) {
			ago(next, sizeof next, v[i].next_try, now);
			buf_addf(b, "       %d attempt(s), next %s\n", v[i].attempts, next);
		}
		if (v[i].error)
			buf_addf(b, "       %s\n", v[i].error);
	}
	buf_addf(b, "-- %d pending, %zu failed (retry: cgenctl outbox retry ID|all; drop: cgenctl "
		    "outbox drop ID --by WHO --reason R)\n", pending, n - (size_t)pending);
}

void ops_outbox_json(struct buf *b, const struct outbox_item *v, size_t n)
{
	struct json j;
	json_init(&j, b);
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_key(&j, "id");
		json_int(&j, v[i].id);
		json_key(&j, "case");
		json_string(&j, v[i].case_id);
		json_key(&j, "status");
		json_string(&j, v[i].status);
		json_key(&j, "from");
		json_string(&j, v[i].env_from);
		json_key(&j, "to");
		json_arr_begin(&j);
		for (size_t k = 0; k < v[i].rcpts.n; k++)
			json_string(&j, v[i].rcpts.v[k]);
		json_arr_end(&j);
		json_key(&j, "size");
		json_int(&j, v[i].size);
		json_time(&j, "created", v[i].created);
		json_key(&j, "attempts");
		json_int(&j, v[i].attempts);
		json_time(&j, "next_try", strcmp(v[i].status, "pending") == 0 ? v[i].next_try : 0);
		json_key(&j, "error");
		json_string(&j, v[i].error);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	buf_adds(b, "\n");
}
