/* form.h: the request form of DESIGN.md section 2 (pure; pcre2 inside).
 *
 * A body holds "Label: value" fields. Labels are case-insensitive, have
 * synonyms and start a line (list markers and bold markers before a label
 * are allowed); a value runs until the next label line; list items start with
 * any marker Word, Outlook or Gmail writes.
 * Checks that need the directory (entity lookup, sender domain) are not done
 * here: the engine does them and adds problems with form_add_problem. */
/* The grammar in detail (templates/request-form.txt shows it to people; the
 * form is read the way a CDT clerk reads it, not only the way the template
 * writes it):
 * - Text is UTF-8 with LF or CRLF; invalid bytes read as U+FFFD, NBSP as a
 *   space, zero-width spaces and Word's "<![if !supportLists]>"/"<![endif]>"
 *   markers are dropped. Lines before the first known label are ignored, and
 *   so are quoted lines (">") and the "(!)" lines of a prefilled form.
 * - A label line: optional white space, an optional list marker, optional
 *   bold markers ('*', '_', as Gmail writes <b> in text), a label of at most
 *   six words, optional bold markers, ':' (or U+FF1A) not followed by "//".
 *   A label is compared case- and punctuation-insensitively, with words in
 *   parentheses, a leading "the"/"our"/"your"/"my" and plural 's' ignored
 *   ("Service(s) Requested", "Total Cost (USD)", "Cost Item"), and words
 *   such as "requested", "proposed", "information" ignored when nothing else
 *   matched. Each field has synonyms: see the table in form.c (e.g.
 *   "Agency", "Business Justification", "Contract Length", "Term", "Total",
 *   "Cost Breakdown", "Vendor", "Carrier", "SLA"). "Location", "Address",
 *   "Site", "Quantity"/"Qty" and "Service Type"/"Type" are parts of a
 *   service: under Services they belong to the item above them; elsewhere
 *   they describe the one service of the request (a lone Location is the
 *   address of every service without one). Mail header and contact labels
 *   ("From", "Sent", "Subject", "Phone", "Email", ...) end the field above
 *   and are not read. Any other label-like line (no list marker, no
 *   indentation) is an unknown label: it ends the field above, its value is
 *   not read, and it is reported as 'Unknown label "X" (did you mean Y?).'
 *   (a soft problem: listed only with other problems; otherwise a note).
 *   Under Services and Cost Items, a label-like line that is an item (a
 *   cost line ending in an amount, a service with a quantity or an address)
 *   or a sub-heading without a value stays in the list.
 * - Renews (also "Renewal of"; optional) holds the case id of the granted
 *   exemption a request renews; the engine checks it.
 * - The first label of a field wins; a field's label seen again is ignored
 *   with its value, except under Services and Cost Items, whose items add up.
 * - A value is the rest of the label line and the lines below it up to the
 *   next label line; lines are trimmed and joined with "\n", runs of blank
 *   lines kept as one. Entity, Reason Category, Total Cost and Provider take
 *   only the first paragraph. A line holding a hint of the blank form ("<"
 *   lowercase words ">", without '.', ':', '/', '@') is dropped.
 * - The form ends, once a label was read, at a signature: a "--" line, a
 *   sign-off ("Thanks,", "Thank you", "Regards,", "Best,", "Sincerely",
 *   "V/r", with or without a name after it), a closing line ("Please let me
 *   know...", "Feel free to..."), a confidentiality disclaimer, a device
 *   line ("Sent from my iPhone"), an Outlook separator or header block. A
 *   name/title/phone block at the end of the last field is cut off too: the
 *   lines from a name line (two to four capitalised words), a contact line
 *   (phone, e-mail, web address) or a "a | b" line to the end, when they are
 *   short lines and hold a contact line, or are at most four lines that
 *   start with a name after a blank line.
 * - Services and Cost Items are lists. List markers: '-', '*', U+2022,
 *   U+00B7, U+25AA, U+25CF, U+25E6, U+2013, U+00A7, Word's symbol bullets
 *   (U+F0B7, U+F0A7, U+F0D8), "o", "1.", "1)", "(1)", "a.", "a)", with any
 *   indentation. With markers, each marked line starts an item and the
 *   non-blank lines after it continue it; without, each line is an item,
 *   except that a service's address, city line or sub-label line continues
 *   the service above. "Service 2:"/"Site 2:" lines start items too.
 * - A service: a quantity, a service type and a street address in any
 *   natural order. Quantity: "2 x", "2x", "2 X", "2 \u00d7", "Qty 2",
 *   "Qty: 2", "Quantity 2", "two (2)", "(2)", "two", a bare leading number
 *   that is no bandwidth ("2 circuits"), or "x2"/"Qty 2" anywhere. The
 *   street address is found by its shape: a house number followed by up to
 *   five words and a street word (Street, St, Avenue, Blvd, Road, Drive, Way,
 *   Lane, Court, Place, Mall, Highway, Parkway, ...), or a house number and
 *   word with a "CA 9xxxx" ZIP after it, or any text with such a ZIP after
 *   the type. It may follow the type after " at ", "@", "|", ";", "Location:"
 *   (any text with a house number or ZIP then counts), after ", ", " - ",
 *   ": ", with no separator at all, on the next line, on a
 *   Location:/Address:/Site: sub-line, or come first ("1416 9th Street -
 *   2 x 100 Mbps"). The quantity is a positive integer.
 * - A cost item: "item: amount", "item - amount" (or an en/em dash, or '='),
 *   "item amount", "item amount (remark)", or amount first ("$3,500.00 -
 *   installation", "$3,500 for installation"; amount-first needs '$' or
 *   "USD"). One line with several "item: amount" parts separated by ';' is
 *   several items. A sub-heading ("One-time:") is not an item.
 * - Money: optional "USD" and/or "$", digits with thousands separators in
 *   the right places or none, at most two decimals, optional trailing "USD";
 *   no sign; at most 15 integer digits. Total Cost may say more around one
 *   amount: "approximately", "total", "(3 years)", "over 36 months", "for
 *   the contract term"; never a rate ("/month", "per", "monthly").
 * - Reason Category: features, functionality or availability (also
 *   "feature", "functional", "available"/"unavailable"/"not available"),
 *   any case, maybe followed by an explanation after a dash, colon, comma
 *   or parenthesis ("Availability - CGEN has no facilities at the site").
 *   When Reason is missing, that explanation is the reason. Contract Term:
 *   text that holds a length: a number (digits or a word, "Two (2)")
 *   followed by month(s), mo, mo., year(s), yr(s) ("36 months", "36-month",
 *   "3 yrs", "24 mo.", "Two (2) years", "three years").
 * - Values found invalid are not stored (left NULL, or left out of the
 *   lists); each gets its problem. Problems come in the order of the fields,
 *   soft ones (unknown labels) after them, those of form_add_problem last.
 * Patterns are compiled on first use, once, into static storage kept for the
 * life of the process; the first call is not thread-safe. Every match runs
 * with match and depth limits; lines longer than 4096 bytes are value text to
 * every pattern; input of any size parses in linear time. */
#ifndef CGEN_FORM_H
#define CGEN_FORM_H

#include <stddef.h>

/* JSON field names of section 2, also the problem "field" values. */
#define FORM_F_ENTITY "entity"
#define FORM_F_SERVICES "services"
#define FORM_F_REASON "reason"
#define FORM_F_REASON_CATEGORY "reason_category"
#define FORM_F_CONTRACT_TERM "contract_term"
#define FORM_F_EARLY_TERMINATION "early_termination"
#define FORM_F_EXTENSION_OPTIONS "extension_options"
#define FORM_F_TOTAL_COST "total_cost"
#define FORM_F_COST_ITEMS "cost_items"
#define FORM_F_PROVIDER "provider"
#define FORM_F_VENDOR_DOCUMENTATION "vendor_documentation"
#define FORM_F_SERVICE_LEVELS "service_levels"
#define FORM_F_RENEWS "renews" /* optional: the case id of the exemption a request renews */

struct form_service {
	long quantity;      /* >= 1 */
	char *type;         /* e.g. "100 Mbps Ethernet" */
	char *address;      /* street address */
};

struct form_cost {
	char *item;
	long long cents;
};

struct form_problem {
	char *field;        /* a FORM_F_* name */
	char *message;      /* plain words, one sentence, e.g. "Total Cost is missing." */
	int item;           /* the list item (1-based) of Services or Cost Items it is
			       about; 0 for the whole field */
	int soft;           /* 1: an unknown label; not a reason on its own to hold a
			       request (the engine drops soft problems when no other
			       is left) */
};

/* The form's fields in the order of section 2 (index of struct form's raw). */
#define FORM_NFIELDS 13

/* A label line the form does not know, as read. */
struct form_unread {
	char *label;        /* as written, e.g. "Contract Lenght" */
	char *value;        /* its value (first line), "" when none */
	const char *suggest; /* FORM_F_* name of the field it may mean, or NULL */
};

struct form {
	int labels;         /* number of distinct form labels that start lines */
	int filled;         /* number of those whose value holds something */
	char *entity;       /* value as written (trimmed), NULL when absent */
	struct form_service *services;
	size_t n_services;
	char *reason;
	char *reason_category; /* lowercase: features|functionality|availability when valid */
	char *contract_term;
	char *early_termination;
	char *extension_options;
	int has_total_cost;
	long long total_cost;  /* cents */
	struct form_cost *cost_items;
	size_t n_cost_items;
	char *provider;
	char *vendor_documentation;
	char *service_levels;
	char *renews;       /* "Renews:" (also "Renewal of:"), first paragraph, or NULL */
	struct form_problem *problems;
	size_t n_problems;
	/* What was written, for the prefilled form: each field's value as read
	 * (lines joined with "\n"; for Services and Cost Items one item a line),
	 * NULL when the field is absent or empty. */
	char *raw[FORM_NFIELDS];
	struct form_unread *unread; /* at most FORM_MAX_UNREAD */
	size_t n_unread;
};
#define FORM_MAX_UNREAD 20

/* Parses text (UTF-8, LF or CRLF) into *out (zeroed by the caller) and records
 * every problem of the form itself: each missing required field, each
 * malformed value (services item without quantity, type or street address;
 * unknown reason category; contract term without a length; money that does
 * not parse; cost items that do not add up to Total Cost). Never fails. */
void form_parse(const char *text, struct form *out);
/* A mail without reply key or case tag is a request when >= 3 labels start lines. */
int form_is_request(const struct form *f);
void form_add_problem(struct form *f, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The fields as a JSON object with the names above (absent fields omitted;
 * money in integer cents; services as [{quantity,type,address}], cost_items as
 * [{item,amount}]). Allocated. */
char *form_fields_json(const struct form *f);
/* The problems as a JSON array of {field, message}. Allocated. */
char *form_problems_json(const struct form *f);
/* The problems as plain text, one "- Label: message" line each. Allocated. */
char *form_problems_text(const struct form *f);
/* A readable summary of the fields for notifications (Label: value lines). */
char *form_summary_text(const struct form *f);
/* The form prefilled with what was read, to send back with the problems:
 * every field's label in the order of section 2, its value (as read when it
 * was not valid, empty when absent; a missing field an unknown label seems
 * to mean gets that label's value), and below each value, or below the list
 * item concerned, one "(!) message" line per problem of that field;
 * problems of no field of section 2 come last. form_parse ignores the "(!)"
 * lines, so the text can be corrected and sent back as it is. Allocated. */
char *form_prefill_text(const struct form *f);
/* Lines for the acknowledgment about unknown labels that were not read, one
 * "- Label: value" line each under a sentence; "" when there are none.
 * Allocated. */
char *form_unread_text(const struct form *f);
void form_free(struct form *f);

/* "$97,560.00", "$1,200,000", "97560", "97,560.5" -> cents. Returns 0 or -1. */
/* (s may be NULL; on -1, *cents is left untouched.) */
int money_parse(const char *s, long long *cents);
/* cents -> "$97,560.00" (allocated). */
char *money_format(long long cents);

#endif
