#!/usr/bin/env bash
# Abuse measurements on loopback (issue "Hardening"): a relay, a 64-bot swarm in rooms of 8, and
#   1. one hostile client in room-1 for each behaviour (event-flood, giant-event, never-ack,
#      keep-alive-only, fragment-abuse, malformed-state): what happened to it and when, the other
#      members' checks, the relay's removals by reason, and the relay's RSS before and after;
#   2. floods of unauthenticated traffic while the swarm runs (none, 300k garbage datagrams/s,
#      300k fake connection requests/s from one address and from 64): the bots' RTT p99 and
#      snapshots per second, and the relay's CPU seconds over the run.
#
#   tools/hostile.sh                 # everything (about 4 minutes)
#   tools/hostile.sh hostile         # only part 1;  tools/hostile.sh flood   # only part 2
#   SECONDS_TO_RUN=30 BOTS=64 RATE=300000 tools/hostile.sh
#   RELAY_BIN=old/tickwire SWARM_BIN=old/tickwire tools/hostile.sh flood   # the same floods against another build
# Loopback only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product tickwire 2>&1 | tail -1
bin=.build/release/tickwire
relay_bin=${RELAY_BIN:-$bin}
swarm_bin=${SWARM_BIN:-$bin}
part=${1:-all}
BOTS=${BOTS:-64}
SECONDS_TO_RUN=${SECONDS_TO_RUN:-20}
RATE=${RATE:-300000}
PORT=${PORT:-40100}
METRICS_PORT=${METRICS_PORT:-9564}
work=$(mktemp -d)
relay=""
trap '[ -n "$relay" ] && kill "$relay" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" keygen > "$work/key"

start_relay() {
    "$relay_bin" serve --key-file "$work/key" --bind 127.0.0.1 --port "$PORT" --max-clients 1024 \
        --metrics "127.0.0.1:$METRICS_PORT" --log-level info > "$work/relay.log" 2>&1 &
    relay=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "relay did not start"; cat "$work/relay.log"; exit 1
}
stop_relay() { kill -TERM "$relay"; wait "$relay" 2>/dev/null || true; relay=""; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$relay/status"; }
cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$relay/stat"; }
metric() {  # sum of a metric's samples whose line matches $1
    exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
    grep -E "^$1" <&3 | awk '{s += $NF} END {printf "%d", s}'
    exec 3<&-
}
removals() {
    local out=""
    for reason in abuse backlogged idle protocol_violation; do
        local n; n=$(metric "tickwire_clients_removed_by_reason_total\\{reason=\"$reason\"\\}")
        [ "$n" != 0 ] && out="$out $reason=$n"
    done
    echo "${out:- none}"
}

if [ "$part" = all ] || [ "$part" = hostile ]; then
    echo "== one hostile client in room-1 beside $BOTS bots (rooms of 8), $SECONDS_TO_RUN s each"
    for kind in ${KINDS:-event-flood giant-event never-ack keep-alive-only fragment-abuse malformed-state}; do
        start_relay
        "$bin" swarm --server "127.0.0.1:$PORT" --key-file "$work/key" --bots "$BOTS" --bots-per-room 8 \
            --seconds "$SECONDS_TO_RUN" --hostile "$kind" --hostile-join-seconds 2 --report "$work/$kind.json" \
            > "$work/$kind.out" 2>&1 &
        swarm=$!
        sleep 1.8
        before=$(rss_kib)
        status=0; wait "$swarm" || status=$?
        after=$(rss_kib)
        echo "-- $kind"
        grep -E '^hostile client' "$work/$kind.out" | sed 's/^/   /'
        echo "   relay removed:$(removals); events refused: $(metric 'tickwire_events_refused_total'); protocol drops: $(metric 'tickwire_dropped_total\{reason="(invalid_channel_packet|malformed_relay_message|oversized_state)"\}')"
        echo "   other members: $(grep -cE '  pass  ' "$work/$kind.out") checks pass, $(grep -cE '  FAIL  ' "$work/$kind.out") fail (swarm exit $status); $(grep -oE '[0-9]+ connected at the end' "$work/$kind.out")"
        echo "   relay RSS: $((before / 1024)) MiB before the hostile joined, $((after / 1024)) MiB at the end"
        { grep -E 'client removed' "$work/relay.log" || true; } | head -1 | sed 's/^/   relay log: /' | cut -c1-220
        stop_relay
    done
fi

if [ "$part" = all ] || [ "$part" = flood ]; then
    echo "== floods at $RATE datagrams/s for $((SECONDS_TO_RUN - 6)) s during a $BOTS-bot swarm of $SECONDS_TO_RUN s"
    printf '%-14s %10s %12s %12s %14s %12s %14s\n' flood "rtt p99 ms" "snapshots/s" "relay CPU s" "datagrams in" "µs/datagram" "request drops"
    for flood in none garbage requests requests-64; do
        start_relay
        "$swarm_bin" swarm --server "127.0.0.1:$PORT" --key-file "$work/key" --bots "$BOTS" --bots-per-room 8 \
            --seconds "$SECONDS_TO_RUN" --report "$work/flood.json" > "$work/flood.out" 2>&1 &
        swarm=$!
        sleep 3
        cpu0=$(cpu_seconds)
        case $flood in
            none) sleep $((SECONDS_TO_RUN - 6)) ;;
            garbage) "$bin" flood --target "127.0.0.1:$PORT" --kind garbage --rate "$RATE" --seconds $((SECONDS_TO_RUN - 6)) > "$work/flood-tool.out" ;;
            requests) "$bin" flood --target "127.0.0.1:$PORT" --kind requests --rate "$RATE" --seconds $((SECONDS_TO_RUN - 6)) > "$work/flood-tool.out" ;;
            requests-64) "$bin" flood --target "127.0.0.1:$PORT" --kind requests --rate "$RATE" --sources 64 --seconds $((SECONDS_TO_RUN - 6)) > "$work/flood-tool.out" ;;
        esac
        cpu1=$(cpu_seconds)
        wait "$swarm" || true
        # The flood window's progress lines (t=3..SECONDS-3): worst RTT p99, mean snapshots per bot.
        window=$(awk -v a=4 -v b=$((SECONDS_TO_RUN - 3)) '/^t=/ { t = $0; sub(/^t= */, "", t); t = t + 0; if (t >= a && t <= b) print }' "$work/flood.out")
        p99=$(echo "$window" | { grep -oE 'p99 [0-9.]+' || true; } | awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }')
        snaps=$(echo "$window" | { grep -oE 'snapshots [0-9.]+' || true; } | awk '{ s += $2; n++ } END { printf "%.1f", n ? s / n : 0 }')
        drops=$(metric 'tickwire_dropped_total\{reason="(request_rate_limited|connect_token_decrypt_failed)"\}')
        packets=$(metric 'tickwire_packets_in_total')
        printf '%-14s %10s %12s %12s %14s %12s %14s\n' "$flood" "$p99" "$snaps" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" \
            "$packets" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$packets" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) * 1e6 / n : 0) }')" "$drops"
        [ -s "$work/flood-tool.out" ] && sed 's/^/   /' "$work/flood-tool.out" && : > "$work/flood-tool.out"
        grep -E 'FAIL' "$work/flood.out" | sed 's/^/   /' || true
        stop_relay
    done
fi
