#!/usr/bin/env bash
# Who takes a core from the thread that runs on it: records the scheduler's switches on one core
# for a while (perf's sched:sched_switch tracepoint; no hardware counters needed) and prints, for
# the thread that ran most there (a relay's loop pinned to it), how often and for how long it was
# switched out while still runnable, and which threads ran meanwhile.
#
#   tools/preemptions.sh [core] [seconds]      # core 0, 20 s unless given
#
# Run it while the relay is under load, e.g. 9 s into `tickwire bench capacity` (the relay phase
# has begun) or beside `tickwire serve`. perf runs on another core than the one it watches when
# there is one. Needs perf (Debian: `apt-get install linux-perf`) and the right to trace (root,
# or kernel.perf_event_paranoid at most 1).
set -euo pipefail
core=${1:-0}
seconds=${2:-20}
if ! [[ "$core" =~ ^[0-9]+$ ]]; then echo "preemptions.sh: core must be a core number (0, 1, ...), got '$core'" >&2; exit 2; fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || [ "$seconds" -gt 600 ]; then
  echo "preemptions.sh: seconds must be 1...600, got '$seconds'" >&2; exit 2
fi
cores=$(nproc --all)
if [ "$core" -ge "$cores" ]; then echo "preemptions.sh: core $core does not exist (cores 0...$((cores - 1)))" >&2; exit 2; fi
if ! command -v perf >/dev/null; then echo "preemptions.sh: perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 2; fi
data=$(mktemp)
trap 'rm -f "$data" "$data.old"' EXIT
# perf on another core, so that the watched core carries only its tracepoint writes.
other=$(( core == 0 ? (cores > 1 ? 1 : 0) : 0 ))
if ! taskset -c "$other" perf record -q -e sched:sched_switch -C "$core" -o "$data" -- sleep "$seconds" 2>"$data.err"; then
  echo "preemptions.sh: perf record failed: $(head -3 "$data.err")" >&2; rm -f "$data.err"; exit 1
fi
rm -f "$data.err"
perf script -i "$data" -F time,trace 2>/dev/null | python3 -c '
import re, sys
from collections import defaultdict
switch = re.compile(r"(\d+\.\d+):\s+prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
events = [(float(m[1]), m[2], int(m[3]), m[4], m[5], int(m[6])) for m in map(switch.search, sys.stdin) if m]
if len(events) < 2:
    sys.exit("preemptions.sh: no switches recorded on core " + sys.argv[1])
ran = defaultdict(float)
for (t, *_ , pid), (later, *_) in zip(events, events[1:]):
    ran[pid] += later - t
names = {e[5]: e[4] for e in events}
busy = [pid for pid in sorted(ran, key=ran.get, reverse=True) if pid != 0]
if not busy:
    sys.exit("preemptions.sh: nothing but the idle task ran on core " + sys.argv[1])
target = busy[0]
span = events[-1][0] - events[0][0]
out, gaps, takers = None, [], defaultdict(lambda: [0, 0.0])
for t, prev, prev_pid, state, nxt, next_pid in events:
    if prev_pid == target and state.startswith("R"):
        out = (t, {nxt})
    elif out and next_pid != target:
        out[1].add(nxt)
    if next_pid == target and out:
        gap = (t - out[0]) * 1000
        gaps.append(gap)
        for name in out[1]:
            takers[name][0] += 1
            takers[name][1] += gap
        out = None
print(f"core {sys.argv[1]}, {span:.1f} s: {names[target]} (tid {target}) ran {ran[target] / span * 100:.0f}% of the time")
print(f"switched out while runnable {len(gaps)} times ({len(gaps) / span:.1f} a second), {sum(gaps):.1f} ms in all "
      f"({sum(gaps) / span:.2f} ms a second); {sum(g > 1 for g in gaps)} of them over 1 ms, the longest {max(gaps, default=0):.2f} ms")
print("what ran meanwhile (a switch-out can count several):")
for name, (count, ms) in sorted(takers.items(), key=lambda kv: -kv[1][1])[:12]:
    print(f"  {name:<24} {count:6d} times {ms:9.1f} ms")
' "$core"
