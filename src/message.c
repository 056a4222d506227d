/* message.c: one raw inbound mail read into plain fields.
 *
 * The header is scanned here (names case-insensitive, all occurrences, folds
 * replaced by one space); structured values go through libetpan's mailimf
 * parsers with a simple fallback when those fail. The body is read with
 * libetpan's MIME parser from a private CRLF copy of the mail; HTML-only mail
 * is turned into text with libxml2's HTML parser. Opaque S/MIME signed data
 * is unwrapped with GnuTLS (no signature check) and its entity parsed like
 * the mail; encrypted and TNEF bodies are only listed and flagged. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs7.h>
#include <libetpan/charconv.h>
#include <libetpan/mailimf.h>
#include <libetpan/mailmime.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "css.h"
#include "message.h"
#include "util.h"

/* Bytes before the private copy: libetpan 1.9.4 may look a few bytes in
 * front of a multipart body whose boundary is missing. */
#define PAD 16
#define MAX_DEPTH 64
/* Entities parsed again per mail (S/MIME content, guessed boundaries): each
 * copies its bytes, so nesting them must not multiply a large mail. */
#define MAX_OWNED 8

static int is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive (ASCII) prefix test on n bytes. */
static int mem_prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)prefix[i]))
			return 0;
	return 1;
}

static const char *str_find_ci(const char *hay, const char *needle)
{
	size_t hn = strlen(hay);

	for (size_t i = 0; i < hn; i++)
		if (mem_prefix_ci(hay + i, hn - i, needle))
			return hay + i;
	return NULL;
}

/* ---- character sets ---- */


static void buf_add_cp(struct buf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_add(b, u, 2);
	} else {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_add(b, u, 3);
	}
}

/* windows-1252 0x80..0x9F; the five holes map to the C1 controls. */
static const unsigned short cp1252_c1[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static void add_cp1252(struct buf *b, unsigned char c)
{
	buf_add_cp(b, c >= 0x80 && c < 0xA0 ? cp1252_c1[c - 0x80] : c);
}

static char *cp1252_to_utf8(const char *s, size_t n)
{
	struct buf b = {0};

	for (size_t i = 0; i < n; i++)
		add_cp1252(&b, (unsigned char)s[i]);
	return buf_steal(&b);
}

/* Undeclared 8-bit text: valid UTF-8 sequences are kept, any other byte is
 * read as windows-1252 (so valid UTF-8 stays as it is and plain
 * windows-1252 text is decoded as such). */
static char *raw_to_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	struct buf b = {0};

	while (p < e) {
		size_t k = utf8_valid_len(p, (size_t)(e - p));

		if (k > 0) {
			buf_add(&b, (const char *)p, k);
			p += k;
		} else {
			add_cp1252(&b, *p++);
		}
	}
	return buf_steal(&b);
}

static int cs_is(const char *cs, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp(cs, *names) == 0)
			return 1;
	return 0;
}

/* Text in charset cs (NULL when undeclared) as allocated UTF-8. */
static char *to_utf8(const char *s, size_t n, const char *cs)
{
	static const char *const loose[] = { "us-ascii", "ascii", "utf-8", "utf8",
		"unknown-8bit", "x-unknown", "unknown", "default", NULL };
	static const char *const latin1[] = { "iso-8859-1", "iso8859-1", "latin1",
		"iso_8859-1", "windows-1252", "cp1252", "x-cp1252", NULL };
	/* labels whose mail is written in a superset (as browsers read them) */
	static const char *const sjis[] = { "shift_jis", "shift-jis", "sjis", "x-sjis",
		"ms_kanji", "csshiftjis", NULL };
	static const char *const gb[] = { "gb2312", "gbk", "x-gbk", "cp936", "euc-cn",
		"csgb2312", "gb_2312-80", NULL };
	static const char *const kr[] = { "ks_c_5601-1987", "ks_c_5601", "euc-kr", NULL };
	static const char *const big5[] = { "big5", "x-big5", "csbig5", NULL };
	static const char *const hebrew[] = { "iso-8859-8-i", "iso-8859-8-e", NULL };
	char *r = NULL, *out;

	if (cs == NULL || *cs == '\0' || cs_is(cs, loose))
		return raw_to_utf8(s, n);
	if (cs_is(cs, latin1))
		return cp1252_to_utf8(s, n);
	cs = cs_is(cs, sjis) ? "CP932" : cs_is(cs, gb) ? "GB18030" : cs_is(cs, kr) ? "CP949"
	     : cs_is(cs, big5) ? "BIG5-HKSCS" : cs_is(cs, hebrew) ? "ISO-8859-8" : cs;
	if (charconv("UTF-8", cs, s, n, &r) == MAIL_CHARCONV_NO_ERROR && r != NULL) {
		out = xstrdup(r);
		free(r);
		return out;
	}
	free(r);
	return raw_to_utf8(s, n);
}

/* ---- RFC 2047 ---- */

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void b64_decode(struct buf *b, const char *s, size_t n)
{
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (v < 0)
			continue;
		acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(b, (char)(acc >> bits & 0xFF));
		}
	}
}

static void q_decode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			buf_addc(b, ' ');
		} else if (s[i] == '=' && i + 2 < n && hex_val((unsigned char)s[i + 1]) >= 0
			   && hex_val((unsigned char)s[i + 2]) >= 0) {
			buf_addc(b, (char)(hex_val((unsigned char)s[i + 1]) << 4
					   | hex_val((unsigned char)s[i + 2])));
			i += 2;
		} else {
			buf_addc(b, s[i]);
		}
	}
}

/* Parses "=?cs?E?text?=" at s; on success sets the parts and returns the
 * length of the whole word, else 0. */
static size_t enc_word(const char *s, size_t n, size_t *cs_len, char *enc,
		       const char **text, size_t *text_len)
{
	size_t i = 2, c0;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	c0 = i;
	while (i < n && s[i] != '?' && !is_space((unsigned char)s[i]))
		i++;
	if (i == c0 || i + 3 >= n || s[i] != '?' || s[i + 2] != '?')
		return 0;
	*cs_len = i - c0;
	*enc = (char)lower((unsigned char)s[i + 1]);
	if (*enc != 'b' && *enc != 'q')
		return 0;
	i += 3;
	*text = s + i;
	while (i + 1 < n && !(s[i] == '?' && s[i + 1] == '='))
		i++;
	if (i + 1 >= n)
		return 0;
	*text_len = (size_t)(s + i - *text);
	return i + 2;
}

static void flush_run(struct buf *out, struct buf *run, char *cs)
{
	char *t;

	if (run->len == 0)
		return;
	t = to_utf8(run->s, run->len, cs);
	buf_adds(out, t);
	free(t);
	run->len = 0;
}

static void add_literal(struct buf *out, const char *s, size_t n)
{
	char *t;

	if (n == 0)
		return;
	t = raw_to_utf8(s, n);
	buf_adds(out, t);
	free(t);
}

/* Decodes RFC 2047 encoded words (adjacent words of one charset are joined
 * before conversion, so a character split across two words survives); raw
 * 8-bit bytes are read as UTF-8 or windows-1252. Returns trimmed UTF-8. */
static char *decode_words(const char *s)
{
	struct buf out = {0}, run = {0};
	char cs[64] = "";
	size_t n = strlen(s), i = 0, lit = 0;

	while (i < n) {
		size_t cs_len, text_len, w;
		const char *text;
		char enc;
		char wcs[64];
		int blank = 1;

		w = s[i] == '=' ? enc_word(s + i, n - i, &cs_len, &enc, &text, &text_len) : 0;
		if (w == 0) {
			i++;
			continue;
		}
		if (cs_len >= sizeof(wcs))
			cs_len = sizeof(wcs) - 1;
		memcpy(wcs, s + i + 2, cs_len);
		wcs[cs_len] = '\0';
		wcs[strcspn(wcs, "*")] = '\0'; /* RFC 2231 language suffix */
		for (size_t k = lit; k < i; k++)
			if (!is_space((unsigned char)s[k]))
				blank = 0;
		if (!(blank && run.len > 0)) {
			flush_run(&out, &run, cs);
			add_literal(&out, s + lit, i - lit);
		}
		if (strcasecmp(wcs, cs) != 0) {
			flush_run(&out, &run, cs);
			memcpy(cs, wcs, sizeof(cs));
		}
		if (enc == 'b')
			b64_decode(&run, text, text_len);
		else
			q_decode(&run, text, text_len);
		i += w;
		lit = i;
	}
	flush_run(&out, &run, cs);
	add_literal(&out, s + lit, n - lit);
	buf_free(&run);
	return str_trim(buf_steal(&out));
}

/* ---- header ---- */

struct field {
	char *name;
	char *value; /* unfolded (each fold is one space), trimmed, raw bytes */
};

struct header {
	struct field *f;
	size_t n, cap;
	size_t body; /* offset of the body */
};

/* Length of the field name when line (n bytes) starts a header field. */
static size_t field_name_len(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 127 && s[i] != ':')
		i++;
	k = i;
	while (i < n && is_wsp((unsigned char)s[i]))
		i++;
	return k > 0 && i < n && s[i] == ':' ? k : 0;
}

static size_t line_end(const char *s, size_t n, size_t i, size_t *next)
{
	const char *nl = memchr(s + i, '\n', n - i);
	size_t e = nl ? (size_t)(nl - s) : n;

	*next = nl ? e + 1 : n;
	if (e > i && s[e - 1] == '\r')
		e--;
	return e;
}

/* Scans the header at s (LF or CRLF). Stops at the empty line or at the
 * first line that is neither a field nor a continuation. */
static void header_add(struct header *h, char *name, char *value)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 32;
		h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
	}
	h->f[h->n].name = name;
	h->f[h->n++].value = str_trim(value);
}

static void header_scan(const char *s, size_t n, struct header *h)
{
	struct buf v = {0};
	char *name = NULL;
	size_t i = 0, next;

	h->body = n;
	for (; i < n; i = next) {
		size_t e = line_end(s, n, i, &next), k;

		if (e == i) {
			h->body = next;
			break;
		}
		if (is_wsp((unsigned char)s[i]) && name != NULL) {
			while (i < e && is_wsp((unsigned char)s[i]))
				i++;
			buf_addc(&v, ' ');
			buf_add(&v, s + i, e - i);
			continue;
		}
		k = field_name_len(s + i, e - i);
		if (k == 0) {
			h->body = i; /* no separator: the body starts here */
			break;
		}
		if (name != NULL)
			header_add(h, name, buf_steal(&v));
		name = xstrndup(s + i, k);
		i = (size_t)((const char *)memchr(s + i, ':', e - i) - s) + 1;
		buf_add(&v, s + i, e - i);
	}
	if (name != NULL)
		header_add(h, name, buf_steal(&v));
	buf_free(&v);
}

static void header_free(struct header *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->f[i].name);
		free(h->f[i].value);
	}
	free(h->f);
	memset(h, 0, sizeof(*h));
}

static const char *header_get(const struct header *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->f[i].name, name) == 0)
			return h->f[i].value;
	return NULL;
}

/* ---- addresses and ids ---- */

/* Skips white space and (nested) comments; returns 1 when nothing else is left. */
static int rest_is_blank(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_space((unsigned char)*s))
			return 0;
	}
	return 1;
}

static void add_addr(struct strv *l, const char *a, size_t n)
{
	char *s = str_trim(xstrndup(a, n));

	if (*s == '\0' || strpbrk(s, "<> \t") != NULL)
		free(s);
	else
		strv_add_own(l, str_lower(s));
}

/* Fallback: every <addr> and every bare word holding an '@'. */
static void addr_scan(const char *s, struct strv *l)
{
	size_t i = 0, n = strlen(s);

	while (i < n) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (s[i] == '(') {
			int depth = 1;

			for (i++; i < n && depth > 0; i++)
				depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
		} else if (s[i] == '<') {
			const char *e = strchr(s + i, '>');
			size_t k = e ? (size_t)(e - s) : n;

			add_addr(l, s + i + 1, k - i - 1);
			i = k + 1;
		} else if (strchr(" \t,;:>", s[i]) == NULL) {
			size_t k = i;

			while (k < n && strchr(" \t,;<>()\"", s[k]) == NULL)
				k++;
			if (memchr(s + i, '@', k - i) != NULL)
				add_addr(l, s + i, k - i);
			i = k > i ? k : i + 1;
		} else {
			i++;
		}
	}
}

/* Mailboxes of a From/Reply-To value; *name gets the display name of the
 * first one. */
static void mailboxes(const char *v, struct strv *l, char **name)
{
	struct mailimf_mailbox_list *mbl = NULL;
	size_t idx = 0;

	if (mailimf_mailbox_list_parse(v, strlen(v), &idx, &mbl) == MAILIMF_NO_ERROR
	    && rest_is_blank(v + idx)) {
		for (clistiter *c = clist_begin(mbl->mb_list); c; c = clist_next(c)) {
			struct mailimf_mailbox *mb = clist_content(c);

			if (mb->mb_addr_spec != NULL)
				add_addr(l, mb->mb_addr_spec, strlen(mb->mb_addr_spec));
			if (name != NULL && c == clist_begin(mbl->mb_list) && mb->mb_display_name)
				*name = decode_words(mb->mb_display_name);
		}
	} else {
		const char *lt = strchr(v, '<');

		addr_scan(v, l);
		if (name != NULL && *name == NULL && lt != NULL && lt > v) {
			char *t = str_trim(xstrndup(v, (size_t)(lt - v)));
			size_t k = strlen(t);

			if (k >= 2 && t[0] == '"' && t[k - 1] == '"') {
				memmove(t, t + 1, k - 2);
				t[k - 2] = '\0';
			}
			*name = decode_words(t);
			free(t);
		}
	}
	if (mbl != NULL)
		mailimf_mailbox_list_free(mbl);
	if (name != NULL && *name != NULL && **name == '\0') {
		free(*name);
		*name = NULL;
	}
}

static void mailbox_list_add(struct mailimf_mailbox_list *mbl, struct strv *l)
{
	if (mbl == NULL)
		return;
	for (clistiter *c = clist_begin(mbl->mb_list); c; c = clist_next(c)) {
		struct mailimf_mailbox *mb = clist_content(c);

		if (mb->mb_addr_spec != NULL)
			add_addr(l, mb->mb_addr_spec, strlen(mb->mb_addr_spec));
	}
}

/* Addresses of a To/Cc value, group members included. */
static void addresses(const char *v, struct strv *l)
{
	struct mailimf_address_list *al = NULL;
	size_t idx = 0;

	if (mailimf_address_list_parse(v, strlen(v), &idx, &al) == MAILIMF_NO_ERROR
	    && rest_is_blank(v + idx)) {
		for (clistiter *c = clist_begin(al->ad_list); c; c = clist_next(c)) {
			struct mailimf_address *a = clist_content(c);

			if (a->ad_type == MAILIMF_ADDRESS_MAILBOX) {
				const char *spec = a->ad_data.ad_mailbox->mb_addr_spec;

				if (spec != NULL)
					add_addr(l, spec, strlen(spec));
			} else if (a->ad_type == MAILIMF_ADDRESS_GROUP) {
				mailbox_list_add(a->ad_data.ad_group->grp_mb_list, l);
			}
		}
	} else {
		addr_scan(v, l);
	}
	if (al != NULL)
		mailimf_address_list_free(al);
}

static int id_ok(const char *id)
{
	return *id != '\0' && strpbrk(id, "<> \t\r\n") == NULL;
}

/* Fallback: every <...> in v. */
static void id_scan(const char *v, struct strv *l)
{
	const char *p = v, *e;

	while ((p = strchr(p, '<')) != NULL && (e = strchr(p + 1, '>')) != NULL) {
		char *id = str_trim(xstrndup(p + 1, (size_t)(e - p - 1)));

		if (id_ok(id) && !strv_contains_ci(l, id))
			strv_add_own(l, id);
		else
			free(id);
		p = e + 1;
	}
}

/* All message ids of v, without brackets. */
static void ids(const char *v, struct strv *l)
{
	clist *list = NULL;
	size_t idx = 0, before = l->n;

	if (mailimf_msg_id_list_parse(v, strlen(v), &idx, &list) == MAILIMF_NO_ERROR) {
		for (clistiter *c = clist_begin(list); c; c = clist_next(c)) {
			char *id = clist_content(c);

			if (id_ok(id))
				strv_add(l, id);
			free(id);
		}
		clist_free(list);
	}
	if (l->n == before || !rest_is_blank(v + idx))
		id_scan(v, l);
}

/* The first message id of v, or NULL. */
static char *first_id(const char *v)
{
	struct strv l = {0};
	char *id = NULL;
	size_t idx = 0;

	if (strchr(v, '<') == NULL) {
		if (mailimf_msg_id_parse(v, strlen(v), &idx, &id) == MAILIMF_NO_ERROR
		    && id_ok(id)) {
			char *r = xstrdup(id);

			free(id);
			return r;
		}
		free(id);
		return NULL;
	}
	ids(v, &l);
	if (l.n > 0) {
		id = l.v[0];
		l.v[0] = NULL;
	}
	strv_free(&l);
	return id;
}

/* ---- MIME parts ---- */

static char *content_type_str(const struct mailmime_content *ct)
{
	const char *t = "application";

	if (ct == NULL || ct->ct_type == NULL)
		return xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		const struct mailmime_discrete_type *d = ct->ct_type->tp_data.tp_discrete_type;

		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: t = "text"; break;
		case MAILMIME_DISCRETE_TYPE_IMAGE: t = "image"; break;
		case MAILMIME_DISCRETE_TYPE_AUDIO: t = "audio"; break;
		case MAILMIME_DISCRETE_TYPE_VIDEO: t = "video"; break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			t = d->dt_extension ? d->dt_extension : t;
			break;
		default: break;
		}
	} else {
		const struct mailmime_composite_type *c = ct->ct_type->tp_data.tp_composite_type;

		if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
			t = "message";
		else if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
			t = "multipart";
		else if (c->ct_token != NULL)
			t = c->ct_token;
	}
	return str_lower(xasprintf("%s/%s", t, ct->ct_subtype ? ct->ct_subtype : ""));
}

static const char *ct_param(const struct mailmime_content *ct, const char *name)
{
	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	for (clistiter *c = clist_begin(ct->ct_parameters); c; c = clist_next(c)) {
		struct mailmime_parameter *p = clist_content(c);

		if (p->pa_name != NULL && p->pa_value != NULL && strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

/* Name/value pairs of one parameter list, for RFC 2231. */
struct plist {
	const char *name[64];
	const char *value[64];
	size_t n;
};

static void params_add(struct plist *p, const char *name, const char *value)
{
	if (p->n < ARRAY_LEN(p->name) && name != NULL && value != NULL) {
		p->name[p->n] = name;
		p->value[p->n++] = value;
	}
}

static const char *params_get(const struct plist *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->name[i], name) == 0)
			return p->value[i];
	return NULL;
}

static void pct_decode(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (s[0] == '%' && hex_val((unsigned char)s[1]) >= 0
		    && hex_val((unsigned char)s[2]) >= 0) {
			buf_addc(b, (char)(hex_val((unsigned char)s[1]) << 4
					   | hex_val((unsigned char)s[2])));
			s += 2;
		} else {
			buf_addc(b, *s);
		}
	}
}

/* RFC 2231 value of parameter base: "base*=cs'lang'%XX" or the
 * continuations base*0[*], base*1[*]... Allocated UTF-8, or NULL. */
static char *rfc2231(const struct plist *p, const char *base)
{
	struct buf b = {0};
	char *cs = NULL, *r, key[80];
	const char *v;

	for (int seg = -1; seg < 100; seg++) {
		int enc = 1;

		if (seg < 0)
			snprintf(key, sizeof(key), "%s*", base);
		else
			snprintf(key, sizeof(key), "%s*%d*", base, seg);
		if ((v = params_get(p, key)) == NULL && seg >= 0) {
			key[strlen(key) - 1] = '\0';
			enc = 0;
			v = params_get(p, key);
		}
		if (v == NULL) {
			if (seg < 0)
				continue;
			break;
		}
		if (enc && seg <= 0) {
			const char *q1 = strchr(v, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;

			if (q2 != NULL) {
				cs = xstrndup(v, (size_t)(q1 - v));
				v = q2 + 1;
			}
		}
		if (enc)
			pct_decode(&b, v);
		else
			buf_adds(&b, v);
		if (seg < 0)
			break;
	}
	if (b.s == NULL) {
		free(cs);
		return NULL;
	}
	r = to_utf8(b.s, b.len, cs);
	buf_free(&b);
	free(cs);
	return str_trim(r);
}

/* The decoded filename of a part, or NULL. */
static char *part_filename(const struct mailmime_single_fields *sf)
{
	struct plist dp = {0}, cp = {0};
	const char *plain = NULL;
	char *r;

	if (sf->fld_disposition != NULL && sf->fld_disposition->dsp_parms != NULL) {
		clist *l = sf->fld_disposition->dsp_parms;

		for (clistiter *c = clist_begin(l); c; c = clist_next(c)) {
			struct mailmime_disposition_parm *pm = clist_content(c);

			if (pm->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
				plain = pm->pa_data.pa_filename;
			else if (pm->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER)
				params_add(&dp, pm->pa_data.pa_parameter->pa_name,
					   pm->pa_data.pa_parameter->pa_value);
		}
	}
	if (sf->fld_content != NULL && sf->fld_content->ct_parameters != NULL) {
		clist *l = sf->fld_content->ct_parameters;

		for (clistiter *c = clist_begin(l); c; c = clist_next(c)) {
			struct mailmime_parameter *pm = clist_content(c);

			params_add(&cp, pm->pa_name, pm->pa_value);
		}
	}
	if ((r = rfc2231(&dp, "filename")) == NULL && plain != NULL)
		r = decode_words(plain);
	if (r == NULL && (r = rfc2231(&cp, "name")) == NULL
	    && (plain = params_get(&cp, "name")) != NULL)
		r = decode_words(plain);
	if (r != NULL && *r == '\0') {
		free(r);
		r = NULL;
	}
	return r;
}

static int part_encoding(const struct mailmime_single_fields *sf)
{
	int e = sf->fld_encoding ? sf->fld_encoding->enc_type : MAILMIME_MECHANISM_8BIT;

	return e == MAILMIME_MECHANISM_BASE64 || e == MAILMIME_MECHANISM_QUOTED_PRINTABLE
	       ? e : MAILMIME_MECHANISM_8BIT;
}

/* Transfer-decoded bytes of a leaf, or the raw bytes of an encapsulated
 * message; s points into the parsed mail or into libetpan's decoded copy
 * (dec), so large attachments are not copied again. */
struct bytes {
	const char *s;
	size_t n;
	char *dec;
};

static void part_bytes(const struct mailmime *mime, int enc, struct bytes *b)
{
	const struct mailmime_data *d = mime->mm_type == MAILMIME_SINGLE && mime->mm_data.mm_single
					? mime->mm_data.mm_single : mime->mm_body;
	size_t idx = 0;

	b->s = "";
	b->n = 0;
	b->dec = NULL;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT || d->dt_data.dt_text.dt_data == NULL)
		return;
	if (mime->mm_type == MAILMIME_SINGLE
	    && mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
				   &idx, enc, &b->dec, &b->n) == MAILIMF_NO_ERROR && b->dec != NULL) {
		b->s = b->dec;
		return;
	}
	b->dec = NULL;
	b->s = d->dt_data.dt_text.dt_data;
	b->n = d->dt_data.dt_text.dt_length;
}

static void bytes_free(struct bytes *b)
{
	if (b->dec != NULL)
		mailmime_decoded_part_free(b->dec);
	b->dec = NULL;
}

/* ---- text clean-up ---- */

/* CRLF and CR to LF; NUL bytes dropped. */
static char *normalise_lf(const char *s)
{
	struct buf b = {0};

	for (; *s; s++) {
		if (*s == '\r') {
			buf_addc(&b, '\n');
			if (s[1] == '\n')
				s++;
		} else {
			buf_addc(&b, *s);
		}
	}
	return buf_steal(&b);
}

/* RFC 3676 format=flowed: joins soft-broken lines of one quote depth and
 * removes the space-stuffing of unquoted lines; quote markers stay. */
static char *unflow(const char *s, int delsp)
{
	struct buf b = {0};
	int prev_flowed = 0, first = 1;
	size_t prev_depth = 0;

	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s), depth = 0, cn;
		const char *c;
		int stuffed, flowed;

		while (depth < n && s[depth] == '>')
			depth++;
		c = s + depth;
		cn = n - depth;
		stuffed = cn > 0 && c[0] == ' ';
		/* the space of a line " " is its stuffing: the line is empty, fixed */
		flowed = cn > (size_t)stuffed && c[cn - 1] == ' '
			 && !(cn - (size_t)stuffed == 3 && memcmp(c + stuffed, "-- ", 3) == 0);
		if (flowed && delsp)
			cn--;
		if (prev_flowed && depth == prev_depth) {
			buf_add(&b, c + stuffed, cn - (size_t)stuffed);
		} else {
			if (!first)
				buf_addc(&b, '\n');
			if (depth == 0)
				buf_add(&b, c + stuffed, cn - (size_t)stuffed);
			else
				buf_add(&b, s, depth + cn);
		}
		first = 0;
		prev_flowed = flowed;
		prev_depth = depth;
		if (e == NULL)
			break;
		s = e + 1;
		if (*s == '\0')
			buf_addc(&b, '\n');
	}
	return buf_steal(&b);
}

/* ---- HTML to text ---- */

struct h2t {
	struct buf out, line;
	int depth;      /* blockquote-like nesting */
	int sticky;     /* 1 after an Outlook/Hotmail separator: the rest is history */
	int line_quote; /* quote level of the current line */
	int space;      /* collapsed white space pending */
	int blank;      /* blank lines just written */
	int pre;
	int glue;       /* a list marker or "Label:" waits for its text: no soft line break */
	int inl;        /* inside a table's label cell: line breaks are spaces */
	struct css_sheet *sheet; /* the document's simple style rules */
	struct css_ink ink;      /* how the current text is drawn */
};

static void h2t_prefix(struct h2t *h, int q, int blank)
{
	for (int i = 0; i < q && i < 16; i++)
		buf_adds(&h->out, blank && i == q - 1 ? ">" : "> ");
}

static void h2t_flush(struct h2t *h, int hard)
{
	if (h->inl) {
		h->space = h->line.len > 0;
		return;
	}
	if (h->glue && !hard)
		return;
	h->glue = 0;
	h->space = 0;
	if (h->line.len == 0) {
		if (!hard || h->blank >= 1 || h->out.len == 0)
			return;
		h2t_prefix(h, h->depth + h->sticky, 1);
		buf_addc(&h->out, '\n');
		h->blank++;
		return;
	}
	h2t_prefix(h, h->line_quote, 0);
	buf_add(&h->out, h->line.s, h->line.len);
	buf_addc(&h->out, '\n');
	h->line.len = 0;
	h->blank = 0;
}

static void h2t_put(struct h2t *h, const char *s, size_t n)
{
	if (h->line.len == 0)
		h->line_quote = h->depth + h->sticky;
	else if (h->space)
		buf_addc(&h->line, ' ');
	h->space = 0;
	h->glue = 0;
	buf_add(&h->line, s, n);
}

static void h2t_text(struct h2t *h, const unsigned char *s)
{
	if (!css_ink_visible(&h->ink))
		return; /* drawn so that nobody can read it */
	for (; *s; s++) {
		int nbsp = s[0] == 0xC2 && s[1] == 0xA0;

		if (h->pre && *s == '\n') {
			h2t_flush(h, 1);
		} else if (h->pre && (nbsp || is_space(*s))) {
			s += nbsp;
			if (*s != '\r')
				h2t_put(h, " ", 1);
		} else if (nbsp || is_space(*s)) {
			s += nbsp;
			h->space = h->line.len > 0;
		} else {
			h2t_put(h, (const char *)s, 1);
		}
	}
}

static int name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(name, *list) == 0)
			return 1;
	return 0;
}

static int class_has(xmlNode *n, const char *token)
{
	xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
	int found = 0;

	if (cls != NULL) {
		struct strv l = {0};

		strv_split(&l, (const char *)cls, ' ');
		for (size_t i = 0; i < l.n && !found; i++)
			found = strcmp(l.v[i], token) == 0;
		strv_free(&l);
		xmlFree(cls);
	}
	return found;
}

static int attr_is(xmlNode *n, const char *attr, const char *value)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	int r = v != NULL && strcasecmp((const char *)v, value) == 0;

	xmlFree(v);
	return r;
}

/* A style with a visible top border (Outlook's reply separator). */
static int style_border_top(xmlNode *n)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)"style");
	const char *p = (const char *)v;
	int r = 0;

	while (p != NULL && !r && (p = str_find_ci(p, "border-top")) != NULL) {
		const char *colon = strchr(p, ':');

		p += 10;
		if (colon == NULL)
			break;
		colon++;
		while (is_space((unsigned char)*colon))
			colon++;
		r = !mem_prefix_ci(colon, strlen(colon), "none") && !(colon[0] == '0'
			&& (colon[1] == '\0' || strchr(" ;p", colon[1]) != NULL));
	}
	xmlFree(v);
	return r;
}

static void h2t_node(struct h2t *h, xmlNode *n, int level);

static int is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL
	       && strcasecmp((const char *)n->name, name) == 0;
}

static int has_descendant(const xmlNode *n, const char *name, int level)
{
	for (const xmlNode *c = n->children; c != NULL && level < MAX_DEPTH * 4; c = c->next)
		if (is_element(c, name) || has_descendant(c, name, level + 1))
			return 1;
	return 0;
}

/* A table row of exactly two cells, the first a short label ("Entity",
 * "Total Cost:"), no table inside: *label and *value are its cells. */
static int label_row(xmlNode *tr, xmlNode **label, xmlNode **value)
{
	xmlNode *cells[2];
	int n = 0;

	for (xmlNode *c = tr->children; c != NULL; c = c->next) {
		if (!is_element(c, "td") && !is_element(c, "th"))
			continue;
		if (n == 2 || has_descendant(c, "table", 0))
			return 0;
		cells[n++] = c;
	}
	if (n != 2)
		return 0;
	xmlChar *t = xmlNodeGetContent(cells[0]);
	char *text = str_trim(xstrdup(t != NULL ? (const char *)t : ""));
	int ok = *text != '\0' && strlen(text) <= 60 && strchr(text, '\n') == NULL;
	free(text);
	xmlFree(t);
	*label = cells[0];
	*value = cells[1];
	return ok;
}

/* A two-column row reads as "Label: value": the label cell on one line, a
 * colon unless it ends with one, the value cell after it. */
static void h2t_label_row(struct h2t *h, xmlNode *label, xmlNode *value, int level)
{
	h2t_flush(h, 0);
	h->inl++;
	h2t_node(h, label->children, level + 1);
	h->inl--;
	while (h->line.len > 0 && h->line.s[h->line.len - 1] == ' ')
		h->line.s[--h->line.len] = '\0';
	if (h->line.len > 0) {
		if (h->line.s[h->line.len - 1] != ':')
			buf_addc(&h->line, ':');
		h->space = 1;
		h->glue = 1;
	}
	h2t_node(h, value->children, level + 1);
	h->glue = 0;
	h2t_flush(h, 0);
}

static void h2t_node(struct h2t *h, xmlNode *n, int level)
{
	static const char *const skip[] = { "script", "style", "head", "title", "template", NULL };
	static const char *const block[] = { "p", "div", "li", "tr", "table", "blockquote",
		"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "pre", "hr",
		"section", "article", "header", "footer", "address", "center", "form",
		"fieldset", "tbody", "thead", "tfoot", "caption", "body", NULL };

	for (; n != NULL; n = n->next) {
		const char *name = (const char *)n->name;
		int is_block, quote = 0, old_depth = h->depth, old_pre = h->pre;

		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (n->content != NULL)
				h2t_text(h, n->content);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE || name == NULL || name_in(name, skip))
			continue;
		if (strcasecmp(name, "br") == 0) {
			h2t_flush(h, 1);
			continue;
		}
		struct css_ink ink = h->ink;
		if (css_apply(h->sheet, n, &h->ink)) {
			h->ink = ink; /* not rendered: nothing in it is visible */
			continue;
		}
		if (strcasecmp(name, "blockquote") == 0 || class_has(n, "gmail_quote")
		    || class_has(n, "gmail_attr") || class_has(n, "moz-cite-prefix"))
			quote = 1;
		if (attr_is(n, "id", "divRplyFwdMsg") || attr_is(n, "id", "OLK_SRC_BODY_SECTION")
		    || attr_is(n, "id", "stopSpelling")
		    || (strcasecmp(name, "div") == 0 && style_border_top(n)))
			quote = 2;
		is_block = quote || name_in(name, block);
		if (strcasecmp(name, "tr") == 0 && !quote && level < MAX_DEPTH * 4) {
			xmlNode *label, *value;

			if (label_row(n, &label, &value)) {
				h2t_label_row(h, label, value, level);
				continue;
			}
		}
		if (is_block)
			h2t_flush(h, 0);
		if (strcasecmp(name, "li") == 0) {
			h2t_put(h, "- ", 2);
			h->glue = 1; /* Outlook on the web: <li><div>text</div></li> */
		} else if ((strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0)
			   && h->line.len > 0) {
			h->space = 0;
			buf_addc(&h->line, '\t');
		}
		if (quote == 1 && (strcasecmp(name, "blockquote") == 0 || h->depth == 0))
			h->depth++;
		if (quote == 2)
			h->sticky = 1;
		if (strcasecmp(name, "pre") == 0)
			h->pre = 1;
		if (level < MAX_DEPTH * 4)
			h2t_node(h, n->children, level + 1);
		h->pre = old_pre;
		if (strcasecmp(name, "li") == 0)
			h->glue = 0;
		if (is_block)
			h2t_flush(h, 0);
		h->depth = old_depth;
		h->ink = ink;
	}
}

/* html without Word's "downlevel-revealed" conditional markers
 * ("<![if !supportLists]>", "<![endif]>"), whose content stays: the HTML
 * parser would keep the markers as text. Allocated, *out_n its length. */
static char *html_drop_downlevel(const char *html, size_t n, size_t *out_n)
{
	struct buf b = {0};
	size_t i = 0;

	while (i < n) {
		const char *lt = memchr(html + i, '<', n - i);
		size_t at = lt != NULL ? (size_t)(lt - html) : n;

		buf_add(&b, html + i, at - i);
		if (at >= n)
			break;
		if (n - at >= 4 && memcmp(html + at, "<![", 3) == 0
		    && (mem_prefix_ci(html + at + 3, n - at - 3, "if ")
			|| mem_prefix_ci(html + at + 3, n - at - 3, "endif]"))) {
			const char *gt = memchr(html + at, '>', n - at);

			/* "<![endif]-->" closes a comment: it stays */
			if (gt != NULL && gt - (html + at) <= 200 && gt[-1] == ']') {
				i = (size_t)(gt - html) + 1;
				continue;
			}
		}
		buf_addc(&b, '<');
		i = at + 1;
	}
	*out_n = b.len;
	return buf_steal(&b);
}

/* UTF-8 HTML to text; quoted history gets "> " line prefixes. */
static char *html_to_text(const char *in, size_t in_n)
{
	struct h2t h = {0};
	htmlDocPtr doc;
	size_t n;
	char *html = html_drop_downlevel(in, in_n, &n);

	if (n > (size_t)0x7fffffff)
		n = 0x7fffffff;
	doc = htmlReadMemory(html, (int)n, NULL, "UTF-8", HTML_PARSE_NOERROR
			     | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_RECOVER);
	if (doc != NULL) {
		css_ink_init(&h.ink);
		h.sheet = css_sheet_read(xmlDocGetRootElement(doc));
		h2t_node(&h, xmlDocGetRootElement(doc), 0);
		h2t_flush(&h, 0);
		css_sheet_free(h.sheet);
		xmlFreeDoc(doc);
	}
	free(html);
	buf_free(&h.line);
	/* drop trailing lines made only of quote marks */
	while (h.out.len > 0 && h.out.s[h.out.len - 1] == '\n') {
		size_t e = h.out.len - 1, k = e;

		while (k > 0 && h.out.s[k - 1] != '\n')
			k--;
		if (strspn(h.out.s + k, "> ") != e - k)
			break;
		h.out.len = k;
		h.out.s[k] = '\0';
	}
	return buf_steal(&h.out);
}

/* ---- the MIME walk ---- */

struct walk {
	struct message *m;
	struct mailmime *plain, *html;             /* outside attached messages */
	struct mailmime *inner_plain, *inner_html; /* inside message/rfc822 */
	int enclosed;    /* a message/rfc822 or text/rfc822-headers part was seen */
	struct mailmime **owned; /* MIME entities opened from S/MIME signed data */
	char **owned_buf;        /* their raw bytes, alive as long as they are */
	size_t n_owned;
	int keep_data;           /* message_parse_data: keep each attachment's bytes */
	struct buf *data;        /* ... data[i] for m->att[i] */
};

static char *crlf_copy(const char *s, size_t n, size_t *out_len, char **base);
static void walk(struct walk *w, struct mailmime *mime, int inner, int record, int level);

static void add_attachment(struct walk *w, char *name, char *type, const char *data,
			   size_t n)
{
	struct message *m = w->m;
	unsigned char dig[32];
	struct msg_attachment *a;

	if (w->keep_data) {
		w->data = xrealloc(w->data, (m->n_att + 1) * sizeof(*w->data));
		memset(&w->data[m->n_att], 0, sizeof(*w->data));
		buf_add(&w->data[m->n_att], data, n);
	}
	m->att = xrealloc(m->att, (m->n_att + 1) * sizeof(*m->att));
	a = &m->att[m->n_att++];
	a->name = name;
	a->type = type;
	a->size = n;
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, dig);
	hex_encode(dig, sizeof(dig), a->sha256);
}

static int is_disp_attachment(const struct mailmime_single_fields *sf)
{
	return sf->fld_disposition != NULL && sf->fld_disposition->dsp_type != NULL
	       && sf->fld_disposition->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
}

static void set_unreadable(struct walk *w, int inner, const char *why)
{
	if (!inner && w->m->unreadable == NULL)
		w->m->unreadable = xstrdup(why);
}

/* Parses the MIME entity s (n bytes, after the header text head) and keeps
 * it in w->owned; returns its body, or NULL. */
static struct mailmime *own_parse(struct walk *w, const char *head, const char *s, size_t n)
{
	struct mailmime *mime = NULL;
	struct buf in = {0};
	size_t clen, idx = 0;
	char *base, *c;

	if (w->n_owned >= MAX_OWNED)
		return NULL;
	buf_adds(&in, head);
	buf_add(&in, s, n);
	c = crlf_copy(in.s, in.len, &clen, &base);
	buf_free(&in);
	if (mailmime_parse(c, clen, &idx, &mime) != MAILIMF_NO_ERROR || mime == NULL) {
		free(base);
		return NULL;
	}
	w->owned = xrealloc(w->owned, (w->n_owned + 1) * sizeof(*w->owned));
	w->owned_buf = xrealloc(w->owned_buf, (w->n_owned + 1) * sizeof(*w->owned_buf));
	w->owned[w->n_owned] = mime;
	w->owned_buf[w->n_owned++] = base;
	return mime->mm_type == MAILMIME_MESSAGE ? mime->mm_data.mm_message.mm_msg_mime : mime;
}

/* The MIME entity inside DER PKCS#7 SignedData (signature not verified),
 * parsed. NULL when der is not signed data with embedded content
 * (enveloped data, detached signature, garbage). */
static struct mailmime *smime_open(struct walk *w, const char *der, size_t n)
{
	gnutls_pkcs7_t p7 = NULL;
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)der, (unsigned)n }, data = { NULL, 0 };
	struct mailmime *mime = NULL;

	if (n == 0 || n > 0x7fffffff || gnutls_pkcs7_init(&p7) < 0)
		return NULL;
	if (gnutls_pkcs7_import(p7, &in, GNUTLS_X509_FMT_DER) >= 0
	    && gnutls_pkcs7_get_embedded_data(p7, 0, &data) >= 0 && data.size > 0)
		mime = own_parse(w, "", (const char *)data.data, data.size);
	gnutls_free(data.data);
	gnutls_pkcs7_deinit(p7);
	return mime;
}

/* A multipart without a usable boundary parameter (libetpan left it a
 * leaf): parsed again with the boundary of its first "--" line. */
static struct mailmime *multipart_guess(struct walk *w, const struct mailmime *mime,
					const char *type)
{
	struct mailmime *r = NULL;
	struct bytes b;
	size_t i = 0, next;

	part_bytes(mime, MAILMIME_MECHANISM_8BIT, &b);
	for (; i < b.n; i = next) {
		size_t e = line_end(b.s, b.n, i, &next);

		if (e - i > 2 && e - i <= 72 && b.s[i] == '-' && b.s[i + 1] == '-') {
			char *bd = str_trim(xstrndup(b.s + i + 2, e - i - 2)), *head;

			if (*bd != '\0' && strpbrk(bd, "\"\\\r") == NULL) {
				head = xasprintf("Content-Type: %s; boundary=\"%s\"\r\n\r\n", type, bd);
				r = own_parse(w, head, b.s, b.n);
				free(head);
			}
			free(bd);
			break;
		}
	}
	bytes_free(&b);
	return r != NULL && r->mm_type == MAILMIME_MULTIPLE ? r : NULL;
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n_owned; i++) {
		mailmime_free(w->owned[i]);
		free(w->owned_buf[i]);
	}
	free(w->owned);
	free(w->owned_buf);
}

static int is_pkcs7_mime(const char *type)
{
	return strcmp(type, "application/pkcs7-mime") == 0
	       || strcmp(type, "application/x-pkcs7-mime") == 0;
}

/* Name ends with ext (ASCII case-insensitive). */
static int name_ends(const char *name, const char *ext)
{
	size_t n = name ? strlen(name) : 0, k = strlen(ext);

	return n >= k && strcasecmp(name + n - k, ext) == 0;
}

/* multipart/signed: only the signed content (its first part) is read; the
 * signature is not listed. multipart/encrypted: unreadable, its parts are
 * listed. */
static void walk_multipart(struct walk *w, struct mailmime *mime, int inner, int record,
			   int level)
{
	clist *l = mime->mm_data.mm_multipart.mm_mp_list;
	const char *sub = mime->mm_content_type ? mime->mm_content_type->ct_subtype : NULL;

	if (sub != NULL && strcasecmp(sub, "signed") == 0) {
		if (l != NULL && clist_begin(l) != NULL)
			walk(w, clist_content(clist_begin(l)), inner, record, level + 1);
		return;
	}
	if (sub != NULL && strcasecmp(sub, "encrypted") == 0) {
		const char *proto = ct_param(mime->mm_content_type, "protocol");

		set_unreadable(w, inner, proto != NULL && str_find_ci(proto, "pgp") != NULL
				 ? "encrypted (PGP)" : "encrypted");
	}
	for (clistiter *c = l ? clist_begin(l) : NULL; c; c = clist_next(c))
		walk(w, clist_content(c), inner, record, level + 1);
}

/* An opaque S/MIME part: signed data is opened and walked like any MIME
 * entity (returns 1); anything else is marked unreadable (returns 0, the
 * part is then listed as an attachment). */
static int walk_pkcs7(struct walk *w, struct mailmime *mime, const char *name, int inner,
		      int record, int level)
{
	struct mailmime_single_fields sf;
	const char *st = ct_param(mime->mm_content_type, "smime-type");
	struct mailmime *in;
	struct bytes b;

	mailmime_single_fields_init(&sf, mime->mm_mime_fields, mime->mm_content_type);
	part_bytes(mime, part_encoding(&sf), &b);
	in = smime_open(w, b.s, b.n);
	bytes_free(&b);
	if (in != NULL) {
		walk(w, in, inner, record, level + 1);
		return 1;
	}
	if (st == NULL ? !name_ends(name, ".p7s") && !name_ends(name, ".p7c")
	    : strcasecmp(st, "enveloped-data") == 0 || strcasecmp(st, "authenveloped-data") == 0)
		set_unreadable(w, inner, "encrypted (S/MIME)");
	return 0;
}

static void walk(struct walk *w, struct mailmime *mime, int inner, int record, int level)
{
	struct mailmime_single_fields sf;
	struct mailmime *guess;
	struct bytes b;
	char *type, *name;

	if (mime == NULL || level > MAX_DEPTH)
		return;
	if (mime->mm_type == MAILMIME_MULTIPLE) {
		walk_multipart(w, mime, inner, record, level);
		return;
	}
	mailmime_single_fields_init(&sf, mime->mm_mime_fields, mime->mm_content_type);
	name = part_filename(&sf);
	type = content_type_str(mime->mm_content_type);
	if (mime->mm_type == MAILMIME_MESSAGE) {
		w->enclosed = 1;
		if (record && (name != NULL || is_disp_attachment(&sf))) {
			part_bytes(mime, MAILMIME_MECHANISM_8BIT, &b);
			add_attachment(w, name, type, b.s, b.n);
			bytes_free(&b);
			record = 0;
		} else {
			free(name);
			free(type);
		}
		walk(w, mime->mm_data.mm_message.mm_msg_mime, 1, record, level + 1);
		return;
	}
	if (strcmp(type, "text/rfc822-headers") == 0)
		w->enclosed = 1;
	if (strncmp(type, "multipart/", 10) == 0 && (guess = multipart_guess(w, mime, type))) {
		free(name);
		free(type);
		walk(w, guess, inner, record, level + 1);
		return;
	}
	if (is_pkcs7_mime(type) && walk_pkcs7(w, mime, name, inner, record, level)) {
		free(name);
		free(type);
		return;
	}
	if (strcmp(type, "application/ms-tnef") == 0 || strcmp(type, "application/vnd.ms-tnef") == 0
	    || (name != NULL && strcasecmp(name, "winmail.dat") == 0))
		set_unreadable(w, inner, "Outlook TNEF (winmail.dat)");
	/* a multipart left a leaf is read as plain text */
	if (name != NULL || is_disp_attachment(&sf)
	    || (strncmp(type, "text/", 5) != 0 && strncmp(type, "multipart/", 10) != 0)) {
		if (record) {
			part_bytes(mime, part_encoding(&sf), &b);
			add_attachment(w, name, type, b.s, b.n);
			bytes_free(&b);
			return;
		}
	} else if (strcmp(type, "text/plain") == 0 || strncmp(type, "multipart/", 10) == 0) {
		if (!inner && w->plain == NULL)
			w->plain = mime;
		if (inner && w->inner_plain == NULL)
			w->inner_plain = mime;
	} else if (strcmp(type, "text/html") == 0) {
		if (!inner && w->html == NULL)
			w->html = mime;
		if (inner && w->inner_html == NULL)
			w->inner_html = mime;
	}
	free(name);
	free(type);
}

/* The text of one chosen part, UTF-8 with LF line ends. */
static char *part_text(struct mailmime *mime, int html)
{
	struct mailmime_single_fields sf;
	const char *fmt, *delsp;
	struct bytes b;
	char *u, *t;

	mailmime_single_fields_init(&sf, mime->mm_mime_fields, mime->mm_content_type);
	part_bytes(mime, part_encoding(&sf), &b);
	u = to_utf8(b.s, b.n, sf.fld_content_charset);
	bytes_free(&b);
	if (html) {
		t = html_to_text(u, strlen(u));
		free(u);
		return t;
	}
	t = normalise_lf(u);
	free(u);
	fmt = ct_param(mime->mm_content_type, "format");
	delsp = ct_param(mime->mm_content_type, "delsp");
	if (fmt != NULL && strcasecmp(fmt, "flowed") == 0) {
		u = unflow(t, delsp != NULL && strcasecmp(delsp, "yes") == 0);
		free(t);
		t = u;
	}
	return t;
}

static int blank_text(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

static char *choose_text(const struct walk *w)
{
	struct mailmime *plain = w->plain ? w->plain : w->html ? NULL : w->inner_plain;
	struct mailmime *html = w->plain || w->html ? w->html : w->inner_html;
	char *t = NULL;

	if (plain != NULL) {
		t = part_text(plain, 0);
		if (!blank_text(t) || html == NULL)
			return t;
		free(t);
	}
	return html != NULL ? part_text(html, 1) : xstrdup("");
}

/* The text of the attached message, or NULL when there is none. */
static char *inner_text(const struct walk *w)
{
	char *t = NULL;

	if (w->inner_plain != NULL) {
		t = part_text(w->inner_plain, 0);
		if (!blank_text(t) || w->inner_html == NULL)
			return t;
		free(t);
	}
	return w->inner_html != NULL ? part_text(w->inner_html, 1) : NULL;
}

/* What choose_text left aside: whether the text is a forwarded mail's, and
 * the HTML part's text beside a text/plain one (m->text already set). */
static void read_alternatives(const struct walk *w, struct message *m)
{
	int outer = w->plain != NULL || w->html != NULL;
	char *alt;

	m->text_enclosed = !outer && (w->inner_plain != NULL || w->inner_html != NULL);
	if (w->plain == NULL || w->html == NULL)
		return;
	alt = part_text(w->html, 1);
	if (strcmp(alt, m->text) == 0)
		free(alt); /* the HTML part is the text (the plain one was blank) */
	else
		m->alt_text = alt;
}

/* ---- bounce ids ---- */

static const char *const id_fields[] = { "Message-ID", "Original-Message-ID",
	"X-Original-Message-ID", "In-Reply-To", NULL };

/* Ids on "Message-ID:"-like lines of s (n bytes); header_only stops at the
 * first empty line. */
static void scan_id_lines(const char *s, size_t n, int header_only, struct strv *out)
{
	size_t i = 0, next;

	for (; i < n; i = next) {
		size_t e = line_end(s, n, i, &next), k = i;

		if (e == i && header_only)
			break;
		while (k < e && (is_wsp((unsigned char)s[k]) || s[k] == '>'))
			k++;
		for (const char *const *f = id_fields; *f; f++) {
			size_t fl = strlen(*f), j = k + fl;

			if (!mem_prefix_ci(s + k, e - k, *f))
				continue;
			while (j < e && is_wsp((unsigned char)s[j]))
				j++;
			if (j < e && s[j] == ':') {
				char *v = xstrndup(s + j + 1, e - j - 1), *id = first_id(str_trim(v));

				if (id != NULL && !strv_contains_ci(out, id))
					strv_add_own(out, id);
				else
					free(id);
				free(v);
			}
			break;
		}
	}
}

static void bounce_walk(struct mailmime *mime, struct strv *out, int level)
{
	struct mailmime_single_fields sf;
	struct bytes b;
	char *type;

	if (mime == NULL || level > MAX_DEPTH)
		return;
	if (mime->mm_type == MAILMIME_MULTIPLE) {
		clist *l = mime->mm_data.mm_multipart.mm_mp_list;

		for (clistiter *c = l ? clist_begin(l) : NULL; c; c = clist_next(c))
			bounce_walk(clist_content(c), out, level + 1);
		return;
	}
	if (mime->mm_type == MAILMIME_MESSAGE) {
		part_bytes(mime, MAILMIME_MECHANISM_8BIT, &b);
		scan_id_lines(b.s, b.n, 1, out);
		bytes_free(&b);
		return;
	}
	type = content_type_str(mime->mm_content_type);
	if (strncmp(type, "text/", 5) == 0 || strncmp(type, "message/", 8) == 0) {
		mailmime_single_fields_init(&sf, mime->mm_mime_fields, mime->mm_content_type);
		part_bytes(mime, part_encoding(&sf), &b);
		scan_id_lines(b.s, b.n, 0, out);
		bytes_free(&b);
	}
	free(type);
}

/* Ids in a JSON report (Amazon SES): the quoted "<...>" value that follows
 * a Message-ID key, as in {"name":"Message-ID","value":"<id>"} or
 * "commonHeaders":{"messageId":"<id>"}. */
static void ses_ids(const char *text, struct strv *out)
{
	static const char *const keys[] = { "message-id", "messageid", NULL };

	for (const char *p = text; *p; p++) {
		for (const char *const *k = keys; *k; k++) {
			const char *q = p + strlen(*k), *e;
			char *id;

			if (lower((unsigned char)*p) != 'm' || !mem_prefix_ci(p, strnlen(p, 10), *k))
				continue;
			q += strspn(q, "\\\" :,");
			if (mem_prefix_ci(q, strnlen(q, 5), "value"))
				q += 5 + strspn(q + 5, "\\\" :");
			if (*q != '<' || q[-1] != '"' || (e = memchr(q, '>', strnlen(q, 250))) == NULL)
				continue;
			id = xstrndup(q + 1, (size_t)(e - q - 1));
			if (id_ok(id) && strchr(id, '@') != NULL && !strv_contains_ci(out, id))
				strv_add_own(out, id);
			else
				free(id);
		}
	}
}

/* ---- kind ---- */

static const char *const ooo_subjects[] = { "Out of Office", "Automatic reply:", "Autoreply",
	"Auto-Reply", "Auto reply", "Abwesenheitsnotiz", "Réponse automatique",
	"Respuesta automática", "Fuori sede", "Afwezig", "Frånvaro", "Fravær", "Poissa", NULL };

static const char *const dsn_subjects[] = { "Undeliverable", "Undelivered",
	"Delivery Status", "Mail delivery failed", "Returned mail", "failure notice",
	"delivery failure", "failed delivery", "failure delivery", "delivery has failed",
	"could not be delivered", "Delayed Mail", "Mail failure", "error sending your mail",
	"Non-delivery", "Nondeliverable", NULL };

/* From a mailer-daemon or postmaster local part, a "MAILER-DAEMON" or "Mail
 * Delivery System" display name, or the null address "<>". */
static int daemon_sender(const struct strv *from, const char *raw_from)
{
	static const char *const locals[] = { "mailer-daemon", "mailer_daemon", "postmaster",
		"post_master", NULL };

	for (size_t i = 0; i < from->n; i++) {
		const char *a = from->v[i];
		size_t k = strcspn(a, "@");

		for (const char *const *l = locals; *l; l++)
			if (k == strlen(*l) && mem_prefix_ci(a, k, *l))
				return 1;
	}
	return raw_from != NULL && (str_find_ci(raw_from, "mailer-daemon") != NULL
				    || str_find_ci(raw_from, "Mail Delivery S") != NULL
				    || (from->n == 0 && strstr(raw_from, "<>") != NULL));
}

/* Phrases of delivery failure reports written as plain text. */
static const char *const dsn_phrases[] = { "could not be delivered",
	"couldn't be delivered", "was not delivered", "user unknown", "unknown user",
	"no such user", "invalid user address", "mailbox is full", "mailbox full",
	"mailbox unavailable", "requested action not taken", "transcript of session follows",
	"permanent fatal error", "delivery to the following recipient", "recipient address rejected",
	"undeliverable", NULL };

/* Local part of an address that takes no replies ("no-reply", "donotreply"...). */
static int noreply_sender(const struct strv *from)
{
	static const char *const locals[] = { "no-reply", "noreply", "no_reply", "do-not-reply",
		"donotreply", "do_not_reply", NULL };

	for (size_t i = 0; i < from->n; i++) {
		size_t k = strcspn(from->v[i], "@");

		for (const char *const *l = locals; *l; l++)
			if (k == strlen(*l) && mem_prefix_ci(from->v[i], k, *l))
				return 1;
	}
	return 0;
}

/* The first dsn_phrases entry found in the first 16 KB of text, or NULL. */
static const char *dsn_phrase(const char *text)
{
	char *head = xstrndup(text, 16384);
	const char *r = NULL;

	for (const char *const *p = dsn_phrases; *p && r == NULL; p++)
		if (str_find_ci(head, *p) != NULL)
			r = *p;
	free(head);
	return r;
}

/* A mailing-list manager's own mail (not a post): From the list's
 * administrative address (owner-x, x-owner, x-admin, x-request, x-bounces)
 * with a list server header. One that refers to a mail (In-Reply-To,
 * References) answers a post it refused or held: a bounce; else (digest,
 * welcome) it is automatic mail. */
static int list_manager_notice(const struct header *h, const struct strv *from)
{
	static const char *const servers[] = { "X-MLServer", "X-ML-Server", "X-Mailman-Version",
		"X-List-Administrivia", "Mailing-List", "List-Id", NULL };
	static const char *const suffixes[] = { "-owner", "-admin", "-request", "-bounces", NULL };
	int server = 0, admin = 0;

	for (const char *const *p = servers; *p && !server; p++)
		server = header_get(h, *p) != NULL;
	for (size_t i = 0; i < from->n && server && !admin; i++) {
		const char *a = from->v[i];
		size_t k = strcspn(a, "@");

		admin = mem_prefix_ci(a, k, "owner-");
		for (const char *const *s = suffixes; *s && !admin; s++)
			admin = k > strlen(*s) && mem_prefix_ci(a + k - strlen(*s), strlen(*s), *s);
	}
	return server && admin;
}

/* Amazon SES event published through SNS (a JSON body): the value of
 * "notificationType" or "eventType" (quotes may be escaped), or NULL. */
static char *ses_event(const struct header *h, const struct strv *from, const char *text)
{
	static const char *const keys[] = { "\"notificationType", "\"eventType", NULL };
	const char *p = NULL;
	size_t k;
	int sns = header_get(h, "x-amz-sns-message-id") != NULL;

	for (size_t i = 0; i < from->n && !sns; i++) {
		const char *d = strchr(from->v[i], '@');

		sns = d != NULL && (strcmp(d, "@sns.amazonaws.com") == 0
				    || strcmp(d, "@amazonses.com") == 0);
	}
	for (const char *const *key = keys; sns && *key && p == NULL; key++)
		if ((p = strstr(text, *key)) != NULL)
			p += strlen(*key);
	if (p == NULL)
		return NULL;
	p += strspn(p, "\\\" \t:");
	for (k = 0; (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= 'a' && p[k] <= 'z'); k++)
		;
	return k > 0 ? xstrndup(p, k) : NULL;
}

static void set_kind(struct message *m, enum msg_kind k, char *reason)
{
	m->kind = k;
	m->kind_reason = reason;
}

/* Token before ';', trimmed, allocated. */
static char *first_token(const char *v)
{
	return str_trim(xstrndup(v, strcspn(v, ";")));
}

/* Auto-Submitted value when present and not "no", else NULL. Allocated. */
static char *auto_submitted(const struct header *h)
{
	const char *v = header_get(h, "Auto-Submitted");
	char *t;

	if (v == NULL)
		return NULL;
	t = first_token(v);
	if (strcasecmp(t, "no") == 0) {
		free(t);
		return NULL;
	}
	return t;
}

static int null_return_path(const struct header *h)
{
	const char *v = header_get(h, "Return-Path");

	if (v == NULL)
		return 0;
	v += strspn(v, " \t");
	return v[0] == '<' && v[1 + strspn(v + 1, " \t")] == '>';
}

/* multipart/report: report-type, or the type of its second part when the
 * parameter is missing. */
static void classify_report(struct message *m, const struct mailmime *body)
{
	const char *rt = ct_param(body->mm_content_type, "report-type");
	clist *l = body->mm_type == MAILMIME_MULTIPLE ? body->mm_data.mm_multipart.mm_mp_list : NULL;
	char *t = NULL;

	if (rt == NULL && l != NULL) {
		for (clistiter *c = clist_begin(l); c && rt == NULL; c = clist_next(c)) {
			struct mailmime *part = clist_content(c);

			free(t);
			t = content_type_str(part->mm_content_type);
			if (strncmp(t, "message/", 8) == 0 && strcmp(t, "message/rfc822") != 0)
				rt = t + 8;
		}
	}
	if (rt != NULL && strcasecmp(rt, "delivery-status") == 0)
		set_kind(m, MSG_BOUNCE, xstrdup("delivery status report"));
	else if (rt != NULL && strcasecmp(rt, "feedback-report") == 0)
		set_kind(m, MSG_COMPLAINT, xstrdup("feedback report"));
	else if (rt != NULL && strcasecmp(rt, "disposition-notification") == 0)
		set_kind(m, MSG_AUTO_REPLY, xstrdup("disposition notification report"));
	free(t);
}

/* Bounce and complaint rules that do not rest on multipart/report:
 * Amazon SES JSON events, client unsubscribe requests, mailer-daemon,
 * null-sender or no-reply notices (subject, or a failure phrase in the
 * text), mailing-list manager notices. */
static void classify_notice(struct message *m, const struct header *h, const struct strv *from,
			    int enclosed, const char *as)
{
	const char *v, *phrase;
	int daemon = daemon_sender(from, header_get(h, "From")), null_rp = null_return_path(h);
	char *ev = ses_event(h, from, m->text);

	if (ev != NULL) {
		if (strcasecmp(ev, "Complaint") == 0)
			set_kind(m, MSG_COMPLAINT, xstrdup("Amazon SES notification: Complaint"));
		else if (strcasecmp(ev, "Bounce") == 0 || strcasecmp(ev, "Delivery") == 0
			 || strcasecmp(ev, "DeliveryDelay") == 0 || strcasecmp(ev, "Reject") == 0)
			set_kind(m, MSG_BOUNCE, xasprintf("Amazon SES notification: %s", ev));
		free(ev);
		if (m->kind != MSG_NORMAL)
			return;
	}
	if ((v = header_get(h, "X-Apple-Unsubscribe")) != NULL && strcasecmp(v, "true") == 0) {
		set_kind(m, MSG_COMPLAINT, xstrdup("unsubscribe request: X-Apple-Unsubscribe"));
		return;
	}
	if (daemon || null_rp) {
		for (const char *const *p = dsn_subjects; *p && m->kind == MSG_NORMAL; p++)
			if (str_find_ci(m->subject, *p) != NULL)
				set_kind(m, MSG_BOUNCE, xasprintf("%s notice: %s",
					 daemon ? "mailer-daemon" : "null sender", *p));
		if (m->kind == MSG_NORMAL && daemon && (as != NULL || null_rp))
			set_kind(m, MSG_BOUNCE, xstrdup(as ? "mailer-daemon notice: Auto-Submitted"
						  : "mailer-daemon notice: Return-Path: <>"));
	}
	if (m->kind == MSG_NORMAL && (daemon || null_rp || (enclosed && noreply_sender(from)))
	    && (phrase = dsn_phrase(m->text)) != NULL)
		set_kind(m, MSG_BOUNCE, xasprintf("%s notice: \"%s\"", daemon ? "mailer-daemon"
						  : null_rp ? "null sender" : "no-reply", phrase));
	if (m->kind == MSG_NORMAL && list_manager_notice(h, from)
	    && (m->in_reply_to != NULL || m->references.n > 0))
		set_kind(m, MSG_BOUNCE, xstrdup("mailing-list manager notice"));
}

static void classify(struct message *m, const struct header *h, const struct mailmime *body,
		     const struct strv *from, int enclosed)
{
	const char *v, *subj = m->subject;
	char *ct = body ? content_type_str(body->mm_content_type) : NULL, *as = auto_submitted(h);
	int null_rp = null_return_path(h);

	if (ct != NULL && strcmp(ct, "multipart/report") == 0)
		classify_report(m, body);
	free(ct);
	if (m->kind == MSG_NORMAL)
		classify_notice(m, h, from, enclosed, as);
	if (m->kind != MSG_NORMAL) {
		free(as);
		return;
	}
	if (as != NULL) {
		set_kind(m, MSG_AUTO_REPLY, xasprintf("Auto-Submitted: %s", as));
		free(as);
		return;
	}
	if ((v = header_get(h, "Precedence")) != NULL) {
		char *t = str_lower(first_token(v));

		if (strcmp(t, "bulk") == 0 || strcmp(t, "junk") == 0 || strcmp(t, "list") == 0) {
			set_kind(m, MSG_AUTO_REPLY, xasprintf("Precedence: %s", t));
			free(t);
			return;
		}
		free(t);
	}
	if (list_manager_notice(h, from)) {
		set_kind(m, MSG_AUTO_REPLY, xstrdup("mailing-list manager mail"));
		return;
	}
	if (header_get(h, "X-Autoreply") != NULL) {
		set_kind(m, MSG_AUTO_REPLY, xstrdup("X-Autoreply"));
		return;
	}
	if (header_get(h, "X-Autorespond") != NULL) {
		set_kind(m, MSG_AUTO_REPLY, xstrdup("X-Autorespond"));
		return;
	}
	if (null_rp) {
		set_kind(m, MSG_AUTO_REPLY, xstrdup("Return-Path: <>"));
		return;
	}
	subj += strspn(subj, " \t[");
	for (const char *const *p = ooo_subjects; *p; p++) {
		if (mem_prefix_ci(subj, strlen(subj), *p)) {
			set_kind(m, MSG_AUTO_REPLY, xasprintf("out-of-office subject: %s", *p));
			return;
		}
	}
}

/* ---- entry points ---- */

/* Offset of the line after the one at i (LF, CRLF or CR line ends). */
static size_t skip_line(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != '\n' && s[i] != '\r')
		i++;
	if (i < n)
		i += s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
	return i;
}

/* Whether the first line of raw is a header field ("From : x", white space
 * before the colon), not an mbox "From sender date" separator. */
static int from_field_line(const char *raw, size_t len)
{
	size_t e = skip_line(raw, len, 0);

	while (e > 0 && (raw[e - 1] == '\n' || raw[e - 1] == '\r'))
		e--;
	return field_name_len(raw, e) > 0;
}

/* Offset of the header: skips an mbox "From " line (one that is not a From
 * field) and leading lines that start with white space. */
static size_t header_start(const char *raw, size_t len)
{
	size_t i = 0;

	if (len >= 5 && memcmp(raw, "From ", 5) == 0 && !from_field_line(raw, len))
		i = skip_line(raw, len, 0);
	while (i < len && is_wsp((unsigned char)raw[i]))
		i = skip_line(raw, len, i);
	return i;
}

/* Private CRLF copy of s with PAD bytes in front; *base is what to free. */
static char *crlf_copy(const char *s, size_t n, size_t *out_len, char **base)
{
	size_t extra = 0, k = 0;
	char *b, *d;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			extra++;
		else if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			extra++;
	}
	b = xmalloc(PAD + n + extra + 1);
	memset(b, '\n', PAD);
	d = b + PAD;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
			d[k++] = '\r';
			d[k++] = '\n';
		} else if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')) {
			d[k++] = '\r';
			d[k++] = '\n';
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = '\0';
	*out_len = k;
	*base = b;
	return d;
}

/* ---- the sender ---- */

/* Length of the UTF-8 sequence at s (n bytes left) when it is a control
 * character (C0, DEL, C1) or an invisible format character (U+00AD,
 * U+061C, U+180E, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF),
 * else 0. */
static size_t hidden_char(const unsigned char *s, size_t n)
{
	unsigned cp;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && n >= 2 && (s[1] < 0xa0 || s[1] == 0xad))
		return 2; /* C1 controls, soft hyphen */
	if (s[0] == 0xd8 && n >= 2 && s[1] == 0x9c)
		return 2;
	if ((s[0] & 0xf0) != 0xe0 || n < 3)
		return 0;
	cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	if (cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e)
	    || (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
		return 3;
	return 0;
}

/* Whether a is an address the agent may take as a sender (see message.h):
 * util's addr_valid, no hidden character, a domain of letters, digits, '-'
 * and non-ASCII, with no empty label. */
static int sender_valid(const char *a)
{
	size_t n = strlen(a);
	const char *d;

	if (!addr_valid(a))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (hidden_char((const unsigned char *)a + i, n - i) > 0)
			return 0;
	d = strchr(a, '@') + 1;
	if (*d == '.' || strstr(d, "..") != NULL)
		return 0;
	for (; *d; d++)
		if (!((unsigned char)*d >= 0x80 || (*d >= 'a' && *d <= 'z') || (*d >= '0' && *d <= '9')
		      || *d == '-' || *d == '.'))
			return 0;
	return 1;
}

/* "\"aio\"@x" -> "aio@x" when the quoted local part is a plain dot-atom
 * (nothing in it needs the quotes). a is modified in place. */
static void unquote_local(char *a)
{
	char *at = strrchr(a, '@');
	size_t k;

	if (a[0] != '"' || at == NULL || at - a < 3 || at[-1] != '"')
		return;
	k = (size_t)(at - a) - 2;
	for (size_t i = 1; i <= k; i++) {
		char c = a[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~.", c)))
			return;
	}
	if (a[1] == '.' || a[k] == '.' || memmem(a + 1, k, "..", 2) != NULL)
		return;
	memmove(a, a + 1, k);
	memmove(a + k, at, strlen(at) + 1);
}

/* Whether a From value is group syntax ("name: a@b;"). */
static int from_group(const char *v)
{
	struct mailimf_address_list *al = NULL;
	size_t idx = 0;
	int group = 0;

	if (v != NULL && mailimf_address_list_parse(v, strlen(v), &idx, &al) == MAILIMF_NO_ERROR) {
		for (clistiter *c = clist_begin(al->ad_list); c; c = clist_next(c))
			group |= ((struct mailimf_address *)clist_content(c))->ad_type == MAILIMF_ADDRESS_GROUP;
		mailimf_address_list_free(al);
	}
	return group;
}

/* The From fields: every mailbox into from (for the kind checks), and the
 * sender only when there is exactly one From field holding exactly one
 * valid mailbox. */
static void read_sender(struct message *m, const struct header *h, struct strv *from)
{
	size_t fields = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->f[i].name, "From") != 0)
			continue;
		fields++;
		mailboxes(h->f[i].value, from, fields == 1 ? &m->from_name : NULL);
	}
	m->from_count = (int)from->n;
	if (fields == 1 && from_group(header_get(h, "From")))
		m->no_sender = xstrdup("the From field is a group, not a mailbox");
	else if (fields == 0)
		m->no_sender = xstrdup("no From header");
	else if (fields > 1)
		m->no_sender = xstrdup("more than one From header");
	else if (from->n > 1)
		m->no_sender = xstrdup("more than one address in From");
	else if (from->n == 1)
		unquote_local(from->v[0]);
	if (m->no_sender == NULL && from->n == 1 && !sender_valid(from->v[0]))
		/* what was written, for the operator (logs and cgenctl show control
		 * characters as text) */
		m->no_sender = xasprintf("the From address is not a valid address: \"%.200s\"%s",
					 from->v[0], str_has_controls(from->v[0])
					 ? " (it holds control characters)" : "");
	else if (m->no_sender == NULL && (from->n == 0 || !sender_valid(from->v[0])))
		m->no_sender = xstrdup("the From address is not a valid address");
	else if (m->no_sender == NULL)
		m->from_addr = xstrdup(from->v[0]);
}

static void read_header(struct message *m, const struct header *h, struct strv *from)
{
	const char *v;

	for (size_t i = 0; i < h->n; i++) {
		const char *name = h->f[i].name;

		v = h->f[i].value;
		if (strcasecmp(name, "To") == 0 || strcasecmp(name, "Cc") == 0) {
			addresses(v, &m->to);
		} else if (strcasecmp(name, "Delivered-To") == 0
			   || strcasecmp(name, "X-Original-To") == 0) {
			struct strv l = {0};

			addr_scan(v, &l);
			if (l.n > 0)
				strv_add(&m->delivered_to, l.v[0]);
			else
				add_addr(&m->delivered_to, v, strlen(v));
			strv_free(&l);
		}
	}
	read_sender(m, h, from);
	if ((v = header_get(h, "Reply-To")) != NULL) {
		struct strv l = {0};

		mailboxes(v, &l, NULL);
		if (l.n > 0)
			m->reply_to = xstrdup(l.v[0]);
		strv_free(&l);
	}
	if ((v = header_get(h, "Subject")) != NULL) {
		free(m->subject);
		m->subject = decode_words(v);
	}
	if ((v = header_get(h, "Message-ID")) != NULL)
		m->message_id = first_id(v);
	if ((v = header_get(h, "In-Reply-To")) != NULL)
		m->in_reply_to = first_id(v);
	if ((v = header_get(h, "References")) != NULL)
		ids(v, &m->references);
	if ((v = header_get(h, "Date")) != NULL && *v != '\0')
		m->date = xstrdup(v);
	if ((v = header_get(h, "Authentication-Results")) != NULL)
		m->auth_results = xstrdup(v);
}

/* message_parse, and with data non-NULL message_parse_data. */
static int parse(const char *raw, size_t len, struct message *out, struct buf **data)
{
	struct header h = {0};
	struct strv from = {0};
	struct walk w = {0};
	struct mailmime *mime = NULL, *body = NULL;
	size_t start, clen, idx = 0, fl;
	char *base, *c;

	if (data != NULL)
		*data = NULL;
	out->subject = xstrdup("");
	out->text = xstrdup("");
	start = header_start(raw, len);
	for (fl = 0; start + fl < len && raw[start + fl] != '\n' && raw[start + fl] != '\r'; fl++)
		;
	if (start >= len || field_name_len(raw + start, fl) == 0)
		return -1;
	c = crlf_copy(raw + start, len - start, &clen, &base);
	header_scan(c, clen, &h);
	read_header(out, &h, &from);

	w.m = out;
	w.keep_data = data != NULL;
	if (mailmime_parse(c, clen, &idx, &mime) == MAILIMF_NO_ERROR && mime != NULL) {
		body = mime->mm_type == MAILMIME_MESSAGE ? mime->mm_data.mm_message.mm_msg_mime : mime;
		walk(&w, body, 0, 1, 0);
		free(out->text);
		out->text = choose_text(&w);
		out->inner_text = inner_text(&w);
		read_alternatives(&w, out);
		walk_free(&w);
	} else {
		char *t = raw_to_utf8(c + h.body, clen - h.body);

		free(out->text);
		out->text = normalise_lf(t);
		free(t);
	}
	if (out->unreadable == NULL
	    && str_startswith_ci(out->text + strspn(out->text, " \t\n"), "-----BEGIN PGP MESSAGE-----"))
		out->unreadable = xstrdup("encrypted (PGP)");
	classify(out, &h, body, &from, w.enclosed);
	if (out->kind == MSG_BOUNCE || out->kind == MSG_COMPLAINT) {
		if (body != NULL)
			bounce_walk(body, &out->bounce_ids, 0);
		else
			scan_id_lines(c + h.body, clen - h.body, 0, &out->bounce_ids);
		ses_ids(out->text, &out->bounce_ids);
		/* a notice that quotes nothing may still name the mail it answers */
		if (out->bounce_ids.n == 0 && out->in_reply_to != NULL)
			strv_add(&out->bounce_ids, out->in_reply_to);
		for (size_t i = 0; out->bounce_ids.n == 0 && i < out->references.n; i++)
			strv_add(&out->bounce_ids, out->references.v[i]);
	}
	if (mime != NULL)
		mailmime_free(mime);
	header_free(&h);
	strv_free(&from);
	free(base);
	if (data != NULL)
		*data = w.data;
	return 0;
}

int message_parse(const char *raw, size_t len, struct message *out)
{
	return parse(raw, len, out, NULL);
}

int message_parse_data(const char *raw, size_t len, struct message *out, struct buf **data)
{
	return parse(raw, len, out, data);
}

void message_data_free(struct buf *data, size_t n)
{
	for (size_t i = 0; data != NULL && i < n; i++)
		buf_free(&data[i]);
	free(data);
}

void message_free(struct message *m)
{
	if (m == NULL)
		return;
	free(m->from_addr);
	free(m->from_name);
	free(m->reply_to);
	strv_free(&m->to);
	strv_free(&m->delivered_to);
	free(m->subject);
	free(m->message_id);
	free(m->in_reply_to);
	strv_free(&m->references);
	free(m->date);
	free(m->auth_results);
	free(m->kind_reason);
	free(m->text);
	free(m->inner_text);
	free(m->unreadable);
	free(m->no_sender);
	free(m->alt_text);
	for (size_t i = 0; i < m->n_att; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
	}
	free(m->att);
	strv_free(&m->bounce_ids);
	memset(m, 0, sizeof(*m));
}

char *message_dedup_id(const struct message *m, const char *raw, size_t len)
{
	unsigned char dig[32];
	char hex[65];

	if (m != NULL && m->message_id != NULL && *m->message_id != '\0')
		return xstrdup(m->message_id);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, dig);
	hex_encode(dig, sizeof(dig), hex);
	return xasprintf("sha256:%s", hex);
}
