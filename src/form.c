/* form.c: see form.h.
 *
 * Patterns are compiled once, on the first call of any function here, into
 * static storage that lives as long as the process (rx_init); they are never
 * recompiled or freed. That first call is not thread-safe: the daemon parses
 * in one thread. Every match runs under one match context that sets the match
 * and depth limits; a match that hits a limit counts as no match. No pattern
 * nests unbounded repeats or uses a lazy prefix, so time stays linear in the
 * length of a line. No JIT. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "form.h"
#include "json.h"
#include "log.h"
#include "util.h"

enum field {
	F_ENTITY,
	F_SERVICES,
	F_REASON,
	F_REASON_CATEGORY,
	F_CONTRACT_TERM,
	F_EARLY_TERMINATION,
	F_EXTENSION_OPTIONS,
	F_TOTAL_COST,
	F_COST_ITEMS,
	F_PROVIDER,
	F_VENDOR_DOCUMENTATION,
	F_SERVICE_LEVELS,
	F_RENEWS,
	F_COUNT
};

/* Section 2 of DESIGN.md, in its order (the order of problems, JSON, summary). */
static const struct {
	const char *name;
	const char *label;
	int required;
} fields[F_COUNT] = {
	[F_ENTITY] = {FORM_F_ENTITY, "Entity", 1},
	[F_SERVICES] = {FORM_F_SERVICES, "Services", 1},
	[F_REASON] = {FORM_F_REASON, "Reason", 1},
	[F_REASON_CATEGORY] = {FORM_F_REASON_CATEGORY, "Reason Category", 1},
	[F_CONTRACT_TERM] = {FORM_F_CONTRACT_TERM, "Contract Term", 1},
	[F_EARLY_TERMINATION] = {FORM_F_EARLY_TERMINATION, "Early Termination", 1},
	[F_EXTENSION_OPTIONS] = {FORM_F_EXTENSION_OPTIONS, "Extension Options", 1},
	[F_TOTAL_COST] = {FORM_F_TOTAL_COST, "Total Cost", 1},
	[F_COST_ITEMS] = {FORM_F_COST_ITEMS, "Cost Items", 1},
	[F_PROVIDER] = {FORM_F_PROVIDER, "Provider", 1},
	[F_VENDOR_DOCUMENTATION] = {FORM_F_VENDOR_DOCUMENTATION, "Vendor Documentation", 0},
	[F_SERVICE_LEVELS] = {FORM_F_SERVICE_LEVELS, "Service Levels", 0},
	[F_RENEWS] = {FORM_F_RENEWS, "Renews", 0},
};

/* Label spellings (lowercase, one space between words) and their field. */
static const struct {
	const char *words;
	enum field field;
} labels[] = {
	{"entity name", F_ENTITY},
	{"entity", F_ENTITY},
	{"agency", F_ENTITY},
	{"department", F_ENTITY},
	{"services", F_SERVICES},
	{"reason category", F_REASON_CATEGORY},
	{"reason", F_REASON},
	{"contract term", F_CONTRACT_TERM},
	{"term", F_CONTRACT_TERM},
	{"early termination", F_EARLY_TERMINATION},
	{"extension options", F_EXTENSION_OPTIONS},
	{"total cost", F_TOTAL_COST},
	{"cost items", F_COST_ITEMS},
	{"service provider", F_PROVIDER},
	{"provider", F_PROVIDER},
	{"vendor documentation", F_VENDOR_DOCUMENTATION},
	{"vendor", F_PROVIDER},
	{"service levels", F_SERVICE_LEVELS},
	{"slas", F_SERVICE_LEVELS},
	{"sla", F_SERVICE_LEVELS},
	{"renews", F_RENEWS},
	{"renewal of", F_RENEWS},
};

#define RX_MATCH_LIMIT 1000000
#define RX_DEPTH_LIMIT 1000
#define RX_OVEC 32 /* > number of labels + 1 */

/* A money amount: optional "USD" and/or "$", digits with well placed
 * thousands separators, at most two decimals, optional trailing "USD".
 * Groups: integer part, decimals. */
#define MONEY_RX "(?:USD[ \\t]*+)?\\$?[ \\t]*+(\\d{1,3}(?:,\\d{3})++|\\d++)" \
	"(?:\\.(\\d{1,2}))?(?:[ \\t]*+USD)?"

static struct {
	int ready;
	pcre2_match_context *mctx;
	pcre2_code *label;    /* a label line; group i = labels[i - 1] */
	pcre2_code *bullet;   /* a list item's bullet */
	pcre2_code *hint;     /* a "<hint>" of the blank form */
	pcre2_code *quantity; /* "<quantity> x " at the start of a service */
	pcre2_code *service_sep; /* " at ", " @ ", " | ", "; " */
	pcre2_code *address;  /* a house number followed by a word */
	pcre2_code *cost_amount; /* the money amount that ends a cost item */
	pcre2_code *money;    /* a whole string that is a money amount */
	pcre2_code *category;
	pcre2_code *term;     /* a contract length */
} rx;

static pcre2_code *rx_compile(const char *pattern, uint32_t options)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | options, &err, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		log_err("form: pattern error at %zu: %s", (size_t)off, (const char *)msg);
		abort();
	}
	/* JIT where the platform has it (else the interpreter runs). */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

static void rx_init(void)
{
	if (rx.ready)
		return;
	rx.mctx = pcre2_match_context_create(NULL);
	if (!rx.mctx)
		abort();
	pcre2_set_match_limit(rx.mctx, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(rx.mctx, RX_DEPTH_LIMIT);
	/* The JIT's own stack, bounded: running out is a non-match, not a crash. */
	pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (js)
		pcre2_jit_stack_assign(rx.mctx, NULL, js);

	struct buf p = {0};
	buf_adds(&p, "^[ \\t]*+(?:[-*\\x{2022}][ \\t]*+)?(?:");
	for (size_t i = 0; i < ARRAY_LEN(labels); i++) {
		buf_adds(&p, i ? "|(" : "(");
		for (const char *c = labels[i].words; *c; c++)
			if (*c == ' ')
				buf_adds(&p, "[ \\t]++");
			else
				buf_addc(&p, *c);
		buf_addc(&p, ')');
	}
	buf_adds(&p, ")[ \\t]*+:");
	rx.label = rx_compile(p.s, PCRE2_CASELESS);
	buf_free(&p);

	rx.bullet = rx_compile("^(?:[-*\\x{2022}][ \\t]*+|\\d{1,3}[.)](?:[ \\t]++|\\z))", 0);
	rx.hint = rx_compile("<[a-z][^<>@:/.\\n]*+>", 0);
	rx.quantity = rx_compile("^(\\d{1,9})[ \\t]*+[x\\x{d7}](?=[ \\t]|\\z)", PCRE2_CASELESS);
	rx.service_sep = rx_compile("(?<![ \\t])(?:[ \\t]++at[ \\t]++|[ \\t]*+[@|;][ \\t]*+)",
				    PCRE2_CASELESS);
	rx.address = rx_compile("(?<![\\p{L}\\p{N}])\\d++[\\p{L}\\p{N}/-]*+[ \\t]++\\p{L}", 0);
	rx.cost_amount = rx_compile("(?<![\\p{L}\\p{N}.,$])(?=USD|\\$|\\d)" MONEY_RX "[ \\t]*+\\z",
				    PCRE2_CASELESS);
	rx.money = rx_compile("^\\s*+" MONEY_RX "\\s*+\\z", PCRE2_CASELESS);
	rx.category = rx_compile("^(features|functionality|availability)[\\p{P}\\s]*+\\z",
				 PCRE2_CASELESS);
	rx.term = rx_compile("(?<![\\p{L}\\p{N}.,])\\d++(?:\\.\\d++)?[ \\t]*+-?[ \\t]*+"
			     "(?:months?|years?|mos?|yrs?)(?!\\p{L})", PCRE2_CASELESS);
	rx.ready = 1;
}

/* Matches re against the string s; returns the number of set group pairs
 * (> 0), or 0 when it does not match, s is not UTF-8 or a limit was hit. */
static int rx_exec(const pcre2_code *re, const char *s, pcre2_match_data *md)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, rx.mctx);
	return rc > 0 ? rc : 0;
}

static int rx_test(const pcre2_code *re, const char *s, pcre2_match_data *md)
{
	return rx_exec(re, s, md) > 0;
}

/* Group n of a match that returned rc, as a trimmed copy; NULL when unset. */
static char *rx_group(pcre2_match_data *md, int rc, const char *s, int n)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	if (n >= rc || ov[2 * n] == PCRE2_UNSET)
		return NULL;
	return str_trim(xstrndup(s + ov[2 * n], ov[2 * n + 1] - ov[2 * n]));
}

static pcre2_match_data *md_new(void)
{
	pcre2_match_data *md = pcre2_match_data_create(RX_OVEC, NULL);
	if (!md)
		abort();
	return md;
}


/* LF line ends, NBSP as a space, invalid UTF-8 as U+FFFD. Allocated. */
static char *normalize(const char *text)
{
	struct buf b = {0};
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t n;
		if (*p == '\r') {
			buf_addc(&b, '\n');
			p += p[1] == '\n' ? 2 : 1;
		} else if (p[0] == 0xc2 && p[1] == 0xa0) {
			buf_addc(&b, ' ');
			p += 2;
		} else if ((n = utf8_valid_len(p, SIZE_MAX)) == 0) {
			buf_adds(&b, "\xef\xbf\xbd");
			p++;
		} else {
			buf_add(&b, (const char *)p, n);
			p += n;
		}
	}
	return buf_steal(&b);
}

/* Array p of n elements of size bytes, with room for one more. Only this
 * module grows the arrays of a form, so their capacity follows from n (4, 8,
 * 16, ...) and appending stays linear. */
static void *grow(void *p, size_t n, size_t size)
{
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0))
		return xrealloc(p, (n ? 2 * n : 4) * size);
	return p;
}

void form_add_problem(struct form *f, const char *field, const char *fmt, ...)
{
	va_list ap;
	f->problems = grow(f->problems, f->n_problems, sizeof(*f->problems));
	struct form_problem *p = &f->problems[f->n_problems++];
	p->field = xstrdup(field);
	va_start(ap, fmt);
	p->message = xvasprintf(fmt, ap);
	va_end(ap);
}

/* The label that starts line, or -1; *rest is set to the text after ':'. */
static int label_of(pcre2_match_data *md, const char *line, const char **rest)
{
	int rc = rx_exec(rx.label, line, md);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	for (int i = 1; i < rc; i++)
		if (ov[2 * i] != PCRE2_UNSET) {
			*rest = line + ov[1];
			return (int)labels[i - 1].field;
		}
	return -1;
}

/* Keeps a trimmed value line, unless it still holds a "<hint>". */
static void add_line(pcre2_match_data *md, struct strv *lines, const char *s)
{
	char *t = str_trim(xstrdup(s));
	if (rx_test(rx.hint, t, md))
		free(t);
	else
		strv_add_own(lines, t);
}

/* The value lines joined with "\n" (runs of blank lines as one); with
 * first_paragraph, only up to the first blank line. NULL when empty. */
static char *value_text(const struct strv *lines, int first_paragraph)
{
	struct buf b = {0};
	int blank = 0;
	for (size_t i = 0; i < lines->n; i++) {
		if (!*lines->v[i]) {
			blank = b.len > 0;
			if (blank && first_paragraph)
				break;
			continue;
		}
		if (b.len)
			buf_adds(&b, blank ? "\n\n" : "\n");
		blank = 0;
		buf_adds(&b, lines->v[i]);
	}
	if (!b.len) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* The text after a list bullet, or NULL when s is not a list item. */
static const char *bullet_rest(pcre2_match_data *md, const char *s)
{
	if (!rx_exec(rx.bullet, s, md))
		return NULL;
	return s + pcre2_get_ovector_pointer(md)[1];
}

/* The items of a list value. With bullets: each bulleted line, continued by
 * the non-blank lines after it; other lines are ignored. Without: each
 * non-blank line. Empty items are dropped. */
static void list_items(pcre2_match_data *md, const struct strv *lines, struct strv *items)
{
	int list = 0;
	for (size_t i = 0; i < lines->n && !list; i++)
		list = bullet_rest(md, lines->v[i]) != NULL;
	struct buf b = {0};
	int open = 0;
	for (size_t i = 0; i < lines->n; i++) {
		const char *s = lines->v[i];
		const char *rest = bullet_rest(md, s);
		if (!list) {
			if (*s)
				strv_add(items, s);
		} else if (rest || !*s) {
			if (b.len)
				strv_add_own(items, buf_steal(&b));
			open = rest != NULL;
			if (rest)
				buf_adds(&b, rest);
		} else if (open) {
			buf_addc(&b, ' ');
			buf_adds(&b, s);
		}
	}
	if (b.len)
		strv_add_own(items, buf_steal(&b));
	buf_free(&b);
}

/* "a", "a and b", "a, b and c". */
static char *join_and(const char **parts, size_t n)
{
	struct buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(&b, i + 1 == n ? " and " : ", ");
		buf_adds(&b, parts[i]);
	}
	return buf_steal(&b);
}

static void parse_service(struct form *f, pcre2_match_data *md, size_t no, const char *s)
{
	long quantity = 0;
	char *type = NULL, *address = NULL;
	int rc = rx_exec(rx.quantity, s, md);
	if (rc) {
		char *q = rx_group(md, rc, s, 1);
		quantity = strtol(q, NULL, 10);
		free(q);
		s += pcre2_get_ovector_pointer(md)[1];
	}
	if (rx_exec(rx.service_sep, s, md)) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		type = str_trim(xstrndup(s, ov[0]));
		address = str_trim(xstrdup(s + ov[1]));
	} else {
		type = str_trim(xstrdup(s));
	}
	const char *lacks[3];
	size_t n = 0;
	if (quantity < 1)
		lacks[n++] = "no quantity";
	if (!*type)
		lacks[n++] = "no service type";
	if (!address || !rx_test(rx.address, address, md))
		lacks[n++] = "no street address";
	if (n) {
		char *m = join_and(lacks, n);
		form_add_problem(f, FORM_F_SERVICES, "Service %zu has %s.", no, m);
		free(m);
		free(type);
		free(address);
		return;
	}
	f->services = grow(f->services, f->n_services, sizeof(*f->services));
	f->services[f->n_services++] = (struct form_service){quantity, type, address};
}

static void parse_services(struct form *f, pcre2_match_data *md, const struct strv *lines)
{
	struct strv items = {0};
	list_items(md, lines, &items);
	if (!items.n)
		form_add_problem(f, FORM_F_SERVICES, "Services is missing: list each service as "
				 "\"- <quantity> x <type> at <street address>\".");
	for (size_t i = 0; i < items.n; i++)
		parse_service(f, md, i + 1, items.v[i]);
	strv_free(&items);
}

/* Strips white space and the separators ':', '=', '-', en and em dash that
 * end the item of a cost line. */
static void strip_separator(char *item)
{
	size_t n = strlen(item);
	for (;;) {
		if (n && strchr(" \t:=-", item[n - 1]))
			n--;
		else if (n >= 3 && (memcmp(item + n - 3, "\xe2\x80\x93", 3) == 0 ||
				    memcmp(item + n - 3, "\xe2\x80\x94", 3) == 0))
			n -= 3;
		else
			break;
		item[n] = '\0';
	}
}

/* Returns 0 when every item parsed. */
static int parse_cost_items(struct form *f, pcre2_match_data *md, const struct strv *lines)
{
	struct strv items = {0};
	int bad = 0;
	list_items(md, lines, &items);
	for (size_t i = 0; i < items.n; i++) {
		const char *s = items.v[i];
		long long cents;
		int rc = rx_exec(rx.cost_amount, s, md);
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		char *amount = rc ? xstrndup(s + ov[0], ov[1] - ov[0]) : NULL;
		char *item = xstrndup(s, rc ? ov[0] : strlen(s));
		strip_separator(item);
		if (!amount || money_parse(amount, &cents) != 0) {
			form_add_problem(f, FORM_F_COST_ITEMS, "Cost item %zu has no amount.", i + 1);
			bad = 1;
			free(item);
		} else if (!*str_trim(item)) {
			form_add_problem(f, FORM_F_COST_ITEMS, "Cost item %zu has no description.", i + 1);
			bad = 1;
			free(item);
		} else {
			f->cost_items = grow(f->cost_items, f->n_cost_items,
					     sizeof(*f->cost_items));
			f->cost_items[f->n_cost_items++] = (struct form_cost){item, cents};
		}
		free(amount);
	}
	if (!items.n) {
		form_add_problem(f, FORM_F_COST_ITEMS, "Cost Items is missing.");
		bad = 1;
	}
	strv_free(&items);
	return bad;
}

static void check_cost_sum(struct form *f)
{
	long long sum = 0;
	for (size_t i = 0; i < f->n_cost_items; i++) {
		if (__builtin_add_overflow(sum, f->cost_items[i].cents, &sum)) {
			char *t = money_format(f->total_cost);
			form_add_problem(f, FORM_F_COST_ITEMS,
					 "Cost Items add up to more than the Total Cost of %s.", t);
			free(t);
			return;
		}
	}
	if (sum == f->total_cost)
		return;
	char *s = money_format(sum), *t = money_format(f->total_cost);
	form_add_problem(f, FORM_F_COST_ITEMS, "Cost Items add up to %s, not the Total Cost of %s.",
			 s, t);
	free(s);
	free(t);
}

/* v shortened to at most 60 bytes (on a character boundary), on one line. */
static char *quote_value(const char *v)
{
	size_t n = strlen(v), max = 60;
	if (n > max) {
		n = max;
		while (n && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	char *q = n < strlen(v) ? xasprintf("%.*s...", (int)n, v) : xstrdup(v);
	for (char *p = q; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return q;
}

static void missing(struct form *f, enum field fl)
{
	form_add_problem(f, fields[fl].name, "%s is missing.", fields[fl].label);
}

void form_parse(const char *text, struct form *out)
{
	rx_init();
	pcre2_match_data *md = md_new();
	struct strv lines[F_COUNT];
	int seen[F_COUNT] = {0};
	memset(lines, 0, sizeof lines);
	char *norm = normalize(text ? text : "");
	int cur = -1;
	for (char *line = norm; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strcmp(line, "--") == 0 || strcmp(line, "-- ") == 0)
			break; /* signature */
		if (line[strspn(line, " \t")] == '>') {
			/* Quoted history kept between new text: never part of the form. */
			line = nl ? nl + 1 : NULL;
			continue;
		}
		const char *rest;
		int fl = label_of(md, line, &rest);
		if (fl >= 0) {
			cur = seen[fl] ? -1 : fl;
			if (!seen[fl]) {
				seen[fl] = 1;
				out->labels++;
				add_line(md, &lines[fl], rest);
			}
		} else if (cur >= 0) {
			add_line(md, &lines[cur], line);
		}
		line = nl ? nl + 1 : NULL;
	}

	char *v;
	out->entity = value_text(&lines[F_ENTITY], 1);
	if (!out->entity)
		missing(out, F_ENTITY);
	parse_services(out, md, &lines[F_SERVICES]);
	out->reason = value_text(&lines[F_REASON], 0);
	if (!out->reason)
		missing(out, F_REASON);

	v = value_text(&lines[F_REASON_CATEGORY], 1);
	int rc = v ? rx_exec(rx.category, v, md) : 0;
	if (!v)
		missing(out, F_REASON_CATEGORY);
	else if (!rc)
		form_add_problem(out, FORM_F_REASON_CATEGORY,
				 "Reason Category must be features, functionality or availability.");
	else
		out->reason_category = str_lower(rx_group(md, rc, v, 1));
	free(v);

	v = value_text(&lines[F_CONTRACT_TERM], 0);
	if (!v)
		missing(out, F_CONTRACT_TERM);
	else if (!rx_test(rx.term, v, md))
		form_add_problem(out, FORM_F_CONTRACT_TERM,
				 "Contract Term must give a length, e.g. 36 months.");
	else
		out->contract_term = xstrdup(v);
	free(v);

	out->early_termination = value_text(&lines[F_EARLY_TERMINATION], 0);
	if (!out->early_termination)
		missing(out, F_EARLY_TERMINATION);
	out->extension_options = value_text(&lines[F_EXTENSION_OPTIONS], 0);
	if (!out->extension_options)
		missing(out, F_EXTENSION_OPTIONS);

	v = value_text(&lines[F_TOTAL_COST], 1);
	if (!v) {
		missing(out, F_TOTAL_COST);
	} else if (money_parse(v, &out->total_cost) != 0) {
		char *q = quote_value(v);
		form_add_problem(out, FORM_F_TOTAL_COST, "Total Cost is not a money amount: \"%s\".", q);
		free(q);
	} else {
		out->has_total_cost = 1;
	}
	free(v);

	if (parse_cost_items(out, md, &lines[F_COST_ITEMS]) == 0 && out->has_total_cost)
		check_cost_sum(out);

	out->provider = value_text(&lines[F_PROVIDER], 1);
	if (!out->provider)
		missing(out, F_PROVIDER);
	out->vendor_documentation = value_text(&lines[F_VENDOR_DOCUMENTATION], 0);
	out->service_levels = value_text(&lines[F_SERVICE_LEVELS], 0);
	/* The case id is checked by the engine, which can look the exemption up. */
	out->renews = value_text(&lines[F_RENEWS], 1);

	for (int i = 0; i < F_COUNT; i++)
		strv_free(&lines[i]);
	free(norm);
	pcre2_match_data_free(md);
}

int form_is_request(const struct form *f)
{
	return f->labels >= 3;
}

static void json_text(struct json *j, const char *key, const char *value)
{
	if (!value)
		return;
	json_key(j, key);
	json_string(j, value);
}

char *form_fields_json(const struct form *f)
{
	struct buf b = {0};
	struct json j;
	json_init(&j, &b);
	json_obj_begin(&j);
	json_text(&j, FORM_F_ENTITY, f->entity);
	if (f->n_services) {
		json_key(&j, FORM_F_SERVICES);
		json_arr_begin(&j);
		for (size_t i = 0; i < f->n_services; i++) {
			json_obj_begin(&j);
			json_key(&j, "quantity");
			json_int(&j, f->services[i].quantity);
			json_text(&j, "type", f->services[i].type);
			json_text(&j, "address", f->services[i].address);
			json_obj_end(&j);
		}
		json_arr_end(&j);
	}
	json_text(&j, FORM_F_REASON, f->reason);
	json_text(&j, FORM_F_REASON_CATEGORY, f->reason_category);
	json_text(&j, FORM_F_CONTRACT_TERM, f->contract_term);
	json_text(&j, FORM_F_EARLY_TERMINATION, f->early_termination);
	json_text(&j, FORM_F_EXTENSION_OPTIONS, f->extension_options);
	if (f->has_total_cost) {
		json_key(&j, FORM_F_TOTAL_COST);
		json_int(&j, f->total_cost);
	}
	if (f->n_cost_items) {
		json_key(&j, FORM_F_COST_ITEMS);
		json_arr_begin(&j);
		for (size_t i = 0; i < f->n_cost_items; i++) {
			json_obj_begin(&j);
			json_text(&j, "item", f->cost_items[i].item);
			json_key(&j, "amount");
			json_int(&j, f->cost_items[i].cents);
			json_obj_end(&j);
		}
		json_arr_end(&j);
	}
	json_text(&j, FORM_F_PROVIDER, f->provider);
	json_text(&j, FORM_F_VENDOR_DOCUMENTATION, f->vendor_documentation);
	json_text(&j, FORM_F_SERVICE_LEVELS, f->service_levels);
	json_text(&j, FORM_F_RENEWS, f->renews);
	json_obj_end(&j);
	return buf_steal(&b);
}

char *form_problems_json(const struct form *f)
{
	struct buf b = {0};
	struct json j;
	json_init(&j, &b);
	json_arr_begin(&j);
	for (size_t i = 0; i < f->n_problems; i++) {
		json_obj_begin(&j);
		json_key(&j, "field");
		json_string(&j, f->problems[i].field);
		json_key(&j, "message");
		json_string(&j, f->problems[i].message);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	return buf_steal(&b);
}

char *form_problems_text(const struct form *f)
{
	struct buf b = {0};
	for (size_t i = 0; i < f->n_problems; i++)
		buf_addf(&b, "- %s\n", f->problems[i].message);
	return buf_steal(&b);
}

/* "Label: value", or "Label:" and the value's lines indented. */
static void summary_field(struct buf *b, enum field fl, const char *v)
{
	if (!v)
		return;
	if (!strchr(v, '\n')) {
		buf_addf(b, "%s: %s\n", fields[fl].label, v);
		return;
	}
	buf_addf(b, "%s:\n", fields[fl].label);
	for (const char *p = v; p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			buf_adds(b, "  ");
		buf_add(b, p, n);
		buf_addc(b, '\n');
		p = nl ? nl + 1 : NULL;
	}
}

char *form_summary_text(const struct form *f)
{
	struct buf b = {0};
	summary_field(&b, F_ENTITY, f->entity);
	if (f->n_services) {
		buf_adds(&b, "Services:\n");
		for (size_t i = 0; i < f->n_services; i++)
			buf_addf(&b, "- %ld x %s at %s\n", f->services[i].quantity,
				 f->services[i].type, f->services[i].address);
	}
	summary_field(&b, F_REASON, f->reason);
	summary_field(&b, F_REASON_CATEGORY, f->reason_category);
	summary_field(&b, F_CONTRACT_TERM, f->contract_term);
	summary_field(&b, F_EARLY_TERMINATION, f->early_termination);
	summary_field(&b, F_EXTENSION_OPTIONS, f->extension_options);
	if (f->has_total_cost) {
		char *t = money_format(f->total_cost);
		summary_field(&b, F_TOTAL_COST, t);
		free(t);
	}
	if (f->n_cost_items) {
		buf_adds(&b, "Cost Items:\n");
		for (size_t i = 0; i < f->n_cost_items; i++) {
			char *a = money_format(f->cost_items[i].cents);
			buf_addf(&b, "- %s: %s\n", f->cost_items[i].item, a);
			free(a);
		}
	}
	summary_field(&b, F_PROVIDER, f->provider);
	summary_field(&b, F_VENDOR_DOCUMENTATION, f->vendor_documentation);
	summary_field(&b, F_SERVICE_LEVELS, f->service_levels);
	summary_field(&b, F_RENEWS, f->renews);
	return buf_steal(&b);
}

void form_free(struct form *f)
{
	free(f->entity);
	for (size_t i = 0; i < f->n_services; i++) {
		free(f->services[i].type);
		free(f->services[i].address);
	}
	free(f->services);
	free(f->reason);
	free(f->reason_category);
	free(f->contract_term);
	free(f->early_termination);
	free(f->extension_options);
	for (size_t i = 0; i < f->n_cost_items; i++)
		free(f->cost_items[i].item);
	free(f->cost_items);
	free(f->provider);
	free(f->vendor_documentation);
	free(f->service_levels);
	free(f->renews);
	for (size_t i = 0; i < f->n_problems; i++) {
		free(f->problems[i].field);
		free(f->problems[i].message);
	}
	free(f->problems);
	memset(f, 0, sizeof(*f));
}

int money_parse(const char *s, long long *cents)
{
	int ret = -1;
	if (!s)
		return -1;
	rx_init();
	pcre2_match_data *md = md_new();
	int rc = rx_exec(rx.money, s, md);
	char *whole = rc ? rx_group(md, rc, s, 1) : NULL;
	char *dec = rc ? rx_group(md, rc, s, 2) : NULL;
	if (!whole)
		goto out;
	long long v = 0;
	int digits = 0;
	for (const char *p = whole; *p; p++) {
		if (*p == ',')
			continue;
		if (++digits > 15)
			goto out;
		v = v * 10 + (*p - '0');
	}
	v *= 100;
	if (dec)
		v += dec[1] ? (dec[0] - '0') * 10 + (dec[1] - '0') : (dec[0] - '0') * 10;
	*cents = v;
	ret = 0;
out:
	free(whole);
	free(dec);
	pcre2_match_data_free(md);
	return ret;
}

char *money_format(long long cents)
{
	unsigned long long u = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%llu", u / 100);
	struct buf b = {0};
	if (cents < 0)
		buf_addc(&b, '-');
	buf_addc(&b, '$');
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf_addc(&b, ',');
		buf_addc(&b, digits[i]);
	}
	buf_addf(&b, ".%02llu", u % 100);
	return buf_steal(&b);
}
