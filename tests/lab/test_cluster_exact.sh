#!/usr/bin/env bash
# test_cluster_exact.sh: a coordinator and one enrolled worker; a K=1 campaign
# over 198.18.0.0/16 and all lab ports with no loss stores exactly the ground
# truth as vantage 1 sees it. Beside it run a worker with an unenrolled key and
# a revoked worker: they get no lease and store nothing. A worker whose scope
# covers only half the space never probes the other half (capture on its link).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 31 --vantages 3 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_enroll wrev site-v2
"$VANTAGE" worker revoke wrev >/dev/null || fail "revoking wrev failed"
cluster_enroll whalf site-v3

# Capture what the half-scope worker sends, on the target side of its link.
ip netns exec vl-target tcpdump -i vl-t3 -n -U -w "$WORK/v3.pcap" 'ip src 198.19.3.2 and tcp' \
  2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done

cluster_worker 1 w1
cluster_worker 2 wrev
"$WORKER" keygen --out "$WORK/wstranger.key" >/dev/null
cluster_worker 2 wstranger
cluster_worker 3 whalf --scope 198.18.0.0/17

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

# The half-scope worker may not take this campaign at all, and sent nothing.
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true
other=$(tcpdump -n -r "$WORK/v3.pcap" 'dst net 198.18.128.0/17' 2>/dev/null | wc -l)
[ "$other" -eq 0 ] || fail "the worker scoped to 198.18.0.0/17 sent $other packets to 198.18.128.0/17"
grep -q "lease .* to whalf" "$WORK/coord.log" && fail "a lease outside its scope went to whalf"

note "store = truth for vantage 1 ($(wc -l <"$WORK/all.jsonl") records); revoked, unknown and out-of-scope workers got nothing"
