#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only when one is missing.
# Used by both README commands and by .ci/run. Extra package names may be passed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ca-certificates curl python3 openssl
  libcpp-httplib-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libssl-dev
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
