#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests that need one (the fleet's room directory).
#
#   source tools/postgres.sh && start_test_postgres
#
# installs Debian's `postgresql` when no initdb is found, creates a cluster in a temporary folder
# owned by the `postgres` user, starts it on a free loopback port, exports
# TICKWIRE_TEST_POSTGRES_URL (postgres://tickwire@127.0.0.1:PORT/postgres, trust authentication)
# and stops and removes it when the calling shell exits. stop_test_postgres / restart_test_postgres
# are for tests that take the server down on purpose (they call them through the URL's data folder
# in TICKWIRE_TEST_POSTGRES_DATA).

postgres_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

start_test_postgres() {
    if [ -z "$(postgres_bin)" ]; then
        apt_install postgresql "the fleet directory tests run against a real PostgreSQL" || return 1
    fi
    local bin data port run_as=()
    bin=$(postgres_bin)
    data=$(mktemp -d /tmp/tickwire-pg.XXXXXX)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$data"
        run_as=(runuser -u postgres --)
    fi
    "${run_as[@]}" "$bin/initdb" -D "$data/db" -U tickwire --auth=trust -E UTF8 >"$data/initdb.log" 2>&1 || {
        cat "$data/initdb.log" >&2
        return 1
    }
    "${run_as[@]}" "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null || {
        cat "$data/server.log" >&2
        return 1
    }
    export TICKWIRE_TEST_POSTGRES_URL="postgres://tickwire@127.0.0.1:$port/postgres"
    export TICKWIRE_TEST_POSTGRES_DATA="$data"
    export TICKWIRE_TEST_POSTGRES_CTL="${run_as[*]} $bin/pg_ctl -D $data/db"
    trap 'stop_test_postgres' EXIT
    echo "tickwire: test PostgreSQL at $TICKWIRE_TEST_POSTGRES_URL" >&2
}

stop_test_postgres() {
    [ -n "${TICKWIRE_TEST_POSTGRES_DATA:-}" ] || return 0
    $TICKWIRE_TEST_POSTGRES_CTL -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TICKWIRE_TEST_POSTGRES_DATA"
    unset TICKWIRE_TEST_POSTGRES_DATA
}
