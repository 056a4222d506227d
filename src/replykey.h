/* replykey.h: reply keys of DESIGN.md section 4 (GnuTLS HMAC).
 *
 * key = lowercase base32 (RFC 4648 alphabet, no padding) of the first 16 bytes
 * of HMAC-SHA256(secret, "case_id\nstep\nrole\naddressee"): 26 characters. */
#ifndef CGEN_REPLYKEY_H
#define CGEN_REPLYKEY_H

#include <stddef.h>
#include "util.h"

#define REPLYKEY_LEN 26

/* Computes the key into out (REPLYKEY_LEN + 1 bytes). addressee is compared
 * lowercase (it is lower-cased before hashing). */
void replykey_make(const char *secret, const char *case_id, int step,
		   const char *role, const char *addressee, char out[REPLYKEY_LEN + 1]);
/* 1 when key equals the key made with any of secrets (constant-time compare). */
int replykey_check(const struct strv *secrets, const char *key, const char *case_id,
		   int step, const char *role, const char *addressee);
/* 1 when s is REPLYKEY_LEN characters of [a-z2-7]. */
int replykey_syntax(const char *s);

/* Candidate keys found in a mail, in the lookup order of section 4: the
 * sub-address of To/Cc/Delivered-To addresses whose local part is
 * agent_local+KEY and domain agent_domain; In-Reply-To then References ids of
 * the form "cgen.KEY.*"; "Ref: KEY" lines of the body (quoted or not). Each
 * distinct key is appended once to keys. */
struct message;
void replykey_find(const struct message *m, const char *agent_addr, struct strv *keys);

#define REPLYKEY_TAG_MAX 24
/* Finds the first case tag "[CGEN-YYYY-NNNN]" (four or more digits, "cgen" in
 * any case) anywhere in subject, which may be NULL, and writes its text without
 * brackets, upper-case ("CGEN-2026-0042"), to out; "" when there is none. */
void replykey_find_case_tag(const char *subject, char out[REPLYKEY_TAG_MAX]);

#endif
