/* case.h: a case and its vocabulary (states, roles, approvals) as plain data. */
#ifndef CGEN_CASE_H
#define CGEN_CASE_H

#include <stdint.h>
#include <time.h>

enum case_state {
	ST_RECEIVED = 0,
	ST_INCOMPLETE,
	ST_NOT_REQUIRED,
	ST_AWAITING_APPROVALS,
	ST_CDT_REVIEW,
	ST_AWAITING_INFO,
	ST_CTO_DECISION,
	ST_GRANTED,
	ST_DENIED,
	ST_REJECTED,
	ST_WITHDRAWN,
	ST_ALTERNATIVE_PROPOSED,  /* CDT proposed a CGEN alternative; waits on the requester */
	ST_ALTERNATIVE_ACCEPTED,  /* the requester accepted it (closed) */
	ST__COUNT
};

enum role {
	ROLE_NONE = 0,
	ROLE_REQUESTER,
	ROLE_AIO,
	ROLE_CIO,
	ROLE_CDT,
	ROLE_CTO,
	ROLE__COUNT
};

enum approval { AP_PENDING = 0, AP_APPROVED, AP_REJECTED };

struct case_rec {
	char id[24];             /* "CGEN-2026-0042" (no brackets) */
	enum case_state state;
	char *entity;            /* entity code, or NULL while unknown */
	char *requester;         /* bare lowercase address */
	enum approval aio, cio;
	int step;                /* grows by one each time the case enters a new waiting
				    stage; reply keys are bound to it */
	char *subject;           /* subject of the original request */
	char *request_msgid;     /* Message-ID of the original request (threading) */
	char *fields_json;       /* form fields, JSON object (form_fields_json) */
	char *problems_json;     /* JSON array of {field,message}, "[]" when none */
	char *summary;           /* readable form summary for notifications */
	char *recommendation;    /* "APPROVE rationale" / "DENY rationale", or NULL */
	char *decision;          /* CTO's conditions or reason, or NULL */
	int reminders;           /* reminders sent in the current step */
	int overdue;             /* 1 once max_reminders were sent and CDT told */
	time_t created;          /* receipt of the request (UTC) */
	time_t updated;          /* last change */
	time_t state_since;      /* when the current state was entered */

	/* The exemption's life after the decision (alternatives, conditions,
	 * renewal). The CTO's conditions are `decision` of a granted case. */
	char *alternative;       /* CDT's proposed CGEN alternative (the latest), or NULL */
	time_t decided;          /* when the CTO granted it; 0 when not granted */
	int term_months;         /* contract term in months as read from the request; 0 unknown */
	int extension_months;    /* extensions CDT approved, in months */
	time_t end_set;          /* when the end date was last set (grant or extension) */
	int ext_months;          /* an extension asked and waiting on CDT: months; 0 none */
	char *ext_reason;        /* its reason, and who asked (address) */
	char *ext_by;
	char *renews;            /* id of the granted exemption this request renews, or NULL */
	char *renews_text;       /* that exemption's decision, conditions and end, for people */
	char *renewed_by;        /* id of the request that renews this exemption, or NULL */
	int expiry_notice;       /* days before the end of the last expiry notice sent; 0 none;
				    -1 once the end itself was recorded */
};

/* Stable names (DESIGN.md section 3/7). */
const char *case_state_name(enum case_state s);
int case_state_parse(const char *s, enum case_state *out); /* 0 or -1 */
int case_state_open(enum case_state s);
const char *role_name(enum role r);      /* "requester", "aio", ...; "" for NONE */
int role_parse(const char *s, enum role *out); /* 0 or -1 */
const char *approval_name(enum approval a); /* "pending"|"approved"|"rejected" */
int approval_parse(const char *s, enum approval *out);

/* Roles a case in state s waits on, given its approvals, as a bitmask of
 * (1 << ROLE_x); 0 when closed. */
unsigned case_waiting_on(const struct case_rec *c);

/* Deep copy / free of the allocated members (the struct itself is the caller's). */
void case_copy(struct case_rec *dst, const struct case_rec *src);
void case_clear(struct case_rec *c);

#endif
