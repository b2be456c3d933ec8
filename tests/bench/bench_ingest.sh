#!/usr/bin/env bash
# bench_ingest.sh: the store half of the ingest benchmark against db_bench, in
# the same run, on the same disk (docs/storage.md, "Ingest (store half)").
#
# The issue's target: end-to-end results from 8 simulated workers >= 50% of
# `db_bench --benchmarks=fillrandom --batch_size=1000` with the same key and
# value sizes. This measures the coordinator's side of it without the network
# (bench_ingest.c: protobuf unpack -> one vt_batch of obs merges + a meta seq
# put per 1000 results -> RocksDB), twice:
#
#   group commit (the ingest's policy: unsynced writes, one fsync per 8 batches)
#       vs db_bench --sync=0 (WAL written on every batch, never fsynced: less
#       durability work than ours, so the ratio is conservative);
#   every batch synced (vt_store_write sync=true) vs db_bench --sync=1.
#
#   tests/bench/bench_ingest.sh [--quick] [--results N] [--build DIR]
#
# --quick: 500,000 results instead of 2,000,000. It prints figures and never
# fails on them: exit 1 only when it cannot measure, 2 for bad usage.
set -euo pipefail

PROG=bench_ingest
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$REPO/build
RESULTS=2000000

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { echo "usage: $PROG.sh [--quick] [--results N] [--build DIR]" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) RESULTS=500000 ;;
    --results) [ $# -ge 2 ] || usage; RESULTS=$2; shift ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
    shift
done
[[ $RESULTS =~ ^[1-9][0-9]*000$ ]] || { echo "$PROG: --results $RESULTS: not a multiple of 1000" >&2; exit 2; }

BIN=$BUILD/tests/bench/bench_ingest
[ -x "$BIN" ] || die "no $BIN (build first: cmake -B build && cmake --build build)"
command -v db_bench >/dev/null || die "no db_bench (apt-get install rocksdb-tools)"

TMP=$(mktemp -d /var/tmp/bench_ingest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ours MODE SYNC_EVERY: runs bench_ingest into a fresh store, prints its line.
ours() {
    rm -rf "$TMP/store"
    "$BIN" --db "$TMP/store" --results "$RESULTS" --sync-every "$1" ||
        die "bench_ingest failed"
}
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }

# theirs SYNC VALUE_SIZE: runs db_bench fillrandom into a fresh directory, prints ops/s.
theirs() {
    rm -rf "$TMP/db_bench"
    local cmd=(db_bench --benchmarks=fillrandom --batch_size=1000 --key_size=10
        --value_size="$2" --num="$RESULTS" --db="$TMP/db_bench" --disable_wal=0 --sync="$1")
    echo "${cmd[*]/$TMP/\$TMP}" >"$TMP/db_bench.cmd"
    "${cmd[@]}" >"$TMP/db_bench.out" 2>&1 || { cat "$TMP/db_bench.out" >&2; die "db_bench failed"; }
    sed -n 's/^fillrandom .* \([0-9][0-9]*\) ops\/sec.*/\1/p' "$TMP/db_bench.out"
}

echo "$PROG: $RESULTS results, 8 workers, batches of 1000; $(nproc) cores; store in $TMP"
echo "  rocksdb $(dpkg-query -W -f '${Version}' librocksdb7.8 2>/dev/null || echo '?'), $(uname -r)"

declare -A OURS THEIRS
for mode in group every; do
    if [ $mode = group ]; then k=8 s=0; else k=0 s=1; fi
    line=$(ours $k)
    echo "  $line"
    OURS[$mode]=$(field results_per_s <<<"$line")
    vsize=$(field value_size_avg <<<"$line")
    vsize=$(printf '%.0f' "$vsize")
    THEIRS[$mode]=$(theirs $s "$vsize")
    echo "  $(cat "$TMP/db_bench.cmd")  ->  ${THEIRS[$mode]} ops/s"
    [ -n "${THEIRS[$mode]}" ] || die "no ops/sec in db_bench's output"
done

echo
printf '%-44s %12s %14s %7s\n' "sync policy" "results/s" "db_bench ops/s" "ratio"
printf '%-44s %12s %14s %6.0f%%\n' "group commit (fsync per 8 batches) / --sync=0" \
    "${OURS[group]}" "${THEIRS[group]}" "$(awk "BEGIN { print 100 * ${OURS[group]} / ${THEIRS[group]} }")"
printf '%-44s %12s %14s %6.0f%%\n' "fsync every batch / --sync=1" \
    "${OURS[every]}" "${THEIRS[every]}" "$(awk "BEGIN { print 100 * ${OURS[every]} / ${THEIRS[every]} }")"
echo "(target: >= 50%; key 10 bytes, value $vsize bytes, the same in both)"
