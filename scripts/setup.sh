#!/usr/bin/env bash
# One-time setup on a fresh machine, into a virtual environment (.venv, or $INTRAIN_VENV), so it
# works where the system Python refuses installs (PEP 668: Debian 12, Ubuntu 24.04):
#   1. the venv, from $PYTHON (default python3);
#   2. torch's CPU wheel first (torch==2.13.0), so pip never resolves a multi-GB CUDA build;
#   3. this package with its workflow (incl. the Slurm executor plugin), test, docs, models
#      (Hugging Face transformers, for the conformance tests) and distributed (Dask) extras;
#   4. as root on Debian: Chromium (the report's render check) and slurm-wlm + munge (the
#      single-node cluster of scripts/slurm-cluster.sh that the Slurm test runs).
# Then run everything through the venv: `.venv/bin/snakemake ...`, `.venv/bin/python -m pytest`
# (or `source .venv/bin/activate` first).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${INTRAIN_VENV:-.venv}"
as_root_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian splits venv/ensurepip into python3-venv; install it when we may, else say so.
    rm -rf "$VENV"
    ver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    as_root_apt "python${ver}-venv" || as_root_apt python3-venv \
      || { echo "error: '$PYTHON -m venv' failed; install your distribution's python3-venv package" >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
  fi
fi
PIP=("$VENV/bin/python" -m pip install -q)
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[workflow,test,docs,models,distributed]"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || missing+=(munge)
if [ ${#missing[@]} -gt 0 ] && [ -z "${INTRAIN_SETUP_NO_APT:-}" ]; then
  as_root_apt "${missing[@]}" || echo "note: not root: install ${missing[*]} (Debian) for the render and Slurm tests" >&2
fi
echo "intrain is installed in $VENV: run '$VENV/bin/snakemake --cores N' or 'source $VENV/bin/activate'"
