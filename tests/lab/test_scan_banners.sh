#!/usr/bin/env bash
# test_scan_banners.sh: `vantage-worker scan --banners` from one vantage over
# the lab's 1500 devices (47 device types, some on unexpected ports, and 8
# kinds of hostile service). It must:
#   - carry a banner for >= 98% of the open telnet and HTTP services, name
#     every device type with the truth's vendor and device type, and agree
#     with the truth's exposure (login/shell prompt, login page) for >= 98%;
#   - end every grab of a hostile service (endless stream, byte-at-a-time,
#     silent and never closing, huge headers, garbage, IAC flood, zero
#     window) within its deadline: the scan ends, every open port has a grab
#     status, none is still "running";
#   - cap the grabs of a host open on every port (--host-cap 4) and mark the
#     rest of that host truncated, as no other host is;
#   - write the same services as CSV with banner columns.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"

WORKER=$VANTAGE_BUILD/worker/vantage-worker
BANNERCMP=$VANTAGE_BUILD/tests/lab/bannercmp
PORTS=23,2323,80,8080,81,8000
"$LAB" up --devices 1500 --seed 11 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
TRUTH=/run/vantage-lab/truth.json

scan() { # scan OUT [flags...]
  local out=$1
  shift
  # 60 s bound: a few seconds of probes, then grabs of at most 10 s each.
  timeout 60 ip netns exec vl-v1 "$WORKER" scan 198.18.0.0/16 --ports $PORTS \
    --blocklist /run/vantage-lab/blocklist.txt --rate 50000 --cooldown 2 --quiet --banners \
    --host-cap 4 --output "$out" "$@" 2>>"$WORK/scan.err" ||
    fail "scan --banners failed or did not end: $(tail -3 "$WORK/scan.err")"
}

scan "$WORK/banners.jsonl" --seed 3
summary=$(tail -1 "$WORK/scan.err")
note "$summary"

# 1. Banners, identification, exposure against the truth.
"$BANNERCMP" --truth "$TRUTH" --banner-min 0.98 --identify-all --exposure-min 0.98 \
  "$WORK/banners.jsonl" >"$WORK/cmp.txt" || fail "banners or identification below the bar:
$(cat "$WORK/cmp.txt")"
note "$(grep -v ' type ' "$WORK/cmp.txt" | sed 's/^bannercmp: //' | tr '\n' ';')"

# 2. Hostile services: every open result has a grab status; the statuses of
# hostile ones are the ones a bounded grab ends with.
jq -r --slurpfile t "$TRUTH" '
  ($t[0].devices | map(select(.kind == "hostile") | .address) | unique) as $hostile
  | select(.state == "open")
  | [.ip, (.grab // "none"), (if (.ip | IN($hostile[])) then "hostile" else "device" end)] | @tsv' \
  "$WORK/banners.jsonl" >"$WORK/grabs.tsv"
[ -s "$WORK/grabs.tsv" ] || fail "no open results"
awk -F'\t' '$2 == "none"' "$WORK/grabs.tsv" | head -3 | grep -q . &&
  fail "open results without a grab status: $(awk -F'\t' '$2 == "none"' "$WORK/grabs.tsv" | head -3)"
n_hostile=$(awk -F'\t' '$3 == "hostile"' "$WORK/grabs.tsv" | wc -l)
[ "$n_hostile" -ge 40 ] || fail "only $n_hostile hostile services reached: the world is too small"
bad=$(awk -F'\t' '$3 == "hostile" && $2 !~ /^(ok|idle|deadline|closed|capped)$/' "$WORK/grabs.tsv")
[ -z "$bad" ] || fail "hostile grabs ended oddly: $(echo "$bad" | head -3)"
awk -F'\t' '$3 == "hostile" && $2 == "deadline"' "$WORK/grabs.tsv" | grep -q . ||
  fail "no hostile grab hit its deadline or byte cap: are the hostile services serving?"

# 3. The host open on every port: at most 4 grabs, the rest capped and the
# host marked truncated; no other host is.
all_ports=$(jq -r '.devices[] | select(.type == "hostile-all-ports") | .address' "$TRUTH" | sort -u)
[ -n "$all_ports" ] || fail "the world has no all-ports host"
for ip in $(echo "$all_ports" | head -3); do
  tried=$(jq -r --arg ip "$ip" 'select(.ip == $ip and .state == "open" and .grab != "capped") | .port' \
    "$WORK/banners.jsonl" | wc -l)
  capped=$(jq -r --arg ip "$ip" 'select(.ip == $ip and .grab == "capped") | .port' "$WORK/banners.jsonl" | wc -l)
  [ "$tried" -le 4 ] || fail "$ip: $tried grabs, above --host-cap 4"
  [ "$capped" -ge 1 ] || fail "$ip is open on every port but no grab was capped"
  # (not jq -e: jq 1.6 exits 4 when the last input selects nothing)
  jq -c --arg ip "$ip" 'select(.ip == $ip and .labels.truncated == "true")' "$WORK/banners.jsonl" |
    grep -q . || fail "$ip is not marked truncated: $(jq -c --arg ip "$ip" \
    'select(.ip == $ip) | [.port, .grab, .labels.truncated]' "$WORK/banners.jsonl" | tr '\n' ' ')"
done
others=$(jq -r 'select(.labels.truncated == "true") | .ip' "$WORK/banners.jsonl" | sort -u |
  comm -23 - <(echo "$all_ports"))
[ -z "$others" ] || fail "hosts marked truncated that are not open on every port: $(echo "$others" | head -3)"

# 4. CSV: the same open services, with the banner columns.
scan "$WORK/banners.csv" --seed 3 --format csv
head -1 "$WORK/banners.csv" | grep -qx 'ip,port,state,ttl,ts,grab,proto,vendor,product,device,version,exposure,banner' ||
  fail "CSV header: $(head -1 "$WORK/banners.csv")"
csv_named=$(grep -c ',"Hikvision",' "$WORK/banners.csv" || true)
json_named=$(jq -r 'select(.labels.vendor == "Hikvision") | .ip' "$WORK/banners.jsonl" | wc -l)
[ "$csv_named" -eq "$json_named" ] && [ "$json_named" -gt 0 ] ||
  fail "CSV names $csv_named Hikvision services, JSON Lines $json_named"

note "$n_hostile hostile services ended in time; all-ports hosts capped and truncated"
