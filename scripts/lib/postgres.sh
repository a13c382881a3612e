#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 for the storage tests, on 127.0.0.1 and a free port, in <repo>/.tools/pg
# (or $GATEHOUSE_TOOLS_DIR/pg). Installs Debian's postgresql when initdb is missing (apt does not start its
# service on these machines; this cluster is our own). Sourced by scripts/test.sh:
#
#   gatehouse_postgres_start   -> exports GATEHOUSE_TEST_POSTGRES (an Npgsql connection string, user postgres)
#   gatehouse_postgres_stop    -> stops the cluster; test.sh calls it from an EXIT trap
#
# Each test creates and drops its own database, so the cluster is made fresh at every run and holds nothing.

_gatehouse_pg_bin() {
    local initdb
    for initdb in "$(command -v initdb 2>/dev/null)" /usr/lib/postgresql/*/bin/initdb; do
        if [[ -n "$initdb" && -x "$initdb" ]]; then
            dirname "$(readlink -f "$initdb")"
            return 0
        fi
    done
    return 1
}

# Runs a PostgreSQL binary as the postgres user (the server refuses to run as root).
_gatehouse_pg_run() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_gatehouse_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

gatehouse_postgres_start() {
    local repo_root tools_dir bin port
    repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)" || return 1
    tools_dir="${GATEHOUSE_TOOLS_DIR:-$repo_root/.tools}"
    if ! bin="$(_gatehouse_pg_bin)"; then
        echo "postgres.sh: initdb is missing; installing Debian's postgresql" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
        bin="$(_gatehouse_pg_bin)" || { echo "postgres.sh: postgresql installed but initdb not found" >&2; return 1; }
    fi

    GATEHOUSE_PG_DIR="$tools_dir/pg"
    GATEHOUSE_PG_BIN="$bin"
    export GATEHOUSE_PG_DIR GATEHOUSE_PG_BIN
    # A cluster left by an interrupted run may still be up: stop it before wiping its files.
    if [[ -f "$GATEHOUSE_PG_DIR/data/postmaster.pid" ]]; then
        _gatehouse_pg_run "$bin/pg_ctl" -D "$GATEHOUSE_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$GATEHOUSE_PG_DIR"
    mkdir -p "$GATEHOUSE_PG_DIR"
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres: "$GATEHOUSE_PG_DIR"
    fi

    _gatehouse_pg_run "$bin/initdb" -D "$GATEHOUSE_PG_DIR/data" --auth=trust --username=postgres --encoding=UTF8 --locale=C --no-sync \
        >"$GATEHOUSE_PG_DIR/initdb.log" 2>&1 || { cat "$GATEHOUSE_PG_DIR/initdb.log" >&2; return 1; }

    port="$(_gatehouse_free_port)" || return 1
    # fsync off: the data is thrown away after the run, and the 2-core CI machines are slow enough already.
    _gatehouse_pg_run "$bin/pg_ctl" -D "$GATEHOUSE_PG_DIR/data" -l "$GATEHOUSE_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$GATEHOUSE_PG_DIR -c fsync=off -c max_connections=200" \
        start >/dev/null || { cat "$GATEHOUSE_PG_DIR/server.log" >&2; return 1; }

    export GATEHOUSE_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

gatehouse_postgres_stop() {
    if [[ -n "${GATEHOUSE_PG_DIR:-}" && -f "$GATEHOUSE_PG_DIR/data/postmaster.pid" ]]; then
        _gatehouse_pg_run "$GATEHOUSE_PG_BIN/pg_ctl" -D "$GATEHOUSE_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
