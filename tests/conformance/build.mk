# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The epoll conformance suite: one program per scenario, each printing a
# transcript that tests/conformance/t-conformance.sh compares between a
# native run and runs under the shim.
CONF_SRCS := $(wildcard tests/conformance/c-*.c)
CONF_BINS := $(patsubst tests/conformance/%.c,$(BUILD)/conformance/%,$(CONF_SRCS))
CONF_HELPER := $(BUILD)/conformance/transcript.o
# The language and warning flags are repeated here because a CFLAGS given on
# the make command line (as `make asan` does) replaces the Makefile's own
# additions; the scenarios need _GNU_SOURCE and must build under -Werror.
CONF_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(SAN) -pthread

$(BUILD)/conformance/transcript.o: tests/conformance/transcript.c tests/conformance/transcript.h
	@mkdir -p $(dir $@)
	$(CC) $(CONF_CFLAGS) -c -o $@ $<

$(BUILD)/conformance/c-%: tests/conformance/c-%.c $(CONF_HELPER) tests/conformance/transcript.h
	@mkdir -p $(dir $@)
	$(CC) $(CONF_CFLAGS) -o $@ $< $(CONF_HELPER) $(LDFLAGS)

.PHONY: conformance
conformance: $(CONF_BINS)

TESTBINS += $(CONF_BINS)
