# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Programs on real event libraries (Debian's libuv1-dev and libevent-dev),
# run natively and under libepbatch.so by tests/libs/t-libs.sh.  Each is
# built only when pkg-config finds its library, so a build without them
# still works; t-libs.sh skips what is missing.
LIBS_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(SAN)

ifneq ($(shell pkg-config --exists libuv 2>/dev/null && echo y),)
$(BUILD)/libs/uv-echo: tests/libs/uv-echo.c
	@mkdir -p $(dir $@)
	$(CC) $(LIBS_CFLAGS) $(shell pkg-config --cflags libuv) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libuv)
TESTBINS += $(BUILD)/libs/uv-echo
endif

ifneq ($(shell pkg-config --exists libevent 2>/dev/null && echo y),)
$(BUILD)/libs/ev-echo: tests/libs/ev-echo.c
	@mkdir -p $(dir $@)
	$(CC) $(LIBS_CFLAGS) $(shell pkg-config --cflags libevent) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libevent)
TESTBINS += $(BUILD)/libs/ev-echo
endif
