#!/usr/bin/env bash
# Stops the PostgreSQL server that start.sh started (the cluster in
# target/pg/data), removes target/pg.url and the cluster (kept with
# PG_KEEP=1). Does nothing when none runs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"

rm -f "$state/pg.url"
remove_cluster() {
    [[ "${PG_KEEP:-}" == 1 ]] || rm -rf "$cluster"
}
[[ -f "$cluster/data/postmaster.pid" ]] || { remove_cluster; exit 0; }
owner="$(stat -c %U "$cluster/data")"
if [[ -n "$bin" && -x "$bin/pg_ctl" ]]; then
    as_user "$owner" "$bin/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
fi
# Without pg_ctl (the venv is gone), signal the postmaster itself.
pid="$(head -n 1 "$cluster/data/postmaster.pid" 2>/dev/null || true)"
if [[ "$pid" =~ ^[0-9]+$ ]] && ps -p "$pid" -o command= 2>/dev/null | grep -q postgres; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        ps -p "$pid" >/dev/null 2>&1 || break
        sleep 0.1
    done
fi
remove_cluster
echo "postgres: stopped"
