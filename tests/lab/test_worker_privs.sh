#!/usr/bin/env bash
# test_worker_privs.sh: the partner's host stays the partner's. Three workers
# run one K=2 campaign over 198.18.0.0/16, ports 23 and 80: wroot started as
# root with --exclude 198.18.64.0/18 (vantage 1), wcap started as nobody with
# CAP_NET_RAW from a file capability on a copy of the binary (vantage 2), and
# wfull started as root (vantage 3). While leases run, every process and
# thread of every worker — main, scan helper, scan — runs with no uid or gid 0
# and no_new_privs; the main processes hold no capability, the helpers exactly
# CAP_NET_RAW (0000000000002000), the scan processes at most that and none once
# their sockets are open. wroot sends no probe into its excluded space (capture
# on the target side of its link) and no stored record there names its site;
# the other two cover that space, so the store still equals the ground truth.
# About 25 s, under 300k probes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"

EXCL=198.18.64.0/18 # third octets 64..127
PORTS=23,80
NET_RAW=0000000000002000
NONE=0000000000000000

WORKERS="wroot wcap wfull"

"$LAB" up --devices 600 --seed 23 --vantages 3 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cluster_coordinator
cluster_enroll wroot site-v1
cluster_enroll wcap site-v2
cluster_enroll wfull site-v3

# The probes wroot sends, where they arrive.
ip netns exec vl-target tcpdump -i vl-t1 -n -U -w "$WORK/v1.pcap" \
  'ip src 198.19.1.2 and tcp[tcpflags] & tcp-syn != 0' 2>"$WORK/tcpdump.err" &
LAB_BG_PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done

# wroot and wfull: as root, the user they pick (the packaged user if this host has it).
WANT_USER=$(id -u vantage-worker 2>/dev/null || id -u nobody)
cluster_worker 1 wroot --exclude "$EXCL"
cluster_worker 3 wfull

# wcap: as nobody, with CAP_NET_RAW from the binary's file capability. Its
# binary, keys and spool live where nobody may reach them.
chmod 0711 "$WORK"
CAP=$WORK/cap
mkdir -m 0755 "$CAP" "$CAP/spool"
cp "$WORKER" "$CAP/vantage-worker"
setcap cap_net_raw+ep "$CAP/vantage-worker" || fail "setcap failed (no file capabilities here?)"
cp "$WORK/wcap.key" "$WORK/coord.key.pub" "$CAP/"
chown nobody "$CAP/wcap.key" "$CAP/spool"
ip netns exec vl-v2 setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all \
  "$CAP/vantage-worker" run --coordinator "$COORD_ENDPOINT" --server-key "$CAP/coord.key.pub" \
  --key "$CAP/wcap.key" --name wcap --scope 198.18.0.0/16 --spool "$CAP/spool" \
  >>"$WORK/wcap.log" 2>&1 &
PID_wcap=$!
LAB_BG_PIDS+=("$PID_wcap")

for _ in $(seq 50); do
  [ "$("$VANTAGE" worker list --json | jq '[.[] | select(.online)] | length' 2>/dev/null)" = 3 ] && break
  sleep 0.1
done
for w in $WORKERS; do
  pid=PID_$w
  [ "$(cat "/proc/${!pid}/comm" 2>/dev/null)" = vantage-worker ] ||
    fail "$w is not running: $(tail -3 "$WORK/$w.log")"
done
for w in wroot wfull; do
  grep -q "as user $(id -un "$WANT_USER")" "$WORK/$w.log" ||
    fail "$w does not say it runs as $(id -un "$WANT_USER"): $(head -3 "$WORK/$w.log")"
  [ "$(stat -c %u "$WORK/spool-$w")" = "$WANT_USER" ] || fail "$w's spool was not handed to its user"
done
grep -q "as user nobody" "$WORK/wcap.log" || fail "wcap does not say it runs as nobody"
grep -q "no CAP_NET_RAW" "$WORK"/w*.log && fail "a worker says it lacks CAP_NET_RAW"

# check_proc PID WHO CAPS...: every thread of PID runs with no uid or gid 0,
# no_new_privs, CapEff and CapPrm both one of CAPS, nothing inheritable or
# ambient. Sets LAST_EFF (the last thread's CapEff); 1 if PID is gone.
check_proc() {
  local pid=$1 who=$2 tid uids gids nnp eff prm inh amb ok c
  shift 2
  awk 'FNR == 1 && NR > 1 { print line } FNR == 1 { split(FILENAME, p, "/"); line = p[5] }
       /^(Uid|Gid):/ { line = line " " $2 "," $3 "," $4 "," $5 }
       /^(NoNewPrivs|CapEff|CapPrm|CapInh|CapAmb):/ { line = line " " $2 }
       END { if (NR) print line }' /proc/"$pid"/task/*/status >"$WORK/tasks" 2>/dev/null || true
  [ -s "$WORK/tasks" ] || return 1
  while read -r tid uids gids inh prm eff amb nnp; do
    [[ ",$uids,$gids," != *,0,* ]] ||
      fail "$who (pid $pid, thread $tid) runs with uid or gid 0: uids $uids, gids $gids"
    [ "$nnp" = 1 ] || fail "$who (pid $pid, thread $tid) lacks no_new_privs"
    ok=0
    for c in "$@"; do [ "$eff" = "$c" ] && [ "$prm" = "$c" ] && ok=1; done
    [ $ok = 1 ] || fail "$who (pid $pid, thread $tid) has CapEff $eff, CapPrm $prm; want $*"
    [ "$inh" = $NONE ] && [ "$amb" = $NONE ] ||
      fail "$who (pid $pid, thread $tid) has inheritable ($inh) or ambient ($amb) capabilities"
    LAST_EFF=$eff
  done <"$WORK/tasks"
}

"$VANTAGE" campaign start privs --targets 198.18.0.0/16 --ports $PORTS --rate 60000 \
  --vantages 2 >/dev/null || fail "campaign start failed"

# While leases run: walk each worker's process tree until a scan process has
# been seen with its sockets open (no capability left), for every worker.
declare -A saw_scan=() saw_helper=()
nscan=0
for _ in $(seq 200); do
  for w in $WORKERS; do
    [ -z "${saw_scan[$w]:-}" ] || continue
    pid=PID_$w
    main=${!pid}
    check_proc "$main" "$w main process" $NONE || fail "$w exited: $(tail -3 "$WORK/$w.log")"
    for h in $(pgrep -P "$main"); do
      [ "$(cat "/proc/$h/comm" 2>/dev/null)" = vw-scan-helper ] ||
        fail "$w has an unexpected child $h ($(cat "/proc/$h/comm" 2>/dev/null))"
      check_proc "$h" "$w scan helper" $NET_RAW && saw_helper[$w]=1
      for s in $(pgrep -P "$h"); do
        LAST_EFF=
        check_proc "$s" "$w scan process" $NET_RAW $NONE || continue
        [ -z "$(pgrep -P "$s")" ] || fail "$w's scan process $s has children"
        if [ "$LAST_EFF" = $NONE ] && [ -z "${saw_scan[$w]:-}" ]; then
          saw_scan[$w]=1
          nscan=$((nscan + 1))
        fi
      done
    done
  done
  [ $nscan = 3 ] && break
  sleep 0.1
done
for w in $WORKERS; do
  [ -n "${saw_helper[$w]:-}" ] || fail "no scan helper process found under $w"
  [ -n "${saw_scan[$w]:-}" ] ||
    fail "no scan process of $w seen running without capabilities: $(tail -3 "$WORK/$w.log")"
done

cluster_wait privs 60
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true

inside=$(tcpdump -n -r "$WORK/v1.pcap" "dst net $EXCL" 2>/dev/null | wc -l)
[ "$inside" -eq 0 ] || fail "wroot sent $inside probes into its excluded $EXCL"
# The capture saw wroot's probes elsewhere (so its silence above means something).
outside=$(tcpdump -n -c 1000 -r "$WORK/v1.pcap" 2>/dev/null | wc -l)
[ "$outside" -eq 1000 ] || fail "the capture on wroot's link holds only $outside probes"

cluster_query "$WORK/all.jsonl"
excl='select(.ip | ltrimstr("198.18.") | split(".")[0] | tonumber | . >= 64 and . < 128)'
jq -c "$excl | select(.vantages | index(\"site-v1\"))" "$WORK/all.jsonl" >"$WORK/inside.jsonl"
[ ! -s "$WORK/inside.jsonl" ] ||
  fail "$(wc -l <"$WORK/inside.jsonl") stored records in $EXCL name wroot's site, e.g. $(head -1 "$WORK/inside.jsonl")"
[ "$(jq -c "$excl" "$WORK/all.jsonl" | wc -l)" -gt 0 ] || fail "nobody scanned $EXCL"
# wroot's exclusion left the space to the others, who covered it: the store is
# the whole truth, and no record names a site that could not see it.
"$TRUTHCMP" --truth /run/vantage-lab/truth.json --vantage 0 --ports $PORTS --exact \
  --sites site-v1=1,site-v2=2,site-v3=3 "$WORK/all.jsonl" || fail "the store differs from the truth"

note "no process ran as root, helpers held CAP_NET_RAW alone, mains nothing; wroot sent nothing into $EXCL; store = truth ($(wc -l <"$WORK/all.jsonl") records)"
