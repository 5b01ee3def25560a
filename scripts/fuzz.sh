#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=30] [TARGET...]
# Env: FUZZ_BUILD_DIR (default build-fuzz, configured with clang++-14 and
# FHIRBRIDGE_FUZZ=ON; built here if needed), FUZZ_JOBS (parallel targets, 1).
# Seeds come from ../shared/fixtures (tests/fuzz/make_corpora.py) plus every
# past crash in tests/fuzz/regressions/<target>/ (replayed first). A crash,
# leak, timeout or OOM input is copied to tests/fuzz/regressions/<target>/ and
# the script exits 1.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_PER_TARGET="${1:-30}"
shift || true
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SHARED="${FHIRBRIDGE_SHARED_DIR:-$ROOT/../shared}"
ALL_TARGETS=(fhir_patient fhir_observation fhir_bundle icure_json query_string http_request json_patch ndjson_import)
TARGETS=("${@:-${ALL_TARGETS[@]}}")

if ! command -v clang++-14 >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang-14 libclang-rt-14-dev || exit 2
fi
if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DFHIRBRIDGE_FUZZ=ON \
    -DFHIRBRIDGE_BUILD_TESTS=OFF -DFHIRBRIDGE_BUILD_BENCHMARKS=OFF || exit 2
fi
cmake --build "$BUILD" -j2 --target "${TARGETS[@]/#/fuzz_}" || exit 2

SEEDS="$BUILD/fuzz-seeds"
rm -rf "$SEEDS"
python3 "$ROOT/tests/fuzz/make_corpora.py" "$SHARED" "$SEEDS" || exit 2

failed=0
for target in "${TARGETS[@]}"; do
  corpus="$BUILD/fuzz-corpus/$target"          # grows across runs (not committed)
  artifacts="$BUILD/fuzz-artifacts/$target/"
  regressions="$ROOT/tests/fuzz/regressions/$target"
  mkdir -p "$corpus" "$artifacts" "$regressions" "$SEEDS/$target"
  rm -f "$artifacts"/*
  echo "== fuzz_$target: ${SECONDS_PER_TARGET}s"
  # -timeout: one input taking >30 s is a hang (generous: the machine is shared); rss limit keeps the
  # shared machine alive; max_len lets http_request carry a bundle.
  bin="$BUILD/tests/fuzz/fuzz_$target"        # where tests/fuzz/CMakeLists.txt puts them
  [[ -x "$bin" ]] || bin="$BUILD/fuzz_$target"
  "$bin" "$corpus" "$SEEDS/$target" "$regressions" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts" >"$BUILD/fuzz-$target.log" 2>&1
  rc=$?
  tail -n 12 "$BUILD/fuzz-$target.log" | grep -E 'stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY' || true
  if [[ $rc -ne 0 ]]; then
    failed=1
    echo "!! fuzz_$target failed (rc=$rc); log: $BUILD/fuzz-$target.log"
    grep -E -A30 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$BUILD/fuzz-$target.log" | head -60
    for f in "$artifacts"*; do
      [[ -f "$f" ]] || continue
      cp "$f" "$regressions/" && echo "   saved $(basename "$f") -> tests/fuzz/regressions/$target/"
    done
  fi
done
exit $failed
