/* SPDX-License-Identifier: MIT */
/*
 * vfork() keeps its semantics: the child runs in the parent's memory, with
 * the parent suspended, until it execs or exits.  libuv probes this (a store
 * in a vfork child must be visible in the parent; seeing fork semantics it
 * spawns with fork) and CPython's subprocess relies on it.  Each case queues
 * epoll ops in the parent first; the parent's wait after the vfork must show
 * them applied, and an exec'd image must see them on the inherited epoll fd.
 *
 * The vfork child only stores to memory, uses its stack, and calls execve
 * or _exit: nothing else is allowed in a vfork child.  Everything is printed
 * by the parent after the child is gone.
 */
#include "transcript.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int shared;
static volatile int shared_errno;

static void reap(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	t_log("%s: child exited: %d", what,
	      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* Uses a good deal of the child's stack (which is the parent's stack,
 * below the vfork caller's frame), so a wrapper whose own frame the child
 * overwrites is caught by the parent crashing or returning garbage. */
static __attribute__((noinline)) int scribble(int seed)
{
	volatile char buf[8192];
	int sum = 0;

	memset((char *)buf, seed, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i += 512)
		sum += buf[i];
	return sum;
}

/* vfork from a deeper frame; the child stores and _exits with status. */
static __attribute__((noinline)) pid_t vfork_exit(int status)
{
	pid_t pid = vfork();

	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		shared = shared + 1;
		_exit(status);
	}
	return pid;
}

/* The exec'd image: wait on the inherited epoll fd. */
static int child_image(char **argv)
{
	int ep = atoi(argv[2]);

	t_log("%s: in the new image", argv[3]);
	t_wait("exec'd image: epoll_wait(ep, 8, 0)", ep, 8, 0);
	return 5;
}

int main(int argc, char **argv)
{
	int ep, a, b, c;
	volatile int on_stack = 0;
	char ebuf[16];
	char *cargv[5];
	pid_t pid;

	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child_image(argv);
	t_begin("vfork");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	c = t_eventfd(0);
	PRIME(ep);

	t_log("## the child's stores are seen by the parent; child _exits");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 2);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 3);
	shared = 0;
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		shared = 42;
		on_stack = 7;
		_exit(scribble(0) == 0 ? 3 : 4);
	}
	t_log("parent sees the child's store: shared = %d, on_stack = %d", shared, on_stack);
	reap(pid, "_exit");
	WAIT(ep, 8, 0);

	t_log("## the parent is suspended until the child exits");
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 4);
	shared = 0;
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		/* Bounded busy work: a fork child running alongside the parent
		 * would lose the race below; a vfork parent cannot run yet. */
		for (int i = 0; i < 1000; i++)
			shared = shared + 1;
		_exit(0);
	}
	t_log("parent resumes after the child's work: shared = %d", shared);
	reap(pid, "busy");
	WAIT(ep, 8, 0);

	t_log("## vfork + execve of a real program (/bin/true)");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 5);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	shared = 0;
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		char *targv[] = { "true", NULL };

		shared = 1;
		execve("/bin/true", targv, environ);
		shared_errno = errno;
		_exit(127);
	}
	t_log("parent sees the store made before execve: shared = %d", shared);
	reap(pid, "execve /bin/true");
	WAIT(ep, 8, 0);

	t_log("## vfork + execve of this program: the new image sees the ops queued before vfork");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 6);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLOUT, 7);
	snprintf(ebuf, sizeof(ebuf), "%d", ep);
	cargv[0] = argv[0];
	cargv[1] = "--child";
	cargv[2] = ebuf;
	cargv[3] = "vforked";
	cargv[4] = NULL;
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		execve("/proc/self/exe", cargv, environ);
		_exit(127);
	}
	reap(pid, "execve self");
	WAIT(ep, 8, 0);

	t_log("## vfork + execve that fails: the child reports errno through memory, _exit(127)");
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 8);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT, 9);
	shared = 0;
	shared_errno = 0;
	pid = vfork();
	if (pid < 0)
		t_die("vfork");
	if (pid == 0) {
		char *targv[] = { "nonexistent", NULL };

		shared = 2;
		execve("/nonexistent/epbatch-no-such-program", targv, environ);
		shared_errno = errno;
		_exit(127);
	}
	t_log("parent sees: shared = %d, the child's execve errno = %s", shared,
	      shared_errno ? t_errname(shared_errno) : "0");
	reap(pid, "failed execve");
	WAIT(ep, 8, 0);

	t_log("## vfork in a loop with a MOD queued before each");
	shared = 0;
	for (int i = 0; i < 5; i++) {
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 10 + (uint64_t)i);
		reap(vfork_exit(i), "loop");
		WAIT(ep, 8, 0);
	}
	t_log("stores from 5 children: shared = %d", shared);
	WAIT(ep, 8, 0);
	return 0;
}
