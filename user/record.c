// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace record`: trace a command from its first instruction.  The
 * child is forked first and held before exec on a pipe; the tracer attaches
 * to its pid, then lets it exec, so nothing the command does is missed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "trace.h"

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
		if (read(gate[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, PROG " record: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	*go = gate[1];
	return pid;
}

int record_main(int argc, char **argv)
{
	struct trace_opts o;
	struct child c = { 0 };
	bool help;
	int pidfd, ret, st = 0;

	if (parse_record_args(argc, argv, &o, &help))
		return 2;
	if (help) {
		usage(stdout);
		return 0;
	}
	if (check_privileges())
		return 1;
	if (o.pid)
		return trace_pid(&o);
	if (check_writable(o.json))
		return 1;
	c.pid = spawn_held(o.command, &c.go);
	if (c.pid < 0) {
		fprintf(stderr, PROG " record: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	ret = trace_session(&o, c.pid, pidfd, release, &c);
	if (ret && c.go >= 0) {	/* never started: do not leave it waiting */
		kill(c.pid, SIGKILL);
		close(c.go);
	} else if (o.duration > 0 && !kill(c.pid, 0)) {
		/* -d ended the recording before the command: stop it like timeout(1) */
		kill(c.pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(c.pid, &st, WNOHANG) == 0; i++)
			usleep(100000);
		kill(c.pid, SIGKILL);
	}
	waitpid(c.pid, &st, 0);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
