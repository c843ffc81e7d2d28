#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
source tools/postgres.sh
ensure_chromium
ensure_gcc
start_test_postgres
export TICKWIRE_REQUIRE_POSTGRES=1
swift build --build-tests
# The C library (a dynamic library product) for the C example's test.
swift build --product TickwireC
swift test "$@"
