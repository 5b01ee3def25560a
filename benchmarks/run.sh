#!/usr/bin/env bash
# Runs the benchmarks and prints their tables (see benchmarks/README.md).
#   benchmarks/run.sh [BUILD_DIR]          default BUILD_DIR: build-bench
# Environment: STORE_ARGS (default "--sizes 10000,100000"), ENGINE_ARGS.
# Builds in Release first. Each program keeps itself under ~3 minutes on a
# 2-core machine (store_bench skips sizes whose fill would not fit
# --time-budget); add STORE_ARGS="--million --time-budget 3600" for 1M patients.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build-bench}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRBRIDGE_BUILD_BENCHMARKS=ON
fi
ninja -C "$build" -j2 engine_bench store_bench >&2

echo "# fhirbridge benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$here" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
echo
echo "## engine_bench ${ENGINE_ARGS:-}"
# shellcheck disable=SC2086
"$build/benchmarks/engine_bench" ${ENGINE_ARGS:-}
echo
echo "## store_bench ${STORE_ARGS:---sizes 10000,100000}"
# shellcheck disable=SC2086
"$build/benchmarks/store_bench" ${STORE_ARGS:---sizes 10000,100000}
