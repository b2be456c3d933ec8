#!/usr/bin/env bash
# test_cluster_crash.sh: crashes do not lose or double results. A worker is
# killed with SIGKILL mid-campaign: its lease lapses and another worker resumes
# it from the checkpoint. Then the coordinator is killed with SIGKILL and
# restarted: the campaign completes, the store holds every pair the lab shows
# (recall 1.0 from vantages without loss) but those only the dead worker's
# vantage could not see, nothing the lab does not show, and the campaign's
# count of what it found counts no batch twice (redelivery after the restart is
# harmless) and loses none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 53 --vantages 2 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
# K=1: a slot one site left half done may be resumed by the other site.
cluster_coordinator
cluster_enroll w1 site-a
cluster_enroll w2 site-b
cluster_worker 1 w1
cluster_worker 2 w2
"$VANTAGE" campaign start crash --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 40000 \
  --vantages 1 >/dev/null || fail "campaign start failed"

# Kill worker 1 once it has results out.
for _ in $(seq 100); do
  grep -q "lease .* to w1" "$WORK/coord.log" && break
  sleep 0.2
done
sleep 2
kill -9 "$PID_w1"
note "killed worker w1 mid-lease"

# Kill the coordinator mid-campaign, and restart it.
sleep 3
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
note "killed the coordinator"
sleep 1
cluster_coordinator
cluster_wait crash 240

cluster_query "$WORK/all.jsonl"
truth=/run/vantage-lab/truth.json
# Whatever w1 scanned before dying came from vantage 1; the rest from vantage 2.
# Seen from vantage 2 (its blocked network left out of what is expected),
# nothing may be reported twice (truthcmp exits 1 then); records from vantage
# 2's blocked network are extras, which w1 could see.
"$TRUTHCMP" --truth "$truth" --vantage 2 "$WORK/all.jsonl" >"$WORK/cmp" 2>"$WORK/cmp.err" ||
  fail "truthcmp: $(cat "$WORK/cmp" "$WORK/cmp.err")"
cat "$WORK/cmp"
missing=$(sed -n 's/.*missing \([0-9]*\),.*/\1/p' "$WORK/cmp")
extra=$(sed -n 's/.*extra \([0-9]*\),.*/\1/p' "$WORK/cmp")
# The only pairs allowed to be missing are in vantage 1's blocked /24, which w1
# scanned blind before it died: list every missing pair and check where it is.
net1=$(jq -r '.blocked[] | select(.vantage == 1) | .network' "$truth")
net2=$(jq -r '.blocked[] | select(.vantage == 2) | .network' "$truth")
jq -rn --slurpfile truth "$truth" --slurpfile got "$WORK/all.jsonl" --arg net2 "${net2%0/24}" '
  ($got | map("\(.ip):\(.port)") | INDEX(.)) as $have
  | ([$truth[0].devices[] | .address as $a | .open_ports[] | "\($a):\(.)"]
     + [$truth[0].closed[] | "\(.address):\(.port)"])[]
  | select(startswith($net2) | not) | select($have[.] | not)' >"$WORK/missing"
[ "$(wc -l <"$WORK/missing")" = "$missing" ] ||
  fail "truthcmp says $missing pairs are missing, the truth and the store say $(wc -l <"$WORK/missing")"
outside=$(awk -v net="${net1%0/24}" 'index($0, net) != 1' "$WORK/missing")
[ -z "$outside" ] ||
  fail "$(echo "$outside" | wc -l) pairs missing outside $net1 after the crashes: $(echo "$outside" | head -5 | tr '\n' ' ')"
# Every record is a pair of the truth in the truth's state (none stored wrong).
"$TRUTHCMP" --truth "$truth" --vantage 0 --min-precision 1.0 "$WORK/all.jsonl" >"$WORK/cmp0" \
  2>"$WORK/cmp0.err" || fail "records that are not in the ground truth: $(cat "$WORK/cmp0" "$WORK/cmp0.err")"

# w1 died mid-lease with results stored, and that lease lapsed.
sites_a=$(jq -s 'map(select(.vantages | index("site-a"))) | length' "$WORK/all.jsonl")
[ "$sites_a" -gt 0 ] || fail "no record lists w1's site: w1 stored nothing before it was killed"
grep -q "lease [0-9]* of worker w1 lapsed" "$WORK/coord.log" ||
  fail "w1's lease never lapsed: was it holding one? $(grep w1 "$WORK/coord.log" | tail -3)"

# The campaign's found counts are written with the results they count, in one
# write batch, and a batch the coordinator stored before it was killed is only
# acknowledged again when a worker re-sends it. So each state's count lies
# between the records stored in that state (none lost) and the results the
# workers produced: w1's that were stored (the records that list its site; it
# ran one lease, from step 0) and all of w2's (the summaries of its leases; an
# arc whose checkpoint was not yet stored when the coordinator was killed is
# scanned and counted again). Above that, a batch was counted twice.
status=$("$VANTAGE" campaign status crash --json) || fail "campaign status failed"
read -r w2_open w2_closed < <(sed -n \
  's/^.*vantage-worker: lease [0-9]*: sent .*, \([0-9]*\) open, \([0-9]*\) closed,.*/\1 \2/p' \
  "$WORK/w2.log" | awk '{o += $1; c += $2} END {print o + 0, c + 0}')
for state in open closed; do
  found=$(echo "$status" | jq ".found.$state")
  records=$(jq -s --arg s "$state" 'map(select(.state == $s)) | length' "$WORK/all.jsonl")
  from_w1=$(jq -s --arg s "$state" 'map(select(.state == $s and (.vantages | index("site-a")))) | length' \
    "$WORK/all.jsonl")
  [ "$state" = open ] && from_w2=$w2_open || from_w2=$w2_closed
  produced=$((from_w1 + from_w2))
  [ "$found" -ge "$records" ] || fail "found $found $state, but $records $state records are stored"
  [ "$found" -le "$produced" ] ||
    fail "found $found $state, more than the $produced $state results stored by w1 ($from_w1) and produced by w2 ($from_w2): a batch was counted twice"
  note "$state: found $found, records $records, results $produced ($from_w1 stored from w1, $from_w2 produced by w2)"
done
note "after a worker and a coordinator crash: missing $missing (all in $net1), extra $extra, $sites_a records from w1"
