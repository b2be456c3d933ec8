#!/usr/bin/env bash
# test_cluster_banners.sh: a campaign started with --banners carries every
# open service's banner and identification into the store, also when its
# worker is killed with SIGKILL in the middle of grabbing: a checkpoint
# counts only once the grabs of its results are stored, so what the dead
# worker had found but not yet grabbed is scanned again, not lost. Then the
# operator's views: query --label, --group-by label, and relabel (the same
# rules change nothing; a new rule names stored banners with no rescan).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_test_init "$@"
. "$(dirname "$0")/cluster.sh"
BANNERCMP=$VANTAGE_BUILD/tests/lab/bannercmp

"$LAB" up --devices 1500 --seed 31 --vantages 1 >"$WORK/up.log" || fail "lab up: $(cat "$WORK/up.log")"
truth=/run/vantage-lab/truth.json
cluster_coordinator
cluster_enroll w1 site-v1
cluster_worker 1 w1
"$VANTAGE" campaign start ban --targets 198.18.0.0/16 --ports $LAB_PORTS --rate 20000 \
  --banners >"$WORK/start.out" || fail "campaign start --banners failed"
"$VANTAGE" campaign status ban --json | jq -e '.banners == true' >/dev/null ||
  fail "the campaign does not say it grabs banners"

# Kill the worker once it has stored results with banners, and start it again.
# (Into a file, then grep: a grep -q that quits early would break the pipe.)
stored_banner() {
  "$VANTAGE" query --format jsonl --state open >"$WORK/early.jsonl" 2>/dev/null &&
    grep -q '"banner"' "$WORK/early.jsonl"
}
for _ in $(seq 150); do
  stored_banner && break
  sleep 0.2
done
stored_banner || fail "no banner stored within 30 s: $(tail -3 "$WORK/w1.log")"
kill -9 "$PID_w1"
wait "$PID_w1" 2>/dev/null || true
note "killed w1 while it was grabbing"
cluster_worker 1 w1
cluster_wait ban 240

# 1. Exactly the truth vantage 1 sees, and the banners of all of it.
cluster_query "$WORK/all.jsonl"
"$TRUTHCMP" --truth "$truth" --vantage 1 --exact "$WORK/all.jsonl" >"$WORK/cmp" 2>&1 ||
  fail "the store differs from what vantage 1 can see after the kill: $(cat "$WORK/cmp")"
"$BANNERCMP" --truth "$truth" --banner-min 0.98 --identify-all --exposure-min 0.98 \
  "$WORK/all.jsonl" >"$WORK/bcmp" || fail "banners in the store below the bar: $(grep -v ' type ' "$WORK/bcmp")"
note "$(grep -v ' type ' "$WORK/bcmp" | sed 's/^bannercmp: //' | tr '\n' ';')"

# 2. --label and --group-by label agree with the rows.
n_login=$(jq -r 'select(.labels.exposure == "telnet-login") | .ip' "$WORK/all.jsonl" | wc -l)
[ "$n_login" -gt 100 ] || fail "only $n_login telnet login prompts stored"
got=$("$VANTAGE" query --label telnet-login --count) || fail "query --label failed"
[ "$got" = "$n_login" ] || fail "query --label telnet-login counts $got, the rows $n_login"
got=$("$VANTAGE" query --label vendor=hikvision --count)
want=$(jq -r 'select(.labels.vendor == "Hikvision") | .ip' "$WORK/all.jsonl" | wc -l)
[ "$got" = "$want" ] && [ "$want" -gt 0 ] || fail "query --label vendor=hikvision counts $got, the rows $want"
"$VANTAGE" query --group-by label --format jsonl >"$WORK/groups.jsonl" || fail "--group-by label failed"
got=$(jq -r 'select(.label == "Hikvision IP Camera") | .count' "$WORK/groups.jsonl")
want=$(jq -r 'select(.labels.vendor == "Hikvision" and .labels.device == "IP Camera") | .ip' \
  "$WORK/all.jsonl" | wc -l)
[ "$got" = "$want" ] || fail "--group-by label counts $got Hikvision IP Cameras, the rows $want"

# 3. relabel: the workers' rules again change nothing; a rule added now names
# stored banners, no packet sent (the worker is stopped first).
kill "$PID_w1"
wait "$PID_w1" 2>/dev/null || true
"$VANTAGE" relabel --quiet >"$WORK/relabel.out" || fail "relabel failed: $(cat "$WORK/relabel.out")"
grep -Eq '^relabelled 0 of [1-9][0-9]* banners' "$WORK/relabel.out" ||
  fail "relabel with the same rules: $(cat "$WORK/relabel.out")"
cat >"$WORK/extra.xml" <<'XML'
<fingerprints matches="html_title">
  <fingerprint pattern="^WEB SERVICE$">
    <description>the title Dahua's web interface shows (test rule)</description>
    <example>WEB SERVICE</example>
    <param pos="0" name="hw.family" value="dahua-web-test"/>
  </fingerprint>
</fingerprints>
XML
"$VANTAGE" relabel --quiet --rules "$WORK/extra.xml" >"$WORK/relabel2.out" ||
  fail "relabel --rules failed: $(cat "$WORK/relabel2.out")"
changed=$(sed -n 's/^relabelled \([0-9]*\) of.*/\1/p' "$WORK/relabel2.out")
[ "${changed:-0}" -gt 0 ] || fail "the new rule relabelled nothing: $(cat "$WORK/relabel2.out")"
got=$("$VANTAGE" query --label dahua-web-test --count)
want=$(jq -r 'select(.banner // "" | test("title: WEB SERVICE")) | .ip' "$WORK/all.jsonl" | wc -l)
[ "$got" = "$want" ] && [ "$want" -gt 0 ] ||
  fail "after relabel, $got rows carry the new label; $want rows show that title"
"$VANTAGE" relabel --rules /nonexistent.xml >/dev/null 2>"$WORK/relabel3.err" &&
  fail "relabel with a missing rules file succeeded"
grep -q "nonexistent" "$WORK/relabel3.err" || fail "the error does not name the path: $(cat "$WORK/relabel3.err")"
note "store exact after a kill -9 mid-grab; $n_login login prompts; relabel named $changed banners"
