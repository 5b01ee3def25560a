#!/usr/bin/env bash
# Prints the whole benchmark table (see benchmarks/README.md):
#   engine ratio, store inserts/s (one transaction, one per call), reads/s,
#   search latency and growth at each size, bulk import rate, and the peak RSS
#   of `fhirbridge import` on a generated NDJSON file.
#
#   benchmarks/run.sh [--sizes 10000,100000,1000000] [--rss-resources 1000000]
#                     [--build DIR] [--pgo] [--quick]
#
#   --sizes           store sizes in patients (default 10000,100000; 1M takes minutes)
#   --rss-resources   resources in the file imported under /usr/bin/time (default 100000;
#                     0 skips it)
#   --quick           small everything (a smoke run: 2000 patients, 20k resources)
#   --build DIR       build directory (default build-bench; configured Release if needed)
#   --pgo             a profile-guided Release build (scripts/build-pgo.sh: builds, trains on
#                     synthetic data and rebuilds, ~7 minutes more; default DIR build-pgo)
# Environment: ENGINE_ARGS, STORE_ARGS are appended to each program's options.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build=""
pgo=0
sizes="10000,100000"
rss_resources=100000
engine_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --rss-resources) rss_resources="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --pgo) pgo=1; shift ;;
    --quick) sizes="2000"; rss_resources=20000; engine_args="--patients 1000 --rounds 2"; shift ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) build="$1"; shift ;;  # the old positional BUILD_DIR
  esac
done

targets=(engine_bench crypto_bench store_bench fhirbridge)
if [ "$pgo" = 1 ]; then
  # Trained again every time: counts of older code would not match it.
  build="${build:-$here/build-pgo}"
  "$here/scripts/build-pgo.sh" "$build" "${targets[@]}" >&2
else
  build="${build:-$here/build-bench}"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRBRIDGE_BUILD_BENCHMARKS=ON >&2
  fi
  ninja -C "$build" -j2 "${targets[@]}" >&2
fi
bin="$build/server/fhirbridge"
[ -x "$bin" ] || bin="$(find "$build" -type f -name fhirbridge -perm -u+x | head -n1)"

echo "# fhirbridge benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null; }
pgo_mode=$(cache_value FHIRBRIDGE_PGO)
echo "# build: $build ($(cache_value CMAKE_BUILD_TYPE), FHIRBRIDGE_PGO=${pgo_mode:-OFF})"
echo "# commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$here" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
echo
echo "## engine_bench ${engine_args} ${ENGINE_ARGS:-}"
# shellcheck disable=SC2086
"$build/benchmarks/engine_bench" ${engine_args} ${ENGINE_ARGS:-}
echo
echo "## crypto_bench (sealing / unsealing, CPU time)"
"$build/benchmarks/crypto_bench"
echo
# The time budget only guards against runaway fills: the sizes asked for are run.
echo "## store_bench --sizes $sizes ${STORE_ARGS:-}"
# shellcheck disable=SC2086
"$build/benchmarks/store_bench" --sizes "$sizes" --time-budget 100000 ${STORE_ARGS:-}

if [ "$rss_resources" -gt 0 ]; then
  echo
  echo "## fhirbridge import: peak RSS on a generated file ($rss_resources resources)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/fhirbridge-rss.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  patients=$(( rss_resources / 5 ))  # 1 patient + 4 observations
  "$bin" generate --patients "$patients" --observations-per-patient 4 --seed 1 > "$work/g.ndjson"
  echo "bench-password" > "$work/password"
  "$bin" user add --login bench --password-file "$work/password" --db "$work/d.db" > "$work/user.txt" 2>/dev/null
  echo "file: $(wc -l < "$work/g.ndjson") resources, $(( $(stat -c %s "$work/g.ndjson") / 1000000 )) MB"
  /usr/bin/time -f "peak RSS %M KB, %e s wall, %U s user, %S s sys" \
    "$bin" import -q --db "$work/d.db" --login bench --password-file "$work/password" \
    --key-file "$work/user.txt" "$work/g.ndjson" 2>&1 | tail -n 2
fi
