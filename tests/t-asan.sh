#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# User space built with AddressSanitizer and UndefinedBehaviorSanitizer
# (build/asan), and the unit tests run there: any report fails.
cd "$(dirname "$0")/.." || exit 1
exec make -s asan
