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

#include <ctype.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "command.h"
#include "message.h"
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
	char low[16];            /* lower-cased ("’" as "'"), "" when too long */
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
	char *w = t->low;
	t->word = NULL;
	t->unclear = t->negator = 0;
	if (!fold(s + t->start, t->end - t->start, w)) {
		w[0] = '\0';
		return;
	}
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

/* Whether line s[0..n) is not the sender's own text: a quoted line ('>',
 * '|', "C>"), or an attribution whose next non-blank line is quoted. next:
 * the text after the line's newline, or NULL. */
static int quote_line(const char *s, size_t n, const char *next)
{
	size_t lead = trim_line(s, &n);
	if (n && visible_is_quote(s + lead, n))
		return 1;
	if (!n || !next || !visible_is_attribution(s + lead, n))
		return 0;
	while (*next) {
		size_t len = strcspn(next, "\n"), m = len;
		size_t at = trim_line(next, &m);
		if (m)
			return visible_is_quote(next + at, m);
		next += len + (next[len] != '\0');
	}
	return 0;
}

/* ---- phrases around the command word ---- */

#define GREETING_MAX 160 /* bytes of a line that may hold a greeting */

/* Greetings that may open a reply above its command ("Hi team,", "Good
 * morning Ana,"). */
static const char *const greetings[] = {
	"hi", "hello", "hey", "dear", "greetings", "hiya", "howdy", "morning", "afternoon",
	"evening", "good morning", "good afternoon", "good evening", "good day", "team", "all",
	"everyone", "folks",
};

/* What may stand before a decision word and still leave it the command
 * ("Yes, approved", "Looks good, I approve", "This request is approved"):
 * any number of leads, then at most one subject. */
static const char *const leads[] = {
	"yes", "yep", "yeah", "ok", "okay", "sure", "fine", "great", "good", "perfect", "agreed",
	"confirmed", "absolutely", "certainly", "definitely", "lgtm", "looks good", "looks fine",
	"looks ok", "looks great", "look good", "looks good to me", "looks fine to me",
	"sounds good", "seems fine", "all good", "all set", "thanks", "thank you", "thanks all",
	"thank you all",
};
static const char *const subjects[] = {
	"i", "we", "i hereby", "we hereby", "hereby", "i also", "we also", "we both", "i fully",
	"i would like to", "we would like to", "i'd like to", "we'd like to", "i want to",
	"we want to", "i wish to", "we wish to", "this is", "it is", "it's", "request",
	"request is", "the request is", "this request is", "exemption", "the exemption is",
	"this exemption is", "please",
};
/* Subjects that only lead to these words ("please withdraw", never "please
 * approve": that is someone asking for an approval). */
static const struct {
	const char *subject;
	enum cmd_word only;
} subject_only[] = {
	{ "please", CMD_WITHDRAW },
};

/* Words that make a phrased decision conditional or unsure: such a line is
 * never a command ("I approve if the cost is lower", "we withdraw, but ..."). */
static const char *const hedges[] = {
	"if", "unless", "once", "pending", "provided", "providing", "assuming", "until", "but",
	"however", "although", "though", "when", "after", "maybe", "perhaps", "probably", "might",
	"could", "would", "should", "tentatively", "conditionally",
};

/* Words a negation may reach over to the decision word ("not yet approved",
 * "cannot be approved"). */
static const char *const neg_gap[] = {
	"yet", "really", "quite", "even", "ever", "currently", "formally", "fully", "be", "been",
	"being", "able", "to",
};

/* Words of a phrase that name what is decided ("I approve this request"):
 * not part of the argument. */
static const char *const object_words[] = { "this", "the", "it", "request", "exemption", "case" };

static int in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

/* Number of tokens from t[i] that spell phrase (words separated by one
 * space), or 0. */
static size_t phrase_at(const struct token *t, size_t cnt, size_t i, const char *phrase)
{
	size_t k = 0;
	while (*phrase) {
		size_t len = strcspn(phrase, " ");
		if (i + k >= cnt || strlen(t[i + k].low) != len || strncmp(t[i + k].low, phrase, len) != 0)
			return 0;
		k++;
		phrase += len + (phrase[len] == ' ');
	}
	return k;
}

/* The longest phrase of list that starts at t[i]: its length in tokens (0
 * when none); *which its index. */
static size_t longest_phrase(const struct token *t, size_t cnt, size_t i, const char *const *list,
			     size_t n, size_t *which)
{
	size_t best = 0;
	for (size_t k = 0; k < n; k++) {
		size_t m = phrase_at(t, cnt, i, list[k]);
		if (m > best) {
			best = m;
			*which = k;
		}
	}
	return best;
}

/* Index of the decision word that phrases lead to (see leads), or cnt. */
static size_t phrased_decision(const struct token *t, size_t cnt)
{
	size_t i = 0, m, which = 0;
	while ((m = longest_phrase(t, cnt, i, leads, ARRAY_LEN(leads), &which)) > 0)
		i += m;
	const char *subject = NULL;
	if ((m = longest_phrase(t, cnt, i, subjects, ARRAY_LEN(subjects), &which)) > 0) {
		subject = subjects[which];
		i += m;
	}
	if (i == 0 || i >= cnt || !t[i].word || !t[i].word->decision)
		return cnt;
	for (size_t k = 0; subject && k < ARRAY_LEN(subject_only); k++)
		if (strcmp(subject, subject_only[k].subject) == 0 && t[i].word->w != subject_only[k].only)
			return cnt;
	return i;
}

/* Whether a hedge follows t[from]. */
static int hedged(const struct token *t, size_t cnt, size_t from)
{
	for (size_t i = from; i < cnt; i++)
		if (in_list(t[i].low, hedges, ARRAY_LEN(hedges)))
			return 1;
	return 0;
}

/* Offset in line[0..n) where the text after a greeting starts: 0 when the
 * line does not open with a greeting, n when it is nothing but one ("Hi
 * team,"). first: the line is the first of the reply (a bare salutation
 * such as "Ana," counts there). */
static size_t greeting_end(const char *line, size_t n, const struct token *t, size_t cnt, int first)
{
	size_t which, g = cnt ? longest_phrase(t, cnt, 0, greetings, ARRAY_LEN(greetings), &which) : 0;
	size_t stop = strcspn(line, ",!:;");
	if (stop > n)
		stop = n;
	size_t nwords = 0;
	for (size_t i = 0; i < cnt && t[i].start < stop; i++, nwords++)
		if (t[i].word || t[i].negator || t[i].unclear)
			return 0;
	if (g == 0 || t[0].start != 0) {
		/* "Ana," alone on the first line */
		if (!first || nwords == 0 || nwords > 3 || stop >= n || line[stop] != ',' ||
		    skip_sep(line, stop, n) < n)
			return 0;
		return n;
	}
	if (nwords > 4)
		return 0;
	return stop >= n ? n : skip_sep(line, stop, n);
}

/* The first line holding more than white space and not a quote, after at
 * most two greeting lines, a greeting that opens it cut off ("Hi Ana,
 * APPROVE"): [*line, *line + *n), and what follows it (*rest, after its
 * newline; NULL when none). */
static int first_line(const char *s, const char **line, size_t *n, const char **rest)
{
	int greetings_seen = 0;
	while (*s) {
		size_t len = strcspn(s, "\n"), m = len;
		const char *next = s[len] ? s + len + 1 : NULL;
		size_t lead = trim_line(s, &m);
		if (m && !quote_line(s, len, next)) {
			/* A greeting is short: only the start of a long line is read. */
			size_t w = m < GREETING_MAX ? m : GREETING_MAX, g = 0;
			if (greetings_seen < 2) {
				struct token *t;
				size_t cnt = tokenize(s + lead, w, &t);
				g = greeting_end(s + lead, w, t, cnt, greetings_seen == 0);
				free(t);
				if (g >= w && w < m)
					g = 0; /* no end of the greeting within reach */
			}
			if (g < m) {
				*line = s + lead + g;
				*n = m - g;
				*rest = next;
				return 1;
			}
			greetings_seen++;
		}
		s += len + (s[len] != '\0');
	}
	return 0;
}

/* Appends the lines of s[0..end) that are not quotes (CR before LF
 * removed), runs of blank lines made one. */
static void add_unquoted(struct buf *b, const char *s, const char *end)
{
	int blank = 0;
	while (*s && s < end) {
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

/* Whether a negation stands before a decision word or INFO, directly or over
 * neg_gap words ("not yet approved"). */
static int negated(const struct token *t, size_t cnt)
{
	for (size_t i = 0; i + 1 < cnt; i++) {
		if (!t[i].negator)
			continue;
		size_t k = i + 1;
		while (k < cnt && in_list(t[k].low, neg_gap, ARRAY_LEN(neg_gap)))
			k++;
		if (k < cnt && t[k].word && (t[k].word->decision || t[k].word->w == CMD_INFO))
			return 1;
	}
	return 0;
}

/* A word glued to the next by a hyphen ("approve-ish") is not a whole word. */
static int hyphenated(const char *line, size_t n, size_t end)
{
	return end + 1 < n && line[end] == '-' &&
	       (((unsigned char)line[end + 1] >= 0x80) || ((line[end + 1] | 0x20) >= 'a' && (line[end + 1] | 0x20) <= 'z') ||
		(line[end + 1] >= '0' && line[end + 1] <= '9'));
}

/* A RECOMMEND's verdict word: CMD_APPROVE, CMD_DENY, or CMD_NONE. */
static enum cmd_word verdict_of(const struct token *t)
{
	static const char *const yes[] = { "approve", "approved", "approval" };
	static const char *const no[] = { "deny", "denied", "denial" };
	if (in_list(t->low, yes, ARRAY_LEN(yes)))
		return CMD_APPROVE;
	if (in_list(t->low, no, ARRAY_LEN(no)))
		return CMD_DENY;
	return CMD_NONE;
}

/* The first case id ("CGEN-2026-0001", any case) in s[0..n), upper-cased
 * into out (24 bytes); 0 when there is none. */
static int case_id_in(const char *s, size_t n, char out[24])
{
	for (size_t i = 0; i + 14 <= n; i++) {
		if ((i > 0 && ((s[i - 1] | 0x20) >= 'a' && (s[i - 1] | 0x20) <= 'z')) ||
		    strncasecmp(s + i, "CGEN-", 5) != 0)
			continue;
		size_t k = i + 5, d = 0;
		while (k < n && s[k] >= '0' && s[k] <= '9' && d < 4)
			k++, d++;
		if (d != 4 || k >= n || s[k] != '-')
			continue;
		size_t m = ++k;
		while (k < n && s[k] >= '0' && s[k] <= '9' && k - m < 9)
			k++;
		if (k - m < 4 || (k < n && s[k] >= '0' && s[k] <= '9'))
			continue;
		for (size_t j = i; j < k; j++)
			out[j - i] = (char)toupper((unsigned char)s[j]);
		out[k - i] = '\0';
		return 1;
	}
	return 0;
}

/* A question about the state of things: STATUS. Read-only, so it is taken
 * wherever a question names a case or its status ("What is the status of
 * CGEN-2026-0001?", "Any update on CGEN-2026-0001?", "Status?"). */
static int status_question(const char *line, size_t n, const struct token *t, size_t cnt, char id[24])
{
	int has_id = case_id_in(line, n, id);
	if (!memchr(line, '?', n))
		return 0;
	if (has_id)
		return 1;
	for (size_t i = 0; i < cnt; i++)
		if (t[i].word && t[i].word->w == CMD_STATUS)
			return 1;
	return 0;
}

void command_parse(const char *visible, struct command *out)
{
	command_parse_from(visible, NULL, NULL, out);
}

void command_parse_from(const char *visible, const char *name, const char *addr, struct command *out)
{
	*out = (struct command){ CMD_NONE, NULL, 0 };
	const char *line, *rest;
	size_t n;
	char id[24];
	re_init();
	if (!visible || !first_line(visible, &line, &n, &rest))
		return;

	struct token *t;
	size_t cnt = tokenize(line, n, &t);
	size_t ci = 0; /* the command word's token */
	const struct word *cmd = cnt && t[0].start == 0 ? t[0].word : NULL;
	int phrased = 0;
	if (!cmd && !negated(t, cnt) && (ci = phrased_decision(t, cnt)) < cnt) {
		cmd = t[ci].word;
		phrased = 1;
	}
	if (negated(t, cnt) || (cmd && hyphenated(line, n, t[ci].end)) ||
	    (phrased && (hedged(t, cnt, ci + 1) || memchr(line, '?', n)))) {
		out->ambiguous = 1;
		goto out;
	}
	if (!cmd) {
		/* "do not approve", "disapprove", "I would approve" */
		out->ambiguous = conflict(t, cnt, 0, CMD_NONE);
		goto out;
	}

	size_t at = t[ci].end;
	size_t after = at + space_len(line + at, n - at);
	int read_only = cmd->w == CMD_STATUS || cmd->w == CMD_HELP || cmd->w == CMD_FORM;
	if ((!read_only && after < n && line[after] == '?') || (cmd->decision && memchr(line, '?', n))) {
		out->ambiguous = 1;
		goto out;
	}
	while (read_only && at < n && (line[at] == '?' || space_len(line + at, n - at)))
		at += line[at] == '?' ? 1 : space_len(line + at, n - at); /* "Help?" */
	const char *verdict = NULL;
	if (cmd->w == CMD_RECOMMEND) {
		at = skip_sep(line, at, n);
		enum cmd_word v = ci + 1 < cnt && t[ci + 1].start == at ? verdict_of(&t[ci + 1]) : CMD_NONE;
		if (v == CMD_NONE || conflict(t, cnt, ci + 2, v)) {
			out->ambiguous = 1;
			goto out;
		}
		verdict = v == CMD_APPROVE ? "APPROVE" : "DENY";
		at = t[ci + 1].end;
	} else if (cmd->decision && conflict(t, cnt, ci + 1, cmd->w)) {
		out->ambiguous = 1;
		goto out;
	}
	if (phrased) {
		size_t k = ci + 1;
		while (k < cnt && in_list(t[k].low, object_words, ARRAY_LEN(object_words)) &&
		       skip_sep(line, at, n) == t[k].start)
			at = t[k++].end;
	}

	at = skip_sep(line, at, n);
	struct buf arg = { 0 };
	if (cmd->w == CMD_STATUS && case_id_in(line, n, id)) {
		buf_adds(&arg, id); /* "status update on CGEN-2026-0001 please" */
	} else {
		buf_add(&arg, line + at, n - at);
		if (rest)
			add_unquoted(&arg, rest, line + visible_signature_at(line, name, addr));
	}
	out->word = cmd->w;
	out->argument = str_trim(buf_steal(&arg));
	if (verdict) {
		char *a = out->argument;
		out->argument = *a ? xasprintf("%s %s", verdict, a) : xstrdup(verdict);
		free(a);
	}
out:
	if (out->word == CMD_NONE && status_question(line, n, t, cnt, id)) {
		out->ambiguous = 0;
		out->word = CMD_STATUS;
		out->argument = xstrdup(case_id_in(line, n, id) ? id : "");
	}
	free(t);
}

/* The command's word and, for RECOMMEND, its verdict. */
static int same_command(const struct command *a, const struct command *b)
{
	if (a->word != b->word)
		return 0;
	return a->word != CMD_RECOMMEND || strncmp(a->argument, b->argument, 4) == 0;
}

void command_read(const struct message *m, const char *visible, struct command *out)
{
	*out = (struct command){ CMD_NONE, NULL, 0 };
	if (!m || m->text_enclosed)
		return; /* a forwarded mail's words are not the forwarder's command */
	command_parse_from(visible, m->from_name, m->from_addr, out);
	if (!m->alt_text || (out->word == CMD_NONE && !out->ambiguous))
		return;
	char *alt_visible = visible_text(m->alt_text);
	struct command alt;
	command_parse_from(alt_visible, m->from_name, m->from_addr, &alt);
	/* The HTML part says another thing, or is unclear where the text part
	 * gives a command: what the reader saw is not known. */
	if (out->word != CMD_NONE && (alt.ambiguous || (alt.word != CMD_NONE && !same_command(out, &alt)))) {
		command_free(out);
		out->ambiguous = 1;
	}
	command_free(&alt);
	free(alt_visible);
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
