#!/usr/bin/env bash
# Installs what the browser tests (tests/browser.rs, tests/browser/) need: Debian's chromium
# package when no Chromium is there, and npm playwright-core and axe-core at the versions of
# tests/browser/package-lock.json. Playwright drives that Chromium by its path; it never
# downloads a browser of its own. Needs npm.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${ARENA_CHROMIUM:-/usr/bin/chromium}" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
echo "browser tests: $("${ARENA_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1)," \
  "playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')," \
  "axe-core $(node -p 'require("./tests/browser/node_modules/axe-core/package.json").version')"
