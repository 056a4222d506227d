/* visible.c: the new part of a reply, after github/email_reply_parser.
 *
 * The text becomes an array of lines, each with flags set by patterns that
 * are anchored to that one line (a wrapped attribution is joined first), run
 * under a match limit and never given a line longer than LINE_MAX_RE. Then:
 * the first unquoted history line (separator, header block, attribution
 * without a quote below) ends the text; the rest is cut into fragments from
 * the bottom up as the reference does, and the fragments at the end that are
 * quoted, signatures or blank are hidden. */
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
#define LOOK_BELOW 30   /* lines searched below a header for the quote it introduces */
#define BLOCK_MAX 10    /* lines of a header block */

enum re_id {
	RE_SEPARATOR,
	RE_MOBILE,
	RE_SIGN_OFF,
	RE_FROM,
	RE_SENT,
	RE_FIELD,
	RE_ATTRIB_LEAD,
	RE_ATTRIB_VERB,
	RE_ATTRIB_ADDR,
	RE_DATE_TIME,
	RE_PREFIX,
	RE_ATTRIB_ADDR_TAIL,
	RE_SIGN_OFF_WORDS,
	RE_DISCLAIMER,
	RE_COUNT
};

#define ORIGINALS                                                                              \
	"Original Message|Ursprüngliche Nachricht|Message d['’]origine|Mensaje original|"      \
	"Messaggio originale|Oorspronkelijk bericht|Ursprungligt meddelande|"                  \
	"Opprinnelig melding|Oprindelig meddelelse|Alkuperäinen viesti|Wiadomość oryginalna|"  \
	"Исходное сообщение|Оригинальное сообщение|Початкове повідомлення|"                    \
	"Вихідне повідомлення|原始邮件|原始郵件|元のメッセージ|Mensagem original"
#define FORWARDS                                                                               \
	"Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|"     \
	"Messaggio inoltrato|Doorgestuurd bericht|Vidarebefordrat meddelande|"                 \
	"Videresendt melding|Videresendt meddelelse|Välitetty viesti|"                         \
	"Wiadomość przekazana dalej|Пересылаемое сообщение|Пересланное сообщение|"             \
	"Переслане повідомлення|转发邮件|转发的邮件|轉寄郵件|転送されたメッセージ|"            \
	"Mensagem encaminhada"
#define FORWARD_INTROS                                                                         \
	"Begin forwarded message|Anfang der weitergeleiteten Nachricht|"                       \
	"Début du message (?:réexpédié|transféré)|Inicio del mensaje reenviado|"               \
	"Inizio messaggio inoltrato|Begin doorgestuurd bericht|"                               \
	"Início da mensagem reencaminhada|Vidarebefordrat mejl|Start på videresendt besked|"   \
	"Videresendt melding|Välitetty viesti alkaa|Początek przekazywanej wiadomości|"        \
	"Начало пересылаемого сообщения|Начало переадресованного сообщения"
/* A few words of a device or program name. */
#define WORDS(n) "[\\w'’-]++(?:[ \\t]++[\\w'’-]++){0," #n "}+"
#define FIELD_TAIL "[ \\t\\x{a0}]*+\\*{0,2}+[:：]"

static const char *const re_src[RE_COUNT] = {
	[RE_SEPARATOR] = "^\\s*+\\*{0,3}+\\s*+(?:-{2,}+|_{2,}+|={2,}+)\\s*+(?:" ORIGINALS "|" FORWARDS
			 ")\\s*+[-_=]*+\\s*+\\*{0,3}+\\s*+$"
			 "|^\\s*+\\*{0,3}+\\s*+(?:" FORWARD_INTROS ")\\s*+[:：]\\s*+\\*{0,3}+\\s*+$",
	[RE_MOBILE] = "^\\s*+(?:Sent from my\\s++" WORDS(5)
		      "|Sent from (?:Mail|Outlook|Yahoo Mail)(?:\\s++(?:for|on)\\s++" WORDS(2) ")?+"
		      "|Get Outlook for " WORDS(2)
		      "|Von meinem [\\w-]++(?:[ \\t]++[\\w-]++){0,3}?[ \\t]++gesendet"
		      "|Gesendet von meinem " WORDS(3)
		      "|Envoyé (?:de|depuis) mon " WORDS(3)
		      "|Enviado desde mi " WORDS(3)
		      "|Enviado do meu " WORDS(3)
		      "|Inviato da (?:il mio )?+" WORDS(3)
		      "|Inviato dal mio " WORDS(3)
		      "|Verzonden (?:met|vanaf|van) mijn " WORDS(3)
		      "|Skickat från min " WORDS(3)
		      "|Sendt fra min " WORDS(3)
		      "|Lähetetty [\\w -]{0,40}?(?:sta|stä)"
		      "|Wysłane z (?:mojego )?+" WORDS(3)
		      "|Отправлено с (?:моего )?+" WORDS(3)
		      "|Надіслано з (?:мого )?+" WORDS(3)
		      "|发自我的\\s*+\\S.{0,40}+"
		      "|[A-Za-z0-9][A-Za-z0-9 '’-]{0,40}+から送信"
		      ")[ \\t.!。]*+$",
	[RE_SIGN_OFF] = "^-\\p{L}[\\p{L}\\p{M}.'’ ]{0,40}+$",
	[RE_FROM] = "^[ \\t]*+\\*{0,2}+(?:From|Von|De|Da|Van|Från|Fra|Lähettäjä|Od|От|Від|发件人|"
		    "寄件人|寄件者|差出人|Expéditeur|Remetente|Mittente|Nadawca|Afzender|Avsändare|"
		    "Absender)" FIELD_TAIL,
	[RE_SENT] = "^[ \\t]*+\\*{0,2}+(?:Sent|Date|Sendt|Dato|Gesendet|Datum|Envoyé|Date d'envoi|"
		    "Enviado|Enviada|Fecha|Inviato|Data|Verzonden|Verstuurd|Skickat|Lähetetty|"
		    "Päivämäärä|Wysłano|Отправлено|Дата|Надіслано|Відправлено|发送时间|发送日期|日期|"
		    "時間|送信日時|日時|日付)" FIELD_TAIL,
	[RE_FIELD] = "^[ \\t]*+\\*{0,2}+(?:To|An|À|A|Para|Aan|Till|Til|Vastaanottaja|Do|Кому|"
		     "收件人|收件者|宛先|Cc|Bcc|Kopie|Kopio|Kopia|DW|Копия|Копія|抄送|副本|Subject|"
		     "Betreff|Objet|Asunto|Oggetto|Onderwerp|Ämne|Emne|Aihe|Temat|Тема|主题|主旨|件名|"
		     "Assunto|Reply-To|Antwort an|Répondre à|Importance|Wichtigkeit|Priorität|"
		     "Risposta|Rispondi a|Risposta a|Priorità|Responder a|Svar till|Svar til)" FIELD_TAIL,
	[RE_ATTRIB_LEAD] = "^[ \\t]*+(?:-++[ \\t]*+)?+(?:On\\s.*\\bwrote|Am\\s.*\\bschrieb\\b.*"
			   "|Le\\s.*\\ba\\s++écrit|El\\s.*\\bescribió|Il\\s.*\\bha\\s++scritto"
			   "|Op\\s.*\\bschreef\\b.*|Em\\s.*\\bescreveu|Den\\s.*\\bskrev\\b.*"
			   "|在\\s.*写道)\\s*+[:：]\\s*+$",
	[RE_ATTRIB_VERB] = "(?:\\bwrote|\\bschrieb|\\ba\\s++écrit|\\bescribió|\\bha\\s++scritto"
			   "|\\bschreef|\\bescreveu|\\bskrev|\\bkirjoitti|\\bnapisał(?:\\(a\\)|a)?+"
			   "|\\bнаписал(?:\\(а\\)|а)?+|\\bнаписав(?:\\(ла\\)|ла)?+|\\bпишет|写道"
			   "|のメッセージ|のメール|は書きました)\\s*+[:：]\\s*+$",
	[RE_ATTRIB_ADDR] = "<[^<>\\s@]++@[^<>\\s]++>{1,2}+\\s*+[:：]\\s*+$",
	[RE_DATE_TIME] = "@|\\d[:.]\\d\\d|\\d年",
	[RE_PREFIX] = "^\\s*+(?:(?:Re|Fwd?|AW|WG|SV|VS|Antw|Doorst|Réf|Rif|Enc|Odp|RV|TR|PD|"
		      "回复|答复|转发|回覆|答覆|轉寄|转寄)\\s*+(?:\\[\\d++\\]|\\(\\d++\\))?+\\s*+[:：]"
		      "|\\[EXT(?:ERNAL)?+(?:[ _-]++(?:E-?MAIL|SENDER|MESSAGE))?+\\]"
		      "|\\*EXT(?:ERNAL)?+\\*)\\s*+",
	/* The end of an address whose '<' ended the line above (a wrapped
	 * "<date> Name <" attribution). */
	[RE_ATTRIB_ADDR_TAIL] = "^\\s*+(?:mailto:)?+[^<>\\s@]++@[^<>\\s]++>{1,2}+\\s*+[:：]\\s*+$",
	/* A sign-off line, with the name after it or not ("Thanks,", "Best
	 * regards, Ana"); a name is capitalised ("Thanks for the quote" is no
	 * sign-off). Compiled without the caseless flag: the words carry (?i). */
	[RE_SIGN_OFF_WORDS] = "^[ \\t]*+(?i:thanks|thank\\s++you|thank\\s++u|thx|tks|ty|many\\s++thanks"
			      "|thanks\\s++(?:again|so\\s++much|a\\s++lot|in\\s++advance)"
			      "|thank\\s++you\\s++(?:very\\s++much|again|so\\s++much)"
			      "|(?:best|kind|warm|warmest|kindest|many|with)\\s++regards|regards"
			      "|best\\s++wishes|all\\s++the\\s++best|best|cheers|sincerely(?:\\s++yours)?+"
			      "|yours\\s++(?:sincerely|truly|faithfully)|respectfully(?:\\s++yours)?+"
			      "|v/r|vr|r/|br|rgds|take\\s++care|cordially|with\\s++(?:thanks|appreciation)"
			      "|talk\\s++soon|have\\s++a\\s++(?:good|great|nice)\\s++(?:day|weekend|one))"
			      "(?:[ \\t]*+[,.!:;–—-]*+[ \\t]*+(?:\\p{Lu}[\\p{L}.'’-]*+"
			      "(?:[ \\t]++\\p{Lu}[\\p{L}.'’-]*+){0,2}+)?+)?+[ \\t,.!]*+$",
	/* The first line of a legal footer. */
	[RE_DISCLAIMER] = "^[ \\t*]*+(?:confidentiality\\s++notice|confidential(?:ity)?+\\s*+:"
			  "|disclaimer\\s*+:|privileged\\s++(?:and|&)\\s++confidential"
			  "|this\\s++(?:e-?mail|message|communication)(?:\\s++\\(including[^)]*+\\))?+"
			  "\\s++(?:and\\s++any\\s++(?:files|attachments)|may\\s++contain|is\\s++intended"
			  "|contains\\s++(?:confidential|privileged))"
			  "|the\\s++information\\s++(?:contained\\s++)?+in\\s++this\\s++(?:e-?mail|message))",
};
#undef WORDS
#undef FIELD_TAIL

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
					   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
						   (i == RE_SIGN_OFF_WORDS ? 0 : PCRE2_CASELESS),
					   &err, &off, NULL);
		if (!re_code[i]) {
			PCRE2_UCHAR msg[120];
			pcre2_get_error_message(err, msg, sizeof msg);
			log_err("visible: pattern %zu at %zu: %s", i, (size_t)off, (char *)msg);
			abort();
		}
		/* JIT where the platform has it (else the interpreter runs). */
		(void)pcre2_jit_compile(re_code[i], PCRE2_JIT_COMPLETE);
	}
	re_mctx = pcre2_match_context_create(NULL);
	if (!re_mctx)
		abort();
	pcre2_set_match_limit(re_mctx, 100000);
	pcre2_set_depth_limit(re_mctx, 1000);
	/* The JIT's own stack, bounded: running out is a non-match, not a crash. */
	pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (js)
		pcre2_jit_stack_assign(re_mctx, NULL, js);
}

static pcre2_match_data *md_new(void)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		abort();
	return md;
}

/* 1 on a match; no match, an exhausted limit or any other error is 0. */
static int has_colon(const char *s, size_t n)
{
	return memchr(s, ':', n) || memmem(s, n, "\xef\xbc\x9a", 3); /* ':' or '：' */
}

/* 1 when subject s cannot match pattern id, by a byte every match needs:
 * most lines of a mail are skipped without running the patterns. */
static int cannot_match(enum re_id id, const char *s, size_t n)
{
	switch (id) {
	case RE_FROM:
	case RE_SENT:
	case RE_FIELD:
	case RE_ATTRIB_LEAD:
	case RE_ATTRIB_VERB:
	case RE_ATTRIB_ADDR:
	case RE_ATTRIB_ADDR_TAIL:
		return !has_colon(s, n);
	case RE_SEPARATOR:
		return !has_colon(s, n) && !memmem(s, n, "--", 2) && !memmem(s, n, "__", 2) &&
		       !memmem(s, n, "==", 2);
	case RE_SIGN_OFF:
		return n == 0 || s[0] != '-';
	case RE_SIGN_OFF_WORDS:
		return n == 0 || n > 120; /* a sign-off is a short line */
	case RE_DISCLAIMER:
		return n < 10;
	default:
		return 0;
	}
}

static int re_match(pcre2_match_data *md, enum re_id id, const char *s, size_t n)
{
	if (n > LINE_MAX_RE || cannot_match(id, s, n))
		return 0;
	int rc = pcre2_match(re_code[id], (PCRE2_SPTR)s, n, 0, 0, md, re_mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		log_debug("visible: pattern %d: pcre2 error %d", (int)id, rc);
	return rc >= 0;
}

enum {
	F_BLANK = 1u << 0,
	F_QUOTE = 1u << 1,       /* '>' after optional white space */
	F_ATTRIB = 1u << 2,      /* an attribution, any form */
	F_ATTRIB_CUT = 1u << 3,  /* one sure enough to end the new text */
	F_FROM = 1u << 4,
	F_SENT = 1u << 5,
	F_FIELD = 1u << 6,       /* any header field, From and Sent included */
	F_SEPARATOR = 1u << 7,   /* original or forwarded message */
	F_RULE = 1u << 8,        /* "-----", "_____", "=====" */
	F_SIG = 1u << 9,         /* starts a signature after a blank line */
	F_SIG_ANY = 1u << 10,    /* starts a signature anywhere */
};
/* Lines that join the quote below them. */
#define F_ABSORB (F_BLANK | F_ATTRIB | F_FIELD | F_SEPARATOR | F_RULE)

struct line {
	const char *s;
	size_t n;
	unsigned f;
};

struct lines {
	struct line *v;
	size_t n, cap;
};

static void lines_add(struct lines *l, const char *s, size_t n, unsigned f)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = (struct line){ s, n, f };
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space(s[i]))
			return 0;
	return 1;
}

/* A quoted line: '>' or '|' after optional white space, or a SuperCite
 * prefix of one to four letters and '>' ("C> text", "JD>> text"). */
static int quoted(const char *s, size_t n)
{
	size_t i = 0, k;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && (s[i] == '>' || s[i] == '|'))
		return 1;
	for (k = i; k < n && k - i < 5 && ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z'); k++)
		;
	return k > i && k - i <= 4 && k < n && s[k] == '>' &&
	       (k + 1 == n || s[k + 1] == ' ' || s[k + 1] == '\t' || s[k + 1] == '>');
}

int visible_is_quote(const char *line, size_t n)
{
	return quoted(line, n);
}

static int ascii_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Lines whose trailing white space the reference keeps: optional white
 * space then "--" or "__", or "-" then a letter or digit. */
/* Optional white space, then "--" or "__". */
static int dash_start(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_space(s[i]))
		i++;
	return i + 1 < n && ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '_' && s[i + 1] == '_'));
}

/* Lines whose trailing white space the reference keeps: optional white
 * space then "--" or "__", or "-" then a letter or digit. */
static int keeps_trailing(const char *s, size_t n)
{
	return (n >= 2 && s[0] == '-' && ascii_word(s[1])) || dash_start(s, n);
}

static int underscores(const char *s, size_t n)
{
	if (n < 8)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			return 0;
	return 1;
}

static int is_rule(const char *s, size_t n)
{
	size_t marks = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == '_' || s[i] == '=')
			marks++;
		else if (!is_space(s[i]))
			return 0;
	}
	return marks >= 3;
}

/* Splits s (modified: CR before LF and a final CR removed) into raw lines,
 * adds the reference's empty line above a line of underscores, and strips
 * trailing white space. */
static void split_lines(char *s, struct lines *out)
{
	char *w = s;
	const char *start = s;
	size_t prev_len = 0;
	for (const char *r = s;; r++) {
		if (*r == '\r' && (r[1] == '\n' || r[1] == '\0'))
			continue;
		if (*r != '\n' && *r != '\0') {
			*w++ = *r;
			continue;
		}
		size_t n = (size_t)(w - start);
		if (underscores(start, n) && out->n && prev_len)
			lines_add(out, "", 0, F_BLANK);
		prev_len = n;
		if (!keeps_trailing(start, n))
			while (n && is_space(start[n - 1]))
				n--;
		while (n && start[n - 1] == '\r')
			n--; /* no line ends in CR, even one that keeps its white space */
		lines_add(out, start, n, 0);
		if (*r == '\0')
			break;
		*w++ = '\n';
		start = w;
	}
}

struct ctx {
	pcre2_match_data *md;
	struct buf join;    /* scratch */
	struct strv owned;  /* joined attributions */
};

/* Whether the text s[0..n) holds a '<' that no '>' closes. */
static int open_angle(const char *s, size_t n)
{
	int open = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '<')
			open = 1;
		else if (s[i] == '>')
			open = 0;
	return open;
}

/* Number of lines (1-4) of the attribution of the lead form ("On ...
 * wrote:") starting at in[i], or 0. A line below that starts with '>' is
 * part of it only when it closes an open '<' (Gmail's "... Name <" /
 * "mailto:a@b" / "> wrote:"). */
static size_t lead_attribution(struct ctx *c, const struct lines *in, size_t i)
{
	c->join.len = 0;
	for (size_t k = 1; k <= 4 && i + k - 1 < in->n; k++) {
		const struct line *l = &in->v[i + k - 1];
		if (l->f & F_BLANK || c->join.len + 1 + l->n > ATTRIB_MAX ||
		    (k > 1 && quoted(l->s, l->n) && !open_angle(c->join.s, c->join.len)))
			break;
		if (k > 1)
			buf_addc(&c->join, ' ');
		buf_add(&c->join, l->s, l->n);
		if (re_match(c->md, RE_ATTRIB_LEAD, c->join.s, c->join.len))
			return k;
	}
	return 0;
}

/* above: the line before (NULL when none): a line ending in '<' lets the
 * next one start with the address ("a@b>:"). */
static int tail_attribution(struct ctx *c, const char *s, size_t n, const struct line *above)
{
	if (n > ATTRIB_MAX)
		return 0;
	if (re_match(c->md, RE_ATTRIB_VERB, s, n) || re_match(c->md, RE_ATTRIB_ADDR, s, n))
		return 1;
	return above && above->n && above->s[above->n - 1] == '<' && re_match(c->md, RE_ATTRIB_ADDR_TAIL, s, n);
}

/* A line left open by a wrapped attribution ("... пользователь "a@b" <"). */
static int open_ended(const struct line *l)
{
	if (!l->n || l->f & F_BLANK || l->f & F_ATTRIB || quoted(l->s, l->n))
		return 0;
	char e = l->s[l->n - 1];
	return e == '<' || e == '(';
}

static void add_joined(struct ctx *c, struct lines *out, unsigned f)
{
	char *s = xstrndup(c->join.s, c->join.len);
	strv_add_own(&c->owned, s);
	lines_add(out, s, c->join.len, f);
}

/* Copies in to out, an attribution wrapped over several lines joined into
 * one, and sets the blank, quote and attribution flags. */
static void join_attributions(struct ctx *c, const struct lines *in, struct lines *out)
{
	for (size_t i = 0; i < in->n; i++) {
		const struct line *l = &in->v[i];
		unsigned f = l->f;
		if (blank(l->s, l->n)) {
			lines_add(out, l->s, l->n, f | F_BLANK);
			continue;
		}
		if (quoted(l->s, l->n)) {
			lines_add(out, l->s, l->n, f | F_QUOTE);
			continue;
		}
		size_t k = lead_attribution(c, in, i);
		if (k > 1) {
			add_joined(c, out, F_ATTRIB | F_ATTRIB_CUT);
			i += k - 1;
			continue;
		}
		if (k == 1) {
			lines_add(out, l->s, l->n, F_ATTRIB | F_ATTRIB_CUT);
			continue;
		}
		if (!tail_attribution(c, l->s, l->n, out->n ? &out->v[out->n - 1] : NULL)) {
			lines_add(out, l->s, l->n, f);
			continue;
		}
		size_t up = 0, len = l->n;
		while (up < 2 && up < out->n) {
			const struct line *p = &out->v[out->n - 1 - up];
			if (!open_ended(p) || len + 1 + p->n > ATTRIB_MAX)
				break;
			len += 1 + p->n;
			up++;
		}
		c->join.len = 0;
		for (size_t u = up; u > 0; u--) {
			buf_add(&c->join, out->v[out->n - u].s, out->v[out->n - u].n);
			buf_addc(&c->join, ' ');
		}
		buf_add(&c->join, l->s, l->n);
		out->n -= up;
		f = F_ATTRIB | (re_match(c->md, RE_DATE_TIME, c->join.s, c->join.len) ? F_ATTRIB_CUT : 0);
		if (up)
			add_joined(c, out, f);
		else
			lines_add(out, l->s, l->n, f);
	}
}

static unsigned classify(struct ctx *c, const struct line *l)
{
	static const struct {
		enum re_id id;
		unsigned f;
	} map[] = {
		{ RE_FROM, F_FROM | F_FIELD }, { RE_SENT, F_SENT | F_FIELD }, { RE_FIELD, F_FIELD },
		{ RE_SEPARATOR, F_SEPARATOR }, { RE_MOBILE, F_SIG_ANY | F_SIG },
		{ RE_SIGN_OFF, F_SIG },
	};
	unsigned f = 0;
	if (l->f & (F_BLANK | F_QUOTE))
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (re_match(c->md, map[i].id, l->s, l->n))
			f |= map[i].f;
	if (is_rule(l->s, l->n))
		f |= F_RULE;
	if (dash_start(l->s, l->n))
		f |= F_SIG;
	if (l->n >= 2 && l->s[0] == '-' && l->s[1] == '-' && blank(l->s + 2, l->n - 2))
		f |= F_SIG_ANY | F_SIG; /* "-- " */
	return f;
}

static int continuation(const struct line *l)
{
	return !(l->f & (F_BLANK | F_QUOTE)) && l->n && (l->s[0] == ' ' || l->s[0] == '\t');
}

/* Lines of header fields from i on (continuation lines included) holding a
 * From and a Sent field, in any order. */
static int header_block(const struct lines *t, size_t i)
{
	unsigned seen = 0;
	size_t j = i;
	if (!(t->v[i].f & F_FIELD))
		return 0;
	while (j < t->n && j < i + BLOCK_MAX && (t->v[j].f & F_FIELD || (j > i && continuation(&t->v[j]))))
		seen |= t->v[j++].f;
	return j - i >= 2 && (seen & F_FROM) && (seen & F_SENT);
}

/* Whether the header lines from i on lead to a quote. */
static int introduces_quote(const struct lines *t, size_t i)
{
	size_t k = i + 1;
	while (k < t->n && k < i + LOOK_BELOW && (t->v[k].f & F_ABSORB || continuation(&t->v[k])))
		k++;
	return k < t->n && t->v[k].f & F_QUOTE;
}

/* Index of the first line of unquoted history, or t->n. */
static size_t history_start(const struct lines *t)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned f = t->v[i].f;
		if (f & (F_QUOTE | F_BLANK))
			continue;
		if ((f & (F_SEPARATOR | F_ATTRIB_CUT) || header_block(t, i)) && !introduces_quote(t, i))
			return i;
	}
	return t->n;
}

struct frag {
	size_t top, bot;
	int quoted, sig;
};

static int frag_blank(const struct lines *t, const struct frag *fr)
{
	for (size_t i = fr->top; i <= fr->bot; i++)
		if (!(t->v[i].f & F_BLANK))
			return 0;
	return 1;
}

/* The reference's fragments of t->v[0..end), bottom first; returns their
 * number, *out allocated. */
static size_t fragments(const struct lines *t, size_t end, struct frag **out)
{
	struct frag *v = xmalloc((end + 1) * sizeof *v), cur = { 0 };
	size_t n = 0;
	int open = 0;
	for (size_t i = end; i-- > 0;) {
		unsigned f = t->v[i].f;
		int q = (f & F_QUOTE) != 0;
		if (open && !cur.quoted) {
			unsigned top = t->v[cur.top].f;
			if (top & F_SIG_ANY || (f & F_BLANK && top & F_SIG)) {
				cur.sig = 1;
				v[n++] = cur;
				open = 0;
			}
		}
		if (open && (cur.quoted == q || (cur.quoted && f & F_ABSORB))) {
			cur.top = i;
		} else {
			if (open)
				v[n++] = cur;
			cur = (struct frag){ i, i, q, 0 };
			open = 1;
		}
	}
	if (open) {
		/* The start of the text counts as a blank line above. */
		if (!cur.quoted && t->v[cur.top].f & (F_SIG | F_SIG_ANY))
			cur.sig = 1;
		v[n++] = cur;
	}
	*out = v;
	return n;
}

/* [*from, *to): the visible lines of t->v[0..end). keep_sig: a signature
 * that stands above quoted history is part of what the sender wrote this
 * time (talon keeps "Sent from my iPhone" there); one that ends the mail is
 * not (email_reply_parser). */
static void visible_range(const struct lines *t, size_t end, int keep_sig, size_t *from, size_t *to)
{
	struct frag *fr;
	size_t n = fragments(t, end, &fr), low = n;
	*from = *to = 0;
	for (size_t i = 0; i < n && low == n; i++) {
		if (fr[i].quoted) {
			keep_sig = 1; /* quoted history below ... */
			continue;
		}
		/* ... keeps a "-- " block or a device line above it (talon), not a
		 * bare sign-off (email_reply_parser's email_1_3) */
		int sig_kept = keep_sig && t->v[fr[i].top].f & F_SIG_ANY;
		if ((!fr[i].sig || sig_kept) && !frag_blank(t, &fr[i]))
			low = i;
	}
	if (low < n) {
		*to = fr[low].bot + 1;
		/* Quoted history above one stretch of new text: a reply written
		 * below the quote. */
		size_t texts = 0, reply = 0, first = n;
		for (size_t i = n; i-- > low;) {
			if (frag_blank(t, &fr[i]))
				continue;
			if (first == n)
				first = i;
			if (!fr[i].quoted) {
				texts++;
				reply = i;
			}
		}
		if (fr[first].quoted && texts == 1)
			*from = fr[reply].top;
	}
	free(fr);
}

char *visible_text(const char *text)
{
	re_init();
	char *copy = xstrdup(text);
	struct ctx c = { .md = md_new() };
	struct lines raw = { 0 }, t = { 0 };
	struct buf out = { 0 };

	split_lines(copy, &raw);
	join_attributions(&c, &raw, &t);
	for (size_t i = 0; i < t.n; i++)
		t.v[i].f |= classify(&c, &t.v[i]);
	size_t end = history_start(&t);
	int history = end < t.n;
	while (end > 0 && t.v[end - 1].f & (F_BLANK | F_RULE))
		end--;
	size_t from, to;
	visible_range(&t, end, history, &from, &to);
	while (from < to && t.v[from].f & F_BLANK)
		from++;
	for (size_t i = from; i < to; i++) {
		if (i > from)
			buf_addc(&out, '\n');
		buf_add(&out, t.v[i].s, t.v[i].n);
	}
	while (out.len && (is_space(out.s[out.len - 1]) || out.s[out.len - 1] == '\n'))
		out.len--;
	if (out.s)
		out.s[out.len] = '\0';

	pcre2_match_data_free(c.md);
	buf_free(&c.join);
	strv_free(&c.owned);
	free(raw.v);
	free(t.v);
	free(copy);
	return out.s ? buf_steal(&out) : xstrdup("");
}

int visible_is_attribution(const char *line, size_t n)
{
	re_init();
	pcre2_match_data *md = md_new();
	int r = n <= ATTRIB_MAX && (re_match(md, RE_ATTRIB_LEAD, line, n) || re_match(md, RE_ATTRIB_VERB, line, n) ||
				    re_match(md, RE_ATTRIB_ADDR, line, n));
	pcre2_match_data_free(md);
	return r;
}

char *subject_strip_prefixes(const char *subject)
{
	re_init();
	pcre2_match_data *md = md_new();
	const char *s = subject ? subject : "";
	size_t n = strlen(s);
	while (re_match(md, RE_PREFIX, s, n)) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (ov[1] == 0)
			break;
		s += ov[1];
		n -= ov[1];
	}
	pcre2_match_data_free(md);
	return str_trim(xstrdup(s));
}

int visible_is_signature(const char *line, size_t n)
{
	if (n >= 2 && line[0] == '-' && line[1] == '-' && blank(line + 2, n - 2))
		return 1; /* "-- " */
	re_init();
	pcre2_match_data *md = md_new();
	int r = re_match(md, RE_MOBILE, line, n);
	pcre2_match_data_free(md);
	return r;
}

/* ---- the sender's signature ---- */

#define SIG_BLOCK_LINES 6
#define SIG_LINE_MAX 80

struct sigline {
	const char *s;  /* trimmed text */
	size_t n;
	size_t at;      /* offset of the raw line in the text */
	int blank, quote;
};

/* Lower-cased ASCII copy of s[0..n) in out (size cap), or "" when it does
 * not fit. */
static void lower_copy(const char *s, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		n = 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	out[n] = '\0';
}

/* Adds the words (letters and digits, 2 bytes or more) of s to names,
 * lower-cased; stop: the characters that end the part read (e.g. "@"). */
static void name_words(struct strv *names, const char *s, const char *stop)
{
	if (!s)
		return;
	size_t end = stop ? strcspn(s, stop) : strlen(s);
	for (size_t i = 0; i < end;) {
		while (i < end && !((unsigned char)s[i] >= 0x80 || ascii_word(s[i])))
			i++;
		size_t k = i;
		while (k < end && ((unsigned char)s[k] >= 0x80 || (ascii_word(s[k]) && s[k] != '_')))
			k++;
		if (k - i >= 2 && k - i < 40) {
			char w[40];
			lower_copy(s + i, k - i, w, sizeof w);
			strv_add(names, w);
		}
		i = k > i ? k : i + 1;
	}
}

/* The words of line l: 1 when there are 1..max of them and each satisfies
 * the test; words are separated by white space, with , . at their ends. */
static int words_all(const struct sigline *l, size_t max, int (*test)(const char *w, size_t n, void *arg),
		     void *arg)
{
	size_t count = 0;
	for (size_t i = 0; i < l->n;) {
		while (i < l->n && (l->s[i] == ' ' || l->s[i] == '\t' || l->s[i] == ','))
			i++;
		if (i >= l->n)
			break;
		size_t k = i;
		while (k < l->n && l->s[k] != ' ' && l->s[k] != '\t' && l->s[k] != ',')
			k++;
		size_t wn = k - i;
		while (wn > 1 && (l->s[i + wn - 1] == '.' || l->s[i + wn - 1] == '!'))
			wn--;
		if (++count > max || !test(l->s + i, wn, arg))
			return 0;
		i = k;
	}
	return count > 0;
}

/* A word of the sender's names, or an initial ("J"). */
static int is_name_word(const char *w, size_t n, void *arg)
{
	const struct strv *names = arg;
	char low[40];
	if (n == 1 && ((w[0] >= 'A' && w[0] <= 'Z')))
		return 1;
	lower_copy(w, n, low, sizeof low);
	return *low && strv_contains_ci(names, low);
}

/* A capitalised word of letters (and . ' -), not all capitals ("Ana",
 * "O'Neil", "J.", not "APPROVE"). */
static int is_capitalised(const char *w, size_t n, void *arg)
{
	int lower = 0;
	(void)arg;
	if (n == 0 || !(w[0] >= 'A' && w[0] <= 'Z'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (!((unsigned char)w[i] >= 0x80 || ((w[i] | 0x20) >= 'a' && (w[i] | 0x20) <= 'z')) &&
		    w[i] != '.' && w[i] != '\'' && w[i] != '-')
			return 0;
		lower |= (w[i] >= 'a' && w[i] <= 'z') || (unsigned char)w[i] >= 0x80;
	}
	return lower || n <= 2;
}

static size_t word_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t'))
			c++;
	return c;
}

/* Whether the lines after v[i] up to the end, or to quoted history, are a
 * short block (see visible.h). */
static int short_block(const struct sigline *v, size_t n, size_t i)
{
	size_t lines = 0;
	for (size_t k = i + 1; k < n && !v[k].quote; k++) {
		if (v[k].blank)
			continue;
		if (++lines > SIG_BLOCK_LINES || v[k].n > SIG_LINE_MAX || v[k].s[v[k].n - 1] == '?' ||
		    (v[k].s[v[k].n - 1] == '.' && word_count(v[k].s, v[k].n) >= 5))
			return 0;
	}
	return 1;
}

size_t visible_signature_at(const char *text, const char *name, const char *addr)
{
	size_t len = strlen(text), n = 0, cap = 0, r = len;
	struct sigline *v = NULL;
	struct strv names = { 0 };
	pcre2_match_data *md;

	re_init();
	md = md_new();
	for (size_t at = 0; at < len;) {
		size_t e = at + strcspn(text + at, "\n"), lead = at, end = e;
		while (lead < end && is_space(text[lead]))
			lead++;
		while (end > lead && is_space(text[end - 1]))
			end--;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n] = (struct sigline){ text + lead, end - lead, at, end == lead, 0 };
		v[n].quote = !v[n].blank && (quoted(v[n].s, v[n].n) || visible_is_attribution(v[n].s, v[n].n));
		n++;
		at = e + (e < len);
	}
	name_words(&names, name, NULL);
	name_words(&names, addr, "@+");
	size_t first = 0;
	while (first < n && v[first].blank)
		first++;
	for (size_t i = first + 1; i < n; i++) {
		const struct sigline *l = &v[i];
		if (l->blank || l->quote)
			continue;
		if (visible_is_signature(l->s, l->n) || re_match(md, RE_DISCLAIMER, l->s, l->n)) {
			r = l->at;
			break;
		}
		int soft = re_match(md, RE_SIGN_OFF_WORDS, l->s, l->n) || re_match(md, RE_SIGN_OFF, l->s, l->n) ||
			   (names.n && words_all(l, 4, is_name_word, &names)) ||
			   (v[i - 1].blank && l->s[l->n - 1] != ':' && words_all(l, 3, is_capitalised, NULL));
		if (soft && short_block(v, n, i)) {
			r = l->at;
			break;
		}
	}
	strv_free(&names);
	pcre2_match_data_free(md);
	free(v);
	return r;
}
