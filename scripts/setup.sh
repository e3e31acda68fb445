#!/usr/bin/env bash
# One-time setup on a fresh machine: torch (the CPU wheel, first, so pip never resolves a CUDA
# build), this package with its workflow and test extras, and Chromium for the report's
# headless render check (Debian's package, when running as root).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[workflow,test]"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    echo "note: install Chromium (Debian: apt-get install chromium) to run the report render test" >&2
  fi
fi
