#!/usr/bin/env bash
# Fails if a function in controller/ or cmd/ is longer than 80 lines (README, "Development"),
# naming each with its length. Function extents come from Universal Ctags.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh universal-ctags
limit=${1:-80}
mapfile -t files < <(git ls-files 'controller/*.cc' 'controller/*.h' 'cmd/*.cc')
long=$(ctags -x --_xformat='%n %{end} %F %N' --kinds-c++=f --fields=+ne --language-force=c++ \
  "${files[@]}" | awk -v limit="$limit" '$2 != "" && $2 - $1 + 1 > limit {
    printf "  %s:%s %s (%d lines)\n", $3, $1, $4, $2 - $1 + 1 }')
if [[ -n $long ]]; then
  printf 'check-function-length: functions over %s lines:\n%s\n' "$limit" "$long" >&2
  exit 1
fi
echo "check-function-length: no function over $limit lines in ${#files[@]} files" >&2
