// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* /proc readers shared by the tracer and `run`. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "base.h"

int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char path[96], *t, *p;
	int ppid = 0;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	t = read_text(path, 4096);
	if (!t)
		return -1;
	memset(st, 0, sizeof(*st));
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(t, ')');
	if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %lu %*u %*u %*u %*u %llu %llu %llu %llu",
			 &st->state, &ppid, &st->flags, &st->utime, &st->stime,
			 &st->cutime, &st->cstime) != 7) {
		free(t);
		return -1;
	}
	st->ppid = ppid;
	free(t);
	return 0;
}

void proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

int proc_nr_tasks(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

int proc_check_target(pid_t pid)
{
	struct proc_stat st;

	if (proc_read_stat(pid, 0, &st)) {
		base_err("no such process: %d\n", (int)pid);
		return -1;
	}
	if (st.flags & PROC_PF_KTHREAD) {
		base_err("PID %d is a kernel thread: it makes no system calls to trace\n",
			(int)pid);
		return -1;
	}
	/* a leader that called pthread_exit is a zombie while its threads run */
	if ((st.state == 'Z' || st.state == 'X') && proc_nr_tasks(pid) <= 1) {
		base_err("PID %d has exited (a zombie waiting for its parent)\n", (int)pid);
		return -1;
	}
	return 0;
}

double proc_tree_cpu_s(pid_t pid)
{
	struct node { pid_t pid, ppid; unsigned long long ticks; bool in; } *all = NULL, *t;
	size_t n = 0, cap = 0;
	unsigned long long sum = 0;
	struct proc_stat st;
	struct dirent *d;
	bool root = false, grew = true;
	DIR *dir = opendir("/proc");

	if (!dir)
		return NAN;
	while ((d = readdir(dir))) {
		pid_t p = (pid_t)atoi(d->d_name);

		if (p <= 0 || proc_read_stat(p, 0, &st))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			t = realloc(all, cap * sizeof(*all));
			if (!t) {
				free(all);
				closedir(dir);
				return NAN;
			}
			all = t;
		}
		all[n++] = (struct node){ p, st.ppid, st.utime + st.stime + st.cutime + st.cstime,
					  p == pid };
		root |= p == pid;
	}
	closedir(dir);
	/* descendants: repeat until a pass adds none (children may list first) */
	while (root && grew) {
		grew = false;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; !all[i].in && k < n; k++)
				if (all[k].in && all[k].pid == all[i].ppid)
					all[i].in = grew = true;
	}
	for (size_t i = 0; i < n; i++)
		if (all[i].in)
			sum += all[i].ticks;
	free(all);
	return root ? (double)sum / (double)sysconf(_SC_CLK_TCK) : NAN;
}

int self_exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	*strrchr(buf, '/') = 0;
	return 0;
}

long epoll_fdinfo_exclusive(const char *text)
{
	const char *l = text;
	long n = 0;

	while (l && *l) {
		unsigned events;
		int tfd;

		if (sscanf(l, "tfd: %d events: %x", &tfd, &events) == 2 && (events & EPOLLEXCLUSIVE))
			n++;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return n;
}

long proc_epoll_exclusive(pid_t pid, int fd)
{
	char path[96], link[64];
	ssize_t len;
	long n;
	char *t;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -1;
	link[len] = 0;
	if (strcmp(link, "anon_inode:[eventpoll]"))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	/* a registration's line is under 128 bytes: room for 32768 of them */
	t = read_text(path, 4 << 20);
	if (!t)
		return -1;
	n = epoll_fdinfo_exclusive(t);
	free(t);
	return n;
}
