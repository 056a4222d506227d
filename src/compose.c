/* compose.c: see compose.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose.h"

#define LINE_MAX_SOFT 78   /* RFC 5322 2.1.1 */
#define QP_LINE_MAX 76     /* RFC 2045 6.7 */
#define FLOW_WIDTH 72     /* text lines are wrapped here (format=flowed) */
#define WORD_BYTES 42      /* UTF-8 bytes per encoded word: 56 base64 chars, 68 in all */

struct tpl {
	char *name;
	char *subject;  /* text after "Subject:", trimmed */
	char *body;     /* LF line ends */
};

struct templates {
	struct tpl *v;
	size_t n;
	struct tpl *h;  /* NAME.html files: name and body (no subject) */
	size_t nh;
};

/* --- templates --- */

/* p starts with "{{". Returns the length of "{{name}}" with *name and *name_len
 * set, 4 with *name NULL for the escape "{{{{", or 0 when malformed. */
static size_t placeholder(const char *p, const char **name, size_t *name_len)
{
	return compose_placeholder(p, name, name_len);
}

size_t compose_placeholder(const char *p, const char **name, size_t *name_len)
{
	*name = NULL;
	*name_len = 0;
	if (p[2] == '{' && p[3] == '{')
		return 4;
	size_t n = 0;
	while ((p[2 + n] >= 'a' && p[2 + n] <= 'z') || (p[2 + n] >= '0' && p[2 + n] <= '9') ||
	       p[2 + n] == '_')
		n++;
	if (n == 0 || p[2 + n] != '}' || p[3 + n] != '}')
		return 0;
	*name = p + 2;
	*name_len = n;
	return n + 4;
}

/* Reports each line of text (first line numbered line) holding a bad placeholder. */
static void check_placeholders(const char *path, const char *text, int line, struct strv *errors)
{
	const char *p = text;
	while (*p) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (p[0] == '{' && p[1] == '{') {
			const char *name;
			size_t len, n = placeholder(p, &name, &len);
			if (n) {
				p += n;
				continue;
			}
			strv_addf(errors, "%s:%d: bad placeholder", path, line);
			p += strcspn(p, "\n");
		} else {
			p++;
		}
	}
}

static char *read_text(const char *path, struct strv *errors)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		strv_addf(errors, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		strv_addf(errors, "%s: read error", path);
		buf_free(&b);
		return NULL;
	}
	char *s = buf_steal(&b);
	/* CRLF to LF */
	size_t o = 0;
	for (size_t i = 0; s[i]; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			s[o++] = s[i];
	s[o] = '\0';
	return s;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* Parses one template file; returns 0 and fills *t, or -1 with errors. */
static int template_parse(const char *path, const char *text, struct tpl *t,
			  struct strv *errors)
{
	size_t before = errors->n;
	const char *nl = strchr(text, '\n');
	char *line1 = nl ? xstrndup(text, (size_t)(nl - text)) : xstrdup(text);
	if (strncmp(line1, "Subject:", 8) != 0 || *str_trim(line1 + 8) == '\0') {
		strv_addf(errors, "%s:1: first line must be \"Subject: ...\"", path);
		free(line1);
		return -1;
	}
	const char *l2 = nl ? nl + 1 : "";
	const char *nl2 = strchr(l2, '\n');
	size_t l2_len = nl2 ? (size_t)(nl2 - l2) : strlen(l2);
	if ((!nl2 && !*l2) || !blank(l2, l2_len)) {
		strv_addf(errors, "%s:2: expected an empty line after Subject", path);
		free(line1);
		return -1;
	}
	const char *body = nl2 ? nl2 + 1 : "";
	check_placeholders(path, line1 + 8, 1, errors);
	check_placeholders(path, body, 3, errors);
	if (errors->n != before) {
		free(line1);
		return -1;
	}
	t->subject = xstrdup(line1 + 8);
	t->body = xstrdup(body);
	free(line1);
	return 0;
}

static const struct tpl *find(const struct templates *t, const char *name)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

/* Loads one NAME.html file into t->h (placeholders checked). */
static void load_html(struct templates *t, const char *dir, const char *slash, const char *fname,
		      struct strv *errors)
{
	char *path = xasprintf("%s%s%s", dir, slash, fname);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		char *text = read_text(path, errors);
		size_t before = errors->n;
		if (text)
			check_placeholders(path, text, 1, errors);
		if (text && errors->n == before) {
			t->h = xrealloc(t->h, (t->nh + 1) * sizeof(*t->h));
			t->h[t->nh].name = xstrndup(fname, strlen(fname) - 5);
			t->h[t->nh].subject = NULL;
			t->h[t->nh].body = text;
			t->nh++;
			text = NULL;
		}
		free(text);
	}
	free(path);
}

int templates_load(const char *dir, const char *const *required,
		   struct templates **out, struct strv *errors)
{
	size_t before = errors->n;
	struct templates *t = xcalloc(1, sizeof(*t));
	struct strv seen = {0};
	size_t cap = 0;
	const char *slash = *dir && dir[strlen(dir) - 1] == '/' ? "" : "/";
	DIR *d = opendir(dir);
	if (!d) {
		strv_addf(errors, "%s: %s", dir, strerror(errno));
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] != '.' && len > 5 && strcmp(de->d_name + len - 5, ".html") == 0) {
			load_html(t, dir, slash, de->d_name, errors);
			continue;
		}
		if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		char *path = xasprintf("%s%s%s", dir, slash, de->d_name);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		strv_add_own(&seen, xstrndup(de->d_name, len - 4));
		char *text = read_text(path, errors);
		struct tpl tp = {0};
		if (text && template_parse(path, text, &tp, errors) == 0) {
			if (t->n == cap) {
				cap = cap ? 2 * cap : 16;
				t->v = xrealloc(t->v, cap * sizeof(*t->v));
			}
			tp.name = xstrdup(seen.v[seen.n - 1]);
			t->v[t->n++] = tp;
		}
		free(text);
		free(path);
	}
	closedir(d);
	for (size_t i = 0; required && required[i]; i++) {
		int found = 0;
		for (size_t j = 0; j < seen.n && !found; j++)
			found = strcmp(seen.v[j], required[i]) == 0;
		if (!found)
			strv_addf(errors, "%s: template %s.txt is missing", dir, required[i]);
	}
out:
	strv_free(&seen);
	if (errors->n != before) {
		templates_free(t);
		*out = NULL;
		return -1;
	}
	*out = t;
	return 0;
}

int templates_load_fallback(const char *dir, const char *fallback, const char *const *required,
			    struct templates **out, struct strv *errors, size_t *from_fallback)
{
	if (from_fallback)
		*from_fallback = 0;
	if (!fallback || strcmp(fallback, dir) == 0)
		return templates_load(dir, required, out, errors);
	struct templates *t = NULL, *fb = NULL;
	if (templates_load(dir, NULL, &t, errors) != 0)
		return -1;
	int missing = 0;
	for (size_t i = 0; required && required[i]; i++)
		missing += !find(t, required[i]);
	if (!missing) {
		*out = t;
		return 0;
	}
	struct strv fb_errors = {0};
	if (templates_load(fallback, NULL, &fb, &fb_errors) != 0) {
		for (size_t i = 0; i < fb_errors.n; i++)
			strv_add(errors, fb_errors.v[i]);
		strv_free(&fb_errors);
		templates_free(t);
		*out = NULL;
		return -1;
	}
	strv_free(&fb_errors);
	size_t before = errors->n;
	for (size_t i = 0; required && required[i]; i++) {
		if (find(t, required[i]))
			continue;
		struct tpl *src = NULL;
		for (size_t j = 0; j < fb->n && !src; j++)
			if (fb->v[j].name && strcmp(fb->v[j].name, required[i]) == 0)
				src = &fb->v[j];
		if (!src) {
			strv_addf(errors, "%s: template %s.txt is missing (and from %s too)", dir,
				  required[i], fallback);
			continue;
		}
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n] = *src;
		src->name = src->subject = src->body = NULL; /* moved */
		t->n++;
		if (from_fallback)
			(*from_fallback)++;
	}
	templates_free(fb);
	if (errors->n != before) {
		templates_free(t);
		*out = NULL;
		return -1;
	}
	*out = t;
	return 0;
}

void templates_free(struct templates *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].subject);
		free(t->v[i].body);
	}
	free(t->v);
	for (size_t i = 0; i < t->nh; i++) {
		free(t->h[i].name);
		free(t->h[i].body);
	}
	free(t->h);
	free(t);
}

int templates_has(const struct templates *t, const char *name)
{
	return find(t, name) != NULL;
}

const char *templates_text(const struct templates *t, const char *name)
{
	const struct tpl *tp = find(t, name);
	return tp ? tp->body : NULL;
}

const char *templates_subject(const struct templates *t, const char *name)
{
	const struct tpl *tp = find(t, name);
	return tp ? tp->subject : NULL;
}

const char *templates_html(const struct templates *t, const char *name)
{
	for (size_t i = 0; t && i < t->nh; i++)
		if (strcmp(t->h[i].name, name) == 0)
			return t->h[i].body;
	return NULL;
}

int templates_uses(const struct templates *t, const char *name, const char *var)
{
	const struct tpl *tp = find(t, name);
	const char *html = templates_html(t, name);
	const char *src[3] = {tp ? tp->subject : NULL, tp ? tp->body : NULL, html};
	size_t vl = strlen(var);
	for (int k = 0; k < 3; k++)
		for (const char *p = src[k]; p && (p = strstr(p, "{{")); ) {
			const char *nm;
			size_t len, n = placeholder(p, &nm, &len);
			if (nm && len == vl && memcmp(nm, var, vl) == 0)
				return 1;
			p += n ? n : 2;
		}
	return 0;
}

static const char *var_value(const struct strv *vars, const char *name, size_t len)
{
	for (size_t i = 0; vars && i + 1 < vars->n; i += 2)
		if (strlen(vars->v[i]) == len && memcmp(vars->v[i], name, len) == 0)
			return vars->v[i + 1];
	return NULL;
}

/* Subject values lose their line breaks; body values get LF line ends. */
static void add_value(struct buf *b, const char *v, int subject)
{
	for (; *v; v++) {
		if (*v == '\r' && v[1] == '\n')
			continue;
		if (subject && (*v == '\r' || *v == '\n'))
			buf_addc(b, ' ');
		else
			buf_addc(b, *v);
	}
}

static int expand(const char *tname, const char *text, const struct strv *vars, int subject,
		  char **res, char **err)
{
	struct buf b = {0};
	const char *p = text;
	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			const char *name;
			size_t len, n = placeholder(p, &name, &len);
			if (n && !name) {
				buf_adds(&b, "{{");
				p += n;
				continue;
			}
			if (n) {
				const char *v = var_value(vars, name, len);
				if (!v) {
					*err = xasprintf("template %s: no value for {{%.*s}}", tname,
							 (int)len, name);
					buf_free(&b);
					return -1;
				}
				add_value(&b, v, subject);
				p += n;
				continue;
			}
		}
		buf_addc(&b, *p++);
	}
	*res = buf_steal(&b);
	return 0;
}

int templates_render(const struct templates *t, const char *name, const struct strv *vars,
		     char **subject, char **body, char **err)
{
	*subject = *body = NULL;
	const struct tpl *tp = find(t, name);
	if (!tp) {
		*err = xasprintf("template %s: no such template", name);
		return -1;
	}
	if (expand(name, tp->subject, vars, 1, subject, err) != 0)
		return -1;
	if (expand(name, tp->body, vars, 0, body, err) != 0) {
		free(*subject);
		*subject = NULL;
		return -1;
	}
	return 0;
}

/* --- encodings --- */

static void base64_add(struct buf *b, const unsigned char *in, size_t n, size_t line)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		if (line && col == line) {
			buf_adds(b, "\r\n");
			col = 0;
		}
		char q[4] = {al[(v >> 18) & 63], al[(v >> 12) & 63],
			     i + 1 < n ? al[(v >> 6) & 63] : '=', i + 2 < n ? al[v & 63] : '='};
		buf_add(b, q, 4);
		col += 4;
	}
}

/* Length of the UTF-8 sequence at s (1 for a stray byte), within n bytes. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t want = s[0] < 0xc0 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf8 ? 4 : 1;
	size_t len = 1;
	while (len < want && len < n && (s[len] & 0xc0) == 0x80)
		len++;
	return len;
}

static int needs_encoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 1;
	return strstr(s, "=?") != NULL;
}

/* RFC 2047 B encoded words of at most WORD_BYTES bytes each, never splitting
 * a UTF-8 sequence, joined by CRLF SP. */
static char *encode_words(const char *s)
{
	struct buf b = {0};
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n) {
			size_t cl = utf8_len(p + i, n - i);
			if (i - start + cl > WORD_BYTES)
				break;
			i += cl;
		}
		if (start)
			buf_adds(&b, "\r\n ");
		buf_adds(&b, "=?UTF-8?B?");
		base64_add(&b, p + start, i - start, 0);
		buf_adds(&b, "?=");
	}
	return buf_steal(&b);
}

char *compose_header_text(const char *s)
{
	return needs_encoding(s) ? encode_words(s) : xstrdup(s);
}

/* Encodes one line (without its end) at o; returns the new end. Runs of
 * bytes that stand for themselves are copied at once. */
static char *qp_line(char *o, const unsigned char *s, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t col = 0, i = 0;
	while (i < n) {
		if (col < QP_LINE_MAX - 1 && (col || s[i] != 'F')) {
			/* a literal byte, not the line's last, fits while col + 2 <= 76 */
			size_t max = QP_LINE_MAX - 1 - col, k = 0;
			if (max > n - 1 - i)
				max = n - 1 - i;
			while (k < max && ((s[i + k] >= 0x20 && s[i + k] < 0x7f && s[i + k] != '=') ||
					   s[i + k] == '\t'))
				k++;
			if (k) {
				memcpy(o, s + i, k);
				o += k;
				i += k;
				col += k;
				continue;
			}
		}
		unsigned char c = s[i];
		int last = i + 1 == n;
		int enc = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
			  ((c == ' ' || c == '\t') && last);
		size_t tok = enc ? 3 : 1;
		if (col + tok + !last > QP_LINE_MAX) {
			memcpy(o, "=\r\n", 3);
			o += 3;
			col = 0;
		}
		/* no output line starts with "From " (mbox) */
		if (col == 0 && c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)
			enc = 1, tok = 3;
		if (enc) {
			o[0] = '=';
			o[1] = hx[c >> 4];
			o[2] = hx[c & 15];
			o += 3;
		} else {
			*o++ = (char)c;
		}
		col += tok;
		i++;
	}
	return o;
}

char *compose_qp(const char *text)
{
	/* Each byte takes at most 3 characters, a soft break (3) comes at
	 * most once per 24 bytes, a line end 2 for 1: 4 per byte bounds it. */
	size_t len = strlen(text);
	char *out = xmalloc(4 * len + 8), *o = out;
	const char *p = text, *end = text + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		o = qp_line(o, (const unsigned char *)p, n);
		if (!nl)
			break;
		memcpy(o, "\r\n", 2);
		o += 2;
		p = nl + 1;
	}
	*o = '\0';
	return out;
}

/* --- the message --- */

/* Copy of s without C0 controls, DEL and the bytes of drop. */
static char *clean(const char *s, const char *drop)
{
	struct buf b = {0};
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		if (*p >= 0x20 && *p != 0x7f && !strchr(drop, *p))
			buf_addc(&b, (char)*p);
	return buf_steal(&b);
}

static int addr_ok(const char *a)
{
	return a && addr_valid(a) && !strpbrk(a, "()[]\\:");
}

static size_t line_len(const struct buf *b)
{
	size_t i = b->len;
	while (i > 0 && b->s[i - 1] != '\n')
		i--;
	return b->len - i;
}

/* "Name: item1SEP item2SEP ...", folded before an item that would pass 78. */
static void add_list(struct buf *b, const char *name, const struct strv *items, const char *sep)
{
	buf_addf(b, "%s:", name);
	for (size_t i = 0; i < items->n; i++) {
		int more = i + 1 < items->n;
		size_t need = 1 + strlen(items->v[i]) + (more ? strlen(sep) : 0);
		if (i > 0 && line_len(b) + need > LINE_MAX_SOFT)
			buf_adds(b, "\r\n");
		buf_addc(b, ' ');
		buf_adds(b, items->v[i]);
		if (more)
			buf_adds(b, sep);
	}
	buf_adds(b, "\r\n");
}

static void add_date(struct buf *b, time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_addf(b, "Date: %s, %d %s %d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

/* The configured From: as is, or with its display name RFC 2047 encoded. */
static void add_from(struct buf *b, const char *from)
{
	char *f = str_trim(clean(from, ""));
	char *lt = strrchr(f, '<');
	char *name = lt ? str_trim(xstrndup(f, (size_t)(lt - f))) : NULL;
	if (!name || !needs_encoding(name)) {
		buf_addf(b, "From: %s\r\n", f);
	} else {
		size_t n = strlen(name);
		if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
			memmove(name, name + 1, n - 2);
			name[n - 2] = '\0';
		}
		char *enc = encode_words(name);
		buf_addf(b, "From: %s", enc);
		if (line_len(b) + 1 + strlen(lt) > LINE_MAX_SOFT)
			buf_adds(b, "\r\n");
		buf_addf(b, " %s\r\n", lt);
		free(enc);
	}
	free(name);
	free(f);
}

static void add_subject(struct buf *b, const char *subject)
{
	char *s = str_trim(clean(subject, ""));
	size_t longest = 0;
	for (const char *p = s; *p;) {
		size_t w = strcspn(p, " ");
		if (w > longest)
			longest = w;
		p += w + strspn(p + w, " ");
	}
	if (needs_encoding(s) || longest > LINE_MAX_SOFT - strlen("Subject: ")) {
		char *enc = encode_words(s);
		buf_addf(b, "Subject: %s\r\n", enc);
		free(enc);
		free(s);
		return;
	}
	buf_adds(b, "Subject:");
	/* tokens of leading spaces and a word; fold before the spaces */
	for (const char *p = s; *p;) {
		size_t n = strspn(p, " ");
		n += strcspn(p + n, " ");
		if (p == s)
			buf_addc(b, ' ');
		else if (line_len(b) + n > LINE_MAX_SOFT)
			buf_adds(b, "\r\n");
		buf_add(b, p, n);
		p += n;
	}
	buf_adds(b, "\r\n");
	free(s);
}

static void add_id(struct buf *b, const char *name, const char *id)
{
	char *c = clean(id, " <>");
	if (*c)
		buf_addf(b, "%s: <%s>\r\n", name, c);
	free(c);
}

static void add_references(struct buf *b, const char *refs)
{
	struct strv ids = {0};
	for (const char *p = refs; *p;) {
		size_t n = 0;
		while (p[n] && (unsigned char)p[n] > ' ')
			n++;
		if (n) {
			char *raw = xstrndup(p, n);
			char *c = clean(raw, "<>");
			if (*c)
				strv_add_own(&ids, xasprintf("<%s>", c));
			free(c);
			free(raw);
			p += n;
		} else {
			p++;
		}
	}
	if (ids.n)
		add_list(b, "References", &ids, "");
	strv_free(&ids);
}

/* Content-Disposition with filename (RFC 2231 when not printable ASCII). */
static void add_disposition(struct buf *b, const char *attach_name)
{
	char *name = clean(attach_name, "\"\\");
	if (!*name)
		str_set(&name, "attachment");
	buf_adds(b, "Content-Disposition: attachment;\r\n");
	if (!needs_encoding(name)) {
		buf_addf(b, " filename=\"%s\"\r\n", name);
		free(name);
		return;
	}
	static const char hx[] = "0123456789ABCDEF";
	static const char attr[] = "!#$&+-.^_`|~";
	struct strv parts = {0};
	struct buf cur = {0};
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		/* " filename*N*=UTF-8''" + 56 + ";" stays within 78 columns */
		if (cur.len + 3 > 56)
			strv_add_own(&parts, buf_steal(&cur));
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(attr, *p))
			buf_addc(&cur, (char)*p);
		else
			buf_addf(&cur, "%%%c%c", hx[*p >> 4], hx[*p & 15]);
	}
	strv_add_own(&parts, buf_steal(&cur));
	if (parts.n == 1) {
		buf_addf(b, " filename*=UTF-8''%s\r\n", parts.v[0]);
	} else {
		for (size_t i = 0; i < parts.n; i++)
			buf_addf(b, " filename*%zu*=%s%s%s\r\n", i, i ? "" : "UTF-8''", parts.v[i],
				 i + 1 < parts.n ? ";" : "");
	}
	strv_free(&parts);
	free(name);
}

char *compose_message(const struct outmail *m, size_t *len)
{
	struct buf b = {0};
	add_date(&b, m->date);
	add_from(&b, m->from);

	struct strv to = {0};
	for (size_t i = 0; m->to && i < m->to->n; i++)
		if (addr_ok(m->to->v[i]))
			strv_add(&to, m->to->v[i]);
	if (to.n)
		add_list(&b, "To", &to, ",");
	else
		buf_adds(&b, "To: undisclosed-recipients:;\r\n");
	strv_free(&to);

	add_subject(&b, m->subject);
	add_id(&b, "Message-ID", m->message_id);
	if (m->in_reply_to)
		add_id(&b, "In-Reply-To", m->in_reply_to);
	if (m->references)
		add_references(&b, m->references);
	if (addr_ok(m->reply_to))
		buf_addf(&b, "Reply-To: %s\r\n", m->reply_to);
	buf_adds(&b, "MIME-Version: 1.0\r\n");

	char *qp = compose_qp(m->body ? m->body : "");
	/* every attachment: the single one of attach_name first, then atts */
	size_t natt = (m->attach_name ? 1 : 0) + m->n_atts;
	struct outmail_att *att = xcalloc(natt + 1, sizeof *att);
	if (m->attach_name) {
		att[0].name = m->attach_name;
		att[0].type = m->attach_type;
		att[0].data = m->attach_data;
		att[0].len = m->attach_data ? m->attach_len : 0;
	}
	for (size_t i = 0; i < m->n_atts; i++)
		att[(m->attach_name ? 1 : 0) + i] = m->atts[i];
	const char *text_type = m->flowed
		? "Content-Type: text/plain; charset=UTF-8; format=flowed; delsp=yes\r\n"
		: "Content-Type: text/plain; charset=UTF-8\r\n";
	char boundary[40], alt[48];
	if (natt || m->html) {
		/* "=_" never occurs in quoted-printable or base64 text */
		uint64_t h = 1469598103934665603ULL;
		for (const char *p = m->message_id ? m->message_id : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h ^= (uint64_t)m->date;
		snprintf(boundary, sizeof(boundary), "=_cgen_%016llx", (unsigned long long)h);
		/* not an extension of boundary: a delimiter must not start another */
		snprintf(alt, sizeof(alt), "=_cgen_alt_%016llx", (unsigned long long)h);
	}
	if (natt)
		buf_addf(&b, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n", boundary);
	else if (m->html)
		buf_addf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", alt);
	else {
		buf_adds(&b, text_type);
		buf_adds(&b, "Content-Transfer-Encoding: quoted-printable\r\n");
	}
	buf_addf(&b, "Auto-Submitted: %s\r\n", m->auto_replied ? "auto-replied" : "auto-generated");
	buf_adds(&b, "X-Auto-Response-Suppress: All\r\n\r\n");

	if (!natt && !m->html) {
		buf_adds(&b, qp);
		if (b.s[b.len - 1] != '\n')
			buf_adds(&b, "\r\n");
	} else {
		if (natt)
			buf_addf(&b, "--%s\r\n", boundary);
		if (m->html) {
			if (natt)
				buf_addf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
					 alt);
			buf_addf(&b, "--%s\r\n", alt);
		}
		buf_adds(&b, text_type);
		buf_adds(&b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		buf_adds(&b, qp);
		if (m->html) {
			char *hq = compose_qp(m->html);
			buf_addf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
				     "Content-Transfer-Encoding: quoted-printable\r\n\r\n", alt);
			buf_adds(&b, hq);
			buf_addf(&b, "\r\n--%s--\r\n", alt);
			free(hq);
		}
		for (size_t i = 0; i < natt; i++) {
			char *type = str_trim(clean(att[i].type, ""));
			buf_addf(&b, "%s--%s\r\nContent-Type: %s\r\n", m->html || i ? "" : "\r\n", boundary,
				 *type && !strpbrk(type, "\"\\") ? type : "application/octet-stream");
			free(type);
			buf_adds(&b, "Content-Transfer-Encoding: base64\r\n");
			add_disposition(&b, att[i].name);
			buf_adds(&b, "\r\n");
			base64_add(&b, (const unsigned char *)(att[i].data ? att[i].data : ""),
				   att[i].data ? att[i].len : 0, QP_LINE_MAX);
			buf_adds(&b, "\r\n");
		}
		if (natt)
			buf_addf(&b, "--%s--\r\n", boundary);
	}
	free(att);
	free(qp);
	*len = b.len;
	return buf_steal(&b);
}

/* --- format=flowed (RFC 3676, DelSp=yes) --- */

/* Bytes of the first `want` code points of s[0..n) (all of it when shorter). */
static size_t cp_bytes(const char *s, size_t n, size_t want)
{
	size_t i = 0, c = 0;
	while (i < n && c < want) {
		i += utf8_len((const unsigned char *)s + i, n - i);
		c++;
	}
	return i;
}

static size_t cp_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* One output line: space-stuffed when it starts with ' ', '>' or "From ";
 * soft: DelSp's extra space marks the soft break. */
static void flowed_line(struct buf *b, const char *s, size_t n, int soft)
{
	if (n && (s[0] == ' ' || s[0] == '>' || (n >= 5 && memcmp(s, "From ", 5) == 0)))
		buf_addc(b, ' ');
	buf_add(b, s, n);
	if (soft)
		buf_addc(b, ' ');
	buf_addc(b, '\n');
}

/* Where to end the next piece of s[0..n), at most width code points: after the
 * last run of spaces that starts within width; 0 when there is none. */
static size_t break_at(const char *s, size_t n, size_t width)
{
	size_t lim = cp_bytes(s, n, width + 1), end = 0;
	for (size_t i = 1; i < lim; i++)
		if (s[i] == ' ' && s[i - 1] != ' ') {
			size_t e = i;
			while (e < n && s[e] == ' ')
				e++;
			end = e;
		}
	return end;
}

char *compose_flowed(const char *text)
{
	struct buf b = {0};
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n == 3 && memcmp(p, "-- ", 3) == 0) {
			buf_adds(&b, "-- \n"); /* the signature separator stays as it is */
			p += nl ? n + 1 : n;
			continue;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--; /* a fixed line never ends in a space */
		size_t ind = 0;
		while (ind < n && (p[ind] == ' ' || p[ind] == '\t'))
			ind++;
		if (cp_count(p, n) <= FLOW_WIDTH) {
			flowed_line(&b, p, n, 0);
		} else if (ind == 0) {
			/* prose: soft breaks, so that readers may flow it again */
			const char *s = p;
			size_t left = n;
			while (cp_count(s, left) > FLOW_WIDTH) {
				size_t k = break_at(s, left, FLOW_WIDTH);
				if (k == 0)
					k = cp_bytes(s, left, FLOW_WIDTH); /* a word longer than a line */
				flowed_line(&b, s, k, 1);
				s += k;
				left -= k;
			}
			flowed_line(&b, s, left, 0);
		} else {
			/* indented (lists, tables, commands): fixed lines, hanging indent */
			if (ind > FLOW_WIDTH / 2) {
				p += ind - FLOW_WIDTH / 2;
				n -= ind - FLOW_WIDTH / 2;
				ind = FLOW_WIDTH / 2;
			}
			size_t hang = ind;
			if (n > ind + 1 && strchr("-*", p[ind]) && p[ind + 1] == ' ' && hang + 2 <= FLOW_WIDTH / 2)
				hang += 2;
			const char *s = p + ind;
			size_t left = n - ind, w = FLOW_WIDTH - ind;
			struct buf l = {0};
			buf_add(&l, p, ind);
			while (left) {
				size_t k = cp_count(s, left) <= w ? left : break_at(s, left, w);
				/* a word that no continuation line could hold either
				 * starts here, on this line */
				if (k && k < left && cp_count(s + k, strcspn(s + k, " ")) > FLOW_WIDTH - hang)
					k = 0;
				if (k == 0) {
					/* a word longer than the line (a link): cut with
					 * soft breaks, continued without indent, so that
					 * a reader of flowed text gets it whole */
					k = cp_bytes(s, left, w);
					buf_add(&l, s, k);
					flowed_line(&b, l.s, l.len, 1);
					buf_free(&l);
					s += k;
					left -= k;
					w = FLOW_WIDTH;
					continue;
				}
				size_t keep = k;
				while (keep && s[keep - 1] == ' ')
					keep--;
				buf_add(&l, s, keep);
				flowed_line(&b, l.s, l.len, 0);
				buf_free(&l);
				for (size_t i = 0; i < hang; i++)
					buf_addc(&l, ' ');
				s += k;
				left -= k;
				while (left && *s == ' ')
					s++, left--;
				w = FLOW_WIDTH - hang;
			}
			buf_free(&l);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return buf_steal(&b);
}
