#!/usr/bin/env bash
# One command: build the release binaries and run the benchmarks, printing a table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMACTL_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target modelarts-controller modelarts-sim
python3 bench/run.py --build build-release "$@"
