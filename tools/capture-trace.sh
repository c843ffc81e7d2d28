#!/usr/bin/env bash
# Records an outside trace: `tickwire serve` and a `tickwire swarm` in two network namespaces
# joined by a veth pair, `dumpcap` capturing at both ends, then `tickwire trace import` of the
# pair. Needs root (ip netns) and tshark (installed with apt-get when missing).
#   tools/capture-trace.sh OUT.trace [SECONDS] [BOTS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/capture-trace.sh OUT.trace [SECONDS] [BOTS]}
seconds=${2:-12}
bots=${3:-2}
source tools/setup.sh
command -v tshark >/dev/null 2>&1 || apt_install tshark "reads the packet captures"
tickwire=.build/release/tickwire
[ -x "$tickwire" ] || { swift build --product tickwire >/dev/null; tickwire=.build/debug/tickwire; }
work=$(mktemp -d /tmp/tickwire-capture.XXXXXX)
a=twcap-a-$$; b=twcap-b-$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add twa$$ type veth peer name twb$$
ip link set twa$$ netns "$a"; ip link set twb$$ netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev twa$$; ip -n "$b" addr add 10.77.0.2/24 dev twb$$
ip -n "$a" link set twa$$ up; ip -n "$b" link set twb$$ up
ip -n "$a" link set lo up; ip -n "$b" link set lo up
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ip netns exec "$a" dumpcap -q -i twa$$ -f "udp port 40000" -w "$work/server.pcapng" 2>/dev/null & pids+=($!)
ip netns exec "$b" dumpcap -q -i twb$$ -f "udp port 40000" -w "$work/client.pcapng" 2>/dev/null & pids+=($!)
sleep 1
ip netns exec "$a" "$tickwire" serve --key "$key" --bind 10.77.0.1 --port 40000 --workers 1 >"$work/serve.log" 2>&1 & pids+=($!)
sleep 1
ip netns exec "$b" "$tickwire" swarm --key "$key" --server 10.77.0.1:40000 --bots "$bots" --bots-per-room "$bots" \
    --seconds "$seconds" --report "$work/swarm.json" >"$work/swarm.log" 2>&1 \
    || { echo "the swarm's checks failed (see $work/swarm.log); importing what was captured" >&2; }
sleep 0.5
kill -INT "${pids[0]}" "${pids[1]}" 2>/dev/null || true
wait "${pids[0]}" "${pids[1]}" 2>/dev/null || true
"$tickwire" trace import --client-pcap "$work/client.pcapng" --server-pcap "$work/server.pcapng" --server 10.77.0.1:40000 -o "$out"
echo "captures and logs: $work"
