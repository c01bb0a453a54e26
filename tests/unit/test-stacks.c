// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --stacks without BPF: the symbolizer (PIE executable, shared library,
 * a stripped copy of a fixture ELF made here, an exited process) and the
 * stack set's folded lines, merging and JSON round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symbolize.h"
#include "stackset.h"

/* The fixture function: named from this test's own ELF (a PIE). */
__attribute__((noinline)) int fixture_caller_fn(int x)
{
	return x * 3 + 1;
}

/* File offset and path of ADDR in this process, from /proc/self/maps. */
static int self_offset(uint64_t addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128];
	int found = -1;

	while (f && found && fgets(line, sizeof(line), f)) {
		unsigned long long s, e, o;
		int n = 0;

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &s, &e, &o, &n) >= 3 &&
		    addr >= s && addr < e && n) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, len, "%s", line + n);
			*off = addr - s + o;
			found = 0;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void test_own_function(void **state)
{
	struct symbolizer *s = sym_open();
	char buf[256];

	(void)state;
	assert_non_null(s);
	assert_int_equal(sym_maps_read(s, getpid()), 0);
	assert_true(sym_maps_known(s, getpid()));
	/* inside the function, not only at its start */
	assert_true(sym_user(s, getpid(), (uint64_t)(uintptr_t)fixture_caller_fn + 1, buf, sizeof(buf)));
	assert_string_equal(buf, "fixture_caller_fn");
	assert_true(sym_user_exec(s, getpid(), (uint64_t)(uintptr_t)fixture_caller_fn));
	/* a shared library's exported function (libelf.so) */
	assert_true(sym_user(s, getpid(), (uint64_t)(uintptr_t)elf_version, buf, sizeof(buf)));
	assert_string_equal(buf, "elf_version");
	/* an address in no mapping */
	assert_false(sym_user(s, getpid(), 8, buf, sizeof(buf)));
	assert_string_equal(buf, "[unknown] 0x8");
	assert_false(sym_user_exec(s, getpid(), 8));
	sym_close(s);
	fixture_caller_fn(1);
}

static void test_stripped(void **state)
{
	struct symbolizer *s = sym_open();
	char path[PATH_MAX], stripped[PATH_MAX + 32], cmd[2 * PATH_MAX + 64], buf[256], want[PATH_MAX + 64];
	char dir[] = "/tmp/epbatch-test-stacks.XXXXXX";
	uint64_t off = 0;

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(self_offset((uint64_t)(uintptr_t)fixture_caller_fn, path, sizeof(path), &off), 0);
	/* the fixture: this test's ELF, with and without its symbol table */
	snprintf(stripped, sizeof(stripped), "%s/fixture-s", dir);
	snprintf(cmd, sizeof(cmd), "strip -s -o '%s' '%s'", stripped, path);
	assert_int_equal(system(cmd), 0);
	assert_true(sym_file(s, path, off, buf, sizeof(buf)));
	assert_string_equal(buf, "fixture_caller_fn");
	assert_false(sym_file(s, stripped, off, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "[unknown] in fixture-s+0x%" PRIx64, off);
	assert_string_equal(buf, want);
	/* not an ELF file at all */
	assert_false(sym_file(s, "/proc/self/status", 16, buf, sizeof(buf)));
	assert_string_equal(buf, "[unknown] in status+0x10");
	unlink(stripped);
	rmdir(dir);
	sym_close(s);
}

static void test_exited(void **state)
{
	struct symbolizer *s = sym_open();
	char buf[256];
	pid_t gone = 0x3ffffff0;	/* above pid_max's limit: never a process */

	(void)state;
	assert_int_equal(sym_maps_read(s, gone), -1);
	assert_false(sym_maps_known(s, gone));
	assert_false(sym_user(s, gone, 0x401000, buf, sizeof(buf)));
	assert_string_equal(buf, "[unknown] 0x401000 (process exited)");
	sym_close(s);
}

static const char *const user_fr[] = { "_start", "main", "rearm_many", "epoll_ctl" };
static const char *const kern_fr[] = { "entry_SYSCALL_64", "do_syscall_64" };
static const char *const spin_fr[] = { "do_syscall_64", "alloc_fd", "native_queued_spin_lock_slowpath" };

static void fill(struct stack_set *set)
{
	const char *odd[] = { "a;b", "c" };

	set->period = 64;
	set->spin_unit = "samples";
	assert_int_equal(stackset_add(set, STACK_MOD, 42, "srv", 128, 2, user_fr, 4, kern_fr, 2), 0);
	assert_int_equal(stackset_add(set, STACK_MOD, 42, "srv", 64, 1, user_fr, 4, kern_fr, 2), 0);
	assert_int_equal(stackset_add(set, STACK_ADD, 42, "srv", 64, 1, user_fr, 3, kern_fr, 2), 0);
	assert_int_equal(stackset_add(set, STACK_DEL, 42, "srv", 64, 1, odd, 2, NULL, 0), 0);
	assert_int_equal(stackset_add(set, STACK_SPIN, 42, "srv", 7, 0, NULL, 0, spin_fr, 3), 0);
	stackset_sort(set);
}

static char *folded(const struct stack_set *set)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	stackset_write_folded(f, set, ~0U);
	fclose(f);
	return buf;
}

static void test_folded(void **state)
{
	struct stack_set set = {};
	char *out;

	(void)state;
	fill(&set);
	assert_int_equal(set.n, 4);	/* the two MOD stacks merged */
	out = folded(&set);
	assert_non_null(strstr(out, "srv;_start;main;rearm_many;epoll_ctl;[MOD];entry_SYSCALL_64_[k];do_syscall_64_[k] 192\n"));
	assert_non_null(strstr(out, "srv;_start;main;rearm_many;[ADD];entry_SYSCALL_64_[k];do_syscall_64_[k] 64\n"));
	assert_non_null(strstr(out, "srv;a:b;c;[DEL] 64\n"));	/* ';' in a name is no separator */
	assert_non_null(strstr(out, "srv;[spin];do_syscall_64_[k];alloc_fd_[k];native_queued_spin_lock_slowpath_[k] 7\n"));
	/* most counted first */
	assert_ptr_equal(strstr(out, "srv;_start;main;rearm_many;epoll_ctl;[MOD]"), out);
	free(out);
	stackset_free(&set);
}

static void test_json_round_trip(void **state)
{
	struct stack_set set = {}, back = {};
	json_t *j;
	char *a, *b;

	(void)state;
	fill(&set);
	j = stackset_json(&set);
	assert_int_equal(json_integer_value(json_object_get(j, "period")), 64);
	assert_int_equal(json_array_size(json_object_get(j, "epoll_ctl")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "spin")), 1);
	assert_int_equal(stackset_from_json(&back, j), 0);
	stackset_sort(&back);
	a = folded(&set);
	b = folded(&back);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* malformed: an op that is none */
	json_object_set_new(json_array_get(json_object_get(j, "epoll_ctl"), 0), "op", json_string("xyz"));
	stackset_free(&back);
	assert_int_equal(stackset_from_json(&back, j), -1);
	json_decref(j);
	stackset_free(&back);
	stackset_free(&set);
}

static void test_folded_file(void **state)
{
	struct stack_set set = {};
	char dir[] = "/tmp/epbatch-test-folded.XXXXXX", path[64];
	struct stat st;

	(void)state;
	fill(&set);
	assert_non_null(mkdtemp(dir));
	/* a directory is refused, nothing is left behind */
	assert_int_equal(stackset_folded_file(&set, dir), -1);
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	assert_int_equal(stackset_folded_file(&set, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	stackset_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_function),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_exited),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_folded_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
