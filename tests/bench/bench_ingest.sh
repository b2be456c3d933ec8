#!/usr/bin/env bash
# bench_ingest.sh: the store half of the ingest benchmark against db_bench, in
# the same run, on the same disk (docs/performance.md, "Ingest (store half)").
#
# The issue's target: the ingest's store path (merge operator, batches of
# 1000, group commit) at >= 1.0x `db_bench --benchmarks=fillrandom
# --batch_size=1000` with the same key and value sizes. bench_ingest.c
# measures the coordinator's side of it without the network (protobuf unpack
# -> one vt_batch of obs merges built as ingest.c builds them, plus the seq
# and found puts, per 1000 results -> RocksDB), under two sync policies:
#
#   group commit (the ingest's policy: unsynced writes, one fsync per 8 batches)
#       vs db_bench --sync=0 (WAL written on every batch, never fsynced: less
#       durability work than ours, so the ratio is conservative);
#   every batch synced (vt_store_write sync=true) vs db_bench --sync=1.
#
# Each repetition runs the four back to back (ours, db_bench, per policy), so
# the shared machine's drift hits both sides alike; the table gives medians.
# db_bench's --value_size is the mean packed operand bench_ingest reports.
#
#   tests/bench/bench_ingest.sh [--quick] [--results N] [--reps R] [--build DIR]
#
# --quick: 500,000 results, one repetition (default 2,000,000, 3). It prints
# figures and never fails on them: exit 1 only when it cannot measure, 2 for
# bad usage.
set -euo pipefail

PROG=bench_ingest
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$REPO/build
RESULTS=2000000
REPS=3

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { echo "usage: $PROG.sh [--quick] [--results N] [--reps R] [--build DIR]" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) RESULTS=500000 REPS=1 ;;
    --results) [ $# -ge 2 ] || usage; RESULTS=$2; shift ;;
    --reps) [ $# -ge 2 ] || usage; REPS=$2; shift ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
    shift
done
[[ $RESULTS =~ ^[1-9][0-9]*000$ ]] || { echo "$PROG: --results $RESULTS: not a multiple of 1000" >&2; exit 2; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --reps $REPS: not a positive number" >&2; exit 2; }

BIN=$BUILD/tests/bench/bench_ingest
[ -x "$BIN" ] || die "no $BIN (build first: cmake -B build && cmake --build build)"
command -v db_bench >/dev/null || die "no db_bench (apt-get install rocksdb-tools)"

TMP=$(mktemp -d /var/tmp/bench_ingest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ours SYNC_EVERY: runs bench_ingest into a fresh store, prints its line.
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
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

echo "$PROG: $RESULTS results, 8 workers, batches of 1000, $REPS repetition(s); $(nproc) cores; store in $TMP"
echo "  rocksdb $(dpkg-query -W -f '${Version}' librocksdb7.8 2>/dev/null || echo '?'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A OURS THEIRS RATIOS
vsize=
for rep in $(seq 1 "$REPS"); do
    for mode in group every; do
        if [ $mode = group ]; then k=8 s=0; else k=0 s=1; fi
        line=$(ours $k)
        echo "  [$rep] $line"
        o=$(field results_per_s <<<"$line")
        vsize=$(printf '%.0f' "$(field value_size_avg <<<"$line")")
        t=$(theirs $s "$vsize")
        [ -n "$t" ] || die "no ops/sec in db_bench's output"
        echo "  [$rep] $(cat "$TMP/db_bench.cmd")  ->  $t ops/s"
        OURS[$mode]="${OURS[$mode]:-} $o"
        THEIRS[$mode]="${THEIRS[$mode]:-} $t"
        RATIOS[$mode]="${RATIOS[$mode]:-} $(ratio "$o" "$t")"
    done
done

echo
printf '%-44s %12s %14s %7s  %s\n' "sync policy (medians of $REPS)" "results/s" "db_bench ops/s" "ratio" "ratio of each repetition"
for mode in group every; do
    if [ $mode = group ]; then name="group commit (fsync per 8 batches) / --sync=0"; else name="fsync every batch / --sync=1"; fi
    o=$(median <<<"${OURS[$mode]}")
    t=$(median <<<"${THEIRS[$mode]}")
    printf '%-44s %12.0f %14.0f %6.2fx  %s\n' "$name" "$o" "$t" "$(ratio "$o" "$t")" "${RATIOS[$mode]# }"
done
echo "(target: group commit >= 1.00x; key 10 bytes, value $vsize bytes, the same in both)"
