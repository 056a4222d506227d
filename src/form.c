/* form.c: see form.h.
 *
 * Patterns are compiled once, on the first call of any function here, into
 * static storage that lives as long as the process (rx_init); they are never
 * recompiled or freed. That first call is not thread-safe: the daemon parses
 * in one thread. Every match runs under one match context that sets the match
 * and depth limits; a match that hits a limit counts as no match. No pattern
 * nests unbounded repeats; lazy repeats are bounded, so time stays linear in
 * the length of a line. Lines longer than MAX_LINE bytes are value text to
 * every pattern. JIT where the platform has it. */
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
#include "visible.h"

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

/* Parts of a service that may stand as labels of their own, then the labels
 * that are read as nothing (mail headers, contact lines). */
enum { P_ADDRESS = F_COUNT, P_QUANTITY, P_TYPE, P_COUNT };
#define T_IGNORE P_COUNT
#define T_NONE (-1)

_Static_assert(F_COUNT == FORM_NFIELDS, "form.h FORM_NFIELDS");

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

/* The labels people write, and what each one means. Compared after
 * label_norm (case, punctuation, parenthesised words, plural 's'). */
static const struct {
	const char *words;
	int target;
} synonyms[] = {
	{"entity", F_ENTITY}, {"entity name", F_ENTITY}, {"entity code", F_ENTITY},
	{"agency", F_ENTITY}, {"agency name", F_ENTITY}, {"agency code", F_ENTITY},
	{"department", F_ENTITY}, {"department name", F_ENTITY}, {"state entity", F_ENTITY},
	{"state agency", F_ENTITY}, {"state department", F_ENTITY},
	{"requesting entity", F_ENTITY}, {"requesting agency", F_ENTITY},
	{"requesting department", F_ENTITY}, {"requesting organization", F_ENTITY},
	{"organization", F_ENTITY}, {"organisation", F_ENTITY}, {"organization name", F_ENTITY},
	{"entity agency", F_ENTITY}, {"agency entity", F_ENTITY}, {"agency department", F_ENTITY},
	{"department agency", F_ENTITY}, {"entity or agency", F_ENTITY},
	{"agency or department", F_ENTITY}, {"name of entity", F_ENTITY},
	{"name of agency", F_ENTITY}, {"entity department", F_ENTITY},

	{"services", F_SERVICES}, {"service", F_SERVICES}, {"services requested", F_SERVICES},
	{"requested services", F_SERVICES}, {"service requested", F_SERVICES},
	{"services needed", F_SERVICES}, {"services required", F_SERVICES},
	{"service details", F_SERVICES}, {"service description", F_SERVICES},
	{"services and locations", F_SERVICES}, {"services and sites", F_SERVICES},
	{"circuits", F_SERVICES}, {"circuits requested", F_SERVICES},
	{"network services", F_SERVICES}, {"wan services", F_SERVICES},
	{"quantity type and address", F_SERVICES}, {"service items", F_SERVICES},

	{"reason", F_REASON}, {"reason for exemption", F_REASON},
	{"reason for the exemption", F_REASON}, {"reason for request", F_REASON},
	{"reason for the request", F_REASON}, {"reason for exemption request", F_REASON},
	{"exemption reason", F_REASON}, {"justification", F_REASON},
	{"business justification", F_REASON}, {"technical justification", F_REASON},
	{"justification for exemption", F_REASON}, {"exemption justification", F_REASON},
	{"business reason", F_REASON}, {"technical reason", F_REASON},
	{"business or technical reason", F_REASON}, {"technical or business reason", F_REASON},
	{"business need", F_REASON}, {"purpose", F_REASON}, {"rationale", F_REASON},
	{"explanation", F_REASON}, {"need", F_REASON},

	{"reason category", F_REASON_CATEGORY}, {"category", F_REASON_CATEGORY},
	{"exemption category", F_REASON_CATEGORY}, {"reason type", F_REASON_CATEGORY},
	{"type of reason", F_REASON_CATEGORY}, {"category of reason", F_REASON_CATEGORY},
	{"reason code", F_REASON_CATEGORY}, {"exemption type", F_REASON_CATEGORY},
	{"exemption basis", F_REASON_CATEGORY}, {"basis", F_REASON_CATEGORY},
	{"basis for exemption", F_REASON_CATEGORY},

	{"contract term", F_CONTRACT_TERM}, {"term", F_CONTRACT_TERM},
	{"contract length", F_CONTRACT_TERM}, {"length of contract", F_CONTRACT_TERM},
	{"contract duration", F_CONTRACT_TERM}, {"duration", F_CONTRACT_TERM},
	{"contract period", F_CONTRACT_TERM}, {"term length", F_CONTRACT_TERM},
	{"length", F_CONTRACT_TERM}, {"length of term", F_CONTRACT_TERM},
	{"initial term", F_CONTRACT_TERM}, {"period of performance", F_CONTRACT_TERM},
	{"term of contract", F_CONTRACT_TERM}, {"term of the contract", F_CONTRACT_TERM},
	{"service term", F_CONTRACT_TERM}, {"term of service", F_CONTRACT_TERM},
	{"agreement term", F_CONTRACT_TERM}, {"contract term length", F_CONTRACT_TERM},

	{"early termination", F_EARLY_TERMINATION}, {"early termination terms", F_EARLY_TERMINATION},
	{"early termination fee", F_EARLY_TERMINATION},
	{"early termination clause", F_EARLY_TERMINATION},
	{"early termination penalty", F_EARLY_TERMINATION},
	{"early termination provisions", F_EARLY_TERMINATION},
	{"termination", F_EARLY_TERMINATION}, {"termination terms", F_EARLY_TERMINATION},
	{"termination clause", F_EARLY_TERMINATION}, {"termination fee", F_EARLY_TERMINATION},
	{"etf", F_EARLY_TERMINATION}, {"early cancellation", F_EARLY_TERMINATION},
	{"cancellation", F_EARLY_TERMINATION}, {"cancellation terms", F_EARLY_TERMINATION},
	{"termination for convenience", F_EARLY_TERMINATION},

	{"extension options", F_EXTENSION_OPTIONS}, {"extensions", F_EXTENSION_OPTIONS},
	{"extension", F_EXTENSION_OPTIONS}, {"extension terms", F_EXTENSION_OPTIONS},
	{"renewal options", F_EXTENSION_OPTIONS}, {"renewals", F_EXTENSION_OPTIONS},
	{"renewal", F_EXTENSION_OPTIONS}, {"renewal terms", F_EXTENSION_OPTIONS},
	{"option years", F_EXTENSION_OPTIONS}, {"optional extensions", F_EXTENSION_OPTIONS},
	{"contract extensions", F_EXTENSION_OPTIONS},
	{"extension and renewal options", F_EXTENSION_OPTIONS},
	{"renewal and extension options", F_EXTENSION_OPTIONS},

	{"total cost", F_TOTAL_COST}, {"total", F_TOTAL_COST}, {"cost", F_TOTAL_COST},
	{"total contract cost", F_TOTAL_COST}, {"total contract value", F_TOTAL_COST},
	{"contract value", F_TOTAL_COST}, {"contract cost", F_TOTAL_COST},
	{"total price", F_TOTAL_COST}, {"total amount", F_TOTAL_COST},
	{"amount", F_TOTAL_COST}, {"estimated cost", F_TOTAL_COST},
	{"estimated total cost", F_TOTAL_COST}, {"total estimated cost", F_TOTAL_COST},
	{"total cost of contract", F_TOTAL_COST}, {"total cost of the contract", F_TOTAL_COST},
	{"grand total", F_TOTAL_COST}, {"contract total", F_TOTAL_COST},
	{"price", F_TOTAL_COST}, {"total value", F_TOTAL_COST},
	{"total contract amount", F_TOTAL_COST}, {"not to exceed", F_TOTAL_COST},

	{"cost items", F_COST_ITEMS}, {"costs", F_COST_ITEMS}, {"cost breakdown", F_COST_ITEMS},
	{"itemized costs", F_COST_ITEMS}, {"itemised costs", F_COST_ITEMS},
	{"cost details", F_COST_ITEMS}, {"cost itemization", F_COST_ITEMS},
	{"itemization", F_COST_ITEMS}, {"breakdown", F_COST_ITEMS},
	{"breakdown of costs", F_COST_ITEMS}, {"line items", F_COST_ITEMS},
	{"pricing", F_COST_ITEMS}, {"price breakdown", F_COST_ITEMS},
	{"pricing breakdown", F_COST_ITEMS}, {"pricing details", F_COST_ITEMS},
	{"cost elements", F_COST_ITEMS}, {"cost components", F_COST_ITEMS},

	{"provider", F_PROVIDER}, {"provider name", F_PROVIDER}, {"service provider", F_PROVIDER},
	{"service provider name", F_PROVIDER}, {"vendor", F_PROVIDER},
	{"vendor name", F_PROVIDER}, {"carrier", F_PROVIDER}, {"carrier name", F_PROVIDER},
	{"supplier", F_PROVIDER}, {"proposed provider", F_PROVIDER},
	{"proposed vendor", F_PROVIDER}, {"selected vendor", F_PROVIDER},
	{"selected provider", F_PROVIDER}, {"isp", F_PROVIDER},
	{"internet service provider", F_PROVIDER}, {"contractor", F_PROVIDER},
	{"telecommunications provider", F_PROVIDER}, {"telecom provider", F_PROVIDER},
	{"vendor provider", F_PROVIDER}, {"provider vendor", F_PROVIDER},

	{"vendor documentation", F_VENDOR_DOCUMENTATION}, {"documentation", F_VENDOR_DOCUMENTATION},
	{"vendor documents", F_VENDOR_DOCUMENTATION}, {"vendor docs", F_VENDOR_DOCUMENTATION},
	{"vendor quote", F_VENDOR_DOCUMENTATION}, {"quote", F_VENDOR_DOCUMENTATION},
	{"quotation", F_VENDOR_DOCUMENTATION}, {"vendor proposal", F_VENDOR_DOCUMENTATION},
	{"proposal", F_VENDOR_DOCUMENTATION}, {"supporting documentation", F_VENDOR_DOCUMENTATION},
	{"supporting documents", F_VENDOR_DOCUMENTATION}, {"documents", F_VENDOR_DOCUMENTATION},
	{"quote number", F_VENDOR_DOCUMENTATION},

	{"service levels", F_SERVICE_LEVELS}, {"service level", F_SERVICE_LEVELS},
	{"sla", F_SERVICE_LEVELS}, {"slas", F_SERVICE_LEVELS},
	{"service level agreement", F_SERVICE_LEVELS}, {"service level agreements", F_SERVICE_LEVELS},
	{"sla terms", F_SERVICE_LEVELS}, {"service level terms", F_SERVICE_LEVELS},
	{"rights and remedies", F_SERVICE_LEVELS}, {"slas rights and remedies", F_SERVICE_LEVELS},
	{"service levels rights and remedies", F_SERVICE_LEVELS},
	{"performance guarantees", F_SERVICE_LEVELS}, {"uptime guarantee", F_SERVICE_LEVELS},

	{"renews", F_RENEWS}, {"renewal of", F_RENEWS}, {"renews case", F_RENEWS},
	{"renewal of case", F_RENEWS}, {"renewal of exemption", F_RENEWS},
	{"renews exemption", F_RENEWS}, {"prior exemption", F_RENEWS},
	{"previous exemption", F_RENEWS}, {"existing exemption", F_RENEWS},

	{"location", P_ADDRESS}, {"address", P_ADDRESS}, {"site", P_ADDRESS},
	{"street address", P_ADDRESS}, {"service address", P_ADDRESS}, {"site address", P_ADDRESS},
	{"installation address", P_ADDRESS}, {"install address", P_ADDRESS},
	{"service location", P_ADDRESS}, {"site location", P_ADDRESS},
	{"physical address", P_ADDRESS}, {"premises", P_ADDRESS}, {"location address", P_ADDRESS},
	{"quantity", P_QUANTITY}, {"qty", P_QUANTITY}, {"number of circuits", P_QUANTITY},
	{"number of lines", P_QUANTITY}, {"count", P_QUANTITY},
	{"type", P_TYPE}, {"service type", P_TYPE}, {"circuit type", P_TYPE},
	{"type of service", P_TYPE}, {"bandwidth", P_TYPE}, {"speed", P_TYPE},

	{"from", T_IGNORE}, {"sent", T_IGNORE}, {"to", T_IGNORE}, {"cc", T_IGNORE},
	{"bcc", T_IGNORE}, {"subject", T_IGNORE}, {"date", T_IGNORE}, {"importance", T_IGNORE},
	{"reply to", T_IGNORE}, {"phone", T_IGNORE}, {"telephone", T_IGNORE}, {"tel", T_IGNORE},
	{"fax", T_IGNORE}, {"mobile", T_IGNORE}, {"cell", T_IGNORE}, {"email", T_IGNORE},
	{"e mail", T_IGNORE}, {"web", T_IGNORE}, {"website", T_IGNORE}, {"url", T_IGNORE},
	{"office", T_IGNORE}, {"direct", T_IGNORE}, {"attachments", T_IGNORE}, {"ref", T_IGNORE},
	{"priority", T_IGNORE}, {"von", T_IGNORE}, {"gesendet", T_IGNORE}, {"an", T_IGNORE},
	{"betreff", T_IGNORE}, {"de", T_IGNORE}, {"para", T_IGNORE}, {"asunto", T_IGNORE},
};

/* Words that say nothing about which field a label means. */
static const char *const fillers[] = {
	"requested", "needed", "required", "proposed", "selected", "description", "information",
	"info", "summary", "please", "provide", "enter", "list", "exemption", "cgen", "request",
	"requesting", "of", "for", "the", "and", "estimated", "anticipated", "expected", "detail",
	"details", "new", "our", "your",
};

/* Words of a label that point to a field when the label is not known. */
static const struct {
	const char *word;
	int target;
} heads[] = {
	{"entity", F_ENTITY}, {"agency", F_ENTITY}, {"department", F_ENTITY},
	{"service", F_SERVICES}, {"circuit", F_SERVICES}, {"location", F_SERVICES},
	{"address", F_SERVICES}, {"site", F_SERVICES}, {"reason", F_REASON},
	{"justification", F_REASON}, {"category", F_REASON_CATEGORY},
	{"term", F_CONTRACT_TERM}, {"contract", F_CONTRACT_TERM}, {"termination", F_EARLY_TERMINATION},
	{"extension", F_EXTENSION_OPTIONS}, {"renewal", F_EXTENSION_OPTIONS},
	{"item", F_COST_ITEMS}, {"breakdown", F_COST_ITEMS}, {"cost", F_TOTAL_COST},
	{"price", F_TOTAL_COST}, {"total", F_TOTAL_COST}, {"provider", F_PROVIDER},
	{"vendor", F_PROVIDER}, {"carrier", F_PROVIDER}, {"documentation", F_VENDOR_DOCUMENTATION},
	{"quote", F_VENDOR_DOCUMENTATION}, {"sla", F_SERVICE_LEVELS}, {"level", F_SERVICE_LEVELS},
};

#define RX_MATCH_LIMIT 1000000
#define RX_DEPTH_LIMIT 1000
#define RX_OVEC 16
#define MAX_LINE 4096
#define MAX_LABEL 64

/* Word boundaries without PCRE2_UCP (\d stays ASCII). */
#define B0 "(?<![\\p{L}\\p{N}_])"
#define B1 "(?![\\p{L}\\p{N}_])"

/* A money amount: optional "USD" and/or "$", digits with well placed
 * thousands separators, at most two decimals, optional trailing "USD".
 * Groups: integer part, decimals. */
#define MONEY_RX "(?:USD[ \\t]*+)?\\$?[ \\t]*+(\\d{1,3}(?:,\\d{3})++|\\d++)" \
	"(?:\\.(\\d{1,2}))?(?:[ \\t]*+USD)?"

/* List markers Word, Outlook and Gmail write (besides "o", "1.", "a."). */
#define MARK_CHARS "\\x{2022}\\x{00b7}\\x{25aa}\\x{25cf}\\x{25e6}\\x{2023}\\x{2043}\\x{2013}" \
	"\\x{00a7}\\x{f0b7}\\x{f0a7}\\x{f0d8}\\x{f076}\\x{27a2}\\x{25a0}\\x{25a1}\\x{2219}"
/* A list marker before a label (it needs white space after '-', '*', "o",
 * "1." and "a." so that "*Label:*" reads as bold). */
#define LABEL_MARK "(?:[-*](?=[ \\t])|[" MARK_CHARS "]|o(?=[ \\t])|\\d{1,3}[.)](?=[ \\t])|" \
	"[a-zA-Z][.)](?=[ \\t]))"
#define NUMBER_WORDS "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
#define UNITS "(?:[kmgt]b(?:it)?(?:ps|/s)?|[kmgt]bps|mbit|gbit|kbit|megs?|gigs?|[mg]hz|x|" \
	"ports?|users?|seats?|months?|mos?|years?|yrs?|miles?|ft|feet|hours?|hrs?|days?|vlans?|" \
	"percent|%)"
#define STREET_WORDS "(?:street|st|avenue|ave|av|boulevard|blvd|road|rd|drive|dr|way|lane|ln|" \
	"court|ct|place|pl|plaza|plz|mall|highway|hwy|parkway|pkwy|circle|cir|terrace|ter|" \
	"trail|trl|loop|expressway|expy|freeway|fwy|route|rte|center|ctr|centre|square|sq|" \
	"alley|crescent|pike|turnpike|grove|park|point|pt|broadway|commons|crossing|heights|" \
	"ridge|walk|row|run)"
#define NAME_RX "\\p{Lu}[\\p{L}.'\\x{2019}-]*+(?:[ \\t]++\\p{Lu}[\\p{L}.'\\x{2019}-]*+){0,3}"

static struct {
	int ready;
	pcre2_match_context *mctx;
	pcre2_code *label;    /* a label line: 1 indent, 2 marker, 3 label */
	pcre2_code *bullet;   /* a list item's marker */
	pcre2_code *hint;     /* a "<hint>" of the blank form */
	pcre2_code *signoff;  /* "Thanks,", "Regards, Dana" ... */
	pcre2_code *closing;  /* "Please let me know ..." */
	pcre2_code *disclaimer;
	pcre2_code *separator; /* an Outlook rule, "-----Original Message-----" */
	pcre2_code *name_line; /* a person's name alone on a line */
	pcre2_code *first_name;
	pcre2_code *contact;  /* phone, e-mail or web address */
	pcre2_code *phone;
	pcre2_code *q_lead;   /* a quantity at the start of a service */
	pcre2_code *q_any;    /* a quantity inside a service */
	pcre2_code *street;   /* house number, words, street word (anchored use) */
	pcre2_code *house;    /* house number and a word (anchored use) */
	pcre2_code *house_any; /* the same anywhere */
	pcre2_code *zip;      /* "CA 95814" */
	pcre2_code *sep_hard; /* " at ", "@", "|", ";", "Location:" */
	pcre2_code *sep_soft; /* ", ", " - ", ": " */
	pcre2_code *sep_after; /* after an address that comes first */
	pcre2_code *numstart; /* a number at a word start */
	pcre2_code *city;     /* "Sacramento, CA 95814" */
	pcre2_code *cost_amount; /* the money amount that ends a cost item */
	pcre2_code *cost_first;  /* a money amount that starts a cost item */
	pcre2_code *remark;   /* a parenthesised remark that ends a line */
	pcre2_code *money;    /* a whole string that is a money amount */
	pcre2_code *money_tok; /* a number in a total */
	pcre2_code *category;
	pcre2_code *term;     /* a contract length */
} rx;

/* Normalised synonyms, sorted for bsearch: plain and singular forms. */
struct syn {
	char *words;
	int target;
};
static struct syn *syn_plain, *syn_sing;

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

static int is_plural_end(const char *w, size_t n)
{
	return n > 3 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' &&
	       !(w[n - 2] == 'i' && n > 4);
}

/* s[0..n) as a comparable label: lowercase ASCII, words in parentheses and
 * apostrophes dropped, '&' as "and", other ASCII punctuation as a space, one
 * space between words, a leading article dropped; a last word that is a
 * number is dropped and sets *numbered; with singular, a plural 's' ("ies"
 * -> 'y') dropped from every word. Allocated. */
static char *label_norm(const char *s, size_t n, int singular, int *numbered)
{
	struct buf w = {0};
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '(' || c == ')') {
			depth += c == '(' ? 1 : depth ? -1 : 0;
			buf_addc(&w, ' ');
			continue;
		}
		if (depth || c == '\'')
			continue;
		if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    (unsigned char)s[i + 2] == 0x99) {
			i += 2;
			continue;
		}
		if (c == '&') {
			buf_adds(&w, " and ");
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		else if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = ' ';
		buf_addc(&w, (char)c);
	}
	struct strv words = {0};
	strv_split(&words, w.s ? w.s : "", ' ');
	buf_free(&w);
	size_t first = 0, last = words.n;
	if (numbered)
		*numbered = 0;
	if (last > 1 && words.v[last - 1][strspn(words.v[last - 1], "0123456789")] == '\0') {
		last--;
		if (numbered)
			*numbered = 1;
	}
	static const char *const articles[] = {"the", "our", "your", "my", "a"};
	for (size_t k = 0; k < ARRAY_LEN(articles) && last - first > 1; k++)
		if (strcmp(words.v[first], articles[k]) == 0) {
			first++;
			break;
		}
	struct buf out = {0};
	for (size_t i = first; i < last; i++) {
		char *wd = words.v[i];
		size_t len = strlen(wd);
		if (singular && len > 4 && strcmp(wd + len - 3, "ies") == 0) {
			wd[len - 3] = 'y';
			wd[len - 2] = '\0';
		} else if (singular && is_plural_end(wd, len)) {
			wd[len - 1] = '\0';
		}
		if (out.len)
			buf_addc(&out, ' ');
		buf_adds(&out, wd);
	}
	strv_free(&words);
	return buf_steal(&out);
}

static int syn_cmp(const void *a, const void *b)
{
	return strcmp(((const struct syn *)a)->words, ((const struct syn *)b)->words);
}

static int syn_find(const struct syn *table, const char *words)
{
	struct syn key = {(char *)words, 0};
	const struct syn *hit = bsearch(&key, table, ARRAY_LEN(synonyms), sizeof *table, syn_cmp);
	return hit ? hit->target : T_NONE;
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

	syn_plain = xcalloc(ARRAY_LEN(synonyms), sizeof *syn_plain);
	syn_sing = xcalloc(ARRAY_LEN(synonyms), sizeof *syn_sing);
	for (size_t i = 0; i < ARRAY_LEN(synonyms); i++) {
		const char *w = synonyms[i].words;
		syn_plain[i] = (struct syn){label_norm(w, strlen(w), 0, NULL), synonyms[i].target};
		syn_sing[i] = (struct syn){label_norm(w, strlen(w), 1, NULL), synonyms[i].target};
	}
	qsort(syn_plain, ARRAY_LEN(synonyms), sizeof *syn_plain, syn_cmp);
	qsort(syn_sing, ARRAY_LEN(synonyms), sizeof *syn_sing, syn_cmp);

	rx.label = rx_compile("^([ \\t]*+)(" LABEL_MARK "[ \\t]*+)?[*_]{0,2}+"
			      "(\\p{L}[\\p{L}\\p{N} \\t'\\x{2019}/&().#,+-]{0,59}?)[ \\t]*+[*_]{0,2}+"
			      "[ \\t]*+[:\\x{ff1a}](?!//)[*_]{0,2}+[ \\t]*+", 0);
	rx.bullet = rx_compile("^[ \\t]*+(?:[-*" MARK_CHARS "\\x{2014}][ \\t]*+|o[ \\t]++|"
			       "\\d{1,3}[.)](?:[ \\t]++|\\z)|[a-zA-Z][.)][ \\t]++)", 0);
	rx.hint = rx_compile("<[a-z][^<>@:/.\\n]*+>", 0);
	rx.signoff = rx_compile(
		"^[*_ \\t]*+(?:(?:(?:many|a[ \\t]++lot[ \\t]++of|big|with)[ \\t]++)?thanks?"
		"(?:[ \\t]++(?:so[ \\t]++much|very[ \\t]++much|again|a[ \\t]++lot|in[ \\t]++advance|"
		"kindly|all))*+"
		"(?:[ \\t]++for[ \\t]++[\\p{L}\\p{N}' ,-]{1,60}?)?"
		"|thank(?:ing)?[ \\t]++you(?:[ \\t]++(?:so[ \\t]++much|very[ \\t]++much|again|"
		"in[ \\t]++advance|kindly|all))*+(?:[ \\t]++for[ \\t]++[\\p{L}\\p{N}' ,-]{1,60}?)?"
		"|thx|tia|ty|(?:(?:best|kind|warm|warmest|many|with)[ \\t]++)?regards"
		"|best[ \\t]++wishes|all[ \\t]++the[ \\t]++best|(?:very[ \\t]++)?respectfully"
		"(?:[ \\t]++(?:yours|submitted))?|sincerely(?:[ \\t]++yours)?"
		"|yours[ \\t]++(?:truly|sincerely|faithfully)|cheers|v/r|vr|take[ \\t]++care"
		"|thanks[ \\t]++(?:and|&)[ \\t]++(?:best[ \\t]++)?regards|regards[ \\t]++(?:and|&)[ \\t]++thanks"
		"|much[ \\t]++appreciated|appreciate[ \\t]++it)"
		"[ \\t]*+(?:[,.!;:\\x{2013}\\x{2014}-][ \\t,.!;:\\x{2013}\\x{2014}-]*+(?:" NAME_RX ")?"
		"|[ \\t]" NAME_RX ")?[ \\t*_]*+[,.!]*+[ \\t*_]*+$"
		"|^[*_ \\t]*+best(?:[ \\t]*+[,!.]++[ \\t]*+(?:" NAME_RX ")?)?[ \\t*_]*+$",
		PCRE2_CASELESS);
	rx.closing = rx_compile(
		"^[*_ \\t]*+(?:please[ \\t]++)?(?:let[ \\t]++(?:me|us)[ \\t]++know|feel[ \\t]++free|"
		"do[ \\t]++not[ \\t]++hesitate|don'?t[ \\t]++hesitate|if[ \\t]++you[ \\t]++(?:have|need)|"
		"should[ \\t]++you[ \\t]++(?:have|need)|please[ \\t]++(?:contact|reach|call|e-?mail)|"
		"contact[ \\t]++me|reach[ \\t]++out|i[ \\t]++look[ \\t]++forward|looking[ \\t]++forward|"
		"have[ \\t]++a[ \\t]++(?:great|good|nice))" B1, PCRE2_CASELESS);
	rx.disclaimer = rx_compile(
		"^[*_ \\t]*+(?:confidentiality(?:[ \\t]++(?:notice|statement|note|disclaimer|warning))?"
		"|disclaimer|privileged[ \\t]++(?:and|&)[ \\t]++confidential|important[ \\t]++notice"
		"|notice[ \\t]++of[ \\t]++confidentiality|caution[ \\t]*+:|warning[ \\t]*+:"
		"|external[ \\t]++(?:e-?mail|sender)[ \\t]*+:)" B1
		"|^[*_ \\t]*+this[ \\t]++(?:e-?mail|message|communication|transmission)" B1
		".{0,200}?" B0 "(?:confidential|intended|privileged|may[ \\t]++contain|"
		"contains?[ \\t]++(?:confidential|privileged|information)|transmitted|attachments?|"
		"exempt[ \\t]++from)" B1
		"|^[*_ \\t]*+the[ \\t]++information[ \\t]++(?:contained[ \\t]++)?in[ \\t]++this[ \\t]++"
		"(?:e-?mail|message|communication|transmission)" B1, PCRE2_CASELESS);
	rx.separator = rx_compile("^[ \\t]*+(?:_{8,}+|-{3,}+[ \\t]*+(?:original[ \\t]++message|"
				  "forwarded[ \\t]++message)[ \\t]*+-{3,}+|\\*?-{3,}+[ \\t]*+Original"
				  "[ \\t]++Message[ \\t]*+-{3,}+\\*?)[ \\t]*+$", PCRE2_CASELESS);
	rx.name_line = rx_compile("^(?:(?:Dr|Mr|Mrs|Ms)\\.?[ \\t]++)?\\p{Lu}[\\p{L}'\\x{2019}-]*+\\.?"
				  "(?:,?[ \\t]++\\p{Lu}[\\p{L}'\\x{2019}-]*+\\.?){1,3}+"
				  "(?:[ \\t]*+,[ \\t]*+(?:[A-Z]{2,5}|Jr\\.?|Sr\\.?|PhD))*+[ \\t]*+$", 0);
	rx.first_name = rx_compile("^\\p{Lu}\\p{Ll}{1,20}+$", 0);
	rx.phone = rx_compile("(?<!\\d)(?:\\+?1[ \\t.-]?)?\\(?\\d{3}\\)?[ \\t.-]?\\d{3}[ \\t.-]\\d{4}(?!\\d)", 0);
	rx.contact = rx_compile("(?<!\\d)(?:\\+?1[ \\t.-]?)?\\(?\\d{3}\\)?[ \\t.-]?\\d{3}[ \\t.-]\\d{4}(?!\\d)"
				"|[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\\.[A-Za-z0-9-]++)++"
				"|https?://|" B0 "www\\.", 0);
	rx.q_lead = rx_compile(
		"^(?:(\\d{1,6})[ \\t]*+[x\\x{d7}](?=[ \\t]|\\z)"
		"|(?:qty|quantity)[ \\t]*+[.:=#]?[ \\t]*+(\\d{1,6})(?![\\d.,])[ \\t]*+"
		"(?:[x\\x{d7}](?=[ \\t]|\\z)|[,;:]|-(?=[ \\t])|of(?=[ \\t]))?"
		"|(?:" NUMBER_WORDS ")[ \\t]*+\\([ \\t]*+(\\d{1,6})[ \\t]*+\\)[ \\t]*+"
		"(?:[x\\x{d7}](?=[ \\t]|\\z))?"
		"|\\([ \\t]*+(\\d{1,6})[ \\t]*+\\)[ \\t]*+(?:[x\\x{d7}](?=[ \\t]|\\z))?"
		"|(" NUMBER_WORDS ")(?=[ \\t])(?![ \\t]*+[-(]?[ \\t]*+(?:years?|months?|yrs?|mos?|time|"
		"hundred|thousand)" B1 ")[ \\t]*+(?:[x\\x{d7}](?=[ \\t]|\\z))?"
		"|(\\d{1,4})(?=[ \\t]++\\p{L})(?![ \\t]++" UNITS B1 "))[ \\t]*+",
		PCRE2_CASELESS);
	rx.q_any = rx_compile(
		B0 "(?:(?:qty|quantity)[ \\t]*+[.:=#]?[ \\t]*+(\\d{1,6})(?![\\d.,]?\\d)"
		"|(?:" NUMBER_WORDS ")[ \\t]*+\\([ \\t]*+(\\d{1,6})[ \\t]*+\\)"
		"|[x\\x{d7}][ \\t]?(\\d{1,4})(?![\\d.,]?\\d)(?![ \\t]*+" UNITS B1 "))", PCRE2_CASELESS);
	rx.street = rx_compile("\\d{1,6}(?:[a-zA-Z](?!\\p{L}))?(?:-[0-9a-zA-Z]{1,6})?[ \\t]++"
			       "(?!" UNITS B1 ")"
			       "(?:(?:\\d{1,4}(?:st|nd|rd|th)|\\p{L}[\\p{L}'\\x{2019}.-]*+)[ \\t]++){0,5}?"
			       STREET_WORDS "\\.?" B1, PCRE2_CASELESS);
	rx.house = rx_compile("\\d++[\\p{L}\\p{N}/-]*+[ \\t]++(?!" UNITS B1 ")\\p{L}", PCRE2_CASELESS);
	rx.house_any = rx_compile(B0 "\\d++[\\p{L}\\p{N}/-]*+[ \\t]++(?!" UNITS B1 ")\\p{L}",
				  PCRE2_CASELESS);
	rx.zip = rx_compile(B0 "(?:CA|Calif\\.?|California)[ \\t,.]*+9[0-6]\\d{3}(?:-\\d{4})?(?!\\d)",
			    PCRE2_CASELESS);
	rx.sep_hard = rx_compile("[ \\t]*+[,;]?[ \\t]*+(?:location|address|site|service[ \\t]++address|"
				 "street[ \\t]++address)[ \\t]*+[:=][ \\t]*+"
				 "|[ \\t]++(?:located[ \\t]++|installed[ \\t]++)?at[ \\t]++"
				 "|[ \\t]*+[@|;][ \\t]*+", PCRE2_CASELESS);
	rx.sep_soft = rx_compile(",[ \\t]*+|[ \\t]*+[\\x{2013}\\x{2014}][ \\t]*+|[ \\t]++-[ \\t]++|"
				 ":[ \\t]++|[ \\t]++/[ \\t]++", 0);
	rx.sep_after = rx_compile("[ \\t]*+[\\x{2013}\\x{2014}][ \\t]*+|[ \\t]++-[ \\t]++|"
				  "[ \\t]*+[:;|][ \\t]*+|[ \\t]++for[ \\t]++", PCRE2_CASELESS);
	rx.numstart = rx_compile(B0 "\\d", 0);
	rx.city = rx_compile("^\\p{L}[\\p{L} .'-]{0,40}+,?[ \\t]*+(?:CA|Calif\\.?|California)"
			     "[ \\t,.]*+9[0-6]\\d{3}(?:-\\d{4})?[ \\t.]*+$", PCRE2_CASELESS);
	rx.cost_amount = rx_compile("(?<![\\p{L}\\p{N}.,$])(?=USD|\\$|\\d)" MONEY_RX "[ \\t]*+\\z",
				    PCRE2_CASELESS);
	rx.cost_first = rx_compile("^((?=USD|\\$)" MONEY_RX ")(?![\\d.,]?\\d)[ \\t]*+"
				   "(?:[-:=\\x{2013}\\x{2014}]|for(?=[ \\t]))?[ \\t]*+", PCRE2_CASELESS);
	rx.remark = rx_compile("[ \\t]*+\\([^()\\n]{0,80}+\\)[ \\t]*+\\z", 0);
	rx.money = rx_compile("^\\s*+" MONEY_RX "\\s*+\\z", PCRE2_CASELESS);
	rx.money_tok = rx_compile("(?<![\\p{L}\\p{N}.,])(?:USD[ \\t]*+)?(\\$)?[ \\t]*+"
				  "(\\d{1,3}(?:,\\d{3})++|\\d++)(?:\\.\\d{1,2})?(?![\\d,.]?\\d)"
				  "(?:[ \\t]*+(USD))?([ \\t]*+-?[ \\t]*+(?:months?|years?|yrs?|mos?|mths?)"
				  B1 ")?", PCRE2_CASELESS);
	rx.category = rx_compile("^[ \\t]*+(?:(features?|functionality|functional|function)|"
				 "(availability|available|unavailable|not[ \\t]++available|"
				 "service[ \\t]++availability))" B1
				 "[ \\t]*+(?:[-:,;.(/\\x{2013}\\x{2014}][ \\t]*+([\\s\\S]*+))?\\z",
				 PCRE2_CASELESS);
	rx.term = rx_compile(B0 "(?:\\d++(?:\\.\\d++)?|" NUMBER_WORDS "|eighteen|twenty-four|"
			     "thirty-six|forty-eight|sixty)(?:[ \\t]*+\\([ \\t]*+\\d++[ \\t]*+\\))?"
			     "[ \\t]*+-?[ \\t]*+(?:months?|years?|mos?|yrs?|mths?)" B1, PCRE2_CASELESS);
	rx.ready = 1;
}

/* Matches re against s[0..n) from offset start; returns the number of set
 * group pairs (> 0), or 0 when it does not match, s is not UTF-8 or a limit
 * was hit. */
static int rx_run(const pcre2_code *re, const char *s, size_t n, size_t start, uint32_t opts,
		  pcre2_match_data *md)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, n, start, opts, md, rx.mctx);
	return rc > 0 ? rc : 0;
}

static int rx_exec(const pcre2_code *re, const char *s, pcre2_match_data *md)
{
	return rx_run(re, s, strlen(s), 0, 0, md);
}

static int rx_test(const pcre2_code *re, const char *s, pcre2_match_data *md)
{
	return rx_exec(re, s, md) > 0;
}

/* re matches s at offset at (anchored); returns the end of the match or 0. */
static size_t rx_at(const pcre2_code *re, const char *s, size_t at, pcre2_match_data *md)
{
	if (!rx_run(re, s, strlen(s), at, PCRE2_ANCHORED, md))
		return 0;
	return pcre2_get_ovector_pointer(md)[1];
}

static PCRE2_SIZE *ov(pcre2_match_data *md)
{
	return pcre2_get_ovector_pointer(md);
}

static int group_set(pcre2_match_data *md, int rc, int n)
{
	return n < rc && ov(md)[2 * n] != PCRE2_UNSET;
}

/* Group n of a match that returned rc, as a trimmed copy; NULL when unset. */
static char *rx_group(pcre2_match_data *md, int rc, const char *s, int n)
{
	if (!group_set(md, rc, n))
		return NULL;
	return str_trim(xstrndup(s + ov(md)[2 * n], ov(md)[2 * n + 1] - ov(md)[2 * n]));
}

static int money_md(pcre2_match_data *md, const char *s, long long *cents);

static pcre2_match_data *md_new(void)
{
	pcre2_match_data *md = pcre2_match_data_create(RX_OVEC, NULL);
	if (!md)
		abort();
	return md;
}

/* ---- text ---- */

/* LF line ends, NBSP as a space, invalid UTF-8 as U+FFFD, zero-width spaces
 * and Word's "<![if !supportLists]>"/"<![endif]>" markers dropped. Allocated. */
static char *normalize(const char *text)
{
	struct buf b = {0};
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t n;
		const char *e;
		if (*p == '\r') {
			buf_addc(&b, '\n');
			p += p[1] == '\n' ? 2 : 1;
		} else if (p[0] == 0xc2 && p[1] == 0xa0) {
			buf_addc(&b, ' ');
			p += 2;
		} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x8b || p[2] == 0x8c)) {
			p += 3;
		} else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
			p += 3;
		} else if (p[0] == '<' && p[1] == '!' && p[2] == '[' &&
			   (str_startswith_ci((const char *)p, "<![if ") ||
			    str_startswith_ci((const char *)p, "<![endif]>")) &&
			   (e = memchr(p, '>', strnlen((const char *)p, 100))) != NULL) {
			p = (const unsigned char *)e + 1;
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

static void vproblem(struct form *f, const char *field, int item, int soft, const char *fmt,
		     va_list ap) __attribute__((format(printf, 5, 0)));
static void vproblem(struct form *f, const char *field, int item, int soft, const char *fmt,
		     va_list ap)
{
	f->problems = grow(f->problems, f->n_problems, sizeof(*f->problems));
	struct form_problem *p = &f->problems[f->n_problems++];
	p->field = xstrdup(field);
	p->item = item;
	p->soft = soft;
	p->message = xvasprintf(fmt, ap);
}

static void add_problem(struct form *f, const char *field, int item, int soft, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void add_problem(struct form *f, const char *field, int item, int soft, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vproblem(f, field, item, soft, fmt, ap);
	va_end(ap);
}

void form_add_problem(struct form *f, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vproblem(f, field, 0, 0, fmt, ap);
	va_end(ap);
}

/* ---- labels ---- */

static int is_filler(const char *w)
{
	for (size_t i = 0; i < ARRAY_LEN(fillers); i++)
		if (strcmp(w, fillers[i]) == 0)
			return 1;
	return 0;
}

/* What the label s[0..n) means: a field, a P_* part, T_IGNORE or T_NONE. */
static int target_of(const char *s, size_t n, int *numbered)
{
	char *plain = label_norm(s, n, 0, numbered);
	int t = *plain ? syn_find(syn_plain, plain) : T_NONE;
	free(plain);
	if (t != T_NONE)
		return t;
	char *sing = label_norm(s, n, 1, NULL);
	t = *sing ? syn_find(syn_sing, sing) : T_NONE;
	if (t == T_NONE && *sing) {
		struct strv words = {0};
		struct buf kept = {0};
		strv_split(&words, sing, ' ');
		for (size_t i = 0; i < words.n; i++)
			if (!is_filler(words.v[i])) {
				if (kept.len)
					buf_addc(&kept, ' ');
				buf_adds(&kept, words.v[i]);
			}
		if (kept.len && strcmp(kept.s, sing) != 0)
			t = syn_find(syn_sing, kept.s);
		buf_free(&kept);
		strv_free(&words);
	}
	free(sing);
	return t;
}

/* Edit distance of a and b (both at most MAX_LABEL bytes). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), row[MAX_LABEL + 1], prev[MAX_LABEL + 1];
	if (na > MAX_LABEL || nb > MAX_LABEL)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			row[j] = d;
		}
		memcpy(prev, row, (nb + 1) * sizeof *row);
	}
	return prev[nb];
}

/* The field an unknown label may mean, or T_NONE: a synonym a few typing
 * errors away, else a field's head word among its words. */
static int suggest(const char *label)
{
	char *sing = label_norm(label, strlen(label), 1, NULL);
	size_t len = strlen(sing), best = SIZE_MAX;
	int t = T_NONE;
	size_t limit = len <= 5 ? 1 : len <= 12 ? 2 : 3;
	for (size_t i = 0; i < ARRAY_LEN(synonyms) && len; i++) {
		if (syn_sing[i].target >= F_COUNT && syn_sing[i].target != P_ADDRESS)
			continue;
		size_t d = edit_distance(sing, syn_sing[i].words);
		if (d <= limit && d < best) {
			best = d;
			t = syn_sing[i].target;
		}
	}
	if (t == T_NONE) {
		struct strv words = {0};
		strv_split(&words, sing, ' ');
		for (size_t i = 0; i < words.n && t == T_NONE; i++)
			for (size_t k = 0; k < ARRAY_LEN(heads); k++)
				if (strcmp(words.v[i], heads[k].word) == 0) {
					t = heads[k].target;
					break;
				}
		strv_free(&words);
	}
	free(sing);
	return t == P_ADDRESS ? F_SERVICES : t;
}

enum line_kind { L_TEXT, L_LABEL };

struct label_line {
	int target;       /* a field, P_*, T_IGNORE, or T_NONE (unknown) */
	int marked;       /* a list marker or indentation came before it */
	int numbered;     /* "Service 2:" */
	const char *rest; /* the value after the ':' */
	char *text;       /* the label as written (allocated) */
};

/* Reads a label line; returns L_TEXT when line is none. */
static enum line_kind label_of(pcre2_match_data *md, const char *line, struct label_line *l)
{
	memset(l, 0, sizeof *l);
	/* A label starts a line: its first bytes tell (cut on a character
	 * boundary, so that a long value costs nothing). */
	size_t n = strnlen(line, 256);
	if (n == 256)
		while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
			n--;
	/* no colon, no label (U+FF1A is EF BC 9A) */
	if (!memchr(line, ':', n) && !memmem(line, n, "\xef\xbc\x9a", 3))
		return L_TEXT;
	int rc = rx_run(rx.label, line, n, 0, 0, md);
	if (!rc)
		return L_TEXT;
	PCRE2_SIZE *o = ov(md);
	const char *ls = line + o[6];
	size_t ln = o[7] - o[6];
	size_t words = 1;
	for (size_t i = 0; i < ln; i++)
		words += (ls[i] == ' ' || ls[i] == '\t') && i + 1 < ln && ls[i + 1] != ' ' &&
			 ls[i + 1] != '\t';
	if (words > 6)
		return L_TEXT;
	l->marked = group_set(md, rc, 2) || o[3] - o[2] > 1;
	l->rest = line + o[1];
	l->text = str_trim(xstrndup(ls, ln));
	l->target = target_of(ls, ln, &l->numbered);
	return L_LABEL;
}

/* ---- the end of the form ---- */

/* A line after which nothing belongs to the form: a signature delimiter or
 * device line, a sign-off, a closing line, a disclaimer, an Outlook
 * separator. */
static int is_stop(pcre2_match_data *md, const char *line)
{
	size_t n = strlen(line);
	if (n > MAX_LINE)
		return 0;
	const char *t = line + strspn(line, " \t");
	unsigned char c = (unsigned char)t[0];
	/* Every stop line starts with a letter, '*', '_', '-' or a non-ASCII
	 * character; a list item ("- a") is none. */
	if (!(c >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*' || c == '_' ||
	      c == '-') || (c == '-' && t[1] == ' '))
		return 0;
	if (visible_is_signature(line, n))
		return 1;
	if (t[0] == '-' && t[1] == '-' && t[2 + strspn(t + 2, " \t")] == '\0')
		return 1;
	/* "-Dana" */
	if (t[0] == '-' && (unsigned char)t[1] >= 'A' && (unsigned char)t[1] <= 'Z' &&
	    rx_test(rx.first_name, t + 1, md))
		return 1;
	return rx_test(rx.signoff, line, md) || rx_test(rx.closing, line, md) ||
	       rx_test(rx.disclaimer, line, md) || rx_test(rx.separator, line, md);
}

static int is_contact(pcre2_match_data *md, const char *s)
{
	return strlen(s) <= MAX_LINE && rx_test(rx.contact, s, md);
}

/* A line that may open a signature block: a name, a phone number, "a | b"
 * (not a web or e-mail address alone: vendor documents are cited so). */
static int sig_start(pcre2_match_data *md, const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 80)
		return 0;
	return rx_test(rx.name_line, s, md) || rx_test(rx.phone, s, md) || strstr(s, " | ");
}

/* A line that may stand in a signature block: short, not a sentence. */
static int sig_line(const char *s)
{
	size_t n = strlen(s), words = 1;
	if (n > 80)
		return 0;
	for (size_t i = 0; i < n; i++)
		words += s[i] == ' ';
	return !(n && s[n - 1] == '.' && words >= 6);
}

/* Words that are values, not first names, when alone on a line. */
static int value_word(const char *s)
{
	static const char *const words[] = {"None", "Yes", "No", "Included", "Attached", "Standard",
					    "Unlimited", "Monthly", "Annual", "Pending", "Provided",
					    "Available", "Unknown", "Same", "Above", "Below", "See"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* Cuts a name/title/phone block off the end of the last field's lines: from
 * a line that opens one (after a blank line, or right after the label line)
 * to the end, when every line there is short and either one is a contact
 * line, or they are at most four and follow a blank line; a first name alone
 * on the last line after a blank line goes too. */
static void trim_signature(pcre2_match_data *md, struct strv *lines, int oneline)
{
	size_t end = lines->n;
	while (end > 0 && !*lines->v[end - 1])
		end--;
	/* A one-line value (Provider: ...) followed by a name: "Dana" or
	 * "Dana Lee" and a few short lines, as HTML mail gives them without
	 * the blank line a reader sees. */
	if (oneline && end >= 2 && *lines->v[0] && end - 1 <= 6 &&
	    (rx_test(rx.name_line, lines->v[1], md) ||
	     (rx_test(rx.first_name, lines->v[1], md) && !value_word(lines->v[1])))) {
		int ok = 1;
		for (size_t i = 1; i < end && ok; i++)
			ok = sig_line(lines->v[i]);
		if (ok) {
			while (lines->n > 1)
				free(lines->v[--lines->n]);
			return;
		}
	}
	for (size_t s = 1; s < end; s++) {
		int after_blank = !*lines->v[s - 1];
		if (!after_blank && !(s == 1 && *lines->v[0]))
			continue;
		if (!sig_start(md, lines->v[s]))
			continue;
		int contact = 0, ok = 1;
		size_t count = 0;
		for (size_t i = s; i < end && ok; i++) {
			ok = sig_line(lines->v[i]);
			contact |= is_contact(md, lines->v[i]);
			count += *lines->v[i] != '\0';
		}
		if (ok && (contact || (after_blank && count <= 4 &&
				       rx_test(rx.name_line, lines->v[s], md)))) {
			while (lines->n > s)
				free(lines->v[--lines->n]);
			return;
		}
	}
	if (end >= 2 && !*lines->v[end - 2] && rx_test(rx.first_name, lines->v[end - 1], md) &&
	    !value_word(lines->v[end - 1])) {
		while (lines->n > end - 1)
			free(lines->v[--lines->n]);
	}
}

/* ---- values ---- */

/* Keeps a trimmed value line, unless it still holds a "<hint>". */
static void add_line(pcre2_match_data *md, struct strv *lines, const char *s)
{
	char *t = str_trim(xstrdup(s));
	if (strchr(t, '<') && strlen(t) <= MAX_LINE && rx_test(rx.hint, t, md))
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

/* The text after a list marker, or NULL when s is not a list item. */
static const char *bullet_rest(pcre2_match_data *md, const char *s)
{
	if (strlen(s) > MAX_LINE || !rx_exec(rx.bullet, s, md))
		return NULL;
	return s + ov(md)[1];
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

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims white space and the separators ",;:|@=-", en and em dash, a
 * leading "at " and a trailing " at" from both ends of s (in place, one
 * pass over each end). */
static char *strip_seps(char *s)
{
	size_t a = 0, e = strlen(s);
	for (;;) {
		while (e > a && is_ws(s[e - 1]))
			e--;
		while (a < e && is_ws(s[a]))
			a++;
		if (e > a && strchr(",;:|@=-", s[e - 1]))
			e--;
		else if (e - a >= 3 && (memcmp(s + e - 3, "\xe2\x80\x93", 3) == 0 ||
					memcmp(s + e - 3, "\xe2\x80\x94", 3) == 0))
			e -= 3;
		else if (e - a >= 3 && is_ws(s[e - 3]) && strncasecmp(s + e - 2, "at", 2) == 0)
			e -= 2;
		else if (e > a && strchr(",;:|@", s[a]))
			a++;
		else if (e - a == 2 && strncasecmp(s + a, "at", 2) == 0)
			e = a;
		else if (e - a > 3 && strncasecmp(s + a, "at", 2) == 0 && is_ws(s[a + 2]))
			a += 3;
		else
			break;
	}
	memmove(s, s + a, e - a);
	s[e - a] = '\0';
	return s;
}

static long number_word(const char *w)
{
	static const char *const words[] = {"one", "two", "three", "four", "five", "six", "seven",
					    "eight", "nine", "ten", "eleven", "twelve"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcasecmp(w, words[i]) == 0)
			return (long)i + 1;
	return 0;
}

/* s without bytes [a, b), the gap closed with one space. Allocated. */
static char *cut(const char *s, size_t a, size_t b)
{
	return xasprintf("%.*s %s", (int)a, s, s + b);
}

/* A quantity at the start of s, other than a bare number: returns the
 * number of groups of the match (md holds it), or 0. A bare leading number
 * ("2 circuits") counts too unless an address starts there ("3500
 * Industrial Blvd") or bare is 0. */
static int lead_quantity(pcre2_match_data *md, const char *s, int bare)
{
	size_t n = strlen(s);
	if (n > MAX_LINE)
		return 0;
	int rc = rx_run(rx.q_lead, s, n, 0, 0, md);
	if (!rc || !group_set(md, rc, 6))
		return rc;
	if (!bare || rx_at(rx.street, s, 0, md))
		return 0;
	return rx_run(rx.q_lead, s, n, 0, 0, md);
}

/* The quantity of a service text: at its start, else anywhere. Returns it
 * (0 when none) and sets *rest to s without it (allocated). */
static long find_quantity(pcre2_match_data *md, const char *s, char **rest)
{
	long q = 0;
	size_t n = strlen(s);
	if (!strpbrk(s, "0123456789")) {
		/* only "two ..." can be a quantity then */
		char *w = xstrndup(s, strcspn(s, " \t"));
		q = number_word(w);
		free(w);
		if (q && (s[strcspn(s, " \t")] == '\0' || lead_quantity(md, s, 0) == 0))
			q = 0;
		if (!q) {
			*rest = xstrdup(s);
			return 0;
		}
	}
	int rc = lead_quantity(md, s, 1);
	if (rc) {
		for (int g = 1; g <= 6 && !q; g++) {
			char *v = rx_group(md, rc, s, g);
			if (v)
				q = g == 5 ? number_word(v) : strtol(v, NULL, 10);
			free(v);
		}
		*rest = xstrdup(s + ov(md)[1]);
		return q;
	}
	rc = n <= MAX_LINE ? rx_run(rx.q_any, s, n, 0, 0, md) : 0;
	if (rc) {
		for (int g = 1; g <= 3 && !q; g++) {
			char *v = rx_group(md, rc, s, g);
			if (v)
				q = strtol(v, NULL, 10);
			free(v);
		}
		*rest = cut(s, ov(md)[0], ov(md)[1]);
		return q;
	}
	*rest = xstrdup(s);
	return 0;
}

/* A ZIP at or after offset from in s: its start, or SIZE_MAX. */
static size_t zip_at(pcre2_match_data *md, const char *s, size_t from)
{
	size_t n = strlen(s);
	if (n > MAX_LINE || !rx_run(rx.zip, s, n, from, 0, md))
		return SIZE_MAX;
	return ov(md)[0];
}

/* Splits a service text (quantity removed) into type and street address by
 * the address's shape. Returns 1 with *type_end and *addr_start set, or 0. */
static int find_address(pcre2_match_data *md, const char *s, size_t *type_end, size_t *addr_start)
{
	size_t n = strlen(s), zip = zip_at(md, s, 0);
	if (n > MAX_LINE)
		return 0;
	/* " at ", "@", "|", ";", "Location:": the first whose rest starts with a
	 * house number, else the first whose rest holds one or a ZIP. */
	size_t fb_end = 0, fb_start = 0, pos = 0;
	int fallback = 0;
	while (pos < n && rx_run(rx.sep_hard, s, n, pos, 0, md)) {
		size_t a = ov(md)[0], b = ov(md)[1];
		pos = b > pos ? b : pos + 1;
		if (a == 0)
			continue;
		if (rx_at(rx.house, s, b, md) || (zip != SIZE_MAX && zip == b)) {
			*type_end = a;
			*addr_start = b;
			return 1;
		}
		if (!fallback && (rx_run(rx.house_any, s, n, b, 0, md) || zip_at(md, s, b) != SIZE_MAX)) {
			fallback = 1;
			fb_end = a;
			fb_start = b;
		}
	}
	if (fallback) {
		*type_end = fb_end;
		*addr_start = fb_start;
		return 1;
	}
	/* ", ", " - ", ": ": the first whose rest starts with a street, or with a
	 * house number that a ZIP follows. */
	pos = 0;
	while (pos < n && rx_run(rx.sep_soft, s, n, pos, 0, md)) {
		size_t a = ov(md)[0], b = ov(md)[1];
		pos = b > pos ? b : pos + 1;
		if (a == 0)
			continue;
		if (rx_at(rx.street, s, b, md) ||
		    (zip != SIZE_MAX && zip > b && rx_at(rx.house, s, b, md))) {
			*type_end = a;
			*addr_start = b;
			return 1;
		}
	}
	/* No separator: a street right after the type. */
	pos = 1;
	while (pos < n && rx_run(rx.numstart, s, n, pos, 0, md)) {
		size_t a = ov(md)[0];
		pos = a + 1;
		if (rx_at(rx.street, s, a, md)) {
			*type_end = a;
			*addr_start = a;
			return 1;
		}
	}
	/* A ZIP: the address is what follows the first comma before it. */
	if (zip != SIZE_MAX) {
		const char *comma = memchr(s, ',', zip);
		if (comma && comma > s) {
			*type_end = (size_t)(comma - s);
			*addr_start = *type_end + 1;
			return 1;
		}
	}
	return 0;
}

/* One item of Services as read: its text and the sub-lines below it. */
struct svc_item {
	struct buf text;      /* the item's lines, joined with a space */
	char *address, *quantity; /* Location:/Qty: sub-lines */
	struct buf types;     /* Type:/Bandwidth: sub-lines */
	struct buf raw;       /* as written, for the prefilled form */
};

static void svc_item_free(struct svc_item *it)
{
	buf_free(&it->text);
	buf_free(&it->types);
	buf_free(&it->raw);
	free(it->address);
	free(it->quantity);
}

static long quantity_value(const char *v)
{
	char *end;
	long q = strtol(v, &end, 10);
	if (end != v && !*str_trim(end))
		return q;
	char *w = str_trim(xstrdup(v));
	char *p = strchr(w, ' ');
	if (p)
		*p = '\0';
	q = number_word(w);
	free(w);
	return q;
}

/* Adds a service (or its problem) from an item; default_address is a lone
 * top-level Location. */
static void parse_service(struct form *f, pcre2_match_data *md, size_t no, struct svc_item *it,
			  const char *default_address, const char *default_quantity)
{
	const char *s = it->text.s ? it->text.s : "";
	long quantity = 0;
	char *type = NULL, *address = NULL, *rest = NULL;
	size_t te, as;
	size_t n = strlen(s);
	/* An address has digits (a house number or a ZIP): without any, no
	 * pattern of addresses need run. */
	int digits = strpbrk(s, "0123456789") != NULL;
	/* The address first: "1416 9th Street, Sacramento - 2 x 100 Mbps". */
	size_t se = digits && n <= MAX_LINE ? rx_at(rx.street, s, 0, md) : 0;
	if (se && !lead_quantity(md, s, 0)) {
		if (rx_run(rx.sep_after, s, n, se, 0, md)) {
			address = xstrndup(s, ov(md)[0]);
			quantity = find_quantity(md, s + ov(md)[1], &rest);
			type = strip_seps(rest);
			rest = NULL;
		}
	}
	if (!address) {
		quantity = find_quantity(md, s, &rest);
		if (digits && find_address(md, rest, &te, &as)) {
			type = strip_seps(xstrndup(rest, te));
			address = xstrdup(rest + as);
		} else {
			type = strip_seps(xstrdup(rest));
		}
		free(rest);
	}
	if (!address && it->address)
		address = xstrdup(it->address);
	if (!address && default_address)
		address = xstrdup(default_address);
	if (address)
		strip_seps(address);
	if (!quantity && it->quantity)
		quantity = quantity_value(it->quantity);
	if (!quantity && default_quantity)
		quantity = quantity_value(default_quantity);
	if (it->types.len) {
		char *t = *type ? xasprintf("%s %s", type, it->types.s) : xstrdup(it->types.s);
		free(type);
		type = t;
	}
	const char *lacks[3];
	size_t k = 0;
	if (quantity < 1)
		lacks[k++] = "no quantity";
	if (!*type)
		lacks[k++] = "no service type";
	if (!address || strlen(address) > MAX_LINE ||
	    !(rx_test(rx.house_any, address, md) || zip_at(md, address, 0) != SIZE_MAX))
		lacks[k++] = "no street address";
	if (k) {
		char *m = join_and(lacks, k);
		add_problem(f, FORM_F_SERVICES, (int)no, 0, "Service %zu has %s.", no, m);
		free(m);
		free(type);
		free(address);
		return;
	}
	f->services = grow(f->services, f->n_services, sizeof(*f->services));
	f->services[f->n_services++] = (struct form_service){quantity, type, address};
}

static void raw_add(struct svc_item *it, const char *s)
{
	if (it->raw.len)
		buf_addc(&it->raw, ' ');
	buf_adds(&it->raw, s);
}

/* A sub-line of a service ("Location: 1416 9th Street"): stored in it.
 * Returns 1 when line was one. */
static int service_subline(pcre2_match_data *md, const char *line, struct svc_item *it)
{
	struct label_line l;
	if (label_of(md, line, &l) != L_LABEL)
		return 0;
	int t = l.target, ok = (t == P_ADDRESS || t == P_QUANTITY || t == P_TYPE) && !l.numbered;
	/* "Qty: 2 - SD-WAN at 1 Main St" is a whole item, not a sub-line */
	if (ok && t == P_QUANTITY && quantity_value(l.rest) < 1)
		ok = 0;
	if (ok) {
		raw_add(it, line + strspn(line, " \t"));
		char *v = str_trim(xstrdup(l.rest));
		if (t == P_ADDRESS && !it->address)
			it->address = v;
		else if (t == P_QUANTITY && !it->quantity)
			it->quantity = v;
		else if (t == P_TYPE && *v) {
			if (it->types.len)
				buf_addc(&it->types, ' ');
			buf_adds(&it->types, v);
			free(v);
		} else
			free(v);
	}
	free(l.text);
	return ok;
}

/* A line that starts a new service although it has no list marker:
 * "Service 2:", "Site 2:". Sets *rest to the text after the label. */
static int numbered_item(pcre2_match_data *md, const char *line, const char **rest)
{
	struct label_line l;
	if (label_of(md, line, &l) != L_LABEL)
		return 0;
	int ok = l.numbered && (l.target == F_SERVICES || l.target == P_ADDRESS);
	*rest = l.rest;
	free(l.text);
	return ok;
}

static void item_add(struct svc_item *it, const char *s)
{
	if (!*s)
		return;
	if (it->text.len)
		buf_addc(&it->text, ' ');
	buf_adds(&it->text, s);
	raw_add(it, s);
}

/* A line (no list marker) that continues the service above it rather than
 * starting one: its address, city or sub-line. */
static int continues_service(pcre2_match_data *md, const char *s, const struct svc_item *it)
{
	size_t n = strlen(s);
	if (n > MAX_LINE)
		return 0;
	if (rx_test(rx.city, s, md))
		return 1;
	char *rest = NULL;
	long q = find_quantity(md, s, &rest);
	free(rest);
	if (q)
		return 0;
	size_t te, as;
	int has_addr = it->address || (it->text.s && find_address(md, it->text.s, &te, &as));
	return !has_addr && (rx_at(rx.street, s, 0, md) || rx_at(rx.house, s, 0, md));
}

static void parse_services(struct form *f, pcre2_match_data *md, const struct strv *lines,
			   const char *default_address, const char *default_quantity,
			   const char *default_type)
{
	struct svc_item *items = NULL;
	size_t n = 0;
	int list = 0, open = 0;
	const char *rest;
	for (size_t i = 0; i < lines->n && !list; i++)
		list = bullet_rest(md, lines->v[i]) != NULL || numbered_item(md, lines->v[i], &rest);
	for (size_t i = 0; i < lines->n; i++) {
		const char *s = lines->v[i];
		const char *b = bullet_rest(md, s);
		if (!b && numbered_item(md, s, &rest))
			b = rest;
		if (!*s) {
			open = 0;
			continue;
		}
		struct svc_item *cur = open && n ? &items[n - 1] : NULL;
		if (cur && !b && service_subline(md, s, cur))
			continue;
		if (cur && !b && (list || continues_service(md, s, cur))) {
			item_add(cur, s);
			continue;
		}
		if (list && !b)
			continue; /* text around a marked list */
		items = grow(items, n, sizeof *items);
		memset(&items[n], 0, sizeof *items);
		if (!service_subline(md, b ? b : s, &items[n]))
			item_add(&items[n], b ? b : s);
		n++;
		open = 1;
	}
	/* Services written as labels of their own ("Service Type:", "Quantity:",
	 * "Location:") make one service when no list gave one. */
	if (!n && (default_type || default_quantity)) {
		items = grow(items, n, sizeof *items);
		memset(&items[n], 0, sizeof *items);
		if (default_type)
			buf_adds(&items[n].types, default_type);
		buf_addf(&items[n].raw, "%s%s%s%s%s", default_quantity ? default_quantity : "",
			 default_quantity ? " x " : "", default_type ? default_type : "",
			 default_address ? " at " : "", default_address ? default_address : "");
		n++;
	}
	if (!n)
		add_problem(f, FORM_F_SERVICES, 0, 0, "Services is missing: list each service as "
			    "\"- <quantity> x <type> at <street address>\".");
	struct buf raw = {0};
	for (size_t i = 0; i < n; i++) {
		parse_service(f, md, i + 1, &items[i], default_address,
			      n == 1 ? default_quantity : NULL);
		if (raw.len)
			buf_addc(&raw, '\n');
		buf_adds(&raw, items[i].raw.s ? items[i].raw.s : "");
		svc_item_free(&items[i]);
	}
	free(items);
	f->raw[F_SERVICES] = raw.len ? buf_steal(&raw) : NULL;
	buf_free(&raw);
}

/* The amount that ends s[0..n): sets *a0 to its start; 0 when none. */
static int trailing_amount(pcre2_match_data *md, const char *s, size_t n, size_t *a0, size_t *a1)
{
	if (!rx_run(rx.cost_amount, s, n, 0, 0, md))
		return 0;
	*a0 = ov(md)[0];
	*a1 = ov(md)[1];
	return 1;
}

/* A cost line: the amount that ends it ("item: $5", "item $5 (one-time)")
 * or starts it ("$5 - item", "$5 for item") and the item. Returns 1 with
 * *item (allocated, maybe "") and *cents set; 0 when it holds no amount. */
static int cost_line(pcre2_match_data *md, const char *s, char **item, long long *cents)
{
	size_t n = strlen(s), a0, a1;
	if (n > MAX_LINE)
		return 0;
	char *amount = NULL, *it = NULL;
	if (trailing_amount(md, s, n, &a0, &a1)) {
		amount = xstrndup(s + a0, a1 - a0);
		it = strip_seps(xstrndup(s, a0));
	} else if (rx_run(rx.remark, s, n, 0, 0, md)) {
		size_t r0 = ov(md)[0];
		if (trailing_amount(md, s, r0, &a0, &a1)) {
			char *lead = strip_seps(xstrndup(s, a0));
			char *remark = str_trim(xstrdup(s + r0));
			amount = xstrndup(s + a0, a1 - a0);
			it = *lead ? xasprintf("%s %s", lead, remark) : xstrdup(remark);
			free(lead);
			free(remark);
		}
	}
	if (!amount) {
		int rc = rx_run(rx.cost_first, s, n, 0, 0, md);
		if (rc) {
			amount = rx_group(md, rc, s, 1);
			it = strip_seps(xstrdup(s + ov(md)[1]));
		}
	}
	if (!amount)
		return 0;
	int ok = money_md(md, amount, cents) == 0;
	free(amount);
	if (!ok) {
		free(it);
		return 0;
	}
	*item = it;
	return 1;
}

static int has_amount(pcre2_match_data *md, const char *s, int *only)
{
	char *item;
	long long c;
	if (!cost_line(md, s, &item, &c))
		return 0;
	if (only)
		*only = !*item;
	free(item);
	return 1;
}

/* The cost items of lines; returns 0 when every item parsed. */
static int parse_cost_items(struct form *f, pcre2_match_data *md, const struct strv *lines)
{
	struct strv items = {0};
	int list = 0, bad = 0, open = 0;
	for (size_t i = 0; i < lines->n && !list; i++)
		list = bullet_rest(md, lines->v[i]) != NULL;
	struct buf b = {0};
	/* b, the item being read, ends in its amount: 1, 0, or -1 not known yet
	 * (asked only when a line may continue it) */
	int priced = -1;
	for (size_t i = 0; i < lines->n; i++) {
		const char *s = lines->v[i];
		const char *rest = list ? bullet_rest(md, s) : NULL;
		int only = 0;
		if (!*s) {
			if (b.len)
				strv_add_own(&items, buf_steal(&b));
			open = 0;
			continue;
		}
		if (list && !rest) {
			/* continues the item above until it has its amount */
			if (open && b.len && priced < 0)
				priced = has_amount(md, b.s, NULL);
			if (open && b.len && !priced) {
				buf_addc(&b, ' ');
				buf_adds(&b, s);
				priced = -1;
			}
			continue;
		}
		/* Without markers: "Installation:" above "$1,500", or a description
		 * wrapped over lines, continues the item above. */
		if (!list && b.len && priced < 0)
			priced = has_amount(md, b.s, NULL);
		if (!list && b.len && !priced) {
			int line_priced = has_amount(md, s, &only);
			size_t bl = strlen(b.s);
			int heading = b.s[bl - 1] == ':';
			/* a description wrapped over lines has no ':' of its own */
			int wrapped = !memchr(b.s, ':', bl);
			if ((line_priced && only) || (!line_priced && !heading) || wrapped) {
				buf_addc(&b, ' ');
				buf_adds(&b, s);
				priced = -1;
				continue;
			}
		}
		if (b.len)
			strv_add_own(&items, buf_steal(&b));
		buf_adds(&b, rest ? rest : s);
		priced = -1;
		open = 1;
	}
	if (b.len)
		strv_add_own(&items, buf_steal(&b));
	buf_free(&b);

	/* "a: $1; b: $2" on one line is two items. */
	struct strv split = {0};
	for (size_t i = 0; i < items.n; i++) {
		struct strv parts = {0};
		if (!strchr(items.v[i], ';')) {
			strv_add(&split, items.v[i]);
			continue;
		}
		strv_split(&parts, items.v[i], ';');
		int all = parts.n > 1;
		for (size_t k = 0; k < parts.n && all; k++)
			all = has_amount(md, parts.v[k], NULL);
		if (all)
			for (size_t k = 0; k < parts.n; k++)
				strv_add(&split, parts.v[k]);
		else
			strv_add(&split, items.v[i]);
		strv_free(&parts);
	}
	strv_free(&items);

	struct buf raw = {0};
	size_t no = 0;
	for (size_t i = 0; i < split.n; i++) {
		const char *s = split.v[i];
		char *item;
		long long cents;
		size_t len = strlen(s);
		if (!cost_line(md, s, &item, &cents)) {
			if (len && s[len - 1] == ':')
				continue; /* a sub-heading: "One-time:" */
			no++;
			add_problem(f, FORM_F_COST_ITEMS, (int)no, 0, "Cost item %zu has no amount.", no);
			bad = 1;
		} else if (!*item) {
			no++;
			add_problem(f, FORM_F_COST_ITEMS, (int)no, 0, "Cost item %zu has no description.", no);
			bad = 1;
			free(item);
		} else {
			no++;
			f->cost_items = grow(f->cost_items, f->n_cost_items, sizeof(*f->cost_items));
			f->cost_items[f->n_cost_items++] = (struct form_cost){item, cents};
		}
		if (raw.len)
			buf_addc(&raw, '\n');
		buf_adds(&raw, s);
	}
	f->raw[F_COST_ITEMS] = raw.len ? buf_steal(&raw) : NULL;
	buf_free(&raw);
	if (!no) {
		add_problem(f, FORM_F_COST_ITEMS, 0, 0, "Cost Items is missing.");
		bad = 1;
	}
	strv_free(&split);
	return bad;
}

static void check_cost_sum(struct form *f)
{
	long long sum = 0;
	for (size_t i = 0; i < f->n_cost_items; i++) {
		if (__builtin_add_overflow(sum, f->cost_items[i].cents, &sum)) {
			char *t = money_format(f->total_cost);
			add_problem(f, FORM_F_COST_ITEMS, 0, 0,
				    "Cost Items add up to more than the Total Cost of %s.", t);
			free(t);
			return;
		}
	}
	if (sum == f->total_cost)
		return;
	char *s = money_format(sum), *t = money_format(f->total_cost);
	add_problem(f, FORM_F_COST_ITEMS, 0, 0, "Cost Items add up to %s, not the Total Cost of %s.",
		    s, t);
	free(s);
	free(t);
}

/* Words a total may hold around its one amount. */
static int total_word(const char *w, size_t n)
{
	static const char *const words[] = {
		"total", "approximately", "approx", "about", "around", "estimated", "est", "roughly",
		"usd", "dollars", "only", "not", "to", "exceed", "nte", "for", "over", "across",
		"during", "the", "entire", "full", "whole", "contract", "term", "life", "lifetime",
		"of", "including", "incl", "inclusive", "tax", "taxes", "and", "fees", "all", "in",
		"one", "time", "months", "month", "years", "year", "yrs", "yr", "mos", "mo",
		"initial", "period", "base", "cost", "grand", "amount", "value", "combined"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
			return 1;
	return 0;
}

/* A Total Cost: a money amount, maybe with words around it that do not make
 * it a rate ("$97,560.00 (3 years)", "approximately $100,000 over 36
 * months"). Returns 0 with *cents set, or -1. */
static int total_parse(pcre2_match_data *md, const char *v, long long *cents)
{
	if (money_md(md, v, cents) == 0)
		return 0;
	size_t n = strlen(v);
	if (n > 400 || strchr(v, '/'))
		return -1;
	size_t pos = 0, found = 0, a0 = 0, a1 = 0;
	struct buf rest = {0};
	int rc;
	while (pos < n && (rc = rx_run(rx.money_tok, v, n, pos, 0, md)) > 0) {
		PCRE2_SIZE *o = ov(md);
		buf_add(&rest, v + pos, o[0] - pos);
		buf_addc(&rest, ' ');
		if (!group_set(md, rc, 4)) { /* an amount, not "36 months" */
			found++;
			a0 = o[0];
			a1 = o[1];
		}
		pos = o[1] > pos ? o[1] : pos + 1;
	}
	if (pos < n)
		buf_add(&rest, v + pos, n - pos);
	int ok = found == 1;
	for (const char *p = rest.s ? rest.s : ""; ok && *p;) {
		const unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			size_t w = 0;
			while ((p[w] >= 'a' && p[w] <= 'z') || (p[w] >= 'A' && p[w] <= 'Z'))
				w++;
			ok = total_word(p, w);
			p += w;
		} else if (c >= 0x80 || strchr(" \t\n(),.:-~=*", c)) {
			p++;
		} else {
			ok = 0;
		}
	}
	buf_free(&rest);
	if (!ok)
		return -1;
	char *amount = xstrndup(v + a0, a1 - a0);
	int r = money_md(md, amount, cents);
	free(amount);
	return r;
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
	add_problem(f, fields[fl].name, 0, 0, "%s is missing.", fields[fl].label);
}

/* The reason category of v, or NULL; *note gets its explanation, if any. */
static char *category_of(pcre2_match_data *md, const char *v, char **note)
{
	*note = NULL;
	if (strlen(v) > MAX_LINE)
		return NULL;
	int rc = rx_exec(rx.category, v, md);
	if (!rc)
		return NULL;
	const char *word = group_set(md, rc, 1) ? "features" : "availability";
	if (group_set(md, rc, 1)) {
		char *w = rx_group(md, rc, v, 1);
		if (str_startswith_ci(w, "func"))
			word = "functionality";
		free(w);
	}
	char *expl = rx_group(md, rc, v, 3);
	if (expl) {
		size_t n = strlen(expl);
		if (n && expl[n - 1] == ')' && !strchr(expl, '('))
			expl[n - 1] = '\0';
		str_trim(expl);
		/* "Features/Functionality": two categories are none */
		int two = *expl && rx_exec(rx.category, expl, md);
		if (!two) {
			char *w = xstrndup(expl, strcspn(expl, " \t,;:.-"));
			two = rx_exec(rx.category, w, md) > 0;
			free(w);
		}
		if (two) {
			free(expl);
			return NULL;
		}
		if (*expl)
			*note = expl;
		else
			free(expl);
	}
	return xstrdup(word);
}

/* ---- reading the lines ---- */

struct reader {
	pcre2_match_data *md;
	struct strv lines[P_COUNT];
	int seen[P_COUNT];
	int cur;      /* where value lines go, or -1 */
	int last;     /* the field that took the last line, or -1 */
	int started;  /* a field's label was read */
	int above[FORM_MAX_UNREAD]; /* the field above each unknown label, or -1 */
};

static int is_list(int fl)
{
	return fl == F_SERVICES || fl == F_COST_ITEMS;
}

/* An unknown label line under a list that is an item of it, or one of its
 * sub-headings. */
static int list_keeps(struct reader *r, const char *line, const struct label_line *l)
{
	const char *rest = l->rest + strspn(l->rest, " \t");
	if (!*rest)
		return 1;
	if (r->cur == F_COST_ITEMS) {
		char *item;
		long long c;
		if (cost_line(r->md, line, &item, &c)) {
			free(item);
			return 1;
		}
		return 0;
	}
	char *q = NULL;
	long n = find_quantity(r->md, line, &q);
	size_t te, as;
	int addr = find_address(r->md, q, &te, &as);
	free(q);
	return n > 0 || addr;
}

static void note_unread(struct form *f, struct reader *r, struct label_line *l)
{
	if (f->n_unread >= FORM_MAX_UNREAD)
		return;
	f->unread = grow(f->unread, f->n_unread, sizeof(*f->unread));
	struct form_unread *u = &f->unread[f->n_unread++];
	u->label = xstrdup(l->text);
	u->value = str_trim(xstrdup(l->rest));
	int t = suggest(l->text);
	u->suggest = t >= 0 && t < F_COUNT ? fields[t].name : NULL;
	r->above[f->n_unread - 1] = r->last >= 0 && r->last < F_COUNT ? r->last : -1;
}

static void read_line(struct form *f, struct reader *r, char *line)
{
	const char *t = line + strspn(line, " \t");
	if (*t == '>')
		return; /* quoted history kept between new text: never part of the form */
	if (t[0] == '(' && t[1] == '!' && t[2] == ')')
		return; /* a problem marked in a prefilled form */
	struct label_line l;
	if (label_of(r->md, line, &l) == L_LABEL) {
		int tg = l.target;
		/* "- Circuits: $90,000" under Cost Items is an item, not Services */
		long long cents;
		if (tg >= 0 && tg < F_COUNT && tg != r->cur && tg != F_TOTAL_COST && is_list(r->cur) &&
		    *(l.rest + strspn(l.rest, " \t")) &&
		    ((l.marked && list_keeps(r, line, &l)) ||
		     (r->cur == F_COST_ITEMS && money_md(r->md, l.rest, &cents) == 0)))
			tg = T_NONE, l.marked = 1;
		if (tg >= 0 && tg < F_COUNT && !(tg == F_SERVICES && r->cur == F_SERVICES && l.numbered)) {
			r->started = 1;
			if (r->seen[tg] && !is_list(tg)) {
				r->cur = -1;
			} else {
				if (!r->seen[tg])
					f->labels++;
				r->seen[tg] = 1;
				r->cur = tg;
				/* "Service 1:" keeps its label: it starts an item */
				add_line(r->md, &r->lines[tg], tg == F_SERVICES && l.numbered ? line : l.rest);
				r->last = tg;
			}
			free(l.text);
			return;
		}
		if (tg >= F_COUNT && tg < P_COUNT && r->cur != F_SERVICES) {
			if (!r->seen[tg]) {
				r->seen[tg] = 1;
				r->cur = tg;
				add_line(r->md, &r->lines[tg], l.rest);
				r->last = tg;
			} else {
				r->cur = -1;
			}
			free(l.text);
			return;
		}
		if (tg == T_IGNORE && r->started) {
			r->cur = -1;
			free(l.text);
			return;
		}
		if (tg == T_NONE && !l.marked && r->started &&
		    !(is_list(r->cur) && list_keeps(r, line, &l))) {
			note_unread(f, r, &l);
			r->cur = -1;
			free(l.text);
			return;
		}
		free(l.text);
	}
	if (r->cur >= 0) {
		add_line(r->md, &r->lines[r->cur], line);
		r->last = r->cur;
	}
}

/* Unknown labels as soft problems, with the field they may mean (else the
 * field above them). */
static void unread_problems(struct form *f, const struct reader *r)
{
	for (size_t i = 0; i < f->n_unread; i++) {
		const struct form_unread *u = &f->unread[i];
		const char *field = u->suggest ? u->suggest
				  : fields[r->above[i] >= 0 ? r->above[i] : F_ENTITY].name;
		const char *label = NULL;
		for (int k = 0; k < F_COUNT && u->suggest; k++)
			if (strcmp(fields[k].name, u->suggest) == 0)
				label = fields[k].label;
		char *q = quote_value(u->label);
		if (label && strcasecmp(label, u->label) != 0)
			add_problem(f, field, 0, 1, "Unknown label \"%s\" (did you mean %s?).", q, label);
		else
			add_problem(f, field, 0, 1, "Unknown label \"%s\": its line was not read.", q);
		free(q);
	}
}

void form_parse(const char *text, struct form *out)
{
	rx_init();
	struct reader r = {.md = md_new(), .cur = -1, .last = -1};
	char *norm = normalize(text ? text : "");
	for (char *line = norm; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (r.started && is_stop(r.md, line))
			break;
		read_line(out, &r, line);
		line = nl ? nl + 1 : NULL;
	}
	if (r.last >= 0)
		trim_signature(r.md, &r.lines[r.last], r.last == F_ENTITY || r.last == F_PROVIDER ||
			       r.last == F_TOTAL_COST || r.last == F_REASON_CATEGORY);
	pcre2_match_data *md = r.md;
	struct strv *lines = r.lines;

	for (int i = 0; i < F_COUNT; i++)
		if (i != F_SERVICES && i != F_COST_ITEMS)
			out->raw[i] = value_text(&lines[i], i == F_ENTITY || i == F_REASON_CATEGORY ||
							  i == F_TOTAL_COST || i == F_PROVIDER);

	char *v;
	out->entity = xstrdup(out->raw[F_ENTITY]);
	if (!out->entity)
		missing(out, F_ENTITY);
	char *addr = value_text(&lines[P_ADDRESS], 1), *qty = value_text(&lines[P_QUANTITY], 1);
	char *type = value_text(&lines[P_TYPE], 1);
	parse_services(out, md, &lines[F_SERVICES], addr, qty, type);
	free(addr);
	free(qty);
	free(type);
	out->reason = xstrdup(out->raw[F_REASON]);

	char *note = NULL;
	v = out->raw[F_REASON_CATEGORY];
	char *cat = v ? category_of(md, v, &note) : NULL;
	if (!out->reason && note) {
		out->reason = note; /* "Availability - CGEN has no fiber there" */
		note = NULL;
	}
	free(note);
	if (!out->reason)
		missing(out, F_REASON);
	if (!v)
		missing(out, F_REASON_CATEGORY);
	else if (!cat)
		add_problem(out, FORM_F_REASON_CATEGORY, 0, 0,
			    "Reason Category must be features, functionality or availability.");
	else
		out->reason_category = cat;

	v = out->raw[F_CONTRACT_TERM];
	if (!v)
		missing(out, F_CONTRACT_TERM);
	else if (strlen(v) > MAX_LINE * 4 || !rx_test(rx.term, v, md))
		add_problem(out, FORM_F_CONTRACT_TERM, 0, 0,
			    "Contract Term must give a length, e.g. 36 months.");
	else
		out->contract_term = xstrdup(v);

	out->early_termination = xstrdup(out->raw[F_EARLY_TERMINATION]);
	if (!out->early_termination)
		missing(out, F_EARLY_TERMINATION);
	out->extension_options = xstrdup(out->raw[F_EXTENSION_OPTIONS]);
	if (!out->extension_options)
		missing(out, F_EXTENSION_OPTIONS);

	v = out->raw[F_TOTAL_COST];
	if (!v) {
		missing(out, F_TOTAL_COST);
	} else if (total_parse(md, v, &out->total_cost) != 0) {
		char *q = quote_value(v);
		add_problem(out, FORM_F_TOTAL_COST, 0, 0, "Total Cost is not a money amount: \"%s\".", q);
		free(q);
	} else {
		out->has_total_cost = 1;
	}

	if (parse_cost_items(out, md, &lines[F_COST_ITEMS]) == 0 && out->has_total_cost)
		check_cost_sum(out);

	out->provider = xstrdup(out->raw[F_PROVIDER]);
	if (!out->provider)
		missing(out, F_PROVIDER);
	out->vendor_documentation = xstrdup(out->raw[F_VENDOR_DOCUMENTATION]);
	out->service_levels = xstrdup(out->raw[F_SERVICE_LEVELS]);
	/* The case id is checked by the engine, which can look the exemption up:
	 * the first paragraph only. */
	if (out->raw[F_RENEWS]) {
		const char *rn = out->raw[F_RENEWS], *end = strstr(rn, "\n\n");
		out->renews = end ? xstrndup(rn, (size_t)(end - rn)) : xstrdup(rn);
	}

	for (int i = 0; i < F_COUNT; i++)
		out->filled += r.seen[i] && out->raw[i] != NULL;
	if (out->n_problems)
		unread_problems(out, &r);

	for (int i = 0; i < P_COUNT; i++)
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

/* ---- the prefilled form ---- */

static int field_index(const char *name)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

/* The "(!)" lines of field fl's problems about the whole field; pfi holds
 * each problem's field index. */
static void marks(struct buf *b, const struct form *f, const int *pfi, int fl)
{
	for (size_t i = 0; i < f->n_problems; i++)
		if (pfi[i] == fl && f->problems[i].item == 0)
			buf_addf(b, "(!) %s\n", f->problems[i].message);
}

/* Orders indexes of f's problems by item, then by index. */
static const struct form *sort_form;
static int by_item(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int x = sort_form->problems[i].item, y = sort_form->problems[j].item;
	if (x != y)
		return x < y ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* A text value after "Label:": on the same line, its other lines below. */
static void prefill_value(struct buf *b, const char *label, const char *v)
{
	buf_addf(b, "%s:%s%s\n", label, v && *v ? " " : "", v ? v : "");
}

/* The unknown label that may give field fl its value, or NULL. */
static const struct form_unread *unread_for(const struct form *f, int fl)
{
	for (size_t i = 0; i < f->n_unread; i++)
		if (f->unread[i].suggest && field_index(f->unread[i].suggest) == fl &&
		    *f->unread[i].value)
			return &f->unread[i];
	return NULL;
}

/* The "(!)" line of a field filled in from an unknown label. */
static void mark_guess(struct buf *b, const struct form_unread *u, const char *label)
{
	char *v = quote_value(u->value);
	buf_addf(b, "(!) %s is missing; this was read from the line \"%s: %s\": check it and "
		 "send the form back.\n", label, u->label, v);
	free(v);
}

char *form_prefill_text(const struct form *f)
{
	struct buf b = {0};
	int *pfi = xcalloc(f->n_problems + 1, sizeof *pfi);
	size_t *items = xcalloc(f->n_problems + 1, sizeof *items);
	for (size_t i = 0; i < f->n_problems; i++)
		pfi[i] = field_index(f->problems[i].field);
	for (int fl = 0; fl < F_COUNT; fl++) {
		const char *label = fields[fl].label;
		if (fl == F_SERVICES || fl == F_COST_ITEMS) {
			/* This list's item problems, by item: one pass over both. */
			size_t n = 0, k = 0;
			for (size_t i = 0; i < f->n_problems; i++)
				if (pfi[i] == fl && f->problems[i].item > 0)
					items[n++] = i;
			int sorted = 1; /* as parsed, unless problems were added */
			for (size_t i = 1; i < n && sorted; i++)
				sorted = f->problems[items[i - 1]].item <= f->problems[items[i]].item;
			sort_form = f;
			if (!sorted)
				qsort(items, n, sizeof *items, by_item);
			buf_addf(&b, "%s:\n", label);
			size_t valid = 0;
			int no = 0;
			for (const char *p = f->raw[fl]; p && *p;) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);
				no++;
				while (k < n && f->problems[items[k]].item < no)
					k++;
				int bad = k < n && f->problems[items[k]].item == no;
				if (bad || (fl == F_SERVICES ? valid >= f->n_services
							     : valid >= f->n_cost_items)) {
					buf_adds(&b, "- ");
					buf_add(&b, p, len);
					buf_addc(&b, '\n');
					for (; k < n && f->problems[items[k]].item == no; k++) {
						buf_adds(&b, "(!) ");
						buf_adds(&b, f->problems[items[k]].message);
						buf_addc(&b, '\n');
					}
				} else if (fl == F_SERVICES) {
					const struct form_service *s = &f->services[valid++];
					buf_addf(&b, "- %ld x %s at %s\n", s->quantity, s->type, s->address);
				} else {
					char *a = money_format(f->cost_items[valid].cents);
					buf_adds(&b, "- ");
					buf_adds(&b, f->cost_items[valid++].item);
					buf_adds(&b, ": ");
					buf_adds(&b, a);
					buf_addc(&b, '\n');
					free(a);
				}
				p = nl ? nl + 1 : p + len;
			}
			const struct form_unread *u = f->raw[fl] ? NULL : unread_for(f, fl);
			if (u) {
				buf_addf(&b, "- %s\n", u->value);
				mark_guess(&b, u, label);
			} else {
				marks(&b, f, pfi, fl);
			}
			continue;
		}
		const char *v = NULL;
		char *owned = NULL;
		switch (fl) {
		case F_ENTITY: v = f->entity; break;
		case F_REASON: v = f->reason; break;
		case F_REASON_CATEGORY: v = f->reason_category; break;
		case F_CONTRACT_TERM: v = f->contract_term; break;
		case F_EARLY_TERMINATION: v = f->early_termination; break;
		case F_EXTENSION_OPTIONS: v = f->extension_options; break;
		case F_TOTAL_COST:
			if (f->has_total_cost)
				v = owned = money_format(f->total_cost);
			break;
		case F_PROVIDER: v = f->provider; break;
		case F_VENDOR_DOCUMENTATION: v = f->vendor_documentation; break;
		case F_SERVICE_LEVELS: v = f->service_levels; break;
		case F_RENEWS: v = f->renews; break;
		default: break;
		}
		if (!v)
			v = f->raw[fl];
		if (fl == F_RENEWS && !v && !unread_for(f, fl))
			continue; /* optional, and most requests renew nothing */
		const struct form_unread *u = v ? NULL : unread_for(f, fl);
		prefill_value(&b, label, u ? u->value : v);
		free(owned);
		if (u)
			mark_guess(&b, u, label);
		else
			marks(&b, f, pfi, fl);
	}
	for (size_t i = 0; i < f->n_problems; i++)
		if (pfi[i] < 0)
			buf_addf(&b, "(!) %s\n", f->problems[i].message);
	free(pfi);
	free(items);
	return buf_steal(&b);
}

char *form_unread_text(const struct form *f)
{
	struct buf b = {0};
	if (!f->n_unread)
		return buf_steal(&b);
	buf_adds(&b, "These lines look like form fields but are not part of the form, so they "
		 "were not read:\n");
	for (size_t i = 0; i < f->n_unread; i++) {
		char *v = quote_value(f->unread[i].value);
		buf_addf(&b, "- %s: %s\n", f->unread[i].label, v);
		free(v);
	}
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
	for (int i = 0; i < FORM_NFIELDS; i++)
		free(f->raw[i]);
	for (size_t i = 0; i < f->n_unread; i++) {
		free(f->unread[i].label);
		free(f->unread[i].value);
	}
	free(f->unread);
	memset(f, 0, sizeof(*f));
}

int money_parse(const char *s, long long *cents)
{
	if (!s)
		return -1;
	rx_init();
	pcre2_match_data *md = md_new();
	int ret = money_md(md, s, cents);
	pcre2_match_data_free(md);
	return ret;
}

static int money_md(pcre2_match_data *md, const char *s, long long *cents)
{
	int ret = -1;
	int rc = strlen(s) <= MAX_LINE ? rx_exec(rx.money, s, md) : 0;
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
	return ret;
}

char *money_format(long long cents)
{
	unsigned long long u = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
	unsigned long long whole = u / 100;
	char digits[32], out[48];
	int n = 0, k = 0;
	do
		digits[n++] = (char)('0' + whole % 10);
	while ((whole /= 10) > 0);
	if (cents < 0)
		out[k++] = '-';
	out[k++] = '$';
	for (int i = n - 1; i >= 0; i--) {
		out[k++] = digits[i];
		if (i && i % 3 == 0)
			out[k++] = ',';
	}
	out[k++] = '.';
	out[k++] = (char)('0' + u % 100 / 10);
	out[k++] = (char)('0' + u % 10);
	return xstrndup(out, (size_t)k);
}
