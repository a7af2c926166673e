#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char tmp[4096], dir[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	/* A fresh name, created exclusively (O_EXCL, mode 0600): nobody can have planted a file or a symlink there for
	 * the secrets to be written through. */
	int fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* open() applies the umask; make the mode exact (0600 must not become 0644 or 0400). */
	if (fchmod(fd, mode)) {
		snprintf(err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd)) {
		snprintf(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		snprintf(err, errlen, "cannot close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	/* Make the rename itself durable. */
	snprintf(dir, sizeof dir, "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

char *fs_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, with the whole loop. Symlinks are followed on
	 * purpose (Kubernetes mounts secrets through them); what is opened must then be a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	char *data = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file (a FIFO, device or directory is refused)", path);
		errno = EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
		errno = EFBIG;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		snprintf(err, errlen, "out of memory reading %s", path);
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	data[got] = 0;
	*len = got;
out:
	close(fd);
	return data;
}

int fs_dir_writable(const char *path, char *dir, size_t dirlen)
{
	char copy[4096];
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
		return ENAMETOOLONG;
	snprintf(dir, dirlen, "%s", dirname(copy)); /* dirname may write into copy: take its result before reuse */
	struct stat st;
	if (stat(dir, &st))
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS))
		return errno;
	return 0;
}
