#!/usr/bin/env bash
# What the status page's browser tests need (tests/integration/test_status_page.py): Debian's
# headless-capable `chromium` and its `chromium-driver` (/usr/bin/chromedriver), which the tests
# give Selenium by path, so Selenium's driver manager never downloads one; and a font, so the
# screenshots show text.
#
#   scripts/browser.sh install   install chromium, chromium-driver and a font when missing
set -euo pipefail

source "$(dirname "$0")/service-lib.sh"

log() { echo "browser: $*" >&2; }

install_packages() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
    install_missing "${missing[@]}"
}

case "${1:-}" in
    install) install_packages ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
