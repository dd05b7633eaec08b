#!/usr/bin/env bash
# Installs Debian's Chromium for the JupyterLab browser check (tests/test_lab_in_browser.py, `make lab-check`).
# Runs apt-get only as root; otherwise says what to run. Never fails: without Chromium the check is skipped.
set -u
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser check"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || echo "warning: apt-get could not install chromium; the JupyterLab browser check will be skipped" >&2
else
  echo "optional: sudo apt-get install chromium   (the JupyterLab browser check)" >&2
fi
