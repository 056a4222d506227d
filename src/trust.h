/* trust.h: sender authentication checks of DESIGN.md section 4 (pure). */
#ifndef CGEN_TRUST_H
#define CGEN_TRUST_H

/* Checks the topmost Authentication-Results header value ar (RFC 8601,
 * unfolded; NULL when the mail has none) for a mail whose From: domain is
 * from_domain. authserv_id is our receiving server's id, or "@topmost" to
 * trust the topmost header whatever its id (Exchange Online writes none of
 * its own). It passes when the header was written by authserv_id and shows
 * dmarc=pass, or dkim=pass with a signing domain (header.d, or the domain of
 * header.i) equal to from_domain or a parent domain of it (relaxed alignment).
 * Returns 1 when it passes; otherwise 0 with *why allocated (plain words). */
int trust_auth_results(const char *ar, const char *authserv_id, const char *from_domain, char **why);

#endif
