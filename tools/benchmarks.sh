#!/usr/bin/env bash
# Allocation benchmarks of the hot paths (ordo-one/benchmark with its malloc interposer), in the
# separate package under Benchmarks/ so that the main build does not pay for it (its first build
# takes a few minutes).
#
#   tools/benchmarks.sh          # run them; exit 1 if any hot path allocates in steady state
#   tools/benchmarks.sh run      # run and print the tables only
#
# Each count includes what the harness allocates around a measured region (the
# harness-empty-region benchmark): a hot path passes when its median sample counts no more than
# that floor. The interposer counts every thread of the process, so a single sample can catch an
# allocation of the harness or the runtime (CI once saw 2 in 3 of 10 samples of a 10 ms region,
# where 40 measured seconds under gdb with a breakpoint on malloc saw none); an allocation per
# packet, tick or update shows in every sample, by hundreds. The worst sample is printed beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
cd Benchmarks
out=$(mktemp)
trap 'rm -f "$out"' EXIT
swift package --allow-writing-to-package-directory benchmark --target HotPaths --no-progress | tee "$out"
[ "${1:-check}" = run ] && exit 0
python3 - "$out" <<'PY'
import re, sys
counts, name = {}, None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if re.fullmatch(r"[a-z0-9-]+", line):
        name = line
    elif name and line.startswith("│ Malloc (total)"):
        cells = [c.strip() for c in line.strip("│").split("│")]
        # p50 (the median sample) and p100 (the worst)
        counts[name] = (int(cells[3].replace(",", "")), int(cells[7].replace(",", "")))
floor = counts.pop("harness-empty-region", (None, None))[1]
if floor is None or not counts:
    sys.exit("benchmarks: no malloc counts found in the output")
failed = False
print(f"\nmallocs in steady state (above the harness's own {floor}), median sample and worst:")
for name, (median, worst) in sorted(counts.items()):
    extra = median - floor
    print(f"  {name:28} {extra:6d} {worst - floor:6d}  {'ok' if extra <= 0 else 'ALLOCATES'}")
    failed |= extra > 0
sys.exit(1 if failed else 0)
PY
