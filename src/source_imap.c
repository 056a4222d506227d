/* source_imap.c: imap:// and imaps:// as a source (DESIGN.md sections 7 and 8).
 *
 * One libetpan session, blocking, with a 30 s network timeout. TLS certificates
 * are checked here with GnuTLS (libetpan checks nothing): the chain against the
 * system trust or ca_file, and the host name. Fetching is UID based: UID SEARCH
 * for UIDs above the last one handled, sizes first, then bodies in batches
 * bounded by count and bytes. A mail is finished by done or quarantine; the last
 * UID below which every mail is finished is kept in the store with the
 * mailbox's UIDVALIDITY, so a restart resumes there. When UIDVALIDITY changes the
 * stored UID is forgotten and the agent's Message-ID de-duplication skips the
 * mails it already has. libetpan's quirks handled here: LIBETPAN.md. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "conf.h"
#include "log.h"
#include "source.h"
#include "store.h"
#include "util.h"

#define NET_TIMEOUT 30               /* seconds, each network read or write */
#define IDLE_START_TIMEOUT 10       /* seconds for the server to accept IDLE */
#define IDLE_MAX (25 * 60)           /* re-issue IDLE well within 29 minutes */
#define SWEEP_AGAIN 30                /* seconds before mails whose move was refused
					 are moved again */
#define BATCH_BYTES (2u << 20)       /* body bytes fetched by one fetch(): a batch
					  of mails and its parsed copies stay small */

/* A UID found by the last search above last_uid; finished: done or quarantine
 * was called for it. */
struct known {
	uint32_t uid;
	int finished;
};

struct imap_src {
	char *host, *user, *folder, *processed, *quarantine, *ca_file, *token_command;
	char *password;          /* NULL with auth = xoauth2 */
	int port, tls, starttls;
	long long max_size;
	char *label;             /* "imaps://host:port", for messages */
	char *key;               /* the mailbox in the store: URL without password */
	struct store *st;        /* may be NULL */
	mailimap *imap;          /* NULL while not connected */
	uint32_t uidvalidity;    /* 0 before the first SELECT */
	uint32_t last_uid;       /* every mail up to it is finished */
	struct known *known;     /* ascending UIDs > last_uid */
	size_t nknown;
	struct strv created;     /* folders created (or found) in this session */
	int transient;           /* the last connect failed before a session existed */
	char *pkey;              /* the processed folder's mark in the store */
	uint32_t replay_uv, replay_next, replay_end; /* reading processed_folder again
				    (restore): UIDs replay_next..replay_end */
	time_t sweep_at;         /* a move was refused: mails at or below last_uid may
				    still be in the folder; looked for again from then */
	int pknown;              /* pmark_uv/pmark hold processed_folder's last UID as of
				    the agent's last move (COPYUID), or a STATUS */
	uint32_t pmark_uv, pmark;
	uint32_t *pending;       /* finished, to be moved to processed_folder (done_many) */
	size_t npending, cpending;
};

/* --- errors --- */

/* Errors after which the session is unusable (as opposed to NO/BAD replies). */
static int is_broken(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_BAD_STATE:
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_MEMORY:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
	case MAILIMAP_ERROR_SSL:
		return 1;
	default:
		return 0;
	}
}

static char *describe(const mailimap *imap, int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM: return xstrdup("connection lost or timed out");
	case MAILIMAP_ERROR_PARSE: return xstrdup("unreadable server response");
	case MAILIMAP_ERROR_CONNECTION_REFUSED: return xstrdup("cannot connect");
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION: return xstrdup("server refuses the connection");
	case MAILIMAP_ERROR_SSL: return xstrdup("TLS handshake failed");
	case MAILIMAP_ERROR_BAD_STATE: return xstrdup("command not valid in this state");
	default:
		if (imap && imap->imap_response && *imap->imap_response)
			return xasprintf("server said: %s", imap->imap_response);
		return xasprintf("libetpan error %d", r);
	}
}

static void disconnect(struct imap_src *s, int dead);

/* Sets *err to "LABEL: what: reason"; drops a broken session. Returns -1. */
static int fail(struct imap_src *s, char **err, const char *what, int r)
{
	char *why = describe(s->imap, r);
	*err = xasprintf("%s: %s: %s", s->label, what, why);
	free(why);
	if (is_broken(r))
		disconnect(s, 1);
	return -1;
}

/* --- secrets --- */

/* The first line of path, trailing CR/LF stripped; NULL with *err set. */
static char *read_password(const char *path, char **err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		free(line);
		*err = xasprintf("%s: no password on its first line", path);
		return NULL;
	}
	char *pw = xstrdup(line);
	explicit_bzero(line, cap);
	free(line);
	return pw;
}

/* Runs token_command; its first output line is the token (allocated). */
static char *run_token_command(struct imap_src *s, char **err)
{
	FILE *p = popen(s->token_command, "r");
	if (!p) {
		*err = xasprintf("%s: token_command: %s", s->label, strerror(errno));
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, p);
	int status = pclose(p);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (status != 0 || n <= 0) {
		if (line)
			explicit_bzero(line, cap);
		free(line);
		*err = xasprintf("%s: token_command failed (%s)", s->label,
				 status != 0 ? "non-zero exit status" : "no output");
		return NULL;
	}
	char *tok = xstrdup(line);
	explicit_bzero(line, cap);
	free(line);
	return tok;
}

/* --- TLS --- */

/* Sets SNI before the handshake (not for an address literal, RFC 6066). */
static void tls_setup(struct mailstream_ssl_context *ctx, void *data)
{
	struct imap_src *s = data;
	unsigned char a[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, s->host, a) != 1 && inet_pton(AF_INET6, s->host, a) != 1)
		mailstream_ssl_set_server_name(ctx, s->host);
}

/* Checks the peer's chain against ca_file (or the system trust) and the host
 * name. 0, or -1 with *err set; the caller then drops the connection. */
static int tls_verify(struct imap_src *s, char **err)
{
	carray *chain = mailstream_get_certificate_chain(s->imap->imap_stream);
	unsigned n = chain ? carray_count(chain) : 0;
	gnutls_x509_crt_t *crts = xcalloc(n ? n : 1, sizeof *crts);
	gnutls_x509_trust_list_t tl = NULL;
	char *why = NULL;
	unsigned status = 0, ncrt = 0;
	int r;
	if (n == 0) {
		why = xstrdup("the server sent no certificate");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str, (unsigned)der->len};
		if ((r = gnutls_x509_crt_init(&crts[i])) >= 0) {
			ncrt = i + 1;
			r = gnutls_x509_crt_import(crts[i], &d, GNUTLS_X509_FMT_DER);
		}
		if (r < 0) {
			why = xasprintf("cannot read certificate %u: %s", i, gnutls_strerror(r));
			goto out;
		}
	}
	if ((r = gnutls_x509_trust_list_init(&tl, 0)) < 0) {
		why = xstrdup(gnutls_strerror(r));
		goto out;
	}
	if (s->ca_file) {
		r = gnutls_x509_trust_list_add_trust_file(tl, s->ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (r <= 0) {
			why = xasprintf("ca_file %s: %s", s->ca_file,
					r < 0 ? gnutls_strerror(r) : "no certificate in it");
			goto out;
		}
	} else if ((r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0)) < 0) {
		why = xasprintf("system trust store: %s", gnutls_strerror(r));
		goto out;
	}
	gnutls_typed_vdata_st vd[] = {
		{GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)s->host, 0},
		{GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0},
	};
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, n, vd, ARRAY_LEN(vd), 0, &status, NULL);
	if (r < 0) {
		why = xstrdup(gnutls_strerror(r));
	} else if (status) {
		gnutls_datum_t out = {NULL, 0};
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			why = xstrdup((const char *)out.data);
			gnutls_free(out.data);
		} else {
			why = xasprintf("verification status 0x%x", status);
		}
	}
out:;
	int rc = why ? -1 : 0;
	if (why)
		*err = xasprintf("%s: certificate not trusted: %s", s->label, why);
	free(why);
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	if (chain)
		mailstream_certificate_chain_free(chain);
	return rc;
}

/* --- session --- */

/* Ends the session. dead: the connection is known broken, so no LOGOUT (which
 * would block until the timeout); otherwise LOGOUT with a short timeout. */
static void disconnect(struct imap_src *s, int dead)
{
	mailimap *imap = s->imap;
	if (!imap)
		return;
	s->imap = NULL;
	s->pknown = 0;
	s->npending = 0; /* still in the folder at or below last_uid: swept at the next connect */
	if (!dead && imap->imap_stream) {
		mailstream_low_set_timeout(mailstream_get_low(imap->imap_stream), 2);
		mailimap_logout(imap);
	}
	if (imap->imap_stream) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
}

static void store_state(struct imap_src *s)
{
	if (s->st && store_mailbox_set(s->st, s->key, s->uidvalidity, s->last_uid) != STORE_OK)
		log_warn("%s: cannot store the last UID: %s", s->label, store_errmsg(s->st));
}

/* Takes the selected mailbox's UIDVALIDITY: on the first SELECT of the session
 * compares it with the store's, later with the one seen before. */
static void adopt_uidvalidity(struct imap_src *s, uint32_t uv)
{
	uint32_t old_uv = s->uidvalidity, old_last = s->last_uid;
	if (old_uv == 0 && s->st) {
		int rc = store_mailbox_get(s->st, s->key, &old_uv, &old_last);
		if (rc == STORE_ERR)
			log_warn("%s: cannot read the last UID: %s", s->label, store_errmsg(s->st));
		if (rc != STORE_OK)
			old_uv = 0, old_last = 0;
	}
	if (old_uv == uv) {
		s->uidvalidity = uv;
		s->last_uid = old_last;
		return;
	}
	if (old_uv)
		log_warn("%s: UIDVALIDITY of %s changed from %u to %u: forgetting last UID %u; "
			 "mails already handled are skipped by Message-ID",
			 s->label, s->folder, old_uv, uv, old_last);
	s->uidvalidity = uv;
	s->last_uid = 0;
	s->nknown = 0;
	store_state(s);
}

/* UIDVALIDITY by STATUS, for a server that did not send it with SELECT. */
static int status_uidvalidity(struct imap_src *s, uint32_t *uv, char **err)
{
	struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
	struct mailimap_mailbox_data_status *res = NULL;
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	int r = mailimap_status(s->imap, s->folder, atts, &res);
	mailimap_status_att_list_free(atts);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "STATUS", r);
	*uv = 0;
	for (clistiter *it = res->st_info_list ? clist_begin(res->st_info_list) : NULL; it;
	     it = clist_next(it)) {
		struct mailimap_status_info *i = clist_content(it);
		if (i->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY)
			*uv = i->st_value;
	}
	mailimap_mailbox_data_status_free(res);
	if (*uv == 0) {
		*err = xasprintf("%s: the server gives no UIDVALIDITY for %s", s->label, s->folder);
		return -1;
	}
	return 0;
}

/* UIDVALIDITY and UIDNEXT of folder by STATUS; 0, or -1 with *err set. */
static int status_of(struct imap_src *s, const char *folder, uint32_t *uv, uint32_t *uidnext,
		     char **err)
{
	struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
	struct mailimap_mailbox_data_status *res = NULL;
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDNEXT);
	int r = mailimap_status(s->imap, folder, atts, &res);
	mailimap_status_att_list_free(atts);
	if (r != MAILIMAP_NO_ERROR) {
		char *what = xasprintf("STATUS %s", folder);
		fail(s, err, what, r);
		free(what);
		return -1;
	}
	*uv = *uidnext = 0;
	for (clistiter *it = res->st_info_list ? clist_begin(res->st_info_list) : NULL; it;
	     it = clist_next(it)) {
		struct mailimap_status_info *i = clist_content(it);
		if (i->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY)
			*uv = i->st_value;
		else if (i->st_att == MAILIMAP_STATUS_ATT_UIDNEXT)
			*uidnext = i->st_value;
	}
	mailimap_mailbox_data_status_free(res);
	if (*uv == 0 || *uidnext == 0) {
		*err = xasprintf("%s: the server gives no UIDVALIDITY or UIDNEXT for %s", s->label, folder);
		return -1;
	}
	return 0;
}

static int refresh_capability(struct imap_src *s, char **err)
{
	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->imap, &cap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "CAPABILITY", r);
	mailimap_capability_data_free(cap);
	return 0;
}

static int login(struct imap_src *s, char **err)
{
	const char *user = s->user ? s->user : "";
	int r;
	if (s->password) {
		r = mailimap_login(s->imap, user, s->password);
	} else {
		char *tok = run_token_command(s, err);
		if (!tok)
			return -1;
		r = mailimap_oauth2_authenticate(s->imap, user, tok);
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	if (r != MAILIMAP_NO_ERROR) {
		char *what = xasprintf("login as %s", user);
		fail(s, err, what, r);
		free(what);
		return -1;
	}
	return 0;
}

/* SELECT (or EXAMINE, read-only) of folder; *uv its UIDVALIDITY, 0 when
 * the server did not send one. 0, or -1 with *err set. */
static int open_folder(struct imap_src *s, const char *folder, int examine, uint32_t *uv, char **err)
{
	int r = examine ? mailimap_examine(s->imap, folder) : mailimap_select(s->imap, folder);
	if (r != MAILIMAP_NO_ERROR) {
		char *what = xasprintf("%s %s", examine ? "EXAMINE" : "SELECT", folder);
		fail(s, err, what, r);
		free(what);
		return -1;
	}
	*uv = s->imap->imap_selection_info ? s->imap->imap_selection_info->sel_uidvalidity : 0;
	return 0;
}

/* SELECT of the agent's folder, and its UIDVALIDITY taken (on connecting,
 * and again after reading processed_folder). 0, or -1 with *err set. */
static int select_folder(struct imap_src *s, char **err)
{
	uint32_t uv;
	if (open_folder(s, s->folder, 0, &uv, err) < 0)
		return -1;
	if (uv == 0 && status_uidvalidity(s, &uv, err) < 0)
		return -1;
	adopt_uidvalidity(s, uv);
	return 0;
}

static int sweep_finished(struct imap_src *s, char **err);

/* Connects, secures, logs in and selects the folder; with sweep, moves what
 * was committed but left behind (sweep_finished). 0, or -1 with *err set and
 * no session left. */
static int connect_only(struct imap_src *s, int sweep, char **err)
{
	int r;
	s->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(s->imap, NET_TIMEOUT);
	if (s->tls)
		r = mailimap_ssl_connect_with_callback(s->imap, s->host, (uint16_t)s->port,
						       tls_setup, s);
	else
		r = mailimap_socket_connect(s->imap, s->host, (uint16_t)s->port);
	s->transient = 0;
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		/* no server, or one that does not answer: may pass by itself */
		s->transient = r != MAILIMAP_ERROR_SSL;
		fail(s, err, "connect", r);
		goto fail;
	}
	int authenticated = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
	/* one small command per mail (done): no Nagle delay */
	int one = 1, fd = mailstream_low_get_fd(mailstream_get_low(s->imap->imap_stream));
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (s->tls && tls_verify(s, err) < 0)
		goto fail;
	if (!s->tls && s->starttls) {
		r = mailimap_socket_starttls_with_callback(s->imap, tls_setup, s);
		if (r != MAILIMAP_NO_ERROR) {
			fail(s, err, "STARTTLS", r);
			goto fail;
		}
		/* the capabilities cached before TLS are not to be trusted */
		if (tls_verify(s, err) < 0 || refresh_capability(s, err) < 0)
			goto fail;
	}
	if (!authenticated && login(s, err) < 0)
		goto fail;
	if (refresh_capability(s, err) < 0 || select_folder(s, err) < 0)
		goto fail;
	if (sweep && sweep_finished(s, err) < 0)
		goto fail;
	return 0;
fail:
	disconnect(s, 1);
	return -1;
}

static int connect_session(struct imap_src *s, char **err)
{
	return connect_only(s, 1, err);
}

static int ensure_connected(struct imap_src *s, char **err)
{
	return s->imap ? 0 : connect_session(s, err);
}

/* --- UID bookkeeping --- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static struct known *find_known(struct imap_src *s, uint32_t uid)
{
	return s->nknown ? bsearch(&uid, s->known, s->nknown, sizeof *s->known, cmp_u32) : NULL;
}

/* Marks uid finished and moves last_uid up over the finished prefix; the
 * store learns it when save is set (done_many saves once for its batch:
 * one commit, one fsync, instead of one a mail). */
static void finish_uid(struct imap_src *s, uint32_t uid, int save)
{
	struct known *k = find_known(s, uid);
	if (k)
		k->finished = 1;
	size_t i = 0;
	uint32_t last = s->last_uid;
	while (i < s->nknown && s->known[i].finished)
		last = s->known[i++].uid;
	if (i) {
		s->nknown -= i;
		memmove(s->known, s->known + i, s->nknown * sizeof *s->known);
	}
	if (last > s->last_uid) {
		s->last_uid = last;
		if (save)
			store_state(s);
	}
}

static void finish(struct imap_src *s, uint32_t uid)
{
	finish_uid(s, uid, 1);
}

/* UID SEARCH UID last+1:* into s->known, keeping what was finished. */
static int search_new(struct imap_src *s, char **err)
{
	struct mailimap_search_key *key =
		mailimap_search_key_new_uid(mailimap_set_new_interval(s->last_uid + 1, 0));
	clist *res = NULL;
	int r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "UID SEARCH", r);
	size_t n = 0;
	uint32_t *uids = xcalloc((res ? (size_t)clist_count(res) : 0) + 1, sizeof *uids);
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		if (u > s->last_uid) /* the server always includes its highest UID */
			uids[n++] = u;
	}
	if (res)
		mailimap_search_result_free(res);
	qsort(uids, n, sizeof *uids, cmp_u32);
	struct known *k = xcalloc(n + 1, sizeof *k);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && k[m - 1].uid == uids[i])
			continue;
		struct known *old = find_known(s, uids[i]);
		k[m].uid = uids[i];
		k[m++].finished = old && old->finished;
	}
	free(uids);
	free(s->known);
	s->known = k;
	s->nknown = m;
	return 0;
}

/* --- FETCH --- */

static struct mailimap_set *uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	for (size_t i = 0; i < n; i++)
		mailimap_set_add_single(set, uids[i]);
	return set;
}

/* UID FETCH uids with "UID" plus att (consumed). *res: list of msg_att. */
static int uid_fetch(struct imap_src *s, const uint32_t *uids, size_t n,
		     struct mailimap_fetch_att *att, clist **res)
{
	struct mailimap_set *set = uid_set(uids, n);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, att);
	*res = NULL;
	int r = mailimap_uid_fetch(s->imap, set, ft, res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return r;
}

/* The UID, RFC822.SIZE, body section and envelope Message-ID of one FETCH
 * response (0/NULL when absent or not asked for). */
static void att_get(struct mailimap_msg_att *m, uint32_t *uid, uint32_t *size,
		    const char **body, size_t *len, const char **mid)
{
	*uid = 0;
	if (size)
		*size = 0;
	if (body)
		*body = NULL, *len = 0;
	if (mid)
		*mid = NULL;
	for (clistiter *it = clist_begin(m->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE && size)
			*size = st->att_data.att_rfc822_size;
		else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && body &&
			 st->att_data.att_body_section) {
			*body = st->att_data.att_body_section->sec_body_part;
			*len = st->att_data.att_body_section->sec_length;
		} else if (st->att_type == MAILIMAP_MSG_ATT_ENVELOPE && mid && st->att_data.att_env) {
			*mid = st->att_data.att_env->env_message_id;
		}
	}
}

static struct mailimap_fetch_att *body_att(int header_only)
{
	return mailimap_fetch_att_new_body_peek_section(header_only ? mailimap_section_new_header()
								    : mailimap_section_new(NULL));
}

/* One mail being fetched. */
struct pick {
	uint32_t uid, size;
	int oversize, have;
	char *data;
	size_t len;
};

static int cmp_pick(const void *a, const void *b)
{
	return cmp_u32(&((const struct pick *)a)->uid, &((const struct pick *)b)->uid);
}

/* Stores the bodies of res into picks (sorted by uid). */
static void take_bodies(struct pick *p, size_t n, clist *res)
{
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t uid;
		const char *body;
		size_t len;
		att_get(clist_content(it), &uid, NULL, &body, &len, NULL);
		struct pick key = {.uid = uid};
		struct pick *q = bsearch(&key, p, n, sizeof *p, cmp_pick);
		if (!q || !body || q->have)
			continue;
		q->data = xmalloc(len + 1);
		memcpy(q->data, body, len);
		q->data[len] = '\0';
		q->len = len;
		q->have = 1;
	}
}

/* Fetches the bodies (or headers) of the picks p[i] with p[i].oversize ==
 * header_only. A response libetpan cannot parse is retried one UID at a time
 * on a new session; a mail that still fails gets "" (the agent quarantines it). */
static int fetch_bodies(struct imap_src *s, struct pick *p, size_t n, int header_only, char **err)
{
	uint32_t *uids = xcalloc(n + 1, sizeof *uids);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].oversize == header_only)
			uids[m++] = p[i].uid;
	int rc = 0;
	if (m == 0)
		goto out;
	clist *res = NULL;
	int r = uid_fetch(s, uids, m, body_att(header_only), &res);
	if (r == MAILIMAP_NO_ERROR) {
		take_bodies(p, n, res);
		if (res)
			mailimap_fetch_list_free(res);
		goto out;
	}
	if (r != MAILIMAP_ERROR_PARSE) {
		rc = fail(s, err, "UID FETCH", r);
		goto out;
	}
	log_warn("%s: unreadable FETCH response for %zu mail(s): retrying one by one", s->label, m);
	uint32_t uv = s->uidvalidity;
	disconnect(s, 1); /* after a parse error the session is out of step */
	for (size_t i = 0; i < m; i++) {
		if (!s->imap && connect_session(s, err) < 0) {
			rc = -1;
			goto out;
		}
		if (s->uidvalidity != uv) {
			*err = xasprintf("%s: UIDVALIDITY changed during the fetch", s->label);
			rc = -1;
			goto out;
		}
		r = uid_fetch(s, &uids[i], 1, body_att(header_only), &res);
		if (r == MAILIMAP_NO_ERROR) {
			take_bodies(p, n, res);
			if (res)
				mailimap_fetch_list_free(res);
			continue;
		}
		if (r != MAILIMAP_ERROR_PARSE) {
			rc = fail(s, err, "UID FETCH", r);
			goto out;
		}
		disconnect(s, 1);
		struct pick key = {.uid = uids[i]};
		struct pick *q = bsearch(&key, p, n, sizeof *p, cmp_pick);
		log_warn("%s: UID %u: unreadable FETCH response; handing it over empty to be "
			 "quarantined", s->label, uids[i]);
		q->data = xstrdup("");
		q->len = 0;
		q->have = 1;
	}
	if (!s->imap)
		rc = connect_session(s, err);
out:
	free(uids);
	return rc;
}

/* One attempt at fetch(); on a broken connection the session is gone after. */
static int fetch_once(struct imap_src *s, size_t max, struct source_msg **msgs, size_t *n,
		      char **err)
{
	struct pick *p = NULL;
	size_t np = 0, cand = 0, i;
	int rc = -1;
	*msgs = NULL;
	*n = 0;
	/* NOOP first: Dovecot looks for new mail when a command ends, not before
	 * a SEARCH; this also finds a dead connection */
	int r = mailimap_noop(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "NOOP", r);
	if (s->sweep_at && time(NULL) >= s->sweep_at) {
		if (sweep_finished(s, err) < 0)
			return -1;
	}
	if (search_new(s, err) < 0)
		return -1;
	uint32_t *uids = xcalloc(s->nknown + 1, sizeof *uids);
	for (i = 0; i < s->nknown && cand < max; i++)
		if (!s->known[i].finished)
			uids[cand++] = s->known[i].uid;
	if (cand == 0) {
		free(uids);
		return 0;
	}
	/* sizes first: libetpan allocates each literal at its announced size */
	clist *res = NULL;
	r = uid_fetch(s, uids, cand, mailimap_fetch_att_new_rfc822_size(), &res);
	free(uids);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "UID FETCH RFC822.SIZE", r);
	p = xcalloc((res ? (size_t)clist_count(res) : 0) + 1, sizeof *p);
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t uid, size;
		att_get(clist_content(it), &uid, &size, NULL, NULL, NULL);
		if (uid > s->last_uid)
			p[np].uid = uid, p[np++].size = size;
	}
	if (res)
		mailimap_fetch_list_free(res);
	qsort(p, np, sizeof *p, cmp_pick);
	/* the batch: at most max mails and BATCH_BYTES of bodies (at least one) */
	size_t bytes = 0, take = 0;
	for (; take < np && take < max; take++) {
		p[take].oversize = s->max_size > 0 && (long long)p[take].size > s->max_size;
		size_t cost = p[take].oversize ? 0 : p[take].size;
		if (take > 0 && bytes + cost > BATCH_BYTES)
			break;
		bytes += cost;
	}
	if (fetch_bodies(s, p, take, 0, err) < 0 || fetch_bodies(s, p, take, 1, err) < 0)
		goto out;
	*msgs = xcalloc(take + 1, sizeof **msgs);
	for (i = 0; i < take; i++) {
		if (!p[i].have)
			continue; /* expunged meanwhile */
		struct source_msg *m = &(*msgs)[(*n)++];
		m->ref = xasprintf("%u:%u", s->uidvalidity, p[i].uid);
		m->data = p[i].data;
		m->len = p[i].len;
		m->size = p[i].oversize || p[i].len == 0 ? p[i].size : p[i].len;
		m->oversize = p[i].oversize;
		p[i].data = NULL;
	}
	rc = 0;
out:
	for (i = 0; i < np; i++)
		free(p[i].data);
	free(p);
	return rc;
}

/* --- restore replay: what processed_folder holds past the store's mark --- */

static int ensure_folder(struct imap_src *s, const char *folder, char **err);

/* Is a ref one of processed_folder's, read again ("P" UIDVALIDITY:UID)? */
static int is_replay_ref(const char *ref)
{
	return ref[0] == 'P';
}

/* processed_folder's UIDVALIDITY and last UID: as the agent's last move
 * there left them (its COPYUID), else from a STATUS, once a session. STATUS
 * of a large Maildir folder costs Dovecot a scan (0.8 s at 20,000 mails),
 * so it is kept out of every batch. 0, or -1 with *err set. */
static int processed_mark(struct imap_src *s, uint32_t *uv, uint32_t *last, char **err)
{
	if (!s->pknown) {
		uint32_t next;
		if (status_of(s, s->processed, &s->pmark_uv, &next, err) < 0)
			return -1;
		s->pmark = next - 1;
		s->pknown = 1;
	}
	*uv = s->pmark_uv;
	*last = s->pmark;
	return 0;
}

/* At open: when the store has a mark of processed_folder and the folder
 * holds mails past it, they are read again first. */
static int find_replay(struct imap_src *s, char **err)
{
	int64_t uv_m, mark;
	int r = store_mark_get(s->st, s->pkey, &uv_m, &mark);
	if (r == STORE_NOTFOUND)
		return 0;
	if (r != STORE_OK) {
		*err = xasprintf("%s: store: %s", s->label, store_errmsg(s->st));
		return -1;
	}
	uint32_t uv, last; /* the session's one STATUS: kept for the marks after it */
	if (ensure_folder(s, s->processed, err) < 0 || processed_mark(s, &uv, &last, err) < 0)
		return -1;
	if ((int64_t)uv != uv_m) {
		log_warn("%s: UIDVALIDITY of %s changed since the store's mark: mails handled after "
			 "it cannot be told apart and are not read again", s->label, s->processed);
		return 0;
	}
	if ((int64_t)last <= mark)
		return 0;
	s->replay_uv = uv;
	s->replay_next = (uint32_t)mark + 1;
	s->replay_end = last;
	log_warn("%s: %s holds mails moved there after the store's last mark (the store restored "
		 "from a backup, or cgend stopped during a move): reading UIDs %u to %u again; "
		 "mails already handled are skipped", s->label, s->processed, s->replay_next,
		 s->replay_end);
	return 0;
}

/* The next batch of processed_folder's mails past the mark, refs "P<uv>:<uid>".
 * Any trouble ends the replay (it is a help after a restore, not a duty). */
static int replay_fetch(struct imap_src *s, size_t max, struct source_msg **msgs, size_t *n,
			char **err)
{
	clist *res = NULL;
	struct pick *p = NULL;
	size_t np = 0, take = 0, bytes = 0;
	int rc = -1, r;
	uint32_t uv;
	if (open_folder(s, s->processed, 1, &uv, err) < 0)
		return -1;
	if (uv != s->replay_uv) {
		*err = xasprintf("%s: UIDVALIDITY of %s changed", s->label, s->processed);
		goto out;
	}
	struct mailimap_search_key *key =
		mailimap_search_key_new_uid(mailimap_set_new_interval(s->replay_next, s->replay_end));
	r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		fail(s, err, "UID SEARCH", r);
		goto out;
	}
	uint32_t *uids = xcalloc((res ? (size_t)clist_count(res) : 0) + 1, sizeof *uids);
	size_t nu = 0;
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		if (u >= s->replay_next && u <= s->replay_end)
			uids[nu++] = u;
	}
	if (res)
		mailimap_search_result_free(res);
	res = NULL;
	qsort(uids, nu, sizeof *uids, cmp_u32);
	if (nu == 0) {
		free(uids);
		s->replay_next = s->replay_end + 1;
		rc = 0;
		goto out;
	}
	r = uid_fetch(s, uids, nu < max ? nu : max, mailimap_fetch_att_new_rfc822_size(), &res);
	free(uids);
	if (r != MAILIMAP_NO_ERROR) {
		fail(s, err, "UID FETCH RFC822.SIZE", r);
		goto out;
	}
	p = xcalloc((res ? (size_t)clist_count(res) : 0) + 1, sizeof *p);
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t uid, size;
		att_get(clist_content(it), &uid, &size, NULL, NULL, NULL);
		if (uid >= s->replay_next && uid <= s->replay_end)
			p[np].uid = uid, p[np++].size = size;
	}
	if (res)
		mailimap_fetch_list_free(res);
	res = NULL;
	qsort(p, np, sizeof *p, cmp_pick);
	for (; take < np && take < max; take++) {
		p[take].oversize = s->max_size > 0 && (long long)p[take].size > s->max_size;
		size_t cost = p[take].oversize ? 0 : p[take].size;
		if (take > 0 && bytes + cost > BATCH_BYTES)
			break;
		bytes += cost;
	}
	for (int header_only = 0; header_only < 2; header_only++) {
		uint32_t *want = xcalloc(take + 1, sizeof *want);
		size_t m = 0;
		for (size_t i = 0; i < take; i++)
			if (p[i].oversize == header_only)
				want[m++] = p[i].uid;
		r = m ? uid_fetch(s, want, m, body_att(header_only), &res) : MAILIMAP_NO_ERROR;
		free(want);
		if (r != MAILIMAP_NO_ERROR) {
			fail(s, err, "UID FETCH", r);
			goto out;
		}
		take_bodies(p, take, res);
		if (res)
			mailimap_fetch_list_free(res);
		res = NULL;
	}
	*msgs = xcalloc(take + 1, sizeof **msgs);
	for (size_t i = 0; i < take; i++) {
		if (!p[i].have)
			continue;
		struct source_msg *m = &(*msgs)[(*n)++];
		m->ref = xasprintf("P%u:%u", s->replay_uv, p[i].uid);
		m->data = p[i].data;
		m->len = p[i].len;
		m->size = p[i].oversize ? p[i].size : p[i].len;
		m->oversize = p[i].oversize;
		p[i].data = NULL;
	}
	s->replay_next = take ? p[take - 1].uid + 1 : s->replay_end + 1;
	rc = 0;
out:
	if (res)
		mailimap_fetch_list_free(res);
	for (size_t i = 0; i < np; i++)
		free(p[i].data);
	free(p);
	char *e2 = NULL;
	if (s->imap && select_folder(s, &e2) < 0) {
		if (*err)
			free(e2);
		else
			*err = e2;
		rc = -1;
	}
	return rc;
}

/* After a move or copy of mails to folder: the COPYUID the server gave (dest
 * may be NULL: none, the mark is then read again with STATUS). Frees dest. */
static void note_copyuid(struct imap_src *s, const char *folder, uint32_t uv,
			 struct mailimap_set *dest)
{
	if (strcmp(folder, s->processed) != 0) {
		if (dest)
			mailimap_set_free(dest);
		return;
	}
	uint32_t top = 0;
	for (clistiter *it = dest ? clist_begin(dest->set_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_set_item *item = clist_content(it);
		uint32_t hi = item->set_last > item->set_first ? item->set_last : item->set_first;
		if (hi > top)
			top = hi;
	}
	if (dest)
		mailimap_set_free(dest);
	if (!uv || !top || (s->pknown && uv != s->pmark_uv)) {
		s->pknown = 0;
		return;
	}
	if (!s->pknown || top > s->pmark) {
		s->pmark_uv = uv;
		s->pmark = top;
		s->pknown = 1;
	}
}

static int imap_position(void *state, struct store *st, char **err)
{
	struct imap_src *s = state;
	uint32_t uv, last;
	if (s->replay_next && s->replay_next <= s->replay_end) {
		/* what was read again so far is in this batch's transaction */
		uv = s->replay_uv;
		last = s->replay_next - 1;
	} else if (ensure_connected(s, err) < 0 || ensure_folder(s, s->processed, err) < 0 ||
		   processed_mark(s, &uv, &last, err) < 0) {
		return -1;
	}
	if (store_mark_set(st, s->pkey, uv, (int64_t)last) != STORE_OK) {
		*err = xasprintf("%s: store: %s", s->label, store_errmsg(st));
		return -1;
	}
	return 0;
}

/* After a move: the mark past the mails just moved (outside the batch's
 * transaction; a failure only means they are read again after a restart). */
static void mark_after_move(struct imap_src *s)
{
	uint32_t uv, last;
	char *e = NULL;
	if (!s->st || (s->replay_next && s->replay_next <= s->replay_end))
		return;
	if (processed_mark(s, &uv, &last, &e) < 0 ||
	    store_mark_set(s->st, s->pkey, uv, (int64_t)last) != STORE_OK) {
		log_warn("%s: cannot record the position of %s: %s", s->label, s->processed,
			 e ? e : store_errmsg(s->st));
		free(e);
	}
}

/* --- source_ops --- */

static void imap_close(void *state);

static int imap_open(const struct conf *cfg, struct store *st, void **state, char **err)
{
	const struct conf_mailbox *mb = &cfg->mailbox;
	struct imap_src *s = xcalloc(1, sizeof *s);
	int rc = -1;
	*state = NULL;
	s->host = xstrdup(mb->host);
	s->user = xstrdup(mb->user);
	s->folder = xstrdup(mb->folder ? mb->folder : "INBOX");
	s->processed = xstrdup(mb->processed_folder ? mb->processed_folder : "Processed");
	s->quarantine = xstrdup(mb->quarantine_folder ? mb->quarantine_folder : "Quarantine");
	s->ca_file = xstrdup(mb->ca_file);
	s->token_command = xstrdup(mb->token_command);
	s->port = mb->port;
	s->tls = mb->tls;
	s->starttls = mb->starttls;
	s->max_size = mb->max_message_size;
	s->st = st;
	s->label = xasprintf("%s://%s:%d", s->tls ? "imaps" : "imap", s->host ? s->host : "",
			     s->port);
	s->key = xasprintf("%s://%s@%s:%d/%s", s->tls ? "imaps" : "imap", s->user ? s->user : "",
			   s->host ? s->host : "", s->port, s->folder);
	s->pkey = xasprintf("%s#%s", s->key, s->processed);
	if (!s->host) {
		*err = xasprintf("%s: not an imap:// or imaps:// mailbox", mb->url ? mb->url : "mailbox");
		goto fail;
	}
	if (mb->auth == CONF_AUTH_XOAUTH2) {
		if (!s->token_command) {
			*err = xasprintf("%s: auth = xoauth2 needs token_command", s->label);
			goto fail;
		}
	} else if (!mb->password_file) {
		*err = xasprintf("%s: password_file is not set", s->label);
		goto fail;
	} else if (!(s->password = read_password(mb->password_file, err))) {
		goto fail;
	}
	/* the replay is found before anything is moved to processed_folder */
	if (connect_only(s, 0, err) < 0) {
		rc = s->transient ? -2 : -1;
		goto fail;
	}
	if (st && find_replay(s, err) < 0)
		goto fail;
	if (sweep_finished(s, err) < 0) {
		rc = -2; /* the session broke: the server may come back */
		goto fail;
	}
	*state = s;
	return 0;
fail:
	imap_close(s);
	return rc;
}

static int imap_fetch(void *state, size_t max, struct source_msg **msgs, size_t *n, char **err)
{
	struct imap_src *s = state;
	*msgs = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	int was_connected = s->imap != NULL;
	if (ensure_connected(s, err) < 0)
		return -1;
	if (s->replay_next && s->replay_next <= s->replay_end) {
		if (replay_fetch(s, max, msgs, n, err) == 0 && *n)
			return 0;
		if (*err) {
			log_warn("%s; mails of %s past the store's mark are not read again", *err,
				 s->processed);
			free(*err);
			*err = NULL;
			s->replay_next = s->replay_end + 1;
			source_msgs_free(*msgs, *n);
			*msgs = NULL;
			*n = 0;
		}
		if (ensure_connected(s, err) < 0)
			return -1;
	}
	if (fetch_once(s, max, msgs, n, err) == 0)
		return 0;
	if (s->imap || !was_connected)
		return -1;
	/* the connection broke: one new session before giving up */
	log_warn("%s; reconnecting", *err);
	free(*err);
	*err = NULL;
	if (connect_session(s, err) < 0)
		return -1;
	return fetch_once(s, max, msgs, n, err);
}

/* "UIDVALIDITY:UID" of this mailbox; 0, or -1 with *err set. */
static int parse_ref(struct imap_src *s, const char *ref, uint32_t *uid, char **err)
{
	char *end;
	errno = 0;
	unsigned long uv = strtoul(ref, &end, 10);
	unsigned long u = 0;
	int ok = end != ref && *end == ':' && errno == 0 && uv <= UINT32_MAX;
	if (ok) {
		const char *p = end + 1;
		u = strtoul(p, &end, 10);
		ok = end != p && *end == '\0' && errno == 0 && u > 0 && u <= UINT32_MAX;
	}
	if (!ok) {
		*err = xasprintf("%s: bad mail reference \"%s\"", s->label, ref);
		return -1;
	}
	if (uv != s->uidvalidity) {
		*err = xasprintf("%s: mail reference %s is stale (UIDVALIDITY is now %u): left alone",
				 s->label, ref, s->uidvalidity);
		return -1;
	}
	*uid = (uint32_t)u;
	return 0;
}

/* CREATE folder once a session; an existing folder is fine. */
static int ensure_folder(struct imap_src *s, const char *folder, char **err)
{
	for (size_t i = 0; i < s->created.n; i++)
		if (strcmp(s->created.v[i], folder) == 0)
			return 0;
	int r = mailimap_create(s->imap, folder);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_ERROR_CREATE) {
		char *what = xasprintf("CREATE %s", folder);
		fail(s, err, what, r);
		free(what);
		return -1;
	}
	strv_add(&s->created, folder);
	return 0;
}

/* STORE \Deleted and UID EXPUNGE (without UIDPLUS the mail stays flagged
 * \Deleted: never fetched again, as its UID is at or below the last UID) of
 * every UID in set (not freed). 0, or -1 with *err set. */
static int delete_set(struct imap_src *s, struct mailimap_set *set, char **err)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
	struct mailimap_store_att_flags *sa = mailimap_store_att_flags_new_add_flags_silent(fl);
	int r = mailimap_uid_store(s->imap, set, sa);
	mailimap_store_att_flags_free(sa);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "UID STORE", r);
	if (mailimap_has_extension(s->imap, "UIDPLUS")) {
		r = mailimap_uid_expunge(s->imap, set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(s, err, "UID EXPUNGE", r);
	}
	return 0;
}

/* UID MOVE, or UID COPY + \Deleted + UID EXPUNGE (never a plain EXPUNGE), of
 * every UID in set (which is freed). */
static int move_set(struct imap_src *s, struct mailimap_set *set, const char *folder, char **err)
{
	int r, rc = -1;
	int move = mailimap_has_extension(s->imap, "MOVE");
	uint32_t uv = 0;
	struct mailimap_set *src = NULL, *dest = NULL;
	if (mailimap_has_extension(s->imap, "UIDPLUS"))
		r = move ? mailimap_uidplus_uid_move(s->imap, set, folder, &uv, &src, &dest)
			 : mailimap_uidplus_uid_copy(s->imap, set, folder, &uv, &src, &dest);
	else
		r = move ? mailimap_uid_move(s->imap, set, folder)
			 : mailimap_uid_copy(s->imap, set, folder);
	if (src)
		mailimap_set_free(src);
	if (r != MAILIMAP_NO_ERROR) {
		if (dest)
			mailimap_set_free(dest);
		s->pknown = 0;
		fail(s, err, move ? "UID MOVE" : "UID COPY", r);
		goto out;
	}
	note_copyuid(s, folder, uv, dest);
	rc = move ? 0 : delete_set(s, set, err);
out:
	mailimap_set_free(set);
	if (rc < 0 && s->imap && !s->sweep_at)
		s->sweep_at = time(NULL) + SWEEP_AGAIN;
	return rc;
}

/* A MOVE the server broke off may have made its copy without removing the
 * original (Dovecot copies, then expunges). Of the n mails uids[] left
 * behind, those of which folder already holds a copy (same Message-ID, same
 * size, among its last n + SWEEP_LOOK_BACK mails, where a copy made just
 * before the break lands) get there[i] = 1. The agent's folder is selected
 * again. 0, or -1 with *err set when the session broke. */
#define SWEEP_LOOK_BACK 500
static int copies_in(struct imap_src *s, const uint32_t *uids, size_t n, const char *folder,
		     unsigned char *there, char **err)
{
	char **id = xcalloc(n + 1, sizeof *id);
	uint32_t *size = xcalloc(n + 1, sizeof *size);
	size_t nid = 0;
	int rc = -1;
	struct mailimap_set *set = uid_set(uids, n);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_envelope());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	clist *res = NULL;
	int r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		if (is_broken(r)) {
			fail(s, err, "UID FETCH ENVELOPE", r);
			goto out;
		}
		rc = 0; /* moved as they are */
		goto out;
	}
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t uid, sz;
		const char *mid;
		att_get(clist_content(it), &uid, &sz, NULL, NULL, &mid);
		for (size_t i = 0; i < n; i++)
			if (uids[i] == uid && mid && *mid && sz > 0 && !id[i]) {
				id[i] = xstrdup(mid);
				size[i] = sz;
				nid++;
			}
	}
	mailimap_fetch_list_free(res);
	if (nid == 0) {
		rc = 0;
		goto out;
	}
	uint32_t uv;
	char *e = NULL;
	if (open_folder(s, folder, 1, &uv, &e) < 0) {
		if (!s->imap) {
			*err = e;
			goto out;
		}
		free(e); /* no such folder yet: no copy there */
		rc = select_folder(s, err);
		goto out;
	}
	uint32_t exists = s->imap->imap_selection_info ? s->imap->imap_selection_info->sel_exists : 0;
	uint32_t from = exists > n + SWEEP_LOOK_BACK ? exists - (uint32_t)(n + SWEEP_LOOK_BACK) : 1;
	for (size_t i = 0; i < n && exists; i++) {
		if (!id[i])
			continue;
		struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
		mailimap_search_key_multiple_add(
			key, mailimap_search_key_new_set(mailimap_set_new_interval(from, 0)));
		mailimap_search_key_multiple_add(
			key, mailimap_search_key_new_header(xstrdup("Message-ID"), xstrdup(id[i])));
		mailimap_search_key_multiple_add(key, mailimap_search_key_new_larger(size[i] - 1));
		mailimap_search_key_multiple_add(key, mailimap_search_key_new_smaller(size[i] + 1));
		clist *found = NULL;
		r = mailimap_uid_search(s->imap, NULL, key, &found);
		mailimap_search_key_free(key);
		if (r != MAILIMAP_NO_ERROR) {
			if (is_broken(r)) {
				fail(s, err, "UID SEARCH", r);
				goto out;
			}
			break; /* the rest are moved as they are */
		}
		there[i] = found && clist_count(found) > 0;
		if (found)
			mailimap_search_result_free(found);
	}
	rc = select_folder(s, err);
out:
	for (size_t i = 0; i < n; i++)
		free(id[i]);
	free(id);
	free(size);
	return rc;
}

/* Moves the n mails uids[] left behind to folder; those of which folder
 * already holds a copy (copies_in) are deleted instead. 0, or -1 with *err
 * set (the session may be gone). */
static int sweep_to(struct imap_src *s, const uint32_t *uids, size_t n, const char *folder,
		    char **err)
{
	unsigned char *there = xcalloc(n + 1, 1);
	int rc = copies_in(s, uids, n, folder, there, err);
	struct mailimap_set *move = mailimap_set_new_empty(), *del = mailimap_set_new_empty();
	size_t nm = 0, nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (there[i])
			mailimap_set_add_single(del, uids[i]), nd++;
		else
			mailimap_set_add_single(move, uids[i]), nm++;
	}
	free(there);
	if (rc == 0 && nd) {
		log_info("%s: %zu of them already in %s (a move broken off after its copy): "
			 "removed from %s", s->label, nd, folder, s->folder);
		rc = delete_set(s, del, err);
	}
	mailimap_set_free(del);
	if (rc == 0 && nm && (rc = ensure_folder(s, folder, err)) == 0) {
		rc = move_set(s, move, folder, err);
		move = NULL;
	}
	if (move)
		mailimap_set_free(move);
	return rc;
}

/* 1 when uid waits in the pending moves (move_pending). */
static int is_pending(const struct imap_src *s, uint32_t uid)
{
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i] == uid)
			return 1;
	return 0;
}

/* After a connect: mails at or below last_uid still in the folder were
 * committed by the agent but their move never happened (the server went
 * away mid-MOVE, or cgend was killed between the store's commit and the
 * move). They are moved now, each where the agent sent it: quarantine when
 * the store holds it as quarantined, else processed_folder (sweep_to: a copy
 * already there is not made twice). Never read again. 0, or -1 with *err
 * set when the session broke. */
static int sweep_finished(struct imap_src *s, char **err)
{
	s->sweep_at = 0;
	if (!s->st || s->last_uid == 0)
		return 0;
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	mailimap_search_key_multiple_add(key, mailimap_search_key_new_uid(
						      mailimap_set_new_interval(1, s->last_uid)));
	/* a COPY without UIDPLUS leaves the original flagged \Deleted */
	mailimap_search_key_multiple_add(
		key, mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL,
					     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
					     NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
					     NULL, NULL));
	clist *res = NULL;
	int r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		if (is_broken(r))
			return fail(s, err, "UID SEARCH", r);
		log_warn("%s: UID SEARCH for mails left behind failed; not moved", s->label);
		return 0;
	}
	size_t cap = (res ? (size_t)clist_count(res) : 0) + 1;
	uint32_t *done = xcalloc(cap, sizeof *done), *quar = xcalloc(cap, sizeof *quar);
	size_t nd = 0, nq = 0;
	for (clistiter *it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		if (u == 0 || u > s->last_uid || is_pending(s, u))
			continue;
		char ref[32];
		snprintf(ref, sizeof ref, "%u:%u", s->uidvalidity, u);
		if (store_message_ref_quarantined(s->st, ref) == STORE_OK)
			quar[nq++] = u;
		else
			done[nd++] = u;
	}
	if (res)
		mailimap_search_result_free(res);
	char *e = NULL;
	if (nd || nq)
		log_warn("%s: %zu mail(s) handled before the connection broke were still in %s: "
			 "moving them (%zu to %s, %zu to %s)", s->label, nd + nq, s->folder, nd,
			 s->processed, nq, s->quarantine);
	int rc = 0;
	if (nd && (rc = sweep_to(s, done, nd, s->processed, &e)) == 0)
		mark_after_move(s);
	if (nq && rc == 0)
		rc = sweep_to(s, quar, nq, s->quarantine, &e);
	free(done);
	free(quar);
	if (rc < 0) {
		if (!s->imap) {
			*err = e;
			return -1;
		}
		log_warn("%s", e);
		free(e);
	}
	return 0;
}

static int move_uid(struct imap_src *s, uint32_t uid, const char *folder, char **err)
{
	return move_set(s, mailimap_set_new_single(uid), folder, err);
}

static int finish_ref(struct imap_src *s, const char *ref, const char *folder, char **err)
{
	uint32_t uid;
	if (parse_ref(s, ref, &uid, err) < 0)
		return -1;
	/* committed by the agent: finished whatever happens to the move */
	finish(s, uid);
	if (ensure_connected(s, err) < 0 || parse_ref(s, ref, &uid, err) < 0 ||
	    ensure_folder(s, folder, err) < 0)
		return -1;
	return move_uid(s, uid, folder, err);
}

/* Moves the mails done_many left pending to processed_folder. 0, or -1 with
 * *err set (the mails are then swept later: sweep_finished). */
static int move_pending(struct imap_src *s, char **err)
{
	if (!s->npending)
		return 0;
	struct mailimap_set *set = uid_set(s->pending, s->npending);
	s->npending = 0;
	if (ensure_connected(s, err) < 0 || ensure_folder(s, s->processed, err) < 0) {
		mailimap_set_free(set);
		return -1;
	}
	if (move_set(s, set, s->processed, err) < 0)
		return -1;
	mark_after_move(s);
	return 0;
}

/* Mails finished in a batch: recorded at once (the last UID), moved to
 * processed_folder in one UID MOVE (Dovecot spends ~10 ms per MOVE whatever
 * its size) by move_pending when PENDING_MAX are waiting, or before
 * the next wait for mail, or at close: after the round's replies went out,
 * so that a slow MOVE (Dovecot scans a large Maildir folder: 0.24 s at
 * 20,000 mails) never delays them. A bad ref is reported (the last error)
 * and the others are still taken. */
#define PENDING_MAX 100
static int imap_done_many(void *state, const char *const *refs, size_t n, char **err)
{
	struct imap_src *s = state;
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t uid;
		char *e = NULL;
		if (is_replay_ref(refs[i]))
			continue; /* read again from processed_folder: already there */
		if (parse_ref(s, refs[i], &uid, &e) < 0) {
			free(*err);
			*err = e;
			rc = -1;
			continue;
		}
		finish_uid(s, uid, 0);
		if (s->npending == s->cpending) {
			s->cpending = s->cpending ? 2 * s->cpending : 64;
			s->pending = xrealloc(s->pending, s->cpending * sizeof *s->pending);
		}
		s->pending[s->npending++] = uid;
		k++;
	}
	if (k)
		store_state(s);
	if (s->npending >= PENDING_MAX) {
		char *e = NULL;
		if (move_pending(s, &e) < 0) {
			free(*err);
			*err = e;
			return -1;
		}
	}
	return rc;
}

static int imap_done(void *state, const char *ref, char **err)
{
	struct imap_src *s = state;
	if (is_replay_ref(ref))
		return 0;
	int r = finish_ref(s, ref, s->processed, err);
	if (r == 0)
		mark_after_move(s);
	return r;
}

static int imap_quarantine(void *state, const char *ref, char **err)
{
	struct imap_src *s = state;
	if (is_replay_ref(ref)) {
		log_warn("%s: mail %s read again from %s cannot be handled; it stays there", s->label,
			 ref, s->processed);
		return 0;
	}
	return finish_ref(s, ref, s->quarantine, err);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int imap_wait(void *state, int timeout, volatile sig_atomic_t *stop, char **err)
{
	struct imap_src *s = state;
	char *e = NULL;
	if (move_pending(s, &e) < 0) {
		log_warn("%s", e);
		free(e);
	}
	if (ensure_connected(s, err) < 0)
		return -1;
	if (!mailimap_has_idle(s->imap)) {
		for (int i = 0; i < timeout && !*stop; i++)
			sleep(1);
		return 0;
	}
	/* NOOP first: untagged data before "+ idling" can hang mailimap_idle */
	int r = mailimap_noop(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "NOOP", r);
	/* a short stream timeout while waiting for "+ idling" (libetpan issue 393) */
	mailstream_low *low = mailstream_get_low(s->imap->imap_stream);
	mailstream_low_set_timeout(low, IDLE_START_TIMEOUT);
	r = mailimap_idle(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "IDLE", r);
	mailstream_low_set_timeout(low, NET_TIMEOUT);
	long long end = now_ms() + 1000LL * (timeout < IDLE_MAX ? timeout : IDLE_MAX);
	int fd = mailimap_idle_get_fd(s->imap);
	while (!*stop && s->imap->imap_stream->read_buffer_len == 0) {
		long long left = end - now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, left < 1000 ? (int)left : 1000);
		if (pr > 0 || (pr < 0 && errno != EINTR))
			break; /* data, hang-up or error: DONE tells which */
	}
	r = mailimap_idle_done(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, err, "IDLE", r);
	return 0;
}

static void imap_close(void *state)
{
	struct imap_src *s = state;
	if (!s)
		return;
	char *e = NULL;
	if (s->imap && move_pending(s, &e) < 0) {
		log_warn("%s", e);
		free(e);
	}
	disconnect(s, 0);
	free(s->pending);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->host);
	free(s->user);
	free(s->folder);
	free(s->processed);
	free(s->quarantine);
	free(s->ca_file);
	free(s->token_command);
	free(s->label);
	free(s->key);
	free(s->pkey);
	free(s->known);
	strv_free(&s->created);
	free(s);
}

/* The processed and quarantine folders: there, or created at first use. */
static void imap_check(void *state, struct strv *ok, struct strv *fix)
{
	struct imap_src *s = state;
	const char *folders[] = {s->processed, s->quarantine};
	for (size_t i = 0; i < ARRAY_LEN(folders); i++) {
		clist *res = NULL;
		int r = mailimap_list(s->imap, "", folders[i], &res);
		if (r != MAILIMAP_NO_ERROR)
			strv_addf(fix, "%s: LIST %s failed (%d): the account must see its folders",
				  s->label, folders[i], r);
		else if (res && clist_count(res) > 0)
			strv_addf(ok, "%s: folder %s exists", s->label, folders[i]);
		else
			strv_addf(ok, "%s: folder %s does not exist yet; it is created at first use "
				  "(the account must be allowed to)", s->label, folders[i]);
		if (res)
			mailimap_list_result_free(res);
	}
}

const struct source_ops source_imap = {
	.check = imap_check,
	.name = "imap",
	.open = imap_open,
	.fetch = imap_fetch,
	.done = imap_done,
	.done_many = imap_done_many,
	.quarantine = imap_quarantine,
	.wait = imap_wait,
	.close = imap_close,
	.position = imap_position,
};
