#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build the
# release CLI at build/loopcheck, and run the conformance corpus on every target
# this machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec build/loopcheck conformance "$@"
