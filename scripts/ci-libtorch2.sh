#!/usr/bin/env bash
# CI's second run: the whole suite against LibTorch 2.6 and PyTorch 2.6 (Debian 13 "trixie"), on a Debian 12 host.
#
# Builds (or reuses, when present and complete) a `debootstrap --variant=minbase trixie` chroot in a cache folder
# outside the checkout, installs Debian's libtorch-dev / python3-torch 2.6 and the build tools inside it, copies the
# checkout's tracked (and untracked, not ignored) files into it, then runs `npm ci`, the native build and `npm test`
# there. The host's build/ and node_modules/ are never touched or copied. Before the tests it packs the two-variant
# tarball: the host's prebuilt (LibTorch 1.13, filed by `node scripts/prebuild.js --from-build` from the host's build
# when prebuilds/ lacks it) beside the 2.6 one built here; the suite's prebuild-variants test reads it, and it is
# copied out to $TORCHGRAFT_CI_OUT (default /var/cache/torchgraft/out) for the same test on the host.
#
# Run as root. Idempotent: a second run reuses the chroot, its npm cache and its ccache, and is much faster.
# Exits non-zero when any stage fails; prints each stage's time at the end either way.
#
# Settings (environment):
#   TORCHGRAFT_TRIXIE_DIR      the chroot (default /var/cache/torchgraft/trixie); its parent holds a lock file
#   TORCHGRAFT_DEBIAN_MIRROR   the Debian archive (default: the host's own deb.debian.org-style mirror)
#   TORCHGRAFT_CI_REBUILD=1    throw the chroot away and build it again
#   TORCHGRAFT_CI_OUT          where the two-variant tarball is copied (default /var/cache/torchgraft/out)
#   TORCHGRAFT_TEST_*          passed through to the suite (e.g. TORCHGRAFT_TEST_SOURCE_BUILD=1)
#   Arguments, if any, are passed to `npm test` (e.g. a list of test files).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${TORCHGRAFT_TRIXIE_DIR:-/var/cache/torchgraft/trixie}
CHROOT=${CHROOT%/}
SUITE=trixie
PACKAGES=(libtorch-dev python3-torch python3-numpy python3-h5py python3-torchvision python3-pil libgloo-dev libopenblas0-pthread nodejs npm cmake g++ make ccache
  ca-certificates)
WORK=/build/torchgraft   # the copy of the checkout, inside the chroot
OUT=${TORCHGRAFT_CI_OUT:-/var/cache/torchgraft/out}
TUPLE=$(node -p 'process.platform + "-" + process.arch')

if [[ $(id -u) -ne 0 ]]; then echo "ci-libtorch2: run as root (debootstrap, chroot and mount need it)" >&2; exit 2; fi
if ! command -v debootstrap >/dev/null && command -v apt-get >/dev/null; then
  echo "ci-libtorch2: installing debootstrap on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }
fi
for tool in debootstrap chroot mount git tar flock; do
  command -v "$tool" >/dev/null || { echo "ci-libtorch2: $tool is missing (apt-get install debootstrap)" >&2; exit 2; }
done

# The host's own Debian mirror (deb822 .sources or one-line sources.list), else deb.debian.org.
host_mirror() {
  local m
  m=$(grep -hE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}') || true
  [[ -n $m ]] || m=$(grep -hE '^deb .*/debian/? ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}') || true
  echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${TORCHGRAFT_DEBIAN_MIRROR:-$(host_mirror)}

# ---- timings ----------------------------------------------------------------------------------------------------
STAGES=()
STAGE_NAME=""
STAGE_T0=0
now() { date +%s.%N; }
stage_begin() { STAGE_NAME=$1; STAGE_T0=$(now); echo; echo "==== ci-libtorch2: $1 ($(date -u +%H:%M:%S) UTC)"; }
stage_end() { # $1: ok | cached | FAILED
  local dt; dt=$(awk -v a="$STAGE_T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  STAGES+=("$(printf '%-16s %8s s  %s' "$STAGE_NAME" "$dt" "$1")")
  echo "==== ci-libtorch2: $STAGE_NAME: $1 in $dt s"
  STAGE_NAME=""
}
T_ALL=$(now)
summary() {
  echo
  echo "==== ci-libtorch2: stage times (chroot $CHROOT)"
  local s; for s in "${STAGES[@]}"; do echo "  $s"; done
  awk -v a="$T_ALL" -v b="$(now)" 'BEGIN { printf "  %-16s %8.1f s\n", "total", b - a }'
}

# ---- mounts, always undone ----------------------------------------------------------------------------------------
# Every mount point at or under $1, deepest first (from /proc/self/mounts, octal escapes decoded).
mounts_under() {
  awk '{ print $2 }' /proc/self/mounts | while IFS= read -r m; do
    m=$(printf '%b' "$m")
    [[ $m == "$1" || $m == "$1"/* ]] && echo "$m"
  done | sort -r
}
unmount_all() {
  local m
  for m in $(mounts_under "$CHROOT"); do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "ci-libtorch2: could not unmount $m" >&2
  done
}
mount_all() {
  mount -t proc proc "$CHROOT/proc"
  mount -t sysfs sys "$CHROOT/sys"
  mount --bind /dev "$CHROOT/dev"
  mkdir -p "$CHROOT/dev/pts" "$CHROOT/dev/shm"
  mount --bind /dev/pts "$CHROOT/dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$CHROOT/dev/shm"
  MOUNTED=1
}
MOUNTED=0
on_exit() {
  local rc=$?
  [[ -n $STAGE_NAME ]] && stage_end FAILED
  unmount_all
  summary
  if [[ $rc -ne 0 ]]; then echo "ci-libtorch2: FAILED (exit $rc)" >&2; else echo "ci-libtorch2: passed"; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One run at a time per chroot.
mkdir -p "$(dirname "$CHROOT")"
exec 9>"$CHROOT.lock"
flock -w 3600 9 || { echo "ci-libtorch2: another run holds $CHROOT.lock" >&2; exit 1; }
unmount_all   # leftovers of a run that was killed hard

# Runs a command as root inside the chroot, with a clean environment.
in_chroot() {
  local pass=() k
  for k in $(compgen -e); do [[ $k == TORCHGRAFT_TEST_* ]] && pass+=("$k=${!k}"); done
  chroot "$CHROOT" /usr/bin/env -i HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CCACHE_DIR=/root/.ccache CI=1 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    ${pass[@]+"${pass[@]}"} "$@"
}

# ---- 1. debootstrap -----------------------------------------------------------------------------------------------
stage_begin debootstrap
if [[ ${TORCHGRAFT_CI_REBUILD:-} == 1 || ! -f $CHROOT/.torchgraft-bootstrap ]] && [[ -e $CHROOT ]]; then
  echo "ci-libtorch2: removing the old or incomplete chroot $CHROOT"
  rm -rf --one-file-system "$CHROOT"
fi
if [[ -f $CHROOT/.torchgraft-bootstrap ]]; then
  stage_end cached
else
  echo "ci-libtorch2: debootstrap --variant=minbase $SUITE $CHROOT $MIRROR"
  debootstrap --variant=minbase "$SUITE" "$CHROOT" "$MIRROR" >"$CHROOT.debootstrap.log" 2>&1 || {
    tail -n 30 "$CHROOT.debootstrap.log" >&2; exit 1; }
  date -u +%FT%TZ >"$CHROOT/.torchgraft-bootstrap"
  stage_end ok
fi

# ---- 2. packages --------------------------------------------------------------------------------------------------
stage_begin packages
# npm and apt inside need the host's name servers and (for npm's TLS) the CA bundle, before ca-certificates is there.
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
mkdir -p "$CHROOT/etc/ssl/certs"
[[ -f $CHROOT/etc/ssl/certs/ca-certificates.crt ]] || cp -L /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/"
mount_all
WANT="${PACKAGES[*]}"
if [[ -f $CHROOT/.torchgraft-packages && $(cat "$CHROOT/.torchgraft-packages") == "$WANT" ]] \
   && in_chroot dpkg-query -W "${PACKAGES[@]}" >/dev/null 2>&1; then
  stage_end cached
else
  # no services start inside the chroot
  printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"; chmod +x "$CHROOT/usr/sbin/policy-rc.d"
  in_chroot apt-get update -q
  in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
  in_chroot apt-get clean
  echo "$WANT" >"$CHROOT/.torchgraft-packages"
  stage_end ok
fi
# ca-certificates rebuilt the bundle from Debian's list alone: put the host's back (it may hold the root of a TLS proxy
# that stands between this machine and the npm registry), on every run since any apt run inside rebuilds it again
cp -L /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/ca-certificates.crt"
in_chroot sh -c 'echo "inside: $(. /etc/os-release; echo $PRETTY_NAME), node $(node --version), npm $(npm --version), cmake $(cmake --version | head -n1 | cut -d" " -f3), $(/usr/bin/python3 -c "import sys, torch, numpy; print(\"python\", sys.version.split()[0], \"torch\", torch.__version__, \"numpy\", numpy.__version__)")"'

# ---- 3. the checkout ----------------------------------------------------------------------------------------------
stage_begin copy
rm -rf --one-file-system "$CHROOT$WORK"
mkdir -p "$CHROOT$WORK"
# tracked files as they are in the work tree (local edits included) plus untracked files git does not ignore
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$CHROOT$WORK"
echo "ci-libtorch2: $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- || echo ' (with local edits)'), $(du -sh "$CHROOT$WORK" | cut -f1) copied to $WORK"
stage_end ok

# ---- 4. npm ci ----------------------------------------------------------------------------------------------------
stage_begin "npm ci"
# TORCHGRAFT_SKIP_BUILD: the install hook would compile here; the next stage does that, timed on its own
in_chroot sh -c "cd $WORK && TORCHGRAFT_SKIP_BUILD=1 npm ci --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=2"
stage_end ok

# ---- 5. native build ----------------------------------------------------------------------------------------------
stage_begin "native build"
in_chroot sh -c "cd $WORK && npm run build:native && ccache -s | grep -Ei 'hits|misses' || true"
in_chroot sh -c "cd $WORK && node -e \"const tg=require('./dist'); console.log('built against LibTorch', tg.buildInfo().torchVersion)\""
stage_end ok

# ---- 6. the two-variant package -------------------------------------------------------------------------------------
stage_begin package
if ! ls "$ROOT/prebuilds/$TUPLE"/torch-*/manifest.json >/dev/null 2>&1; then
  [[ -f $ROOT/build/Release/torchgraft.node ]] || { echo "ci-libtorch2: the host has no build to file as its prebuilt (npm run build:native)" >&2; exit 1; }
  (cd "$ROOT" && node scripts/prebuild.js --from-build)
fi
in_chroot sh -c "cd $WORK && node scripts/prebuild.js --from-build"
for v in "$ROOT/prebuilds/$TUPLE"/torch-*; do
  [[ -e $CHROOT$WORK/prebuilds/$TUPLE/$(basename "$v") ]] || cp -r "$v" "$CHROOT$WORK/prebuilds/$TUPLE/"
done
rm -rf "$CHROOT/build/out" && mkdir -p "$CHROOT/build/out"
in_chroot sh -c "cd $WORK && npm pack --ignore-scripts --silent --pack-destination /build/out >/dev/null"
TARBALL=$(cd "$CHROOT/build/out" && ls torchgraft-*.tgz)
mkdir -p "$OUT" && rm -f "$OUT"/torchgraft-*.tgz && cp "$CHROOT/build/out/$TARBALL" "$OUT/"
echo "ci-libtorch2: $OUT/$TARBALL holds $(tar -tzf "$OUT/$TARBALL" | grep -c '/manifest.json$') prebuilt variants:" \
  "$(tar -tzf "$OUT/$TARBALL" | sed -n 's#^package/prebuilds/[^/]*/\([^/]*\)/manifest.json$#\1#p' | tr '\n' ' ')"
stage_end ok

# ---- 7. tests -----------------------------------------------------------------------------------------------------
stage_begin tests
in_chroot env TORCHGRAFT_TEST_PACKAGE="/build/out/$TARBALL" sh -c "cd $WORK && npm test -- \"\$@\"" sh "$@"
stage_end ok
