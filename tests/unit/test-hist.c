// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* -T log2 histograms: JSON keys and --hist's bars (hist.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"

static char *bars(const uint64_t *h, int n, enum hist_kind k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	hist_print(f, "T", h, n, k);
	fclose(f);
	return buf;
}

static void test_json_keys(void **state)
{
	uint64_t ns[EPB_LAT_SLOTS] = { [0] = 1, [10] = 5, [EPB_LAT_SLOTS - 1] = 2 };
	uint64_t ev[EPB_EV_SLOTS] = { [0] = 3, [1] = 4, [4] = 6 };
	json_t *j;
	char *s;

	(void)state;
	j = hist_json(ns, EPB_LAT_SLOTS, HIST_NS);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"0\":1,\"1024\":5,\"2147483648\":2}");
	free(s);
	json_decref(j);
	j = hist_json(ev, EPB_EV_SLOTS, HIST_EVENTS);
	s = json_dumps(j, JSON_COMPACT);
	/* [0] no event, [1] one, [4] 8-15 */
	assert_string_equal(s, "{\"0\":3,\"1\":4,\"8\":6}");
	free(s);
	json_decref(j);
}

static void test_bars(void **state)
{
	uint64_t ns[EPB_LAT_SLOTS] = { [8] = 40, [10] = 1, [EPB_LAT_SLOTS - 1] = 20 };
	uint64_t ev[EPB_EV_SLOTS] = { [0] = 2, [1] = 1, [3] = 4 };
	uint64_t none[EPB_LAT_SLOTS] = { 0 };
	char *s;

	(void)state;
	s = bars(ns, EPB_LAT_SLOTS, HIST_NS);
	assert_non_null(strstr(s, "256 -> 511 : 40        |****************************************|\n"));
	/* empty buckets between the first and last are shown; a small count is never blank */
	assert_non_null(strstr(s, "512 -> 1023 : 0         |                                        |\n"));
	assert_non_null(strstr(s, "1024 -> 2047 : 1         |*                                       |\n"));
	/* the last bucket is open-ended */
	assert_non_null(strstr(s, "2147483648 -> : 20        |********************"));
	assert_null(strstr(s, "128 -> 255"));
	free(s);
	s = bars(ev, EPB_EV_SLOTS, HIST_EVENTS);
	assert_non_null(strstr(s, "events : count"));
	assert_non_null(strstr(s, "                       0 : 2 "));
	assert_non_null(strstr(s, "                       1 : 1 "));
	assert_non_null(strstr(s, "                  4 -> 7 : 4 "));
	free(s);
	s = bars(none, EPB_LAT_SLOTS, HIST_NS);
	assert_string_equal(s, "");
	free(s);
	/* blocks of waits by calls per wait: one unit a bucket, the last open-ended */
	uint64_t pw[EPB_BLOCK_SLOTS] = { [1] = 5, [3] = 2, [EPB_BLOCK_SLOTS - 1] = 1 };

	static const char *const want[] = { "calls/wait : count", "   1 -> 1.99 : 5 ", "   2 -> 2.99 : 0 ",
					    "   32 -> : 1 " };

	s = bars(pw, EPB_BLOCK_SLOTS, HIST_PER_WAIT);
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		if (!strstr(s, want[i]))
			fail_msg("no \"%s\" in\n%s", want[i], s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_bars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
