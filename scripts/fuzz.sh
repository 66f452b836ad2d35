#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang-14 (build-fuzz/) and runs each for
# SECONDS (default 60) on a copy of its seed corpus, up to $(nproc) at a time:
#   scripts/fuzz.sh [SECONDS]
# Environment: FUZZ_TARGETS="duration flags" runs only those; FUZZ_JOBS=N runs N at a time.
# Each run works in build-fuzz/fuzz-run/<target>/ (the grown corpus, the log, and any
# crashing input under artifacts/); the seed corpus in fuzz/corpus/ is never written.
# Exits non-zero if any target crashed, leaked, timed out (10 s per input) or ran out of
# memory (2 GiB), and prints the input that did it with the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: $0 [seconds-per-target]" >&2
  exit 2
fi
all_targets=(manifest_decoder modelarts_types modelarts_v2_types duration flags)
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"
jobs=${FUZZ_JOBS:-$(nproc)}

bash scripts/install-deps.sh clang-14 libclang-rt-14-dev
if ! compgen -G "/usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  echo "fuzz: libFuzzer runtime missing (package libclang-rt-14-dev)" >&2
  exit 1
fi

start=$SECONDS
# Tests and warnings-as-errors are off: the fuzz build compiles only what the fuzzers need,
# and the project's warning set carries GCC-only options that clang reports as unknown.
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMACTL_FUZZ=ON -DMACTL_BUILD_TESTS=OFF -DMACTL_WERROR=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/%/_fuzzer}"
echo "=== fuzz: built in $((SECONDS - start))s; ${#targets[@]} targets, ${seconds}s each, $jobs at a time" >&2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

run_one() {  # run_one TARGET: fuzzes one target in its own directory; returns its status
  local name=$1
  local dir=build-fuzz/fuzz-run/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp fuzz/corpus/"$name"/* "$dir/corpus/"
  local dict=() rc=0
  if [[ -f fuzz/$name.dict ]]; then dict=(-dict="fuzz/$name.dict"); fi
  build-fuzz/fuzz/"${name}_fuzzer" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "${rc:-0}" >"$dir/rc"
}

for name in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_one "$name" &
done
wait

failed=()
for name in "${targets[@]}"; do
  dir=build-fuzz/fuzz-run/$name
  rc=$(cat "$dir/rc" 2>/dev/null || echo "no status")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 || true)
  artifacts=$(find "$dir/artifacts" -type f | sort)
  if [[ $rc == 0 && -z $artifacts ]]; then
    printf '%-18s ok      %10s runs  %7s exec/s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$cov" >&2
    continue
  fi
  failed+=("$name")
  printf '%-18s FAILED  (exit %s)\n' "$name" "$rc" >&2
  grep -E -A 12 'property violated|ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' \
    "$dir/log" | head -40 >&2 || tail -30 "$dir/log" >&2
  for artifact in $artifacts; do
    echo "  input: $artifact" >&2
    echo "  replay: build-fuzz/fuzz/${name}_fuzzer $artifact" >&2
  done
  echo "  log: $dir/log" >&2
done

echo "=== fuzz: $((SECONDS - start))s in all" >&2
if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
