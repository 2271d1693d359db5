#!/usr/bin/env bash
# System packages some tests need, installed once with apt when missing (Debian/Ubuntu, as root):
#   postgresql: a throwaway server for the Postgres checkpoint tests (tests/postgres_server.py);
#   chromium: the browser that Playwright drives in the web app's test (tests/integration/test_chainlit_browser.py).
# Without apt or root it only says what is missing; those tests then skip, saying why (and fail under CI).
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get > /dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  echo "note: system packages missing (${missing[*]}); install them with apt-get to run every test" >&2
fi
