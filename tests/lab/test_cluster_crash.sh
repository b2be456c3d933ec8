#!/usr/bin/env bash
# test_cluster_crash.sh: crashes do not lose or double results. A worker is
# killed with SIGKILL mid-campaign: its lease lapses and another worker resumes
# it from the checkpoint. Then the coordinator is killed with SIGKILL and
# restarted: the campaign completes, and the store holds every pair the lab
# shows (recall 1.0 from vantages without loss), each once.
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
# Whatever w1 scanned before dying came from vantage 1; the rest from vantage 2.
# Pairs in either vantage's blocked network may be missing; nothing else may.
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 2 --min-precision 1.0 \
  "$WORK/all.jsonl" >"$WORK/cmp" 2>"$WORK/cmp.err" || true
cat "$WORK/cmp"
missing=$(sed -n 's/.*missing \([0-9]*\),.*/\1/p' "$WORK/cmp")
twice=$(sed -n 's/.*twice \([0-9]*\);.*/\1/p' "$WORK/cmp")
extra=$(sed -n 's/.*extra \([0-9]*\),.*/\1/p' "$WORK/cmp")
[ "$twice" = 0 ] || fail "$twice pairs stored twice"
# The only misses allowed are in vantage 1's blocked /24 (scanned by w1 before it died).
net1=$(jq -r '.blocked[] | select(.vantage == 1) | .network' /run/vantage-lab/truth.json)
allowed=$(jq --arg p "${net1%.0/24}." '[.devices[] | select(.address | startswith($p)) | .open_ports[]] | length' /run/vantage-lab/truth.json)
allowed_closed=$(jq --arg p "${net1%.0/24}." '[.closed[] | select(.address | startswith($p))] | length' /run/vantage-lab/truth.json)
[ "$missing" -le $((allowed + allowed_closed)) ] ||
  fail "$missing pairs missing after the crashes (at most $((allowed + allowed_closed)) may be, in $net1): $(head -5 "$WORK/cmp.err")"
# Extras can only be vantage 2's blocked network seen by w1 — both are real.
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 0 --min-precision 1.0 "$WORK/all.jsonl" >/dev/null ||
  fail "records that are not in the ground truth: $(cat "$WORK/cmp")"
grep -q "lapsed" "$WORK/coord.log" || fail "w1's lease never lapsed: was it holding one?"
note "after a worker and a coordinator crash: missing $missing (allowed $((allowed + allowed_closed))), extra $extra, twice $twice"
