/* runstate.h: what the running daemon tells the operator beside the store,
 * in STORE.state (STORE: [store] path), for `cgenctl status` and a look by
 * hand. Lines "key: value":
 *
 *   pid: 4242
 *   state: running | paused | stopped
 *   store: ok | cannot-commit
 *   since: 2026-11-26T17:00:00Z     (when state or store last changed)
 *   updated: 2026-11-26T17:05:00Z
 *   error: sqlite: database or disk is full     (the store's error while paused)
 *
 * "paused": the store cannot commit (disk full, I/O error); the daemon takes
 * no new mail and sends nothing until a trial write works, then says so in the
 * log and goes back to "running" by itself. The file is created at start
 * (mode 0600) at a fixed size and rewritten in place, so that writing it
 * needs no new disk space when the disk is full. */
#ifndef CGEN_RUNSTATE_H
#define CGEN_RUNSTATE_H

#include <time.h>

#define RUNSTATE_SIZE 1024

struct runstate {
	long pid;
	char state[16];          /* "running", "paused", "stopped" */
	int store_ok;
	time_t since, updated;
	char error[512];         /* "" when none */
};

/* "STORE.state" for the store at store_path (allocated). */
char *runstate_path(const char *store_path);
/* Creates or opens the file for the daemon; the file descriptor, or -1 with
 * *err allocated. */
int runstate_open(const char *store_path, char **err);
/* Rewrites the file in place. 0, or -1 (errno set). */
int runstate_write(int fd, const struct runstate *rs);
/* Reads the file of the store at store_path. 0, 1 when there is none (no
 * daemon ever ran on this store), -1 with *err allocated. A pid that is no
 * longer a live process is the caller's to judge (kill(pid, 0)). */
int runstate_read(const char *store_path, struct runstate *out, char **err);

#endif
