#!/usr/bin/env bash
# One throwaway PostgreSQL cluster in a folder (tools/postgres.sh starts the suite's; tests that
# restart a server start their own).
#
#   tools/postgres-cluster.sh start DIR     # initdb DIR, start it on a free loopback port, print its URL
#                                           # (also in DIR/url: the server keeps inherited descriptors
#                                           # open, so a caller reading a pipe to its end would wait)
#   tools/postgres-cluster.sh restart DIR   # stop it (fast) and start it again on the same port
#   tools/postgres-cluster.sh stop DIR      # stop it and remove DIR
#
# Trust authentication for the user `tickwire`, loopback only, fsync off: for tests, never for data.
set -euo pipefail

command=${1:?usage: postgres-cluster.sh start|restart|stop DIR}
dir=${2:?usage: postgres-cluster.sh start|restart|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "postgres-cluster.sh: no PostgreSQL server found; install Debian's postgresql (tools/postgres.sh does)" >&2
    exit 1
fi
run_as=()
if [ "$(id -u)" -eq 0 ]; then run_as=(runuser -u postgres --); fi

start_server() {
    local port=$1
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/db" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
}

case $command in
start)
    mkdir -p "$dir"
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    # A loopback port nothing answers on (bash alone: no other tool is assumed here).
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    done
    "${run_as[@]}" "$bin/initdb" -D "$dir/db" -U tickwire --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    echo "$port" >"$dir/port"
    start_server "$port"
    echo "postgres://tickwire@127.0.0.1:$port/postgres" | tee "$dir/url"
    ;;
restart)
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/db" -m fast -w stop >/dev/null
    start_server "$(cat "$dir/port")"
    ;;
stop)
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres-cluster.sh start|restart|stop DIR" >&2
    exit 2
    ;;
esac
