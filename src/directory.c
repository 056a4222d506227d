/* directory.c: see directory.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"

enum col { COL_CODE, COL_NAME, COL_DOMAINS, COL_AIO, COL_CIO, COL_AIO_DEL, COL_CIO_DEL,
	   COL_EXEMPT, NCOLS };

static const char *const col_names[NCOLS] = {
	"code", "name", "domains", "aio", "cio", "aio_delegates", "cio_delegates", "exempt",
};

/* One CSV record: its fields (trimmed) and the physical line it starts on. */
struct record {
	struct strv f;
	size_t line;
	const char *error; /* quoting problem, or NULL */
};

struct csv {
	const char *p, *end;
	size_t line;
};

static int at_eol(const struct csv *c)
{
	return c->p < c->end &&
	       (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'));
}

static void skip_eol(struct csv *c)
{
	if (*c->p == '\r')
		c->p++;
	c->p++;
	c->line++;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Reads one field of RFC 4180 CSV into b; leaves c->p on the separator, the
 * line end or the end of data. Blanks around a quoted field are allowed. */
static void read_field(struct csv *c, struct buf *b, struct record *r)
{
	const char *q = c->p;
	while (q < c->end && is_blank(*q))
		q++;
	if (q < c->end && *q == '"') {
		c->p = q + 1;
		for (;;) {
			if (c->p >= c->end) {
				if (!r->error)
					r->error = "unterminated quoted field";
				return;
			}
			if (*c->p == '"') {
				if (c->p + 1 < c->end && c->p[1] == '"') {
					buf_addc(b, '"');
					c->p += 2;
					continue;
				}
				c->p++;
				break;
			}
			if (*c->p == '\n')
				c->line++;
			buf_addc(b, *c->p++);
		}
		while (c->p < c->end && is_blank(*c->p))
			c->p++;
		if (c->p < c->end && *c->p != ',' && !at_eol(c)) {
			if (!r->error)
				r->error = "unexpected text after a closing quote";
			while (c->p < c->end && *c->p != ',' && !at_eol(c))
				buf_addc(b, *c->p++);
		}
		return;
	}
	while (c->p < c->end && *c->p != ',' && !at_eol(c)) {
		if (*c->p == '"' && !r->error)
			r->error = "quote inside an unquoted field (quote the whole field)";
		buf_addc(b, *c->p++);
	}
}

/* Reads the next record; 0 at the end of data. */
static int read_record(struct csv *c, struct record *r)
{
	if (c->p >= c->end)
		return 0;
	r->line = c->line;
	for (;;) {
		struct buf b = {0};
		read_field(c, &b, r);
		strv_add_own(&r->f, str_trim(buf_steal(&b)));
		if (c->p >= c->end)
			break;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		skip_eol(c);
		break;
	}
	return 1;
}

static void record_free(struct record *r)
{
	strv_free(&r->f);
	r->error = NULL;
}

static int record_empty(const struct record *r)
{
	return !r->error && r->f.n == 1 && r->f.v[0][0] == '\0';
}

/* Maps header fields to columns: map[col] = field index. Returns 0 or -1. */
static int read_header(const struct record *r, const char *fname, size_t map[NCOLS],
		       struct strv *errors)
{
	int bad = 0;
	size_t seen[NCOLS] = {0};
	if (r->error) {
		strv_addf(errors, "%s:%zu: %s", fname, r->line, r->error);
		return -1;
	}
	for (size_t i = 0; i < r->f.n; i++) {
		size_t k;
		for (k = 0; k < NCOLS; k++)
			if (strcasecmp(r->f.v[i], col_names[k]) == 0)
				break;
		if (k == NCOLS) {
			strv_addf(errors, "%s:%zu: unknown column \"%s\"", fname, r->line, r->f.v[i]);
			bad = 1;
		} else if (seen[k]) {
			strv_addf(errors, "%s:%zu: duplicate column \"%s\"", fname, r->line,
				  col_names[k]);
			bad = 1;
		} else {
			seen[k] = 1;
			map[k] = i;
		}
	}
	for (size_t k = 0; k < NCOLS; k++)
		if (!seen[k]) {
			strv_addf(errors, "%s:%zu: missing column \"%s\"", fname, r->line,
				  col_names[k]);
			bad = 1;
		}
	return bad ? -1 : 0;
}

static int domain_valid(const char *d)
{
	int dots = 0;
	size_t label = 0;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (!label)
				return 0;
			dots++;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return dots > 0 && label > 0;
}

/* Lowercases and checks a ';'-separated list of addresses into out, dropping
 * repeats. Returns the number of invalid items (each reported). */
static int take_addrs(const char *field, const char *col, struct strv *out, const char *fname,
		      size_t line, struct strv *errors)
{
	struct strv items = {0};
	int bad = 0;
	strv_split(&items, field, ';');
	for (size_t i = 0; i < items.n; i++) {
		char *a = str_lower(items.v[i]);
		if (!addr_valid(a)) {
			strv_addf(errors, "%s:%zu: invalid %s address \"%s\"", fname, line, col, a);
			bad++;
		} else if (!strv_contains_ci(out, a)) {
			strv_add(out, a);
		}
	}
	strv_free(&items);
	return bad;
}

/* One approver column: NULL when empty, else a lowercase valid address. */
static int take_approver(const char *field, const char *col, char **out, const char *fname,
			 size_t line, struct strv *errors)
{
	if (!*field)
		return 0;
	char *a = str_lower(xstrdup(field));
	if (!addr_valid(a)) {
		strv_addf(errors, "%s:%zu: invalid %s address \"%s\"", fname, line, col, a);
		free(a);
		return 1;
	}
	*out = a;
	return 0;
}

static void entity_free(struct entity *e)
{
	free(e->code);
	free(e->name);
	strv_free(&e->domains);
	free(e->aio);
	free(e->cio);
	strv_free(&e->aio_delegates);
	strv_free(&e->cio_delegates);
	free(e->exempt);
	memset(e, 0, sizeof(*e));
}

/* Builds *e from a record; reports every problem. Returns 0 when the row is good. */
static int read_entity(const struct record *r, const size_t map[NCOLS], const char *fname,
		       struct entity *e, struct strv *errors)
{
	size_t line = r->line;
	int bad = 0;
	const char *col[NCOLS];
	for (size_t k = 0; k < NCOLS; k++)
		col[k] = r->f.v[map[k]];

	if (!*col[COL_CODE]) {
		strv_addf(errors, "%s:%zu: empty code", fname, line);
		bad = 1;
	}
	e->code = xstrdup(col[COL_CODE]);
	if (!*col[COL_NAME]) {
		strv_addf(errors, "%s:%zu: empty name", fname, line);
		bad = 1;
	}
	e->name = xstrdup(col[COL_NAME]);

	struct strv doms = {0};
	strv_split(&doms, col[COL_DOMAINS], ';');
	if (!doms.n) {
		strv_addf(errors, "%s:%zu: no domains", fname, line);
		bad = 1;
	}
	for (size_t i = 0; i < doms.n; i++) {
		char *d = str_lower(doms.v[i]);
		if (!domain_valid(d)) {
			strv_addf(errors, "%s:%zu: invalid domain \"%s\"", fname, line, d);
			bad = 1;
		} else if (!strv_contains_ci(&e->domains, d)) {
			strv_add(&e->domains, d);
		}
	}
	strv_free(&doms);

	if (*col[COL_EXEMPT])
		e->exempt = xstrdup(col[COL_EXEMPT]);
	if (take_approver(col[COL_AIO], "aio", &e->aio, fname, line, errors))
		bad = 1;
	else if (!*col[COL_AIO] && !e->exempt) {
		strv_addf(errors, "%s:%zu: missing aio (required unless exempt)", fname, line);
		bad = 1;
	}
	if (take_approver(col[COL_CIO], "cio", &e->cio, fname, line, errors))
		bad = 1;
	else if (!*col[COL_CIO] && !e->exempt) {
		strv_addf(errors, "%s:%zu: missing cio (required unless exempt)", fname, line);
		bad = 1;
	}
	if (take_addrs(col[COL_AIO_DEL], "aio_delegates", &e->aio_delegates, fname, line, errors))
		bad = 1;
	if (take_addrs(col[COL_CIO_DEL], "cio_delegates", &e->cio_delegates, fname, line, errors))
		bad = 1;
	return bad ? -1 : 0;
}

int directory_parse_csv(const char *data, size_t len, const char *fname,
			struct directory *out, struct strv *errors)
{
	struct csv c = {data, data + len, 1};
	struct directory d = {0};
	size_t *lines = NULL; /* line of each entity in d, for duplicate reports */
	size_t map[NCOLS] = {0};
	int bad = 0, have_header = 0;
	struct record r = {0};

	out->v = NULL;
	out->n = 0;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		c.p += 3;

	while (read_record(&c, &r)) {
		if (record_empty(&r)) {
			record_free(&r);
			continue;
		}
		if (!have_header) {
			have_header = 1;
			if (read_header(&r, fname, map, errors) < 0) {
				record_free(&r);
				bad = 1;
				goto out;
			}
			record_free(&r);
			continue;
		}
		if (r.error) {
			strv_addf(errors, "%s:%zu: %s", fname, r.line, r.error);
			bad = 1;
		} else if (r.f.n != NCOLS) {
			strv_addf(errors, "%s:%zu: expected %d fields, found %zu", fname, r.line,
				  NCOLS, r.f.n);
			bad = 1;
		} else {
			struct entity e = {0};
			int rc = read_entity(&r, map, fname, &e, errors);
			for (size_t i = 0; *e.code && i < d.n; i++)
				if (strcasecmp(d.v[i].code, e.code) == 0) {
					strv_addf(errors, "%s:%zu: duplicate code \"%s\" (first on line %zu)",
						  fname, r.line, e.code, lines[i]);
					rc = -1;
					break;
				}
			if (rc < 0)
				bad = 1;
			/* A bad row is kept too, so later duplicates name its line. */
			d.v = xrealloc(d.v, (d.n + 1) * sizeof(*d.v));
			lines = xrealloc(lines, (d.n + 1) * sizeof(*lines));
			d.v[d.n] = e;
			lines[d.n++] = r.line;
		}
		record_free(&r);
	}
	if (!have_header) {
		strv_addf(errors, "%s:1: no header row (expected %s,%s,%s,%s,%s,%s,%s,%s)", fname,
			  col_names[0], col_names[1], col_names[2], col_names[3], col_names[4],
			  col_names[5], col_names[6], col_names[7]);
		bad = 1;
	}
out:
	free(lines);
	if (bad) {
		directory_free(&d);
		return -1;
	}
	*out = d;
	return 0;
}

void directory_free(struct directory *d)
{
	for (size_t i = 0; i < d->n; i++)
		entity_free(&d->v[i]);
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

/* Lowercase ASCII letters and digits of s, everything else dropped. */
static char *fold(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *q = o;
	for (; *s; s++) {
		char ch = *s;
		if (ch >= 'A' && ch <= 'Z')
			*q++ = (char)(ch - 'A' + 'a');
		else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			*q++ = ch;
	}
	*q = '\0';
	return o;
}

static int folds_equal(const char *a, const char *folded)
{
	char *f = fold(a);
	int eq = strcmp(f, folded) == 0;
	free(f);
	return eq;
}

const struct entity *directory_find(const struct directory *d, const char *text)
{
	const struct entity *hit = NULL;
	if (!text)
		return NULL;
	char *key = fold(text);
	if (!*key)
		goto out;
	for (size_t i = 0; !hit && i < d->n; i++)
		if (folds_equal(d->v[i].code, key))
			hit = &d->v[i];
	for (size_t i = 0; !hit && i < d->n; i++)
		if (folds_equal(d->v[i].name, key))
			hit = &d->v[i];
out:
	free(key);
	return hit;
}

const struct entity *directory_by_code(const struct directory *d, const char *code)
{
	for (size_t i = 0; code && i < d->n; i++)
		if (strcasecmp(d->v[i].code, code) == 0)
			return &d->v[i];
	return NULL;
}

size_t directory_by_domain(const struct directory *d, const char *domain,
			   const struct entity **first)
{
	size_t n = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < d->n; i++)
		if (entity_has_domain(&d->v[i], domain)) {
			if (!n && first)
				*first = &d->v[i];
			n++;
		}
	return n;
}

int entity_has_domain(const struct entity *e, const char *domain)
{
	return domain && *domain && strv_contains_ci(&e->domains, domain);
}

int entity_is_aio(const struct entity *e, const char *addr)
{
	return addr_equal(e->aio, addr) || (addr && strv_contains_ci(&e->aio_delegates, addr));
}

int entity_is_cio(const struct entity *e, const char *addr)
{
	return addr_equal(e->cio, addr) || (addr && strv_contains_ci(&e->cio_delegates, addr));
}
