#!/usr/bin/env bash
# test_worker_run.sh: `vantage-worker run` fails closed on its command line,
# before it opens anything or talks to anyone: without an explicit --scope it
# exits 2 with one line saying how to mend it; a bad --exclude or --user is
# bad usage too; the config file's keys are the flags' names. Needs neither
# root nor a network (every case exits before the spool, the keys or ZeroMQ).
#   test_worker_run.sh PATH-OF-vantage-worker
set -euo pipefail
WORKER=${1:?usage: test_worker_run.sh PATH-OF-vantage-worker}
WORK=$(mktemp -d /tmp/vantage-cli-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "FAIL test_worker_run: $*" >&2
  exit 1
}

# expect STATUS PATTERN ARGS...: run exits STATUS with one stderr line matching PATTERN.
expect() {
  local want=$1 pattern=$2 rc=0
  shift 2
  "$WORKER" run "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "run $*: exit $rc, want $want; stderr: $(cat "$WORK/err")"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "run $*: want one line on stderr, got: $(cat "$WORK/err")"
  grep -qE -- "$pattern" "$WORK/err" || fail "run $*: stderr '$(cat "$WORK/err")' lacks /$pattern/"
}

BASE=(--coordinator tcp://127.0.0.1:9 --server-key "$WORK/none.pub" --key "$WORK/none.key"
  --spool "$WORK/spool")

# No scope, no consent: exit 2, naming the flag and how to allow everything on purpose.
expect 2 '--scope is required.*--scope 0\.0\.0\.0/0' "${BASE[@]}"
expect 2 '--scope is required' "${BASE[@]}" --exclude 198.18.5.0/24
# Bad values of the new flags are bad usage, and nothing was created.
expect 2 'bad --exclude' "${BASE[@]}" --scope 198.18.0.0/16 --exclude 198.18.0.0/33
expect 2 'bad --exclude: it removes every address of --scope' "${BASE[@]}" \
  --scope 198.18.0.0/16 --exclude 198.18.0.0/15
expect 2 'bad --exclude' "${BASE[@]}" --scope 198.18.0.0/16 --exclude "@$WORK/no-such-file"
expect 2 'never runs as root' "${BASE[@]}" --scope 198.18.0.0/16 --user root
expect 2 "no user 'no-such-user-vt'" "${BASE[@]}" --scope 198.18.0.0/16 --user no-such-user-vt
# Banner settings: bad values, a rules path that is not there, a rule file
# that is not Recog's: one line, and nothing made.
expect 2 'bad --banner-concurrency' "${BASE[@]}" --scope 198.18.0.0/16 --banner-concurrency 0
expect 2 'bad --host-cap' "${BASE[@]}" --scope 198.18.0.0/16 --host-cap x
expect 2 'bad --banner-timeout' "${BASE[@]}" --scope 198.18.0.0/16 --banner-timeout 0
expect 2 "bad --metrics 'localhost:9101'" "${BASE[@]}" --scope 198.18.0.0/16 --metrics localhost:9101
expect 2 "bad --metrics '127.0.0.1:0'" "${BASE[@]}" --scope 198.18.0.0/16 --metrics 127.0.0.1:0
expect 2 'bad --user-agent' "${BASE[@]}" --scope 198.18.0.0/16 --user-agent "$(printf 'a\r\nX-Evil: 1')"
expect 1 "--rules $WORK/no-rules" "${BASE[@]}" --scope 198.18.0.0/16 --rules "$WORK/no-rules"
echo '<html><body>not rules</body></html>' >"$WORK/page.xml"
expect 1 "--rules $WORK/page.xml" "${BASE[@]}" --scope 198.18.0.0/16 --rules "$WORK/page.xml"
[ ! -e "$WORK/spool" ] || fail "a refused run created its spool"

# Every flag is a config key: scope, exclude and user from the file.
cat >"$WORK/worker.conf" <<CONF
coordinator = tcp://127.0.0.1:9
server-key = $WORK/none.pub
key = $WORK/none.key
spool = $WORK/spool
exclude = 198.18.0.0/15
user = no-such-user-vt
CONF
expect 2 '--scope is required' --config "$WORK/worker.conf"
expect 2 'bad --exclude: it removes every address' --config "$WORK/worker.conf" \
  --scope 198.18.0.0/16
echo "scope = 198.18.0.0/16" >>"$WORK/worker.conf"
sed -i '/^exclude/d' "$WORK/worker.conf"
expect 2 "no user 'no-such-user-vt'" --config "$WORK/worker.conf"

# --help says all of it.
"$WORKER" run --help >"$WORK/help" || fail "run --help exited $?"
for word in '--scope CIDR' 'required' '--exclude CIDR' '--user NAME' 'CAP_NET_RAW' 'nobody'; do
  grep -qF -- "$word" "$WORK/help" || fail "run --help does not mention '$word'"
done
echo "test_worker_run: --scope required, --exclude and --user checked, config keys work"
