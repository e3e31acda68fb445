"""Conformance matrix: every built-in proxy on real model libraries' vision models through
``intrain.score`` (docs/layers.md). Each cell is one ``intrain.score(model, [proxy])`` call and
ends as a finite value, a NaN flagged with its reason, or a crash (the error, first line).

Models are built from configs, without weights (no download): transformers' ViT, DeiT, Swin,
ConvNeXt, ResNet, RegNet, EfficientNet, MobileViT, LeViT, PVT and PoolFormer (its MLP-style
MetaFormer; MLP-Mixer itself exists only in timm), plus timm's models where ``import timm``
works (it needs a torchvision built for the installed torch; run this file with the interpreter
of a venv that has them, e.g. ``/work/venv-models/bin/python``); otherwise those cells are
written as ``skipped`` with the import error as the reason, not counted as failures.

Sizes: ``--size realistic`` (default) is each family's smallest published configuration (ViT-Ti/16,
DeiT-Ti, Swin-T, ConvNeXt-T, ResNet-18, RegNet-Y-400MF-like, EfficientNet-B0, MobileViT-XXS,
LeViT-128S, PVT-Tiny, PoolFormer-S12) at full depth and width, on a ``--resolution`` input (64 by
default: the CPU budget; the layouts and layer types are the same at 224); ``--size small`` is
the tests' toy configs (tests/test_conformance.py).

    HF_HUB_OFFLINE=1 nice .venv/bin/python benchmarks/conformance.py --out benchmarks/conformance.csv
    PYTHONPATH=. nice .venv-models/bin/python benchmarks/conformance.py --libraries timm --merge

The toy matrix is ``benchmarks/conformance.csv``, the realistic one ``conformance_realistic.csv``
(pass ``--out``); docs/layers.md has their counts. Each model runs in its own subprocess with ``--timeout`` seconds (a cell still running then is
written as ``timeout``). Columns: library, model, proxy, status (finite / flagged / crash /
timeout / skipped), value (the score, or the first component for population-ranked proxies),
reason, seconds, params, size, resolution, batch, torch, library version.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
COLUMNS = [
    "library",
    "model",
    "proxy",
    "status",
    "value",
    "reason",
    "seconds",
    "params",
    "size",
    "resolution",
    "batch",
    "torch",
    "library_version",
]


def hf_models(size: str, res: int) -> dict[str, Callable[[], Any]]:
    """transformers models by name, built from configs (random init, no weights)."""
    T: Any = importlib.import_module("transformers")  # typed Any: its configs take **kwargs
    eager = {"attn_implementation": "eager"}  # SDPA's CPU kernel has no double backward (GraSP)
    if size == "small":
        return {
            "vit": lambda: T.ViTForImageClassification(
                T.ViTConfig(
                    image_size=res,
                    patch_size=8,
                    hidden_size=32,
                    num_hidden_layers=2,
                    num_attention_heads=2,
                    intermediate_size=64,
                    num_labels=10,
                    **eager,
                )
            ),
            "deit": lambda: T.DeiTForImageClassification(
                T.DeiTConfig(
                    image_size=res,
                    patch_size=8,
                    hidden_size=32,
                    num_hidden_layers=2,
                    num_attention_heads=2,
                    intermediate_size=64,
                    num_labels=10,
                    **eager,
                )
            ),
            "swin": lambda: T.SwinForImageClassification(
                T.SwinConfig(
                    image_size=res,
                    patch_size=2,
                    embed_dim=16,
                    depths=[1, 1],
                    num_heads=[2, 2],
                    window_size=4,
                    num_labels=10,
                )
            ),
            "convnext": lambda: T.ConvNextForImageClassification(
                T.ConvNextConfig(num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=10)
            ),
            "resnet": lambda: T.ResNetForImageClassification(
                T.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", num_labels=10)
            ),
            "regnet": lambda: T.RegNetForImageClassification(
                T.RegNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], groups_width=8, num_labels=10)
            ),
            "efficientnet": lambda: T.EfficientNetForImageClassification(
                T.EfficientNetConfig(
                    image_size=res, width_coefficient=0.25, depth_coefficient=0.25, hidden_dim=320, num_labels=10
                )
            ),
            "mobilevit": lambda: T.MobileViTForImageClassification(
                T.MobileViTConfig(
                    image_size=res,
                    hidden_sizes=[16, 24, 32],
                    neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64],
                    num_labels=10,
                )
            ),
            "levit": lambda: T.LevitForImageClassification(
                T.LevitConfig(
                    image_size=res,
                    hidden_sizes=[16, 32, 48],
                    num_attention_heads=[1, 2, 3],
                    depths=[1, 1, 1],
                    key_dim=[8, 8, 8],
                    num_labels=10,
                )
            ),
            "pvt": lambda: T.PvtForImageClassification(
                T.PvtConfig(
                    image_size=res,
                    num_encoder_blocks=2,
                    depths=[1, 1],
                    sequence_reduction_ratios=[2, 1],
                    hidden_sizes=[16, 32],
                    patch_sizes=[4, 2],
                    strides=[4, 2],
                    num_attention_heads=[1, 2],
                    mlp_ratios=[2, 2],
                    num_labels=10,
                )
            ),
            "poolformer": lambda: T.PoolFormerForImageClassification(
                T.PoolFormerConfig(
                    num_encoder_blocks=2,
                    depths=[1, 1],
                    hidden_sizes=[16, 32],
                    patch_sizes=[7, 3],
                    strides=[4, 2],
                    padding=[2, 1],
                    num_labels=10,
                )
            ),
        }
    # realistic: each family's smallest published configuration, 10 classes
    return {
        "vit": lambda: T.ViTForImageClassification(
            T.ViTConfig(
                image_size=res,
                patch_size=16,
                hidden_size=192,
                num_attention_heads=3,
                intermediate_size=768,
                num_labels=10,
                **eager,
            ),
        ),
        "deit": lambda: T.DeiTForImageClassification(
            T.DeiTConfig(
                image_size=res,
                patch_size=16,
                hidden_size=192,
                num_attention_heads=3,
                intermediate_size=768,
                num_labels=10,
                **eager,
            ),
        ),
        # Swin-T's depths and widths; window 7 needs a side of 224 (its 4th stage is 7x7), 2 fits 64
        "swin": lambda: T.SwinForImageClassification(
            T.SwinConfig(image_size=res, window_size=7 if res % 224 == 0 else 2, num_labels=10)
        ),
        "convnext": lambda: T.ConvNextForImageClassification(T.ConvNextConfig(num_labels=10)),  # ConvNeXt-T
        "resnet": lambda: T.ResNetForImageClassification(
            T.ResNetConfig(depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512], layer_type="basic", num_labels=10)
        ),
        "regnet": lambda: T.RegNetForImageClassification(
            T.RegNetConfig(
                embedding_size=32, hidden_sizes=[48, 104, 208, 440], depths=[1, 3, 6, 6], groups_width=8, num_labels=10
            )
        ),
        "efficientnet": lambda: T.EfficientNetForImageClassification(
            T.EfficientNetConfig(image_size=res, num_labels=10)
        ),
        "mobilevit": lambda: T.MobileViTForImageClassification(
            T.MobileViTConfig(
                image_size=res,
                hidden_sizes=[64, 80, 96],
                neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320],
                expand_ratio=2.0,
                num_labels=10,
            )
        ),
        "levit": lambda: T.LevitForImageClassification(T.LevitConfig(image_size=res, num_labels=10)),  # LeViT-128S
        "pvt": lambda: T.PvtForImageClassification(T.PvtConfig(image_size=res, num_labels=10)),  # PVT-Tiny
        "poolformer": lambda: T.PoolFormerForImageClassification(T.PoolFormerConfig(num_labels=10)),  # S12
    }


#: timm models (pretrained=False): the same families plus MLP-Mixer and ResMLP.
TIMM_MODELS = {
    "small": ["vit_tiny_patch16_224", "mixer_s32_224", "resnet18", "convnext_atto", "mobilevit_xxs"],
    "realistic": [
        "vit_tiny_patch16_224",
        "deit_tiny_patch16_224",
        "swin_tiny_patch4_window7_224",
        "convnext_tiny",
        "resnet18",
        "efficientnet_b0",
        "mobilevit_xxs",
        "levit_128s",
        "mixer_s16_224",
        "resmlp_12_224",
    ],
}


def timm_models(size: str, res: int) -> dict[str, Callable[[], Any]]:
    timm: Any = importlib.import_module("timm")

    def builder(name: str) -> Callable[[], Any]:
        kwargs: dict[str, Any] = {"pretrained": False, "num_classes": 10}
        if any(name.startswith(p) for p in ("vit_", "deit_", "swin_", "mixer_", "resmlp_", "levit_")):
            kwargs["img_size"] = res
        return lambda: timm.create_model(name, **kwargs)

    return {name: builder(name) for name in TIMM_MODELS[size]}


def _builders(library: str, size: str, res: int) -> dict[str, Callable[[], Any]]:
    return hf_models(size, res) if library == "transformers" else timm_models(size, res)


def run_model(library: str, model: str, size: str, res: int, batch: int, proxies: list[str]) -> list[dict[str, Any]]:
    """Every proxy on one model (one ``intrain.score`` call per proxy, a fresh seeded build each)."""
    import torch

    import intrain

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    build = _builders(library, size, res)[model]
    version = __import__(library).__version__
    rows = []
    for proxy in proxies:
        torch.manual_seed(0)
        net = build()
        params = sum(p.numel() for p in net.parameters())
        start = time.perf_counter()
        row: dict[str, Any] = {"library": library, "model": model, "proxy": proxy, "params": params}
        try:
            r = intrain.score(
                net,
                [proxy],
                input_shape=(3, res, res),
                batch_size=batch,
                device="cpu",
                options={"lr_samples": 200, "lga_steps": 2},
            )
            comps = {k.split(".", 1)[1]: v for k, v in r.components.items()}
            value = r.scores.get(proxy, next(iter(comps.values())))
            nan = [k for k, v in comps.items() if math.isnan(v)]
            if nan:
                row.update(status="flagged" if proxy in r.reasons else "unflagged_nan", value=value)
                row["reason"] = r.reasons.get(proxy, "")
            else:
                row.update(status="finite", value=value, reason="")
        except Exception as e:  # a crash is a result of this benchmark: recorded, then the next cell
            msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
            row.update(status="crash", value="", reason=f"{type(e).__name__}: {msg}")
        row["seconds"] = round(time.perf_counter() - start, 3)
        row.update(size=size, resolution=res, batch=batch, torch=torch.__version__, library_version=version)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _write(out: Path, rows: list[dict[str, Any]], merge: bool) -> None:
    """The CSV, rewritten after every model (a long run leaves what it finished)."""
    if merge and out.exists():
        ran = {(row["library"], row["model"], row["proxy"], str(row.get("size", ""))) for row in rows}
        libs = {key[0] for key in ran}
        with out.open(newline="") as f:
            old = list(csv.DictReader(f))
        # cells run now (model, proxy, size) replace their earlier rows, other proxies' rows of the
        # model stay (a --proxies rerun); a library that did not import here keeps its old rows
        keep = [
            r
            for r in old
            if (r["library"], r["model"], r["proxy"], r["size"]) not in ran
            and not (r["model"] == "*" and r["library"] in libs)
        ]
        rows = keep + [r for r in rows if r["model"] != "*" or not any(k["library"] == r["library"] for k in keep)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: row.get(k, "") for k in COLUMNS})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=["small", "realistic"], default="realistic")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--libraries", default="transformers,timm")
    ap.add_argument("--models", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--proxies", default="", help="comma-separated subset (default: every built-in)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per model (its subprocess)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("conformance.csv"))
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep --out's rows of models not run now (a second run with another interpreter, e.g. timm's venv)",
    )
    ap.add_argument("--one", nargs=2, metavar=("LIBRARY", "MODEL"), help=argparse.SUPPRESS)  # the subprocess
    a = ap.parse_args(argv)
    from intrain.proxies import list_proxies

    proxies = [p for p in a.proxies.split(",") if p] or list_proxies()
    if a.one:
        run_model(a.one[0], a.one[1], a.size, a.resolution, a.batch, proxies)
        return 0
    rows: list[dict[str, Any]] = []
    for library in [lib for lib in a.libraries.split(",") if lib]:
        try:
            names = list(_builders(library, a.size, a.resolution))
        except Exception as e:  # the library (or timm's torchvision) does not import here
            reason = (
                f"import {library} failed: {type(e).__name__}: {str(e).strip().splitlines()[0][:200] if str(e) else ''}"
            )
            rows += [
                {"library": library, "model": "*", "proxy": p, "status": "skipped", "reason": reason, "size": a.size}
                for p in proxies
            ]
            print(reason, flush=True)
            continue
        wanted = [m for m in a.models.split(",") if m]
        for model in [n for n in names if not wanted or n in wanted]:
            cmd = [sys.executable, __file__, "--one", library, model, "--size", a.size]
            cmd += ["--resolution", str(a.resolution), "--batch", str(a.batch), "--proxies", ",".join(proxies)]
            done: dict[str, dict[str, Any]] = {}
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
                stdout, err = proc.stdout, proc.stderr
            except subprocess.TimeoutExpired as e:
                stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                err = f"timeout after {a.timeout:.0f} s"
            for line in stdout.splitlines():
                if line.startswith("{"):
                    row = json.loads(line)
                    done[row["proxy"]] = row
            for p in proxies:
                if p not in done:
                    last = err.strip().splitlines()[-1][:300] if err.strip() else "no output"
                    status = "timeout" if "timeout after" in err else "crash"
                    done[p] = {"library": library, "model": model, "proxy": p, "status": status, "reason": last}
                    done[p].update(size=a.size, resolution=a.resolution, batch=a.batch)
                rows.append(done[p])
                print(
                    library,
                    model,
                    p,
                    done[p]["status"],
                    done[p].get("value", ""),
                    done[p].get("reason", ""),
                    flush=True,
                )
            _write(a.out, rows, a.merge)  # after every model: a long run leaves what it finished
    _write(a.out, rows, a.merge)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print("cells:", len(rows), counts, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
