#!/usr/bin/env bash
# test_scan_truth.sh: `vantage-worker scan` from one vantage with no loss finds
# exactly the ground truth over 198.18.0.0/16 and all six lab ports (every open
# pair open, every closed pair closed, nothing else, the vantage's blocked
# network absent); four --shard processes together give the same result; and a
# capture on the vantage's link shows no frame to an address outside the
# target space.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"

WORKER=$VANTAGE_BUILD/worker/vantage-worker
TRUTHCMP=$VANTAGE_BUILD/tests/lab/truthcmp
PORTS=23,2323,80,8080,81,8000
"$LAB" up --devices 1500 --seed 11 --vantages 2 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
TRUTH=/run/vantage-lab/truth.json
BLOCK=/run/vantage-lab/blocklist.txt

scan() { # scan NS OUT [flags...]
  local ns=$1 out=$2
  shift 2
  timeout 60 ip netns exec "$ns" "$WORKER" scan 198.18.0.0/16 --ports $PORTS --blocklist "$BLOCK" \
    --rate 200000 --cooldown 2 --quiet --output "$out" "$@" 2>>"$WORK/scan.err" ||
    fail "scan from $ns failed: $(tail -3 "$WORK/scan.err")"
}

# 1. The whole space from vantage 1: exactly the truth.
scan vl-v1 "$WORK/full.jsonl" --seed 5
"$TRUTHCMP" --truth "$TRUTH" --vantage 1 --exact "$WORK/full.jsonl" ||
  fail "vantage 1's scan differs from the ground truth"
blocked=$(jq -r '.blocked[] | select(.vantage == 1) | .network' "$TRUTH")
prefix=${blocked%.0/24}.
! grep -q "\"ip\":\"${prefix//./\\.}" "$WORK/full.jsonl" || fail "results from $blocked, which blocks vantage 1"
n_open=$(grep -c '"state":"open"' "$WORK/full.jsonl")
[ "$n_open" -gt 1000 ] || fail "only $n_open open results: the world is too small to mean anything"

# 2. Four shards as four concurrent processes: together exactly the unsharded result.
pids=()
for i in 0 1 2 3; do
  scan vl-v1 "$WORK/shard$i.jsonl" --seed 5 --shard "$i/4" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a shard scan failed: $(tail -3 "$WORK/scan.err")"; done
for i in 0 1 2 3; do
  [ -s "$WORK/shard$i.jsonl" ] || fail "shard $i/4 found nothing"
done
key() { jq -r '"\(.ip) \(.port) \(.state)"' "$@" | sort; }
key "$WORK/full.jsonl" >"$WORK/full.keys"
key "$WORK"/shard[0-3].jsonl >"$WORK/shards.keys"
diff -q "$WORK/full.keys" "$WORK/shards.keys" >/dev/null ||
  fail "4 shards differ from the unsharded scan: $(diff "$WORK/full.keys" "$WORK/shards.keys" | head -5)"

# 3. Nothing leaves for an address outside the target space. The space here is
# 198.18.0.0/17 minus 198.18.5.0/24 (added to the blocklist); the capture sits on
# the target side of vantage 2's link (the sender bypasses the qdisc, so a
# capture on the sending interface itself would see nothing).
cp "$BLOCK" "$WORK/block.txt"
echo "198.18.5.0/24  # excluded for this test" >>"$WORK/block.txt"
ip netns exec vl-target tcpdump -i vl-t2 -n -U -w "$WORK/cap.pcap" 'ip src 198.19.2.2' 2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
timeout 60 ip netns exec vl-v2 "$WORKER" scan 198.18.0.0/17 --ports 23,80 --blocklist "$WORK/block.txt" \
  --rate 100000 --cooldown 1 --quiet --seed 9 --output "$WORK/half.jsonl" 2>>"$WORK/scan.err" ||
  fail "the /17 scan failed: $(tail -3 "$WORK/scan.err")"
sleep 0.5
kill -INT "${LAB_BG_PIDS[-1]}"
wait "${LAB_BG_PIDS[-1]}" || true
outside=$(tcpdump -n -r "$WORK/cap.pcap" 'not dst net 198.18.0.0/17 or dst net 198.18.5.0/24' 2>/dev/null | wc -l)
[ "$outside" -eq 0 ] || fail "$outside frames went outside the target space: $(tcpdump -n -r "$WORK/cap.pcap" 'not dst net 198.18.0.0/17 or dst net 198.18.5.0/24' 2>/dev/null | head -3)"
syns=$(tcpdump -n -r "$WORK/cap.pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null | wc -l)
want=$(((32768 - 256) * 2))
[ "$syns" -eq "$want" ] || fail "captured $syns SYN probes, want one per target: $want"
note "exact truth from vantage 1 ($n_open open), 4 shards = unsharded, $syns probes all inside the space"
