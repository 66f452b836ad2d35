#!/usr/bin/env bash
# Checks everything under deploy/ that operators install (see docs/operations.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Debian package providing each tool; installed only when the tool is missing.
declare -A tool_package=(
  [promtool]=prometheus
  [yamllint]=yamllint
  [systemd-analyze]=systemd
  [/usr/bin/python3]=python3
)

missing=()
for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_package[$tool]}")
done
# The checks below parse YAML with Debian's python3, which needs python3-yaml.
if ! dpkg-query -W -f='${Status}' python3-yaml 2>/dev/null | grep -q "install ok installed"; then
  missing+=(python3-yaml)
fi
if ((${#missing[@]} > 0)); then
  echo "check-deploy: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
