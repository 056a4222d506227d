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
#include "message.h"
#include "replykey.h"
#include "trust.h"
#include "visible.h"

const char *const agent_templates[] = {
	"ack", "approval-request", "approval-recorded", "audit", "cdt-review", "cto-review",
	"decision", "help", "incomplete", "info-answer", "info-request", "not-accepted",
	"not-required", "note-recorded", "notice", "overdue", "refused", "rejected", "reminder",
	"request-form", "status", "too-large", "unclear", "unreadable", "withdrawn",
	"alternative-proposed", "alternative-copy", "alternative-accepted", "alternative-declined",
	"extension-request", "extension-decision", "expiry-notice", NULL,
};

int agent_open(struct agent *a, const struct conf *cfg, int mail, char **err)
{
	memset(a, 0, sizeof *a);
	a->cfg = cfg;
	a->batch = 200;
	struct strv errs = {0};
	char *e = NULL;
	if (store_open(cfg->store_path, &a->st, &e) != STORE_OK) {
		*err = xasprintf("store %s: %s", cfg->store_path, e ? e : "cannot open");
		free(e);
		goto fail;
	}
	if (templates_load(cfg->templates_dir, agent_templates, &a->tpl, &errs) != 0) {
		char *j = strv_join(&errs, "\n");
		*err = xasprintf("templates: %s", j);
		free(j);
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
		if (a->src->open(cfg, a->st, &a->src_state, &e) != 0) {
			a->src = NULL;
			*err = e;
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
	return -1;
}

void agent_close(struct agent *a)
{
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

/* Renders one engine mail and queues it in the outbox (inside the caller's
 * transaction). Returns 0, or -1 on a store error. A template error is logged
 * and recorded on the case; it never blocks the mail that caused it. */
static int queue_mail(struct agent *a, const struct case_rec *c, const struct engine_mail *m,
		      const struct message *in, time_t now)
{
	const struct conf *cfg = a->cfg;
	const char *dom = addr_domain(cfg->smtp.from_addr);
	char key[REPLYKEY_LEN + 1] = "";
	char *subject = NULL, *body = NULL, *err = NULL, *reply_to = NULL, *msgid = NULL;
	char *data = NULL, *attach_name = NULL;
	struct buf attach = {0};
	int rc = -1;
	struct strv vars = {0};
	struct strv rcpts = {0};

	for (size_t i = 0; i + 1 < m->vars.n; i += 2)
		add_var(&vars, m->vars.v[i], m->vars.v[i + 1]);
	if (m->keyed && c) {
		replykey_make(a->secrets.v[0], c->id, c->step, role_name(m->role), m->to, key);
		/* store_key_add replaces: a key issued again (reminders) is one row. */
		if (store_key_add(a->st, key, c->id, c->step, role_name(m->role), m->to) != STORE_OK)
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
	if (templates_render(a->tpl, m->tmpl, &vars, &subject, &body, &err) != 0) {
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
	if (*key) {
		char *b = xasprintf("%s\n\n-- \nPlease reply above this line and keep this reference in "
				    "your reply.\nRef: %s\n", body, key);
		free(body);
		body = b;
	}
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
		.body = body,
		.message_id = msgid,
		.in_reply_to = irt,
		.references = irt,
		.date = now,
		.auto_replied = m->answer,
		.attach_name = attach_name,
		.attach_type = attach_name ? "text/csv" : NULL,
		.attach_data = attach.s,
		.attach_len = attach.len,
	};
	size_t len;
	data = compose_message(&om, &len);
	int64_t got;
	if (store_outbox_add(a->st, c ? c->id : NULL, cfg->smtp.from_addr, &rcpts, data, len, now, &got) != STORE_OK)
		goto out;
	char *detail = xasprintf("%s to %s (%s, outbox %lld)", m->tmpl, m->to,
				 m->role ? role_name(m->role) : "sender", (long long)got);
	rc = store_event_add(a->st, c ? c->id : NULL, now, "mailed", "agent", detail) == STORE_OK ? 0 : -1;
	free(detail);
out:
	buf_free(&attach);
	free(attach_name);
	free(subject);
	free(body);
	free(err);
	free(reply_to);
	free(msgid);
	free(data);
	strv_free(&vars);
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
	};
	return env;
}

static int handle(struct agent *a, const char *raw, size_t len, const char *ref, time_t now,
		  int64_t stored_row);

/* The exemption that case c renews learns which request renews it (in the
 * caller's transaction). Returns 0, or -1 on a store error. */
static int link_renewal(struct agent *a, const struct case_rec *c, time_t now)
{
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
	struct key_rec key = {0};
	struct case_rec c = {0}, renewed = {0};
	struct engine_out out = {0};
	int have_key = 0, have_case = 0, have_renewed = 0, rc = -1;
	int64_t msg_row = 0;
	char *auth_why = NULL;

	if (message_parse(raw, len, &m) != 0) {
		rc = 1;
		goto out;
	}
	dedup = message_dedup_id(&m, raw, len);
	int seen = stored_row ? STORE_NOTFOUND : store_message_seen(a->st, dedup);
	if (seen == STORE_ERR)
		goto out;
	if (seen == STORE_OK) {
		log_info("mail %s already handled (same Message-ID): skipped", ref);
		rc = 0;
		goto out;
	}

	visible = visible_text(m.text);
	command_parse(visible, &cmd);
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
			log_warn("rate limit: %s had %d mails from the agent in the last hour; no answer",
				 m.from_addr, count);
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
			log_warn("rate limit: case %s had %d mails in the last hour; no answer", c.id, count);
	}
	if (a->cfg->require_auth_results && m.kind == MSG_NORMAL && m.from_addr &&
	    !trust_auth_results(m.auth_results, a->cfg->authserv_id, addr_domain(m.from_addr), &auth_why))
		log_warn("mail %s from %s: %s", ref, m.from_addr, auth_why);
	char next_id[24];
	if (store_case_next_id(a->st, year_of(now), next_id) != STORE_OK)
		goto out;

	struct engine_env env = env_of(a, now);
	env.next_case_id = next_id;
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
		.renews = have_renewed ? &renewed : NULL,
	};
	engine_handle(&env, have_case ? &c : NULL, &in, &out);

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
	for (size_t i = 0; i < out.n_mails; i++)
		if (queue_mail(a, out.has_case ? &out.c : NULL, &out.mails[i], &m, now) != 0)
			goto out;
	if (out.queue_reason) {
		if (store_queue_add(a->st, msg_row, now, out.queue_reason) != STORE_OK)
			goto out;
		log_info("mail %s from %s put in the operator queue: %s", ref,
			 m.from_addr ? m.from_addr : "(none)", out.queue_reason);
	}
	log_info("mail %s from %s: %s%s%s", ref, m.from_addr ? m.from_addr : "(none)", out.mail_kind,
		 cid ? " on " : "", cid ? cid : "");
	rc = 0;
out:
	if (rc < 0)
		log_err("mail %s: store: %s", ref, store_errmsg(a->st));
	engine_out_free(&out);
	case_clear(&c);
	case_clear(&renewed);
	if (have_key > 0)
		store_key_clear(&key);
	form_free(&form);
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
	char *dedup = message_dedup_id(&none, raw, len);
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
	struct message m = {0};
	int rc = -1;
	char *reason = xasprintf("%zu bytes, over the limit of %lld bytes", sm->size,
				 a->cfg->mailbox.max_message_size);
	int parsed = message_parse(sm->data, sm->len, &m) == 0;
	if (record_quarantined(a, sm->data, sm->len, sm->ref, parsed ? m.from_addr : NULL,
			       parsed ? m.subject : NULL, reason, now) != 0)
		goto out;
	if (parsed && m.kind == MSG_NORMAL && m.from_count == 1 && m.from_addr &&
	    !is_own_address(a->cfg, m.from_addr)) {
		struct engine_mail em = {0};
		em.tmpl = "too-large";
		em.to = m.from_addr;
		em.answer = 1;
		strv_add(&em.vars, "reason");
		strv_add(&em.vars, reason);
		strv_add(&em.vars, "subject");
		strv_add(&em.vars, m.subject ? m.subject : "");
		rc = queue_mail(a, NULL, &em, &m, now);
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
					command_parse(vis, &cmd);
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
		/* Why each mail is quarantined (NULL: handled normally). */
		char **bad = xcalloc(n, sizeof *bad);
		struct checker k;
		checker_start(&k, msgs, 0, n);
		int rc = store_begin(a->st) == STORE_OK ? 0 : -1;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (!msgs[i].oversize && msgs[i].len && !checker_ok(&k, i, &bad[i])) {
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
		if (rc == 0 && store_commit(a->st) != STORE_OK)
			rc = -1;
		if (rc != 0) {
			log_err("store: %s", store_errmsg(a->st));
			store_rollback(a->st);
		} else {
			/* Only after the durable commit is the mail marked on the source. */
			const char **refs = xcalloc(n, sizeof *refs);
			size_t nrefs = 0;
			for (size_t i = 0; i < n; i++) {
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
			*handled += n;
		}
		for (size_t i = 0; i < n; i++)
			free(bad[i]);
		free(bad);
		source_msgs_free(msgs, n);
		if (rc != 0)
			return -1;
	}
}

/* Records the outcome of one send (inside the caller's transaction). */
static int record_send(struct agent *a, const struct outbox_rec *o, int r, const char *err, time_t now)
{
	if (r == SENDER_OK)
		return store_outbox_sent(a->st, o->id, now);
	if (r == SENDER_TEMPFAIL) {
		int shift = o->attempts < 6 ? o->attempts : 6;
		time_t next = now + (time_t)60 * (1 << shift);
		log_warn("outbox %lld: %s; retry later", (long long)o->id, err);
		return store_outbox_retry(a->st, o->id, next, err);
	}
	log_err("outbox %lld: %s; given up", (long long)o->id, err);
	if (store_outbox_failed(a->st, o->id, now, err) != STORE_OK)
		return STORE_ERR;
	char *d = xasprintf("outbox %lld to %s failed: %s", (long long)o->id,
			    o->rcpts.n ? o->rcpts.v[0] : "?", err);
	int rc = store_event_add(a->st, o->case_id, now, "send_failed", "agent", d);
	free(d);
	return rc;
}

int agent_flush_outbox(struct agent *a, time_t now, size_t *sent)
{
	*sent = 0;
	for (;;) {
		struct outbox_rec *v = NULL;
		size_t n = 0;
		if (store_outbox_due(a->st, now, 200, &v, &n) != STORE_OK) {
			log_err("store: %s", store_errmsg(a->st));
			return -1;
		}
		if (n == 0) {
			store_outbox_free(v, n);
			return 0;
		}
		int *res = xcalloc(n, sizeof *res);
		char **errs = xcalloc(n, sizeof *errs);
		size_t tried = 0, progress = 0, tempfails = 0;
		/* Three temporary failures in a row: the server is away; the rest
		 * waits for the next round instead of a timeout each. */
		for (; tried < n && tempfails < 3; tried++) {
			res[tried] = a->snd->send(a->snd_state, v[tried].id, v[tried].env_from, &v[tried].rcpts,
						  v[tried].data, v[tried].len, &errs[tried]);
			if (res[tried] == SENDER_TEMPFAIL)
				tempfails++;
			else {
				tempfails = 0;
				progress++;
				*sent += res[tried] == SENDER_OK;
			}
		}
		/* One commit for the whole round. A crash before it sends these
		 * mails once more, with the same Message-ID. */
		int rc = store_begin(a->st);
		for (size_t i = 0; i < tried && rc == STORE_OK; i++)
			rc = record_send(a, &v[i], res[i], errs[i], now);
		if (rc == STORE_OK)
			rc = store_commit(a->st);
		if (rc != STORE_OK) {
			log_err("store: %s", store_errmsg(a->st));
			store_rollback(a->st);
		}
		for (size_t i = 0; i < n; i++)
			free(errs[i]);
		free(errs);
		free(res);
		store_outbox_free(v, n);
		if (rc != STORE_OK)
			return -1;
		if (progress == 0 || tempfails >= 3)
			return 0; /* what failed for now is retried later */
	}
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

int agent_tick(struct agent *a, time_t now, size_t *reminded)
{
	struct case_rec *v = NULL;
	size_t n = 0;
	int rc = -1, in_tx = 0;
	*reminded = 0;
	directory_free(&a->dir);
	/* Open cases get reminders; granted ones their expiry notices. */
	if (store_directory_load(a->st, &a->dir) != STORE_OK || open_cases(a, &v, &n) != 0 ||
	    append_state(a, ST_GRANTED, &v, &n) != 0)
		goto out;
	struct engine_env env = env_of(a, now);
	struct engine_timing t = timing_of(a);
	for (size_t i = 0; i < n; i++) {
		struct engine_out o;
		engine_tick(&env, &v[i], &t, &o);
		int ok = 1;
		if (o.changed) {
			if (!in_tx) {
				ok = store_begin(a->st) == STORE_OK;
				in_tx = ok;
			}
			ok = ok && store_case_put(a->st, &o.c) == STORE_OK;
			for (size_t k = 0; ok && k < o.n_events; k++)
				ok = store_event_add(a->st, o.c.id, now, o.events[k].kind, o.events[k].actor,
						     o.events[k].detail) == STORE_OK;
			for (size_t k = 0; ok && k < o.n_mails; k++)
				ok = queue_mail(a, &o.c, &o.mails[k], NULL, now) == 0;
			if (ok) {
				(*reminded)++;
				log_info("case %s: %s", o.c.id,
					 o.c.state == ST_GRANTED ? (o.c.expiry_notice < 0 ? "exemption ended"
									       : "expiry notice sent")
					 : o.c.overdue ? "overdue, CDT told" : "reminder sent");
			}
		}
		engine_out_free(&o);
		if (!ok)
			goto out;
	}
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
 * head. Returns 0, or -1 on a store error. */
static int build_cdt_digest(struct agent *a, time_t now, struct digest_mail *m, char head[65])
{
	struct case_rec *v = NULL;
	struct event_rec *ev = NULL;
	size_t n = 0, nev = 0;
	char *finding = NULL;
	int64_t count = 0;
	int rc = -1;
	directory_free(&a->dir);
	if (store_directory_load(a->st, &a->dir) != STORE_OK ||
	    store_case_list(a->st, NULL, &v, &n) != STORE_OK ||
	    store_events_since(a->st, now - 24 * 3600, &ev, &nev) != STORE_OK ||
	    store_verify(a->st, &finding, head, &count) == STORE_ERR)
		goto out;
	struct engine_env env = env_of(a, now);
	struct engine_timing t = timing_of(a);
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
	};
	digest_cdt(&in, m);
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
	strv_add(&rcpts, to);
	struct outmail om = {
		.from = cfg->smtp.from,
		.to = &rcpts,
		.subject = dm->subject,
		.body = dm->text,
		.html = dm->html,
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
	calendar_day_text(now, day);
	if (build_cdt_digest(a, now, &dm, head) != 0)
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
		 store_event_add(a->st, NULL, now, "digest", "agent", d) == STORE_OK;
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
