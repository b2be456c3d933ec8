#!/usr/bin/env bash
# demo.sh: vantage end to end on this machine, in the lab (tests/lab/): installs
# what is needed, builds, brings up an Internet of simulated IoT devices in
# network namespaces, scans it from every vantage with `vantage-worker scan`,
# prints what was found next to the ground truth, and takes the lab down again
# (also on failure). No packet leaves the lab's namespaces.
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
cleanup() {
  local rc=$?
  "$LAB" down >/dev/null 2>&1 || echo "demo.sh: lab down failed; run $LAB down" >&2
  rm -rf "$WORK"
  [ $rc -eq 0 ] || echo "demo.sh: failed (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT

VANTAGES=3
PORTS=23,2323,80,8080,81,8000
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

say "scanning 198.18.0.0/16 x {$PORTS} from each vantage (vantage-worker scan, 100k probes/s, 2 probes per target)"
for v in $(seq 1 $VANTAGES); do
  ip netns exec "vl-v$v" "$WORKER" scan 198.18.0.0/16 --ports "$PORTS" \
    --blocklist /run/vantage-lab/blocklist.txt --rate 100000 --probes 2 --cooldown 2 --quiet \
    --output "$WORK/v$v.jsonl" 2>"$WORK/v$v.err" || {
    cat "$WORK/v$v.err" >&2
    exit 1
  }
  echo "vantage $v: $(tail -1 "$WORK/v$v.err" | sed 's/^vantage-worker scan: //')"
done

say "what the scans found, against the ground truth"
printf '%-9s %8s %8s  %s\n' vantage open closed "accuracy (truthcmp)"
for v in $(seq 1 $VANTAGES); do
  open=$(grep -c '"state":"open"' "$WORK/v$v.jsonl" || true)
  closed=$(grep -c '"state":"closed"' "$WORK/v$v.jsonl" || true)
  acc=$("$TRUTHCMP" --truth "$TRUTH" --vantage "$v" "$WORK/v$v.jsonl" 2>/dev/null | sed 's/.*; //')
  printf '%-9s %8s %8s  %s\n' "$v" "$open" "$closed" "$acc"
done
echo "open services per port, from vantage 1:"
jq -r 'select(.state == "open") | .port' "$WORK/v1.jsonl" | sort -n | uniq -c | awk '{printf "  %s/tcp\t%s\n", $2, $1}'
echo "first results from vantage 1 (JSON Lines, as vantage-worker writes them):"
head -3 "$WORK/v1.jsonl" | sed 's/^/  /'

say "done; the lab is taken down"
