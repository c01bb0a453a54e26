// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one atomic writer: a temporary sibling, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base.h"

static char *tmp_name(const char *path)
{
	char *t;

	if (asprintf(&t, "%s.tmp.%d", path, (int)getpid()) < 0)
		return NULL;
	return t;
}

int check_writable(const char *path)
{
	struct stat st;
	char *tmp;
	int fd;

	if (!strcmp(path, "-"))
		return 0;
	if (!*path) {
		base_err("empty output path\n");
		return -1;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		base_err("cannot write %s: is a directory\n", path);
		return -1;
	}
	/* /dev/null, /dev/stdout, a FIFO: written in place, never renamed over */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		if (access(path, W_OK)) {
			base_err("cannot write %s: %s\n", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	tmp = tmp_name(path);
	if (!tmp)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		base_err("cannot write %s: %s\n", path, strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);
	unlink(tmp);
	free(tmp);
	return 0;
}

FILE *atomic_open(const char *path, char **tmp)
{
	struct stat st;
	FILE *f;

	*tmp = NULL;
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		base_err("cannot write %s: is a directory\n", path);
		return NULL;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* a device or a FIFO: written in place (*tmp stays NULL) */
		f = fopen(path, "we");
		if (!f)
			base_err("cannot write %s: %s\n", path, strerror(errno));
		return f;
	}
	*tmp = tmp_name(path);
	if (!*tmp) {
		base_err("out of memory\n");
		return NULL;
	}
	f = fopen(*tmp, "we");
	if (!f) {
		base_err("cannot write %s: %s\n", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return f;
}

int atomic_close(FILE *f, char *tmp, const char *path)
{
	/* flushed and on disk before the rename makes it visible */
	int err = ferror(f) | fflush(f) | (tmp ? fsync(fileno(f)) : 0);

	if (fclose(f))
		err = 1;
	if (!tmp) {		/* written in place */
		if (err)
			base_err("cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
		return err ? -1 : 0;
	}
	if (err || rename(tmp, path)) {
		base_err("cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void atomic_abort(FILE *f, char *tmp)
{
	fclose(f);
	if (tmp)
		unlink(tmp);
	free(tmp);
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	const char *p = data;
	char *tmp = NULL;
	int fd, saved;

	if (!strcmp(path, "-"))
		fd = STDOUT_FILENO;
	else {
		struct stat st;

		if (!stat(path, &st) && !S_ISREG(st.st_mode))
			fd = open(path, O_WRONLY | O_CLOEXEC);	/* in place */
		else if (!(tmp = tmp_name(path)))
			return -1;
		else
			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			saved = errno;
			free(tmp);
			errno = saved;
			return -1;
		}
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fd == STDOUT_FILENO)
		return 0;
	if ((tmp && fsync(fd)) || close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (tmp && rename(tmp, path))
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno;
	if (fd >= 0 && fd != STDOUT_FILENO)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

char *read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

void fput_xml(const char *s, FILE *f)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}
