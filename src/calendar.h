/* calendar.h: business days, holidays and the daily digest time (DESIGN.md
 * section 5), in the local time zone (TZ, which cgend and cgenctl set to
 * [workflow] timezone). Pure but for reading the holidays file: no clock is
 * read here, every moment is an argument. */
#ifndef CGEN_CALENDAR_H
#define CGEN_CALENDAR_H

#include <stddef.h>
#include <time.h>
#include "util.h"

/* Holidays as civil day numbers (days since 1970-01-01), sorted, unique.
 * A zeroed struct calendar is a valid calendar without holidays. */
struct calendar {
	long *days;
	size_t n;
};

/* Parses a holidays text: one date "YYYY-MM-DD" a line; '#' starts a comment;
 * blank lines are skipped. Adds the dates to *cal. Returns 0, or -1 with every
 * bad line appended to errors as "NAME:LINE: message" (*cal then unchanged). */
int calendar_parse(struct calendar *cal, const char *text, const char *name,
		   struct strv *errors);
/* Reads and parses the holidays file at path (NULL: no holidays, returns 0).
 * Returns 0, or -1 with problems appended to errors ("PATH: cannot read: ..."
 * or as calendar_parse). */
int calendar_load(struct calendar *cal, const char *path, struct strv *errors);
void calendar_free(struct calendar *cal);

/* Civil day number of a date, and of the local date of t. */
long calendar_day_number(int y, int m, int d);
long calendar_local_day(time_t t);
/* "YYYY-MM-DD" of the local date of t; out holds >= 11 bytes. */
void calendar_day_text(time_t t, char out[11]);

/* The date of a civil day number, and its "YYYY-MM-DD" (out >= 11 bytes). */
void calendar_civil(long day, int *y, int *m, int *d);
void calendar_day_number_text(long day, char out[11]);
/* The civil day number months (>= 0) calendar months after day, the day of
 * the month kept or, when that month is shorter, its last day (2026-01-31
 * plus one month is 2026-02-28). */
long calendar_add_months(long day, int months);
/* The moment hour:min local time on civil day number day (a time that does
 * not exist that day, at a daylight-saving change, moves forward). */
time_t calendar_day_at(long day, int hour, int min);
/* The last business day on or before civil day number day. */
long calendar_business_day_on_or_before(const struct calendar *cal, long day);

/* 1 when the civil day number is Monday..Friday and not a holiday. */
int calendar_business_day(const struct calendar *cal, long day);
/* The moment n (>= 0) business days after t: the n-th business day after t's
 * local date, at t's local wall-clock time (moved forward by mktime when that
 * time does not exist that day, at a daylight-saving change). n = 0: t. */
time_t calendar_add_business_days(const struct calendar *cal, time_t t, int n);
/* The number of whole business days between since and now: the largest k,
 * capped at max, with calendar_add_business_days(since, k) <= now. */
int calendar_business_days_between(const struct calendar *cal, time_t since, time_t now,
				   int max);

/* Whether the daily digest is due at now: the local wall-clock time of now is
 * at or after hour:min, no digest was sent that local day (last_day, the
 * "YYYY-MM-DD" of the last digest sent, or NULL when none was), and the
 * record started (the first event; (time_t)-1 when there is none) before
 * hour:min of that local day: a digest reports on a day the agent saw. The
 * local day of now is written to day (>= 11 bytes) either way. Returns 1 when
 * due, else 0. */
int calendar_digest_due(time_t now, int hour, int min, const char *last_day, time_t started,
			char day[11]);

#endif
