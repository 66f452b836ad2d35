#!/usr/bin/env bash
# Builds and runs the whole test suite (unit and integration) under sanitizers:
#   scripts/sanitizers.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   scripts/sanitizers.sh tsan   ThreadSanitizer (build-tsan/)
#   scripts/sanitizers.sh all    both, one after the other (the default; what CI runs)
# The configure, build and test presets are in CMakePresets.json; the test presets carry the
# sanitizer options, which make any report fatal. ASan, LSan and TSan reports go to
# <build>/sanitizer-logs/, also those of the daemon and the simulator started by integration
# tests (their own stderr is a file in a temporary directory); any file there after the run
# fails it and is printed. UBSan ignores log_path in an ASan build: a test program's report
# is in ctest's output, and the integration harness fails the test whose child a sanitizer
# stopped, printing the child's stderr (tests/integration/harness.h).
# Exits non-zero if a test failed or any sanitizer reported anything.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-all}" in
  asan | tsan) presets=("$1") ;;
  all) presets=(asan tsan) ;;
  *)
    echo "usage: $0 [asan|tsan|all]" >&2
    exit 2
    ;;
esac

bash scripts/install-deps.sh etcd-server  # the leader-election tests run a real cluster

# The soaks run at their default length (SOAK_SECONDS, 20 s of faults; the restart soak is
# a fixed 6 restarts): about 25 s each under either sanitizer, run beside the other tests.
# Set SOAK_SECONDS in the environment to change it.

timings=()
failed=()
phase() {  # phase NAME COMMAND...: runs and times one phase; its status is returned
  local name=$1 start=$SECONDS rc=0
  shift
  echo "=== sanitizers: $name" >&2
  "$@" || rc=$?
  timings+=("$(printf '%-12s %4ds' "$name" $((SECONDS - start)))")
  return "$rc"
}

build() {  # build PRESET: configures and builds it
  cmake --preset "$1" >/dev/null && cmake --build --preset "$1" -j "$(nproc)"
}

for preset in "${presets[@]}"; do
  logs=build-$preset/sanitizer-logs
  if ! phase "build $preset" build "$preset"; then
    failed+=("build $preset")
    continue
  fi
  # Fresh logs for this run; world-writable because a test drops privileges in a child.
  rm -rf "$logs"
  mkdir -p "$logs"
  chmod 1777 "$logs"
  phase "test $preset" ctest --preset "$preset" || failed+=("tests under $preset")
  reports=("$logs"/*)
  if [[ -e ${reports[0]} ]]; then
    failed+=("${#reports[@]} sanitizer report(s) under $preset")
    for report in "${reports[@]}"; do
      echo "===== $report" >&2
      cat "$report" >&2
    done
  fi
done

echo "=== sanitizers: wall time per phase" >&2
printf '  %s\n' "${timings[@]}" >&2
if ((${#failed[@]} > 0)); then
  printf 'sanitizers: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "sanitizers: ${presets[*]}: all tests passed, no reports" >&2
