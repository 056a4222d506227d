/* replykey.c: see replykey.h. Keys are never logged. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "log.h"
#include "message.h"
#include "replykey.h"

#define MAC_BYTES 16

static void base32(const unsigned char *in, size_t n, char *out)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alpha[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

void replykey_make(const char *secret, const char *case_id, int step,
		   const char *role, const char *addressee, char out[REPLYKEY_LEN + 1])
{
	char *addr = str_lower(xstrdup(addressee));
	char *msg = xasprintf("%s\n%d\n%s\n%s", case_id, step, role, addr);
	unsigned char mac[32];
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, strlen(secret), msg, strlen(msg),
			     mac) < 0) {
		log_err("replykey: HMAC-SHA256 is not available");
		abort();
	}
	base32(mac, MAC_BYTES, out);
	gnutls_memset(mac, 0, sizeof(mac));
	free(msg);
	free(addr);
}

int replykey_check(const struct strv *secrets, const char *key, const char *case_id,
		   int step, const char *role, const char *addressee)
{
	if (!key || !replykey_syntax(key))
		return 0;
	int ok = 0;
	for (size_t i = 0; i < secrets->n; i++) {
		char want[REPLYKEY_LEN + 1];
		replykey_make(secrets->v[i], case_id, step, role, addressee, want);
		ok |= gnutls_memcmp(want, key, REPLYKEY_LEN) == 0;
	}
	return ok;
}

int replykey_syntax(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (i >= REPLYKEY_LEN || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return i == REPLYKEY_LEN;
}

/* Appends the n bytes at s as a key when, lower-cased, they are one. */
static void add_key(struct strv *keys, const char *s, size_t n)
{
	if (n != REPLYKEY_LEN)
		return;
	char key[REPLYKEY_LEN + 1];
	memcpy(key, s, n);
	key[n] = '\0';
	str_lower(key);
	if (replykey_syntax(key) && !strv_contains_ci(keys, key))
		strv_add(keys, key);
}

/* addr is "agent_local+KEY@agent_domain". */
static void from_address(const char *addr, const char *local, size_t local_len,
			 const char *domain, struct strv *keys)
{
	const char *at = strrchr(addr, '@');
	if (!at || strcasecmp(at + 1, domain) != 0)
		return;
	if ((size_t)(at - addr) <= local_len || strncasecmp(addr, local, local_len) != 0 ||
	    addr[local_len] != '+')
		return;
	const char *k = addr + local_len + 1;
	add_key(keys, k, (size_t)(at - k));
}

/* id is "cgen.KEY.ANYTHING@ANYTHING". */
static void from_id(const char *id, struct strv *keys)
{
	if (!id || strncasecmp(id, "cgen.", 5) != 0)
		return;
	const char *k = id + 5;
	const char *dot = strchr(k, '.');
	const char *at = strrchr(k, '@');
	if (!dot || !at || at < dot + 2)
		return;
	add_key(keys, k, (size_t)(dot - k));
}

/* A body line "Ref: KEY", after optional blanks and '>' quote markers. */
static void from_line(const char *p, const char *end, struct strv *keys)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '>'))
		p++;
	if (end - p < 4 || strncasecmp(p, "ref:", 4) != 0)
		return;
	p += 4;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *k = p;
	while (p < end && !isspace((unsigned char)*p))
		p++;
	const char *tok_end = p;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end)
		add_key(keys, k, (size_t)(tok_end - k));
}

void replykey_find(const struct message *m, const char *agent_addr, struct strv *keys)
{
	const char *at = strrchr(agent_addr, '@');
	if (at) {
		size_t local_len = (size_t)(at - agent_addr);
		for (size_t i = 0; i < m->to.n; i++)
			from_address(m->to.v[i], agent_addr, local_len, at + 1, keys);
		for (size_t i = 0; i < m->delivered_to.n; i++)
			from_address(m->delivered_to.v[i], agent_addr, local_len, at + 1, keys);
	}
	from_id(m->in_reply_to, keys);
	for (size_t i = 0; i < m->references.n; i++)
		from_id(m->references.v[i], keys);
	for (const char *p = m->text; p && *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		from_line(p, end, keys);
		p = nl ? nl + 1 : end;
	}
}

void replykey_find_case_tag(const char *subject, char out[REPLYKEY_TAG_MAX])
{
	out[0] = '\0';
	for (const char *p = subject ? strchr(subject, '[') : NULL; p; p = strchr(p + 1, '[')) {
		const char *q = p + 1;
		if (strncasecmp(q, "cgen-", 5) != 0)
			continue;
		q += 5;
		size_t y = 0;
		while (isdigit((unsigned char)q[y]))
			y++;
		if (y != 4 || q[4] != '-')
			continue;
		const char *num = q + 5;
		size_t n = 0;
		while (isdigit((unsigned char)num[n]))
			n++;
		if (n < 4 || num[n] != ']' || 10 + n >= REPLYKEY_TAG_MAX)
			continue;
		snprintf(out, REPLYKEY_TAG_MAX, "CGEN-%.4s-%.*s", q, (int)n, num);
		return;
	}
}
