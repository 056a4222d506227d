/* mailview.h: what a mail of the agent shows, as text and as HTML (pure).
 *
 * From one template's data it builds the parts every mail shares: the
 * subject's headline ("DWR, Pearblossom, $97,560"), the request as a table of
 * its fields (one row per service), the commands the addressee may give
 * (buttons that open a prefilled reply in HTML, spelled out in text), the
 * case's history and its documents; then the text body and the HTML part.
 *
 * The HTML part is templates/layout.html around the mail's own content: its
 * NAME.html when the template folder has one, else the text template turned
 * into HTML (paragraphs, the blocks above as tables), so a mail kind that only
 * has a .txt still gets a valid, readable HTML part. Every value is escaped;
 * only the blocks built here are inserted as HTML. Tables, inline styles and
 * HTML 4 elements only (Outlook, Outlook on the web, Gmail, Apple Mail), with
 * explicit colours on every coloured cell so that dark modes keep contrast. */
#ifndef CGEN_MAILVIEW_H
#define CGEN_MAILVIEW_H

#include <stddef.h>
#include <time.h>

#include "case.h"
#include "compose.h"
#include "store.h"
#include "util.h"

enum mailview_tone { MV_GO = 0, MV_STOP, MV_OTHER };

/* A command the addressee of a keyed mail may give (DESIGN.md section 3). */
struct mailview_command {
	const char *word;   /* the reply's first line, prefilled: "APPROVE", "REJECT " ("" when
			       the reply itself is the answer) */
	const char *usage;  /* how it is written: "APPROVE [comment]" */
	const char *label;  /* button text: "Approve" */
	const char *help;   /* what it does, in words */
	enum mailview_tone tone;
};

/* The commands an addressee in role r may give by replying to a keyed mail
 * about case c (NULL: none), in the order they are shown, as the engine's
 * table allows them (engine_commands); at most max into
 * out. Returns how many. The list is data (one table): a new command or state
 * is one more row. */
size_t mailview_commands(enum role r, const struct case_rec *c, const struct mailview_command **out,
			 size_t max);

/* A state in a few words for tables of people ("under review at CDT"); a
 * state without words yet reads as its stable name. Static. */
const char *mailview_state_words(enum case_state s);

/* The mailto: URI (RFC 6068) of a command's button: to reply_addr, subject
 * "Re: " + subject, body: the command's word on the first line, then a "-- "
 * signature holding "Ref: KEY" (key may be NULL: no signature). Allocated. */
char *mailview_mailto(const char *reply_addr, const char *subject, const char *word,
		      const char *key);

/* "DWR, Pearblossom, $97,560": the entity code, the site (the town of the
 * first service's street address, "and N more sites" when the services are at
 * several) and the total cost (cents only when not whole dollars), from the
 * form fields JSON; parts that are unknown are left out. "" when nothing is
 * known. Allocated. */
char *mailview_headline(const char *fields_json, const char *entity_code);

/* The request as a table of its fields, services and cost items as rows:
 * appended as text (lines of at most 72 characters, labels in a column) to
 * text and as an HTML table to html (either may be NULL). entity_label names
 * the entity ("Department of Water Resources (DWR)"); NULL: as written in the
 * form. Returns the number of rows (0: no field known). */
size_t mailview_request(const char *fields_json, const char *entity_label, struct buf *text,
			struct buf *html);

/* A display name known for an address: people is a flat list of address,
 * name pairs. "Name <addr>" when a name is known, else addr. Allocated. */
char *mailview_person(const struct strv *people, const char *addr);

/* The history of a case for the CDT and CTO packets: receipt, corrected
 * forms, approvals and rejections with their comments, CDT's questions and
 * the answers, notes, the recommendation and the decision, in order, each
 * with its time (local) and who (by display name, from people). Other event
 * kinds are left out. Appended as text and as HTML (either may be NULL).
 * Returns the number of entries. */
size_t mailview_history(const struct event_rec *ev, size_t n, const struct strv *people,
			struct buf *text, struct buf *html);

/* One document of a case (an attachment of a mail). */
struct mailview_doc {
	const char *name;
	const char *type;
	size_t size;
	int attached;       /* 1: attached to this mail; 0: listed only */
};
/* The documents of a mail as a list: name, type, size, and for those not
 * attached why (over limit bytes in all) and how to get them. */
void mailview_documents(const struct mailview_doc *d, size_t n, long long limit,
			const char *case_id, struct buf *text, struct buf *html);

/* "182 KB", "1.2 MB", "900 bytes". out holds 32 bytes. */
void mailview_size_text(size_t n, char out[32]);

/* Appends s to b with & < > " ' escaped, newlines as <br>. */
void mailview_html_text(struct buf *b, const char *s);

struct mailview_in {
	const struct templates *t;
	const char *tmpl;               /* the mail kind: NAME.txt (and NAME.html) */
	const struct strv *vars;        /* name, text value pairs */
	const struct strv *html_vars;   /* name, HTML pairs: blocks whose HTML replaces
					   the escaped text of the same name */
	const char *key;                /* the reply key of the mail, or NULL */
	const char *reply_addr;         /* where replies and buttons go */
	const struct mailview_command *const *cmds; /* the addressee's commands (keyed mails) */
	size_t n_cmds;
	const char *agent_name;         /* shown in the HTML header: "CGEN Exemptions" */
};

/* Renders one mail: *subject (one line), *text (LF line ends, to be passed
 * through compose_flowed) and *html (a whole document). The commands are
 * spelled out in the text where the template says {{how_to_answer}} (at the
 * end when it does not) and are buttons in the HTML at the same place; a
 * keyed mail ends with the "Ref: KEY" footer in both. Needs layout.html in
 * the template folder. Returns 0, or -1 with *err allocated (no such
 * template, a placeholder without a value, no layout). */
int mailview_render(const struct mailview_in *in, char **subject, char **text, char **html,
		    char **err);

#endif
