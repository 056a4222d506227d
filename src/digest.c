/* digest.c: see digest.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "digest.h"
#include "mailview.h"
#include "exemption.h"

#define DETAIL_MAX 200 /* bytes of an event's detail shown */

void digest_mail_free(struct digest_mail *m)
{
	free(m->subject);
	free(m->text);
	free(m->html);
	memset(m, 0, sizeof *m);
}

void digest_html_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_addc(b, *s);
		}
	}
}

static void pct_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~')
			buf_addc(b, (char)*p);
		else if (*p == '\n')
			buf_adds(b, "%0D%0A");
		else if (*p != '\r') {
			buf_addc(b, '%');
			buf_addc(b, hex[*p >> 4]);
			buf_addc(b, hex[*p & 15]);
		}
	}
}

char *digest_mailto(const char *to, const char *subject, const char *body)
{
	struct buf b = {0};
	buf_adds(&b, "mailto:");
	buf_adds(&b, to);
	buf_adds(&b, "?subject=");
	pct_encode(&b, subject ? subject : "");
	buf_adds(&b, "&body=");
	pct_encode(&b, body ? body : "");
	return buf_steal(&b);
}

/* s on one line (CR, LF and tabs as spaces), cut at max bytes on a UTF-8
 * boundary with "..." when longer. Allocated. */
static char *one_line(const char *s, size_t max)
{
	struct buf b = {0};
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		size_t n = utf8_valid_len(p, (size_t)-1);
		if (b.len + (n ? n : 1) > max) {
			buf_adds(&b, "...");
			break;
		}
		if (!n) {
			buf_addc(&b, '?');
			p++;
		} else if (*p == '\r' || *p == '\n' || *p == '\t') {
			buf_addc(&b, ' ');
			p++;
		} else {
			buf_add(&b, (const char *)p, n);
			p += n;
		}
	}
	return buf_steal(&b);
}

enum tfmt { T_STAMP, T_MINUTE, T_DAY };

static void local_text(time_t t, enum tfmt f, char out[48])
{
	struct tm tm;
	localtime_r(&t, &tm);
	switch (f) {
	case T_STAMP: strftime(out, 48, "%Y-%m-%d %H:%M %Z", &tm); break;
	case T_MINUTE: strftime(out, 48, "%Y-%m-%d %H:%M", &tm); break;
	case T_DAY: strftime(out, 48, "%A %Y-%m-%d", &tm); break;
	}
}

static const char *entity_name(const struct engine_env *env, const struct case_rec *c)
{
	const struct entity *e = c->entity ? directory_by_code(env->dir, c->entity) : NULL;
	return e ? e->name : c->entity ? c->entity : "unknown entity";
}

/* ---- the CDT digest ---- */

/* One open case, with what the listing shows of it. */
struct row {
	const struct case_rec *c;
	int age;                 /* calendar days since receipt */
	int elapsed, limit;      /* business days in the state, and until overdue */
	char *waiting;
	char since[48];
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->c->overdue != y->c->overdue)
		return y->c->overdue - x->c->overdue;
	if (x->c->created != y->c->created)
		return x->c->created < y->c->created ? -1 : 1;
	return strcmp(x->c->id, y->c->id);
}

enum section { SEC_DECISIONS, SEC_BOUNCES, SEC_REFUSED, SEC__COUNT };

static int event_section(const char *kind)
{
	if (!strcmp(kind, "decided") || !strcmp(kind, "rejected") || !strcmp(kind, "withdrawn") ||
	    !strcmp(kind, "recommended") || !strcmp(kind, "cancelled") || !strcmp(kind, "reopened") ||
	    !strncmp(kind, "alternative_", 12) || !strncmp(kind, "extension_", 10) || !strcmp(kind, "extended"))
		return SEC_DECISIONS;
	if (!strcmp(kind, "bounce") || !strcmp(kind, "complaint") || !strcmp(kind, "send_failed") ||
	    !strcmp(kind, "send_expired"))
		return SEC_BOUNCES;
	if (!strcmp(kind, "refused"))
		return SEC_REFUSED;
	return -1;
}

static const char *const section_title[SEC__COUNT] = {
	"Decisions", "Bounces and failed sends", "Refused commands",
};

/* The age bar: elapsed business days against the overdue limit, with the
 * first reminder's threshold in its colour. Tables and inline styles only. */
static void html_bar(struct buf *h, const struct row *r, int remind_after)
{
	int pct = r->limit > 0 ? r->elapsed * 100 / r->limit : 100;
	if (r->c->overdue || pct > 100)
		pct = 100;
	const char *color = r->c->overdue ? "#c62828" : r->elapsed >= remind_after ? "#f9a825"
										  : "#2e7d32";
	buf_adds(h, "<table role=\"presentation\" width=\"120\" cellpadding=\"0\" cellspacing=\"0\" "
		    "border=\"0\" style=\"width:120px;border:1px solid #9e9e9e;border-collapse:collapse\">"
		    "<tr>");
	if (pct > 0)
		buf_addf(h, "<td width=\"%d\" height=\"10\" bgcolor=\"%s\" style=\"width:%dpx;height:10px;"
			    "background-color:%s;font-size:1px;line-height:1px\">&nbsp;</td>",
			 pct * 120 / 100, color, pct * 120 / 100, color);
	if (pct < 100)
		buf_addf(h, "<td height=\"10\" bgcolor=\"#eeeeee\" style=\"height:10px;"
			    "background-color:#eeeeee;font-size:1px;line-height:1px\">&nbsp;</td>");
	buf_addf(h, "</tr></table><div style=\"font-size:11px;color:#616161\">%d of %d business "
		    "days</div>", r->elapsed, r->limit);
}

static const char TD[] = "<td style=\"padding:4px 8px;border-bottom:1px solid #e0e0e0;"
			 "vertical-align:top;font-family:Arial,Helvetica,sans-serif;font-size:13px\">";
static const char TH[] = "<th align=\"left\" style=\"padding:4px 8px;border-bottom:2px solid "
			 "#424242;font-family:Arial,Helvetica,sans-serif;font-size:13px\">";

static void html_begin(struct buf *h, const char *title)
{
	buf_adds(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	digest_html_escape(h, title);
	buf_adds(h, "</title></head>\n<body style=\"margin:0;padding:16px;background-color:#ffffff;"
		    "color:#212121;font-family:Arial,Helvetica,sans-serif\">\n<h1 style=\"font-size:20px;"
		    "margin:0 0 12px 0\">");
	digest_html_escape(h, title);
	buf_adds(h, "</h1>\n");
}

static void html_h2(struct buf *h, const char *t)
{
	buf_adds(h, "<h2 style=\"font-size:16px;margin:20px 0 8px 0\">");
	digest_html_escape(h, t);
	buf_adds(h, "</h2>\n");
}

/* A granted exemption ending soon. */
struct ending {
	const struct case_rec *c;
	long day;
};

static int ending_cmp(const void *a, const void *b)
{
	const struct ending *x = a, *y = b;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->c->id, y->c->id);
}

static const struct case_rec *case_by_id(const struct digest_in *in, const char *id)
{
	for (size_t i = 0; id && i < in->n_cases; i++)
		if (strcmp(in->cases[i].id, id) == 0)
			return &in->cases[i];
	return NULL;
}

/* A grant's row in the decisions: its conditions (the CTO's text, as the
 * event recorded it) and its end (from the case). NULL for other events. */
static char *granted_detail(const struct digest_in *in, const struct event_rec *e)
{
	if (strcmp(e->kind, "decided") != 0 || strncmp(e->detail, "granted", 7) != 0)
		return NULL;
	const char *cond = e->detail + 7;
	cond += strspn(cond, ": ");
	const struct case_rec *c = case_by_id(in, e->case_id);
	long end = c ? exemption_end_day(c) : -1;
	char ends[11] = "";
	if (end >= 0)
		calendar_day_number_text(end, ends);
	return xasprintf("granted; conditions: %s%s%s", *cond ? cond : "none", end >= 0 ? "; ends " : "",
			 ends);
}

/* The "ending within N days" section: granted exemptions whose end is today
 * or within N days, soonest first. */
static void ending_section(const struct digest_in *in, struct buf *x, struct buf *h)
{
	const struct engine_timing *t = in->timing;
	int within = t->n_expiry_notice ? t->expiry_notice[0] : 90;
	long today = calendar_local_day(in->env->now);
	struct ending *v = xcalloc(in->n_cases + 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < in->n_cases; i++) {
		long end = exemption_end_day(&in->cases[i]);
		if (end >= today && end <= today + within) {
			v[n].c = &in->cases[i];
			v[n++].day = end;
		}
	}
	qsort(v, n, sizeof *v, ending_cmp);
	char *head = xasprintf("Exemptions ending within %d days", within);
	buf_addf(x, "\n%s:\n", head);
	html_h2(h, head);
	free(head);
	if (!n) {
		buf_adds(x, "  (none)\n");
		buf_adds(h, "<p style=\"font-size:13px\">None.</p>\n");
		free(v);
		return;
	}
	buf_addf(h, "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
		    "border=\"0\" style=\"border-collapse:collapse\">\n<tr>%sCase</th>%sEntity</th>"
		    "%sEnds</th>%sConditions</th>%sRenewal</th></tr>\n", TH, TH, TH, TH, TH);
	for (size_t i = 0; i < n; i++) {
		const struct case_rec *c = v[i].c;
		char day[11];
		calendar_day_number_text(v[i].day, day);
		long left = v[i].day - today;
		char *cond = one_line(c->decision && *c->decision ? c->decision : "none", DETAIL_MAX);
		char *status = c->renewed_by ? xasprintf("renewal request %s", c->renewed_by)
			     : c->ext_months ? xasprintf("extension of %d months waiting on CDT", c->ext_months)
			     : xstrdup("no renewal request yet");
		buf_addf(x, "  %s  %-8s  ends %s, in %ld day%s; %s\n      conditions: %s\n", c->id,
			 c->entity ? c->entity : "?", day, left, left == 1 ? "" : "s", status, cond);
		buf_addf(h, "<tr>%s<b>", TD);
		digest_html_escape(h, c->id);
		buf_addf(h, "</b></td>%s", TD);
		digest_html_escape(h, c->entity ? c->entity : "?");
		buf_addf(h, "<br><span style=\"color:#616161\">");
		digest_html_escape(h, entity_name(in->env, c));
		buf_addf(h, "</span></td>%s<b>", TD);
		digest_html_escape(h, day);
		buf_addf(h, "</b><br>in %ld day%s</td>%s", left, left == 1 ? "" : "s", TD);
		digest_html_escape(h, cond);
		buf_addf(h, "</td>%s", TD);
		digest_html_escape(h, status);
		buf_adds(h, "</td></tr>\n");
		free(cond);
		free(status);
	}
	buf_adds(h, "</table>\n");
	free(v);
}

void digest_cdt(const struct digest_in *in, struct digest_mail *out)
{
	const struct engine_env *env = in->env;
	const struct engine_timing *t = in->timing;
	time_t now = env->now;
	struct buf x = {0}, h = {0};
	int counts[ST__COUNT] = {0};
	size_t nopen = 0, noverdue = 0;
	struct row *rows = xcalloc(in->n_cases + 1, sizeof *rows);
	int limit = (t->max_reminders < 0 ? 1 : t->max_reminders + 1) * t->remind_after;
	long today = calendar_local_day(now);

	for (size_t i = 0; i < in->n_cases; i++) {
		const struct case_rec *c = &in->cases[i];
		if ((unsigned)c->state < ST__COUNT && !in->state_counts)
			counts[c->state]++;
		if (!case_state_open(c->state))
			continue;
		struct row *r = &rows[nopen++];
		r->c = c;
		long age = today - calendar_local_day(c->created);
		r->age = age < 0 ? 0 : (int)age;
		r->limit = limit;
		r->elapsed = calendar_business_days_between(t->cal, c->state_since, now, limit);
		r->waiting = engine_waiting_text(env, c);
		local_text(c->state_since, T_STAMP, r->since);
		noverdue += c->overdue != 0;
	}
	qsort(rows, nopen, sizeof *rows, row_cmp);
	if (in->state_counts)
		memcpy(counts, in->state_counts, sizeof counts);

	char day[48], at[48];
	local_text(now, T_DAY, day);
	local_text(now, T_STAMP, at);
	out->subject = xasprintf("CGEN digest %s: %zu open case%s, %zu overdue",
				 day, nopen, nopen == 1 ? "" : "s", noverdue);
	char *title = xasprintf("CGEN exemption requests: digest of %s", day);

	/* counts */
	buf_addf(&x, "%s\nas of %s\n\nOpen cases: %zu (%zu overdue)\n", title, at, nopen, noverdue);
	html_begin(&h, title);
	buf_adds(&h, "<p style=\"margin:0 0 12px 0;font-size:13px;color:#616161\">as of ");
	digest_html_escape(&h, at);
	buf_addf(&h, "</p>\n<p style=\"font-size:14px;margin:0 0 8px 0\"><b>%zu</b> open case%s, "
		     "<b style=\"color:%s\">%zu overdue</b></p>\n",
		 nopen, nopen == 1 ? "" : "s", noverdue ? "#c62828" : "#212121", noverdue);

	html_h2(&h, "Cases per state");
	buf_adds(&x, "\nCases per state:\n");
	buf_adds(&h, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
		     "style=\"border-collapse:collapse\">\n");
	for (int s = 0; s < ST__COUNT; s++) {
		const char *name = mailview_state_words((enum case_state)s);
		buf_addf(&x, "  %-26s %5d%s\n", name, counts[s],
			 case_state_open((enum case_state)s) ? "" : "  (closed)");
		int open = case_state_open((enum case_state)s);
		buf_addf(&h, "<tr>%s%s%s%s</td>%s<b>%d</b></td></tr>\n", TD,
			 open ? "" : "<span style=\"color:#757575\">", name, open ? "" : "</span>",
			 TD, counts[s]);
	}
	buf_adds(&h, "</table>\n");

	/* open cases */
	html_h2(&h, "Open cases, overdue first");
	buf_adds(&x, "\nOpen cases, overdue first, then oldest first:\n");
	if (!nopen) {
		buf_adds(&x, "  (none)\n");
		buf_adds(&h, "<p style=\"font-size:13px\">None.</p>\n");
	} else {
		buf_addf(&h, "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" "
			     "cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse\">\n<tr>"
			     "%sCase</th>%sEntity</th>%sAge</th>%sStep</th>%sWaiting on, since</th>"
			     "%sIn this step</th></tr>\n", TH, TH, TH, TH, TH, TH);
	}
	for (size_t i = 0; i < nopen; i++) {
		const struct row *r = &rows[i];
		const char *ent = r->c->entity ? r->c->entity : "?";
		buf_addf(&x, "  %s  %-8s  %3d day%s  %s%s\n      waits on %s since %s; "
			     "reminders sent: %d; %d of %d business days\n",
			 r->c->id, ent, r->age, r->age == 1 ? " " : "s", mailview_state_words(r->c->state),
			 r->c->overdue ? "  OVERDUE" : "", r->waiting, r->since, r->c->reminders,
			 r->elapsed, r->limit);
		buf_addf(&h, "<tr%s>%s<b style=\"white-space:nowrap\">",
			 r->c->overdue ? " bgcolor=\"#ffebee\" style=\"background-color:#ffebee\"" : "", TD);
		digest_html_escape(&h, r->c->id);
		buf_adds(&h, "</b>");
		if (r->c->overdue)
			buf_adds(&h, "<br><span style=\"color:#c62828;font-weight:bold\">OVERDUE</span>");
		buf_addf(&h, "</td>%s", TD);
		digest_html_escape(&h, ent);
		buf_adds(&h, "<br><span style=\"color:#616161\">");
		digest_html_escape(&h, entity_name(env, r->c));
		buf_addf(&h, "</span></td>%s%d day%s</td>%s", TD, r->age, r->age == 1 ? "" : "s", TD);
		digest_html_escape(&h, mailview_state_words(r->c->state));
		buf_addf(&h, "</td>%s", TD);
		digest_html_escape(&h, r->waiting);
		buf_adds(&h, "<br><span style=\"color:#616161\">since ");
		digest_html_escape(&h, r->since);
		buf_addf(&h, "; reminders: %d</span></td>%s", r->c->reminders, TD);
		html_bar(&h, r, t->remind_after);
		buf_adds(&h, "</td></tr>\n");
	}
	if (nopen)
		buf_adds(&h, "</table>\n");

	ending_section(in, &x, &h);

	/* the last day's events */
	for (int s = 0; s < SEC__COUNT; s++) {
		char *head = xasprintf("%s, last 24 hours", section_title[s]);
		buf_addf(&x, "\n%s:\n", head);
		html_h2(&h, head);
		free(head);
		size_t shown = 0;
		for (size_t i = 0; i < in->n_events; i++) {
			const struct event_rec *e = &in->events[i];
			if (event_section(e->kind) != s)
				continue;
			char when[48];
			local_text(e->at, T_MINUTE, when);
			char *granted = granted_detail(in, e);
			char *detail = one_line(granted ? granted : e->detail, DETAIL_MAX);
			free(granted);
			char *actor = one_line(e->actor, 100);
			const char *cid = e->case_id ? e->case_id : "-";
			buf_addf(&x, "  %s  %-14s  %s: %s%s%s%s\n", when, cid, e->kind, detail,
				 *actor ? " (" : "", actor, *actor ? ")" : "");
			if (!shown++)
				buf_adds(&h, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
					     "cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse\">\n");
			buf_addf(&h, "<tr>%s", TD);
			digest_html_escape(&h, when);
			buf_addf(&h, "</td>%s", TD);
			digest_html_escape(&h, cid);
			buf_addf(&h, "</td>%s<b>", TD);
			digest_html_escape(&h, e->kind);
			buf_adds(&h, "</b>: ");
			digest_html_escape(&h, detail);
			if (*actor) {
				buf_adds(&h, "<br><span style=\"color:#616161\">");
				digest_html_escape(&h, actor);
				buf_adds(&h, "</span>");
			}
			buf_adds(&h, "</td></tr>\n");
			free(detail);
			free(actor);
		}
		if (!shown) {
			buf_adds(&x, "  (none)\n");
			buf_adds(&h, "<p style=\"font-size:13px\">None.</p>\n");
		} else
			buf_adds(&h, "</table>\n");
	}

	/* the chain head */
	html_h2(&h, "Event record");
	if (in->chain_problem) {
		buf_addf(&x, "\nEvent record: THE HASH CHAIN DOES NOT VERIFY: %s\n", in->chain_problem);
		buf_adds(&h, "<p style=\"font-size:13px;color:#c62828;font-weight:bold\">The hash chain "
			     "does not verify: ");
		digest_html_escape(&h, in->chain_problem);
		buf_adds(&h, "</p>\n");
	}
	buf_addf(&x, "\nEvent chain: %lld events, head %s\nKeep this head: \"cgenctl verify --head %s\" "
		     "shows whether the record was rewritten or cut since.\n",
		 (long long)in->chain_len, in->head, in->head);
	buf_addf(&h, "<p style=\"font-size:13px\">Event chain: <b>%lld</b> events, head<br>"
		     "<code style=\"font-family:Consolas,Courier New,monospace;font-size:12px\">",
		 (long long)in->chain_len);
	digest_html_escape(&h, in->head);
	buf_adds(&h, "</code></p>\n<p style=\"font-size:12px;color:#616161\">Keep this head: "
		     "<code>cgenctl verify --head HASH</code> shows whether the record was rewritten "
		     "or cut since.</p>\n</body></html>\n");

	for (size_t i = 0; i < nopen; i++)
		free(rows[i].waiting);
	free(rows);
	free(title);
	out->text = buf_steal(&x);
	out->html = buf_steal(&h);
}

/* ---- the approver digest ---- */

static const char *approver_role_text(const struct engine_env *env, const struct digest_item *it)
{
	if (it->role == ROLE_CTO)
		return "CTO";
	const struct entity *e = it->c->entity ? directory_by_code(env->dir, it->c->entity) : NULL;
	if (e && addr_equal(e->aio, e->cio))
		return "AIO and CIO";
	return it->role == ROLE_AIO ? "AIO" : "CIO";
}

/* The two commands of a case and their mailto: links. */
static void item_links(const struct digest_approver_in *in, const struct digest_item *it,
		       const char *words[2], char *links[2])
{
	const struct case_rec *c = it->c;
	/* the subjects of the mails the case's approvers got (templates) */
	char *hl = mailview_headline(c->fields_json, c->entity);
	char *subject = it->role == ROLE_CTO
		? xasprintf("Re: [%s] For decision: %s", c->id, hl)
		: xasprintf("Re: [%s] Approval needed (%s): %s", c->id,
			    approver_role_text(in->env, it), hl);
	free(hl);
	char *to;
	size_t ll = strcspn(in->agent_addr, "@");
	if (in->reply_plain)
		to = xstrdup(in->agent_addr);
	else
		to = xasprintf("%.*s+%s@%s", (int)ll, in->agent_addr, it->key, addr_domain(in->agent_addr));
	words[0] = "APPROVE";
	words[1] = it->role == ROLE_CTO ? "DENY" : "REJECT";
	for (int i = 0; i < 2; i++) {
		/* APPROVE stands alone; REJECT and DENY need the reason after them. */
		char *body = in->reply_plain ? xasprintf("%s%s\n\nRef: %s\n", words[i], i ? " " : "", it->key)
					     : xasprintf("%s%s\n", words[i], i ? " " : "");
		links[i] = digest_mailto(to, subject, body);
		free(body);
	}
	free(to);
	free(subject);
}

void digest_approver(const struct digest_approver_in *in, struct digest_mail *out)
{
	struct buf x = {0}, h = {0};
	int cto = in->n && in->items[0].role == ROLE_CTO;
	out->subject = xasprintf("CGEN exemptions: %zu request%s wait%s on your %s", in->n,
				 in->n == 1 ? "" : "s", in->n == 1 ? "s" : "", cto ? "decision" : "approval");
	char *title = xasprintf("%zu CGEN exemption request%s wait%s on you", in->n,
				in->n == 1 ? "" : "s", in->n == 1 ? "s" : "");
	buf_addf(&x, "%s\n\nEach request is answered on its own. Reply to its own mail, or open one "
		     "of the links\nbelow: it starts a reply with the command on the first line; add "
		     "a comment\n(a reason after REJECT or DENY) and send.\n", title);
	html_begin(&h, title);
	buf_adds(&h, "<p style=\"font-size:13px;margin:0 0 12px 0\">Each request is answered on its "
		     "own. A button starts a reply with the command on its first line: add a comment "
		     "(a reason after REJECT or DENY) and send.</p>\n<table role=\"presentation\" "
		     "width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
		     "style=\"border-collapse:collapse\">\n");
	for (size_t i = 0; i < in->n; i++) {
		const struct digest_item *it = &in->items[i];
		const struct case_rec *c = it->c;
		const char *words[2];
		char *links[2];
		char since[48];
		item_links(in, it, words, links);
		local_text(c->state_since, T_STAMP, since);
		char *subj = one_line(c->subject, 160);
		long age = calendar_local_day(in->env->now) - calendar_local_day(c->created);
		buf_addf(&x, "\n%zu. %s  %s (%s), as %s\n   \"%s\" from %s\n   waiting on you since %s "
			     "(received %ld day%s ago)\n   %s: %s\n   %s: %s\n",
			 i + 1, c->id, entity_name(in->env, c), c->entity ? c->entity : "?",
			 approver_role_text(in->env, it), subj, c->requester ? c->requester : "?", since,
			 age < 0 ? 0 : age, age == 1 ? "" : "s", words[0], links[0], words[1], links[1]);
		buf_addf(&h, "<tr>%s<b>", TD);
		digest_html_escape(&h, c->id);
		buf_adds(&h, "</b><br>");
		digest_html_escape(&h, entity_name(in->env, c));
		buf_adds(&h, " (as ");
		digest_html_escape(&h, approver_role_text(in->env, it));
		buf_addf(&h, ")</td>%s&ldquo;", TD);
		digest_html_escape(&h, subj);
		buf_adds(&h, "&rdquo;<br><span style=\"color:#616161\">from ");
		digest_html_escape(&h, c->requester);
		buf_adds(&h, ", waiting since ");
		digest_html_escape(&h, since);
		buf_addf(&h, "</span></td>%s", TD);
		for (int k = 0; k < 2; k++) {
			const char *bg = k ? "#c62828" : "#2e7d32";
			buf_addf(&h, "<a href=\"");
			digest_html_escape(&h, links[k]);
			buf_addf(&h, "\" style=\"display:inline-block;margin:2px 4px;padding:6px 12px;"
				     "background-color:%s;color:#ffffff;text-decoration:none;font-weight:bold;"
				     "font-family:Arial,Helvetica,sans-serif;font-size:13px;border-radius:3px\">%s</a>",
				 bg, words[k]);
			free(links[k]);
		}
		buf_adds(&h, "</td></tr>\n");
		free(subj);
	}
	buf_adds(&h, "</table>\n</body></html>\n");
	free(title);
	out->text = buf_steal(&x);
	out->html = buf_steal(&h);
}
