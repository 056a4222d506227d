/* engine.c: see engine.h. Every transition and refusal of DESIGN.md section 3. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "exemption.h"

#define R(x) (1u << (x))

/* ---- building the output ---- */

static void ev(struct engine_out *o, const char *kind, const char *actor, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void ev(struct engine_out *o, const char *kind, const char *actor, const char *fmt, ...)
{
	o->events = xrealloc(o->events, (o->n_events + 1) * sizeof *o->events);
	struct engine_event *e = &o->events[o->n_events++];
	e->kind = xstrdup(kind);
	e->actor = xstrdup(actor ? actor : "");
	va_list ap;
	va_start(ap, fmt);
	e->detail = xvasprintf(fmt, ap);
	va_end(ap);
}

static void var(struct engine_mail *m, const char *name, const char *value)
{
	strv_add(&m->vars, name);
	strv_add(&m->vars, value ? value : "");
}

static struct engine_mail *mail(struct engine_out *o, const char *tmpl, const char *to,
				enum role role, int keyed, int answer)
{
	o->mails = xrealloc(o->mails, (o->n_mails + 1) * sizeof *o->mails);
	struct engine_mail *m = &o->mails[o->n_mails++];
	memset(m, 0, sizeof *m);
	m->tmpl = xstrdup(tmpl);
	m->to = xstrdup(to);
	m->role = role;
	m->keyed = keyed;
	m->answer = answer;
	return m;
}

static const char *state_text(enum case_state s)
{
	switch (s) {
	case ST_RECEIVED: return "received";
	case ST_INCOMPLETE: return "incomplete: waiting for a corrected form from the requester";
	case ST_NOT_REQUIRED: return "closed: the entity is not required to use CGEN";
	case ST_AWAITING_APPROVALS: return "waiting for the AIO and CIO approvals";
	case ST_CDT_REVIEW: return "under review at CDT";
	case ST_AWAITING_INFO: return "waiting for information from the requester";
	case ST_CTO_DECISION: return "with the CDT Chief Technology Officer for decision";
	case ST_GRANTED: return "granted";
	case ST_DENIED: return "denied";
	case ST_REJECTED: return "rejected by the entity's approvers";
	case ST_WITHDRAWN: return "withdrawn by the requester";
	case ST_ALTERNATIVE_PROPOSED: return "waiting for the requester's answer to CDT's proposed CGEN alternative";
	case ST_ALTERNATIVE_ACCEPTED: return "closed: the requester accepted CDT's CGEN alternative";
	default: return "unknown";
	}
}

static const struct entity *case_entity(const struct engine_env *env, const struct case_rec *c)
{
	return c->entity ? directory_by_code(env->dir, c->entity) : NULL;
}

static char *waiting_text(const struct engine_env *env, const struct case_rec *c)
{
	unsigned w = case_waiting_on(c);
	const struct entity *e = case_entity(env, c);
	struct strv l = {0};
	if (w & R(ROLE_REQUESTER))
		strv_addf(&l, "the requester (%s)", c->requester);
	if ((w & R(ROLE_AIO)) && (w & R(ROLE_CIO)) && e && addr_equal(e->aio, e->cio))
		strv_addf(&l, "the AIO and CIO (%s)", e->aio);
	else {
		if (w & R(ROLE_AIO))
			strv_addf(&l, "the AIO (%s)", e && e->aio ? e->aio : "?");
		if (w & R(ROLE_CIO))
			strv_addf(&l, "the CIO (%s)", e && e->cio ? e->cio : "?");
	}
	if (w & R(ROLE_CDT))
		strv_add(&l, "CDT");
	if (w & R(ROLE_CTO))
		strv_add(&l, "the CDT Chief Technology Officer");
	char *s = l.n ? strv_join(&l, " and ") : xstrdup("nobody (the case is closed)");
	strv_free(&l);
	return s;
}

static char *approvals_text(const struct case_rec *c)
{
	return xasprintf("AIO: %s; CIO: %s", approval_name(c->aio), approval_name(c->cio));
}

/* "YYYY-MM-DD" of the end of granted case c, or "not known". */
static void end_text(const struct case_rec *c, char out[32])
{
	long end = exemption_end_day(c);
	if (end >= 0)
		calendar_day_number_text(end, out);
	else
		snprintf(out, 32, "not known");
}

/* The exemption's life in every mail about a case: the conditions and end of
 * a grant, CDT's alternative, the exemption a request renews. */
static void life_vars(struct engine_mail *m, const struct case_rec *c)
{
	char ends[32];
	end_text(c, ends);
	var(m, "conditions", c->state == ST_GRANTED && c->decision && *c->decision ? c->decision : "none");
	var(m, "ends", ends);
	var(m, "alternative", c->alternative ? c->alternative : "");
	char *r = c->renews ? xasprintf("This request renews an exemption: %s.\n\n",
					c->renews_text ? c->renews_text : c->renews)
			    : xstrdup("");
	var(m, "renewal", r);
	free(r);
}

/* Variables every mail about a case carries. */
static void case_vars(const struct engine_env *env, struct engine_mail *m, const struct case_rec *c)
{
	const struct entity *e = case_entity(env, c);
	char *tag = xasprintf("[%s]", c->id);
	char *wait = waiting_text(env, c);
	char *appr = approvals_text(c);
	var(m, "case_id", c->id);
	var(m, "case_tag", tag);
	var(m, "state", case_state_name(c->state));
	var(m, "state_text", state_text(c->state));
	var(m, "entity", c->entity ? c->entity : "");
	var(m, "entity_name", e ? e->name : (c->entity ? c->entity : "unknown entity"));
	var(m, "requester", c->requester);
	var(m, "summary", c->summary ? c->summary : "");
	var(m, "request_subject", c->subject ? c->subject : "");
	var(m, "waiting_on", wait);
	var(m, "approvals", appr);
	free(tag);
	free(wait);
	free(appr);
	life_vars(m, c);
}

static struct engine_mail *case_mail(const struct engine_env *env, struct engine_out *o,
				     const char *tmpl, const char *to, enum role role, int keyed,
				     int answer)
{
	struct engine_mail *m = mail(o, tmpl, to, role, keyed, answer);
	case_vars(env, m, &o->c);
	return m;
}

static void set_state(const struct engine_env *env, struct engine_out *o, enum case_state s,
		      const char *actor)
{
	ev(o, "state", actor, "%s -> %s", case_state_name(o->c.state), case_state_name(s));
	o->c.state = s;
	o->c.state_since = env->now;
	o->c.updated = env->now;
	o->c.reminders = 0;
	o->c.overdue = 0;
	o->changed = 1;
	if (case_state_open(s) && s != ST_RECEIVED)
		o->c.step++;
}

/* ---- who may do what ---- */

unsigned engine_roles_of(const struct engine_env *env, const struct case_rec *c, const char *addr)
{
	unsigned r = 0;
	if (!addr)
		return 0;
	if (c && addr_equal(addr, c->requester))
		r |= R(ROLE_REQUESTER);
	const struct entity *e = c ? case_entity(env, c) : NULL;
	if (e && entity_is_aio(e, addr))
		r |= R(ROLE_AIO);
	if (e && entity_is_cio(e, addr))
		r |= R(ROLE_CIO);
	if (strv_contains_ci(env->cdt, addr))
		r |= R(ROLE_CDT);
	if (addr_equal(addr, env->cto))
		r |= R(ROLE_CTO);
	return r;
}

/* Who may send what, when: the one table (engine.h). */
#define S(x) (1u << (x))
#define OPEN_STATES (S(ST_INCOMPLETE) | S(ST_AWAITING_APPROVALS) | S(ST_CDT_REVIEW) | \
		     S(ST_AWAITING_INFO) | S(ST_CTO_DECISION) | S(ST_ALTERNATIVE_PROPOSED))
static const struct engine_command commands[] = {
	{R(ROLE_AIO) | R(ROLE_CIO), S(ST_AWAITING_APPROVALS), ENGINE_WHEN_STATE, CMD_APPROVE,
	 "APPROVE [comment]", "to approve the request"},
	{R(ROLE_AIO) | R(ROLE_CIO), S(ST_AWAITING_APPROVALS), ENGINE_WHEN_STATE, CMD_REJECT,
	 "REJECT reason", "to reject it"},
	{R(ROLE_CDT), S(ST_CDT_REVIEW), ENGINE_WHEN_STATE, CMD_INFO,
	 "INFO question", "to ask the requester for more information"},
	{R(ROLE_CDT), S(ST_CDT_REVIEW), ENGINE_WHEN_STATE, CMD_RECOMMEND,
	 "RECOMMEND APPROVE rationale", "to send a recommendation to the CTO"},
	{R(ROLE_CDT), S(ST_CDT_REVIEW), ENGINE_WHEN_STATE, CMD_RECOMMEND,
	 "RECOMMEND DENY rationale", ""},
	{R(ROLE_CDT), S(ST_CDT_REVIEW), ENGINE_WHEN_STATE, CMD_PROPOSE,
	 "PROPOSE alternative", "to propose a CGEN alternative to the requester"},
	{R(ROLE_CDT), OPEN_STATES, ENGINE_WHEN_STATE, CMD_NOTE,
	 "NOTE text", "to add an internal note"},
	{R(ROLE_CTO), S(ST_CTO_DECISION), ENGINE_WHEN_STATE, CMD_APPROVE,
	 "APPROVE [conditions]", "to grant the exemption"},
	{R(ROLE_CTO), S(ST_CTO_DECISION), ENGINE_WHEN_STATE, CMD_DENY,
	 "DENY reason", "to deny it"},
	{R(ROLE_REQUESTER), S(ST_ALTERNATIVE_PROPOSED), ENGINE_WHEN_STATE, CMD_ACCEPT,
	 "ACCEPT [comment]", "to take CDT's alternative (the request then closes)"},
	{R(ROLE_REQUESTER), S(ST_ALTERNATIVE_PROPOSED), ENGINE_WHEN_STATE, CMD_DECLINE,
	 "DECLINE reason", "to decline it (CDT reviews the request again)"},
	{R(ROLE_REQUESTER), S(ST_AWAITING_INFO), ENGINE_WHEN_STATE, CMD_NONE,
	 "your answer to CDT's question", "above the quoted text"},
	{R(ROLE_REQUESTER), S(ST_INCOMPLETE), ENGINE_WHEN_STATE, CMD_NONE,
	 "the corrected form", "all fields, not only the corrected ones"},
	{R(ROLE_REQUESTER), OPEN_STATES, ENGINE_WHEN_STATE, CMD_WITHDRAW,
	 "WITHDRAW", "to withdraw the request"},
	{R(ROLE_REQUESTER) | R(ROLE_CDT), S(ST_GRANTED), ENGINE_WHEN_NO_EXTENSION, CMD_EXTEND,
	 "EXTEND length reason", "to ask for an extension of the exemption (CDT approves it)"},
	{R(ROLE_CDT), S(ST_GRANTED), ENGINE_WHEN_EXTENSION, CMD_APPROVE,
	 "APPROVE [comment]", "to approve the extension asked"},
	{R(ROLE_CDT), S(ST_GRANTED), ENGINE_WHEN_EXTENSION, CMD_DENY,
	 "DENY reason", "to refuse it"},
};

static int command_applies(const struct engine_command *k, const struct case_rec *c, enum role r)
{
	if (!c || !(k->roles & R(r)) || !(k->states & S(c->state)))
		return 0;
	switch (k->when) {
	case ENGINE_WHEN_NO_EXTENSION:
		return c->ext_months == 0 && c->expiry_notice >= 0;
	case ENGINE_WHEN_EXTENSION:
		return c->ext_months > 0;
	default:
		return 1;
	}
}

size_t engine_commands(const struct case_rec *c, enum role r, const struct engine_command **out,
		       size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(commands) && n < max; i++)
		if (command_applies(&commands[i], c, r))
			out[n++] = &commands[i];
	return n;
}

/* What a sender holding roles may send for case c, as one readable line. */
static char *allowed_text(const struct case_rec *c, unsigned roles)
{
	struct strv l = {0};
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		for (int r = ROLE_REQUESTER; r < ROLE__COUNT; r++)
			if ((roles & R(r)) && command_applies(&commands[i], c, (enum role)r) &&
			    !strv_contains_ci(&l, commands[i].usage)) {
				strv_add(&l, commands[i].usage);
				break;
			}
	if (roles)
		strv_add(&l, "STATUS");
	strv_add(&l, "HELP");
	strv_add(&l, "FORM");
	char *s = strv_join(&l, ", ");
	strv_free(&l);
	return s;
}

/* The commands of role r on case c, one a line ("  USAGE   hint"), for the
 * mails that ask r to act. Allocated. */
static char *commands_text(const struct case_rec *c, enum role r)
{
	const struct engine_command *v[ARRAY_LEN(commands)];
	size_t n = engine_commands(c, r, v, ARRAY_LEN(v)), width = 0;
	struct buf b = {0};
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]->usage) > width)
			width = strlen(v[i]->usage);
	for (size_t i = 0; i < n; i++) {
		if (*v[i]->hint)
			buf_addf(&b, "%s  %-*s   %s", i ? "\n" : "", (int)width, v[i]->usage, v[i]->hint);
		else
			buf_addf(&b, "%s  %s", i ? "\n" : "", v[i]->usage);
	}
	return buf_steal(&b);
}

/* A short answer that refuses or asks again; never to automatic mail, and not
 * past the rate limit. */
static void answer_refusal(const struct engine_env *env, struct engine_out *o,
			   const struct engine_in *in, const char *tmpl, const struct case_rec *c,
			   unsigned roles, const char *reason)
{
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no %s reply to %s: rate limit reached", tmpl, in->from);
		return;
	}
	char *allowed = allowed_text(c, roles);
	struct engine_mail *m = c ? case_mail(env, o, tmpl, in->from, ROLE_NONE, 0, 1)
				  : mail(o, tmpl, in->from, ROLE_NONE, 0, 1);
	var(m, "reason", reason);
	var(m, "allowed", allowed);
	var(m, "subject", in->subject);
	free(allowed);
}

static void refuse(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
		   const struct case_rec *c, unsigned roles, const char *reason)
{
	const char *word = in->cmd ? command_name(in->cmd->word) : NULL;
	ev(o, "refused", in->from, "%s%s%s", word ? word : "mail", ": ", reason);
	answer_refusal(env, o, in, "refused", c, roles, reason);
}

/* ---- intake: a new request, or a corrected form ---- */

/* The entity a request names, or NULL with *why allocated. *by_domain is set
 * when the entity was taken from the sender's domain. */
static const struct entity *resolve_entity(const struct engine_env *env, const struct form *f,
					   const char *from, int *by_domain, char **why)
{
	const char *dom = addr_domain(from);
	const struct entity *e = f->entity ? directory_find(env->dir, f->entity) : NULL;
	*by_domain = 0;
	*why = NULL;
	if (!e) {
		const struct entity *first = NULL;
		if (directory_by_domain(env->dir, dom, &first) == 1) {
			e = first;
			*by_domain = 1;
		}
	}
	if (!e) {
		if (f->entity)
			*why = xasprintf("The entity \"%s\" is not in CDT's entity directory, and your "
					 "address's domain (%s) does not identify one entity.",
					 f->entity, dom);
		else
			*why = xasprintf("The request does not name its entity, and your address's "
					 "domain (%s) does not identify one entity.", dom);
		return NULL;
	}
	if (!entity_has_domain(e, dom)) {
		char *doms = strv_join(&e->domains, ", ");
		*why = xasprintf("Your address (%s) is not in the mail domains of %s (%s): a request "
				 "must come from the entity's own staff.", from, e->name, doms);
		free(doms);
		return NULL;
	}
	return e;
}

static void send_approval_requests(const struct engine_env *env, struct engine_out *o,
				   const struct entity *e)
{
	if (addr_equal(e->aio, e->cio)) {
		struct engine_mail *m = case_mail(env, o, "approval-request", e->aio, ROLE_AIO, 1, 0);
		var(m, "role_text", "AIO and CIO");
	} else {
		struct engine_mail *m = case_mail(env, o, "approval-request", e->aio, ROLE_AIO, 1, 0);
		var(m, "role_text", "AIO");
		m = case_mail(env, o, "approval-request", e->cio, ROLE_CIO, 1, 0);
		var(m, "role_text", "CIO");
	}
}

/* Links case c to the granted exemption old that its request renews (named
 * by the form's Renews: field, or by the subject tag of the old case); when
 * it cannot, *why gets the reason (allocated) and c is left as it was.
 * Nothing to do when f names no renewal and old is NULL. */
static void renewal_link(struct case_rec *c, const struct form *f, const struct entity *e,
			 const struct case_rec *old, char **why)
{
	char ref[24];
	*why = NULL;
	if (!f->renews && !old)
		return;
	if (f->renews && !exemption_case_ref(f->renews, ref)) {
		*why = xstrdup("Renews must name the case id of the exemption this request renews, "
			       "e.g. CGEN-2025-0012.");
		return;
	}
	if (!old)
		*why = xasprintf("The exemption this request renews, %s, is not in CDT's record: check "
				 "the case id.", ref);
	else if (old->state != ST_GRANTED || strcmp(old->id, c->id) == 0)
		*why = xasprintf("The exemption this request renews, %s, is not a granted exemption (it "
				 "is %s).", old->id, case_state_name(old->state));
	else if (e && (!old->entity || strcasecmp(old->entity, e->code) != 0))
		*why = xasprintf("The exemption this request renews, %s, belongs to another entity (%s).",
				 old->id, old->entity ? old->entity : "unknown");
	else {
		str_set(&c->renews, old->id);
		free(c->renews_text);
		c->renews_text = exemption_summary(old);
	}
}

/* Checks form f sent by in->from for case o->c (new or incomplete) and moves
 * the case on; old is the exemption the request renews, found by the caller
 * (NULL: none, or the one its Renews: field names). Returns 0, or -1 when the
 * entity check failed (no case for a new request; the reason is answered and
 * queued). */
static int check_request(const struct engine_env *env, struct engine_out *o,
			 const struct engine_in *in, const struct form *f, int is_new,
			 const struct case_rec *old)
{
	int by_domain;
	char *why;
	const struct entity *e = resolve_entity(env, f, in->from, &by_domain, &why);
	if (!e) {
		if (is_new) {
			ev(o, "not_accepted", in->from, "%s", why);
			if (!in->rate_limited) {
				struct engine_mail *m = mail(o, "not-accepted", in->from, ROLE_NONE, 0, 1);
				var(m, "reason", why);
				var(m, "subject", in->subject);
			}
			o->queue_reason = xasprintf("request not accepted: %s", why);
			free(why);
			return -1;
		}
		/* A corrected form whose entity no longer checks stays incomplete. */
	}

	/* Problems of the form, less "Entity is missing" when the domain named it. */
	struct form tmp = *f;
	struct form_problem *kept = xcalloc(f->n_problems + 2, sizeof *kept);
	size_t k = 0;
	for (size_t i = 0; i < f->n_problems; i++)
		if (!(e && strcmp(f->problems[i].field, FORM_F_ENTITY) == 0))
			kept[k++] = f->problems[i];
	char *extra_msg = why;
	if (extra_msg) {
		kept[k].field = (char *)FORM_F_ENTITY;
		kept[k].message = extra_msg;
		k++;
	}
	struct case_rec *c = &o->c;
	char *renew_msg;
	renewal_link(c, f, e, old, &renew_msg);
	if (renew_msg) {
		kept[k].field = (char *)FORM_F_RENEWS;
		kept[k].message = renew_msg;
		k++;
	}
	tmp.problems = kept;
	tmp.n_problems = k;

	str_set(&c->fields_json, NULL);
	c->fields_json = form_fields_json(&tmp);
	free(c->problems_json);
	c->problems_json = form_problems_json(&tmp);
	free(c->summary);
	c->summary = form_summary_text(&tmp);
	if (e)
		str_set(&c->entity, e->code);
	c->term_months = exemption_months(f->contract_term, NULL, NULL);
	c->updated = env->now;
	o->changed = 1;
	char *problems = k ? form_problems_text(&tmp) : NULL;
	if (c->renews && !renew_msg && (f->renews || old))
		ev(o, "renews", in->from, "renews %s", c->renews_text ? c->renews_text : c->renews);
	free(kept);
	free(extra_msg);
	free(renew_msg);

	char *entity_note = by_domain && e
		? xasprintf("The request did not name a known entity; it was taken as %s (%s) from "
			    "your address's domain.\n", e->name, e->code)
		: xstrdup("");
	if (by_domain)
		ev(o, "entity_from_domain", in->from, "entity %s taken from the sender's domain", e->code);

	if (e && e->exempt) {
		set_state(env, o, ST_NOT_REQUIRED, "agent");
		struct engine_mail *m = case_mail(env, o, "not-required", c->requester, ROLE_REQUESTER, 0, 1);
		var(m, "exempt_basis", e->exempt);
		var(m, "entity_note", entity_note);
	} else if (problems) {
		ev(o, "problems", "agent", "%s", problems);
		if (c->state != ST_INCOMPLETE)
			set_state(env, o, ST_INCOMPLETE, "agent");
		struct engine_mail *m = case_mail(env, o, "incomplete", c->requester, ROLE_REQUESTER, 1, 1);
		var(m, "problems", problems);
		var(m, "entity_note", entity_note);
	} else {
		c->aio = c->cio = AP_PENDING;
		set_state(env, o, ST_AWAITING_APPROVALS, "agent");
		struct engine_mail *m = case_mail(env, o, "ack", c->requester, ROLE_REQUESTER, 1, 1);
		var(m, "entity_note", entity_note);
		send_approval_requests(env, o, e);
	}
	free(entity_note);
	free(problems);
	return 0;
}

static void new_request(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
			const struct case_rec *old)
{
	o->mail_kind = "request";
	struct case_rec *c = &o->c;
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", env->next_case_id);
	c->state = ST_RECEIVED;
	c->requester = xstrdup(in->from);
	c->subject = xstrdup(in->subject);
	c->request_msgid = xstrdup(in->message_id);
	c->created = c->updated = c->state_since = env->now;
	ev(o, "received", in->from, "request \"%s\"%s", in->subject ? in->subject : "",
	   in->n_att ? " with attachments" : "");
	if (check_request(env, o, in, in->form, 1, old) < 0) {
		/* No case: nothing of it is stored but the mail and the queue entry. */
		case_clear(c);
		for (size_t i = 0; i < o->n_events; i++)
			if (strcmp(o->events[i].kind, "received") == 0)
				str_set(&o->events[i].kind, "request_not_accepted");
		return;
	}
	o->has_case = 1;
	o->created = 1;
}

/* ---- commands on a case ---- */

static void notify_all(const struct engine_env *env, struct engine_out *o, const char *tmpl,
		       unsigned roles, const char *name, const char *value)
{
	const struct entity *e = case_entity(env, &o->c);
	struct strv sent = {0};
	struct { enum role r; const char *addr; } who[8];
	size_t n = 0;
	if (roles & R(ROLE_REQUESTER))
		who[n].r = ROLE_REQUESTER, who[n++].addr = o->c.requester;
	if ((roles & R(ROLE_AIO)) && e && e->aio)
		who[n].r = ROLE_AIO, who[n++].addr = e->aio;
	if ((roles & R(ROLE_CIO)) && e && e->cio)
		who[n].r = ROLE_CIO, who[n++].addr = e->cio;
	if (roles & R(ROLE_CTO))
		who[n].r = ROLE_CTO, who[n++].addr = env->cto;
	for (size_t i = 0; i < n; i++) {
		if (strv_contains_ci(&sent, who[i].addr))
			continue;
		strv_add(&sent, who[i].addr);
		struct engine_mail *m = case_mail(env, o, tmpl, who[i].addr, who[i].r, 0, 0);
		if (name)
			var(m, name, value);
	}
	if (roles & R(ROLE_CDT))
		for (size_t i = 0; i < env->cdt->n; i++) {
			if (strv_contains_ci(&sent, env->cdt->v[i]))
				continue;
			strv_add(&sent, env->cdt->v[i]);
			struct engine_mail *m = case_mail(env, o, tmpl, env->cdt->v[i], ROLE_CDT, 0, 0);
			if (name)
				var(m, name, value);
		}
	strv_free(&sent);
}

static void to_cdt(const struct engine_env *env, struct engine_out *o, const char *tmpl,
		   const char *name, const char *value)
{
	for (size_t i = 0; i < env->cdt->n; i++) {
		struct engine_mail *m = case_mail(env, o, tmpl, env->cdt->v[i], ROLE_CDT, 1, 0);
		if (name)
			var(m, name, value);
	}
}

static void notice(const struct engine_env *env, struct engine_out *o, const char *text)
{
	struct engine_mail *m = case_mail(env, o, "notice", o->c.requester, ROLE_REQUESTER, 1, 0);
	var(m, "notice", text);
}

static const char *arg_or_empty(const struct command *cmd)
{
	return cmd && cmd->argument ? cmd->argument : "";
}

static void do_approve(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
		       enum role as, unsigned roles)
{
	struct case_rec *c = &o->c;
	const struct entity *e = case_entity(env, c);
	/* One address in both roles counts once for both. */
	int both = e && (roles & R(ROLE_AIO)) && (roles & R(ROLE_CIO));
	int aio = as == ROLE_AIO || both, cio = as == ROLE_CIO || both;
	if ((!aio || c->aio == AP_APPROVED) && (!cio || c->cio == AP_APPROVED)) {
		ev(o, "approval_repeated", in->from, "APPROVE as %s already recorded", role_name(as));
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval was already recorded; nothing changed.");
		return;
	}
	const char *comment = arg_or_empty(in->cmd);
	if (aio && c->aio != AP_APPROVED) {
		c->aio = AP_APPROVED;
		ev(o, "approved", in->from, "AIO approval%s%s", *comment ? ": " : "", comment);
	}
	if (cio && c->cio != AP_APPROVED) {
		c->cio = AP_APPROVED;
		ev(o, "approved", in->from, "CIO approval%s%s", *comment ? ": " : "", comment);
	}
	c->updated = env->now;
	o->changed = 1;
	if (c->aio == AP_APPROVED && c->cio == AP_APPROVED) {
		set_state(env, o, ST_CDT_REVIEW, in->from);
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval is recorded. Both approvals are in: the request "
				   "now goes to CDT for review.");
		to_cdt(env, o, "cdt-review", NULL, NULL);
		notice(env, o, "Your entity's AIO and CIO approved the request. It is now under review at CDT.");
	} else {
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval is recorded.");
	}
}

static void do_reject(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
		      enum role as)
{
	struct case_rec *c = &o->c;
	enum approval *mine = as == ROLE_AIO ? &c->aio : &c->cio;
	const char *reason = arg_or_empty(in->cmd);
	if (*mine == AP_APPROVED) {
		refuse(env, o, in, c, R(as), "you already approved this request; an approval cannot be "
					     "taken back by mail. Ask CDT if it must be stopped.");
		return;
	}
	if (!*reason) {
		refuse(env, o, in, c, R(as), "REJECT needs a reason on the same line, e.g. "
					     "\"REJECT the budget is not available\".");
		return;
	}
	*mine = AP_REJECTED;
	ev(o, "rejected", in->from, "%s rejected: %s", as == ROLE_AIO ? "AIO" : "CIO", reason);
	set_state(env, o, ST_REJECTED, in->from);
	char *who = xasprintf("%s (%s)", as == ROLE_AIO ? "the AIO" : "the CIO", in->from);
	notify_all(env, o, "rejected", R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO), "reason", reason);
	for (size_t i = 0; i < o->n_mails; i++)
		if (strcmp(o->mails[i].tmpl, "rejected") == 0)
			var(&o->mails[i], "rejected_by", who);
	free(who);
}

static void do_withdraw(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	struct case_rec *c = &o->c;
	unsigned involved = R(ROLE_REQUESTER);
	if (c->state == ST_AWAITING_APPROVALS)
		involved |= R(ROLE_AIO) | R(ROLE_CIO);
	if (c->state == ST_CDT_REVIEW || c->state == ST_AWAITING_INFO || c->state == ST_CTO_DECISION ||
	    c->state == ST_ALTERNATIVE_PROPOSED)
		involved |= R(ROLE_CDT);
	if (c->state == ST_CTO_DECISION)
		involved |= R(ROLE_CTO);
	const char *why = arg_or_empty(in->cmd);
	ev(o, "withdrawn", in->from, "withdrawn by the requester%s%s", *why ? ": " : "", why);
	set_state(env, o, ST_WITHDRAWN, in->from);
	notify_all(env, o, "withdrawn", involved, "comment", why);
}

static void do_status(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no status reply to %s: rate limit reached", in->from);
		return;
	}
	ev(o, "status", in->from, "status sent");
	case_mail(env, o, "status", in->from, ROLE_NONE, 0, 1);
}

/* The requester's answer to CDT's question: any reply but WITHDRAW, whatever
 * its first word ("Note: the lease..." is an answer, not a NOTE). */
static void do_answer(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	ev(o, "info_answered", in->from, "%s", in->visible);
	set_state(env, o, ST_CDT_REVIEW, in->from);
	char *n = xasprintf("%d", in->n_att);
	for (size_t i = 0; i < env->cdt->n; i++) {
		struct engine_mail *m = case_mail(env, o, "info-answer", env->cdt->v[i], ROLE_CDT, 1, 0);
		var(m, "answer", in->visible);
		var(m, "attachments", n);
	}
	free(n);
	notice(env, o, "Your answer was forwarded to CDT; the request is under review again.");
}

/* A key is good for this mail when it belongs to this case, its step is the
 * case's current one (any step for NOTE), and From holds the key's role. */
static int key_good(const struct engine_in *in, const struct case_rec *c, unsigned roles, int any_step)
{
	const struct engine_key *k = in->key;
	if (!k || strcmp(k->case_id, c->id) != 0)
		return 0;
	if (!any_step && k->step != c->step)
		return 0;
	return (roles & R(k->role)) != 0;
}

/* ---- alternatives (the policy: CDT "coordinates with the State entity to
 * develop and/or assist with alternative solutions") ---- */

/* CDT in cdt_review: PROPOSE text. The requester answers; the AIO and CIO
 * get a copy. */
static void do_propose(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
		       unsigned roles)
{
	struct case_rec *c = &o->c;
	const char *text = arg_or_empty(in->cmd);
	if (!*text) {
		refuse(env, o, in, c, roles, "PROPOSE needs the alternative after it, e.g. \"PROPOSE "
					     "CGEN's 1 Gbps service reaches the site in March\".");
		return;
	}
	str_set(&c->alternative, text);
	ev(o, "alternative_proposed", in->from, "%s", text);
	set_state(env, o, ST_ALTERNATIVE_PROPOSED, in->from);
	char *cmds = commands_text(c, ROLE_REQUESTER);
	struct engine_mail *m = case_mail(env, o, "alternative-proposed", c->requester, ROLE_REQUESTER, 1, 0);
	var(m, "proposed_by", in->from);
	var(m, "commands", cmds);
	free(cmds);
	const struct entity *e = case_entity(env, c);
	if (e && e->aio && !addr_equal(e->aio, c->requester)) {
		m = case_mail(env, o, "alternative-copy", e->aio, ROLE_AIO, 0, 0);
		var(m, "proposed_by", in->from);
		var(m, "role_text", addr_equal(e->aio, e->cio) ? "AIO and CIO" : "AIO");
	}
	if (e && e->cio && !addr_equal(e->cio, c->requester) && !addr_equal(e->cio, e->aio)) {
		m = case_mail(env, o, "alternative-copy", e->cio, ROLE_CIO, 0, 0);
		var(m, "proposed_by", in->from);
		var(m, "role_text", "CIO");
	}
}

/* The requester in alternative_proposed: ACCEPT [comment] closes the case,
 * DECLINE reason returns it to CDT. */
static void do_answer_alternative(const struct engine_env *env, struct engine_out *o,
				  const struct engine_in *in, enum cmd_word w)
{
	struct case_rec *c = &o->c;
	const char *text = arg_or_empty(in->cmd);
	if (w == CMD_DECLINE && !*text) {
		refuse(env, o, in, c, R(ROLE_REQUESTER), "DECLINE needs the reason on the same line, e.g. "
							 "\"DECLINE the site needs service before March\".");
		return;
	}
	if (w == CMD_ACCEPT) {
		ev(o, "alternative_accepted", in->from, "CDT's alternative accepted%s%s", *text ? ": " : "",
		   text);
		set_state(env, o, ST_ALTERNATIVE_ACCEPTED, in->from);
		notify_all(env, o, "alternative-accepted",
			   R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT), "comment",
			   *text ? text : "none");
		return;
	}
	ev(o, "alternative_declined", in->from, "%s", text);
	set_state(env, o, ST_CDT_REVIEW, in->from);
	to_cdt(env, o, "alternative-declined", "reason", text);
	notice(env, o, "Your answer was sent to CDT: you declined the proposed CGEN alternative. The "
		       "request is under review at CDT again.");
}

/* ---- the grant: conditions, the end date, what to keep ---- */

/* What the decision mails of a grant add: the end date and the entity's
 * central file, in the policy's words; the requester's and CDT's decision
 * mails carry the reply key (they may answer EXTEND). */
static void decision_vars(struct engine_out *o)
{
	const struct case_rec *c = &o->c;
	char ends[32];
	end_text(c, ends);
	char *text = xstrdup("");
	if (c->state == ST_GRANTED) {
		free(text);
		char *term = c->term_months > 0 ? xasprintf("%d months from this decision", c->term_months)
						: xstrdup("not read from the request");
		text = xasprintf(
			"\nThe exemption covers the contract of the request.\n"
			"Contract term: %s.\n"
			"The exemption ends on: %s\n"
			"\n"
			"What to keep: CDT's CGEN policy asks your entity to maintain a central\n"
			"file of granted CGEN exemptions and their related acquisition documents,\n"
			"to make it available to CDT upon request for audit purposes, and to comply\n"
			"with the CGEN exemption response and all related policies, standards and\n"
			"guidelines. Keep in it this decision and its conditions, the request as\n"
			"sent with the vendor's documents, and the contract with any extension.\n"
			"\n"
			"Before the end, renew with a new request that says \"Renews: %s\",\n"
			"or move to CGEN; you will be reminded. To use an extension option of the\n"
			"contract, reply to this message with EXTEND, the length and the reason\n"
			"(e.g. \"EXTEND 12 months first extension option\"); CDT approves it.\n",
			term, ends, c->id);
		free(term);
	}
	for (size_t i = 0; i < o->n_mails; i++) {
		struct engine_mail *m = &o->mails[i];
		if (strcmp(m->tmpl, "decision") != 0)
			continue;
		var(m, "exemption_text", text);
		if (c->state == ST_GRANTED && (m->role == ROLE_REQUESTER || m->role == ROLE_CDT))
			m->keyed = 1;
	}
	free(text);
}

/* The "end_date" event of a grant or an extension. */
static void end_event(struct engine_out *o, const char *actor)
{
	const struct case_rec *c = &o->c;
	long end = exemption_end_day(c);
	if (end < 0) {
		ev(o, "end_date", actor, "the end date is not known: the contract term was not read");
		return;
	}
	char day[11];
	calendar_day_number_text(end, day);
	if (c->extension_months)
		ev(o, "end_date", actor, "the exemption ends on %s (contract term of %d months and %d "
					 "months of extensions, from the decision)", day, c->term_months,
		   c->extension_months);
	else
		ev(o, "end_date", actor, "the exemption ends on %s (contract term of %d months from the "
					 "decision)", day, c->term_months);
}

/* ---- extensions of a granted exemption ---- */

/* The reason of "EXTEND 12 months reason": the text after the length when the
 * argument starts with it (after "by" or "for"), else the whole argument. */
static char *extension_reason(const char *arg, size_t start, size_t end)
{
	const char *p = arg;
	while (*p == ' ' || *p == '\t')
		p++;
	if (str_startswith_ci(p, "by ") || str_startswith_ci(p, "for "))
		p += strcspn(p, " ") + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((size_t)(p - arg) != start)
		return str_trim(xstrdup(arg));
	p = arg + end;
	while (*p && strchr(" \t\n.,;:-", *p))
		p++;
	return str_trim(xstrdup(p));
}

/* EXTEND on a granted case (the requester or CDT, with a reply key of this
 * case), and CDT's APPROVE or DENY of the extension asked. */
static void do_extension(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
			 unsigned roles, enum cmd_word w)
{
	struct case_rec *c = &o->c;
	long end = exemption_end_day(c);
	char ends[32];
	end_text(c, ends);
	if (w != CMD_EXTEND) {
		/* CDT answers the extension asked: the step's key, role cdt. */
		if (!key_good(in, c, roles, 0) || in->key->role != ROLE_CDT) {
			refuse(env, o, in, c, roles, "an extension is approved by CDT, in reply to the message "
						     "that asked for it.");
			return;
		}
		const char *text = arg_or_empty(in->cmd);
		if (w == CMD_DENY && !*text) {
			refuse(env, o, in, c, roles, "DENY needs a reason on the same line.");
			return;
		}
		int months = c->ext_months;
		char *result;
		if (w == CMD_APPROVE) {
			c->extension_months += months;
			c->end_set = env->now;
			c->expiry_notice = 0;
			end_text(c, ends);
			ev(o, "extended", in->from, "extension of %d months approved%s%s", months,
			   *text ? ": " : "", text);
			end_event(o, in->from);
			result = xasprintf("CDT (%s) approved the extension of %d months. The exemption now "
					   "ends on %s.", in->from, months, ends);
		} else {
			ev(o, "extension_denied", in->from, "extension of %d months refused: %s", months, text);
			result = xasprintf("CDT (%s) refused the extension of %d months: %s\nThe exemption "
					   "still ends on %s.", in->from, months, text, ends);
		}
		c->ext_months = 0;
		str_set(&c->ext_reason, NULL);
		str_set(&c->ext_by, NULL);
		c->step++;
		c->updated = env->now;
		o->changed = 1;
		notify_all(env, o, "extension-decision", R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT),
			   "result", result);
		for (size_t i = 0; i < o->n_mails; i++)
			if (o->mails[i].role == ROLE_REQUESTER)
				o->mails[i].keyed = 1; /* may ask again */
		free(result);
		return;
	}

	/* EXTEND: any key of this case (the decision mail, a notice), role held. */
	if (!(roles & (R(ROLE_REQUESTER) | R(ROLE_CDT))) || !key_good(in, c, roles, 1) ||
	    !(in->key->role == ROLE_REQUESTER || in->key->role == ROLE_CDT)) {
		refuse(env, o, in, c, roles, "EXTEND is for the requester or CDT, in reply to a message "
					     "about this exemption.");
		if (!(roles & (R(ROLE_REQUESTER) | R(ROLE_CDT))))
			o->queue_reason = xasprintf("EXTEND on %s from %s refused", c->id, in->from);
		return;
	}
	if (c->expiry_notice < 0 || (end >= 0 && calendar_local_day(env->now) >= end)) {
		char *why = xasprintf("the exemption ended on %s: an exemption that ended cannot be "
				      "extended. Send a new request that says \"Renews: %s\".", ends, c->id);
		refuse(env, o, in, c, roles, why);
		free(why);
		return;
	}
	if (c->ext_months) {
		char *why = xasprintf("an extension of %d months, asked by %s, already waits on CDT's "
				      "answer.", c->ext_months, c->ext_by ? c->ext_by : "?");
		refuse(env, o, in, c, roles, why);
		free(why);
		return;
	}
	const char *arg = arg_or_empty(in->cmd);
	size_t st, en;
	int months = exemption_months(arg, &st, &en);
	char *reason = months ? extension_reason(arg, st, en) : NULL;
	if (!months || !*reason) {
		refuse(env, o, in, c, roles, "EXTEND needs the length and the reason, e.g. \"EXTEND 12 "
					     "months first extension option of the contract\".");
		free(reason);
		return;
	}
	c->ext_months = months;
	str_set(&c->ext_reason, reason);
	str_set(&c->ext_by, in->from);
	c->step++; /* CDT's answer is a new step with its own keys */
	c->updated = env->now;
	o->changed = 1;
	ev(o, "extension_requested", in->from, "%d months: %s", months, reason);
	char *n = xasprintf("%d", months);
	char after[32] = "not known";
	if (end >= 0)
		calendar_day_number_text(calendar_add_months(end, months), after);
	char *cmds = commands_text(c, ROLE_CDT);
	for (size_t i = 0; i < env->cdt->n; i++) {
		struct engine_mail *m = case_mail(env, o, "extension-request", env->cdt->v[i], ROLE_CDT, 1, 0);
		var(m, "months", n);
		var(m, "reason", reason);
		var(m, "asked_by", in->from);
		var(m, "ends_after", after);
		var(m, "commands", cmds);
	}
	char *t = xasprintf("An extension of %s months was asked by %s (\"%s\"). CDT must approve it; "
			    "the exemption ends on %s, and with the extension it would end on %s.",
			    n, in->from, reason, ends, after);
	notice(env, o, t);
	free(t);
	free(cmds);
	free(n);
	free(reason);
}

/* ---- renewals ---- */

/* A complete request on the thread of granted case o->c (its subject tag):
 * a new request that renews it, unless its Renews: field names another. */
static void renewal_by_tag(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	struct case_rec old;
	case_copy(&old, &o->c);
	case_clear(&o->c);
	o->has_case = 0;
	o->changed = 0;
	new_request(env, o, in, in->form->renews ? in->renews : &old);
	case_clear(&old);
}

static void on_case(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	struct case_rec *c = &o->c;
	unsigned roles = engine_roles_of(env, c, in->from);
	enum cmd_word w = in->cmd ? in->cmd->word : CMD_NONE;
	o->mail_kind = "reply";

	if (c->state == ST_AWAITING_INFO && w != CMD_WITHDRAW && key_good(in, c, roles, 0) &&
	    in->key->role == ROLE_REQUESTER) {
		do_answer(env, o, in);
		return;
	}
	if (w == CMD_HELP || w == CMD_FORM) {
		if (in->rate_limited)
			return;
		ev(o, w == CMD_HELP ? "help" : "form", in->from, "%s sent", w == CMD_HELP ? "help" : "form");
		mail(o, w == CMD_HELP ? "help" : "request-form", in->from, ROLE_NONE, 0, 1);
		return;
	}
	if (w == CMD_STATUS) {
		if (!roles) {
			refuse(env, o, in, NULL, 0, "you are not a party to this case.");
			o->queue_reason = xasprintf("STATUS for %s from %s, who is not a party", c->id, in->from);
			return;
		}
		do_status(env, o, in);
		return;
	}
	if (c->state == ST_GRANTED && w == CMD_NONE && !(in->cmd && in->cmd->ambiguous) &&
	    form_is_request(in->form)) {
		/* A new request on the thread of a granted exemption renews it. */
		renewal_by_tag(env, o, in);
		return;
	}
	if (!roles) {
		refuse(env, o, in, NULL, 0, "only the parties of a case can act on it.");
		o->queue_reason = xasprintf("mail on %s from %s, who is not a party to it", c->id, in->from);
		return;
	}
	if (c->state == ST_GRANTED &&
	    (w == CMD_EXTEND || (c->ext_months && (roles & R(ROLE_CDT)) && (w == CMD_APPROVE || w == CMD_DENY)))) {
		do_extension(env, o, in, roles, w);
		return;
	}
	if (!case_state_open(c->state)) {
		char *why = xasprintf("case %s is closed (%s).", c->id, case_state_name(c->state));
		refuse(env, o, in, c, roles, why);
		free(why);
		return;
	}
	if (in->cmd && in->cmd->ambiguous) {
		ev(o, "unclear", in->from, "ambiguous command");
		answer_refusal(env, o, in, "unclear", c, roles,
			       "the first line of your reply is not a clear command (a negation, a "
			       "question, or two commands). Nothing was changed.");
		return;
	}
	if (w == CMD_NOTE) {
		if (!(roles & R(ROLE_CDT)) || !key_good(in, c, roles, 1) || in->key->role != ROLE_CDT) {
			refuse(env, o, in, c, roles, "NOTE is for CDT, in reply to a message about this case.");
			if (!(roles & R(ROLE_CDT)) || !in->key)
				o->queue_reason = xasprintf("NOTE on %s from %s refused", c->id, in->from);
			return;
		}
		ev(o, "note", in->from, "%s", arg_or_empty(in->cmd));
		struct engine_mail *m = case_mail(env, o, "note-recorded", in->from, ROLE_CDT, 0, 1);
		var(m, "note", arg_or_empty(in->cmd));
		return;
	}

	/* Everything below moves the case: it needs the step's key and the key's role. */
	int good = key_good(in, c, roles, 0);
	if (!good) {
		const char *why;
		if (!in->key)
			why = "your mail does not answer a current message of this case (no valid "
			      "reference was found). Reply to the latest message you received about it.";
		else if (strcmp(in->key->case_id, c->id) != 0)
			why = "your mail answers a message of another case.";
		else if (in->key->step != c->step)
			why = "your mail answers an earlier step of this case, which has ended. Reply to "
			      "the latest message you received about it.";
		else
			why = "the message you answered was sent to someone else; only its addressee "
			      "(or a listed delegate) can answer it.";
		int requester_turn = (roles & R(ROLE_REQUESTER)) &&
			(c->state == ST_AWAITING_INFO || c->state == ST_INCOMPLETE);
		if (w == CMD_NONE && !requester_turn) {
			/* Free text with no command, from a party: ask for a command. */
			ev(o, "unclear", in->from, "no command and no valid reference");
			answer_refusal(env, o, in, "unclear", c, roles, why);
			return;
		}
		refuse(env, o, in, c, roles, why);
		if (in->key && !(roles & R(in->key->role)))
			o->queue_reason = xasprintf("%s on %s from %s with a key of role %s",
						    in->cmd && in->cmd->word ? command_name(in->cmd->word) : "mail",
						    c->id, in->from, role_name(in->key->role));
		return;
	}
	enum role as = in->key->role;

	if (as == ROLE_REQUESTER) {
		if (w == CMD_WITHDRAW) {
			do_withdraw(env, o, in);
			return;
		}
		if (c->state == ST_ALTERNATIVE_PROPOSED && (w == CMD_ACCEPT || w == CMD_DECLINE)) {
			do_answer_alternative(env, o, in, w);
			return;
		}
		if (c->state == ST_INCOMPLETE && in->form->labels > 0) {
			/* incomplete -> received -> re-checked like a new request. */
			ev(o, "corrected", in->from, "corrected form received");
			set_state(env, o, ST_RECEIVED, in->from);
			(void)check_request(env, o, in, in->form, 0, in->form->renews ? in->renews : NULL);
			return;
		}
		ev(o, "unclear", in->from, "no command the requester can give in state %s", case_state_name(c->state));
		answer_refusal(env, o, in, "unclear", c, R(ROLE_REQUESTER),
			       w == CMD_NONE ? "your reply holds no command the agent can act on."
					     : "that command is not one the requester can give now.");
		return;
	}
	if ((as == ROLE_AIO || as == ROLE_CIO) && c->state == ST_AWAITING_APPROVALS) {
		if (w == CMD_APPROVE) {
			do_approve(env, o, in, as, roles);
			return;
		}
		if (w == CMD_REJECT) {
			do_reject(env, o, in, as);
			return;
		}
	}
	if (as == ROLE_CDT && c->state == ST_CDT_REVIEW) {
		if (w == CMD_INFO) {
			const char *q = arg_or_empty(in->cmd);
			if (!*q) {
				refuse(env, o, in, c, roles, "INFO needs the question after it.");
				return;
			}
			ev(o, "info_requested", in->from, "%s", q);
			set_state(env, o, ST_AWAITING_INFO, in->from);
			struct engine_mail *m = case_mail(env, o, "info-request", c->requester, ROLE_REQUESTER, 1, 0);
			var(m, "question", q);
			return;
		}
		if (w == CMD_PROPOSE) {
			do_propose(env, o, in, roles);
			return;
		}
		if (w == CMD_RECOMMEND) {
			const char *a = arg_or_empty(in->cmd);
			int approve = str_startswith_ci(a, "APPROVE");
			const char *rationale = a + strcspn(a, " \t\n");
			while (*rationale == ' ' || *rationale == '\t' || *rationale == '\n' ||
			       *rationale == ':' || *rationale == '-')
				rationale++;
			if (!*rationale) {
				refuse(env, o, in, c, roles, "RECOMMEND needs a rationale, e.g. \"RECOMMEND "
							     "APPROVE no CGEN service at this site\".");
				return;
			}
			free(c->recommendation);
			c->recommendation = xasprintf("%s %s", approve ? "APPROVE" : "DENY", rationale);
			ev(o, "recommended", in->from, "%s", c->recommendation);
			set_state(env, o, ST_CTO_DECISION, in->from);
			struct engine_mail *m = case_mail(env, o, "cto-review", env->cto, ROLE_CTO, 1, 0);
			var(m, "recommendation", approve ? "APPROVE" : "DENY");
			var(m, "rationale", rationale);
			var(m, "recommended_by", in->from);
			notice(env, o, "CDT has sent its recommendation to the CDT Chief Technology Officer, who will decide.");
			return;
		}
	}
	if (as == ROLE_CTO && c->state == ST_CTO_DECISION && (w == CMD_APPROVE || w == CMD_DENY)) {
		const char *text = arg_or_empty(in->cmd);
		if (w == CMD_DENY && !*text) {
			refuse(env, o, in, c, roles, "DENY needs a reason on the same line.");
			return;
		}
		str_set(&c->decision, text);
		ev(o, "decided", in->from, "%s%s%s", w == CMD_APPROVE ? "granted" : "denied",
		   *text ? ": " : "", text);
		set_state(env, o, w == CMD_APPROVE ? ST_GRANTED : ST_DENIED, in->from);
		if (w == CMD_APPROVE) {
			/* The CTO's text is the exemption's conditions; its end runs from now. */
			c->decided = c->end_set = env->now;
			c->expiry_notice = 0;
			end_event(o, "agent");
		}
		notify_all(env, o, "decision", R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT),
			   "decision_text", *text ? text : "none");
		decision_vars(o);
		return;
	}
	if (w == CMD_NONE) {
		ev(o, "unclear", in->from, "no command");
		answer_refusal(env, o, in, "unclear", c, roles, "your reply holds no command the agent can act on.");
		return;
	}
	char *why = xasprintf("%s is not something the %s can send while the case is %s.",
			      command_name(w), role_name(as), case_state_name(c->state));
	refuse(env, o, in, c, roles, why);
	free(why);
}

/* AUDIT ENTITY-CODE from CDT: the entity's granted exemptions, as a CSV the
 * agent attaches (template "audit"). Anyone else is refused and queued. */
static void do_audit(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	o->mail_kind = "reply";
	if (!strv_contains_ci(env->cdt, in->from)) {
		refuse(env, o, in, NULL, 0, "AUDIT is for CDT reviewers only.");
		o->queue_reason = xasprintf("AUDIT from %s, who is not a CDT reviewer", in->from);
		return;
	}
	char code[64];
	snprintf(code, sizeof code, "%s", arg_or_empty(in->cmd));
	code[strcspn(code, " \t\n,;")] = '\0';
	const struct entity *e = *code ? directory_find(env->dir, code) : NULL;
	if (!e) {
		char *why = *code ? xasprintf("there is no entity \"%s\" in the directory.", code)
				  : xstrdup("AUDIT needs the entity code, e.g. \"AUDIT DWR\".");
		refuse(env, o, in, NULL, R(ROLE_CDT), why);
		free(why);
		return;
	}
	ev(o, "audit", in->from, "granted exemptions of %s sent", e->code);
	struct engine_mail *m = mail(o, "audit", in->from, ROLE_CDT, 0, 1);
	var(m, "entity", e->code);
	var(m, "entity_name", e->name);
}

/* ---- entry point ---- */

void engine_handle(const struct engine_env *env, const struct case_rec *c,
		   const struct engine_in *in, struct engine_out *o)
{
	memset(o, 0, sizeof *o);
	o->mail_kind = "other";
	if (c) {
		case_copy(&o->c, c);
		o->has_case = 1;
	}

	if (in->kind != MSG_NORMAL) {
		o->mail_kind = in->kind == MSG_BOUNCE ? "bounce"
			     : in->kind == MSG_COMPLAINT ? "complaint" : "auto-reply";
		ev(o, o->mail_kind, in->from, "%s ignored (%s)", o->mail_kind,
		   in->kind_reason ? in->kind_reason : "automatic mail");
		return;
	}
	if (in->own_address) {
		ev(o, "own_mail", in->from, "mail from the agent's own address ignored");
		return;
	}
	if (!in->from) {
		ev(o, "no_sender", "", "mail without exactly one From address");
		o->queue_reason = xstrdup("no single From address: cannot tell who sent it");
		return;
	}
	enum cmd_word w = in->cmd ? in->cmd->word : CMD_NONE;

	if (in->unreadable) {
		o->mail_kind = c ? "reply" : "other";
		ev(o, "unreadable", in->from, "mail not readable: %s", in->unreadable);
		answer_refusal(env, o, in, "unreadable", c, c ? engine_roles_of(env, c, in->from) : 0,
			       in->unreadable);
		return;
	}
	if (in->auth_failed && w != CMD_HELP && w != CMD_FORM) {
		char *why = xasprintf("%s. Only mail that our server could authenticate (DMARC, or DKIM "
				      "aligned with the From: domain) is acted on.", in->auth_failed);
		refuse(env, o, in, c, c ? engine_roles_of(env, c, in->from) : 0, why);
		o->queue_reason = xasprintf("sender %s not authenticated: %s", in->from, in->auth_failed);
		free(why);
		return;
	}
	if (w == CMD_AUDIT) {
		do_audit(env, o, in);
		return;
	}
	if (c) {
		on_case(env, o, in);
		return;
	}
	if (in->tag_case || in->key) {
		/* Refers to a case the store does not have. */
		char *why = xasprintf("there is no case %s.", in->tag_case ? in->tag_case : "matching your reply");
		refuse(env, o, in, NULL, 0, why);
		free(why);
		return;
	}
	if (w == CMD_HELP || w == CMD_FORM) {
		if (in->rate_limited) {
			ev(o, "rate_limited", in->from, "no %s reply: rate limit reached", w == CMD_HELP ? "help" : "form");
			return;
		}
		ev(o, w == CMD_HELP ? "help" : "form", in->from, "%s sent", w == CMD_HELP ? "help" : "form");
		mail(o, w == CMD_HELP ? "help" : "request-form", in->from, ROLE_NONE, 0, 1);
		return;
	}
	if (form_is_request(in->form)) {
		new_request(env, o, in, in->form->renews ? in->renews : NULL);
		return;
	}
	/* Neither a request nor a reply: the usage text. */
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no help reply: rate limit reached");
		return;
	}
	ev(o, "help", in->from, "not a request and not a reply to a case: help sent");
	mail(o, "help", in->from, ROLE_NONE, 0, 1);
}

void engine_out_free(struct engine_out *o)
{
	for (size_t i = 0; i < o->n_events; i++) {
		free(o->events[i].kind);
		free(o->events[i].actor);
		free(o->events[i].detail);
	}
	free(o->events);
	for (size_t i = 0; i < o->n_mails; i++) {
		free(o->mails[i].tmpl);
		free(o->mails[i].to);
		strv_free(&o->mails[i].vars);
	}
	free(o->mails);
	free(o->queue_reason);
	case_clear(&o->c);
	memset(o, 0, sizeof *o);
}

/* ---- the clock: reminders and the overdue notice (DESIGN.md section 5) ---- */

char *engine_waiting_text(const struct engine_env *env, const struct case_rec *c)
{
	return waiting_text(env, c);
}

time_t engine_deadline(const struct case_rec *c, const struct engine_timing *t, int k)
{
	return calendar_add_business_days(t->cal, c->state_since, k * t->remind_after);
}

static void local_time_text(time_t t, char out[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M %Z", &tm);
}

static void reminder_to(const struct engine_env *env, struct engine_out *o, const char *to,
			enum role r, int n, const struct engine_timing *t, const char *since)
{
	struct engine_mail *m = case_mail(env, o, "reminder", to, r, 1, 0);
	char num[16], max[16];
	snprintf(num, sizeof num, "%d", n);
	snprintf(max, sizeof max, "%d", t->max_reminders);
	var(m, "reminder", num);
	var(m, "max_reminders", max);
	var(m, "since", since);
	char *cmds = commands_text(&o->c, r);
	var(m, "commands", cmds);
	free(cmds);
	var(m, "role_text", r == ROLE_AIO || r == ROLE_CIO ? (r == ROLE_AIO ? "AIO" : "CIO")
							   : role_name(r));
}

/* The expiry notices and the end of granted case c (engine.h). */
static void expiry_tick(const struct engine_env *env, const struct case_rec *c,
			const struct engine_timing *t, struct engine_out *o)
{
	long end = exemption_end_day(c);
	if (end < 0 || c->expiry_notice < 0)
		return;
	struct case_rec *oc = &o->c;
	char ends[11];
	calendar_day_number_text(end, ends);
	if (env->now >= calendar_day_at(end, t->notice_hour, t->notice_min)) {
		oc->expiry_notice = -1;
		oc->updated = env->now;
		o->changed = 1;
		ev(o, "ended", "agent", "the exemption ended on %s%s%s", ends,
		   c->renewed_by ? "; renewal request " : "", c->renewed_by ? c->renewed_by : "");
		return;
	}
	int best = 0;
	for (size_t i = 0; i < t->n_expiry_notice; i++) {
		int d = t->expiry_notice[i];
		if (d <= 0 || (c->expiry_notice > 0 && d >= c->expiry_notice))
			continue;
		time_t due = exemption_notice_at(t->cal, end, d, t->notice_hour, t->notice_min);
		if (due <= env->now && due >= c->end_set && (!best || d < best))
			best = d;
	}
	if (!best)
		return;
	oc->expiry_notice = best;
	oc->updated = env->now;
	o->changed = 1;
	long left = end - calendar_local_day(env->now);
	char *days = xasprintf("%ld", left);
	char *renewal = c->renewed_by
		? xasprintf("A request that renews it is open: %s.", c->renewed_by)
		: xstrdup("No request that renews it has been received.");
	struct strv to = {0};
	for (size_t i = 0; i <= env->cdt->n; i++) {
		const char *addr = i ? env->cdt->v[i - 1] : c->requester;
		enum role r = i ? ROLE_CDT : ROLE_REQUESTER;
		struct engine_mail *m = case_mail(env, o, "expiry-notice", addr, r, 1, 0);
		var(m, "days_left", days);
		var(m, "renewal_status", renewal);
		strv_add(&to, addr);
	}
	char *list = strv_join(&to, ", ");
	ev(o, "expiry_notice", "agent", "the exemption ends on %s, in %ld days (notice of %d days): %s "
					"told", ends, left, best, list);
	free(list);
	strv_free(&to);
	free(renewal);
	free(days);
}

void engine_tick(const struct engine_env *env, const struct case_rec *c,
		 const struct engine_timing *t, struct engine_out *o)
{
	memset(o, 0, sizeof *o);
	o->mail_kind = "other";
	case_copy(&o->c, c);
	o->has_case = 1;
	if (c->state == ST_GRANTED) {
		expiry_tick(env, c, t, o);
		return;
	}
	unsigned w = case_waiting_on(c);
	if (!case_state_open(c->state) || !w || c->overdue || t->remind_after < 1)
		return;
	char since[40];
	local_time_text(c->state_since, since);
	int max = t->max_reminders < 0 ? 0 : t->max_reminders;
	struct case_rec *oc = &o->c;

	if (env->now >= engine_deadline(c, t, max + 1)) {
		oc->overdue = 1;
		oc->updated = env->now;
		o->changed = 1;
		char *who = waiting_text(env, c);
		ev(o, "overdue", "agent", "waiting on %s since %s; %d reminder(s) sent", who, since,
		   c->reminders);
		char *n = xasprintf("%d", c->reminders);
		for (size_t i = 0; i < env->cdt->n; i++) {
			struct engine_mail *m = case_mail(env, o, "overdue", env->cdt->v[i], ROLE_CDT, 1, 0);
			var(m, "since", since);
			var(m, "reminders", n);
		}
		free(n);
		free(who);
		return;
	}
	int passed = 0;
	while (passed < max && env->now >= engine_deadline(c, t, passed + 1))
		passed++;
	if (passed <= c->reminders)
		return;
	oc->reminders = passed;
	oc->updated = env->now;
	o->changed = 1;
	const struct entity *e = case_entity(env, c);
	struct strv sent = {0};
	if (w & R(ROLE_REQUESTER))
		reminder_to(env, o, c->requester, ROLE_REQUESTER, passed, t, since);
	/* As the approval requests went: one mail when AIO and CIO are one address. */
	if ((w & R(ROLE_AIO)) && e && e->aio)
		reminder_to(env, o, e->aio, ROLE_AIO, passed, t, since);
	if ((w & R(ROLE_CIO)) && e && e->cio &&
	    !((w & R(ROLE_AIO)) && addr_equal(e->aio, e->cio)))
		reminder_to(env, o, e->cio, ROLE_CIO, passed, t, since);
	if (w & R(ROLE_CDT))
		for (size_t i = 0; i < env->cdt->n; i++)
			reminder_to(env, o, env->cdt->v[i], ROLE_CDT, passed, t, since);
	if (w & R(ROLE_CTO))
		reminder_to(env, o, env->cto, ROLE_CTO, passed, t, since);
	for (size_t i = 0; i < o->n_mails; i++)
		strv_add(&sent, o->mails[i].to);
	char *to = strv_join(&sent, ", ");
	ev(o, "reminder", "agent", "reminder %d of %d to %s (waiting since %s)", passed, max, to, since);
	free(to);
	strv_free(&sent);
}
