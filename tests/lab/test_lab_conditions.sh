#!/usr/bin/env bash
# test_lab_conditions.sh: per-vantage link conditions do what they say: random
# loss (--loss, --loss-v) drops a share of lab traffic in both directions but
# never coordinator traffic, and --rate-v caps a vantage's packet rate. Also the
# command line's refusals: bad usage exits 2, a missing devsim or a missing lab
# exits 1 with a one-line way out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
start=$(date +%s)

# expect_exit CODE PATTERN CMD...: CMD exits CODE and says PATTERN on stderr.
expect_exit() {
  local want=$1 pattern=$2 rc=0
  shift 2
  "$@" >/dev/null 2>"$WORK/stderr" || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want ($(cat "$WORK/stderr"))"
  grep -q -- "$pattern" "$WORK/stderr" || fail "'$*' did not say '$pattern': $(cat "$WORK/stderr")"
}

expect_exit 2 "whole number" "$LAB" up --vantages many
expect_exit 2 "vantage 5 does not exist" "$LAB" up --vantages 3 --loss-v 5=10
expect_exit 2 "unknown option" "$LAB" up --bogus 1
expect_exit 1 "build first" "$LAB" up --devsim "$WORK/no-such-devsim"
expect_exit 1 "no lab is up" "$LAB" epoch 1
expect_exit 1 "no lab is up" "$LAB" status
"$LAB" --help >"$WORK/help" || fail "lab --help failed"
grep -q "lab up" "$WORK/help" || fail "lab --help does not describe up"
[ -z "$(ip netns list | grep '^vl-' || true)" ] || fail "a refused command left namespaces"

# Loss: 30% on vantage 1's link, 100% on vantage 2's.
"$LAB" up --devices 200 --seed 3 --vantages 2 --loss 30 --loss-v 2=100 >/dev/null ||
  fail "lab up with loss failed"
T=/run/vantage-lab/truth.json
# Closed pairs answer at once unless the SYN or the RST is lost: about 49% of
# 30 probes get an RST at 30% loss each way. The bounds are 4 standard
# deviations wide.
answered=0
while read -r addr port; do
  [ "$(probe_state vl-v1 "$addr" "$port" --timeout 300)" = closed ] && answered=$((answered + 1))
done < <(jq -r '.closed | .[0:30][] | "\(.address) \(.port)"' "$T")
note "30% loss each way: $answered of 30 closed probes answered"
[ "$answered" -ge 4 ] && [ "$answered" -le 26 ] || fail "$answered of 30 answered at 30% loss"
# 100% loss: vantage 2 hears nothing from the lab space...
read -r addr port < <(jq -r '.closed[0] | "\(.address) \(.port)"' "$T")
expect_state silent vl-v2 "$addr" "$port" --timeout 500
id=$(jq '[.devices[] | select(.blocked_for | length == 0) | .id][0]' "$T")
expect_state silent vl-v2 "$(jq -r ".devices[$id].address" "$T")" "$(jq -r ".devices[$id].open_ports[0]" "$T")" --timeout 500
# ...but still reaches the coordinator, whose link loss rules never touch.
ip netns exec vl-coord "$PROBE" --listen 7001 --send 'coordinator\n' --timeout 15000 &
LAB_BG_PIDS+=($!)
for _ in $(seq 1 20); do
  [ "$(probe_state vl-v2 198.19.254.2 7001)" = open ] && break
  sleep 0.1
done
grep -qx coordinator "$WORK/out" || fail "coordinator unreachable from a vantage with 100% lab loss"
"$LAB" down >/dev/null || fail "lab down failed"

# Rate limit: vantage 1 may send 1 packet/s (burst 5) into the lab space.
"$LAB" up --devices 50 --seed 3 --vantages 2 --rate-v 1=1 >/dev/null || fail "lab up with a rate limit failed"
"$LAB" status >"$WORK/status" || fail "lab status failed"
grep -q "rate limit 1 pps" "$WORK/status" || fail "status does not show the rate limit"
read -r addr port < <(jq -r '.closed[0] | "\(.address) \(.port)"' "$T")
answered=0
for _ in $(seq 1 20); do
  [ "$(probe_state vl-v1 "$addr" "$port" --timeout 100)" = closed ] && answered=$((answered + 1))
done
note "rate limit 1 pps: $answered of 20 quick probes answered"
[ "$answered" -ge 1 ] && [ "$answered" -le 12 ] || fail "$answered of 20 answered under a 1 pps limit"
expect_state closed vl-v2 "$addr" "$port" --timeout 1000 # vantage 2 is not limited
note "passed in $(($(date +%s) - start)) s"
