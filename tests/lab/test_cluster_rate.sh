#!/usr/bin/env bash
# test_cluster_rate.sh: `vantage campaign set NAME --rate PPS` changes what a
# running campaign sends at once: the rate seen where a vantage's frames
# arrive (the target side of its link) moves from the old budget to the new
# one within 2 s, up and down, without restarting the lease; and a rate the
# daemon refuses changes nothing. Bounded: about 40,000 probes in 20 s, then
# the campaign is cancelled.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 300 --seed 7 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_worker 1 w1
# 393,216 probes: at 1,000/s the campaign outlasts the test by far.
"$VANTAGE" campaign start slow --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 1000 >/dev/null ||
  fail "campaign start failed"
for _ in $(seq 100); do
  grep -q "lease .* to w1" "$WORK/coord.log" && break
  sleep 0.2
done
grep -q "lease .* to w1" "$WORK/coord.log" || fail "no lease went to w1: $(tail -3 "$WORK/coord.log")"

# Frames from vantage 1 per second, counted where they arrive: the rx packets
# of vl-t1 in the target namespace (the coordinator's few messages pass there
# too, a handful a second).
rx() { ip netns exec vl-target cat /sys/class/net/vl-t1/statistics/rx_packets; }
rate_over() { # rate_over SECONDS: packets a second over the next SECONDS
  local a b
  a=$(rx)
  sleep "$1"
  b=$(rx)
  echo $(((b - a) / $1))
}
sleep 2 # the lease's first second
before=$(rate_over 2)
[ "$before" -gt 600 ] && [ "$before" -lt 1500 ] || fail "at --rate 1000 the link saw $before packets/s"

"$VANTAGE" campaign set slow --rate 8000 >"$WORK/set.out" || fail "campaign set failed: $(cat "$WORK/set.out")"
sleep 2 # the promise: within 2 s
after=$(rate_over 2)
[ "$after" -gt 5000 ] && [ "$after" -lt 10000 ] ||
  fail "2 s after campaign set --rate 8000 the link saw $after packets/s (before: $before)"

"$VANTAGE" campaign set slow --rate 2000 >/dev/null || fail "campaign set (down) failed"
sleep 2
down=$(rate_over 2)
[ "$down" -gt 1200 ] && [ "$down" -lt 3000 ] ||
  fail "2 s after campaign set --rate 2000 the link saw $down packets/s"

# One lease all along: the rate changed in place, nothing was re-leased.
n=$(grep -c "lease .* to w1" "$WORK/coord.log")
[ "$n" = 1 ] || fail "$n leases went to w1: the change restarted the lease"
# A refused value changes nothing.
"$VANTAGE" campaign set slow --rate 0 >/dev/null 2>"$WORK/bad.err" && fail "--rate 0 was taken"
"$VANTAGE" campaign status slow --json | jq -e '.rate == 2000' >/dev/null ||
  fail "the campaign's rate is not 2000 after the refused set: $("$VANTAGE" campaign status slow --json | jq .rate)"
"$VANTAGE" campaign cancel slow >/dev/null || fail "cancel failed"
note "link rate $before/s at 1000, $after/s 2 s after --rate 8000, $down/s 2 s after --rate 2000"
