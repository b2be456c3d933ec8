#!/usr/bin/env bash
# bench_cluster.sh: the coordinator (`vantage serve`) under simulated workers,
# over loopback with CURVE, in one run (docs/performance.md, "Cluster").
#
# The issue's targets:
#   1. 1,000 simulated workers against a full-IPv4 campaign (0.0.0.0/0 minus
#      the built-in blocklist, ports 23,80): coordinator peak RSS < 256 MiB,
#      lease request -> grant p99 < 10 ms;
#   2. end-to-end results from 8 simulated workers through CURVE, protobuf and
#      RocksDB >= 50% of `db_bench --benchmarks=fillrandom --batch_size=1000`
#      with the same key and value sizes, measured in the same run.
#
#   tests/bench/bench_cluster.sh [--quick] [--seconds S] [--workers N]
#                                [--batches N] [--policy-ports N] [--build DIR]
#                                [--keep DIR]
#
# Each part gets a fresh coordinator and store in a temporary directory under
# /var/tmp; both are killed and removed on exit. Root is not needed (loopback
# TCP and an ipc socket only). --quick: 20 s fleet run, 100 batches per ingest
# worker. --policy-ports N: the simulated workers' local policy allows ports
# 1-N (default 65535, every port). It prints figures and never fails on them:
# exit 1 only when it cannot measure, 2 for bad usage.
set -euo pipefail

PROG=bench_cluster
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$REPO/build
SECONDS_RUN=60
WORKERS=1000
BATCHES=250
KEEP=
POLICY_PORTS=65535

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { echo "usage: $PROG.sh [--quick] [--seconds S] [--workers N] [--batches N] [--policy-ports N] [--build DIR] [--keep DIR]" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) SECONDS_RUN=20 BATCHES=100 ;;
    --seconds) [ $# -ge 2 ] || usage; SECONDS_RUN=$2; shift ;;
    --workers) [ $# -ge 2 ] || usage; WORKERS=$2; shift ;;
    --batches) [ $# -ge 2 ] || usage; BATCHES=$2; shift ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift ;;
    --keep) [ $# -ge 2 ] || usage; KEEP=$2; shift ;;
    --policy-ports) [ $# -ge 2 ] || usage; POLICY_PORTS=$2; shift ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
    shift
done

VANTAGE=$BUILD/coordinator/vantage
BIN=$BUILD/tests/bench/bench_cluster
[ -x "$VANTAGE" ] || die "no $VANTAGE (build first: cmake -B build && cmake --build build)"
[ -x "$BIN" ] || die "no $BIN (build first: cmake -B build && cmake --build build)"
command -v db_bench >/dev/null || die "no db_bench (apt-get install rocksdb-tools)"

# 1000 DEALER sockets here and 1000 connections in the coordinator: raise the
# descriptor limit (both processes inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * WORKERS + 256)) ] ||
    die "ulimit -n is $(ulimit -n): need $((2 * WORKERS + 256)) descriptors"

TMP=$(mktemp -d /var/tmp/bench_cluster.XXXXXX)
COORD_PID=
cleanup() {
    if [ -n "$COORD_PID" ]; then kill "$COORD_PID" 2>/dev/null || true; wait "$COORD_PID" 2>/dev/null || true; fi
    if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$TMP"/*.log "$TMP"/*.out "$KEEP"/ 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

SERVER_KEY=$("$VANTAGE" keygen --out "$TMP/coord.key" 2>/dev/null | tail -1) || die "vantage keygen failed"
[ ${#SERVER_KEY} = 40 ] || die "cannot read the public key from $TMP/coord.key"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_coord PART: a fresh coordinator with a fresh store; sets COORD_PID, PORT.
start_coord() {
    PORT=$(free_port)
    "$VANTAGE" serve --db "$TMP/db-$1" --listen "tcp://127.0.0.1:$PORT" \
        --control "ipc://$TMP/ctl-$1" --key "$TMP/coord.key" 2>"$TMP/coord-$1.log" &
    COORD_PID=$!
    for _ in $(seq 100); do
        grep -q "serving on" "$TMP/coord-$1.log" 2>/dev/null && return 0
        kill -0 "$COORD_PID" 2>/dev/null || { cat "$TMP/coord-$1.log" >&2; die "vantage serve exited"; }
        sleep 0.1
    done
    die "vantage serve did not come up (see $TMP/coord-$1.log)"
}
stop_coord() {
    kill "$COORD_PID" 2>/dev/null || true
    wait "$COORD_PID" 2>/dev/null || true
    COORD_PID=
}
field() { sed -n "s/.*\(^\|[[:space:]]\)$1=\([^[:space:]]*\).*/\2/p" | tail -1; }

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "$PROG: $(nproc) cores ($CPU), $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "  commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet -- coordinator proto 2>/dev/null || echo ' (coordinator/proto with uncommitted changes)'), rocksdb $(dpkg-query -W -f '${Version}' librocksdb7.8 2>/dev/null || echo '?'), libzmq $(pkg-config --modversion libzmq 2>/dev/null || echo '?')"

# ---- 1. the fleet ----
echo
echo "== 1. $WORKERS workers, CURVE, full-IPv4 campaign (ports 23,80), ${SECONDS_RUN} s =="
start_coord fleet
"$BIN" fleet --control "ipc://$TMP/ctl-fleet" --server "tcp://127.0.0.1:$PORT" \
    --server-key "$SERVER_KEY" --pid "$COORD_PID" --workers "$WORKERS" --seconds "$SECONDS_RUN" \
    --policy-ports "$POLICY_PORTS" \
    | tee "$TMP/fleet.out" | sed 's/^/  /' || die "bench_cluster fleet failed (see $TMP/coord-fleet.log)"
stop_coord
F=$(cat "$TMP/fleet.out")

# ---- 2. the ingest ----
echo
echo "== 2. 8 workers streaming ResultBatches of 1000, CURVE + protobuf + RocksDB =="
start_coord ingest
"$BIN" ingest --control "ipc://$TMP/ctl-ingest" --server "tcp://127.0.0.1:$PORT" \
    --server-key "$SERVER_KEY" --pid "$COORD_PID" --workers 8 --batches "$BATCHES" \
    | tee "$TMP/ingest.out" | sed 's/^/  /' || echo "$PROG: bench_cluster ingest: not every batch acked" >&2
stop_coord
I=$(cat "$TMP/ingest.out")
RESULTS=$(field results <<<"$I")
VSIZE=$(field value_size <<<"$I")
[ -n "$RESULTS" ] && [ -n "$VSIZE" ] || die "no ingest figures"
cmd=(db_bench --benchmarks=fillrandom --batch_size=1000 --key_size=10 --value_size="$VSIZE"
    --num="$RESULTS" --db="$TMP/db_bench" --disable_wal=0 --sync=0)
echo "  ${cmd[*]/$TMP/\$TMP}"
"${cmd[@]}" >"$TMP/db_bench.out" 2>&1 || { cat "$TMP/db_bench.out" >&2; die "db_bench failed"; }
DBB=$(sed -n 's/^fillrandom .* \([0-9][0-9]*\) ops\/sec.*/\1/p' "$TMP/db_bench.out")
[ -n "$DBB" ] || die "no ops/sec in db_bench's output"
echo "  db_bench fillrandom: $DBB ops/s"

# ---- the table ----
f() { field "$1" <<<"$F"; }
i() { field "$1" <<<"$I"; }
mib() { awk "BEGIN { printf \"%.1f MiB\", $1 / 1024 }"; }
OURS=$(i results_per_s)
echo
echo "| part | figure | measured | target |"
echo "| --- | --- | ---: | --- |"
echo "| 1 | workers connected (CURVE handshake + Hello -> Welcome), all of them | $(f connected) in $(f connect_all_s) s | — |"
echo "| 1 | Hello -> Welcome p50 / p99 / max | $(f hello_welcome_p50_ms) / $(f hello_welcome_p99_ms) / $(f hello_welcome_max_ms) ms | — |"
echo "| 1 | campaign: shards at the issue's rate 10M/s (ipv4rate10m) / as run (ipv4) | $(f campaign_ipv4rate10m_shards) / $(f campaign_ipv4_shards) | — |"
echo "| 1 | grants in $(f run_s) s (workers holding / waiting at the end) | $(f grants) ($(f holding_at_end) / $(f waiting_at_end)) | — |"
echo "| 1 | lease request -> grant p50 / p90 / p99 / max | $(f grant_p50_ms) / $(f grant_p90_ms) / $(f grant_p99_ms) / $(f grant_max_ms) ms | p99 < 10 ms |"
echo "| 1 | ... first grant of each worker, p50 / p99 / max | $(f grant_first_p50_ms) / $(f grant_first_p99_ms) / $(f grant_first_max_ms) ms | — |"
echo "| 1 | ... later grants (after a finished lease), p50 / p99 / max | $(f grant_again_p50_ms) / $(f grant_again_p99_ms) / $(f grant_again_max_ms) ms | — |"
echo "| 1 | coordinator peak RSS (VmHWM) | $(mib "$(f coord_vmhwm_kib)") | < 256 MiB |"
echo "| 1 | coordinator CPU: connect storm / run (share of one core) | $(f coord_cpu_connect_s) s / $(f coord_cpu_run_s) s ($(f coord_cpu_run_pct)%) | — |"
echo "| 2 | results acked / coordinator's found count | $(i acked) / $(i coord_found) | — |"
echo "| 2 | end-to-end results/s (8 workers, batches of 1000, CURVE) | $OURS | — |"
echo "| 2 | db_bench fillrandom --batch_size=1000 --key_size=10 --value_size=$VSIZE --sync=0 | $DBB | — |"
echo "| 2 | ratio | $(awk "BEGIN { printf \"%.0f%%\", 100 * $OURS / $DBB }") | >= 50% |"
echo "| 2 | coordinator CPU during ingest (share of one core) / the simulator's | $(i coord_cpu_ingest_pct)% / $(i bench_cpu_ingest_pct)% | — |"
