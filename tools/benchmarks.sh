#!/usr/bin/env bash
# Allocation benchmarks of the hot paths (ordo-one/benchmark with its malloc interposer), in the
# separate package under Benchmarks/ so that the main build does not pay for it (its first build
# takes a few minutes).
#
#   tools/benchmarks.sh          # run them; exit 1 if any hot path allocates in steady state
#   tools/benchmarks.sh run      # run and print the tables only
#
# Each count includes what the harness allocates around a measured region (the
# harness-empty-region benchmark): a hot path passes when it counts no more than that floor.
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
        counts[name] = int(cells[7].replace(",", ""))  # p100: the worst sample
floor = counts.pop("harness-empty-region", None)
if floor is None or not counts:
    sys.exit("benchmarks: no malloc counts found in the output")
failed = False
print(f"\nmallocs in steady state (above the harness's own {floor}):")
for name, count in sorted(counts.items()):
    extra = count - floor
    print(f"  {name:28} {extra:6d}  {'ok' if extra <= 0 else 'ALLOCATES'}")
    failed |= extra > 0
sys.exit(1 if failed else 0)
PY
