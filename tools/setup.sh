#!/usr/bin/env bash
# Installs what Tickwire needs to build on Debian/Ubuntu: libsodium-dev (via apt-get when missing).
# Safe to run repeatedly; prints what it does.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "tickwire: the Swift toolchain (6.1 or newer) is not on PATH; install it from swift.org first" >&2
    exit 1
fi

if ! dpkg -s libsodium-dev >/dev/null 2>&1; then
    echo "tickwire: installing libsodium-dev with apt-get" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "tickwire: libsodium-dev is missing and this is not root; run: apt-get install libsodium-dev" >&2
            exit 1
        fi
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libsodium-dev >/dev/null
fi

# Headless Chromium renders the HTML reports in the test suite (tools/test.sh calls this).
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then return 0; fi
    echo "tickwire: installing chromium with apt-get (the test suite renders the HTML report with it)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "tickwire: chromium is missing and this is not root; run: apt-get install chromium" >&2
            return 1
        fi
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
}
