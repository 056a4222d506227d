/* command.c: the command word on the first line of a reply's own text.
 *
 * Quoted lines, and an attribution that introduces a quote, are passed over.
 * The line is cut into words with one pcre2 pattern (letters and digits,
 * apostrophes inside a word: "don't", "don’t"); the rest is plain C. A
 * decision word (APPROVE, REJECT, DENY, WITHDRAW, RECOMMEND) is handled with
 * more care than the others: anywhere but at the start of the line, next to
 * another decision word, after a negation, or on a line with a question
 * mark, it makes the line ambiguous. */
#include "config.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <pcre2.h>

#include "command.h"
#include "log.h"
#include "util.h"
#include "visible.h"

struct word {
	const char *text; /* lower case */
	enum cmd_word w;
	int decision;
};

static const struct word words[] = {
	{ "approve", CMD_APPROVE, 1 },
	{ "approved", CMD_APPROVE, 1 },
	{ "reject", CMD_REJECT, 1 },
	{ "rejected", CMD_REJECT, 1 },
	{ "info", CMD_INFO, 0 },
	{ "recommend", CMD_RECOMMEND, 1 },
	{ "note", CMD_NOTE, 0 },
	{ "deny", CMD_DENY, 1 },
	{ "denied", CMD_DENY, 1 },
	{ "withdraw", CMD_WITHDRAW, 1 },
	{ "withdrawn", CMD_WITHDRAW, 1 },
	{ "status", CMD_STATUS, 0 },
	{ "audit", CMD_AUDIT, 0 },
	{ "help", CMD_HELP, 0 },
	{ "form", CMD_FORM, 0 },
	{ "propose", CMD_PROPOSE, 0 },
	{ "accept", CMD_ACCEPT, 0 },
	{ "accepted", CMD_ACCEPT, 0 },
	{ "decline", CMD_DECLINE, 0 },
	{ "declined", CMD_DECLINE, 0 },
	{ "extend", CMD_EXTEND, 0 },
};

/* Negated or inflected decision words: never a command, always ambiguous. */
static const char *const unclear[] = {
	"disapprove", "disapproved", "unapprove", "unapproved", "approves", "approving",
	"rejects", "rejecting", "unreject", "denies", "denying", "withdraws", "withdrawing",
	"withdrew", "recommends", "recommending", "recommended",
};

/* Words that negate the word after them: "not approve", "no info". */
static const char *const negators[] = {
	"not", "no", "don't", "dont", "cannot", "can't", "cant", "won't", "wont", "never",
	"shouldn't", "wouldn't", "didn't", "doesn't", "isn't", "mustn't",
};

static const char *const names[] = {
	[CMD_APPROVE] = "APPROVE", [CMD_REJECT] = "REJECT", [CMD_INFO] = "INFO",
	[CMD_RECOMMEND] = "RECOMMEND", [CMD_NOTE] = "NOTE", [CMD_DENY] = "DENY",
	[CMD_WITHDRAW] = "WITHDRAW", [CMD_STATUS] = "STATUS", [CMD_AUDIT] = "AUDIT",
	[CMD_HELP] = "HELP", [CMD_FORM] = "FORM", [CMD_PROPOSE] = "PROPOSE",
	[CMD_ACCEPT] = "ACCEPT", [CMD_DECLINE] = "DECLINE", [CMD_EXTEND] = "EXTEND",
};

const char *command_name(enum cmd_word w)
{
	if (w <= CMD_NONE || (size_t)w >= ARRAY_LEN(names))
		return NULL;
	return names[w];
}

static pcre2_code *word_re;
static pcre2_match_context *word_mctx;

static void re_init(void)
{
	if (word_re)
		return;
	int err = 0;
	PCRE2_SIZE off;
	word_re = pcre2_compile((PCRE2_SPTR) "\\w++(?:['’]\\w++)*+", PCRE2_ZERO_TERMINATED,
				PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
	word_mctx = pcre2_match_context_create(NULL);
	if (!word_re || !word_mctx) {
		log_err("command: cannot compile the word pattern (error %d)", err);
		abort();
	}
	pcre2_set_match_limit(word_mctx, 100000);
	pcre2_set_depth_limit(word_mctx, 1000);
}

struct token {
	size_t start, end;       /* byte offsets in the line */
	const struct word *word; /* NULL: not a command word */
	int unclear;
	int negator;
};

/* Lower-cases an ASCII word into out (size 16) with "’" as "'"; 0 when the
 * word cannot be a command word (too long, other characters). */
static int fold(const char *s, size_t n, char out[16])
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o == 15)
			return 0;
		if (c >= 'A' && c <= 'Z')
			out[o++] = (char)(c - 'A' + 'a');
		else if (c < 0x80)
			out[o++] = (char)c;
		else if (i + 2 < n && memcmp(s + i, "’", 3) == 0) {
			out[o++] = '\'';
			i += 2;
		} else
			return 0;
	}
	out[o] = '\0';
	return 1;
}

static void classify(const char *s, struct token *t)
{
	char w[16];
	t->word = NULL;
	t->unclear = t->negator = 0;
	if (!fold(s + t->start, t->end - t->start, w))
		return;
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(w, words[i].text) == 0)
			t->word = &words[i];
	for (size_t i = 0; i < ARRAY_LEN(unclear); i++)
		if (strcmp(w, unclear[i]) == 0)
			t->unclear = 1;
	for (size_t i = 0; i < ARRAY_LEN(negators); i++)
		if (strcmp(w, negators[i]) == 0)
			t->negator = 1;
}

/* The words of line[0..n); returns their number, *out allocated. */
static size_t tokenize(const char *line, size_t n, struct token **out)
{
	size_t cnt = 0, cap = 8, at = 0;
	struct token *t = xmalloc(cap * sizeof *t);
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		abort();
	/* UTF-8 is checked once here, not by every match (a long first line
	 * would take quadratic time): invalid bytes, which never match, become
	 * spaces at the same offsets. */
	char *clean = xmalloc(n + 1);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_valid_len((const unsigned char *)line + i, n - i);
		if (k == 0) {
			clean[i++] = ' ';
		} else {
			memcpy(clean + i, line + i, k);
			i += k;
		}
	}
	clean[n] = '\0';
	while (at < n) {
		int rc = pcre2_match(word_re, (PCRE2_SPTR)clean, n, at, PCRE2_NO_UTF_CHECK, md,
				     word_mctx);
		if (rc < 0) {
			if (rc != PCRE2_ERROR_NOMATCH)
				log_debug("command: pcre2 error %d", rc);
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (cnt == cap) {
			cap *= 2;
			t = xrealloc(t, cap * sizeof *t);
		}
		t[cnt] = (struct token){ .start = ov[0], .end = ov[1] };
		classify(line, &t[cnt]);
		cnt++;
		at = ov[1] > at ? ov[1] : at + 1;
	}
	pcre2_match_data_free(md);
	free(clean);
	*out = t;
	return cnt;
}

/* Length of the white space (ASCII, U+00A0, U+FEFF) at s[0..n). */
static size_t space_len(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v'))
			i++;
		else if (i + 1 < n && memcmp(s + i, "\xc2\xa0", 2) == 0)
			i += 2;
		else if (i + 2 < n && memcmp(s + i, "\xef\xbb\xbf", 3) == 0)
			i += 3;
		else
			return i;
	}
}

/* Skips the separators after a command word: white space : - – — , . ! ; */
static size_t skip_sep(const char *s, size_t i, size_t n)
{
	for (;;) {
		size_t sp = space_len(s + i, n - i);
		if (sp)
			i += sp;
		else if (i < n && strchr(":-,.!;", s[i]))
			i++;
		else if (i + 2 < n && (memcmp(s + i, "–", 3) == 0 || memcmp(s + i, "—", 3) == 0))
			i += 3;
		else
			return i;
	}
}

/* The line s[0..*n) without its leading and trailing white space: the
 * offset of its text; *n becomes the text's length (0: a blank line). */
static size_t trim_line(const char *s, size_t *n)
{
	size_t lead = space_len(s, *n), end = *n;
	while (end > lead && space_len(s + end - 1, 1))
		end--;
	*n = end - lead;
	return lead;
}

/* Whether line s[0..n) is not the sender's own text: a quoted line, or an
 * attribution whose next non-blank line is quoted. next: the text after the
 * line's newline, or NULL. */
static int quote_line(const char *s, size_t n, const char *next)
{
	size_t lead = trim_line(s, &n);
	if (n && s[lead] == '>')
		return 1;
	if (!n || !next || !visible_is_attribution(s + lead, n))
		return 0;
	while (*next) {
		size_t len = strcspn(next, "\n"), m = len;
		size_t at = trim_line(next, &m);
		if (m)
			return next[at] == '>';
		next += len + (next[len] != '\0');
	}
	return 0;
}

/* The first line holding more than white space and not a quote:
 * [*line, *line + *n), and what follows it (*rest, after its newline; NULL
 * when none). */
static int first_line(const char *s, const char **line, size_t *n, const char **rest)
{
	while (*s) {
		size_t len = strcspn(s, "\n"), m = len;
		const char *next = s[len] ? s + len + 1 : NULL;
		size_t lead = trim_line(s, &m);
		if (m && !quote_line(s, len, next)) {
			*line = s + lead;
			*n = m;
			*rest = next;
			return 1;
		}
		s += len + (s[len] != '\0');
	}
	return 0;
}

/* Appends the lines of s that are not quotes (CR before LF removed), runs of
 * blank lines made one. */
static void add_unquoted(struct buf *b, const char *s)
{
	int blank = 0;
	while (*s) {
		size_t len = strcspn(s, "\n"), m = len;
		const char *next = s[len] ? s + len + 1 : NULL;
		trim_line(s, &m);
		if (visible_is_signature(s, len))
			break; /* the signature is not part of the argument */
		if (!quote_line(s, len, next) && !(m == 0 && blank)) {
			size_t keep = len;
			if (keep && s[keep - 1] == '\r')
				keep--;
			buf_addc(b, '\n');
			buf_add(b, s, keep);
			blank = m == 0;
		}
		s += len + (s[len] != '\0');
	}
}

/* Whether the tokens from index `from` hold a decision word other than w, or
 * an unclear one. */
static int conflict(const struct token *t, size_t cnt, size_t from, enum cmd_word w)
{
	for (size_t i = from; i < cnt; i++)
		if (t[i].unclear || (t[i].word && t[i].word->decision && t[i].word->w != w))
			return 1;
	return 0;
}

/* Whether a negation stands right before a decision word or INFO. */
static int negated(const struct token *t, size_t cnt)
{
	for (size_t i = 0; i + 1 < cnt; i++)
		if (t[i].negator && t[i + 1].word && (t[i + 1].word->decision || t[i + 1].word->w == CMD_INFO))
			return 1;
	return 0;
}

/* A word glued to the next by a hyphen ("approve-ish") is not a whole word. */
static int hyphenated(const char *line, size_t n, size_t end)
{
	return end + 1 < n && line[end] == '-' &&
	       (((unsigned char)line[end + 1] >= 0x80) || ((line[end + 1] | 0x20) >= 'a' && (line[end + 1] | 0x20) <= 'z') ||
		(line[end + 1] >= '0' && line[end + 1] <= '9'));
}

void command_parse(const char *visible, struct command *out)
{
	*out = (struct command){ CMD_NONE, NULL, 0 };
	const char *line, *rest;
	size_t n;
	if (!visible || !first_line(visible, &line, &n, &rest))
		return;
	re_init();

	struct token *t;
	size_t cnt = tokenize(line, n, &t);
	const struct word *cmd = cnt && t[0].start == 0 ? t[0].word : NULL;
	if (negated(t, cnt) || (cmd && hyphenated(line, n, t[0].end))) {
		out->ambiguous = 1;
		goto out;
	}
	if (!cmd) {
		/* "I approve", "do not approve", "disapprove", "Yes, reject". */
		out->ambiguous = conflict(t, cnt, 0, CMD_NONE);
		goto out;
	}

	size_t at = t[0].end;
	size_t after = at + space_len(line + at, n - at);
	if ((after < n && line[after] == '?') || (cmd->decision && memchr(line, '?', n))) {
		out->ambiguous = 1;
		goto out;
	}
	const char *verdict = NULL;
	if (cmd->w == CMD_RECOMMEND) {
		at = skip_sep(line, at, n);
		const struct word *v = cnt > 1 && t[1].start == at ? t[1].word : NULL;
		if (!v || (v->w != CMD_APPROVE && v->w != CMD_DENY) || conflict(t, cnt, 2, v->w)) {
			out->ambiguous = 1;
			goto out;
		}
		verdict = v->w == CMD_APPROVE ? "APPROVE" : "DENY";
		at = t[1].end;
	} else if (cmd->decision && conflict(t, cnt, 1, cmd->w)) {
		out->ambiguous = 1;
		goto out;
	}

	at = skip_sep(line, at, n);
	struct buf arg = { 0 };
	buf_add(&arg, line + at, n - at);
	if (rest)
		add_unquoted(&arg, rest);
	out->word = cmd->w;
	out->argument = str_trim(buf_steal(&arg));
	if (verdict) {
		char *a = out->argument;
		out->argument = *a ? xasprintf("%s %s", verdict, a) : xstrdup(verdict);
		free(a);
	}
out:
	free(t);
}

void command_free(struct command *c)
{
	if (!c)
		return;
	free(c->argument);
	c->argument = NULL;
	c->word = CMD_NONE;
	c->ambiguous = 0;
}
