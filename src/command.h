/* command.h: the command grammar of DESIGN.md section 3 (pure; pcre2 inside).
 *
 * The command is read from the first line of the visible text that holds
 * more than white space and does not start with '>' (after white space),
 * an attribution ("On ... wrote:" and the other forms of
 * visible_is_attribution) whose next non-blank line starts with '>' being
 * passed over too: visible_text keeps a quote that new text follows. It is
 * matched as a whole word at the start of that line, case-insensitive,
 * trailing punctuation ignored. Negations and questions ("not approve",
 * "don't approve", "disapprove", "cannot approve", "approve?") and anything
 * unclear are ambiguous: no command, and the sender is asked for a clear
 * one.
 *
 * How people write (the issue "Requests and replies as people really write
 * them"): quotes are also '|' and "C>" lines (visible_is_quote); up to two
 * greeting lines above the command are passed over ("Hi team,", "Good
 * morning Ana,", a bare "Ana," as the first line), and a greeting that opens
 * the line is cut off ("Hi Ana, APPROVE"); a greeting is a greeting word
 * and at most four words before ',' '!' ':' ';' with no command word or
 * negation among them. A decision word led only by the leads and subjects
 * of command.c ("Yes, approved", "Looks good, I approve this request",
 * "This request is approved", "Please withdraw ...", "I recommend
 * approval") is the command, unless a hedge follows it ("if", "but",
 * "once", "unless", "would", "maybe", ...) or the line holds a '?'; "this
 * request" and the like after it are not part of the argument. A negation
 * reaches over "yet", "be", "able to" and the like ("not yet approved",
 * "cannot be approved"). RECOMMEND takes APPROVAL and DENIAL as verdicts
 * too. STATUS, HELP and FORM may be followed by '?'. A line holding a '?'
 * and a case id ("CGEN-2026-0001") or the word STATUS is STATUS ("What is
 * the status of CGEN-2026-0001?"); the argument of STATUS is the first case
 * id on its line when there is one. */
#ifndef CGEN_COMMAND_H
#define CGEN_COMMAND_H

enum cmd_word {
	CMD_NONE = 0,   /* no command word on the first line */
	CMD_APPROVE,
	CMD_REJECT,
	CMD_INFO,
	CMD_RECOMMEND,  /* argument starts with "APPROVE" or "DENY" (upper-cased) */
	CMD_NOTE,
	CMD_DENY,
	CMD_WITHDRAW,
	CMD_STATUS,
	CMD_AUDIT,
	CMD_HELP,
	CMD_FORM,
	CMD_PROPOSE,    /* CDT: a CGEN alternative (argument: its text) */
	CMD_ACCEPT,     /* the requester accepts CDT's alternative */
	CMD_DECLINE,    /* the requester declines it (argument: the reason) */
	CMD_EXTEND,     /* an extension of a granted exemption ("12 months reason") */
};

struct command {
	enum cmd_word word;
	char *argument;     /* rest of the command line plus the following lines
			       that are not quotes (as above), runs of blank lines
			       made one, trimmed; "" when none; NULL when word is
			       CMD_NONE */
	int ambiguous;      /* 1: looked like a command but is not clear; word = CMD_NONE */
};

/* Reads the command from visible text (visible_text's result). *out is
 * overwritten. visible may be NULL (no command).
 * The decision words APPROVE(D), REJECT(ED), DENY/DENIED, WITHDRAW(N) and
 * RECOMMEND make the line ambiguous when they are not its first word and not
 * led as above ("I would approve", "do not approve"), when the line holds another decision word
 * ("approve, no wait, reject") or a '?'. A negation ("not", "no", "don't",
 * "cannot", "never", ...) right before a decision word or INFO, another form
 * of a decision verb ("disapprove", "approving", "rejects", "withdrew",
 * "recommended", ...) anywhere on the line, and a command word glued to the
 * next by a hyphen ("approve-ish") make it ambiguous too. INFO, NOTE,
 * STATUS, AUDIT, HELP and FORM are commands only as the first word ("Please
 * note ..." is CMD_NONE, not ambiguous), and so are PROPOSE, ACCEPT(ED),
 * DECLINE(D) and EXTEND (the words of an exemption's life after review: they
 * never make another command's line ambiguous, so "APPROVE, we accept the
 * costs" stays an APPROVE); any other word directly followed by '?' is
 * ambiguous. RECOMMEND
 * must be followed by APPROVE(D) or DENY/DENIED; its argument is then
 * "APPROVE" or "DENY", a space and the rationale (just the verdict when the
 * rationale is empty). */
void command_parse(const char *visible, struct command *out);

/* command_parse, with the sender's display name and address (either may be
 * NULL) to tell where their signature starts: the argument ends there
 * (visible_signature_at). */
void command_parse_from(const char *visible, const char *name, const char *addr, struct command *out);

struct message;
/* The command of a whole mail m whose visible text is visible: none when the
 * text is a forwarded or attached mail's (m->text_enclosed: its words are
 * not the forwarder's); ambiguous when the mail's HTML part (m->alt_text)
 * reads as another command, or as an unclear one, than its text part. */
void command_read(const struct message *m, const char *visible, struct command *out);
/* Frees the argument and resets *c; c may be NULL. */
void command_free(struct command *c);
/* "APPROVE", "REJECT", ...; NULL for CMD_NONE. */
const char *command_name(enum cmd_word w);

#endif
