#!/usr/bin/env bash
# Installs what keybridge needs from Debian 12's repositories, only when something is missing.
# Usage: scripts/install-deps.sh [--test]   (--test also installs what the test suite needs)
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libssl-dev libcrypto++-dev libsecp256k1-dev libboost1.81-dev libexpected-dev libfmt-dev
  libicu-dev protobuf-compiler libprotobuf-dev libhidapi-dev libusb-1.0-0-dev libsystemd-dev
  python3 dpkg-dev file libjemalloc-dev
)
# libhidapi-dev: Ledger and Trezor One devices over USB HID (hidraw backend); libusb: Trezor
# WebUSB; protobuf: the Trezor messages (proto/); libsystemd-dev: sd-bus, for desktop
# notifications of new approval requests.
# libjemalloc-dev: keybridged's allocator (daemon/CMakeLists.txt).
# python3 generates the man pages at build time (packaging/man/gen_man.py); dpkg-dev
# (dpkg-shlibdeps) and file let `make deb` compute the package's dependencies.
# systemd: systemd-analyze verifies packaging/systemd/keybridged.service (ctest systemd_unit).
# python3: the CLI end-to-end tests run with /usr/bin/python3 (standard library only).
# lintian checks the package `make deb` builds; man-db and groff-base render the man pages
# (ctest deb_package, make_install, man_pages). python3-websockets and curl run the snippets of
# docs/CLIENTS.md (ctest clients_doc). chromium: the browser Playwright drives in the approval
# page and extension tests (ctest approval_page, extension_e2e; playwright-core from npm downloads
# no browser); dbus-daemon and dbus-bin (dbus-monitor) watch its desktop
# notifications. firefox-esr: the browser puppeteer-core (npm, over WebDriver BiDi; no download)
# drives in the Firefox tests (ctest approval_page_firefox, extension_firefox). lld links the
# sanitizer and libFuzzer builds (a third of GNU ld's time for their large test programs).
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev libfuzzer-14-dev lld
  nodejs npm clang-format systemd python3 lintian man-db groff-base python3-websockets curl
  python3-trezor chromium dbus-daemon dbus-bin firefox-esr
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from elsewhere on a developer machine: a working binary is enough.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "keybridge: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
