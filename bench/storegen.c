/* storegen: a large store built with the engine, for bench/store.
 *
 *   storegen STORE SECRET_FILE TEMPLATE_DIR CASES [OPEN]
 *
 * Creates (or extends) the store with CASES cases spread over the ten years
 * before 2026-11-26 and takes each through a realistic path by calling the
 * case engine (engine_handle, engine_tick) with the mails people would send:
 * the request (one in twenty first incomplete, then corrected), the AIO's and
 * CIO's approvals (or a rejection, or a withdrawal), reminders to whoever is
 * late, CDT's questions and the requester's answers, alternatives, CDT's
 * recommendation and the CTO's decision. What the engine returns is stored the
 * way the agent stores it (the mail's bytes, the case, its events, each
 * notification rendered from the templates, queued, marked sent, and its
 * "mailed" event), a few thousand cases per transaction. The newest OPEN
 * cases (default 1 %, at most 5,000), opened in the last 30 days, stay open
 * at every step. Case ids come from the store (store_case_next_id), so a
 * second run adds to a store. Prints the number of cases, events and mails, and the
 * final states. Nothing here is written by SQL. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "case.h"
#include "command.h"
#include "compose.h"
#include "directory.h"
#include "engine.h"
#include "exemption.h"
#include "form.h"
#include "replykey.h"
#include "store.h"
#include "util.h"

#define N_ENT 60
#define N_STAFF 100
#define BATCH 2000
#define DAY 86400

struct gen {
	struct store *st;
	struct directory dir;
	struct strv cdt;
	struct templates *tpl;
	char secret[256];
	struct form forms[N_ENT];      /* a complete request of each entity */
	char *bodies[N_ENT];
	struct form bad_forms[N_ENT];  /* an incomplete one */
	char *bad_bodies[N_ENT];
	struct calendar cal;
	long long mails, events, msgs, fallback, unexpected;
	long long by_state[ST__COUNT];
	uint64_t rnd;
	time_t end;                    /* the store's present */
};

static void die(struct gen *g, const char *what)
{
	fprintf(stderr, "storegen: %s: %s\n", what, g->st ? store_errmsg(g->st) : "");
	exit(1);
}

static unsigned rnd(struct gen *g, unsigned n)
{
	g->rnd ^= g->rnd << 13;
	g->rnd ^= g->rnd >> 7;
	g->rnd ^= g->rnd << 17;
	return (unsigned)(g->rnd % n);
}

static void add_var(struct strv *v, const char *name, const char *value)
{
	strv_add(v, name);
	strv_add(v, value ? value : "");
}

/* One notification, as the agent queues it: the reply key, the rendered
 * mail in the outbox (sent a minute later) and its "mailed" event. */
static void queue(struct gen *g, const struct case_rec *c, const struct engine_mail *m,
		  const char *in_msgid, time_t now)
{
	char key[REPLYKEY_LEN + 1] = "";
	char *reply_to = NULL;
	if (m->keyed && c) {
		const char *for_addr = m->key_addressee ? m->key_addressee : m->to;
		replykey_make(g->secret, c->id, c->step, role_name(m->role), for_addr, key);
		if (store_key_add(g->st, key, c->id, c->step, role_name(m->role), for_addr) != STORE_OK)
			die(g, "key");
		reply_to = xasprintf("cgen+%s@cdt.ca.gov", key);
	}
	struct strv vars = {0};
	for (size_t i = 0; i + 1 < m->vars.n; i += 2)
		add_var(&vars, m->vars.v[i], m->vars.v[i + 1]);
	add_var(&vars, "agent_address", "cgen@cdt.ca.gov");
	add_var(&vars, "reply_address", reply_to ? reply_to : "cgen@cdt.ca.gov");
	add_var(&vars, "subject", c && c->subject ? c->subject : "CGEN exemption request");
	add_var(&vars, "form", "");
	add_var(&vars, "headline", c ? c->id : "");
	add_var(&vars, "history", "No history yet.");
	add_var(&vars, "documents", "None.");
	add_var(&vars, "key", key);
	add_var(&vars, "commands", "");
	char *subject = NULL, *body = NULL, *err = NULL;
	if (templates_render(g->tpl, m->tmpl, &vars, &subject, &body, &err) != 0) {
		g->fallback++;
		free(err);
		free(subject);
		free(body);
		subject = xasprintf("%s", m->tmpl);
		body = xasprintf("%s\n\n%s\n\nRef: %s\n", m->tmpl, c && c->summary ? c->summary : "",
				 key);
	}
	if (c) {
		char *s = xasprintf("[%s] %s", c->id, subject);
		free(subject);
		subject = s;
	}
	char *flowed = compose_flowed(body);
	int64_t id;
	if (store_outbox_next_id(g->st, &id) != STORE_OK)
		die(g, "outbox id");
	char *msgid = *key ? xasprintf("cgen.%s.%lld@cdt.ca.gov", key, (long long)id)
			   : xasprintf("cgen.n%lld.%lld@cdt.ca.gov", (long long)id, (long long)now);
	struct strv rcpts = {0};
	strv_add(&rcpts, m->to);
	struct outmail om = {
		.from = "CGEN Exemptions <cgen@cdt.ca.gov>",
		.reply_to = reply_to,
		.to = &rcpts,
		.subject = subject,
		.body = flowed,
		.message_id = msgid,
		.in_reply_to = in_msgid,
		.references = in_msgid,
		.date = now,
		.auto_replied = m->answer,
		.flowed = 1,
	};
	size_t len;
	char *data = compose_message(&om, &len);
	int64_t got;
	if (store_outbox_add(g->st, c ? c->id : NULL, "cgen@cdt.ca.gov", &rcpts, data, len, now, &got) !=
		    STORE_OK ||
	    store_outbox_sent(g->st, got, now + 60) != STORE_OK)
		die(g, "outbox");
	char *detail = xasprintf("%s to %s (%s, outbox %lld)", m->tmpl, m->to,
				 m->role ? role_name(m->role) : "sender", (long long)got);
	if (store_event_add(g->st, c ? c->id : NULL, now, "mailed", "agent", detail) != STORE_OK)
		die(g, "event");
	g->mails++;
	g->events++;
	free(detail);
	free(data);
	strv_free(&rcpts);
	free(msgid);
	free(flowed);
	free(subject);
	free(body);
	free(reply_to);
	strv_free(&vars);
}

/* Stores what the engine did with one mail or one tick. */
static void commit_out(struct gen *g, struct case_rec *c, int *have, struct engine_out *o,
		       int64_t msg_row, const char *in_msgid, time_t now)
{
	if (o->has_case && (o->changed || o->created)) {
		if (store_case_put(g->st, &o->c) != STORE_OK)
			die(g, "case");
		if (msg_row && o->created && store_message_set_case(g->st, msg_row, o->c.id) != STORE_OK)
			die(g, "mail case");
	}
	const char *cid = o->has_case ? o->c.id : NULL;
	for (size_t i = 0; i < o->n_events; i++) {
		if (store_event_add(g->st, cid, now, o->events[i].kind, o->events[i].actor,
				    o->events[i].detail) != STORE_OK)
			die(g, "event");
		g->events++;
	}
	if (cid && msg_row) {
		int version = o->created;
		for (size_t i = 0; i < o->n_events; i++)
			version |= strcmp(o->events[i].kind, "corrected") == 0;
		if (version && store_request_version_add(g->st, cid, msg_row, now) != STORE_OK)
			die(g, "request version");
	}
	for (size_t i = 0; i < o->n_mails; i++)
		queue(g, o->has_case ? &o->c : NULL, &o->mails[i], in_msgid, now);
	if (o->has_case && (o->changed || o->created)) {
		case_clear(c);
		case_copy(c, &o->c);
		*have = 1;
	}
}

static struct engine_env env_at(struct gen *g, time_t now)
{
	struct engine_env env = {
		.dir = &g->dir,
		.cdt = &g->cdt,
		.cto = "cto@cdt.ca.gov",
		.agent_addr = "cgen@cdt.ca.gov",
		.now = now,
		.next_case_id = "",
	};
	return env;
}

/* One mail from `from` with text body (a command, or the request form when
 * form is not NULL), as a reply with the key of role at the case's step when
 * role is not ROLE_NONE. The mail's bytes are stored. */
static void mail(struct gen *g, struct case_rec *c, int *have, const char *from, enum role role,
		 const char *body, const struct form *form, const char *next_id, time_t now,
		 const struct strv *approvers)
{
	static long long seq;
	char msgid[160];
	snprintf(msgid, sizeof msgid, "%lld.%lld.%s@%s", (long long)now, ++seq, next_id,
		 strchr(from, '@') + 1);
	const char *subject = *have ? c->subject : "CGEN exemption request";
	char date[64];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	char *raw = xasprintf("Return-Path: <%s>\r\nReceived: from mail.example by imap.cdt.ca.gov; %s\r\n"
			      "From: %s\r\nTo: cgen@cdt.ca.gov\r\nSubject: %s%s%s%s\r\nDate: %s\r\n"
			      "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
			      "Content-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n\r\n"
			      "On %s, CGEN Exemptions wrote:\r\n> Your request was received.\r\n",
			      from, date, from, *have ? "Re: [" : "", *have ? c->id : "", *have ? "] " : "",
			      subject, date, msgid, body, date);
	struct command cmd = {0};
	struct form none = {0};
	if (!form)
		command_parse(body, &cmd);
	struct engine_key key = {*have ? c->id : "", *have ? c->step : 0, role, from};
	struct engine_in in = {
		.from = from,
		.subject = subject,
		.message_id = msgid,
		.kind = MSG_NORMAL,
		.visible = body,
		.cmd = &cmd,
		.form = form ? form : &none,
		.key = role != ROLE_NONE ? &key : NULL,
		.tag_case = *have ? c->id : NULL,
		.approvers = approvers,
	};
	struct engine_env env = env_at(g, now);
	env.next_case_id = next_id;
	struct engine_out o;
	engine_handle(&env, *have ? c : NULL, &in, &o);
	char dedup[200];
	snprintf(dedup, sizeof dedup, "<%s>", msgid);
	char ref[32];
	snprintf(ref, sizeof ref, "1:%lld", seq);
	int64_t row;
	if (store_message_add(g->st, dedup, ref, raw, strlen(raw), o.mail_kind, from, subject,
			      o.has_case ? o.c.id : NULL, now, &row) != STORE_OK)
		die(g, "mail");
	g->msgs++;
	if (form && store_person_set(g->st, from, "Requester", now) != STORE_OK)
		die(g, "person");
	if (o.queue_reason) {
		g->unexpected++;
		if (g->unexpected <= 5)
			fprintf(stderr, "storegen: %s from %s queued: %s\n", *have ? c->id : "(new)", from,
				o.queue_reason);
	}
	commit_out(g, c, have, &o, row, msgid, now);
	engine_out_free(&o);
	command_free(&cmd);
	free(raw);
}

/* The clock at now on the case: reminders, overdue notices. */
static const int notice_days[] = {90, 30}; /* [workflow] expiry_notice's default */

static void tick(struct gen *g, struct case_rec *c, int *have, time_t now)
{
	struct engine_timing t = {.cal = &g->cal, .remind_after = 3, .max_reminders = 2,
				  .expiry_notice = notice_days, .n_expiry_notice = 2,
				  .notice_hour = 7};
	struct engine_env env = env_at(g, now);
	struct engine_out o;
	engine_tick(&env, c, &t, &o);
	if (o.changed)
		commit_out(g, c, have, &o, 0, c->request_msgid, now);
	engine_out_free(&o);
}

static int expect(struct gen *g, const struct case_rec *c, enum case_state s)
{
	if (c->state == s)
		return 1;
	g->unexpected++;
	if (g->unexpected <= 5)
		fprintf(stderr, "storegen: %s is %s, expected %s\n", c->id, case_state_name(c->state),
			case_state_name(s));
	return 0;
}

/* Case number i of n, opened at t. open_until: 0 to run the path to its end,
 * else the number of steps after which the case stays open. */
static void one_case(struct gen *g, long i, time_t t, int stop)
{
	struct case_rec c = {0};
	int have = 0;
	unsigned r = rnd(g, 100);
	int e = (int)rnd(g, N_ENT);
	const struct entity *ent = &g->dir.v[e];
	char req[96];
	snprintf(req, sizeof req, "staff%u@%s", rnd(g, N_STAFF), ent->domains.v[0]);
	struct tm tm;
	time_t tt = t;
	gmtime_r(&tt, &tm);
	int year = tm.tm_year + 1900;
	char next_id[24];
	if (store_case_next_id(g->st, year, next_id) != STORE_OK)
		die(g, "case id");
	struct strv approvers = {0};
	int steps = 0;
#define STEP() do { if (stop && ++steps >= stop) goto out; } while (0)
	(void)i;

	if (r < 5) { /* incomplete, then corrected on the thread */
		mail(g, &c, &have, req, ROLE_NONE, g->bad_bodies[e], &g->bad_forms[e], next_id, t, NULL);
		if (!have || !expect(g, &c, ent->exempt ? ST_NOT_REQUIRED : ST_INCOMPLETE) || ent->exempt)
			goto out;
		STEP();
		t += DAY + 3600;
		mail(g, &c, &have, req, ROLE_REQUESTER, g->bodies[e], &g->forms[e], next_id, t, NULL);
	} else {
		mail(g, &c, &have, req, ROLE_NONE, g->bodies[e], &g->forms[e], next_id, t, NULL);
	}
	if (!have)
		goto out;
	if (ent->exempt) {
		expect(g, &c, ST_NOT_REQUIRED);
		goto out;
	}
	if (!expect(g, &c, ST_AWAITING_APPROVALS))
		goto out;
	STEP();
	t += 3 * 3600;
	if (r >= 5 && r < 11) { /* the AIO refuses */
		mail(g, &c, &have, ent->aio, ROLE_AIO, "REJECT the budget does not allow it this year", NULL,
		     next_id, t, &approvers);
		expect(g, &c, ST_REJECTED);
		goto out;
	}
	if (r >= 11 && r < 15) { /* the requester withdraws */
		mail(g, &c, &have, req, ROLE_REQUESTER, "WITHDRAW", NULL, next_id, t, NULL);
		expect(g, &c, ST_WITHDRAWN);
		goto out;
	}
	mail(g, &c, &have, ent->aio, ROLE_AIO, "APPROVE", NULL, next_id, t, &approvers);
	strv_add(&approvers, ent->aio);
	STEP();
	if (r % 3 == 0) { /* the CIO is late: reminders */
		t += 5 * DAY;
		tick(g, &c, &have, t);
	}
	t += DAY;
	mail(g, &c, &have, ent->cio, ROLE_CIO, "Approve, thanks", NULL, next_id, t, &approvers);
	if (!expect(g, &c, ST_CDT_REVIEW))
		goto out;
	STEP();
	const char *cdt = g->cdt.v[rnd(g, (unsigned)g->cdt.n)];
	if (r >= 15 && r < 25) { /* CDT asks, the requester answers */
		t += 2 * DAY;
		mail(g, &c, &have, cdt, ROLE_CDT, "INFO Could a CGEN circuit at a nearby site serve it?",
		     NULL, next_id, t, NULL);
		if (!expect(g, &c, ST_AWAITING_INFO))
			goto out;
		STEP();
		t += DAY;
		mail(g, &c, &have, req, ROLE_REQUESTER,
		     "No: the nearest CGEN point of presence is 40 miles away.", NULL, next_id, t, NULL);
		if (!expect(g, &c, ST_CDT_REVIEW))
			goto out;
		STEP();
	}
	if (r >= 25 && r < 29) { /* an alternative, accepted */
		t += 2 * DAY;
		mail(g, &c, &have, cdt, ROLE_CDT, "PROPOSE CGEN metro Ethernet at 100 Mbps", NULL, next_id, t,
		     NULL);
		if (!expect(g, &c, ST_ALTERNATIVE_PROPOSED))
			goto out;
		STEP();
		t += DAY;
		mail(g, &c, &have, req, ROLE_REQUESTER, "ACCEPT", NULL, next_id, t, NULL);
		expect(g, &c, ST_ALTERNATIVE_ACCEPTED);
		goto out;
	}
	if (r % 4 == 1) { /* CDT is late */
		t += 5 * DAY;
		tick(g, &c, &have, t);
	}
	t += 3 * DAY;
	int deny = r >= 90;
	mail(g, &c, &have, cdt, ROLE_CDT,
	     deny ? "RECOMMEND DENY a CGEN service can meet the need"
		  : "RECOMMEND APPROVE no CGEN service at the site", NULL, next_id, t, NULL);
	if (!expect(g, &c, ST_CTO_DECISION))
		goto out;
	STEP();
	t += 2 * DAY;
	mail(g, &c, &have, "cto@cdt.ca.gov", ROLE_CTO,
	     deny ? "DENY use CGEN" : "APPROVE for the term of the contract", NULL, next_id, t, NULL);
	if (!expect(g, &c, deny ? ST_DENIED : ST_GRANTED) || deny)
		goto out;
	/* The exemption's expiry notices and its end, as the daily clock
	 * gave them, when they fall before the store's present. */
	long end_day = exemption_end_day(&c);
	for (int k = 0; end_day >= 0 && k < 3; k++) {
		time_t at = k < 2 ? exemption_notice_at(&g->cal, end_day, notice_days[k], 7, 0) + 600
				  : calendar_day_at(end_day, 7, 0) + 600;
		if (at >= g->end)
			break;
		tick(g, &c, &have, at);
	}
out:
	if (have)
		g->by_state[c.state]++;
	strv_free(&approvers);
	case_clear(&c);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_adds(&b, "");
	return b.s;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: storegen STORE SECRET_FILE TEMPLATE_DIR CASES [OPEN]\n");
		return 2;
	}
	static struct gen g;
	setenv("TZ", "America/Los_Angeles", 1); /* [workflow] timezone's default */
	tzset();
	g.rnd = 0x9e3779b97f4a7c15ULL;
	long n = atol(argv[4]);
	char *err = NULL;
	char *sec = read_file(argv[2]);
	if (!sec) {
		fprintf(stderr, "storegen: %s: cannot read\n", argv[2]);
		return 1;
	}
	snprintf(g.secret, sizeof g.secret, "%.*s", (int)strcspn(sec, "\r\n"), sec);
	free(sec);
	struct strv errs = {0};
	if (templates_load(argv[3], NULL, &g.tpl, &errs) != 0) {
		fprintf(stderr, "storegen: templates: %s\n", errs.n ? errs.v[0] : "?");
		return 1;
	}
	if (store_open(argv[1], &g.st, &err) != STORE_OK) {
		fprintf(stderr, "storegen: %s\n", err);
		return 1;
	}
	/* The directory: N_ENT entities, two of them exempt from CGEN. */
	struct buf csv = {0};
	buf_adds(&csv, "code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\n");
	for (int e = 0; e < N_ENT; e++)
		buf_addf(&csv, "E%02d,Department %02d,e%02d.ca.gov,aio@e%02d.ca.gov,cio@e%02d.ca.gov,,,%s\n",
			 e, e, e, e, e, e == 7 || e == 41 ? "Constitutional officer" : "");
	if (directory_parse_csv(csv.s, csv.len, "entities.csv", &g.dir, &errs) != 0) {
		fprintf(stderr, "storegen: directory: %s\n", errs.n ? errs.v[0] : "?");
		return 1;
	}
	buf_free(&csv);
	if (store_directory_replace(g.st, &g.dir) != STORE_OK)
		die(&g, "directory");
	strv_add(&g.cdt, "review1@cdt.ca.gov"); /* bench/store's config names this one */
	for (int e = 0; e < N_ENT; e++) {
		g.bodies[e] = xasprintf(
			"Entity: E%02d\nServices:\n"
			"- 2 x 100 Mbps Dedicated Internet Access at %d Industrial Blvd, West Sacramento, CA 95691\n"
			"Reason: no CGEN service at the site; the building is served by one carrier only\n"
			"Reason Category: availability\nContract Term: 36 months\nEarly Termination: none\n"
			"Extension Options: two one-year extensions\nTotal Cost: $97,560.00\nCost Items:\n"
			"- Installation: $1,200.00\n- Monthly service: $96,360.00\nProvider: Comcast Business\n"
			"\nThank you,\nDana Lee\nNetwork Services\n",
			e, 100 + e * 17);
		form_parse(g.bodies[e], &g.forms[e]);
		g.bad_bodies[e] = xasprintf("Entity: E%02d\nServices:\n- 100 Mbps fiber\nReason: faster\n"
					    "Provider: AT&T\n", e);
		form_parse(g.bad_bodies[e], &g.bad_forms[e]);
	}

	/* Ten years of cases up to Thursday 2026-11-26 16:00 UTC; the newest ones
	 * stay open, stopped at each step in turn. */
	const time_t end = g.end = 1795708800, span = 10 * 365 * (time_t)DAY;
	long open_n = argc == 6 ? atol(argv[5]) : (n / 100 < 5000 ? n / 100 : 5000);
	long open_from = n - (open_n < n ? open_n : n);
	int in_tx = 0;
	for (long i = 0; i < n; i++) {
		if (!in_tx) {
			if (store_begin(g.st) != STORE_OK)
				die(&g, "begin");
			in_tx = 1;
		}
		time_t t = end - 40 * (time_t)DAY - span + (time_t)((double)span * (double)i / (double)n);
		if (i >= open_from)
			t = end - 30 * (time_t)DAY + (time_t)((double)25 * DAY * (double)(i - open_from) /
							  (double)(n - open_from));
		one_case(&g, i, t, i >= open_from ? 1 + (int)(i % 6) : 0);
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (store_commit(g.st) != STORE_OK)
				die(&g, "commit");
			in_tx = 0;
		}
		if ((i + 1) % 100000 == 0)
			fprintf(stderr, "storegen: %ld cases\n", i + 1);
	}
	printf("cases %ld events %lld mails_in %lld mails_out %lld fallback_renders %lld unexpected %lld\n",
	       n, g.events, g.msgs, g.mails, g.fallback, g.unexpected);
	for (int s = 0; s < ST__COUNT; s++)
		if (g.by_state[s])
			printf("state %s %lld\n", case_state_name((enum case_state)s), g.by_state[s]);
	store_close(g.st);
	templates_free(g.tpl);
	directory_free(&g.dir);
	strv_free(&g.cdt);
	for (int e = 0; e < N_ENT; e++) {
		form_free(&g.forms[e]);
		free(g.bodies[e]);
		form_free(&g.bad_forms[e]);
		free(g.bad_bodies[e]);
	}
	return g.unexpected ? 3 : 0;
}
