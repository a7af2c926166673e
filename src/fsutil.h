/* fsutil: small synchronous file helpers for rare, small writes (credentials, tracker state).
 *
 * They run on the loop thread: a few hundred bytes, at most every few minutes, fsync included; measured at well
 * under a millisecond on local disks, which is why they are not worth a thread-pool round trip. */
#ifndef AP_FSUTIL_H
#define AP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces `path` atomically: temp file in the same directory, write, fsync, rename, fsync of the directory.
 * The file gets `mode` (0600 for secrets). Readers see the old or the new content, never a mix or nothing.
 * Returns 0, or -1 with `err` set. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen);
/* Reads a whole file of at most `max` bytes into a new NUL-terminated heap buffer. Returns it, or NULL with
 * `err` set (errno kept). */
char *fs_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* Whether the directory that holds `path` lets this process create and rename files in it (what fs_write_atomic
 * needs), checked with the effective ids (access(2) with AT_EACCESS; a read-only file system counts). The directory
 * goes to `dir`. Returns 0, or an errno value: ENOENT (missing), ENOTDIR, EACCES, EROFS, ... */
int fs_dir_writable(const char *path, char *dir, size_t dirlen);

#endif
