#!/usr/bin/env bash
# scripts/build-pgo.sh [BUILD_DIR] [TARGET...]: a profile-guided Release build (GCC) of
# fhirbridge and the benchmarks, in BUILD_DIR (default build-pgo):
#   1. an instrumented build (-DFHIRBRIDGE_PGO=GENERATE) of fhirbridge, engine_bench, store_bench;
#   2. the training workload, benchmarks/pgo/train.sh (synthetic data, ~1-2 minutes);
#   3. the same tree rebuilt with the counts (-DFHIRBRIDGE_PGO=USE): TARGETs, default all.
# Twice the build time of scripts/build.sh. What it gains: benchmarks/README.md,
# "Profile-guided builds". Needs node (scripts/setup.sh) for the HTTP part of the training.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-pgo}
shift || true
configure() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRBRIDGE_BUILD_BENCHMARKS=ON \
    -DFHIRBRIDGE_PGO="$1" >/dev/null
}
configure GENERATE
find "$BUILD_DIR" -name '*.gcda' -delete  # counts of an earlier training or of older code
cmake --build "$BUILD_DIR" -j"$(nproc)" --target fhirbridge engine_bench store_bench
benchmarks/pgo/train.sh "$BUILD_DIR"
configure USE
if (($#)); then
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target "$@"
else
  cmake --build "$BUILD_DIR" -j"$(nproc)"
fi
echo "# scripts/build-pgo.sh: profile-guided build in $BUILD_DIR" >&2
