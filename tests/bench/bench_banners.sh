#!/usr/bin/env bash
# bench_banners.sh: the banner-grabbing benchmark. vantage-worker --banners
# against nmap -sV (Debian's nmap) and against itself one connection at a
# time, in the same run, on the same open services of the lab (tests/lab/lab):
#
#   1. vantage-worker: grabs per second at --banner-concurrency 1000, CPU time
#      per grab, peak RSS while grabbing;
#   2. nmap -sV --version-light -T4 with the same parallelism (1000) on the
#      same open services; vantage-worker --banner-concurrency 1 on a small
#      subset of them (the one-at-a-time baseline);
#   3. the share of open services with a banner and with a vendor
#      (labels.vendor), and what nmap names (a probed service, a product).
#
#   sudo tests/bench/bench_banners.sh [--baseline N] [--keep DIR]
#
# --baseline N: addresses in the one-at-a-time subset (default 20, about 35
# grabs, about 30-40 s). --keep DIR: keep raw outputs there. The build is
# $VANTAGE_BUILD (default <repo>/build). About 2-3 minutes in all. It prints
# figures and never fails on them: exit 1 only when it cannot measure (no
# build, no nmap, the lab would not come up, a scanner failed), 2 for bad usage.
#
# Safety: every scanner, nmap included, runs inside vantage 1's namespace
# (ip netns exec vl-v1), out of vl-v1 from 198.19.1.2, under `timeout`; the
# worker with the lab's blocklist, nmap on lab addresses the worker found (and
# the same blocklist as --excludefile). The whole benchmark holds the
# machine-wide lab lock the lab tests take, and tears the lab down on exit.
# See docs/performance.md, "Banner grabbing".
set -euo pipefail

PROG=bench_banners
USAGE="sudo $0 [--baseline N] [--keep DIR]"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORIG_ARGS=("$@")
BASE_ADDRS=20
KEEP=
while [ $# -gt 0 ]; do
  case $1 in
  --baseline)
    [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]?$ ]] || usage_error "--baseline wants 1..99 addresses"
    BASE_ADDRS=$2
    shift
    ;;
  --keep)
    [ $# -ge 2 ] || usage_error "--keep wants a directory"
    KEEP=$2
    shift
    ;;
  -h | --help)
    sed -n '2,27p' "$SELF" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

bench_lock "${ORIG_ARGS[@]}"

export VANTAGE_BUILD=${VANTAGE_BUILD:-$REPO/build}
WORKER=$VANTAGE_BUILD/worker/vantage-worker
BANNERCMP=$VANTAGE_BUILD/tests/lab/bannercmp
LAB=$REPO/tests/lab/lab
[ -x "$WORKER" ] || die "no $WORKER (build first: cmake -B build && cmake --build build -j2)"
[ -x "$BANNERCMP" ] || die "no $BANNERCMP (build first: cmake --build build -j2)"
[ -x "$VANTAGE_BUILD/tests/lab/devsim" ] || die "no devsim in $VANTAGE_BUILD/tests/lab (build first)"
for c in nmap jq xmllint timeout flock awk ip; do
  command -v "$c" >/dev/null || die "$c not found (apt-get install nmap jq libxml2-utils)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (package time; deploy/install-deps.sh installs it)"
if ip netns list | grep -q '^vl-' || [ -d /run/vantage-lab ]; then
  die "a lab is already up outside the lock; tear it down first: $LAB down"
fi

# 1000 connections at once (the worker checks its limit; nmap raises its own).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 2048 ] ||
  die "ulimit -n is $(ulimit -n): need 2048 descriptors for 1000 connections"

WORK=$(mktemp -d /tmp/vantage-bench-banners.XXXXXX)
cd "$WORK"
SAMPLER_PID=
cleanup() {
  local rc=$?
  [ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null || true
  "$LAB" down >/dev/null 2>&1 || echo "$PROG: lab down failed; run $LAB down" >&2
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/ && echo "$PROG: raw outputs kept in $KEEP" >&2
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
maxrss_kb() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
cpu_s() { awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$1"; }
cpu_us() { awk -F': ' '/User time/ { print $2 }' "$1"; }
cpu_sy() { awk -F': ' '/System time/ { print $2 }' "$1"; }
calc() { awk "BEGIN { $1 }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # jiffies
busy_cores() { # busy_cores J0 J1 MS
  awk -v a="$1" -v b="$2" -v ms="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / (ms / 1000) }'
}
# first_open_ms FILE: the earliest "ts" (SYN-ACK seen, ms since the epoch) of
# the open results in a worker's JSON Lines.
first_open_ms() {
  jq -rs 'map(select(.state == "open") | .ts) | min // empty' "$1" |
    jq -R '(.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber)'
}

# Counts written grabs (results with a "grab" field) in FILE every 100 ms until
# sampler_stop: "ms count" per line. The worker writes through stdio, so a
# count is late by at most one buffer (a few results).
sampler_start() {
  (
    while :; do
      n=$(grep -c '"grab"' "$1" 2>/dev/null || true)
      echo "$(now_ms) ${n:-0}"
      sleep 0.1
    done
  ) >"$2" &
  SAMPLER_PID=$!
}
sampler_stop() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
}
# completion SAMPLES START_MS TOTAL: seconds after START_MS by which 50%, 90%,
# 99% and 100% of TOTAL grabs had been written.
completion() {
  awk -v s="$2" -v n="$3" 'BEGIN { split("0.5 0.9 0.99 1.0", q, " ") }
       { for (i = 1; i <= 4; i++) if (!(i in t) && $2 >= q[i] * n) t[i] = ($1 - s) / 1000 }
       END { for (i = 1; i <= 4; i++) printf "%s%s", (i in t ? sprintf("%.1f", t[i]) : "-"), (i < 4 ? " " : "\n") }' "$1"
}

# ---------------------------------------------------------------- the lab

LAB_SEED=3
"$LAB" up --vantages 1 --devices 1500 --seed "$LAB_SEED" >"$WORK/lab-up.log" 2>&1 ||
  die "lab up failed: $(tail -3 "$WORK/lab-up.log")"
eval "$("$LAB" env)"
NS=$LAB_V1_NS IF=$LAB_V1_IF SRC=$LAB_V1_IP GW_MAC=$LAB_V1_GW_MAC
BLOCK=$LAB_BLOCKLIST TRUTH=$LAB_TRUTH
PORTS=23,2323,80,8080,81,8000

CPU=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
HYPERVISOR=$(lscpu | awk -F': *' '/^Hypervisor vendor/ { print $2 " guest" }')
CONTAINER=$(systemd-detect-virt -c 2>/dev/null || true)
VIRT=${HYPERVISOR:-bare metal}${CONTAINER:+, container $CONTAINER}
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO" diff --quiet -- worker proto 2>/dev/null || echo " (worker/proto with uncommitted changes)")
NMAP_VERSION=$(nmap --version | awk 'NR == 1 { print $1, $3 }')
# The commit above is the tree's; the build may be older: say so.
BUILT=$(stat -c %Y "$WORKER")
STALE=$(git -C "$REPO" log --since="@$BUILT" --format=%h -- worker proto 2>/dev/null | wc -l)
[ "$STALE" -eq 0 ] || DIRTY="$DIRTY; the worker binary ($(date -u -d "@$BUILT" +%H:%MZ)) predates $STALE commit(s) to worker/proto: rebuild"

echo "== vantage banner benchmark ($(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT$DIRTY)"
echo "machine: $CPU, $(nproc) cores, $MEM, kernel $(uname -r), $VIRT"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the start; the benchmark shares the machine"
echo "lab:     --vantages 1 --devices 1500 --seed $LAB_SEED; scanning from $NS ($SRC); peer $NMAP_VERSION"
echo

# ---------------------------------------------------------------- the worker

# worker TAG TIMEOUT ARGS...: one `vantage-worker scan` from vantage 1 under
# /usr/bin/time -v; JSON Lines in TAG.jsonl, stderr in TAG.err, "t0 t1" (ms,
# wall clock around the process) in TAG.t. Exit 3 (answers dropped) is noted,
# not fatal: the summary and the JSON still say what was grabbed.
worker() {
  local tag=$1 limit=$2 rc=0 t0 t1
  shift 2
  : >"$tag.jsonl"
  t0=$(now_ms)
  timeout "$limit" ip netns exec "$NS" /usr/bin/time -v -o "$tag.time" "$WORKER" scan "$@" \
    --interface "$IF" --source-ip "$SRC" --gateway-mac "$GW_MAC" --blocklist "$BLOCK" \
    --quiet --output "$tag.jsonl" 2>"$tag.err" || rc=$?
  t1=$(now_ms)
  echo "$t0 $t1" >"$tag.t"
  case $rc in
  0) ;;
  3) echo "  note: $tag: the worker dropped answers: $(tail -1 "$tag.err")" ;;
  124) die "$tag: still running after $limit s (killed): $(tail -3 "$tag.err")" ;;
  *) die "$tag: vantage-worker failed with status $rc: $(tail -3 "$tag.err")" ;;
  esac
}
# summary TAG: "banners grabs identified" from the worker's summary line.
summary() {
  sed -n 's/.*; \([0-9]*\) banners from \([0-9]*\) grabs, \([0-9]*\) identified.*/\1 \2 \3/p' "$1.err"
}

# Discovery: every open pair of the six ports, as in bench_scan.sh (--rate 0
# finds the exact truth in the lab). Its open addresses are the targets of
# every run below, the worker's and nmap's.
echo "-- 0. discovery: 198.18.0.0/16 x $PORTS, --rate 0, no banners"
worker discover 60 198.18.0.0/16 --ports "$PORTS" --rate 0 --cooldown 2
jq -r 'select(.state == "open") | .ip' discover.jsonl | sort -u -t. -k1,1n -k2,2n -k3,3n -k4,4n >addrs.txt
OPEN=$(jq -c 'select(.state == "open")' discover.jsonl | wc -l)
NADDR=$(wc -l <addrs.txt)
[ "$OPEN" -gt 0 ] || die "discovery found no open port: $(tail -1 discover.err)"
echo "  $OPEN open pairs on $NADDR addresses; per port: $(jq -r 'select(.state == "open") | .port' discover.jsonl |
  sort -n | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
echo

# How the grab phase is timed. The worker grabs while it scans: a grab starts
# as soon as its SYN-ACK is seen, and the process ends once the last grab has
# ended (vt_enrich_finish). The scan of $NADDR addresses x 6 ports at --rate 0
# sends in a few milliseconds, so the grab phase is
#     from the first open result's "ts" (the SYN-ACK, in the JSON output)
#     to the process's exit (wall clock, taken by this script);
# grabs / that is the rate. It leaves out start-up (capture ring, rules) and
# needs no second run. As a check, the wall-time difference with the same scan
# without --banners is printed too: (wall with) - (wall without) is shorter
# than the grab phase by the part of the cooldown (1 s) that grabs overlap.
# CPU per grab is (user+sys with) - (user+sys without), over the grabs: the
# no-banner twin pays start-up, sending and capture.
# Peak RSS: /usr/bin/time -v, "Maximum resident set size", with and without:
# the difference is what grabbing adds; most of the rest is the capture ring.
COOLDOWN=1
echo "-- 1. vantage-worker --banners --banner-concurrency 1000 on the $NADDR addresses x $PORTS"
worker nob 60 @addrs.txt --ports "$PORTS" --rate 0 --cooldown "$COOLDOWN"
sampler_start ban.jsonl ban.samples
j0=$(cpu_busy)
worker ban 120 @addrs.txt --ports "$PORTS" --rate 0 --cooldown "$COOLDOWN" --banners \
  --banner-concurrency 1000
j1=$(cpu_busy)
sampler_stop
read -r V_BANNERS V_GRABS V_IDENT < <(summary ban) || die "no banner summary: $(tail -1 ban.err)"
read -r V_T0 V_T1 <ban.t
read -r N_T0 N_T1 <nob.t
V_START=$(first_open_ms ban.jsonl)
echo "$V_T1 $V_GRABS" >>ban.samples # every grab has been written at exit
V_PHASE=$(calc "printf \"%.2f\", ($V_T1 - $V_START) / 1000")
V_DIFF=$(calc "printf \"%.2f\", (($V_T1 - $V_T0) - ($N_T1 - $N_T0)) / 1000")
V_RATE=$(calc "printf \"%.0f\", $V_GRABS / $V_PHASE")
V_CPU_MS=$(calc "printf \"%.3f\", ($(cpu_s ban.time) - $(cpu_s nob.time)) * 1000 / $V_GRABS")
V_RSS=$(maxrss_kb ban.time) N_RSS=$(maxrss_kb nob.time)
read -r V_C50 V_C90 V_C99 V_C100 < <(completion ban.samples "$V_START" "$V_GRABS")
echo "  without --banners: wall $(calc "printf \"%.2f\", ($N_T1 - $N_T0) / 1000") s, CPU" \
  "$(cpu_us nob.time)+$(cpu_sy nob.time) s, max RSS $N_RSS KiB"
echo "  with    --banners: wall $(calc "printf \"%.2f\", ($V_T1 - $V_T0) / 1000") s, CPU" \
  "$(cpu_us ban.time)+$(cpu_sy ban.time) s, max RSS $V_RSS KiB; machine busy" \
  "$(busy_cores "$j0" "$j1" $((V_T1 - V_T0))) cores (incl. this run)"
echo "  summary: $V_BANNERS banners from $V_GRABS grabs, $V_IDENT identified"
echo "  grab phase (first SYN-ACK -> exit): $V_PHASE s -> $V_RATE grabs/s;" \
  "wall difference with - without: $V_DIFF s -> $(calc "printf \"%.0f\", $V_GRABS / $V_DIFF") grabs/s"
echo "  grabs written by (s after the first SYN-ACK): 50% $V_C50, 90% $V_C90, 99% $V_C99, 100% $V_C100;" \
  "the first 90% at $(calc "printf \"%.0f\", 0.9 * $V_GRABS / $V_C90" 2>/dev/null || echo -) grabs/s"
echo "  how grabs ended: $(jq -r 'select(.grab) | .grab' ban.jsonl | sort | uniq -c | sort -rn |
  awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
echo "  protocols: $(jq -r 'select(.grab) | .proto // "none"' ban.jsonl | sort | uniq -c | sort -rn |
  awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
V_OPEN=$(jq -c 'select(.state == "open")' ban.jsonl | wc -l)
V_WITH=$(jq -c 'select(.state == "open" and (.banner // "") != "")' ban.jsonl | wc -l)
V_VENDOR=$(jq -c 'select(.state == "open" and (.labels.vendor // "") != "")' ban.jsonl | wc -l)
echo "  open results $V_OPEN: with a banner $V_WITH, with labels.vendor $V_VENDOR"
echo "  vendors: $(jq -r 'select(.labels.vendor) | .labels.vendor' ban.jsonl | sort | uniq -c | sort -rn | head -6 |
  awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
"$BANNERCMP" --truth "$TRUTH" ban.jsonl >bannercmp.out 2>&1 || true
grep -E '^bannercmp: (banners|identified|exposure|[0-9]+ open)' bannercmp.out | sed 's/^/  /' || true
echo

# ---------------------------------------------------------------- nmap

# nmap on the same open services. nmap takes addresses and one port list, not
# (address, port) pairs: one run with -p of the six ports over the open
# addresses SYN-scans exactly the pairs the worker probes and version-scans the
# open ones, in one service-scan group (--min-hostgroup above the address
# count) as the worker grabs them in one run. Six runs, one per port, would
# each pay their own tail of slow services. Its service scan runs at
# --min-parallelism/--max-parallelism 1000 (nmap boxes its "ideal parallelism"
# between the two; -T4 alone would give 30). -v prints the service scan's own
# elapsed time ("Completed Service scan ... Ns elapsed"): that is its grab
# phase. CPU per service: the -sV run minus the same run without -sV.
HG=$((NADDR + 16))
NMAP_ARGS=(-Pn -n -T4 -p "$PORTS" -e "$IF" -S "$SRC" --excludefile "$BLOCK" -iL addrs.txt
  --min-hostgroup "$HG" --max-hostgroup "$HG" --min-parallelism 1000 --max-parallelism 1000 -v)
# nmap_run TAG TIMEOUT ARGS...: like worker(): TAG.xml, TAG.out, TAG.time, TAG.t.
nmap_run() {
  local tag=$1 limit=$2 rc=0 t0 t1
  shift 2
  t0=$(now_ms)
  timeout "$limit" ip netns exec "$NS" /usr/bin/time -v -o "$tag.time" nmap "$@" -oX "$tag.xml" \
    >"$tag.out" 2>"$tag.err" || rc=$?
  t1=$(now_ms)
  echo "$t0 $t1" >"$tag.t"
  [ "$rc" -ne 124 ] || die "$tag: nmap still running after $limit s (killed)"
  [ "$rc" -eq 0 ] || die "$tag: nmap failed with status $rc: $(tail -3 "$tag.err")"
}
xcount() { xmllint --xpath "count($2)" "$1"; }

echo "-- 2. nmap -sV --version-light, parallelism 1000, on the same addresses x $PORTS"
echo "  nmap -sV --version-light ${NMAP_ARGS[*]}"
nmap_run nmapnov 60 "${NMAP_ARGS[@]}"
j0=$(cpu_busy)
nmap_run nmap 240 -sV --version-light "${NMAP_ARGS[@]}"
j1=$(cpu_busy)
read -r M_T0 M_T1 <nmap.t
M_SVC_LINE=$(grep 'Completed Service scan' nmap.out | tail -1)
M_PHASE=$(sed -n 's/.*, \([0-9.]*\)s elapsed (\([0-9]*\) services.*/\1/p' <<<"$M_SVC_LINE")
M_SVCS=$(sed -n 's/.*, \([0-9.]*\)s elapsed (\([0-9]*\) services.*/\2/p' <<<"$M_SVC_LINE")
[ -n "$M_PHASE" ] && [ -n "$M_SVCS" ] || die "no 'Completed Service scan' line in nmap's output"
M_OPEN=$(xcount nmap.xml "//port[state/@state='open']")
# What nmap read: a probe matched (method "probed", tcpwrapped left out: that
# means the peer closed without a byte), or it answered without a match (a
# port-table name and a service fingerprint, "servicefp"). Identified: a
# product (mostly the server software, "BusyBox telnetd", "lighttpd"; a few
# name the device, "D-Link DIR-615 WAP http config").
M_PROBED=$(xcount nmap.xml "//port[state/@state='open']/service[@method='probed' and @name!='tcpwrapped']")
M_UNMATCHED=$(xcount nmap.xml "//port[state/@state='open']/service[@method='table' and @servicefp]")
M_READ=$((M_PROBED + M_UNMATCHED))
M_PRODUCT=$(xcount nmap.xml "//port[state/@state='open']/service[@product]")
M_RATE=$(calc "printf \"%.0f\", $M_SVCS / $M_PHASE")
M_CPU_MS=$(calc "printf \"%.3f\", ($(cpu_s nmap.time) - $(cpu_s nmapnov.time)) * 1000 / $M_SVCS")
M_RSS=$(maxrss_kb nmap.time)
read -r MN_T0 MN_T1 <nmapnov.t
echo "  without -sV: wall $(calc "printf \"%.2f\", ($MN_T1 - $MN_T0) / 1000") s, CPU" \
  "$(cpu_us nmapnov.time)+$(cpu_sy nmapnov.time) s, max RSS $(maxrss_kb nmapnov.time) KiB," \
  "$(xcount nmapnov.xml "//port[state/@state='open']") open"
echo "  with    -sV: wall $(calc "printf \"%.2f\", ($M_T1 - $M_T0) / 1000") s, CPU" \
  "$(cpu_us nmap.time)+$(cpu_sy nmap.time) s, max RSS $M_RSS KiB; machine busy" \
  "$(busy_cores "$j0" "$j1" $((M_T1 - M_T0))) cores (incl. this run)"
echo "  ${M_SVC_LINE#"${M_SVC_LINE%%[! ]*}"} -> $M_RATE services/s"
echo "  open $M_OPEN: answered $M_READ (named by a probe match $M_PROBED, unmatched fingerprint $M_UNMATCHED), with a product $M_PRODUCT"
echo "  products: $(xmllint --xpath "//port[state/@state='open']/service/@product" nmap.xml 2>/dev/null |
  sed 's/ product="\([^"]*\)"/\1\n/g' | grep . | sort | uniq -c | sort -rn | head -6 |
  awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s%s %s", (NR > 1 ? ", " : ""), $0, n }')"
echo "  services: $(xmllint --xpath "//port[state/@state='open']/service/@name" nmap.xml 2>/dev/null |
  sed 's/ name="\([^"]*\)"/\1\n/g' | grep . | sort | uniq -c | sort -rn | head -8 |
  awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
echo

# ---------------------------------------------------------------- one at a time

# The baseline: the worker itself with --banner-concurrency 1, every
# (NADDR / BASE_ADDRS)-th open address x the six ports (all its open ports),
# timed as in part 1. At about a second per grab the whole set would take an
# hour; the rate of the subset is the extrapolation (grabs / time, the same
# per grab). The subset's mix of protocols and of slow services is printed:
# it decides the figure.
STEP=$(((NADDR + BASE_ADDRS - 1) / BASE_ADDRS))
awk -v k="$STEP" 'NR % k == 1 || k == 1' addrs.txt >base-addrs.txt
echo "-- 3. one connection at a time: --banner-concurrency 1 on $(wc -l <base-addrs.txt) of the addresses (every ${STEP}th) x $PORTS"
worker basenob 60 @base-addrs.txt --ports "$PORTS" --rate 0 --cooldown "$COOLDOWN"
worker base 150 @base-addrs.txt --ports "$PORTS" --rate 0 --cooldown "$COOLDOWN" --banners \
  --banner-concurrency 1
read -r B_BANNERS B_GRABS B_IDENT < <(summary base) || die "no banner summary: $(tail -1 base.err)"
read -r _ B_T1 <base.t
B_START=$(first_open_ms base.jsonl)
B_PHASE=$(calc "printf \"%.2f\", ($B_T1 - $B_START) / 1000")
B_RATE=$(calc "printf \"%.1f\", $B_GRABS / $B_PHASE")
B_CPU_MS=$(calc "printf \"%.3f\", ($(cpu_s base.time) - $(cpu_s basenob.time)) * 1000 / $B_GRABS")
B_RSS=$(maxrss_kb base.time)
B_WITH=$(jq -c 'select(.state == "open" and (.banner // "") != "")' base.jsonl | wc -l)
B_VENDOR=$(jq -c 'select(.state == "open" and (.labels.vendor // "") != "")' base.jsonl | wc -l)
echo "  $B_BANNERS banners from $B_GRABS grabs, $B_IDENT identified; grab phase $B_PHASE s -> $B_RATE grabs/s" \
  "($(calc "printf \"%.2f\", $B_PHASE / $B_GRABS") s per grab); CPU $(cpu_us base.time)+$(cpu_sy base.time) s, max RSS $B_RSS KiB"
echo "  how grabs ended: $(jq -r 'select(.grab) | "\(.proto // "none")/\(.grab)"' base.jsonl | sort | uniq -c |
  sort -rn | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
echo "  all $V_GRABS grabs one at a time: about $(calc "printf \"%.0f\", $V_GRABS / $B_RATE / 60") min"
echo

# ---------------------------------------------------------------- the table

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }'; }
echo "== results (one run; grab phase: vantage from the first SYN-ACK to exit, nmap its service scan)"
printf '%-34s %7s %9s %9s %13s %12s %16s %16s\n' grabber grabs "phase s" "grabs/s" "CPU/grab ms" "max RSS MiB" "with a banner" "identified"
printf '%-34s %7s %9s %9s %13s %12s %16s %16s\n' "vantage --banner-concurrency 1000" "$V_GRABS" "$V_PHASE" "$V_RATE" \
  "$V_CPU_MS" "$(mib "$V_RSS")" "$V_WITH ($(pct "$V_WITH" "$V_OPEN"))" "$V_VENDOR ($(pct "$V_VENDOR" "$V_OPEN"))"
printf '%-34s %7s %9s %9s %13s %12s %16s %16s\n' "nmap -sV --version-light, par 1000" "$M_SVCS" "$M_PHASE" "$M_RATE" \
  "$M_CPU_MS" "$(mib "$M_RSS")" "$M_READ ($(pct "$M_READ" "$M_OPEN"))" "$M_PRODUCT ($(pct "$M_PRODUCT" "$M_OPEN"))"
printf '%-34s %7s %9s %9s %13s %12s %16s %16s\n' "vantage --banner-concurrency 1" "$B_GRABS" "$B_PHASE" "$B_RATE" \
  "$B_CPU_MS" "$(mib "$B_RSS")" "$B_WITH ($(pct "$B_WITH" "$B_GRABS"))" "$B_VENDOR ($(pct "$B_VENDOR" "$B_GRABS"))"
echo "(nmap: 'with a banner' = answered (a probe match or an unmatched fingerprint); 'identified' = a product."
echo " vantage: a non-empty banner; labels.vendor. vantage without --banners: max RSS $(mib "$N_RSS") MiB.)"
echo
echo "ratios"
echo "  grabs/s     vantage (1000) / nmap (1000):          $(ratio "$V_RATE" "$M_RATE")x"
echo "  grabs/s     vantage (1000) / vantage (1 at a time): $(ratio "$V_RATE" "$B_RATE")x"
echo "  CPU/grab    nmap / vantage:                         $(ratio "$M_CPU_MS" "$V_CPU_MS")x"
echo "  max RSS     vantage / nmap:                         $(ratio "$V_RSS" "$M_RSS")x" \
  "(vantage's grabbing alone: +$(mib $((V_RSS - N_RSS))) MiB over its no-banner scan)"
echo
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"
