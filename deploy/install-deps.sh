#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package that vantage's build, tests,
# demo and benchmarks need. It is the only place that lists packages (docs/architecture.md,
# "Dependencies"). Idempotent; silent when everything is already present.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format
  # libFuzzer and the sanitizer runtimes for clang (only recommended by clang)
  libclang-rt-14-dev
  # libraries (docs/architecture.md, "Dependencies")
  libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler libpcap-dev
  librocksdb-dev libsodium-dev libpcre2-dev libjansson-dev libinih-dev
  libmicrohttpd-dev libsystemd-dev libcap-ng-dev libxml2-dev
  # packages (deploy/package.sh): man pages from scdoc, dpkg-shlibdeps, lintian
  scdoc dpkg-dev lintian
  # tests
  libcmocka-dev valgrind libfaketime
  # the lab
  iproute2 nftables tcpdump procps jq iputils-ping util-linux
  # the metrics lab test (tests/lab/test_metrics.sh): scrapes, a format check
  curl python3
  # fingerprint data and benchmark peers
  nmap zmap masscan rocksdb-tools sqlite3 time
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (try: sudo $0)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
