# epbatch top-level build.  Each folder contributes a build.mk fragment that
# adds to ALL (what `make` builds), TESTBINS (test programs built for
# `make check`) and CLEAN; the fragments are owned by their folders.
#
#   make            user space: build/epbatch-trace, build/libepbatch.so, bench/
#   make kmod       build/kmod/epoll_batch.ko against KDIR
#   make check      deps, build, every test suite (what .ci/run calls)
#   make demo       the main job: install, build, compare the variants
#   make bench      benchmarks (numbers to JSON, not tests)
#   make asan       user space under ASan+UBSan, then its unit tests
#   make lint       cppcheck (+ checkpatch for kmod/)

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
DESTDIR  ?=
SAN      ?=
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
override CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -I$(BUILD) $(SAN)
override LDFLAGS += $(SAN)
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

ALL      :=
TESTBINS :=
CLEAN    :=

.SECONDARY:
.PHONY: all check demo bench asan lint install clean deps kmod vmcheck unit
all: build-all

$(BUILD):
	mkdir -p $@

include bpf/build.mk
include user/build.mk
-include preload/build.mk
-include bench/build.mk
-include tests/build.mk
-include tests/conformance/build.mk
-include tests/libs/build.mk
-include tests/servers/build.mk
-include kmod/build.mk

build-all: $(ALL)

deps:
	@scripts/deps.sh --all

check: deps
	$(MAKE) all tests-build
	tests/run-tests.sh

tests-build: $(TESTBINS)

unit: $(filter $(BUILD)/tests/test-%,$(TESTBINS))
	tests/run-tests.sh --unit

asan:
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		CFLAGS="-O1 -g" all tests-build
	BUILD=build/asan ASAN_OPTIONS=detect_leaks=1 tests/run-tests.sh --unit

demo: deps all
	scripts/demo.sh

bench: all
	scripts/bench.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--std=c11 -D__x86_64__ -Iinclude --suppress=missingIncludeSystem \
		--inline-suppr user preload bench tests
	@if [ -d kmod ] && ls kmod/*.c >/dev/null 2>&1; then scripts/checkpatch.sh; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(BUILD)/epbatch-trace $(DESTDIR)$(PREFIX)/sbin/
	if [ -f $(BUILD)/libepbatch.so ]; then install -m 0755 $(BUILD)/libepbatch.so $(DESTDIR)$(PREFIX)/lib/; fi
	install -m 0644 docs/epbatch-trace.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	if [ -f docs/libepbatch.7 ]; then install -m 0644 docs/libepbatch.7 $(DESTDIR)$(PREFIX)/share/man/man7/; fi

clean:
	rm -rf $(BUILD) $(CLEAN)
