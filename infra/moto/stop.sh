#!/usr/bin/env bash
# Stops the moto_server that start.sh started (the pid in target/moto.pid) and
# removes target/moto.url and target/moto.pid. Does nothing when none runs.
# It only ever signals that pid, and only while it is still a moto_server.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${MOTO_STATE_DIR:-$root/target}"
pidfile="$state/moto.pid"

rm -f "$state/moto.url"
[[ -f "$pidfile" ]] || exit 0
pid="$(cat "$pidfile")"
rm -f "$pidfile"
[[ "$pid" =~ ^[0-9]+$ ]] || exit 0

is_moto() {
    ps -p "$1" -o command= 2>/dev/null | grep -q moto_server
}

if is_moto "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        is_moto "$pid" || break
        sleep 0.1
    done
    if is_moto "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    echo "moto: stopped (pid $pid)"
fi
