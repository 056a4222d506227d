/* form.h: the request form of DESIGN.md section 2 (pure; pcre2 inside).
 *
 * A body holds "Label: value" fields. Labels are case-insensitive and start a
 * line (leading white space and '*' or '-' bullets before a label are allowed);
 * a value runs until the next label; list items start with '-', '*' or "1.".
 * Checks that need the directory (entity lookup, sender domain) are not done
 * here: the engine does them and adds problems with form_add_problem. */
/* The grammar in detail (templates/request-form.txt explains it to people):
 * - Text is UTF-8 with LF or CRLF; invalid bytes read as U+FFFD, NBSP as a
 *   space. A "-- " signature line ends the form; lines before the first
 *   label are ignored.
 * - A label line: optional white space, an optional bullet ('-', '*', U+2022),
 *   a label (any case, words separated by any white space), optional white
 *   space, ':'. Labels: Entity (also "Entity Name", "Agency", "Department"),
 *   Services, Reason, Reason Category, Contract Term (also "Term"), Early
 *   Termination, Extension Options, Total Cost, Cost Items, Provider (also
 *   "Service Provider", "Vendor"), Vendor Documentation, Service Levels (also
 *   "SLA", "SLAs"), Renews (also "Renewal of"; optional: the case id of the
 *   granted exemption a request renews). The longest label wins ("Reason Category" is not
 *   "Reason"). A label seen again is ignored with its value.
 * - A value is the rest of the label line and the lines below it up to the
 *   next label line; lines are trimmed and joined with "\n", runs of blank
 *   lines kept as one. Entity, Reason Category, Total Cost and Provider take
 *   only the first paragraph (up to a blank line), so that a sign-off after
 *   the form does not become part of them. A line still holding a hint of
 *   the blank form ("<" lowercase words ">", without '.', ':', '/', '@') is
 *   dropped.
 * - Services and Cost Items are lists: lines starting with '-', '*', U+2022,
 *   "N." or "N)" start items, the non-blank lines after an item continue it,
 *   other lines are ignored; without any bullet each non-blank line is one
 *   item.
 * - A service: "<quantity> x <service type> at <street address>"; 'X' or
 *   U+00D7 for 'x'; " @ ", " | " or "; " for " at " (the first one splits).
 *   The quantity is a positive integer; the street address holds a house
 *   number (digits) followed by a word ("1325 J Street, Sacramento").
 * - A cost item: "item: amount", "item - amount" (or an en/em dash, or '=')
 *   or "item amount": the line ends with a money amount.
 * - Money: optional "USD" and/or "$", digits with thousands separators in
 *   the right places or none, at most two decimals, optional trailing "USD";
 *   no sign; at most 15 integer digits.
 * - Reason Category: features, functionality or availability, any case,
 *   trailing punctuation ignored. Contract Term: text that holds a length, a
 *   number followed by month(s), year(s), mo or yr ("36 months", "36-month").
 * - Values found invalid are not stored (left NULL, or left out of the
 *   lists); each gets its problem. Problems come in the order of the fields,
 *   those of form_add_problem after them.
 * Patterns are compiled on first use, once, into static storage kept for the
 * life of the process; the first call is not thread-safe. Every match runs
 * with match and depth limits; input of any size parses in linear time. */
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
};

struct form {
	int labels;         /* number of distinct form labels that start lines */
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
};

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
void form_free(struct form *f);

/* "$97,560.00", "$1,200,000", "97560", "97,560.5" -> cents. Returns 0 or -1. */
/* (s may be NULL; on -1, *cents is left untouched.) */
int money_parse(const char *s, long long *cents);
/* cents -> "$97,560.00" (allocated). */
char *money_format(long long cents);

#endif
