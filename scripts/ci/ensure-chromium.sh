#!/usr/bin/env bash
# The /docs browser test (test/integration/docs.test.ts) drives Debian's Chromium with
# playwright-core. `npm test` runs this first: nothing to do when Chromium is there; as root with
# apt-get (CI on a fresh machine), it installs it; otherwise it says how, and that test skips.
set -uo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium for the /docs browser test (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
    echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)"
    exit 0
  fi
  echo "ensure-chromium: apt-get could not install chromium; the /docs browser test will be skipped" >&2
  exit 0
fi
echo "ensure-chromium: no Chromium at $CHROMIUM and not root with apt-get: the /docs browser test will be skipped (install the chromium package, or set CHROMIUM_PATH)" >&2
exit 0
