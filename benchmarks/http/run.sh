#!/usr/bin/env bash
# HTTP benchmark (issue 6): fhirbridge next to a bare Beast server answering a
# fixed body (the ceiling) and Medplum's FHIR router 4.5.2 over its in-memory
# repository (the peer), all on 127.0.0.1, loaded with the same generated data,
# driven by wrk with the same threads/connections. Prints one table, then the
# server memory after the load. See benchmarks/http/README.md.
#
#   benchmarks/http/run.sh [BUILD_DIR]        default BUILD_DIR: build-bench
# Environment (defaults):
#   PATIENTS=5000 OBS_PER_PATIENT=1   data set (generated; same on both servers)
#   DURATION=5s WARMUP=3s             wrk duration per row / warm-up per server
#   WRK_THREADS=1 CONNECTIONS=16      the same for every server
#   SERVER_THREADS=2                  I/O threads of fhirbridge and of the ceiling
#   IO_MODEL=pinned                   how both share them: pinned or shared (docs/server.md)
#   LOAD_BATCH=1000                   resources per transaction while loading
#   MODES="read read_client search create transaction"   (reads and searches run first)
#   KEEP_WORK=1                       keep the temp dir (databases, logs)
#   NO_BUILD=1                        use the binaries already in BUILD_DIR
#   SERVE_ARGS="..."                  more options for fhirbridge serve (e.g. --write-threads 0)
# Memory only, 100k + 100k: PATIENTS=100000 MODES= benchmarks/http/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-bench}"
PATIENTS="${PATIENTS:-5000}"
OBS_PER_PATIENT="${OBS_PER_PATIENT:-1}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-3s}"
WRK_THREADS="${WRK_THREADS:-1}"
CONNECTIONS="${CONNECTIONS:-16}"
SERVER_THREADS="${SERVER_THREADS:-2}"
IO_MODEL="${IO_MODEL:-pinned}"
LOAD_BATCH="${LOAD_BATCH:-1000}"
MODES="${MODES-read read_client search create transaction}"

source "$here/lib.sh"
log() { echo "# $*" >&2; }

# ---- what we need -------------------------------------------------------------
need_tools wrk
if [ ! -d "$here/medplum/node_modules/@medplum/fhir-router" ]; then
  log "npm ci in benchmarks/http/medplum"
  (cd "$here/medplum" && npm ci --no-audit --no-fund >&2)
fi
if [ -z "${NO_BUILD:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFHIRBRIDGE_BUILD_BENCHMARKS=ON >&2
  fi
  ninja -C "$build" -j2 fhirbridge ceiling_server >&2
fi
fhirbridge="$build/server/fhirbridge"
ceiling="$build/benchmarks/ceiling_server"

# ---- servers ------------------------------------------------------------------
work="$(mktemp -d /tmp/fhirbridge-http-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, waits for its "listening on
# [http://]127.0.0.1:PORT" line; sets started_pid and started_port.
start() {
  local name="$1"
  shift
  "$@" >"$work/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  started_port=$(listening_port "$work/$name.log" "$started_pid") || exit 1
}

rss_of() {  # "peak MiB / now MiB" of a process
  awk '/^VmHWM/ {peak=$2} /^VmRSS/ {now=$2} END {printf "%.0f MiB peak, %.0f MiB now", peak/1024, now/1024}' "/proc/$1/status"
}

log "generating $PATIENTS patients x $OBS_PER_PATIENT observations"
"$fhirbridge" generate --patients "$PATIENTS" --observations-per-patient "$OBS_PER_PATIENT" >"$work/data.ndjson"
resources=$(wc -l <"$work/data.ndjson")

# fhirbridge: a user, its key posted to the keychain, the data through HTTP
# transactions (encrypted, durable: the SQLite store in WAL mode).
bench_user "$fhirbridge" "$work/fhirbridge.db" "$work"
# shellcheck disable=SC2086  # SERVE_ARGS: options, split into words on purpose
start fhirbridge "$fhirbridge" serve --db "$work/fhirbridge.db" --listen 127.0.0.1:0 \
  --threads "$SERVER_THREADS" --io-model "$IO_MODEL" --no-access-log ${SERVE_ARGS:-}
fb_pid=$started_pid
fb_url="http://127.0.0.1:$started_port"
fb_base="/rest/fhir/r4"
post_key "$fb_url"
fb_rss_start=$(rss_of "$fb_pid")
log "loading $resources resources into fhirbridge"
fb_load=$(node "$here/medplum/tool.mjs" load "$fb_url$fb_base" "$auth" "$work/data.ndjson" "$LOAD_BATCH")
fb_rss_loaded=$(rss_of "$fb_pid")

log "loading $resources resources into Medplum (router, in memory)"
start medplum node "$here/medplum/server.mjs" --port 0 --load "$work/data.ndjson"
mp_pid=$started_pid
mp_url="http://127.0.0.1:$started_port"
mp_base="/fhir/R4"
mp_rss_loaded=$(rss_of "$mp_pid")

start ceiling "$ceiling" --port 0 --threads "$SERVER_THREADS" --io-model "$IO_MODEL"
ce_url="http://127.0.0.1:$started_port"

# Id and name lists for the lua script.
ids_k=$((PATIENTS < 1000 ? PATIENTS : 1000))
node "$here/medplum/tool.mjs" lists "$work/data.ndjson" "$work" "$ids_k"
node "$here/medplum/tool.mjs" server-ids "$fb_url$fb_base" "$auth" "$ids_k" "$work/fb_ids.txt"
node "$here/medplum/tool.mjs" server-ids "$mp_url$mp_base" - "$ids_k" "$work/mp_ids.txt"

# ---- wrk ----------------------------------------------------------------------
# bench URL DURATION MODE BASE AUTH LIST -> "req/s p50 p99 bad socket"
bench() {
  local url="$1" duration="$2" mode="$3" base="$4" auth_value="$5" list="$6"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 10s --latency -s "$here/fhir.lua" "$url" \
    -- "$mode" "$base" "$auth_value" "$list" 2>&1 | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6}'
}
lua_mode() { case "$1" in read_client) echo read ;; *) echo "$1" ;; esac; }
label() {
  case "$1" in
    read) echo "GET Patient/{id}" ;;
    read_client) echo "GET Patient/{client id}" ;;
    search) echo "GET Patient?name=&_count=10" ;;
    create) echo "POST Patient" ;;
    transaction) echo "POST Bundle (2 entries)" ;;
  esac
}

if [ -n "$MODES" ]; then
  log "warm-up ($WARMUP per server)"
  bench "$fb_url" "$WARMUP" read "$fb_base" "$auth" "$work/fb_ids.txt" >/dev/null
  bench "$mp_url" "$WARMUP" read "$mp_base" - "$work/mp_ids.txt" >/dev/null
  bench "$ce_url" "$WARMUP" read / - "$work/fb_ids.txt" >/dev/null
fi

# Reads and searches run before creates, whatever the order asked: every create
# grows the data, and Medplum's in-memory search scans all of it (after 8 s of
# creates its name search fell from ~100 to ~1 req/s), so a search measured
# after the creates would compare different data sets.
ordered=""
for mode in $MODES; do case "$mode" in create | transaction) ;; *) ordered="$ordered $mode" ;; esac; done
for mode in $MODES; do case "$mode" in create | transaction) ordered="$ordered $mode" ;; esac; done

rows=()
for mode in $ordered; do
  case "$mode" in
    read) fb_list="$work/fb_ids.txt" mp_list="$work/mp_ids.txt" ;;
    read_client) fb_list="$work/client_ids.txt" mp_list="$work/client_ids.txt" ;;
    search) fb_list="$work/names.txt" mp_list="$work/names.txt" ;;
    *) fb_list="$work/names.txt" mp_list="$work/names.txt" ;;
  esac
  m=$(lua_mode "$mode")
  log "$mode"
  fb=$(bench "$fb_url" "$DURATION" "$m" "$fb_base" "$auth" "$fb_list")
  mp=$(bench "$mp_url" "$DURATION" "$m" "$mp_base" - "$mp_list")
  ce=$(bench "$ce_url" "$DURATION" "$m" / - "$fb_list")
  rows+=("$(label "$mode")|$fb|$mp|$ce")
done

# ---- report -------------------------------------------------------------------
echo "# fhirbridge HTTP benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
echo "# data: $PATIENTS patients + $((PATIENTS * OBS_PER_PATIENT)) observations on each server;" \
  "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION; fhirbridge and ceiling --threads $SERVER_THREADS --io-model $IO_MODEL, Medplum: one Node event loop"
echo
if [ ${#rows[@]} -gt 0 ]; then
  printf '| %-27s | %s | %s | %s | %s | %s |\n' "interaction" \
    "fhirbridge req/s (p50/p99 ms)" "Medplum req/s (p50/p99 ms)" "ceiling req/s (p50/p99 ms)" \
    "fhirbridge/Medplum" "fhirbridge/ceiling"
  echo "|-----------------------------|------------------------------|------------------------------|------------------------------|-------|-------|"
  for row in "${rows[@]}"; do
    IFS='|' read -r name fb mp ce <<<"$row"
    read -r fb_rps fb_p50 fb_p99 fb_bad fb_sock <<<"$fb"
    read -r mp_rps mp_p50 mp_p99 mp_bad mp_sock <<<"$mp"
    read -r ce_rps ce_p50 ce_p99 _ _ <<<"$ce"
    cell() {  # req/s (p50/p99) [+ errors]
      local s
      s=$(printf '%8.0f (%s/%s)' "$1" "$2" "$3")
      if [ "${4:-0}" != 0 ] || [ "${5:-0}" != 0 ]; then s="$s ERR $4 http, $5 sock"; fi
      printf '%s' "$s"
    }
    printf '| %-27s | %-28s | %-28s | %-28s | %5.2f | %5.2f |\n' "$name" \
      "$(cell "$fb_rps" "$fb_p50" "$fb_p99" "$fb_bad" "$fb_sock")" \
      "$(cell "$mp_rps" "$mp_p50" "$mp_p99" "$mp_bad" "$mp_sock")" \
      "$(cell "$ce_rps" "$ce_p50" "$ce_p99")" \
      "$(awk -v a="$fb_rps" -v b="$mp_rps" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
      "$(awk -v a="$fb_rps" -v b="$ce_rps" 'BEGIN {print (b > 0 ? a / b : 0)}')"
  done
  echo
fi
echo "Memory (VmHWM = peak RSS, VmRSS = now):"
echo "- fhirbridge serve, empty store with key posted: $fb_rss_start"
echo "- fhirbridge serve after loading $resources resources over HTTP ($fb_load): $fb_rss_loaded"
echo "- fhirbridge serve after the wrk runs: $(rss_of "$fb_pid")"
echo "- Medplum (Node, in memory) after loading the same $resources resources: $mp_rss_loaded"
echo "- fhirbridge database on disk: $(du -sh "$work"/fhirbridge.db* | awk '{s = s $1 " "} END {print s}')"
# How many searches fhirbridge answered from its search cache (docs/server.md),
# from the line it prints as it stops: the search row repeats its names with no
# write between them.
kill -TERM "$fb_pid" 2>/dev/null || true
wait "$fb_pid" 2>/dev/null || true
cache_line=$(sed -n 's/.*the search cache answered \([0-9]*\) of \([0-9]*\) searches.*/\1 of \2/p' \
  "$work/fhirbridge.log")
if [ -n "$cache_line" ]; then
  echo
  echo "fhirbridge's search cache answered $cache_line searches (warm-up included;" \
    'SERVE_ARGS="--search-cache 0" for searches that all reach the store).'
fi
