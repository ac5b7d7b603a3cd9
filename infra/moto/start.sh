#!/usr/bin/env bash
# Starts moto_server (from .venv) on a free loopback port, waits until it
# answers, creates the tables, bucket and queues (create-resources.py), then
# writes the endpoint URL to target/moto.url and the pid to target/moto.pid.
# target/moto.url exists only once moto is ready. Stop it with stop.sh.
#
#   VENV=.venv           the virtualenv holding moto[server]
#   MOTO_STATE_DIR=target where moto.url, moto.pid and moto.log go
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-$root/.venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
state="${MOTO_STATE_DIR:-$root/target}"
py="$venv/bin/python"
moto="$venv/bin/moto_server"

if [[ ! -x "$moto" ]]; then
    echo "moto: $moto not found; run 'make venv' first" >&2
    exit 1
fi
mkdir -p "$state"

# A moto left over from an interrupted run is ours: stop it first.
"$here/stop.sh"

for try in 1 2 3; do
    # The kernel picks a free port; moto binds it a moment later (a race
    # another process could win, hence the retries).
    port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    url="http://127.0.0.1:$port"
    "$moto" -H 127.0.0.1 -p "$port" </dev/null >"$state/moto.log" 2>&1 &
    pid=$!
    echo "$pid" >"$state/moto.pid"
    # Wait up to 30 s for an answer, giving up early if moto died.
    if "$py" - "$url" "$pid" <<'PY'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url + "/moto-api/data.json", timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
    then
        if ! "$py" "$here/create-resources.py" --endpoint-url "$url"; then
            echo "moto: could not create the resources" >&2
            "$here/stop.sh"
            exit 1
        fi
        echo "$url" >"$state/moto.url"
        echo "moto: listening on $url (pid $pid, log $state/moto.log)"
        exit 0
    fi
    echo "moto: attempt $try on port $port failed:" >&2
    tail -n 20 "$state/moto.log" >&2 || true
    "$here/stop.sh"
done
echo "moto: could not start moto_server" >&2
exit 1
