#!/usr/bin/env bash
# The server's CPU time and thread switches per HTTP request, measured natively
# (no valgrind), for one or more fhirbridge binaries; for write modes also how
# many writes shared a commit (group commit, docs/storage.md). Where
# instructions.sh says how much work a request is, this says what it costs on
# this machine, kernel included: the loopback TCP stack, the WAL writes, and the
# wake-ups between the I/O threads, the write threads and the store's writer.
#
#   benchmarks/http/cpu_per_request.sh FHIRBRIDGE_BINARY...
# Environment (defaults):
#   PATIENTS=2000                patients (+1 observation each) imported before serving
#   MODES="create transaction read search"   as in instructions.sh (also read_client,
#                                read_observation, search_observation)
#   DURATION=8s                  measured wrk run per mode (after a 2 s warm-up)
#   CONNECTIONS=16               wrk connections (run.sh's default)
#   SERVE_ARGS=""                more options for fhirbridge serve (e.g. --write-threads 4)
# Prints: binary, mode, requests, req/s, user and system CPU (us) per request,
# context switches per request (every thread of the server, voluntary or not),
# and writes per commit over the server's life (warm-up included; "-" for
# reads). wrk runs on the same machine: on 2 cores it takes part of the CPU.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PATIENTS="${PATIENTS:-2000}"
MODES="${MODES:-create transaction read search}"
DURATION="${DURATION:-8s}"
CONNECTIONS="${CONNECTIONS:-16}"
[ $# -ge 1 ] || { echo "usage: $0 FHIRBRIDGE_BINARY..." >&2; exit 2; }
source "$here/lib.sh"
need_tools wrk sqlite3

bench_workdir cpu

# utime + stime of a process in clock ticks; its threads' context switches.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n}'
}

# One data set for every binary: the first one generates and imports it.
seed_store "$1" "$work" "$PATIENTS"
base=/rest/fhir/r4
tick_us=$((1000000 / $(getconf CLK_TCK)))

printf '%-32s %-18s %9s %8s %9s %9s %11s %13s\n' binary mode requests "req/s" "user us" "sys us" \
  "switches" "writes/commit"
for binary in "$@"; do
  for mode in $MODES; do
    rm -f "$work"/run.db* "$work/server.log"
    cp "$work/seed.db" "$work/run.db"
    # shellcheck disable=SC2086 # SERVE_ARGS is a list of options
    "$binary" serve --db "$work/run.db" --listen 127.0.0.1:0 --threads 2 --no-access-log \
      ${SERVE_ARGS:-} >"$work/server.log" 2>&1 &
    server_pid=$!
    port=$(listening_port "$work/server.log" "$server_pid")
    url="http://127.0.0.1:$port"
    post_key "$url"
    mode_request "$mode" "$work"
    wrk -t1 -c"$CONNECTIONS" -d2s -s "$here/fhir.lua" "$url" -- "$lua_mode" "$base" "$auth" "$list" >/dev/null 2>&1
    read -r user0 sys0 < <(cpu_ticks "$server_pid")
    switches0=$(switches "$server_pid")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$here/fhir.lua" "$url" -- "$lua_mode" "$base" "$auth" "$list" 2>&1)
    read -r user1 sys1 < <(cpu_ticks "$server_pid")
    switches1=$(switches "$server_pid")
    requests=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$out")
    rate=$(awk '$1 == "RESULT" {print $2}' <<<"$out")
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    per_commit=$(sed -n 's/.*stopped (\([0-9]*\) writes in \([0-9]*\) commits).*/\1 \2/p' "$work/server.log" |
      awk '$1 > 0 && $2 > 0 {printf "%.1f", $1 / $2}')
    awk -v b="$binary" -v m="$mode" -v n="$requests" -v r="$rate" -v u=$((user1 - user0)) \
      -v s=$((sys1 - sys0)) -v c=$((switches1 - switches0)) -v t="$tick_us" -v w="${per_commit:--}" \
      'BEGIN {printf "%-32s %-18s %9d %8.0f %9.0f %9.0f %11.1f %13s\n", b, m, n, r, u * t / n, s * t / n, c / n, w}'
  done
done
