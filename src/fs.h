/* fs.h: the few file-system steps every writer shares (Maildir, outbox). */
#ifndef CGEN_FS_H
#define CGEN_FS_H

/* Creates folder path with mode 0700. Returns 1 when created, 0 when it was
 * already a folder, -1 with errno set (ENOTDIR when path is something else). */
int fs_mkdir(const char *path);
/* fsync of a folder, so that renames into it are durable. 0, or -1 with errno. */
int fs_sync_dir(const char *path);

#endif
