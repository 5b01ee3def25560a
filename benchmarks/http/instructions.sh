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
#   PATIENTS=5000        patients (+1 observation each) imported before serving
#   MODES="read create"  read = GET Patient/{store id}, read_client = GET Patient/{the client's
#                        id}, search = GET Patient?name=, create = POST Patient (fhir.lua),
#                        read_observation = GET Observation/{store id} (the contact id),
#                        search_observation = GET Observation?code={LOINC code}&_count=10
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

work="$(mktemp -d /tmp/fhirbridge-instructions.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# One data set for every binary: the first one generates and imports it.
bench_user "$1" "$work/seed.db" "$work"
"$1" generate --patients "$PATIENTS" --observations-per-patient 1 --seed 3 >"$work/data.ndjson"
"$1" import -q --db "$work/seed.db" --login bench --password-file "$work/password" \
  --key-file "$work/user.txt" "$work/data.ndjson" >&2
sqlite3 "$work/seed.db" "SELECT id FROM patient ORDER BY random() LIMIT 1000" >"$work/ids.txt"
# The ids the client sent (resolved through the FHIR-id index), for read_client.
sqlite3 "$work/seed.db" "SELECT value FROM patient_identifier WHERE system = 'https://dxm.icure.dev' \
  ORDER BY random() LIMIT 1000" >"$work/client_ids.txt"
sqlite3 "$work/seed.db" "SELECT DISTINCT family_sort FROM patient LIMIT 1000" >"$work/families.txt"
# LOINC codes, each of ~100-200 observations at 2000 (search_observation).
sqlite3 "$work/seed.db" "SELECT DISTINCT code FROM service_code WHERE kind = 'code'" >"$work/codes.txt"
# An Observation's id is its contact's id (docs/mapping.md).
sqlite3 "$work/seed.db" "SELECT id FROM contact ORDER BY random() LIMIT 1000" >"$work/observation_ids.txt"
base=/rest/fhir/r4

printf '%-40s %-8s %10s %14s\n' binary mode requests "instr/request"
for binary in "$@"; do
  for mode in $MODES; do
    rm -f "$work"/run.db* "$work"/cg.out* "$work/server.log"
    cp "$work/seed.db" "$work/run.db"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$binary" serve --db "$work/run.db" \
      --listen 127.0.0.1:0 --threads 2 --write-threads 2 --no-access-log >"$work/server.log" 2>&1 &
    server_pid=$!
    port=$(listening_port "$work/server.log" "$server_pid")
    url="http://127.0.0.1:$port"
    post_key "$url"
    list="$work/ids.txt" lua_mode="$mode"
    case "$mode" in
      read_client) list="$work/client_ids.txt" lua_mode=read ;;
      search) list="$work/families.txt" ;;
      read_observation) list="$work/observation_ids.txt" ;;
      search_observation) list="$work/codes.txt" ;;
    esac
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
