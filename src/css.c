/* css.c: see css.h. Declarations are read with a small scanner of
 * "name: value" pairs; colours are #hex, rgb()/rgba() and the names mail
 * programs write. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "css.h"
#include "util.h"

#define SHEET_MAX 65536 /* bytes of one <style> element that are read */
#define WALK_MAX 4096   /* depth of the search for <style> elements */

struct css_rule {
	char tag[16];   /* "" for any */
	char *cls;      /* NULL, or the class */
	char *id;       /* NULL, or the id */
	char *decl;     /* the declarations */
};

struct css_sheet {
	struct css_rule *v;
	size_t n;
};

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

static int ident_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
	       || c == '_';
}

/* ---- colours ---- */

static const struct {
	const char *name;
	unsigned rgb;
} colour_names[] = {
	{ "black", 0x000000 }, { "white", 0xffffff }, { "red", 0xff0000 }, { "green", 0x008000 },
	{ "blue", 0x0000ff }, { "yellow", 0xffff00 }, { "gray", 0x808080 }, { "grey", 0x808080 },
	{ "silver", 0xc0c0c0 }, { "maroon", 0x800000 }, { "navy", 0x000080 }, { "purple", 0x800080 },
	{ "teal", 0x008080 }, { "olive", 0x808000 }, { "lime", 0x00ff00 }, { "aqua", 0x00ffff },
	{ "cyan", 0x00ffff }, { "fuchsia", 0xff00ff }, { "magenta", 0xff00ff }, { "orange", 0xffa500 },
	{ "whitesmoke", 0xf5f5f5 }, { "snow", 0xfffafa }, { "ivory", 0xfffff0 },
	{ "ghostwhite", 0xf8f8ff }, { "floralwhite", 0xfffaf0 }, { "linen", 0xfaf0e6 },
	{ "azure", 0xf0ffff }, { "mintcream", 0xf5fffa }, { "honeydew", 0xf0fff0 },
	{ "aliceblue", 0xf0f8ff }, { "seashell", 0xfff5ee }, { "lightyellow", 0xffffe0 },
	{ "lightgray", 0xd3d3d3 }, { "lightgrey", 0xd3d3d3 }, { "gainsboro", 0xdcdcdc },
	{ "darkgray", 0xa9a9a9 }, { "darkgrey", 0xa9a9a9 }, { "dimgray", 0x696969 },
	{ "windowtext", 0x000000 }, { "window", 0xffffff }, { "buttonface", 0xf0f0f0 },
};

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) all hex digits. */
static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexv((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

/* One rgb() component: "255", "100%", "12.5"; clamped to 0..255. */
static unsigned rgb_part(const char **p)
{
	char *end;
	double v = strtod(*p, &end);

	if (end == *p)
		v = 0;
	if (*end == '%') {
		v = v * 255.0 / 100.0;
		end++;
	}
	*p = end;
	return v < 0 ? 0 : v > 255 ? 255 : (unsigned)(v + 0.5);
}

/* The colour token s[0..n): 1 with *rgb set, 2 for a transparent colour,
 * 0 when it is not a colour this module knows. */
static int colour(const char *s, size_t n, unsigned *rgb)
{
	char name[24];

	if (n > 0 && s[0] == '#') {
		s++;
		n--;
	}
	if ((n == 3 || n == 4) && all_hex(s, n)) {
		*rgb = 0;
		for (size_t i = 0; i < 3; i++)
			*rgb = (*rgb << 8) | (unsigned)(hexv((unsigned char)s[i]) * 17);
		return n == 4 && hexv((unsigned char)s[3]) == 0 ? 2 : 1;
	}
	if ((n == 6 || n == 8) && all_hex(s, n)) {
		*rgb = 0;
		for (size_t i = 0; i < 6; i++)
			*rgb = (*rgb << 4) | (unsigned)hexv((unsigned char)s[i]);
		return n == 8 && hexv((unsigned char)s[6]) == 0 && hexv((unsigned char)s[7]) < 2 ? 2 : 1;
	}
	if (n >= 4 && strncasecmp(s, "rgb", 3) == 0) {
		const char *p = memchr(s, '(', n), *e = s + n;
		if (p == NULL)
			return 0;
		p++;
		unsigned c[3];
		for (int i = 0; i < 3; i++) {
			while (p < e && (ws((unsigned char)*p) || *p == ','))
				p++;
			c[i] = rgb_part(&p);
		}
		*rgb = (c[0] << 16) | (c[1] << 8) | c[2];
		while (p < e && (ws((unsigned char)*p) || *p == ',' || *p == '/'))
			p++;
		if (p < e && *p != ')') {
			char *end;
			double a = strtod(p, &end);
			if (end != p && (*end == '%' ? a <= 5.0 : a <= 0.05))
				return 2;
		}
		return 1;
	}
	if (n == 0 || n >= sizeof name)
		return 0;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)lc((unsigned char)s[i]);
	name[n] = '\0';
	if (strcmp(name, "transparent") == 0)
		return 2;
	for (size_t i = 0; i < ARRAY_LEN(colour_names); i++)
		if (strcmp(name, colour_names[i].name) == 0) {
			*rgb = colour_names[i].rgb;
			return 1;
		}
	return 0;
}

/* Relative luminance with gamma 2, scaled to 0..1. */
static double luminance(unsigned rgb)
{
	double r = (double)((rgb >> 16) & 0xff) / 255.0, g = (double)((rgb >> 8) & 0xff) / 255.0,
	       b = (double)(rgb & 0xff) / 255.0;
	return 0.2126 * r * r + 0.7152 * g * g + 0.0722 * b * b;
}

static int low_contrast(unsigned fg, unsigned bg)
{
	double a = luminance(fg), b = luminance(bg);
	double hi = a > b ? a : b, lo = a > b ? b : a;
	return (hi + 0.05) < 1.25 * (lo + 0.05);
}

/* ---- declarations ---- */

/* What one element's declarations say. */
struct look {
	int gone;          /* not rendered */
	int zero_box;      /* height or width 0 */
	int overflow_hidden;
};

/* "0", "0px", "1.5pt", "50%": 1 when the size is too small to read, 0 when
 * it is readable, -1 when s is not a size. */
static int tiny_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return -1;
	if (v <= 0)
		return 1;
	if (strncasecmp(end, "px", 2) == 0 || strncasecmp(end, "pt", 2) == 0)
		return v < 2;
	if (strncasecmp(end, "em", 2) == 0 || strncasecmp(end, "rem", 3) == 0)
		return v < 0.2;
	if (*end == '%')
		return v < 20;
	return 0;
}

/* 1 when the value s is a zero length ("0", "0px", "0%"). */
static int zero_length(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	return end != s && v == 0;
}

/* Sets *rgb from the first colour among the words of v (background
 * shorthand); 1 set, 2 transparent, 0 none. */
static int first_colour(const char *v, unsigned *rgb)
{
	const char *p = v;

	while (*p) {
		while (ws((unsigned char)*p))
			p++;
		const char *w = p;
		int depth = 0;
		while (*p && (depth > 0 || !ws((unsigned char)*p))) {
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
			p++;
		}
		int r = colour(w, (size_t)(p - w), rgb);
		if (r)
			return r;
	}
	return 0;
}

/* One declaration (name and value lower-cased, trimmed, without !important). */
static void declaration(const char *name, const char *v, struct css_ink *k, struct look *l)
{
	unsigned rgb;
	int r;

	if (strcmp(name, "display") == 0) {
		if (strcmp(v, "none") == 0)
			l->gone = 1;
	} else if (strcmp(name, "visibility") == 0) {
		k->unseen = strcmp(v, "hidden") == 0 || strcmp(v, "collapse") == 0;
	} else if (strcmp(name, "opacity") == 0) {
		char *end;
		double o = strtod(v, &end);
		if (end != v && (*end == '%' ? o <= 5.0 : o <= 0.05))
			l->gone = 1;
	} else if (strcmp(name, "mso-hide") == 0) {
		if (strcmp(v, "all") == 0)
			l->gone = 1;
	} else if (strcmp(name, "font-size") == 0) {
		k->tiny = tiny_size(v) == 1;
	} else if (strcmp(name, "font") == 0) {
		/* the size is the first word that starts with a digit or '.' */
		for (const char *p = v; *p; p++)
			if ((p == v || ws((unsigned char)p[-1])) && ((*p >= '0' && *p <= '9') || *p == '.')) {
				k->tiny = tiny_size(p) == 1;
				break;
			}
	} else if (strcmp(name, "color") == 0) {
		r = colour(v, strlen(v), &rgb);
		if (r == 1) {
			k->fg = rgb;
			k->clear = 0;
		} else if (r == 2) {
			k->clear = 1;
		}
	} else if (strcmp(name, "background-color") == 0 || strcmp(name, "background") == 0) {
		if (strstr(v, "url(") != NULL || strstr(v, "gradient(") != NULL)
			k->bg_known = 0;
		else if (first_colour(v, &rgb) == 1) {
			k->bg = rgb;
			k->bg_known = 1;
		}
	} else if (strcmp(name, "background-image") == 0) {
		if (strcmp(v, "none") != 0)
			k->bg_known = 0;
	} else if (strcmp(name, "height") == 0 || strcmp(name, "max-height") == 0
		   || strcmp(name, "width") == 0 || strcmp(name, "max-width") == 0) {
		if (zero_length(v))
			l->zero_box = 1;
	} else if (strcmp(name, "overflow") == 0 || strcmp(name, "overflow-x") == 0
		   || strcmp(name, "overflow-y") == 0) {
		if (strcmp(v, "hidden") == 0 || strcmp(v, "clip") == 0)
			l->overflow_hidden = 1;
	}
}

/* Lower-cased copy of s[0..n) without surrounding white space. */
static char *trimmed_lower(const char *s, size_t n)
{
	while (n > 0 && ws((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && ws((unsigned char)s[n - 1]))
		n--;
	char *r = xstrndup(s, n);
	for (char *p = r; *p; p++)
		*p = (char)lc((unsigned char)*p);
	return r;
}

/* Every "name: value" of the declaration list d. */
static void declarations(const char *d, struct css_ink *k, struct look *l)
{
	while (d && *d) {
		size_t len = strcspn(d, ";");
		const char *colon = memchr(d, ':', len);
		if (colon) {
			char *name = trimmed_lower(d, (size_t)(colon - d));
			char *v = trimmed_lower(colon + 1, len - (size_t)(colon - d) - 1);
			char *imp = strstr(v, "!important");
			if (imp) {
				*imp = '\0';
				char *t = trimmed_lower(v, strlen(v));
				free(v);
				v = t;
			}
			declaration(name, v, k, l);
			free(name);
			free(v);
		}
		d += len + (d[len] == ';');
	}
}

/* ---- style sheets ---- */

/* The selector s[0..n) as a rule (tag, class or id), or 0 when it is not a
 * simple one. */
static int simple_selector(const char *s, size_t n, struct css_rule *r)
{
	size_t i = 0, t;

	while (n > 0 && ws((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && ws((unsigned char)s[n - 1]))
		n--;
	memset(r, 0, sizeof *r);
	while (i < n && ident_char((unsigned char)s[i]))
		i++;
	t = i;
	if (t >= sizeof r->tag)
		return 0;
	memcpy(r->tag, s, t);
	r->tag[t] = '\0';
	if (i == n)
		return t > 0;
	if (s[i] != '.' && s[i] != '#')
		return 0;
	size_t start = ++i;
	while (i < n && ident_char((unsigned char)s[i]))
		i++;
	if (i != n || i == start)
		return 0;
	char *name = xstrndup(s + start, n - start);
	if (s[start - 1] == '.')
		r->cls = name;
	else
		r->id = name;
	return 1;
}

static void sheet_add(struct css_sheet *sh, const char *sel, size_t sel_n, const char *decl,
		      size_t decl_n)
{
	const char *p = sel, *e = sel + sel_n;

	while (p < e && sh->n < CSS_MAX_RULES) {
		const char *comma = memchr(p, ',', (size_t)(e - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(e - p);
		struct css_rule r;
		if (simple_selector(p, len, &r)) {
			r.decl = xstrndup(decl, decl_n);
			sh->v = xrealloc(sh->v, (sh->n + 1) * sizeof *sh->v);
			sh->v[sh->n++] = r;
		}
		p += len + (comma != NULL);
	}
}

/* Index past the block that starts at s[i] == '{' (nested braces). */
static size_t skip_block(const char *s, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		if (s[i] == '{')
			depth++;
		else if (s[i] == '}' && --depth == 0)
			return i + 1;
	}
	return n;
}

static void sheet_parse(struct css_sheet *sh, const char *text)
{
	size_t n = strnlen(text, SHEET_MAX), i = 0;
	char *s = xstrndup(text, n);

	/* comments and the HTML comment markers around old style sheets */
	for (size_t k = 0; k + 1 < n; k++) {
		if (s[k] == '/' && s[k + 1] == '*') {
			char *end = strstr(s + k + 2, "*/");
			size_t stop = end ? (size_t)(end - s) + 2 : n;
			memset(s + k, ' ', stop - k);
			k = stop - 1;
		} else if (k + 3 < n && memcmp(s + k, "<!--", 4) == 0) {
			memset(s + k, ' ', 4);
		} else if (k + 2 < n && memcmp(s + k, "-->", 3) == 0) {
			memset(s + k, ' ', 3);
		}
	}
	while (i < n && sh->n < CSS_MAX_RULES) {
		while (i < n && (ws((unsigned char)s[i]) || s[i] == '}' || s[i] == ';'))
			i++;
		if (i >= n)
			break;
		size_t brace = i;
		while (brace < n && s[brace] != '{' && !(s[i] == '@' && s[brace] == ';'))
			brace++;
		if (brace >= n)
			break;
		if (s[i] == '@') {
			/* @media, @font-face, @page ...: skipped whole; @import ...; */
			i = s[brace] == ';' ? brace + 1 : skip_block(s, n, brace);
			continue;
		}
		size_t close = brace + 1;
		while (close < n && s[close] != '}' && s[close] != '{')
			close++;
		if (close < n && s[close] == '{') {
			i = skip_block(s, n, brace); /* not a declaration block */
			continue;
		}
		sheet_add(sh, s + i, brace - i, s + brace + 1, close - brace - 1);
		i = close + 1;
	}
	free(s);
}

static void sheet_walk(struct css_sheet *sh, xmlNode *n, int level)
{
	for (; n != NULL && level < WALK_MAX && sh->n < CSS_MAX_RULES; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || n->name == NULL)
			continue;
		if (strcasecmp((const char *)n->name, "style") == 0) {
			xmlChar *t = xmlNodeGetContent(n);
			if (t != NULL)
				sheet_parse(sh, (const char *)t);
			xmlFree(t);
			continue;
		}
		sheet_walk(sh, n->children, level + 1);
	}
}

struct css_sheet *css_sheet_read(xmlNode *root)
{
	struct css_sheet *sh = xcalloc(1, sizeof *sh);

	sheet_walk(sh, root, 0);
	if (sh->n == 0) {
		free(sh);
		return NULL;
	}
	return sh;
}

void css_sheet_free(struct css_sheet *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].cls);
		free(s->v[i].id);
		free(s->v[i].decl);
	}
	free(s->v);
	free(s);
}

/* ---- elements ---- */

/* Whether the space-separated list `list` holds word. */
static int has_word(const char *list, const char *word)
{
	size_t k = strlen(word);
	for (const char *p = list; *p;) {
		while (ws((unsigned char)*p))
			p++;
		size_t len = 0;
		while (p[len] && !ws((unsigned char)p[len]))
			len++;
		if (len == k && strncmp(p, word, k) == 0)
			return 1;
		p += len;
	}
	return 0;
}

static xmlChar *prop(xmlNode *n, const char *name)
{
	return xmlGetProp(n, (const xmlChar *)name);
}

void css_ink_init(struct css_ink *k)
{
	memset(k, 0, sizeof *k);
	k->fg = 0x000000;
	k->bg = 0xffffff;
	k->bg_known = 1;
}

int css_apply(const struct css_sheet *s, xmlNode *n, struct css_ink *k)
{
	const char *name = (const char *)n->name;
	struct look l = { 0 };
	xmlChar *v;
	unsigned rgb;

	if (xmlHasProp(n, (const xmlChar *)"hidden") != NULL)
		return 1;
	if ((v = prop(n, "bgcolor")) != NULL) {
		if (colour((const char *)v, strlen((const char *)v), &rgb) == 1) {
			k->bg = rgb;
			k->bg_known = 1;
		}
		xmlFree(v);
	}
	if ((v = prop(n, "background")) != NULL) {
		k->bg_known = 0; /* an image */
		xmlFree(v);
	}
	if ((v = prop(n, strcasecmp(name, "body") == 0 ? "text" : "color")) != NULL) {
		int r = colour((const char *)v, strlen((const char *)v), &rgb);
		if (r == 1) {
			k->fg = rgb;
			k->clear = 0;
		}
		xmlFree(v);
	}
	if (s != NULL) {
		xmlChar *cls = prop(n, "class"), *id = prop(n, "id");
		for (size_t i = 0; i < s->n; i++) {
			const struct css_rule *r = &s->v[i];
			if (r->tag[0] && strcasecmp(r->tag, name) != 0)
				continue;
			if (r->cls && (cls == NULL || !has_word((const char *)cls, r->cls)))
				continue;
			if (r->id && (id == NULL || strcmp((const char *)id, r->id) != 0))
				continue;
			declarations(r->decl, k, &l);
		}
		xmlFree(cls);
		xmlFree(id);
	}
	if ((v = prop(n, "style")) != NULL) {
		declarations((const char *)v, k, &l);
		xmlFree(v);
	}
	return l.gone || (l.zero_box && l.overflow_hidden);
}

int css_ink_visible(const struct css_ink *k)
{
	if (k->tiny || k->unseen || k->clear)
		return 0;
	return !k->bg_known || !low_contrast(k->fg, k->bg);
}
