#!/usr/bin/env bash
# demo.sh: vantage end to end on this machine, in the lab (tests/lab/): installs
# what is needed, builds, brings up an Internet of simulated IoT devices in
# network namespaces, scans it once by hand with `vantage-worker scan`, then
# runs the cluster — a coordinator and one worker per vantage — through a
# 3-vantage campaign with banners, prints the consolidated result and the devices
# it identified (vendor, type, exposure) next to the ground truth, then moves
# the lab's dynamic devices through 3 more epochs, one campaign each, and shows
# the device count (an estimate with its interval beside the naive count of
# addresses) and the per-ASN report an ISP would get; it takes the lab down
# again (also on failure). No packet leaves the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: must run as root: the lab makes network namespaces (try: sudo $0)" >&2
  exit 1
fi
# One lab per machine: wait for any lab test or benchmark to finish first.
if [ -z "${VANTAGE_DEMO_LOCKED:-}" ]; then
  VANTAGE_DEMO_LOCKED=1 exec flock -o -w 900 /run/vantage-lab-test.lock "$0" "$@"
fi

say() { printf '\n== %s\n' "$*"; }

say "installing dependencies (deploy/install-deps.sh)"
./deploy/install-deps.sh
say "building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export VANTAGE_BUILD=$REPO/build
WORKER=$REPO/build/worker/vantage-worker
TRUTHCMP=$REPO/build/tests/lab/truthcmp
LAB=$REPO/tests/lab/lab
WORK=$(mktemp -d /tmp/vantage-demo.XXXXXX)

"$LAB" down >/dev/null 2>&1 || true
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$LAB" down >/dev/null 2>&1 || echo "demo.sh: lab down failed; run $LAB down" >&2
  rm -rf "$WORK"
  [ $rc -eq 0 ] || echo "demo.sh: failed (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT

VANTAGES=3
PORTS=23,2323,80,8080,81,8000
WINDOW=20 # seconds: short, so that each epoch's campaign starts in a window of its own
say "bringing up the lab: $VANTAGES vantages, 1500 devices, 1% loss on every link"
"$LAB" up --vantages $VANTAGES --devices 1500 --seed 42 --loss 1 >/dev/null
TRUTH=/run/vantage-lab/truth.json

say "the lab's ground truth (epoch $(jq .epoch "$TRUTH"))"
jq -r '"devices: \(.counts.devices) (\(.counts.dynamic) on dynamic addresses), open services: \(.counts.open_pairs), closed (RST) pairs: \(.counts.closed_pairs)"' "$TRUTH"
echo "open services per port:"
jq -r '[.devices[].open_ports[]] | group_by(.) | map("  \(.[0])/tcp\t\(length)") | .[]' "$TRUTH"
echo "devices per kind:"
jq -r '[.devices[].kind] | group_by(.) | map("  \(.[0])\t\(length)") | .[]' "$TRUTH"
echo "what each vantage cannot see:"
jq -r '.blocked[] | "  vantage \(.vantage) (\(.source)): \(.network) is blocked"' "$TRUTH"

say "1. one scanner by hand: vantage-worker scan from vantage 1 (100k probes/s, 2 probes per target)"
ip netns exec vl-v1 "$WORKER" scan 198.18.0.0/16 --ports "$PORTS" \
  --blocklist /run/vantage-lab/blocklist.txt --rate 100000 --probes 2 --cooldown 2 --quiet \
  --output "$WORK/v1.jsonl" 2>"$WORK/v1.err" || {
  cat "$WORK/v1.err" >&2
  exit 1
}
echo "$(tail -1 "$WORK/v1.err" | sed 's/^vantage-worker scan: //')"
echo "against the ground truth: $("$TRUTHCMP" --truth "$TRUTH" --vantage 1 "$WORK/v1.jsonl" 2>/dev/null | sed 's/.*; //')"
echo "first results (JSON Lines, as vantage-worker writes them):"
head -3 "$WORK/v1.jsonl" | sed 's/^/  /'

say "2. the cluster: a coordinator in vl-coord, one worker per vantage, a 3-vantage campaign with banners"
VANTAGE=$REPO/build/coordinator/vantage
export VANTAGE_CONTROL=ipc://$WORK/control
"$VANTAGE" keygen --out "$WORK/coord.key" >/dev/null
ip netns exec vl-coord "$VANTAGE" serve --db "$WORK/db" --listen tcp://198.19.254.2:7700 \
  --control "$VANTAGE_CONTROL" --key "$WORK/coord.key" \
  --blocklist /run/vantage-lab/blocklist.txt --window "${WINDOW}s" >"$WORK/coord.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$WORK/control" ] && break; sleep 0.1; done
echo "coordinator up, public key $(cat "$WORK/coord.key.pub" | sed -n 's/.*public-key = "\(.*\)"/\1/p')"
for v in $(seq 1 $VANTAGES); do
  pub=$("$WORKER" keygen --out "$WORK/w$v.key")
  "$VANTAGE" worker add "w$v" --key "$pub" --site "isp-$v" >/dev/null
  ip netns exec "vl-v$v" "$WORKER" run --coordinator tcp://198.19.254.2:7700 \
    --server-key "$WORK/coord.key.pub" --key "$WORK/w$v.key" --name "w$v" \
    --scope 198.18.0.0/16 --spool "$WORK/spool-$v" >"$WORK/w$v.log" 2>&1 &
  PIDS+=($!)
done
sleep 2
"$VANTAGE" worker list
"$VANTAGE" campaign start iot --targets 198.18.0.0/16 --ports "$PORTS" --rate 300000 \
  --vantages $VANTAGES --probes 2 --banners >/dev/null
"$VANTAGE" campaign wait iot --timeout 240
"$VANTAGE" campaign status iot

say "what the cluster stored (vantage query), against the ground truth"
"$VANTAGE" query --campaign iot --format jsonl >"$WORK/all.jsonl"
"$TRUTHCMP" --truth "$TRUTH" --vantage 0 --sites isp-1=1,isp-2=2,isp-3=3 "$WORK/all.jsonl" 2>/dev/null |
  sed 's/^truthcmp: //'
echo "open services per port:"
"$VANTAGE" query --campaign iot --state open --group-by port
echo "how many vantages saw each record:"
jq -r '.vantages | length' "$WORK/all.jsonl" | sort | uniq -c | awk '{printf "  %s vantage(s): %s records\n", $2, $1}'
echo "a record seen from a blocked network (only the other vantages could see it):"
net=$(jq -r '.blocked[0].network' "$TRUTH")
jq -c -s --arg p "${net%.0/24}." 'map(select(.ip | startswith($p))) | .[0]' "$WORK/all.jsonl" | sed 's/^/  /'

say "3. what the devices are: banners grabbed and identified by the workers (Recog-format rules)"
"$REPO/build/tests/lab/bannercmp" --truth "$TRUTH" "$WORK/all.jsonl" 2>/dev/null | grep -v ' type ' |
  sed 's/^bannercmp: /against the ground truth: /'
echo "open services by vendor and device type (vantage query --state open --group-by label):"
"$VANTAGE" query --campaign iot --state open --group-by label >"$WORK/labels.txt"
head -16 "$WORK/labels.txt"
echo "what is exposed (--group-by exposure: a login prompt or page reachable, or a shell with no login):"
"$VANTAGE" query --campaign iot --state open --group-by exposure
echo "a camera with a telnet login prompt, as stored (vantage query --label telnet-login --label vendor=hikvision):"
"$VANTAGE" query --label telnet-login --label vendor=hikvision --format jsonl >"$WORK/login.jsonl"
jq -c '{ip, port, proto, banner, vendor: .labels.vendor, device: .labels.device, product: .labels.product}' "$WORK/login.jsonl" >"$WORK/login.txt"
head -2 "$WORK/login.txt" | sed 's/^/  /'
echo "services on a port that is not their protocol's (telnet on 8000/81, HTTP on 2323, SSH):"
jq -r 'select(.state == "open" and ((.proto == "telnet" and .port != 23 and .port != 2323) or (.proto == "http" and .port == 2323) or .proto == "ssh")) | "\(.port)/\(.proto)"' "$WORK/all.jsonl" | sort | uniq -c | sed 's/^/  /'

say "4. devices, not addresses: 3 more epochs; in each the lab gives its dynamic devices new addresses and one campaign looks again"
for e in 1 2 3; do
  "$LAB" epoch $e >/dev/null
  sleep $((WINDOW - $(date +%s) % WINDOW + 1)) # a new window: a new look
  "$VANTAGE" campaign start "epoch$e" --targets 198.18.0.0/16 --ports "$PORTS" --rate 300000 \
    --banners >/dev/null
  "$VANTAGE" campaign wait "epoch$e" --timeout 240 >/dev/null
  echo "  epoch $e: $("$VANTAGE" campaign status "epoch$e" --json | jq -r '"\(.found.open) open services found"')"
done
echo "the ground truth over the 4 epochs:"
jq -s -r '[.[].devices[] | select(.open_ports | length > 0)] as $d |
  "  devices: \($d | map(.id) | unique | length), addresses they used: \($d | map(.address) | unique | length)"' \
  /run/vantage-lab/truth-{0,1,2,3}.json
echo "what the store says (vantage query --count devices):"
"$VANTAGE" query --count devices | sed 's/^/  /'

say "5. the list a partner ISP needs (vantage report --by asn, with a prefix-to-AS file: each /20 of the lab an AS)"
for i in $(seq 0 15); do printf '198.18.%d.0\t20\t%d\n' $((i * 16)) $((64500 + i)); done >"$WORK/pfx2as.txt"
"$VANTAGE" report --by asn --pfx2as "$WORK/pfx2as.txt" --since 1h --until now >"$WORK/report.txt"
head -8 "$WORK/report.txt"
"$VANTAGE" report --by asn --pfx2as "$WORK/pfx2as.txt" --format jsonl >"$WORK/report.jsonl"
echo "one exposed service as the AS's list gives it (--format jsonl):"
jq -c 'select(.summary | not) | select(.exposure != null)' "$WORK/report.jsonl" >"$WORK/exposed.jsonl"
head -1 "$WORK/exposed.jsonl" | sed 's/^/  /'

say "done; the lab is taken down"
