#!/usr/bin/env bash
# test_cluster_exact.sh: a coordinator and one enrolled worker; a K=1 campaign
# over 198.18.0.0/16 and all lab ports with no loss stores exactly the ground
# truth as vantage 1 sees it. Beside it run a worker with an unenrolled key and
# a revoked worker: they get no lease and store nothing. (Scoped partners:
# test_cluster_scoped.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 31 --vantages 2 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_enroll wrev site-v2
"$VANTAGE" worker revoke wrev >/dev/null || fail "revoking wrev failed"

cluster_worker 1 w1
cluster_worker 2 wrev
"$WORKER" keygen --out "$WORK/wstranger.key" >/dev/null
cluster_worker 2 wstranger

"$VANTAGE" campaign start exact --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 150000 \
  --vantages 1 >/dev/null || fail "campaign start failed"
cluster_wait exact 120

cluster_query "$WORK/all.jsonl"
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 1 --exact "$WORK/all.jsonl" ||
  fail "the store differs from what vantage 1 can see"
jq -e 'select(.vantages != ["site-v1"])' "$WORK/all.jsonl" >/dev/null &&
  fail "a record lists a site other than site-v1: $(jq -c 'select(.vantages != ["site-v1"])' "$WORK/all.jsonl" | head -2)"

# The revoked and the unknown worker: no lease, nothing stored, refused.
"$VANTAGE" worker list --json >"$WORK/workers.json" || fail "worker list failed"
[ "$(jq -r '.[] | select(.name == "wrev") | .lease' "$WORK/workers.json")" = null ] ||
  fail "the revoked worker holds a lease"
grep -q "lease .* to wrev\|lease .* to wstranger" "$WORK/coord.log" && fail "a lease went to wrev or wstranger"
[ "$(grep -c 'site-v2' "$WORK/all.jsonl")" = 0 ] || fail "records from the revoked worker's site"

note "store = truth for vantage 1 ($(wc -l <"$WORK/all.jsonl") records); revoked and unknown workers got nothing"
