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
set --
if bats --help 2>&1 | grep -q -- '--jobs' && command -v parallel >/dev/null; then
	set -- --jobs "$jobs"
fi
log=$(mktemp)
st=$(mktemp)
trap 'rm -f "$log" "$st"' EXIT
# stream the TAP output, keep bats' own exit status
{ status=0; bats "$@" test/ || status=$?; echo "$status" > "$st"; } |
    tee "$log"
# the plain closing line CI reads
printf 'bats: %d passed, %d failed, %d skipped\n' \
    "$(grep -c '^ok ' "$log" || true)" \
    "$(grep -c '^not ok ' "$log" || true)" \
    "$(grep -c '^ok .* # skip' "$log" || true)"
exit "$(cat "$st")"
