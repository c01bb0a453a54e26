# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
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
#   make install    PREFIX, DESTDIR, BINDIR, LIBDIR, LIBEXECDIR, MANDIR; make uninstall
#
# Objects carry -MMD -MP dependency files ($(DEPFLAGS)); a change of the
# compiler or its flags (CC, CFLAGS, SAN, LDFLAGS) rebuilds everything
# through $(BUILD)/.flags; a recipe that fails leaves no half-written target.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec/epbatch
MANDIR   ?= $(PREFIX)/share/man
SAN      ?=
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
override CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -I$(BUILD) $(SAN) \
	-DEPBATCH_VERSION='"$(VERSION)"'
override LDFLAGS += $(SAN)
DEPFLAGS := -MMD -MP
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

ALL      :=
TESTBINS :=
CLEAN    :=

.SECONDARY:
.DELETE_ON_ERROR:
.PHONY: all check demo bench asan lint install uninstall clean deps kmod vmcheck unit
all: build-all

$(BUILD):
	mkdir -p $@

# The flags stamp: rewritten only when the flags differ from the last build's.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(CLANG) $(CFLAGS) $(LDFLAGS) $(SAN) $(BINDIR) $(LIBDIR) $(LIBEXECDIR)
ifneq ($(filter-out clean deps,$(or $(MAKECMDGOALS),all)),)
$(shell mkdir -p $(BUILD); printf '%s\n' '$(subst ','"'"',$(FLAGS_NOW))' | cmp -s - $(FLAGS_STAMP) || \
	printf '%s\n' '$(subst ','"'"',$(FLAGS_NOW))' >$(FLAGS_STAMP))
endif

# Fragments in the tree are plain includes (a missing one is an error).

include bpf/build.mk
include user/build.mk
include preload/build.mk
include bench/build.mk
include tests/build.mk
include tests/libs/build.mk
include tests/conformance/build.mk
include tests/servers/build.mk
include kmod/build.mk

# Everything built from sources depends on the flags it was built with (link
# recipes pass $(filter %.o %.a,$^) or $(filter %.c,$^); libepbatch.so, linked
# with $^, relinks through its objects).
$(filter-out $(BUILD)/libepbatch.so,$(filter $(BUILD)/%,$(ALL) $(TESTBINS) $(TRACE_OBJS) \
	$(BASE_OBJS) $(BPF_OBJS) $(PRELOAD_OBJS) $(BUILD)/user/main.o)): $(FLAGS_STAMP)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

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
		--std=c11 -D__x86_64__ -Iinclude -Iuser -Ibpf --suppress=missingIncludeSystem \
		--inline-suppr user preload bench tests
	@if [ -d kmod ] && ls kmod/*.c >/dev/null 2>&1; then scripts/checkpatch.sh; fi

# epbatch-trace in BINDIR, the shim in LIBDIR, the reference server and load
# generator in LIBEXECDIR (where an installed `epbatch-trace run` finds them:
# the paths are compiled in, relative to BINDIR, so DESTDIR trees work too).
INSTALLED := $(BINDIR)/epbatch-trace $(LIBDIR)/libepbatch.so \
	$(LIBEXECDIR)/epbatch-bench-server $(LIBEXECDIR)/epbatch-load \
	$(MANDIR)/man8/epbatch-trace.8 $(MANDIR)/man7/libepbatch.7

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BUILD)/epbatch-trace $(DESTDIR)$(BINDIR)/
	if [ -f $(BUILD)/libepbatch.so ]; then install -m 0755 $(BUILD)/libepbatch.so $(DESTDIR)$(LIBDIR)/; fi
	install -m 0755 $(BUILD)/epbatch-bench-server $(BUILD)/epbatch-load $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 docs/epbatch-trace.8 $(DESTDIR)$(MANDIR)/man8/
	if [ -f docs/libepbatch.7 ]; then install -m 0644 docs/libepbatch.7 $(DESTDIR)$(MANDIR)/man7/; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

clean:
	rm -rf $(BUILD) $(CLEAN)
