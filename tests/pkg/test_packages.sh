#!/usr/bin/env bash
# test_packages.sh: the Debian packages, as an operator and a partner get them.
#
#   1. clone the repository afresh (HEAD: what is committed) and build both
#      packages with deploy/package.sh (lintian errors fail it); build the
#      worker alone too, with RocksDB and cmocka hidden from pkg-config, and
#      check its package does not depend on RocksDB;
#   2. install both with dpkg -i; check the system users, state directories,
#      conffiles, man pages (man -w), the units (systemd-analyze verify, and
#      security exposure <= 2.0);
#   3. start both daemons as their units would (same user, config, ambient
#      CAP_NET_RAW for the worker): the shipped configs refuse to start (no
#      key; no scope), then with keys made as the guides say the coordinator
#      serves and the enrolled worker connects and passes its privilege checks;
#   4. dpkg -P both and check that nothing is left but what Debian keeps (the
#      system users, the administrator's key files in /etc/vantage); then
#      remove those too, so the machine is as before.
#
# systemd is not always PID 1 where this runs (a container, a CI sandbox):
# `systemctl start` and the Type=notify/watchdog handshake are then not tested,
# the daemons are started by hand as the units would start them.
#
# Not beside the lab tests: while the user vantage-worker exists, a worker
# they start as root becomes it (its default user) rather than nobody, and
# the purge cannot then delete it (CTest: RESOURCE_LOCK lab).
#
# usage: tests/pkg/test_packages.sh [SOURCE_DIR]   (needs root; exit 77 = skipped)
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "test_packages: skipped: needs root (it installs packages and makes users)"
  exit 77
fi
for tool in dpkg dpkg-deb git setpriv; do
  if ! command -v $tool >/dev/null; then
    echo "test_packages: skipped: $tool is missing"
    exit 77
  fi
done
if dpkg-query -W -f='${Status}\n' vantage vantage-worker 2>/dev/null | grep -q installed ||
  getent passwd vantage >/dev/null || getent passwd vantage-worker >/dev/null ||
  [ -e /etc/vantage ]; then
  echo "test_packages: skipped: vantage is installed on this machine (or its users or /etc/vantage exist); this test would remove them"
  exit 77
fi

tmp=$(mktemp -d /tmp/test_packages.XXXXXX)
pids=()
fail() {
  echo "test_packages: FAIL: $*" >&2
  exit 1
}
cleanup() {
  set +e
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  dpkg -P vantage vantage-worker >/dev/null 2>&1 || true
  rm -rf /etc/vantage /run/vantage /var/lib/vantage /var/lib/vantage-worker
  rm -f /etc/systemd/system/multi-user.target.wants/vantage.service \
    /etc/systemd/system/multi-user.target.wants/vantage-worker.service
  local u
  for _ in $(seq 50); do # userdel refuses a user with processes
    pgrep -u vantage,vantage-worker >/dev/null 2>&1 || break
    sleep 0.2
  done
  for u in vantage vantage-worker; do
    getent passwd $u >/dev/null && deluser --quiet --system $u >/dev/null 2>&1
    getent group $u >/dev/null && delgroup --quiet --system $u >/dev/null 2>&1
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
step() { echo "test_packages: $*"; }

# 1. Build from a fresh clone.
step "cloning $src and building the packages"
git clone -q --no-local "$src" "$tmp/src"
"$tmp/src/deploy/package.sh" --out "$tmp/out" >"$tmp/package.log" 2>&1 ||
  { cat "$tmp/package.log"; fail "deploy/package.sh failed"; }
grep -E '^  [EW]: ' "$tmp/package.log" || true
coord=$(ls "$tmp"/out/vantage_*.deb)
worker=$(ls "$tmp"/out/vantage-worker_*.deb)

step "building the worker alone, with RocksDB and cmocka hidden"
mkdir "$tmp/pc"
IFS=: read -ra pcdirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${pcdirs[@]}"; do
  [ -d "$d" ] && find "$d" -maxdepth 1 -name '*.pc' -exec cp -n {} "$tmp/pc/" \;
done
rm -f "$tmp/pc/rocksdb.pc" "$tmp/pc/cmocka.pc"
PKG_CONFIG_LIBDIR=$tmp/pc "$tmp/src/deploy/package.sh" --worker-only --out "$tmp/out-w" \
  >"$tmp/package-w.log" 2>&1 || { cat "$tmp/package-w.log"; fail "package.sh --worker-only failed"; }
[ ! -e "$tmp"/out-w/vantage_*.deb ] || fail "--worker-only made the coordinator's package"
deps=$(dpkg-deb -f "$tmp"/out-w/vantage-worker_*.deb Depends)
case $deps in *rocksdb* | *cmocka*) fail "the worker-only package depends on: $deps" ;; esac
case $(dpkg-deb -f "$worker" Depends) in *rocksdb*) fail "vantage-worker depends on RocksDB" ;; esac

# 2. Install.
step "installing $(basename "$coord") $(basename "$worker")"
dpkg -i "$coord" "$worker" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log"; fail "dpkg -i failed"; }
dpkg -L vantage vantage-worker | sort -u >"$tmp/files"

for u in vantage vantage-worker; do
  IFS=: read -r _ _ uid _ _ home shell <<<"$(getent passwd $u)" || fail "no user $u"
  [ "$uid" -lt 1000 ] || fail "user $u is not a system user (uid $uid)"
  [ "$shell" = /usr/sbin/nologin ] || fail "user $u has shell $shell"
  [ "$home" = /var/lib/$u ] || fail "user $u has home $home"
  [ "$(stat -c '%U %a' /var/lib/$u)" = "$u 700" ] || fail "/var/lib/$u is $(stat -c '%U %a' /var/lib/$u)"
done
[ "$(cat /var/lib/dpkg/info/vantage.conffiles)" = /etc/vantage/vantage.conf ] ||
  fail "vantage's conffiles: $(cat /var/lib/dpkg/info/vantage.conffiles)"
[ "$(cat /var/lib/dpkg/info/vantage-worker.conffiles)" = /etc/vantage/worker.conf ] ||
  fail "vantage-worker's conffiles: $(cat /var/lib/dpkg/info/vantage-worker.conffiles)"
dpkg -V vantage vantage-worker || fail "dpkg -V: installed files differ from the packages"
for page in 1:vantage 8:vantage-worker 5:vantage.conf; do
  man -w "${page%%:*}" "${page#*:}" >/dev/null || fail "no man page ${page#*:}(${page%%:*})"
done
units="/lib/systemd/system/vantage.service /lib/systemd/system/vantage-worker.service"
systemd-analyze verify $units >"$tmp/verify" 2>&1 || { cat "$tmp/verify"; fail "systemd-analyze verify"; }
[ ! -s "$tmp/verify" ] || { cat "$tmp/verify"; fail "systemd-analyze verify printed warnings"; }
for unit in $units; do
  level=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$level" ] || fail "systemd-analyze security gave no level for $unit"
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "$unit: exposure $level > 2.0"
  step "$(basename "$unit"): systemd-analyze verify clean, exposure $level"
done

if [ "$(ps -p 1 -o comm=)" != systemd ]; then
  step "systemd is not PID 1 here ($(ps -p 1 -o comm=)): systemctl start, Type=notify and the watchdog are not tested"
fi

# 3. Start the daemons as their units do: User=, the shipped config, and for
# the worker AmbientCapabilities=CAP_NET_RAW (NoNewPrivileges as well).
# setpriv execs the daemon, so $! is the daemon's pid.
as_coordinator=(setpriv --reuid=vantage --regid=vantage --init-groups --no-new-privs)
as_worker=(setpriv --reuid=vantage-worker --regid=vantage-worker --init-groups
  --inh-caps=+net_raw --ambient-caps=+net_raw --bounding-set=-all,+net_raw --no-new-privs)
as_coordinator() { "${as_coordinator[@]}" "$@"; }
set +e
"${as_worker[@]}" /usr/bin/vantage-worker run --config /etc/vantage/worker.conf 2>"$tmp/w0"
rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- '--scope is required' "$tmp/w0" ||
  fail "the shipped worker.conf did not refuse to start (exit $rc: $(cat "$tmp/w0"))"
set +e
as_coordinator /usr/bin/vantage serve --config /etc/vantage/vantage.conf 2>"$tmp/c0"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'vantage keygen --out /etc/vantage/coordinator.key' "$tmp/c0" ||
  fail "the shipped vantage.conf did not refuse to start without a key (exit $rc: $(cat "$tmp/c0"))"

step "keys as the guides make them; the daemons started as their units would"
vantage keygen --out /etc/vantage/coordinator.key >/dev/null
chown root:vantage /etc/vantage/coordinator.key && chmod 0640 /etc/vantage/coordinator.key
vantage-worker keygen --out /etc/vantage/worker.key >/dev/null
chown root:vantage-worker /etc/vantage/worker.key && chmod 0640 /etc/vantage/worker.key
install -d -m 0700 -o vantage -g vantage /run/vantage # RuntimeDirectory=vantage
port=$((20000 + RANDOM % 20000))
"${as_coordinator[@]}" /usr/bin/vantage serve --config /etc/vantage/vantage.conf \
  --listen tcp://127.0.0.1:$port >"$tmp/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  as_coordinator vantage worker list >/dev/null 2>&1 && break
  sleep 0.2
done
as_coordinator vantage worker list >/dev/null || { cat "$tmp/serve.log"; fail "vantage serve did not answer"; }
as_coordinator vantage worker add pkgtest --key /etc/vantage/worker.key.pub --site pkgtest >/dev/null
"${as_worker[@]}" /usr/bin/vantage-worker run --config /etc/vantage/worker.conf \
  --coordinator tcp://127.0.0.1:$port --server-key /etc/vantage/coordinator.key.pub \
  --scope 192.0.2.0/24 >"$tmp/worker.log" 2>&1 &
wpid=$!
pids+=($wpid)
online=
for _ in $(seq 50); do
  if as_coordinator vantage worker list | awk '$1 == "pkgtest" && $4 == "yes" { f = 1 } END { exit !f }'; then
    online=1
    break
  fi
  sleep 0.2
done
[ -n "$online" ] || { cat "$tmp/serve.log" "$tmp/worker.log"; fail "the worker did not come online"; }
helper=$(pgrep -P "$wpid" -x vw-scan-helper || true)
[ -n "$helper" ] || { cat "$tmp/worker.log"; fail "no vw-scan-helper under the worker"; }
grep -q '^CapEff:.*0000000000002000' /proc/"$helper"/status || fail "vw-scan-helper: $(grep Cap /proc/"$helper"/status)"
grep -q '^CapEff:.*0000000000000000' /proc/"$wpid"/status || fail "worker main: $(grep CapEff /proc/"$wpid"/status)"
# `vantage serve` is the CLI exec'ing the daemon: the same process (systemd's
# main PID for Type=notify), now the program in /usr/libexec.
[ "$(cat /proc/"${pids[0]}"/comm)" = vantage-serve ] ||
  fail "vantage serve did not become vantage-serve in its own process ($(cat /proc/"${pids[0]}"/comm))"
[ "$(readlink /proc/"${pids[0]}"/exe)" = /usr/libexec/vantage/vantage-serve ] ||
  fail "the daemon runs $(readlink /proc/"${pids[0]}"/exe)"
step "coordinator serving, worker online as vantage-worker (helper CAP_NET_RAW only)"
kill -TERM "${pids[@]}"
for p in "${pids[@]}"; do
  wait "$p" || fail "a daemon exited $? on SIGTERM (logs: $(cat "$tmp/serve.log" "$tmp/worker.log"))"
done
pids=()
# The worker's helper and scan processes end with it (KillMode=mixed would
# kill them anyway); none of either user may be left.
for _ in $(seq 50); do
  pgrep -u vantage,vantage-worker >/dev/null || break
  sleep 0.2
done
! pgrep -u vantage,vantage-worker -a || fail "processes of vantage or vantage-worker left 10 s after SIGTERM"
rm -rf /run/vantage # systemd removes RuntimeDirectory= at stop

# An enable made by the administrator, which purge must undo.
systemctl enable vantage.service vantage-worker.service >/dev/null 2>&1 || true
[ -L /etc/systemd/system/multi-user.target.wants/vantage-worker.service ] ||
  step "systemctl enable made no link here: that purge removes it is not tested"

# 4. Remove, purge, and see what is left.
step "dpkg -r, dpkg -P"
dpkg -r vantage vantage-worker >/dev/null
[ -e /etc/vantage/worker.conf ] || fail "dpkg -r removed the conffile worker.conf"
dpkg -P vantage vantage-worker >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "dpkg -P"; }
while read -r f; do
  [ -d "$f" ] && continue
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after dpkg -P"
done <"$tmp/files"
for f in /etc/vantage/vantage.conf /etc/vantage/worker.conf /var/lib/vantage /var/lib/vantage-worker \
  /etc/systemd/system/multi-user.target.wants/vantage.service \
  /etc/systemd/system/multi-user.target.wants/vantage-worker.service; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after dpkg -P"
done
left=$(cd /etc/vantage && ls | sort | tr '\n' ' ')
[ "$left" = "coordinator.key coordinator.key.pub worker.key worker.key.pub " ] ||
  fail "/etc/vantage holds '$left' after dpkg -P (expected only the keys made here)"
getent passwd vantage >/dev/null && getent passwd vantage-worker >/dev/null ||
  fail "the system users went with dpkg -P (Debian keeps them)"
step "left after dpkg -P, as Debian keeps them: users vantage and vantage-worker, the key files in /etc/vantage (removed now)"
echo "test_packages: ok"
