// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace record`: trace a command from its first instruction.  The
 * child is forked first and held before exec on a pipe; the tracer attaches
 * to its pid, then lets it exec, so nothing the command does is missed.
 * Like time(1), strace and perf stat, record exits with the command's status
 * (127 when it cannot be found, 126 when it cannot be run, 128+N when a
 * signal N ended it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "session.h"
#include "loader.h"

struct child {
	pid_t pid;
	int go;		/* write end: one byte releases the child */
};

static int release(void *arg)
{
	struct child *c = arg;
	char b = 1;

	if (write(c->go, &b, 1) != 1) {
		fprintf(stderr, PROG " record: cannot start the command: %s\n", strerror(errno));
		return -1;
	}
	close(c->go);
	c->go = -1;
	return 0;
}

/*
 * Would execvp(name) find something it can run?  0, or the shell's status
 * (127: not found, 126: found but not executable) after one line on stderr.
 * Checked before tracing, so a typo costs no attach and writes no JSON.
 */
int record_resolve(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	struct stat st;
	int found = 0;

	if (strchr(name, '/')) {
		if (stat(name, &st)) {
			fprintf(stderr, PROG " record: cannot run '%s': %s\n", name, strerror(errno));
			return 127;
		}
		if (S_ISDIR(st.st_mode) || access(name, X_OK)) {
			fprintf(stderr, PROG " record: cannot run '%s': %s\n", name,
				S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
			return 126;
		}
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*name && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n, path, n ? "/" : "", name);
		if (!stat(buf, &st) && !S_ISDIR(st.st_mode)) {
			if (!access(buf, X_OK))
				return 0;
			found = 1;
		}
		path += n + (path[n] == ':');
	}
	fprintf(stderr, PROG " record: cannot run '%s': %s\n", name,
		found ? "Permission denied" : "command not found");
	return found ? 126 : 127;
}

static pid_t spawn_held(char **argv, int *go)
{
	int gate[2];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char b;

		close(gate[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (read(gate[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, PROG " record: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(gate[0]);
	*go = gate[1];
	return pid;
}

static bool exited_within(pid_t pid, double secs, int *st)
{
	for (double end = now_s() + secs; ; usleep(20000)) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return true;
		if (now_s() >= end)
			return false;
	}
}

/*
 * The recording ended before the command: stop it.  A signal that stopped
 * the recording is passed on first (SIGINT on Ctrl-C), then SIGTERM, then
 * SIGKILL, each after a grace period, so a command that ignores one signal
 * never makes record hang or outlive it.  -d starts at SIGTERM, as timeout(1).
 */
static void stop_child(pid_t pid, int first, int *st)
{
	const int ladder[] = { first, SIGTERM, SIGKILL };
	const double grace = 2.0;

	for (size_t i = 0; i < sizeof(ladder) / sizeof(*ladder); i++) {
		if (i && ladder[i] == ladder[i - 1])
			continue;
		kill(pid, ladder[i]);
		if (exited_within(pid, ladder[i] == SIGKILL ? 30 : grace, st))
			return;
	}
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int record_main(int argc, char **argv)
{
	struct trace_opts o;
	struct child c = { 0 };
	char comm[EPB_COMM_LEN];
	bool help, timed_out = false;
	int pidfd, ret, st = 0;

	if (parse_record_args(argc, argv, &o, &help))
		return 2;
	if (help) {
		if (o.version)
			printf(PROG " %s\n", EPBATCH_VERSION);
		else
			usage(stdout);
		return 0;
	}
	if (check_privileges())
		return 1;
	if (o.pid)
		return trace_pid(&o);
	ret = record_resolve(o.command[0]);
	if (ret)
		return ret;
	if (check_writable(o.json))
		return 1;
	/* the name the kernel will give it (until exec the child is a copy of us) */
	snprintf(comm, sizeof(comm), "%s",
		 strrchr(o.command[0], '/') ? strrchr(o.command[0], '/') + 1 : o.command[0]);
	o.comm = comm;
	c.pid = spawn_held(o.command, &c.go);
	if (c.pid < 0) {
		fprintf(stderr, PROG " record: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	ret = trace_session(&o, c.pid, pidfd, release, &c);
	if (c.go >= 0) {	/* never started: do not leave it waiting */
		kill(c.pid, SIGKILL);
		close(c.go);
		waitpid(c.pid, &st, 0);
		if (!ret && trace_stop_signal())
			return 128 + trace_stop_signal();	/* stopped while setting up */
	} else if (waitpid(c.pid, &st, WNOHANG) != c.pid) {
		int sig = trace_stop_signal();

		/* -d ended the recording as asked: stopping the command is ours */
		timed_out = !sig;
		stop_child(c.pid, sig ? sig : SIGTERM, &st);
	}
	if (pidfd >= 0)
		close(pidfd);
	/* the tracer's own failure first; else the command's status (0 after -d) */
	return ret ? ret : timed_out ? 0 : exit_status(st);
}
