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
		fprintf(stderr, PROG ": empty output path\n");
		return -1;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path,
			S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		return -1;
	}
	tmp = tmp_name(path);
	if (!tmp)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
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

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": cannot write %s: is a directory\n", path);
		*tmp = NULL;
		return NULL;
	}
	*tmp = tmp_name(path);
	if (!*tmp) {
		fprintf(stderr, PROG ": out of memory\n");
		return NULL;
	}
	f = fopen(*tmp, "we");
	if (!f) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return f;
}

int atomic_close(FILE *f, char *tmp, const char *path)
{
	/* flushed and on disk before the rename makes it visible */
	int err = ferror(f) | fflush(f) | fsync(fileno(f));

	if (fclose(f))
		err = 1;
	if (err || rename(tmp, path)) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
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
	unlink(tmp);
	free(tmp);
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
