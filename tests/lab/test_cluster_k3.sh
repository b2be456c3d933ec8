#!/usr/bin/env bash
# test_cluster_k3.sh: three workers at three sites, 3% loss on every link and
# one network blocked per vantage; a K=3 campaign with 2 probes per target
# stores recall >= 0.999 with precision 1.0, and every record lists only sites
# that could see it — nearly always all of them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 41 --vantages 3 --loss 3 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
for v in 1 2 3; do
  cluster_enroll "w$v" "site-v$v"
  cluster_worker "$v" "w$v"
done
"$VANTAGE" campaign start k3 --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 300000 \
  --vantages 3 --probes 2 >/dev/null || fail "campaign start failed"
cluster_wait k3 200

cluster_query "$WORK/all.jsonl"
# Expected: everything any vantage can see (vantage 0 is blocked nowhere).
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 0 --min-recall 0.999 --min-precision 1.0 \
  --sites site-v1=1,site-v2=2,site-v3=3 --min-all-sites 0.97 "$WORK/all.jsonl" >"$WORK/cmp" ||
  fail "K=3 under 3% loss: $(cat "$WORK/cmp")"
cat "$WORK/cmp"
# Each blocked network was still seen, by the two other sites.
for v in 1 2 3; do
  net=$(jq -r ".blocked[] | select(.vantage == $v) | .network" /run/vantage-lab/truth.json)
  pfx=${net%.0/24}.
  n=$(jq -r --arg p "$pfx" 'select(.ip | startswith($p)) | .vantages | length' "$WORK/all.jsonl" | sort -u | tr '\n' ' ')
  [ -n "$n" ] || fail "nothing stored from $net, which only vantage $v is blocked from"
done
note "K=3: $(head -1 "$WORK/cmp" | sed 's/.*; //')"
