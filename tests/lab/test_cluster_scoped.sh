#!/usr/bin/env bash
# test_cluster_scoped.sh: scoped partners get work. One worker is allowed
# only 198.18.0.0/17, another the whole /16; a K=1 campaign over the /16 is
# cut along their scopes, both get leases, the store holds the truth as the
# two vantages see it (every record from a site that could see it), and a
# capture on the target side of the scoped worker's link shows not one probe
# outside its /17.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 37 --vantages 2 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll whalf site-v1
cluster_enroll wall site-v2
ip netns exec vl-target tcpdump -i vl-t1 -n -U -w "$WORK/v1.pcap" 'ip src 198.19.1.2 and tcp' \
  2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
cluster_worker 1 whalf --scope 198.18.0.0/17
cluster_worker 2 wall
# Both have said Hello (their scopes are known) before the campaign is cut.
for _ in $(seq 100); do
  [ "$(grep -c "worker w[a-z]* (site .*) connected" "$WORK/coord.log" || true)" -ge 2 ] && break
  sleep 0.1
done

"$VANTAGE" campaign start scoped --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 100000 \
  --vantages 1 >/dev/null || fail "campaign start failed"
"$VANTAGE" campaign status scoped --json | jq -e '.shards.cells == 2' >/dev/null ||
  fail "the campaign was not cut into two cells: $("$VANTAGE" campaign status scoped --json | jq -c .shards)"
cluster_wait scoped 180
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true

grep -q "lease .* to whalf" "$WORK/coord.log" || fail "the /17-scoped worker got no lease"
grep -q "lease .* to wall" "$WORK/coord.log" || fail "the /16-scoped worker got no lease"
outside=$(tcpdump -n -r "$WORK/v1.pcap" 'dst net 198.18.128.0/17' 2>/dev/null | wc -l)
inside=$(tcpdump -n -r "$WORK/v1.pcap" 'dst net 198.18.0.0/17' 2>/dev/null | wc -l)
[ "$inside" -gt 0 ] || fail "the scoped worker sent nothing inside its scope: the test proves nothing"
[ "$outside" -eq 0 ] || fail "the worker scoped to 198.18.0.0/17 sent $outside packets outside it"
cluster_query "$WORK/all.jsonl"
# Each site sees all but its own blocked /24, so: every record from a site
# that could see it, and recall of at least 99% against the union.
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 0 --min-recall 0.99 \
  --min-precision 1.0 --sites site-v1=1,site-v2=2 "$WORK/all.jsonl" ||
  fail "the store does not hold what the two scoped vantages see"
n1=$(jq -s '[.[] | select(.vantages == ["site-v1"])] | length' "$WORK/all.jsonl")
note "scoped partner: $inside probes inside its /17, none outside; $n1 of $(wc -l <"$WORK/all.jsonl") records from it"
