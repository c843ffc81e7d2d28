#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a relay on loopback and runs a demo swarm
# of bots against it over UDP, then prints the swarm's report and the relay's own figures.
#
#   tools/demo.sh                       # 64 bots in rooms of 8 for 15 s at 60 Hz
#   BOTS=500 SECONDS_TO_RUN=30 tools/demo.sh
#   tools/demo.sh --loss 0.05           # extra arguments go to `tickwire swarm` (see its --help)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product tickwire
bin=.build/release/tickwire

BOTS=${BOTS:-64}
SECONDS_TO_RUN=${SECONDS_TO_RUN:-15}
PORT=${PORT:-40000}
METRICS_PORT=${METRICS_PORT:-9464}
work=$(mktemp -d)
trap 'kill "$relay" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" keygen > "$work/dev.key"
"$bin" serve --key-file "$work/dev.key" --bind 127.0.0.1 --port "$PORT" --max-clients 4096 \
    --metrics "127.0.0.1:$METRICS_PORT" --log-level info > "$work/relay.log" 2>&1 &
relay=$!
# Wait for the relay's metrics endpoint: it answers once the relay is listening.
for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT") 2>/dev/null; then break; fi
    if ! kill -0 "$relay" 2>/dev/null; then cat "$work/relay.log"; echo "the relay did not start (is port $PORT or $METRICS_PORT taken? set PORT / METRICS_PORT)"; exit 1; fi
    sleep 0.1
done
echo "relay on 127.0.0.1:$PORT (metrics on http://127.0.0.1:$METRICS_PORT/metrics)"

status=0
"$bin" swarm --server "127.0.0.1:$PORT" --key-file "$work/dev.key" --bots "$BOTS" --bots-per-room 8 \
    --seconds "$SECONDS_TO_RUN" --report swarm-report.json "$@" || status=$?

echo
echo "relay figures:"
exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
grep -E '^tickwire_(ticks_total|late_ticks_total|skipped_ticks_total|events_relayed_total|snapshots_total|snapshot_bytes_total|reliable_resends_total|dropped_total|tick_duration_seconds_(sum|count)) ' <&3 | sed 's/^/  /' || true
exec 3<&-
kill -TERM "$relay" && wait "$relay" || true
tail -n 2 "$work/relay.log" | sed 's/^/  /'
exit "$status"
