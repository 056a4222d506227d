/* export.c: see export.h. Reads the store, writes and checks the folder. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "export.h"
#include "fs.h"
#include "json.h"
#include "form.h"
#include "report.h"

#define NAME_MAX_BYTES 100 /* attachment file names, before a "-N" suffix */
#define EXT_MAX_BYTES 16   /* an extension longer than this is not kept apart */
#define SUMS "SHA256SUMS"
#define INDEX "index.csv"
#define INDEX_HTML "index.html"
#define INDEX_HEADER "id,entity,requester,provider,total_cost_cents,received,granted,conditions\r\n"

/* ---- dates ---- */

int export_parse_date(const char *s, time_t *out)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	/* mktime normalises 2026-02-30 to March: such a date is refused */
	if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
		return -1;
	*out = t;
	return 0;
}

/* ---- attachment names ---- */

static int is_device_name(const char *s)
{
	static const char *const dev[] = {"CON", "PRN", "AUX", "NUL"};
	size_t n = strcspn(s, ".");
	for (size_t i = 0; i < ARRAY_LEN(dev); i++)
		if (n == 3 && strncasecmp(s, dev[i], 3) == 0)
			return 1;
	return n == 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0) &&
	       s[3] >= '1' && s[3] <= '9';
}

/* Drops trailing dots and spaces of b. */
static void trim_end(struct buf *b)
{
	while (b->len && (b->s[b->len - 1] == '.' || b->s[b->len - 1] == ' '))
		b->s[--b->len] = '\0';
}

/* One name made safe (see export.h); "" when nothing is left. Allocated. */
static char *safe_name(const char *name)
{
	struct buf b = {0};
	const unsigned char *p = (const unsigned char *)name;
	while (*p) {
		size_t k = utf8_valid_len(p, SIZE_MAX);
		int bad = k == 0 ||
			  (k == 1 && (*p < 0x20 || *p == 0x7f || strchr("/\\:*?\"<>|", *p))) ||
			  (k == 2 && p[0] == 0xc2 && p[1] < 0xa0) || /* C1 controls */
			  /* bidirectional overrides, which disguise an extension */
			  (k == 3 && p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
						      (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)));
		if (bad)
			buf_addc(&b, '_');
		else if (!(*p == '.' && b.len && b.s[b.len - 1] == '.') &&
			 !((*p == '.' || *p == ' ') && b.len == 0))
			buf_add(&b, (const char *)p, k);
		p += k ? k : 1;
	}
	trim_end(&b);
	if (b.len > NAME_MAX_BYTES) {
		const char *dot = strrchr(b.s, '.');
		size_t ext = dot && dot != b.s && strlen(dot) <= EXT_MAX_BYTES ? strlen(dot) : 0;
		char *e = xstrdup(b.s + b.len - ext);
		size_t cut = NAME_MAX_BYTES - ext;
		while (cut > 0 && ((unsigned char)b.s[cut] & 0xc0) == 0x80)
			cut--; /* not inside a UTF-8 sequence */
		b.len = cut;
		b.s[cut] = '\0';
		trim_end(&b);
		buf_adds(&b, e);
		free(e);
	}
	if (b.len && is_device_name(b.s)) {
		char *s = xasprintf("_%s", b.s);
		buf_free(&b);
		return s;
	}
	return buf_steal(&b);
}

static int name_taken(const struct strv *l, size_t from, const char *s)
{
	for (size_t i = from; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* Appends a safe, distinct name for raw (the idx-th attachment, from 1) to
 * out; names from out->v[from] on count as taken. */
static void name_add(struct strv *out, size_t from, const char *raw, size_t idx)
{
	char *s = safe_name(raw ? raw : "");
	if (!*s) {
		free(s);
		s = xasprintf("attachment-%zu", idx);
	}
	if (name_taken(out, from, s)) {
		const char *dot = strrchr(s, '.');
		size_t stem = dot && dot != s ? (size_t)(dot - s) : strlen(s);
		char *t = NULL;
		for (unsigned n = 2; !t || name_taken(out, from, t); n++) {
			free(t);
			t = xasprintf("%.*s-%u%s", (int)stem, s, n, s + stem);
		}
		free(s);
		s = t;
	}
	strv_add_own(out, s);
}

void export_attachment_names(const struct message *m, struct strv *out)
{
	size_t from = out->n;
	for (size_t i = 0; i < m->n_att; i++)
		name_add(out, from, m->att[i].name, i + 1);
}

int export_case_docs(struct store *st, const char *case_id, const char *from,
		     struct case_doc **out, size_t *n, char **err)
{
	struct case_msg *ms = NULL;
	size_t nm = 0;
	struct strv names = {0};
	*out = NULL;
	*n = 0;
	if (store_case_msgs(st, case_id, &ms, &nm) != STORE_OK) {
		*err = xasprintf("store: %s", store_errmsg(st));
		return EXPORT_ERR;
	}
	for (size_t i = 0; i < nm; i++) {
		if (from && !addr_equal(ms[i].from, from))
			continue;
		struct message m = {0};
		struct buf *att = NULL;
		if (message_parse_data(ms[i].raw, ms[i].len, &m, &att) == 0) {
			for (size_t k = 0; k < m.n_att; k++) {
				int dup = 0;
				for (size_t j = 0; j < *n && !dup; j++)
					dup = strcmp((*out)[j].sha256, m.att[k].sha256) == 0;
				if (dup)
					continue;
				*out = xrealloc(*out, (*n + 1) * sizeof **out);
				struct case_doc *d = &(*out)[(*n)++];
				memset(d, 0, sizeof *d);
				name_add(&names, 0, m.att[k].name, *n);
				d->name = xstrdup(names.v[names.n - 1]);
				d->type = xstrdup(m.att[k].type ? m.att[k].type : "application/octet-stream");
				d->size = att[k].len;
				memcpy(d->sha256, m.att[k].sha256, sizeof d->sha256);
				d->data = att[k].s ? att[k].s : xstrdup("");
				att[k].s = NULL;
				d->msg = ms[i].id;
				d->from = xstrdup(ms[i].from);
				d->at = ms[i].at;
			}
		}
		message_data_free(att, m.n_att);
		message_free(&m);
	}
	strv_free(&names);
	store_case_msgs_free(ms, nm);
	return EXPORT_OK;
}

void export_case_docs_free(struct case_doc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].type);
		free(v[i].data);
		free(v[i].from);
	}
	free(v);
}

/* ---- reading the store ---- */

/* Past the JSON string that starts at the quote p; its value decoded into out
 * when out is not NULL. */
static const char *json_string_end(const char *p, struct buf *out)
{
	for (p++; *p && *p != '"'; p++) {
		if (*p != '\\' || !p[1]) {
			if (out)
				buf_addc(out, *p);
			continue;
		}
		char c = *++p;
		unsigned cp = 0;
		if (c == 'u') {
			for (int k = 0; k < 4 && isxdigit((unsigned char)p[1]); k++) {
				p++;
				cp = cp * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0'
						  : tolower((unsigned char)*p) - 'a' + 10);
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* our writer never splits a code point */
		}
		if (!out)
			continue;
		if (c != 'u')
			buf_addc(out, c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r'
				   : c == 'b' ? '\b' : c == 'f' ? '\f' : c);
		else if (cp < 0x80)
			buf_addc(out, (char)cp);
		else if (cp < 0x800) {
			buf_addc(out, (char)(0xc0 | (cp >> 6)));
			buf_addc(out, (char)(0x80 | (cp & 0x3f)));
		} else {
			buf_addc(out, (char)(0xe0 | (cp >> 12)));
			buf_addc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
			buf_addc(out, (char)(0x80 | (cp & 0x3f)));
		}
	}
	return *p ? p + 1 : p;
}

/* The top-level value of key in a JSON object we wrote: strings decoded,
 * numbers as written; NULL when absent or null. Allocated. */
static char *json_top(const char *js, const char *key)
{
	const char *ws = " \t\r\n";
	const char *p = js ? js + strspn(js, ws) : "";
	if (*p++ != '{')
		return NULL;
	for (;;) {
		p += strspn(p, ws);
		if (*p != '"')
			return NULL;
		struct buf k = {0};
		p = json_string_end(p, &k);
		int match = k.s && strcmp(k.s, key) == 0;
		buf_free(&k);
		p += strspn(p, ws);
		if (*p++ != ':')
			return NULL;
		p += strspn(p, ws);
		if (*p == '"') {
			struct buf v = {0};
			p = json_string_end(p, match ? &v : NULL);
			if (match)
				return buf_steal(&v);
		} else {
			const char *start = p;
			int depth = 0;
			while (*p && (depth > 0 || (*p != ',' && *p != '}'))) {
				if (*p == '"') {
					p = json_string_end(p, NULL);
					continue;
				}
				depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
				p++;
			}
			if (match) {
				char *t = str_trim(xstrndup(start, (size_t)(p - start)));
				if (strcmp(t, "null") == 0) {
					free(t);
					return NULL;
				}
				return t;
			}
		}
		p += strspn(p, ws);
		if (*p++ != ',')
			return NULL;
	}
}

/* One CSV cell (RFC 4180). A cell a spreadsheet would take for a formula
 * (it starts with = + - @, TAB or CR) gets a leading ' inside quotes, as
 * OWASP's CSV injection rule says: shown as text, never evaluated. */
static void csv_field(struct buf *b, const char *v, int last)
{
	v = v ? v : "";
	int formula = *v && strchr("=+-@\t\r", *v) != NULL;
	if (formula || strpbrk(v, ",\"\r\n")) {
		buf_addc(b, '"');
		if (formula)
			buf_addc(b, '\'');
		for (; *v; v++) {
			if (*v == '"')
				buf_addc(b, '"');
			buf_addc(b, *v);
		}
		buf_addc(b, '"');
	} else
		buf_adds(b, v);
	buf_adds(b, last ? "\r\n" : ",");
}

void export_index_header(struct buf *b)
{
	buf_adds(b, INDEX_HEADER);
}

void export_index_row(struct buf *b, const struct case_rec *c)
{
	char rec[32], gr[32];
	report_rfc3339(c->created, rec);
	report_rfc3339(c->state_since, gr);
	char *prov = json_top(c->fields_json, "provider");
	char *cost = json_top(c->fields_json, "total_cost");
	csv_field(b, c->id, 0);
	csv_field(b, c->entity, 0);
	csv_field(b, c->requester, 0);
	csv_field(b, prov, 0);
	csv_field(b, cost, 0);
	csv_field(b, rec, 0);
	csv_field(b, gr, 0);
	csv_field(b, c->decision, 1);
	free(prov);
	free(cost);
}

/* One file of the export: path relative to the export folder, and bytes. */
struct file {
	char *rel;
	char *data;
	size_t len;
};

struct files {
	struct file *v;
	size_t n;
};

/* Adds a file; takes rel and data. */
static void files_add(struct files *f, char *rel, char *data, size_t len)
{
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n].rel = rel;
	f->v[f->n].data = data ? data : xstrdup("");
	f->v[f->n].len = data ? len : 0;
	f->n++;
}

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].rel);
		free(f->v[i].data);
	}
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* The outbox id of the decision mailed to the requester, from the "mailed"
 * event the agent wrote ("decision to ADDR (requester, outbox N)"); 0 when
 * there is none. The last one counts. */
static int64_t decision_outbox(const struct event_rec *ev, size_t n)
{
	static const char mark[] = " (requester, outbox ";
	for (size_t i = n; i-- > 0;) {
		if (strcmp(ev[i].kind, "mailed") != 0 || strncmp(ev[i].detail, "decision to ", 12) != 0)
			continue;
		const char *p = strstr(ev[i].detail, mark);
		char *end;
		if (!p || !isdigit((unsigned char)p[sizeof mark - 1]))
			continue;
		long long id = strtoll(p + sizeof mark - 1, &end, 10);
		if (strcmp(end, ")") == 0 && id > 0)
			return id;
	}
	return 0;
}

static void events_jsonl(struct buf *b, const struct event_rec *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct json j;
		json_init(&j, b);
		report_event_json(&j, &ev[i], 1);
		buf_addc(b, '\n');
	}
}

static int store_fail(struct store *st, char **err)
{
	*err = xasprintf("store: %s", store_errmsg(st));
	return EXPORT_ERR;
}

/* The files of case c's folder, in a fixed order, appended to out. */
static int case_files(struct store *st, const struct case_rec *c, struct files *out, char **err)
{
	char *raw = NULL, *data = NULL;
	size_t len;
	struct event_rec *ev = NULL;
	size_t nev = 0;
	struct buf b = {0};
	int rc = store_case_request_raw(st, c, &raw, &len);
	if (rc == STORE_ERR)
		return store_fail(st, err);
	if (rc == STORE_OK) /* the request first: the document the others come from */
		files_add(out, xasprintf("%s/request.eml", c->id), raw, len);
	/* every later version of the request (the corrected forms), in order */
	int64_t *ver = NULL;
	size_t nver = 0;
	if (store_request_versions(st, c->id, &ver, &nver) != STORE_OK)
		return store_fail(st, err);
	for (size_t i = 1; i < nver; i++) {
		rc = store_message_raw(st, ver[i], &raw, &len);
		if (rc == STORE_ERR) {
			free(ver);
			return store_fail(st, err);
		}
		if (rc == STORE_OK)
			files_add(out, xasprintf("%s/request-%zu.eml", c->id, i + 1), raw, len);
	}
	free(ver);
	/* every attachment of every mail on the case, each content once */
	struct case_doc *docs = NULL;
	size_t nd = 0;
	if (export_case_docs(st, c->id, NULL, &docs, &nd, err) != EXPORT_OK)
		return EXPORT_ERR;
	for (size_t i = 0; i < nd; i++) {
		files_add(out, xasprintf("%s/attachments/%s", c->id, docs[i].name), docs[i].data,
			  docs[i].size);
		docs[i].data = NULL;
	}
	export_case_docs_free(docs, nd);
	if (store_events(st, c->id, &ev, &nev) != STORE_OK)
		return store_fail(st, err);
	int64_t ob = decision_outbox(ev, nev);
	if (ob > 0) {
		rc = store_outbox_data(st, ob, c->id, &data, &len);
		if (rc == STORE_ERR) {
			store_events_free(ev, nev);
			return store_fail(st, err);
		}
		if (rc == STORE_OK)
			files_add(out, xasprintf("%s/decision.eml", c->id), data, len);
	}
	/* age_days as of the grant: the file stays the same from day to day */
	report_show_json(&b, c, ev, nev, c->state_since);
	len = b.len;
	files_add(out, xasprintf("%s/case.json", c->id), buf_steal(&b), len);
	events_jsonl(&b, ev, nev);
	len = b.len;
	files_add(out, xasprintf("%s/events.jsonl", c->id), buf_steal(&b), len);
	store_events_free(ev, nev);
	return EXPORT_OK;
}

/* ---- index.html: the central file for a browser ---- */

static void h_esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			buf_adds(b, "&amp;");
		else if (c == '<')
			buf_adds(b, "&lt;");
		else if (c == '>')
			buf_adds(b, "&gt;");
		else if (c == '"')
			buf_adds(b, "&quot;");
		else if (c == '\'')
			buf_adds(b, "&#39;");
		else if (c >= 0x20 && c != 0x7f)
			buf_addc(b, (char)c);
		else
			buf_addc(b, ' ');
	}
}

/* A relative link: path segments percent-encoded but for unreserved bytes. */
static void h_href(struct buf *b, const char *rel)
{
	static const char hx[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
		if (isalnum(*p) || strchr("-._~/", *p))
			buf_addc(b, (char)*p);
		else
			buf_addf(b, "%%%c%c", hx[*p >> 4], hx[*p & 15]);
}

#define TH "<th align=\"left\" style=\"padding:6px 10px;border-bottom:2px solid #1d3f72;text-align:left\">"
#define TD "<td valign=\"top\" style=\"padding:6px 10px;border-bottom:1px solid #d1d5db\">"

static void index_html_begin(struct buf *h)
{
	buf_adds(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<title>CGEN exemptions: central file</title>\n</head>\n"
		    "<body style=\"margin:16px;font-family:Arial,Helvetica,sans-serif;font-size:14px;"
		    "color:#1f2937;background-color:#ffffff\">\n"
		    "<h1 style=\"font-size:20px;color:#111827\">CGEN exemptions: central file</h1>\n"
		    "<p>One row per granted exemption. Each case folder holds every version of the "
		    "request as received (request.eml, then request-2.eml... for each corrected "
		    "form), every document of every mail on the case (attachments/), the decision "
		    "mailed to the requester (decision.eml), the case (case.json) and its events "
		    "(events.jsonl). SHA256SUMS lists the hash of every file; <code>cgenctl verify "
		    "DIR</code> checks them against the store. The same rows, for a spreadsheet: "
		    "<a href=\"index.csv\">index.csv</a>.</p>\n"
		    "<table role=\"table\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
		    "style=\"border-collapse:collapse\">\n<tr>" TH "Case</th>" TH "Entity</th>" TH
		    "Requester</th>" TH "Provider</th>" TH "Total cost</th>" TH "Received</th>" TH
		    "Granted</th>" TH "Conditions</th>" TH "Files</th></tr>\n");
}

static void index_html_row(struct buf *h, const struct case_rec *c, const struct files *fl)
{
	char rec[32], gr[32];
	report_rfc3339(c->created, rec);
	report_rfc3339(c->state_since, gr);
	char *prov = json_top(c->fields_json, "provider");
	char *cost = json_top(c->fields_json, "total_cost");
	char *money = cost && *cost && strspn(cost, "0123456789") == strlen(cost)
		? money_format(strtoll(cost, NULL, 10)) : xstrdup(cost ? cost : "");
	char *folder = xasprintf("%s/", c->id);
	buf_adds(h, "<tr>" TD "<a href=\"");
	h_href(h, folder);
	buf_adds(h, "\">");
	h_esc(h, c->id);
	buf_adds(h, "</a></td>" TD);
	h_esc(h, c->entity);
	buf_adds(h, "</td>" TD);
	h_esc(h, c->requester);
	buf_adds(h, "</td>" TD);
	h_esc(h, prov);
	buf_adds(h, "</td>" TD);
	h_esc(h, money);
	buf_adds(h, "</td>" TD);
	h_esc(h, rec);
	buf_adds(h, "</td>" TD);
	h_esc(h, gr);
	buf_adds(h, "</td>" TD);
	h_esc(h, c->decision);
	buf_adds(h, "</td>" TD);
	size_t docs = 0;
	int first = 1;
	for (size_t i = 0; i < fl->n; i++) {
		const char *rel = fl->v[i].rel + strlen(c->id) + 1;
		if (strncmp(rel, "attachments/", 12) == 0) {
			docs++;
			continue;
		}
		buf_adds(h, first ? "" : "<br>");
		first = 0;
		buf_adds(h, "<a href=\"");
		h_href(h, fl->v[i].rel);
		buf_adds(h, "\">");
		h_esc(h, rel);
		buf_adds(h, "</a>");
	}
	if (docs) {
		char *att = xasprintf("%s/attachments/", c->id);
		buf_adds(h, "<br><a href=\"");
		h_href(h, att);
		buf_addf(h, "\">%zu document%s</a>", docs, docs == 1 ? "" : "s");
		free(att);
	}
	buf_adds(h, "</td></tr>\n");
	free(folder);
	free(money);
	free(prov);
	free(cost);
}

static void index_html_end(struct buf *h, size_t n)
{
	buf_addf(h, "</table>\n<p>%zu exemption%s.</p>\n</body>\n</html>\n", n, n == 1 ? "" : "s");
}

/* ---- files on disk ---- */

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char dig[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, dig);
	hex_encode(dig, sizeof dig, out);
}

/* The bytes of the regular file path (never through a symbolic link).
 * 0, or -1 with errno (ENOENT when absent, EINVAL when not a regular file). */
static int read_all(const char *path, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat sb;
	struct buf b = {0};
	char chunk[65536];
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		buf_add(&b, chunk, (size_t)r);
	}
	close(fd);
	*len = b.len;
	*data = buf_steal(&b);
	return 0;
fail:;
	int e = errno;
	close(fd);
	buf_free(&b);
	errno = e;
	return -1;
}

/* 1 when path is a regular file holding exactly data. */
static int same_bytes(const char *path, const char *data, size_t len)
{
	char *old;
	size_t n;
	if (read_all(path, &old, &n) != 0)
		return 0;
	int same = n == len && memcmp(old, data, len) == 0;
	free(old);
	return same;
}

/* Replaces path with data: a temporary file in the same folder, written,
 * synced and renamed over path, then the folder synced. */
static int write_file(const char *path, const char *data, size_t len, char **err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	char *tmp = xasprintf("%s/.export-XXXXXX", dir);
	int rc = EXPORT_ERR, renamed = 0;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto out;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	int c = close(fd);
	fd = -1;
	if (c != 0 || rename(tmp, path) != 0)
		goto out;
	renamed = 1;
	if (fs_sync_dir(dir) != 0)
		goto out;
	rc = EXPORT_OK;
out:
	if (rc != EXPORT_OK) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (!renamed)
			unlink(tmp);
	}
	free(tmp);
	free(dir);
	return rc;
}

/* Makes folder path (mode 0700) unless it is one; a symbolic link is refused.
 * A new folder is made durable in its parent. */
static int ensure_dir(const char *path, char **err)
{
	struct stat sb;
	int made = fs_mkdir(path);
	if (made < 0 || lstat(path, &sb) != 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return EXPORT_ERR;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*err = xasprintf("%s: not a folder", path);
		return EXPORT_ERR;
	}
	if (made) {
		const char *slash = strrchr(path, '/');
		char *parent = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
				     : xstrdup(".");
		int r = fs_sync_dir(parent);
		free(parent);
		if (r != 0) {
			*err = xasprintf("%s: %s", path, strerror(errno));
			return EXPORT_ERR;
		}
	}
	return EXPORT_OK;
}

/* "CGEN-YEAR-NUM" as a folder name. */
static int is_case_id(const char *s)
{
	size_t n = strlen(s);
	if (n >= 24 || strncmp(s, "CGEN-", 5) != 0 || strspn(s + 5, "0123456789") != 4 || s[9] != '-')
		return 0;
	return strspn(s + 10, "0123456789") == n - 10 && n - 10 >= 4;
}

/* Folders of dir named like a case id (not symbolic links), into out. */
static int case_dirs(const char *dir, struct strv *out, char **err)
{
	DIR *d = opendir(dir);
	if (!d) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		return EXPORT_ERR;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat sb;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (is_case_id(e->d_name) && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			strv_add(out, e->d_name);
		free(p);
	}
	closedir(d);
	return EXPORT_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_sort(struct strv *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

/* In a list sorted with strv_sort. */
static int sorted_has(const struct strv *l, const char *s)
{
	return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

/* "HASH  path" lines; sorted by path. */
static int cmp_sum_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 66, *(char *const *)b + 66);
}

static char *sums_text(struct strv *lines)
{
	struct buf b = {0};
	if (lines->n)
		qsort(lines->v, lines->n, sizeof *lines->v, cmp_sum_line);
	for (size_t i = 0; i < lines->n; i++) {
		buf_adds(&b, lines->v[i]);
		buf_addc(&b, '\n');
	}
	return buf_steal(&b);
}

static void sum_add(struct strv *lines, const char *rel, const char *data, size_t len)
{
	char hex[65];
	sha256_hex(data, len, hex);
	strv_addf(lines, "%s  %s", hex, rel);
}

/* ---- the cases of an export ---- */

static int selected(const struct case_rec *c, const struct export_filter *f)
{
	if (!f)
		return 1;
	if (f->entity && (!c->entity || strcasecmp(c->entity, f->entity) != 0))
		return 0;
	return f->since <= 0 || c->state_since >= f->since;
}

/* The granted cases of the store, in store order, and the case folders of dir
 * (sorted). A folder that is not a granted case is named in *stray (or NULL). */
static int export_cases(struct store *st, const char *dir, struct case_rec **v, size_t *n,
			struct strv *present, struct strv *stray, char **err)
{
	if (case_dirs(dir, present, err) != EXPORT_OK)
		return EXPORT_ERR;
	strv_sort(present);
	if (store_case_list(st, case_state_name(ST_GRANTED), v, n) != STORE_OK)
		return store_fail(st, err);
	struct strv ids = {0};
	for (size_t i = 0; i < *n; i++)
		strv_add(&ids, (*v)[i].id);
	strv_sort(&ids);
	for (size_t i = 0; i < present->n; i++)
		if (!sorted_has(&ids, present->v[i]))
			strv_add(stray, present->v[i]);
	strv_free(&ids);
	return EXPORT_OK;
}

/* ---- export ---- */

static int put(const char *dir, const struct file *f, struct export_stats *stats, char **err)
{
	char *path = xasprintf("%s/%s", dir, f->rel);
	int rc = EXPORT_OK;
	if (same_bytes(path, f->data, f->len))
		stats->unchanged++;
	else if ((rc = write_file(path, f->data, f->len, err)) == EXPORT_OK)
		stats->written++;
	free(path);
	return rc;
}

/* Writes the folder of one case; its SHA256SUMS lines into sums. */
static int put_case(struct store *st, const char *dir, const struct case_rec *c,
		    struct strv *sums, struct export_stats *stats, struct buf *html, char **err)
{
	struct files fl = {0};
	int rc = case_files(st, c, &fl, err);
	if (rc == EXPORT_OK)
		index_html_row(html, c, &fl);
	char *cdir = xasprintf("%s/%s", dir, c->id);
	char *adir = xasprintf("%s/%s/attachments", dir, c->id);
	if (rc == EXPORT_OK)
		rc = ensure_dir(cdir, err);
	for (size_t i = 0; i < fl.n && rc == EXPORT_OK; i++) {
		if (strchr(fl.v[i].rel + strlen(c->id) + 1, '/') && (rc = ensure_dir(adir, err)) != EXPORT_OK)
			break;
		rc = put(dir, &fl.v[i], stats, err);
		sum_add(sums, fl.v[i].rel, fl.v[i].data, fl.v[i].len);
	}
	free(adir);
	free(cdir);
	files_free(&fl);
	return rc;
}

int export_granted(struct store *st, const char *dir, const struct export_filter *f,
		   struct export_stats *stats, char **err)
{
	struct export_stats dummy;
	struct case_rec *v = NULL;
	size_t n = 0;
	struct strv present = {0}, stray = {0}, sums = {0};
	struct buf index = {0}, html = {0};
	char *text = NULL;
	int rc = EXPORT_ERR;
	stats = stats ? stats : &dummy;
	memset(stats, 0, sizeof *stats);
	if (ensure_dir(dir, err) != EXPORT_OK ||
	    export_cases(st, dir, &v, &n, &present, &stray, err) != EXPORT_OK)
		goto out;
	if (stray.n) {
		*err = xasprintf("%s/%s: not a granted case of this store; nothing exported", dir,
				 stray.v[0]);
		goto out;
	}
	buf_adds(&index, INDEX_HEADER);
	index_html_begin(&html);
	for (size_t i = 0; i < n; i++) {
		if (!sorted_has(&present, v[i].id) && !selected(&v[i], f))
			continue;
		if (put_case(st, dir, &v[i], &sums, stats, &html, err) != EXPORT_OK)
			goto out;
		export_index_row(&index, &v[i]);
		stats->cases++;
	}
	index_html_end(&html, stats->cases);
	struct file fi = {INDEX, index.s, index.len};
	struct file fh = {INDEX_HTML, html.s, html.len};
	if (put(dir, &fi, stats, err) != EXPORT_OK || put(dir, &fh, stats, err) != EXPORT_OK)
		goto out;
	sum_add(&sums, INDEX, index.s, index.len);
	sum_add(&sums, INDEX_HTML, html.s, html.len);
	text = sums_text(&sums);
	struct file fs = {SUMS, text, strlen(text)};
	rc = put(dir, &fs, stats, err);
out:
	free(text);
	buf_free(&index);
	buf_free(&html);
	strv_free(&sums);
	strv_free(&stray);
	strv_free(&present);
	store_cases_free(v, n);
	return rc;
}

/* ---- verify ---- */

/* Every file below dir/rel (recursively, links not followed): regular files
 * into files, anything else into findings. */
static void list_tree(const char *dir, const char *rel, int depth, struct strv *files,
		      struct strv *findings)
{
	char *path = *rel ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
	DIR *d = depth < 8 ? opendir(path) : NULL;
	if (!d) {
		strv_addf(findings, "%s: cannot be read: %s", *rel ? rel : dir,
			  depth < 8 ? strerror(errno) : "nested too deep");
		free(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *p = xasprintf("%s/%s", dir, r);
		struct stat sb;
		if (lstat(p, &sb) != 0)
			strv_addf(findings, "%s: %s", r, strerror(errno));
		else if (S_ISDIR(sb.st_mode))
			list_tree(dir, r, depth + 1, files, findings);
		else if (S_ISREG(sb.st_mode))
			strv_add(files, r);
		else
			strv_addf(findings, "%s: not a regular file", r);
		free(p);
		free(r);
	}
	closedir(d);
	free(path);
}

/* Checks SHA256SUMS against the files; the listed paths into listed. */
static void check_sums(const char *dir, const struct strv *files, struct strv *listed,
		       struct strv *findings)
{
	char *path = xasprintf("%s/%s", dir, SUMS), *text;
	size_t len;
	if (read_all(path, &text, &len) != 0) {
		strv_addf(findings, "%s: %s", SUMS, errno == ENOENT ? "missing" : strerror(errno));
		free(path);
		return;
	}
	free(path);
	size_t line = 0;
	for (char *p = text, *nl; *p; p = nl) {
		nl = strchr(p, '\n');
		nl = nl ? (*nl = '\0', nl + 1) : p + strlen(p);
		line++;
		const char *rel = p + 66;
		if (strlen(p) < 67 || strspn(p, "0123456789abcdef") != 64 || p[64] != ' ' ||
		    p[65] != ' ' || *rel == '/' || strstr(rel, "..") || strchr(rel, '\\')) {
			strv_addf(findings, "%s line %zu: not a \"HASH  path\" line of this export", SUMS, line);
			continue;
		}
		strv_add(listed, rel);
		char *fp = xasprintf("%s/%s", dir, rel), *data, hex[65];
		if (!sorted_has(files, rel))
			strv_addf(findings, "%s: listed in %s but missing", rel, SUMS);
		else if (read_all(fp, &data, &len) != 0)
			strv_addf(findings, "%s: %s", rel, strerror(errno));
		else {
			sha256_hex(data, len, hex);
			if (memcmp(hex, p, 64) != 0)
				strv_addf(findings, "%s: does not match its %s line", rel, SUMS);
			free(data);
		}
		free(fp);
	}
	free(text);
	strv_sort(listed);
	for (size_t i = 0; i < files->n; i++)
		if (strcmp(files->v[i], SUMS) != 0 && !sorted_has(listed, files->v[i]))
			strv_addf(findings, "%s: not listed in %s", files->v[i], SUMS);
}

/* Compares one expected file with the folder. */
static void check_file(const char *dir, const struct file *f, struct strv *findings)
{
	char *path = xasprintf("%s/%s", dir, f->rel), *data;
	size_t len;
	if (read_all(path, &data, &len) != 0)
		strv_addf(findings, "%s: %s", f->rel,
			  errno == ENOENT ? "missing (the store has it)" : strerror(errno));
	else {
		if (len != f->len || memcmp(data, f->data, len) != 0)
			strv_addf(findings, "%s: differs from the store", f->rel);
		free(data);
	}
	free(path);
}

int export_verify(struct store *st, const char *dir, struct strv *findings, size_t *ncases,
		  char **err)
{
	struct case_rec *v = NULL;
	size_t n = 0, cases = 0;
	struct strv present = {0}, stray = {0}, files = {0}, listed = {0}, expected = {0}, sums = {0};
	struct buf index = {0}, html = {0};
	char *text = NULL;
	int rc = EXPORT_ERR;
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*err = xasprintf("%s: not a folder", dir);
		goto out;
	}
	if (export_cases(st, dir, &v, &n, &present, &stray, err) != EXPORT_OK)
		goto out;
	list_tree(dir, "", 0, &files, findings);
	strv_sort(&files);
	check_sums(dir, &files, &listed, findings);
	for (size_t i = 0; i < stray.n; i++)
		strv_addf(findings, "%s: not a granted case in the store", stray.v[i]);
	buf_adds(&index, INDEX_HEADER);
	index_html_begin(&html);
	for (size_t i = 0; i < n; i++) {
		if (!sorted_has(&present, v[i].id))
			continue;
		struct files fl = {0};
		if (case_files(st, &v[i], &fl, err) != EXPORT_OK) {
			files_free(&fl);
			goto out;
		}
		index_html_row(&html, &v[i], &fl);
		for (size_t k = 0; k < fl.n; k++) {
			check_file(dir, &fl.v[k], findings);
			strv_add(&expected, fl.v[k].rel);
			sum_add(&sums, fl.v[k].rel, fl.v[k].data, fl.v[k].len);
		}
		files_free(&fl);
		export_index_row(&index, &v[i]);
		cases++;
	}
	index_html_end(&html, cases);
	struct file fi = {INDEX, index.s, index.len};
	struct file fh = {INDEX_HTML, html.s, html.len};
	check_file(dir, &fi, findings);
	check_file(dir, &fh, findings);
	sum_add(&sums, INDEX, index.s, index.len);
	sum_add(&sums, INDEX_HTML, html.s, html.len);
	text = sums_text(&sums);
	struct file fs = {SUMS, text, strlen(text)};
	if (sorted_has(&files, SUMS))
		check_file(dir, &fs, findings);
	strv_add(&expected, INDEX);
	strv_add(&expected, INDEX_HTML);
	strv_add(&expected, SUMS);
	strv_sort(&expected);
	/* files not in SHA256SUMS were named already */
	for (size_t i = 0; i < files.n; i++)
		if (!sorted_has(&expected, files.v[i]) && sorted_has(&listed, files.v[i]))
			strv_addf(findings, "%s: not part of the store's export", files.v[i]);
	if (ncases)
		*ncases = cases;
	rc = EXPORT_OK;
out:
	free(text);
	buf_free(&index);
	buf_free(&html);
	strv_free(&sums);
	strv_free(&expected);
	strv_free(&listed);
	strv_free(&files);
	strv_free(&stray);
	strv_free(&present);
	store_cases_free(v, n);
	return rc;
}
