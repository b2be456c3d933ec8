#!/usr/bin/env bash
# test_report_cli.sh: `vantage report` and `vantage export` on the command
# line, checked without root, a network or a daemon:
#   - `help report` is `report --help`, the same for export; export's help
#     shows the Kafka, ClickHouse and BigQuery pipelines;
#   - every bad flag, time, prefix length or flag combination exits 2 with one
#     line on stderr that names it;
#   - the --pfx2as file: unreadable exits 1, no prefix line (or gzip data)
#     exits 2, bad lines are named FILE:LINE (the first 10, then a count)
#     and the run goes on;
#   - 'now' is a time; their short options mean what they mean elsewhere.
#   test_report_cli.sh PATH-OF-vantage
set -euo pipefail
VANTAGE=${1:?usage: test_report_cli.sh PATH-OF-vantage}
WORK=$(mktemp -d /tmp/vantage-report-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# No daemon: a command that got past its flags fails to connect, fast.
export VANTAGE_CONTROL="ipc://$WORK/no-daemon"

fail() {
  echo "FAIL test_report_cli: $*" >&2
  exit 1
}

# run CMD...: runs it with stdin closed; sets rc, $WORK/out, $WORK/err.
run() {
  rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
}

# expect STATUS PATTERN CMD...: CMD exits STATUS with one stderr line matching PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 2
  run "$@"
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$WORK/err")"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$*: want one line on stderr, got: $(cat "$WORK/err")"
  grep -qE -- "$pattern" "$WORK/err" || fail "$*: stderr '$(cat "$WORK/err")' lacks /$pattern/"
}

# ---- help ----
for cmd in report export; do
  "$VANTAGE" help $cmd >"$WORK/a" || fail "vantage help $cmd exited $?"
  "$VANTAGE" $cmd --help >"$WORK/b" || fail "vantage $cmd --help exited $?"
  cmp -s "$WORK/a" "$WORK/b" || fail "vantage help $cmd differs from $cmd --help"
  grep -q "^usage: vantage $cmd" "$WORK/a" || fail "$cmd --help is not its usage"
  grep -q "^Examples:" "$WORK/a" || fail "$cmd --help has no examples"
  "$VANTAGE" --help | grep -qE "^  $cmd +[a-z]" || fail "vantage --help does not list $cmd"
done
"$VANTAGE" export --help >"$WORK/a"
for tool in 'kcat -P -b broker:9092 -t vantage-obs' 'INSERT INTO obs FORMAT JSONEachRow' \
  'bq load --source_format=NEWLINE_DELIMITED_JSON'; do
  grep -qF -- "$tool" "$WORK/a" || fail "export --help lacks the pipeline '$tool'"
done
"$VANTAGE" report --help | grep -q 'churn and availability' ||
  fail "report --help does not say what the per-AS estimate assumes"

# ---- report: usage errors, before anything is read or sent ----
printf '198.18.0.0\t15\t64500\n' >"$WORK/ok.pfx2as"
P=$WORK/ok.pfx2as
expect 2 "give --by asn \(with --pfx2as FILE\) or --by prefix/N" "$VANTAGE" report
expect 2 "bad --by 'country'" "$VANTAGE" report --by country
for n in 7 33 x '' -1 24x; do
  expect 2 "bad --by 'prefix/$n': give asn or prefix/N with N 8-32" \
    "$VANTAGE" report --by "prefix/$n"
done
expect 2 '--by asn needs --pfx2as FILE' "$VANTAGE" report --by asn
expect 2 '--pfx2as is for --by asn' "$VANTAGE" report --by prefix/24 --pfx2as "$P"
expect 2 "bad --since 'yesterday'" "$VANTAGE" report --by prefix/24 --since yesterday
expect 2 "bad --until '1764288000'" "$VANTAGE" report --by prefix/24 --until 1764288000
expect 2 "bad --since '2026-02-30'" "$VANTAGE" report --by prefix/24 --since 2026-02-30
expect 2 '--since is later than --until' "$VANTAGE" report --by prefix/24 --since now --until 1h
expect 2 "bad --port '0'" "$VANTAGE" report --by prefix/24 --port 0
expect 2 "bad --port '23,80'" "$VANTAGE" report --by prefix/24 --port 23,80
expect 2 "bad --format 'xml'" "$VANTAGE" report --by prefix/24 --format xml
expect 2 'bad --label' "$VANTAGE" report --by prefix/24 --label ''
expect 2 "unknown option '--asn'" "$VANTAGE" report --by prefix/24 --asn 64500
expect 2 "unknown option '-c'" "$VANTAGE" report --by prefix/24 -c iot
expect 2 '--by needs a value' "$VANTAGE" report --by
expect 2 "unexpected argument 'extra'" "$VANTAGE" report --by prefix/24 extra
expect 2 'ipc://PATH' "$VANTAGE" report --by prefix/24 --control tcp://127.0.0.1:7700
# Past the flags, with no daemon: exit 1.
expect 1 'no-daemon' "$VANTAGE" report --by prefix/24 --since 1d --until now -p 23 -l DVR -f csv
expect 1 'no-daemon' "$VANTAGE" report --by asn --pfx2as "$P" -U now --quiet

# ---- report: the pfx2as file ----
expect 1 "cannot read --pfx2as $WORK/missing.pfx2as: No such file or directory" \
  "$VANTAGE" report --by asn --pfx2as "$WORK/missing.pfx2as"
printf '# only comments\n\n# here\n' >"$WORK/empty.pfx2as"
expect 2 "$WORK/empty.pfx2as holds no prefix line" \
  "$VANTAGE" report --by asn --pfx2as "$WORK/empty.pfx2as"
printf '\037\213\010\000junk\nmore\n' >"$WORK/rv.pfx2as.gz"
run "$VANTAGE" report --by asn --pfx2as "$WORK/rv.pfx2as.gz"
[ "$rc" = 2 ] || fail "a gzip pfx2as file: exit $rc, want 2"
[ "$(wc -l <"$WORK/err")" = 2 ] || fail "a gzip pfx2as file: want 2 lines, got: $(cat "$WORK/err")"
grep -qF "vantage report: $WORK/rv.pfx2as.gz: gzip-compressed, not text: gunzip it first" \
  "$WORK/err" || fail "a gzip pfx2as file: $(cat "$WORK/err")"
# 15 bad lines around good ones: 10 named, 5 counted, then the run goes on
# (to the missing daemon).
{
  printf '# routeviews\n198.18.0.0\t15\t64500\n'
  printf '198.18.0.0\t33\t64500\n'  # line 3
  printf '198.18.0.1\t24\t64500\n'  # line 4
  printf '2001:db8::\t32\t64500\n'  # line 5
  printf '198.18.0.0\t24\tAS64500\n' # line 6
  for i in $(seq 7 17); do printf '10.0.0.%d\t8\t1\n' "$i"; done
  printf '203.0.113.0\t24\t64501_64502,64503\n'
} >"$WORK/bad.pfx2as"
B=$WORK/bad.pfx2as
run "$VANTAGE" report --by asn --pfx2as "$B"
[ "$rc" = 1 ] || fail "a pfx2as file with bad lines: exit $rc, want 1 (no daemon); $(cat "$WORK/err")"
[ "$(wc -l <"$WORK/err")" = 12 ] || fail "want 10 bad lines, a count and the error: $(cat "$WORK/err")"
want=(
  "vantage report: $B:3: prefix length '33' is not 0-32 (skipped)"
  "vantage report: $B:4: host bits set in 198.18.0.1/24 (the network would be 198.18.0.0/24) (skipped)"
  "vantage report: $B:5: '2001:db8::' is not IPv4 (IPv6 prefixes are not supported) (skipped)"
  "vantage report: $B:6: ASN 'AS64500' is not a number 0-4294967295 (or N_N, N,N) (skipped)"
  "vantage report: $B:7: host bits set in 10.0.0.7/8 (the network would be 10.0.0.0/8) (skipped)"
)
for i in "${!want[@]}"; do
  line=$(sed -n "$((i + 1))p" "$WORK/err")
  [ "$line" = "${want[$i]}" ] || fail "bad line $((i + 1)) reported as '$line', want '${want[$i]}'"
done
[ "$(sed -n 11p "$WORK/err")" = "vantage report: $B: 5 more bad lines (skipped)" ] ||
  fail "no count of the bad lines not shown: $(sed -n 11p "$WORK/err")"
sed -n 12p "$WORK/err" | grep -q 'no-daemon' || fail "the run did not go on: $(cat "$WORK/err")"
# The last of a prefix given twice wins; the earlier is named.
printf '10.0.0.0\t8\t1\n10.0.0.0\t8\t2\n' >"$WORK/dup.pfx2as"
run "$VANTAGE" report --by asn --pfx2as "$WORK/dup.pfx2as"
grep -qF "$WORK/dup.pfx2as:1: 10.0.0.0/8 is given again on line 2 (skipped: the last line wins)" \
  "$WORK/err" || fail "a duplicate prefix: $(cat "$WORK/err")"

# ---- export ----
expect 2 'give the period: --since T and --until T' "$VANTAGE" export
expect 2 'give the period' "$VANTAGE" export --since 1d
expect 2 'give the period' "$VANTAGE" export --until now
expect 2 "bad --format 'table': give jsonl or csv" "$VANTAGE" export --since 1d --until now -f table
expect 2 "bad --until 'soon'" "$VANTAGE" export --since 1d --until soon
expect 2 '--since is later than --until' "$VANTAGE" export --since now --until 2h
expect 2 "unknown option '--state'" "$VANTAGE" export --since 1d --until now --state open
expect 2 "unexpected argument" "$VANTAGE" export --since 1d --until now obs.jsonl
expect 1 'no-daemon' "$VANTAGE" export --since 1d --until now
expect 1 'no-daemon' "$VANTAGE" export --since 2026-11-28 -U 2026-11-28T23:59:59Z -f csv -q

# ---- one meaning per short option, these commands with the others ----
{
  for args in "query" "relabel" "campaign start" "worker add" "blocklist add" "report" "export"; do
    # shellcheck disable=SC2086
    "$VANTAGE" $args --help
  done
} | sed -n 's/^  \(-[A-Za-z]\), --\([a-z-]*\).*/\1 \2/p' | sed 's/ ports$/ port/' |
  sort -u >"$WORK/letters"
dups=$(awk '{print $1}' "$WORK/letters" | uniq -d)
[ -z "$dups" ] || fail "short options with two meanings: $(tr '\n' ';' <"$WORK/letters")"

echo "test_report_cli: help, usage errors, the pfx2as file, export's period, 'now'"
