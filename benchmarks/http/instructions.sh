#!/usr/bin/env bash
# User-space instructions per HTTP request (valgrind's callgrind), for one or
# more fhirbridge binaries: a figure that does not move with the machine's
# load, unlike req/s on a shared VM (benchmarks/README.md). Kernel work (the
# loopback TCP stack, fsync) is not counted: req/s and CPU time stay the figures
# for throughput; this one says whether a change made the server's own work
# smaller.
#
#   benchmarks/http/instructions.sh FHIRBRIDGE_BINARY...
# Environment (defaults):
#   PATIENTS=5000        patients imported before serving
#   OBS_PER_PATIENT=1    observations of each
#   MODES="read create"  read = GET Patient/{store id}, read_client = GET Patient/{the client's
#                        id}, search = GET Patient?name=, create = POST Patient (fhir.lua),
#                        read_observation = GET Observation/{store id} (the contact id),
#                        search_observation = GET Observation?code={LOINC code}&_count=10,
#                        search_subject = GET Observation?subject=Patient/{store id}&_count=10
#   SERVE_ARGS=""        more options of `fhirbridge serve`, e.g. "--search-cache 0" (every
#                        search reaches the store: a rotation's repeats are not answered from
#                        the search cache)
#   DURATION=15s         measured wrk run per mode (4 connections; after a 10 s warm-up)
# Prints: binary, mode, requests measured, instructions per request.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PATIENTS="${PATIENTS:-5000}"
MODES="${MODES:-read create}"
DURATION="${DURATION:-15s}"
[ $# -ge 1 ] || { echo "usage: $0 FHIRBRIDGE_BINARY..." >&2; exit 2; }
source "$here/lib.sh"
need_tools valgrind wrk sqlite3

bench_workdir instructions
# One data set for every binary: the first one generates and imports it.
seed_store "$1" "$work" "$PATIENTS"
base=/rest/fhir/r4

printf '%-40s %-8s %10s %14s\n' binary mode requests "instr/request"
for binary in "$@"; do
  for mode in $MODES; do
    rm -f "$work"/run.db* "$work"/cg.out* "$work/server.log"
    cp "$work/seed.db" "$work/run.db"
    # shellcheck disable=SC2086  # SERVE_ARGS: options, split into words on purpose
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$binary" serve --db "$work/run.db" \
      --listen 127.0.0.1:0 --threads 2 --write-threads 2 --no-access-log ${SERVE_ARGS:-} \
      >"$work/server.log" 2>&1 &
    server_pid=$!
    port=$(listening_port "$work/server.log" "$server_pid")
    url="http://127.0.0.1:$port"
    post_key "$url"
    mode_request "$mode" "$work"
    wrk -t1 -c4 -d10s -s "$here/fhir.lua" "$url" -- "$lua_mode" "$base" "$auth" "$list" >/dev/null 2>&1
    callgrind_control -z "$server_pid" >/dev/null 2>&1
    requests=$(wrk -t1 -c4 -d"$DURATION" -s "$here/fhir.lua" "$url" -- "$lua_mode" "$base" "$auth" "$list" 2>&1 |
      awk '$2 == "requests" && $3 == "in" {print $1}')
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    sleep 1
    total=$(callgrind_annotate "$work"/cg.out.* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
    printf '%-40s %-8s %10s %14s\n' "$binary" "$mode" "$requests" "$(awk -v t="$total" -v n="$requests" 'BEGIN {printf "%.0f", t / n}')"
  done
done
