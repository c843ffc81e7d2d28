#!/usr/bin/env bash
# The test suite's throwaway PostgreSQL (the fleet's room directory):
#
#   source tools/postgres.sh && start_test_postgres
#
# installs Debian's `postgresql` when no server is found, starts a cluster on a free loopback port
# (tools/postgres-cluster.sh), exports TICKWIRE_TEST_POSTGRES_URL
# (postgres://tickwire@127.0.0.1:PORT/postgres, trust authentication) and TICKWIRE_TEST_POSTGRES_TOOL
# (the cluster script, for tests that run servers of their own), and stops and removes the cluster
# when the calling shell exits.

start_test_postgres() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install postgresql "the fleet directory tests run against a real PostgreSQL" || return 1
    fi
    TICKWIRE_TEST_POSTGRES_DATA=$(mktemp -d /tmp/tickwire-pg.XXXXXX)
    export TICKWIRE_TEST_POSTGRES_DATA
    TICKWIRE_TEST_POSTGRES_URL=$("$root/postgres-cluster.sh" start "$TICKWIRE_TEST_POSTGRES_DATA") || return 1
    export TICKWIRE_TEST_POSTGRES_URL
    export TICKWIRE_TEST_POSTGRES_TOOL="$root/postgres-cluster.sh"
    trap 'stop_test_postgres' EXIT
    echo "tickwire: test PostgreSQL at $TICKWIRE_TEST_POSTGRES_URL" >&2
}

stop_test_postgres() {
    [ -n "${TICKWIRE_TEST_POSTGRES_DATA:-}" ] || return 0
    "$TICKWIRE_TEST_POSTGRES_TOOL" stop "$TICKWIRE_TEST_POSTGRES_DATA"
    unset TICKWIRE_TEST_POSTGRES_DATA
}
