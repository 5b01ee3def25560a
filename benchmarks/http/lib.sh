# shellcheck shell=bash
# Shared by run.sh and instructions.sh (sourced, not run): tools, the
# benchmark's user and key, waiting for a server to listen.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# need_tools TOOL...: apt-installs those not on PATH (a package per tool name).
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    echo "# installing $tool" >&2
    as_root apt-get install -y "$tool" >&2 ||
      { as_root apt-get update >&2 && as_root apt-get install -y "$tool" >&2; }
  done
}

# bench_user FHIRBRIDGE DB DIR: creates the login "bench" in DB (password and
# account files in DIR); sets hcp_id, private_key and auth (a Basic header value).
bench_user() {
  local password="bench-password-$$"
  printf '%s' "$password" >"$3/password"
  "$1" user add --db "$2" --login bench --password-file "$3/password" >"$3/user.txt" 2>/dev/null
  hcp_id=$(awk '$1 == "healthcare-party" {print $2}' "$3/user.txt")
  private_key=$(awk '$1 == "private-key" {print $2}' "$3/user.txt")
  auth="Basic $(printf 'bench:%s' "$password" | base64 -w0)"
}

# post_key URL: posts the bench user's private key to fhirbridge's keychain at URL.
post_key() {
  curl -sf -H "Authorization: $auth" -H 'Content-Type: application/json' \
    -d "{\"key\": \"$private_key\"}" "$1/rest/icdx/v1/keychain/$hcp_id" >/dev/null
}

# listening_port LOG PID: prints the port of LOG's "listening on
# [http://]127.0.0.1:PORT" line once it appears; fails (LOG on stderr) when PID
# exits first or after five minutes (valgrind starts slowly).
listening_port() {
  local port
  for _ in $(seq 1 1200); do
    if port=$(grep -o 'listening on [a-z:/]*127\.0\.0\.1:[0-9]*' "$1" | grep -o '[0-9]*$'); then
      echo "$port"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.25
  done
  echo "# $1: the server did not start:" >&2
  cat "$1" >&2
  return 1
}

# bench_workdir NAME: sets `work` to a new temp dir, removed at exit together
# with the server whose pid is in `server_pid` (if it still runs).
bench_workdir() {
  work="$(mktemp -d "/tmp/fhirbridge-$1.XXXXXX")"
  server_pid=""
  trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
}

# seed_store FHIRBRIDGE DIR PATIENTS: the benchmark user (bench_user) in
# DIR/seed.db with PATIENTS generated patients (+OBS_PER_PATIENT observations
# each, default 1, seed 3)
# imported, and the lists fhir.lua rotates over: ids.txt (store ids),
# client_ids.txt (the ids the client sent, resolved through the FHIR-id index),
# families.txt, codes.txt (LOINC codes, each of ~100-200 observations at 2000)
# and observation_ids.txt (an Observation's id is its contact's, docs/mapping.md).
seed_store() {
  bench_user "$1" "$2/seed.db" "$2"
  "$1" generate --patients "$3" --observations-per-patient "${OBS_PER_PATIENT:-1}" --seed 3 \
    >"$2/data.ndjson"
  "$1" import -q --db "$2/seed.db" --login bench --password-file "$2/password" \
    --key-file "$2/user.txt" "$2/data.ndjson" >&2
  sqlite3 "$2/seed.db" "SELECT id FROM patient ORDER BY random() LIMIT 1000" >"$2/ids.txt"
  sqlite3 "$2/seed.db" "SELECT value FROM patient_identifier WHERE system = 'https://dxm.icure.dev' \
    ORDER BY random() LIMIT 1000" >"$2/client_ids.txt"
  sqlite3 "$2/seed.db" "SELECT DISTINCT family_sort FROM patient LIMIT 1000" >"$2/families.txt"
  sqlite3 "$2/seed.db" "SELECT DISTINCT code FROM service_code WHERE kind = 'code'" >"$2/codes.txt"
  sqlite3 "$2/seed.db" "SELECT id FROM contact ORDER BY random() LIMIT 1000" >"$2/observation_ids.txt"
}

# mode_request MODE DIR: sets `lua_mode` (fhir.lua's mode) and `list` (the file
# it rotates over, from seed_store) for a benchmark mode; read_client is a read
# of the ids the client sent.
# shellcheck disable=SC2034  # both are read by the script that sources this file
mode_request() {
  list="$2/ids.txt" lua_mode="$1"
  case "$1" in
    read_client) list="$2/client_ids.txt" lua_mode=read ;;
    search) list="$2/families.txt" ;;
    read_observation) list="$2/observation_ids.txt" ;;
    search_observation) list="$2/codes.txt" ;;
  esac
}
