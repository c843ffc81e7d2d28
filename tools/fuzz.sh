#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (Swift's -sanitize=fuzzer,address).
#
#   tools/fuzz.sh                      # every target, 60 s each
#   tools/fuzz.sh relay-server 600     # one target for 10 minutes
#   JOBS=2 tools/fuzz.sh relay-server,relay-client 600
#   tools/fuzz.sh all 600              # every target for 10 minutes each (the documented long run)
#   JOBS=2 tools/fuzz.sh all 600       # two targets at a time
#
# Targets: netcode-server netcode-client channel-receive relay-message snapshot-decode
#          relay-server relay-client   (Fuzz/Harness/FuzzTarget.swift says what each covers)
#
# Seeds are read from Fuzz/Corpus/<target> (committed); inputs the fuzzer finds go to
# .build-fuzz/corpus/<target> (not committed). A crash writes Fuzz/Findings/<target>/crash-*,
# prints it, and makes this script exit 1: copy it into Fuzz/Corpus/<target>/finding-NAME so the
# test suite (FuzzCorpusTests) replays it from then on, and add a regression test.
# Per target it prints executions, executions per second, edges covered (cov) and features (ft).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

targets=(netcode-server netcode-client channel-receive relay-message snapshot-decode relay-server relay-client)
which=${1:-all}
seconds=${2:-60}
jobs=${JOBS:-1}
if [ "$which" != all ]; then
    chosen=()
    for name in ${which//,/ }; do
        found=0; for t in "${targets[@]}"; do [ "$t" = "$name" ] && found=1; done
        if [ $found = 0 ]; then echo "tools/fuzz.sh: unknown target '$name'; one of: all ${targets[*]} (or a comma-separated list)" >&2; exit 64; fi
        chosen+=("$name")
    done
    targets=("${chosen[@]}")
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "tools/fuzz.sh: SECONDS must be a whole number of seconds >= 1, got '$seconds'" >&2; exit 64
fi

mkdir -p .build-fuzz
if ! ( cd Fuzz/Engine && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    --scratch-path ../../.build-fuzz > ../../.build-fuzz/build.log 2>&1 ); then
    grep -E "error" .build-fuzz/build.log | head -20 >&2
    echo "tools/fuzz.sh: the fuzz engine did not build (whole log: .build-fuzz/build.log)" >&2
    exit 1
fi
grep -E "warning: unre|Build complete" .build-fuzz/build.log | tail -3
bin=.build-fuzz/release/tickwire-fuzz
logs=.build-fuzz/logs
mkdir -p "$logs"

run_one() {
    local target=$1
    mkdir -p ".build-fuzz/corpus/$target" "Fuzz/Findings/$target"
    # -rss_limit_mb: a leak or an unbounded structure shows up as a finding, not a swap storm.
    TICKWIRE_FUZZ_TARGET=$target "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
        -timeout=10 -artifact_prefix="Fuzz/Findings/$target/" ".build-fuzz/corpus/$target" "Fuzz/Corpus/$target" \
        > "$logs/$target.log" 2>&1 || true
}

running=0
for target in "${targets[@]}"; do
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

status=0
printf '%-16s %10s %12s %8s %8s %8s  %s\n' target seconds executions exec/s edges features findings
for target in "${targets[@]}"; do
    log="$logs/$target.log"
    execs=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    findings=$(find "Fuzz/Findings/$target" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
    printf '%-16s %10s %12s %8s %8s %8s  %s\n' "$target" "$seconds" "${execs:-0}" "${rate:-0}" "${cov:-0}" "${ft:-0}" "$findings"
    if [ "$findings" -gt 0 ] || grep -qE 'ERROR: (AddressSanitizer|libFuzzer)|Fatal error' "$log"; then
        status=1
        echo "  finding in $target (log: $log):"
        grep -E 'ERROR|Fatal error|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
    fi
done
exit $status
