#!/usr/bin/env bash
# Installs every Debian 12 package loopcheck needs to build, test and run.
# Idempotent; run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang llvm libclang-rt-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libxxhash-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  libz3-dev util-linux libboost-graph-dev graphviz libclang-dev
  qemu-system-x86 libarchive-dev liblzma-dev e2fsprogs
  libtomlplusplus-dev chromium slurmctld slurmd slurm-client munge python3-junitparser
)

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: needs root to apt-get install; run it as root or install sudo" >&2
    exit 2
  fi
fi

# The vm tier's custom-module test builds loop.ko from Debian's kernel source
# against one kernel's headers (docs/custom-kernels.md). apt may have dropped an
# old ABI's headers: then that test skips loudly, and nothing else depends on them.
optional_packages=(linux-source-6.1 linux-headers-6.1.0-56-cloud-amd64)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_optional() {
  for p in "${optional_packages[@]}"; do
    installed "$p" && continue
    if ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq \
        --no-install-recommends "$p"; then
      echo "install-deps: $p is not installable; the custom loop.ko test will skip" >&2
    fi
  done
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
for p in "${optional_packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all $(( ${#packages[@]} + ${#optional_packages[@]} )) packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
required=()
for p in "${packages[@]}"; do installed "$p" || required+=("$p"); done
if [ "${#required[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "${required[@]}"
fi
install_optional
