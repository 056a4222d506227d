/* report.c: see report.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "command.h"
#include "exemption.h"
#include "form.h"
#include "json.h"
#include "message.h"
#include "visible.h"
#include "report.h"
#include "request.h"

static long days_from_civil(int y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01 of a civil date. */
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static long local_day(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int report_age_days(time_t t, time_t now)
{
	long d = local_day(now) - local_day(t);
	return d < 0 ? 0 : (int)d;
}

void report_rfc3339(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void waiting_json(struct json *j, const struct case_rec *c)
{
	unsigned w = case_waiting_on(c);
	json_arr_begin(j);
	for (int r = 1; r < ROLE__COUNT; r++)
		if (w & (1u << r))
			json_string(j, role_name((enum role)r));
	json_arr_end(j);
}

static char *waiting_text(const struct case_rec *c)
{
	unsigned w = case_waiting_on(c);
	struct strv l = {0};
	for (int r = 1; r < ROLE__COUNT; r++)
		if (w & (1u << r))
			strv_add(&l, role_name((enum role)r));
	char *s = l.n ? strv_join(&l, ",") : xstrdup("-");
	strv_free(&l);
	return s;
}

static void list_keys(struct json *j, const struct case_rec *c, time_t now)
{
	json_key(j, "id");
	json_string(j, c->id);
	json_key(j, "state");
	json_string(j, case_state_name(c->state));
	json_key(j, "entity");
	json_string(j, c->entity);
	json_key(j, "waiting_on");
	waiting_json(j, c);
	json_key(j, "age_days");
	json_int(j, report_age_days(c->created, now));
	json_key(j, "overdue");
	json_bool(j, c->overdue);
}

/* "ends": the end date of a granted exemption, or null. */
static void ends_key(struct json *j, const struct case_rec *c)
{
	long end = exemption_end_day(c);
	char day[11];
	if (end >= 0)
		calendar_day_number_text(end, day);
	json_key(j, "ends");
	json_string(j, end >= 0 ? day : NULL);
}

/* The exemption's life (show): conditions, dates, extensions, alternative,
 * renewals. */
static void life_keys(struct json *j, const struct case_rec *c)
{
	char at[32];
	ends_key(j, c);
	json_key(j, "conditions");
	json_string(j, c->state == ST_GRANTED ? (c->decision ? c->decision : "") : NULL);
	json_key(j, "decided");
	if (c->decided > 0) {
		report_rfc3339(c->decided, at);
		json_string(j, at);
	} else
		json_null(j);
	json_key(j, "term_months");
	if (c->term_months > 0)
		json_int(j, c->term_months);
	else
		json_null(j);
	json_key(j, "extension_months");
	json_int(j, c->extension_months);
	json_key(j, "extension_pending");
	if (c->ext_months > 0) {
		json_obj_begin(j);
		json_key(j, "months");
		json_int(j, c->ext_months);
		json_key(j, "reason");
		json_string(j, c->ext_reason);
		json_key(j, "by");
		json_string(j, c->ext_by);
		json_obj_end(j);
	} else
		json_null(j);
	json_key(j, "alternative");
	json_string(j, c->alternative);
	json_key(j, "renews");
	json_string(j, c->renews);
	json_key(j, "renewed_by");
	json_string(j, c->renewed_by);
}

void report_list_json(struct buf *b, const struct case_rec *v, size_t n, time_t now)
{
	struct json j;
	json_init(&j, b);
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j);
		list_keys(&j, &v[i], now);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	buf_addc(b, '\n');
}

void report_list_text(struct buf *b, const struct case_rec *v, size_t n, time_t now)
{
	buf_addf(b, "%-16s %-20s %-8s %-14s %4s %s\n", "CASE", "STATE", "ENTITY", "WAITING ON", "AGE", "OVERDUE");
	for (size_t i = 0; i < n; i++) {
		char *w = waiting_text(&v[i]);
		buf_addf(b, "%-16s %-20s %-8s %-14s %4d %s\n", v[i].id, case_state_name(v[i].state),
			 v[i].entity ? v[i].entity : "-", w, report_age_days(v[i].created, now),
			 v[i].overdue ? "yes" : "no");
		free(w);
	}
}

void report_expiring_json(struct buf *b, const struct case_rec *v, size_t n, time_t now)
{
	struct json j;
	json_init(&j, b);
	json_arr_begin(&j);
	long today = calendar_local_day(now);
	for (size_t i = 0; i < n; i++) {
		long end = exemption_end_day(&v[i]);
		json_obj_begin(&j);
		list_keys(&j, &v[i], now);
		ends_key(&j, &v[i]);
		json_key(&j, "days_left");
		if (end >= 0)
			json_int(&j, end - today);
		else
			json_null(&j);
		json_key(&j, "conditions");
		json_string(&j, v[i].decision ? v[i].decision : "");
		json_key(&j, "renewed_by");
		json_string(&j, v[i].renewed_by);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	buf_addc(b, '\n');
}

void report_expiring_text(struct buf *b, const struct case_rec *v, size_t n, time_t now)
{
	buf_addf(b, "%-16s %-8s %-10s %5s  %s\n", "CASE", "ENTITY", "ENDS", "DAYS", "CONDITIONS");
	long today = calendar_local_day(now);
	for (size_t i = 0; i < n; i++) {
		long end = exemption_end_day(&v[i]);
		char day[11] = "-";
		if (end >= 0)
			calendar_day_number_text(end, day);
		buf_addf(b, "%-16s %-8s %-10s %5ld  %s%s\n", v[i].id, v[i].entity ? v[i].entity : "-", day,
			 end >= 0 ? end - today : 0L,
			 v[i].decision && *v[i].decision ? v[i].decision : "none",
			 v[i].ext_months ? " (extension waiting on CDT)" : "");
	}
}

void report_event_json(struct json *j, const struct event_rec *e, int chain)
{
	char at[32];
	report_rfc3339(e->at, at);
	json_obj_begin(j);
	if (chain) {
		json_key(j, "seq");
		json_int(j, e->seq);
	}
	json_key(j, "at");
	json_string(j, at);
	json_key(j, "kind");
	json_string(j, e->kind);
	json_key(j, "actor");
	json_string(j, e->actor);
	json_key(j, "detail");
	json_string(j, e->detail);
	if (chain) {
		json_key(j, "prev");
		json_string(j, e->prev);
		json_key(j, "hash");
		json_string(j, e->hash);
	}
	json_obj_end(j);
}

void report_show_json(struct buf *b, const struct case_rec *c, const struct event_rec *ev,
		      size_t nev, time_t now)
{
	struct json j;
	json_init(&j, b);
	json_obj_begin(&j);
	list_keys(&j, c, now);
	json_key(&j, "requester");
	json_string(&j, c->requester);
	json_key(&j, "approvals");
	json_obj_begin(&j);
	json_key(&j, "aio");
	json_string(&j, approval_name(c->aio));
	json_key(&j, "cio");
	json_string(&j, approval_name(c->cio));
	json_obj_end(&j);
	json_key(&j, "fields");
	json_raw(&j, c->fields_json && *c->fields_json ? c->fields_json : "{}");
	json_key(&j, "problems");
	json_raw(&j, c->problems_json && *c->problems_json ? c->problems_json : "[]");
	json_key(&j, "events");
	json_arr_begin(&j);
	for (size_t i = 0; i < nev; i++)
		report_event_json(&j, &ev[i], 0);
	json_arr_end(&j);
	life_keys(&j, c);
	json_obj_end(&j);
	buf_addc(b, '\n');
}

void report_show_text(struct buf *b, const struct case_rec *c, const struct event_rec *ev,
		      size_t nev, time_t now)
{
	char *w = waiting_text(c);
	buf_addf(b, "Case:       %s\nState:      %s\nEntity:     %s\nRequester:  %s\n"
		    "Approvals:  AIO %s, CIO %s\nWaiting on: %s\nAge:        %d days%s\n",
		 c->id, case_state_name(c->state), c->entity ? c->entity : "-", c->requester,
		 approval_name(c->aio), approval_name(c->cio), w, report_age_days(c->created, now),
		 c->overdue ? " (overdue)" : "");
	free(w);
	if (c->subject) {
		char *subj = str_escape_controls(c->subject, 0);
		buf_addf(b, "Subject:    %s\n", subj);
		free(subj);
	}
	if (c->alternative)
		buf_addf(b, "Alternative: %s\n", c->alternative);
	if (c->state == ST_GRANTED) {
		long end = exemption_end_day(c);
		char day[11] = "not known";
		if (end >= 0)
			calendar_day_number_text(end, day);
		buf_addf(b, "Conditions: %s\nEnds:       %s", c->decision && *c->decision ? c->decision : "none",
			 day);
		if (c->extension_months)
			buf_addf(b, " (with %d months of extensions)", c->extension_months);
		buf_addc(b, '\n');
		if (c->ext_months)
			buf_addf(b, "Extension:  %d months asked by %s, waiting on CDT: %s\n", c->ext_months,
				 c->ext_by ? c->ext_by : "?", c->ext_reason ? c->ext_reason : "");
	}
	if (c->renews)
		buf_addf(b, "Renews:     %s\n", c->renews_text ? c->renews_text : c->renews);
	if (c->renewed_by)
		buf_addf(b, "Renewed by: %s\n", c->renewed_by);
	if (c->summary && *c->summary)
		buf_addf(b, "\n%s\n", c->summary);
	if (c->problems_json && strcmp(c->problems_json, "[]") != 0)
		buf_addf(b, "\nProblems: %s\n", c->problems_json);
	buf_adds(b, "\nEvents:\n");
	for (size_t i = 0; i < nev; i++) {
		char at[32];
		report_rfc3339(ev[i].at, at);
		/* one line an event: a value from a mail cannot forge another */
		char *actor = str_escape_controls(ev[i].actor && *ev[i].actor ? ev[i].actor : "-", 0);
		char *detail = str_escape_controls(ev[i].detail ? ev[i].detail : "", 0);
		buf_addf(b, "  %s  %-18s %-26s %s\n", at, ev[i].kind, actor, detail);
		free(actor);
		free(detail);
	}
}

void report_queue_json(struct buf *b, const struct queue_rec *v, size_t n)
{
	struct json j;
	json_init(&j, b);
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		char at[32];
		report_rfc3339(v[i].at, at);
		json_obj_begin(&j);
		json_key(&j, "id");
		json_int(&j, v[i].id);
		json_key(&j, "message");
		json_int(&j, v[i].message_id);
		json_key(&j, "at");
		json_string(&j, at);
		json_key(&j, "from");
		json_string(&j, v[i].from);
		json_key(&j, "subject");
		json_string(&j, v[i].subject);
		json_key(&j, "reason");
		json_string(&j, v[i].reason);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	buf_addc(b, '\n');
}

void report_queue_text(struct buf *b, const struct queue_rec *v, size_t n)
{
	if (n == 0) {
		buf_adds(b, "The operator queue is empty.\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char at[32];
		report_rfc3339(v[i].at, at);
		char *from = str_escape_controls(v[i].from ? v[i].from : "-", 0);
		char *subj = str_escape_controls(v[i].subject ? v[i].subject : "", 0);
		char *reason = str_escape_controls(v[i].reason, 0);
		buf_addf(b, "#%lld  %s  from %s\n      subject: %s\n      reason:  %s\n", (long long)v[i].id, at,
			 from, subj, reason);
		free(from);
		free(subj);
		free(reason);
	}
}

void report_parse(struct buf *out, const char *raw, size_t len, int json)
{
	struct message m = {0};
	int ok = message_parse(raw, len, &m) == 0;
	char *vis = visible_text(ok ? m.text : "");
	struct command cmd = {0};
	command_read(ok ? &m : NULL, vis, &cmd);
	const char *kind = !ok ? "other"
		: m.kind == MSG_BOUNCE ? "bounce"
		: m.kind == MSG_COMPLAINT ? "complaint"
		: m.kind == MSG_AUTO_REPLY ? "auto-reply" : NULL;
	if (!kind) {
		struct form f = {0};
		struct request_read where;
		int reply = m.in_reply_to || m.references.n || cmd.word != CMD_NONE || cmd.ambiguous;
		/* As the agent reads a new mail: the form may be in a forwarded or
		 * attached message, or in an attachment. */
		request_read(raw, len, &m, vis, NULL, !reply, &f, &where);
		kind = form_is_request(&f) && !reply ? "request" : reply ? "reply" : "other";
		request_read_free(&where);
		form_free(&f);
	}
	if (json) {
		struct json j;
		json_init(&j, out);
		json_obj_begin(&j);
		json_key(&j, "from");
		json_string(&j, m.from_addr);
		json_key(&j, "subject");
		json_string(&j, m.subject);
		json_key(&j, "kind");
		json_string(&j, kind);
		json_key(&j, "visible");
		json_string(&j, vis);
		json_key(&j, "command");
		if (cmd.word != CMD_NONE) {
			json_obj_begin(&j);
			json_key(&j, "word");
			json_string(&j, command_name(cmd.word));
			json_key(&j, "argument");
			json_string(&j, cmd.argument ? cmd.argument : "");
			json_obj_end(&j);
		} else
			json_null(&j);
		json_key(&j, "ambiguous");
		json_bool(&j, cmd.ambiguous);
		json_key(&j, "attachments");
		json_arr_begin(&j);
		for (size_t i = 0; i < m.n_att; i++) {
			json_obj_begin(&j);
			json_key(&j, "name");
			json_string(&j, m.att[i].name);
			json_key(&j, "type");
			json_string(&j, m.att[i].type);
			json_key(&j, "size");
			json_int(&j, (int64_t)m.att[i].size);
			json_key(&j, "sha256");
			json_string(&j, m.att[i].sha256);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		buf_addc(out, '\n');
	} else {
		buf_addf(out, "From:      %s\nSubject:   %s\nKind:      %s\nCommand:   %s%s%s%s\n",
			 m.from_addr ? m.from_addr : "-", m.subject ? m.subject : "", kind,
			 cmd.word ? command_name(cmd.word) : cmd.ambiguous ? "(ambiguous)" : "(none)",
			 cmd.argument && *cmd.argument ? " \"" : "", cmd.argument ? cmd.argument : "",
			 cmd.argument && *cmd.argument ? "\"" : "");
		for (size_t i = 0; i < m.n_att; i++)
			buf_addf(out, "Attachment: %s (%s, %zu bytes, sha256 %s)\n", m.att[i].name ? m.att[i].name : "-",
				 m.att[i].type, m.att[i].size, m.att[i].sha256);
		buf_addf(out, "Visible:\n%s\n", vis);
	}
	command_free(&cmd);
	free(vis);
	message_free(&m);
}
