#!/usr/bin/env bash
# benchmarks/pgo/train.sh BUILD_DIR: the training workload of a profile-guided build
# (scripts/build-pgo.sh). Runs BUILD_DIR's instrumented programs on synthetic data, so that
# their counts (.gcda files next to the objects) describe what the programs do in use: the
# mapping (engine_bench), the store (store_bench: writes, reads, searches), the bulk commands
# (generate, import, a re-import, export) and the server over HTTP (http_workload.mjs).
# Seeds and sizes differ from those the benchmarks measure. ~1-2 minutes.
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
fhirbridge="$build/server/fhirbridge"
work=$(mktemp -d /tmp/fhirbridge-pgo.XXXXXX)
server_pid=""
trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
step() { echo "# pgo training: $*" >&2; }

step "engine_bench"
"$build/benchmarks/engine_bench" --patients 1500 --observations-per-patient 4 --seed 7 --profile 4 >/dev/null
step "store_bench"
"$build/benchmarks/store_bench" --sizes 3000 --queries 40 --import-patients 600 --dir "$work" >/dev/null

step "generate, import, import again, export"
printf 'pgo-training-password' >"$work/password"
"$fhirbridge" user add --db "$work/store.db" --login pgo --password-file "$work/password" >"$work/user.txt" 2>/dev/null
"$fhirbridge" generate --patients 3000 --observations-per-patient 4 --seed 7 >"$work/load.ndjson"
"$fhirbridge" generate --patients 2000 --observations-per-patient 1 --seed 8 >"$work/create.ndjson"
bulk=(--db "$work/store.db" --login pgo --password-file "$work/password" --key-file "$work/user.txt")
"$fhirbridge" import -q "${bulk[@]}" "$work/load.ndjson"
"$fhirbridge" import -q "${bulk[@]}" "$work/load.ndjson"
"$fhirbridge" export "${bulk[@]}" >"$work/export.ndjson"

step "the server over HTTP"
printf 'pgo-training-password' >"$work/password"
"$fhirbridge" user add --db "$work/http.db" --login pgo --password-file "$work/password" >"$work/http-user.txt" 2>/dev/null
"$fhirbridge" serve --db "$work/http.db" --listen 127.0.0.1:0 --threads 2 --no-access-log >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(grep -o 'listening on [a-z:/]*127\.0\.0\.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$') && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
auth="Basic $(printf 'pgo:pgo-training-password' | base64 -w0)"
hcp=$(awk '$1 == "healthcare-party" {print $2}' "$work/http-user.txt")
key=$(awk '$1 == "private-key" {print $2}' "$work/http-user.txt")
node -e 'fetch(process.argv[1], {method: "POST", headers: {Authorization: process.argv[2], "Content-Type": "application/json"}, body: JSON.stringify({key: process.argv[3]})}).then(r => { if (!r.ok) { console.error("key: " + r.status); process.exit(1); } })' \
  "http://127.0.0.1:$port/rest/icdx/v1/keychain/$hcp" "$auth" "$key"
node "$here/http_workload.mjs" "http://127.0.0.1:$port/rest/fhir/r4" "$auth" "$work/load.ndjson" "$work/create.ndjson" >&2
# A clean stop: the counters are written when the process exits.
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
step "done"
