/* engine.c: see engine.h. Every transition and refusal of DESIGN.md section 3. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "visible.h"
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

/* "AIO", "CIO", "CDT", "CTO": a role as people write it. */
static const char *role_label(enum role r)
{
	return r == ROLE_AIO ? "AIO" : r == ROLE_CIO ? "CIO" : r == ROLE_CDT ? "CDT"
	       : r == ROLE_CTO ? "CTO" : role_name(r);
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

/* An answer to someone who is no party of a case (HELP, refusals, "not
 * accepted"): within [security] answer_limit for all senders together; past
 * it the mail is recorded and queued, never answered. 1 when it may go. */
static int caseless_ok(struct engine_out *o, const struct engine_in *in, const char *what)
{
	if (!in->answer_limited)
		return 1;
	/* engine_handle queues the mail when nothing else did */
	ev(o, "answer_limited", in->from, "no %s answer to %s: the answer limit for mail that "
	   "opened no case is reached", what, in->from);
	return 0;
}

/* The exact lines a sender holding roles can put on top of a reply about
 * case c, one a line with what each does (the engine's table of commands,
 * as the mails that ask them to act show it), then STATUS and HELP. */
static char *expected_text(const struct case_rec *c, unsigned roles)
{
	struct buf b = {0};
	struct strv seen = {0};
	for (int r = ROLE_REQUESTER; c && r < ROLE__COUNT; r++) {
		const struct engine_command *v[ARRAY_LEN(commands)];
		size_t n = (roles & R(r)) ? engine_commands(c, (enum role)r, v, ARRAY_LEN(v)) : 0;
		for (size_t i = 0; i < n; i++) {
			if (strv_contains_ci(&seen, v[i]->usage))
				continue;
			strv_add(&seen, v[i]->usage);
			buf_addf(&b, "  %-31s %s\n", v[i]->usage, v[i]->hint);
		}
	}
	strv_free(&seen);
	if (roles && c)
		buf_addf(&b, "  STATUS %-24s to get the case's status\n", c->id);
	buf_adds(&b, "  HELP                            for how to use this mailbox");
	return buf_steal(&b);
}

static int key_good(const struct engine_in *in, const struct case_rec *c, unsigned roles, int any_step);

/* The commands of role r on case c, one a line ("  USAGE   hint"), for the
 * mails that ask r to act. Allocated. */
static char *role_commands_text(const struct case_rec *c, enum role r)
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
 * past the rate limit. It carries the key the mail answered when that key is
 * still good for the case's step, so that a corrected reply to it works. */
static void answer_refusal(const struct engine_env *env, struct engine_out *o,
			   const struct engine_in *in, const char *tmpl, const struct case_rec *c,
			   unsigned roles, const char *reason)
{
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no %s reply to %s: rate limit reached", tmpl, in->from);
		return;
	}
	if (!roles && !caseless_ok(o, in, tmpl))
		return;
	char *allowed = allowed_text(c, roles);
	char *expected = expected_text(c, roles);
	int keyed = c && case_state_open(c->state) && key_good(in, c, engine_roles_of(env, c, in->from), 0);
	struct engine_mail *m = c ? case_mail(env, o, tmpl, in->from, keyed ? in->key->role : ROLE_NONE, keyed, 1)
				  : mail(o, tmpl, in->from, ROLE_NONE, 0, 1);
	m->caseless = !roles;
	if (keyed && !addr_equal(in->key->addressee, in->from))
		m->key_addressee = xstrdup(in->key->addressee);
	var(m, "reason", reason);
	var(m, "allowed", allowed);
	var(m, "expected", expected);
	var(m, "subject", in->subject);
	free(allowed);
	free(expected);
}

static void refuse(const struct engine_env *env, struct engine_out *o, const struct engine_in *in,
		   const struct case_rec *c, unsigned roles, const char *reason)
{
	const char *word = in->cmd ? command_name(in->cmd->word) : NULL;
	ev(o, "refused", in->from, "%s%s%s", word ? word : "mail", ": ", reason);
	answer_refusal(env, o, in, "refused", c, roles, reason);
}

/* ---- HELP and STATUS by role ---- */

/* Roles addr holds outside any one case: R(ROLE_CDT), R(ROLE_CTO), and
 * R(ROLE_AIO) / R(ROLE_CIO) when the directory names it (or a delegate) for
 * some entity. */
static unsigned standing_roles(const struct engine_env *env, const char *addr)
{
	unsigned r = 0;
	if (!addr)
		return 0;
	if (strv_contains_ci(env->cdt, addr))
		r |= R(ROLE_CDT);
	if (addr_equal(addr, env->cto))
		r |= R(ROLE_CTO);
	for (size_t i = 0; env->dir && i < env->dir->n; i++) {
		if (entity_is_aio(&env->dir->v[i], addr))
			r |= R(ROLE_AIO);
		if (entity_is_cio(&env->dir->v[i], addr))
			r |= R(ROLE_CIO);
	}
	return r;
}

/* Whether open case c is one to list for in->from: every case for CDT, those
 * waiting on the CTO for the CTO, and the cases the sender is a party of. */
static int listed_for(const struct engine_env *env, const struct case_rec *c, const char *from,
		      unsigned standing)
{
	if (!case_state_open(c->state))
		return 0;
	if (standing & R(ROLE_CDT))
		return 1;
	if ((standing & R(ROLE_CTO)) && c->state == ST_CTO_DECISION)
		return 1;
	return (engine_roles_of(env, c, from) & (R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO))) != 0;
}

/* The open cases listed for in->from, one a line; *count is set, *requested
 * counts those the sender requested. */
static char *cases_text(const struct engine_env *env, const struct engine_in *in, unsigned standing,
			size_t *count, size_t *requested)
{
	struct buf b = {0};
	*count = *requested = 0;
	for (size_t i = 0; i < in->n_open_cases; i++) {
		const struct case_rec *c = &in->open_cases[i];
		if (!listed_for(env, c, in->from, standing))
			continue;
		char *who = waiting_text(env, c);
		long days = (long)((env->now - c->state_since) / 86400);
		buf_addf(&b, "  %-16s %-18s %-6s waiting on %s for %ld day%s\n", c->id, case_state_name(c->state),
			 c->entity ? c->entity : "-", who, days, days == 1 ? "" : "s");
		free(who);
		(*count)++;
		*requested += addr_equal(c->requester, in->from);
	}
	if (!*count)
		buf_adds(&b, "  (none)\n");
	return buf_steal(&b);
}

/* "a CDT reviewer and the AIO of ...", for the first line of the answer. */
static char *role_text(const struct engine_env *env, const char *from, unsigned standing, size_t requested)
{
	struct strv l = {0};
	if (standing & R(ROLE_CDT))
		strv_add(&l, "a CDT reviewer");
	if (standing & R(ROLE_CTO))
		strv_add(&l, "the CDT Chief Technology Officer");
	for (size_t i = 0; env->dir && i < env->dir->n; i++) {
		const struct entity *e = &env->dir->v[i];
		int aio = entity_is_aio(e, from), cio = entity_is_cio(e, from);
		if (aio || cio)
			strv_addf(&l, "the %s%s of %s (%s)", aio && cio ? "AIO and CIO" : aio ? "AIO" : "CIO",
				  (aio && !addr_equal(from, e->aio)) || (cio && !aio && !addr_equal(from, e->cio))
					  ? " (delegate)" : "",
				  e->name, e->code);
	}
	if (requested)
		strv_addf(&l, "the requester of %zu open case%s", requested, requested == 1 ? "" : "s");
	char *s = strv_join(&l, ", ");
	strv_free(&l);
	return s;
}

/* The commands of the standing roles, one a line. */
static char *commands_text(unsigned standing, size_t requested)
{
	struct buf b = {0};
	if (standing & R(ROLE_CDT))
		buf_adds(&b, "  INFO question                  (in reply to a case in CDT review) ask the requester\n"
			     "  RECOMMEND APPROVE rationale    (same) send the case to the CTO\n"
			     "  RECOMMEND DENY rationale\n"
			     "  NOTE text                      (in reply to any message of a case) internal note\n"
			     "  AUDIT ENTITY-CODE              the entity's granted exemptions as CSV\n");
	if (standing & R(ROLE_CTO))
		buf_adds(&b, "  APPROVE [conditions]           (in reply to a decision request) grant\n"
			     "  DENY reason                    (same) deny\n");
	if (standing & (R(ROLE_AIO) | R(ROLE_CIO)))
		buf_adds(&b, "  APPROVE [comment]              (in reply to an approval request) approve\n"
			     "  REJECT reason                  (same) reject\n");
	if (requested)
		buf_adds(&b, "  WITHDRAW                       (in reply to a message about your request)\n");
	buf_adds(&b, "  STATUS CASE-ID                 the status of a case\n"
		     "  FORM                           the blank request form\n"
		     "  HELP                           this text");
	return buf_steal(&b);
}

/* HELP: by role (template "help-role"), or the plain usage text. */
static void help_answer(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no help reply: rate limit reached");
		return;
	}
	unsigned standing = standing_roles(env, in->from);
	size_t count, requested;
	char *cases = cases_text(env, in, standing, &count, &requested);
	if (!standing && !requested) {
		/* someone who is no party of any case: within the answer limit */
		if (caseless_ok(o, in, "help")) {
			ev(o, "help", in->from, "help sent");
			mail(o, "help", in->from, ROLE_NONE, 0, 1)->caseless = 1;
		}
	} else {
		char *who = role_text(env, in->from, standing, requested);
		char *cmds = commands_text(standing, requested);
		char *n = xasprintf("%zu", count);
		ev(o, "help", in->from, "help for %s sent, %zu open case(s) listed", who, count);
		struct engine_mail *m = mail(o, "help-role", in->from, ROLE_NONE, 0, 1);
		var(m, "role_text", who);
		var(m, "commands", cmds);
		var(m, "cases", cases);
		var(m, "case_count", n);
		free(who);
		free(cmds);
		free(n);
	}
	free(cases);
}

/* STATUS naming no case the store has: the sender's open cases ("status-list"),
 * or a refusal. */
static void status_list(const struct engine_env *env, struct engine_out *o, const struct engine_in *in)
{
	o->mail_kind = "reply";
	const char *arg = in->cmd && in->cmd->argument ? in->cmd->argument : "";
	if (*arg) {
		char *why = xasprintf("there is no case %s.", arg);
		refuse(env, o, in, NULL, 0, why);
		free(why);
		return;
	}
	unsigned standing = standing_roles(env, in->from);
	size_t count, requested;
	char *cases = cases_text(env, in, standing, &count, &requested);
	if (!standing && !requested) {
		refuse(env, o, in, NULL, 0, "STATUS needs the case id, e.g. \"STATUS CGEN-2026-0001\", and you "
					    "are not a party to any open case.");
	} else if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no status reply: rate limit reached");
	} else {
		char *who = role_text(env, in->from, standing, requested);
		char *n = xasprintf("%zu", count);
		ev(o, "status", in->from, "open cases listed (%zu)", count);
		struct engine_mail *m = mail(o, "status-list", in->from, ROLE_NONE, 0, 1);
		var(m, "role_text", who);
		var(m, "cases", cases);
		var(m, "case_count", n);
		free(who);
		free(n);
	}
	free(cases);
}

/* Whether a mail that is neither a request nor a reply still looks like an
 * attempt at a request: a form label, or CGEN or an exemption named. */
static int request_attempt(const struct engine_in *in)
{
	static const char *const words[] = { "cgen", "exemption" };
	if (in->form && in->form->labels > 0)
		return 1;
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if ((in->subject && strcasestr(in->subject, words[i])) || (in->visible && strcasestr(in->visible, words[i])))
			return 1;
	return 0;
}

/* Every mail that did not do what its sender wanted waits in the operator
 * queue: a refusal, a reply not understood, an unreadable mail. */
static void queue_unanswered(struct engine_out *o)
{
	static const struct {
		const char *kind, *label;
	} kinds[] = { { "refused", "refused" }, { "unclear", "not understood" }, { "unreadable", "unreadable" } };
	for (size_t i = 0; i < o->n_events && !o->queue_reason; i++)
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
			if (strcmp(o->events[i].kind, kinds[k].kind) == 0) {
				o->queue_reason = xasprintf("%s: %s", kinds[k].label, o->events[i].detail);
				break;
			}
}

/* ---- intake: a new request, or a corrected form ---- */

/* "Department of Water Resources (DWR)": the entity of the text before the
 * parentheses, or of the text inside them. NULL when neither is one. */
static const struct entity *entity_in_parentheses(const struct directory *dir, const char *v)
{
	const char *open = strrchr(v, '(');
	const char *close = open ? strchr(open, ')') : NULL;
	if (!open || !close)
		return NULL;
	char *inside = xstrndup(open + 1, (size_t)(close - open - 1));
	char *before = xstrndup(v, (size_t)(open - v));
	const struct entity *e = directory_find(dir, str_trim(before));
	if (!e)
		e = directory_find(dir, str_trim(inside));
	free(inside);
	free(before);
	return e;
}

/* What the acknowledgment says about how the form was read: where it was
 * found, and label lines that were not read. Allocated, "" when nothing. */
static char *form_note_text(const struct engine_in *in, const struct form *f)
{
	char *unread = form_unread_text(f);
	char *s = xasprintf("%s%s%s%s", in->form_note ? in->form_note : "", in->form_note ? "\n" : "",
			    *unread && in->form_note ? "\n" : "", unread);
	free(unread);
	return s;
}

/* The entity a request names, or NULL with *why allocated. *by_domain is set
 * when the entity was taken from the sender's domain. */
static const struct entity *resolve_entity(const struct engine_env *env, const struct form *f,
					   const char *from, int *by_domain, char **why)
{
	const char *dom = addr_domain(from);
	const struct entity *e = f->entity ? directory_find(env->dir, f->entity) : NULL;
	if (!e && f->entity)
		e = entity_in_parentheses(env->dir, f->entity);
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
		m->attach = ENGINE_ATTACH_CASE;
	} else {
		struct engine_mail *m = case_mail(env, o, "approval-request", e->aio, ROLE_AIO, 1, 0);
		var(m, "role_text", "AIO");
		m->attach = ENGINE_ATTACH_CASE;
		m = case_mail(env, o, "approval-request", e->cio, ROLE_CIO, 1, 0);
		var(m, "role_text", "CIO");
		m->attach = ENGINE_ATTACH_CASE;
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
	if (e && is_new && env->case_open_full && strv_contains_ci(env->case_open_full, e->code)) {
		/* A flood of requests in an entity's name: no case, no answer, no
		 * mail to its approvers; the operator sees it in the queue. */
		ev(o, "case_open_limited", in->from, "no case opened for %s: the entity reached its "
		   "limit of cases opened per hour", e->code);
		o->queue_reason = xasprintf("request not opened: %s reached its limit of cases opened "
					    "per hour ([security] case_open_limit); not answered", e->code);
		free(why);
		return -1;
	}
	if (!e) {
		if (is_new) {
			ev(o, "not_accepted", in->from, "%s", why);
			if (!in->rate_limited && caseless_ok(o, in, "not-accepted")) {
				struct engine_mail *m = mail(o, "not-accepted", in->from, ROLE_NONE, 0, 1);
				var(m, "reason", why);
				var(m, "subject", in->subject);
				m->caseless = 1;
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
	int hard = 0;
	for (size_t i = 0; i < f->n_problems; i++)
		if (!(e && strcmp(f->problems[i].field, FORM_F_ENTITY) == 0)) {
			hard |= !f->problems[i].soft;
			kept[k++] = f->problems[i];
		}
	/* Unknown labels alone do not hold a request: the acknowledgment lists them. */
	if (!hard)
		k = 0;
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
	/* An incomplete case shows the form as read, each problem marked. */
	c->summary = k ? form_prefill_text(&tmp) : form_summary_text(&tmp);
	char *note = form_note_text(in, f);
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
		char *where = in->form_note ? xasprintf("%s\n", in->form_note) : xstrdup("");
		var(m, "form_note", where);
		var(m, "prefilled", c->summary);
		free(where);
	} else {
		c->aio = c->cio = AP_PENDING;
		set_state(env, o, ST_AWAITING_APPROVALS, "agent");
		struct engine_mail *m = case_mail(env, o, "ack", c->requester, ROLE_REQUESTER, 1, 1);
		var(m, "entity_note", entity_note);
		var(m, "form_note", note);
		send_approval_requests(env, o, e);
	}
	free(note);
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
		if (strcmp(tmpl, "cdt-review") == 0) {
			m->attach = ENGINE_ATTACH_CASE; /* the CDT packet */
			/* sent again (reopen, an operator's approval): no flag */
			if (!name || strcmp(name, "self_approval") != 0)
				var(m, "self_approval", "");
		}
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
	/* One APPROVE counts for both roles only when the directory names one
	 * address for both; a delegate of one role who is the other's addressee
	 * approves the role of the key, one role a mail. */
	int both = e && addr_equal(e->aio, e->cio) && (roles & R(ROLE_AIO)) && (roles & R(ROLE_CIO));
	int aio = as == ROLE_AIO || both, cio = as == ROLE_CIO || both;
	if ((!aio || c->aio == AP_APPROVED) && (!cio || c->cio == AP_APPROVED)) {
		ev(o, "approval_repeated", in->from, "APPROVE as %s already recorded", role_name(as));
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval was already recorded; nothing changed.");
		return;
	}
	/* Self-approval: the requester approving their own request. When the
	 * requester would be the only person behind both approvals, the case
	 * needs one more person: refused, or flagged to CDT in bold. */
	int self = addr_equal(in->from, c->requester);
	int sole = self && (aio || c->aio == AP_APPROVED) && (cio || c->cio == AP_APPROVED);
	for (size_t i = 0; sole && in->approvers && i < in->approvers->n; i++)
		sole = addr_equal(in->approvers->v[i], c->requester);
	if (sole && env->self_approval_refuse) {
		refuse(env, o, in, c, roles, "you filed this request yourself, and your approval would be "
					     "its only one: another person must approve it (a delegate "
					     "listed in CDT's entity directory). Nothing was changed.");
		o->queue_reason = xasprintf("self-approval of %s by its requester %s refused", c->id,
					    in->from);
		return;
	}
	char *self_note = NULL;
	if (sole) {
		self_note = xasprintf("**SELF-APPROVAL: the requester (%s) is the only person who "
				      "approved this request, as both AIO and CIO. No second person "
				      "at the entity checked it: confirm it with the entity before "
				      "recommending.**\n\n", c->requester);
	} else if (self || (in->approvers && strv_contains_ci(in->approvers, c->requester))) {
		self_note = xasprintf("**Note: the requester (%s) also approved this request in one "
				      "of the two roles.**\n\n", c->requester);
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
		if (self_note)
			ev(o, "self_approval", c->requester, "%s", sole
			   ? "the requester is the only person who approved the request (AIO and CIO): "
			     "flagged to CDT"
			   : "the requester approved one of the two roles: noted to CDT");
		set_state(env, o, ST_CDT_REVIEW, in->from);
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval is recorded. Both approvals are in: the request "
				   "now goes to CDT for review.");
		to_cdt(env, o, "cdt-review", "self_approval", self_note ? self_note : "");
		notice(env, o, "Your entity's AIO and CIO approved the request. It is now under review at CDT.");
	} else {
		struct engine_mail *m = case_mail(env, o, "approval-recorded", in->from, as, 0, 1);
		var(m, "recorded", "Your approval is recorded.");
	}
	free(self_note);
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
	/* the answer, without the sender's signature */
	char *answer = str_trim(xstrndup(in->visible, visible_signature_at(in->visible, in->from_name, in->from)));
	ev(o, "info_answered", in->from, "%s", answer);
	set_state(env, o, ST_CDT_REVIEW, in->from);
	char *n = xasprintf("%d", in->n_att);
	for (size_t i = 0; i < env->cdt->n; i++) {
		struct engine_mail *m = case_mail(env, o, "info-answer", env->cdt->v[i], ROLE_CDT, 1, 0);
		var(m, "answer", answer);
		var(m, "attachments", n);
		m->attach = ENGINE_ATTACH_MAIL; /* the answer's documents go to CDT */
	}
	free(n);
	free(answer);
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
	char *cmds = role_commands_text(c, ROLE_REQUESTER);
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
	char *cmds = role_commands_text(c, ROLE_CDT);
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
	if (w == CMD_HELP) {
		help_answer(env, o, in);
		return;
	}
	if (w == CMD_HELP || w == CMD_FORM) {
		if (in->rate_limited || (!roles && !caseless_ok(o, in, w == CMD_HELP ? "help" : "form")))
			return;
		ev(o, w == CMD_HELP ? "help" : "form", in->from, "%s sent", w == CMD_HELP ? "help" : "form");
		mail(o, w == CMD_HELP ? "help" : "request-form", in->from, ROLE_NONE, 0, 1)->caseless = !roles;
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
		char *why = xasprintf("case %s is closed (%s).", c->id, state_text(c->state));
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
			m->attach = ENGINE_ATTACH_CASE; /* the CTO packet */
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
			      command_name(w), as == ROLE_AIO || as == ROLE_CIO || as == ROLE_CDT ||
			      as == ROLE_CTO ? role_label(as) : role_name(as), state_text(c->state));
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

/* A forwarded mail that holds no request form: the sender is told what was
 * found and what is missing (the form prefilled with what was read), never
 * the usage text; the mail waits in the operator queue. */
static void forward_without_form(struct engine_out *o, const struct engine_in *in)
{
	o->mail_kind = "other";
	ev(o, "no_form", in->from, "forwarded mail without a request form (%d form fields with a "
	   "value found)", in->form->filled);
	o->queue_reason = xstrdup("forwarded mail without a request form");
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no reply: rate limit reached");
		return;
	}
	char *prefilled = form_prefill_text(in->form);
	char *problems = form_problems_text(in->form);
	struct engine_mail *m = mail(o, "no-form", in->from, ROLE_NONE, 0, 1);
	var(m, "subject", in->subject);
	var(m, "problems", problems);
	var(m, "prefilled", prefilled);
	free(prefilled);
	free(problems);
}

/* ---- entry point ---- */

static void handle_mail(const struct engine_env *env, const struct case_rec *c,
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
		ev(o, "no_sender", "", "mail without exactly one From address%s%s", in->no_sender ? ": " : "",
		   in->no_sender ? in->no_sender : "");
		o->queue_reason = in->no_sender
			? xasprintf("no single From address: cannot tell who sent it (%s)", in->no_sender)
			: xstrdup("no single From address: cannot tell who sent it");
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
	if (w == CMD_HELP) {
		help_answer(env, o, in);
		return;
	}
	if (w == CMD_STATUS) {
		status_list(env, o, in);
		return;
	}
	if (w == CMD_HELP || w == CMD_FORM) {
		if (in->rate_limited) {
			ev(o, "rate_limited", in->from, "no %s reply: rate limit reached", w == CMD_HELP ? "help" : "form");
			return;
		}
		if (!caseless_ok(o, in, w == CMD_HELP ? "help" : "form"))
			return;
		ev(o, w == CMD_HELP ? "help" : "form", in->from, "%s sent", w == CMD_HELP ? "help" : "form");
		mail(o, w == CMD_HELP ? "help" : "request-form", in->from, ROLE_NONE, 0, 1)->caseless = 1;
		return;
	}
	if (form_is_request(in->form)) {
		new_request(env, o, in, in->form->renews ? in->renews : NULL);
		return;
	}
	if (in->forwarded) {
		forward_without_form(o, in);
		return;
	}
	/* Neither a request nor a reply: the usage text. */
	if (request_attempt(in))
		o->queue_reason = xasprintf("not recognised as a request (%d form label%s found): help %s",
					    in->form ? in->form->labels : 0,
					    in->form && in->form->labels == 1 ? "" : "s",
					    in->rate_limited ? "not sent (rate limit)" : "sent");
	if (in->rate_limited) {
		ev(o, "rate_limited", in->from, "no help reply: rate limit reached");
		return;
	}
	if (!caseless_ok(o, in, "help"))
		return;
	ev(o, "help", in->from, "not a request and not a reply to a case: help sent");
	mail(o, "help", in->from, ROLE_NONE, 0, 1)->caseless = 1;
}

void engine_handle(const struct engine_env *env, const struct case_rec *c,
		   const struct engine_in *in, struct engine_out *o)
{
	handle_mail(env, c, in, o);
	/* A mail left unanswered by the answer limit waits for the operator. */
	for (size_t i = 0; i < o->n_events && !o->queue_reason; i++)
		if (strcmp(o->events[i].kind, "answer_limited") == 0)
			o->queue_reason = xasprintf("not answered: %s", o->events[i].detail);
	queue_unanswered(o);
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
		free(o->mails[i].key_addressee);
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
	char *cmds = role_commands_text(&o->c, r);
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

/* ---- an operator's acts on one case (cgenctl) ---- */

/* The mails of the step a case (just re)entered waits on: what the parties
 * would have got had it come there by mail. */
static void step_requests(const struct engine_env *env, struct engine_out *o, unsigned only)
{
	struct case_rec *c = &o->c;
	const struct entity *e = case_entity(env, c);
	unsigned w = case_waiting_on(c) & only;
	if ((w & (R(ROLE_AIO) | R(ROLE_CIO))) && e) {
		if ((w & R(ROLE_AIO)) && (w & R(ROLE_CIO)) && addr_equal(e->aio, e->cio)) {
			var(case_mail(env, o, "approval-request", e->aio, ROLE_AIO, 1, 0), "role_text",
			    "AIO and CIO");
		} else {
			if ((w & R(ROLE_AIO)) && e->aio)
				var(case_mail(env, o, "approval-request", e->aio, ROLE_AIO, 1, 0),
				    "role_text", "AIO");
			if ((w & R(ROLE_CIO)) && e->cio)
				var(case_mail(env, o, "approval-request", e->cio, ROLE_CIO, 1, 0),
				    "role_text", "CIO");
		}
	}
	if (w & R(ROLE_CDT))
		to_cdt(env, o, "cdt-review", NULL, NULL);
	if (w & R(ROLE_CTO)) {
		const char *rec = c->recommendation ? c->recommendation : "APPROVE";
		int approve = str_startswith_ci(rec, "APPROVE");
		const char *rationale = rec + strcspn(rec, " ");
		while (*rationale == ' ')
			rationale++;
		struct engine_mail *m = case_mail(env, o, "cto-review", env->cto, ROLE_CTO, 1, 0);
		var(m, "recommendation", approve ? "APPROVE" : "DENY");
		var(m, "rationale", rationale);
		var(m, "recommended_by", "CDT");
	}
}

static int op_fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int op_fail(char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*why = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

int engine_operator(const struct engine_env *env, const struct case_rec *c,
		    const struct engine_op_in *in, struct engine_out *o, char **why)
{
	memset(o, 0, sizeof *o);
	*why = NULL;
	if (!in->reason || !*in->reason || !in->by || !*in->by)
		return op_fail(why, "the operator (--by) and a reason (--reason) are required");
	char *actor = xasprintf("operator:%s", in->by);
	int rc = -1;
	o->mail_kind = "other";
	case_copy(&o->c, c);
	o->has_case = 1;
	struct case_rec *oc = &o->c;
	const char *state = case_state_name(c->state);

	switch (in->op) {
	case OP_APPROVE:
		if ((in->role == ROLE_AIO || in->role == ROLE_CIO) && c->state == ST_AWAITING_APPROVALS) {
			enum approval *ap = in->role == ROLE_AIO ? &oc->aio : &oc->cio;
			if (*ap != AP_PENDING) {
				op_fail(why, "the %s's approval of %s is already %s", role_name(in->role),
					c->id, approval_name(*ap));
				goto out;
			}
			*ap = AP_APPROVED;
			ev(o, "approved", actor, "%s approval given outside mail, recorded by %s: %s",
			   in->role == ROLE_AIO ? "AIO" : "CIO", in->by, in->reason);
			oc->updated = env->now;
			o->changed = 1;
			if (oc->aio == AP_APPROVED && oc->cio == AP_APPROVED) {
				set_state(env, o, ST_CDT_REVIEW, actor);
				to_cdt(env, o, "cdt-review", NULL, NULL);
				notice(env, o, "Your entity's AIO and CIO approved the request. It is now under "
					       "review at CDT.");
			}
		} else if (in->role == ROLE_CTO && c->state == ST_CTO_DECISION) {
			str_set(&oc->decision, in->reason);
			ev(o, "decided", actor, "granted (decision given outside mail, recorded by %s): %s",
			   in->by, in->reason);
			set_state(env, o, ST_GRANTED, actor);
			notify_all(env, o, "decision", R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT),
				   "decision_text", in->reason);
		} else {
			op_fail(why, "%s is %s: an approval by the %s cannot be recorded now (AIO and CIO "
				     "approve in awaiting_approvals, the CTO in cto_decision)",
				c->id, state, role_name(in->role));
			goto out;
		}
		break;
	case OP_REASSIGN:
		if (!case_state_open(c->state)) {
			op_fail(why, "%s is closed (%s): reopen it first", c->id, state);
			goto out;
		}
		if (!in->addr || !addr_valid(in->addr)) {
			op_fail(why, "\"%s\" is not a mail address", in->addr ? in->addr : "");
			goto out;
		}
		if (in->role == ROLE_REQUESTER) {
			if (addr_equal(c->requester, in->addr)) {
				op_fail(why, "%s is already the requester of %s", in->addr, c->id);
				goto out;
			}
			str_set(&oc->requester, in->addr);
		} else if (in->role != ROLE_AIO && in->role != ROLE_CIO) {
			op_fail(why, "only the requester, the aio and the cio of a case can be reassigned");
			goto out;
		}
		ev(o, "reassigned", actor, "%s of this case: %s instead of %s, by %s: %s",
		   role_name(in->role), in->addr, in->old_addr ? in->old_addr : "(none)", in->by,
		   in->reason);
		oc->updated = env->now;
		o->changed = 1;
		if (in->role == ROLE_REQUESTER) {
			char *t = xasprintf("CDT made you the requester of this case in place of %s (%s).",
					    in->old_addr ? in->old_addr : "the former requester", in->reason);
			notice(env, o, t);
			free(t);
		} else {
			step_requests(env, o, R(in->role));
		}
		break;
	case OP_CANCEL:
		if (!case_state_open(c->state)) {
			op_fail(why, "%s is already closed (%s)", c->id, state);
			goto out;
		}
		ev(o, "cancelled", actor, "cancelled by %s: %s", in->by, in->reason);
		set_state(env, o, ST_WITHDRAWN, actor);
		notify_all(env, o, "cancelled", R(ROLE_REQUESTER) | R(ROLE_AIO) | R(ROLE_CIO) | R(ROLE_CDT),
			   "reason", in->reason);
		break;
	case OP_REOPEN:
		if (case_state_open(c->state)) {
			op_fail(why, "%s is open (%s): only a closed case can be reopened", c->id, state);
			goto out;
		}
		if (!case_state_open(in->state) || in->state == ST_RECEIVED) {
			op_fail(why, "a case reopens in incomplete, awaiting_approvals, cdt_review, "
				     "awaiting_info or cto_decision, not %s", case_state_name(in->state));
			goto out;
		}
		if (in->state == ST_AWAITING_APPROVALS) {
			/* what the approvers decided before is asked again */
			if (oc->aio == AP_REJECTED)
				oc->aio = AP_PENDING;
			if (oc->cio == AP_REJECTED)
				oc->cio = AP_PENDING;
		}
		ev(o, "reopened", actor, "reopened by %s in %s: %s", in->by, case_state_name(in->state),
		   in->reason);
		set_state(env, o, in->state, actor);
		{
			char *t = xasprintf("CDT reopened this request: %s", in->reason);
			notice(env, o, t);
			free(t);
		}
		step_requests(env, o, ~R(ROLE_REQUESTER));
		break;
	}
	rc = 0;
out:
	free(actor);
	if (rc != 0)
		engine_out_free(o);
	return rc;
}
