/* SPDX-License-Identifier: MIT */
/*
 * exec with an inherited epoll fd (haproxy -W re-exec, daemons handing an
 * event loop to a new image) and posix_spawn of a helper that inherits it.
 * The program re-executes itself with "--child EP A B C": the new image
 * (with a fresh copy of any preloaded library) waits on the inherited epoll
 * fd and must see every operation made before exec, and none made on a
 * close-on-exec fd that exec closed.
 */
#include "transcript.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int child(char **argv)
{
	int ep = atoi(argv[2]), a = atoi(argv[3]), b = atoi(argv[4]);

	t_log("%s: in the new image", argv[5]);
	PRIME(ep);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 100);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLOUT, 101);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 102);
	return 0;
}

int main(int argc, char **argv)
{
	int ep, a, b, cx;
	char ebuf[16], abuf[16], bbuf[16];
	char *cargv[7];
	pid_t pid;
	int st;

	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return child(argv);
	t_begin("exec");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	cx = eventfd(1, EFD_CLOEXEC);
	if (cx < 0)
		t_die("eventfd");
	PRIME(ep);
	snprintf(ebuf, sizeof(ebuf), "%d", ep);
	snprintf(abuf, sizeof(abuf), "%d", a);
	snprintf(bbuf, sizeof(bbuf), "%d", b);
	cargv[0] = argv[0];
	cargv[1] = "--child";
	cargv[2] = ebuf;
	cargv[3] = abuf;
	cargv[4] = bbuf;
	cargv[6] = NULL;

	t_log("## posix_spawn of a helper with ops queued on the inherited epoll fd");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_ADD, cx, EPOLLIN, 3);
	cargv[5] = "spawned";
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargv, environ) != 0)
		t_die("posix_spawn");
	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	t_log("spawned helper exited: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	t_log("## back in the parent: the helper's ops are in effect");
	WAIT(ep, 8, 0);

	t_log("## vfork + exec with ops queued");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 4);
	CTL(ep, EPOLL_CTL_DEL, cx, 0, 0);
	cargv[5] = "vforked";
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		execv("/proc/self/exe", cargv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	t_log("vforked helper exited: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_ADD, cx, EPOLLIN, 3);

	t_log("## exec with ops queued: the new image sees them, not the CLOEXEC fd's");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 6);
	CTL(ep, EPOLL_CTL_MOD, cx, EPOLLIN | EPOLLOUT, 4);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLOUT, 5);
	cargv[5] = "exec'd";
	execv("/proc/self/exe", cargv);
	t_die("execv");
}
