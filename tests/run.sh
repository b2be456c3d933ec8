#!/usr/bin/env bash
# run.sh: installs what the tests need, builds vantage in build/, and runs every
# test (unit and lab) with CTest. Run as root: the lab tests make network
# namespaces. Exit status is CTest's.
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
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVANTAGE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
cd build
# Unit tests in parallel; lab tests hold RESOURCE_LOCK lab and run one at a time.
ctest --output-on-failure -j"$jobs" "$@"
