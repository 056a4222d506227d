/* privs.c: see privs.h. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privs.h"
#include "util.h"

static int running_as_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

int privs_drop_uid(uid_t uid, gid_t gid, char **err)
{
	struct passwd *pw = getpwuid(uid);
	int r;
	if (!running_as_root() || uid == 0)
		return 0;
	if (pw)
		r = initgroups(pw->pw_name, pw->pw_gid) == 0 && setgid(pw->pw_gid) == 0 ? 0 : -1;
	else
		r = setgroups(0, NULL) == 0 && setgid(gid) == 0 ? 0 : -1;
	if (r == 0 && setuid(uid) != 0)
		r = -1;
	if (r != 0) {
		*err = xasprintf("cannot become uid %lu%s%s%s: %s", (unsigned long)uid,
				 pw ? " (" : "", pw ? pw->pw_name : "", pw ? ")" : "", strerror(errno));
		return -1;
	}
	/* a process that could become root again has not dropped anything */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		*err = xasprintf("uid %lu can still become root: refusing to go on", (unsigned long)uid);
		return -1;
	}
	return 0;
}

int privs_drop(const char *user, char **err)
{
	if (!running_as_root())
		return 0;
	int required = user != NULL;
	if (!user)
		user = PRIVS_DEFAULT_USER;
	struct passwd *pw = getpwnam(user);
	if (!pw && !required)
		return 1;
	if (!pw) {
		*err = xasprintf("[daemon] user %s: no such account (create it: systemd-sysusers "
				 "after make install, or adduser --system --group --home /var/lib/cgen "
				 "%s; or set [daemon] user)", user, user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0;
	return privs_drop_uid(pw->pw_uid, pw->pw_gid, err);
}

int privs_store_owner(const char *store_path, const char *daemon_user, uid_t *uid, gid_t *gid,
		      char **err)
{
	struct stat st;
	if (stat(store_path, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
		return st.st_uid == 0 ? 0 : 1;
	}
	const char *slash = strrchr(store_path, '/');
	char *dir = slash ? (slash == store_path ? xstrdup("/")
						 : xstrndup(store_path, (size_t)(slash - store_path)))
			  : xstrdup(".");
	int have_dir = stat(dir, &st) == 0;
	if (have_dir && st.st_uid != 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
		free(dir);
		return 1;
	}
	struct passwd *pw = getpwnam(daemon_user ? daemon_user : PRIVS_DEFAULT_USER);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		free(dir);
		return pw->pw_uid == 0 ? 0 : 1;
	}
	if (!daemon_user) {
		free(dir);
		return 0;
	}
	*err = xasprintf("[daemon] user %s: no such account, and the store %s does not exist yet: "
			 "create the account first (systemd-sysusers, or adduser --system --group %s)",
			 daemon_user, store_path, daemon_user);
	free(dir);
	return -1;
}
