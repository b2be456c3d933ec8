#!/usr/bin/env bash
# test_cluster_optout.sh: an opt-out (`vantage blocklist add`) reaches a
# running campaign at once — the worker sends no probe into the network from
# then on — and every later campaign leaves it out of its target space;
# pause stops probing and resume finishes the campaign.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 61 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_worker 1 w1
ip netns exec vl-target tcpdump -i vl-t1 -n -U -tt -w "$WORK/v1.pcap" \
  'ip src 198.19.1.2 and tcp[tcpflags] == tcp-syn' 2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done

# A slow campaign (about 13 s of probes), so that there is time to act mid-way.
"$VANTAGE" campaign start slow --targets 198.18.0.0/16 --ports 23,80 --rate 10000 >/dev/null ||
  fail "campaign start failed"
for _ in $(seq 100); do grep -q "lease .* to w1" "$WORK/coord.log" && break; sleep 0.1; done
sleep 2
OPTOUT=198.18.128.0/17 # half the space: the worker is bound to meet it again
"$VANTAGE" blocklist add $OPTOUT --reason "owner asked on 2026-11-28" >/dev/null || fail "blocklist add failed"
added=$(date +%s.%N)
"$VANTAGE" blocklist list | grep -q "198.18.128.0/17" || fail "blocklist list does not show the opt-out"

# Pause: no probe for a while; resume: the campaign completes.
sleep 1
"$VANTAGE" campaign pause slow >/dev/null || fail "pause failed"
paused=$(date +%s.%N)
sleep 3
"$VANTAGE" campaign status slow --json | jq -e '.state == "paused"' >/dev/null || fail "status is not paused"
"$VANTAGE" campaign resume slow >/dev/null || fail "resume failed"
resumed=$(date +%s.%N)
cluster_wait slow 120

# A later campaign leaves the opt-out out of its target space.
"$VANTAGE" campaign start later --targets 198.18.0.0/16 --ports 23 --rate 50000 >/dev/null ||
  fail "second campaign start failed"
"$VANTAGE" campaign status later --json | jq -e '.targets == 32768' >/dev/null ||
  fail "the later campaign's space is not 198.18.0.0/16 minus the opt-out: $("$VANTAGE" campaign status later --json | jq .targets)"
cluster_wait later 60
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true

# Probes into the opt-out after it was added (1 s of grace for frames in flight).
late=$(tcpdump -n -tt -r "$WORK/v1.pcap" 'dst net 198.18.128.0/17' 2>/dev/null |
  awk -v t="$added" '$1 > t + 1' | wc -l)
early=$(tcpdump -n -tt -r "$WORK/v1.pcap" 'dst net 198.18.128.0/17' 2>/dev/null |
  awk -v t="$added" '$1 <= t' | wc -l)
[ "$early" -gt 0 ] || fail "no probe reached $OPTOUT before the opt-out: the test proves nothing"
[ "$late" -eq 0 ] || fail "$late probes went into $OPTOUT after it was opted out"
# While paused (after a 1 s grace), nothing was sent at all.
quiet=$(tcpdump -n -tt -r "$WORK/v1.pcap" 2>/dev/null | awk -v a="$paused" -v b="$resumed" '$1 > a + 1 && $1 < b' | wc -l)
[ "$quiet" -eq 0 ] || fail "$quiet probes sent while the campaign was paused"
cluster_query "$WORK/later.jsonl" --campaign later
inside=$(jq -s '[.[] | select(.ip | split(".")[2] | tonumber >= 128)] | length' "$WORK/later.jsonl")
[ "$inside" -eq 0 ] || fail "the later campaign stored $inside results inside the opt-out"
[ -s "$WORK/later.jsonl" ] || fail "the later campaign stored nothing at all"
note "opt-out honoured mid-lease ($early probes before, none after), pause held, later campaign excluded it"
