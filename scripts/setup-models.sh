#!/usr/bin/env bash
# One command for an environment where timm imports beside intrain (the `zoo` space,
# docs/beyond-cell-spaces.md):   bash scripts/setup-models.sh   -> .venv-models/
#
# Why a second environment: timm needs torchvision, and torchvision must match torch exactly.
# The project's own environment uses the CPU wheel torch 2.13.0, beside which no torchvision
# release loads; torch 2.14.1 + torchvision 0.29.1 are a matching pair (a CUDA build, ~5.5 GB,
# that runs on the CPU). pyproject.toml caps torch below 2.14, so intrain is installed with
# --no-deps and its other dependencies (+ the workflow extra) are read from pyproject.toml:
# a plain `pip install -e .` would replace the torch pair and break torchvision. pytest comes along
# for the network tests that need timm: .venv-models/bin/python -m pytest tests/test_zoo.py
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-models}
TORCH=${TORCH:-torch==2.14.1}
TORCHVISION=${TORCHVISION:-torchvision==0.29.1}

python3 -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install "$TORCH" "$TORCHVISION"
# timm with torch pinned on the same line, so the resolver cannot swap the pair
"$PIP" install timm "$TORCH" "$TORCHVISION"
DEPS=$("$VENV/bin/python" - <<'PY'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = [d for d in p["dependencies"] if not d.replace(" ", "").startswith("torch")]
print("\n".join(deps + p["optional-dependencies"]["workflow"] + ["pytest>=8"]))
PY
)
mapfile -t DEP_ARR <<<"$DEPS"
"$PIP" install "${DEP_ARR[@]}" "$TORCH" "$TORCHVISION"
"$PIP" install --no-deps -e .
"$VENV/bin/python" - <<'PY'
import timm, torch, torchvision, intrain
for name in ("resnet18", "vit_tiny_patch16_224"):
    m = timm.create_model(name, pretrained=False, num_classes=1000)
    n = sum(p.numel() for p in m.parameters())
    print(f"{name}: {n / 1e6:.2f} M params")
print(f"ok: torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}")
PY
