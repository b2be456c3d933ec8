#!/usr/bin/env bash
# test_cluster_restart.sh: a worker stopped with SIGTERM mid-lease exits 0
# after giving its lease back, and started again on the same spool it finishes
# the campaign; a worker killed with SIGKILL and restarted on its spool re-sends
# what was not acknowledged. The store ends with the exact ground truth, each
# pair once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

"$LAB" up --devices 1500 --seed 71 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll w1 site-v1
cluster_worker 1 w1
"$VANTAGE" campaign start restart --targets 198.18.0.0/16 --ports 23,2323,80,8080,81,8000 \
  --rate 30000 >/dev/null || fail "campaign start failed"

for _ in $(seq 100); do grep -q "lease .* to w1" "$WORK/coord.log" && break; sleep 0.1; done
sleep 3
kill -TERM "$PID_w1"
rc=0
wait "$PID_w1" || rc=$?
[ "$rc" = 0 ] || fail "the worker exited $rc on SIGTERM, want 0: $(tail -3 "$WORK/w1.log")"
note "w1 stopped with SIGTERM: $(grep -c . "$WORK/w1.log") log lines, exit 0"

cluster_worker 1 w1 # same key, same spool
for _ in $(seq 100); do [ "$(grep -c "lease .* to w1" "$WORK/coord.log")" -ge 2 ] && break; sleep 0.1; done
sleep 0.5
# Freeze the coordinator so that nothing is acknowledged: the worker's results
# pile up in its spool. Then kill the worker, and let the coordinator go on.
kill -STOP "$COORD_PID"
sleep 3
kill -9 "$PID_w1"
wait "$PID_w1" 2>/dev/null || true
kill -CONT "$COORD_PID"
spooled=$(find "$WORK/spool-w1" -name '*.batch' | wc -l)
[ "$spooled" -gt 0 ] || fail "no batch was left in the spool: the restart would prove nothing: $(tail -5 "$WORK/coord.log"; tail -8 "$WORK/w1.log"; find "$WORK/spool-w1" | head)"
note "w1 killed with SIGKILL while the coordinator was frozen: $spooled batches in its spool"

cluster_worker 1 w1
cluster_wait restart 180
cluster_query "$WORK/all.jsonl"
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 1 --exact "$WORK/all.jsonl" ||
  fail "after a SIGTERM and a SIGKILL of the worker, the store differs from the truth"
left=$(find "$WORK/spool-w1" -name '*.batch' | wc -l)
[ "$left" -eq 0 ] || fail "$left batches still in the spool after the campaign completed"
note "exact truth after SIGTERM and SIGKILL restarts; spool empty"
