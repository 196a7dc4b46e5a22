#!/usr/bin/env bash
# The benchmark drives the servers with wrk: install it from the distribution's
# packages when it is missing and we may (root, or sudo without a password);
# otherwise say exactly what to run.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  exit 0
fi

install() {
  if [ "$(id -u)" = "0" ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get install -y wrk >/dev/null 2>&1 || { sudo apt-get update >/dev/null 2>&1 && sudo apt-get install -y wrk >/dev/null 2>&1; }
  else
    return 1
  fi
}

if command -v apt-get >/dev/null 2>&1; then
  echo "wrk is missing; installing it with apt-get..."
  if install && command -v wrk >/dev/null 2>&1; then
    exit 0
  fi
fi

cat >&2 <<'MSG'
The benchmark needs wrk (https://github.com/wg/wrk), which is not installed.
  Debian/Ubuntu:  sudo apt-get install wrk
  Fedora:         sudo dnf install wrk
  macOS:          brew install wrk
Then run `make bench` again.
MSG
exit 1
