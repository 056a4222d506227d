/* export.h: the central file of granted exemptions (DESIGN.md section 6), the
 * folder CDT receives for audit, and its check against the store.
 *
 * Layout of an export folder DIR:
 *   DIR/CGEN-2026-0042/request.eml      the original request, exact bytes
 *   DIR/CGEN-2026-0042/request-2.eml    each later version of the request (the
 *                                       corrected forms), in order, exact bytes
 *   DIR/CGEN-2026-0042/attachments/...  every attachment of every mail on the
 *                                       case (each content once), decoded, safe names
 *   DIR/CGEN-2026-0042/decision.eml     the decision mailed to the requester
 *   DIR/CGEN-2026-0042/case.json        the `show --json` object (age_days as
 *                                       of the grant, so it does not change)
 *   DIR/CGEN-2026-0042/events.jsonl     one event a line: seq, at, kind, actor,
 *                                       detail, prev, hash
 *   DIR/index.csv                       one row per exported case (RFC 4180)
 *   DIR/index.html                      the same rows for a browser, with links to
 *                                       each case's folder and files
 *   DIR/SHA256SUMS                      `sha256sum` lines over every other file
 * request.eml, request-N.eml, decision.eml and attachments/ are absent when the store has no
 * such mail or attachment. Every file is written to a temporary name, synced,
 * renamed and its folder synced; a file whose bytes did not change is not
 * touched. */
#ifndef CGEN_EXPORT_H
#define CGEN_EXPORT_H

#include <stddef.h>
#include <time.h>

#include "message.h"
#include "case.h"
#include "store.h"
#include "util.h"

enum { EXPORT_OK = 0, EXPORT_ERR = -1 };

/* Which granted cases an export adds. */
struct export_filter {
	const char *entity; /* entity code (ASCII case-insensitive), or NULL: any */
	time_t since;       /* granted at or after this time; 0: any */
};

struct export_stats {
	size_t cases;     /* case folders in the export */
	size_t written;   /* files written (new or changed) */
	size_t unchanged; /* files already up to date */
};

/* "YYYY-MM-DD" as the start of that day in the local time zone (TZ) into
 * *out. Returns 0, or -1 when s is not such a date. */
int export_parse_date(const char *s, time_t *out);

/* Safe, distinct file names for the attachments of m, in att order, into out
 * (appended): '/', '\\', control characters, invalid UTF-8 and the characters
 * Windows forbids become '_'; runs of dots become one dot; leading and
 * trailing dots and spaces go; Windows device names get a '_' in front; at
 * most 100 bytes (the extension kept); "attachment-N" for attachment N
 * (from 1) when nothing of its name is left; a name equal but for ASCII case
 * to an earlier one gets "-2", "-3"... before its extension. */
void export_attachment_names(const struct message *m, struct strv *out);

/* One document of a case: an attachment of one of its stored mails. */
struct case_doc {
	char *name;         /* safe and distinct among the case's documents (as above) */
	char *type;         /* MIME type, lowercase */
	size_t size;
	char sha256[65];
	char *data;         /* decoded bytes, NUL after size */
	int64_t msg;        /* the stored mail it came with */
	char *from;         /* that mail's sender ("" when none) */
	time_t at;          /* when that mail arrived */
};
/* The attachments of the stored mails of case case_id, in arrival order, each
 * content (SHA-256) once; with from not NULL, only those of mails from that
 * address. Returns EXPORT_OK with *out an allocated array of *n documents
 * (free with export_case_docs_free), or EXPORT_ERR with *err allocated. */
int export_case_docs(struct store *st, const char *case_id, const char *from,
		     struct case_doc **out, size_t *n, char **err);
void export_case_docs_free(struct case_doc *v, size_t n);

/* Writes or updates the export in folder dir (created if missing; its parent
 * must exist): the granted cases that f selects (f may be NULL: all), plus
 * every case already exported there, refreshed from the store. Idempotent.
 * stats may be NULL. Returns EXPORT_OK, or EXPORT_ERR with *err allocated
 * (store or file error; or dir holds a case folder that is not a granted case
 * of this store, in which case nothing is written). */
int export_granted(struct store *st, const char *dir, const struct export_filter *f,
		   struct export_stats *stats, char **err);

/* Checks export folder dir against its SHA256SUMS and against the store: every
 * listed file exists and has its hash, no file is unlisted, and every case
 * folder, index.csv and SHA256SUMS hold what export_granted would write now
 * for the cases present. Each problem is appended to findings as one line
 * naming the file ("CGEN-2026-0001/case.json: differs from the store").
 * *ncases gets the number of case folders (may be NULL). Returns EXPORT_OK
 * when the check ran (findings may be empty), EXPORT_ERR with *err allocated
 * when it could not (dir unreadable, store error). */
int export_verify(struct store *st, const char *dir, struct strv *findings, size_t *ncases,
		  char **err);

/* The central file's index (index.csv, and the CSV of AUDIT by mail): its
 * header line, and one granted case's line (RFC 4180, CRLF). A cell that
 * starts with = + - @, TAB or CR is written quoted with a leading ' (OWASP's
 * rule against CSV formula injection). */
void export_index_header(struct buf *b);
void export_index_row(struct buf *b, const struct case_rec *c);

#endif
