#!/bin/sh
# check.sh - run every test after `make check` has built the check (-Werror)
# and sanitizer builds. Prints one closing line "N passed, N failed".
#
#  1. unit tests (cmocka), in the -Werror build and under ASan+UBSan;
#  2. end-to-end scenarios (tests/e2e, Python driver) running the sanitizer
#     binaries against the fakes on loopback;
#  3. the demo, as make demo runs it (tests/demo.sh);
#  4. static checks of what ships: systemd units, man pages (tests/lint.sh).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
failures=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp}

# Count one cmocka binary's results from its output.
run_unit() {
	out=$(mktemp)
	"$1" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1 # crashed or sanitizer report: count it as a failure
	fi
	if [ "$f" != 0 ]; then
		cat "$out"
		failures="$failures $1"
	fi
	echo "unit: $1: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
}

for variant in check asan; do
	for t in build/$variant/tests/test_*; do
		[ -x "$t" ] && run_unit "$t"
	done
done

# Fuzz targets (tests/fuzz/fuzz_<name>.c, built by `make fuzz-replay` as
# plain programs under ASan+UBSan): each replays its seed corpus and the
# inputs that once crashed it (tests/fuzz/regressions/<name>/). One pass per
# target whose replay ran every input and exited 0; a target without any
# input fails, since a replay of nothing proves nothing.
for t in build/asan/fuzz/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=${t##*/}
	out=$(mktemp)
	"$t" "tests/fuzz/corpus/$name" "tests/fuzz/regressions/$name" >"$out" 2>&1
	rc=$?
	n=$(sed -n 's/^\([0-9][0-9]*\) inputs$/\1/p' "$out" | tail -1)
	if [ "$rc" = 0 ] && [ "${n:-0}" -gt 0 ]; then
		echo "fuzz-replay: $name: $n inputs ok"
		passed=$((passed + 1))
	else
		tail -60 "$out"
		echo "fuzz-replay: $name: FAILED (exit $rc) at $(grep '^replay: ' "$out" | tail -1)"
		failures="$failures fuzz-replay:$name"
		failed=$((failed + 1))
	fi
	rm -f "$out"
done

# End-to-end, with the sanitizer binaries.
out=$(mktemp)
REFSYNC_BIN_DIR=$(pwd)/build/asan/bin "$PYTHON" tests/e2e/run.py 2>&1 | tee "$out"
line=$(grep '^e2e: [0-9]* passed, [0-9]* failed' "$out" | tail -1)
if [ -n "$line" ]; then
	p=$(echo "$line" | sed 's/^e2e: \([0-9]*\) passed.*/\1/')
	f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
else
	p=0
	f=1
	failures="$failures e2e(no summary)"
fi
[ "$f" != 0 ] && failures="$failures e2e"
passed=$((passed + p))
failed=$((failed + f))
rm -f "$out"

# The demo as `make demo` runs it (the normal build, the sandbox tenant, the
# exports, and demo/refsync.conf usable afterwards: tests/demo.py checks it).
out=$(mktemp)
if sh tests/demo.sh >"$out" 2>&1; then
	echo "ok demo"
	passed=$((passed + 1))
else
	cat "$out"
	echo "not ok demo"
	failures="$failures demo"
	failed=$((failed + 1))
fi
rm -f "$out"

# Static checks of units and man pages.
if [ -x tests/lint.sh ]; then
	out=$(mktemp)
	tests/lint.sh 2>&1 | tee "$out"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	[ "$f" != 0 ] && failures="$failures lint"
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
fi

[ -n "$failures" ] && echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
