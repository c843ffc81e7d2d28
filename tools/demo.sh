#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a relay and a demo of connected clients
# on loopback, and prints what happened. Extra arguments go to `tickwire demo` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product tickwire
exec .build/release/tickwire demo "$@"
