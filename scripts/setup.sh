#!/usr/bin/env bash
# One-time setup on a fresh machine: torch (the CPU wheel, first, so pip never resolves a CUDA
# build), this package with its workflow (incl. the Slurm executor plugin) and test extras, and,
# when running as root on Debian, Chromium (the report's headless render check) and slurm-wlm +
# munge (the single-node cluster of scripts/slurm-cluster.sh that the Slurm test runs).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[workflow,test]"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "note: not root: install ${missing[*]} (Debian) for the render and Slurm tests" >&2
  fi
fi
