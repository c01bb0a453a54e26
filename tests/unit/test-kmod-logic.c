// SPDX-License-Identifier: GPL-2.0
/*
 * The pure logic of epoll_batch.ko (kmod/epb_logic.h), in user space:
 * - IBT: which function entries a module may call through a pointer.  The
 *   kernel's own is_endbr() (6.1 asm/ibt.h) also accepts the poison that
 *   replaces a sealed ENDBR, so a guard built on it calls a sealed function
 *   and the CPU raises "Missing ENDBR".  Byte patterns: endbr64, endbr32,
 *   the poison, and other instructions.
 * - Timeouts beyond epoll_pwait()'s INT_MAX ms: waited in several calls to
 *   one deadline, never shorter than asked (a clamp to INT_MAX ms was the
 *   bug), on a simulated clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdint.h>
#include <errno.h>

#include "../../kmod/epb_logic.h"

static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
static const unsigned char endbr32[] = { 0xf3, 0x0f, 0x1e, 0xfb };
static const unsigned char poison[] = { 0x66, 0x0f, 0x1f, 0x00 };
/* push %rbp; mov %rsp,%rbp / nopl 0(%rax,%rax,1) (NOP4) / call rel32 / int3s */
static const unsigned char other[][4] = {
	{ 0x55, 0x48, 0x89, 0xe5 }, { 0x0f, 0x1f, 0x40, 0x00 },
	{ 0xe8, 0x00, 0x00, 0x00 }, { 0xcc, 0xcc, 0xcc, 0xcc },
	{ 0xf3, 0x0f, 0x1e, 0xf9 }, { 0x66, 0x0f, 0x1f, 0x44 },
	{ 0xfa, 0x1e, 0x0f, 0xf3 },	/* endbr64 as a little-endian u32's bytes reversed */
};

/* The kernel 6.1 is_endbr(), for contrast: true for the poison too. */
static int kernel_is_endbr(const unsigned char *p)
{
	uint32_t v = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;

	if (v == 0x001f0f66)
		return 1;
	v &= ~0x01000000U;
	return v == 0xfa1e0ff3;
}

static void test_entry_kind(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(epb_entry_kind(endbr64), EPB_ENTRY_ENDBR64);
	assert_int_equal(epb_entry_kind(endbr32), EPB_ENTRY_ENDBR32);
	assert_int_equal(epb_entry_kind(poison), EPB_ENTRY_SEALED);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(epb_entry_kind(other[i]), EPB_ENTRY_OTHER);
}

static void test_callable_under_ibt(void **state)
{
	size_t i;

	(void)state;
	/* IBT enforced: only a live endbr64 is a landing. */
	assert_true(epb_entry_callable(epb_entry_kind(endbr64), 1));
	assert_false(epb_entry_callable(epb_entry_kind(poison), 1));
	assert_false(epb_entry_callable(epb_entry_kind(endbr32), 1));
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_false(epb_entry_callable(epb_entry_kind(other[i]), 1));
	/* ... where the kernel's is_endbr() would have said yes to the poison. */
	assert_true(kernel_is_endbr(poison));
	/* Not enforced: anything (a sealed ENDBR is a plain NOP then). */
	assert_true(epb_entry_callable(epb_entry_kind(poison), 0));
	assert_true(epb_entry_callable(epb_entry_kind(other[0]), 0));
}

static void test_kprobe_step_back(void **state)
{
	size_t i;

	(void)state;
	/* x86 puts an entry kprobe after an ENDBR, live or sealed. */
	assert_true(epb_entry_is_endbr_site(endbr64));
	assert_true(epb_entry_is_endbr_site(endbr32));
	assert_true(epb_entry_is_endbr_site(poison));
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_false(epb_entry_is_endbr_site(other[i]));
		/* the same decision as the kernel's is_endbr() */
		assert_int_equal(epb_entry_is_endbr_site(other[i]),
				 kernel_is_endbr(other[i]));
	}
}

static void test_chunk_ms(void **state)
{
	(void)state;
	assert_int_equal(epb_chunk_ms(1), 1);
	assert_int_equal(epb_chunk_ms(999999), 1);
	assert_int_equal(epb_chunk_ms(1000000), 1);
	assert_int_equal(epb_chunk_ms(1000001), 2);
	assert_int_equal(epb_chunk_ms((long long)INT_MAX * 1000000), INT_MAX);
	assert_int_equal(epb_chunk_ms((long long)INT_MAX * 1000000 + 1), INT_MAX);
	assert_int_equal(epb_chunk_ms(INT64_MAX), INT_MAX);
}

/* A simulated clock: each wait(ms) advances it by ms unless an event comes. */
struct sim {
	long long now_ns, deadline_ns;
	long long event_at_ns;	/* < 0: never */
	int calls;
	int ms[8];
};

static long sim_wait(void *ctx, int ms)
{
	struct sim *s = ctx;
	long long end = s->now_ns + (long long)ms * 1000000;

	if (s->calls < 8)
		s->ms[s->calls] = ms;
	s->calls++;
	if (s->event_at_ns >= 0 && s->event_at_ns <= end) {
		s->now_ns = s->event_at_ns;
		return 1;
	}
	s->now_ns = end;
	return 0;
}

static long sim_eintr(void *ctx, int ms)
{
	struct sim *s = ctx;

	(void)ms;
	s->calls++;
	return -EINTR;
}

static long long sim_left(void *ctx)
{
	struct sim *s = ctx;

	return s->deadline_ns - s->now_ns;
}

static long sim_run(struct sim *s, long long ns)
{
	s->deadline_ns = s->now_ns + ns;
	return epb_wait_ns(ns, sim_wait, sim_left, s);
}

static void test_long_timeout(void **state)
{
	const long long max_ns = (long long)INT_MAX * 1000000;
	struct sim s = { .event_at_ns = -1 };

	(void)state;
	/* Short: one call, rounded up. */
	assert_int_equal(sim_run(&s, 1500000), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.ms[0], 2);

	/* Exactly INT_MAX ms: one full call, then nothing is left. */
	s = (struct sim){ .event_at_ns = -1 };
	assert_int_equal(sim_run(&s, max_ns), 0);
	assert_int_equal(s.calls, 1);
	assert_true(s.now_ns >= max_ns);

	/* One ns more: a second call of 1 ms, never a shorter wait. */
	s = (struct sim){ .event_at_ns = -1 };
	assert_int_equal(sim_run(&s, max_ns + 1), 0);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.ms[0], INT_MAX);
	assert_int_equal(s.ms[1], 1);
	assert_true(s.now_ns >= max_ns + 1);

	/* 60 days: 3 calls (24.8 + 24.8 + 10.4 days), not clamped to 24.8. */
	s = (struct sim){ .event_at_ns = -1 };
	assert_int_equal(sim_run(&s, 60LL * 86400 * 1000000000), 0);
	assert_int_equal(s.calls, 3);
	assert_true(s.now_ns >= 60LL * 86400 * 1000000000);

	/* An event in the second chunk ends the wait with it. */
	s = (struct sim){ .event_at_ns = max_ns + 5 };
	assert_int_equal(sim_run(&s, 3 * max_ns), 1);
	assert_int_equal(s.calls, 2);

	/* An error (e.g. -EINTR) in the first chunk is returned at once. */
	s = (struct sim){ .event_at_ns = -1 };
	s.deadline_ns = INT64_MAX;
	assert_int_equal(epb_wait_ns(INT64_MAX, sim_eintr, sim_left, &s), -EINTR);
	assert_int_equal(s.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_kind),
		cmocka_unit_test(test_callable_under_ibt),
		cmocka_unit_test(test_kprobe_step_back),
		cmocka_unit_test(test_chunk_ms),
		cmocka_unit_test(test_long_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
