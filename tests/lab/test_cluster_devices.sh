#!/usr/bin/env bash
# test_cluster_devices.sh: an honest device count survives churn, devices that
# are sometimes offline and identifiers that are firmware defaults; the ISP
# reports list exactly the exposed services of each network.
#
# A world of 3000 devices, half of them moving at every epoch, each online in
# an epoch with probability 0.8, a tenth of those with a serial or MAC showing
# their type's default; no loss and no blocked network, so what the workers
# find is exactly the truth. One campaign (all six ports, banners) per epoch
# 0..4, each started in a window of its own (--window 10s): the store keeps a
# campaign's results in the window it started in. Then:
#  * the store holds, per window, exactly the open pairs of that epoch;
#  * per window, `hosts` is the number of devices online in that epoch, and
#    `identified` the number of those showing their own serial or MAC;
#  * `distinct_ips` is the union of their addresses, well above the number of
#    devices (the naive count, inflated by churn);
#  * the devices online in at least one epoch lie in [devices_low,
#    devices_high], and devices_estimate is within 3% of them;
#  * identified_devices is the number of devices showing their own serial or
#    MAC (those the rules extract), and the shared defaults are recognised;
#    the churn shares are those of the identified devices' addresses;
#  * report --by prefix/22 and --by asn (a generated pfx2as file with a
#    multi-origin line, a comment and a bad line that is named and skipped)
#    list, per group, exactly the exposed services of its devices.
# The truth arithmetic is devices_truth.py's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"
command -v python3 >/dev/null || fail "python3 not found (deploy/install-deps.sh installs it)"
CHECK="python3 $(dirname "$0")/devices_truth.py"
WINDOW=10 # seconds; each campaign starts in a new window (a campaign takes ~17 s)
EPOCHS=5
RATE=150000 # probes and grabs a second, the campaign's: 75000 a worker
# Seed 3: every shared default the rules read is online on 3 devices at once in
# some epoch, or the coordinator could not tell it from one device on several
# addresses (devices_truth.py world checks it). 3000 devices: at 1500 HP's tenth
# is 1 or 2 printers.
SEED=3
started=$SECONDS

"$LAB" up --devices 3000 --seed "$SEED" --vantages 2 --churn 50 --availability 80 \
  --shared-ids 10 --no-blocked >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator --window "${WINDOW}s"
cluster_enroll w1 site-v1
cluster_enroll w2 site-v2
# Grabs end within 4 s (default 10): the devices answer at once, only hostile
# services (slow, silent) take that long, and each shard waits for its last.
cluster_worker 1 w1 --banner-timeout 4
cluster_worker 2 w2 --banner-timeout 4

# now_ms: the clock in milliseconds (the coordinator's: the same machine).
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# wait_window LAST: sleeps until a window after LAST has begun and is at least
# 1 s old (so a command sent now is inside it), then sets WIN to it.
wait_window() {
  local t
  for _ in $(seq $((WINDOW * 10 + 20))); do
    t=$(now_ms)
    WIN=$((t / 1000 / WINDOW))
    if [ "$WIN" -gt "$1" ] && [ $((t - WIN * WINDOW * 1000)) -ge 1000 ]; then
      return 0
    fi
    sleep 0.1
  done
  fail "no new window within $((WINDOW + 2)) s"
}

win=-1
windows=()
for e in $(seq 0 $((EPOCHS - 1))); do
  [ "$e" -eq 0 ] || "$LAB" epoch "$e" >/dev/null || fail "lab epoch $e failed"
  cp /run/vantage-lab/truth.json "$WORK/truth-$e.json"
  wait_window "$win"
  win=$WIN
  windows+=("$win")
  "$VANTAGE" campaign start "dev$e" --targets 198.18.0.0/16 --ports $LAB_PORTS --rate $RATE \
    --banners >/dev/null || fail "campaign start dev$e failed"
  # The campaign must have started in the window waited for, or the windows
  # the test expects are not the store's.
  [ $(($(now_ms) / 1000 / WINDOW)) -eq "$win" ] || fail "starting dev$e took past the end of window $win"
  cluster_wait "dev$e" 40 # ~17 s; five of these and the windows stay under the 300 s TIMEOUT
  note "epoch $e: campaign dev$e in window $win done at $((SECONDS - started)) s"
done
wins=$(
  IFS=,
  echo "${windows[*]}"
)
$CHECK world --truth-dir "$WORK" --epochs $EPOCHS >"$WORK/world.out" ||
  fail "the world cannot test the count: $(cat "$WORK/world.out")"
expect=$($CHECK expect --truth-dir "$WORK" --epochs $EPOCHS)
note "truth: $expect"

# The store first: per window exactly the open pairs of that epoch's online
# devices (no loss, nothing blocked), so what follows counts a complete store.
cluster_query "$WORK/rows.jsonl" --state open
$CHECK rows --truth-dir "$WORK" --epochs $EPOCHS --windows "$wins" "$WORK/rows.jsonl" >"$WORK/rows.out" ||
  fail "the store differs from the truth: $(head -5 "$WORK/rows.out")"

# The device count.
"$VANTAGE" query --count devices --format jsonl >"$WORK/count.json" 2>"$WORK/count.err" ||
  fail "query --count devices failed: $(cat "$WORK/count.err")"
$CHECK count --truth-dir "$WORK" --epochs $EPOCHS --windows "$wins" "$WORK/count.json" >"$WORK/count.out" ||
  fail "the device count is wrong: $(cat "$WORK/count.out") (count: $(head -c 600 "$WORK/count.json"))"
note "count: $(jq -c '{distinct_ips, identified_devices, shared_defaults, devices_estimate, devices_low, devices_high}' "$WORK/count.json")"
"$VANTAGE" query --count devices --format table >"$WORK/count.txt" 2>&1 ||
  fail "query --count devices --format table failed: $(cat "$WORK/count.txt")"
grep -q "$(jq .distinct_ips "$WORK/count.json")" "$WORK/count.txt" ||
  fail "the table does not show distinct_ips: $(cat "$WORK/count.txt")"

# Reports by prefix, and by origin AS from a pfx2as file: each /20 of the lab
# an AS of its own (64496-64511), a /22 inside one of them announced by two
# private ASes (64512_64513: listed under each; the longest prefix
# wins), a comment, and a bad line (an AS that is no number) that must be named
# and skipped: taken, it would move 198.18.64.0/24 to another group.
{
  echo "# lab prefix2as: each /20 of 198.18.0.0/16 its own AS"
  for i in $(seq 0 15); do printf '198.18.%d.0\t20\t%d\n' $((i * 16)) $((64496 + i)); done
  printf '198.18.52.0\t22\t64512_64513\n'
  printf '198.18.64.0\t24\tAS64999\n'
} >"$WORK/pfx2as.txt"
bad_line=$(grep -n AS64999 "$WORK/pfx2as.txt" | cut -d: -f1)
"$VANTAGE" report --by prefix/22 --format jsonl >"$WORK/by-prefix.jsonl" 2>"$WORK/by-prefix.err" ||
  fail "report --by prefix/22 failed: $(cat "$WORK/by-prefix.err")"
$CHECK report --truth-dir "$WORK" --epochs $EPOCHS --by prefix/22 "$WORK/by-prefix.jsonl" >"$WORK/rp.out" ||
  fail "report --by prefix/22 differs from the truth: $(head -5 "$WORK/rp.out")"
"$VANTAGE" report --by asn --pfx2as "$WORK/pfx2as.txt" --format jsonl >"$WORK/by-asn.jsonl" \
  2>"$WORK/by-asn.err" || fail "report --by asn failed: $(cat "$WORK/by-asn.err")"
grep -q "pfx2as.txt:$bad_line" "$WORK/by-asn.err" ||
  fail "report --by asn does not name the bad line $bad_line of the pfx2as file: $(cat "$WORK/by-asn.err")"
$CHECK report --truth-dir "$WORK" --epochs $EPOCHS --by asn --pfx2as "$WORK/pfx2as.txt" \
  "$WORK/by-asn.jsonl" >"$WORK/ra.out" || fail "report --by asn differs from the truth: $(head -5 "$WORK/ra.out")"
n12=$(jq -r 'select(.summary != true and .asn == 64512) | "\(.ip):\(.port)"' "$WORK/by-asn.jsonl" | sort | tee "$WORK/as64512" | wc -l)
jq -r 'select(.summary != true and .asn == 64513) | "\(.ip):\(.port)"' "$WORK/by-asn.jsonl" | sort >"$WORK/as64513"
[ "$n12" -gt 0 ] && cmp -s "$WORK/as64512" "$WORK/as64513" ||
  fail "the multi-origin 198.18.52.0/22 is not listed alike under 64512 ($n12 services) and 64513"
note "by asn: $(jq -c 'select(.summary == true and .asn == 64500)' "$WORK/by-asn.jsonl" | head -c 300)"

note "passed in $((SECONDS - started)) s: $(jq -r '"\(.devices_estimate) devices estimated for \(.distinct_ips) addresses"' "$WORK/count.json")"
