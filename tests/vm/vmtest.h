/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the guest test programs in tests/vm/: checks
 * that count and report failures, and the ioctl wrapper.
 */
#ifndef EPB_VMTEST_H
#define EPB_VMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/epoll_batch.h"

static int vt_checks __attribute__((unused)), vt_failed __attribute__((unused));

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		vt_checks++;                                               \
		if (!(cond)) {                                             \
			vt_failed++;                                       \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
			fflush(stdout);                                    \
		}                                                          \
	} while (0)

/* A setup step that must work for the rest of the test to mean anything. */
#define MUST(cond)                                                         \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("FAIL %s:%d: setup: %s: %s\n", __FILE__, __LINE__, \
			       #cond, strerror(errno));                    \
			exit(1);                                           \
		}                                                          \
	} while (0)

/* The ioctl: 0, or -errno. */
static inline int epb_submit(int dev, void *batch)
{
	return ioctl(dev, EPOLL_BATCH_IOC_SUBMIT, batch) < 0 ? -errno : 0;
}

static inline int epb_open(void)
{
	int dev = open(EPOLL_BATCH_DEVICE, O_RDWR | O_CLOEXEC);

	if (dev < 0) {
		fprintf(stderr, "cannot open %s: %s (is epoll_batch.ko loaded?)\n",
			EPOLL_BATCH_DEVICE, strerror(errno));
		exit(1);
	}
	return dev;
}

#endif
