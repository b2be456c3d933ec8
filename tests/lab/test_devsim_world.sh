#!/usr/bin/env bash
# test_devsim_world.sh: the simulated world is what the lab promises, checked on
# devsim's own output (no namespaces, no root): the same seed gives the same
# world and another seed another; addresses are unique in every epoch; dynamic
# devices move at every epoch inside their pool while static ones stay; the
# nft script opens and closes exactly the pairs the truth lists; the catalogue
# is varied and identifiers are unique. With --availability, about that share
# of devices is online per epoch and an offline device is in no nft set; with
# --shared-ids, about that share shows its type's one default identifier; with
# neither flag nothing is offline or shared.
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

# Without the flags every device is online and every identifier its own, and
# giving the defaults explicitly changes not a byte.
[ "$(jq '.counts.online' "$T")" = 1500 ] || fail "without --availability, counts.online is not 1500"
[ "$(jq '[.devices[] | select(.online_by_epoch != [true, true, true] or .online != true)] | length' "$T")" = 0 ] ||
  fail "without --availability, a device is offline in some epoch"
[ "$(jq '[.devices[] | select(.identifier_shared)] | length' "$T")" = 0 ] ||
  fail "without --shared-ids, a device shows a shared identifier"
"$devsim" truth "${args[@]}" --epoch 2 --availability 100 --shared-ids 0 | cmp -s - "$T" ||
  fail "--availability 100 --shared-ids 0 changed the world"

# Availability 80%: about 80% of (device, epoch) pairs online, the same draw in
# every process; an offline device keeps its address but opens and closes
# nothing, and the nft sets hold exactly the online devices' pairs.
aargs=("${args[@]}" --availability 80 --shared-ids 10)
"$devsim" truth "${aargs[@]}" --epoch 4 >"$work/av.json"
A=$work/av.json
"$devsim" truth "${aargs[@]}" --epoch 4 | cmp -s - "$A" || fail "--availability: the same parameters gave two worlds"
share=$(jq '[.devices[].online_by_epoch[]] | (map(select(.)) | length) * 1000 / length | floor' "$A")
[ "$share" -ge 770 ] && [ "$share" -le 830 ] || fail "--availability 80: $share per mille of (device, epoch) pairs online"
for e in 0 4; do
  [ "$(jq --argjson e "$e" '[.devices[] | select(.online_by_epoch[$e] | not)] | length' "$A")" -ge 100 ] ||
    fail "--availability 80: fewer than 100 devices offline in epoch $e"
done
[ "$(jq '[.devices[] | select(.online_by_epoch | unique | length == 2)] | length' "$A")" -ge 500 ] ||
  fail "--availability 80: fewer than 500 devices both online and offline over five epochs"
# Offline is per epoch, not per device: the same draw for epoch 2 from epoch 2 and epoch 4.
[ "$("$devsim" truth "${aargs[@]}" --epoch 2 | jq -c '[.devices[].online_by_epoch]')" =   "$(jq -c '[.devices[].online_by_epoch[0:3]]' "$A")" ] || fail "epoch 2's availability differs when computed on the way to epoch 4"
[ "$(jq '.counts.online' "$A")" = "$(jq '[.devices[] | select(.online)] | length' "$A")" ] ||
  fail "counts.online differs from the devices online"
[ "$(jq '[.devices[] | select(.online != .online_by_epoch[4])] | length' "$A")" = 0 ] ||
  fail "online differs from online_by_epoch of the current epoch"
[ "$(jq '[.devices[] | select(.online | not) | select((.open_ports + .closed_ports + .services) != [] or .address != .addresses_by_epoch[4])] | length' "$A")" = 0 ] ||
  fail "an offline device lists ports or services, or lost its address"
[ "$(jq '[.devices[] | select(.online) | select(.open_ports == [])] | length' "$A")" = 0 ] ||
  fail "an online device opens no port"
for e in 0 4; do
  jq -r --argjson e "$e" '.devices[].addresses_by_epoch[$e]' "$A" | sort | uniq -d >"$work/dups"
  [ ! -s "$work/dups" ] || fail "--availability: epoch $e uses an address twice"
done
bad=$(jq '[.devices[] | select(.dynamic) | .addresses_by_epoch as $h
           | select([range(1; 5) | select($h[.] == $h[. - 1])] != [])] | length' "$A")
[ "$bad" = 0 ] || fail "--availability: $bad dynamic devices kept an address across an epoch"
"$devsim" nft "${aargs[@]}" --epoch 4 >"$work/nft"
pairs open >"$work/nft-open"
pairs closed >"$work/nft-closed"
jq -r '.devices[] | .address as $a | .open_ports[] | "\($a) \(.)"' "$A" | sort >"$work/truth-open"
jq -r '.closed[] | "\(.address) \(.port)"' "$A" | sort >"$work/truth-closed"
cmp -s "$work/nft-open" "$work/truth-open" || fail "--availability: nft open set differs from the truth's open pairs"
cmp -s "$work/nft-closed" "$work/truth-closed" || fail "--availability: nft closed set differs from the truth's closed pairs"
jq -r '.devices[] | select(.online | not) | .address' "$A" | sort -u >"$work/offline"
[ -s "$work/offline" ] || fail "--availability 80: no device offline in epoch 4"
cut -d' ' -f1 "$work/nft-open" "$work/nft-closed" | sort -u | comm -12 - "$work/offline" >"$work/leak"
[ ! -s "$work/leak" ] || fail "offline devices in the nft sets: $(head -3 "$work/leak" | tr '\n' ' ')"

# Shared identifiers, 10%: per type with an identifier about a tenth of its
# devices show one value, the same for all of them and never a device's own;
# the other identifiers stay unique; the banners carry the shown value.
jq -c '[.devices[] | select(.identifier != null)] | group_by(.type)[]
       | {type: .[0].type, n: length, shared: [.[] | select(.identifier_shared) | .identifier],
          own: [.[] | select(.identifier_shared | not) | .identifier]}' "$A" >"$work/groups"
[ "$(wc -l <"$work/groups")" -ge 3 ] || fail "fewer than 3 types with identifiers"
while read -r g; do
  t=$(jq -r .type <<<"$g")
  want=$(jq '(.n * 10 + 50) / 100 | floor' <<<"$g")
  [ "$(jq '.shared | length' <<<"$g")" = "$want" ] || fail "$t: $(jq '.shared | length' <<<"$g") shared identifiers, want $want"
  [ "$(jq '.shared | unique | length <= 1' <<<"$g")" = true ] || fail "$t: the shared identifiers differ: $(jq -c .shared <<<"$g")"
  [ "$(jq '(.shared | unique) as $s | [.own[] | select(. as $o | $s | index($o))] | length' <<<"$g")" = 0 ] ||
    fail "$t: a device's own identifier equals the shared default"
  [ "$(jq '(.own | unique | length) == (.own | length)' <<<"$g")" = true ] || fail "$t: two own identifiers are equal"
done <"$work/groups"
[ "$(jq -r 'select(.type == "hikvision-ipc") | .shared[0]' "$work/groups")" = DS-2CD2032-I20160315CCWR000000000 ] ||
  fail "Hikvision's default serial is not its prefix and nine zeros"
[ "$(jq -r 'select(.type == "axis-m1034") | .shared[0]' "$work/groups")" = ac:cc:8e:00:00:00 ] ||
  fail "Axis's default MAC is not its OUI and zeros"
bad=$(jq '[.devices[] | select(.identifier != null and .online) | .identifier as $i | ($i | gsub(":"; "") | ascii_upcase) as $I
           | select(.services | map(.banner // "") | any(contains($i) or contains($I)) | not)] | length' "$A")
[ "$bad" = 0 ] || fail "$bad online devices with an identifier do not show it in a banner"

# --no-blocked: no blocked network, in the truth or the nft script; nothing else changes.
"$devsim" truth "${args[@]}" --epoch 2 --no-blocked >"$work/nb.json"
[ "$(jq -c '[.blocked, ([.devices[].blocked_for[]] | length)]' "$work/nb.json")" = '[[],0]' ] ||
  fail "--no-blocked: the truth still lists blocked networks"
[ "$(jq -c 'del(.blocked) | .devices |= map(del(.blocked_for))' "$work/nb.json")" = \
  "$(jq -c 'del(.blocked) | .devices |= map(del(.blocked_for))' "$T")" ] || fail "--no-blocked changed more than the blocked networks"
"$devsim" nft "${args[@]}" --epoch 2 --no-blocked | grep -q '^add rule inet vantage_lab blocked ' &&
  fail "--no-blocked: the nft script still blocks a network"

# Bad input is refused with exit 2.
rc=0
"$devsim" truth --devices lots >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "devsim --devices lots exited $rc, want 2"
for bad in "--availability 101" "--shared-ids x"; do
  rc=0
  # shellcheck disable=SC2086
  "$devsim" truth $bad >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "devsim $bad exited $rc, want 2"
done
echo "$name: passed"
