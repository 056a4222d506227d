/* calendar.c: see calendar.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

long calendar_day_number(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* Inverse of calendar_day_number. */
static void civil_from_days(long z, int *y, int *m, int *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((long)yoe + era * 400 + (*m <= 2));
}

/* hour:min:sec local time on civil day number day (mktime moves a time
 * that does not exist that day forward). */
static time_t local_moment(long day, int hour, int min, int sec)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

long calendar_local_day(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return calendar_day_number(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void calendar_day_text(time_t t, char out[11])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

/* "YYYY-MM-DD" exactly, a real date: its day number, or 0 with *ok = 0. */
static long parse_date(const char *s, int *ok)
{
	int y, m, d, n = 0;
	*ok = strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 &&
	      s[4] == '-' && s[7] == '-' && m >= 1 && m <= 12 && d >= 1 && y >= 1970;
	if (!*ok)
		return 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) {
		*ok = 0;
		return 0;
	}
	return calendar_day_number(y, m, d);
}

int calendar_parse(struct calendar *cal, const char *text, const char *name,
		   struct strv *errors)
{
	long *v = NULL;
	size_t n = 0, cap = 0;
	int bad = 0, line = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t len = strcspn(p, "\n");
		char *l = xstrndup(p, len);
		line++;
		l[strcspn(l, "#")] = '\0';
		str_trim(l);
		if (*l) {
			int ok;
			long day = parse_date(l, &ok);
			if (!ok) {
				strv_addf(errors, "%s:%d: not a date (YYYY-MM-DD): \"%s\"", name, line, l);
				bad = 1;
			} else {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					v = xrealloc(v, cap * sizeof *v);
				}
				v[n++] = day;
			}
		}
		free(l);
		p += len;
		if (*p)
			p++;
	}
	if (bad) {
		free(v);
		return -1;
	}
	if (n) {
		cal->days = xrealloc(cal->days, (cal->n + n) * sizeof *cal->days);
		memcpy(cal->days + cal->n, v, n * sizeof *v);
		cal->n += n;
		qsort(cal->days, cal->n, sizeof *cal->days, cmp_long);
		size_t k = 0;
		for (size_t i = 0; i < cal->n; i++)
			if (k == 0 || cal->days[k - 1] != cal->days[i])
				cal->days[k++] = cal->days[i];
		cal->n = k;
	}
	free(v);
	return 0;
}

int calendar_load(struct calendar *cal, const char *path, struct strv *errors)
{
	if (!path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		strv_addf(errors, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	struct buf b = {0};
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, got);
	int err = ferror(f);
	fclose(f);
	int rc;
	if (err) {
		strv_addf(errors, "%s: cannot read", path);
		rc = -1;
	} else
		rc = calendar_parse(cal, b.s, path, errors);
	buf_free(&b);
	return rc;
}

void calendar_free(struct calendar *cal)
{
	free(cal->days);
	cal->days = NULL;
	cal->n = 0;
}

int calendar_business_day(const struct calendar *cal, long day)
{
	long wd = ((day % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */
	if (wd == 0 || wd == 6)
		return 0;
	return !(cal && cal->n && bsearch(&day, cal->days, cal->n, sizeof *cal->days, cmp_long));
}

time_t calendar_add_business_days(const struct calendar *cal, time_t t, int n)
{
	if (n <= 0)
		return t;
	struct tm tm;
	localtime_r(&t, &tm);
	long day = calendar_day_number(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	while (n > 0) {
		day++;
		if (calendar_business_day(cal, day))
			n--;
	}
	return local_moment(day, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int calendar_business_days_between(const struct calendar *cal, time_t since, time_t now, int max)
{
	int k = 0;
	while (k < max && calendar_add_business_days(cal, since, k + 1) <= now)
		k++;
	return k;
}

int calendar_digest_due(time_t now, int hour, int min, const char *last_day, time_t started,
			char day[11])
{
	struct tm tm;
	localtime_r(&now, &tm);
	calendar_day_text(now, day);
	int at = hour * 60 + min;
	if (tm.tm_hour * 60 + tm.tm_min < at)
		return 0;
	if (last_day && strcmp(last_day, day) == 0)
		return 0;
	if (started == (time_t)-1)
		return 0;
	struct tm st;
	localtime_r(&started, &st);
	long sday = calendar_day_number(st.tm_year + 1900, st.tm_mon + 1, st.tm_mday);
	long today = calendar_day_number(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return sday < today || (sday == today && st.tm_hour * 60 + st.tm_min < at);
}

void calendar_civil(long day, int *y, int *m, int *d)
{
	civil_from_days(day, y, m, d);
}

void calendar_day_number_text(long day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

long calendar_add_months(long day, int months)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	long total = (long)y * 12 + (m - 1) + (months > 0 ? months : 0);
	y = (int)(total / 12);
	m = (int)(total % 12) + 1;
	int last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return calendar_day_number(y, m, d < last ? d : last);
}

time_t calendar_day_at(long day, int hour, int min)
{
	return local_moment(day, hour, min, 0);
}

long calendar_business_day_on_or_before(const struct calendar *cal, long day)
{
	/* Holidays and weekends are finite runs: this ends. */
	while (!calendar_business_day(cal, day))
		day--;
	return day;
}
