#!/bin/sh
# mk/check.sh: run every test: bats suites (which drive the C unit
# programs and the fuzz corpus), then TypeScript checks when present.
set -eu
export PATH="$PWD/bin:$PATH"
# tests that call make (install) must not rebuild with other flags
export SLUICE_TEST_MAKEFLAGS="${SLUICE_TEST_MAKEFLAGS-SANITIZE=address,undefined WERROR=-Werror}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
sh mk/ts.sh
jobs=$(nproc 2>/dev/null || echo 2)
if bats --help 2>&1 | grep -q -- '--jobs' && command -v parallel >/dev/null; then
	bats --jobs "$jobs" test/
else
	bats test/
fi
