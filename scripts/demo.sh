#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, starts the bundled
# simulator with the demo jobs and the daemon with the example manifests, and keeps
# both running until Ctrl-C. DEMO_LISTEN changes the daemon's address.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target modelarts-controller modelarts-sim

listen=${DEMO_LISTEN:-127.0.0.1:8080}
token=demo-token-not-a-secret
work=$(mktemp -d)
cleanup() {
  kill "${controller_pid:-}" "${sim_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$build_dir/modelarts-sim" --listen 127.0.0.1:0 --port-file "$work/sim.port" \
  --seed deploy/examples/sim-seed.json --token "$token" --kill-delay 5s >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [[ -s "$work/sim.port" ]] && break; sleep 0.1; done
sim_port=$(cat "$work/sim.port")

cat <<MSG
demo: simulator on http://127.0.0.1:$sim_port (GET /_sim/versions shows what it did)
demo: controller on http://$listen — try, in another terminal:
  curl -s http://$listen/metrics | grep modelarts_controller_
  curl -s http://$listen/status
  $build_dir/modelarts-controller get --server http://$listen
demo: Ctrl-C stops both.
MSG

OS_TOKEN=$token "$build_dir/modelarts-controller" run \
  --manifests deploy/examples/manifests \
  --endpoint "http://127.0.0.1:$sim_port" \
  --project-id 5f0c3e9a8b7d4e21a6c1d2e3f4a5b6c7 \
  --listen "$listen" --poll 2s &
controller_pid=$!
wait "$controller_pid"
