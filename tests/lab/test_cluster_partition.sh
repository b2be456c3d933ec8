#!/usr/bin/env bash
# test_cluster_partition.sh: orders reach a worker that was away, and
# "complete" means stored.
#
# 1. A worker is cut from the coordinator (nftables drop on its namespace's
#    traffic to and from the coordinator) while the operator adds an opt-out
#    and then cancels the campaign. After the partition heals and the worker
#    reconnects, a capture on the target side of its link shows no probe into
#    the opted-out network, and within 3 s no probe at all; the store holds
#    nothing for the opted-out network that was seen after the opt-out.
# 2. A campaign whose worker finishes a shard while partitioned: when
#    `campaign wait` returns, an immediate query has the whole truth.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 71 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_worker 1 w1

# partition on|off: vl-v1 drops everything to and from the coordinator.
partition() {
  if [ "$1" = on ]; then
    ip netns exec vl-v1 nft -f - <<'NFT'
table inet vl_partition {
  chain out { type filter hook output priority 0; ip daddr 198.19.254.0/24 drop; }
  chain in { type filter hook input priority 0; ip saddr 198.19.254.0/24 drop; }
}
NFT
  else
    ip netns exec vl-v1 nft delete table inet vl_partition
  fi
}

# ---- 1: opt-out and cancel while the worker is away ----
"$VANTAGE" campaign start away --targets 198.18.0.0/16 --ports 23,80 --rate 5000 >/dev/null ||
  fail "campaign start failed"
for _ in $(seq 100); do grep -q "lease .* to w1" "$WORK/coord.log" && break; sleep 0.1; done
grep -q "lease .* to w1" "$WORK/coord.log" || fail "w1 got no lease"
sleep 1
partition on
note "w1 cut from the coordinator"
OPTOUT=198.18.0.0/17 # half the space: the worker meets it again whatever its arc
"$VANTAGE" blocklist add $OPTOUT --reason "owner asked during the partition" >/dev/null ||
  fail "blocklist add failed"
added_ms=$(date +%s%3N)
sleep 1
"$VANTAGE" campaign cancel away >/dev/null || fail "cancel failed"
sleep 4 # shorter than a lease's deadline: the worker probes on, unaware

ip netns exec vl-target tcpdump -i vl-t1 -n -U -tt -w "$WORK/v1.pcap" \
  'ip src 198.19.1.2 and tcp[tcpflags] == tcp-syn' 2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
before=$(grep -c "worker w1 .* connected" "$WORK/coord.log" || true)
partition off
note "partition healed"
for _ in $(seq 200); do
  [ "$(grep -c "worker w1 .* connected" "$WORK/coord.log" || true)" -gt "$before" ] && break
  sleep 0.05
done
reconnected=$(date +%s.%N)
[ "$(grep -c "worker w1 .* connected" "$WORK/coord.log" || true)" -gt "$before" ] ||
  fail "w1 did not reconnect within 10 s of the heal"
sleep 5
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true

total=$(tcpdump -n -tt -r "$WORK/v1.pcap" 2>/dev/null | wc -l)
# Frames in flight at the reconnect get 0.5 s; the opt-out arrives with the Welcome.
into=$(tcpdump -n -tt -r "$WORK/v1.pcap" 'dst net 198.18.0.0/17' 2>/dev/null |
  awk -v t="$reconnected" '$1 > t + 0.5' | wc -l)
late=$(tcpdump -n -tt -r "$WORK/v1.pcap" 2>/dev/null | awk -v t="$reconnected" '$1 > t + 3' | wc -l)
[ "$into" -eq 0 ] || fail "$into probes went into the opted-out $OPTOUT after the reconnect"
[ "$late" -eq 0 ] || fail "$late probes sent more than 3 s after the reconnect of a cancelled campaign"
grep -q "lease [0-9]* stopped: cancelled by the coordinator" "$WORK/w1.log" ||
  fail "the worker never heard of the cancel: $(tail -5 "$WORK/w1.log")"
# Nothing stored for the opted-out space that was seen after the opt-out.
cluster_query "$WORK/away.jsonl" --campaign away
after=$(jq -s --argjson t "$added_ms" '[.[] | select((.ip | split(".")[2] | tonumber) < 128)
  | select((.last_seen | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000 > $t + 1000)] | length' \
  "$WORK/away.jsonl")
[ "$after" -eq 0 ] || fail "$after records of the opted-out space seen after the opt-out were stored"
note "after the heal: $total probes captured, none into the opt-out, none after 3 s"

# ---- 2: a shard finished while partitioned is complete only once stored ----
"$VANTAGE" blocklist remove $OPTOUT >/dev/null || fail "blocklist remove failed"
before=$(grep -c "lease .* to w1" "$WORK/coord.log" || true)
"$VANTAGE" campaign start whole --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 150000 \
  >/dev/null || fail "campaign start failed"
for _ in $(seq 100); do
  [ "$(grep -c "lease .* to w1" "$WORK/coord.log" || true)" -gt "$before" ] && break
  sleep 0.05
done
partition on
sleep 6 # the worker finishes its arc and spools the results, unheard
partition off
cluster_wait whole 120
cluster_query "$WORK/whole.jsonl" --campaign whole
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 1 --exact "$WORK/whole.jsonl" ||
  fail "when campaign wait returned, the store did not hold the whole truth"
note "a shard finished while partitioned: complete meant stored ($(wc -l <"$WORK/whole.jsonl") records)"
