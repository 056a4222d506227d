/* exemption.h: a granted exemption's life after the decision (pure; pcre2
 * inside).
 *
 * The policy grants an exemption for one contract: the request states its
 * term and extension options. A granted exemption ends at the local date of
 * the grant plus the contract term plus the extensions CDT approved later;
 * the requester and CDT are told [workflow] expiry_notice days before that
 * end. Dates are local (TZ, which cgend and cgenctl set to [workflow]
 * timezone); nothing here reads the clock. */
#ifndef CGEN_EXEMPTION_H
#define CGEN_EXEMPTION_H

#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "case.h"

/* The months of the first length in text, as people write one: a number
 * (digits, with at most two decimals, not right after a letter, a digit,
 * '.', ',', '/' or '-'; or one..twelve in words) then month(s),
 * mo, year(s) or yr, with optional white space, '-' or ')' between ("36
 * months", "36-month", "24 mo.", "3 yrs", "1.5 years", "Two (2) years", "one
 * year"). Returns the months (years times 12, rounded), or 0 when text
 * (which may be NULL) holds no length or one over 1200 months. When end is
 * not NULL it gets the offset just past the length (0 when none), and start
 * the offset where it begins. */
int exemption_months(const char *text, size_t *start, size_t *end);

/* The civil day number (calendar_day_number) on which granted case c ends:
 * the local date of c->decided plus c->term_months plus c->extension_months
 * (calendar_add_months); -1 when c is not granted, has no grant date or no
 * known term. */
long exemption_end_day(const struct case_rec *c);

/* When the expiry notice of `days` days before the end is due: hour:min local
 * time on the last business day on or before end_day - days (a notice that
 * would fall on a weekend or a holiday goes the business day before). */
time_t exemption_notice_at(const struct calendar *cal, long end_day, int days, int hour, int min);

/* The first case id written in s (may be NULL): "CGEN-2025-0012",
 * "[cgen-2025-0012]", "CGEN-2025-12" (a number of fewer than four digits is
 * padded with zeros), not glued to a letter or digit before it. Writes it
 * upper-case, without brackets, to out and returns 1; 0 when there is none. */
int exemption_case_ref(const char *s, char out[24]);

/* The decision of granted case c for people, on one line: "CGEN-2025-0012,
 * granted 2025-03-02; conditions: ...; ends 2028-03-02" (no conditions: "no
 * conditions"; no known end: "end date not known"). Allocated. */
char *exemption_summary(const struct case_rec *c);

#endif
