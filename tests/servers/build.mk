# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/servers/: helpers of the real-server scenarios (scripts/servers/,
# tests/servers/t-*.sh): srvcheck, the integrity client, and loadparse, the
# load generator parser (user/loadgen.c) as a filter.
$(BUILD)/tests/srvcheck: tests/servers/srvcheck.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread $< -o $@ $(LDFLAGS) -pthread

$(BUILD)/tests/loadparse: tests/servers/loadparse.c user/loadgen.c user/loadgen.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $(filter %.c,$^) -o $@ $(LDFLAGS) -ljansson

TESTBINS += $(BUILD)/tests/srvcheck $(BUILD)/tests/loadparse
