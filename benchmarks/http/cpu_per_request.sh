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
# run-queue wait per request (us the server's threads spent runnable but not
# running, e.g. woken and waiting for a core: /proc/PID/task/*/schedstat), and,
# over the server's life (warm-up included; "-" for reads), writes per commit
# and the writer's time in write groups per write (us, wall: its SQL, sealing,
# COMMIT and checkpoints; the one writer is the limit when that times the
# writes/s nears 1 s), and the share of searches the server's search cache answered
# ("-" when none asked it; warm-up included: a repeated search with no write
# between is answered from it, docs/server.md; SERVE_ARGS="--search-cache 0" for
# searches that all reach the store). wrk runs on the same machine (for writes
# it takes little CPU).
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
# Nanoseconds the process's threads waited on a run queue (field 2 of schedstat).
runq_wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{n += $2} END {printf "%.0f", n}'; }

# One data set for every binary: the first one generates and imports it.
seed_store "$1" "$work" "$PATIENTS"
base=/rest/fhir/r4
tick_us=$((1000000 / $(getconf CLK_TCK)))

printf '%-32s %-18s %9s %8s %9s %9s %9s %9s %13s %10s %7s\n' binary mode requests "req/s" "user us" \
  "sys us" "switches" "runq us" "writes/commit" "writer us" "cached"
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
    runq0=$(runq_wait_ns "$server_pid")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$here/fhir.lua" "$url" -- "$lua_mode" "$base" "$auth" "$list" 2>&1)
    read -r user1 sys1 < <(cpu_ticks "$server_pid")
    switches1=$(switches "$server_pid")
    runq1=$(runq_wait_ns "$server_pid")
    requests=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$out")
    rate=$(awk '$1 == "RESULT" {print $2}' <<<"$out")
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    # "fhirbridge: stopped (W writes in C commits, S s in write groups)"
    stop=$(sed -n 's/.*stopped (\([0-9]*\) writes in \([0-9]*\) commits, \([0-9.]*\) s in write groups).*/\1 \2 \3/p' \
      "$work/server.log")
    # "fhirbridge: the search cache answered A of L searches" (docs/server.md)
    cached=$(sed -n 's/.*the search cache answered \([0-9]*\) of \([0-9]*\) searches.*/\1 \2/p' \
      "$work/server.log" | awk '$2 > 0 {printf "%.1f%%", 100 * $1 / $2}')
    per_commit=$(awk '$1 > 0 && $2 > 0 {printf "%.1f", $1 / $2}' <<<"$stop")
    writer_us=$(awk '$1 > 0 {printf "%.0f", $3 * 1e6 / $1}' <<<"$stop")
    awk -v b="$binary" -v m="$mode" -v n="$requests" -v r="$rate" -v u=$((user1 - user0)) \
      -v s=$((sys1 - sys0)) -v c=$((switches1 - switches0)) -v q=$((runq1 - runq0)) -v t="$tick_us" \
      -v w="${per_commit:--}" -v g="${writer_us:--}" -v h="${cached:--}" \
      'BEGIN {printf "%-32s %-18s %9d %8.0f %9.0f %9.0f %9.1f %9.0f %13s %10s %7s\n", b, m, n, r, u * t / n, s * t / n, c / n, q / 1000 / n, w, g, h}'
  done
done
