#!/usr/bin/env bash
# run.sh: the whole test suite, as CI runs it (.ci/run) and as a developer does.
# Four steps, each in its own build directory (pkg: in a fresh clone):
#
#   main  build/       RelWithDebInfo, -Werror; every test, unit and lab (CTest)
#   asan  build-asan/  Debug (assertions on) with ASan and UBSan; the unit tests again
#   fuzz  build-fuzz/  clang, -DVANTAGE_FUZZ=ON; every fuzz target for 35 s, two at once
#   pkg   build/       the Debian packages built from a fresh clone of HEAD, installed
#                      on this machine and purged again (ctest -L pkg, about 1.5 min)
#
# Run as root: the lab tests make network namespaces. Arguments go to the main
# step's ctest (e.g. `tests/run.sh -R unit/`). Every step runs even when an
# earlier one failed; the summary at the end names what failed, and the exit
# status is 1 if anything did.
#
# Environment:
#   VANTAGE_CI_STEPS      the steps to run (default "main asan fuzz pkg")
#   VANTAGE_FUZZ_SECONDS  time per fuzz target (default 35)
# Running the asan and fuzz steps by hand, and replaying a fuzz finding:
# tests/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/run.sh: must run as root, the lab tests need network namespaces (try: sudo $0)" >&2
  exit 1
fi

./deploy/install-deps.sh
# A lab left over by an interrupted run would make `lab up` refuse; clear it.
tests/lab/lab down >/dev/null 2>&1 || true

jobs=$(nproc)
steps=${VANTAGE_CI_STEPS:-main asan fuzz pkg}
fuzz_seconds=${VANTAGE_FUZZ_SECONDS:-35}
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

step_main() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVANTAGE_WERROR=ON >/dev/null
  cmake --build build -j"$jobs"
  cd build
  # Unit tests in parallel; lab tests hold RESOURCE_LOCK lab and run one at a time.
  ctest --output-on-failure -j"$jobs" -LE pkg "$@"
}

# All of the tree is built (it takes seconds): test_serve_hostile runs the
# `vantage` daemon, which is then checked too. Leaks count as failures.
step_asan() {
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" \
    "-DCMAKE_C_FLAGS=$sanitize" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
    >/dev/null
  cmake --build build-asan -j"$jobs"
  cd build-asan
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -L unit --output-on-failure -j"$jobs"
}

# Debug keeps the assertions, which then count as findings; -O1 for speed.
step_fuzz() {
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DVANTAGE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz
  tests/fuzz/run.sh -t "$fuzz_seconds" -j "$jobs" build-fuzz
}

# The packages test builds in a fresh clone of its own; build/ only gives ctest.
# It installs and purges the packages vantage and vantage-worker and their users.
step_pkg() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVANTAGE_WERROR=ON >/dev/null
  cd build
  ctest -L pkg --output-on-failure
}

declare -A title=(
  [main]="unit and lab tests (build/)"
  [asan]="unit tests under ASan and UBSan (build-asan/)"
  [fuzz]="fuzz targets, ${fuzz_seconds} s each (build-fuzz/)"
  [pkg]="Debian packages: build, install, purge (tests/pkg/)"
)
summary=()
failed=0
npass=0
nfail=0
for step in $steps; do
  if [ -z "${title[$step]:-}" ]; then
    echo "tests/run.sh: no step '$step' in VANTAGE_CI_STEPS (steps: main asan fuzz pkg)" >&2
    exit 2
  fi
  echo
  echo "==== $step: ${title[$step]} ===="
  start=$SECONDS
  set +e
  (
    set -e
    "step_$step" "$@"
  )
  rc=$?
  set -e
  took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    summary+=("PASS  $step: ${title[$step]}, ${took} s")
    npass=$((npass + 1))
  else
    summary+=("FAIL  $step: ${title[$step]}, ${took} s (exit status $rc; its output is above)")
    failed=1
    nfail=$((nfail + 1))
  fi
done

echo
echo "==== summary ===="
printf '  %s\n' "${summary[@]}"
echo "steps: $npass passed, $nfail failed"
exit $failed
