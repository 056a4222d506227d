/* visible.c: cut a reply at the first quote, attribution, forwarded part or
 * signature. The text is handled line by line; every pattern is anchored to
 * one line (or to two or three lines of a wrapped attribution, joined), runs
 * under a match limit, and very long lines are never given to a pattern. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "log.h"
#include "util.h"
#include "visible.h"

/* Longer lines are body text: no header, rule or attribution is that long. */
#define LINE_MAX_RE 4096
#define ATTRIB_MAX 1000 /* a (joined) attribution line */

enum re_id {
	RE_ORIGINAL,
	RE_FORWARD,
	RE_SIGNATURE,
	RE_MOBILE,
	RE_RULE,
	RE_FROM,
	RE_SENT,
	RE_ATTRIB,
	RE_ATTRIB_TAIL,
	RE_COUNT
};

/* Possessive quantifiers wherever backtracking buys nothing. */
#define WORDS(n) "[\\w-]++(?:[ \\t]++[\\w-]++){0," #n "}+"
static const char *const re_src[RE_COUNT] = {
	[RE_ORIGINAL] = "^\\s*+-++\\s*+(?:Original Message|Ursprüngliche Nachricht|"
			"Message d'origine|Mensaje original|Oprindelig meddelelse|"
			"Opprinnelig melding|Oorspronkelijk bericht|Ursprungligt meddelande|"
			"Mensagem original|Messaggio originale)\\s*+-++\\s*+$",
	[RE_FORWARD] = "^\\s*+(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht|"
		       "Début du message réexpédié)\\s*+:\\s*+$"
		       "|^\\s*+-++\\s*+(?:Forwarded message|Weitergeleitete Nachricht|"
		       "Message transféré|Mensaje reenviado|Videresendt meddelelse|"
		       "Doorgestuurd bericht|Vidarebefordrat meddelande)\\s*+-++\\s*+$",
	[RE_SIGNATURE] = "^--[ \\t]*+$",
	[RE_MOBILE] = "^\\s*+(?:Sent from my\\s++" WORDS(5)
		      "|Sent from (?:Mail|Outlook|Yahoo Mail)(?:\\s++(?:for|on)\\s++" WORDS(2) ")?+"
		      "|Get Outlook for " WORDS(2)
		      "|Envoyé de mon " WORDS(3)
		      "|Enviado desde mi " WORDS(3)
		      "|Sendt fra min " WORDS(3)
		      "|Skickat från min " WORDS(3)
		      "|Verzonden (?:met|vanaf) mijn " WORDS(3)
		      "|Von meinem [\\w-]++(?:[ \\t]++[\\w-]++){0,3}?[ \\t]++gesendet"
		      ")[ \\t.!]*+$",
	[RE_RULE] = "^\\s*+_{8,}+\\s*+$",
	[RE_FROM] = "^[ \\t]*+\\*{0,2}+(?:From|Fra|Von|De|Van|Från)\\*{0,2}+\\s?+:",
	[RE_SENT] = "^[ \\t]*+\\*{0,2}+(?:Sent|Date|Sendt|Dato|Gesendet|Datum|Envoyé|Enviado|"
		    "Fecha|Verzonden|Skickat)\\*{0,2}+\\s?+:",
	[RE_ATTRIB] = "^[ \\t]*+(?:-++[ \\t]*+)?(?:On\\s.*\\bwrote|Am\\s.*\\bschrieb\\b.*"
		      "|Le\\s.*\\ba\\s++écrit|El\\s.*\\bescribió|Il\\s.*\\bha\\s++scritto"
		      "|Op\\s.*\\bschreef\\b.*|Em\\s.*\\bescreveu|Den\\s.*\\bskrev\\b.*)\\s*+:\\s*+$",
	/* Any "... wrote:" line, when a quote follows it. */
	[RE_ATTRIB_TAIL] = "\\b(?:wrote|schrieb|a\\s++écrit|escribió|ha\\s++scritto|schreef"
			   "|escreveu|skrev)\\s*+:\\s*+$",
};
#undef WORDS

static pcre2_code *re_code[RE_COUNT];
static pcre2_match_context *re_mctx;

static void re_init(void)
{
	if (re_mctx)
		return;
	for (size_t i = 0; i < RE_COUNT; i++) {
		int err;
		PCRE2_SIZE off;
		re_code[i] = pcre2_compile((PCRE2_SPTR)re_src[i], PCRE2_ZERO_TERMINATED,
					   PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS |
						   PCRE2_MATCH_INVALID_UTF,
					   &err, &off, NULL);
		if (!re_code[i]) {
			PCRE2_UCHAR msg[120];
			pcre2_get_error_message(err, msg, sizeof msg);
			log_err("visible: pattern %zu at %zu: %s", i, (size_t)off, (char *)msg);
			abort();
		}
	}
	re_mctx = pcre2_match_context_create(NULL);
	if (!re_mctx)
		abort();
	pcre2_set_match_limit(re_mctx, 100000);
	pcre2_set_depth_limit(re_mctx, 1000);
}

struct line {
	const char *s;
	size_t n;
};

struct text {
	struct line *l;
	size_t n;
	pcre2_match_data *md;
	struct buf join; /* scratch for wrapped attributions */
};

/* 1 on a match; no match, an exhausted limit or any other error is 0. */
static int re_match(struct text *t, enum re_id id, const char *s, size_t n)
{
	if (n > LINE_MAX_RE)
		return 0;
	int rc = pcre2_match(re_code[id], (PCRE2_SPTR)s, n, 0, 0, t->md, re_mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		log_debug("visible: pattern %d: pcre2 error %d", (int)id, rc);
	return rc >= 0;
}

static int is_blank(const struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return 0;
	return 1;
}

static int is_quote(const struct line *l)
{
	size_t i = 0;
	while (i < l->n && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return i < l->n && l->s[i] == '>';
}

/* A separator rule left above a cut: "-----", "_____", "=====". */
static int is_rule(const struct line *l)
{
	size_t marks = 0;
	for (size_t i = 0; i < l->n; i++) {
		char c = l->s[i];
		if (c == '-' || c == '_' || c == '=')
			marks++;
		else if (c != ' ' && c != '\t')
			return 0;
	}
	return marks >= 3;
}

static size_t next_nonblank(const struct text *t, size_t i)
{
	while (i < t->n && is_blank(&t->l[i]))
		i++;
	return i;
}

/* Number of lines (1-3) of the attribution starting at line i, or 0. */
static size_t attribution(struct text *t, size_t i)
{
	const struct line *l = &t->l[i];
	if (is_blank(l) || l->n > ATTRIB_MAX)
		return 0;
	t->join.len = 0;
	buf_add(&t->join, l->s, l->n);
	for (size_t k = 1; k <= 3; k++) {
		if (k > 1) {
			if (i + k - 1 >= t->n)
				break;
			const struct line *c = &t->l[i + k - 1];
			if (is_blank(c) || is_quote(c) || t->join.len + 1 + c->n > ATTRIB_MAX)
				break;
			buf_addc(&t->join, ' ');
			buf_add(&t->join, c->s, c->n);
		}
		if (re_match(t, RE_ATTRIB, t->join.s, t->join.len))
			return k;
	}
	size_t q = next_nonblank(t, i + 1);
	if (q < t->n && is_quote(&t->l[q]) && re_match(t, RE_ATTRIB_TAIL, l->s, l->n))
		return 1;
	return 0;
}

/* An Outlook header block: "From:" then "Sent:"/"Date:" within three lines. */
static int header_block(struct text *t, size_t i)
{
	if (!re_match(t, RE_FROM, t->l[i].s, t->l[i].n))
		return 0;
	for (size_t k = i + 1; k <= i + 3 && k < t->n; k++)
		if (re_match(t, RE_SENT, t->l[k].s, t->l[k].n))
			return 1;
	return 0;
}

static int hard_cut(struct text *t, size_t i)
{
	static const enum re_id ids[] = { RE_ORIGINAL, RE_FORWARD, RE_SIGNATURE, RE_MOBILE, RE_RULE };
	const struct line *l = &t->l[i];
	for (size_t k = 0; k < ARRAY_LEN(ids); k++)
		if (re_match(t, ids[k], l->s, l->n))
			return 1;
	return header_block(t, i);
}

/* Splits s (modified: CR before LF removed) into lines. */
static void split_lines(char *s, struct text *t)
{
	size_t cap = 16;
	t->l = xmalloc(cap * sizeof *t->l);
	t->n = 0;
	char *w = s;
	const char *start = s;
	for (const char *r = s;; r++) {
		if (*r == '\r' && (r[1] == '\n' || r[1] == '\0'))
			continue;
		if (*r == '\n' || *r == '\0') {
			if (t->n == cap) {
				cap *= 2;
				t->l = xrealloc(t->l, cap * sizeof *t->l);
			}
			t->l[t->n++] = (struct line){ start, (size_t)(w - start) };
			if (*r == '\0')
				break;
			*w++ = '\n';
			start = w;
			continue;
		}
		*w++ = *r;
	}
}

static void emit(struct buf *out, const struct line *l)
{
	if (out->len)
		buf_addc(out, '\n');
	buf_add(out, l->s, l->n);
}

/* Text written above the first quote, attribution or cut. */
static void top_posted(struct text *t, struct buf *out)
{
	size_t end = 0;
	while (end < t->n && !is_quote(&t->l[end]) && !attribution(t, end) && !hard_cut(t, end))
		end++;
	if (end < t->n)
		while (end > 0 && (is_blank(&t->l[end - 1]) || is_rule(&t->l[end - 1])))
			end--;
	while (end > 0 && is_blank(&t->l[end - 1]))
		end--;
	for (size_t i = 0; i < end; i++)
		emit(out, &t->l[i]);
}

/* A reply written below (or between) quotes: the lines that are neither
 * quoted nor attributions, up to the first signature or header block. Runs of
 * blank lines left where quotes were removed count as one. */
static void bottom_posted(struct text *t, size_t i, struct buf *out)
{
	int blank = 1;
	size_t keep = 0; /* out->len after the last non-blank line */
	while (i < t->n) {
		const struct line *l = &t->l[i];
		size_t span;
		if (is_quote(l)) {
			i++;
			continue;
		}
		if ((span = attribution(t, i))) {
			i += span;
			continue;
		}
		if (hard_cut(t, i))
			break;
		if (is_blank(l)) {
			if (!blank)
				emit(out, l);
			blank = 1;
		} else {
			emit(out, l);
			keep = out->len;
			blank = 0;
		}
		i++;
	}
	out->len = keep;
	if (out->s)
		out->s[keep] = '\0';
}

/* Whether the first non-blank line (first) is a quote, or an attribution
 * with a quote below it: the reply is then below the quote. */
static int quote_first(struct text *t, size_t first)
{
	if (first >= t->n)
		return 0;
	if (is_quote(&t->l[first]))
		return 1;
	size_t span = attribution(t, first);
	if (!span)
		return 0;
	size_t q = next_nonblank(t, first + span);
	return q < t->n && is_quote(&t->l[q]);
}

char *visible_text(const char *text)
{
	re_init();
	char *copy = xstrdup(text);
	struct text t = { 0 };
	struct buf out = { 0 };
	split_lines(copy, &t);
	t.md = pcre2_match_data_create(1, NULL);
	if (!t.md)
		abort();

	size_t first = next_nonblank(&t, 0);
	if (quote_first(&t, first))
		bottom_posted(&t, first, &out);
	else
		top_posted(&t, &out);

	pcre2_match_data_free(t.md);
	buf_free(&t.join);
	free(t.l);
	free(copy);
	return buf_steal(&out);
}
