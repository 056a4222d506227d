/* test_requests.c: the request conformance suite. Each mail goes the agent's
 * way (message_parse, visible_text, command_parse, request_read,
 * engine_handle with the directory tests/request-mails/entities.csv) and the
 * outcome is compared with what a user expects, written in a .want file:
 *
 *  - tests/request-mails/NAME.eml with NAME.want beside it: request mails in
 *    the shapes of Outlook desktop, Outlook on the web, Gmail, Apple Mail
 *    and plain-text clients (QP, base64, 8bit, windows-1252, format=flowed),
 *    forwards, attachments, complete and incomplete ones;
 *  - ../shared/reports/user-trial/NN-*.eml, read in place (the points are
 *    skipped when the folder is absent), with
 *    tests/request-mails/user-trial/NN.want.
 *
 * A .want file holds "key: value" lines:
 *   case: incomplete   the mail is the requester's keyed reply on an
 *                      incomplete case (a corrected form), not a new mail
 *   state: S           the case's state after the mail, "none" for no case
 *   entity: CODE       the case's entity
 *   mail: TEMPLATE     the template of the answer to the sender
 *   note: TEXT         text the answer's form_note holds
 *   queue: TEXT        text the operator queue reason holds (none: no entry)
 *   fields: JSON       the case's fields, exactly (so no signature, no
 *                      disclaimer and nothing invented is in any of them)
 *   problems: JSON     the case's problems (or those of a forward's answer),
 *                      exactly, as cgenctl show --json gives them
 *   prefilled:         the rest of the file is the prefilled form mailed
 *                      back, exactly
 * With REQUESTS_SHOW=1 in the environment each outcome is printed in that
 * form. Plain TAP: one point per mail. */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "directory.h"
#include "engine.h"
#include "form.h"
#include "message.h"
#include "request.h"
#include "util.h"
#include "visible.h"

static int points, failures, skipped;

static int slurp(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
	if (!b->s)
		buf_adds(b, "");
	return 0;
}

static const char *var_of(const struct engine_mail *m, const char *name)
{
	for (size_t i = 0; i + 1 < m->vars.n; i += 2)
		if (strcmp(m->vars.v[i], name) == 0)
			return m->vars.v[i + 1];
	return NULL;
}

/* The outcome of one mail in the .want format. Allocated. */
static char *outcome(const struct directory *dir, const char *raw, size_t len, int on_case,
		     struct strv *notes)
{
	struct message m = {0};
	struct buf o = {0};
	if (message_parse(raw, len, &m) != 0) {
		buf_adds(&o, "state: none\nmail: (not a mail)\n");
		message_free(&m);
		return buf_steal(&o);
	}
	char *visible = visible_text(m.text);
	struct command cmd = {0};
	command_parse(visible, &cmd);
	struct form form = {0};
	struct request_read found = {0};
	request_read(raw, len, &m, visible, "cgen@cdt.ca.gov", !on_case, &form, &found);

	struct strv cdt = {0};
	strv_add(&cdt, "review1@cdt.ca.gov");
	struct engine_env env = {
		.dir = dir, .cdt = &cdt, .cto = "cto@cdt.ca.gov", .agent_addr = "cgen@cdt.ca.gov",
		.now = 1796600000, .next_case_id = "CGEN-2026-0001",
	};
	struct case_rec c = {0};
	struct engine_key key = {0};
	if (on_case) {
		/* The requester's case, incomplete, as the store holds it. */
		snprintf(c.id, sizeof c.id, "CGEN-2026-0001");
		c.state = ST_INCOMPLETE;
		c.requester = xstrdup(m.from_addr);
		c.step = 2;
		c.subject = xstrdup("CGEN exemption request");
		c.fields_json = xstrdup("{}");
		c.problems_json = xstrdup("[]");
		c.summary = xstrdup("");
		key = (struct engine_key){c.id, c.step, ROLE_REQUESTER, c.requester};
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
		.key = on_case ? &key : NULL,
		.tag_case = on_case ? c.id : NULL,
		.n_att = (int)m.n_att,
		.unreadable = m.unreadable,
		.form_note = found.note,
		.forwarded = found.forwarded,
	};
	struct engine_out out = {0};
	engine_handle(&env, on_case ? &c : NULL, &in, &out);

	buf_addf(&o, "state: %s\n", out.has_case ? case_state_name(out.c.state) : "none");
	if (out.has_case && out.c.entity)
		buf_addf(&o, "entity: %s\n", out.c.entity);
	const struct engine_mail *answer = NULL;
	for (size_t i = 0; i < out.n_mails && !answer; i++)
		if (m.from_addr && strcmp(out.mails[i].to, m.from_addr) == 0)
			answer = &out.mails[i];
	buf_addf(&o, "mail: %s\n", answer ? answer->tmpl : "(none)");
	const char *note = answer ? var_of(answer, "form_note") : NULL;
	if (note && *note)
		strv_add(notes, note);
	if (out.queue_reason)
		buf_addf(&o, "queue: %s\n", out.queue_reason);
	if (out.has_case && out.c.fields_json)
		buf_addf(&o, "fields: %s\n", out.c.fields_json);
	/* The problems: the case's, or those of a forward's answer. */
	if (out.has_case && out.c.problems_json && strcmp(out.c.problems_json, "[]") != 0)
		buf_addf(&o, "problems: %s\n", out.c.problems_json);
	if (!out.has_case && answer && strcmp(answer->tmpl, "no-form") == 0) {
		char *pj = form_problems_json(&form);
		buf_addf(&o, "problems: %s\n", pj);
		free(pj);
	}
	const char *pre = answer ? var_of(answer, "prefilled") : NULL;
	if (pre)
		buf_addf(&o, "prefilled:\n%s", pre);

	engine_out_free(&out);
	case_clear(&c);
	strv_free(&cdt);
	request_read_free(&found);
	form_free(&form);
	command_free(&cmd);
	free(visible);
	message_free(&m);
	return buf_steal(&o);
}

/* Compares want (a .want file) with got; describes the first difference in
 * *why (allocated). Returns 1 when they agree. */
static int agrees(const char *want, const char *got, const struct strv *notes, char **why)
{
	struct buf w = {0}, g = {0};
	int on_case = 0;
	/* The comparable part of want: every line but "case:" and "note:". */
	for (const char *p = want; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (strncmp(p, "prefilled:", 10) == 0) {
			buf_adds(&w, p);
			break;
		}
		if (strncmp(p, "note: ", 6) == 0) {
			char *t = xstrndup(p + 6, n - 6 - (nl != NULL));
			int found = 0;
			for (size_t i = 0; i < notes->n && !found; i++)
				found = strstr(notes->v[i], t) != NULL;
			if (!found) {
				*why = xasprintf("note \"%s\" not in the answer", t);
				free(t);
				buf_free(&w);
				return 0;
			}
			free(t);
		} else if (strncmp(p, "case: ", 6) == 0) {
			on_case = 1;
		} else {
			buf_add(&w, p, n);
		}
		p += n;
	}
	(void)on_case;
	buf_adds(&g, got);
	int ok = strcmp(w.s ? w.s : "", g.s ? g.s : "") == 0;
	if (!ok) {
		/* the first line that differs */
		const char *a = w.s ? w.s : "", *b = g.s ? g.s : "";
		while (*a && *a == *b)
			a++, b++;
		while (a > (w.s ? w.s : "") && a[-1] != '\n')
			a--, b--;
		*why = xasprintf("want \"%.*s\", got \"%.*s\"", (int)strcspn(a, "\n"), a,
				 (int)strcspn(b, "\n"), b);
	}
	buf_free(&w);
	buf_free(&g);
	return ok;
}

static void run_one(const struct directory *dir, const char *eml, const char *wantf, const char *name)
{
	struct buf raw = {0}, want = {0};
	if (slurp(eml, &raw) != 0 || slurp(wantf, &want) != 0) {
		printf("not ok %d - %s: cannot read %s or %s\n", ++points, name, eml, wantf);
		failures++;
		buf_free(&raw);
		buf_free(&want);
		return;
	}
	int on_case = strncmp(want.s, "case: incomplete\n", 17) == 0;
	struct strv notes = {0};
	char *got = outcome(dir, raw.s, raw.len, on_case, &notes);
	if (getenv("REQUESTS_SHOW")) {
		printf("### %s\n%s", name, on_case ? "case: incomplete\n" : "");
		for (size_t i = 0; i < notes.n; i++)
			printf("# note: %s\n", notes.v[i]);
		printf("%s", got);
	}
	char *why = NULL;
	int ok = agrees(want.s, got, &notes, &why);
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", ++points, name, ok ? "" : ": ", ok ? "" : why);
	failures += !ok;
	free(why);
	free(got);
	strv_free(&notes);
	buf_free(&raw);
	buf_free(&want);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir ending with ext, sorted. */
static void list(const char *dir, const char *ext, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t k = strlen(ext);
	while (d && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > k && strcmp(e->d_name + n - k, ext) == 0)
			strv_add(out, e->d_name);
	}
	if (d)
		closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_name);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char *rdir = xasprintf("%s/tests/request-mails", top ? top : ".");
	char *csvf = xasprintf("%s/entities.csv", rdir);
	struct buf csv = {0};
	struct directory dir = {0};
	struct strv errs = {0};
	if (slurp(csvf, &csv) != 0 || directory_parse_csv(csv.s, csv.len, csvf, &dir, &errs) != 0) {
		printf("1..1\nnot ok 1 - %s: cannot load\n", csvf);
		return 1;
	}

	struct strv mails = {0};
	list(rdir, ".eml", &mails);
	size_t own = mails.n;
	for (size_t i = 0; i < mails.n; i++) {
		char *eml = xasprintf("%s/%s", rdir, mails.v[i]);
		char *want = xasprintf("%.*s.want", (int)(strlen(eml) - 4), eml);
		run_one(&dir, eml, want, mails.v[i]);
		free(eml);
		free(want);
	}
	printf("%s %d - at least 40 request mails of the suite (%zu)\n", own >= 40 ? "ok" : "not ok",
	       ++points, own);
	failures += own < 40;

	/* The user trial's request mails, read in place. */
	char *trial = xasprintf("%s/../shared/reports/user-trial", top ? top : ".");
	char *wdir = xasprintf("%s/user-trial", rdir);
	struct strv wants = {0}, trial_mails = {0};
	list(wdir, ".want", &wants);
	list(trial, ".eml", &trial_mails);
	for (size_t i = 0; i < wants.n; i++) {
		const char *found = NULL;
		for (size_t k = 0; k < trial_mails.n && !found; k++)
			if (strncmp(trial_mails.v[k], wants.v[i], 2) == 0 && trial_mails.v[k][2] == '-')
				found = trial_mails.v[k];
		if (!found) {
			printf("ok %d - user-trial %s # SKIP ../shared/reports/user-trial absent\n", ++points,
			       wants.v[i]);
			skipped++;
			continue;
		}
		char *eml = xasprintf("%s/%s", trial, found);
		char *want = xasprintf("%s/%s", wdir, wants.v[i]);
		char *name = xasprintf("user-trial %s", found);
		run_one(&dir, eml, want, name);
		free(eml);
		free(want);
		free(name);
	}
	printf("1..%d\n", points);
	strv_free(&wants);
	strv_free(&trial_mails);
	strv_free(&mails);
	strv_free(&errs);
	directory_free(&dir);
	buf_free(&csv);
	free(trial);
	free(wdir);
	free(csvf);
	free(rdir);
	return failures ? 1 : 0;
}
