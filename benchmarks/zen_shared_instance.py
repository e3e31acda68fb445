"""Zen on NB201 as VKDNW's script computed it: after the proxies it runs first, on the same network.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/zen_shared_instance.py \
        --table $INTRAIN_MIRROR/nb201/nats_tss_200ep_test_acc.csv --n 200 --out benchmarks/zen_shared_instance.md

VKDNW's ``NB201/tss_general_.py`` builds one AutoDL network per architecture and runs its proxies
on it in the order vkdnw, az_nas, jacov, gradsign, zico, zen, … Zen re-initialises the weights
N(0, 1) but not the BN running statistics, and reads ``Σ_BN log √mean(running_var)`` after its
two forwards. Before it, four proxies ran train-mode forwards (BN momentum 0.1): az_nas one batch
of 64, jacov one, gradsign 64 single images, zico two batches — 68 updates (vkdnw runs in eval
mode). A BN on a dead edge (fed by a node that only receives ``none``) sees zeros, whose batch
variance is 0, so each update multiplies its running variance by 0.9: after 68 + 2 updates it is
0.9^70 ≈ 6e-4 instead of the fresh network's 0.9^2 = 0.81, and each such BN lowers Zen by about
3.6 instead of 0.1. This script measures that on a seeded sample of the reference network:

- ``fresh``: Zen on a freshly built network (intrain's reference protocol);
- ``shared``: the same after the 68 train-mode forwards of the proxies VKDNW runs first
  (Kaiming fan-in weights, Gaussian batches; the inputs do not matter for a dead edge's BN);

and reports Kendall τ of each against CIFAR-10 test accuracy, their paired difference, and τ of
the number of dead-edge BNs with the accuracy. Published (VKDNW's table, the InTrain paper's):
zen .102 on CIFAR-10.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit

from intrain.analysis.stats import correlate, kendall, paired_tau_difference

#: Train-mode forwards (batch size, count) of the proxies VKDNW runs before zen on one instance.
PRIOR_FORWARDS = (("az_nas", 64, 1), ("jacov", 64, 1), ("gradsign", 1, 64), ("zico", 64, 2))
PUBLISHED = 0.102


def zen_after(arch: str, prior: bool, seed: int) -> tuple[float, int]:
    """(Zen score, number of BNs that only ever saw zeros) on the reference network."""
    import torch
    from torch import nn

    from intrain.proxies.base import PassContext, kaiming_fanin_init, seeded_generator
    from intrain.proxies.zen import zen_pass
    from intrain.spaces.nb201.network import build_network

    torch.manual_seed(seed)
    model = build_network(arch, "cifar10", reference=True)
    gen = seeded_generator(seed, 71)
    if prior:
        kaiming_fanin_init(model, seeded_generator(seed, 61))
        model.train()
        with torch.no_grad():
            for _, batch, count in PRIOR_FORWARDS:
                for _ in range(count):
                    model(torch.randn(batch, 3, 32, 32, generator=gen))
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    x = torch.randn(64, 3, 32, 32, generator=seeded_generator(seed, 72))
    ctx = PassContext(build=lambda: model, x=x, y=torch.zeros(64, dtype=torch.long), num_classes=10, seed=seed)
    out = zen_pass(ctx)
    n_dead = sum(1 for m in bns if float(m.running_var.max()) < 1e-2)  # only after `prior`
    return out["score"], n_dead


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True, help="nats_tss_200ep_test_acc.csv")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    gt = pd.read_csv(args.table).sample(n=args.n, random_state=args.seed)
    acc = gt["CIFAR10TestAccuracy200Epochs"].to_numpy()
    t0 = time.perf_counter()
    fresh = np.array([zen_after(a, False, args.seed)[0] for a in gt["ArchitectureString"]])
    shared_and_dead = [zen_after(a, True, args.seed) for a in gt["ArchitectureString"]]
    wall = time.perf_counter() - t0
    shared = np.array([s for s, _ in shared_and_dead])
    dead = np.array([d for _, d in shared_and_dead], dtype=float)
    cf, cs = correlate(fresh, acc, n_boot=args.n_boot), correlate(shared, acc, n_boot=args.n_boot)
    d = paired_tau_difference(shared, fresh, acc, n_boot=args.n_boot)
    lines = [
        f"# Zen on a fresh network vs after VKDNW's earlier proxies on the same instance "
        f"({args.n} seeded NB201 cells, CIFAR-10 test, {wall:.0f} s on 1 CPU thread)",
        "",
        "| zen computed on | τ [95% CI] |",
        "|---|---|",
        f"| a fresh reference network (intrain `protocol: reference`) | {cf.kendall:.3f} "
        f"[{cf.kendall_lo:.3f}, {cf.kendall_hi:.3f}] |",
        f"| the same after {sum(c for *_, c in PRIOR_FORWARDS)} train-mode forwards (VKDNW's order) | "
        f"{cs.kendall:.3f} [{cs.kendall_lo:.3f}, {cs.kendall_hi:.3f}] |",
        f"| published (VKDNW's table) | {PUBLISHED:.3f} |",
        "",
        f"Paired shared − fresh: {d.delta:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]. Cells with a dead-edge BN: "
        f"{int((dead > 0).sum())} of {args.n}; τ(−#dead-edge BNs, accuracy) = {kendall(-dead, acc):.3f}; "
        f"τ(shared zen, −#dead-edge BNs) = {kendall(shared, -dead):.3f}.",
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
