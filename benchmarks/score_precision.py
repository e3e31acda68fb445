"""How much of an InTrain score is float32 rounding: the reason layout and kernel changes are not free.

For a seeded sample of NB201 class representatives on one dataset, the probe runs in float64
(the reference) and in float32 three ways: the default (NCHW, fixed-filter avg pool), channels-
last, and the reference ``nn.AvgPool2d``. It reports each float32 variant's relative score
difference from float64, and splits the cause:

- *structural zeros*: parameters whose gradient is zero in exact arithmetic (float64 max|g| at
  most 1e-12 of the network's largest). In NB201 these are the BatchNorm biases of last-cell
  operations that feed the output node, which goes straight into the final train-mode
  BatchNorm: that BatchNorm removes any per-channel shift. In float32 their gradient is rounding
  noise, and its std/max -- their term in the optimisation resilience o -- is a number near 0.3
  that changes whenever the arithmetic does;
- the rest: the same differences with those parameters' health set to 0 in every variant.

    python benchmarks/score_precision.py --n 24 --out results/benchmarks/precision

writes ``precision.csv`` (one row per architecture and variant) and prints a summary.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from intrain.core.trainability import intrain_from_stats
from intrain.engine.inputs import gaussian_batch
from intrain.engine.probe import run_probe
from intrain.spaces.nb201.encoding import canonical_classes, dataset_spec
from intrain.spaces.nb201.network import build_network

STRUCTURAL_ZERO = 1e-12  # float64 max|g| relative to the network's largest: zero in exact arithmetic

VARIANTS = {  # name -> (dtype, channels_last, fast_pool)
    "float64": (torch.float64, False, True),
    "float32": (torch.float32, False, True),
    "float32_channels_last": (torch.float32, True, True),
    "float32_reference_avgpool": (torch.float32, False, False),
}


def probe(arch: str, dataset: str, batch: int, seed: int, dtype: torch.dtype, channels_last: bool, fast_pool: bool):
    spec = dataset_spec(dataset)
    x, y = gaussian_batch(batch, spec.num_classes, spec.resolution, seed)
    torch.manual_seed(seed)
    net = build_network(arch, dataset, fast_pool=fast_pool).to(dtype)
    x = x.to(dtype)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return run_probe(net, x, y)


def score(p, zero: np.ndarray) -> float:
    std, maxabs = p.param_stats[:, 0].copy(), p.param_stats[:, 1].copy()
    std[zero], maxabs[zero] = 0.0, 0.0  # health 0: an identically zero gradient
    ls = p.layer_stats
    return intrain_from_stats(ls[:, 0], ls[:, 1], ls[:, 2], std, maxabs)["score"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=24, help="class representatives sampled")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0, help="scoring seed")
    ap.add_argument("--sample-seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="results/benchmarks/precision")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = sorted(min(m) for m in canonical_classes().values())
    rng = np.random.default_rng(args.sample_seed)
    archs = [reps[i] for i in rng.choice(len(reps), args.n, replace=False)]
    rows = []
    for arch in archs:
        probes = {name: probe(arch, args.dataset, args.batch_size, args.seed, *v) for name, v in VARIANTS.items()}
        ref = probes["float64"]
        g64 = ref.param_stats[:, 1]
        zero = g64 <= STRUCTURAL_ZERO * g64.max()
        none = np.zeros_like(zero)
        ref_raw, ref_clean = score(ref, none), score(ref, zero)
        health32 = probes["float32"].param_stats[zero, 0] / probes["float32"].param_stats[zero, 1]
        g32 = probes["float32"].param_stats[:, 1] / probes["float32"].param_stats[:, 1].max()
        for name, p in probes.items():
            if name == "float64":
                continue
            raw, clean = score(p, none), score(p, zero)
            rows.append(
                {
                    "arch": arch,
                    "variant": name,
                    "n_params": len(g64),
                    "n_structural_zero": int(zero.sum()),
                    "structural_zero_names": " ".join(np.asarray(ref.param_names)[zero]),
                    "float32_health_of_zeros": " ".join(f"{h:.3f}" for h in health32),
                    # can a threshold on max|g| find them? their largest vs the smallest real one
                    "float32_maxabs_rel_zeros_max": float(g32[zero].max()) if zero.any() else np.nan,
                    "float32_maxabs_rel_real_min": float(g32[~zero].min()),
                    "rel_diff_vs_float64": abs(raw - ref_raw) / abs(ref_raw),
                    "rel_diff_vs_float64_zeros_removed": abs(clean - ref_clean) / abs(ref_clean),
                }
            )
    df = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "precision.csv", index=False)
    summary = df.groupby("variant")[["rel_diff_vs_float64", "rel_diff_vs_float64_zeros_removed"]].agg(["median", "max"])
    with pd.option_context("display.width", 200):
        print(summary.to_string(float_format=lambda x: f"{x:.2e}"))
    per_arch = df.drop_duplicates("arch")
    h = np.array([float(v) for s in per_arch.float32_health_of_zeros for v in s.split()])
    print(
        f"{len(per_arch)} networks: {per_arch.n_structural_zero.min()}-{per_arch.n_structural_zero.max()} "
        f"structurally zero parameters each (of {per_arch.n_params.min()}-{per_arch.n_params.max()}); "
        f"their float32 health std/max: {h.min():.3f}-{h.max():.3f}"
    )
    print(
        f"float32 max|g| relative to the network's largest: structural zeros up to "
        f"{per_arch.float32_maxabs_rel_zeros_max.max():.2e}, real gradients down to "
        f"{per_arch.float32_maxabs_rel_real_min.min():.2e} (no threshold separates them if these overlap "
        "or nearly touch)"
    )


if __name__ == "__main__":
    main()
