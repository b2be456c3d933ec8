# shellcheck shell=bash
# cluster.sh: helpers for the cluster lab tests (sourced after lib.sh and
# lab_test_init): a coordinator in vl-coord, workers in vantage namespaces,
# the operator CLI in the root namespace over the control socket (a path in
# $WORK). Every process started here is killed by lib.sh's cleanup.

VANTAGE=$VANTAGE_BUILD/coordinator/vantage
WORKER=$VANTAGE_BUILD/worker/vantage-worker
TRUTHCMP=$VANTAGE_BUILD/tests/lab/truthcmp
LAB_PORTS=23,2323,80,8080,81,8000
COORD_ENDPOINT=tcp://198.19.254.2:7700
export VANTAGE_CONTROL=ipc://$WORK/control

# cluster_coordinator [flags...]: starts (or restarts) `vantage serve` in
# vl-coord; flags go after the usual ones (a later --blocklist wins).
cluster_coordinator() {
  [ -f "$WORK/coord.key" ] || "$VANTAGE" keygen --out "$WORK/coord.key" >/dev/null
  ip netns exec vl-coord "$VANTAGE" serve --db "$WORK/db" --listen "$COORD_ENDPOINT" \
    --control "$VANTAGE_CONTROL" --key "$WORK/coord.key" \
    --blocklist /run/vantage-lab/blocklist.txt --window 7d "$@" >>"$WORK/coord.log" 2>&1 &
  COORD_PID=$!
  LAB_BG_PIDS+=("$COORD_PID")
  for _ in $(seq 100); do
    [ -S "$WORK/control" ] && "$VANTAGE" worker list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "the coordinator did not come up: $(tail -5 "$WORK/coord.log")"
}

# cluster_enroll NAME SITE: a key pair for NAME, enrolled at SITE.
cluster_enroll() {
  local pub
  pub=$("$WORKER" keygen --out "$WORK/$1.key") || fail "keygen for $1 failed"
  "$VANTAGE" worker add "$1" --key "$pub" --site "$2" >/dev/null || fail "enrolling $1 failed"
}

# cluster_worker V NAME [flags...]: starts `vantage-worker run` in vl-vV.
cluster_worker() {
  local v=$1 name=$2
  shift 2
  [ -f "$WORK/$name.key" ] || "$WORKER" keygen --out "$WORK/$name.key" >/dev/null
  ip netns exec "vl-v$v" "$WORKER" run --coordinator "$COORD_ENDPOINT" \
    --server-key "$WORK/coord.key.pub" --key "$WORK/$name.key" --name "$name" \
    --scope 198.18.0.0/16 --spool "$WORK/spool-$name" "$@" >>"$WORK/$name.log" 2>&1 &
  eval "PID_$name=$!"
  LAB_BG_PIDS+=($!)
}

# cluster_wait CAMPAIGN SECONDS: the campaign completes in time, or the test fails.
cluster_wait() {
  "$VANTAGE" campaign wait "$1" --timeout "$2" >/dev/null 2>"$WORK/wait.err" || {
    "$VANTAGE" campaign status "$1" >&2 || true
    tail -20 "$WORK/coord.log" >&2
    fail "campaign $1 did not complete within $2 s: $(cat "$WORK/wait.err")"
  }
}

# cluster_query OUT [flags...]: every stored record as JSON Lines.
cluster_query() {
  local out=$1
  shift
  "$VANTAGE" query --format jsonl "$@" >"$out" || fail "vantage query failed"
}
