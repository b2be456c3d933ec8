#!/usr/bin/env bash
# test_operator_cli.sh: the command-line conventions both programs share,
# checked without root, a network or a daemon:
#   - `PROG help` is `PROG --help`; `PROG help CMD [SUB]` is `PROG CMD [SUB] --help`;
#   - `PROG pubkey < SECRET` prints the public key of a key file that keygen
#     wrote (as `wg pubkey` does), also of a bare Z85 secret key, and refuses
#     a .pub file or junk with one line and exit 1; `worker add --key FILE`
#     takes a .pub and refuses a secret key file or junk before it connects;
#   - one meaning per short option: the letters that meant two things are gone,
#     their long options stay;
#   - `vantage serve` runs vantage-serve, the daemon's own program, found
#     beside vantage; without it, one line that says which file is missing;
#     the CLI loads none of the daemon's libraries (RocksDB, libmicrohttpd,
#     libzmq, CZMQ: it speaks ZMTP and reads key files itself).
#   test_operator_cli.sh PATH-OF-vantage PATH-OF-vantage-worker
set -euo pipefail
VANTAGE=${1:?usage: test_operator_cli.sh PATH-OF-vantage PATH-OF-vantage-worker}
WORKER=${2:?usage: test_operator_cli.sh PATH-OF-vantage PATH-OF-vantage-worker}
WORK=$(mktemp -d /tmp/vantage-cli-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# No daemon: a command that got past its flags fails to connect, fast.
export VANTAGE_CONTROL="ipc://$WORK/no-daemon"

fail() {
  echo "FAIL test_operator_cli: $*" >&2
  exit 1
}

# expect STATUS PATTERN CMD...: CMD exits STATUS with one stderr line matching PATTERN.
expect() {
  local want=$1 pattern=$2 rc=0
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$WORK/err")"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$*: want one line on stderr, got: $(cat "$WORK/err")"
  grep -qE -- "$pattern" "$WORK/err" || fail "$*: stderr '$(cat "$WORK/err")' lacks /$pattern/"
}

# ---- help ----
for prog in "$VANTAGE" "$WORKER"; do
  "$prog" help >"$WORK/a" || fail "$prog help exited $?"
  "$prog" --help >"$WORK/b" || fail "$prog --help exited $?"
  cmp -s "$WORK/a" "$WORK/b" || fail "$prog help differs from $prog --help"
  grep -q 'pubkey' "$WORK/a" || fail "$prog help does not list pubkey"
  expect 2 "unknown command 'no-such'" "$prog" help no-such
done
same_help() { # same_help PROG ARGS...: PROG help ARGS == PROG ARGS --help, and it is a usage
  local prog=$1
  shift
  "$prog" help "$@" >"$WORK/a" || fail "$(basename "$prog") help $*: exit $?"
  "$prog" "$@" --help >"$WORK/b" || fail "$(basename "$prog") $* --help: exit $?"
  cmp -s "$WORK/a" "$WORK/b" || fail "$(basename "$prog") help $* differs from $* --help"
  grep -q "^usage: $(basename "$prog") $*" "$WORK/a" ||
    fail "$(basename "$prog") help $* is not its usage: $(head -1 "$WORK/a")"
}
# ---- the daemon is a program of its own ----
for lib in librocksdb libmicrohttpd libpcre2 libzmq libczmq; do
  ! ldd "$VANTAGE" | grep -q "$lib" || fail "vantage (the CLI) loads $lib: $(ldd "$VANTAGE" | grep "$lib")"
done
mkdir "$WORK/alone"
cp "$VANTAGE" "$WORK/alone/vantage"
if [ ! -e /usr/local/libexec/vantage/vantage-serve ]; then
  expect 1 "cannot run the daemon .*vantage-serve: No such file" "$WORK/alone/vantage" serve --help
fi
same_help "$VANTAGE" campaign
same_help "$VANTAGE" campaign start

same_help "$VANTAGE" campaign set
same_help "$VANTAGE" blocklist add
same_help "$VANTAGE" query
same_help "$VANTAGE" serve
same_help "$VANTAGE" pubkey
same_help "$WORKER" scan
same_help "$WORKER" run
same_help "$WORKER" keygen
same_help "$WORKER" pubkey

"$VANTAGE" campaign start --help | grep -q -- '--dry-run' || fail "campaign start --help lacks --dry-run"

# ---- campaign set: checked before anything is sent ----
expect 2 'nothing to set: give --rate' "$VANTAGE" campaign set iot
expect 2 "bad --rate '0'" "$VANTAGE" campaign set iot --rate 0
expect 2 "bad --rate '5k'" "$VANTAGE" campaign set iot --rate 5k
expect 1 'no-daemon' "$VANTAGE" campaign set iot --rate 5000

# ---- blocklist add: checked before anything is sent ----
expect 2 'whole IPv4 space.*--force' "$VANTAGE" blocklist add 0.0.0.0/0 --reason test
expect 2 'bad|/33' "$VANTAGE" blocklist add 1.2.3.0/33 --reason test
expect 2 '--reason TEXT is required' "$VANTAGE" blocklist add 192.0.2.10-192.0.2.20
rc=0
"$VANTAGE" blocklist add 8.0.0.0/7 --reason test 2>"$WORK/err" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "blocklist add 8.0.0.0/7 without a daemon: exit $rc, want 1"
grep -q 'warning: 8.0.0.0/7 covers 33554432 addresses, more than a /8' "$WORK/err" ||
  fail "blocklist add of a /7 does not warn: $(cat "$WORK/err")"
"$VANTAGE" blocklist list --help | grep -q -- '--format FMT' || fail "blocklist list lacks --format"
"$VANTAGE" worker list --help | grep -q -- '--format FMT' || fail "worker list lacks --format"
"$VANTAGE" campaign list --help | grep -q -- '--format FMT' || fail "campaign list lacks --format"
expect 2 "bad --format 'csv'" "$VANTAGE" blocklist list --format csv

# ---- pubkey ----
"$WORKER" keygen --out "$WORK/w.key" >"$WORK/w.printed"
pub=$(sed -n 's/^ *public-key = "\(.*\)"$/\1/p' "$WORK/w.key.pub")
[ ${#pub} = 40 ] || fail "keygen wrote no public key in w.key.pub"
[ "$(cat "$WORK/w.printed")" = "$pub" ] || fail "keygen printed another key than w.key.pub's"
for prog in "$WORKER" "$VANTAGE"; do
  out=$("$prog" pubkey <"$WORK/w.key") || fail "$prog pubkey < w.key exited $?"
  [ "$out" = "$pub" ] || fail "$prog pubkey printed '$out', want '$pub'"
  [ "$("$prog" pubkey <"$WORK/w.key" | wc -l)" = 1 ] || fail "$prog pubkey: not one line"
done
# A bare Z85 secret key, as `wg pubkey` reads one.
secret=$(sed -n 's/^ *secret-key = "\(.*\)"$/\1/p' "$WORK/w.key")
[ "$(printf '%s\n' "$secret" | "$WORKER" pubkey)" = "$pub" ] || fail "pubkey of a bare secret key"
"$VANTAGE" keygen --out "$WORK/c.key" >"$WORK/c.printed"
[ "$("$VANTAGE" pubkey <"$WORK/c.key")" = "$(cat "$WORK/c.printed")" ] ||
  fail "vantage pubkey of its own key differs from what keygen printed"
expect 1 'public key file: give the secret key file' sh -c "'$WORKER' pubkey <'$WORK/w.key.pub'"
expect 1 'stdin holds no secret key' sh -c "echo hello | '$WORKER' pubkey"
expect 1 'stdin holds no secret key' "$WORKER" pubkey
expect 2 'unexpected argument' "$WORKER" pubkey "$WORK/w.key"
# worker add --key FILE reads the file before it connects: a secret key file
# or another file is refused; a .pub gets through to the (missing) daemon.
expect 2 'holds a SECRET key' "$VANTAGE" worker add w1 --key "$WORK/w.key" --site lab
expect 2 'not a key file written by .vantage-worker keygen. \(line 1:' \
  "$VANTAGE" worker add w1 --key /etc/passwd --site lab
expect 1 'no control socket' "$VANTAGE" worker add w1 --key "$WORK/w.key.pub" --site lab

# ---- one meaning per short option, across both programs ----
# Every "-X, --long" of every --help; a letter may stand for one meaning only
# (--port and --ports are one, so are --rate and --max-rate, --out and --output).
{
  for args in "serve" "keygen" "pubkey" "worker add" "worker list" "worker revoke" \
    "campaign start" "campaign list" "campaign status" "campaign wait" "campaign pause" \
    "campaign resume" "campaign cancel" "campaign set" "query" "blocklist add" \
    "blocklist list" "blocklist remove" "relabel"; do
    # shellcheck disable=SC2086
    "$VANTAGE" $args --help
  done
  for args in scan run keygen pubkey; do "$WORKER" $args --help; done
} | sed -n 's/^  \(-[A-Za-z]\), --\([a-z-]*\).*/\1 \2/p' |
  sed 's/ ports$/ port/; s/ max-rate$/ rate/; s/ output$/ out/' | sort -u >"$WORK/letters"
dups=$(awk '{print $1}' "$WORK/letters" | uniq -d)
[ -z "$dups" ] || fail "short options with two meanings: $(grep -E "^($(echo $dups | tr ' ' '|')) " "$WORK/letters" | tr '\n' ';')"
# the letters given up are refused (their long options stay)
expect 2 "unknown option '-c'" "$VANTAGE" query -c iot
expect 2 "unknown option '-S'" "$VANTAGE" query -S 1h
expect 2 "unknown option '-k'" "$VANTAGE" campaign start x --targets 1.0.0.0/24 --ports 23 -k 2
expect 2 "unknown option '-t'" "$VANTAGE" campaign wait iot -t 5
expect 2 "unknown option '-r'" "$VANTAGE" blocklist add 1.2.3.4 -r x
expect 2 "unknown option '-c'" "$WORKER" run -c tcp://127.0.0.1:9

echo "test_operator_cli: help CMD, pubkey, campaign set, blocklist add, one meaning per letter"
