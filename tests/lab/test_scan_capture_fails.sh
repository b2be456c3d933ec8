#!/usr/bin/env bash
# test_scan_capture_fails.sh: a scan whose capture fails is not reported
# complete. A vantage's link goes down (vantage 1) or disappears (vantage 2)
# during the cooldown, when the probes are all out and only the receive side
# is still at work: `vantage-worker scan` stops at once and exits 1 with a
# line saying that capture failed, instead of waiting out the cooldown deaf and
# printing a summary with exit 0. And a clean scan's summary says nothing of
# drops and exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"

WORKER=$VANTAGE_BUILD/worker/vantage-worker
"$LAB" up --devices 200 --seed 31 --vantages 2 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
BLOCK=/run/vantage-lab/blocklist.txt

# 1. Clean: exit 0, no INCOMPLETE.
timeout 30 ip netns exec vl-v1 "$WORKER" scan 198.18.0.0/22 --ports 23,80 --blocklist "$BLOCK" \
  --rate 20000 --cooldown 1 --quiet --output "$WORK/clean.jsonl" 2>"$WORK/clean.err" ||
  fail "the clean scan failed: $(tail -3 "$WORK/clean.err")"
! grep -q INCOMPLETE "$WORK/clean.err" || fail "a clean scan says it is incomplete: $(cat "$WORK/clean.err")"
[ -s "$WORK/clean.jsonl" ] || fail "the clean scan found nothing"

# cut V HOW: scans from vantage V, runs `ip -n vl-vV link HOW` 2 s into a 20 s
# cooldown, and checks that the scan failed at once, saying why.
cut() {
  local v=$1 rc=0 t0 t1 secs scan_pid
  shift
  t0=$(date +%s%N)
  timeout 30 ip netns exec "vl-v$v" "$WORKER" scan 198.18.0.0/22 --ports 23,80 --blocklist "$BLOCK" \
    --rate 20000 --cooldown 20 --quiet --output "$WORK/cut$v.jsonl" 2>"$WORK/cut$v.err" &
  scan_pid=$!
  LAB_BG_PIDS+=("$scan_pid")
  sleep 2
  ip -n "vl-v$v" link "$@"
  wait "$scan_pid" || rc=$?
  t1=$(date +%s%N)
  secs=$(((t1 - t0) / 1000000000))
  [ "$rc" -eq 1 ] || fail "after 'link $*' the scan exited $rc, want 1: $(tail -3 "$WORK/cut$v.err")"
  grep -q "capture on vl-v$v failed" "$WORK/cut$v.err" || fail "no reason given: $(tail -3 "$WORK/cut$v.err")"
  ! grep -q "scanned .* targets" "$WORK/cut$v.err" || fail "a summary as if complete: $(cat "$WORK/cut$v.err")"
  [ "$secs" -lt 10 ] ||
    fail "the scan took $secs s to notice its capture failed (cooldown 20 s): $(tail -1 "$WORK/cut$v.err")"
  note "'link $*' ends the scan in $secs s: $(tail -1 "$WORK/cut$v.err")"
}

# 2. Vantage 1's link goes down; vantage 2's disappears.
cut 1 set vl-v1 down
cut 2 del vl-v2
