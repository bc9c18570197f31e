#!/usr/bin/env bash
# Headless Chromium and ChromeDriver for the browser tests of `pulse ui`
# (`tests/it/support/browser.rs`), from Debian's packages:
#
#   bash tests/browser/install.sh
#
# Does nothing when /usr/bin/chromedriver and a chromium are already there; otherwise installs
# `chromium` and `chromium-driver` as root, or through `sudo -n`. All output goes to stderr.
set -euo pipefail

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

installed() {
  [[ -x /usr/bin/chromedriver ]] || return 1
  [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null
}

installed && exit 0

echo "installing Chromium and ChromeDriver from Debian's packages" >&2
as_root apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
installed || { echo "chromium or chromedriver still missing after the install" >&2; exit 1; }
