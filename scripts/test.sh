#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install dependencies, build
# the test build (gcc, ASan + UBSan, -Werror) at build/, and run every test
# (unit, property, CLI and corpus tests) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug -j "$(nproc)"
