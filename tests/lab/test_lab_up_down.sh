#!/usr/bin/env bash
# test_lab_up_down.sh: the lab answers as its ground truth says, from real TCP
# connections out of vantage namespaces: open pairs send the listed banners,
# closed pairs reset, everything else is silent; a vantage's blocked network is
# silent to it alone; the coordinator is reachable from every vantage; an epoch
# moves dynamic devices; `lab up` refuses a second lab; `lab down` leaves
# nothing behind, also after an `up` that failed half way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"

start=$(date +%s)
"$LAB" up --devices 300 --seed 7 --vantages 3 >"$WORK/up.log" || fail "lab up failed: $(cat "$WORK/up.log")"
note "lab up took $(($(date +%s) - start)) s"
T0=$WORK/truth-0.json
cp /run/vantage-lab/truth.json "$T0"
[ "$(jq .epoch "$T0")" = 0 ] || fail "truth.json is not epoch 0"
[ "$(jq '.devices | length' "$T0")" = 300 ] || fail "truth does not list 300 devices"

# A second lab is refused, with a pointer to `lab down`.
rc=0
"$LAB" up --devices 300 2>"$WORK/up2.err" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "a second lab up exited $rc, want 1"
grep -q "lab down\|lab.* down" "$WORK/up2.err" || fail "second up did not say to run lab down: $(cat "$WORK/up2.err")"

# status names the sink interface and its gateway MAC.
"$LAB" status >"$WORK/status" || fail "lab status failed"
grep -q "vl-sink0" "$WORK/status" || fail "status does not name the sink interface"
grep -q "02:76:6c:00:fd:01" "$WORK/status" || fail "status does not give the sink gateway MAC"
"$LAB" env >"$WORK/env" || fail "lab env failed"
grep -q "LAB_SINK_IF=vl-sink0 .*LAB_SINK_GW_MAC=02:76:6c:00:fd:01" "$WORK/env" || fail "lab env lacks the sink"

# The sink: a static gateway neighbour, and frames to it vanish without answer.
ip -n vl-sink neigh show 198.19.253.1 dev vl-sink0 | grep -q "lladdr 02:76:6c:00:fd:01 PERMANENT" ||
  fail "the sink's gateway is not a permanent neighbour"
sink_rx() { ip -n vl-sinkpeer -s -j link show vl-sinkgw0 | jq '.[0].stats64.rx.packets'; }
rx0=$(sink_rx)
expect_state silent vl-sink "$(jq -r '.devices[0].address' "$T0")" "$(jq -r '.devices[0].open_ports[0]' "$T0")" --timeout 500
[ "$(sink_rx)" -gt "$rx0" ] || fail "a frame sent out of vl-sink0 did not reach vl-sinkgw0"
drops=$(ip netns exec vl-sinkpeer nft list table netdev vantage_sink | grep -c "policy drop" || true)
[ "$drops" = 1 ] || fail "the sink peer has no drop-everything ingress chain"

# Open: the first 10 devices vantage 1 may reach answer with their banners.
ids=$(jq '[.devices[] | select(.blocked_for | index(1) | not) | .id] | .[0:10][]' "$T0")
for id in $ids; do expect_banner vl-v1 "$T0" "$id"; done
note "open pairs answer with their banners"

# Closed: device ports not open and closed hosts reset at once.
# (.closed lists devices' closed ports first, closed hosts last.)
jq -r '.closed | (.[0:3][], .[-3:][]) | "\(.address) \(.port)"' "$T0" >"$WORK/closed"
blocked1=$(jq -r '.blocked[] | select(.vantage == 1) | .network' "$T0")
while read -r addr port; do
  [[ $addr == "${blocked1%.0/24}".* ]] && continue
  expect_state closed vl-v1 "$addr" "$port" --timeout 1500
done <"$WORK/closed"
note "closed pairs reset"

# Silent: an address nobody owns, and a non-lab port on a device.
jq -r '[.devices[].address, .closed_hosts[]] | .[]' "$T0" | sort -u >"$WORK/taken"
silent=""
for c in 198.18.1.77 198.18.33.33 198.18.99.9 198.18.200.200 198.18.250.1; do
  grep -qx "$c" "$WORK/taken" || silent="$silent $c"
done
[ -n "$silent" ] || fail "no unowned address among the candidates"
for addr in $silent; do expect_state silent vl-v1 "$addr" 80 --timeout 700; done
dev0=$(jq -r "[.devices[] | select(.blocked_for | index(1) | not)][0].address" "$T0")
expect_state silent vl-v1 "$dev0" 443 --timeout 700
if command -v ping >/dev/null; then
  ! ip netns exec vl-v1 ping -c 1 -W 1 "$dev0" >/dev/null 2>&1 || fail "$dev0 answered ICMP echo"
fi
note "silent pairs time out"

# A vantage's blocked network: silent to it, open to another vantage.
bid=$(jq --arg n "${blocked1%.0/24}." '[.devices[] | select(.address | startswith($n)) | .id][0]' "$T0")
[ "$bid" != null ] || fail "vantage 1's blocked network $blocked1 holds no device"
[ "$(jq ".devices[$bid].blocked_for" -c "$T0")" = "[1]" ] || fail "device $bid not marked blocked_for [1]"
baddr=$(jq -r ".devices[$bid].address" "$T0")
bport=$(jq -r ".devices[$bid].open_ports[0]" "$T0")
expect_state silent vl-v1 "$baddr" "$bport" --timeout 700
expect_banner vl-v2 "$T0" "$bid"
note "blocked network $blocked1 silent to vantage 1 only"

# The coordinator is reachable from every vantage.
ip netns exec vl-coord "$PROBE" --listen 7000 --send 'coordinator\n' --timeout 20000 &
LAB_BG_PIDS+=($!)
for v in 1 2 3; do
  for _ in $(seq 1 20); do
    [ "$(probe_state "vl-v$v" 198.19.254.2 7000)" = open ] && break
    sleep 0.1
  done
  grep -qx coordinator "$WORK/out" || fail "coordinator not reachable from vl-v$v"
done
note "coordinator reachable from every vantage"

# Epoch 1: dynamic devices answer at their new address, not at the old one.
"$LAB" epoch 1 >/dev/null || fail "lab epoch 1 failed"
T1=$WORK/truth-1.json
cp /run/vantage-lab/truth.json "$T1"
[ "$(jq .epoch "$T1")" = 1 ] || fail "truth.json is not epoch 1 after lab epoch 1"
jq -r '[.devices[].address, .closed_hosts[]] | .[]' "$T1" | sort -u >"$WORK/taken1"
moved=0
for id in $(jq '.devices[] | select(.dynamic) | .id' "$T1"); do
  old=$(jq -r ".devices[$id].addresses_by_epoch[0]" "$T1")
  new=$(jq -r ".devices[$id].address" "$T1")
  [ "$old" = "$(jq -r ".devices[$id].address" "$T0")" ] || fail "device $id: history disagrees with epoch 0"
  [ "$old" != "$new" ] || fail "dynamic device $id did not move"
  grep -qx "$old" "$WORK/taken1" && continue # its old address has a new owner
  expect_banner vl-v1 "$T1" "$id"
  expect_state silent vl-v1 "$old" "$(jq -r ".devices[$id].open_ports[0]" "$T1")" --timeout 700
  moved=$((moved + 1))
  [ "$moved" -lt 4 ] || break
done
[ "$moved" -ge 2 ] || fail "found only $moved moved devices to check"
sid=$(jq '[.devices[] | select((.dynamic | not) and (.blocked_for | index(1) | not)) | .id][0]' "$T1")
[ "$(jq -r ".devices[$sid].address" "$T1")" = "$(jq -r ".devices[$sid].address" "$T0")" ] ||
  fail "static device $sid moved"
expect_banner vl-v1 "$T1" "$sid"
note "epoch 1: $moved moved devices answer at their new address only"

# Down leaves nothing: namespaces, devsim, nft tables, state.
devsim_pid=$(cat /run/vantage-lab/devsim.pid)
"$LAB" down || fail "lab down failed"
[ -z "$(ip netns list | grep '^vl-' || true)" ] || fail "namespaces left: $(ip netns list | grep '^vl-')"
state=$(awk '{print $3}' "/proc/$devsim_pid/stat" 2>/dev/null || echo gone)
[ "$state" = gone ] || [ "$state" = Z ] || fail "devsim (pid $devsim_pid) still running after down"
[ ! -e /run/vantage-lab ] || fail "/run/vantage-lab left after down"
! nft list tables 2>/dev/null | grep -q vantage || fail "an nft table of the lab is left in the root namespace"
"$LAB" down || fail "a second lab down failed (must be idempotent)"

# An up that fails half way (devsim cannot serve) leaves nothing either.
cat >"$WORK/devsim" <<EOF
#!/bin/sh
[ "\$1" = serve ] && { echo "fake devsim: refusing to serve" >&2; exit 1; }
exec "$VANTAGE_BUILD/tests/lab/devsim" "\$@"
EOF
chmod +x "$WORK/devsim"
rc=0
"$LAB" up --devices 50 --devsim "$WORK/devsim" >/dev/null 2>"$WORK/failed-up.err" || rc=$?
[ "$rc" = 1 ] || fail "an up whose devsim dies exited $rc, want 1"
[ -z "$(ip netns list | grep '^vl-' || true)" ] || fail "a failed up left namespaces"
[ ! -e /run/vantage-lab ] || fail "a failed up left /run/vantage-lab"
note "passed in $(($(date +%s) - start)) s"
