/* case.c: see case.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "util.h"

static const char *const state_names[ST__COUNT] = {
	"received", "incomplete", "not_required", "awaiting_approvals", "cdt_review",
	"awaiting_info", "cto_decision", "granted", "denied", "rejected", "withdrawn",
	"alternative_proposed", "alternative_accepted",
};

static const char *const role_names[ROLE__COUNT] = {
	"", "requester", "aio", "cio", "cdt", "cto",
};

static const char *const approval_names[] = {"pending", "approved", "rejected"};

const char *case_state_name(enum case_state s)
{
	return (unsigned)s < ST__COUNT ? state_names[s] : "unknown";
}

int case_state_parse(const char *s, enum case_state *out)
{
	for (int i = 0; i < ST__COUNT; i++)
		if (s && strcmp(s, state_names[i]) == 0) {
			*out = (enum case_state)i;
			return 0;
		}
	return -1;
}

int case_state_open(enum case_state s)
{
	switch (s) {
	case ST_RECEIVED:
	case ST_INCOMPLETE:
	case ST_AWAITING_APPROVALS:
	case ST_CDT_REVIEW:
	case ST_AWAITING_INFO:
	case ST_CTO_DECISION:
	case ST_ALTERNATIVE_PROPOSED:
		return 1;
	default:
		return 0;
	}
}

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE__COUNT ? role_names[r] : "";
}

int role_parse(const char *s, enum role *out)
{
	for (int i = 1; i < ROLE__COUNT; i++)
		if (s && strcmp(s, role_names[i]) == 0) {
			*out = (enum role)i;
			return 0;
		}
	return -1;
}

const char *approval_name(enum approval a)
{
	return (unsigned)a < ARRAY_LEN(approval_names) ? approval_names[a] : "pending";
}

int approval_parse(const char *s, enum approval *out)
{
	for (unsigned i = 0; i < ARRAY_LEN(approval_names); i++)
		if (s && strcmp(s, approval_names[i]) == 0) {
			*out = (enum approval)i;
			return 0;
		}
	return -1;
}

unsigned case_waiting_on(const struct case_rec *c)
{
	switch (c->state) {
	case ST_RECEIVED:
		return 0;
	case ST_INCOMPLETE:
	case ST_AWAITING_INFO:
	case ST_ALTERNATIVE_PROPOSED:
		return 1u << ROLE_REQUESTER;
	case ST_AWAITING_APPROVALS:
		return (c->aio == AP_PENDING ? 1u << ROLE_AIO : 0) |
		       (c->cio == AP_PENDING ? 1u << ROLE_CIO : 0);
	case ST_CDT_REVIEW:
		return 1u << ROLE_CDT;
	case ST_CTO_DECISION:
		return 1u << ROLE_CTO;
	default:
		return 0;
	}
}

void case_copy(struct case_rec *dst, const struct case_rec *src)
{
	*dst = *src;
	dst->entity = xstrdup(src->entity);
	dst->requester = xstrdup(src->requester);
	dst->subject = xstrdup(src->subject);
	dst->request_msgid = xstrdup(src->request_msgid);
	dst->fields_json = xstrdup(src->fields_json);
	dst->problems_json = xstrdup(src->problems_json);
	dst->summary = xstrdup(src->summary);
	dst->recommendation = xstrdup(src->recommendation);
	dst->decision = xstrdup(src->decision);
	dst->alternative = xstrdup(src->alternative);
	dst->ext_reason = xstrdup(src->ext_reason);
	dst->ext_by = xstrdup(src->ext_by);
	dst->renews = xstrdup(src->renews);
	dst->renews_text = xstrdup(src->renews_text);
	dst->renewed_by = xstrdup(src->renewed_by);
}

void case_clear(struct case_rec *c)
{
	free(c->entity);
	free(c->requester);
	free(c->subject);
	free(c->request_msgid);
	free(c->fields_json);
	free(c->problems_json);
	free(c->summary);
	free(c->recommendation);
	free(c->decision);
	free(c->alternative);
	free(c->ext_reason);
	free(c->ext_by);
	free(c->renews);
	free(c->renews_text);
	free(c->renewed_by);
	memset(c, 0, sizeof *c);
}
