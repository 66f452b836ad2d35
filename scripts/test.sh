#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test
# (unit, integration against the real binaries, and the deployment checks).
set -euo pipefail
cd "$(dirname "$0")/.."

# etcd-server: the leader-election tests start a real three-member cluster.
bash scripts/install-deps.sh prometheus yamllint etcd-server
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 300
bash scripts/check-deploy.sh
