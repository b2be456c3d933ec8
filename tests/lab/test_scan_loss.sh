#!/usr/bin/env bash
# test_scan_loss.sh: with 3% random loss in both directions on every vantage
# link, `vantage-worker scan --probes 2` still finds at least 99% of what the
# vantage can see (recall >= 0.99) and reports nothing that is not so
# (precision 1.0), each pair once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"

WORKER=$VANTAGE_BUILD/worker/vantage-worker
TRUTHCMP=$VANTAGE_BUILD/tests/lab/truthcmp
"$LAB" up --devices 1500 --seed 23 --vantages 2 --loss 3 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"

timeout 60 ip netns exec vl-v2 "$WORKER" scan 198.18.0.0/16 --ports 23,2323,80,8080,81,8000 \
  --blocklist /run/vantage-lab/blocklist.txt --rate 200000 --probes 2 --cooldown 2 --quiet \
  --output "$WORK/loss.jsonl" 2>"$WORK/scan.err" || fail "scan failed: $(tail -3 "$WORK/scan.err")"
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 2 --min-recall 0.99 --min-precision 1.0 \
  "$WORK/loss.jsonl" >"$WORK/cmp" || fail "under 3% loss: $(cat "$WORK/cmp")"
cat "$WORK/cmp"

# The loss is real: one probe per target misses more than two do.
timeout 60 ip netns exec vl-v2 "$WORKER" scan 198.18.0.0/16 --ports 23,2323,80,8080,81,8000 \
  --blocklist /run/vantage-lab/blocklist.txt --rate 200000 --probes 1 --cooldown 2 --quiet \
  --output "$WORK/one.jsonl" 2>"$WORK/scan.err" || fail "scan failed: $(tail -3 "$WORK/scan.err")"
one=$(wc -l <"$WORK/one.jsonl")
two=$(wc -l <"$WORK/loss.jsonl")
[ "$one" -lt "$two" ] || fail "one probe found $one, two probes $two: is the loss applied?"
note "3% loss: --probes 2 found $two pairs, --probes 1 found $one"
