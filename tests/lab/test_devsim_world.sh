#!/usr/bin/env bash
# test_devsim_world.sh: the simulated world is what the lab promises, checked on
# devsim's own output (no namespaces, no root): the same seed gives the same
# world and another seed another; addresses are unique in every epoch; dynamic
# devices move at every epoch inside their pool while static ones stay; the
# nft script opens and closes exactly the pairs the truth lists; the catalogue
# is varied and identifiers are unique.
set -euo pipefail
name=$(basename "$0" .sh)
here=$(cd "$(dirname "$0")" && pwd)
build=${VANTAGE_BUILD:-$(cd "$here/../.." && pwd)/build}
devsim=$build/tests/lab/devsim
fail() {
  echo "FAIL $name: $*" >&2
  exit 1
}
[ -x "$devsim" ] || fail "no $devsim (build first: cmake -B build && cmake --build build)"
command -v jq >/dev/null || fail "jq not found (deploy/install-deps.sh installs it)"
work=$(mktemp -d /tmp/vantage-devsim-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

args=(--seed 11 --devices 1500 --churn 40 --vantages 4)
"$devsim" truth "${args[@]}" --epoch 2 >"$work/a.json"
"$devsim" truth "${args[@]}" --epoch 2 >"$work/b.json"
cmp -s "$work/a.json" "$work/b.json" || fail "the same parameters gave two different worlds"
"$devsim" truth --seed 12 --devices 1500 --churn 40 --vantages 4 --epoch 2 >"$work/c.json"
[ "$(jq -c '[.devices[].address]' "$work/a.json")" != "$(jq -c '[.devices[].address]' "$work/c.json")" ] ||
  fail "seeds 11 and 12 gave the same addresses"

T=$work/a.json
[ "$(jq .counts.devices "$T")" = 1500 ] || fail "counts.devices is not 1500"
[ "$(jq .counts.dynamic "$T")" = 600 ] || fail "40% churn of 1500 is not 600 dynamic devices"
[ "$(jq '[.devices[] | select(.dynamic)] | length' "$T")" = 600 ] || fail "not 600 devices marked dynamic"

# Unique addresses in every epoch, closed hosts included, all in the lab space.
for e in 0 1 2; do
  jq -r --argjson e "$e" '.devices[].addresses_by_epoch[$e]' "$T" >"$work/addrs"
  jq -r '.closed_hosts[]' "$T" >>"$work/addrs"
  [ -z "$(sort "$work/addrs" | uniq -d)" ] || fail "epoch $e: an address is used twice"
  grep -qv '^198\.18\.[0-9]*\.[0-9]*$' "$work/addrs" && fail "epoch $e: an address outside 198.18.0.0/16"
  grep -qE '\.(0|255)$' "$work/addrs" && fail "epoch $e: an address ending in .0 or .255"
done

# Dynamic devices move at every epoch, within their /22 pool; static ones stay.
bad=$(jq '[.devices[] | select(.dynamic) | .addresses_by_epoch as $h
           | select($h[0] == $h[1] or $h[1] == $h[2])] | length' "$T")
[ "$bad" = 0 ] || fail "$bad dynamic devices kept an address across an epoch"
bad=$(jq '[.devices[] | select(.dynamic | not) | select(.addresses_by_epoch | unique | length != 1)] | length' "$T")
[ "$bad" = 0 ] || fail "$bad static devices moved"
ip2n='split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3]'
bad=$(jq "[.devices[] | select(.dynamic) | (.pool | split(\"/\")[0] | $ip2n) as \$base
           | select(.addresses_by_epoch | map($ip2n) | any(. < \$base or . >= \$base + 1024))] | length" "$T")
[ "$bad" = 0 ] || fail "$bad dynamic devices left their pool"
# Epoch 2 read from scratch equals epoch 2 reached through the history.
[ "$("$devsim" truth "${args[@]}" --epoch 5 | jq -c '[.devices[].addresses_by_epoch[2]]')" = \
  "$(jq -c '[.devices[].address]' "$T")" ] || fail "epoch 2 differs when computed on the way to epoch 5"

# The nft script opens and closes exactly the truth's pairs, in one transaction.
"$devsim" nft "${args[@]}" --epoch 2 >"$work/nft"
grep -q '^flush set inet vantage_lab open$' "$work/nft" || fail "nft script does not flush the open set"
pairs() { grep "^add element inet vantage_lab $1 " "$work/nft" | sed 's/.*{ //; s/ }$//' | tr ',' '\n' |
  sed 's/^ *//; s/ \. / /' | sort; }
pairs open >"$work/nft-open"
pairs closed >"$work/nft-closed"
jq -r '.devices[] | .address as $a | .open_ports[] | "\($a) \(.)"' "$T" | sort >"$work/truth-open"
jq -r '.closed[] | "\(.address) \(.port)"' "$T" | sort >"$work/truth-closed"
cmp -s "$work/nft-open" "$work/truth-open" || fail "nft open set differs from the truth's open pairs"
cmp -s "$work/nft-closed" "$work/truth-closed" || fail "nft closed set differs from the truth's closed pairs"
[ "$(wc -l <"$work/truth-open")" = "$(jq .counts.open_pairs "$T")" ] || fail "counts.open_pairs is wrong"
[ "$(grep -c '^add rule inet vantage_lab blocked ' "$work/nft")" = 4 ] || fail "not one blocked network per vantage"

# Each vantage's blocked /24 holds a device, and the devices there say so.
for v in 1 2 3 4; do
  net=$(jq -r --argjson v "$v" '.blocked[] | select(.vantage == $v) | .network' "$T")
  n=$(jq --arg p "${net%.0/24}." --argjson v "$v" \
    '[.devices[] | select(.address | startswith($p)) | select(.blocked_for | index($v))] | length' "$T")
  [ "$n" -ge 1 ] || fail "vantage $v's blocked network $net holds no device marked blocked_for"
done

# A varied catalogue; every device opens a port and has a banner per open port.
[ "$(jq '[.devices[].type] | unique | length' "$T")" -ge 20 ] || fail "fewer than 20 device types in use"
[ "$(jq '[.devices[] | select((.open_ports | length) == 0 or (.services | length) != (.open_ports | length))] | length' "$T")" = 0 ] ||
  fail "a device opens no port or lacks a service per open port"
[ "$(jq '[.devices[].services[] | select(.protocol == "http") | select(.status_line as $s | .banner | startswith($s) | not)] | length' "$T")" = 0 ] ||
  fail "an HTTP banner does not start with its status line"
ids=$(jq '[.devices[] | select(.identifier != null)] | length' "$T")
[ "$ids" -ge 20 ] || fail "only $ids devices carry an identifier"
[ "$(jq '[.devices[] | select(.identifier != null) | .identifier] | unique | length' "$T")" = "$ids" ] ||
  fail "two devices share an identifier"

# Bad input is refused with exit 2.
rc=0
"$devsim" truth --devices lots >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "devsim --devices lots exited $rc, want 2"
echo "$name: passed"
