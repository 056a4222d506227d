/* privs.h: running as the service account when started as root.
 *
 * cgend started as root becomes [daemon] user before it opens anything it
 * writes (store, lock, pid file), and cgenctl run as root becomes the owner
 * of the store, so that no file of the agent's ever belongs to root by
 * accident. */
#ifndef CGEN_PRIVS_H
#define CGEN_PRIVS_H

#include <sys/types.h>

/* The service account when [daemon] user is not set. */
#define PRIVS_DEFAULT_USER "cgen"

/* When the process runs as root (real or effective uid 0) and user is not an
 * account with uid 0: takes user's supplementary groups, gid and uid, and
 * checks that root cannot be taken back. user NULL means [daemon] user was
 * not set: PRIVS_DEFAULT_USER, and when that account does not exist the
 * process stays as it is and 1 is returned (the caller warns). Nothing to do
 * (not root, or user is root): 0. Returns 0 when done, -1 with *err
 * allocated (what to fix: an unknown user names the commands that create
 * it). */
int privs_drop(const char *user, char **err);

/* Same, to a uid found on disk: the groups and gid of its account, or gid
 * alone (no supplementary group) when the uid has no account. */
int privs_drop_uid(uid_t uid, gid_t gid, char **err);

/* For cgenctl run as root: the account the store at store_path belongs to.
 * *uid and *gid: the store's owner when it exists; when it does not, the
 * owner of its folder unless that is root; else [daemon] user's account
 * (daemon_user, or PRIVS_DEFAULT_USER when NULL). Returns 1 with *uid, *gid
 * set; 0 when root itself owns the store, or no service account exists
 * (nothing to change); -1 with *err allocated when daemon_user is set but
 * names no account. */
int privs_store_owner(const char *store_path, const char *daemon_user, uid_t *uid, gid_t *gid,
		      char **err);

#endif
