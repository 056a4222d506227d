/* agent.c: see agent.h. The only place where the pure modules meet the store,
 * the mailbox and the sender. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "case.h"
#include "command.h"
#include "compose.h"
#include "digest.h"
#include "engine.h"
#include "exemption.h"
#include "export.h"
#include "form.h"
#include "log.h"
#include "mailview.h"
#include "message.h"
#include "replykey.h"
#include "request.h"
#include "sendlog.h"
#include "trust.h"
#include "visible.h"

const char *const agent_templates[] = {
	"ack", "approval-request", "approval-recorded", "audit", "cdt-review", "cto-review",
	"decision", "help", "help-role", "incomplete", "info-answer", "info-request", "not-accepted",
	"not-required", "note-recorded", "notice", "overdue", "refused", "rejected", "reminder",
	"no-form",
	"request-form", "status", "status-list", "too-large", "unclear", "unreadable", "withdrawn", "cancelled",
	"alternative-proposed", "alternative-copy", "alternative-accepted", "alternative-declined",
	"extension-request", "extension-decision", "expiry-notice", NULL,
};

int agent_open(struct agent *a, const struct conf *cfg, int mail, char **err)
{
	return agent_open_flags(a, cfg, mail, STORE_OPEN_CREATE | STORE_OPEN_MIGRATE, err) == 0 ? 0 : -1;
}

int agent_open_flags(struct agent *a, const struct conf *cfg, int mail, unsigned store_flags,
		     char **err)
{
	memset(a, 0, sizeof *a);
	a->cfg = cfg;
	a->batch = 200;
	struct strv errs = {0};
	char *e = NULL;
	int rc = -1;
	int r = store_open_flags(cfg->store_path, store_flags, &a->st, &e);
	if (r != STORE_OK) {
		*err = xasprintf("store %s", e ? e : "cannot open");
		free(e);
		rc = r == STORE_TEMPFAIL ? -2 : -1;
		goto fail;
	}
	size_t fallback = 0;
	if (templates_load_fallback(cfg->templates_dir, CGEN_TEMPLATES_DIR, agent_templates, &a->tpl,
				    &errs, &fallback) != 0) {
		char *j = strv_join(&errs, "\n");
		*err = xasprintf("templates: %s", j);
		free(j);
		goto fail;
	}
	if (!templates_html(a->tpl, "layout")) {
		*err = xasprintf("templates: %s/layout.html is missing (the HTML part of every mail)",
				 cfg->templates_dir);
		goto fail;
	}
	{
		/* The blank form, used by several templates: rendered once. */
		struct strv none = {0};
		char *fs = NULL;
		if (templates_render(a->tpl, "request-form", &none, &fs, &a->form_text, &e) != 0) {
			*err = xasprintf("templates: request-form: %s", e);
			free(e);
			goto fail;
		}
		free(fs);
	}
	if (fallback)
		log_info("templates: %zu of them from %s (not in %s)", fallback, CGEN_TEMPLATES_DIR,
			 cfg->templates_dir);
	if (conf_read_secrets(cfg->secret_file, &a->secrets, &e) != 0) {
		*err = e;
		goto fail;
	}
	if (calendar_load(&a->cal, cfg->workflow.holidays_file, &errs) != 0) {
		char *j = strv_join(&errs, "\n");
		*err = xasprintf("holidays: %s", j);
		free(j);
		goto fail;
	}
	if ((cfg->mailbox.password_file && conf_check_private(cfg->mailbox.password_file, &e) != 0) ||
	    (cfg->smtp.password_file && conf_check_private(cfg->smtp.password_file, &e) != 0)) {
		*err = e;
		goto fail;
	}
	if (mail) {
		a->src = source_for(cfg);
		a->snd = sender_for(cfg);
		if (!a->src) {
			*err = xasprintf("mailbox %s: not supported by this version", cfg->mailbox.url);
			goto fail;
		}
		if (!a->snd) {
			*err = xasprintf("smtp %s: not supported by this version", cfg->smtp.url);
			goto fail;
		}
		if ((r = a->src->open(cfg, a->st, &a->src_state, &e)) != 0) {
			a->src = NULL;
			*err = e;
			rc = r == -2 ? -2 : -1;
			goto fail;
		}
		if (a->snd->open(cfg, &a->snd_state, &e) != 0) {
			a->snd = NULL;
			*err = e;
			goto fail;
		}
	}
	strv_free(&errs);
	return 0;
fail:
	strv_free(&errs);
	agent_close(a);
	return rc;
}

static void case_cache_drop(struct agent *a);

void agent_close(struct agent *a)
{
	case_cache_drop(a);
	if (a->sendlog)
		close(a->sendlog - 1);
	if (a->src)
		a->src->close(a->src_state);
	if (a->snd)
		a->snd->close(a->snd_state);
	if (a->tpl)
		templates_free(a->tpl);
	if (a->st)
		store_close(a->st);
	strv_free(&a->secrets);
	free(a->form_text);
	directory_free(&a->dir);
	calendar_free(&a->cal);
	for (size_t i = 0; i < a->n_unrecorded; i++) {
		struct agent_result *u = &a->unrecorded[i];
		if (u->result == SENDER_OK)
			log_err("outbox %lld was sent but the store could not record it; it stays "
				"marked as being sent and is settled at the next start",
				(long long)u->id);
		free(u->error);
		free(u->case_id);
		free(u->rcpt);
	}
	free(a->unrecorded);
	free(a->send_error);
	memset(a, 0, sizeof *a);
}

/* ---- outgoing mail ---- */

static void add_var(struct strv *v, const char *name, const char *value)
{
	strv_add(v, name);
	strv_add(v, value ? value : "");
}

/* The CSV index of an entity's granted exemptions (AUDIT). *count is set. */
static int audit_csv(struct agent *a, const char *entity, struct buf *out, int *count)
{
	struct case_rec *v = NULL;
	size_t n = 0;
	*count = 0;
	if (store_case_list(a->st, "granted", &v, &n) != STORE_OK)
		return -1;
	export_index_header(out);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].entity || strcasecmp(v[i].entity, entity) != 0)
			continue;
		export_index_row(out, &v[i]);
		(*count)++;
	}
	store_cases_free(v, n);
	return 0;
}

/* Replaces var name's value in vars (first match) with value. */
static void var_set(struct strv *vars, const char *name, const char *value)
{
	for (size_t i = 0; i + 1 < vars->n; i += 2)
		if (strcmp(vars->v[i], name) == 0) {
			str_set(&vars->v[i + 1], value);
			return;
		}
	add_var(vars, name, value);
}

/* A block's text as a template value: without its last line break (the
 * template puts its own). */
static void var_block(struct strv *vars, const char *name, struct buf *text)
{
	while (text->len && text->s[text->len - 1] == '\n')
		text->s[--text->len] = '\0';
	var_set(vars, name, text->s ? text->s : "");
}

static const char *var_get(const struct strv *vars, const char *name)
{
	for (size_t i = 0; i + 1 < vars->n; i += 2)
		if (strcmp(vars->v[i], name) == 0)
			return vars->v[i + 1];
	return NULL;
}

/* text with every address that has a display name in people written as
 * "Name <addr>" (addresses already in angle brackets stay). Allocated. */
static char *names_in(const char *text, const struct strv *people)
{
	struct buf b = {0};
	const char *p = text;
	while (*p) {
		const char *at = strchr(p, '@');
		if (!at) {
			buf_adds(&b, p);
			break;
		}
		const char *s = at, *e = at + 1;
		while (s > p && (isalnum((unsigned char)s[-1]) || strchr("._%+-", s[-1])))
			s--;
		while (*e && (isalnum((unsigned char)*e) || *e == '.' || *e == '-'))
			e++;
		while (e > at + 1 && e[-1] == '.')
			e--;
		buf_add(&b, p, (size_t)(s - p));
		char *addr = xstrndup(s, (size_t)(e - s));
		char *who = s > text && s[-1] == '<' ? xstrdup(addr) : mailview_person(people, addr);
		buf_adds(&b, s < at ? who : addr);
		free(who);
		free(addr);
		p = e > at ? e : at + 1;
	}
	return buf_steal(&b);
}

/* The documents of a mail: the requester's documents of the case, or the
 * attachments of the inbound mail raw. */
static int mail_docs(struct agent *a, const struct case_rec *c, const struct engine_mail *m,
		     const char *raw, size_t raw_len, struct case_doc **docs, size_t *n)
{
	*docs = NULL;
	*n = 0;
	if (m->attach == ENGINE_ATTACH_MAIL) {
		struct message pm = {0};
		struct buf *att = NULL;
		if (raw && message_parse_data(raw, raw_len, &pm, &att) == 0 && pm.n_att) {
			struct strv names = {0};
			export_attachment_names(&pm, &names);
			*docs = xcalloc(pm.n_att, sizeof **docs);
			for (size_t i = 0; i < pm.n_att; i++) {
				struct case_doc *d = &(*docs)[(*n)++];
				d->name = xstrdup(names.v[i]);
				d->type = xstrdup(pm.att[i].type ? pm.att[i].type : "application/octet-stream");
				d->size = att[i].len;
				d->data = att[i].s ? att[i].s : xstrdup("");
				att[i].s = NULL;
				d->from = xstrdup(pm.from_addr ? pm.from_addr : "");
			}
			strv_free(&names);
		}
		message_data_free(att, pm.n_att);
		message_free(&pm);
		return 0;
	}
	char *err = NULL;
	if (export_case_docs(a->st, c->id, c->requester, docs, n, &err) != EXPORT_OK) {
		log_err("case %s: documents: %s", c->id, err);
		free(err);
		return -1;
	}
	return 0;
}

/* The parts of a case's mails that depend only on the case as stored and
 * on the mail being handled: the several mails one event sends (the
 * acknowledgment, both approval requests) render them once. Dropped when
 * another mail or tick begins, and kept only while the case's request and
 * state are those it was made from. */
struct case_cache {
	char *case_id, *fields, *entity;
	int incomplete;
	char *headline;
	int summary;               /* 1: summary_t/_h hold the request table */
	char *summary_t, *summary_h;
	int docs_mode;             /* m->attach the documents were read for; -1: none */
	int docs_read;
	struct case_doc *docs;
	size_t ndocs;
};

static int streq0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void case_cache_drop(struct agent *a)
{
	struct case_cache *k = a->cache;
	if (!k)
		return;
	free(k->case_id);
	free(k->fields);
	free(k->entity);
	free(k->headline);
	free(k->summary_t);
	free(k->summary_h);
	export_case_docs_free(k->docs, k->ndocs);
	free(k);
	a->cache = NULL;
}

/* The cache for case c, emptied first when made for another case or state. */
static struct case_cache *case_cache_for(struct agent *a, const struct case_rec *c)
{
	struct case_cache *k = a->cache;
	int incomplete = c->state == ST_INCOMPLETE;
	if (k && streq0(k->case_id, c->id) && streq0(k->fields, c->fields_json) &&
	    streq0(k->entity, c->entity) && k->incomplete == incomplete)
		return k;
	case_cache_drop(a);
	k = a->cache = xcalloc(1, sizeof *k);
	k->case_id = xstrdup(c->id);
	k->fields = xstrdup(c->fields_json ? c->fields_json : "");
	k->entity = xstrdup(c->entity ? c->entity : "");
	k->incomplete = incomplete;
	k->docs_mode = -1;
	return k;
}

/* What a mail about case c shows besides the engine's values: people by
 * display name, the subject's headline, the request as a table, the case's
 * history and its documents (text into vars, HTML into hv), and the
 * documents attached to it (*atts, pointing into *docs). */
static int case_view(struct agent *a, const struct case_rec *c, const struct engine_mail *m,
		     const char *raw, size_t raw_len, struct strv *vars, struct strv *hv,
		     struct case_doc **docs, size_t *ndocs, struct outmail_att **atts, size_t *natts)
{
	struct strv people = {0};
	struct buf t = {0}, h = {0};
	struct event_rec *ev = NULL;
	size_t nev = 0;
	int rc = -1;
	struct strv who = {0};
	if (store_events(a->st, c->id, &ev, &nev) != STORE_OK)
		goto out;
	/* the people a case mail may name: the parties and every actor */
	const struct entity *pe = c->entity ? directory_by_code(&a->dir, c->entity) : NULL;
	strv_add(&who, c->requester ? c->requester : "");
	if (pe && pe->aio)
		strv_add(&who, pe->aio);
	if (pe && pe->cio)
		strv_add(&who, pe->cio);
	for (size_t i = 0; i < a->cfg->workflow.cdt.n; i++)
		strv_add(&who, a->cfg->workflow.cdt.v[i]);
	strv_add(&who, a->cfg->workflow.cto);
	for (size_t i = 0; i < nev; i++)
		if (ev[i].actor && strchr(ev[i].actor, '@') && !strv_contains_ci(&who, ev[i].actor))
			strv_add(&who, ev[i].actor);
	int pr = store_people(a->st, &who, &people);
	strv_free(&who);
	if (pr != STORE_OK)
		goto out;
	if (a->cfg->smtp.from_name) {
		strv_add(&people, a->cfg->smtp.from_addr);
		strv_add(&people, a->cfg->smtp.from_name);
	}
	static const char *const named[] = {"requester", "recommended_by", "rejected_by", "waiting_on"};
	for (size_t i = 0; i < ARRAY_LEN(named); i++) {
		const char *v = var_get(vars, named[i]);
		if (v) {
			char *nv = names_in(v, &people);
			var_set(vars, named[i], nv);
			free(nv);
		}
	}
	struct case_cache *k = case_cache_for(a, c);
	if (!k->headline)
		k->headline = mailview_headline(c->fields_json, c->entity);
	var_set(vars, "headline", *k->headline ? k->headline : c->id);

	if (!k->summary) {
		const struct entity *e = c->entity ? directory_by_code(&a->dir, c->entity) : NULL;
		char *label = e ? xasprintf("%s (%s)", e->name, e->code) : NULL;
		/* an incomplete request's summary is the form prefilled with what
		 * was read and its problems marked: the requester corrects that,
		 * not a table */
		k->summary = c->state != ST_INCOMPLETE &&
				     mailview_request(c->fields_json, label, &t, &h) > 0 ? 1 : -1;
		if (k->summary > 0) {
			k->summary_t = buf_steal(&t);
			k->summary_h = buf_steal(&h);
		}
		free(label);
		buf_free(&t);
		buf_free(&h);
	}
	if (k->summary > 0) {
		buf_adds(&t, k->summary_t);
		var_block(vars, "summary", &t);
		var_set(hv, "summary", k->summary_h);
		buf_free(&t);
	}

	if (mailview_history(ev, nev, &people, &t, &h) > 0) {
		var_block(vars, "history", &t);
		var_set(hv, "history", h.s);
	}
	buf_free(&t);
	buf_free(&h);

	if (m->attach || templates_uses(a->tpl, m->tmpl, "documents")) {
		if (k->docs_mode != (int)m->attach) {
			export_case_docs_free(k->docs, k->ndocs);
			k->docs = NULL;
			k->ndocs = 0;
			if (mail_docs(a, c, m, raw, raw_len, &k->docs, &k->ndocs) != 0)
				goto out;
			k->docs_mode = (int)m->attach;
		}
		/* lent: the cache keeps them */
		*docs = k->docs;
		*ndocs = k->ndocs;
	}
	struct mailview_doc *md = xcalloc(*ndocs + 1, sizeof *md);
	long long limit = a->cfg->smtp.max_attachments_size, used = 0;
	*atts = xcalloc(*ndocs + 1, sizeof **atts);
	for (size_t i = 0; i < *ndocs; i++) {
		struct case_doc *d = &(*docs)[i];
		md[i].name = d->name;
		md[i].type = d->type;
		md[i].size = d->size;
		if (m->attach && used + (long long)d->size <= limit) {
			used += (long long)d->size;
			md[i].attached = 1;
			(*atts)[*natts].name = d->name;
			(*atts)[*natts].type = d->type;
			(*atts)[*natts].data = d->data;
			(*atts)[*natts].len = d->size;
			(*natts)++;
		}
	}
	if (*ndocs) {
		mailview_documents(md, *ndocs, limit, c->id, &t, &h);
		var_block(vars, "documents", &t);
		var_set(hv, "documents", h.s);
	}
	free(md);
	rc = 0;
out:
	buf_free(&t);
	buf_free(&h);
	store_events_free(ev, nev);
	strv_free(&people);
	return rc;
}

/* Renders one engine mail and queues it in the outbox (inside the caller's
 * transaction); raw is the inbound mail that caused it (NULL for the clock).
 * Returns 0, or -1 on a store error. A template error is logged and recorded
 * on the case; it never blocks the mail that caused it. */
static int queue_mail(struct agent *a, const struct case_rec *c, const struct engine_mail *m,
		      const struct message *in, const char *raw, size_t raw_len, time_t now)
{
	const struct conf *cfg = a->cfg;
	const char *dom = addr_domain(cfg->smtp.from_addr);
	char key[REPLYKEY_LEN + 1] = "";
	char *subject = NULL, *body = NULL, *err = NULL, *reply_to = NULL, *msgid = NULL;
	char *data = NULL, *attach_name = NULL, *html = NULL, *flowed = NULL;
	struct buf attach = {0};
	int rc = -1;
	struct strv vars = {0}, hv = {0};
	struct strv rcpts = {0};
	struct case_doc *docs = NULL;
	size_t ndocs = 0, natts = 0;
	struct outmail_att *atts = NULL;

	if (!m->to || !addr_valid(m->to) || str_has_controls(m->to)) {
		/* never mailed: a control character could end the address (SMTP
		 * command injection) or act on the terminal of whoever reads it */
		log_warn("%s to \"%s\" not sent: not a usable address (control characters)", m->tmpl,
			 m->to ? m->to : "");
		char *d = xasprintf("%s not sent: the address holds control characters", m->tmpl);
		rc = store_event_add(a->st, c ? c->id : NULL, now, "not_mailed", "agent", d) == STORE_OK ? 0 : -1;
		free(d);
		goto out;
	}
	for (size_t i = 0; i + 1 < m->vars.n; i += 2)
		add_var(&vars, m->vars.v[i], m->vars.v[i + 1]);
	if (m->keyed && c) {
		const char *for_addr = m->key_addressee ? m->key_addressee : m->to;
		replykey_make(a->secrets.v[0], c->id, c->step, role_name(m->role), for_addr, key);
		/* store_key_add replaces: a key issued again (reminders) is one row. */
		if (store_key_add(a->st, key, c->id, c->step, role_name(m->role), for_addr) != STORE_OK)
			goto out;
		if (!cfg->workflow.reply_plain) {
			char *local = xstrndup(cfg->smtp.from_addr, strcspn(cfg->smtp.from_addr, "@"));
			reply_to = xasprintf("%s+%s@%s", local, key, dom);
			free(local);
		}
	}
	if (strcmp(m->tmpl, "audit") == 0) {
		const char *entity = "";
		for (size_t i = 0; i + 1 < m->vars.n; i += 2)
			if (strcmp(m->vars.v[i], "entity") == 0)
				entity = m->vars.v[i + 1];
		int count;
		if (audit_csv(a, entity, &attach, &count) != 0)
			goto out;
		char *cs = xasprintf("%d", count);
		add_var(&vars, "count", cs);
		free(cs);
		attach_name = xasprintf("cgen-exemptions-%s.csv", entity);
	}
	add_var(&vars, "agent_address", cfg->smtp.from_addr);
	add_var(&vars, "reply_address", reply_to ? reply_to : cfg->smtp.from_addr);
	int has_subject = 0;
	for (size_t i = 0; i + 1 < m->vars.n; i += 2)
		has_subject |= strcmp(m->vars.v[i], "subject") == 0;
	if (!has_subject)
		add_var(&vars, "subject", in && in->subject ? in->subject : "");
	add_var(&vars, "form", a->form_text);
	/* the blocks of mail views; a case mail fills them in */
	add_var(&vars, "headline", c ? c->id : "");
	add_var(&vars, "history", "No history yet.");
	add_var(&vars, "documents", "None.");
	if (c && case_view(a, c, m, raw, raw_len, &vars, &hv, &docs, &ndocs, &atts, &natts) != 0)
		goto out;
	const struct mailview_command *cmds[16];
	size_t ncmds = m->keyed && c ? mailview_commands(m->role, c, cmds, ARRAY_LEN(cmds)) : 0;
	struct mailview_in mi = {
		.t = a->tpl,
		.tmpl = m->tmpl,
		.vars = &vars,
		.html_vars = &hv,
		.key = *key ? key : NULL,
		.reply_addr = reply_to ? reply_to : cfg->smtp.from_addr,
		.cmds = cmds,
		.n_cmds = ncmds,
		.agent_name = cfg->smtp.from_name,
	};
	if (mailview_render(&mi, &subject, &body, &html, &err) != 0) {
		log_err("template %s: %s", m->tmpl, err);
		rc = store_event_add(a->st, c ? c->id : NULL, now, "mail_failed", "agent", err) == STORE_OK ? 0 : -1;
		goto out;
	}
	if (c) {
		char tag[32];
		snprintf(tag, sizeof tag, "[%s]", c->id);
		if (!strstr(subject, tag)) {
			char *s = xasprintf("%s %s", tag, subject);
			free(subject);
			subject = s;
		}
	}
	flowed = compose_flowed(body);
	int64_t id;
	if (store_outbox_next_id(a->st, &id) != STORE_OK)
		goto out;
	msgid = *key ? xasprintf("cgen.%s.%lld@%s", key, (long long)id, dom)
		     : xasprintf("cgen.n%lld.%lld@%s", (long long)id, (long long)now, dom);
	const char *irt = NULL;
	if (m->answer && in && in->message_id)
		irt = in->message_id;
	else if (c && c->request_msgid)
		irt = c->request_msgid;
	strv_add(&rcpts, m->to);
	struct outmail om = {
		.from = cfg->smtp.from,
		.reply_to = reply_to,
		.to = &rcpts,
		.subject = subject,
		.body = flowed,
		.message_id = msgid,
		.in_reply_to = irt,
		.references = irt,
		.date = now,
		.auto_replied = m->answer,
		.attach_name = attach_name,
		.attach_type = attach_name ? "text/csv" : NULL,
		.attach_data = attach.s,
		.attach_len = attach.len,
		.html = html,
		.atts = atts,
		.n_atts = natts,
		.flowed = 1,
	};
	size_t len;
	data = compose_message(&om, &len);
	int64_t got;
	if (store_outbox_add(a->st, c ? c->id : NULL, cfg->smtp.from_addr, &rcpts, data, len, now, &got) != STORE_OK)
		goto out;
	char *detail = natts
		? xasprintf("%s to %s (%s, outbox %lld) with %zu document(s)", m->tmpl, m->to,
			    m->role ? role_name(m->role) : "sender", (long long)got, natts)
		: xasprintf("%s to %s (%s, outbox %lld)", m->tmpl, m->to,
			    m->role ? role_name(m->role) : "sender", (long long)got);
	rc = store_event_add(a->st, c ? c->id : NULL, now, "mailed", "agent", detail) == STORE_OK ? 0 : -1;
	free(detail);
out:
	buf_free(&attach);
	free(attach_name);
	free(subject);
	free(body);
	free(html);
	free(flowed);
	free(err);
	free(reply_to);
	free(msgid);
	free(data);
	free(atts);
	strv_free(&vars);
	strv_free(&hv);
	strv_free(&rcpts);
	return rc;
}

/* ---- inbound mail ---- */

static int is_own_address(const struct conf *cfg, const char *addr)
{
	if (!addr)
		return 0;
	const char *own = cfg->smtp.from_addr;
	if (addr_equal(addr, own))
		return 1;
	size_t ll = strcspn(own, "@");
	return strncasecmp(addr, own, ll) == 0 && addr[ll] == '+' &&
	       strcasecmp(addr_domain(addr), addr_domain(own)) == 0;
}

/* The first key of the mail that the store knows and whose HMAC checks. */
static int find_key(struct agent *a, const struct message *m, struct key_rec *out, enum role *role)
{
	struct strv keys = {0};
	int found = 0;
	replykey_find(m, a->cfg->smtp.from_addr, &keys);
	for (size_t i = 0; i < keys.n && !found; i++) {
		struct key_rec k;
		int rc = store_key_get(a->st, keys.v[i], &k);
		if (rc == STORE_ERR) {
			strv_free(&keys);
			return -1;
		}
		if (rc != STORE_OK)
			continue;
		if (replykey_check(&a->secrets, keys.v[i], k.case_id, k.step, k.role, k.addressee) &&
		    role_parse(k.role, role) == 0) {
			*out = k;
			found = 1;
		} else {
			store_key_clear(&k);
		}
	}
	strv_free(&keys);
	return found;
}

/* "CGEN-2026-0042" (any case, brackets allowed) at the start of s: copied upper-case. */
static int case_id_arg(const char *s, char out[24])
{
	if (!s)
		return 0;
	while (*s == ' ' || *s == '[')
		s++;
	size_t n = 0;
	while (n < 23 && (isalnum((unsigned char)s[n]) || s[n] == '-'))
		n++;
	if (n < 14 || strncasecmp(s, "CGEN-", 5) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[n] = '\0';
	return 1;
}

static int year_of(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return tm.tm_year + 1900;
}

/* What the engine needs of the agent at time now (next_case_id set by the
 * caller that may open a case). */
static struct engine_env env_of(const struct agent *a, time_t now)
{
	struct engine_env env = {
		.dir = &a->dir,
		.cdt = &a->cfg->workflow.cdt,
		.cto = a->cfg->workflow.cto,
		.agent_addr = a->cfg->smtp.from_addr,
		.now = now,
		.next_case_id = "",
		.self_approval_refuse = a->cfg->self_approval_refuse,
	};
	return env;
}

/* The highest case number of year in the central file's index.csv
 * ([store] central_file), 0 when there is none: a restored store never
 * gives such a number again. */
static long long central_max(const struct agent *a, int year)
{
	if (!a->cfg->central_file)
		return 0;
	char *path = xasprintf("%s/index.csv", a->cfg->central_file);
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return 0;
	char prefix[24], line[256];
	snprintf(prefix, sizeof prefix, "CGEN-%d-", year);
	long long max = 0;
	while (fgets(line, sizeof line, f)) {
		const char *p = line + (line[0] == '"');
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		long long n = strtoll(p + strlen(prefix), NULL, 10);
		if (n > max)
			max = n;
		/* a long line is read on in pieces: skip them */
		while (!strchr(line, '\n') && fgets(line, sizeof line, f))
			;
	}
	fclose(f);
	return max;
}

/* 1 when the central file holds case id with exactly the request raw (the
 * same request read again after a restore), 0 when it holds another one,
 * -1 when it does not hold that case. */
static int central_same_request(const struct agent *a, const char *id, const char *raw, size_t len)
{
	char *path = xasprintf("%s/%s/request.eml", a->cfg->central_file, id);
	char *dir = xasprintf("%s/%s", a->cfg->central_file, id);
	struct stat sb;
	int rc = stat(dir, &sb) == 0 ? 0 : -1;
	FILE *f = rc == 0 ? fopen(path, "rb") : NULL;
	if (f) {
		struct buf b = {0};
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= len)
			buf_add(&b, chunk, n);
		rc = b.len == len && (len == 0 || memcmp(b.s, raw, len) == 0);
		buf_free(&b);
		fclose(f);
	}
	free(path);
	free(dir);
	return rc;
}

/* The id a new case from the mail raw would take at now: one past the
 * store's highest; and never a number the central file gave to another
 * request (after the store was restored from an older backup). */
static int next_case_id(struct agent *a, time_t now, const char *raw, size_t len, char out[24])
{
	int year = year_of(now);
	if (store_case_next_id(a->st, year, out) != STORE_OK)
		return -1;
	long long next = strtoll(out + strlen("CGEN-") + snprintf(NULL, 0, "%d", year) + 1, NULL, 10);
	long long cm = central_max(a, year);
	for (; next <= cm; next++) {
		snprintf(out, 24, "CGEN-%d-%04lld", year, next);
		if (central_same_request(a, out, raw, len) != 0)
			break; /* not in the central file, or this very request */
	}
	snprintf(out, 24, "CGEN-%d-%04lld", year, next);
	return 0;
}

/* The directory as case c sees it: when an operator reassigned the AIO or
 * CIO of this case (cgenctl reassign), *view is a shallow copy of a->dir in
 * which the case's entity names that address (its delegates for that role
 * no longer count) and 1 is returned; the caller frees view->v only. 0 when
 * the case has no such change (view unused), -1 on a store error. */
static int case_dir_view(struct agent *a, const struct case_rec *c, struct directory *view,
		     struct entity *ent, char **aio, char **cio)
{
	*aio = *cio = NULL;
	if (!c || !c->entity)
		return 0;
	if (store_party_get(a->st, c->id, aio, cio) != STORE_OK)
		return -1;
	const struct entity *e = directory_by_code(&a->dir, c->entity);
	if ((!*aio && !*cio) || !e)
		return 0;
	view->n = a->dir.n;
	view->v = xmalloc(view->n * sizeof *view->v);
	memcpy(view->v, a->dir.v, view->n * sizeof *view->v);
	*ent = *e;
	if (*aio) {
		ent->aio = *aio;
		ent->aio_delegates = (struct strv){0};
	}
	if (*cio) {
		ent->cio = *cio;
		ent->cio_delegates = (struct strv){0};
	}
	view->v[e - a->dir.v] = *ent;
	return 1;
}

static int handle(struct agent *a, const char *raw, size_t len, const char *ref, time_t now,
		  int64_t stored_row);

static int open_cases(struct agent *a, struct case_rec **out, size_t *n);

/* The exemption that case c renews learns which request renews it (in the
 * caller's transaction). Returns 0, or -1 on a store error. */
static int link_renewal(struct agent *a, const struct case_rec *c, time_t now)
{
	case_cache_drop(a);
	struct case_rec old = {0};
	int r = store_case_get(a->st, c->renews, &old);
	if (r == STORE_NOTFOUND)
		return 0;
	int rc = r == STORE_OK ? 0 : -1;
	if (rc == 0 && !(old.renewed_by && strcmp(old.renewed_by, c->id) == 0)) {
		str_set(&old.renewed_by, c->id);
		char *d = xasprintf("renewal request %s opened by %s", c->id, c->requester);
		rc = store_case_put(a->st, &old) == STORE_OK &&
		     store_event_add(a->st, old.id, now, "renewal", "agent", d) == STORE_OK ? 0 : -1;
		free(d);
	}
	case_clear(&old);
	return rc;
}

int agent_handle_raw(struct agent *a, const char *raw, size_t len, const char *ref, time_t now)
{
	return handle(a, raw, len, ref, now, 0);
}

/* One mail; stored_row > 0: a mail already stored (its row), handled again
 * from the operator queue (no de-duplication, not stored twice). */
static int handle(struct agent *a, const char *raw, size_t len, const char *ref, time_t now,
		  int64_t stored_row)
{
	struct message m = {0};
	char *dedup = NULL, *visible = NULL;
	struct command cmd = {0};
	struct form form = {0};
	struct request_read found = {0};
	struct key_rec key = {0};
	struct case_rec c = {0}, renewed = {0};
	struct engine_out out = {0};
	struct strv full = {0}, approvers = {0};
	int have_key = 0, have_case = 0, have_renewed = 0, rc = -1;
	int64_t msg_row = 0;
	char *auth_why = NULL;
	/* every log line about this mail names it: reference, Message-ID, case */
	char *who = NULL;
	struct directory view = {0};
	struct entity vent;
	char *vaio = NULL, *vcio = NULL;

	if (message_parse(raw, len, &m) != 0) {
		rc = 1;
		goto out;
	}
	who = xasprintf("mail %s <%s>", ref, m.message_id ? m.message_id : "no Message-ID");
	dedup = message_dedup_id(&m, raw, len);
	int seen = stored_row ? STORE_NOTFOUND : store_message_seen(a->st, dedup);
	if (seen == STORE_ERR)
		goto out;
	if (seen == STORE_OK) {
		log_info("%s already handled (same Message-ID): skipped", who);
		rc = 0;
		goto out;
	}

	if (m.from_addr && str_has_controls(m.from_addr)) {
		/* Never answered nor acted on: recorded and queued with the reason. */
		if (!stored_row &&
		    store_message_add(a->st, dedup, ref, raw, len, "other", m.from_addr, m.subject, NULL, now,
				      &msg_row) != STORE_OK)
			goto out;
		if (stored_row)
			msg_row = stored_row;
		if (store_event_add(a->st, NULL, now, "bad_sender", m.from_addr,
				    "From: address holds control characters: not answered") != STORE_OK ||
		    store_queue_add(a->st, msg_row, now,
				    "the From: address holds control characters: never answered") != STORE_OK)
			goto out;
		log_warn("mail %s from %s: the address holds control characters; queued, not answered", ref,
			 m.from_addr);
		rc = 0;
		goto out;
	}

	visible = visible_text(m.text);
	command_read(&m, visible, &cmd);
	form_parse(visible, &form);

	enum role krole = ROLE_NONE;
	have_key = find_key(a, &m, &key, &krole);
	if (have_key < 0)
		goto out;
	char tag[24] = "";
	replykey_find_case_tag(m.subject, tag);
	if (m.kind == MSG_BOUNCE || m.kind == MSG_COMPLAINT) {
		/* A bounce names our mail by its Message-ID, which holds the key. */
		struct message fake = {0};
		for (size_t i = 0; i < m.bounce_ids.n; i++)
			strv_add(&fake.references, m.bounce_ids.v[i]);
		struct key_rec bk;
		enum role br;
		if (!have_key && find_key(a, &fake, &bk, &br) == 1) {
			key = bk;
			have_key = 1;
			krole = br;
		}
		strv_free(&fake.references);
	}
	const char *case_id = have_key ? key.case_id : (*tag ? tag : NULL);
	/* A key of one case on a mail about another: the engine refuses it. */
	if (have_key && *tag && strcmp(tag, key.case_id) != 0)
		case_id = tag;
	char argid[24];
	if (!case_id && cmd.word == CMD_STATUS && case_id_arg(cmd.argument, argid))
		case_id = argid;
	if (case_id) {
		int r = store_case_get(a->st, case_id, &c);
		if (r == STORE_ERR)
			goto out;
		have_case = r == STORE_OK;
		char *w = xasprintf("%s (case %s)", who, case_id);
		free(who);
		who = w;
	}

	/* A form that is not in the visible text: in a forwarded message, the
	 * agent's FORM mail filled in below a quoted header, an attached
	 * message or an attachment (a corrected form: attachments only). */
	if (m.kind == MSG_NORMAL && !form_is_request(&form) && cmd.word != CMD_HELP &&
	    cmd.word != CMD_FORM && cmd.word != CMD_AUDIT && cmd.word != CMD_STATUS &&
	    ((!have_key && !*tag) || (have_case && c.state == ST_INCOMPLETE))) {
		form_free(&form);
		request_read(raw, len, &m, visible, a->cfg->smtp.from_addr, !have_key && !*tag, &form,
			     &found);
	}
	char renews_id[24];
	if (form.renews && exemption_case_ref(form.renews, renews_id)) {
		/* The exemption a request says it renews: the engine checks it. */
		int r = store_case_get(a->st, renews_id, &renewed);
		if (r == STORE_ERR)
			goto out;
		have_renewed = r == STORE_OK;
	}

	int rate_limited = 0;
	if (m.from_addr && m.kind == MSG_NORMAL) {
		int count = 0;
		if (store_outbox_count_to(a->st, m.from_addr, now - 3600, &count) != STORE_OK)
			goto out;
		rate_limited = count >= a->cfg->rate_limit;
		if (rate_limited)
			log_warn("%s: rate limit: %s had %d mails from the agent in the last hour; no "
				 "answer", who, m.from_addr, count);
	}
	if (have_case && m.kind == MSG_NORMAL && !rate_limited) {
		struct event_rec *ev = NULL;
		size_t nev = 0;
		int count = 0;
		if (store_events(a->st, c.id, &ev, &nev) != STORE_OK)
			goto out;
		for (size_t i = 0; i < nev; i++)
			count += ev[i].at >= now - 3600 && strcmp(ev[i].kind, "mailed") == 0;
		store_events_free(ev, nev);
		rate_limited = count >= a->cfg->case_rate_limit;
		if (rate_limited)
			log_warn("%s: rate limit: case %s had %d mails in the last hour; no answer", who,
				 c.id, count);
	}
	if (a->cfg->require_auth_results && m.kind == MSG_NORMAL && m.from_addr &&
	    !trust_auth_results(m.auth_results, a->cfg->authserv_id, addr_domain(m.from_addr), &auth_why))
		log_warn("%s from %s: %s", who, m.from_addr, auth_why);
	char next_id[24];
	if (next_case_id(a, now, raw, len, next_id) != 0)
		goto out;
	/* The global limits of [security]: answers to mail that opened no case,
	 * and cases opened per entity, in the last hour. */
	int answers = 0;
	if (store_limit_count(a->st, "answer", "", now - 3600, &answers) != STORE_OK ||
	    store_limit_over(a->st, "case_open", now - 3600, a->cfg->case_open_limit, &full) != STORE_OK)
		goto out;
	if (have_case && c.state == ST_AWAITING_APPROVALS) {
		struct event_rec *ev = NULL;
		size_t nev = 0;
		if (store_events(a->st, c.id, &ev, &nev) != STORE_OK)
			goto out;
		for (size_t i = 0; i < nev; i++)
			if (strcmp(ev[i].kind, "approved") == 0 && !strv_contains_ci(&approvers, ev[i].actor))
				strv_add(&approvers, ev[i].actor);
		store_events_free(ev, nev);
	}

	/* HELP, and STATUS naming no stored case, list the sender's open cases. */
	struct case_rec *open = NULL;
	size_t n_open = 0;
	if (m.kind == MSG_NORMAL && (cmd.word == CMD_HELP || (cmd.word == CMD_STATUS && !have_case)) &&
	    open_cases(a, &open, &n_open) != 0)
		goto out;
	struct engine_env env = env_of(a, now);
	env.next_case_id = next_id;
	env.case_open_full = &full;
	int viewed = have_case ? case_dir_view(a, &c, &view, &vent, &vaio, &vcio) : 0;
	if (viewed < 0)
		goto out;
	if (viewed)
		env.dir = &view;
	struct engine_key ek = {0};
	if (have_key) {
		ek.case_id = key.case_id;
		ek.step = key.step;
		ek.role = krole;
		ek.addressee = key.addressee;
	}
	struct engine_in in = {
		.from = m.from_count == 1 ? m.from_addr : NULL,
		.from_name = m.from_name,
		.subject = m.subject,
		.message_id = m.message_id,
		.kind = m.kind,
		.kind_reason = m.kind_reason,
		.visible = visible,
		.cmd = &cmd,
		.form = &form,
		.key = have_key ? &ek : NULL,
		.tag_case = *tag ? tag : NULL,
		.n_att = (int)m.n_att,
		.own_address = is_own_address(a->cfg, m.from_addr),
		.rate_limited = rate_limited,
		.auth_failed = auth_why,
		.unreadable = m.unreadable,
		.answer_limited = answers >= a->cfg->answer_limit,
		.approvers = &approvers,
		.form_note = found.note,
		.forwarded = found.forwarded,
		.no_sender = m.no_sender,
		.open_cases = open,
		.n_open_cases = n_open,
		.renews = have_renewed ? &renewed : NULL,
	};
	engine_handle(&env, have_case ? &c : NULL, &in, &out);
	store_cases_free(open, n_open);
	if (in.answer_limited && out.queue_reason)
		log_warn("mail %s from %s: answer limit reached (%d answers in the last hour to mail "
			 "that opened no case); queued, not answered", ref, m.from_addr, answers);

	const char *cid = out.has_case ? out.c.id : NULL;
	if (stored_row) {
		msg_row = stored_row;
		if (cid && store_message_set_case(a->st, msg_row, cid) == STORE_ERR)
			goto out;
	} else if (store_message_add(a->st, dedup, ref, raw, len, out.mail_kind, m.from_addr, m.subject,
				     cid, now, &msg_row) != STORE_OK)
		goto out;
	if ((out.changed || out.created) && store_case_put(a->st, &out.c) != STORE_OK)
		goto out;
	if ((out.changed || out.created) && out.c.renews && link_renewal(a, &out.c, now) != 0)
		goto out;
	for (size_t i = 0; i < out.n_events; i++)
		if (store_event_add(a->st, cid, now, out.events[i].kind, out.events[i].actor,
				    out.events[i].detail) != STORE_OK)
			goto out;
	/* People by name: the display name of a sender our checks accepted. */
	if (m.kind == MSG_NORMAL && m.from_count == 1 && m.from_addr && m.from_name && !auth_why &&
	    !is_own_address(a->cfg, m.from_addr) &&
	    store_person_set(a->st, m.from_addr, m.from_name, now) != STORE_OK)
		goto out;
	/* Every version of a request: the mail that opened the case, each corrected form. */
	if (cid) {
		int version = out.created;
		for (size_t i = 0; i < out.n_events; i++)
			version |= strcmp(out.events[i].kind, "corrected") == 0;
		if (version && store_request_version_add(a->st, cid, msg_row, now) != STORE_OK)
			goto out;
	}
	for (size_t i = 0; i < out.n_mails; i++)
		if (queue_mail(a, out.has_case ? &out.c : NULL, &out.mails[i], &m, raw, len, now) != 0 ||
		    (out.mails[i].caseless && store_limit_add(a->st, "answer", "", now) != STORE_OK))
			goto out;
	if (out.created && out.c.entity &&
	    store_limit_add(a->st, "case_open", out.c.entity, now) != STORE_OK)
		goto out;
	if (out.queue_reason) {
		if (store_queue_add(a->st, msg_row, now, out.queue_reason) != STORE_OK)
			goto out;
		log_info("%s from %s put in the operator queue: %s", who,
			 m.from_addr ? m.from_addr : "(none)", out.queue_reason);
	}
	log_info("%s from %s: %s%s%s", who, m.from_addr ? m.from_addr : "(none)", out.mail_kind,
		 cid ? " on " : "", cid ? cid : "");
	rc = 0;
out:
	if (rc < 0)
		log_err("%s: store: %s", who ? who : ref, store_errmsg(a->st));
	free(who);
	free(view.v);
	free(vaio);
	free(vcio);
	engine_out_free(&out);
	case_clear(&c);
	strv_free(&full);
	strv_free(&approvers);
	case_clear(&renewed);
	if (have_key > 0)
		store_key_clear(&key);
	form_free(&form);
	request_read_free(&found);
	command_free(&cmd);
	free(auth_why);
	free(visible);
	free(dedup);
	message_free(&m);
	return rc;
}

/* Records a mail that cannot be handled (in the caller's transaction): its
 * exact bytes, an event and an operator queue entry; the source then moves it
 * to quarantine. Returns 0, or -1 on a store error. */
static int record_quarantined(struct agent *a, const char *raw, size_t len, const char *ref,
			      const char *from, const char *subject, const char *reason, time_t now)
{
	struct message none = {0};
	/* An entry with no bytes (not a file, unreadable) is known by its
	 * mailbox reference: every such entry gets its own record. */
	char *dedup = len ? message_dedup_id(&none, raw, len) : xasprintf("unreadable:%s", ref);
	int rc = -1;
	int64_t row;
	int seen = store_message_seen(a->st, dedup);
	if (seen == STORE_OK) {
		rc = 0;
		goto out;
	}
	if (seen == STORE_ERR ||
	    store_message_add(a->st, dedup, ref, raw, len, "quarantined", from, subject, NULL, now, &row) != STORE_OK ||
	    store_queue_add(a->st, row, now, reason) != STORE_OK)
		goto out;
	char *d = xasprintf("mail %s quarantined: %s", ref, reason);
	rc = store_event_add(a->st, NULL, now, "quarantined", "agent", d) == STORE_OK ? 0 : -1;
	free(d);
	log_warn("mail %s quarantined: %s", ref, reason);
out:
	free(dedup);
	return rc;
}

/* A mail over max_message_size: only its header was fetched. Its sender is
 * told (unless it is automatic mail) and it is quarantined. */
static int handle_oversize(struct agent *a, const struct source_msg *sm, time_t now)
{
	case_cache_drop(a);
	struct message m = {0};
	int rc = -1;
	char *reason = xasprintf("%zu bytes, over the limit of %lld bytes", sm->size,
				 a->cfg->mailbox.max_message_size);
	int parsed = message_parse(sm->data, sm->len, &m) == 0;
	if (record_quarantined(a, sm->data, sm->len, sm->ref, parsed ? m.from_addr : NULL,
			       parsed ? m.subject : NULL, reason, now) != 0)
		goto out;
	int answers = 0;
	if (store_limit_count(a->st, "answer", "", now - 3600, &answers) != STORE_OK)
		goto out;
	if (parsed && m.kind == MSG_NORMAL && m.from_count == 1 && m.from_addr &&
	    !is_own_address(a->cfg, m.from_addr) && answers >= a->cfg->answer_limit) {
		log_warn("mail %s from %s: answer limit reached; the too-large notice is not sent",
			 sm->ref, m.from_addr);
		rc = store_event_add(a->st, NULL, now, "answer_limited", m.from_addr,
				     "no too-large answer: the answer limit for mail that opened no "
				     "case is reached") == STORE_OK ? 0 : -1;
	} else if (parsed && m.kind == MSG_NORMAL && m.from_count == 1 && m.from_addr &&
	    !is_own_address(a->cfg, m.from_addr)) {
		struct engine_mail em = {0};
		em.tmpl = "too-large";
		em.to = m.from_addr;
		em.answer = 1;
		strv_add(&em.vars, "reason");
		strv_add(&em.vars, reason);
		strv_add(&em.vars, "subject");
		strv_add(&em.vars, m.subject ? m.subject : "");
		rc = queue_mail(a, NULL, &em, &m, NULL, 0, now);
		if (rc == 0 && store_limit_add(a->st, "answer", "", now) != STORE_OK)
			rc = -1;
		strv_free(&em.vars);
	} else
		rc = 0;
out:
	free(reason);
	message_free(&m);
	return rc;
}

#define PARSE_TIMEOUT 20 /* seconds one mail may take to parse */

/* The parse check: a child process parses the batch's mails in order, ahead
 * of the agent, and reports each one it finished. A mail that crashes or
 * hangs the parsers there (libetpan 1.9.4 may, on hostile input) is
 * quarantined; the agent itself only parses mails the child got through, so
 * one poisonous mail can neither stop the agent nor be retried for ever. The
 * child runs on the other core while the agent stores the mails before. */
struct checker {
	pid_t pid;
	int fd;
	size_t base;   /* first mail the child was given */
	size_t done;   /* mails from base it reported finished */
	int eof;       /* the child ended (or could not start) */
};

static void checker_start(struct checker *k, const struct source_msg *v, size_t from, size_t n)
{
	int fds[2];
	memset(k, 0, sizeof *k);
	k->base = from;
	k->fd = -1;
	k->pid = -1;
	if (from >= n || pipe(fds) != 0) {
		k->eof = 1;
		return;
	}
	fflush(NULL);
	k->pid = fork();
	if (k->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		k->eof = 1;
		return;
	}
	if (k->pid == 0) {
		close(fds[0]);
		const char *marker = getenv("CGEN_TEST_PARSER_ABORT");
		for (size_t i = from; i < n; i++) {
			if (!v[i].oversize && v[i].len) {
				alarm(PARSE_TIMEOUT);
				/* Test hook: a stand-in for a parser crash. */
				if (marker && *marker && memmem(v[i].data, v[i].len, marker, strlen(marker)))
					abort();
				struct message m = {0};
				if (message_parse(v[i].data, v[i].len, &m) == 0) {
					char *vis = visible_text(m.text);
					struct command cmd = {0};
					struct form f = {0};
					command_read(&m, vis, &cmd);
					form_parse(vis, &f);
					form_free(&f);
					command_free(&cmd);
					free(vis);
				}
				message_free(&m);
			}
			uint32_t idx = (uint32_t)i;
			if (write(fds[1], &idx, sizeof idx) != sizeof idx)
				_exit(3);
		}
		_exit(0);
	}
	close(fds[1]);
	k->fd = fds[0];
}

static void checker_end(struct checker *k)
{
	if (k->fd >= 0)
		close(k->fd);
	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	k->fd = -1;
	k->pid = -1;
}

/* 1 when mail i went through the parsers in the child; 0 when the child died
 * on it, with *why allocated (the caller restarts the check at i + 1); 1 too
 * when no check could be made (no fork), as the agent must go on. */
static int checker_ok(struct checker *k, size_t i, char **why)
{
	*why = NULL;
	while (!k->eof && k->base + k->done <= i) {
		uint32_t idx;
		ssize_t r = read(k->fd, &idx, sizeof idx);
		if (r == (ssize_t)sizeof idx)
			k->done = idx - k->base + 1;
		else if (r < 0 && errno == EINTR)
			continue;
		else
			k->eof = 1;
	}
	if (k->base + k->done > i || k->pid <= 0)
		return 1;
	/* The child ended before finishing mail i: how? */
	int status = 0;
	while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
		;
	k->pid = -1;
	if (WIFSIGNALED(status))
		*why = WTERMSIG(status) == SIGALRM
			? xasprintf("the parser took longer than %d s on it", PARSE_TIMEOUT)
			: xasprintf("the parser crashed on it (signal %d)", WTERMSIG(status));
	else
		*why = xasprintf("the parser failed on it (exit status %d)", WEXITSTATUS(status));
	return 0;
}

int agent_run_inbox(struct agent *a, time_t now, size_t *handled)
{
	*handled = 0;
	directory_free(&a->dir);
	if (store_directory_load(a->st, &a->dir) != STORE_OK) {
		log_err("store: %s", store_errmsg(a->st));
		return -1;
	}
	for (;;) {
		struct source_msg *msgs = NULL;
		size_t n = 0;
		char *err = NULL;
		if (a->src->fetch(a->src_state, a->batch, &msgs, &n, &err) != 0) {
			log_err("mailbox: %s", err);
			free(err);
			return -1;
		}
		if (n == 0) {
			source_msgs_free(msgs, n);
			return 0;
		}
		size_t n_done;
		/* Why each mail is quarantined (NULL: handled normally). */
		char **bad = xcalloc(n, sizeof *bad);
		struct checker k;
		checker_start(&k, msgs, 0, n);
		int rc = store_begin(a->st) == STORE_OK ? 0 : -1;
		if (rc == 0 && store_limit_prune(a->st, now - 2 * 3600) != STORE_OK)
			rc = -1;
		n_done = 0;
		/* SIGTERM: the mail in hand is finished, the rest stays unread. */
		for (size_t i = 0; i < n && rc == 0 && !(a->stop && *a->stop); i++, n_done = i) {
			if (msgs[i].why)
				bad[i] = xstrdup(msgs[i].why);
			else if (!msgs[i].oversize && msgs[i].len && !checker_ok(&k, i, &bad[i])) {
				checker_end(&k);
				checker_start(&k, msgs, i + 1, n);
			}
			if (bad[i])
				rc = record_quarantined(a, msgs[i].data, msgs[i].len, msgs[i].ref, NULL, NULL,
							bad[i], now);
			else if (msgs[i].oversize) {
				rc = handle_oversize(a, &msgs[i], now);
				bad[i] = xstrdup("too large");
			} else if (msgs[i].len == 0) {
				bad[i] = xstrdup("the mailbox could not deliver this mail");
				rc = record_quarantined(a, msgs[i].data, 0, msgs[i].ref, NULL, NULL, bad[i], now);
			} else {
				int r = agent_handle_raw(a, msgs[i].data, msgs[i].len, msgs[i].ref, now);
				if (r == 1) {
					bad[i] = xstrdup("not a mail: no header");
					r = record_quarantined(a, msgs[i].data, msgs[i].len, msgs[i].ref, NULL, NULL,
							       bad[i], now);
				}
				rc = r < 0 ? -1 : 0;
			}
		}
		checker_end(&k);
		char *perr = NULL;
		if (rc == 0 && a->src->position && a->src->position(a->src_state, a->st, &perr) != 0) {
			log_err("mailbox: %s", perr);
			free(perr);
			rc = -1;
		}
		/* A store deleted or replaced meanwhile would take the batch with it:
		 * nothing is marked done then. */
		if (rc == 0 && store_file_check(a->st) != STORE_OK)
			rc = -1;
		if (rc == 0 && store_commit(a->st) != STORE_OK) {
			rc = -1;
			a->store_down = store_error_transient(a->st);
		}
		if (rc != 0) {
			log_err("store: %s", store_errmsg(a->st));
			store_rollback(a->st);
		} else {
			/* Only after the durable commit is the mail marked on the source. */
			const char **refs = xcalloc(n, sizeof *refs);
			size_t nrefs = 0;
			for (size_t i = 0; i < n_done; i++) {
				int r = 0;
				if (bad[i])
					r = a->src->quarantine(a->src_state, msgs[i].ref, &err);
				else if (a->src->done_many)
					refs[nrefs++] = msgs[i].ref;
				else
					r = a->src->done(a->src_state, msgs[i].ref, &err);
				if (r != 0) {
					log_err("mailbox: %s", err);
					free(err);
					err = NULL;
				}
			}
			if (nrefs && a->src->done_many(a->src_state, refs, nrefs, &err) != 0) {
				log_err("mailbox: %s", err);
				free(err);
				err = NULL;
			}
			free(refs);
			*handled += n_done;
		}
		for (size_t i = 0; i < n; i++)
			free(bad[i]);
		free(bad);
		source_msgs_free(msgs, n);
		if (rc != 0)
			return -1;
		if (a->stop && *a->stop)
			return 0;
	}
}

/* What a sent mail's stored copy holds where its reply keys were: as long
 * as a key, and never one ([a-z2-7] only). */
#define REDACTED_KEY "removed-once-sent---------"

/* Records the outcome of one send (inside the caller's transaction). */
static int record_send(struct agent *a, const struct agent_result *o, time_t now)
{
	const char *err = o->error ? o->error : "";
	if (o->result < 0) /* handed to the sender but not tried: goes out next time */
		return store_outbox_sending_clear(a->st, o->id);
	if (o->result == SENDER_OK) {
		/* The mail has left: its stored copy keeps no usable reply key. */
		int rc = STORE_OK;
		for (size_t i = 1; i < o->keys.n && rc == STORE_OK; i++)
			rc = store_outbox_redact(a->st, o->id, o->keys.v[i], REDACTED_KEY);
		if (rc != STORE_OK)
			return rc;
		return o->keys.n ? store_outbox_sent_redact(a->st, o->id, now, o->keys.v[0], REDACTED_KEY)
				 : store_outbox_sent(a->st, o->id, now);
	}
	if (o->result == SENDER_TEMPFAIL) {
		int shift = o->attempts < 6 ? o->attempts : 6;
		time_t next = now + (time_t)60 * (1 << shift);
		log_warn("outbox %lld (case %s): %s; retry later", (long long)o->id,
			 o->case_id ? o->case_id : "none", err);
		return store_outbox_retry(a->st, o->id, next, err);
	}
	log_err("outbox %lld (case %s): %s; given up", (long long)o->id,
		o->case_id ? o->case_id : "none", err);
	if (store_outbox_failed(a->st, o->id, now, err) != STORE_OK)
		return STORE_ERR;
	char *d = xasprintf("outbox %lld to %s failed: %s", (long long)o->id,
			    o->rcpt ? o->rcpt : "?", err);
	int rc = store_event_add(a->st, o->case_id, now, "send_failed", "agent", d);
	free(d);
	return rc;
}

static void results_free(struct agent_result *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].error);
		free(v[i].case_id);
		free(v[i].rcpt);
		strv_free(&v[i].keys);
	}
	free(v);
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* The reply keys a mail carries that the store knows: 26 characters of
 * [a-z2-7] after '.' (its Message-ID "cgen.KEY."), '+' (a "cgen+KEY@"
 * address) or "Ref: ", appended once each to out. */
static int keys_in(struct agent *a, const char *data, size_t len, struct strv *out)
{
	for (size_t i = 0; i + 1 + REPLYKEY_LEN <= len; i++) {
		int lead = data[i] == '.' || data[i] == '+' ||
			   (data[i] == ' ' && i >= 4 && memcmp(data + i - 4, "Ref:", 4) == 0);
		const char *k = data + i + 1;
		if (!lead || (i + 1 + REPLYKEY_LEN < len && is_key_char(k[REPLYKEY_LEN])))
			continue;
		size_t n = 0;
		while (n < REPLYKEY_LEN && is_key_char(k[n]))
			n++;
		if (n < REPLYKEY_LEN)
			continue;
		char key[REPLYKEY_LEN + 1];
		memcpy(key, k, REPLYKEY_LEN);
		key[REPLYKEY_LEN] = '\0';
		if (strv_contains_ci(out, key))
			continue;
		struct key_rec kr;
		int r = store_key_get(a->st, key, &kr);
		if (r == STORE_ERR)
			return -1;
		if (r == STORE_OK) {
			store_key_clear(&kr);
			strv_add(out, key);
		}
	}
	return 0;
}

/* Commits results v (one transaction). On failure they are appended to
 * a->unrecorded (ownership taken either way): the mails stay marked as being
 * sent, so nothing is sent twice, and the results are committed later. */
static int commit_results(struct agent *a, struct agent_result *v, size_t n, time_t now)
{
	int rc = n ? store_begin(a->st) : STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = record_send(a, &v[i], now);
	if (n && rc == STORE_OK)
		rc = store_commit(a->st);
	if (rc == STORE_OK) {
		results_free(v, n);
		return 0;
	}
	log_err("store: %s; %zu send result(s) kept until the store can commit", store_errmsg(a->st), n);
	a->store_down = a->store_down || store_error_transient(a->st);
	store_rollback(a->st);
	a->unrecorded = xrealloc(a->unrecorded, (a->n_unrecorded + n + 1) * sizeof *a->unrecorded);
	memcpy(a->unrecorded + a->n_unrecorded, v, n * sizeof *v);
	a->n_unrecorded += n;
	free(v);
	return -1;
}

int agent_record_results(struct agent *a, time_t now)
{
	struct agent_result *v = a->unrecorded;
	size_t n = a->n_unrecorded;
	a->unrecorded = NULL;
	a->n_unrecorded = 0;
	return commit_results(a, v, n, now);
}

/* Mails loaded and sent per round (one commit of results each): their
 * copies are held in memory for the round, so it stays small. */
#define OUTBOX_ROUND 64

/* The send log (sendlog.h), opened on first use; -1 when it cannot be (said
 * once: after a crash the round's sends are in doubt, as without it). */
static int sendlog_fd(struct agent *a)
{
	if (!a->sendlog) {
		char *e = NULL;
		int fd = sendlog_open(a->cfg->store_path, &e);
		if (fd < 0) {
			if (!a->sendlog_warned)
				log_warn("send log %s; after a crash, mails being sent are sent again", e);
			a->sendlog_warned = 1;
			free(e);
			return -1;
		}
		a->sendlog = fd + 1;
	}
	return a->sendlog - 1;
}

int agent_flush_outbox(struct agent *a, time_t now, size_t *sent)
{
	*sent = 0;
	if (a->n_unrecorded && agent_record_results(a, now) != 0)
		return -1;
	a->send_failures = 0;
	free(a->send_error);
	a->send_error = NULL;
	for (;;) {
		struct outbox_rec *v = NULL;
		size_t n = 0;
		if (a->stop && *a->stop)
			return 0;
		if (store_outbox_due(a->st, now, OUTBOX_ROUND, &v, &n) != STORE_OK) {
			log_err("store: %s", store_errmsg(a->st));
			return -1;
		}
		if (n == 0) {
			store_outbox_free(v, n);
			return 0;
		}
		/* Before the first byte goes out, the batch is marked as being sent
		 * in its own small transaction: a result that cannot be committed
		 * later (disk full) or a crash never makes the mail go out again. */
		int64_t *ids = xcalloc(n, sizeof *ids);
		for (size_t i = 0; i < n; i++)
			ids[i] = v[i].id;
		int mark = store_outbox_sending(a->st, ids, n, now);
		int log = mark == STORE_OK ? sendlog_fd(a) : -1;
		if (log >= 0 && sendlog_round(log, now, ids, n) != 0)
			log = -1; /* a short log only leaves rows in doubt */
		free(ids);
		if (mark != STORE_OK) {
			log_err("store: %s; nothing sent", store_errmsg(a->st));
			a->store_down = store_error_transient(a->st);
			store_outbox_free(v, n);
			return -1;
		}
		struct agent_result *res = xcalloc(n, sizeof *res);
		size_t tried = 0, progress = 0, tempfails = 0;
		/* Three temporary failures in a row: the server is away; the rest
		 * waits for the next round instead of a timeout each. */
		for (; tried < n && tempfails < 3 && !(a->stop && *a->stop); tried++) {
			if (log >= 0 && sendlog_begin(log, v[tried].id) != 0)
				log = -1;
			res[tried].result = a->snd->send(a->snd_state, v[tried].id, v[tried].env_from,
							 &v[tried].rcpts, v[tried].data, v[tried].len,
							 &res[tried].error);
			if (log >= 0 && sendlog_done(log, v[tried].id, res[tried].result == SENDER_OK) != 0)
				log = -1;
			if (res[tried].result == SENDER_TEMPFAIL)
				tempfails++;
			else {
				tempfails = 0;
				progress++;
				*sent += res[tried].result == SENDER_OK;
			}
		}
		for (size_t i = 0; i < n; i++) {
			res[i].id = v[i].id;
			if (i >= tried)
				res[i].result = -1;
			else if (res[i].result == SENDER_OK && keys_in(a, v[i].data, v[i].len, &res[i].keys) != 0)
				log_err("store: %s; outbox %lld keeps its reply keys", store_errmsg(a->st),
					(long long)v[i].id);
			if (i < tried && res[i].result != SENDER_OK) {
				a->send_failures++;
				str_set(&a->send_error, res[i].error);
			}
			res[i].attempts = v[i].attempts;
			res[i].case_id = xstrdup(v[i].case_id);
			res[i].rcpt = xstrdup(v[i].rcpts.n ? v[i].rcpts.v[0] : NULL);
		}
		store_outbox_free(v, n);
		/* One commit for the whole round's results; the log has done its
		 * work then. */
		if (commit_results(a, res, n, now) != 0)
			return -1;
		if (a->sendlog)
			sendlog_clear(a->sendlog - 1);
		if (progress == 0 || tempfails >= 3)
			return 0; /* what failed for now is retried later */
	}
}

int agent_reconcile(struct agent *a, time_t now)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = -1;
	struct sendlog_view slog = {0};
	if (a->snd && a->snd->last_id) {
		int64_t last = a->snd->last_id(a->snd_state);
		if (last > 0 && store_outbox_id_floor(a->st, last) != STORE_OK)
			goto out;
	}
	if (store_outbox_in_doubt(a->st, &ids, &n) != STORE_OK)
		goto out;
	if (n == 0) {
		rc = 0;
		goto out;
	}
	char *le = NULL;
	if (sendlog_read(a->cfg->store_path, &slog, &le) != 0) {
		log_warn("send log %s; mails being sent at the last stop are sent again", le);
		free(le);
	}
	if (store_begin(a->st) != STORE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int sent = store_outbox_is_sent(a->st, ids[i]);
		if (sent < 0)
			goto rollback;
		/* 1 sent, 0 not sent, -1 cannot tell: the store, the backend, or
		 * the send log of the round it was marked in */
		int was = sent ? 1 : a->snd && a->snd->was_sent ? a->snd->was_sent(a->snd_state, ids[i], 0) : -1;
		const char *by = "";
		time_t started;
		if (was == -1 && store_outbox_sending_started(a->st, ids[i], &started) == STORE_OK) {
			enum sendlog_state ls = sendlog_state_of(&slog, ids[i], started);
			if (ls == SENDLOG_SENT || ls == SENDLOG_NOT_SENT) {
				was = ls == SENDLOG_SENT;
				by = " (send log)";
			}
		}
		int r;
		if (was == 1) {
			log_info("outbox %lld: sent before the last stop%s; recorded as sent", (long long)ids[i], by);
			r = sent ? store_outbox_sending_clear(a->st, ids[i]) : store_outbox_sent(a->st, ids[i], now);
		} else if (was == 0) {
			log_info("outbox %lld: not sent before the last stop%s; it goes out now", (long long)ids[i],
				 by);
			r = store_outbox_sending_clear(a->st, ids[i]);
		} else {
			log_warn("outbox %lld: the last stop came while it was being sent and the server "
				 "cannot tell whether it got it; sent again with the same Message-ID",
				 (long long)ids[i]);
			char *d = xasprintf("outbox %lld was being sent when the daemon stopped; sent again "
					    "(same Message-ID)", (long long)ids[i]);
			r = store_outbox_sending_clear(a->st, ids[i]);
			if (r == STORE_OK)
				r = store_event_add(a->st, NULL, now, "resent_in_doubt", "agent", d);
			free(d);
		}
		if (r != STORE_OK)
			goto rollback;
	}
	if (store_commit(a->st) != STORE_OK)
		goto fail;
	if (slog.have_round && sendlog_fd(a) >= 0)
		sendlog_clear(a->sendlog - 1);
	rc = 0;
	goto out;
rollback:
	store_rollback(a->st);
fail:
	a->store_down = store_error_transient(a->st);
out:
	if (rc != 0)
		log_err("outbox: store: %s", store_errmsg(a->st));
	sendlog_view_free(&slog);
	free(ids);
	return rc;
}

/* ---- the clock: reminders, overdue notices and digests ---- */

static struct engine_timing timing_of(const struct agent *a)
{
	struct engine_timing t = {
		.cal = &a->cal,
		.remind_after = a->cfg->workflow.remind_after,
		.max_reminders = a->cfg->workflow.max_reminders,
		.expiry_notice = a->cfg->workflow.expiry_notice,
		.n_expiry_notice = a->cfg->workflow.n_expiry_notice,
		.notice_hour = a->cfg->workflow.digest_hour,
		.notice_min = a->cfg->workflow.digest_min,
	};
	return t;
}


/* Appends the cases in state s, oldest first, to *out; -1 on a store error
 * (*out then freed and empty). */
static int append_state(struct agent *a, enum case_state s, struct case_rec **out, size_t *n)
{
	struct case_rec *v = NULL;
	size_t k = 0;
	if (store_case_list(a->st, case_state_name(s), &v, &k) != STORE_OK) {
		store_cases_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	*out = xrealloc(*out, (*n + k + 1) * sizeof **out);
	if (k)
		memcpy(*out + *n, v, k * sizeof *v);
	*n += k;
	free(v); /* the members moved to *out */
	return 0;
}

/* Every open case, oldest first within each state. */
static int open_cases(struct agent *a, struct case_rec **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (int s = 0; s < ST__COUNT; s++)
		if (case_state_open((enum case_state)s) && append_state(a, (enum case_state)s, out, n) != 0)
			return -1;
	return 0;
}

/* The latest end of an exemption whose notice or end can be due at now:
 * the earliest notice (the longest "days before") ahead, and two weeks of
 * slack, as a notice goes on the business day before when its day is not
 * one. The clock and the digest read the grants ending by then
 * (store_case_granted_due), not every grant of the store's history. */
static time_t granted_horizon(const struct agent *a, time_t now)
{
	/* the digest lists the grants ending within one of the notices, or
	 * 90 days without any (digest.c, ending_section) */
	int most = a->cfg->workflow.n_expiry_notice ? 0 : 90;
	for (size_t i = 0; i < a->cfg->workflow.n_expiry_notice; i++)
		if (a->cfg->workflow.expiry_notice[i] > most)
			most = a->cfg->workflow.expiry_notice[i];
	return now + (time_t)(most + 14) * 86400;
}

/* The clock for case c (inside the tick's transaction, begun on the first
 * change: *in_tx). 0, or -1 on a store error. */
static int tick_case(struct agent *a, struct case_rec *c, const struct engine_env *env,
		     const struct engine_timing *t, time_t now, int *in_tx, size_t *reminded)
{
	struct engine_out o;
	struct directory view = {0};
	struct entity vent;
	char *vaio = NULL, *vcio = NULL;
	struct engine_env cenv = *env;
	int viewed = case_dir_view(a, c, &view, &vent, &vaio, &vcio);
	if (viewed < 0)
		return -1;
	if (viewed)
		cenv.dir = &view;
	engine_tick(&cenv, c, t, &o);
	free(view.v);
	free(vaio);
	free(vcio);
	int ok = 1;
	if (o.changed) {
		if (!*in_tx) {
			ok = store_begin(a->st) == STORE_OK;
			*in_tx = ok;
		}
		ok = ok && store_case_put(a->st, &o.c) == STORE_OK;
		for (size_t k = 0; ok && k < o.n_events; k++)
			ok = store_event_add(a->st, o.c.id, now, o.events[k].kind, o.events[k].actor,
					     o.events[k].detail) == STORE_OK;
		for (size_t k = 0; ok && k < o.n_mails; k++)
			ok = queue_mail(a, &o.c, &o.mails[k], NULL, NULL, 0, now) == 0;
		if (ok) {
			(*reminded)++;
			log_info("case %s: %s", o.c.id,
				 o.c.state == ST_GRANTED ? (o.c.expiry_notice < 0 ? "exemption ended"
								       : "expiry notice sent")
				 : o.c.overdue ? "overdue, CDT told" : "reminder sent");
		}
	}
	engine_out_free(&o);
	return ok ? 0 : -1;
}

/* Open cases read per state a page at a time: a backlog of thousands is
 * never held in memory at once. */
#define TICK_PAGE 256

int agent_tick(struct agent *a, time_t now, size_t *reminded)
{
	case_cache_drop(a);
	struct case_rec *v = NULL;
	size_t n = 0;
	int rc = -1, in_tx = 0;
	*reminded = 0;
	directory_free(&a->dir);
	if (store_directory_load(a->st, &a->dir) != STORE_OK)
		goto out;
	struct engine_env env = env_of(a, now);
	struct engine_timing t = timing_of(a);
	/* Open cases get reminders, */
	for (int s = 0; s < ST__COUNT; s++) {
		if (!case_state_open((enum case_state)s))
			continue;
		time_t after = 0;
		char after_id[sizeof v->id] = "";
		do {
			if (store_case_page(a->st, case_state_name((enum case_state)s), after, after_id,
					    TICK_PAGE, &v, &n) != STORE_OK)
				goto out;
			for (size_t i = 0; i < n; i++)
				if (tick_case(a, &v[i], &env, &t, now, &in_tx, reminded) != 0)
					goto out;
			if (n) {
				after = v[n - 1].created;
				memcpy(after_id, v[n - 1].id, sizeof after_id);
			}
			store_cases_free(v, n);
			v = NULL;
		} while (n == TICK_PAGE);
		n = 0;
	}
	/* granted ones whose notices or end can be due their expiry notices. */
	if (store_case_granted_due(a->st, granted_horizon(a, now), &v, &n) != STORE_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (tick_case(a, &v[i], &env, &t, now, &in_tx, reminded) != 0)
			goto out;
	if (in_tx && store_commit(a->st) != STORE_OK)
		goto out;
	in_tx = 0;
	rc = 0;
out:
	if (rc != 0) {
		log_err("clock: store: %s", store_errmsg(a->st));
		if (in_tx)
			store_rollback(a->st);
		*reminded = 0;
	}
	store_cases_free(v, n);
	return rc;
}

int agent_digest_due(struct agent *a, time_t now)
{
	char day[11];
	time_t first = (time_t)-1;
	calendar_day_text(now, day);
	int sent = store_digest_get(a->st, day, NULL);
	int r = sent == STORE_ERR ? STORE_ERR : store_event_first_at(a->st, &first);
	if (r == STORE_ERR) {
		log_err("digest: store: %s", store_errmsg(a->st));
		return -1;
	}
	return calendar_digest_due(now, a->cfg->workflow.digest_hour, a->cfg->workflow.digest_min,
				   sent == STORE_OK ? day : NULL, r == STORE_OK ? first : (time_t)-1, day);
}

/* Builds the CDT digest at now into *m, with the chain head it publishes in
 * head, and in *checked (may be NULL) the length of the chain verified up to
 * head, -1 when it did not verify. Returns 0, or -1 on a store error. */
static int build_cdt_digest(struct agent *a, time_t now, struct digest_mail *m, char head[65],
			    int64_t *checked)
{
	struct case_rec *v = NULL;
	struct event_rec *ev = NULL;
	size_t n = 0, nev = 0;
	char *finding = NULL;
	int64_t count = 0;
	int rc = -1;
	int counts[ST__COUNT];
	int64_t cp_seq = 0;
	char cp_hash[65];
	struct engine_timing t = timing_of(a);
	directory_free(&a->dir);
	/* The cases the digest shows, not the store's history: the open ones,
	 * the grants whose end is near, and those the day's events name; the
	 * counts per state from the store. The chain is verified from the
	 * point the last digest verified (cgenctl verify reads it whole). */
	int cp = STORE_NOTFOUND;
	if (store_directory_load(a->st, &a->dir) != STORE_OK || open_cases(a, &v, &n) != 0 ||
	    store_case_counts(a->st, counts) != STORE_OK ||
	    store_events_since(a->st, now - 24 * 3600, &ev, &nev) != STORE_OK ||
	    (cp = store_checkpoint_get(a->st, &cp_seq, cp_hash)) == STORE_ERR ||
	    (cp == STORE_OK ? store_verify_from(a->st, cp_seq, cp_hash, &finding, head, &count)
			    : store_verify(a->st, &finding, head, &count)) == STORE_ERR)
		goto out;
	struct case_rec *g = NULL;
	size_t ng = 0;
	if (store_case_granted_due(a->st, granted_horizon(a, now), &g, &ng) != STORE_OK)
		goto out;
	v = xrealloc(v, (n + ng + nev + 1) * sizeof *v);
	for (size_t i = 0; i < ng; i++)
		v[n++] = g[i]; /* the members move to v */
	free(g);
	for (size_t i = 0; i < nev; i++) {
		int known = !ev[i].case_id;
		for (size_t k = 0; !known && k < n; k++)
			known = strcmp(v[k].id, ev[i].case_id) == 0;
		if (known)
			continue;
		int r = store_case_get(a->st, ev[i].case_id, &v[n]);
		if (r == STORE_ERR)
			goto out;
		n += r == STORE_OK;
	}
	struct engine_env env = env_of(a, now);
	struct digest_in in = {
		.env = &env,
		.timing = &t,
		.cases = v,
		.n_cases = n,
		.events = ev,
		.n_events = nev,
		.head = head,
		.chain_len = count,
		.chain_problem = finding,
		.state_counts = counts,
	};
	digest_cdt(&in, m);
	if (checked)
		*checked = finding ? -1 : count;
	rc = 0;
out:
	free(finding);
	store_events_free(ev, nev);
	store_cases_free(v, n);
	return rc;
}

/* Queues one digest mail to one address (in the caller's transaction). */
static int queue_digest(struct agent *a, const char *to, const struct digest_mail *dm,
			const char *day, time_t now)
{
	const struct conf *cfg = a->cfg;
	struct strv rcpts = {0};
	int64_t id, got;
	int rc = -1;
	if (store_outbox_next_id(a->st, &id) != STORE_OK)
		return -1;
	char *msgid = xasprintf("cgen.digest.%s.%lld@%s", day, (long long)id, addr_domain(cfg->smtp.from_addr));
	char *flowed = compose_flowed(dm->text);
	strv_add(&rcpts, to);
	struct outmail om = {
		.from = cfg->smtp.from,
		.to = &rcpts,
		.subject = dm->subject,
		.body = flowed,
		.html = dm->html,
		.flowed = 1,
		.message_id = msgid,
		.date = now,
	};
	size_t len;
	char *data = compose_message(&om, &len);
	if (store_outbox_add(a->st, NULL, cfg->smtp.from_addr, &rcpts, data, len, now, &got) == STORE_OK) {
		char *d = xasprintf("digest of %s to %s (outbox %lld)", day, to, (long long)got);
		rc = store_event_add(a->st, NULL, now, "mailed", "agent", d) == STORE_OK ? 0 : -1;
		free(d);
	}
	free(data);
	free(flowed);
	free(msgid);
	strv_free(&rcpts);
	return rc;
}

/* The reply key of (case, step, role, addressee), made known to the store. */
static int step_key(struct agent *a, const struct case_rec *c, enum role r, const char *to,
		    char key[REPLYKEY_LEN + 1])
{
	replykey_make(a->secrets.v[0], c->id, c->step, role_name(r), to, key);
	struct key_rec kr;
	int k = store_key_get(a->st, key, &kr);
	if (k == STORE_OK) {
		store_key_clear(&kr);
		return 0;
	}
	if (k == STORE_NOTFOUND &&
	    store_key_add(a->st, key, c->id, c->step, role_name(r), to) == STORE_OK)
		return 0;
	return -1;
}

struct approver {
	char *to;
	struct digest_item *items;
	char (*keys)[REPLYKEY_LEN + 1];
	size_t n;
};

static void approver_add(struct approver **v, size_t *n, const char *to, const struct case_rec *c,
			 enum role r)
{
	size_t i = 0;
	while (i < *n && !addr_equal((*v)[i].to, to))
		i++;
	if (i == *n) {
		*v = xrealloc(*v, (*n + 1) * sizeof **v);
		memset(&(*v)[i], 0, sizeof **v);
		(*v)[i].to = xstrdup(to);
		(*n)++;
	}
	struct approver *ap = &(*v)[i];
	ap->items = xrealloc(ap->items, (ap->n + 1) * sizeof *ap->items);
	ap->keys = xrealloc(ap->keys, (ap->n + 1) * sizeof *ap->keys);
	ap->items[ap->n].c = c;
	ap->items[ap->n].role = r;
	ap->n++;
}

/* One mail to each AIO, CIO and CTO that more than one case waits on. */
static int queue_approver_digests(struct agent *a, const struct case_rec *v, size_t n,
				  const char *day, time_t now, int *sent)
{
	struct approver *ap = NULL;
	size_t nap = 0;
	int rc = 0;
	*sent = 0;
	for (size_t i = 0; i < n; i++) {
		const struct case_rec *c = &v[i];
		unsigned w = case_waiting_on(c);
		const struct entity *e = c->entity ? directory_by_code(&a->dir, c->entity) : NULL;
		if (c->state == ST_AWAITING_APPROVALS && e) {
			/* as the approval requests went: one addressee for both roles */
			if ((w & (1u << ROLE_AIO)) && e->aio)
				approver_add(&ap, &nap, e->aio, c, ROLE_AIO);
			if ((w & (1u << ROLE_CIO)) && e->cio &&
			    !((w & (1u << ROLE_AIO)) && addr_equal(e->aio, e->cio)))
				approver_add(&ap, &nap, e->cio, c, ROLE_CIO);
		} else if (c->state == ST_CTO_DECISION)
			approver_add(&ap, &nap, a->cfg->workflow.cto, c, ROLE_CTO);
	}
	struct engine_env env = env_of(a, now);
	for (size_t i = 0; i < nap && rc == 0; i++) {
		if (ap[i].n < 2)
			continue;
		for (size_t k = 0; k < ap[i].n && rc == 0; k++) {
			rc = step_key(a, ap[i].items[k].c, ap[i].items[k].role, ap[i].to, ap[i].keys[k]);
			ap[i].items[k].key = ap[i].keys[k];
		}
		if (rc != 0)
			break;
		struct digest_approver_in in = {
			.env = &env,
			.to = ap[i].to,
			.items = ap[i].items,
			.n = ap[i].n,
			.agent_addr = a->cfg->smtp.from_addr,
			.reply_plain = a->cfg->workflow.reply_plain,
		};
		struct digest_mail dm = {0};
		digest_approver(&in, &dm);
		rc = queue_digest(a, ap[i].to, &dm, day, now);
		*sent += rc == 0;
		digest_mail_free(&dm);
	}
	for (size_t i = 0; i < nap; i++) {
		free(ap[i].to);
		free(ap[i].items);
		free(ap[i].keys);
	}
	free(ap);
	return rc;
}

int agent_digest(struct agent *a, time_t now, int print_only, struct buf *out)
{
	struct digest_mail dm = {0};
	struct case_rec *v = NULL;
	size_t n = 0;
	char day[11];
	int rc = -1, in_tx = 0;
	char head[65] = "";
	int64_t checked = -1;
	calendar_day_text(now, day);
	if (build_cdt_digest(a, now, &dm, head, &checked) != 0)
		goto out;
	if (print_only) {
		if (out)
			buf_adds(out, dm.text);
		rc = 0;
		goto out;
	}
	if (store_begin(a->st) != STORE_OK)
		goto out;
	in_tx = 1;
	int r = store_digest_get(a->st, day, NULL);
	if (r == STORE_ERR)
		goto out;
	if (r == STORE_OK) {
		store_rollback(a->st);
		in_tx = 0;
		if (out)
			buf_addf(out, "the digest of %s was already sent\n", day);
		rc = 1;
		goto out;
	}
	const struct strv *cdt = &a->cfg->workflow.cdt;
	for (size_t i = 0; i < cdt->n; i++)
		if (queue_digest(a, cdt->v[i], &dm, day, now) != 0)
			goto out;
	int approvers = 0;
	if (a->cfg->workflow.approver_digest &&
	    (open_cases(a, &v, &n) != 0 || queue_approver_digests(a, v, n, day, now, &approvers) != 0))
		goto out;
	char *d = xasprintf("digest of %s to %zu CDT address(es) and %d approver(s); published chain "
			    "head %s", day, cdt->n, approvers, head);
	int ok = store_digest_add(a->st, day, now) == STORE_OK &&
		 store_event_add(a->st, NULL, now, "digest", "agent", d) == STORE_OK &&
		 (checked <= 0 || store_checkpoint_set(a->st, checked, head, now) == STORE_OK);
	free(d);
	if (!ok || store_commit(a->st) != STORE_OK)
		goto out;
	in_tx = 0;
	log_info("digest of %s queued for %zu CDT address(es) and %d approver(s)", day, cdt->n, approvers);
	if (out)
		buf_addf(out, "digest of %s queued for %zu CDT address(es) and %d approver(s)\n", day,
			 cdt->n, approvers);
	rc = 0;
out:
	if (rc < 0) {
		log_err("digest: store: %s", store_errmsg(a->st));
		if (in_tx)
			store_rollback(a->st);
	}
	store_cases_free(v, n);
	digest_mail_free(&dm);
	return rc;
}

int agent_reprocess(struct agent *a, int64_t queue_id, time_t now, char **err)
{
	int64_t row;
	char *raw = NULL;
	size_t len = 0;
	*err = NULL;
	directory_free(&a->dir);
	if (store_directory_load(a->st, &a->dir) != STORE_OK || store_begin(a->st) != STORE_OK)
		goto store_err;
	int r = store_queue_get(a->st, queue_id, &row);
	if (r == STORE_NOTFOUND) {
		store_rollback(a->st);
		*err = xasprintf("no open queue entry %lld", (long long)queue_id);
		return 1;
	}
	if (r != STORE_OK || store_message_raw(a->st, row, &raw, &len) != STORE_OK)
		goto store_err;
	char ref[32];
	snprintf(ref, sizeof ref, "queue-%lld", (long long)queue_id);
	r = handle(a, raw, len, ref, now, row);
	free(raw);
	if (r == 1) {
		store_rollback(a->st);
		*err = xstrdup("the queued bytes are not a mail; nothing to reprocess");
		return 1;
	}
	if (r != 0 || store_queue_resolve(a->st, queue_id) != STORE_OK)
		goto store_err;
	char *d = xasprintf("queue entry %lld reprocessed", (long long)queue_id);
	r = store_event_add(a->st, NULL, now, "reprocessed", "operator", d);
	free(d);
	if (r != STORE_OK || store_commit(a->st) != STORE_OK)
		goto store_err;
	return 0;
store_err:
	*err = xasprintf("store: %s", store_errmsg(a->st));
	store_rollback(a->st);
	return -1;
}

/* ---- an operator's work (cgenctl) ---- */

/* The state case_id was in before it entered closed state (from its "state"
 * events: the last "X -> CLOSED"), or ST_RECEIVED when not found. */
static int state_before_close(struct agent *a, const struct case_rec *c, enum case_state *out)
{
	struct event_rec *ev = NULL;
	size_t n = 0;
	*out = ST_RECEIVED;
	if (store_events(a->st, c->id, &ev, &n) != STORE_OK)
		return -1;
	const char *closed = case_state_name(c->state);
	for (size_t i = n; i-- > 0;) {
		if (strcmp(ev[i].kind, "state") != 0)
			continue;
		const char *arrow = strstr(ev[i].detail, " -> ");
		if (!arrow || strcmp(arrow + 4, closed) != 0)
			continue;
		char *from = xstrndup(ev[i].detail, (size_t)(arrow - ev[i].detail));
		enum case_state s;
		if (case_state_parse(from, &s) == 0)
			*out = s;
		free(from);
		break;
	}
	store_events_free(ev, n);
	return 0;
}

/* Stores what engine_operator (or the engine) produced for a case, in the
 * caller's transaction. 0 or -1. */
static int store_out(struct agent *a, struct engine_out *o, time_t now)
{
	case_cache_drop(a);
	if (o->changed && store_case_put(a->st, &o->c) != STORE_OK)
		return -1;
	for (size_t i = 0; i < o->n_events; i++)
		if (store_event_add(a->st, o->c.id, now, o->events[i].kind, o->events[i].actor,
				    o->events[i].detail) != STORE_OK)
			return -1;
	for (size_t i = 0; i < o->n_mails; i++)
		if (queue_mail(a, &o->c, &o->mails[i], NULL, NULL, 0, now) != 0)
			return -1;
	return 0;
}

/* Opens a transaction (*in_tx = 1) and reads case_id into *c: 0; 1 when
 * there is no such case (*err says so); -1 on a store error. */
static int begin_on_case(struct agent *a, const char *case_id, struct case_rec *c, int *in_tx,
			 char **err)
{
	if (store_begin(a->st) != STORE_OK)
		return -1;
	*in_tx = 1;
	int r = store_case_get(a->st, case_id, c);
	if (r == STORE_NOTFOUND) {
		*err = xasprintf("no case %s", case_id);
		return 1;
	}
	return r == STORE_OK ? 0 : -1;
}

int agent_operator(struct agent *a, const char *case_id, struct engine_op_in *in, time_t now,
		   char **err)
{
	struct case_rec c = {0};
	struct engine_out o = {0};
	struct directory view = {0};
	struct entity vent;
	char *vaio = NULL, *vcio = NULL, *old = NULL;
	int rc = -1, in_tx = 0;
	*err = NULL;
	directory_free(&a->dir);
	if (store_directory_load(a->st, &a->dir) != STORE_OK)
		goto out;
	int r = begin_on_case(a, case_id, &c, &in_tx, err);
	if (r != 0) {
		rc = r;
		goto out;
	}
	if (in->op == OP_REOPEN && in->state == ST_RECEIVED) {
		if (state_before_close(a, &c, &in->state) != 0)
			goto out;
		if (in->state == ST_RECEIVED) {
			*err = xasprintf("%s was never in a state it can reopen in: name one with --state",
					 case_id);
			rc = 1;
			goto out;
		}
	}
	if (in->op == OP_REASSIGN && (in->role == ROLE_AIO || in->role == ROLE_CIO)) {
		const struct entity *e = c.entity ? directory_by_code(&a->dir, c.entity) : NULL;
		if (!e) {
			*err = xasprintf("%s has no entity of the directory: its AIO and CIO cannot be "
					 "reassigned", case_id);
			rc = 1;
			goto out;
		}
		if (case_dir_view(a, &c, &view, &vent, &vaio, &vcio) < 0)
			goto out;
		old = xstrdup(in->role == ROLE_AIO ? (vaio ? vaio : e->aio) : (vcio ? vcio : e->cio));
		if (addr_equal(old, in->addr)) {
			*err = xasprintf("%s is already the %s of %s", in->addr, role_name(in->role), case_id);
			rc = 1;
			goto out;
		}
		if (case_state_open(c.state) && store_party_set(a->st, case_id, role_name(in->role), in->addr) != STORE_OK)
			goto out;
		free(view.v);
		free(vaio);
		free(vcio);
		view.v = NULL;
		vaio = vcio = NULL;
	} else if (in->op == OP_REASSIGN) {
		old = xstrdup(c.requester);
	}
	in->old_addr = old;
	struct engine_env env = env_of(a, now);
	int viewed = case_dir_view(a, &c, &view, &vent, &vaio, &vcio);
	if (viewed < 0)
		goto out;
	if (viewed)
		env.dir = &view;
	char *why = NULL;
	if (engine_operator(&env, &c, in, &o, &why) != 0) {
		*err = why;
		rc = 1;
		goto out;
	}
	if (store_out(a, &o, now) != 0 || store_commit(a->st) != STORE_OK)
		goto out;
	in_tx = 0;
	log_info("case %s: %s by operator %s", case_id, o.n_events ? o.events[0].kind : "change", in->by);
	rc = 0;
out:
	if (rc < 0 && !*err)
		*err = xasprintf("store: %s", store_errmsg(a->st));
	if (in_tx)
		store_rollback(a->st);
	in->old_addr = NULL;
	free(old);
	free(view.v);
	free(vaio);
	free(vcio);
	engine_out_free(&o);
	case_clear(&c);
	return rc;
}

/* The reply key that outbox row id (sent, its copy's keys redacted) carried:
 * keys are made from (case, step, role, addressee), so the one the store
 * knows for the row's recipient is found again, latest step first. Writes
 * it into the copy new_id. 0 (also when no key is found: the mail had none),
 * -1 on a store error. */
static int rekey_copy(struct agent *a, const struct case_rec *c, int64_t id, int64_t new_id)
{
	char *to = NULL;
	if (store_outbox_rcpt(a->st, id, &to) != STORE_OK)
		return -1;
	int rc = 0;
	for (int step = c->step; to && step >= 0; step--) {
		for (int r = ROLE_REQUESTER; r < ROLE__COUNT; r++) {
			char key[REPLYKEY_LEN + 1];
			struct key_rec kr;
			replykey_make(a->secrets.v[0], c->id, step, role_name((enum role)r), to, key);
			int k = store_key_get(a->st, key, &kr);
			if (k == STORE_ERR)
				rc = -1;
			if (k != STORE_OK)
				continue;
			store_key_clear(&kr);
			rc = store_outbox_redact(a->st, new_id, REDACTED_KEY, key) == STORE_OK ? 0 : -1;
			goto done;
		}
	}
done:
	free(to);
	return rc;
}

int agent_resend(struct agent *a, const char *case_id, const char *addr, const char *by,
		 const char *reason, time_t now, size_t *count, char **err)
{
	struct case_rec c = {0};
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = -1, in_tx = 0;
	struct strv made = {0};
	*count = 0;
	*err = NULL;
	int r = begin_on_case(a, case_id, &c, &in_tx, err);
	if (r != 0) {
		rc = r;
		goto out;
	}
	if (store_outbox_latest(a->st, case_id, addr, &ids, &n) != STORE_OK)
		goto out;
	if (n == 0) {
		*err = xasprintf("case %s has no mail%s%s to resend", case_id, addr ? " to " : "",
				 addr ? addr : "");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t nid;
		if (store_outbox_copy(a->st, ids[i], now, &nid) != STORE_OK)
			goto out;
		/* A sent mail's copy lost its reply keys: the copy carries again
		 * the key of its addressee at the latest step that has one. */
		int sent = store_outbox_is_sent(a->st, ids[i]);
		if (sent < 0 || (sent == 1 && rekey_copy(a, &c, ids[i], nid) != 0))
			goto out;
		strv_addf(&made, "outbox %lld as %lld", (long long)ids[i], (long long)nid);
	}
	char *list = strv_join(&made, ", ");
	char *actor = xasprintf("operator:%s", by);
	char *d = xasprintf("resent by %s (%s): %s", by, reason, list);
	r = store_event_add(a->st, case_id, now, "resent", actor, d);
	free(d);
	free(actor);
	free(list);
	if (r != STORE_OK || store_commit(a->st) != STORE_OK)
		goto out;
	in_tx = 0;
	*count = n;
	rc = 0;
out:
	if (rc < 0 && !*err)
		*err = xasprintf("store: %s", store_errmsg(a->st));
	if (in_tx)
		store_rollback(a->st);
	strv_free(&made);
	free(ids);
	case_clear(&c);
	return rc;
}

int agent_outbox_drop(struct agent *a, int64_t id, const char *by, const char *reason, time_t now,
		      char **err)
{
	char *case_id = NULL;
	*err = NULL;
	if (store_begin(a->st) != STORE_OK)
		goto store_err;
	char *who = xasprintf("operator:%s", by);
	int r = store_outbox_drop(a->st, id, now, by, reason, &case_id);
	if (r == STORE_NOTFOUND) {
		free(who);
		store_rollback(a->st);
		*err = xasprintf("no outbox mail %lld waiting or failed (it was sent or dropped, or "
				 "never existed)", (long long)id);
		return 1;
	}
	char *d = xasprintf("outbox %lld dropped by %s: %s", (long long)id, by, reason);
	if (r == STORE_OK)
		r = store_event_add(a->st, case_id, now, "outbox_dropped", who, d);
	free(d);
	free(who);
	free(case_id);
	if (r != STORE_OK || store_commit(a->st) != STORE_OK)
		goto store_err;
	log_info("outbox %lld dropped by operator %s: %s", (long long)id, by, reason);
	return 0;
store_err:
	*err = xasprintf("store: %s", store_errmsg(a->st));
	store_rollback(a->st);
	return -1;
}

int agent_expire_outbox(struct agent *a, time_t now, size_t *expired)
{
	struct outbox_item *v = NULL;
	size_t n = 0;
	long long life = a->cfg->smtp.max_queue_lifetime;
	*expired = 0;
	if (life <= 0)
		return 0;
	if (store_begin(a->st) != STORE_OK)
		goto fail;
	if (store_outbox_expire(a->st, now - (time_t)life, now, &v, &n) != STORE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		char *to = strv_join(&v[i].rcpts, ", ");
		char *d = xasprintf("outbox %lld to %s expired: not sent within %lld hours after %d "
				    "attempt(s)%s%s", (long long)v[i].id, to, life / 3600, v[i].attempts,
				    v[i].error ? "; last error: " : "", v[i].error ? v[i].error : "");
		int r = store_event_add(a->st, v[i].case_id, now, "send_expired", "agent", d);
		log_warn("outbox %lld (case %s) to %s expired after %lld hours: %s", (long long)v[i].id,
			 v[i].case_id ? v[i].case_id : "none", to, life / 3600,
			 v[i].error ? v[i].error : "never tried");
		free(d);
		free(to);
		if (r != STORE_OK)
			goto fail;
	}
	if (store_commit(a->st) != STORE_OK)
		goto fail;
	*expired = n;
	store_outbox_items_free(v, n);
	return 0;
fail:
	log_err("outbox expiry: store: %s", store_errmsg(a->st));
	store_rollback(a->st);
	store_outbox_items_free(v, n);
	return -1;
}
