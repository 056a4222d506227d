/* visible.h: the part of a mail its sender wrote this time (pure; pcre2).
 *
 * visible_text follows github/email_reply_parser (the reference for the
 * email_reply_parser corpus): the text is cut into fragments, quoted (">"
 * lines with the attribution or header lines just above them), signature and
 * plain; quoted, signature and blank fragments at the end are hidden, and
 * everything above the last plain fragment stays, so a quote that new text
 * follows is kept for context (inline answers). On top of that:
 *  - quoted history that nothing but one stretch of new text follows is
 *    dropped too (a reply written below the quote);
 *  - unquoted history ends the visible text wherever it starts: an
 *    original-message separator ("-----Original Message-----",
 *    "Ursprüngliche Nachricht", "Message d'origine", "Mensaje original",
 *    "Messaggio originale", "Oorspronkelijk bericht", "Ursprungligt
 *    meddelande", "Opprinnelig melding", "Oprindelig meddelelse",
 *    "Alkuperäinen viesti", "Wiadomość oryginalna", "Исходное сообщение",
 *    "原始邮件", "元のメッセージ", ...), a forwarded part ("Begin forwarded
 *    message:", "---------- Forwarded message ---------" and translations),
 *    a header block (From:/Sent: in any order with To:/Cc:/Subject:, and
 *    Von:/Gesendet:, De :/Envoyé :, De:/Enviado:, Da:/Inviato:,
 *    Van:/Verzonden:, Från:/Skickat:, Fra:/Sendt:, Lähettäjä:/Lähetetty:,
 *    Od:/Wysłano:, От:/Отправлено:, Від:/Надіслано:, 发件人:/发送时间:,
 *    差出人:/送信日時:) or an attribution with no quote below it;
 *  - attributions are recognised in many languages: "On ... wrote:",
 *    "Am ... schrieb ...:", "Le ... a écrit :", "El ... escribió:",
 *    "Il ... ha scritto:", "Op ... schreef ...:", "Em ... escreveu:",
 *    "Den ... skrev ...:", "... kirjoitti:", "... napisał(a):",
 *    "... написал(а):", "... пишет:", "... написав(ла):", "...写道：",
 *    "在 ... 写道:", "... のメッセージ:", "...さんは書きました:", and
 *    "<date> ... <address>:"; one wrapped over up to three lines is joined
 *    into one line;
 *  - signatures: a "-- " line, or, after a blank line, a line starting with
 *    "--" or "__", a "-Name" sign-off, and mobile footers anywhere ("Sent
 *    from my ...", "Get Outlook for ...", "Von meinem iPhone gesendet",
 *    "Envoyé de mon iPhone", "Enviado desde mi iPhone", "Inviato da iPhone",
 *    "Verzonden vanaf mijn iPhone", "Skickat från min iPhone", "Sendt fra min
 *    iPhone", "Lähetetty iPhonesta", "Wysłane z iPhone'a", "Отправлено с
 *    iPhone", "发自我的iPhone", "iPhoneから送信", ...). A signature hides the
 *    lines below it up to the next quote.
 *
 * Normalisation of the result: CRLF (and a CR ending the text) become LF;
 * every line loses its trailing ASCII white space (space, tab, CR, VT, FF),
 * except lines starting with optional white space and "--" or "__", or with
 * "-" and a letter or digit, which keep it (as the reference does); a line
 * of eight or more underscores directly below a non-empty line gets an empty
 * line above it (as the reference does); a wrapped attribution is one line,
 * its pieces joined by one space; leading blank lines and trailing white
 * space (blank lines included) are removed. Lines are joined with LF, with
 * no final LF. */
#ifndef CGEN_VISIBLE_H
#define CGEN_VISIBLE_H

#include <stddef.h>

/* Returns the visible text described above (allocated, "" when nothing is
 * visible). text is UTF-8 with LF or CRLF line ends; never NULL. Invalid
 * UTF-8 is tolerated (such bytes never match a pattern). Lines longer than
 * 4096 bytes are body text to every pattern. The first call compiles the
 * patterns (not thread-safe). */
char *visible_text(const char *text);

/* 1 when line[0..n) (one line, no LF) is an attribution in one of the forms
 * visible_text recognises ("On ... wrote:", "... написал(а):",
 * "<date> ... <address>:", ...), else 0. */
int visible_is_attribution(const char *line, size_t n);

/* 1 when line[0..n) starts a signature visible_text may keep above quoted
 * history: a "-- " delimiter or a device line ("Sent from my iPhone", and its
 * translations), else 0. A command's argument ends there. */
int visible_is_signature(const char *line, size_t n);

/* 1 when line[0..n) (one line, no LF) is quoted history: '>' or '|' after
 * optional white space, or a SuperCite prefix ("C> ", "JD>> "), else 0. */
int visible_is_quote(const char *line, size_t n);

/* Where the sender's signature starts in text (a reply's own text, LF line
 * ends): the byte offset of its first line, or strlen(text) when there is
 * none. The first line that holds more than white space is never part of
 * it. A signature starts at
 *  - a "-- " line, a device line ("Sent from my iPhone", ...) or the first
 *    line of a legal footer ("CONFIDENTIALITY NOTICE", "This e-mail and any
 *    attachments ...");
 *  - a sign-off ("Thanks,", "Best regards, Ana", "-Chris"), a line made of
 *    the sender's names (name: the From display name, addr: the From
 *    address, whose local part gives names too; either may be NULL), or,
 *    after a blank line, a line of one to three capitalised words ("Ana
 *    Ruiz"), each only when what follows it up to the end of the text, or
 *    to quoted history, is a short block: at most 6 lines of at most 80
 *    bytes, none a question and none a sentence of five words or more. */
size_t visible_signature_at(const char *text, const char *name, const char *addr);

/* The base subject of a thread: subject without its leading reply and
 * forward prefixes (Re, Fwd, FW, AW, WG, SV, VS, Antw, Doorst, Réf, Rif, Enc,
 * Odp, RV, TR, 回复, 答复, 转发, 回覆, ..., any case, with an optional "[n]"
 * or "(n)" counter, then ':' or '：') and gateway tags ("[EXTERNAL]",
 * "[External]", "*EXTERNAL*", "[EXT]"), removed repeatedly, and trimmed.
 * Allocated; subject may be NULL (gives ""). */
char *subject_strip_prefixes(const char *subject);

#endif
