/* exemption.c: see exemption.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "exemption.h"
#include "log.h"
#include "util.h"

#define MAX_MONTHS 1200

static pcre2_code *length_re;
static pcre2_match_context *length_mctx;

static const char *const number_words[] = {
	"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
	"twelve",
};

/* Compiled on first use and kept for the life of the process (as command.c). */
static void re_init(void)
{
	if (length_re)
		return;
	int err = 0;
	PCRE2_SIZE off;
	length_re = pcre2_compile(
		(PCRE2_SPTR) "(?<![\\p{L}\\p{N}.,/-])(\\d{1,4}(?:\\.\\d{1,2})?+|one|two|three|four|five|"
			     "six|seven|eight|nine|ten|eleven|twelve)[ \\t]*+(?:-[ \\t]*+)?(?:\\)[ \\t]*+)?"
			     "(months?|mos?|years?|yrs?)(?!\\p{L})",
		PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &err, &off, NULL);
	length_mctx = pcre2_match_context_create(NULL);
	if (!length_re || !length_mctx) {
		log_err("exemption: cannot compile the length pattern (error %d)", err);
		abort();
	}
	pcre2_set_match_limit(length_mctx, 100000);
	pcre2_set_depth_limit(length_mctx, 1000);
}

/* Hundredths of the number s[0..n): digits with an optional ".d" or ".dd",
 * or a number word. */
static long hundredths(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(number_words); i++)
		if (strlen(number_words[i]) == n && strncasecmp(s, number_words[i], n) == 0)
			return (long)(i + 1) * 100;
	long v = 0, frac = 0, scale = 100;
	size_t i = 0;
	for (; i < n && isdigit((unsigned char)s[i]); i++)
		v = v * 10 + (s[i] - '0');
	if (i < n && s[i] == '.')
		for (i++; i < n && isdigit((unsigned char)s[i]) && scale > 1; i++) {
			scale /= 10;
			frac += (s[i] - '0') * scale;
		}
	return v * 100 + frac;
}

int exemption_months(const char *text, size_t *start, size_t *end)
{
	if (start)
		*start = 0;
	if (end)
		*end = 0;
	if (!text)
		return 0; /* text that is not UTF-8 does not match either */
	re_init();
	pcre2_match_data *md = pcre2_match_data_create(3, NULL);
	if (!md)
		abort();
	int months = 0;
	int rc = pcre2_match(length_re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, length_mctx);
	if (rc >= 3) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		long h = hundredths(text + ov[2], ov[3] - ov[2]);
		int years = (text[ov[4]] | 0x20) == 'y';
		long m = years ? (h * 12 + 50) / 100 : (h + 50) / 100;
		if (m > 0 && m <= MAX_MONTHS) {
			months = (int)m;
			if (start)
				*start = ov[0];
			if (end)
				*end = ov[1];
		}
	}
	pcre2_match_data_free(md);
	return months;
}

long exemption_end_day(const struct case_rec *c)
{
	if (c->state != ST_GRANTED || c->decided <= 0 || c->term_months <= 0)
		return -1;
	int ext = c->extension_months > 0 ? c->extension_months : 0;
	return calendar_add_months(calendar_local_day(c->decided), c->term_months + ext);
}

time_t exemption_notice_at(const struct calendar *cal, long end_day, int days, int hour, int min)
{
	return calendar_day_at(calendar_business_day_on_or_before(cal, end_day - days), hour, min);
}

int exemption_case_ref(const char *s, char out[24])
{
	for (const char *p = s; p && *p; p++) {
		if (strncasecmp(p, "cgen-", 5) != 0 || (p > s && isalnum((unsigned char)p[-1])))
			continue;
		const char *y = p + 5;
		if (!isdigit((unsigned char)y[0]) || !isdigit((unsigned char)y[1]) ||
		    !isdigit((unsigned char)y[2]) || !isdigit((unsigned char)y[3]) || y[4] != '-')
			continue;
		const char *num = y + 5;
		size_t n = 0;
		while (isdigit((unsigned char)num[n]))
			n++;
		if (n == 0 || n > 9 || isalpha((unsigned char)num[n]))
			continue;
		long v = strtol(num, NULL, 10);
		if (v < 1)
			continue;
		char id[48];
		snprintf(id, sizeof id, "CGEN-%.4s-%04ld", y, v);
		memcpy(out, id, 24);
		out[23] = '\0';
		return 1;
	}
	return 0;
}

char *exemption_summary(const struct case_rec *c)
{
	char granted[11] = "", ends[11] = "";
	long end = exemption_end_day(c);
	if (c->decided > 0)
		calendar_day_text(c->decided, granted);
	if (end >= 0)
		calendar_day_number_text(end, ends);
	const char *cond = c->decision && *c->decision ? c->decision : NULL;
	return xasprintf("%s, granted %s; %s%s%s; %s%s", c->id, *granted ? granted : "(date not known)",
			 cond ? "conditions: \"" : "no conditions", cond ? cond : "", cond ? "\"" : "",
			 end >= 0 ? "ends " : "end date not known", ends);
}
