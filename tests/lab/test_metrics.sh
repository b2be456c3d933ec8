#!/usr/bin/env bash
# test_metrics.sh: /metrics of both daemons during a lab campaign (one
# coordinator, one worker, K=1, no loss) tells what happened: the text is
# well-formed (`promtool check metrics`, and metrics_check.py), the
# worker's probes sent equal the sum of its leases' "sent N probes" lines,
# results ingested equal the store's count and the worker's results spooled,
# every shard is done. SIGHUP to the coordinator mid-campaign with a changed
# blocklist takes the new list (the next campaign is cut by it) and drops no
# worker; SIGHUP to the worker stops nothing either.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"
command -v curl >/dev/null || fail "curl not found (deploy/install-deps.sh installs it)"
CHECK=$(dirname "$0")/metrics_check.py
COORD_METRICS=198.19.254.2:9100
WORKER_METRICS=198.19.1.2:9101

# promtool, Prometheus's own checker: Debian ships it in the prometheus
# package, which is taken apart here (once per build tree) rather than
# installed, so no Prometheus server is set up on this machine. Without a
# package mirror only metrics_check.py checks, and the test says so.
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
  PROMTOOL=$VANTAGE_BUILD/tools/promtool
  if [ ! -x "$PROMTOOL" ]; then
    (mkdir -p "$WORK/prom" && cd "$WORK/prom" && apt-get download prometheus >/dev/null 2>&1 &&
      dpkg-deb -x prometheus_*.deb x && install -D -m 0755 x/usr/bin/promtool "$PROMTOOL") ||
      PROMTOOL=
  fi
fi
[ -n "$PROMTOOL" ] || note "promtool not available (no package mirror?): metrics_check.py checks alone"

scrape() { # scrape NS ADDR OUT
  ip netns exec "$1" curl -sf --max-time 5 "http://$2/metrics" >"$3" || fail "cannot scrape http://$2/metrics"
  python3 "$CHECK" "$3" >"$WORK/check.out" || fail "$2: not clean exposition text: $(head -5 "$WORK/check.out")"
  if [ -n "$PROMTOOL" ]; then
    "$PROMTOOL" check metrics <"$3" >"$WORK/promtool.out" 2>&1 ||
      fail "$2: promtool check metrics: $(head -5 "$WORK/promtool.out")"
  fi
}
value() { # value FILE SAMPLE: the value of one sample line (name with labels)
  awk -v s="$2" '$1 == s {print $2; found = 1} END {if (!found) print "none"}' "$1"
}
online() { "$VANTAGE" worker list --json | jq -r '.[] | select(.name == "w1") | .online'; }

"$LAB" up --devices 400 --seed 47 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
cp /run/vantage-lab/blocklist.txt "$WORK/blocklist.txt"
cluster_coordinator --blocklist "$WORK/blocklist.txt" --metrics "$COORD_METRICS"
cluster_enroll w1 site-v1
cluster_worker 1 w1 --metrics "$WORKER_METRICS"
for _ in $(seq 50); do [ "$(online)" = true ] && break; sleep 0.2; done
[ "$(online)" = true ] || fail "w1 did not come online: $(tail -3 "$WORK/w1.log")"

sleep 1.2 # a render
scrape vl-coord "$COORD_METRICS" "$WORK/c0.txt"
scrape vl-v1 "$WORKER_METRICS" "$WORK/w0.txt"
[ "$(value "$WORK/c0.txt" vantage_workers_online)" = 1 ] || fail "coordinator: workers online is not 1"
[ "$(value "$WORK/w0.txt" vantage_worker_connected)" = 1 ] || fail "worker: not connected"

"$VANTAGE" campaign start m --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 60000 \
  --vantages 1 >/dev/null || fail "campaign start failed"

# Mid-campaign: a changed blocklist and SIGHUP to both daemons.
sleep 1
echo 198.18.250.0/24 >>"$WORK/blocklist.txt"
kill -HUP "$COORD_PID" "$PID_w1"
sleep 1.5
kill -0 "$COORD_PID" 2>/dev/null || fail "SIGHUP killed the coordinator"
kill -0 "$PID_w1" 2>/dev/null || fail "SIGHUP killed the worker"
grep -q "reload: --blocklist $WORK/blocklist.txt: " "$WORK/coord.log" ||
  fail "the coordinator did not say it reloaded the blocklist: $(grep reload "$WORK/coord.log" | head -3)"
grep -q "reload: no --config file" "$WORK/w1.log" || fail "the worker did not log its reload"
[ "$(online)" = true ] || fail "w1 went offline after SIGHUP"
out=$("$VANTAGE" campaign start cut --targets 198.18.250.0/24 --ports 80 2>&1) &&
  fail "a campaign inside the reloaded blocklist started: $out"
grep -q "every target is in the blocklist" <<<"$out" || fail "campaign start said: $out"

cluster_wait m 180
sleep 2.5 # the last lease's counts, and a render after them
scrape vl-coord "$COORD_METRICS" "$WORK/c1.txt"
scrape vl-v1 "$WORKER_METRICS" "$WORK/w1.txt"
[ "$(online)" = true ] || fail "w1 is not online at the end"

sent_log=$(sed -n 's/.*vantage-worker: lease [0-9]*: sent \([0-9]*\) probes.*/\1/p' "$WORK/w1.log" |
  awk '{s += $1} END {print s + 0}')
sent=$(value "$WORK/w1.txt" vantage_worker_probes_sent_total)
[ "$sent_log" -gt 0 ] || fail "the worker's log says no probes were sent"
[ "$sent" = "$sent_log" ] || fail "probes sent: metrics $sent, the leases' summaries $sent_log"

stored=$("$VANTAGE" query --count) || fail "query --count failed"
ingested=$(value "$WORK/c1.txt" vantage_results_ingested_total)
spooled=$(value "$WORK/w1.txt" vantage_worker_results_spooled_total)
[ "$ingested" = "$stored" ] || fail "results ingested: metrics $ingested, the store $stored"
[ "$spooled" = "$stored" ] || fail "results spooled: worker metrics $spooled, the store $stored"

shards=$(value "$WORK/c1.txt" 'vantage_campaign_shards{campaign="m"}')
done_=$(value "$WORK/c1.txt" 'vantage_campaign_shards_done{campaign="m"}')
[ "$shards" != none ] && [ "$shards" -gt 0 ] && [ "$done_" = "$shards" ] ||
  fail "shards done $done_ of $shards"
leases=$(value "$WORK/w1.txt" vantage_worker_leases_ended_total)
[ "$leases" = "$(grep -c 'vantage-worker: lease [0-9]*: sent' "$WORK/w1.log")" ] ||
  fail "leases ended: metrics $leases, the log $(grep -c 'lease [0-9]*: sent' "$WORK/w1.log")"
[ "$(value "$WORK/c1.txt" vantage_reloads_total)" = 1 ] || fail "coordinator: reloads_total is not 1"
[ "$(value "$WORK/c1.txt" vantage_reload_failures_total)" = 0 ] || fail "coordinator: a reload failed"
[ "$(value "$WORK/c1.txt" vantage_leases_active)" = 0 ] || fail "leases still active after the campaign"
[ "$(value "$WORK/w1.txt" vantage_worker_spool_batches)" = 0 ] || fail "batches left in the spool"
count=$(value "$WORK/c1.txt" vantage_ingest_latency_seconds_count)
[ "$count" = "$(value "$WORK/c1.txt" vantage_batches_ingested_total)" ] ||
  fail "ingest latency count $count differs from batches ingested"
grep -q '^vantage_store_sst_bytes{cf="obs"} ' "$WORK/c1.txt" || fail "no store size for obs"

note "probes sent $sent (= the leases' summaries), results $ingested (= store = spooled), $shards shards done; SIGHUP reloaded the blocklist, w1 stayed online"
