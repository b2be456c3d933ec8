#!/usr/bin/env bash
# bench_scan.sh: the scan benchmark. vantage-worker against Debian's zmap 2.1.1,
# in the same run, on the same machine, inside the lab (tests/lab/lab):
#
#   1. send rate with no rate limit into the lab's sink (vl-sink -> vl-sinkpeer,
#      which drops every frame): 2,621,440 probes per run, vantage-worker in every
#      --send-mode, zmap with -r 0 and with -B 10G; packets per second from the
#      sink's receive counter over the sending phase, and each tool's own claim;
#   2. peak RSS of every sink run (/usr/bin/time -v);
#   3. recall and precision against the lab's ground truth from one vantage at
#      50k, 200k and 1M pps, one port at a time (zmap 2.1.1 scans one port), same
#      targets, same port, same rate, one probe per target, same cooldown;
#   4. rate accuracy of vantage-worker's --rate at 1k, 10k and 100k pps.
#
#   sudo tests/bench/bench_scan.sh [--quick] [--reps N] [--keep DIR]
#
# --quick: one repetition instead of three. --keep DIR: keep raw outputs there.
# It prints figures and never fails on them: exit 1 only when it cannot measure
# (no build, no zmap, lab would not come up, a scanner failed), 2 for bad usage.
#
# Safety: every scanner runs inside a lab namespace (ip netns exec vl-...), to
# lab addresses (198.18.0.0/16) only, under `timeout`, with a bounded number of
# probes. The whole benchmark holds the machine-wide lab lock the lab tests
# take, and tears the lab down on exit. See docs/performance.md.
set -euo pipefail

PROG=bench_scan
USAGE="sudo $0 [--quick] [--reps N] [--keep DIR]"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORIG_ARGS=("$@")
REPS=3
KEEP=
while [ $# -gt 0 ]; do
  case $1 in
  --quick) REPS=1 ;;
  --reps)
    [ $# -ge 2 ] && [[ $2 =~ ^[1-9]$ ]] || usage_error "--reps wants 1..9"
    REPS=$2
    shift
    ;;
  --keep)
    [ $# -ge 2 ] || usage_error "--keep wants a directory"
    KEEP=$2
    shift
    ;;
  -h | --help)
    sed -n '2,24p' "$SELF" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

bench_lock "${ORIG_ARGS[@]}"

export VANTAGE_BUILD=${VANTAGE_BUILD:-$REPO/build}
WORKER=$VANTAGE_BUILD/worker/vantage-worker
TRUTHCMP=$VANTAGE_BUILD/tests/lab/truthcmp
LAB=$REPO/tests/lab/lab
[ -x "$WORKER" ] || die "no $WORKER (build first: cmake -B build && cmake --build build -j2)"
[ -x "$TRUTHCMP" ] || die "no $TRUTHCMP (build first: cmake --build build -j2)"
[ -x "$VANTAGE_BUILD/tests/lab/devsim" ] || die "no devsim in $VANTAGE_BUILD/tests/lab (build first)"
for c in zmap jq timeout flock awk ip; do
  command -v "$c" >/dev/null || die "$c not found (deploy/install-deps.sh installs it)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (package time; deploy/install-deps.sh installs it)"
if ip netns list | grep -q '^vl-' || [ -d /run/vantage-lab ]; then
  die "a lab is already up outside the lock; tear it down first: $LAB down"
fi

WORK=$(mktemp -d /tmp/vantage-bench.XXXXXX)
cd "$WORK"
# zmap 2.1.1 becomes nobody early and opens its status file (-u) from a thread
# that may start after that: give it a directory it may write in.
chmod 0711 "$WORK"
mkdir -m 1777 "$WORK/zmap"
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

# ---------------------------------------------------------------- measurement

# sampler_start NS IF FILE: samples IF's rx packet counter in namespace NS every
# 2 ms ("microseconds count" per line) until sampler_stop. Builtins only (no
# fork per sample): the sampler costs next to nothing on the 2 cores.
sampler_start() {
  ip netns exec "$1" bash -c '
    exec {z}<> <(:)
    f=/sys/class/net/'"$2"'/statistics/rx_packets
    while :; do
      read -r n <"$f"
      echo "${EPOCHREALTIME/./} $n"
      read -r -t 0.002 -u "$z" || true
    done' >"$3" &
  SAMPLER_PID=$!
  sleep 0.05
}
sampler_stop() {
  sleep 0.05
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
}
# sampler_rate FILE EXPECT [EXTRA]: prints "packets seconds pps" for the
# sending phase of a run that sends EXPECT frames, EXTRA more frames (not
# probes) crossing the counted link meanwhile: from the last sample before the
# counter first moved to the first sample that shows EXPECT + EXTRA more frames
# (or its final value, if fewer came); pps is EXPECT over that phase. Stray
# frames long after the phase do not stretch it; each end may be late by one
# sample (2 ms), which makes the phase longer, never shorter.
sampler_rate() {
  awk -v want="$2" -v extra="${3:-0}" 'NR == 1 { base = $2 }
       { t[NR] = $1; c[NR] = $2 }
       END {
         goal = c[NR] - base; if (want > 0 && goal > want + extra) goal = want + extra
         s = 0; e = 0
         for (i = 2; i <= NR; i++) if (c[i] > base) { s = t[i - 1]; break }
         for (i = 1; i <= NR; i++) if (c[i] - base >= goal) { e = t[i]; break }
         d = (e - s) / 1e6
         n = (want > 0 && goal > want) ? want : goal
         printf "%d %.4f %.0f\n", c[NR] - base, d, (d > 0 ? n / d : 0)
       }' "$1"
}
# The machine is shared (other engineers build and test on it): before a timed
# run, wait up to QUIET_WAIT seconds for it to be quiet (less than 0.3 of a core
# busy over half a second), and record how busy it was during the run.
QUIET_WAIT=10
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # jiffies
busy_cores() { # busy_cores J0 J1 SECONDS
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / s }'
}
wait_quiet() {
  local i j0 j1
  for ((i = 0; i < QUIET_WAIT * 2; i++)); do
    j0=$(cpu_busy)
    sleep 0.5
    j1=$(cpu_busy)
    awk -v c="$(busy_cores "$j0" "$j1" 0.5)" 'BEGIN { exit !(c < 0.3) }' && return 0
  done
  echo "  note: the machine stayed busy ($(busy_cores "$j0" "$j1" 0.5) cores) for ${QUIET_WAIT} s; measuring anyway"
}
rx_packets() { ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.rx.packets'; }
maxrss_kb() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
max() { tr ' ' '\n' | grep . | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
kpps() { awk -v a="$1" 'BEGIN { printf "%.0f", a / 1000 }'; }

# ---------------------------------------------------------------- the lab

LAB_SEED=3
"$LAB" up --vantages 1 --devices 1500 --seed "$LAB_SEED" >"$WORK/lab-up.log" 2>&1 ||
  die "lab up failed: $(tail -3 "$WORK/lab-up.log")"
eval "$("$LAB" env)"
BLOCK=$LAB_BLOCKLIST
TRUTH=$LAB_TRUTH
SINK_PEER_NS=vl-sinkpeer SINK_PEER_IF=vl-sinkgw0
[ "$(rx_packets "$SINK_PEER_NS" "$SINK_PEER_IF")" -ge 0 ] 2>/dev/null ||
  die "cannot read the sink's counter (ip -n $SINK_PEER_NS -s -j link show $SINK_PEER_IF)"

# The machine.
CPU=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
CORES=$(nproc)
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
KERNEL=$(uname -r)
DISTRO=$(. /etc/os-release && echo "$PRETTY_NAME")
CPU_ID=$(lscpu | awk -F': *' '/^CPU family/ { f = $2 } /^Model:/ { m = $2 } END { print "family " f " model " m }')
HYPERVISOR=$(lscpu | awk -F': *' '/^Hypervisor vendor/ { print $2 " guest" }')
CONTAINER=$(systemd-detect-virt -c 2>/dev/null || true)
VIRT=${HYPERVISOR:-bare metal}${CONTAINER:+, container $CONTAINER}
ZMAP_VERSION=$(zmap --version 2>&1 | head -1)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "== vantage scan benchmark ($(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT, $REPS repetition(s))"
echo "machine: $CPU ($CPU_ID), $CORES cores, $MEM, kernel $KERNEL, $DISTRO, $VIRT"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the start; the benchmark shares the machine"
echo "peer:    $ZMAP_VERSION"
echo

# ---------------------------------------------------------------- 1+2: sink

SINK_PROBES=$((65536 * 40))
# sink_run NAME CMD...: one run into the sink; appends "name rep pps_active
# pps_wall claim_pps rss_kb packets" to $WORK/sink.txt.
sink_run() {
  local name=$1 rep=$2 tag
  shift 2
  tag=$WORK/sink-$name-$rep
  local before after t0 t1 j0 j1 rc=0
  wait_quiet
  before=$(rx_packets "$SINK_PEER_NS" "$SINK_PEER_IF")
  sampler_start "$SINK_PEER_NS" "$SINK_PEER_IF" "$tag.samples"
  j0=$(cpu_busy)
  t0=$EPOCHREALTIME
  timeout 120 ip netns exec "$LAB_SINK_NS" /usr/bin/time -v -o "$tag.time" "$@" >"$tag.out" 2>"$tag.err" || rc=$?
  t1=$EPOCHREALTIME
  j1=$(cpu_busy)
  sampler_stop
  after=$(rx_packets "$SINK_PEER_NS" "$SINK_PEER_IF")
  [ "$rc" -eq 0 ] || die "$name (run $rep) failed with status $rc: $(tail -3 "$tag.err")"
  local pkts=$((after - before)) active pps wall claim rss cpu
  read -r _ active pps < <(sampler_rate "$tag.samples" "$SINK_PROBES")
  wall=$(awk -v p=$pkts -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", p / (b - a) }')
  case $name in
  zmap*) # zmap's status file (-u): sent-avg-per-sec at its last update, which
    # counts targets, so times the 40 probes per target (-P 40).
    claim=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sent-avg-per-sec") k = i }
                     NR > 1 && k { v = $k } END { if (v != "") print v * 40 }' "$WORK/zmap/sink-$name-$rep.status" 2>/dev/null || true)
    ;;
  *) claim=$(sed -n 's/.*probes (\([0-9]*\)\/s).*/\1/p' "$tag.err") ;;
  esac
  rss=$(maxrss_kb "$tag.time")
  cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u "+" s }' "$tag.time")
  [ "$pkts" -eq "$SINK_PROBES" ] ||
    echo "  note: $name run $rep: the sink counted $pkts frames, want $SINK_PROBES"
  printf '  %-16s run %d: %8s pps (sink, sending phase %.2f s), %8s pps (sink, whole process), claims %s/s, max RSS %s KiB, CPU user+sys %s s, machine busy %s cores (incl. this run)\n' \
    "$name" "$rep" "$pps" "$active" "$wall" "${claim:--}" "$rss" "$cpu" \
    "$(busy_cores "$j0" "$j1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
  echo "$name $rep $pps $wall ${claim:--} $rss $pkts ${cpu%+*} ${cpu#*+}" >>"$WORK/sink.txt"
}

sink_worker() { # sink_worker MODE REP
  sink_run "vantage-$1" "$2" "$WORKER" scan 198.18.0.0/16 --ports 1-40 --blocklist "$BLOCK" \
    --rate 0 --cooldown 0 --quiet --output /dev/null --interface "$LAB_SINK_IF" \
    --source-ip "$LAB_SINK_IP" --gateway-mac "$LAB_SINK_GW_MAC" --seed "$2" --send-mode "$1"
}
sink_zmap() { # sink_zmap NAME REP RATE-FLAGS...
  local name=$1 rep=$2
  shift 2
  sink_run "$name" "$rep" zmap -p 80 -P 40 "$@" -T 1 -i "$LAB_SINK_IF" -G "$LAB_SINK_GW_MAC" \
    -S "$LAB_SINK_IP" -b "$BLOCK" -c 0 -e "$rep" -o /dev/null -q --disable-syslog \
    -m "$WORK/zmap/sink-$name-$rep.meta" -u "$WORK/zmap/sink-$name-$rep.status" 198.18.0.0/16
}

echo "-- 1. send rate into the sink, --rate 0 / -r 0, $SINK_PROBES probes per run"
: >"$WORK/sink.txt"
SINK_NAMES="vantage-auto vantage-ring vantage-mmsg vantage-pcap zmap-r0 zmap-B10G"
for rep in $(seq 1 "$REPS"); do
  # Interleaved, so that drift of the machine hits every tool alike.
  for m in auto ring mmsg pcap; do sink_worker "$m" "$rep"; done
  sink_zmap zmap-r0 "$rep" -r 0
  sink_zmap zmap-B10G "$rep" -B 10G
done
echo

# Where the worker's memory is: its largest mappings in the middle of a paced
# sink run (nothing answers there, so this is the floor at any rate).
echo "-- 1b. vantage-worker's largest mappings (smaps Rss) during a run at --rate 100000"
timeout 30 ip netns exec "$LAB_SINK_NS" "$WORKER" scan 198.18.0.0/16 --ports 1-3 --blocklist "$BLOCK" \
  --rate 100000 --cooldown 0 --quiet --output /dev/null --interface "$LAB_SINK_IF" \
  --source-ip "$LAB_SINK_IP" --gateway-mac "$LAB_SINK_GW_MAC" 2>"$WORK/smaps.err" &
TIMEOUT_PID=$!
sleep 1
# timeout's child: ip netns exec, which has exec'd the worker (same process).
SMAPS_PID=$(pgrep -P "$TIMEOUT_PID" -x vantage-worker || true)
if [ -n "$SMAPS_PID" ] && awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anonymous]" : $6) }
        /^Rss:/ { if ($2 >= 1024) printf "  %8d KiB  %s\n", $2, name }' "/proc/$SMAPS_PID/smaps" |
  sort -rn | head -6; then
  echo "  VmRSS: $(awk '/^VmRSS/ { print $2, $3 }' "/proc/$SMAPS_PID/status")" \
    "(socket: mappings are packet rings: the capture ring of libpcap and the TX ring)"
fi
wait "$TIMEOUT_PID" || die "the paced run for smaps failed: $(tail -3 "$WORK/smaps.err")"
echo

# ---------------------------------------------------------------- 3: recall

V_NS=$LAB_V1_NS V_IF=$LAB_V1_IF V_IP=$LAB_V1_IP V_GW_MAC=$LAB_V1_GW_MAC
RECALL_PORTS="80 23"
RECALL_RATES="50000 200000 1000000"
COOLDOWN=3
# recall_run TOOL PORT RATE REP: appends "tool port rate rep recall precision
# achieved_pps found expected" to $WORK/recall.txt.
recall_run() {
  local tool=$1 port=$2 rate=$3 rep=$4 tag rc=0
  tag=$WORK/recall-$tool-$port-$rate-$rep
  # Achieved rate: frames into the target side of vantage 1's link. That link
  # also carries the vantage kernel's RST to every SYN-ACK (no socket asked for
  # it), one per open result: sampler_rate is told how many.
  sampler_start vl-target "vl-t1" "$tag.samples"
  if [ "$tool" = vantage ]; then
    timeout 60 ip netns exec "$V_NS" "$WORKER" scan 198.18.0.0/16 --ports "$port" --rate "$rate" \
      --probes 1 --cooldown "$COOLDOWN" --blocklist "$BLOCK" --interface "$V_IF" \
      --source-ip "$V_IP" --gateway-mac "$V_GW_MAC" --seed "$rep" --quiet \
      --output "$tag.jsonl" 2>"$tag.err" || rc=$?
  else
    timeout 60 ip netns exec "$V_NS" zmap -p "$port" -r "$rate" -P 1 -T 1 -c "$COOLDOWN" \
      -i "$V_IF" -S "$V_IP" -G "$V_GW_MAC" -b "$BLOCK" -e "$rep" -O csv \
      -f saddr,sport,classification --output-filter="repeat = 0" -o "$tag.csv" \
      -q --disable-syslog 198.18.0.0/16 2>"$tag.err" || rc=$?
    # zmap's CSV to the worker's JSON Lines: synack -> open, rst -> closed.
    [ "$rc" -ne 0 ] || tail -n +2 "$tag.csv" | jq -R -c 'split(",") |
      {ip: .[0], port: (.[1] | tonumber),
       state: (if .[2] == "synack" then "open" elif .[2] == "rst" then "closed" else .[2] end)}' \
      >"$tag.jsonl"
  fi
  sampler_stop
  [ "$rc" -eq 0 ] || die "$tool port $port at $rate pps (run $rep) failed with status $rc: $(tail -3 "$tag.err")"
  local line recall precision found expected achieved
  line=$("$TRUTHCMP" --truth "$TRUTH" --vantage 1 --ports "$port" "$tag.jsonl" 2>"$tag.cmp" || true)
  recall=$(sed -n 's/.*recall \([0-9.]*\).*/\1/p' <<<"$line")
  precision=$(sed -n 's/.*precision \([0-9.]*\).*/\1/p' <<<"$line")
  found=$(sed -n 's/.*found \([0-9]*\),.*/\1/p' <<<"$line")
  expected=$(sed -n 's/.*expected \([0-9]*\) .*/\1/p' <<<"$line")
  [ -n "$recall" ] || die "truthcmp said nothing usable for $tag.jsonl: $(head -3 "$tag.cmp")"
  local opens
  opens=$(grep -c '"state":"open"' "$tag.jsonl" || true)
  read -r _ _ achieved < <(sampler_rate "$tag.samples" 65536 "$opens")
  printf '  %-7s port %-3s %7s pps: achieved %8s pps, found %5s of %5s, recall %s precision %s\n' \
    "$tool" "$port" "$rate" "$achieved" "$found" "$expected" "$recall" "$precision"
  echo "$tool $port $rate $rep $recall $precision $achieved $found $expected" >>"$WORK/recall.txt"
}

echo "-- 2. recall against the ground truth, vantage 1, one port, one probe, cooldown ${COOLDOWN} s"
: >"$WORK/recall.txt"
for rep in $(seq 1 "$REPS"); do
  for port in $RECALL_PORTS; do
    for rate in $RECALL_RATES; do
      recall_run vantage "$port" "$rate" "$rep"
      recall_run zmap "$port" "$rate" "$rep"
    done
  done
done
echo

# ---------------------------------------------------------------- 4: rate accuracy

RATE_SECONDS=5
# rate_run RATE: RATE x RATE_SECONDS probes into the sink, --rate RATE; appends
# "rate achieved claim" to $WORK/rate.txt.
rate_run() {
  local rate=$1 n nports=1 addrs last tag rc=0
  n=$((rate * RATE_SECONDS))
  [ "$n" -le 60000 ] || nports=$(((n + 59999) / 60000))
  while [ $((n % nports)) -ne 0 ]; do nports=$((nports + 1)); done
  addrs=$((n / nports))
  last="198.18.$(((addrs - 1) / 256)).$(((addrs - 1) % 256))"
  tag=$WORK/rate-$rate
  wait_quiet
  sampler_start "$SINK_PEER_NS" "$SINK_PEER_IF" "$tag.samples"
  timeout $((RATE_SECONDS * 3 + 10)) ip netns exec "$LAB_SINK_NS" "$WORKER" scan "198.18.0.0-$last" \
    --ports "1-$nports" --blocklist "$BLOCK" --rate "$rate" --cooldown 0 --quiet --output /dev/null \
    --interface "$LAB_SINK_IF" --source-ip "$LAB_SINK_IP" --gateway-mac "$LAB_SINK_GW_MAC" \
    2>"$tag.err" || rc=$?
  sampler_stop
  [ "$rc" -eq 0 ] || die "--rate $rate failed with status $rc: $(tail -3 "$tag.err")"
  local pkts active pps claim
  read -r pkts active pps < <(sampler_rate "$tag.samples" "$n")
  claim=$(sed -n 's/.*probes (\([0-9]*\)\/s).*/\1/p' "$tag.err")
  printf '  --rate %6s: %d probes (%d addresses x %d ports) in %.3f s at the sink: %s pps (%+.1f%%); worker claims %s/s\n' \
    "$rate" "$pkts" "$addrs" "$nports" "$active" "$pps" \
    "$(awk -v a="$pps" -v r="$rate" 'BEGIN { print 100 * (a - r) / r }')" "${claim:--}"
  echo "$rate $pps ${claim:--} $pkts $active" >>"$WORK/rate.txt"
}

echo "-- 3. rate accuracy of vantage-worker --rate (into the sink, about ${RATE_SECONDS} s each)"
: >"$WORK/rate.txt"
for r in 1000 10000 100000; do rate_run "$r"; done
echo

# ---------------------------------------------------------------- the table

col() { # col NAME FIELD: the FIELD-th column of every sink.txt row of NAME
  awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$WORK/sink.txt"
}
echo "== results (median of $REPS; pps = frames counted at the sink over the sending phase)"
echo "machine: $CPU, $CORES cores, $MEM, kernel $KERNEL"
echo
printf '%-16s %10s %19s %14s %12s %12s %15s\n' "sender" "sink pps" "(min..max)" "whole-run pps" "own claim" "max RSS MiB" "CPU user+sys s"
declare -A PPS=() RSS=()
for n in $SINK_NAMES; do
  pps=$(col "$n" 3 | median)
  wall=$(col "$n" 4 | median)
  claim=$(col "$n" 5 | grep -v -- - | median || true)
  rss=$(col "$n" 6 | max)
  usr=$(col "$n" 8 | median)
  sys=$(col "$n" 9 | median)
  lo=$(col "$n" 3 | sort -g | head -1)
  hi=$(col "$n" 3 | max)
  printf '%-16s %10s %19s %14s %12s %12s %15s\n' "$n" "$pps" "($lo..$hi)" "$wall" "${claim:--}" \
    "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$usr+$sys"
  PPS[$n]=$pps RSS[$n]=$rss
done
ZMAP_BEST_NAME=zmap-r0
if awk -v a="${PPS[zmap-B10G]}" -v b="${PPS[zmap-r0]}" 'BEGIN { exit !(a > b) }'; then
  ZMAP_BEST_NAME=zmap-B10G
fi
ZMAP_BEST=${PPS[$ZMAP_BEST_NAME]}
echo
echo "ratios against zmap's faster setting ($ZMAP_BEST_NAME, $ZMAP_BEST pps); target: vantage >= 3x with one send thread"
for m in auto ring mmsg pcap; do
  printf '  vantage-%-5s / zmap: %sx\n' "$m" "$(ratio "${PPS[vantage-$m]}" "$ZMAP_BEST")"
done
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "peak RSS at --rate 0 (target < 64 MiB): vantage-auto $(mib "${RSS[vantage-auto]}") MiB," \
  "zmap $(mib "${RSS[zmap-r0]}") MiB; ratio $(ratio "${RSS[vantage-auto]}" "${RSS[zmap-r0]}")x"
echo
echo "recall (median of $REPS; target: vantage >= zmap at every rate)"
printf '%-5s %8s | %9s %9s %12s | %9s %9s %12s | %s\n' port rate "v recall" "v prec" "v achieved" \
  "z recall" "z prec" "z achieved" "recall v/z"
for port in $RECALL_PORTS; do
  for rate in $RECALL_RATES; do
    get() { awk -v t="$1" -v p="$port" -v r="$rate" -v f="$2" '$1 == t && $2 == p && $3 == r { print $f }' "$WORK/recall.txt" | median; }
    vr=$(get vantage 5) vp=$(get vantage 6) va=$(get vantage 7)
    zr=$(get zmap 5) zp=$(get zmap 6) za=$(get zmap 7)
    printf '%-5s %8s | %9s %9s %12s | %9s %9s %12s | %s\n' "$port" "$rate" "$vr" "$vp" "$va" \
      "$zr" "$zp" "$za" "$(ratio "$vr" "$zr")"
  done
done
echo
echo "rate accuracy (target: within 5%; one run each)"
awk '{ printf "  --rate %6d: %7d pps at the sink (%+.1f%%), worker claims %s/s\n", $1, $2, 100 * ($2 - $1) / $1, $3 }' "$WORK/rate.txt"
echo
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"
