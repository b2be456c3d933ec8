# shellcheck shell=bash
# lib.sh: what the lab benchmarks share (sourced by bench_scan.sh and
# bench_banners.sh, which set PROG and USAGE first): paths, one-line errors,
# and the lab lock.
HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[1]}")
LOCK=/run/vantage-lab-test.lock

die() {
  echo "$PROG: $*" >&2
  exit 1
}
usage_error() {
  echo "$PROG: $* (usage: $USAGE)" >&2
  exit 2
}

# bench_lock ARGS...: as root, waits (up to 15 min) for any lab test or other
# benchmark, then runs this script again holding the lab lock for the whole
# run. flock -o: the lock stays with flock, not with the daemons the lab starts.
bench_lock() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, raw sockets): sudo $SELF"
  if [ -z "${VANTAGE_BENCH_LOCKED:-}" ]; then
    echo "$PROG: waiting for the lab lock $LOCK (other lab tests may be running)" >&2
    VANTAGE_BENCH_LOCKED=1 exec flock -o -E 1 -w 900 "$LOCK" "$SELF" "$@"
  fi
}
