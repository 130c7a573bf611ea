#!/usr/bin/env bash
# Configures and builds phrgate into build/ (binary: build/phrgate). Uses ccache and Ninja.
# Extra arguments go to cmake's configure step, e.g. -DPHRGATE_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
