// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --cgroup PATH: a cgroup v2 directory's id (what the kernel's
 * bpf_get_current_cgroup_id() returns for a task in it) and its depth below
 * the hierarchy's root, so a BPF program can ask "is the task in PATH or
 * below?" with one bpf_get_current_ancestor_cgroup_id(depth) compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "base.h"

#define CGROUP2_MAGIC 0x63677270	/* CGROUP2_SUPER_MAGIC, linux/magic.h */

int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	int found = -1;

	snprintf(buf, len, "/sys/fs/cgroup");
	while (f && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			found = 0;
			break;
		}
	if (f)
		endmntent(f);
	return found;
}

/* The id: the kernfs node id in a file handle (as bpftool does); the inode number else. */
static uint64_t dir_id(const char *path, const struct stat *st)
{
	struct {
		struct file_handle h;
		unsigned char id[8];
	} fh = { .h.handle_bytes = 8 };
	int mount_id;
	uint64_t id;

	if (name_to_handle_at(AT_FDCWD, path, &fh.h, &mount_id, 0) || fh.h.handle_bytes != 8)
		return (uint64_t)st->st_ino;
	memcpy(&id, fh.h.f_handle, sizeof(id));
	return id;
}

int cgroup_resolve(const char *path, char *real, size_t real_len, uint64_t *id, uint32_t *level)
{
	char buf[PATH_MAX], up[PATH_MAX], root[PATH_MAX - 64];
	struct statfs fs;
	struct stat st, pst;
	uint32_t depth = 0;

	cgroup2_mount(root, sizeof(root));
	/* "system.slice/nginx.service" is a path below the cgroup v2 root, as systemd names it */
	if (path[0] != '/' && access(path, F_OK)) {
		snprintf(up, sizeof(up), "%s/%.*s", root, (int)(sizeof(up) - sizeof(root) - 2), path);
		path = up;
	}
	if (!realpath(path, buf) || stat(buf, &st)) {
		base_err("--cgroup %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || statfs(buf, &fs) || fs.f_type != CGROUP2_MAGIC) {
		base_err("--cgroup %s: not a cgroup v2 directory (the unified hierarchy is %s)\n",
			 path, root);
		return -1;
	}
	snprintf(real, real_len, "%s", buf);
	/* depth: the parents on the same file system, up to the hierarchy's root */
	for (char *slash = strrchr(buf, '/'); slash && slash != buf; slash = strrchr(buf, '/')) {
		*slash = 0;
		if (stat(buf, &pst) || pst.st_dev != st.st_dev)
			break;
		depth++;
	}
	*id = dir_id(real, &st);
	*level = depth;
	return 0;
}
