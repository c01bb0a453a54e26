/* SPDX-License-Identifier: MIT */
/*
 * A library whose constructor runs before libepbatch.so's (LD_PRELOAD=
 * libepbatch.so:libearly.so: ld.so starts the later one first) and makes
 * one of the shim's entry points the process's first call into the shim:
 * the shim must set itself up there.  Its fds come from raw syscalls, which
 * the shim does not see.  EARLY_FIRST names the first call: add, mod, del,
 * wait or close.  Prints "early: ok FIRST", or a reason and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/raw_syscall.h"

static void die(const char *first, const char *what)
{
	fprintf(stderr, "early: %s first: %s\n", first, what);
	_exit(1);
}

__attribute__((constructor)) static void early(void)
{
	const char *first = getenv("EARLY_FIRST");
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out[2];
	int sv[2], ep, n;

	if (!first)
		return;
	ep = (int)raw_syscall(SYS_epoll_create1, 0, 0, 0, 0);
	if (ep < 0 || raw_syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (long)sv) < 0)
		die(first, "raw epoll_create1 or socketpair failed");
	if (raw_syscall(SYS_write, sv[1], (long)"x", 1, 0) != 1)
		die(first, "raw write failed");
	if (strcmp(first, "add") && strcmp(first, "close") &&
	    raw_syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, sv[0], (long)&ev) < 0)
		die(first, "raw epoll_ctl(ADD) failed");

	if (!strcmp(first, "add")) {
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
			die(first, "epoll_ctl(ADD) failed");
	} else if (!strcmp(first, "mod")) {
		ev.data.u32 = 8;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev) < 0)
			die(first, "epoll_ctl(MOD) failed");
	} else if (!strcmp(first, "del")) {
		if (epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL) < 0)
			die(first, "epoll_ctl(DEL) failed");
		if (epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL) == 0)
			die(first, "a second DEL succeeded");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
			die(first, "epoll_ctl(ADD) after the DEL failed");
	} else if (!strcmp(first, "close")) {
		if (close(sv[1]) < 0 || close(sv[1]) == 0)
			die(first, "close: the first did not succeed or the second did");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
			die(first, "epoll_ctl(ADD) failed");
	} else if (strcmp(first, "wait")) {
		die(first, "EARLY_FIRST is not add, mod, del, wait or close");
	}
	/* sv[0] is readable and registered: every way ends in one event */
	n = epoll_wait(ep, out, 2, 1000);
	if (n != 1 || !(out[0].events & EPOLLIN))
		die(first, "epoll_wait did not return the one event");
	if (out[0].data.u32 != (strcmp(first, "mod") ? 7u : 8u))
		die(first, "epoll_wait returned the wrong data");
	if (epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL) < 0 || close(sv[0]) < 0 || close(ep) < 0)
		die(first, "the clean-up failed");
	printf("early: ok %s\n", first);
	fflush(stdout);
}
