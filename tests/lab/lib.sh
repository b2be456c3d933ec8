# shellcheck shell=bash
# lib.sh: helpers shared by the lab tests (sourced, not run). A test sources it,
# calls lab_test_init, and gets: $LAB (the lab script), $PROBE (the probe
# helper), a scratch dir $WORK, fail/pass/note, and probe_state. The EXIT trap
# it installs tears the lab down whatever happens.

LAB_TEST_NAME=$(basename "$0" .sh)

fail() {
  echo "FAIL $LAB_TEST_NAME: $*" >&2
  exit 1
}

note() { echo "$LAB_TEST_NAME: $*"; }

# lab_test_init "$@": skips (77) unless root; waits for any other lab test on this
# machine (the lab is one per machine, and CTest's RESOURCE_LOCK only orders the
# tests of one ctest run); finds the programs; arms the cleanup.
lab_test_init() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP $LAB_TEST_NAME: needs root (network namespaces)"
    exit 77
  fi
  if [ -z "${VANTAGE_LAB_TEST_LOCKED:-}" ]; then
    # Re-run this test holding the lock (for at most 60 s of waiting; exit 1 if
    # it never comes). flock -o: the lock stays with flock, not with the daemons
    # the test starts.
    VANTAGE_LAB_TEST_LOCKED=1 exec flock -o -E 1 -w 60 /run/vantage-lab-test.lock "$0" "$@"
  fi
  LAB=$here/lab
  export VANTAGE_BUILD=${VANTAGE_BUILD:-$(cd "$here/../.." && pwd)/build}
  PROBE=$VANTAGE_BUILD/tests/lab/probe
  [ -x "$PROBE" ] || fail "no $PROBE (build first: cmake -B build && cmake --build build)"
  command -v jq >/dev/null || fail "jq not found (deploy/install-deps.sh installs it)"
  if ip netns list | grep -q '^vl-' || [ -d /run/vantage-lab ]; then
    fail "a lab is already up; tear it down first: $LAB down"
  fi
  WORK=$(mktemp -d /tmp/vantage-lab-test.XXXXXX)
  LAB_BG_PIDS=()
  trap lab_test_cleanup EXIT
}

lab_test_cleanup() {
  local rc=$? pid
  for pid in "${LAB_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  "$LAB" down >/dev/null 2>&1 || echo "$LAB_TEST_NAME: lab down failed" >&2
  rm -rf "$WORK"
  exit $rc
}

# probe_state NS IP PORT [probe options]: prints open, closed, silent or error;
# what the server sent is left in $WORK/out.
probe_state() {
  local ns=$1 ip=$2 port=$3 rc=0
  shift 3
  ip netns exec "$ns" "$PROBE" "$ip" "$port" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  case $rc in
  0) echo open ;;
  3) echo closed ;;
  4) echo silent ;;
  *) echo "error($rc: $(head -c 200 "$WORK/err"))" ;;
  esac
}

# expect_state WANT NS IP PORT [probe options]
expect_state() {
  local want=$1 got
  shift
  got=$(probe_state "$@")
  [ "$got" = "$want" ] || fail "$2:$3 from $1: want $want, got $got"
}

# expect_banner NS TRUTH DEVICE_ID [ADDRESS]: every open port of the device answers
# from NS at ADDRESS (default: its address in TRUTH) with the banner TRUTH lists
# (telnet, http, ssh); a hostile service (another protocol) only has to be open.
expect_banner() {
  local ns=$1 truth=$2 id=$3 addr=${4:-} n port proto got
  [ -n "$addr" ] || addr=$(jq -r ".devices[$id].address" "$truth")
  n=$(jq ".devices[$id].services | length" "$truth")
  [ "$n" -ge 1 ] || fail "device $id has no open port in the truth"
  for j in $(seq 0 $((n - 1))); do
    port=$(jq -r ".devices[$id].services[$j].port" "$truth")
    proto=$(jq -r ".devices[$id].services[$j].protocol" "$truth")
    if [ "$proto" = ssh ]; then
      got=$(probe_state "$ns" "$addr" "$port" --idle-ms 300)
      [ "$got" = open ] || fail "device $id at $addr:$port from $ns: want open, got $got"
      printf '%s\r\n' "$(jq -r ".devices[$id].services[$j].banner" "$truth")" >"$WORK/want"
      cmp -s "$WORK/want" "$WORK/out" ||
        fail "device $id at $addr:$port: SSH line '$(cat -v "$WORK/out")', want '$(cat -v "$WORK/want")'"
    elif [ "$proto" != telnet ] && [ "$proto" != http ]; then
      got=$(probe_state "$ns" "$addr" "$port" --read-ms 300 --idle-ms 300)
      [ "$got" = open ] || fail "device $id at $addr:$port ($proto) from $ns: want open, got $got"
    elif [ "$proto" = telnet ]; then
      got=$(probe_state "$ns" "$addr" "$port" --strip-iac --idle-ms 300)
      [ "$got" = open ] || fail "device $id at $addr:$port from $ns: want open, got $got"
      jq -j ".devices[$id].services[$j].banner" "$truth" >"$WORK/want"
      cmp -s "$WORK/want" "$WORK/out" ||
        fail "device $id at $addr:$port: telnet banner '$(cat -v "$WORK/out")', want '$(cat -v "$WORK/want")'"
    else
      got=$(probe_state "$ns" "$addr" "$port" --send 'GET / HTTP/1.0\r\n\r\n')
      [ "$got" = open ] || fail "device $id at $addr:$port from $ns: want open, got $got"
      jq -j ".devices[$id].services[$j].banner" "$truth" >"$WORK/want"
      head -c "$(stat -c %s "$WORK/want")" "$WORK/out" | cmp -s "$WORK/want" - ||
        fail "device $id at $addr:$port: HTTP head differs from the truth: $(head -c 300 "$WORK/out" | cat -v)"
      grep -qF "<title>$(jq -r ".devices[$id].services[$j].title" "$truth")</title>" "$WORK/out" ||
        fail "device $id at $addr:$port: title missing from $(cat -v "$WORK/out")"
    fi
  done
}
