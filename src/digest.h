/* digest.h: the daily digests of DESIGN.md section 5, built as text and HTML
 * from plain structs (pure: no store, no clock, no mail).
 *
 * The CDT digest: counts per state; every open case with entity, age, the step
 * it waits on, who and since when, overdue first; decisions, bounces and
 * refused commands of the last day; the head of the event hash chain. The
 * approver digest: one mail per AIO, CIO or CTO listing the cases waiting on
 * them, each with mailto: links that answer that case with its own reply key.
 * The HTML uses tables and inline styles only (no <style>, no script), and
 * every value is escaped. */
#ifndef CGEN_DIGEST_H
#define CGEN_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "case.h"
#include "engine.h"
#include "store.h"
#include "util.h"

struct digest_mail {
	char *subject;           /* UTF-8, one line */
	char *text;              /* text/plain body, LF line ends */
	char *html;              /* text/html body: a whole document */
};
void digest_mail_free(struct digest_mail *m);

struct digest_in {
	const struct engine_env *env;       /* directory, cdt, cto, now */
	const struct engine_timing *timing; /* reminder threshold of the age bars */
	const struct case_rec *cases;       /* all cases (counts); open ones are listed */
	size_t n_cases;
	const struct event_rec *events;     /* the events of the last 24 hours, in order */
	size_t n_events;
	const char *head;                   /* chain head (hex), count and, when the */
	int64_t chain_len;                  /* chain does not verify, the finding */
	const char *chain_problem;          /* (else NULL) */
	const int *state_counts;            /* the store's cases per state (ST__COUNT of
					       them): cases then need hold only the open
					       ones, the grants near their end and those
					       the events name; NULL: cases are all */
};

/* Builds the CDT digest into *out (free with digest_mail_free). */
void digest_cdt(const struct digest_in *in, struct digest_mail *out);

/* One case of an approver digest: the case, the addressee's role in it and
 * the reply key of the step's request to that addressee (replykey_make with
 * the case id, its step, the role's name and the addressee). */
struct digest_item {
	const struct case_rec *c;
	enum role role;                     /* ROLE_AIO, ROLE_CIO or ROLE_CTO */
	const char *key;
};

struct digest_approver_in {
	const struct engine_env *env;
	const char *to;                     /* the approver */
	const struct digest_item *items;
	size_t n;
	const char *agent_addr;             /* bare agent address, "cgen@cdt.ca.gov" */
	int reply_plain;                    /* 1: keys go in a "Ref: KEY" body line */
};

/* Builds one approver digest into *out (free with digest_mail_free). Each case
 * gets mailto: links (APPROVE and REJECT; APPROVE and DENY for the CTO) to
 * agent+KEY@domain, or to the plain address with "Ref: KEY" in the body. */
void digest_approver(const struct digest_approver_in *in, struct digest_mail *out);

/* A mailto: URI (RFC 6068): to as it is, subject and body percent-encoded
 * (UTF-8, everything but unreserved characters; LF becomes %0D%0A). Allocated. */
char *digest_mailto(const char *to, const char *subject, const char *body);
/* Appends s with & < > " ' escaped as HTML entities (s NULL: nothing). */
void digest_html_escape(struct buf *b, const char *s);

#endif
