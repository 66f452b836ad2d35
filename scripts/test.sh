#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test
# (unit, integration against the real binaries, and the deployment checks).
set -euo pipefail
cd "$(dirname "$0")/.."

# etcd-server: the leader-election tests start a real three-member cluster.
bash scripts/install-deps.sh prometheus yamllint etcd-server

# The AK/SK oracle (docs/testing.md): sign the test requests again with the vendor's signer,
# pinned in tests/oracle/package-lock.json, and fail if the committed vectors differ.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  bash scripts/install-deps.sh nodejs npm
fi
(cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node tests/oracle/make-aksk-vectors.js --check

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 300
bash scripts/check-deploy.sh
