#!/usr/bin/env bash
# run.sh: runs every fuzz target (or those named) for a bounded time, a few at a
# time, and fails if any of them finds a crash, a leak, a hang or a broken
# promise. tests/run.sh calls it in CI; see tests/README.md for running by hand.
#
#   tests/fuzz/run.sh [-t SECONDS] [-j JOBS] BUILD_DIR [TARGET...]
#
# BUILD_DIR is a tree configured with -DVANTAGE_FUZZ=ON and built with
# `--target fuzz`. TARGET is a name without fuzz_ (ports, envelope, ...).
# Each target starts from its seeds (tests/fuzz/corpus/TARGET/, and what
# make_seeds writes) and from BUILD_DIR/fuzz/corpus/TARGET/, where it keeps what
# it finds, so later runs go on from there. Logs go to BUILD_DIR/fuzz/logs/, the
# input of a failure to BUILD_DIR/fuzz/artifacts/ (until that target runs again).
set -euo pipefail

seconds=60
jobs=2
usage() {
  echo "usage: $0 [-t SECONDS] [-j JOBS] BUILD_DIR [TARGET...]" >&2
  exit 2
}
while getopts "t:j:h" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd)
shift
src=$(cd "$(dirname "$0")" && pwd)

# Every target, with the largest input worth trying: text parsers get short
# inputs (a longer list only repeats what a short one reaches, more slowly).
declare -A max_len=(
  [packet]=2048 [envelope]=4096 [targets]=1024 [targets_file]=1024 [ports]=1024
  [store_obs]=2048
  [rules]=4096
  [telnet]=4096 [http]=4096 [ssh]=4096 [pfx2as]=4096 [zmtp]=4096 [keyfile]=1024
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(packet envelope targets targets_file ports store_obs rules telnet http ssh pfx2as zmtp keyfile)

bin=$build/tests/fuzz
for t in "${targets[@]}"; do
  if [ -z "${max_len[$t]:-}" ]; then
    echo "tests/fuzz/run.sh: no fuzz target '$t' (targets: ${!max_len[*]})" >&2
    exit 2
  fi
  if [ ! -x "$bin/fuzz_$t" ]; then
    echo "tests/fuzz/run.sh: $bin/fuzz_$t is missing (build it: cmake --build $build --target fuzz)" >&2
    exit 1
  fi
done

out=$build/fuzz
mkdir -p "$out/logs" "$out/artifacts" "$out/corpus"
"$bin/make_seeds" "$out/seeds"

# A smaller quarantine than ASan's 256 MiB keeps a target's RSS far below
# -rss_limit_mb, so that limit catches real memory growth.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 dirs=()
  mkdir -p "$out/corpus/$t"
  rm -f "$out/artifacts/$t-"* # an old run's finding would be taken for this one's
  for d in "$src/corpus/$t" "$out/seeds/$t"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  "$bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 \
    -max_len="${max_len[$t]}" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t-" \
    "$out/corpus/$t" "${dirs[@]}" >"$out/logs/$t.log" 2>&1
}

# At most $jobs targets at once.
declare -A target_of=() rc_of=()
running=0
reap() {
  local pid rc=0
  wait -n -p pid || rc=$?
  rc_of[${target_of[$pid]}]=$rc
  running=$((running - 1))
}
for t in "${targets[@]}"; do
  [ "$running" -lt "$jobs" ] || reap
  run_one "$t" &
  target_of[$!]=$t
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  reap
done

failed=0
for t in "${targets[@]}"; do
  log=$out/logs/$t.log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n 1 | cut -d' ' -f2)
  if [ "${rc_of[$t]}" -eq 0 ]; then
    printf 'fuzz_%-13s ok      %9s runs in %ss, coverage %s\n' "$t" "${runs:-?}" "$seconds" "${cov:-?}"
  else
    failed=1
    printf 'fuzz_%-13s FAILED  (exit %s), log %s\n' "$t" "${rc_of[$t]}" "$log"
    (grep -E 'ERROR|SUMMARY|broken promise|runtime error' "$log" || true) | head -n 5 |
      sed 's/^/    /'
    artifact=$( (ls -t "$out/artifacts/$t-"* 2>/dev/null || true) | head -n 1)
    if [ -n "$artifact" ]; then
      echo "    input: $artifact"
      echo "    replay: $bin/fuzz_$t $artifact"
    fi
    echo "    --- last lines of the log ---"
    tail -n 30 "$log" | sed 's/^/    /'
  fi
done
exit $failed
