// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --cgroup PATH (base layer, no libbpf): a cgroup v2 directory's id and depth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "base/base.h"

static void test_root(void **state)
{
	char root[256], real[4096];
	uint64_t id = 0;
	uint32_t level = 99;

	(void)state;
	if (cgroup2_mount(root, sizeof(root)))
		skip();	/* no cgroup v2 here */
	assert_int_equal(cgroup_resolve(root, real, sizeof(real), &id, &level), 0);
	assert_string_equal(real, root);
	assert_int_equal(level, 0);		/* the hierarchy's root */
	assert_true(id != 0);
	/* relative: below the mount */
	assert_int_equal(cgroup_resolve("no-such-cgroup-epbatch", real, sizeof(real), &id, &level), -1);
}

static void test_rejects(void **state)
{
	char real[4096];
	uint64_t id;
	uint32_t level;

	(void)state;
	assert_int_equal(cgroup_resolve("/nonexistent/epbatch", real, sizeof(real), &id, &level), -1);
	assert_int_equal(cgroup_resolve("/proc", real, sizeof(real), &id, &level), -1);
	assert_int_equal(cgroup_resolve("/proc/self/status", real, sizeof(real), &id, &level), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
