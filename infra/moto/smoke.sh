#!/usr/bin/env bash
# Smoke test of the deployed shape: the sync-export function under
# `cargo lambda watch`, on the AWS backend against moto, invoked with
# `cargo lambda invoke --data-file events/sync-export-contacts-csv.json`.
# Needs a running moto (start.sh) and cargo-lambda in the venv.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-$root/.venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
py="$venv/bin/python"
cd "$root"

url="$(cat target/moto.url)"
export PATH="$venv/bin:$PATH"
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export EXPORTS_BACKEND=aws \
    EXPORTS_ENTITIES_TABLE=smoke-entities EXPORTS_CONFIG_TABLE=smoke-tenant-config \
    EXPORTS_EXPORTS_TABLE=smoke-exports EXPORTS_BUCKET=smoke-files EXPORTS_QUEUE_NAME=smoke-jobs \
    EXPORTS_JWT_SECRET=exports-local-dev-secret-0123456789 RUST_LOG=warn
"$py" "$here/create-resources.py" --endpoint-url "$url" >/dev/null
export EXPORTS_QUEUE_URL="$url/123456789012/smoke-jobs"

cargo build --quiet --locked -p exports-local -p sync-export
target/debug/exports-local seed --contacts 300 --organisations 0 --households 0 --seed 5 >/dev/null

port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log=target/smoke-watch.log
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --ignore-changes >"$log" 2>&1 &
watch_pid=$!
trap 'kill -- -"$watch_pid" 2>/dev/null || true' EXIT

# The emulator answers once it is up; the function builds on first invoke.
for _ in $(seq 1 120); do
    if "$py" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)))"; then break; fi
    sleep 1
done

cargo lambda invoke sync-export --invoke-address 127.0.0.1 --invoke-port "$port" \
    --data-file events/sync-export-contacts-csv.json --output-format json >target/smoke.json

"$py" - target/smoke.json <<'PY'
import csv, io, json, sys
resp = json.load(open(sys.argv[1]))
assert resp["statusCode"] == 200, resp
headers = {k.lower(): v for k, v in resp["headers"].items()}
assert headers["content-type"] == "text/csv;charset=UTF-8", headers
assert headers["content-disposition"].startswith('attachment; filename="contacts_'), headers
rows = list(csv.reader(io.StringIO(resp["body"])))
assert rows[0] == ["First Name", "Last Name", "Email", "Stage", "Created"], rows[0]
assert len(rows) > 1 and int(headers["x-export-rows"]) == len(rows) - 1, len(rows)
created = [r[4] for r in rows[1:] if r[4]]
assert created == sorted(created, reverse=True), "not newest first"
print(f"smoke: cargo lambda invoke sync-export on moto returned {len(rows) - 1} rows")
PY
