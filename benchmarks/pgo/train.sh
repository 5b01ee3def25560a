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
# shellcheck source=benchmarks/http/lib.sh
source "$here/../http/lib.sh"  # bench_workdir, bench_user, listening_port
bench_workdir pgo               # sets work; removes it, and stops server_pid, at exit
step() { echo "# pgo training: $*" >&2; }

step "engine_bench"
"$build/benchmarks/engine_bench" --patients 1500 --observations-per-patient 4 --seed 7 --profile 4 >/dev/null
step "store_bench"
"$build/benchmarks/store_bench" --sizes 3000 --queries 40 --import-patients 600 --dir "$work" >/dev/null

step "generate, import, import again, export"
"$fhirbridge" generate --patients 3000 --observations-per-patient 4 --seed 7 >"$work/load.ndjson"
"$fhirbridge" generate --patients 2000 --observations-per-patient 1 --seed 8 >"$work/create.ndjson"
bench_user "$fhirbridge" "$work/store.db" "$work"
bulk=(--db "$work/store.db" --login bench --password-file "$work/password" --key-file "$work/user.txt")
"$fhirbridge" import -q "${bulk[@]}" "$work/load.ndjson"
"$fhirbridge" import -q "${bulk[@]}" "$work/load.ndjson"
"$fhirbridge" export "${bulk[@]}" >"$work/export.ndjson"

step "the server over HTTP"
mkdir "$work/http"
bench_user "$fhirbridge" "$work/http.db" "$work/http"
"$fhirbridge" serve --db "$work/http.db" --listen 127.0.0.1:0 --threads 2 --no-access-log >"$work/server.log" 2>&1 &
server_pid=$!
port=$(listening_port "$work/server.log" "$server_pid")
url="http://127.0.0.1:$port"
# The key through Node's fetch: lib.sh's post_key needs curl, which scripts/setup.sh does not install.
node -e 'fetch(process.argv[1], {method: "POST", headers: {Authorization: process.argv[2], "Content-Type": "application/json"}, body: JSON.stringify({key: process.argv[3]})}).then(r => { if (!r.ok) { console.error("key: " + r.status); process.exit(1); } })' \
  "$url/rest/icdx/v1/keychain/$hcp_id" "$auth" "$private_key"
node "$here/http_workload.mjs" "$url/rest/fhir/r4" "$auth" "$work/load.ndjson" "$work/create.ndjson" >&2
# A clean stop: the counters are written when the process exits.
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
step "done"
