# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bench/: the reference workload, epbatch-bench-server and epbatch-load, and
# the unit tests of their shared parts (tests/bench/test-*.c).
BENCH_HDRS := bench/common.h bench/http.h bench/hist.h

$(BUILD)/epbatch-bench-server: bench/server.c bench/common.c bench/http.c $(BENCH_HDRS) $(BASE_LIB) | $(BUILD)
	$(CC) $(CFLAGS) -pthread -o $@ $(filter %.c %.a,$^) $(LDFLAGS) -pthread

$(BUILD)/epbatch-load: bench/load.c bench/common.c bench/http.c bench/hist.c $(BENCH_HDRS) $(BASE_LIB) | $(BUILD)
	$(CC) $(CFLAGS) -pthread -o $@ $(filter %.c %.a,$^) $(LDFLAGS) -pthread -lm

$(BUILD)/tests/test-bench-http: tests/bench/test-http.c bench/http.c $(BENCH_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -o $@ $(filter %.c,$^) $(LDFLAGS)

$(BUILD)/tests/test-bench-hist: tests/bench/test-hist.c bench/hist.c $(BENCH_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -o $@ $(filter %.c,$^) $(LDFLAGS) -lm

ALL += $(BUILD)/epbatch-bench-server $(BUILD)/epbatch-load
TESTBINS += $(BUILD)/tests/test-bench-http $(BUILD)/tests/test-bench-hist
