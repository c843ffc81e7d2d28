#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a relay on loopback (one worker per core)
# and runs a demo swarm of bots against it over UDP. Each bot gets its token from the relay's join
# API, as a game backend would, and lands on the worker that hosts its room. Then it prints the
# swarm's report, where the rooms live, and the relay's own figures.
#
#   tools/demo.sh                       # 64 bots in rooms of 8 for 15 s at 60 Hz
#   WORKERS=1 tools/demo.sh             # one relay worker
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
WORKERS=${WORKERS:-$(nproc)}
work=$(mktemp -d)
trap 'kill "$relay" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" keygen > "$work/dev.key"
"$bin" keygen > "$work/join.key"   # the join API's bearer key: any secret of 16+ bytes
"$bin" serve --key-file "$work/dev.key" --bind 127.0.0.1 --port "$PORT" --workers "$WORKERS" --max-clients 4096 \
    --metrics "127.0.0.1:$METRICS_PORT" --join-api-key-file "$work/join.key" --log-level info > "$work/relay.log" 2>&1 &
relay=$!
# Wait for the relay's metrics endpoint: it answers once the relay is listening.
for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT") 2>/dev/null; then break; fi
    if ! kill -0 "$relay" 2>/dev/null; then cat "$work/relay.log"; echo "the relay did not start (is port $PORT or $METRICS_PORT taken? set PORT / METRICS_PORT)"; exit 1; fi
    sleep 0.1
done
echo "relay: $WORKERS worker(s) on UDP 127.0.0.1:$PORT..$((PORT + WORKERS - 1)); admin on http://127.0.0.1:$METRICS_PORT (/metrics, POST /v1/join, GET /v1/rooms)"

status=0
"$bin" swarm --join-api "http://127.0.0.1:$METRICS_PORT" --join-api-key-file "$work/join.key" --bots "$BOTS" --bots-per-room 8 \
    --seconds "$SECONDS_TO_RUN" --report swarm-report.json "$@" || status=$?

echo
echo "where the rooms lived (GET /v1/rooms, after the bots left):"
exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
printf 'GET /v1/rooms HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n' "$(cat "$work/join.key")" >&3
python3 -c '
import json, sys
answer = json.loads(sys.stdin.read().split("\r\n\r\n", 1)[1])
by_worker = {}
for room in answer["rooms"]:
    by_worker.setdefault(room["worker"], []).append(room["room"])
for worker in sorted(by_worker):
    names = sorted(by_worker[worker])
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    print("  worker %d: %d rooms (%s)" % (worker, len(names), shown))
' <&3 || true
exec 3<&-

echo
echo "relay figures:"
exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
grep -E '^tickwire_(ticks_total|late_ticks_total|skipped_ticks_total|events_relayed_total|snapshots_total|snapshot_bytes_total|reliable_resends_total|dropped_total|tick_duration_seconds_(sum|count))[ {]' <&3 | sed 's/^/  /' || true
exec 3<&-
kill -TERM "$relay" && wait "$relay" || true
tail -n "$((WORKERS + 1))" "$work/relay.log" | sed 's/^/  /'
exit "$status"
