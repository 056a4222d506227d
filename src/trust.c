/* trust.c: see trust.h. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "trust.h"
#include "util.h"

/* ar without RFC 5322 comments "(...)" (nested, with quoted pairs). */
static char *strip_comments(const char *ar)
{
	struct buf b = {0};
	int depth = 0, quoted = 0;
	for (const char *p = ar; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				buf_addc(&b, *p++);
			else if (*p == '"')
				quoted = 0;
			if (!depth)
				buf_addc(&b, *p);
			continue;
		}
		if (depth) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			continue;
		}
		if (*p == '(') {
			depth = 1;
			buf_addc(&b, ' ');
		} else {
			if (*p == '"')
				quoted = 1;
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}

/* 1 when signing domain d aligns with from (equal, or from is below d). */
static int aligned(const char *d, const char *from)
{
	size_t ld = strlen(d), lf = strlen(from);
	if (!ld || !lf)
		return 0;
	if (strcasecmp(d, from) == 0)
		return 1;
	return lf > ld + 1 && from[lf - ld - 1] == '.' && strcasecmp(from + lf - ld, d) == 0 &&
	       strchr(d, '.') != NULL;
}

/* The value of property name ("header.d") in one resinfo, or NULL. */
static char *prop(const char *res, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = res; (p = strcasestr(p, name)); p += n) {
		if ((p == res || isspace((unsigned char)p[-1])) && p[n] == '=') {
			const char *v = p + n + 1;
			if (*v == '"')
				v++;
			size_t len = strcspn(v, " \t\";");
			return xstrndup(v, len);
		}
	}
	return NULL;
}

int trust_auth_results(const char *ar, const char *authserv_id, const char *from_domain, char **why)
{
	*why = NULL;
	if (!ar || !*ar) {
		*why = xstrdup("the mail carries no Authentication-Results header from our server");
		return 0;
	}
	char *s = strip_comments(ar);
	struct strv parts = {0};
	strv_split(&parts, s, ';');
	free(s);
	int pass = 0;
	if (parts.n == 0) {
		*why = xstrdup("its Authentication-Results header is empty");
		goto out;
	}
	/* authserv-id [version] */
	char *id = xstrndup(parts.v[0], strcspn(parts.v[0], " \t"));
	int ours = authserv_id && (strcmp(authserv_id, "@topmost") == 0 || strcasecmp(id, authserv_id) == 0);
	if (!ours) {
		*why = xasprintf("its topmost Authentication-Results header was written by \"%s\", not by our "
				 "server", id);
		free(id);
		goto out;
	}
	free(id);
	const char *seen = "no DMARC or aligned DKIM result";
	for (size_t i = 1; i < parts.n && !pass; i++) {
		const char *r = parts.v[i];
		if (str_startswith_ci(r, "dmarc=pass") && (!r[10] || isspace((unsigned char)r[10]))) {
			char *hf = prop(r, "header.from");
			pass = !hf || aligned(hf, from_domain) || strcasecmp(hf, from_domain) == 0;
			if (!pass)
				seen = "DMARC passed for another domain";
			free(hf);
		} else if (str_startswith_ci(r, "dkim=pass") && (!r[9] || isspace((unsigned char)r[9]))) {
			char *d = prop(r, "header.d");
			if (!d) {
				char *i2 = prop(r, "header.i");
				if (i2 && strchr(i2, '@'))
					d = xstrdup(strchr(i2, '@') + 1);
				free(i2);
			}
			pass = d && aligned(d, from_domain);
			if (!pass)
				seen = "DKIM passed only for a domain not aligned with From";
			free(d);
		} else if (str_startswith_ci(r, "dmarc=")) {
			seen = "DMARC did not pass";
		}
	}
	if (!pass)
		*why = xasprintf("its sender is not authenticated (%s)", seen);
out:
	strv_free(&parts);
	return pass;
}
