#!/usr/bin/env bash
# README command (1): set up, build, and run the server on an embedded SQLite
# file with a demo account (printed at start).
set -euo pipefail
cd "$(dirname "$0")/.."
FHIRBRIDGE_SKIP_NPM=1 scripts/setup.sh
scripts/build.sh -DFHIRBRIDGE_BUILD_TESTS=OFF -DFHIRBRIDGE_BUILD_BENCHMARKS=OFF
exec "${BUILD_DIR:-build}/server/fhirbridge" serve --db "${FHIRBRIDGE_DB:-fhirbridge.db}" \
  --listen "${FHIRBRIDGE_LISTEN:-127.0.0.1:8080}" --demo
