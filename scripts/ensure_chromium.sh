#!/usr/bin/env bash
# Headless Chromium and its driver for the map test (tests/test_demo_map.py),
# from Debian's packages, installed when missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
# fonts-wqy-zenhei: Chinese layer names in the map screenshot (docs/img/demo_map.png).
for pkg in chromium chromium-driver fonts-wqy-zenhei; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
