#!/usr/bin/env bash
# package.sh: builds the two Debian 12 packages from this source tree, as an
# operator would, in a fresh build directory:
#
#   vantage         the coordinator: /usr/bin/vantage (the CLI; `vantage serve`
#                   execs /usr/libexec/vantage/vantage-serve), vantage.service,
#                   /etc/vantage/vantage.conf, vantage(1), vantage.conf(5), docs
#   vantage-worker  the worker alone: /usr/bin/vantage-worker,
#                   vantage-worker.service, /etc/vantage/worker.conf,
#                   vantage-worker(8), the partner's docs
#
# Each is a tree staged by `cmake --install --component` (DESTDIR), plus
# DEBIAN/{control,conffiles,md5sums,postinst,prerm,postrm} from deploy/debian/,
# turned into a .deb by `dpkg-deb --build`. Depends come from dpkg-shlibdeps,
# so the worker's list is what the worker links. lintian checks each package
# when it is installed; an error fails the build, warnings are printed.
#
# usage: deploy/package.sh [--out DIR] [--worker-only] [--jobs N]
#   --out DIR       where the .deb files go (default: ./packages)
#   --worker-only   build the worker alone (-DVANTAGE_COORDINATOR=OFF: no
#                   RocksDB, no cmocka needed) and only the vantage-worker package
#   --jobs N        parallel compile jobs (default: nproc)
#
# Install: apt install ./packages/vantage-worker_*.deb (docs/partner-guide.md),
# apt install ./packages/vantage_*.deb (docs/operator-guide.md).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=$PWD/packages
worker_only=0
jobs=$(nproc)

usage() {
  sed -n '/^# usage:/,/^#   --jobs/s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
  --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
  --worker-only) worker_only=1; shift ;;
  --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
  -h | --help) usage ;;
  *) echo "package.sh: unknown argument '$1' (try 'deploy/package.sh --help')" >&2; exit 2 ;;
  esac
done

for tool in cmake dpkg-deb dpkg-shlibdeps dpkg-buildflags scdoc strip; do
  if ! command -v "$tool" >/dev/null; then
    echo "package.sh: $tool is missing (run deploy/install-deps.sh as root)" >&2
    exit 1
  fi
done

version=$(sed -n 's/^project(vantage VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
debian_version=$(sed -n '1s/^vantage (\(.*\)).*/\1/p' "$src/deploy/debian/changelog")
if [ "${debian_version%-*}" != "$version" ]; then
  echo "package.sh: deploy/debian/changelog is at $debian_version but CMakeLists.txt at $version; add a changelog entry" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/vantage-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Debian's build flags (hardening: fortify, stack protector, relro, bindnow).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
coordinator=ON
packages="vantage vantage-worker"
if [ $worker_only -eq 1 ]; then
  coordinator=OFF
  packages=vantage-worker
fi

echo "package.sh: building $version in $work/build" >&2
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_TESTING=OFF -DVANTAGE_COORDINATOR=$coordinator \
  "-DCMAKE_C_FLAGS=$cflags" "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" >"$work/cmake.log" ||
  { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j"$jobs" >"$work/build.log" 2>&1 ||
  { grep -E -A3 'error|Error' "$work/build.log" | head -40 >&2; exit 1; }

# stage PKG COMPONENT: the package's tree in $work/PKG.
stage() {
  local pkg=$1 component=$2 root=$work/$1
  DESTDIR=$root cmake --install "$work/build" --component "$component" >/dev/null
  # The programs: /usr/bin, and the coordinator's daemon in /usr/libexec/vantage.
  local programs
  programs=$(find "$root/usr/bin" -type f; [ ! -d "$root/usr/libexec" ] || find "$root/usr/libexec" -type f)
  # As dh_strip does; no -dbgsym package is made.
  # shellcheck disable=SC2086 # one path a word: the staged tree has no spaces
  strip --remove-section=.comment --remove-section=.note --strip-unneeded $programs
  [ ! -d "$root/usr/share/man" ] || find "$root/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
  local doc=$root/usr/share/doc/$pkg
  install -d "$doc"
  install -m 0644 "$src/deploy/debian/copyright" "$doc/copyright"
  gzip -9nc "$src/deploy/debian/changelog" >"$doc/changelog.Debian.gz"
  # Guides over 4 KiB are compressed, as dh_compress does (lintian asks it).
  find "$doc" -type f -name '*.md' -size +4k -exec gzip -9n {} +
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  # shellcheck disable=SC2086
  chmod 0755 $programs

  install -d "$root/DEBIAN"
  local script
  for script in postinst prerm postrm; do
    sed "s/@PKG@/$pkg/g" "$src/deploy/debian/$script.in" >"$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
  done
  (cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$root/DEBIAN/md5sums"

  # dpkg-shlibdeps reads debian/control of a source tree: give it a minimal one.
  local shl=$work/shlibs-$pkg
  mkdir -p "$shl/debian"
  printf 'Source: vantage\n\nPackage: %s\nArchitecture: any\n' "$pkg" >"$shl/debian/control"
  local shlibs
  # shellcheck disable=SC2086
  shlibs=$(cd "$shl" && dpkg-shlibdeps -O $programs 2>"$work/shlibdeps-$pkg.log" |
    sed -n 's/^shlibs:Depends=//p')
  if [ -z "$shlibs" ]; then
    echo "package.sh: dpkg-shlibdeps found no dependencies for $pkg:" >&2
    cat "$work/shlibdeps-$pkg.log" >&2
    exit 1
  fi
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$debian_version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@SHLIBS@/$shlibs/" "$src/deploy/debian/$pkg.control" >"$root/DEBIAN/control"

  local deb=$out/${pkg}_${debian_version}_${arch}.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "package.sh: $deb" >&2
}

for pkg in $packages; do
  case $pkg in
  vantage) stage vantage coordinator ;;
  vantage-worker) stage vantage-worker worker ;;
  esac
done

if command -v lintian >/dev/null; then
  status=0
  for pkg in $packages; do
    deb=$out/${pkg}_${debian_version}_${arch}.deb
    lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian-$pkg.log" 2>&1 || status=1
    if [ -s "$work/lintian-$pkg.log" ]; then
      echo "package.sh: lintian $(basename "$deb"):" >&2
      sed 's/^/  /' "$work/lintian-$pkg.log" >&2
    fi
  done
  if [ $status -ne 0 ]; then
    echo "package.sh: lintian found errors (above)" >&2
    exit 1
  fi
else
  echo "package.sh: lintian is missing, packages not checked (run deploy/install-deps.sh)" >&2
fi
