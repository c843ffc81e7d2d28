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

# Installs a Debian package with apt-get (sudo when not root), saying why.
apt_install() {
    local package=$1 why=$2
    echo "tickwire: installing $package with apt-get ($why)" >&2
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "tickwire: $package is missing and this is not root; run: apt-get install $package" >&2
            return 1
        fi
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null
}

if ! dpkg -s libsodium-dev >/dev/null 2>&1; then
    apt_install libsodium-dev "the crypto library" || exit 1
fi

# The benchmark check and the demo read JSON and tables with a few lines of Python.
if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 "tools/benchmarks.sh and tools/demo.sh read their figures with it" || exit 1
fi

# gcc builds the C client example against libTickwireC (tools/test.sh calls this).
ensure_gcc() {
    if command -v gcc >/dev/null 2>&1; then return 0; fi
    apt_install gcc "the test suite builds Examples/c-client with it"
}

# Headless Chromium renders the HTML reports in the test suite (tools/test.sh calls this).
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then return 0; fi
    apt_install chromium "the test suite renders the HTML report with it"
}
