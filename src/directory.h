/* directory.h: the entity directory of DESIGN.md section 1 (pure).
 *
 * CSV (RFC 4180, header row, UTF-8, BOM ignored), columns
 * code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt (any order,
 * all required); domains and delegates are ';'-separated. */
#ifndef CGEN_DIRECTORY_H
#define CGEN_DIRECTORY_H

#include <stddef.h>
#include "util.h"

struct entity {
	char *code;             /* as written, e.g. "CDT" or "DWR" */
	char *name;
	struct strv domains;    /* lowercase, >= 1 */
	char *aio, *cio;        /* lowercase addresses; NULL only for exempt entities */
	struct strv aio_delegates, cio_delegates; /* lowercase addresses */
	char *exempt;           /* NULL when not exempt, else the basis ("SCIF", ...) */
};

struct directory {
	struct entity *v;
	size_t n;
};

/* Parses a whole CSV file. Returns 0 with *out filled (overwritten, not freed),
 * or -1 with every bad row reported in errors as "FNAME:LINE: message" (LINE:
 * where the record starts) and *out left empty. Fields are trimmed; addresses
 * and domains lowercased; empty lines skipped. Checks: the
 * header, column counts, quoting, required code/name/domains, unique codes
 * (case-insensitive),
 * valid addresses (aio and cio required unless exempt), valid domains, and a
 * domain listed by two entities is allowed (lookups by domain then fail over
 * to code or name). */
int directory_parse_csv(const char *data, size_t len, const char *fname,
			struct directory *out, struct strv *errors);
void directory_free(struct directory *d);

/* The entity whose code or name matches text, ignoring case, white space and
 * punctuation (every byte but ASCII letters and digits); a code match wins
 * over a name match; NULL when none or text is NULL. */
const struct entity *directory_find(const struct directory *d, const char *text);
/* The entity with that code, case-insensitive; NULL when none. */
const struct entity *directory_by_code(const struct directory *d, const char *code);
/* Number of entities listing domain (case-insensitive exact match); *first is
 * set to the first of them (may be NULL when not wanted). */
size_t directory_by_domain(const struct directory *d, const char *domain,
			   const struct entity **first);
int entity_has_domain(const struct entity *e, const char *domain);
/* 1 when addr is the entity's AIO (or CIO) or one of its delegates. */
int entity_is_aio(const struct entity *e, const char *addr);
int entity_is_cio(const struct entity *e, const char *addr);

#endif
