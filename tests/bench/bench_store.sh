#!/usr/bin/env bash
# bench_store.sh: the coordinator's consolidated results against sqlite3, on
# the same data, in the same run (docs/performance.md, "Store").
#
# bench_store_gen writes a simulated week of hourly scans of 10.0.0.0/8
# (168 windows, about 60,000 addresses with a record in each, about 12
# million records; 30% of the devices show a serial number) into a vantage
# store through the store API exactly as the ingest writes it, and the same
# records as CSV, which sqlite3 imports into a table keyed (window, ip, port)
# with the banners in a table of their own; plus a prefix2as file of 100,000
# prefixes over the space. Then `vantage serve` runs on the store (loopback
# and an ipc socket only, no workers, no packets) and each CLI command is
# timed end to end, wall clock, against the sqlite3 CLI running the SQL that
# computes the same figures:
#
#   a. vantage query --count devices --since WEEK_START --until WEEK_END
#      (distinct addresses, hosts per window, identified devices and shared
#      defaults; the estimator's arithmetic is not in the SQL);
#   b. vantage query --prefix 10.B.0.0/16 --since T --until T --format jsonl
#      (one window; sqlite3 prints the same rows as JSON);
#   c. vantage report --by asn --pfx2as FILE over the week (sqlite3: the
#      longest-prefix match of every address and the per-AS figures; the
#      devices estimate, which needs the estimator, is not in the SQL).
#
# Each command runs once to warm up, then --reps times (best kept); one whose
# warm-up takes more than 30 s is timed by that run alone (runs of minutes
# would not fit in 15; the data is in the page cache by then: just written). The
# figures of both sides are compared and the table says whether they agree.
#
#   tests/bench/bench_store.sh [--quick] [--reps N] [--build DIR] [--keep DIR]
#                              [--windows N] [--addresses N] [--prefixes N]
#
# --quick: one day of 40,000 addresses an hour (about 1.1 million records),
# to check the script. Needs sqlite3 and jq (Debian packages); not root.
# Temporary data under /var/tmp, removed at exit unless --keep DIR (which
# keeps a copy of the outputs, not the data). It prints figures and never
# fails on them: exit 1 only when it cannot measure, 2 for bad usage.
set -euo pipefail

PROG=bench_store
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$REPO/build
REPS=3
WINDOWS=168
ADDRESSES=60000
PREFIXES=100000
KEEP=
SLOW_S=30

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    echo "usage: $PROG.sh [--quick] [--reps N] [--build DIR] [--keep DIR] [--windows N] [--addresses N] [--prefixes N]" >&2
    exit 2
}
number() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: $1 $2: not a positive number" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) WINDOWS=24 ADDRESSES=40000 ;;
    --reps) [ $# -ge 2 ] || usage; number "$1" "$2"; REPS=$2; shift ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift ;;
    --keep) [ $# -ge 2 ] || usage; KEEP=$2; shift ;;
    --windows) [ $# -ge 2 ] || usage; number "$1" "$2"; WINDOWS=$2; shift ;;
    --addresses) [ $# -ge 2 ] || usage; number "$1" "$2"; ADDRESSES=$2; shift ;;
    --prefixes) [ $# -ge 2 ] || usage; number "$1" "$2"; PREFIXES=$2; shift ;;
    -h | --help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
    shift
done

V=$BUILD/coordinator/vantage
GEN=$BUILD/tests/bench/bench_store_gen
[ -x "$V" ] && [ -x "$GEN" ] || die "no $V or $GEN (build first: cmake -B build && cmake --build build)"
command -v sqlite3 >/dev/null || die "no sqlite3 (apt-get install sqlite3)"
command -v jq >/dev/null || die "no jq (apt-get install jq)"
[ -x /usr/bin/time ] || die "no /usr/bin/time (apt-get install time)"

TMP=$(mktemp -d /var/tmp/bench_store.XXXXXX)
SERVE_PID=
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    if [ -n "$KEEP" ]; then
        mkdir -p "$KEEP" && cp "$TMP"/*.out "$TMP"/*.sql "$TMP"/*.log "$TMP/facts" "$KEEP/" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
# The peak RSS (MiB) and the CPU time (ms) /usr/bin/time wrote ("%M %U %S").
rss_mib() { awk '{ printf "%.1f", $1 / 1024 }' "$1"; }
cpu_ms() { awk '{ v = ($2 + $3) * 1000; if (v < 10) print "<10"; else printf "%.0f", v }' "$1"; }
# The CPU time of the daemon's main thread (where requests are served), ns.
daemon_ns() { if [ -n "$SERVE_PID" ]; then cut -d' ' -f1 "/proc/$SERVE_PID/task/$SERVE_PID/schedstat"; else echo 0; fi; }

# timed NAME CMD...: runs CMD (stdout to $TMP/NAME.out, stderr to NAME.err)
# once to warm up, then REPS times; sets BEST (ms), RUNS, and of the best run
# RSS (peak MiB), CPU (the command's user + sys, ms) and DCPU (the daemon's
# main thread, ms; 0 for sqlite3, which has none). A warm-up slower than SLOW_S seconds is the only run (it
# stands for the best: its files were in the page cache already, and runs
# of minutes would not fit the benchmark's 15).
timed() {
    local name=$1 t0 t1 t best= n=0 rss= cpu= dcpu= d0 d1
    local daemon=0
    [[ $name == *_vantage ]] && daemon=1
    shift
    for i in $(seq 0 "$REPS"); do
        d0=$( ((daemon)) && daemon_ns || echo 0)
        t0=$EPOCHREALTIME
        /usr/bin/time -o "$TMP/$name.rss" -f '%M %U %S' "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" ||
            { cat "$TMP/$name.err" >&2; die "$name failed: $*"; }
        t1=$EPOCHREALTIME
        d1=$( ((daemon)) && daemon_ns || echo 0)
        t=$(ms "$t0" "$t1")
        if [ "$i" -eq 0 ] && awk -v t="$t" -v s=$SLOW_S 'BEGIN { exit !(t <= s * 1000) }'; then
            echo "    $name: warm-up ${t} ms" >&2
            continue
        fi
        n=$((n + 1))
        echo "    $name: run $n ${t} ms" >&2
        if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
            best=$t
            rss=$(rss_mib "$TMP/$name.rss")
            cpu=$(cpu_ms "$TMP/$name.rss")
            dcpu=$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
            cp "$TMP/$name.out" "$TMP/$name.best.out"
        fi
        [ "$i" -gt 0 ] || break
    done
    BEST=$best RUNS=$n RSS=$rss CPU=$cpu DCPU=$dcpu
}

echo "$PROG: $WINDOWS windows, ~$ADDRESSES addresses a window, $PREFIXES prefixes; $(nproc) cores; data in $TMP"
echo "  $(sqlite3 -version | cut -d' ' -f1-2 | sed 's/^/sqlite3 /'), rocksdb $(dpkg-query -W -f '${Version}' librocksdb7.8 2>/dev/null || echo '?'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the data ----
echo "  generating and writing the store (as ingest writes it) ..."
"$GEN" --db "$TMP/store" --csv "$TMP" --windows "$WINDOWS" --addresses "$ADDRESSES" \
    --prefixes "$PREFIXES" >"$TMP/facts" || die "bench_store_gen failed"
echo "  $(cat "$TMP/facts")"
fact() { tr ' ' '\n' <"$TMP/facts" | sed -n "s/^$1=//p"; }
for f in records first_window last_window since_s until_s query_prefix query_s query_window \
    query_lo query_hi store_s compact_s; do
    printf -v "F_$f" '%s' "$(fact $f)"
done
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
SINCE=$(rfc "$F_since_s") UNTIL=$(rfc "$F_until_s") T=$(rfc "$F_query_s")

cat >"$TMP/load.sql" <<'EOF'
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
CREATE TABLE banner(id INTEGER PRIMARY KEY, proto TEXT, text TEXT, vendor TEXT, device TEXT,
                    product TEXT, serial TEXT, exposure TEXT);
-- One row per record, keyed as the store is: (window, ip, port). banner 0: none.
CREATE TABLE obs(window INTEGER NOT NULL, ip INTEGER NOT NULL, port INTEGER NOT NULL,
                 open INTEGER NOT NULL, ttl INTEGER, first_seen INTEGER, last_seen INTEGER,
                 site TEXT, campaign TEXT, banner INTEGER NOT NULL,
                 PRIMARY KEY (window, ip, port)) WITHOUT ROWID;
-- One row per (prefix, origin AS).
CREATE TABLE pfx(net INTEGER NOT NULL, len INTEGER NOT NULL, asn INTEGER NOT NULL);
.import --csv obs.csv obs
.import --csv banner.csv banner
.import --csv pfx.csv pfx
CREATE INDEX pfx_len_net ON pfx(len, net);
ANALYZE;
EOF
echo "  loading sqlite3 (.import of the CSV, index, ANALYZE) ..."
t0=$EPOCHREALTIME
(cd "$TMP" && sqlite3 "$TMP/db.sqlite" <load.sql >/dev/null) || die "sqlite3 could not load the data"
t1=$EPOCHREALTIME
SQLITE_LOAD=$(ms "$t0" "$t1")
rm -f "$TMP/obs.csv" "$TMP/banner.csv" "$TMP/pfx.csv"
STORE_MIB=$(du -sm "$TMP/store" | cut -f1) SQLITE_MIB=$(du -sm "$TMP/db.sqlite" | cut -f1)
echo "  store ${STORE_MIB} MiB, written in ${F_store_s} s + ${F_compact_s} s compaction; sqlite3 ${SQLITE_MIB} MiB, loaded in $(awk -v m="$SQLITE_LOAD" 'BEGIN { printf "%.1f", m / 1000 }') s"

# ---- the daemon ----
"$V" keygen --out "$TMP/key" >/dev/null 2>&1 || die "vantage keygen failed"
export VANTAGE_CONTROL=ipc://$TMP/control
PORT=$((20000 + RANDOM % 20000))
"$V" serve --db "$TMP/store" --listen "tcp://127.0.0.1:$PORT" --control "$VANTAGE_CONTROL" \
    --key "$TMP/key" >"$TMP/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 600); do
    "$V" campaign list >/dev/null 2>&1 && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$TMP/serve.log" >&2; die "vantage serve did not start"; }
    sleep 0.1
done
"$V" campaign list >/dev/null 2>&1 || die "vantage serve does not answer on $VANTAGE_CONTROL"

declare -A VT SQ VRUNS SRUNS VRSS SRSS VCPU VDCPU SCPU AGREE

# ---- a. the device count of the week ----
W_LO=$F_first_window W_HI=$F_last_window
cat >"$TMP/count.sql" <<EOF
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
-- Hosts: (window, ip) with an open record, with each identity its banners show.
CREATE TEMP TABLE h AS
  SELECT o.window, o.ip, b.serial FROM obs o
  LEFT JOIN banner b ON b.id = o.banner AND b.serial <> ''
  WHERE o.window BETWEEN $W_LO AND $W_HI AND o.open = 1
  GROUP BY o.window, o.ip, b.serial;
-- An identity seen on 3 or more addresses in one window is a shared default.
CREATE TEMP TABLE sp AS
  SELECT serial, MAX(n) AS m FROM (SELECT serial, window, COUNT(*) AS n FROM h
                                   WHERE serial IS NOT NULL GROUP BY serial, window)
  GROUP BY serial;
CREATE INDEX temp.sp_serial ON sp(serial);
-- Each host keeps its first identity that is not shared.
CREATE TEMP TABLE ch AS
  SELECT h.window, h.ip, MIN(h.serial) AS serial FROM h JOIN sp ON sp.serial = h.serial
  WHERE sp.m < 3 GROUP BY h.window, h.ip;
SELECT json_object('distinct_ips', (SELECT COUNT(DISTINCT ip) FROM h),
  'host_windows', (SELECT COUNT(DISTINCT window << 32 | ip) FROM h),
  'identified_devices', (SELECT COUNT(DISTINCT serial) FROM ch),
  'shared_defaults', (SELECT COUNT(*) FROM sp WHERE m >= 3),
  'shared_default_hosts', (SELECT COUNT(*) FROM (SELECT window << 32 | ip FROM h
                                                 WHERE serial IS NOT NULL
                                                 EXCEPT SELECT window << 32 | ip FROM ch)));
SELECT json_object('window', w.window, 'hosts', w.hosts, 'identified', COALESCE(i.n, 0))
  FROM (SELECT window, COUNT(DISTINCT ip) AS hosts FROM h GROUP BY window) w
  LEFT JOIN (SELECT window, COUNT(DISTINCT serial) AS n FROM ch GROUP BY window) i USING (window)
  ORDER BY w.window;
EOF
echo "  a. device count, $SINCE .. $UNTIL"
timed count_vantage "$V" query --count devices --since "$SINCE" --until "$UNTIL" --format jsonl
VT[a]=$BEST VRUNS[a]=$RUNS VRSS[a]=$RSS VCPU[a]=$CPU VDCPU[a]=$DCPU
timed count_sqlite sh -c 'exec sqlite3 -readonly "$1" <"$2"' sh "$TMP/db.sqlite" "$TMP/count.sql"
SQ[a]=$BEST SRUNS[a]=$RUNS SRSS[a]=$RSS SCPU[a]=$CPU
jq -c '{distinct_ips, host_windows: ([.windows[].hosts] | add), identified_devices,
        shared_defaults, shared_default_hosts}' "$TMP/count_vantage.best.out" >"$TMP/count_v.out"
head -1 "$TMP/count_sqlite.best.out" | jq -c . >"$TMP/count_s.out"
jq -c '.windows[] | {window, hosts, identified}' "$TMP/count_vantage.best.out" >"$TMP/count_vw.out"
tail -n +2 "$TMP/count_sqlite.best.out" | jq -c . >"$TMP/count_sw.out"
if cmp -s "$TMP/count_v.out" "$TMP/count_s.out" && cmp -s "$TMP/count_vw.out" "$TMP/count_sw.out"; then
    AGREE[a]="yes: $(cat "$TMP/count_v.out"), and every window's hosts and identified"
else
    AGREE[a]="NO: vantage $(cat "$TMP/count_v.out") sqlite3 $(cat "$TMP/count_s.out")"
fi

# ---- b. one /16 in one window ----
cat >"$TMP/prefix.sql" <<EOF
SELECT json_object('ip', (o.ip >> 24) || '.' || (o.ip >> 16 & 255) || '.' || (o.ip >> 8 & 255)
                         || '.' || (o.ip & 255),
  'port', o.port, 'state', CASE o.open WHEN 1 THEN 'open' ELSE 'closed' END, 'ttl', o.ttl,
  'window', o.window,
  'first_seen', strftime('%Y-%m-%dT%H:%M:%fZ', o.first_seen / 1000.0, 'unixepoch'),
  'last_seen', strftime('%Y-%m-%dT%H:%M:%fZ', o.last_seen / 1000.0, 'unixepoch'),
  'vantages', json_array(o.site), 'campaigns', json_array(o.campaign),
  'proto', b.proto, 'banner', b.text,
  'labels', CASE WHEN b.id IS NULL THEN NULL ELSE
            json_object('vendor', b.vendor, 'device', b.device, 'product', NULLIF(b.product, ''),
                        'hw.serial', NULLIF(b.serial, ''), 'exposure', NULLIF(b.exposure, '')) END)
FROM obs o LEFT JOIN banner b ON b.id = o.banner
WHERE o.window = $F_query_window AND o.ip BETWEEN $F_query_lo AND $F_query_hi
ORDER BY o.window, o.ip, o.port;
EOF
echo "  b. $F_query_prefix in the window of $T"
timed prefix_vantage "$V" query --prefix "$F_query_prefix" --since "$T" --until "$T" --format jsonl
VT[b]=$BEST VRUNS[b]=$RUNS VRSS[b]=$RSS VCPU[b]=$CPU VDCPU[b]=$DCPU
timed prefix_sqlite sh -c 'exec sqlite3 -readonly "$1" <"$2"' sh "$TMP/db.sqlite" "$TMP/prefix.sql"
SQ[b]=$BEST SRUNS[b]=$RUNS SRSS[b]=$RSS SCPU[b]=$CPU
jq -r '"\(.ip) \(.port) \(.state) \(.labels."hw.serial" // "")"' "$TMP/prefix_vantage.best.out" >"$TMP/prefix_v.out"
jq -r '"\(.ip) \(.port) \(.state) \(.labels."hw.serial" // "")"' "$TMP/prefix_sqlite.best.out" >"$TMP/prefix_s.out"
if cmp -s "$TMP/prefix_v.out" "$TMP/prefix_s.out"; then
    AGREE[b]="yes: the same $(wc -l <"$TMP/prefix_v.out") rows (ip, port, state, serial)"
else
    AGREE[b]="NO: $(wc -l <"$TMP/prefix_v.out") rows against $(wc -l <"$TMP/prefix_s.out")"
fi

# ---- c. the report per AS ----
cat >"$TMP/report.sql" <<EOF
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
-- The services of the period, one per (ip, port) with an open record, with the
-- banner of its latest record that has one (SQLite takes the bare column from
-- the row of the max()).
CREATE TEMP TABLE svc AS
  SELECT ip, port, banner, MAX(CASE WHEN banner > 0 THEN window ELSE -1 END) AS bw
  FROM obs WHERE window BETWEEN $W_LO AND $W_HI AND open = 1
  GROUP BY ip, port;
-- Longest-prefix match of each address: the longest length whose prefix is in pfx.
CREATE TEMP TABLE lens AS SELECT DISTINCT len FROM pfx;
CREATE TEMP TABLE lpm AS
  SELECT a.ip, (SELECT l.len FROM lens l
                WHERE EXISTS (SELECT 1 FROM pfx p WHERE p.len = l.len
                              AND p.net = (a.ip >> (32 - l.len)) << (32 - l.len))
                ORDER BY l.len DESC LIMIT 1) AS len
  FROM (SELECT DISTINCT ip FROM svc) a;
-- Every origin of that prefix (multi-origin and AS sets: a row each); -1: unrouted.
CREATE TEMP TABLE ipas AS
  SELECT m.ip, COALESCE(p.asn, -1) AS asn, m.len, (m.ip >> (32 - m.len)) << (32 - m.len) AS net
  FROM lpm m LEFT JOIN pfx p ON p.len = m.len AND p.net = (m.ip >> (32 - m.len)) << (32 - m.len);
CREATE INDEX temp.ipas_ip ON ipas(ip);
-- Hosts per AS and window: host-windows, and the most in one window.
CREATE TEMP TABLE hw AS
  SELECT i.asn, h.window, COUNT(*) AS hosts
  FROM (SELECT DISTINCT window, ip FROM obs
        WHERE window BETWEEN $W_LO AND $W_HI AND open = 1) h
  JOIN ipas i ON i.ip = h.ip GROUP BY i.asn, h.window;
-- Services per AS and device kind.
CREATE TEMP TABLE kinds AS
  SELECT i.asn, COALESCE(NULLIF(b.device, ''), '(not identified)') AS device, COUNT(*) AS n
  FROM svc s JOIN ipas i ON i.ip = s.ip LEFT JOIN banner b ON b.id = s.banner
  GROUP BY i.asn, device;
CREATE INDEX temp.kinds_asn ON kinds(asn, n);
SELECT g.asn, g.prefixes, g.addresses, g.services, w.host_windows, w.most,
       (SELECT group_concat(device || ' ' || n, ', ') FROM
          (SELECT device, n FROM kinds k WHERE k.asn = g.asn ORDER BY n DESC, device LIMIT 3))
FROM (SELECT i.asn, COUNT(DISTINCT i.net << 6 | i.len) AS prefixes,
             COUNT(DISTINCT s.ip) AS addresses, COUNT(*) AS services
      FROM svc s JOIN ipas i ON i.ip = s.ip GROUP BY i.asn) g
JOIN (SELECT asn, SUM(hosts) AS host_windows, MAX(hosts) AS most FROM hw GROUP BY asn) w USING (asn)
ORDER BY g.asn;
EOF
echo "  c. report by AS, $SINCE .. $UNTIL, $PREFIXES prefixes"
timed report_vantage "$V" report --by asn --pfx2as "$TMP/pfx2as" --since "$SINCE" --until "$UNTIL"
VT[c]=$BEST VRUNS[c]=$RUNS VRSS[c]=$RSS VCPU[c]=$CPU VDCPU[c]=$DCPU
timed report_sqlite sh -c 'exec sqlite3 -readonly "$1" <"$2"' sh "$TMP/db.sqlite" "$TMP/report.sql"
SQ[c]=$BEST SRUNS[c]=$RUNS SRSS[c]=$RSS SCPU[c]=$CPU
awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1, $2, $3, $4 }' "$TMP/report_vantage.best.out" | sort >"$TMP/report_v.out"
awk -F'|' '{ print ($1 == -1 ? "unrouted" : $1), $2, $3, $4 }' "$TMP/report_sqlite.best.out" |
    grep -v '^unrouted' | sort >"$TMP/report_s.out"
if cmp -s "$TMP/report_v.out" "$TMP/report_s.out"; then
    AGREE[c]="yes: $(wc -l <"$TMP/report_v.out") ASes, each with the same prefixes, addresses and services"
else
    AGREE[c]="NO: $(wc -l <"$TMP/report_v.out") ASes against $(wc -l <"$TMP/report_s.out"), $(comm -3 "$TMP/report_v.out" "$TMP/report_s.out" | wc -l) lines differ"
fi

HWM=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVE_PID/status")

echo
echo "$PROG: $F_records records, windows $F_first_window..$F_last_window; wall clock of the CLI, end to end (ms)"
printf '%-40s %11s %11s %9s  %s\n' "command" "vantage" "sqlite3" "speed-up" "figures agree"
for k in a b c; do
    case $k in
    a) name="a. query --count devices, all windows" ;;
    b) name="b. query --prefix /16, one window" ;;
    c) name="c. report --by asn, all windows" ;;
    esac
    printf '%-40s %11.1f %11.1f %8.2fx  %s\n' "$name" "${VT[$k]}" "${SQ[$k]}" \
        "$(awk -v v="${VT[$k]}" -v s="${SQ[$k]}" 'BEGIN { print s / v }')" "${AGREE[$k]}"
done
echo "(speed-up: sqlite3's time / vantage's, > 1 when vantage is faster; target > 1 on each, and b < 50 ms;"
echo " runs timed, vantage/sqlite3: a ${VRUNS[a]}/${SRUNS[a]}, b ${VRUNS[b]}/${SRUNS[b]}, c ${VRUNS[c]}/${SRUNS[c]}: best of those after a warm-up; 1: a single run over ${SLOW_S} s)"
echo "CPU (ms) of the best runs: vantage CLI / daemon's main thread: a ${VCPU[a]} / ${VDCPU[a]}, b ${VCPU[b]} / ${VDCPU[b]}, c ${VCPU[c]} / ${VDCPU[c]}; sqlite3: a ${SCPU[a]}, b ${SCPU[b]}, c ${SCPU[c]}"
echo "peak RSS (MiB): daemon $HWM; CLI count ${VRSS[a]}, prefix ${VRSS[b]}, report ${VRSS[c]}; sqlite3 ${SRSS[a]}, ${SRSS[b]}, ${SRSS[c]}"
echo "load: store ${F_store_s} s (ingest's writes) + ${F_compact_s} s (compaction), ${STORE_MIB} MiB; sqlite3 $(awk -v m="$SQLITE_LOAD" 'BEGIN { printf "%.1f", m / 1000 }') s, ${SQLITE_MIB} MiB"
